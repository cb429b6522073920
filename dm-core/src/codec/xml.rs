//! XML: a streaming reader over the plain lexer (`plain.rs`), or quick-xml's `Reader` for what
//! is not plain, and quick-xml's `NamespaceResolver` (what its `NsReader` does, but with a scope
//! only for an element that has attributes: one without declares nothing); and a writer straight
//! into the output.
//! No DTD is processed: a DOCTYPE is refused, so no entity is ever expanded but the five
//! predefined ones and character references. A DOCTYPE with an internal subset is refused; one
//! that only names the public DTD, as real peers send it, is skipped.

use std::borrow::Cow;

use base64::Engine;
use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event as X};
use quick_xml::name::{Namespace, NamespaceError, NamespaceResolver, PrefixDeclaration, ResolveResult};

use super::decode::Parser;
use super::emit::{Out, Sink};
use super::plain::{Bare, PlainLexer, Unplain};
use super::source::{Event, MORE_THAN_ONE_DOCUMENT, R, Source, Stack, TEXT_BESIDE_A_DOCUMENT};
use super::tag::{NS_METINF, NS_SYNCML11, NS_SYNCML12, Tag};
use super::wellformed::{
    check_attributes, declared_encoding, element_name_fault, has_internal_subset, has_ref_outside_xml, is_doctype,
    is_latin1_name, markup_fault,
};
use crate::Limits;
use crate::error::{DecodeError, DecodeErrorKind as K, Error, Limit, Site};
use crate::model::{Data, Message};

pub(crate) struct XmlSource<'a> {
    input: &'a str,
    reader: Lexer<'a>,
    namespaces: NamespaceResolver,
    peeked: Option<X<'a>>,
    stack: Stack,
    limits: &'a Limits,
    lenient: bool,
    /// No carriage return anywhere in the input: text needs no end-of-line normalization.
    no_cr: bool,
    /// `]]>` somewhere in the input, which text may not hold (only a CDATA section's end);
    /// looked for only when strictly read.
    cdata_end: bool,
    /// A DOCTYPE or the root has been read: a DOCTYPE may come no more.
    past_doctype: bool,
    /// The element last opened (the one `tag` names next) has no attributes but a plain
    /// `xmlns="..."`: they are well-formed without a closer look.
    plain_attributes: bool,
    /// The depths of the open elements that opened a scope of `namespaces`: those with
    /// attributes. An element without declares nothing; its scope is its parent's.
    scopes: Vec<usize>,
    /// What the default namespace in scope is to `tag`, known until a scope opens or closes.
    default_ns: Option<NsKind>,
}

/// A namespace, as an element's name needs it.
#[derive(Clone, Copy, PartialEq)]
enum NsKind {
    SyncMl,
    MetInf,
    Other,
}

impl NsKind {
    fn of(ns: &ResolveResult<'_>) -> NsKind {
        match ns {
            ResolveResult::Bound(Namespace(ns)) if *ns == NS_METINF => NsKind::MetInf,
            ResolveResult::Bound(Namespace(ns)) if *ns == NS_SYNCML12 || *ns == NS_SYNCML11 => NsKind::SyncMl,
            _ => NsKind::Other,
        }
    }
}

/// The message's text: UTF-8 checked, a byte-order mark stripped; a message its declaration
/// says is ISO-8859-1 (as some devices send) read as that, each byte a character.
pub(crate) fn text_of(bytes: &[u8]) -> Result<Cow<'_, str>, Error> {
    if declared_encoding(bytes).is_some_and(is_latin1_name) {
        return Ok(super::from_latin1(bytes));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
        let offset = e.valid_up_to() as u64;
        let (line, column) = line_col(&bytes[..e.valid_up_to()]);
        DecodeError { kind: K::InvalidUtf8, site: Site { path: String::new(), offset, line, column } }.into()
    })
}

pub(crate) fn line_col(before: &[u8]) -> (u32, u32) {
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line as u32, column as u32)
}

/// The events of the text: the plain lexer's, or, where it gives up, quick-xml's Reader's.
enum Lexer<'a> {
    Plain(PlainLexer<'a>),
    Quick(Reader<&'a [u8]>),
}

impl<'a> Lexer<'a> {
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn read_event(&mut self) -> Result<X<'a>, LexError> {
        match self {
            Lexer::Plain(lexer) => lexer.read_event().map_err(|Unplain| LexError::Unplain),
            Lexer::Quick(reader) => reader.read_event().map_err(LexError::Quick),
        }
    }

    fn buffer_position(&self) -> u64 {
        match self {
            Lexer::Plain(lexer) => lexer.buffer_position(),
            Lexer::Quick(reader) => reader.buffer_position(),
        }
    }

    fn error_position(&self) -> u64 {
        match self {
            Lexer::Plain(lexer) => lexer.buffer_position(),
            Lexer::Quick(reader) => reader.error_position(),
        }
    }
}

enum LexError {
    Unplain,
    Quick(quick_xml::Error),
}

