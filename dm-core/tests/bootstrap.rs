//! Bootstrap (DM profile): the message a server builds, its MAC, and a device applying it all
//! or nothing.

mod common;

use dm_core::bootstrap::{self, Security};
use dm_core::codec::{self, DecodeOptions, Encoding};
use dm_core::model::{Command, Data, Item, ItemCommand, Location};
use dm_core::tree::objects::{AppAuth, DevInfo, DmAcc};
use dm_core::tree::{MemoryTree, Node};
use dm_core::{Error, Message};

const PIN: &[u8] = b"1234";

/// What a server bootstraps: an account with both sides' credentials, the nonce binary.
fn account() -> MemoryTree {
    let mut t = MemoryTree::new();
    let auth = |level: &str, name: &str, secret: &str, data: &[u8]| AppAuth {
        level: level.into(),
        auth_type: "DIGEST".into(),
        name: name.into(),
        secret: secret.into(),
        data: data.to_vec(),
    };
    DmAcc {
        node: "srv".into(),
        server_id: "srv".into(),
        name: "Acme DM".into(),
        addr: "https://dm.example.com/dm".into(),
        addr_type: "URI".into(),
        port: None,
        auth_pref: Some("DIGEST".into()),
        auth: vec![auth("CLCRED", "dev", "dev-secret", &[0, 0xff, 7]), auth("SRVCRED", "srv", "srv-secret", b"n")],
    }
    .install(&mut t)
    .unwrap();
    t
}

fn device() -> MemoryTree {
    let mut t = MemoryTree::new();
    DevInfo { dev_id: "IMEI:1".into(), man: "Acme".into(), model: "X1".into(), dm_v: "1.2".into(), lang: "en".into() }
        .install(&mut t)
        .unwrap();
    t
}

fn sealed(m: &Message) -> (Vec<u8>, String) {
    bootstrap::encode(m, Security::UserPin, PIN)
}

fn apply(tree: &mut MemoryTree, body: &[u8], content_type: &str, key: Option<&[u8]>) -> Result<Vec<String>, Error> {
    bootstrap::apply(tree, body, content_type, key, &DecodeOptions::default()).map(|b| b.uris)
}

#[test]
fn a_bootstrapped_device_holds_the_account_the_server_sent() {
    let (body, content_type) = sealed(&bootstrap::message("srv", "IMEI:1", &account()));
    assert!(content_type.starts_with("application/vnd.syncml.dm+wbxml; SEC=USERPIN; MAC="), "{content_type}");
    assert_eq!(body[0], 0x02, "WBXML 1.2");
    let mut t = device();
    let done = bootstrap::apply(&mut t, &body, &content_type, Some(PIN), &DecodeOptions::default()).unwrap();
    assert_eq!(done.server_id, "srv");
    assert_eq!(done.uris[0], "./DMAcc/srv");
    assert_eq!(t.value("./DMAcc/srv/ServerID"), Some("srv"));
    assert_eq!(t.value("./DMAcc/srv/AppAddr/1/Addr"), Some("https://dm.example.com/dm"));
    assert_eq!(t.value("./DMAcc/srv/AppAuth/1/AAuthSecret"), Some("dev-secret"), "secrets travel");
    let Some(Node::Leaf(nonce)) = t.node("./DMAcc/srv/AppAuth/1/AAuthData") else { panic!() };
    assert_eq!((nonce.data, &*nonce.format), (vec![0, 0xff, 7], "bin"), "binary kept, with its Format");
    let Some(Node::Interior { type_, .. }) = t.node("./DMAcc/srv") else { panic!() };
    assert_eq!(type_.as_deref(), Some(DmAcc::URN), "the account is typed as the MO");
    assert_eq!(t.value("./DevInfo/DevId"), Some("IMEI:1"), "the device's own nodes stay");
}

#[test]
fn the_message_is_one_add_below_the_top_level_from_the_server_to_the_device() {
    let m = bootstrap::message("srv", "IMEI:1", &account());
    assert_eq!((m.header.session_id.as_str(), m.header.msg_id, m.is_final), ("0", 1, true));
    assert_eq!((m.header.source.uri.as_str(), m.header.target.uri.as_str()), ("srv", "IMEI:1"));
    let [Command::Add(add)] = &m.commands[..] else { panic!("{:?}", m.commands) };
    let uris: Vec<&str> = add.items.iter().map(|i| i.target.as_ref().unwrap().uri.as_str()).collect();
    assert!(!uris.contains(&"./DMAcc"), "./DMAcc is the device's: {uris:?}");
    assert_eq!(uris[..2], ["./DMAcc/srv", "./DMAcc/srv/AAuthPref"], "a node before its children");
    // It decodes back (the Python suite checks libwbxml's view of it).
    let back = codec::decode(&codec::encode(&m, Encoding::Wbxml)).unwrap();
    assert_eq!((back.header, back.commands.len()), (m.header, 1));
}

