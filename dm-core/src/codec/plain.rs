//! A lexer for the plain XML almost every message is: elements, attributes, text, references,
//! comments, CDATA sections, an XML declaration and a DOCTYPE. It yields exactly the events and
//! positions quick-xml's `Reader` yields as `XmlSource` sets it up, without the Reader's second
//! UTF-8 check of every event and its copy of every element name, and gives up (`Unplain`) at
//! anything else: a DOCTYPE's internal subset, a processing instruction, a bare `&` (unless read
//! leniently), a mismatched end tag, markup left open. The decode then starts again over the
//! Reader, which also reports every fault. The commonest steps also come in one piece, with no
//! event built: a leaf's text and end tag (`leaf`), a start tag without attributes or an end
//! tag (`bare_tag`). The tests below and the fuzz targets (`cfg(fuzzing)` in `xml::decode`) hold
//! it to the Reader.

use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesRef, BytesStart, BytesText, Event as X};

use super::xml::{ONES, bytes_below, is_xml_space, word};

/// A tag `bare_tag` read.
pub(crate) enum Bare<'a> {
    Start(&'a str),
    End,
}

/// The lexer met what it leaves to quick-xml's Reader.
#[derive(Debug, PartialEq)]
pub(crate) struct Unplain;

pub(crate) struct PlainLexer<'a> {
    input: &'a str,
    pos: usize,
    /// The names of the open elements.
    open: Vec<&'a str>,
    /// The last start tag was `<name/>`: its end comes next, at the same position.
    in_empty: bool,
    /// A bare `&` is text, as the Reader reads it with `allow_dangling_amp`.
    lenient: bool,
}

impl<'a> PlainLexer<'a> {
    /// A lexer of `input`, unless it starts with a byte-order mark, which the Reader drops.
    pub(crate) fn new(input: &'a str, lenient: bool) -> Option<Self> {
        let lexer = PlainLexer { input, pos: 0, open: Vec::with_capacity(16), in_empty: false, lenient };
        (!input.starts_with('\u{FEFF}')).then_some(lexer)
    }

    /// The offset right after the last event read, as `Reader::buffer_position` gives it.
    pub(crate) fn buffer_position(&self) -> u64 {
        self.pos as u64
    }