/// Decodes the message in `input`: over the plain lexer, and again over quick-xml's Reader when
/// that fails, so that the Reader has the last word on what is not plain and on every fault.
pub(crate) fn decode(input: &str, limits: &Limits, lenient: bool) -> Result<Message, Error> {
    let over = |lexer| decode_over(input, limits, lenient, lexer);
    let plain = PlainLexer::new(input, lenient).map(|lexer| over(Lexer::Plain(lexer)));
    let quick = || over(Lexer::Quick(quick_reader(input, lenient)));
    let message = match plain {
        Some(Ok(m)) => m,
        _ => quick().map_err(|e| *e)?,
    };
    #[cfg(fuzzing)]
    assert_eq!(quick().ok().as_ref(), Some(&message), "the plain lexer and quick-xml's Reader disagree");
    Ok(message)
}

fn decode_over<'a>(input: &'a str, limits: &'a Limits, lenient: bool, lexer: Lexer<'a>) -> R<Message> {
    Parser::new(&mut XmlSource::new(input, limits, lenient, lexer), limits, lenient).message()
}

/// quick-xml's Reader, set up as the decoder reads with it.
pub(crate) fn quick_reader(input: &str, lenient: bool) -> Reader<&[u8]> {
    let mut reader = Reader::from_str(input);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.allow_dangling_amp = lenient;
    reader
}

impl<'a> XmlSource<'a> {
    fn new(input: &'a str, limits: &'a Limits, lenient: bool, reader: Lexer<'a>) -> Self {
        XmlSource {
            input,
            reader,
            namespaces: NamespaceResolver::default(),
            peeked: None,
            stack: Stack::new(limits),
            limits,
            lenient,
            no_cr: memchr::memchr(b'\r', input.as_bytes()).is_none(),
            cdata_end: !lenient
                && memchr::memchr_iter(b']', input.as_bytes()).any(|at| input.as_bytes()[at..].starts_with(b"]]>")),
            past_doctype: false,
            plain_attributes: true,
            scopes: Vec::new(),
            default_ns: None,
        }
    }

    fn site_at(&self, offset: u64) -> Site {
        let offset = offset.min(self.input.len() as u64);
        let (line, column) = line_col(&self.input.as_bytes()[..offset as usize]);
        Site { path: self.stack.path(), offset, line, column }
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn raw(&mut self) -> R<X<'a>> {
        if let Some(e) = self.peeked.take() {
            return Ok(e);
        }
        loop {
            return match self.reader.read_event() {
                // A DOCTYPE naming the public DTD is what peers send; one with an internal subset
                // could declare entities and is refused.
                Ok(X::DocType(d)) if !has_internal_subset(&d) && (self.lenient || !self.past_doctype) => {
                    self.past_doctype = true;
                    if !(self.lenient || self.after_space(&d) && is_doctype(&d)) {
                        return Err(self.error(K::Syntax("a malformed DOCTYPE".into())));
                    }
                    continue;
                }
                Ok(X::DocType(_)) => Err(self.error(K::Doctype)),
                Ok(X::Start(s)) => {
                    self.past_doctype = true;
                    self.open_scope(&s)?;
                    Ok(X::Start(s))
                }
                Ok(e @ X::End(_)) => {
                    self.close_scope();
                    Ok(e)
                }
                Ok(X::Text(t)) if self.cdata_end && t.contains("]]>") => {
                    Err(self.error(K::Syntax("`]]>` in text".into())))
                }
                Ok(e @ (X::Decl(_) | X::PI(_) | X::Comment(_))) if !self.lenient => {
                    self.check_markup(&e)?;
                    Ok(e)
                }
                Ok(e) => Ok(e),
                Err(e) => {
                    let site = self.site_at(self.reader.error_position());
                    let why = match e {
                        LexError::Quick(e) => e.to_string(),
                        LexError::Unplain => "not plain XML".into(),
                    };
                    Err(Box::new(DecodeError { kind: K::Syntax(why), site }.into()))
                }
            };
        }
    }

    /// A declaration, processing instruction or comment as XML 1.0 asks (`markup_fault`).
    #[cold]
    fn check_markup(&self, e: &X<'a>) -> R<()> {
        let decl_at = match e {
            X::Decl(d) => (self.reader.buffer_position() as usize).checked_sub(d.len() + "<??>".len()),
            _ => None,
        };
        markup_fault(e, decl_at).map_or(Ok(()), |why| Err(self.error(K::Syntax(why.into()))))
    }

    /// Whether white space comes right before `part` of the input (the reader drops it before a
    /// DOCTYPE's name); true for a part that is not the input's.
    fn after_space(&self, part: &str) -> bool {
        let at = (part.as_ptr() as usize).wrapping_sub(self.input.as_ptr() as usize);
        self.input.as_bytes().get(..at).is_none_or(|before| before.last().is_some_and(|&b| is_xml_space(b)))
    }