#[test]
fn a_mac_that_the_key_does_not_give_is_refused_and_nothing_changes() {
    let (mut body, content_type) = sealed(&bootstrap::message("srv", "IMEI:1", &account()));
    let mut t = device();
    let before = t.to_json();
    let refused = |t: &mut MemoryTree, body: &[u8], ct: &str| match apply(t, body, ct, Some(PIN)) {
        Err(Error::Auth(e)) => e.0,
        other => panic!("{other:?}"),
    };
    assert!(refused(&mut t, &body, &content_type.replace("MAC=", "MAC=0")).contains("MAC"));
    let wrong_key = bootstrap::content_type(Security::UserPin, b"4321", &body);
    refused(&mut t, &body, &wrong_key);
    assert!(refused(&mut t, &body, bootstrap::CONTENT_TYPE).contains("no SEC and MAC"));
    let last = body.len() - 3;
    body[last] ^= 1;
    refused(&mut t, &body, &content_type);
    assert_eq!(t.to_json(), before);
}

#[test]
fn the_content_type_is_read_as_peers_write_it() {
    let (body, content_type) = sealed(&bootstrap::message("srv", "IMEI:1", &account()));
    let mac = content_type.rsplit_once("MAC=").unwrap().1.to_string();
    // Parameter names in any case, a quoted upper-case MAC, Provisioning Bootstrap's name.
    let written = format!("application/vnd.syncml.dm+wbxml;sec=\"1\";mac=\"{}\"", mac.to_uppercase());
    apply(&mut device(), &body, &written, Some(PIN)).unwrap();
    assert_eq!(bootstrap::seal(&written).unwrap(), (Some(Security::UserPin), Some(mac.to_uppercase())));
    for (sec, security) in [("NETWPIN", Security::NetworkId), ("USERNETWPIN", Security::UserPinNetworkId)] {
        assert_eq!(bootstrap::seal(&format!("{}; SEC={sec}", bootstrap::CONTENT_TYPE)).unwrap().0, Some(security));
    }
    let unknown = format!("{}; SEC=USERPINMAC; MAC={mac}", bootstrap::CONTENT_TYPE);
    assert!(matches!(apply(&mut device(), &body, &unknown, Some(PIN)), Err(Error::Auth(_))));
    let not_dm = apply(&mut device(), &body, "application/vnd.wap.connectivity-wbxml", None);
    assert!(matches!(not_dm, Err(Error::Remote(e)) if e.rule == "Bootstrap"));
}

#[test]
fn without_a_key_the_caller_vouches_for_the_message() {
    let m = bootstrap::message("srv", "IMEI:1", &account());
    let body = codec::encode(&m, Encoding::Wbxml);
    let mut t = device();
    apply(&mut t, &body, bootstrap::CONTENT_TYPE, None).unwrap();
    assert_eq!(t.value("./DMAcc/srv/Name"), Some("Acme DM"));
}

#[test]
fn a_bootstrap_that_fails_midway_leaves_the_tree_as_it_was() {
    let mut m = bootstrap::message("srv", "IMEI:1", &account());
    // A Replace of a node that is not there, after the Add went in.
    let missing = Item {
        target: Some(Location::new("./DMAcc/srv/Nowhere/X")),
        data: Some(Data::Text("x".into())),
        ..Item::default()
    };
    m.commands.push(Command::Replace(ItemCommand { cmd_id: 2, items: vec![missing], ..ItemCommand::default() }));
    let (body, content_type) = sealed(&m);
    let mut t = device();
    let before = t.to_json();
    let Err(Error::Remote(e)) = apply(&mut t, &body, &content_type, Some(PIN)) else { panic!() };
    assert_eq!((e.rule, e.msg_id, e.cmd_id, e.element), ("Bootstrap", Some(1), Some(2), Some("Item")));
    assert!(e.reason.contains("Replace ./DMAcc/srv/Nowhere/X: 404"), "{}", e.reason);
    assert_eq!(t.to_json(), before, "the account added before it is gone");
    // Adding an account that is there already: 418, and the account kept as it was.
    let (body, content_type) = sealed(&bootstrap::message("srv", "IMEI:1", &account()));
    apply(&mut t, &body, &content_type, Some(PIN)).unwrap();
    t.set("./DMAcc/srv/Name", "renamed").unwrap();
    let Err(Error::Remote(e)) = apply(&mut t, &body, &content_type, Some(PIN)) else { panic!() };
    assert!(e.reason.contains("Add ./DMAcc/srv: 418"), "{}", e.reason);
    assert_eq!(t.value("./DMAcc/srv/Name"), Some("renamed"));
}