    /// The next event, as the Reader would yield it.
    #[cfg_attr(feature = "inline-more", inline(always))]
    pub(crate) fn read_event(&mut self) -> Result<X<'a>, Unplain> {
        if self.in_empty {
            self.in_empty = false;
            let name = self.open.pop().ok_or(Unplain)?;
            return Ok(X::End(BytesEnd::new(name)));
        }
        let input = self.input;
        let rest = &input.as_bytes()[self.pos..];
        match text_end(rest) {
            None if rest.is_empty() => Ok(X::Eof),
            None => {
                self.pos = input.len();
                Ok(X::Text(BytesText::from_escaped(&input[input.len() - rest.len()..])))
            }
            Some(0) if rest[0] == b'&' => self.reference(rest),
            Some(0) => self.markup(rest),
            Some(at) => {
                let text = &input[self.pos..self.pos + at];
                self.pos += at;
                Ok(X::Text(BytesText::from_escaped(text)))
            }
        }
    }

    /// A leaf's text and end tag in one step, when the text holds no reference and the end tag
    /// is `</name>` for the open element: what `read_event` would yield as `Text` (unless the
    /// text is empty) and `End`, in that order.
    #[cfg_attr(feature = "inline-more", inline(always))]
    pub(crate) fn leaf(&mut self) -> Option<&'a str> {
        if self.in_empty {
            return None;
        }
        let rest = &self.input.as_bytes()[self.pos..];
        let at = text_end(rest)?;
        let name = self.closes_open(&rest[at..])?;
        let text = &self.input[self.pos..self.pos + at];
        self.open.pop();
        self.pos += at + name.len() + 3;
        Some(text)
    }

    /// The tag at the position when it is a start tag `<name>` without attributes, or the end
    /// tag `</name>` of the open element: what `read_event` would yield as `Start` or `End`.
    #[cfg_attr(feature = "inline-more", inline(always))]
    pub(crate) fn bare_tag(&mut self) -> Option<Bare<'a>> {
        let rest = self.input.as_bytes().get(self.pos..).filter(|_| !self.in_empty)?;
        match *rest.get(1)? {
            b'/' => self.read_close(rest).map(|_| Bare::End),
            b if rest[0] == b'<' && (b.is_ascii_alphabetic() || b == b'_') => {
                let end = plain_tag_end(rest).filter(|&end| rest[end - 1] != b'/')?;
                // `split_at`: a boundary check inlined, where a range of a str calls out.
                let name = self.input[self.pos + 1..].split_at(end - 1).0;
                self.open.push(name);
                self.pos += end + 1;
                Some(Bare::Start(name))
            }
            _ => None,
        }
    }

    /// Reads the open element's end tag at `rest` when it is written `</name>`: its name.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn read_close(&mut self, rest: &[u8]) -> Option<&'a str> {
        let name = self.closes_open(rest)?;
        self.open.pop();
        self.pos += name.len() + 3;
        Some(name)
    }

    /// The open element's name when `rest` starts with its end tag written `</name>`, as it
    /// almost always is.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn closes_open(&self, rest: &[u8]) -> Option<&'a str> {
        let name = *self.open.last()?;
        let end = rest.get(..name.len() + 3)?;
        (end.starts_with(b"</") && &end[2..2 + name.len()] == name.as_bytes() && end[2 + name.len()] == b'>')
            .then_some(name)
    }

    /// `&name;`, at `rest`; read leniently, a bare `&` is text up to the next `&` or `<`.
    fn reference(&mut self, rest: &[u8]) -> Result<X<'a>, Unplain> {
        let start = self.pos;
        let end = match memchr::memchr3(b';', b'&', b'<', &rest[1..]) {
            Some(end) if rest[end + 1] == b';' => {
                self.pos += end + 2;
                return Ok(X::GeneralRef(BytesRef::new(&self.input[start + 1..start + 1 + end])));
            }
            _ if !self.lenient => return Err(Unplain),
            Some(end) => end + 1,
            None => rest.len(),
        };
        self.pos += end;
        Ok(X::Text(BytesText::from_escaped(&self.input[start..start + end])))
    }

    /// A tag or declaration, at `rest` (which starts with `<`).
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn markup(&mut self, rest: &[u8]) -> Result<X<'a>, Unplain> {
        let start = self.pos;
        match rest.get(1) {
            Some(b'/') => {
                if let Some(name) = self.read_close(rest) {
                    return Ok(X::End(BytesEnd::new(name)));
                }
                let end = tag_end(rest).ok_or(Unplain)?;
                let content = &self.input[start + 2..start + end];
                let name_end = content.bytes().rposition(|b| !is_xml_space(b)).map_or(0, |at| at + 1);
                let name = &content[..name_end];
                if self.open.pop() != Some(name) {
                    return Err(Unplain);
                }
                self.pos += end + 1;
                Ok(X::End(BytesEnd::new(name)))
            }
            Some(b'?') => {
                let end = memchr::memchr_iter(b'>', rest).find(|&at| at > 0 && rest[at - 1] == b'?').ok_or(Unplain)?;
                let content = self.input.get(start + 2..start + end - 1).ok_or(Unplain)?;
                let after_xml = content.as_bytes().get(3).copied();
                if !content.starts_with("xml") || after_xml.is_some_and(|b| !is_xml_space(b)) {
                    return Err(Unplain);
                }
                self.pos += end + 1;
                Ok(X::Decl(BytesDecl::from_start(BytesStart::from_content(content, 3))))
            }
            Some(b'!') if rest.starts_with(b"<!--") => {
                let end = memchr::memchr_iter(b'>', rest).find(|&at| at > 5 && rest[..at].ends_with(b"--"));
                let end = end.ok_or(Unplain)?;
                self.pos += end + 1;
                Ok(X::Comment(BytesText::from_escaped(&self.input[start + 4..start + end - 2])))
            }
            Some(b'!') if rest.starts_with(b"<![CDATA[") => {
                let end = memchr::memchr_iter(b'>', rest).find(|&at| rest[..at].ends_with(b"]]")).ok_or(Unplain)?;
                self.pos += end + 1;
                Ok(X::CData(BytesCData::new(&self.input[start + 9..start + end - 2])))
            }
            // A DOCTYPE without an internal subset, as peers send it to name the DTD.
            Some(b'!') if rest.starts_with(b"<!DOCTYPE") => {
                let end = tag_end(rest).filter(|&end| !rest[..end].contains(&b'[')).ok_or(Unplain)?;
                let name_at = 9 + rest[9..end].iter().position(|&b| !is_xml_space(b)).ok_or(Unplain)?;
                self.pos += end + 1;
                Ok(X::DocType(BytesText::from_escaped(&self.input[start + name_at..start + end])))
            }
            Some(&b) if b.is_ascii_alphabetic() || b == b'_' => {
                let end = plain_tag_end(rest).or_else(|| tag_end(rest)).ok_or(Unplain)?;
                let empty = rest[end - 1] == b'/';
                let content = &self.input[start + 1..start + end - usize::from(empty)];
                let name_len = content.bytes().position(is_xml_space).unwrap_or(content.len());
                self.open.push(&content[..name_len]);
                self.in_empty = empty;
                self.pos += end + 1;
                Ok(X::Start(BytesStart::from_content(content, name_len)))
            }
            _ => Err(Unplain),
        }
    }
}

