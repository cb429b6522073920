//! The XML decoder element by element: what it accepts, what it refuses and where it says so.
mod common;

use dm_core::Limits;
use dm_core::codec::{self, DecodeOptions, Encoding};
use dm_core::error::{DecodeErrorKind, Error, Limit};
use dm_core::model::*;

fn wrap(body: &str) -> String {
    format!(
        "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
         <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>T</LocURI></Target>\
         <Source><LocURI>S</LocURI></Source></SyncHdr><SyncBody>{body}</SyncBody></SyncML>"
    )
}

fn nested(depth: usize) -> String {
    let mut s = String::from("<Add><CmdID>99</CmdID><Item><Target><LocURI>./x</LocURI></Target></Item></Add>");
    for i in 0..depth {
        s = format!("<Atomic><CmdID>{i}</CmdID>{s}</Atomic>");
    }
    wrap(&s)
}

#[test]
fn nesting_at_the_limit_decodes_on_a_small_stack() {
    let xml = nested(Limits::default().max_nesting);
    let t = std::thread::Builder::new().stack_size(512 * 1024).spawn(move || codec::decode(xml.as_bytes()).map(|_| ()));
    t.unwrap().join().unwrap().unwrap();
}

fn decode(xml: &str) -> Result<Message, Error> {
    codec::decode(xml.as_bytes())
}

fn kind(xml: &str) -> DecodeErrorKind {
    match decode(xml) {
        Err(Error::Decode(e)) => e.kind,
        other => panic!("expected a DecodeError, got {other:?}"),
    }
}

fn limit_of(xml: &str, limits: Limits) -> Limit {
    match codec::decode_with(xml.as_bytes(), &DecodeOptions { lenient: false, limits }) {
        Err(Error::Limit(e)) => e.limit,
        other => panic!("expected a LimitError, got {other:?}"),
    }
}

