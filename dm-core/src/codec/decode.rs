//! Events → model. One parser serves both encodings. Children may come in any order (real peers
//! reorder them, see the spec's own examples); each may appear once unless the DTD repeats it.

use std::borrow::Cow;

use super::source::{Event, R, Source};
use super::tag::Tag;
use super::xml::{is_xml_space, trim_xml_space};
use crate::Limits;
use crate::error::{DecodeErrorKind as K, Error, Limit};
use crate::model::*;

/// Holds its reader as a trait object: one copy of the parser serves both encodings.
pub(crate) struct Parser<'l, 'a> {
    src: &'l mut dyn Source<'a>,
    limits: &'l Limits,
    lenient: bool,
    commands: usize,
    groups: usize,
}

/// Puts an element's value, read whole first, into `slot`; a second such element is refused.
fn set<T>(slot: &mut Option<T>, value: T, tag: Tag, src: &impl Src) -> R<()> {
    if slot.is_some() {
        return Err(src.err(K::DuplicateElement(tag.name())));
    }
    *slot = Some(value);
    Ok(())
}

fn req<T>(slot: Option<T>, tag: Tag, src: &impl Src) -> R<T> {
    slot.ok_or_else(|| src.err(K::MissingElement(tag.name())))
}

/// The part of `Parser` the field helpers need (keeps their borrows apart from the fields).
trait Src {
    fn err(&self, kind: K) -> Box<Error>;
}

impl Src for Parser<'_, '_> {
    fn err(&self, kind: K) -> Box<Error> {
        self.src.error(kind)
    }
}

impl<'a, 'l> Parser<'l, 'a> {
    pub(crate) fn new(src: &'l mut dyn Source<'a>, limits: &'l Limits, lenient: bool) -> Self {
        Parser { src, limits, lenient, commands: 0, groups: 0 }
    }

    pub(crate) fn message(mut self) -> R<Message> {
        match self.next_element()? {
            Some(Tag::SyncML) => {}
            Some(t) => return Err(self.err(K::UnexpectedElement(t.name()))),
            None => return Err(self.err(K::MissingElement("SyncML"))),
        }
        let (mut header, mut body) = (None, None);
        self.children(|p, tag| match tag {
            Tag::SyncHdr => set(&mut header, p.header()?, tag, p),
            Tag::SyncBody => set(&mut body, p.body()?, tag, p),
            _ => Err(p.unexpected(tag)),
        })?;
        let header = req(header, Tag::SyncHdr, &self)?;
        let (commands, is_final) = req(body, Tag::SyncBody, &self)?;
        match self.next_element()? {
            None => Ok(Message { header, commands, is_final }),
            Some(t) => Err(self.err(K::UnexpectedElement(t.name()))),
        }
    }

    fn unexpected(&self, tag: Tag) -> Box<Error> {
        self.err(K::UnexpectedElement(tag.name()))
    }

    /// The next start tag at this level, skipping whitespace; `None` at the end of the document.
    fn next_element(&mut self) -> R<Option<Tag>> {
        loop {
            match self.src.next()? {
                Event::Start(t) => return Ok(Some(t)),
                Event::Eof => return Ok(None),
                Event::Text(t) if self.lenient || is_blank(&t) => {}
                Event::Text(_) => return Err(self.err(K::UnexpectedText)),
                Event::End => return Err(self.err(K::Syntax("unexpected end tag".into()))),
            }
        }
    }

    /// Calls `f` for each child element until the parent's end tag.
    fn children(&mut self, mut f: impl FnMut(&mut Self, Tag) -> R<()>) -> R<()> {
        loop {
            match self.src.next()? {
                Event::Start(t) => f(self, t)?,
                Event::End => return Ok(()),
                Event::Text(t) if self.lenient || is_blank(&t) => {}
                Event::Text(_) => return Err(self.err(K::UnexpectedText)),
                Event::Eof => return Err(self.err(K::Truncated)),
            }
        }
    }