#[test]
fn a_bootstrap_holds_only_adds_and_replaces_in_one_message() {
    let mut t = device();
    let before = t.to_json();
    let mut m = bootstrap::message("srv", "IMEI:1", &account());
    m.commands.push(Command::Delete(ItemCommand {
        cmd_id: 2,
        items: vec![Item { target: Some(Location::new("./DevInfo")), ..Item::default() }],
        ..ItemCommand::default()
    }));
    let (body, content_type) = sealed(&m);
    let Err(Error::Remote(e)) = apply(&mut t, &body, &content_type, Some(PIN)) else { panic!() };
    assert_eq!((e.cmd_id, e.element), (Some(2), Some("Delete")));
    assert!(e.reason.contains("a Delete in a bootstrap"), "{}", e.reason);
    let mut m = bootstrap::message("srv", "IMEI:1", &account());
    let Command::Add(add) = &mut m.commands[0] else { panic!() };
    add.items[1].more_data = true;
    let (body, content_type) = sealed(&m);
    let Err(Error::Remote(e)) = apply(&mut t, &body, &content_type, Some(PIN)) else { panic!() };
    assert_eq!(e.element, Some("MoreData"), "{}", e.reason);
    assert_eq!(t.to_json(), before);
}

#[test]
fn the_trace_checker_takes_a_lone_bootstrap_as_one_not_as_a_session() {
    use dm_core::check::{Direction, check};
    // As `omadm check` reads a file: its first message the client's.
    let lone = |m: &Message| check(&[(Direction::ClientToServer, codec::encode(m, Encoding::Wbxml))]);
    let m = bootstrap::message("srv", "IMEI:1", &account());
    assert_eq!(lone(&m), vec![]);
    let mut bad = m.clone();
    bad.commands.push(Command::Exec(ItemCommand { cmd_id: 2, items: vec![Item::default()], ..ItemCommand::default() }));
    let found = lone(&bad);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].rule, found[0].msg_index), ("Bootstrap", 0));
    assert!(found[0].detail.contains("Exec in a bootstrap"), "{}", found[0].detail);
    // Another SessionID: a session's first message, held to the session's rules.
    let mut session = m;
    session.header.session_id = "1".into();
    assert!(lone(&session).iter().any(|v| v.rule == "R20"));
}

#[test]
fn the_dm_1_1_bootstrap_example_is_read_and_held_to_the_formats_it_gives() {
    // The spec's example as libwbxml keeps it: DM/1.1, ./SyncML/DMAcc, no namespace (so read
    // leniently). Its ./SyncML/Con/My_ISP has no Format: a chr leaf, which PX/Addr cannot go
    // under. Everything before it is undone.
    let body = common::vector("libwbxml/syncml-012.xml");
    let mut t = device();
    let before = t.to_json();
    let lenient = DecodeOptions::lenient();
    let Err(Error::Remote(e)) = bootstrap::apply(&mut t, &body, "application/vnd.syncml.dm+xml", None, &lenient) else {
        panic!()
    };
    assert_eq!((e.msg_id, e.cmd_id), (Some(0), Some(1)));
    assert!(e.reason.contains("Add ./SyncML/Con/My_ISP/PX/Addr: 405"), "{}", e.reason);
    assert_eq!(t.to_json(), before);
    // With the Format it means, it applies.
    let text = String::from_utf8(body).unwrap().replacen(
        "<LocURI>./SyncML/Con/My_ISP</LocURI>\n                </Target>",
        "<LocURI>./SyncML/Con/My_ISP</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">node</Format></Meta>",
        1,
    );
    let done = bootstrap::apply(&mut t, text.as_bytes(), "application/vnd.syncml.dm+xml", None, &lenient).unwrap();
    assert_eq!(done.server_id, "http://www.TheUltimateManagementServer.com");
    assert_eq!(t.value("./SyncML/DMAcc/UltimateManagement/Addr"), Some("www.TheUltimateManagementServer.com"));
    assert_eq!(t.value("./SyncML/Con/My_ISP/PX/Addr"), Some("123.123.123.123"));
}

