//! The WBXML codec: real vectors, round trips, exact sizes, and hostile input.
mod common;

use dm_core::Limits;
use dm_core::codec::{self, DecodeOptions, Encoding};
use dm_core::error::{DecodeErrorKind, Error, Limit};
use proptest::prelude::*;

fn lenient(bytes: &[u8]) -> dm_core::Message {
    codec::decode_with(bytes, &DecodeOptions::lenient()).unwrap()
}

/// The reference decoding of each WBXML vector.
fn twin(name: &str) -> String {
    if let Some(stem) = name.strip_suffix(".wbxml") {
        if name.starts_with("motorola_dm12/") {
            return format!("{stem}.decoded.xml");
        }
        if name.starts_with("libdmclient_capture/") {
            return stem.replace("/wbxml_", "/xml_") + ".xml";
        }
        return format!("{stem}.xml");
    }
    unreachable!()
}

#[test]
fn every_wbxml_vector_decodes_equal_to_its_xml_twin() {
    let files = common::vectors_with_ext("wbxml");
    assert!(files.len() >= 9);
    for (name, bytes) in &files {
        let m = codec::decode(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The XML and WBXML captures of package 3 come from two runs with different nonces.
        if !name.ends_with("wbxml_pkg3_client.wbxml") {
            assert_eq!(m, lenient(&common::vector(&twin(name))), "{name}");
        }
        let ours = codec::encode(&m, Encoding::Wbxml);
        assert_eq!(ours.len(), codec::encoded_len(&m, Encoding::Wbxml), "{name}");
        assert_eq!(codec::decode(&ours).unwrap(), m, "{name}");
    }
}

#[test]
fn textual_public_id_of_syncml_11_with_12_content_decodes_by_content() {
    let bytes = common::vector("motorola_dm12/testget.wbxml");
    assert_eq!(&bytes[..5], &[0x02, 0x00, 0x00, 0x6A, 0x1D]);
    let m = codec::decode(&bytes).unwrap();
    assert_eq!((m.header.ver_dtd.as_str(), m.header.ver_proto.as_str()), ("1.2", "DM/1.2"));
}

#[test]
fn header_is_wbxml_12_numeric_public_id_utf8() {
    let m = lenient(&common::vector("libdmclient_capture/xml_pkg1_client.xml"));
    let w = codec::encode(&m, Encoding::Wbxml);
    assert_eq!(&w[..4], &[0x02, 0xA4, 0x01, 0x6A]);
}

#[test]
fn repeated_strings_go_to_the_string_table_and_make_it_smaller() {
    let m = lenient(&common::vector("libdmclient_capture/xml_pkg1_client.xml"));
    let w = codec::encode(&m, Encoding::Wbxml);
    assert!(w[4] > 0, "string table is empty");
    // Without a table the same message is larger (the capture was written without one).
    assert!(w.len() < common::vector("libdmclient_capture/wbxml_pkg1_client.wbxml").len());
}

#[test]
fn binary_data_and_nul_travel_as_opaque() {
    let mut m = lenient(&common::vector("libdmclient_capture/xml_pkg1_client.xml"));
    use dm_core::model::*;
    let bin = Data::Binary(vec![0xFF, 0x00, 0xFE, 0x80]);
    let nul = Data::Text("a\0b".into());
    m.commands.push(Command::Replace(ItemCommand {
        cmd_id: 99,
        items: vec![
            Item { data: Some(bin.clone()), ..Item::default() },
            Item { data: Some(nul.clone()), ..Item::default() },
        ],
        ..ItemCommand::default()
    }));
    let w = codec::encode(&m, Encoding::Wbxml);
    assert!(w.windows(6).any(|x| x == [0xC3, 0x04, 0xFF, 0x00, 0xFE, 0x80]));
    // Text XML cannot carry (a NUL) comes back as the same bytes, binary: as text, a conversion
    // to XML would write what no XML reader takes.
    let Some(Command::Replace(c)) = m.commands.last_mut() else { unreachable!() };
    c.items[1].data = Some(Data::Binary(b"a\0b".to_vec()));
    assert_eq!(codec::decode(&w).unwrap(), m);
    assert!(codec::is_xml_text(&codec::wbxml_to_xml(&w).unwrap()));
}

/// A WBXML string may hold what XML cannot carry: as an Item's Data it is read as bytes (and
/// converted to XML as base64, as the model is written); in any other element, or between
/// elements (a form feed is not XML's white space), strict decoding and the conversion to XML
/// refuse it.
#[test]
fn wbxml_text_xml_cannot_carry_is_bytes_in_data_and_refused_elsewhere() {
    use dm_core::model::*;
    let base = lenient(&common::vector("libdmclient_capture/xml_pkg1_client.xml"));
    let with_item = |item: Item| {
        let mut m = base.clone();
        let command = ItemCommand { cmd_id: 99, items: vec![item], ..ItemCommand::default() };
        m.commands.push(Command::Replace(command));
        codec::encode(&m, Encoding::Wbxml)
    };
    let data = with_item(Item { data: Some(Data::Text("a\u{1}b".into())), ..Item::default() });
    let m = codec::decode(&data).unwrap();
    let Some(Command::Replace(c)) = m.commands.last() else { unreachable!() };
    assert_eq!(c.items[0].data, Some(Data::Binary(b"a\x01b".to_vec())));
    let xml = codec::wbxml_to_xml(&data).unwrap();
    assert!(xml.contains("<Data>YQFi</Data>"), "{xml}");
    let uri = with_item(Item { target: Some(Location::new("./a\u{1}")), ..Item::default() });
    for err in [codec::decode(&uri).unwrap_err(), codec::wbxml_to_xml(&uri).unwrap_err()] {
        assert!(err.to_string().starts_with("text XML cannot carry"), "{err}");
    }
    // Between elements only XML's white space is blank: a form feed is text out of place.
    let plain = codec::encode(&base, Encoding::Wbxml);
    // SyncHdr's END, back to page 0 from MetInf's, SyncBody.
    let body = plain.windows(4).position(|w| w == [0x01, 0x00, 0x00, 0x6B]).expect("SyncBody") + 4;
    for (text, blank) in [(b'\x0c', false), (b'\t', true)] {
        let mut w = plain.clone();
        w.splice(body..body, [0x03, text, 0x00]);
        assert_eq!(codec::decode(&w).is_ok(), blank);
        assert_eq!(codec::wbxml_to_xml(&w).is_ok(), blank);
        assert!(codec::decode_with(&w, &DecodeOptions::lenient()).is_ok());
    }
}

#[test]
fn embedded_ddf_document_uses_code_page_2() {
    use dm_core::model::*;
    let tree = r#"<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>a&amp;b</NodeName><Value/></Node></MgmtTree>"#;
    let mut m = lenient(&common::vector("oma_spec_examples/26_04_onestep_pkg4_server_close.xml"));
    m.commands.push(Command::Replace(ItemCommand {
        cmd_id: 9,
        items: vec![Item { data: Some(Data::Xml(tree.into())), ..Item::default() }],
        ..ItemCommand::default()
    }));
    let w = codec::encode(&m, Encoding::Wbxml);
    assert!(w.windows(3).any(|x| x == [0x00, 0x02, 0x60]), "MgmtTree token on page 2");
    assert_eq!(codec::decode(&w).unwrap(), m);
}

/// `<Data><Foo>bar</Foo></Data>` in a Replace, as libwbxml's xml2wbxml 0.11.8 writes it: `Foo` is
/// on no code page, so it is a LITERAL element (0x44) naming string-table entry 0. (Also a seed
/// of the decode_wbxml fuzz target.)
const LIBWBXML_LITERAL_IN_DATA: [u8; 85] = *include_bytes!("../fuzz/seeds/decode_wbxml/libwbxml_literal_in_data.wbxml");

#[test]
fn a_literal_element_in_data_reads_as_embedded_xml_and_ours_is_libwbxmls() {
    use dm_core::model::*;
    let m = codec::decode(&LIBWBXML_LITERAL_IN_DATA).unwrap();
    assert_eq!(m.commands[0].items()[0].data, Some(Data::Xml("<Foo>bar</Foo>".into())));
    let xml = codec::wbxml_to_xml(&LIBWBXML_LITERAL_IN_DATA).unwrap();
    assert!(xml.contains("<Data><Foo>bar</Foo></Data>"), "{xml}");
    // Ours is libwbxml's byte for byte, but for the version (1.2; libwbxml writes 1.3).
    let ours = codec::encode(&m, Encoding::Wbxml);
    assert_eq!(ours[1..], LIBWBXML_LITERAL_IN_DATA[1..]);
    assert_eq!(codec::decode(&ours).unwrap(), m);
}

/// Literal elements' attributes: each named in the string table (LITERAL), its value in text
/// tokens, the list closed by END (WBXML 1.3 §5.8.3; what libwbxml reads).
#[test]
fn a_literal_elements_attributes_read_as_xml_attributes() {
    use dm_core::model::Data;
    let at = LIBWBXML_LITERAL_IN_DATA.iter().rposition(|&b| b == 0x44).unwrap();
    // The table "Foo\0" grows "a\0" (entry 4) and "b\0" (entry 6).
    let with = |attributes: &[u8]| {
        let mut w = [&LIBWBXML_LITERAL_IN_DATA[..5], b"Foo\0a\0b\0", &LIBWBXML_LITERAL_IN_DATA[9..at]].concat();
        w[4] = 8;
        w.extend([0xC4, 0x00]);
        w.extend_from_slice(attributes);
        w.extend_from_slice(&LIBWBXML_LITERAL_IN_DATA[at + 2..]);
        w
    };
    let good = with(b"\x04\x04\x03x\"<\t\x00\x83\x00\x04\x06\x01");
    let m = codec::decode(&good).unwrap();
    let foo = r#"<Foo a="x&quot;&lt;&#9;Foo" b="">bar</Foo>"#;
    assert_eq!(m.commands[0].items()[0].data, Some(Data::Xml(foo.into())));
    assert!(codec::wbxml_to_xml(&good).unwrap().contains(&format!("<Data>{foo}</Data>")));
    // Written back the same way, and read again to the same document.
    let again = codec::decode(&codec::encode(&m, Encoding::Wbxml)).unwrap();
    assert_eq!(again, m);

    let refused = |attributes: &[u8], what: &str| {
        let kind = wkind(&with(attributes));
        assert!(matches!(&kind, DecodeErrorKind::Wbxml(w) if w.contains(what)), "{what}: {kind:?}");
        assert!(codec::wbxml_to_xml(&with(attributes)).is_err(), "the conversion refuses it too");
    };
    refused(b"\x04\x04\x04\x04\x01", "attribute a given twice");
    refused(b"\x05\x01", "unsupported attribute token 0x05");
    refused(b"\x04\x03\x01", "string table entry 3 is not an element name");
    let mut unnamed = with(b"\x04\x04\x01");
    unnamed[9] = b'1';
    let kind = wkind(&unnamed);
    assert!(matches!(&kind, DecodeErrorKind::Wbxml(w) if w.contains("entry 4 is not an element name")), "{kind:?}");
}

/// An embedded document carried as LITERAL elements is refused when, as XML, strict decoding
/// would refuse its names: a namespace prefix that is not declared. The conversion refuses it
/// too.
#[test]
fn a_literal_document_strict_xml_would_refuse_is_refused() {
    let data = "<a xmlns:p='u'><p:b/><p:b/><p:b/><p:b/></a>";
    let xml = format!(
        "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1\
         </SessionID><MsgID>1</MsgID><Target><LocURI>T</LocURI></Target><Source><LocURI>S</LocURI></Source>\
         </SyncHdr><SyncBody><Replace><CmdID>1</CmdID><Item><Target><LocURI>./a</LocURI></Target><Data>{data}\
         </Data></Item></Replace></SyncBody></SyncML>"
    );
    let w = codec::xml_to_wbxml(xml.as_bytes()).unwrap();
    assert!(codec::decode(&w).is_ok() && codec::wbxml_to_xml(&w).is_ok());
    let at = w.windows(7).position(|x| x == b"xmlns:p").expect("the declaration, a LITERAL name");
    let mut undeclared = w.clone();
    undeclared[at + 6] = b'q';
    for err in [codec::decode(&undeclared).unwrap_err(), codec::wbxml_to_xml(&undeclared).unwrap_err()] {
        assert!(err.to_string().contains("the namespace prefix p: is not declared"), "{err}");
    }
}

#[test]
fn a_literal_element_with_no_element_name_is_refused() {
    for name in [*b"1oo", *b"F o", *b"F<o"] {
        let mut bad = LIBWBXML_LITERAL_IN_DATA;
        bad[5..8].copy_from_slice(&name);
        let kind = wkind(&bad);
        assert!(matches!(&kind, DecodeErrorKind::Wbxml(w) if w.contains("not an element name")), "{kind:?}");
        assert!(codec::wbxml_to_xml(&bad).is_err(), "the conversion refuses it too");
    }
    // A literal as a SyncML element, outside Data: refused as before.
    let at = LIBWBXML_LITERAL_IN_DATA.iter().rposition(|&b| b == 0x44).unwrap();
    let mut outside = LIBWBXML_LITERAL_IN_DATA;
    outside[at - 1] = 0x44;
    assert!(codec::decode(&outside).is_err());
}

/// Embedded XML that is no DDF document travels as elements named in the string table, with
/// its attributes, text and references, and reads back to the same document; it travels as its
/// text where that is shorter, and the string table is shared by the documents of a message.
#[test]
fn embedded_xml_travels_as_literal_elements_when_that_is_no_longer() {
    use dm_core::model::*;
    let replace = |docs: &[&str]| {
        let mut m = lenient(&common::vector("oma_spec_examples/26_04_onestep_pkg4_server_close.xml"));
        m.commands.push(Command::Replace(ItemCommand {
            cmd_id: 9,
            items: docs.iter().map(|d| Item { data: Some(Data::Xml(d.to_string())), ..Item::default() }).collect(),
            ..ItemCommand::default()
        }));
        m
    };
    let data =
        |m: &Message| m.commands.last().unwrap().items().iter().map(|i| i.data.clone().unwrap()).collect::<Vec<_>>();
    let doc = r#"<x:Inventory xmlns:x="urn:acme" n="1 &amp; &quot;2&quot;&#10;"><App>t &lt; u&#13;</App><App/><Note>a</Note></x:Inventory>"#;
    let m = replace(&[doc, doc]);
    let w = codec::encode(&m, Encoding::Wbxml);
    assert!(w.windows(2).any(|x| x == [0xC4, 0x00]), "a literal element with attributes and content, entry 0");
    assert_eq!(codec::encode(&m, Encoding::Wbxml).len(), codec::encoded_len(&m, Encoding::Wbxml));
    assert_eq!(codec::decode(&w).unwrap(), m, "comes back as written");
    let as_text = doc.replace('<', "[");
    let text_len = codec::encode(&replace(&[&as_text, &as_text]), Encoding::Wbxml).len();
    assert!(w.len() < text_len, "{} bytes as elements, {text_len} as text", w.len());

    // Comments, the declaration and white space around the root go; the rest reads back alike.
    let loose = "<?xml version=\"1.0\"?>\n<!-- c --><A  b = 'c' ><![CDATA[<d>]]></A >\n";
    let back = codec::decode(&codec::encode(&replace(&[loose]), Encoding::Wbxml)).unwrap();
    assert_eq!(data(&back), [Data::Xml(r#"<A b="c">&lt;d&gt;</A>"#.into())]);

    // Two attributes of one-letter names cost a byte more as LITERAL than as text: text it stays.
    let costly = r#"<a n="1" m="2"/>"#;
    let back = codec::decode(&codec::encode(&replace(&[costly]), Encoding::Wbxml)).unwrap();
    assert_eq!(data(&back), [Data::Text(costly.into())]);
    // Markup WBXML cannot carry as elements stays text as well.
    for other in ["<a>&custom;</a>", "<a/><b/>", "x<a/>", "<!DOCTYPE a><a/>", "<a>"] {
        let back = codec::decode(&codec::encode(&replace(&[other]), Encoding::Wbxml)).unwrap();
        assert_eq!(data(&back), [Data::Text(other.into())], "{other}");
    }
}

/// An embedded document is read without recursing through its depth: 5 000 levels of LITERAL
/// elements (the depth limit raised to let them in) decode on a 256 KiB stack.
#[test]
fn a_deep_embedded_document_is_read_without_recursion() {
    use dm_core::model::*;
    let doc = format!("{}x{}", "<a>".repeat(5_000), "</a>".repeat(5_000));
    let mut m = lenient(&common::vector("oma_spec_examples/26_04_onestep_pkg4_server_close.xml"));
    m.commands.push(Command::Replace(ItemCommand {
        cmd_id: 9,
        items: vec![Item { data: Some(Data::Xml(doc)), ..Item::default() }],
        ..ItemCommand::default()
    }));
    let w = codec::encode(&m, Encoding::Wbxml);
    assert!(w.windows(2).any(|x| x == [0x44, 0x00]), "a literal element");
    let mut options = DecodeOptions::default();
    options.limits.max_nesting = 3_000;
    let decoded = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || codec::decode_with(&w, &options).map(|back| back == m))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(decoded.ok(), Some(true));
}

/// Strict decoding takes Data's embedded XML only as one document with nothing but white space
/// beside it, from WBXML as from XML; lenient decoding keeps what it finds.
#[test]
fn embedded_xml_in_data_is_one_document_alone_in_either_encoding() {
    use dm_core::model::Data;
    let at = LIBWBXML_LITERAL_IN_DATA.iter().rposition(|&b| b == 0x44).unwrap();
    let element = &LIBWBXML_LITERAL_IN_DATA[at..at + 8];
    assert_eq!(element, [0x44, 0x00, 0x03, b'b', b'a', b'r', 0x00, 0x01], "<Foo>bar</Foo>");
    let before = |extra: &[u8]| [&LIBWBXML_LITERAL_IN_DATA[..at], extra, &LIBWBXML_LITERAL_IN_DATA[at..]].concat();
    let xml = codec::wbxml_to_xml(&LIBWBXML_LITERAL_IN_DATA).unwrap();
    let in_xml = |data: &str| xml.replace("<Data><Foo>bar</Foo></Data>", data).into_bytes();
    let beside = DecodeErrorKind::EmbeddedXml("text beside an embedded document");
    let two = DecodeErrorKind::EmbeddedXml("more than one embedded document");
    assert_eq!(wkind(&before(b"\x03x\x00")), beside);
    assert_eq!(wkind(&in_xml("<Data>x<Foo>bar</Foo></Data>")), beside);
    assert_eq!(wkind(&before(element)), two);
    assert_eq!(wkind(&in_xml("<Data><Foo>bar</Foo><Foo>bar</Foo></Data>")), two);
    assert!(codec::decode(&before(b"\x03 \n\x00")).is_ok());
    let alone = codec::decode(&in_xml("<Data>\n <Foo>bar</Foo> </Data>")).unwrap();
    assert_eq!(alone.commands[0].items()[0].data, Some(Data::Xml("<Foo>bar</Foo>".into())));
    let lenient = codec::decode_with(&in_xml("<Data>x<Foo>bar</Foo></Data>"), &codec::DecodeOptions::lenient());
    assert_eq!(lenient.unwrap().commands[0].items()[0].data, Some(Data::Xml("x<Foo>bar</Foo>".into())));
}

fn wbxml_error(bytes: &[u8]) -> Error {
    codec::decode(bytes).expect_err("must be refused")
}

fn wkind(bytes: &[u8]) -> DecodeErrorKind {
    match wbxml_error(bytes) {
        Error::Decode(e) => e.kind,
        other => panic!("expected DecodeError, got {other:?}"),
    }
}

#[test]
fn truncated_at_every_byte_is_a_decode_error_with_offset() {
    let bytes = common::vector("libdmclient_capture/wbxml_pkg1_client.wbxml");
    for cut in 1..bytes.len() {
        match codec::decode(&bytes[..cut]) {
            Err(Error::Decode(e)) => assert!(e.site.offset <= cut as u64, "cut {cut}: {e}"),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn hostile_headers_and_tokens() {
    // mb_u_int32 with more than 32 bits.
    assert!(matches!(wkind(&[0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), DecodeErrorKind::Wbxml(_)));
    // ... or more than five bytes, even when the value fits (zeros before it).
    assert!(
        matches!(wkind(&[0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), DecodeErrorKind::Wbxml(m) if m.contains("5 bytes"))
    );
    // A string table that claims 2 GiB.
    assert_eq!(wkind(&[0x02, 0xA4, 0x01, 0x6A, 0x88, 0x80, 0x80, 0x80, 0x00]), DecodeErrorKind::Truncated);
    // Unsupported version and charset.
    assert!(
        matches!(wkind(&[0x00, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x01]), DecodeErrorKind::Wbxml(m) if m.contains("version"))
    );
    assert!(matches!(wkind(&[0x02, 0xA4, 0x01, 0x83, 0x00]), DecodeErrorKind::Wbxml(m) if m.contains("charset")));
    // STR_T past the string table.
    assert!(
        matches!(wkind(&[0x02, 0xA4, 0x01, 0x6A, 0x02, b'a', 0, 0x6D, 0x6C, 0x71, 0x83, 0x05]), DecodeErrorKind::Wbxml(m) if m.contains("out of range"))
    );
    // Unknown token on page 0, unknown page.
    assert!(matches!(wkind(&[0x02, 0xA4, 0x01, 0x6A, 0x00, 0x7F]), DecodeErrorKind::UnknownElement(_)));
    assert!(matches!(wkind(&[0x02, 0xA4, 0x01, 0x6A, 0x00, 0x00, 0x09, 0x45]), DecodeErrorKind::UnknownElement(_)));
    // END without a start tag; attributes.
    assert!(matches!(wkind(&[0x02, 0xA4, 0x01, 0x6A, 0x00, 0x01]), DecodeErrorKind::Wbxml(m) if m.contains("END")));
    assert!(matches!(wkind(&[0x02, 0xA4, 0x01, 0x6A, 0x00, 0xED]), DecodeErrorKind::Wbxml(_)));
    // Invalid UTF-8 in a string.
    let mut bad = vec![0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x6C, 0x71, 0x03, 0xFF, 0x00, 0x01];
    assert_eq!(wkind(&bad), DecodeErrorKind::InvalidUtf8);
    bad[9] = b'1';
    assert!(matches!(wkind(&bad), DecodeErrorKind::Truncated));
}

#[test]
fn deep_wbxml_nesting_hits_the_limit() {
    let mut b = vec![0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x6B];
    for _ in 0..100_000 {
        b.extend([0x64, 0x4B, 0x03, b'1', 0x00, 0x01]); // <Sequence><CmdID>1</CmdID>
    }
    match wbxml_error(&b) {
        Error::Limit(e) => assert_eq!(e.limit, Limit::Nesting),
        other => panic!("{other:?}"),
    }
}

#[test]
fn latin1_charset_is_converted() {
    let m = lenient(&common::vector("oma_spec_examples/26_04_onestep_pkg4_server_close.xml"));
    let mut w = codec::encode(&m, Encoding::Wbxml);
    let at = w.windows(4).position(|x| x == b"DM/1").unwrap();
    w[3] = 0x04; // ISO-8859-1
    w[at] = 0xC4; // 'Ä'
    let back = codec::decode(&w).unwrap();
    assert_eq!(back.header.ver_proto, "\u{C4}M/1.2");
}

#[test]
fn wbxml_limits_apply_as_in_xml() {
    let m = lenient(&common::vector("libdmclient_capture/xml_pkg1_client.xml"));
    let w = codec::encode(&m, Encoding::Wbxml);
    let mut limits = Limits::default();
    limits.max_items = 3;
    match codec::decode_with(&w, &DecodeOptions { lenient: false, limits }) {
        Err(Error::Limit(e)) => assert_eq!(e.limit, Limit::Items),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn wbxml_round_trip_and_exact_length(m in common::message()) {
        let w = codec::encode(&m, Encoding::Wbxml);
        prop_assert_eq!(codec::encoded_len(&m, Encoding::Wbxml), w.len());
        prop_assert_eq!(&codec::decode(&w).unwrap(), &m);
        // XML → WBXML → XML gives the same message.
        let xml = codec::encode(&m, Encoding::Xml);
        let via = codec::wbxml_to_xml(&codec::xml_to_wbxml(&xml).unwrap()).unwrap();
        prop_assert_eq!(codec::decode(via.as_bytes()).unwrap(), m);
    }
}

#[test]
fn wbxml_to_xml_says_what_decode_says_on_every_vector() {
    let lenient = codec::DecodeOptions::lenient();
    let mut n = 0;
    for (name, w) in common::vectors_with_ext("wbxml") {
        let Ok(m) = codec::decode_with(&w, &lenient) else { continue };
        let xml = codec::wbxml_to_xml(&w).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(codec::decode_with(xml.as_bytes(), &lenient).unwrap(), m, "{name}");
        n += 1;
    }
    assert!(n >= 5, "{n} WBXML vectors");
}

#[test]
fn wbxml_to_xml_keeps_the_dm11_namespace() {
    let pkg = common::vector("handwritten/dm12_pkg1.xml");
    let mut m = codec::decode(&pkg).unwrap();
    let w12 = codec::encode(&m, Encoding::Wbxml);
    assert!(codec::wbxml_to_xml(&w12).unwrap().starts_with("<SyncML xmlns=\"SYNCML:SYNCML1.2\">"));
    m.header.ver_dtd = "1.1".into();
    m.header.ver_proto = "DM/1.1".into();
    let xml = codec::wbxml_to_xml(&codec::encode(&m, Encoding::Wbxml)).unwrap();
    assert!(xml.starts_with("<SyncML xmlns=\"SYNCML:SYNCML1.1\">"), "{xml}");
    // Strict decoding takes it, and it says what the model written as XML says.
    assert_eq!(codec::decode(xml.as_bytes()).unwrap(), codec::decode(m.to_xml().as_bytes()).unwrap());
}

#[test]
fn wbxml_to_xml_places_invalid_utf8_where_decode_does() {
    let where_ = |r: Result<String, Error>| match r {
        Err(Error::Decode(e)) => (e.kind, e.site.offset, e.site.path),
        other => panic!("{other:?}"),
    };
    let m = lenient(&common::vector("handwritten/dm12_pkg1.xml"));
    let w = codec::encode(&m, Encoding::Wbxml);
    // An inline string (the session id) and a string-table entry (a repeated URI) made invalid.
    let inline = w.windows(2).position(|x| x[0] == 0x03 && x[1] != 0).unwrap() + 1;
    let table_len = usize::from(w[4]);
    for at in [inline, 5] {
        assert!(at != 5 || table_len > 0, "the vector has a string table");
        let mut bad = w.clone();
        bad[at] = 0xFF;
        let decoded = match codec::decode(&bad) {
            Err(Error::Decode(e)) => (e.kind, e.site.offset, e.site.path),
            other => panic!("{other:?}"),
        };
        assert_eq!(decoded.0, DecodeErrorKind::InvalidUtf8);
        assert_eq!(where_(codec::wbxml_to_xml(&bad)), decoded);
    }
}

/// `text` as an inline string in `wbxml` replaced by OPAQUE bytes that are not UTF-8; returns
/// the new message and where the OPAQUE token starts.
fn with_opaque_for(wbxml: &[u8], text: &str) -> (Vec<u8>, usize) {
    let inline = [&[0x03][..], text.as_bytes(), &[0x00]].concat();
    let at = wbxml.windows(inline.len()).position(|x| x == inline).expect("the string, inline");
    let opaque = [0xC3, 0x03, 0xFF, 0xFE, b'z'];
    ([&wbxml[..at], &opaque[..], &wbxml[at + inline.len()..]].concat(), at)
}

/// OPAQUE bytes are a valid token; where the model needs text (here the Cred's Data) and they
/// are not text, decoding says so, while the converter, which writes any Data that is not text
/// as base64, converts them as sent.
#[test]
fn opaque_bytes_that_are_not_text_where_text_is_required_are_refused_as_binary_text() {
    let m = lenient(&common::vector("handwritten/dm12_pkg1.xml"));
    let w = codec::encode(&m, Encoding::Wbxml);
    let (cred, at) = with_opaque_for(&w, "Zz6EivR3yeaaENcRN6lpAQ==");
    match codec::decode(&cred) {
        Err(Error::Decode(e)) => assert_eq!(
            (e.kind, e.site.offset, e.site.path.as_str()),
            (DecodeErrorKind::BinaryText, at as u64, "SyncML/SyncHdr/Cred/Data")
        ),
        other => panic!("{other:?}"),
    }
    assert!(codec::wbxml_to_xml(&cred).unwrap().contains("<Data>//56</Data>"));
    // In any other text, the converter refuses them too, at the same place.
    let (uri, at) = with_opaque_for(&w, "./Vendor/blob");
    for result in [codec::decode(&uri).map(|_| ()), codec::wbxml_to_xml(&uri).map(|_| ())] {
        match result {
            Err(Error::Decode(e)) => assert_eq!((e.kind, e.site.offset), (DecodeErrorKind::BinaryText, at as u64)),
            other => panic!("{other:?}"),
        }
    }
}

/// A package 1 in WBXML whose first Replace item holds `data` as text.
fn pkg1_in_wbxml_with_data(data: &str) -> Vec<u8> {
    let mut m = lenient(&common::vector("handwritten/dm12_pkg1.xml"));
    let item = m
        .commands
        .iter_mut()
        .find_map(|c| match c {
            dm_core::model::Command::Replace(r) => r.items.first_mut(),
            _ => None,
        })
        .expect("a Replace item");
    item.data = Some(dm_core::model::Data::Text(data.into()));
    codec::encode(&m, Encoding::Wbxml)
}

#[test]
fn wbxml_to_xml_writes_opaque_data_that_is_not_utf8_as_base64() {
    let mut w = pkg1_in_wbxml_with_data("zz\u{0}zzz");
    let at = w.windows(6).position(|x| x == b"zz\x00zzz").unwrap();
    w[at] = 0xFF;
    let data = codec::decode(&w).unwrap().commands.iter().find_map(|c| c.items().first().and_then(|i| i.data.clone()));
    assert!(matches!(data, Some(dm_core::model::Data::Binary(b)) if b == b"\xFFz\x00zzz"));
    let xml = codec::wbxml_to_xml(&w).unwrap();
    assert!(xml.contains("<Data>/3oAenp6</Data>"), "{xml}");
}

/// Strings in Data must be text in the document's charset, whether one token or several; only
/// OPAQUE may carry other bytes. The converter says so where decoding does.
#[test]
fn wbxml_to_xml_refuses_a_data_string_that_is_not_utf8_as_decode_does() {
    let w = pkg1_in_wbxml_with_data("qqqqqq");
    let at = w.windows(8).position(|x| x == b"\x03qqqqqq\x00").unwrap();
    // The same text as two inline strings, the second not UTF-8.
    let mut bad = w[..at].to_vec();
    bad.extend_from_slice(b"\x03qq\x00\x03\xFFqqq\x00");
    bad.extend_from_slice(&w[at + 8..]);
    let decoded = match codec::decode(&bad) {
        Err(Error::Decode(e)) => (e.kind, e.site.offset),
        other => panic!("{other:?}"),
    };
    assert_eq!(decoded.0, DecodeErrorKind::InvalidUtf8);
    match codec::wbxml_to_xml(&bad) {
        Err(Error::Decode(e)) => assert_eq!((e.kind, e.site.offset), decoded),
        other => panic!("{other:?}"),
    }
}

/// A character split over two strings: each string is not UTF-8, though the two joined are.
/// Decoding refuses the first; the converter, which checks its whole output at once, must too,
/// at the same place (found by fuzzing).
#[test]
fn a_character_split_over_two_strings_is_refused_by_both_at_the_same_place() {
    let m = lenient(&common::vector("handwritten/dm12_pkg1.xml"));
    let w = codec::encode(&m, Encoding::Wbxml);
    let id = [&[0x03][..], m.header.session_id.as_bytes(), &[0x00]].concat();
    let at = w.windows(id.len()).position(|x| x == id).expect("the session id, inline");
    // "é" (C3 A9) as two inline strings.
    let bad = [&w[..at], b"\x03\xC3\x00\x03\xA9\x00", &w[at + id.len()..]].concat();
    let decoded = match codec::decode(&bad) {
        Err(Error::Decode(e)) => (e.kind, e.site.offset),
        other => panic!("{other:?}"),
    };
    assert_eq!(decoded, (DecodeErrorKind::InvalidUtf8, at as u64 + 1));
    match codec::wbxml_to_xml(&bad) {
        Err(Error::Decode(e)) => assert_eq!((e.kind, e.site.offset), decoded),
        other => panic!("{other:?}"),
    }
}

/// A document has one root element and no text outside it but white space: the converter
/// refuses a second root, or text after the root, where decoding does, so that what it writes
/// is well-formed XML.
#[test]
fn wbxml_to_xml_refuses_a_second_root_or_text_outside_it_where_decode_does() {
    let w = codec::encode(&lenient(&common::vector("handwritten/dm12_pkg1.xml")), Encoding::Wbxml);
    for tail in [&[0x2D][..], b"\x03x\x00", b"\x03 \x00\x2D"] {
        let bad = [&w[..], tail].concat();
        let decoded = match codec::decode(&bad) {
            Err(Error::Decode(e)) => (e.kind, e.site.offset),
            other => panic!("{other:?}"),
        };
        match codec::wbxml_to_xml(&bad) {
            Err(Error::Decode(e)) => assert_eq!((e.kind, e.site.offset), decoded),
            other => panic!("{tail:?}: {other:?}"),
        }
    }
    let blank_after = [&w[..], b"\x03 \n\x00"].concat();
    assert_eq!(codec::wbxml_to_xml(&blank_after).unwrap(), codec::wbxml_to_xml(&w).unwrap());
}

/// A leaf's text reads the same whatever tokens carry it: one string, several strings, a string
/// and a character entity; and an element with content that has none reads as empty.
#[test]
fn a_leaf_reads_the_same_from_one_token_or_several() {
    let w = codec::encode(&lenient(&common::vector("handwritten/dm12_pkg1.xml")), Encoding::Wbxml);
    let original = codec::decode(&w).unwrap();
    let replaced = |old: &[u8], new: &[u8]| {
        let at = w.windows(old.len()).position(|x| x == old).expect("the token in the message");
        [&w[..at], new, &w[at + old.len()..]].concat()
    };
    // The Source LocURI, a reference into the string table.
    let one = b"\x57\x83\x00".as_slice();
    let two = replaced(one, b"\x57\x83\x00\x03 X\x00".as_slice());
    assert_eq!(codec::decode(&two).unwrap().header.source.uri, "IMEI:493005100592800 X");
    let three = replaced(one, b"\x57\x03<\x00\x83\x00\x03>\x00".as_slice());
    assert_eq!(codec::decode(&three).unwrap().header.source.uri, "<IMEI:493005100592800>");
    let opaque = replaced(one, b"\x57\x83\x00\xC3\x02 Y\x03!\x00".as_slice());
    assert_eq!(codec::decode(&opaque).unwrap().header.source.uri, "IMEI:493005100592800 Y!");
    let mut limits = Limits::default();
    limits.max_text_len = 21;
    let long = codec::decode_with(&two, &DecodeOptions { lenient: false, limits });
    assert!(matches!(&long, Err(Error::Limit(e)) if e.limit == Limit::TextLength), "{long:?}");
    let entity = replaced(one, b"\x57\x83\x00\x02\x41".as_slice());
    assert_eq!(codec::decode(&entity).unwrap().header.source.uri, "IMEI:493005100592800A");
    let inline = replaced(one, b"\x57\x03IMEI:493005100592800\x00".as_slice());
    assert_eq!(codec::decode(&inline).unwrap(), original);
    let session_id = b"\x03\x31A2B\x00".as_slice();
    assert!(w.windows(session_id.len()).any(|x| x == session_id));
    let empty = replaced(session_id, b"");
    assert_eq!(codec::decode(&empty).unwrap().header.session_id, "");
}
