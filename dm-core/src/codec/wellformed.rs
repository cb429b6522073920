//! What XML 1.0 and Namespaces in XML ask of a document that quick-xml's reader leaves to its
//! caller: names, declarations, DOCTYPEs, attributes, character references and characters in
//! markup. Strict decoding asks it; WBXML's embedded documents are held to it as XML.

use quick_xml::events::{BytesStart, Event as X};
use quick_xml::name::{NamespaceResolver, ResolveResult};
use quick_xml::{Reader, XmlVersion};

use super::xml::{is_long_xml_text, is_xml_space, is_xml_text, line_col};
use crate::error::{DecodeError, DecodeErrorKind as K, Error, Site};

/// The encoding an XML declaration at the start of `bytes` names, if it names one.
pub(crate) fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let decl = bytes.strip_prefix(b"<?xml")?;
    let decl = &decl[..decl.windows(2).position(|w| w == b"?>")?];
    let at = decl.windows(8).position(|w| w == b"encoding")? + "encoding".len();
    let rest = std::str::from_utf8(&decl[at..]).ok()?.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|&q| q == '"' || q == '\'')?;
    rest[1..].split(quote).next()
}

/// ISO-8859-1, by the names declarations give it.
pub(crate) fn is_latin1_name(name: &str) -> bool {
    ["ISO-8859-1", "ISO8859-1", "ISO_8859-1", "LATIN1"].iter().any(|n| name.eq_ignore_ascii_case(n))
}

/// Strictly read, a message holds only characters XML carries in its markup too (a DOCTYPE, a
/// comment, an attribute value), not only in the text the model keeps, which is checked (with
/// its element) as it is read.
pub(crate) fn markup_chars(text: &str) -> Result<(), Error> {
    if is_long_xml_text(text) {
        return Ok(());
    }
    let outside = text.char_indices().find(|(_, c)| !is_xml_text(c.encode_utf8(&mut [0; 4])));
    let offset = outside.map_or(0, |(at, _)| at);
    let (line, column) = line_col(&text.as_bytes()[..offset]);
    let path = path_at(text, offset);
    Err(DecodeError { kind: K::NotXmlText, site: Site { path, offset: offset as u64, line, column } }.into())
}