#[test]
fn bad_bytes_are_a_decode_error_and_change_nothing() {
    let mut t = device();
    let before = t.to_json();
    let key = b"k";
    let junk = b"\x02\x00\x00\x6a\x00\x6d\x6c";
    let content_type = bootstrap::content_type(Security::NetworkId, key, junk);
    assert!(matches!(apply(&mut t, junk, &content_type, Some(key)), Err(Error::Decode(_))));
    assert_eq!(t.to_json(), before);
}

#[test]
fn the_imsi_key_is_the_imsi_in_semi_octets_as_the_sim_holds_it() {
    let key = |imsi| bootstrap::imsi_key(imsi).map(|k| k.iter().map(|b| format!("{b:02x}")).collect::<String>());
    assert_eq!(key("262019876543210").unwrap(), "2926108967452301", "odd: 0x9 under the first digit");
    assert_eq!(key("21407650123456").unwrap(), "21417056103254f6", "even: 0x1 under the first digit, 0xF last");
    assert_eq!(key("1").unwrap(), "19");
    for bad in ["", "26201987654321x", "1234567890123456", " 262"] {
        assert!(bootstrap::imsi_key(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_netwpin_mac_is_the_one_a_real_push_gateway_computes() {
    // NowSMS's MAC for this provisioning document under IMSI 123456789012345 (its support forum,
    // "NETWPIN Calculation", 2007): the same HMAC over the same semi-octet key a DM bootstrap uses.
    let body = common::hex(concat!(
        "030B6A0674657374310045C6560187070683000101C655018707068300018711060374657374315F4E41504944",
        "0001871006AB0187080603746573743200018709068901871401C65A01870C069A01870D0603677072737573",
        "65726E616D650001870E06036770727370617373776F72640001010101"
    ));
    let key = bootstrap::key(Security::NetworkId, Some("123456789012345"), None).unwrap();
    assert_eq!(bootstrap::mac(&key, &body), "c483ec25f7e3e0cf100380da5f6714cf204a5ec5");
}

#[test]
fn each_security_takes_its_key_from_the_secrets_it_names() {
    let imsi = bootstrap::imsi_key("262019876543210").unwrap();
    let key = |s, imsi, pin| bootstrap::key(s, imsi, pin);
    assert_eq!(key(Security::NetworkId, Some("262019876543210"), Some(PIN)).unwrap(), imsi);
    assert_eq!(key(Security::UserPin, Some("262019876543210"), Some(PIN)).unwrap(), PIN);
    assert_eq!(key(Security::UserPinNetworkId, Some("262019876543210"), Some(PIN)).unwrap(), [&imsi[..], PIN].concat());
    let missing = |s, imsi, pin| key(s, imsi, pin).unwrap_err().0;
    assert_eq!(missing(Security::NetworkId, None, Some(PIN)), "SEC=NETWORKID needs the IMSI");
    assert_eq!(missing(Security::UserPin, Some("1"), None), "SEC=USERPIN needs the PIN");
    assert_eq!(missing(Security::UserPinNetworkId, Some("1"), None), "SEC=USERPIN_NETWORKID needs the PIN");

    // A device reads the method from the Content-Type and derives the key from what it holds.
    let m = bootstrap::message("srv", "IMEI:1", &account());
    let server_key = key(Security::UserPinNetworkId, Some("262019876543210"), Some(PIN)).unwrap();
    let (body, content_type) = bootstrap::encode(&m, Security::UserPinNetworkId, &server_key);
    let device_key = bootstrap::device_key(&content_type, Some("262019876543210"), Some(PIN)).unwrap();
    assert!(apply(&mut device(), &body, &content_type, Some(&device_key)).is_ok());
    // verify: the MAC alone, as apply checks it first; the SEC it names.
    assert_eq!(bootstrap::verify(&body, &content_type, &device_key).unwrap(), Security::UserPinNetworkId);
    assert!(matches!(bootstrap::verify(&body, &content_type, PIN), Err(Error::Auth(_))));
    assert!(matches!(bootstrap::verify(&body, bootstrap::CONTENT_TYPE, PIN), Err(Error::Auth(_))));
    let other_sim = bootstrap::device_key(&content_type, Some("262019876543211"), Some(PIN)).unwrap();
    assert!(matches!(apply(&mut device(), &body, &content_type, Some(&other_sim)), Err(Error::Auth(_))));
    let unsealed = bootstrap::device_key(bootstrap::CONTENT_TYPE, Some("262019876543210"), Some(PIN));
    assert!(matches!(unsealed, Err(Error::Auth(_))), "{unsealed:?}");
    let no_pin = bootstrap::device_key(&content_type, Some("262019876543210"), None);
    assert!(matches!(no_pin, Err(Error::Usage(_))), "{no_pin:?}");
}
