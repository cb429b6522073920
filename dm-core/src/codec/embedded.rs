//! A document embedded in Data, as WBXML carries it: a DM DDF (TNDS) document as a WBXML
//! document of its own in OPAQUE, as libwbxml writes it; any other as elements and attributes
//! named in the string table (LITERAL), when that takes no more bytes than its text.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event as X};

use super::strtbl::{StringTable, mb_len, plain_len};
use super::tag::{NS_DDF, ddf_token};
use super::wbxml::is_literal_name;
use super::xml::{is_xml_space, is_xml_text, reference};

/// How WBXML carries a document in Data, given the message's string table.
pub(crate) enum Form<'x> {
    /// A DDF document, with the page 2 token of each start (`None` for text and ends).
    Ddf(Document<'x>, Vec<Option<(u8, bool)>>),
    /// Elements named in the string table: this many bytes, no more than its text.
    Literal(Document<'x>, usize),
    Text,
}

impl<'x> Form<'x> {
    pub(crate) fn of(xml: &'x str, table: &StringTable<'_>) -> Self {
        let Some(doc) = Document::parse(xml) else { return Form::Text };
        if let Some(tokens) = doc.ddf_tokens() {
            return Form::Ddf(doc, tokens);
        }
        match doc.literal_len(table) {
            Some(len) if len <= plain_len(xml) => Form::Literal(doc, len),
            _ => Form::Text,
        }
    }
}

/// A piece of an embedded document: names as written in it, text with references resolved.
pub(crate) enum Piece<'x> {
    Start { name: &'x str, attributes: Vec<(&'x str, String)>, content: bool },
    Text(String),
    End,
}

/// One root element and what is inside it; comments, processing instructions and white space
/// around the root dropped.
pub(crate) struct Document<'x>(pub(crate) Vec<Piece<'x>>);

impl<'x> Document<'x> {
    /// `None` for what WBXML cannot carry as elements: markup that is not well formed, more than
    /// one root or text beside it (strict decoding refuses both), a DOCTYPE, an entity other
    /// than XML's own, text XML cannot carry (`is_xml_text`).
    pub(crate) fn parse(xml: &'x str) -> Option<Self> {
        let mut reader = quick_xml::Reader::from_str(xml);
        let (mut pieces, mut depth, mut roots) = (Vec::new(), 0usize, 0);
        loop {
            let piece = match reader.read_event().ok()? {
                X::Start(s) => {
                    roots += usize::from(depth == 0);
                    depth += 1;
                    start(xml, &s, true)?
                }
                X::Empty(s) => {
                    roots += usize::from(depth == 0);
                    start(xml, &s, false)?
                }
                X::End(_) => {
                    depth = depth.checked_sub(1)?;
                    Piece::End
                }
                X::Text(t) => Piece::Text(quick_xml::escape::unescape(&t.xml10_content()).ok()?.into_owned()),
                X::CData(c) => Piece::Text(c.xml10_content().into_owned()),
                X::GeneralRef(r) => Piece::Text(reference(&r)?.into_owned()),
                X::Eof => return (depth == 0 && roots == 1).then_some(Document(pieces)),
                X::Comment(_) | X::PI(_) | X::Decl(_) => continue,
                _ => return None,
            };
            match (piece, pieces.last_mut()) {
                (Piece::Text(t), _) if !is_xml_text(&t) => return None,
                (Piece::Text(t), _) if depth == 0 => {
                    if !t.bytes().all(is_xml_space) {
                        return None;
                    }
                }
                (Piece::Text(t), Some(Piece::Text(last))) => last.push_str(&t),
                (piece, _) => pieces.push(piece),
            }
        }
    }

    /// The DDF page tokens of its elements (with content or not, `None` for an end), if it is a
    /// DM DDF document written as a DDF document decodes: the root declaring the DDF namespace
    /// as its one attribute, every element a DDF one with no prefix and no other attribute (so
    /// that it reads back as it is: a document in no namespace, or another, is no DDF document).
    pub(crate) fn ddf_tokens(&self) -> Option<Vec<Option<(u8, bool)>>> {
        let mut root = true;
        let mut token = |piece: &Piece<'_>| match piece {
            Piece::Start { name, attributes, content } => {
                let plain = match std::mem::take(&mut root) {
                    true => matches!(attributes.as_slice(), [(k, v)] if *k == "xmlns" && v == NS_DDF),
                    false => attributes.is_empty(),
                };
                plain.then(|| ddf_token(name)).flatten().map(|t| Some((t, *content)))
            }
            Piece::Text(_) | Piece::End => Some(None),
        };
        self.0.iter().map(&mut token).collect()
    }

    /// Element and attribute names, as the string table must hold them.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'x str> + '_ {
        let starts = self.0.iter().filter_map(|piece| match piece {
            Piece::Start { name, attributes, .. } => Some((*name, attributes)),
            Piece::Text(_) | Piece::End => None,
        });
        starts.flat_map(|(name, attributes)| std::iter::once(name).chain(attributes.iter().map(|(k, _)| *k)))
    }

    /// Its length written as LITERAL elements, if `table` holds every name and each is one
    /// LITERAL can carry.
    pub(crate) fn literal_len(&self, table: &StringTable<'_>) -> Option<usize> {
        let name = |n: &str| Some(1 + mb_len(table.offset(n).filter(|_| is_literal_name(n))?));
        let mut len = 0;
        for piece in &self.0 {
            len += match piece {
                Piece::Start { name: n, attributes, content } => {
                    let mut len = name(n)? + usize::from(*content) + usize::from(!attributes.is_empty());
                    for (k, v) in attributes {
                        len += name(k)? + v.len() + 2;
                    }
                    len
                }
                Piece::Text(t) => t.len() + 2,
                Piece::End => 0,
            };
        }
        Some(len)
    }
}

fn start<'x>(xml: &'x str, s: &BytesStart<'_>, content: bool) -> Option<Piece<'x>> {
    let name = within(xml, s.name().as_ref())?;
    let attribute = |a: Result<quick_xml::events::attributes::Attribute<'_>, _>| {
        let a = a.ok()?;
        let value = a.normalized_value(XmlVersion::Implicit1_0).ok()?;
        is_xml_text(&value).then(|| Some((within(xml, a.key.as_ref())?, value.into_owned())))?
    };
    let attributes = s.attributes().map(attribute).collect::<Option<_>>()?;
    Some(Piece::Start { name, attributes, content })
}

/// `part` as the slice of `whole` it is (the reader lends names from its input).
fn within<'x>(whole: &'x str, part: &str) -> Option<&'x str> {
    let at = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    whole.get(at..at.checked_add(part.len())?)
}
