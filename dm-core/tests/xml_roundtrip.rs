//! Model → XML → model is the identity, compact and pretty; `encoded_len` is exact.
mod common;

use dm_core::codec::{self, Encoding};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn xml_round_trip(m in common::message()) {
        let bytes = codec::encode(&m, Encoding::Xml);
        prop_assert_eq!(codec::encoded_len(&m, Encoding::Xml), bytes.len());
        let back = codec::decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&bytes))))?;
        prop_assert_eq!(&back, &m);
        let pretty = codec::to_pretty_xml(&m);
        prop_assert_eq!(codec::decode(pretty.as_bytes()).unwrap(), m);
    }
}

#[test]
fn a_message_holding_text_xml_cannot_carry_is_not_writable() {
    use dm_core::model::{Command, Data, Item, ItemCommand};
    let xml = br#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>
      <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>https://dm.example.com</LocURI></Target>
      <Source><LocURI>IMEI:1</LocURI></Source></SyncHdr><SyncBody><Final/></SyncBody></SyncML>"#;
    let decoded = codec::decode(xml).unwrap();
    assert_eq!(codec::writable(&decoded), Ok(()));

    let mut m = decoded.clone();
    m.header.source.uri = "IMEI:\u{1}".into();
    let e = codec::writable(&m).unwrap_err();
    assert!(e.0.starts_with("the text of LocURI in SyncHdr holds a character XML cannot carry"), "{e}");

    let replace = |data| {
        Command::Replace(ItemCommand {
            cmd_id: 2,
            items: vec![Item { data: Some(data), ..Item::default() }],
            ..ItemCommand::default()
        })
    };
    let mut m = decoded;
    m.commands.push(replace(Data::Text("a\u{FFFE}b".into())));
    let e = codec::writable(&m).unwrap_err();
    assert!(e.0.starts_with("the text of Data in Replace holds"), "{e}");
    m.commands[0] = replace(Data::Binary("a\u{FFFE}b".into()));
    assert_eq!(codec::writable(&m), Ok(()));
}
