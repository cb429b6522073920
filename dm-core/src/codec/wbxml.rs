//! WBXML 1.1–1.3 for SyncML DM: code pages 0 (SyncML), 1 (MetInf) and 2 (DM DDF, for documents
//! embedded in Data). Tokens from facts/wbxml/syncml12_wbxml_tags.tsv.
//!
//! The encoder writes WBXML 1.2 with the numeric public id, UTF-8, and a string table holding
//! each repeated string whose table entry saves bytes. Item Data that holds a NUL or is not
//! UTF-8 goes out as OPAQUE; an embedded document as `embedded` says.

use std::borrow::Cow;

use super::embedded::{self, Document, Form};
use super::emit::{Out, Sink};
use super::source::{Event, MORE_THAN_ONE_DOCUMENT, R, Source, Stack, TEXT_BESIDE_A_DOCUMENT};
use super::strtbl::{self, StringTable, mb_len};
use super::tag::{NS_DDF, NS_METINF, NS_SYNCML12, Tag, ddf_name};
use super::xml::is_xml_space;
use crate::Limits;
use crate::error::{DecodeErrorKind as K, Error, Limit, Site};
use crate::model::Data;

const SWITCH_PAGE: u8 = 0x00;
const END: u8 = 0x01;
const ENTITY: u8 = 0x02;
const STR_I: u8 = 0x03;
/// An element named by a string-table entry (the low six bits of the tag byte).
const LITERAL: u8 = 0x04;
const STR_T: u8 = 0x83;
const OPAQUE: u8 = 0xC3;
const CONTENT: u8 = 0x40;
const ATTRIBUTES: u8 = 0x80;

pub(crate) const PUBLIC_ID_SYNCML12: u32 = 0x1201;
pub(crate) const PUBLIC_ID_SYNCML11: u32 = 0x0FD3;
const CHARSET_UTF8: u32 = 0x6A;
const DDF_FPI: &str = "-//OMA//DTD-DM-DDF 1.2//EN";
const CHARSET_ASCII: u32 = 0x03;
const CHARSET_LATIN1: u32 = 0x04;

#[derive(Clone, Copy)]
enum Charset {
    Utf8,
    Latin1,
}

/// What a walk over the body hands each token to (`step`): the XML writer, or the pull reader
/// behind `Source::next`. Each is given the reader, to read on (Data) or to place an error.
pub(crate) trait Visit<'a> {
    fn start(&mut self, src: &mut WbxmlSource<'a>, tag: Tag) -> R<()>;
    /// A tag without content.
    fn empty(&mut self, src: &mut WbxmlSource<'a>, tag: Tag) -> R<()>;
    fn end(&mut self, src: &mut WbxmlSource<'a>, tag: Tag) -> R<()>;
    /// A run of text tokens and where it starts.
    fn text(&mut self, src: &mut WbxmlSource<'a>, at: usize, piece: Piece<'a>) -> R<()>;
}

/// `Source::next` as a visitor: keeps the one event it is handed.
struct Pull<'a>(Event<'a>);

impl<'a> Visit<'a> for Pull<'a> {
    fn start(&mut self, _: &mut WbxmlSource<'a>, tag: Tag) -> R<()> {
        self.0 = Event::Start(tag);
        Ok(())
    }

    fn empty(&mut self, src: &mut WbxmlSource<'a>, tag: Tag) -> R<()> {
        src.pending_end = true;
        self.0 = Event::Start(tag);
        Ok(())
    }

    fn end(&mut self, _: &mut WbxmlSource<'a>, _: Tag) -> R<()> {
        self.0 = Event::End;
        Ok(())
    }

    fn text(&mut self, src: &mut WbxmlSource<'a>, at: usize, piece: Piece<'a>) -> R<()> {
        self.0 = Event::Text(src.text_of(at, piece)?);
        Ok(())
    }
}

/// Text as read: one string token, one OPAQUE, or several tokens joined (not yet checked).
pub(crate) enum Piece<'a> {
    Str(Cow<'a, str>),
    Bytes(&'a [u8]),
    Joined(Vec<u8>),
}

impl Piece<'_> {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Piece::Str(s) => s.as_bytes(),
            Piece::Bytes(b) => b,
            Piece::Joined(b) => b,
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        match self {
            Piece::Str(s) => s.into_owned().into_bytes(),
            Piece::Bytes(b) => b.to_vec(),
            Piece::Joined(b) => b,
        }
    }
}