    /// Opens an element's namespace scope with the declarations among its attributes.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn open_scope(&mut self, e: &BytesStart<'a>) -> R<()> {
        let raw = e.attributes_raw();
        if raw.bytes().all(is_xml_space) {
            // An element without attributes declares nothing: it opens no scope of its own.
            self.plain_attributes = true;
            return Ok(());
        }
        let plain = one_plain_xmlns(raw);
        self.plain_attributes = plain.is_some();
        self.scopes.push(self.stack.depth() + 1);
        self.default_ns = None;
        open_with_attributes(&mut self.namespaces, e, plain).map_err(|e| self.namespace_error(e))
    }

    /// Closes the innermost open element's scope, if it opened one (before it leaves `stack`).
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn close_scope(&mut self) {
        if self.scopes.last() == Some(&self.stack.depth()) {
            self.scopes.pop();
            self.namespaces.pop();
            self.default_ns = None;
        }
    }

    /// Closes the innermost open element read in one step: its scope, then its place on `stack`.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn close_element(&mut self) {
        self.close_scope();
        self.stack.pop();
    }

    /// A leaf's text and end tag read by the plain lexer in one step, the element closed: what
    /// `raw` would yield as `Text` and `End`, with nothing to normalize or refuse.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn plain_leaf(&mut self) -> Option<&'a str> {
        let Lexer::Plain(lexer) = &mut self.reader else { return None };
        let text = (self.peeked.is_none() && self.no_cr && !self.cdata_end).then(|| lexer.leaf())??;
        self.close_element();
        Some(text)
    }

    /// Data's text, which strictly read holds only text XML can carry.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn data_text(&self, text: String) -> R<Data> {
        if !self.lenient && !is_xml_text(&text) {
            return Err(self.error(K::NotXmlText));
        }
        Ok(Data::Text(text))
    }

    #[cold]
    fn namespace_error(&self, e: NamespaceError) -> Box<Error> {
        self.error(K::Syntax(quick_xml::Error::from(e).to_string()))
    }

    fn push_foreign(&mut self) -> R<()> {
        if self.stack.push_foreign() { Ok(()) } else { Err(self.stack.too_deep(self.site())) }
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn tag(&mut self, e: &BytesStart<'a>) -> R<Tag> {
        // No element name has a colon: a name found as it stands has no prefix, and takes the
        // default namespace without being searched for one.
        let (ns, tag) = match Tag::from_name(e.name().as_ref()) {
            Some(tag) => (self.default_ns(), Some(tag)),
            None => {
                let (ns, local) = self.namespaces.resolve_element(e.name());
                (NsKind::of(&ns), Tag::from_name(local.as_ref()))
            }
        };
        let Some(tag) = tag else {
            return Err(self.error(K::UnknownElement(e.local_name().as_ref().to_string())));
        };
        if !self.lenient {
            let own = if tag.is_metinf() { NsKind::MetInf } else { NsKind::SyncMl };
            if ns != own {
                return Err(self.namespace_refused(e, tag));
            }
            if !self.plain_attributes {
                check_attributes(&self.namespaces, e).map_err(|why| self.error(K::Syntax(why)))?;
            }
        }
        if !self.stack.push(tag) {
            return Err(self.stack.too_deep(self.site()));
        }
        Ok(tag)
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn default_ns(&mut self) -> NsKind {
        match self.default_ns {
            Some(kind) => kind,
            None => self.resolve_default_ns(),
        }
    }

    /// The default namespace's kind looked up in the bindings in force, and kept.
    #[inline(never)]
    fn resolve_default_ns(&mut self) -> NsKind {
        *self.default_ns.insert(NsKind::of(&self.namespaces.resolve_prefix(None, true)))
    }

    /// The error for an element `e` (`tag`) in a namespace other than its own.
    #[cold]
    fn namespace_refused(&self, e: &BytesStart<'_>, tag: Tag) -> Box<Error> {
        let found = match self.namespaces.resolve_element(e.name()).0 {
            ResolveResult::Bound(Namespace(ns)) => ns.to_string(),
            ResolveResult::Unbound => String::new(),
            ResolveResult::Unknown(p) => format!("{p}:"),
        };
        let expected = if tag.is_metinf() { NS_METINF } else { NS_SYNCML12 };
        self.error(K::Namespace { element: tag.name(), expected, found })
    }

    fn entity(&self, r: &BytesRef<'_>) -> R<Cow<'static, str>> {
        match reference(r) {
            Some(text) => Ok(text),
            None if self.lenient && !r.is_char_ref() => Ok(Cow::Owned(format!("&{};", &**r))),
            None => Err(self.error(K::UnknownEntity(r.to_string()))),
        }
    }

    /// The text of one text-like event, or `None` for any other event.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn piece(&self, e: &X<'a>) -> R<Option<Cow<'a, str>>> {
        Ok(match e {
            X::Text(t) if self.no_cr => Some(t.clone().into_inner()),
            X::Text(t) => Some(t.xml10_content()),
            X::CData(c) => Some(c.xml10_content()),
            X::GeneralRef(r) => Some(self.entity(r)?),
            _ => None,
        })
    }

    /// Joins adjacent text pieces, the first already read.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn text_run(&mut self, first: Cow<'a, str>) -> R<Cow<'a, str>> {
        let mut text = first;
        loop {
            let e = self.raw()?;
            match self.piece(&e)? {
                Some(more) => text.to_mut().push_str(&more),
                None if matches!(e, X::Comment(_) | X::PI(_)) => {}
                None => {
                    self.peeked = Some(e);
                    break;
                }
            }
            if text.len() > self.limits.max_text_len {
                return Err(self.limit(Limit::TextLength, text.len(), self.limits.max_text_len));
            }
        }
        Ok(text)
    }

    /// A leaf read through `raw`: whatever the plain lexer does not read in one step.
    #[inline(never)]
    fn leaf_of_events(&mut self) -> R<(Cow<'a, str>, bool)> {
        let e = self.raw()?;
        let text = match self.piece(&e)? {
            Some(first) => self.text_run(first)?,
            None if matches!(e, X::End(_)) => {
                self.stack.pop();
                return Ok((Cow::Borrowed(""), true));
            }
            None => {
                self.peeked = Some(e);
                return Ok((Cow::Borrowed(""), false));
            }
        };
        if !matches!(self.peeked, Some(X::End(_))) {
            return Ok((text, false));
        }
        self.peeked = None;
        self.stack.pop();
        Ok((text, true))
    }

    /// The next event read through `raw`: whatever is not a bare tag.
    #[inline(never)]
    fn next_of_events(&mut self) -> R<Event<'a>> {
        loop {
            let e = self.raw()?;
            match e {
                X::Start(s) => return Ok(Event::Start(self.tag(&s)?)),
                X::End(_) => {
                    self.stack.pop();
                    return Ok(Event::End);
                }
                X::Eof => return Ok(Event::Eof),
                _ => {
                    if let Some(t) = self.piece(&e)? {
                        return Ok(Event::Text(self.text_run(t)?));
                    }
                }
            }
        }
    }
}

