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
use crate::model::ProtocolVersion;

/// Events read before the namespace is known: it follows VerDTD, the header's first leaf.
const LOOKAHEAD: usize = 8;

pub(crate) fn wbxml_to_xml(wbxml: &[u8], limits: &Limits) -> R<String> {
    let mut src = WbxmlSource::new(wbxml, limits)?;
    let mut ahead = Vec::with_capacity(LOOKAHEAD);
    let mut namespace = ProtocolVersion::Dm12.namespace();
    while ahead.len() < LOOKAHEAD {
        let e = src.next()?;
        let after_ver_dtd = matches!(ahead.last(), Some(Event::Start(Tag::VerDTD)));
        if let (true, Event::Text(t)) = (after_ver_dtd, &e) {
            if t.trim() == ProtocolVersion::Dm11.ver_dtd() {
                namespace = ProtocolVersion::Dm11.namespace();
            }
        }
        // Data is read by `data()` from where its start tag left the reader: stop there too.
        let stop = after_ver_dtd || matches!(e, Event::Eof | Event::Start(Tag::Data));
        ahead.push(e);
        if stop {
            break;
        }
    }
    // XML text runs four to five times the WBXML it comes from.
    let mut out = Vec::with_capacity(wbxml.len() * 6);
    let mut sink = XmlSink::new(&mut out, namespace, false);
    let mut open: Vec<Tag> = Vec::new();
    // A start tag waits for what follows: written empty (`<Final/>`) when its end comes next.
    let mut pending: Option<Tag> = None;
    let mut events = ahead.into_iter();
    loop {
        let e = match events.next() {
            Some(e) => e,
            None => src.next()?,
        };
        if let (Some(tag), false) = (pending, matches!(e, Event::End)) {
            sink.start(tag);
            open.push(tag);
            pending = None;
        }
        match e {
            Event::Start(Tag::Data) => sink.data(&src.data()?),
            Event::Start(tag) => pending = Some(tag),
            Event::Text(t) => sink.text(&t),
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
    // The writer escapes text and copies UTF-8 strings whole: its output is UTF-8.
    String::from_utf8(out).map_err(|e| src.error(K::Syntax(e.to_string())))
}
