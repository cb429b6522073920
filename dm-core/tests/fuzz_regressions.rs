//! What the fuzzers found: each input is refused with a DecodeError or round-trips.
use dm_core::codec;

fn regression(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fuzz_regressions/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn round_trips_or_is_refused(name: &str) {
    let data = regression(name);
    if let (Ok(m), Some(enc)) = (codec::decode(&data), codec::detect(&data)) {
        assert_eq!(codec::decode(&codec::encode(&m, enc)).unwrap(), m, "{name}");
    }
}

#[test]
fn syncml_elements_in_data_are_refused() {
    let data = regression("wbxml_syncml_elements_in_data.bin");
    let e = codec::decode(&data).unwrap_err();
    assert!(e.to_string().contains("embedded in Data"), "{e}");
    round_trips_or_is_refused("wbxml_syncml_elements_in_data.bin");
}

#[test]
fn binary_data_round_trips_in_wbxml() {
    round_trips_or_is_refused("wbxml_binary_data_reencoded_as_xml.bin");
}

/// The streaming WBXML-to-XML conversion says what the decoder says (binary data being base64
/// text in XML either way), and never panics.
fn converts_as_decoded(name: &str) {
    let data = regression(name);
    let xml = codec::wbxml_to_xml(&data);
    if let Ok(m) = codec::decode(&data) {
        let lenient = codec::DecodeOptions::lenient();
        let via_model = codec::decode_with(m.to_xml().as_bytes(), &lenient).unwrap();
        assert_eq!(codec::decode_with(xml.unwrap().as_bytes(), &lenient).unwrap(), via_model, "{name}");
    }
}

/// Refused by decoding and by the conversion alike, and so converted as decoded.
fn refused_by_both(name: &str) {
    converts_as_decoded(name);
    let data = regression(name);
    assert!(codec::decode(&data).is_err() && codec::wbxml_to_xml(&data).is_err(), "{name}");
}

/// A control character in a Status code (the conversion wrote the Data as base64, decoding
/// trimmed the form feed away and read 212), and one in an attribute of an embedded document
/// (decoding took it): text XML cannot carry.
#[test]
fn control_characters_are_refused_by_decoding_and_the_conversion_alike() {
    refused_by_both("wbxml_to_xml_control_character_in_status_data.bin");
    refused_by_both("wbxml_control_character_in_an_embedded_attribute.bin");
}

#[test]
fn binary_data_converts_to_its_base64_text() {
    converts_as_decoded("wbxml_to_xml_binary_data.bin");
}

#[test]
fn data_read_ahead_with_the_header_is_converted_in_place() {
    converts_as_decoded("wbxml_to_xml_data_in_lookahead.bin");
    // Data as the document's first element: read right where its start tag is.
    let data = regression("wbxml_to_xml_data_in_lookahead.bin");
    // Several root elements, then a document cut short: refused, where it once panicked.
    assert!(matches!(codec::wbxml_to_xml(&data), Err(dm_core::Error::Decode(_))));
}

#[test]
fn a_bare_ampersand_in_a_leniently_read_embedded_document_is_written_well_formed() {
    let data = regression("xml_lenient_embedded_bare_amp.bin");
    let lenient = codec::DecodeOptions::lenient();
    // Control characters, in VerProto and in the embedded document: refused however read.
    for options in [codec::DecodeOptions::default(), lenient.clone()] {
        let e = codec::decode_with(&data, &options).unwrap_err();
        assert!(e.to_string().starts_with("text XML cannot carry"), "{e}");
    }
    let data: Vec<u8> = data.into_iter().filter(|&b| b != 0x12 && b != 0x08).collect();
    let m = codec::decode_with(&data, &lenient).unwrap();
    let again = codec::encode(&m, codec::Encoding::Xml);
    assert_eq!(codec::decode_with(&again, &lenient).unwrap(), m);
    // Strict decoding finds nothing wrong but what lenient decoding let in: the text beside
    // the embedded document.
    let strict = codec::decode(&again).unwrap_err();
    assert!(strict.to_string().starts_with("Data holds text beside an embedded document at "), "{strict}");
}

/// Strings that are UTF-8 only once joined (a character split over two), and no root element:
/// the conversion, which checks its whole output at once, converted what decoding refuses.
#[test]
fn a_character_split_over_two_strings_is_refused_by_the_conversion_too() {
    let data = regression("wbxml_to_xml_char_split_over_strings.bin");
    assert!(codec::decode(&data).is_err());
    assert!(matches!(codec::wbxml_to_xml(&data), Err(dm_core::Error::Decode(_))));
}

/// Text with an element inside it in an XML Alert's Data: refused by strict decoding, read
/// leniently as embedded XML, which WBXML cannot carry as a DDF document, so it travels as its
/// text and comes back as `Data::Text` with the same characters (the fuzz oracle expected the
/// model unchanged).
#[test]
fn embedded_xml_that_is_no_ddf_document_travels_in_wbxml_as_its_text() {
    use dm_core::model::{Command, Data, Item};
    fn alert_item(m: &mut dm_core::Message) -> &mut Item {
        match &mut m.commands[3] {
            Command::Sequence(g) => match &mut g.commands[0] {
                Command::Alert(a) => &mut a.items[1],
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
    let data = regression("xml_mixed_content_in_data_to_wbxml.bin");
    let strict = codec::decode(&data).unwrap_err();
    assert!(strict.to_string().starts_with("Data holds text beside an embedded document at "), "{strict}");
    let mut m = codec::decode_with(&data, &codec::DecodeOptions::lenient()).unwrap();
    let text = "Do you want       <Item></Item>\n     nt?";
    assert_eq!(alert_item(&mut m).data, Some(Data::Xml(text.into())));
    let again = codec::decode(&codec::encode(&m, codec::Encoding::Wbxml)).unwrap();
    // That Data comes back as text, and nothing else changed.
    let mut expected = m.clone();
    alert_item(&mut expected).data = Some(Data::Text(text.into()));
    assert_eq!(again, expected);
}

/// A document of DDF element names in no namespace (`<One>`, read from LITERAL elements) went
/// out again as a DDF document, which reads back in the DDF namespace: only a document as a DDF
/// document reads back is written as one.
#[test]
fn a_document_of_ddf_names_in_no_namespace_round_trips() {
    let name = "wbxml_ddf_names_in_no_namespace.bin";
    let m = codec::decode(&regression(name)).unwrap();
    assert!(matches!(&m.commands[0].items()[0].data, Some(dm_core::model::Data::Xml(x)) if x.starts_with("<One>")));
    round_trips_or_is_refused(name);
    converts_as_decoded(name);
}