/// Where the tag at the start of `tag` ends when it is only a name: `<name>` or `<name/>`.
#[cfg_attr(feature = "inline-more", inline(always))]
fn plain_tag_end(tag: &[u8]) -> Option<usize> {
    let at = 1 + tag[1..].iter().position(|&b| matches!(b, b'>' | b'/' | b'\'' | b'"') || is_xml_space(b))?;
    match tag[at] {
        b'>' => Some(at),
        b'/' if tag.get(at + 1) == Some(&b'>') => Some(at + 1),
        _ => None,
    }
}

/// Where text at the start of `rest` ends: at the first `<` or `&`. A word at a time for the
/// first bytes, as most text is short.
#[cfg_attr(feature = "inline-more", inline(always))]
fn text_end(rest: &[u8]) -> Option<usize> {
    for (n, w) in rest.chunks_exact(8).take(4).enumerate() {
        let x = word(w);
        let found = bytes_below(x ^ (ONES * u64::from(b'<')), 1) | bytes_below(x ^ (ONES * u64::from(b'&')), 1);
        if found != 0 {
            return Some(n * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let from = (rest.len() / 8).min(4) * 8;
    memchr::memchr2(b'<', b'&', &rest[from..]).map(|at| from + at)
}

/// Where the tag at the start of `tag` ends: its `>` outside quoted values, as the Reader finds it.
#[cfg_attr(feature = "inline-more", inline(always))]
fn tag_end(tag: &[u8]) -> Option<usize> {
    let mut quote = None;
    for at in memchr::memchr3_iter(b'>', b'\'', b'"', tag) {
        match (quote, tag[at]) {
            (None, b'>') => return Some(at),
            (None, q) => quote = Some(q),
            (Some(q), b) if q == b => quote = None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::xml::quick_reader;

    /// How the lexer is read in `same_as_reader`.
    #[derive(Clone, Copy, PartialEq)]
    enum Steps {
        /// `read_event` alone.
        Events,
        /// `leaf` tried after each start tag, as `XmlSource::leaf` does.
        Leaves,
        /// As `XmlSource` reads: `bare_tag` tried before each event, and `leaf` after each start.
        Bare,
    }

    /// Every event the lexer yields, and the position after it, is the Reader's, read in
    /// `steps`: a leaf's text and end tag, and a bare tag, are the Reader's next events. True
    /// when the lexer reads to the end.
    fn same_as_reader(xml: &str, lenient: bool, steps: Steps) -> bool {
        let mut reader = quick_reader(xml, lenient);
        let Some(mut lexer) = PlainLexer::new(xml, lenient) else { return false };
        loop {
            let open = lexer.open.last().copied().unwrap_or_default();
            let bare = if steps == Steps::Bare { lexer.bare_tag() } else { None };
            let plain = match bare {
                Some(Bare::Start(name)) => X::Start(BytesStart::new(name)),
                Some(Bare::End) => X::End(BytesEnd::new(open)),
                None => {
                    let Ok(plain) = lexer.read_event() else { return false };
                    plain
                }
            };
            assert_eq!(reader.read_event().ok().as_ref(), Some(&plain), "in {xml:?}");
            assert_eq!(reader.buffer_position(), lexer.buffer_position(), "after {plain:?} in {xml:?}");
            match plain {
                X::Eof => return true,
                X::Start(_) if steps != Steps::Events => {
                    let Some(text) = lexer.leaf() else { continue };
                    if !text.is_empty() {
                        let text = Some(X::Text(BytesText::from_escaped(text)));
                        assert_eq!(reader.read_event().ok(), text, "in {xml:?}");
                    }
                    assert!(matches!(reader.read_event(), Ok(X::End(_))), "in {xml:?}");
                    assert_eq!(reader.buffer_position(), lexer.buffer_position(), "after {text:?} in {xml:?}");
                }
                _ => {}
            }
        }
    }

    #[test]
    fn plain_lexer_yields_what_the_reader_yields() {
        let plain = [
            "<a/>",
            "<?xml version=\"1.0\"?>\n<a x='>' y=\"'\">t&amp;&#65;u<b  /><c></c ></a>\n",
            "<?xml?><a>é&lt;</a>",
            "<?xml version=\"1.0\"?><!DOCTYPE SyncML PUBLIC \"-//SYNCML//DTD SyncML 1.2//EN\" 'x>'><SyncML/>",
            "<a xmlns=\"SYNCML:SYNCML1.2\"><b>1</b>\r\n<c/></a>",
            "<a>t",
            "",
            "<!----><a><!-- c -- d ---><![CDATA[]]><![CDATA[x]>]]>y</a>",
        ];
        for xml in plain {
            for steps in [Steps::Events, Steps::Leaves, Steps::Bare] {
                assert!(same_as_reader(xml, false, steps) && same_as_reader(xml, true, steps), "{xml:?}");
            }
        }
        let unplain = [
            "\u{FEFF}<a/>",
            "<!-x --><a/>",
            "<!--><a/>",
            "<!---><a/>",
            "<a><!-- c</a>",
            "<a><![CDATA]]></a>",
            "<a><![CDATA[x</a>",
            "<!DOCTYPE a [<!ENTITY e 'x'>]><a/>",
            "<!doctype a><a/>",
            "<!DOCTYPE ><a/>",
            "<?pi?><a/>",
            "<a></b>",
            "</a>",
            "<a x='>",
            "< a/>",
            "<?>",
        ];
        for xml in ["<a>&amp</a>", "<a>x & y&z;&&</a>", "<a>&", "&x&y;&x<a/>"] {
            assert!(!same_as_reader(xml, false, Steps::Events) && same_as_reader(xml, true, Steps::Bare), "{xml:?}");
        }
        for xml in unplain {
            assert!(!same_as_reader(xml, false, Steps::Bare) && !same_as_reader(xml, true, Steps::Leaves), "{xml:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_lexer_yields_what_the_reader_yields_of_any_markup(parts in proptest::collection::vec(0..PARTS.len(), 0..14)) {
            let xml: String = parts.iter().map(|&p| PARTS[p]).collect();
            for steps in [Steps::Events, Steps::Leaves, Steps::Bare] {
                same_as_reader(&xml, false, steps);
                same_as_reader(&xml, true, steps);
            }
        }
    }

    const PARTS: [&str; 42] = [
        "<a>",
        "</a>",
        "<b x='1>'>",
        "</b >",
        "<c/>",
        "<d\t/>",
        "<e y=\"/\"/>",
        "text",
        "&amp;",
        "&#65;",
        "&",
        ";",
        "<!-- c -->",
        "<?xml version='1.0'?>",
        "<?xml?>",
        "<?pi x?>",
        "<![CDATA[z]]>",
        "<!DOCTYPE a>",
        ">",
        "'",
        "\"",
        " ",
        "\r\n",
        "é",
        "<",
        "/>",
        "</",
        "<a",
        "\u{FEFF}",
        "?>",
        "<!DOCTYPE a PUBLIC \"-//x\" 'y>'>",
        "<!DOCTYPE a [<!ENTITY e 'x'>]>",
        "<!DOCTYPE>",
        "<!DOCTYPE\t>",
        "<!doctype a>",
        "[",
        "-->",
        "]]>",
        "<!--",
        "<![CDATA[",
        "-",
        "]",
    ];
}