impl<'a> Source<'a> for XmlSource<'a> {
    fn next(&mut self) -> R<Event<'a>> {
        if let (Lexer::Plain(lexer), None) = (&mut self.reader, &self.peeked)
            && let Some(bare) = lexer.bare_tag()
        {
            // What `next_of_events` does with the same tag as `Start` or `End`.
            return match bare {
                Bare::Start(name) => {
                    self.past_doctype = true;
                    self.plain_attributes = true;
                    Ok(Event::Start(self.tag(&BytesStart::from_content(name, name.len()))?))
                }
                Bare::End => {
                    self.close_element();
                    Ok(Event::End)
                }
            };
        }
        self.next_of_events()
    }

    fn leaf(&mut self) -> R<(Cow<'a, str>, bool)> {
        match self.plain_leaf() {
            Some(text) => Ok((Cow::Borrowed(text), true)),
            None => self.leaf_of_events(),
        }
    }

    fn data(&mut self) -> R<Data> {
        if let Some(text) = self.plain_leaf() {
            // What the loop below makes of one text piece and the end tag.
            if text.len() > self.limits.max_text_len {
                return Err(self.limit(Limit::TextLength, text.len(), self.limits.max_text_len));
            }
            return self.data_text(text.to_owned());
        }
        let start = self.reader.buffer_position() as usize;
        let mut text = String::new();
        let (mut depth, mut documents) = (0usize, 0usize);
        loop {
            let e = self.raw()?;
            if let Some(t) = self.piece(&e)? {
                if depth == 0 {
                    text.push_str(&t);
                    if text.len() > self.limits.max_text_len {
                        return Err(self.limit(Limit::TextLength, text.len(), self.limits.max_text_len));
                    }
                } else if !is_xml_text(&t) {
                    return Err(self.error(K::NotXmlText));
                }
                continue;
            }
            match e {
                X::Start(s) => {
                    documents += usize::from(depth == 0);
                    depth += 1;
                    self.push_foreign()?;
                    self.embedded_start(&s)?;
                }
                X::End(_) if depth > 0 => {
                    depth -= 1;
                    self.stack.pop();
                }
                X::End(_) => break,
                X::Eof => return Err(self.error(K::Truncated)),
                _ => {}
            }
        }
        let refused = if documents > 1 {
            Some(MORE_THAN_ONE_DOCUMENT)
        } else if documents == 1 && !text.bytes().all(is_xml_space) {
            Some(TEXT_BESIDE_A_DOCUMENT)
        } else {
            None
        };
        if let Some(why) = refused.filter(|_| !self.lenient) {
            return Err(self.error(K::EmbeddedXml(why)));
        }
        let end = self.reader.buffer_position() as usize;
        self.stack.pop();
        let inner = &self.input[start..end];
        // The end tag, `</Data>`, holds no other `<`.
        let inner = &inner[..memchr::memrchr(b'<', inner.as_bytes()).unwrap_or(0)];
        if documents > 0 {
            let xml = trim_xml_space(inner);
            if !is_xml_text(xml) || !is_xml_text(&text) {
                return Err(self.error(K::NotXmlText));
            }
            if xml.len() > self.limits.max_text_len {
                return Err(self.limit(Limit::TextLength, xml.len(), self.limits.max_text_len));
            }
            // Leniently read, a document may hold a bare `&` or an unknown entity: kept as
            // text (`&amp;`), so that it is well-formed wherever it is written again.
            let xml = if self.lenient { stray_amps_escaped(xml) } else { Cow::Borrowed(xml) };
            return Ok(Data::Xml(xml.into_owned()));
        }
        self.data_text(text)
    }

    fn site(&self) -> Site {
        self.site_at(self.reader.buffer_position())
    }
}