pub(crate) struct WbxmlSource<'a> {
    input: &'a [u8],
    pos: usize,
    strtbl: &'a [u8],
    /// The string table as text when it is UTF-8 as a whole: its strings need no check each.
    strtbl_text: Option<&'a str>,
    charset: Charset,
    /// UTF-8 strings handed on as bytes, unchecked: for a writer that checks its whole output.
    raw_text: bool,
    /// A raw string began inside a character: strings that are UTF-8 only once joined, which
    /// a check of the whole output cannot see.
    split_char: bool,
    page: u8,
    /// `next` returned a tag without content: its End comes next.
    pending_end: bool,
    /// Bytes the string-table references read so far expand to (`Limit::TableExpansion`).
    expanded: usize,
    stack: Stack,
    limits: &'a Limits,
}

impl<'a> WbxmlSource<'a> {
    /// Reads the header: version, public id, charset, string table.
    pub(crate) fn new(input: &'a [u8], limits: &'a Limits) -> R<Self> {
        let mut s = WbxmlSource {
            input,
            pos: 0,
            strtbl: &[],
            strtbl_text: None,
            charset: Charset::Utf8,
            raw_text: false,
            split_char: false,
            page: 0,
            pending_end: false,
            expanded: 0,
            stack: Stack::new(limits),
            limits,
        };
        let version = s.byte()?;
        if !(0x01..=0x03).contains(&version) {
            return Err(s.error(K::Wbxml(format!("unsupported WBXML version 0x{version:02X}"))));
        }
        // The public id, numeric or an index into the string table, only names the document
        // type; real peers send SyncML 1.1 ids with 1.2 content, so the content decides.
        if s.mb_u32()? == 0 {
            s.mb_u32()?;
        }
        s.charset = match s.mb_u32()? {
            CHARSET_UTF8 | CHARSET_ASCII | 0 => Charset::Utf8,
            CHARSET_LATIN1 => Charset::Latin1,
            other => return Err(s.error(K::Wbxml(format!("unsupported charset MIBenum {other}")))),
        };
        let len = s.mb_u32()? as usize;
        s.strtbl = s.take(len)?;
        if matches!(s.charset, Charset::Utf8) {
            s.strtbl_text = std::str::from_utf8(s.strtbl).ok();
        }
        Ok(s)
    }

    /// Hands UTF-8 strings on as unchecked bytes (`Piece::Bytes`); a Latin-1 document's are
    /// still converted.
    pub(crate) fn with_raw_text(mut self) -> Self {
        self.raw_text = matches!(self.charset, Charset::Utf8);
        self
    }

    pub(crate) fn raw_text(&self) -> bool {
        self.raw_text
    }

    /// How many elements are open.
    #[inline]
    pub(crate) fn depth(&self) -> usize {
        self.stack.depth()
    }

    /// The element the innermost open one is in.
    pub(crate) fn parent(&self) -> Option<Tag> {
        self.stack.parent()
    }

    /// Whether a raw string began inside a character (see `split_char`).
    pub(crate) fn split_char(&self) -> bool {
        self.split_char
    }