    /// The text of a leaf element, trimmed; borrowed from the input when it is one piece.
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn text_ref(&mut self) -> R<Cow<'a, str>> {
        let out = match self.src.leaf()? {
            (text, true) => text,
            (text, false) => self.text_pieces(text)?,
        };
        let trimmed = match out {
            Cow::Borrowed(s) => Cow::Borrowed(trim_xml_space(s)),
            Cow::Owned(s) if trim_xml_space(&s).len() == s.len() => Cow::Owned(s),
            Cow::Owned(s) => Cow::Owned(trim_xml_space(&s).to_string()),
        };
        if trimmed.len() > self.limits.max_text_len {
            return Err(self.src.limit(Limit::TextLength, trimmed.len(), self.limits.max_text_len));
        }
        Ok(trimmed)
    }

    /// A leaf's text pieces up to its closing tag, joined after `out`.
    fn text_pieces(&mut self, mut out: Cow<'a, str>) -> R<Cow<'a, str>> {
        loop {
            match self.src.next()? {
                Event::Text(t) if out.is_empty() => out = t,
                Event::Text(t) => out.to_mut().push_str(&t),
                Event::End => return Ok(out),
                Event::Start(t) => return Err(self.unexpected(t)),
                Event::Eof => return Err(self.err(K::Truncated)),
            }
        }
    }

    /// A leaf's text as the model keeps it: only text XML can carry, however leniently read
    /// (numbers and flags, read apart, need no such check), so that no peer's URI, session id or
    /// name comes back in a message of ours as text that makes every peer refuse it.
    fn text(&mut self) -> R<String> {
        let text = self.text_ref()?;
        self.xml_text(&text)?;
        Ok(text.into_owned())
    }

    /// A leaf's text as one of the common values `name` maps it to, or as itself (checked as
    /// `text` checks it).
    #[cfg_attr(feature = "inline-more", inline(always))]
    fn named_text(&mut self, name: fn(&str) -> Cow<'static, str>) -> R<Cow<'static, str>> {
        let v = name(&self.text_ref()?);
        if let Cow::Owned(text) = &v {
            self.xml_text(text)?;
        }
        Ok(v)
    }

    #[inline]
    fn xml_text(&self, text: &str) -> R<()> {
        if super::is_xml_text(text) { Ok(()) } else { Err(self.err(K::NotXmlText)) }
    }

    fn uri(&mut self) -> R<String> {
        let s = self.text()?;
        if s.len() > self.limits.max_uri_len {
            return Err(self.src.limit(Limit::UriLength, s.len(), self.limits.max_uri_len));
        }
        Ok(s)
    }

    #[cfg_attr(feature = "inline-more", inline(always))]
    fn number<T: std::str::FromStr>(&mut self, tag: Tag) -> R<T> {
        let s = self.text_ref()?;
        s.parse().map_err(|_| self.err(K::InvalidValue { element: tag.name(), value: s.into_owned() }))
    }

    /// An element that must be empty (`Final`, `MoreData`, `NoResp`, ...).
    fn flag(&mut self, tag: Tag) -> R<bool> {
        let s = self.text_ref()?;
        if !s.is_empty() && !self.lenient {
            return Err(self.err(K::InvalidValue { element: tag.name(), value: s.into_owned() }));
        }
        Ok(true)
    }

    fn set_flag(&mut self, slot: &mut bool, tag: Tag) -> R<()> {
        if *slot {
            return Err(self.err(K::DuplicateElement(tag.name())));
        }
        *slot = self.flag(tag)?;
        Ok(())
    }

    fn header(&mut self) -> R<Header> {
        let (mut ver_dtd, mut ver_proto, mut session_id, mut msg_id) = (None, None, None, None);
        let (mut target, mut source, mut resp_uri, mut cred, mut meta) = (None, None, None, None, None);
        let mut no_resp = false;
        self.children(|p, tag| match tag {
            Tag::VerDTD => set(&mut ver_dtd, p.text()?, tag, p),
            Tag::VerProto => set(&mut ver_proto, p.text()?, tag, p),
            Tag::SessionID => set(&mut session_id, p.text()?, tag, p),
            Tag::MsgID => set(&mut msg_id, p.number(tag)?, tag, p),
            Tag::Target => set(&mut target, p.location()?, tag, p),
            Tag::Source => set(&mut source, p.location()?, tag, p),
            Tag::RespURI => set(&mut resp_uri, p.uri()?, tag, p),
            Tag::NoResp => p.set_flag(&mut no_resp, tag),
            Tag::Cred => set(&mut cred, p.cred()?, tag, p),
            Tag::Meta => set(&mut meta, p.meta()?, tag, p),
            _ => Err(p.unexpected(tag)),
        })?;
        Ok(Header {
            ver_dtd: req(ver_dtd, Tag::VerDTD, self)?,
            ver_proto: req(ver_proto, Tag::VerProto, self)?,
            session_id: req(session_id, Tag::SessionID, self)?,
            msg_id: req(msg_id, Tag::MsgID, self)?,
            target: req(target, Tag::Target, self)?,
            source: req(source, Tag::Source, self)?,
            resp_uri,
            no_resp,
            cred,
            meta,
        })
    }

    fn location(&mut self) -> R<Location> {
        let (mut uri, mut name) = (None, None);
        self.children(|p, tag| match tag {
            Tag::LocURI => set(&mut uri, p.uri()?, tag, p),
            Tag::LocName => set(&mut name, p.text()?, tag, p),
            _ => Err(p.unexpected(tag)),
        })?;
        Ok(Location { uri: req(uri, Tag::LocURI, self)?, name })
    }

    fn cred(&mut self) -> R<Cred> {
        let (mut meta, mut data) = (None, None);
        self.children(|p, tag| match tag {
            Tag::Meta => set(&mut meta, p.meta()?, tag, p),
            Tag::Data => set(&mut data, p.text()?, tag, p),
            _ => Err(p.unexpected(tag)),
        })?;
        Ok(Cred { meta, data: req(data, Tag::Data, self)? })
    }

    fn meta(&mut self) -> R<Meta> {
        let mut m = Meta::default();
        self.meta_into(&mut m)?;
        Ok(m)
    }

    fn meta_into(&mut self, m: &mut Meta) -> R<()> {
        self.children(|p, tag| match tag {
            Tag::FieldLevel => p.set_flag(&mut m.field_level, tag),
            Tag::Format => set(&mut m.format, p.named_text(property_value)?, tag, p),
            Tag::Type => set(&mut m.type_, p.named_text(property_value)?, tag, p),
            Tag::Mark => set(&mut m.mark, p.text()?, tag, p),
            Tag::Size => set(&mut m.size, p.number(tag)?, tag, p),
            Tag::Anchor => set(&mut m.anchor, p.anchor()?, tag, p),
            Tag::Version => set(&mut m.version, p.text()?, tag, p),
            Tag::NextNonce => set(&mut m.next_nonce, p.text()?, tag, p),
            Tag::MaxMsgSize => set(&mut m.max_msg_size, p.number(tag)?, tag, p),
            Tag::MaxObjSize => set(&mut m.max_obj_size, p.number(tag)?, tag, p),
            Tag::EMI => p.text().map(|v| m.emi.push(v)),
            Tag::Mem => set(&mut m.mem, p.mem()?, tag, p),
            // Some peers wrap the MetInf children in <MetInf>; its content is the same.
            Tag::MetInf if p.lenient => {
                *m = p.meta()?;
                Ok(())
            }
            _ => Err(p.unexpected(tag)),
        })
    }

    fn anchor(&mut self) -> R<Anchor> {
        let (mut last, mut next) = (None, None);
        self.children(|p, tag| match tag {
            Tag::Last => set(&mut last, p.text()?, tag, p),
            Tag::Next => set(&mut next, p.text()?, tag, p),
            _ => Err(p.unexpected(tag)),
        })?;
        Ok(Anchor { last, next: req(next, Tag::Next, self)? })
    }

    fn mem(&mut self) -> R<Mem> {
        let (mut shared_mem, mut free_mem, mut free_id) = (false, None, None);
        self.children(|p, tag| match tag {
            Tag::SharedMem => p.set_flag(&mut shared_mem, tag),
            Tag::FreeMem => set(&mut free_mem, p.text()?, tag, p),
            Tag::FreeID => set(&mut free_id, p.text()?, tag, p),
            _ => Err(p.unexpected(tag)),
        })?;
        Ok(Mem { shared_mem, free_mem: req(free_mem, Tag::FreeMem, self)?, free_id: req(free_id, Tag::FreeID, self)? })
    }

    /// The commands, grown one at a time and then shrunk to fit: a message is kept while it is
    /// executed, and one of thousands of commands would keep up to twice their room (as would
    /// each Atomic and Sequence).
    fn body(&mut self) -> R<(Vec<Command>, bool)> {
        let mut commands = Vec::new();
        let mut is_final = false;
        self.children(|p, tag| {
            if tag == Tag::Final {
                return p.set_flag(&mut is_final, tag);
            }
            if is_final {
                return Err(p.err(K::UnexpectedElement(tag.name())));
            }
            let c = p.command(tag)?;
            commands.push(c);
            Ok(())
        })?;
        commands.shrink_to_fit();
        Ok((commands, is_final))
    }

    /// One command. It recurses through Atomic and Sequence, so its frame stays small: the
    /// readers of the larger commands are never inlined into it (a session runs on whatever
    /// stack a device agent gives it).
    fn command(&mut self, tag: Tag) -> R<Command> {
        self.commands += 1;
        if self.commands > self.limits.max_commands {
            return Err(self.src.limit(Limit::Commands, self.commands, self.limits.max_commands));
        }
        Ok(match tag {
            Tag::Add => Command::Add(self.item_command()?),
            Tag::Copy => Command::Copy(self.item_command()?),
            Tag::Delete => Command::Delete(self.item_command()?),
            Tag::Exec => Command::Exec(self.item_command()?),
            Tag::Get => Command::Get(self.item_command()?),
            Tag::Replace => Command::Replace(self.item_command()?),
            Tag::Alert => Command::Alert(self.alert()?),
            Tag::Atomic => Command::Atomic(self.group()?),
            Tag::Sequence => Command::Sequence(self.group()?),
            Tag::Status => Command::Status(self.status()?),
            Tag::Results => Command::Results(self.results()?),
            _ => return Err(self.unexpected(tag)),
        })
    }

    fn push_item(&mut self, items: &mut Vec<Item>) -> R<()> {
        if items.len() == self.limits.max_items {
            return Err(self.src.limit(Limit::Items, items.len() + 1, self.limits.max_items));
        }
        // An Item is large and most commands carry one: room for exactly one at first, and
        // each read where it lies.
        if items.is_empty() {
            items.reserve_exact(1);
        }
        items.push(Item::default());
        let at = items.len() - 1;
        let read = self.item(&mut items[at]);
        if read.is_err() {
            items.pop();
        }
        read
    }

    /// Reads an element into `slot` where it lies; a second one is read, then refused (as `set`).
    fn fill<T: Default>(
        &mut self,
        slot: &mut Option<T>,
        tag: Tag,
        read: impl FnOnce(&mut Self, &mut T) -> R<()>,
    ) -> R<()> {
        match slot {
            Some(_) => {
                read(self, &mut T::default())?;
                Err(self.err(K::DuplicateElement(tag.name())))
            }
            None => read(self, slot.insert(T::default())),
        }
    }

    fn item_command(&mut self) -> R<ItemCommand> {
        let (mut cmd_id, mut c) = (None, ItemCommand::default());
        self.children(|p, tag| match tag {
            Tag::CmdID => set(&mut cmd_id, p.number(tag)?, tag, p),
            Tag::NoResp => p.set_flag(&mut c.no_resp, tag),
            Tag::Cred => set(&mut c.cred, Box::new(p.cred()?), tag, p),
            Tag::Meta => p.fill(&mut c.meta, tag, |p, m| p.meta_into(m)),
            Tag::Correlator => set(&mut c.correlator, p.text()?, tag, p),
            Tag::Item => p.push_item(&mut c.items),
            _ => Err(p.unexpected(tag)),
        })?;
        c.cmd_id = req(cmd_id, Tag::CmdID, self)?;
        Ok(c)
    }

    #[inline(never)]
    fn alert(&mut self) -> R<Alert> {
        let (mut cmd_id, mut data, mut cred, mut correlator) = (None, None, None, None);
        let (mut no_resp, mut items) = (false, Vec::new());
        self.children(|p, tag| match tag {
            Tag::CmdID => set(&mut cmd_id, p.number(tag)?, tag, p),
            Tag::NoResp => p.set_flag(&mut no_resp, tag),
            Tag::Cred => set(&mut cred, p.cred()?, tag, p),
            Tag::Data => set(&mut data, AlertCode(p.number(tag)?), tag, p),
            Tag::Correlator => set(&mut correlator, p.text()?, tag, p),
            Tag::Item => p.push_item(&mut items),
            _ => Err(p.unexpected(tag)),
        })?;
        Ok(Alert {
            cmd_id: req(cmd_id, Tag::CmdID, self)?,
            no_resp,
            cred: cred.map(Box::new),
            data: req(data, Tag::Data, self)?,
            correlator,
            items,
        })
    }

    fn group(&mut self) -> R<Group> {
        self.groups += 1;
        if self.groups > self.limits.max_nesting {
            return Err(self.src.limit(Limit::Nesting, self.groups, self.limits.max_nesting));
        }
        let (mut cmd_id, mut g) = (None, Group::default());
        self.children(|p, tag| match tag {
            Tag::CmdID => set(&mut cmd_id, p.number(tag)?, tag, p),
            Tag::NoResp => p.set_flag(&mut g.no_resp, tag),
            Tag::Meta => p.fill(&mut g.meta, tag, |p, m| p.meta_into(m)),
            _ => {
                let c = p.command(tag)?;
                g.commands.push(c);
                Ok(())
            }
        })?;
        self.groups -= 1;
        g.commands.shrink_to_fit();
        g.cmd_id = req(cmd_id, Tag::CmdID, self)?;
        Ok(g)
    }

    #[inline(never)]
    fn status(&mut self) -> R<Status> {
        let (mut cmd_id, mut msg_ref, mut cmd_ref, mut cmd, mut data) = (None, None, None, None, None);
        let (mut cred, mut chal) = (None, None);
        let (mut target_refs, mut source_refs, mut items) = (Vec::new(), Vec::new(), Vec::new());
        self.children(|p, tag| match tag {
            Tag::CmdID => set(&mut cmd_id, p.number(tag)?, tag, p),
            Tag::MsgRef => set(&mut msg_ref, p.number(tag)?, tag, p),
            Tag::CmdRef => set(&mut cmd_ref, p.number(tag)?, tag, p),
            Tag::Cmd => set(&mut cmd, p.named_text(Status::cmd_name)?, tag, p),
            Tag::TargetRef => p.uri().map(|v| target_refs.push(v)),
            Tag::SourceRef => p.uri().map(|v| source_refs.push(v)),
            Tag::Cred => set(&mut cred, p.cred()?, tag, p),
            Tag::Chal => set(&mut chal, p.chal()?, tag, p),
            Tag::Data => set(&mut data, StatusCode(p.number(tag)?), tag, p),
            Tag::Item => p.push_item(&mut items),
            _ => Err(p.unexpected(tag)),
        })?;
        Ok(Status {
            cmd_id: req(cmd_id, Tag::CmdID, self)?,
            msg_ref,
            cmd_ref,
            cmd: req(cmd, Tag::Cmd, self)?,
            target_refs,
            source_refs,
            cred: cred.map(Box::new),
            chal: chal.map(Box::new),
            data: req(data, Tag::Data, self)?,
            items,
        })
    }

    fn chal(&mut self) -> R<Chal> {
        let mut meta = None;
        self.children(|p, tag| match tag {
            Tag::Meta => set(&mut meta, p.meta()?, tag, p),
            _ => Err(p.unexpected(tag)),
        })?;
        Ok(Chal { meta: req(meta, Tag::Meta, self)? })
    }

    #[inline(never)]
    fn results(&mut self) -> R<Results> {
        let (mut cmd_id, mut cmd_ref, mut r) = (None, None, Results::default());
        self.children(|p, tag| match tag {
            Tag::CmdID => set(&mut cmd_id, p.number(tag)?, tag, p),
            Tag::MsgRef => set(&mut r.msg_ref, p.number(tag)?, tag, p),
            Tag::CmdRef => set(&mut cmd_ref, p.number(tag)?, tag, p),
            Tag::Meta => p.fill(&mut r.meta, tag, |p, m| p.meta_into(m)),
            Tag::TargetRef => set(&mut r.target_ref, p.uri()?, tag, p),
            Tag::SourceRef => set(&mut r.source_ref, p.uri()?, tag, p),
            Tag::Item => p.push_item(&mut r.items),
            _ => Err(p.unexpected(tag)),
        })?;
        r.cmd_id = req(cmd_id, Tag::CmdID, self)?;
        r.cmd_ref = req(cmd_ref, Tag::CmdRef, self)?;
        Ok(r)
    }

    fn item(&mut self, it: &mut Item) -> R<()> {
        self.children(|p, tag| match tag {
            Tag::Target => set(&mut it.target, p.location()?, tag, p),
            Tag::Source => set(&mut it.source, p.location()?, tag, p),
            Tag::SourceParent => set(&mut it.source_parent, Box::new(p.location()?), tag, p),
            Tag::TargetParent => set(&mut it.target_parent, Box::new(p.location()?), tag, p),
            Tag::Meta => p.fill(&mut it.meta, tag, |p, m| p.meta_into(m)),
            Tag::Data => set(&mut it.data, p.src.data()?, tag, p),
            Tag::MoreData => p.set_flag(&mut it.more_data, tag),
            _ => Err(p.unexpected(tag)),
        })
    }
}

/// Only XML's white space: a form feed, which XML cannot carry, is text to be refused.
fn is_blank(s: &str) -> bool {
    s.bytes().all(is_xml_space)
}