impl XmlSource<'_> {
    /// An embedded element's start: attribute values that name no character XML cannot carry,
    /// and, strictly read, its name and attributes well-formed (`wellformed`).
    fn embedded_start(&self, e: &BytesStart<'_>) -> R<()> {
        if !self.lenient {
            element_name_fault(&self.namespaces, e).map_or(Ok(()), |why| Err(self.error(K::Syntax(why))))?;
        }
        let raw = e.attributes_raw();
        if raw.bytes().all(is_xml_space) {
            return Ok(());
        }
        if has_ref_outside_xml(raw) {
            return Err(self.error(K::NotXmlText));
        }
        if self.lenient {
            return Ok(());
        }
        check_attributes(&self.namespaces, e).map_err(|why| self.error(K::Syntax(why)))
    }
}

fn open_level(ns: &mut NamespaceResolver) -> Result<(), NamespaceError> {
    let level = ns.level().checked_add(1).ok_or(NamespaceError::TooDeeplyNested(u16::MAX as usize))?;
    ns.set_level(level);
    Ok(())
}

/// A scope with the declarations among an element's attributes: a lone plain ` xmlns="..."`
/// (`plain`), the common case, is bound without parsing the attributes again.
#[inline(never)]
fn open_with_attributes(
    ns: &mut NamespaceResolver,
    e: &BytesStart<'_>,
    plain: Option<&str>,
) -> Result<(), NamespaceError> {
    match plain {
        Some(value) => {
            open_level(ns)?;
            ns.add(PrefixDeclaration::Default, Namespace(value))
        }
        None => ns.push(e),
    }
}

/// The value of ` xmlns="value"` when that is all the attributes and the value is plain
/// characters: the attributes of almost every element that has any, well-formed without a
/// closer look.
fn one_plain_xmlns(raw: &str) -> Option<&str> {
    let lead = raw.bytes().take_while(|&b| is_xml_space(b)).count();
    let value = raw[lead..].strip_prefix("xmlns=\"")?.strip_suffix('"')?;
    (lead > 0 && !value.bytes().any(|b| matches!(b, b'"' | b'<' | b'&'))).then_some(value)
}

/// A character reference or one of XML's five entities, resolved; `None` for any other.
pub(crate) fn reference(r: &BytesRef<'_>) -> Option<Cow<'static, str>> {
    if r.is_char_ref() {
        return r.resolve_char_ref().ok().flatten().map(|c| Cow::Owned(c.to_string()));
    }
    quick_xml::escape::resolve_predefined_entity(r).map(Cow::Borrowed)
}

/// XML's white space (`S`): space, tab, carriage return, line feed (not a form feed, which XML
/// cannot carry).
pub(crate) fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `s` without XML's white space at either end.
pub(crate) fn trim_xml_space(s: &str) -> &str {
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|&b| !is_xml_space(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&b| !is_xml_space(b)).map_or(start, |last| last + 1);
    // Only ASCII is cut off: both ends are character boundaries.
    &s[start..end]
}

/// `xml` with each `&` that does not start a predefined entity or a character reference
/// written `&amp;`.
fn stray_amps_escaped(xml: &str) -> Cow<'_, str> {
    let reference = |rest: &str| {
        let Some(end) = rest.find(';') else { return false };
        let name = &rest[1..end];
        quick_xml::escape::resolve_predefined_entity(name).is_some()
            || name.strip_prefix("#x").is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
            || name.strip_prefix('#').is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    };
    if xml.match_indices('&').all(|(i, _)| reference(&xml[i..])) {
        return Cow::Borrowed(xml);
    }
    let mut out = String::with_capacity(xml.len() + 16);
    let mut last = 0;
    for (i, _) in xml.match_indices('&') {
        if !reference(&xml[i..]) {
            out.push_str(&xml[last..i]);
            out.push_str("&amp;");
            last = i + 1;
        }
    }
    out.push_str(&xml[last..]);
    Cow::Owned(out)
}

/// Whether XML 1.0 can carry `text` as character data: no control character but tab, line feed
/// and carriage return, and neither U+FFFE nor U+FFFF (not even as references). `encode`
/// writes any text as it is; the sessions never send text that fails this.
pub fn is_xml_text(text: &str) -> bool {
    is_xml_bytes(text.as_bytes())
}

/// `is_xml_text` of UTF-8 bytes.
pub(crate) fn is_xml_bytes(bytes: &[u8]) -> bool {
    if !has_control_or_ef(bytes) {
        return true;
    }
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
    let nonchar = |i: usize| bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF));
    bytes.iter().enumerate().all(|(i, &b)| match b {
        0xEF => !nonchar(i),
        _ => b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r'),
    })
}

