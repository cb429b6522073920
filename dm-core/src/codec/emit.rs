//! Model → output. One walk serves both encodings and both purposes: writing bytes and measuring
//! them (`Out` is a `Vec<u8>` or a `Counter`), so `encoded_len` never encodes twice.

use super::tag::{Padded, Tag};
use crate::model::*;

/// Where encoded bytes go.
pub(crate) trait Out {
    fn put(&mut self, bytes: &[u8]);

    fn put_padded<const N: usize>(&mut self, markup: &Padded<N>) {
        self.put(markup.as_bytes());
    }
}

impl Out for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        // A few bytes (most numbers) are cheaper pushed than copied by a call, at the price of
        // more code at every call site.
        if cfg!(feature = "inline-more") && bytes.len() <= 4 {
            self.reserve(4);
            bytes.iter().for_each(|&b| self.push(b));
        } else {
            self.extend_from_slice(bytes);
        }
    }

    /// The whole array, then cut back: a copy of fixed size is a few moves.
    #[inline]
    fn put_padded<const N: usize>(&mut self, markup: &Padded<N>) {
        let end = self.len() + markup.len;
        self.extend_from_slice(&markup.bytes);
        self.truncate(end);
    }
}

/// Counts bytes instead of keeping them.
#[derive(Default)]
pub(crate) struct Counter(pub usize);

impl Out for Counter {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// The element-level writer of one encoding.
/// `'m` is the message's lifetime, so that a sink may keep the strings it is shown.
pub(crate) trait Sink<'m> {
    fn start(&mut self, tag: Tag);
    fn end(&mut self, tag: Tag);
    fn empty(&mut self, tag: Tag);
    fn leaf(&mut self, tag: Tag, text: &'m str);
    fn number(&mut self, tag: Tag, n: u64);
    fn data(&mut self, data: &'m Data);
}

fn leaf_opt<'m, S: AsRef<str>>(s: &mut impl Sink<'m>, tag: Tag, v: &'m Option<S>) {
    if let Some(v) = v {
        s.leaf(tag, v.as_ref());
    }
}

fn flag<'m>(s: &mut impl Sink<'m>, tag: Tag, on: bool) {
    if on {
        s.empty(tag);
    }
}

fn number<'m>(s: &mut impl Sink<'m>, tag: Tag, n: impl Into<u64>) {
    s.number(tag, n.into());
}

/// Decimal digits of `n`, written into the end of `buf`.
#[cfg_attr(feature = "inline-more", inline(always))]
pub(crate) fn digits(buf: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

pub(crate) fn message<'m>(s: &mut impl Sink<'m>, m: &'m Message) {
    s.start(Tag::SyncML);
    header(s, &m.header);
    if m.commands.is_empty() && !m.is_final {
        s.empty(Tag::SyncBody);
    } else {
        s.start(Tag::SyncBody);
        for c in &m.commands {
            command(s, c);
        }
        flag(s, Tag::Final, m.is_final);
        s.end(Tag::SyncBody);
    }
    s.end(Tag::SyncML);
}

pub(crate) fn header<'m>(s: &mut impl Sink<'m>, h: &'m Header) {
    s.start(Tag::SyncHdr);
    s.leaf(Tag::VerDTD, &h.ver_dtd);
    s.leaf(Tag::VerProto, &h.ver_proto);
    s.leaf(Tag::SessionID, &h.session_id);
    number(s, Tag::MsgID, h.msg_id);
    location(s, Tag::Target, &h.target);
    location(s, Tag::Source, &h.source);
    leaf_opt(s, Tag::RespURI, &h.resp_uri);
    flag(s, Tag::NoResp, h.no_resp);
    if let Some(c) = &h.cred {
        cred(s, c);
    }
    meta_opt(s, h.meta.as_ref());
    s.end(Tag::SyncHdr);
}

#[cfg_attr(feature = "inline-more", inline(always))]
fn location<'m>(s: &mut impl Sink<'m>, tag: Tag, l: &'m Location) {
    s.start(tag);
    s.leaf(Tag::LocURI, &l.uri);
    leaf_opt(s, Tag::LocName, &l.name);
    s.end(tag);
}

fn location_opt<'m>(s: &mut impl Sink<'m>, tag: Tag, l: Option<&'m Location>) {
    if let Some(l) = l {
        location(s, tag, l);
    }
}

fn cred<'m>(s: &mut impl Sink<'m>, c: &'m Cred) {
    s.start(Tag::Cred);
    meta_opt(s, c.meta.as_ref());
    s.leaf(Tag::Data, &c.data);
    s.end(Tag::Cred);
}

fn meta_opt<'m>(s: &mut impl Sink<'m>, m: Option<&'m Meta>) {
    if let Some(m) = m {
        meta(s, m);
    }
}