    /// A raw string: in UTF-8 a string starts with a character, never with a continuation byte.
    fn raw_str(&mut self, bytes: &'a [u8]) -> Piece<'a> {
        self.split_char |= bytes.first().is_some_and(|&b| b & 0xC0 == 0x80);
        Piece::Bytes(bytes)
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn byte(&mut self) -> R<u8> {
        let b = *self.input.get(self.pos).ok_or_else(|| self.error(K::Truncated))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, len: usize) -> R<&'a [u8]> {
        if self.input.len() - self.pos < len {
            return Err(self.error(K::Truncated));
        }
        let out = &self.input[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    /// A multi-byte unsigned integer: 7 bits a byte, high bit set on all but the last.
    fn mb_u32(&mut self) -> R<u32> {
        let mut v: u32 = 0;
        for _ in 0..5 {
            let b = self.byte()?;
            if v > (u32::MAX >> 7) {
                return Err(self.error(K::Wbxml("mb_u_int32 overflows 32 bits".into())));
            }
            v = (v << 7) | u32::from(b & 0x7F);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.error(K::Wbxml("mb_u_int32 longer than 5 bytes".into())))
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn cstr(&mut self) -> R<&'a [u8]> {
        let rest = &self.input[self.pos..];
        let n = rest.iter().position(|&b| b == 0).ok_or_else(|| self.error(K::Truncated))?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    /// The string at a string-table offset: `(offset, bytes)`.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn table_str(&mut self) -> R<(usize, &'a [u8])> {
        let at = self.mb_u32()? as usize;
        let rest = self.strtbl.get(at..).filter(|r| !r.is_empty()).ok_or_else(|| {
            self.error(K::Wbxml(format!("string table offset {at} out of range ({} bytes)", self.strtbl.len())))
        })?;
        let n = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        self.expanded += n;
        if self.expanded > self.limits.max_message_size {
            return Err(self.expansion_limit());
        }
        Ok((at, &rest[..n]))
    }

    #[cold]
    #[inline(never)]
    fn expansion_limit(&self) -> Box<Error> {
        self.limit(Limit::TableExpansion, self.expanded, self.limits.max_message_size)
    }

    /// Where the reader is, to come back to: the position and what the references read so far
    /// expand to.
    fn mark(&self) -> (usize, usize) {
        (self.pos, self.expanded)
    }

    fn rewind(&mut self, (pos, expanded): (usize, usize)) {
        (self.pos, self.expanded) = (pos, expanded);
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn decode_str(&self, bytes: &'a [u8], at: usize) -> R<Cow<'a, str>> {
        match self.charset {
            Charset::Latin1 => Ok(super::from_latin1(bytes)),
            Charset::Utf8 => std::str::from_utf8(bytes)
                .map(Cow::Borrowed)
                .map_err(|e| self.error_at(K::InvalidUtf8, at + e.valid_up_to())),
        }
    }

    /// A fault at byte `offset` of the input (not where the reader is).
    fn error_at(&self, kind: K, offset: usize) -> Box<Error> {
        let site = Site { path: self.stack.path(), offset: offset as u64, line: 0, column: 0 };
        Box::new(crate::error::DecodeError { kind, site }.into())
    }

    fn is_text_token(&self) -> bool {
        matches!(self.input.get(self.pos), Some(&(STR_I | STR_T | ENTITY | OPAQUE)))
    }

    /// One text token: a string (checked UTF-8), or OPAQUE bytes as they are; borrowed where
    /// it can be.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn text_token(&mut self) -> R<Piece<'a>> {
        let at = self.pos;
        Ok(match self.byte()? {
            STR_I if self.raw_text => {
                let b = self.cstr()?;
                self.raw_str(b)
            }
            STR_T if self.raw_text => {
                let b = self.table_str()?.1;
                self.raw_str(b)
            }
            STR_I => {
                let b = self.cstr()?;
                Piece::Str(self.decode_str(b, at + 1)?)
            }
            STR_T => {
                let (offset, b) = self.table_str()?;
                match self.strtbl_text.and_then(|t| t.get(offset..offset + b.len())) {
                    Some(s) => Piece::Str(Cow::Borrowed(s)),
                    None => Piece::Str(self.decode_str(b, at)?),
                }
            }
            ENTITY => {
                let code = self.mb_u32()?;
                let c = char::from_u32(code)
                    .ok_or_else(|| self.error(K::Wbxml(format!("invalid character entity {code}"))))?;
                Piece::Str(Cow::Owned(c.to_string()))
            }
            _ => {
                let len = self.mb_u32()? as usize;
                Piece::Bytes(self.take(len)?)
            }
        })
    }

    /// All adjacent text tokens, joined (one token is not copied); with raw text, one token: a
    /// writer takes them one by one.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn text_run(&mut self) -> R<Piece<'a>> {
        let first = self.text_token()?;
        if self.raw_text || !self.is_text_token() {
            return Ok(first);
        }
        let mut out = first.into_bytes();
        while self.is_text_token() {
            out.extend_from_slice(self.text_token()?.as_bytes());
            if out.len() > self.limits.max_text_len {
                return Err(self.limit(Limit::TextLength, out.len(), self.limits.max_text_len));
            }
        }
        Ok(Piece::Joined(out))
    }

    /// A leaf's strings (inline or from the table, as a URI after its prefix entry) joined, up
    /// to its END, which is left to read; `None` when anything else comes first.
    fn leaf_strings(&mut self) -> R<Option<Cow<'a, str>>> {
        let mut text = Cow::Borrowed("");
        loop {
            match self.input.get(self.pos) {
                Some(&END) => return Ok(Some(text)),
                Some(&(STR_I | STR_T)) if !self.raw_text => {
                    let Piece::Str(s) = self.text_token()? else { return Ok(None) };
                    text = match text {
                        Cow::Borrowed("") => s,
                        Cow::Borrowed(first) => Cow::Owned([first, &s].concat()),
                        Cow::Owned(mut joined) => {
                            joined.push_str(&s);
                            Cow::Owned(joined)
                        }
                    };
                    if text.len() > self.limits.max_text_len {
                        return Err(self.limit(Limit::TextLength, text.len(), self.limits.max_text_len));
                    }
                }
                _ => return Ok(None),
            }
        }
    }

    /// The next tag token after any page switches: (page, token, has content).
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn tag_token(&mut self) -> R<(u8, u8, bool)> {
        loop {
            let b = self.byte()?;
            if b == SWITCH_PAGE {
                self.page = self.byte()?;
                continue;
            }
            if b & ATTRIBUTES != 0 || (b & 0x3F) < 5 {
                return Err(self.error(K::Wbxml(format!("unsupported token 0x{b:02X}"))));
            }
            return Ok((self.page, b & 0x3F, b & CONTENT != 0));
        }
    }

    /// After any page switches, an element named in the string table (LITERAL: how libwbxml
    /// writes an element no code page has): its name, whether it has content and whether
    /// attributes follow; `None`, with nothing read but the switches, for a tag token.
    fn literal_tag(&mut self) -> R<Option<(&'a str, bool, bool)>> {
        while self.input.get(self.pos) == Some(&SWITCH_PAGE) {
            self.pos += 1;
            self.page = self.byte()?;
        }
        let Some(&b) = self.input.get(self.pos).filter(|&&b| b & 0x3F == LITERAL) else { return Ok(None) };
        self.pos += 1;
        Ok(Some((self.table_name()?, b & CONTENT != 0, b & ATTRIBUTES != 0)))
    }

    /// A string table entry naming an element or an attribute.
    fn table_name(&mut self) -> R<&'a str> {
        let (at, name) = self.table_str()?;
        match std::str::from_utf8(name) {
            Ok(name) if is_literal_name(name) => Ok(name),
            _ => Err(self.error(K::Wbxml(format!("string table entry {at} is not an element name")))),
        }
    }

    /// A literal element's attributes up to their END, written to `xml` as ` name="value"`: each
    /// named in the string table (LITERAL), its value in text tokens.
    fn literal_attributes(&mut self, xml: &mut String) -> R<()> {
        let mut names = std::collections::HashSet::new();
        while !self.at_end()? {
            let b = self.byte()?;
            if b != LITERAL {
                return Err(self.error_at(K::Wbxml(format!("unsupported attribute token 0x{b:02X}")), self.pos - 1));
            }
            let name = self.table_name()?;
            if !names.insert(name) {
                return Err(self.error(K::Wbxml(format!("attribute {name} given twice"))));
            }
            let mut value = Vec::new();
            while self.is_text_token() {
                value.extend_from_slice(self.text_run()?.as_bytes());
            }
            xml.push(' ');
            xml.push_str(name);
            xml.push_str("=\"");
            xml.push_str(&escape_attribute(&String::from_utf8_lossy(&value)));
            xml.push('"');
            if xml.len() > self.limits.max_text_len {
                return Err(self.limit(Limit::TextLength, xml.len(), self.limits.max_text_len));
            }
        }
        Ok(())
    }

    fn at_end(&mut self) -> R<bool> {
        if self.input.get(self.pos) == Some(&END) {
            self.pos += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// Reads one token of the body and hands it to `v`; `false` at the end of the document.
    /// The stack holds the open elements (a tag without content is never open).
    #[cfg_attr(feature = "inline-more", inline(always))]
    pub(crate) fn step(&mut self, v: &mut impl Visit<'a>) -> R<bool> {
        let Some(&b) = self.input.get(self.pos) else {
            return if self.stack.depth() == 0 { Ok(false) } else { Err(self.error(K::Truncated)) };
        };
        match b {
            STR_I | STR_T | ENTITY | OPAQUE => {
                let at = self.pos;
                let piece = self.text_run()?;
                v.text(self, at, piece)?;
            }
            END => {
                let tag = self.stack.pop().ok_or_else(|| self.error(K::Wbxml("END without a start tag".into())))?;
                self.pos += 1;
                v.end(self, tag)?;
            }
            _ => {
                let (page, token, content) = self.tag_token()?;
                let tag = Tag::from_code(page, token)
                    .ok_or_else(|| self.error(K::UnknownElement(format!("page {page} token 0x{token:02X}"))))?;
                if !self.stack.push(tag) {
                    return Err(self.stack.too_deep(self.site()));
                }
                if content {
                    v.start(self, tag)?;
                } else {
                    self.stack.pop();
                    v.empty(self, tag)?;
                }
            }
        }
        Ok(true)
    }

    /// A text token run read at `at` as text. Strings were checked as they were read, so what
    /// fails here is OPAQUE bytes: a valid token, but not the text the element needs.
    pub(crate) fn text_of(&self, at: usize, piece: Piece<'a>) -> R<Cow<'a, str>> {
        let text = match piece {
            Piece::Str(s) => return Ok(s),
            Piece::Bytes(b) => std::str::from_utf8(b).map(Cow::Borrowed),
            Piece::Joined(b) => String::from_utf8(b).map(Cow::Owned).map_err(|e| e.utf8_error()),
        };
        text.map_err(|e| self.error_at(K::BinaryText, at + e.valid_up_to()))
    }

    /// Right after `Start(Data)`: text (OPAQUE included) is Data::Text, or Data::Binary when it
    /// is not UTF-8 or not text XML can carry (`Data::from_bytes`); elements make the whole
    /// content an embedded document, written out as XML.
    fn read_data(&mut self) -> R<Data> {
        // `<Data/>`: not open, nothing to read.
        if std::mem::take(&mut self.pending_end) {
            return Ok(Data::Text(String::new()));
        }
        if let Some(text) = self.plain_data() {
            return Ok(match text {
                Piece::Str(s) => Data::from_text(s.into_owned()),
                other => Data::from_bytes(other.into_bytes()),
            });
        }
        let mut bytes = Vec::new();
        let mut doc: Option<String> = None;
        while !self.at_end()? {
            let next = if let Some(d) = self.embedded_document()? {
                Some(d)
            } else if !self.is_text_token() {
                let mut x = String::new();
                self.embedded(&mut x)?;
                Some(x)
            } else {
                bytes.extend_from_slice(self.text_run()?.as_bytes());
                None
            };
            if next.is_some() && doc.is_some() {
                return Err(self.error(K::EmbeddedXml(MORE_THAN_ONE_DOCUMENT)));
            }
            doc = doc.or(next);
        }
        self.stack.pop();
        if let Some(mut d) = doc {
            if !bytes.iter().all(|&b| is_xml_space(b)) {
                return Err(self.error(K::EmbeddedXml(TEXT_BESIDE_A_DOCUMENT)));
            }
            // An embedded document is XML: its strings and attribute values may not hold what
            // XML cannot carry.
            if !super::is_xml_text(&d) {
                return Err(self.error(K::NotXmlText));
            }
            // Nor names XML's namespaces refuse (a prefix not declared, say): as XML, it is
            // taken by strict decoding.
            if let Some(why) = super::wellformed::names_fault(&d) {
                return Err(self.error(K::Syntax(why)));
            }
            // Written piece by piece: up to twice its size in capacity, for as long as it is kept.
            d.shrink_to_fit();
            return Ok(Data::Xml(d));
        }
        Ok(Data::from_bytes(bytes))
    }

    /// Right after `Start(Data)`: content that is one UTF-8 string token, read with its END (the
    /// common case, taken without copying); `None`, with nothing read, for any other content.
    pub(crate) fn plain_data(&mut self) -> Option<Piece<'a>> {
        let start = self.mark();
        if !matches!(self.input.get(self.pos), Some(&(STR_I | STR_T))) {
            return None;
        }
        match self.text_token() {
            Ok(text) if self.input.get(self.pos) == Some(&END) => {
                self.pos += 1;
                self.stack.pop();
                Some(text)
            }
            _ => {
                self.rewind(start);
                None
            }
        }
    }

    /// OPAQUE holding a whole WBXML document of DM DDF elements (page 2), as libwbxml writes
    /// an embedded MgmtTree: the document as XML text.
    fn embedded_document(&mut self) -> R<Option<String>> {
        if self.input.get(self.pos) != Some(&OPAQUE) {
            return Ok(None);
        }
        let start = self.pos;
        self.pos += 1;
        let len = self.mb_u32()? as usize;
        let inner = self.take(len)?;
        let doc = match WbxmlSource::new(inner, self.limits) {
            Ok(mut doc) if inner.get(doc.pos..doc.pos + 2) == Some(&[SWITCH_PAGE, 2]) => {
                // One document, one budget: what the inner one's references expand to counts.
                std::mem::swap(&mut doc.stack, &mut self.stack);
                doc.expanded += self.expanded;
                let mut xml = String::new();
                let r = doc.embedded(&mut xml);
                std::mem::swap(&mut doc.stack, &mut self.stack);
                self.expanded = doc.expanded;
                r.map_err(|e| self.relocate(e, start))?;
                xml
            }
            _ => {
                self.pos = start;
                return Ok(None);
            }
        };
        Ok(Some(doc))
    }

    /// An error inside an embedded document, placed at the OPAQUE that holds it.
    fn relocate(&self, mut e: Box<Error>, at: usize) -> Box<Error> {
        if let Error::Decode(d) = &mut *e {
            d.site.offset += at as u64;
            d.site.path = self.stack.path();
        }
        e
    }

    /// An element embedded in Data, written out as XML text. The document must be DM DDF (code
    /// page 2): SyncML elements inside Data have no meaning and could not travel back. Its
    /// elements are followed with a stack of their own, not by recursion, however deep they
    /// nest (the depth limit aside).
    fn embedded(&mut self, xml: &mut String) -> R<()> {
        let mut open: Vec<&'a str> = Vec::new();
        loop {
            let name = self.embedded_start(xml, open.is_empty())?;
            open.extend(name);
            // The innermost open element's content, up to a child element or its end.
            loop {
                if xml.len() > self.limits.max_text_len {
                    return Err(self.limit(Limit::TextLength, xml.len(), self.limits.max_text_len));
                }
                let Some(&name) = open.last() else { return Ok(()) };
                if self.at_end()? {
                    open.pop();
                    self.stack.pop();
                    for piece in ["</", name, ">"] {
                        xml.push_str(piece);
                    }
                } else if self.is_text_token() {
                    push_escaped(xml, &String::from_utf8_lossy(self.text_token()?.as_bytes()));
                } else {
                    break;
                }
            }
        }
    }

    /// The start tag of an embedded element, written out: its name when it has content (left
    /// open), `None` when it is empty (closed already). `top`: the document's outermost element.
    fn embedded_start(&mut self, xml: &mut String, top: bool) -> R<Option<&'a str>> {
        let (name, content, attributes, page) = match self.literal_tag()? {
            Some((name, content, attributes)) => (name, content, attributes, None),
            None => {
                let (page, token, content) = self.tag_token()?;
                if top && page != 2 {
                    let what = format!("an element of code page {page} embedded in Data (only DM DDF, page 2)");
                    return Err(self.error(K::Wbxml(what)));
                }
                let name = match page {
                    2 => ddf_name(token),
                    _ => Tag::from_code(page, token).map(Tag::name),
                }
                .ok_or_else(|| self.error(K::UnknownElement(format!("page {page} token 0x{token:02X}"))))?;
                (name, content, false, Some(page))
            }
        };
        if !self.stack.push_foreign() {
            return Err(self.stack.too_deep(self.site()));
        }
        xml.push('<');
        xml.push_str(name);
        if let Some(page) = page.filter(|_| top) {
            let ns = [NS_SYNCML12, NS_METINF, NS_DDF].get(usize::from(page)).copied().unwrap_or(NS_DDF);
            xml.push_str(" xmlns=\"");
            xml.push_str(ns);
            xml.push('"');
        }
        if attributes {
            self.literal_attributes(xml)?;
        }
        if content {
            xml.push('>');
            return Ok(Some(name));
        }
        xml.push_str("/>");
        self.stack.pop();
        Ok(None)
    }
}

impl<'a> Source<'a> for WbxmlSource<'a> {
    fn next(&mut self) -> R<Event<'a>> {
        if std::mem::take(&mut self.pending_end) {
            return Ok(Event::End);
        }
        let mut pull = Pull(Event::Eof);
        self.step(&mut pull)?;
        Ok(pull.0)
    }