/// A one in each byte of a word: the "hasless" bit tricks scale it.
pub(crate) const ONES: u64 = u64::MAX / 255;

/// Eight bytes as one word, the first the lowest.
#[inline]
pub(crate) fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().unwrap_or_default())
}

/// The high bit of each byte of `x` below `n` (n ≤ 128), exact up to the first such byte: the
/// bit trick "hasless". Nonzero when any byte is below `n`.
#[inline]
pub(crate) fn bytes_below(x: u64, n: u64) -> u64 {
    x.wrapping_sub(ONES * n) & !x & (ONES * 0x80)
}

/// Whether any byte is below space or is EF (the lead byte of U+FFFE and U+FFFF), which almost
/// no text holds: eight bytes at a time.
fn has_control_or_ef(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let found = words.by_ref().any(|w| bytes_below(word(w), 0x20) | bytes_below(word(w) ^ (ONES * 0xEF), 1) != 0);
    found || words.remainder().iter().any(|&b| b < 0x20 || b == 0xEF)
}

/// `is_xml_text` of a long text (a whole document), quick when it is printable ASCII: each
/// byte below space or above 127 found 32 bytes to a branch ("hasless" of 0x20, or'd with the
/// high bits), and only then the text looked at closely.
pub(crate) fn is_long_xml_text(text: &str) -> bool {
    let outside = |w: &[u8]| (word(w).wrapping_sub(ONES * 0x20) | word(w)) & (ONES * 0x80);
    let mut blocks = text.as_bytes().chunks_exact(32);
    let printable = !blocks.by_ref().any(|b| b.chunks_exact(8).fold(0, |found, w| found | outside(w)) != 0)
        && blocks.remainder().iter().all(|&b| (0x20..0x80).contains(&b));
    printable || is_xml_text(text)
}

/// The bytes `XmlSink` escapes in character data (`escape_of`), marked.
const ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = escape_of(b as u8).is_some();
        b += 1;
    }
    t
};

/// How `XmlSink` escapes byte `b` in character data, if it does.
const fn escape_of(b: u8) -> Option<&'static [u8]> {
    match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#13;"),
        _ => None,
    }
}

/// Whether short text holds a byte `XmlSink` escapes: eight bytes at a time.
#[cfg_attr(feature = "inline-more", inline(always))]
fn has_escaped(bytes: &[u8]) -> bool {
    let escaped_in = |w: u64| {
        [b'&', b'<', b'>', b'\r'].iter().fold(0, |found, &c| found | bytes_below(w ^ (ONES * u64::from(c)), 1))
    };
    let mut words = bytes.chunks_exact(8);
    words.by_ref().any(|w| escaped_in(word(w)) != 0) || words.remainder().iter().any(|&b| ESCAPED[usize::from(b)])
}

/// True when no byte of `block` is escaped: checked without a branch per byte.
fn plain_block(block: &[u8]) -> bool {
    !block.iter().fold(false, |any, &b| any | escape_of(b).is_some())
}

/// How many bytes of `text` fit in `room` bytes once escaped as `XmlSink` writes character
/// data, a block of 64 bytes at a time.
pub(crate) fn escaped_prefix(text: &[u8], room: usize) -> usize {
    let mut used = 0;
    for (n, block) in text.chunks(64).enumerate() {
        if used + block.len() <= room && plain_block(block) {
            used += block.len();
            continue;
        }
        for (j, &b) in block.iter().enumerate() {
            used += escape_of(b).map_or(1, <[u8]>::len);
            if used > room {
                return n * 64 + j;
            }
        }
    }
    text.len()
}

/// Writes XML: compact (no whitespace between elements) or pretty (two-space indent).
pub(crate) struct XmlSink<O> {
    pub(crate) out: O,
    namespace: &'static str,
    pretty: bool,
    depth: usize,
    metinf_depth: usize,
}

impl<O: Out> XmlSink<O> {
    pub(crate) fn new(out: O, namespace: &'static str, pretty: bool) -> Self {
        XmlSink { out, namespace, pretty, depth: 0, metinf_depth: 0 }
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn indent(&mut self) {
        if self.pretty {
            self.new_line();
        }
    }

    /// Pretty output is for people: kept out of the compact writer's way.
    #[inline(never)]
    fn new_line(&mut self) {
        if self.depth > 0 {
            self.out.put(b"\n");
            for _ in 0..self.depth {
                self.out.put(b"  ");
            }
        }
    }

    fn open(&mut self, tag: Tag) {
        self.out.put(b"<");
        self.out.put(tag.name().as_bytes());
        if tag == Tag::SyncML {
            self.attr_ns(self.namespace);
        } else if tag.is_metinf() && self.metinf_depth == 0 {
            self.attr_ns(NS_METINF);
        }
    }

    fn attr_ns(&mut self, ns: &str) {
        self.out.put(b" xmlns=\"");
        self.out.put(ns.as_bytes());
        self.out.put(b"\"");
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn close(&mut self, tag: Tag) {
        self.out.put_padded(tag.end_tag());
    }

    /// `<Name>`, with the namespace where `open` would write it.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn open_start(&mut self, tag: Tag) {
        if tag.is_metinf() && self.metinf_depth == 0 {
            self.out.put_padded(tag.metinf_start_tag());
        } else if tag == Tag::SyncML {
            self.open(tag);
            self.out.put(b">");
        } else {
            self.out.put_padded(tag.start_tag());
        }
    }

    /// Character data inside the element last started. Bytes other than the escaped ones are
    /// copied as they are: UTF-8 is the caller's to check.
    pub(crate) fn text(&mut self, text: &[u8]) {
        self.escaped(text);
    }

    /// Text with `& < >` and CR escaped, a block of 64 bytes at a time: most blocks need none
    /// and are checked without a branch per byte.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn escaped(&mut self, bytes: &[u8]) {
        // Short text (most leaves) is checked a word at a time, in line.
        if bytes.len() < 64 && !has_escaped(bytes) {
            self.out.put(bytes);
        } else {
            self.escaped_blocks(bytes);
        }
    }

