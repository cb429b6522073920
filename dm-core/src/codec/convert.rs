//! WBXML to XML text straight from the reader's tokens into the writer (a `Visit`), with no message model
//! in between: the document as sent (its elements in their order), its WBXML checked (tokens,
//! strings, UTF-8, nesting, limits) but not its SyncML structure, which `decode` checks.

use super::emit::Sink;
use super::source::{R, Source};
use super::tag::Tag;
use super::wbxml::{Piece, Visit, WbxmlSource};
use super::xml::{XmlSink, is_long_xml_text, is_xml_bytes, is_xml_space};
use crate::Limits;
use crate::error::DecodeErrorKind as K;
use crate::model::Data;
use crate::model::ProtocolVersion::{Dm11, Dm12};

// The root is written with the DM 1.2 namespace before the header says the version; a DM 1.1
// header has it rewritten in place, which needs both to be the same length.
const _: () = assert!(Dm11.namespace().len() == Dm12.namespace().len());

/// Strings are copied unchecked and the whole text checked once at the end (UTF-8, and text XML
/// can carry); only a document that fails that check, or that has a string starting inside a
/// character (valid only joined to the one before), is converted again string by string, to
/// say which string fails.
pub(crate) fn wbxml_to_xml(wbxml: &[u8], limits: &Limits) -> R<String> {
    let mut src = WbxmlSource::new(wbxml, limits)?.with_raw_text();
    let out = write(&mut src, wbxml.len())?;
    if !src.split_char() {
        if let Ok(xml) = String::from_utf8(out) {
            if is_long_xml_text(&xml) {
                return Ok(xml);
            }
        }
    }
    let mut src = WbxmlSource::new(wbxml, limits)?;
    let out = write(&mut src, wbxml.len())?;
    let xml = String::from_utf8(out).map_err(|e| src.error(K::Syntax(e.to_string())))?;
    // What no string holds alone: a U+FFFE split over two.
    if is_long_xml_text(&xml) { Ok(xml) } else { Err(src.error(K::NotXmlText)) }
}

fn write(src: &mut WbxmlSource<'_>, wbxml_len: usize) -> R<Vec<u8>> {
    // XML text runs four to five times the WBXML it comes from.
    let mut out = Vec::with_capacity(wbxml_len * 6);
    let mut w = ToXml {
        sink: XmlSink::new(&mut out, Dm12.namespace(), false),
        inner: None,
        version: Vec::new(),
        dm11: [false; 2],
        rooted: false,
    };
    while src.step(&mut w)? {}
    let root = b"<SyncML xmlns=\"";
    if w.dm11 == [true; 2] && out.starts_with(root) {
        out[root.len()..root.len() + Dm11.namespace().len()].copy_from_slice(Dm11.namespace().as_bytes());
    }
    Ok(out)
}

struct ToXml<'o> {
    sink: XmlSink<&'o mut Vec<u8>>,
    /// The element last started, while it is open: where text goes.
    inner: Option<Tag>,
    /// The text of VerDTD or VerProto, which may come in several tokens.
    version: Vec<u8>,
    /// Whether VerDTD and VerProto say DM 1.1.
    dm11: [bool; 2],
    /// The root element has been seen: a document has one.
    rooted: bool,
}

impl ToXml<'_> {
    /// An element outside any other: the root, or a second root, which decoding refuses and
    /// the converter too, so that what it writes is well-formed XML.
    #[cold]
    #[inline(never)]
    fn root(&mut self, src: &WbxmlSource<'_>, tag: Tag) -> R<()> {
        if std::mem::replace(&mut self.rooted, true) {
            return Err(src.error(K::UnexpectedElement(tag.name())));
        }
        Ok(())
    }
}

/// Text outside the root: white space is not written, anything else refused, as decoding does.
#[cold]
#[inline(never)]
fn outside_root(src: &WbxmlSource<'_>, piece: &Piece<'_>) -> R<()> {
    if piece.as_bytes().iter().all(|&b| is_xml_space(b)) { Ok(()) } else { Err(src.error(K::UnexpectedText)) }
}

impl<'a> Visit<'a> for ToXml<'_> {
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn start(&mut self, src: &mut WbxmlSource<'a>, tag: Tag) -> R<()> {
        if src.depth() == 1 {
            self.root(src, tag)?;
        }
        self.inner = Some(tag);
        if tag != Tag::Data {
            self.sink.start(tag);
            return Ok(());
        }
        // The first pass leaves text XML cannot carry to the check of the whole output; the
        // second writes it, in an Item, as bytes, as decoding reads it (its UTF-8 checked with
        // the whole output), and refuses it elsewhere, as any element's.
        let checked = !src.raw_text();
        let in_item = checked && src.parent() == Some(Tag::Item);
        match src.plain_data() {
            Some(text) if checked && !is_xml_bytes(text.as_bytes()) => {
                if !in_item {
                    return Err(src.error(K::NotXmlText));
                }
                match std::str::from_utf8(text.as_bytes()) {
                    Ok(_) => self.sink.data(&Data::Binary(text.as_bytes().to_vec())),
                    Err(_) => self.sink.text(text.as_bytes()),
                }
            }
            Some(text) => {
                self.sink.start(Tag::Data);
                self.sink.text(text.as_bytes());
                self.sink.end(Tag::Data);
            }
            None => self.sink.data(&src.data()?),
        }
        Ok(())
    }

    fn empty(&mut self, src: &mut WbxmlSource<'a>, tag: Tag) -> R<()> {
        if src.depth() == 0 {
            self.root(src, tag)?;
        }
        self.sink.empty(tag);
        Ok(())
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn end(&mut self, _: &mut WbxmlSource<'a>, tag: Tag) -> R<()> {
        let expected = match tag {
            Tag::VerDTD => Some((0, Dm11.ver_dtd())),
            Tag::VerProto => Some((1, Dm11.ver_proto())),
            _ => None,
        };
        if let Some((i, dm11)) = expected {
            self.dm11[i] = self.version.trim_ascii() == dm11.as_bytes();
            self.version.clear();
        }
        self.inner = None;
        self.sink.end(tag);
        Ok(())
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn text(&mut self, src: &mut WbxmlSource<'a>, at: usize, piece: Piece<'a>) -> R<()> {
        if src.depth() == 0 {
            return outside_root(src, &piece);
        }
        let checked;
        let text = if src.raw_text() {
            piece.as_bytes()
        } else {
            checked = src.text_of(at, piece)?;
            checked.as_bytes()
        };
        // The first pass leaves this to the check of the whole output.
        if !src.raw_text() && !is_xml_bytes(text) {
            return Err(src.error(K::NotXmlText));
        }
        if matches!(self.inner, Some(Tag::VerDTD | Tag::VerProto)) {
            self.version.extend_from_slice(text);
        }
        self.sink.text(text);
        Ok(())
    }
}