fn meta<'m>(s: &mut impl Sink<'m>, m: &'m Meta) {
    s.start(Tag::Meta);
    flag(s, Tag::FieldLevel, m.field_level);
    leaf_opt(s, Tag::Format, &m.format);
    leaf_opt(s, Tag::Type, &m.type_);
    leaf_opt(s, Tag::Mark, &m.mark);
    if let Some(n) = m.size {
        number(s, Tag::Size, n);
    }
    if let Some(a) = &m.anchor {
        s.start(Tag::Anchor);
        leaf_opt(s, Tag::Last, &a.last);
        s.leaf(Tag::Next, &a.next);
        s.end(Tag::Anchor);
    }
    leaf_opt(s, Tag::Version, &m.version);
    leaf_opt(s, Tag::NextNonce, &m.next_nonce);
    if let Some(n) = m.max_msg_size {
        number(s, Tag::MaxMsgSize, n);
    }
    if let Some(n) = m.max_obj_size {
        number(s, Tag::MaxObjSize, n);
    }
    for e in &m.emi {
        s.leaf(Tag::EMI, e);
    }
    if let Some(mem) = &m.mem {
        s.start(Tag::Mem);
        flag(s, Tag::SharedMem, mem.shared_mem);
        s.leaf(Tag::FreeMem, &mem.free_mem);
        s.leaf(Tag::FreeID, &mem.free_id);
        s.end(Tag::Mem);
    }
    s.end(Tag::Meta);
}

pub(crate) fn command<'m>(s: &mut impl Sink<'m>, c: &'m Command) {
    match c {
        Command::Add(c) => item_command(s, Tag::Add, c),
        Command::Copy(c) => item_command(s, Tag::Copy, c),
        Command::Delete(c) => item_command(s, Tag::Delete, c),
        Command::Exec(c) => item_command(s, Tag::Exec, c),
        Command::Get(c) => item_command(s, Tag::Get, c),
        Command::Replace(c) => item_command(s, Tag::Replace, c),
        Command::Alert(a) => {
            s.start(Tag::Alert);
            number(s, Tag::CmdID, a.cmd_id);
            flag(s, Tag::NoResp, a.no_resp);
            if let Some(c) = &a.cred {
                cred(s, c);
            }
            number(s, Tag::Data, a.data.0);
            leaf_opt(s, Tag::Correlator, &a.correlator);
            items(s, &a.items);
            s.end(Tag::Alert);
        }
        Command::Atomic(g) => group(s, Tag::Atomic, g),
        Command::Sequence(g) => group(s, Tag::Sequence, g),
        Command::Status(st) => status(s, st),
        Command::Results(r) => {
            s.start(Tag::Results);
            number(s, Tag::CmdID, r.cmd_id);
            if let Some(n) = r.msg_ref {
                number(s, Tag::MsgRef, n);
            }
            number(s, Tag::CmdRef, r.cmd_ref);
            meta_opt(s, r.meta.as_deref());
            leaf_opt(s, Tag::TargetRef, &r.target_ref);
            leaf_opt(s, Tag::SourceRef, &r.source_ref);
            items(s, &r.items);
            s.end(Tag::Results);
        }
    }
}

fn item_command<'m>(s: &mut impl Sink<'m>, tag: Tag, c: &'m ItemCommand) {
    s.start(tag);
    number(s, Tag::CmdID, c.cmd_id);
    flag(s, Tag::NoResp, c.no_resp);
    if let Some(cr) = &c.cred {
        cred(s, cr);
    }
    meta_opt(s, c.meta.as_deref());
    leaf_opt(s, Tag::Correlator, &c.correlator);
    items(s, &c.items);
    s.end(tag);
}

fn group<'m>(s: &mut impl Sink<'m>, tag: Tag, g: &'m Group) {
    s.start(tag);
    number(s, Tag::CmdID, g.cmd_id);
    flag(s, Tag::NoResp, g.no_resp);
    meta_opt(s, g.meta.as_deref());
    for c in &g.commands {
        command(s, c);
    }
    s.end(tag);
}

fn status<'m>(s: &mut impl Sink<'m>, st: &'m Status) {
    s.start(Tag::Status);
    number(s, Tag::CmdID, st.cmd_id);
    if let Some(n) = st.msg_ref {
        number(s, Tag::MsgRef, n);
    }
    if let Some(n) = st.cmd_ref {
        number(s, Tag::CmdRef, n);
    }
    s.leaf(Tag::Cmd, &st.cmd);
    for r in &st.target_refs {
        s.leaf(Tag::TargetRef, r);
    }
    for r in &st.source_refs {
        s.leaf(Tag::SourceRef, r);
    }
    if let Some(c) = &st.cred {
        cred(s, c);
    }
    if let Some(ch) = &st.chal {
        s.start(Tag::Chal);
        meta(s, &ch.meta);
        s.end(Tag::Chal);
    }
    number(s, Tag::Data, st.data.0);
    items(s, &st.items);
    s.end(Tag::Status);
}

fn items<'m>(s: &mut impl Sink<'m>, items: &'m [Item]) {
    for it in items {
        // `Item::default()`, every field named so that a new one is considered here.
        let empty = matches!(
            it,
            Item {
                target: None,
                source: None,
                source_parent: None,
                target_parent: None,
                meta: None,
                data: None,
                more_data: false
            }
        );
        if empty {
            s.empty(Tag::Item);
            continue;
        }
        s.start(Tag::Item);
        location_opt(s, Tag::Target, it.target.as_ref());
        location_opt(s, Tag::Source, it.source.as_ref());
        location_opt(s, Tag::SourceParent, it.source_parent.as_deref());
        location_opt(s, Tag::TargetParent, it.target_parent.as_deref());
        meta_opt(s, it.meta.as_deref());
        if let Some(d) = &it.data {
            s.data(d);
        }
        flag(s, Tag::MoreData, it.more_data);
        s.end(Tag::Item);
    }
}
