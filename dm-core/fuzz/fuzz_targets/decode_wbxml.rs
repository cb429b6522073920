#![no_main]
//! WBXML: after a SyncML 1.2 header, any body; never a panic, what decodes round-trips, and the
//! streaming WBXML-to-XML conversion says what the decoder says: it converts what decodes, and
//! what it converts has no fault in its tokens (only, maybe, in its SyncML structure); what
//! decodes converts to XML that strict decoding takes.
use dm_core::codec::{self, Encoding};
use dm_core::error::{DecodeErrorKind as K, Error};
use dm_core::model::{Command, Data};
use libfuzzer_sys::fuzz_target;

/// Each embedded XML made text: an embedded document travels as its text where that is shorter
/// than as elements, so what comes back from WBXML may differ from what went in by that alone.
fn xml_as_text(commands: &mut [Command]) {
    for c in commands {
        let items = match c {
            Command::Add(x) | Command::Copy(x) | Command::Delete(x) | Command::Exec(x) | Command::Get(x) => {
                &mut x.items
            }
            Command::Replace(x) => &mut x.items,
            Command::Alert(a) => &mut a.items,
            Command::Results(r) => &mut r.items,
            Command::Status(s) => &mut s.items,
            Command::Atomic(g) | Command::Sequence(g) => {
                xml_as_text(&mut g.commands);
                continue;
            }
        };
        for item in items {
            if let Some(Data::Xml(x)) = &mut item.data {
                item.data = Some(Data::Text(std::mem::take(x)));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = vec![0x02, 0xA4, 0x01, 0x6A];
    bytes.extend_from_slice(data);
    for input in [data, &bytes[..]] {
        let xml = codec::wbxml_to_xml(input);
        let decoded = codec::decode(input);
        if let (Ok(_), Err(Error::Decode(e))) = (&xml, &decoded) {
            let token_fault = matches!(e.kind, K::InvalidUtf8 | K::Wbxml(_) | K::Truncated | K::UnknownElement(_));
            assert!(!token_fault, "converted, but decoding found {e}");
        }
        if let Ok(m) = decoded {
            let again = codec::decode(&codec::encode(&m, Encoding::Wbxml)).expect("our WBXML decodes");
            if again != m {
                let (mut sent, mut back) = (m.clone(), again);
                xml_as_text(&mut sent.commands);
                xml_as_text(&mut back.commands);
                assert_eq!(back, sent);
            }
            if codec::detect(input) != Some(Encoding::Wbxml) {
                continue;
            }
            // As XML, binary data is its base64 text: compare with the model written as XML.
            let xml = xml.expect("what decodes converts");
            let lenient = codec::DecodeOptions::lenient();
            let via_model = codec::decode_with(m.to_xml().as_bytes(), &lenient).expect("our XML decodes");
            assert_eq!(codec::decode_with(xml.as_bytes(), &lenient).expect("the conversion decodes"), via_model);
            // Strictly decoded, it is XML strict decoding takes, through the model or converted.
            assert_eq!(codec::decode(xml.as_bytes()).expect("the conversion decodes strictly"), via_model);
        }
    }
});