    fn leaf(&mut self) -> R<(Cow<'a, str>, bool)> {
        if std::mem::take(&mut self.pending_end) {
            return Ok((Cow::Borrowed(""), true));
        }
        let at = self.mark();
        match self.leaf_strings()? {
            Some(text) => {
                self.stack.pop();
                self.pos += 1;
                Ok((text, true))
            }
            None => {
                self.rewind(at);
                Ok((Cow::Borrowed(""), false))
            }
        }
    }

    /// Read checked whatever the mode: strings in Data are text in the document's charset, and
    /// only OPAQUE may carry other bytes.
    fn data(&mut self) -> R<Data> {
        let raw = std::mem::replace(&mut self.raw_text, false);
        let data = self.read_data();
        self.raw_text = raw;
        data
    }

    fn site(&self) -> Site {
        Site { path: self.stack.path(), offset: self.pos as u64, line: 0, column: 0 }
    }
}

/// Appends text as XML content: `<`, `>` and `&` escaped, and a carriage return, which XML
/// would read as a line feed.
fn push_escaped(xml: &mut String, text: &str) {
    let escaped = quick_xml::escape::partial_escape(text);
    if escaped.contains('\r') {
        xml.push_str(&escaped.replace('\r', "&#13;"));
    } else {
        xml.push_str(&escaped);
    }
}

