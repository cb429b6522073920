//! WBXML to XML text straight from the reader's events into the writer, with no message model
//! in between: the document as sent (its elements in their order), its WBXML checked (tokens,
//! strings, UTF-8, nesting, limits) but not its SyncML structure, which `decode` checks.

use super::emit::Sink;
use super::source::{Event, R, Source};
use super::tag::Tag;
use super::wbxml::WbxmlSource;
use super::xml::XmlSink;
use crate::Limits;
use crate::error::DecodeErrorKind as K;
use crate::model::ProtocolVersion::{Dm11, Dm12};

// The root is written with the DM 1.2 namespace before the header says the version; a DM 1.1
// header has it rewritten in place, which needs both to be the same length.
const _: () = assert!(Dm11.namespace().len() == Dm12.namespace().len());

pub(crate) fn wbxml_to_xml(wbxml: &[u8], limits: &Limits) -> R<String> {
    let mut src = WbxmlSource::new(wbxml, limits)?;
    // XML text runs four to five times the WBXML it comes from.
    let mut out = Vec::with_capacity(wbxml.len() * 6);
    let mut sink = XmlSink::new(&mut out, Dm12.namespace(), false);
    let mut open: Vec<Tag> = Vec::new();
    // A start tag waits for what follows: written empty (`<Final/>`) when its end comes next.
    let mut pending: Option<Tag> = None;
    let (mut ver_dtd, mut ver_proto) = (false, false);
    loop {
        let e = src.next()?;
        if let (Some(tag), false) = (pending, matches!(e, Event::End)) {
            sink.start(tag);
            open.push(tag);
            pending = None;
        }
        match e {
            Event::Start(Tag::Data) => sink.data(&src.data()?),
            Event::Start(tag) => pending = Some(tag),
            Event::Text(t) => {
                match open.last() {
                    Some(Tag::VerDTD) => ver_dtd = t.trim() == Dm11.ver_dtd(),
                    Some(Tag::VerProto) => ver_proto = t.trim() == Dm11.ver_proto(),
                    _ => {}
                }
                sink.text(&t)
            }
            Event::End => match (pending.take(), open.pop()) {
                (Some(tag), popped) => {
                    open.extend(popped);
                    sink.empty(tag)
                }
                (None, Some(tag)) => sink.end(tag),
                (None, None) => return Err(src.error(K::Wbxml("END without a start tag".into()))),
            },
            Event::Eof => break,
        }
    }
    let root = b"<SyncML xmlns=\"";
    if ver_dtd && ver_proto && out.starts_with(root) {
        out[root.len()..root.len() + Dm11.namespace().len()].copy_from_slice(Dm11.namespace().as_bytes());
    }
    // The writer escapes text and copies UTF-8 strings whole: its output is UTF-8.
    String::from_utf8(out).map_err(|e| src.error(K::Syntax(e.to_string())))
}