#[test]
fn every_element_lands_in_its_field() {
    let xml = r#"<?xml version="1.0"?>
<SyncML xmlns="SYNCML:SYNCML1.2" xmlns:m="syncml:metinf">
 <SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>4A</SessionID><MsgID>7</MsgID>
  <Target><LocURI>http://s/dm</LocURI><LocName>srv</LocName></Target><Source><LocURI>IMEI:1</LocURI></Source>
  <RespURI>http://s/dm?x=1&amp;y=2</RespURI><NoResp/>
  <Cred><Meta><m:Format>b64</m:Format><m:Type>syncml:auth-md5</m:Type></Meta><Data>Zz6E==</Data></Cred>
  <Meta><MaxMsgSize xmlns="syncml:metinf">5000</MaxMsgSize><MaxObjSize xmlns="syncml:metinf">100000</MaxObjSize></Meta>
 </SyncHdr>
 <SyncBody>
  <Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><TargetRef>IMEI:1</TargetRef>
   <SourceRef>http://s/dm</SourceRef><Chal><Meta><m:Type>syncml:auth-md5</m:Type><m:Format>b64</m:Format>
   <m:NextNonce>bm9uY2U=</m:NextNonce></Meta></Chal><Data>401</Data></Status>
  <Results><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>3</CmdRef><Meta><m:Format>int</m:Format></Meta>
   <TargetRef>t</TargetRef><SourceRef>s</SourceRef><Item><Source><LocURI>./a</LocURI></Source><Data>5</Data></Item></Results>
  <Alert><CmdID>3</CmdID><NoResp/><Data>1226</Data><Correlator>c1</Correlator><Item><Source><LocURI>./FUMO</LocURI></Source>
   <Meta><m:Type>urn:x</m:Type><m:Format>chr</m:Format><m:Mark>critical</m:Mark></Meta><Data>x &lt; y &#65;&#x42;</Data></Item></Alert>
  <Sequence><CmdID>4</CmdID><Meta><m:EMI>e1</m:EMI><m:EMI>e2</m:EMI></Meta>
   <Atomic><CmdID>5</CmdID>
    <Add><CmdID>6</CmdID><Meta><m:Format>chr</m:Format><m:Size>3</m:Size><m:Version>1</m:Version><m:FieldLevel/>
      <m:Anchor><m:Last>1</m:Last><m:Next>2</m:Next></m:Anchor><m:Mem><m:SharedMem/><m:FreeMem>9</m:FreeMem><m:FreeID>8</m:FreeID></m:Mem></Meta>
     <Item><Target><LocURI>./b</LocURI></Target><SourceParent><LocURI>./p</LocURI></SourceParent>
      <TargetParent><LocURI>./q</LocURI></TargetParent><Data><![CDATA[a<b]]></Data><MoreData/></Item></Add>
    <Replace><CmdID>7</CmdID><Item><Target><LocURI>./c</LocURI></Target><Data><MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree></Data></Item></Replace>
    <Delete><CmdID>8</CmdID><Item><Target><LocURI>./d</LocURI></Target></Item></Delete>
    <Copy><CmdID>9</CmdID><Item><Target><LocURI>./e</LocURI></Target><Source><LocURI>./b</LocURI></Source></Item></Copy>
   </Atomic>
   <Exec><CmdID>10</CmdID><Correlator>abc</Correlator><Item><Target><LocURI>./f</LocURI></Target></Item></Exec>
   <Get><CmdID>11</CmdID><Item><Target><LocURI>./g?list=Struct</LocURI></Target></Item></Get>
  </Sequence>
  <Final/>
 </SyncBody>
</SyncML>"#;
    let m = decode(xml).unwrap();
    let h = &m.header;
    assert_eq!((h.ver_dtd.as_str(), h.ver_proto.as_str(), h.session_id.as_str(), h.msg_id), ("1.2", "DM/1.2", "4A", 7));
    assert_eq!(h.target, Location { uri: "http://s/dm".into(), name: Some("srv".into()) });
    assert_eq!(h.resp_uri.as_deref(), Some("http://s/dm?x=1&y=2"));
    assert!(h.no_resp);
    let cred = h.cred.as_ref().unwrap();
    assert_eq!(cred.data, "Zz6E==");
    assert_eq!(cred.meta.as_ref().unwrap().type_.as_deref(), Some("syncml:auth-md5"));
    let meta = h.meta.as_ref().unwrap();
    assert_eq!((meta.max_msg_size, meta.max_obj_size), (Some(5000), Some(100_000)));
    assert!(m.is_final);
    assert_eq!(m.commands.len(), 4);

    let Command::Status(st) = &m.commands[0] else { panic!() };
    assert_eq!((st.cmd_id, st.msg_ref, st.cmd_ref, &*st.cmd), (1, Some(1), Some(0), "SyncHdr"));
    assert_eq!(st.data, StatusCode::INVALID_CREDENTIALS);
    assert_eq!((st.target_refs.clone(), st.source_refs.clone()), (vec!["IMEI:1".into()], vec!["http://s/dm".into()]));
    assert_eq!(st.chal.as_ref().unwrap().meta.next_nonce.as_deref(), Some("bm9uY2U="));

    let Command::Results(r) = &m.commands[1] else { panic!() };
    assert_eq!((r.cmd_ref, r.target_ref.as_deref(), r.source_ref.as_deref()), (3, Some("t"), Some("s")));
    assert_eq!(r.items[0].data, Some(Data::Text("5".into())));

    let Command::Alert(a) = &m.commands[2] else { panic!() };
    assert_eq!((a.data, a.no_resp, a.correlator.as_deref()), (AlertCode::GENERIC_ALERT, true, Some("c1")));
    assert_eq!(a.items[0].meta.as_ref().unwrap().mark.as_deref(), Some("critical"));
    assert_eq!(a.items[0].data, Some(Data::Text("x < y AB".into())));

    let Command::Sequence(seq) = &m.commands[3] else { panic!() };
    assert_eq!(seq.meta.as_ref().unwrap().emi, vec!["e1", "e2"]);
    let Command::Atomic(at) = &seq.commands[0] else { panic!() };
    let Command::Add(add) = &at.commands[0] else { panic!() };
    let am = add.meta.as_ref().unwrap();
    assert!(am.field_level);
    assert_eq!((am.size, am.version.as_deref()), (Some(3), Some("1")));
    assert_eq!(am.anchor, Some(Anchor { last: Some("1".into()), next: "2".into() }));
    assert_eq!(am.mem, Some(Mem { shared_mem: true, free_mem: "9".into(), free_id: "8".into() }));
    let it = &add.items[0];
    assert_eq!(it.source_parent.as_ref().unwrap().uri, "./p");
    assert_eq!(it.target_parent.as_ref().unwrap().uri, "./q");
    assert_eq!(it.data, Some(Data::Text("a<b".into())));
    assert!(it.more_data);
    let Command::Replace(rep) = &at.commands[1] else { panic!() };
    assert_eq!(
        rep.items[0].data,
        Some(Data::Xml(r#"<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>"#.into()))
    );
    assert_eq!(at.commands.iter().map(Command::name).collect::<Vec<_>>(), ["Add", "Replace", "Delete", "Copy"]);
    let Command::Exec(ex) = &seq.commands[1] else { panic!() };
    assert_eq!(ex.correlator.as_deref(), Some("abc"));
    assert_eq!(seq.commands[2].items()[0].target.as_ref().unwrap().uri, "./g?list=Struct");

    // And back: the encoding decodes to the same message.
    assert_eq!(codec::decode(&codec::encode(&m, Encoding::Xml)).unwrap(), m);
}

#[test]
fn metinf_namespace_as_default_prefix_or_inherited() {
    let default = wrap("<Get><CmdID>1</CmdID><Meta><Type xmlns='syncml:metinf'>x</Type></Meta><Item/></Get>");
    let prefixed = wrap("<Get><CmdID>1</CmdID><Meta xmlns:mi='syncml:metinf'><mi:Type>x</mi:Type></Meta><Item/></Get>");
    let inherited = wrap("<Get><CmdID>1</CmdID><Meta xmlns='syncml:metinf'><Type>x</Type></Meta><Item/></Get>");
    let a = decode(&default).unwrap();
    assert_eq!(decode(&prefixed).unwrap(), a);
    // <Meta> itself is a SyncML element: declaring metinf as its default namespace is wrong.
    assert!(matches!(kind(&inherited), DecodeErrorKind::Namespace { element: "Meta", .. }));
}

#[test]
fn missing_metinf_namespace_is_strict_error_and_lenient_ok() {
    let xml = wrap("<Get><CmdID>1</CmdID><Meta><Type>x</Type></Meta><Item/></Get>");
    assert!(matches!(kind(&xml), DecodeErrorKind::Namespace { element: "Type", .. }));
    let m = codec::decode_with(xml.as_bytes(), &DecodeOptions::lenient()).unwrap();
    assert_eq!(m.commands[0].name(), "Get");
}

#[test]
fn syncml_11_namespace_is_accepted() {
    let xml = wrap("").replace("SYNCML1.2", "SYNCML1.1").replace(">1.2<", ">1.1<").replace("DM/1.2", "DM/1.1");
    let m = decode(&xml).unwrap();
    assert_eq!(m.header.version(), Some(ProtocolVersion::Dm11));
    assert!(String::from_utf8(codec::encode(&m, Encoding::Xml)).unwrap().contains("SYNCML:SYNCML1.1"));
}

#[test]
fn doctype_naming_the_public_dtd_is_skipped() {
    let xml = format!(
        "<?xml version='1.0'?><!DOCTYPE SyncML PUBLIC \"-//SYNCML//DTD SyncML 1.2//EN\" \"http://x/y.dtd\">{}",
        wrap("")
    );
    assert!(decode(&xml).is_ok());
}

#[test]
fn entity_declarations_are_refused_not_expanded() {
    let laughs = format!(
        "<?xml version='1.0'?><!DOCTYPE SyncML [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>{}",
        wrap("<Alert><CmdID>1</CmdID><Data>1226</Data><Item><Data>&b;</Data></Item></Alert>")
    );
    assert_eq!(kind(&laughs), DecodeErrorKind::Doctype);
    let external = format!("<!DOCTYPE SyncML [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}", wrap(""));
    assert_eq!(kind(&external), DecodeErrorKind::Doctype);
    // Without a DOCTYPE, an undeclared entity is just unknown.
    let undeclared = wrap("<Alert><CmdID>1</CmdID><Data>1226</Data><Item><Data>&x;</Data></Item></Alert>");
    assert_eq!(kind(&undeclared), DecodeErrorKind::UnknownEntity("x".into()));
}

#[test]
fn bare_ampersand_is_strict_error_with_line_and_lenient_text() {
    let xml = wrap("<Alert><CmdID>1</CmdID><Data>1101</Data>\n<Item><Data>MAXDT=15&DR=1</Data></Item></Alert>");
    let Err(Error::Decode(e)) = decode(&xml) else { panic!() };
    assert!(matches!(e.kind, DecodeErrorKind::Syntax(_)));
    assert_eq!(e.site.line, 2);
    let m = codec::decode_with(xml.as_bytes(), &DecodeOptions::lenient()).unwrap();
    assert_eq!(m.commands[0].items()[0].data, Some(Data::Text("MAXDT=15&DR=1".into())));
}

#[test]
fn each_decode_error_kind() {
    assert!(matches!(kind(&wrap("<Final></SyncBody>")), DecodeErrorKind::Syntax(_)));
    assert_eq!(kind(&wrap("<Foo/>")), DecodeErrorKind::UnknownElement("Foo".into()));
    assert_eq!(kind(&wrap("<Sync><CmdID>1</CmdID></Sync>")), DecodeErrorKind::UnexpectedElement("Sync"));
    assert_eq!(
        kind(&wrap("<Final/><Alert><CmdID>1</CmdID><Data>1</Data></Alert>")),
        DecodeErrorKind::UnexpectedElement("Alert")
    );
    assert_eq!(
        kind(&wrap("<Alert><CmdID>1</CmdID><CmdID>2</CmdID><Data>1</Data></Alert>")),
        DecodeErrorKind::DuplicateElement("CmdID")
    );
    assert_eq!(kind(&wrap("<Alert><Data>1201</Data></Alert>")), DecodeErrorKind::MissingElement("CmdID"));
    let meta = "<Meta><Format xmlns='syncml:metinf'>chr</Format></Meta>";
    for (body, at) in [
        (format!("<Get><CmdID>1</CmdID><Item>{meta}{meta}</Item></Get>"), "SyncML/SyncBody/Get/Item"),
        (format!("<Get><CmdID>1</CmdID>{meta}{meta}<Item/></Get>"), "SyncML/SyncBody/Get"),
        (format!("<Sequence><CmdID>1</CmdID>{meta}{meta}</Sequence>"), "SyncML/SyncBody/Sequence"),
    ] {
        match decode(&wrap(&body)) {
            Err(Error::Decode(e)) => {
                assert_eq!(e.kind, DecodeErrorKind::DuplicateElement("Meta"), "{body}");
                assert_eq!(e.site.path, at, "{body}");
            }
            other => panic!("{body}: expected a DecodeError, got {other:?}"),
        }
    }
    assert_eq!(kind(&wrap("hello")), DecodeErrorKind::UnexpectedText);
    assert_eq!(
        kind(&wrap("<Alert><CmdID>one</CmdID><Data>1</Data></Alert>")),
        DecodeErrorKind::InvalidValue { element: "CmdID", value: "one".into() }
    );
    assert_eq!(
        kind(&wrap("<Final>yes</Final>")),
        DecodeErrorKind::InvalidValue { element: "Final", value: "yes".into() }
    );
    assert_eq!(kind("hello"), DecodeErrorKind::UnknownEncoding);
    assert_eq!(kind(""), DecodeErrorKind::UnknownEncoding);
    let cut = wrap("<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>");
    let cut = &cut[..cut.find("</SyncBody>").unwrap()];
    assert!(matches!(kind(cut), DecodeErrorKind::Truncated | DecodeErrorKind::Syntax(_)));
    assert_eq!(kind(&wrap("").replace("<MsgID>1</MsgID>", "")), DecodeErrorKind::MissingElement("MsgID"));
    assert_eq!(kind("<SyncML xmlns='SYNCML:SYNCML1.2'></SyncML>"), DecodeErrorKind::MissingElement("SyncHdr"));
    assert_eq!(
        kind(&format!("{}<SyncML xmlns='SYNCML:SYNCML1.2'/>", wrap(""))),
        DecodeErrorKind::UnexpectedElement("SyncML")
    );
}

#[test]
fn invalid_utf8_reports_the_byte_offset() {
    let mut bytes = wrap("<Alert><CmdID>1</CmdID><Data>1</Data><Item><Data>x</Data></Item></Alert>").into_bytes();
    let at = bytes.windows(3).position(|w| w == b">x<").unwrap() + 1;
    bytes[at] = 0xFF;
    let Err(Error::Decode(e)) = codec::decode(&bytes) else { panic!() };
    assert_eq!((e.kind, e.site.offset), (DecodeErrorKind::InvalidUtf8, at as u64));
}

#[test]
fn errors_name_line_column_and_path() {
    let xml = "<SyncML xmlns='SYNCML:SYNCML1.2'>\n<SyncHdr>\n<VerDTD>1.2</VerDTD>\n<MsgID>x</MsgID>";
    let Err(Error::Decode(e)) = decode(xml) else { panic!() };
    assert_eq!((e.site.line, e.site.path.as_str()), (4, "SyncML/SyncHdr"));
    assert!(e.to_string().contains("line 4"), "{e}");
}

#[test]
fn each_limit_has_its_own_error() {
    let small = |f: fn(&mut Limits)| {
        let mut l = Limits::default();
        f(&mut l);
        l
    };
    let msg = wrap("<Alert><CmdID>1</CmdID><Data>1</Data></Alert>");
    assert_eq!(limit_of(&msg, small(|l| l.max_message_size = 100)), Limit::MessageSize);
    assert_eq!(limit_of(&nested(3), small(|l| l.max_nesting = 2)), Limit::Nesting);
    let many = wrap(&"<Alert><CmdID>1</CmdID><Data>1</Data></Alert>".repeat(5));
    assert_eq!(limit_of(&many, small(|l| l.max_commands = 4)), Limit::Commands);
    let items = wrap(&format!("<Get><CmdID>1</CmdID>{}</Get>", "<Item/>".repeat(5)));
    assert_eq!(limit_of(&items, small(|l| l.max_items = 4)), Limit::Items);
    let uri =
        wrap(&format!("<Get><CmdID>1</CmdID><Item><Target><LocURI>{}</LocURI></Target></Item></Get>", "a".repeat(20)));
    assert_eq!(limit_of(&uri, small(|l| l.max_uri_len = 10)), Limit::UriLength);
    // The message names the setting to raise.
    let options = DecodeOptions { limits: small(|l| l.max_uri_len = 10), ..Default::default() };
    let e = codec::decode_with(uri.as_bytes(), &options).unwrap_err().to_string();
    assert!(e.starts_with("max_uri_len limit exceeded: 20 > 10 at line 1"), "{e}");
    let text = wrap(&format!("<Get><CmdID>1</CmdID><Item><Data>{}</Data></Item></Get>", "a".repeat(20)));
    assert_eq!(limit_of(&text, small(|l| l.max_text_len = 10)), Limit::TextLength);
    // A leaf's text in one piece, as well as Data's.
    let leaf =
        wrap(&format!("<Alert><CmdID>1</CmdID><Correlator>{}</Correlator><Data>1</Data></Alert>", "a".repeat(20)));
    assert_eq!(limit_of(&leaf, small(|l| l.max_text_len = 10)), Limit::TextLength);
    let deep = wrap(&format!(
        "<Get><CmdID>1</CmdID><Item><Data>{}{}</Data></Item></Get>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    ));
    assert_eq!(limit_of(&deep, Limits::default()), Limit::Nesting);
    // Within the limits all of them decode.
    for xml in [msg, many, items, uri, text, leaf] {
        assert!(decode(&xml).is_ok());
    }
}

#[test]
fn hundred_thousand_deep_nesting_is_refused_quickly() {
    let deep = wrap(&format!("{}{}", "<Sequence><CmdID>1</CmdID>".repeat(100_000), "</Sequence>".repeat(100_000)));
    let mut limits = Limits::default();
    limits.max_message_size = deep.len();
    assert_eq!(limit_of(&deep, limits), Limit::Nesting);
}

#[test]
fn pretty_output_is_indented_and_decodes_equal() {
    let m = decode(&wrap("<Alert><CmdID>1</CmdID><Data>1201</Data></Alert><Final/>")).unwrap();
    let pretty = codec::to_pretty_xml(&m);
    assert!(pretty.contains("\n  <SyncHdr>\n    <VerDTD>1.2</VerDTD>"), "{pretty}");
    assert_eq!(decode(&pretty).unwrap(), m);
}

#[test]
fn content_types_and_detection() {
    assert_eq!(Encoding::from_content_type("application/vnd.syncml.dm+wbxml; charset=x"), Some(Encoding::Wbxml));
    assert_eq!(Encoding::from_content_type("application/vnd.syncml+xml"), Some(Encoding::Xml));
    assert_eq!(Encoding::from_content_type("text/plain"), None);
    assert_eq!(codec::detect(b"\xEF\xBB\xBF <SyncML"), Some(Encoding::Xml));
    assert_eq!(codec::detect(&[0x02, 0x00, 0x00, 0x6A]), Some(Encoding::Wbxml));
    assert_eq!(codec::detect(b"hello"), None);
}

/// Leaf text loses the XML whitespace around it (pretty-printed peers), and only that: a
/// no-break space is part of the value, in XML and in WBXML alike.
#[test]
fn leaf_text_is_trimmed_of_xml_whitespace_only() {
    let xml = wrap(
        "<Alert><CmdID>1</CmdID><Data>1226</Data><Correlator>\n\t \u{a0}abc\u{a0} \r\n</Correlator></Alert><Final/>",
    );
    let m = decode(&xml).unwrap();
    let Command::Alert(a) = &m.commands[0] else { panic!("{m:?}") };
    assert_eq!(a.correlator.as_deref(), Some("\u{a0}abc\u{a0}"));
    let again = codec::decode(&codec::encode(&m, Encoding::Wbxml)).unwrap();
    assert_eq!(again, m);
}

/// Strictly read, an element's attributes must be well-formed: a plain `xmlns="..."` passes
/// without a closer look, anything else is parsed, on every element (the quick look at one
/// element says nothing of the next). Leniently read, they are not checked.
#[test]
fn malformed_attributes_are_refused_on_any_element() {
    let get = |meta: &str| {
        wrap(&format!(
            "<Get><CmdID>1</CmdID><Meta>{meta}</Meta><Item><Target><LocURI>./A</LocURI></Target></Item></Get>"
        ))
    };
    let plain = r#"<Format xmlns="syncml:metinf">chr</Format>"#;
    assert!(decode(&get(&format!("{plain}{plain}").replacen("Format", "Type", 2))).is_ok());
    for bad in [r#"<Type xmlns="syncml:metinf" a="1" a="2">x</Type>"#, r#"<Type xmlns="syncml:metinf" a=1>x</Type>"#] {
        let xml = get(&format!("{plain}{bad}"));
        assert!(matches!(decode(&xml), Err(Error::Decode(e)) if matches!(e.kind, DecodeErrorKind::Syntax(_))), "{bad}");
        assert!(codec::decode_with(xml.as_bytes(), &DecodeOptions::lenient()).is_ok(), "{bad}");
    }
}

/// XML 1.0 line ends: CR LF and a lone CR in text read as LF (Data keeps inner line breaks); a
/// message without any CR reads its text as it stands.
#[test]
fn line_ends_in_text_are_normalized_to_line_feeds() {
    let data = |inner: &str| {
        let xml = wrap(&format!(
            "<Replace><CmdID>1</CmdID><Item><Target><LocURI>./A</LocURI></Target><Data>{inner}</Data></Item></Replace>"
        ));
        let m = decode(&xml).unwrap();
        m.commands[0].items()[0].data.clone()
    };
    assert_eq!(data("a\r\nb\rc\nd"), Some(Data::Text("a\nb\nc\nd".into())));
    assert_eq!(data("a\nb"), Some(Data::Text("a\nb".into())));
    assert_eq!(data("a&#13;b"), Some(Data::Text("a\rb".into())), "a character reference is not a line end");
}

/// A leaf reads the same whatever pieces carry its text: plain, entities, CDATA, a comment or a
/// processing instruction between them, nothing at all; an element inside a leaf is refused.
#[test]
fn a_leaf_reads_the_same_from_any_pieces() {
    let correlator = |inner: &str| {
        let m =
            decode(&wrap(&format!("<Alert><CmdID>1</CmdID><Data>1226</Data><Correlator>{inner}</Correlator></Alert>")));
        let Command::Alert(a) = &m.unwrap().commands[0] else { unreachable!() };
        a.correlator.clone()
    };
    assert_eq!(correlator("a&amp;b"), Some("a&b".into()));
    assert_eq!(correlator("<![CDATA[a<]]>b&#x41;"), Some("a<bA".into()));
    assert_eq!(correlator("a<!-- note -->b<?pi x?>c"), Some("abc".into()));
    assert_eq!(correlator("<!-- only a note -->"), Some("".into()));
    assert_eq!(correlator(""), Some("".into()));
    let m = decode(&wrap("<Alert><CmdID>1</CmdID><Data>1226</Data><Correlator/></Alert>")).unwrap();
    let Command::Alert(a) = &m.commands[0] else { unreachable!() };
    assert_eq!(a.correlator.as_deref(), Some(""));
    let inside = wrap("<Alert><CmdID>1</CmdID><Data>1226</Data><Correlator>a<Final/></Correlator></Alert>");
    assert_eq!(kind(&inside), DecodeErrorKind::UnexpectedElement("Final"));
    let first = wrap("<Alert><CmdID>1</CmdID><Data>1226</Data><Correlator><Final/>a</Correlator></Alert>");
    assert_eq!(kind(&first), DecodeErrorKind::UnexpectedElement("Final"));
}

/// Data's text reads the same in one plain piece (read with its end tag in one step) and in
/// several; text XML cannot carry is refused strictly either way, and kept leniently.
#[test]
fn data_text_reads_the_same_from_one_piece_or_several() {
    let data = |inner: &str, options: &DecodeOptions| {
        let xml = wrap(&format!("<Get><CmdID>1</CmdID><Item><Data>{inner}</Data></Item></Get>"));
        codec::decode_with(xml.as_bytes(), options).map(|m| m.commands[0].items()[0].data.clone())
    };
    let (strict, lenient) = (DecodeOptions::default(), DecodeOptions::lenient());
    for options in [&strict, &lenient] {
        assert_eq!(data("a b", options).unwrap(), Some(Data::Text("a b".into())));
        assert_eq!(data("a&#x20;b", options).unwrap(), Some(Data::Text("a b".into())));
        assert_eq!(data("", options).unwrap(), Some(Data::Text("".into())));
    }
    for control in ["a\u{1}b", "a&#x20;\u{1}b", "\u{1}<!-- -->"] {
        let refused = data(control, &strict).unwrap_err();
        assert!(
            matches!(&refused, Error::Decode(e) if e.kind == DecodeErrorKind::NotXmlText),
            "{control:?}: {refused}"
        );
        assert!(data(control, &lenient).unwrap().is_some_and(|d| d.as_bytes().contains(&1)), "{control:?}");
    }
}

/// `is_xml_text` is XML 1.0's Char production (Rust strings hold no surrogates): checked on
/// every one-byte and every three-byte character at each place of strings long and short, so
/// that its eight-bytes-at-a-time scan misses none, and against the definition on any string.
#[test]
fn is_xml_text_is_xml_char_data() {
    let char_ok =
        |c: char| matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    let specials = (0u8..0x80).map(char::from).chain(['\u{FFFD}', '\u{FFFE}', '\u{FFFF}', '\u{EFFF}', '\u{FEFF}']);
    for c in specials {
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 31] {
            for at in 0..=len {
                let s: String = (0..len).map(|i| if i == at { c } else { 'a' }).collect();
                assert_eq!(codec::is_xml_text(&s), s.chars().all(char_ok), "{s:?}");
            }
        }
    }
    let mut seed = 0x2545F4914F6CDD1Du64;
    for _ in 0..20_000 {
        let s: String = (0..(seed % 40))
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from_u32((seed % 0x11_0000) as u32)
                    .filter(|_| seed % 3 > 0)
                    .unwrap_or(char::from((seed % 0x30) as u8))
            })
            .collect();
        assert_eq!(codec::is_xml_text(&s), s.chars().all(char_ok), "{s:?}");
    }
}

/// Strictly read, text XML cannot carry is refused, raw or as a reference, as XML 1.0 says (a
/// peer's URI could otherwise come back in a Status as a control character). Leniently read, it
/// is refused as well, but in Data, which is kept as it is (a session hands it to the tree or
/// the caller, and never writes it back as text).
#[test]
fn text_xml_cannot_carry_is_refused() {
    let not_xml_text =
        |r: Result<_, Error>| matches!(r, Err(Error::Decode(d)) if d.kind == DecodeErrorKind::NotXmlText);
    for bad in ["\u{1}", "&#1;", "&#xFFFE;"] {
        let uri = wrap(&format!("<Get><CmdID>1</CmdID><Item><Target><LocURI>./a{bad}</LocURI></Target></Item></Get>"));
        let id = uri.replace("<SessionID>1<", &format!("<SessionID>1{bad}<"));
        assert_ne!(id, uri);
        let data = wrap(&format!(
            "<Replace><CmdID>1</CmdID><Item><Target><LocURI>./a</LocURI></Target><Data>x{bad}</Data></Item></Replace>"
        ));
        // In an embedded document: in an attribute, in text, beside it (lenient decoding keeps
        // text beside a document, not this).
        let documents = [format!("<a b=\"c{bad}\"/>"), format!("<a>c{bad}</a>"), format!("{bad}<a/>")]
            .map(|doc| data.replace(&format!("x{bad}"), &doc));
        for xml in [&uri, &id, &data, &documents[0], &documents[1]] {
            assert!(not_xml_text(codec::decode(xml.as_bytes())), "{xml}");
        }
        for xml in [&uri, &id].into_iter().chain(&documents) {
            assert!(not_xml_text(codec::decode_with(xml.as_bytes(), &DecodeOptions::lenient())), "{xml}");
        }
        let m = codec::decode_with(data.as_bytes(), &DecodeOptions::lenient()).unwrap();
        let text = codec::decode_with(data.replace(bad, "").as_bytes(), &DecodeOptions::default()).unwrap();
        assert_ne!(m, text, "the character is kept");
    }
    // Literal text in CDATA, and characters XML can carry.
    for ok in ["<a><![CDATA[&#1;]]></a>", "<a b=\"&#9;&#x41;\">&#65;&#x10FFFF;</a>"] {
        let xml = wrap(&format!(
            "<Replace><CmdID>1</CmdID><Item><Target><LocURI>./a</LocURI></Target><Data>{ok}</Data></Item></Replace>"
        ));
        assert!(codec::decode(xml.as_bytes()).is_ok(), "{ok}");
    }
}

/// What XML 1.0 asks that quick-xml's reader does not check is checked strictly, in the message
/// and in an embedded document alike: `]]>` only ending CDATA, no `--` in a comment, one XML
/// declaration (version 1.x, an encoding read) and only at the start, no other instruction
/// named `xml`, a well-formed DOCTYPE only before the root, no `<` in an attribute value, an
/// embedded element's prefix declared, names that are XML names, no character XML cannot carry
/// in markup either. Leniently read, each is taken.
#[test]
fn well_formedness_the_reader_leaves_is_checked_strictly() {
    let replace = |data: &str| {
        wrap(&format!(
            "<Replace><CmdID>1</CmdID><Item><Target><LocURI>./a</LocURI></Target><Data>{data}</Data></Item></Replace>"
        ))
    };
    let prolog = |before: &str| format!("{before}{}", wrap(""));
    let bad = [
        wrap("").replace("<LocURI>T<", "<LocURI>T]]><"),
        wrap("<!-- a -- b -->"),
        wrap("<!-- a --->"),
        wrap("<?xml version='1.0'?>"),
        prolog(" <?xml version='1.0'?>"),
        prolog("<?xml version='1.0'?><?xml version='1.0'?>"),
        prolog("<?xml version='2.0'?>"),
        prolog("<?xml version='1.0' encoding='Shift_JIS'?>"),
        wrap("<?XML x?>"),
        wrap("<!DOCTYPE SyncML>"),
        wrap("").replace("<SyncML xmlns='SYNCML:SYNCML1.2'>", "<SyncML xmlns='SYNCML:SYNCML1.2' a='<'>"),
        replace("<a>]]></a>"),
        replace("<a><!-- -- --></a>"),
        replace("<?xml version='1.0'?><a/>"),
        replace("<!DOCTYPE a><a/>"),
        replace("<a b='<'/>"),
        replace("<a b='&foo;'/>"),
        replace("<a><p:b/></a>"),
        replace("<a\u{7f}/>"),
        replace("<a b\u{7f}='1'/>"),
        replace("<a><?\u{7f}x y?></a>"),
        wrap("<?a:b c?>"),
        replace("<a xmlns:p=''/>"),
        replace("<a p:b='1'/>"),
        replace("<x xmlns:a='u'><a:b:c/></x>"),
        replace("<x xmlns:a='u' a:b:c='1'/>"),
        wrap("").replace("<SyncBody>", "<SyncBody p:b='1'>"),
        wrap("").replace("<SyncBody>", "<SyncBody b='&foo;'>"),
        replace("<a b='1'c='2'/>"),
        wrap("").replace("<SyncML xmlns='SYNCML:SYNCML1.2'>", "<SyncML xmlns='SYNCML:SYNCML1.2'a='1'>"),
    ];
    let syntax = |e: &DecodeErrorKind| matches!(e, DecodeErrorKind::Syntax(_) | DecodeErrorKind::Doctype);
    // Markup holding a character XML cannot carry, which no text of the model holds.
    let doctype = "<!DOCTYPE SyncML PUBLIC '-//SYNCML//DTD SyncML 1.2//EN' 'http://x/\u{1}.dtd'>";
    let markup = [
        prolog(doctype),
        wrap("<!-- \u{1} -->"),
        wrap("<?app \u{1}?>"),
        wrap("").replace("<SyncML xmlns='SYNCML:SYNCML1.2'>", "<SyncML xmlns='SYNCML:SYNCML1.2' a='\u{1}'>"),
    ];
    let malformed = [
        prolog("<?xml version='1.0' encodng='UTF-8'?>"),
        prolog("<?xml version='1.0' standalone='maybe'?>"),
        prolog("<?xml encoding='UTF-8' version='1.0'?>"),
        prolog("<?xml version='1.0'encoding='UTF-8'?>"),
        prolog("<!DOCTYPE SyncML PUBLIC '-//SYNCML//DTD \\SyncML//EN' 'x.dtd'>"),
        prolog("<!DOCTYPE SyncML PUBLIC 'x.dtd'>"),
        prolog("<!DOCTYPE SyncML junk>"),
        prolog("<!DOCTYPESyncML>"),
        prolog("<!DOCTYPE SyncML><!DOCTYPE SyncML>"),
        format!("{}<!DOCTYPE SyncML>", wrap("")),
    ];
    for xml in bad.iter().chain(&malformed).chain(&markup) {
        let err = codec::decode(xml.as_bytes()).unwrap_err();
        let not_xml_text = markup.contains(xml);
        assert!(
            matches!(&err, Error::Decode(d) if if not_xml_text { d.kind == DecodeErrorKind::NotXmlText } else { syntax(&d.kind) }),
            "{xml}: {err}"
        );
        assert!(codec::decode_with(xml.as_bytes(), &DecodeOptions::lenient()).is_ok(), "{xml}");
    }
    // A character in markup is found by a scan of the whole text, and named by its element all the same.
    let path = |xml: &String| match codec::decode(xml.as_bytes()) {
        Err(Error::Decode(d)) => d.site.path,
        other => panic!("{other:?}"),
    };
    assert_eq!(markup.each_ref().map(path), ["", "SyncML/SyncBody", "SyncML/SyncBody", "SyncML"]);
    let fine = [
        wrap("").replace("<LocURI>T<", "<LocURI>T]]&gt;<"),
        wrap("").replace("<LocURI>T<", "<LocURI><![CDATA[T]]]]><"),
        wrap("<!-- a - b -->"),
        prolog("\u{FEFF}<?xml version=\"1.0\" encoding=\"utf-8\"?><?app x?><!DOCTYPE SyncML><!-- c -->"),
        prolog("<?xml version='1.1' encoding='US-ASCII'?>"),
        prolog("<?xml version='1.0' encoding='iso-8859-1'?>"),
        prolog("<?xml version = \"1.0\" encoding='UTF-8' standalone='no' ?>"),
        prolog("<!DOCTYPE SyncML SYSTEM \"x[1].dtd\">"),
        prolog("<!DOCTYPE SyncML PUBLIC \"-//SYNCML//DTD SyncML 1.2//EN\" 'http://x/y.dtd' >"),
        replace("<a b='x]]>y'><?xml-stylesheet x?><![CDATA[]]]]></a>"),
        replace("<a xmlns:p='urn:p'><p:b p:c='1' xml:lang='en'/></a>"),
        replace("<_a-b.c\u{e9}\u{b7}1 \u{e9}t\u{e9}='1'\tb=\"'\"\nc='\"'/>"),
    ];
    for xml in &fine {
        assert!(codec::decode(xml.as_bytes()).is_ok(), "{xml}");
    }
}

/// A message its declaration says is ISO-8859-1 is read as that, each byte a character, as
/// WBXML's charset 4 is; without the declaration the same bytes are not UTF-8.
#[test]
fn a_message_declared_iso_8859_1_is_read_as_latin_1() {
    let body = wrap("<Get><CmdID>1</CmdID><Item><Target><LocURI>./caf\u{e9}</LocURI></Target></Item></Get>");
    let latin1: Vec<u8> = body.chars().map(|c| c as u8).collect();
    let declared = [b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".as_slice(), &latin1].concat();
    let m = codec::decode(&declared).unwrap();
    assert_eq!(m, codec::decode(body.as_bytes()).unwrap());
    assert_eq!(m.commands[0].items()[0].target.as_ref().unwrap().uri, "./caf\u{e9}");
    let err = codec::decode(&latin1).unwrap_err();
    assert!(matches!(&err, Error::Decode(d) if d.kind == DecodeErrorKind::InvalidUtf8), "{err}");
}

/// The first element whose namespace, as quick-xml's `NsReader` resolves it, is not its own
/// (MetInf's for `Type` and `Format`, SyncML's for the rest), and the namespace it is in.
fn first_out_of_namespace(xml: &str) -> Option<(String, String)> {
    use quick_xml::events::Event;
    use quick_xml::name::{Namespace, ResolveResult};
    let mut reader = quick_xml::NsReader::from_str(xml);
    loop {
        match reader.read_resolved_event().unwrap() {
            (ns, Event::Start(e) | Event::Empty(e)) => {
                let name = e.local_name().as_ref().to_string();
                let own = if matches!(name.as_str(), "Type" | "Format") { "syncml:metinf" } else { "SYNCML:SYNCML1.2" };
                match ns {
                    ResolveResult::Bound(Namespace(ns)) if ns == own => {}
                    ResolveResult::Bound(Namespace(ns)) => return Some((name, ns.to_string())),
                    _ => return Some((name, String::new())),
                }
            }
            (_, Event::Eof) => return None,
            _ => {}
        }
    }
}

proptest::proptest! {
    /// Each element is read in the namespace its own and its ancestors' declarations give it,
    /// however they nest: an element without attributes is in its parent's.
    #[test]
    fn an_elements_namespace_is_the_one_quick_xmls_nsreader_resolves(slots in proptest::collection::vec(0..5usize, 10)) {
        const DECLARED: [&str; 5] = ["", " xmlns='SYNCML:SYNCML1.2'", " xmlns='syncml:metinf'", " xmlns=''", " xmlns='urn:x'"];
        let a = |i: usize| DECLARED[slots[i]];
        let xml = format!(
            "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr{}><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
             <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>T</LocURI></Target>\
             <Source><LocURI>S</LocURI></Source></SyncHdr><SyncBody{}><Get{}><CmdID{}>1</CmdID>\
             <Meta{}><Type{}>x</Type><Format{}>chr</Format></Meta><Item{}><Target{}><LocURI>./a</LocURI>\
             </Target></Item></Get><Final{}/></SyncBody></SyncML>",
            a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9)
        );
        match (first_out_of_namespace(&xml), decode(&xml)) {
            (None, Ok(m)) => proptest::prop_assert_eq!(m.commands.len(), 1),
            (Some((name, ns)), Err(Error::Decode(e))) => proptest::prop_assert!(
                matches!(&e.kind, DecodeErrorKind::Namespace { element, found, .. } if *element == name && *found == ns),
                "{e}"
            ),
            (expected, got) => proptest::prop_assert!(false, "expected {expected:?} out of namespace, got {got:?}"),
        }
    }
}
