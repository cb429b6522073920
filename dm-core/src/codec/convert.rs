//! WBXML to XML text straight from the reader's tokens into the writer, with no message model
//! in between: the document as sent (its elements in their order), its WBXML checked (tokens,
//! strings, UTF-8, nesting, limits) but not its SyncML structure, which `decode` checks.

use super::emit::Sink;
use super::source::{R, Source};
use super::tag::Tag;
use super::wbxml::{Token, WbxmlSource};
use super::xml::XmlSink;
use crate::Limits;
use crate::error::DecodeErrorKind as K;
use crate::model::ProtocolVersion::{Dm11, Dm12};

// The root is written with the DM 1.2 namespace before the header says the version; a DM 1.1
// header has it rewritten in place, which needs both to be the same length.
const _: () = assert!(Dm11.namespace().len() == Dm12.namespace().len());

/// Strings are copied unchecked and the whole text checked once at the end; only a document
/// that fails that check is converted again string by string, to say which string is not UTF-8.
pub(crate) fn wbxml_to_xml(wbxml: &[u8], limits: &Limits) -> R<String> {
    let mut src = WbxmlSource::new(wbxml, limits)?.with_raw_text();
    if let Ok(xml) = String::from_utf8(write(&mut src, wbxml.len())?) {
        return Ok(xml);
    }
    let mut src = WbxmlSource::new(wbxml, limits)?;
    let out = write(&mut src, wbxml.len())?;
    String::from_utf8(out).map_err(|e| src.error(K::Syntax(e.to_string())))
}

fn write(src: &mut WbxmlSource<'_>, wbxml_len: usize) -> R<Vec<u8>> {
    // XML text runs four to five times the WBXML it comes from.
    let mut out = Vec::with_capacity(wbxml_len * 6);
    let mut sink = XmlSink::new(&mut out, Dm12.namespace(), false);
    // A start tag waits for what follows: written empty (`<Final/>`) when its end comes next.
    let mut pending: Option<Tag> = None;
    // The element last started, while it is open: where text goes.
    let mut inner: Option<Tag> = None;
    let (mut ver_dtd, mut ver_proto) = (false, false);
    loop {
        let token = src.token()?;
        if !matches!(token, Token::End(_))
            && let Some(tag) = pending.take()
        {
            sink.start(tag);
        }
        match token {
            Token::Start(Tag::Data, true) => match src.plain_data() {
                Some(text) => {
                    sink.start(Tag::Data);
                    sink.text(text.as_bytes());
                    sink.end(Tag::Data);
                }
                None => sink.data(&src.data()?),
            },
            Token::Start(tag, _) => {
                pending = Some(tag);
                inner = Some(tag);
            }
            Token::Text(at, piece) => {
                let checked;
                let text = if src.raw_text() {
                    piece.as_bytes()
                } else {
                    checked = src.text_of(at, piece)?;
                    checked.as_bytes()
                };
                let version = text.trim_ascii();
                match inner {
                    Some(Tag::VerDTD) => ver_dtd = version == Dm11.ver_dtd().as_bytes(),
                    Some(Tag::VerProto) => ver_proto = version == Dm11.ver_proto().as_bytes(),
                    _ => {}
                }
                sink.text(text)
            }
            Token::End(tag) => {
                inner = None;
                match (pending.take(), tag) {
                    (Some(tag), _) => sink.empty(tag),
                    (None, Some(tag)) => sink.end(tag),
                    (None, None) => return Err(src.error(K::Wbxml("END without a start tag".into()))),
                }
            }
            Token::Eof => break,
        }
    }
    let root = b"<SyncML xmlns=\"";
    if ver_dtd && ver_proto && out.starts_with(root) {
        out[root.len()..root.len() + Dm11.namespace().len()].copy_from_slice(Dm11.namespace().as_bytes());
    }
    Ok(out)
}