    fn escaped_blocks(&mut self, bytes: &[u8]) {
        let mut last = 0;
        for (n, block) in bytes.chunks(64).enumerate() {
            if plain_block(block) {
                continue;
            }
            for (j, &b) in block.iter().enumerate() {
                let Some(rep) = escape_of(b) else { continue };
                let i = n * 64 + j;
                self.out.put(&bytes[last..i]);
                self.out.put(rep);
                last = i + 1;
            }
        }
        self.out.put(&bytes[last..]);
    }
}

impl<'m, O: Out> Sink<'m> for XmlSink<O> {
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn start(&mut self, tag: Tag) {
        self.indent();
        self.open_start(tag);
        self.depth += 1;
        if tag.is_metinf() {
            self.metinf_depth += 1;
        }
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn end(&mut self, tag: Tag) {
        self.depth -= 1;
        if tag.is_metinf() {
            self.metinf_depth -= 1;
        }
        self.indent();
        self.close(tag);
    }

    fn empty(&mut self, tag: Tag) {
        self.indent();
        self.open(tag);
        self.out.put(b"/>");
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn leaf(&mut self, tag: Tag, text: &str) {
        self.indent();
        self.open_start(tag);
        self.escaped(text.as_bytes());
        self.close(tag);
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn number(&mut self, tag: Tag, n: u64) {
        self.indent();
        self.open_start(tag);
        self.out.put(super::emit::digits(&mut [0; 20], n));
        self.close(tag);
    }

    fn data(&mut self, data: &Data) {
        self.indent();
        self.out.put(b"<Data>");
        match data {
            Data::Text(t) => self.escaped(t.as_bytes()),
            Data::Xml(x) => self.out.put(x.as_bytes()),
            Data::Binary(b) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(b);
                self.out.put(b64.as_bytes());
            }
        }
        self.close(Tag::Data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written_len(text: &[u8]) -> usize {
        let mut sink = XmlSink::new(Vec::new(), "", false);
        sink.text(text);
        sink.out.len()
    }

    /// Text is escaped byte for byte as `escape_of` says, whatever its length (in line a word
    /// at a time, or in blocks) and wherever the byte to escape stands.
    #[test]
    fn text_is_escaped_the_same_at_any_length_and_place() {
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 127, 128, 150] {
            for c in [b'&', b'<', b'>', b'\r', b'"', 0x26 ^ 0x80, 0x3C + 1] {
                for at in 0..len {
                    let mut text = vec![b'a'; len];
                    text[at] = c;
                    let mut sink = XmlSink::new(Vec::new(), "", false);
                    sink.text(&text);
                    let expected: Vec<u8> =
                        text.iter().flat_map(|&b| escape_of(b).map_or(vec![b], <[u8]>::to_vec)).collect();
                    assert_eq!(sink.out, expected, "{len} {c} {at}");
                }
            }
        }
    }

    #[test]
    fn only_a_single_well_formed_xmlns_skips_the_attribute_check() {
        assert_eq!(one_plain_xmlns(r#" xmlns="syncml:metinf""#), Some("syncml:metinf"));
        assert_eq!(one_plain_xmlns("\r\n\t xmlns=\"syncml:metinf\""), Some("syncml:metinf"));
        assert_eq!(one_plain_xmlns(r#" xmlns="""#), Some(""));
        for raw in [
            r#"xmlns="a""#,
            r#" xmlns="a" "#,
            r#" xmlns="a" xmlns="b""#,
            r#" xmlns='a'"#,
            r#" xmlns="a&b""#,
            r#" xmlns="a<""#,
            r#" xmlns="a"#,
            " \u{a0}xmlns=\"a\"",
            "\u{a0}xmlns=\"a\"",
            "\x0Cxmlns=\"a\"",
        ] {
            assert_eq!(one_plain_xmlns(raw), None, "{raw}");
        }
    }

    #[test]
    fn escaped_prefix_is_the_longest_prefix_whose_escaped_text_fits() {
        for at in [0, 1, 62, 63, 64, 65, 127, 128, 150] {
            let mut text = vec![b'a'; 160];
            text[at] = b'&';
            text[(at + 70) % 160] = b'\r';
            for room in 0..text.len() + 12 {
                let fit = escaped_prefix(&text, room);
                assert!(written_len(&text[..fit]) <= room, "at {at} room {room}");
                if fit < text.len() {
                    assert!(written_len(&text[..fit + 1]) > room, "at {at} room {room}: {fit} is not the longest");
                }
            }
        }
    }

    /// Every XML vector of ../shared/vectors that decodes, strictly or leniently, decodes over
    /// the plain lexer to the same message as over the Reader: none is left to the Reader.
    #[test]
    fn vectors_decode_the_same_over_the_plain_lexer_as_over_the_reader() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
        let mut decoded = 0;
        for sub in std::fs::read_dir(&dir).expect("../shared/vectors is missing").flatten() {
            for file in std::fs::read_dir(sub.path()).into_iter().flatten().flatten() {
                if file.path().extension().is_none_or(|e| e != "xml") {
                    continue;
                }
                let bytes = std::fs::read(file.path()).unwrap();
                let Ok(text) = text_of(&bytes) else { continue };
                for lenient in [false, true] {
                    let limits = Limits::default();
                    let over = |lexer| decode_over(&text, &limits, lenient, lexer).ok();
                    let plain = PlainLexer::new(&text, lenient).and_then(|lexer| over(Lexer::Plain(lexer)));
                    let quick = over(Lexer::Quick(quick_reader(&text, lenient)));
                    assert_eq!(plain, quick, "{} (lenient: {lenient})", file.path().display());
                    decoded += usize::from(quick.is_some());
                }
            }
        }
        assert!(decoded >= 59, "{decoded} decodings of the vectors");
    }

    /// Each start tag's namespace as quick-xml's `NsReader` resolves it, up to the first error.
    fn namespaces_by_nsreader(xml: &str) -> Vec<String> {
        let mut reader = quick_xml::NsReader::from_str(xml);
        reader.config_mut().expand_empty_elements = true;
        let mut seen = Vec::new();
        loop {
            match reader.read_resolved_event() {
                Ok((ns, X::Start(e))) => seen.push(format!("{ns:?} {:?}", e.local_name())),
                Ok((_, X::Eof)) => return seen,
                Ok(_) => {}
                Err(_) => return [seen, vec!["error".into()]].concat(),
            }
        }
    }

    /// The same through our reader, over the plain lexer or quick-xml's Reader, each element
    /// on the stack while it is open, as the decoder keeps it.
    fn namespaces_by_source(xml: &str, plain: bool) -> Vec<String> {
        let limits = Limits::default();
        let lexer = match plain {
            true => Lexer::Plain(PlainLexer::new(xml, true).unwrap()),
            false => Lexer::Quick(quick_reader(xml, true)),
        };
        let mut src = XmlSource::new(xml, &limits, true, lexer);
        let mut seen = Vec::new();
        loop {
            match src.raw() {
                Ok(X::Start(e)) => {
                    let (ns, local) = src.namespaces.resolve_element(e.name());
                    seen.push(format!("{ns:?} {local:?}"));
                    src.push_foreign().unwrap();
                }
                Ok(X::End(_)) => _ = src.stack.pop(),
                Ok(X::Eof) => return seen,
                Ok(_) => {}
                Err(_) => return [seen, vec!["error".into()]].concat(),
            }
        }
    }

    fn element() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        const NAMES: [&str; 5] = ["a", "p:a", "q:b", "xml:c", "xmlns:d"];
        const ATTRS: [&str; 13] = [
            "",
            " xmlns='u1'",
            " xmlns:p='u2'",
            " xmlns=''",
            " xmlns:q='u3' xmlns:p='u4'",
            " xmlns:xml='x'",
            " xmlns:xml='http://www.w3.org/XML/1998/namespace'",
            " xmlns:xmlns='y'",
            " a='1' xmlns:p=\"u&amp;5\"",
            "\txmlns='u5' ",
            " xmlns:p=''",
            " xmlns=\"u6\"",
            "\n xmlns=\"\"",
        ];
        let leaf = (0..NAMES.len(), 0..ATTRS.len()).prop_map(|(n, a)| format!("<{}{}/>", NAMES[n], ATTRS[a]));
        leaf.prop_recursive(4, 24, 4, |inner| {
            (0..NAMES.len(), 0..ATTRS.len(), proptest::collection::vec(inner, 0..4))
                .prop_map(|(n, a, kids)| format!("<{}{}>{}</{}>", NAMES[n], ATTRS[a], kids.concat(), NAMES[n]))
        })
    }

    proptest::proptest! {
        #[test]
        fn namespaces_resolve_as_quick_xmls_nsreader_resolves_them(xml in element()) {
            proptest::prop_assert_eq!(namespaces_by_source(&xml, true), namespaces_by_nsreader(&xml));
            proptest::prop_assert_eq!(namespaces_by_source(&xml, false), namespaces_by_nsreader(&xml));
        }
    }
}
