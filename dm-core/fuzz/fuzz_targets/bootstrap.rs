#![no_main]
//! Bootstrap: any bytes applied to a device's tree never panic; a bootstrap that fails leaves
//! the tree exactly as it was, one that applies holds each node it names; its MAC checked with
//! the right key changes nothing of that (a key a device derives from an IMSI and a PIN too),
//! and with another key it is refused before anything. Any text as an IMSI never panics.
use dm_core::DecodeOptions;
use dm_core::bootstrap::{self, Security};
use dm_core::tree::MemoryTree;
use dm_core::tree::objects::{DevInfo, DmAcc};
use libfuzzer_sys::fuzz_target;

fn device() -> MemoryTree {
    let mut t = MemoryTree::new();
    DevInfo { dev_id: "IMEI:1".into(), man: "Acme".into(), model: "X1".into(), dm_v: "1.2".into(), lang: "en".into() }
        .install(&mut t)
        .unwrap();
    let acc = DmAcc { node: "old".into(), server_id: "old".into(), addr: "http://old/".into(), ..DmAcc::default() };
    acc.install(&mut t).unwrap();
    t
}

fuzz_target!(|data: &[u8]| {
    let options = DecodeOptions::lenient();
    let mut tree = device();
    let unchecked = bootstrap::apply(&mut tree, data, bootstrap::CONTENT_TYPE, None, &options);
    match &unchecked {
        Err(_) => assert!(tree.same_content(&device()), "a failed bootstrap changed the tree"),
        Ok(done) => {
            for uri in done.uris.iter().filter(|u| !u.contains('?')) {
                assert!(tree.node(uri).is_some(), "{uri} applied but not there");
            }
        }
    }
    let content_type = bootstrap::content_type(Security::UserPin, b"1234", data);
    let mut again = device();
    let checked = bootstrap::apply(&mut again, data, &content_type, Some(b"1234"), &options);
    assert_eq!(checked, unchecked);
    assert!(again.same_content(&tree));
    let mut other = device();
    assert!(bootstrap::apply(&mut other, data, &content_type, Some(b"4321"), &options).is_err());
    assert!(other.same_content(&device()));

    let _ = bootstrap::imsi_key(&String::from_utf8_lossy(&data[..data.len().min(24)]));
    let imsi: String = data.iter().take(15).map(|b| char::from(b'0' + b % 10)).collect();
    if let Ok(key) = bootstrap::key(Security::UserPinNetworkId, Some(&imsi), Some(b"1234")) {
        let sealed = bootstrap::content_type(Security::UserPinNetworkId, &key, data);
        let derived = bootstrap::device_key(&sealed, Some(&imsi), Some(b"1234")).unwrap();
        let mut by_imsi = device();
        assert_eq!(bootstrap::apply(&mut by_imsi, data, &sealed, Some(&derived), &options), unchecked);
    }
});
