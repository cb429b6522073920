#![no_main]
//! WBXML: after a SyncML 1.2 header, any body; never a panic, what decodes round-trips, and the
//! streaming WBXML-to-XML conversion says what the decoder says.
use dm_core::codec::{self, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = vec![0x02, 0xA4, 0x01, 0x6A];
    bytes.extend_from_slice(data);
    for input in [data, &bytes[..]] {
        let xml = codec::wbxml_to_xml(input);
        if let Ok(m) = codec::decode(input) {
            let again = codec::decode(&codec::encode(&m, Encoding::Wbxml)).expect("our WBXML decodes");
            assert_eq!(again, m);
            if codec::detect(input) != Some(Encoding::Wbxml) {
                continue;
            }
            // As XML, binary data is its base64 text: compare with the model written as XML.
            let xml = xml.expect("what decodes converts");
            let lenient = codec::DecodeOptions::lenient();
            let via_model = codec::decode_with(m.to_xml().as_bytes(), &lenient).expect("our XML decodes");
            assert_eq!(codec::decode_with(xml.as_bytes(), &lenient).expect("the conversion decodes"), via_model);
        }
    }
});