/// An attribute value as XML writes it between double quotes: the white space XML would read
/// as spaces written as references.
fn escape_attribute(value: &str) -> String {
    let escaped = quick_xml::escape::escape(value);
    if !escaped.contains(['\t', '\n', '\r']) {
        return escaped.into_owned();
    }
    escaped.replace('\t', "&#9;").replace('\n', "&#10;").replace('\r', "&#13;")
}

/// A name LITERAL may give an element or an attribute.
pub(crate) fn is_literal_name(name: &str) -> bool {
    let is_name_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':');
    name.bytes().next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') && name.bytes().all(is_name_char)
}

fn put_mb(out: &mut impl Out, v: u32) {
    let mut buf = [0u8; 5];
    let n = mb_len(v);
    for (i, b) in buf[..n].iter_mut().enumerate() {
        let shift = 7 * (n - 1 - i);
        *b = ((v >> shift) & 0x7F) as u8 | if i + 1 < n { 0x80 } else { 0 };
    }
    out.put(&buf[..n]);
}

pub(crate) struct WbxmlSink<'t, 'm, O> {
    out: O,
    page: u8,
    table: &'t StringTable<'m>,
    /// Leaves written so far: the next one's number in the table's plan.
    leaves: usize,
}

impl<'t, 'm, O: Out> WbxmlSink<'t, 'm, O> {
    /// Writes the header; the body follows through the `Sink` calls.
    pub(crate) fn new(mut out: O, public_id: u32, table: &'t StringTable<'m>) -> Self {
        out.put(&[0x02]);
        put_mb(&mut out, public_id);
        put_mb(&mut out, CHARSET_UTF8);
        put_mb(&mut out, table.bytes.len() as u32);
        out.put(&table.bytes);
        Self::body(out, table)
    }