/// The path of the element whose markup holds byte `offset` of `text` (a tag's own element
/// included), read again up to there: for a fault found by a scan of the whole text.
fn path_at(text: &str, offset: usize) -> String {
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let name = |e: &BytesStart| e.local_name().as_ref().to_owned();
    while reader.buffer_position() <= offset as u64 {
        match reader.read_event() {
            Ok(X::Start(e)) => path.push(name(&e)),
            Ok(X::Empty(e)) if reader.buffer_position() > offset as u64 => path.push(name(&e)),
            Ok(X::End(_)) if reader.buffer_position() <= offset as u64 => _ = path.pop(),
            Ok(X::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    path.join("/")
}

/// Whether a numeric character reference in `xml` names a character XML cannot carry, or no
/// character at all: `&#1;` is no more well-formed than the character itself.
pub(crate) fn has_ref_outside_xml(xml: &str) -> bool {
    let mut refs = memchr::memchr_iter(b'&', xml.as_bytes()).filter(|&at| xml.as_bytes().get(at + 1) == Some(&b'#'));
    refs.any(|at| {
        let rest = &xml[at + 2..];
        let Some(end) = rest.find(';') else { return false };
        let (digits, radix) = match rest[..end].strip_prefix('x') {
            Some(hex) => (hex, 16),
            None => (&rest[..end], 10),
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return false;
        }
        let c = u32::from_str_radix(digits, radix).ok().and_then(char::from_u32);
        c.is_none_or(|c| !is_xml_text(c.encode_utf8(&mut [0; 4])))
    })
}

/// What is wrong with an element's name, as the reader does not check: an XML name with at
/// most one colon, its namespace prefix declared.
pub(crate) fn element_name_fault(ns: &NamespaceResolver, e: &BytesStart<'_>) -> Option<String> {
    let name = e.name();
    if !is_qname(name.as_ref()) {
        return Some(format!("{:?} is no element name", name.as_ref()));
    }
    match ns.resolve_element(name).0 {
        ResolveResult::Unknown(prefix) => Some(format!("the namespace prefix {prefix}: is not declared")),
        _ => None,
    }
}

/// What strict decoding would find wrong with the names of an embedded document WBXML carried:
/// its elements and attributes as `element_name_fault` and `check_attributes` see them.
pub(crate) fn names_fault(xml: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut ns = NamespaceResolver::default();
    loop {
        match reader.read_event() {
            Ok(X::Start(s)) => {
                if let Err(e) = ns.push(&s) {
                    return Some(quick_xml::Error::from(e).to_string());
                }
                if let Some(why) = element_name_fault(&ns, &s).or_else(|| check_attributes(&ns, &s).err()) {
                    return Some(why);
                }
            }
            Ok(X::End(_)) => ns.pop(),
            Ok(X::Eof) => return None,
            Err(e) => return Some(e.to_string()),
            Ok(_) => {}
        }
    }
}

/// An XML name as Namespaces in XML name elements and attributes: at most one colon, not at
/// either end.
fn is_qname(name: &str) -> bool {
    is_xml_name(name)
        && match name.split_once(':') {
            Some((prefix, local)) => !prefix.is_empty() && !local.is_empty() && !local.contains(':'),
            None => true,
        }
}

/// An element's attributes well-formed, as the reader does not check: XML names, namespace
/// prefixes declared, no entity but XML's own, no value holding `<`.
pub(crate) fn check_attributes(ns: &NamespaceResolver, e: &BytesStart<'_>) -> Result<(), String> {
    for a in e.attributes() {
        let a = a.map_err(|bad| bad.to_string())?;
        a.normalized_value(XmlVersion::Implicit1_0).map_err(|bad| bad.to_string())?;
        let key = a.key.as_ref();
        if !is_qname(key) {
            return Err(format!("{key:?} is no attribute name"));
        }
        if let ResolveResult::Unknown(prefix) = ns.resolve_attribute(a.key).0 {
            return Err(format!("the namespace prefix {prefix}: is not declared"));
        }
        // Namespaces in XML 1.0: a prefix cannot be undeclared.
        if key.starts_with("xmlns:") && a.value.is_empty() {
            return Err(format!("{key} declares no namespace"));
        }
    }
    let raw = e.attributes_raw();
    if raw.contains('<') {
        return Err("`<` in an attribute value".into());
    }
    if spaced(raw) { Ok(()) } else { Err("no white space between attributes".into()) }
}

/// Whether white space (or the end) follows each quoted value of `attributes`, which the
/// reader does not check.
fn spaced(attributes: &str) -> bool {
    let mut quote = None;
    let mut bytes = attributes.bytes().peekable();
    while let Some(b) = bytes.next() {
        match quote {
            Some(q) if b == q => {
                quote = None;
                if bytes.peek().is_some_and(|&next| !is_xml_space(next)) {
                    return false;
                }
            }
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None => {}
        }
    }
    true
}

/// XML 1.0's `Name`.
fn is_xml_name(name: &str) -> bool {
    let start = |c: char| {
        c.is_ascii_alphabetic()
            || matches!(c, ':' | '_' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}')
            || matches!(c, '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}')
            || matches!(c, '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}')
            || matches!(c, '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
    };
    let more = |c: char| {
        start(c)
            || c.is_ascii_digit()
            || matches!(c, '-' | '.' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
    };
    let mut chars = name.chars();
    chars.next().is_some_and(start) && chars.all(more)
}

/// An XML declaration's content (`xml version=...`) as XML 1.0 writes it: well-formed
/// pseudo-attributes, `version` first, then `encoding` and `standalone` (`yes` or `no`), if any.
fn is_declaration(d: &str) -> bool {
    let mut names = ["version", "encoding", "standalone"].iter();
    let content = BytesStart::from_content(d, 3);
    spaced(content.attributes_raw())
        && content.attributes().all(|a| {
            a.is_ok_and(|a| {
                let key = a.key.as_ref();
                names.any(|&n| n == key) && (key != "standalone" || matches!(&*a.value, "yes" | "no"))
            })
        })
}

/// Whether a DOCTYPE's content has an internal subset: a `[` outside its quoted literals.
pub(crate) fn has_internal_subset(d: &str) -> bool {
    let mut quote = None;
    d.bytes().any(|b| match quote {
        Some(q) => {
            if b == q {
                quote = None;
            }
            false
        }
        None if b == b'"' || b == b'\'' => {
            quote = Some(b);
            false
        }
        None => b == b'[',
    })
}

/// A DOCTYPE's content without internal subset (the reader drops the white space before it)
/// as XML 1.0 writes it: a name, and nothing more, `SYSTEM` and a literal, or `PUBLIC`, a
/// public id literal and a literal.
pub(crate) fn is_doctype(d: &str) -> bool {
    fn literal(s: &str) -> Option<(&str, &str)> {
        let quote = s.chars().next().filter(|&q| q == '"' || q == '\'')?;
        let end = s[1..].find(quote)? + 1;
        Some((&s[1..end], &s[end + 1..]))
    }
    let space = |c: char| c.is_ascii() && is_xml_space(c as u8);
    let rest = d.trim_start_matches(space);
    let name_end = rest.find(|c: char| space(c)).unwrap_or(rest.len());
    let (name, rest) = rest.split_at(name_end);
    let external = rest.trim_start_matches(space);
    let after = if let Some(s) = external.strip_prefix("SYSTEM") {
        s.strip_prefix(space).and_then(|s| literal(s.trim_start_matches(space))).map(|(_, rest)| rest)
    } else if let Some(s) = external.strip_prefix("PUBLIC") {
        let public = s.strip_prefix(space).and_then(|s| literal(s.trim_start_matches(space)));
        let pubid_char = |c: char| c.is_ascii_alphanumeric() || " \r\n-'()+,./:=?;!*#@$_%".contains(c);
        public.filter(|(id, _)| id.chars().all(pubid_char)).and_then(|(_, s)| {
            s.strip_prefix(space).and_then(|s| literal(s.trim_start_matches(space))).map(|(_, rest)| rest)
        })
    } else {
        Some(external)
    };
    is_xml_name(name) && after.is_some_and(|s| s.trim_start_matches(space).is_empty())
}

/// What is wrong with a declaration (found at `decl_at`), processing instruction or comment,
/// as the reader does not check: one declaration, first in the document, of version 1.x and in
/// an encoding read; no other instruction named `xml`, a target a name with no colon
/// (Namespaces in XML); no `--` in a comment.
pub(crate) fn markup_fault(e: &X<'_>, decl_at: Option<usize>) -> Option<&'static str> {
    Some(match e {
        X::Decl(d) => {
            let version = d.version().ok().filter(|v| v.strip_prefix("1.").is_some_and(is_digits));
            let encoding = d.encoding().map(|e| e.ok().filter(|e| is_read_encoding(e)));
            match (decl_at, version, encoding) {
                (Some(0), Some(_), None | Some(Some(_))) if is_declaration(d) => return None,
                (Some(0), Some(_), None | Some(Some(_))) => "a malformed XML declaration",
                (Some(0), None, _) => "an XML declaration of a version other than 1.x",
                (Some(0), _, _) => "an XML declaration of an encoding other than UTF-8 or ISO-8859-1",
                _ => "an XML declaration anywhere but at the start",
            }
        }
        X::PI(p) if p.target().eq_ignore_ascii_case("xml") => "a processing instruction named xml",
        X::PI(p) if !is_xml_name(p.target()) || p.target().contains(':') => {
            "a processing instruction whose target is no name"
        }
        X::Comment(c) if c.contains("--") || c.ends_with('-') => "`--` in a comment",
        _ => return None,
    })
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// An encoding the message is read in: UTF-8, US-ASCII (which is UTF-8 too), ISO-8859-1.
fn is_read_encoding(name: &str) -> bool {
    ["UTF-8", "UTF8", "US-ASCII", "ASCII"].iter().any(|n| name.eq_ignore_ascii_case(n)) || is_latin1_name(name)
}