    /// A writer of body elements only, on code page 0.
    pub(crate) fn body(out: O, table: &'t StringTable<'m>) -> Self {
        WbxmlSink { out, page: 0, table, leaves: 0 }
    }

    pub(crate) fn on_page_0(&self) -> bool {
        self.page == 0
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn token(&mut self, page: u8, token: u8) {
        if page != self.page {
            self.out.put(&[SWITCH_PAGE, page]);
            self.page = page;
        }
        self.out.put(&[token]);
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn tag(&mut self, tag: Tag, content: bool) {
        let (page, token) = tag.code();
        self.token(page, token | if content { CONTENT } else { 0 });
    }

    fn str(&mut self, text: &str) {
        if strtbl::has_nul(text.as_bytes()) {
            return self.opaque(text.as_bytes());
        }
        let table = self.table;
        table.pieces(text, |piece| self.piece(piece));
    }

    fn piece(&mut self, piece: strtbl::Piece<'_>) {
        match piece {
            strtbl::Piece::Ref(at) => {
                self.out.put(&[STR_T]);
                put_mb(&mut self.out, at);
            }
            strtbl::Piece::Inline(s) => self.inline(s),
        }
    }

    /// A leaf of the message: as the string table planned it, if it did.
    fn planned_leaf(&mut self, tag: Tag, text: &str) {
        let table = self.table;
        let plan = table.planned(self.leaves, text);
        self.leaves += 1;
        match plan {
            Some(pieces) if !text.is_empty() => {
                self.tag(tag, true);
                pieces.iter().for_each(|&p| self.piece(p));
                self.out.put(&[END]);
            }
            _ => self.text_leaf(tag, text),
        }
    }

    fn opaque(&mut self, bytes: &[u8]) {
        self.out.put(&[OPAQUE]);
        put_mb(&mut self.out, bytes.len() as u32);
        self.out.put(bytes);
    }

    fn text_leaf(&mut self, tag: Tag, text: &str) {
        if text.is_empty() {
            self.tag(tag, false);
            return;
        }
        self.tag(tag, true);
        self.str(text);
        self.out.put(&[END]);
    }

    /// Data's embedded document (see `embedded`), or its text.
    fn document(&mut self, xml: &'m str) {
        match Form::of(xml, self.table) {
            Form::Ddf(doc, tokens) => self.ddf_document(&doc, &tokens),
            Form::Literal(doc, _) => self.literal_document(&doc),
            Form::Text => self.str(xml),
        }
    }

    /// A DDF document as libwbxml writes it: OPAQUE holding a WBXML document (textual public id
    /// `-//OMA//DTD-DM-DDF 1.2//EN`, page 2 tokens), its strings inline.
    fn ddf_document(&mut self, doc: &Document<'_>, tokens: &[Option<(u8, bool)>]) {
        let mut bytes = vec![0x02, 0x00, 0x00, CHARSET_UTF8 as u8, DDF_FPI.len() as u8 + 1];
        bytes.extend_from_slice(DDF_FPI.as_bytes());
        bytes.extend([0, SWITCH_PAGE, 2]);
        let mut inner = WbxmlSink { out: &mut bytes, page: 2, table: self.table, leaves: 0 };
        for (piece, token) in doc.0.iter().zip(tokens) {
            match (piece, token) {
                (_, Some((t, content))) => inner.token(2, t | if *content { CONTENT } else { 0 }),
                (embedded::Piece::Text(s), _) => inner.inline(s),
                _ => inner.out.put(&[END]),
            }
        }
        self.opaque(&bytes);
    }

    /// A document of elements named in the string table, which holds every name.
    fn literal_document(&mut self, doc: &Document<'_>) {
        for piece in &doc.0 {
            match piece {
                embedded::Piece::Start { name, attributes, content } => {
                    let flags = if *content { CONTENT } else { 0 } | if attributes.is_empty() { 0 } else { ATTRIBUTES };
                    self.literal(LITERAL | flags, name);
                    for (key, value) in attributes {
                        self.literal(LITERAL, key);
                        self.inline(value);
                    }
                    if !attributes.is_empty() {
                        self.out.put(&[END]);
                    }
                }
                embedded::Piece::Text(s) => self.inline(s),
                embedded::Piece::End => self.out.put(&[END]),
            }
        }
    }

    fn literal(&mut self, token: u8, name: &str) {
        self.out.put(&[token]);
        put_mb(&mut self.out, self.table.offset(name).unwrap_or_default());
    }

    fn inline(&mut self, text: &str) {
        self.out.put(&[STR_I]);
        self.out.put(text.as_bytes());
        self.out.put(&[0]);
    }
}

impl<'m, O: Out> Sink<'m> for WbxmlSink<'_, 'm, O> {
    fn start(&mut self, tag: Tag) {
        self.tag(tag, true);
    }

    fn end(&mut self, _: Tag) {
        self.out.put(&[END]);
    }

    fn empty(&mut self, tag: Tag) {
        self.tag(tag, false);
    }

    fn leaf(&mut self, tag: Tag, text: &'m str) {
        self.planned_leaf(tag, text);
    }

    fn number(&mut self, tag: Tag, n: u64) {
        self.tag(tag, true);
        self.out.put(&[STR_I]);
        self.out.put(super::emit::digits(&mut [0; 20], n));
        self.out.put(&[0, END]);
    }

    fn data(&mut self, data: &'m Data) {
        match data {
            Data::Text(t) => self.planned_leaf(Tag::Data, t),
            Data::Xml(x) => {
                self.tag(Tag::Data, true);
                self.document(x);
                self.out.put(&[END]);
            }
            Data::Binary(b) => {
                self.tag(Tag::Data, true);
                self.opaque(b);
                self.out.put(&[END]);
            }
        }
    }
}
