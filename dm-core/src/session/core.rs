//! What both engines share: header checks (R19), status bookkeeping (R06, R21, R22), and laying
//! content into messages no larger than the peer's MaxMsgSize (R01, R07), chunking large objects.

use std::collections::VecDeque;

use super::chunk::{self, Reassembly};
use super::{CommandRef, Event, Outgoing, State};
use crate::codec::{self, DecodeOptions, Encoding};
use crate::error::{Error, RemoteError, UsageError};
use crate::model::*;

/// The smallest MaxMsgSize a peer may announce: below it no DM message fits (R07).
pub(crate) const MIN_PEER_MSG_SIZE: u64 = 512;
/// A large-object chunk carries at least this many bytes.
const MIN_CHUNK: usize = 64;

/// Content this side queued: a command (a Sequence/Atomic with its members) and the
/// references of its commands in pre-order; `offset` is how much of a chunked item went out.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Unit {
    pub command: Command,
    pub refs: Vec<CommandRef>,
    pub offset: usize,
}

impl Unit {
    /// Whether `offset` stands where a chunked item can: nothing sent, or inside its data.
    fn consistent(&self) -> bool {
        self.offset == 0
            || single_data(&self.command).is_some_and(|d| match d {
                Data::Binary(b) => self.offset < b.len(),
                Data::Text(s) | Data::Xml(s) => self.offset < s.len() && s.is_char_boundary(self.offset),
            })
    }

    /// Every unit of restored queues consistent.
    pub fn check_restored<'u>(units: impl IntoIterator<Item = &'u Unit>) -> Result<(), &'static str> {
        if units.into_iter().all(Unit::consistent) { Ok(()) } else { Err("a chunk offset outside its item's data") }
    }
}

/// What the next message is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compose {
    /// The peer's package is open: statuses owed and Alert 1222, no Final (R03, R04).
    NextMessage,
    /// This side's package: statuses, results, own commands; Final when all fit (R01).
    Package,
    /// Alert 1223 with the statuses and results owed, and Final (R15).
    Abort,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Core {
    pub session_id: String,
    pub local: Location,
    pub remote: Location,
    pub version: ProtocolVersion,
    pub encoding: Encoding,
    pub lenient: bool,
    pub accept_dm11: bool,
    /// MaxMsgSize and MaxObjSize this side announces.
    pub announce: Option<(u64, u64)>,
    pub peer_max_msg: Option<u64>,
    pub peer_max_obj: Option<u64>,
    pub msg_id: u32,
    pub peer_msg_id: u32,
    pub state: State,
    pub statuses: VecDeque<Status>,
    pub results: VecDeque<Unit>,
    pub outbox: VecDeque<Unit>,
    /// This side sent a message of its package without Final and has more to send.
    pub our_open: bool,
    /// The peer's package is not complete.
    pub peer_open: bool,
    /// Every command sent, with the caller's reference where there is one.
    pub sent: SentLog,
    pub next_ref: u32,
    pub incoming: Option<Box<Reassembly>>,
    pub abort: bool,
    /// Cred to put in the next header (authentication).
    pub cred: Option<Box<Cred>>,
    /// RespURI to put in every header (a server telling the client where to send next).
    pub resp_uri: Option<String>,
    /// What was left to send after the last message (a continuation must leave less).
    pub left: usize,
    /// `bound`'s memo for the message being laid out.
    #[serde(skip)]
    pub laid_len: std::cell::Cell<LaidLen>,
}

/// `bound`'s memo, as (n, length) pairs: the length of the first `n` commands of the message
/// being laid out (`kept`), and with the last command it sized (`with_last`), until that one is
/// kept; and `too_big`'s, for WBXML past its bound. Small, as every session at rest holds one:
/// `NONE` where there is nothing to remember.
#[derive(Clone, Copy, Debug)]
pub struct LaidLen {
    kept: (u32, u32),
    with_last: (u32, u32),
    /// The bound of a WBXML message at which it was last sized in full, and that size.
    exact: (u32, u32),
    /// A command went in on the estimate from `exact`: the message is checked in full.
    estimated: bool,
    /// What estimates leave unused below MaxMsgSize, grown each time one let in too much;
    /// `u32::MAX`: no estimates, every command past the bound is sized in full.
    margin: u32,
}

impl LaidLen {
    const NONE: (u32, u32) = (u32::MAX, 0);

    fn pair(n: usize, len: usize) -> (u32, u32) {
        match (u32::try_from(n), u32::try_from(len)) {
            (Ok(n), Ok(len)) if n != u32::MAX => (n, len),
            _ => Self::NONE,
        }
    }
}

impl Default for LaidLen {
    fn default() -> Self {
        LaidLen { kept: Self::NONE, with_last: Self::NONE, exact: Self::NONE, estimated: false, margin: 0 }
    }
}

impl Core {
    /// What a restored snapshot must hold, as every session does (the code relies on it): the
    /// first thing that does not.
    pub fn check_restored(&self) -> Result<(), &'static str> {
        if [self.msg_id, self.peer_msg_id, self.next_ref].contains(&u32::MAX) {
            return Err("a MsgID or reference counter at its end");
        }
        if self.peer_max_msg.is_some_and(|n| n < MIN_PEER_MSG_SIZE) {
            return Err("a MaxMsgSize no DM message fits in");
        }
        Unit::check_restored(self.results.iter().chain(&self.outbox))?;
        if !self.sent.consistent() {
            return Err("a sent-command log out of order");
        }
        Ok(())
    }

    pub fn new(session_id: String, local: Location, remote: Location, encoding: Encoding, state: State) -> Core {
        Core {
            session_id,
            local,
            remote,
            version: ProtocolVersion::Dm12,
            encoding,
            lenient: false,
            accept_dm11: false,
            announce: None,
            peer_max_msg: None,
            peer_max_obj: None,
            msg_id: 0,
            peer_msg_id: 0,
            state,
            statuses: VecDeque::new(),
            results: VecDeque::new(),
            outbox: VecDeque::new(),
            our_open: false,
            peer_open: false,
            sent: SentLog::default(),
            next_ref: 0,
            incoming: None,
            abort: false,
            cred: None,
            resp_uri: None,
            left: 0,
            laid_len: std::cell::Cell::new(LaidLen::default()),
        }
    }

    /// Decoding strictness and limits, and what this side announces in every header: its
    /// MaxMsgSize and MaxObjSize, by default the limits it decodes with, so that the peer never
    /// sends what would be refused.
    pub fn configure(&mut self, wire: &super::Wire) {
        self.lenient = wire.lenient;
        self.accept_dm11 = wire.accept_dm11;
        self.announce = Some((
            wire.max_msg_size.unwrap_or(wire.limits.max_message_size as u64),
            wire.max_obj_size.unwrap_or(wire.limits.max_object_size as u64),
        ));
    }

    pub fn new_ref(&mut self) -> CommandRef {
        self.next_ref += 1;
        CommandRef(self.next_ref)
    }

    fn usage(what: &str) -> Error {
        UsageError(what.to_string()).into()
    }

    /// Decodes and checks a message without changing anything (a rejected message leaves the
    /// session as it was).
    pub fn check(&self, body: &[u8], limits: &crate::Limits) -> Result<Message, Error> {
        match self.state {
            State::Waiting => {}
            State::Ready => return Err(Self::usage("receive called while a message is waiting to be sent")),
            State::Ended | State::Aborted => return Err(Self::usage("receive called after the session is over")),
        }
        let options = DecodeOptions { lenient: self.lenient, limits: limits.clone() };
        let m = codec::decode_with(body, &options)?;
        let h = &m.header;
        let ok_version = match h.version() {
            Some(ProtocolVersion::Dm12) => true,
            Some(ProtocolVersion::Dm11) => self.accept_dm11,
            None => false,
        };
        if !ok_version {
            let why = format!("VerDTD {:?} / VerProto {:?} is not DM 1.2", h.ver_dtd, h.ver_proto);
            return Err(RemoteError::in_message("R19", &m, (None, "VerDTD"), why));
        }
        if !self.session_id.is_empty() && h.session_id != self.session_id {
            let why = format!("SessionID changed from {:?} to {:?}", self.session_id, h.session_id);
            return Err(RemoteError::in_message("R19", &m, (None, "SessionID"), why));
        }
        if h.msg_id != self.peer_msg_id + 1 {
            let why = format!("MsgID {} where {} was due", h.msg_id, self.peer_msg_id + 1);
            return Err(RemoteError::in_message("R19", &m, (None, "MsgID"), why));
        }
        if let Some(n) = h.meta.as_ref().and_then(|m| m.max_msg_size) {
            if n < MIN_PEER_MSG_SIZE {
                let why = format!("MaxMsgSize {n} is below the {MIN_PEER_MSG_SIZE} bytes any DM message needs");
                return Err(RemoteError::in_message("R07", &m, (None, "MaxMsgSize"), why));
            }
        }
        let abort = m.commands.iter().any(|c| matches!(c, Command::Alert(a) if a.data == AlertCode::SESSION_ABORT));
        if self.our_open && !abort {
            if m.is_final {
                let why = "Final while this side's package is still open".to_string();
                return Err(RemoteError::in_message("R02", &m, (None, "Final"), why));
            }
            if let Some(c) = m.commands.iter().find(|c| !c.is_next_message_response()) {
                let what = match c {
                    Command::Alert(a) => format!("Alert {}", a.data.0),
                    _ => c.name().to_string(),
                };
                let why = format!("{what} in a Next Message response (only Status and Alert 1222 belong there)");
                return Err(RemoteError::in_message("R04", &m, (Some(c.cmd_id()), c.name()), why));
            }
        }
        // Leniently, misnumbered CmdIDs are taken, and a status or results for something never
        // sent is only ignored (the spec's own examples number their commands differently from
        // what they answer).
        if !self.lenient {
            self.check_references(&m)?;
        }
        Ok(m)
    }

    /// A received message's CmdIDs are its own, and its statuses and results answer what this
    /// side sent.
    fn check_references(&self, m: &Message) -> Result<(), Error> {
        if let Some((id, why)) = misnumbered(&m.commands) {
            let why = format!("{why} (each command's CmdID is its own, from 1)");
            return Err(RemoteError::in_message("CmdID", m, (Some(id), "CmdID"), why));
        }
        for c in &m.commands {
            match c {
                Command::Status(s) => {
                    let msg_ref = self.answered_msg(s.msg_ref, s.cmd_ref.unwrap_or(0));
                    let known = match s.cmd_ref {
                        Some(0) => msg_ref >= 1 && msg_ref <= self.msg_id,
                        Some(r) => self.sent.get(sent_key(msg_ref, r)).is_some(),
                        None => false,
                    };
                    if !known {
                        let why = match s.cmd_ref {
                            Some(r) => format!("Status for MsgRef {msg_ref} CmdRef {r}, a command never sent"),
                            None => format!("Status for MsgRef {msg_ref} without CmdRef"),
                        };
                        return Err(RemoteError::in_message("R21", m, (Some(s.cmd_id), "Status"), why));
                    }
                }
                Command::Results(r) => {
                    let msg_ref = self.answered_msg(r.msg_ref, r.cmd_ref);
                    if self.sent.get(sent_key(msg_ref, r.cmd_ref)).is_none() {
                        let why = format!("Results for MsgRef {msg_ref} CmdRef {}, a command never sent", r.cmd_ref);
                        return Err(RemoteError::in_message("R22", m, (Some(r.cmd_id), "Results"), why));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Takes the header of an accepted message: the peer's sizes, and the SyncHdr status owed
    /// first in the reply.
    pub fn take_header(&mut self, m: &Message, code: StatusCode, chal: Option<Chal>) {
        let h = &m.header;
        self.peer_msg_id = h.msg_id;
        if let Some(meta) = &h.meta {
            self.peer_max_msg = meta.max_msg_size.or(self.peer_max_msg);
            self.peer_max_obj = meta.max_obj_size.or(self.peer_max_obj);
        }
        if h.version() == Some(ProtocolVersion::Dm11) {
            self.version = ProtocolVersion::Dm11;
        }
        self.statuses.push_front(Status {
            cmd_id: 0,
            msg_ref: Some(h.msg_id),
            cmd_ref: Some(0),
            cmd: "SyncHdr".into(),
            target_refs: vec![h.target.uri.clone()],
            source_refs: vec![h.source.uri.clone()],
            cred: None,
            chal: chal.map(Box::new),
            data: code,
            items: vec![],
        });
    }

    /// Owes a Status for a command of the peer's message `msg_id` (never for Status or
    /// Results: R06).
    pub fn owe_status(
        &mut self,
        msg_id: u32,
        cmd: &Command,
        code: StatusCode,
        items: Vec<Item>,
        target_refs: Vec<String>,
    ) {
        self.statuses.push_back(Status {
            cmd_id: 0,
            msg_ref: Some(msg_id),
            cmd_ref: Some(cmd.cmd_id()),
            cmd: cmd.name().into(),
            target_refs,
            source_refs: vec![],
            cred: None,
            chal: None,
            data: code,
            items,
        });
    }

    /// The MsgID of this side's message a peer's Status or Results for `cmd_ref` refers to.
    pub fn answered_msg(&self, msg_ref: Option<u32>, cmd_ref: u32) -> u32 {
        refers_to(msg_ref, self.msg_id, |m| self.sent.get(sent_key(m, cmd_ref)).is_some())
    }

    /// The peer's Status for the SyncHdr of this side's last message, if `m` holds one.
    pub fn header_status<'m>(&self, m: &'m Message) -> Option<&'m Status> {
        m.commands.iter().find_map(|c| match c {
            Command::Status(s) if s.cmd_ref == Some(0) && self.answered_msg(s.msg_ref, 0) == self.msg_id => Some(s),
            _ => None,
        })
    }

    /// The peer's Status for something this side sent, as an event
    /// that takes the status's command name and items (chunk acknowledgements and statuses of
    /// the SyncHdr are this layer's business).
    pub fn peer_status(&self, s: &mut Status) -> Option<Event> {
        if s.data == StatusCode::CHUNKED_ITEM_ACCEPTED {
            return None;
        }
        let cmd_ref = s.cmd_ref?;
        let key = sent_key(self.answered_msg(s.msg_ref, cmd_ref), cmd_ref);
        let reference = self.sent.get(key)??;
        Some(Event::Status {
            reference,
            cmd: std::mem::take(&mut s.cmd),
            code: s.data,
            items: std::mem::take(&mut s.items),
        })
    }

    /// The header of the next message, which it numbers.
    fn header(&mut self) -> Header {
        let h = self.next_header();
        self.msg_id += 1;
        h
    }

    /// The header the next message will have.
    fn next_header(&self) -> Header {
        let msg_id = self.msg_id + 1;
        let mut h = Header::new(self.version, self.session_id.clone(), msg_id, self.remote.clone(), self.local.clone());
        // MaxMsgSize and MaxObjSize hold for the whole session once sent (facts §6).
        if msg_id == 1 {
            h.meta = self.announce.map(|(msg, obj)| Meta {
                max_msg_size: Some(msg),
                max_obj_size: Some(obj),
                ..Meta::default()
            });
        }
        h.cred = self.cred.as_deref().cloned();
        h.resp_uri = self.resp_uri.clone();
        h
    }

    /// Whether `m` (the message being laid out, final, with `tail` after it) exceeds the peer's
    /// MaxMsgSize: by `bound`, and a WBXML message over that bound sized in full.
    fn too_big(&self, m: &mut Message, tail: Option<&Command>) -> bool {
        let Some(max) = self.peer_max_msg else { return false };
        let Some(bound) = self.bound(m, tail) else {
            return Self::final_len(m, tail, self.encoding) as u64 > max;
        };
        if bound as u64 <= max || self.encoding == Encoding::Xml {
            return bound as u64 > max;
        }
        // Past its bound a WBXML message is sized in full, but not at every command (which
        // made laying out a large message quadratic): a command adds about its own bound to
        // the size last found. Not always at most (the string table is chosen anew), so
        // `compose` checks a message laid on estimates, and lays it again with a margin if it
        // is over.
        let memo = self.laid_len.get();
        let (at_bound, exact) = memo.exact;
        if memo.margin != u32::MAX && memo.exact != LaidLen::NONE && bound >= at_bound as usize {
            let estimate = exact as usize + (bound - at_bound as usize) + memo.margin as usize;
            if estimate as u64 <= max {
                self.laid_len.set(LaidLen { estimated: true, ..memo });
                return false;
            }
        }
        let exact = Self::final_len(m, tail, self.encoding);
        self.laid_len.set(LaidLen { exact: LaidLen::pair(bound, exact), ..self.laid_len.get() });
        exact as u64 > max
    }

    /// The length of `m` (final, with `tail` after it) by adding up its commands' lengths;
    /// `None` without commands. Commands are only ever pushed and popped at its end, and a
    /// command adds its own length whatever surrounds it (exactly in XML; at most, in WBXML,
    /// where the string table decides the rest): the length of all but the last command is
    /// kept, and grown, from one call to the next.
    fn bound(&self, m: &mut Message, tail: Option<&Command>) -> Option<usize> {
        let enc = self.encoding;
        let n = m.commands.len().checked_sub(1)?;
        let prefix = match self.laid_len.get().kept {
            (k, len) if k != u32::MAX && k as usize <= n => {
                len as usize + m.commands[k as usize..n].iter().map(|c| codec::command_len(c, enc)).sum::<usize>()
            }
            _ => {
                let last = m.commands.pop()?;
                let len = Self::sized(m, None, |m| codec::plain_len(m, enc));
                m.commands.push(last);
                len
            }
        };
        let with_last = prefix + codec::command_len(&m.commands[n], enc);
        let memo = self.laid_len.get();
        self.laid_len.set(LaidLen {
            kept: LaidLen::pair(n, prefix),
            with_last: LaidLen::pair(n + 1, with_last),
            ..memo
        });
        Some(with_last + tail.map_or(0, |t| codec::command_len(t, enc)))
    }

    /// Tells `bound` that the last command it sized stays in the message: the next call starts
    /// from its length instead of sizing it again.
    fn keep_last(&self) {
        let memo = self.laid_len.get();
        let kept = if memo.with_last == LaidLen::NONE { memo.kept } else { memo.with_last };
        self.laid_len.set(LaidLen { kept, with_last: LaidLen::NONE, ..memo });
    }

    /// Whether any message `m` with `tail` exceeds the peer's MaxMsgSize, sized in full.
    fn exceeds(&self, m: &mut Message, tail: Option<&Command>) -> bool {
        self.peer_max_msg.is_some_and(|max| Self::final_len(m, tail, self.encoding) as u64 > max)
    }

    /// The encoded length of `m` with Final and `tail` after its commands.
    fn final_len(m: &mut Message, tail: Option<&Command>, encoding: Encoding) -> usize {
        Self::sized(m, tail, |m| codec::encoded_len(m, encoding))
    }

    /// `len` of `m` with Final and `tail` after its commands.
    fn sized(m: &mut Message, tail: Option<&Command>, len: impl Fn(&Message) -> usize) -> usize {
        let fin = m.is_final;
        m.is_final = true;
        if let Some(t) = tail {
            m.commands.push(t.clone());
        }
        let len = len(m);
        if tail.is_some() {
            m.commands.pop();
        }
        m.is_final = fin;
        len
    }

    /// Lays the next message out, with at most `max_commands` commands (nested ones counted):
    /// the peer's limit is not announced, and this side's own is what its peer, with the same
    /// defaults, would refuse past. Returns it and whether this side's content is all sent. On
    /// an error nothing changes, but that a command that can never be sent is dropped.
    pub fn compose(&mut self, mode: Compose, max_commands: usize) -> Result<(Message, bool), Error> {
        let units = (self.results.len() + self.outbox.len()).min(64);
        let most = (self.statuses.len() + units + 1).min(64);
        let mut m = Message { header: self.header(), commands: Vec::with_capacity(most), is_final: false };
        let margin = self.laid_len.get().margin;
        self.laid_len.set(LaidLen { margin, ..LaidLen::default() });
        let mut laid = Vec::with_capacity(units);
        // Room for the commands laid, grown once; not for a lone unit (a chunk of a large
        // object, say), which fits where the entries of the message before it are forgotten.
        if units > 1 {
            self.sent.reserve(units);
        }
        let r = self.lay_out(mode, max_commands, &mut m, &mut laid);
        let over = match self.peer_max_msg {
            Some(max) if r.is_ok() && self.laid_len.get().estimated => {
                (codec::encoded_len(&m, self.encoding) as u64).saturating_sub(max)
            }
            _ => 0,
        };
        let again = over > 0;
        if r.is_err() || again {
            // Undo: the units taken go back where they were, with the commands the message
            // took from them, and so do the statuses.
            for (results, mut unit, at) in laid.into_iter().rev() {
                if let Some(i) = at {
                    unit.command = std::mem::replace(&mut m.commands[i], taken());
                }
                if results { self.results.push_front(unit) } else { self.outbox.push_front(unit) }
            }
            for c in std::mem::take(&mut m.commands).into_iter().rev() {
                if let Command::Status(mut s) = c {
                    s.cmd_id = 0;
                    self.statuses.push_front(s);
                }
            }
            let id = self.msg_id;
            self.sent.forget_message(id);
            self.msg_id -= 1;
        }
        if again {
            // An estimate let in more than fits: laid again leaving more room unused, twice
            // what was missing (a few bytes, in practice), and from a quarter of MaxMsgSize on
            // without estimates.
            let max = self.peer_max_msg.unwrap_or_default();
            let wider = 2 * (u64::from(margin) + over) + 64;
            let margin = u32::try_from(wider).ok().filter(|_| wider < max / 4).unwrap_or(u32::MAX);
            self.laid_len.set(LaidLen { margin, ..LaidLen::default() });
            let r = self.compose(mode, max_commands);
            self.laid_len.set(LaidLen::default());
            return r;
        }
        // A session at rest keeps no room for what it has sent.
        if self.statuses.is_empty() {
            self.statuses.shrink_to_fit();
        }
        if self.results.is_empty() {
            self.results.shrink_to_fit();
        }
        if self.outbox.is_empty() {
            self.outbox.shrink_to_fit();
        }
        self.sent.shrink_to_fit();
        r.map(|done| (m, done))
    }

    fn lay_out(
        &mut self,
        mode: Compose,
        max_commands: usize,
        m: &mut Message,
        laid: &mut Vec<Laid>,
    ) -> Result<bool, Error> {
        let mut next_id = 1u32;
        let tail = match mode {
            Compose::NextMessage => Some(AlertCode::NEXT_MESSAGE),
            Compose::Abort => Some(AlertCode::SESSION_ABORT),
            Compose::Package => None,
        }
        .map(|code| {
            Command::Alert(Alert { cmd_id: 0, no_resp: false, cred: None, data: code, correlator: None, items: vec![] })
        });
        // Commands numbered so far are the message's count: at most `most`, the tail aside.
        let most = max_commands.max(2) - usize::from(tail.is_some());

        while let Some(mut s) = self.statuses.pop_front() {
            s.cmd_id = next_id;
            m.commands.push(Command::Status(s));
            if next_id as usize > most || self.too_big(m, tail.as_ref()) {
                let Some(Command::Status(s)) = m.commands.pop() else { break };
                self.statuses.push_front(s);
                if m.commands.is_empty() {
                    return Err(self.too_small("cannot hold even the SyncHdr status"));
                }
                break;
            }
            self.keep_last();
            next_id += 1;
        }
        let statuses_sent = m.commands.len();
        let mut done = self.statuses.is_empty();
        if done && mode != Compose::NextMessage {
            done = self.lay_units(m, (&mut next_id, most), tail.as_ref(), true, laid)?;
            if done && mode == Compose::Package {
                done = self.lay_units(m, (&mut next_id, most), tail.as_ref(), false, laid)?;
            }
        }
        // A continuation of this side's package must shrink what is left to send; else the
        // two peers would ask each other for the next message forever.
        let laid_own = m.commands.len() > statuses_sent;
        let left = self.statuses.len() + self.results.len() + self.outbox.len();
        if mode == Compose::Package && self.our_open && !done && !laid_own && left >= self.left {
            return Err(self.too_small("leaves no room to make progress"));
        }
        self.left = left;
        if let Some(Command::Alert(mut a)) = tail {
            a.cmd_id = next_id;
            self.sent.insert(sent_key(self.msg_id, next_id), None);
            m.commands.push(Command::Alert(a));
        }
        m.is_final = match mode {
            Compose::NextMessage => false,
            Compose::Abort => true,
            Compose::Package => done,
        };
        Ok(done)
    }

    /// The peer's MaxMsgSize is too small for what must be sent (R07): `what` it fails to do.
    fn too_small(&self, what: &str) -> Error {
        let max = self.peer_max_msg.unwrap_or_default();
        let reason = format!("the peer's MaxMsgSize {max} {what}");
        RemoteError { rule: "R07", msg_id: None, cmd_id: None, element: Some("MaxMsgSize"), reason }.into()
    }

    /// Lays owed results (`results`) or own commands into `m`; true when the queue emptied.
    /// What went in whole is journaled in `laid`, so that `compose` can undo it: a command that
    /// goes whole moves into the message, and its unit keeps where.
    fn lay_units(
        &mut self,
        m: &mut Message,
        (next_id, most): (&mut u32, usize),
        tail: Option<&Command>,
        results: bool,
        laid: &mut Vec<Laid>,
    ) -> Result<bool, Error> {
        loop {
            let queue = if results { &mut self.results } else { &mut self.outbox };
            let Some(mut unit) = queue.pop_front() else { return Ok(true) };
            let data_len = single_data(&unit.command).map_or(0, Data::len) as u64;
            let surely_too_big = self.peer_max_msg.is_some_and(|max| data_len > max);
            if unit.offset == 0 && !surely_too_big {
                let mut command = std::mem::replace(&mut unit.command, taken());
                let ids = number(&mut command, next_id);
                m.commands.push(command);
                if *next_id as usize - 1 <= most && !self.too_big(m, tail) {
                    self.keep_last();
                    self.record(ids, &unit.refs);
                    laid.push((results, unit, Some(m.commands.len() - 1)));
                    continue;
                }
                unit.command = m.commands.pop().unwrap_or_else(taken);
                *next_id = ids.start;
            }
            // A single item with data may go as chunks (a large object); anything else waits
            // for the next message, or cannot be sent at all (R07).
            let queue_back = |core: &mut Core, unit: Unit| {
                let queue = if results { &mut core.results } else { &mut core.outbox };
                queue.push_front(unit);
            };
            if *next_id as usize > most {
                queue_back(self, unit);
                return Ok(false);
            }
            match self.chunk(m, next_id, tail, &unit) {
                Some(offset) if offset as u64 >= data_len => laid.push((results, unit, None)),
                Some(offset) => {
                    // Nothing may follow a chunk that is not the last (facts §6).
                    queue_back(self, Unit { offset, ..unit });
                    return Ok(false);
                }
                None if self.never_fits(m, &unit.command, tail) => {
                    return Err(self.unsendable(&unit.command, "it is dropped, and no status will answer it"));
                }
                None => {
                    queue_back(self, unit);
                    return Ok(false);
                }
            }
        }
    }

    /// True when `command` (for a large object: its smallest chunk) does not fit even in the
    /// emptiest message of a package (no Cred in its header): the SyncHdr status and the status
    /// of the peer's Alert 1222. Anything that fits there is sent sooner or later; anything else
    /// would have the peers ask for the next message forever.
    fn never_fits(&self, m: &Message, command: &Command, tail: Option<&Command>) -> bool {
        let mut probe = Message { header: m.header.clone(), commands: Vec::with_capacity(3), is_final: true };
        probe.header.cred = None; // credentials go in a package's first message, not in every one
        if let Some(Command::Status(synchdr)) = m.commands.first() {
            // The status of the peer's Alert 1222: the SyncHdr status's references, no Chal.
            let alert = Status {
                cmd: "Alert".into(),
                cmd_ref: Some(1),
                target_refs: vec![],
                source_refs: vec![],
                chal: None,
                ..synchdr.clone()
            };
            probe.commands.extend([Command::Status(synchdr.clone()), Command::Status(alert)]);
        }
        let smallest = match single_data(command) {
            Some(data) => {
                let mut c = without_data(command);
                if let Some(item) = single_item(&mut c) {
                    item.more_data = true;
                    item.meta.get_or_insert_with(Box::default).size = Some(data.len() as u64);
                    item.data = Some(chunk::slice(data, 0, MIN_CHUNK));
                }
                c
            }
            None => command.clone(),
        };
        probe.commands.push(smallest);
        self.exceeds(&mut probe, tail)
    }

    /// Whether `command`, queued now, could never be sent (R07), as `never_fits` judges while
    /// composing. False, and left to composing to judge, when the peer announced no MaxMsgSize,
    /// when no SyncHdr status is owed to judge the emptiest message by, or when the command's
    /// data and URIs take less than half the MaxMsgSize (sizing every command when queued would
    /// cost a session a third more).
    fn never_sendable(&self, command: &Command) -> bool {
        let Some(max) = self.peer_max_msg else { return false };
        let Some(synchdr) = self.statuses.front().filter(|s| s.cmd == "SyncHdr") else { return false };
        if max > 2 * payload(command) as u64 {
            return false;
        }
        let m =
            Message { header: self.next_header(), commands: vec![Command::Status(synchdr.clone())], is_final: true };
        self.never_fits(&m, command, None)
    }

    /// R07 judged when `command` is queued (see `never_sendable`): a local error, `then`
    /// saying what becomes of the command.
    pub fn check_sendable(&self, command: &Command, then: &str) -> Result<(), Error> {
        if self.never_sendable(command) { Err(self.unsendable(command, then)) } else { Ok(()) }
    }

    /// The local error for a command that can never be sent, `then` saying what becomes of it.
    fn unsendable(&self, command: &Command, then: &str) -> Error {
        let (name, max) = (command.name(), self.peer_max_msg.unwrap_or_default());
        UsageError(format!("{name} does not fit in the peer's MaxMsgSize {max} and cannot be chunked (R07): {then}"))
            .into()
    }

    fn record(&mut self, ids: impl IntoIterator<Item = u32>, refs: &[CommandRef]) {
        for (i, id) in ids.into_iter().enumerate() {
            self.sent.insert(sent_key(self.msg_id, id), refs.get(i).copied());
        }
    }

    /// Puts the next chunk of `unit` into `m` and returns the offset reached; `None` when the
    /// unit is not a large object or no chunk of at least `MIN_CHUNK` bytes fits.
    fn chunk(&mut self, m: &mut Message, next_id: &mut u32, tail: Option<&Command>, unit: &Unit) -> Option<usize> {
        let data = single_data(&unit.command)?;
        let total = data.len();
        let remaining = total - unit.offset;
        if remaining == 0 {
            // An empty value is no large object: it waits for a message with room for it.
            return None;
        }
        let skeleton = without_data(&unit.command);
        let make = |len: usize, id: u32| -> Command {
            let mut c = skeleton.clone();
            let piece = chunk::slice(data, unit.offset, len);
            let last = unit.offset + piece.len() >= total;
            if let Some(item) = single_item(&mut c) {
                item.more_data = !last;
                item.meta.get_or_insert_with(Box::default).size = (unit.offset == 0).then_some(total as u64);
                item.data = Some(piece);
            }
            c.set_cmd_id(id);
            c
        };
        // The largest piece that fits: XML text is sized by counting its escapes, anything else
        // by bisection on the exact encoded size.
        let cap = self.peer_max_msg.map_or(remaining, |max| remaining.min(max as usize));
        if let (Some(max), Data::Text(text), Encoding::Xml) = (self.peer_max_msg, data, self.encoding) {
            // In XML the bound is the exact length: what the empty chunk leaves is the room, and
            // the chunk that fills it fits (the last one, without MoreData, is shorter still).
            m.commands.push(make(0, *next_id));
            let used = self.bound(m, tail);
            m.commands.pop();
            if let Some(used) = used.filter(|&used| used as u64 <= max) {
                let room = (max as usize).saturating_sub(used);
                let fit = codec::escaped_prefix(&text.as_bytes()[unit.offset..], room);
                if fit >= MIN_CHUNK || fit >= remaining {
                    let piece = make(fit, *next_id);
                    debug_assert!({
                        m.commands.push(piece.clone());
                        let fits = !self.too_big(m, tail);
                        m.commands.pop();
                        fits
                    });
                    return Some(self.lay_chunk(m, next_id, unit, piece));
                }
            }
        }
        let (mut lo, mut hi) = (0usize, cap);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            m.commands.push(make(mid, *next_id));
            let fits = !self.too_big(m, tail);
            m.commands.pop();
            if fits { lo = mid } else { hi = mid - 1 }
        }
        if lo < remaining && lo < MIN_CHUNK {
            return None;
        }
        Some(self.lay_chunk(m, next_id, unit, make(lo, *next_id)))
    }

    /// Puts a chunk of `unit` into `m`; returns the offset reached.
    fn lay_chunk(&mut self, m: &mut Message, next_id: &mut u32, unit: &Unit, piece: Command) -> usize {
        let sent = single_data(&piece).map_or(0, Data::len);
        m.commands.push(piece);
        self.record([*next_id], &unit.refs[..unit.refs.len().min(1)]);
        *next_id += 1;
        unit.offset + sent
    }

    /// Encodes a composed message.
    pub fn encode(&self, m: &Message) -> Outgoing {
        Outgoing { body: codec::encode(m, self.encoding), content_type: self.encoding.content_type(), hmac: None }
    }

    /// Owes Alert 1225 for an object the peer left unfinished.
    pub fn no_end_of_data(&mut self, r: &Reassembly) {
        let item = Item { target: Some(Location::new(&r.uri)), ..Item::default() };
        let alert = Alert {
            cmd_id: 0,
            no_resp: false,
            cred: None,
            data: AlertCode::NO_END_OF_DATA,
            correlator: None,
            items: vec![item],
        };
        self.results.push_front(Unit { command: Command::Alert(alert), refs: vec![], offset: 0 });
    }

    /// The largest object this side takes: what it announced, within its limits.
    pub fn max_object(&self, limits: &crate::Limits) -> u64 {
        let own = self.announce.map_or(u64::MAX, |(_, obj)| obj);
        own.min(limits.max_object_size as u64)
    }
}

/// The commands sent, by `sent_key(MsgID, CmdID)`, sorted, with the caller's reference (0:
/// none): 12 bytes a command.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct SentLog {
    keys: Vec<u64>,
    refs: Vec<u32>,
}

impl SentLog {
    pub fn insert(&mut self, key: u64, reference: Option<CommandRef>) {
        let r = reference.map_or(0, |r| r.0);
        match self.keys.binary_search(&key) {
            Ok(i) => self.refs[i] = r,
            Err(i) => {
                self.keys.insert(i, key);
                self.refs.insert(i, r);
            }
        }
    }

    /// `None` when no such command was sent; else its reference, if it has one.
    pub fn get(&self, key: u64) -> Option<Option<CommandRef>> {
        let i = self.keys.binary_search(&key).ok()?;
        Some(Some(self.refs[i]).filter(|&r| r != 0).map(CommandRef))
    }

    /// Forgets the commands of message `msg_id` (they sort together).
    pub fn forget_message(&mut self, msg_id: u32) {
        let first = sent_key(msg_id, 0);
        let (start, end) =
            (self.keys.partition_point(|&k| k < first), self.keys.partition_point(|&k| k >> 32 <= u64::from(msg_id)));
        self.keys.drain(start..end);
        self.refs.drain(start..end);
    }

    fn reserve(&mut self, n: usize) {
        self.keys.reserve(n);
        self.refs.reserve(n);
    }

    /// A reference for each key, keys strictly increasing.
    fn consistent(&self) -> bool {
        self.keys.len() == self.refs.len() && self.keys.is_sorted_by(|a, b| a < b)
    }

    pub fn shrink_to_fit(&mut self) {
        self.keys.shrink_to_fit();
        self.refs.shrink_to_fit();
    }
}

/// The key of a sent command: MsgID and CmdID in one number (JSON maps need scalar keys).
pub(crate) fn sent_key(msg_id: u32, cmd_id: u32) -> u64 {
    (u64::from(msg_id) << 32) | u64::from(cmd_id)
}

/// A unit laid into the message being composed: from the results queue or not, and where its
/// command went when it went whole.
type Laid = (bool, Unit, Option<usize>);

/// What a unit holds once its command has moved into a message (nothing is allocated).
fn taken() -> Command {
    Command::Sequence(Group::default())
}

/// Numbers a command and its members from `next` in pre-order, returning the CmdIDs used.
fn number(c: &mut Command, next: &mut u32) -> std::ops::Range<u32> {
    let first = *next;
    c.set_cmd_id(*next);
    *next += 1;
    if let Command::Atomic(g) | Command::Sequence(g) = c {
        for member in &mut g.commands {
            number(member, next);
        }
    }
    first..*next
}

/// A copy of a large-object command without its data.
fn without_data(c: &Command) -> Command {
    let strip = |items: &[Item]| -> Vec<Item> {
        items
            .iter()
            .map(|i| Item {
                target: i.target.clone(),
                source: i.source.clone(),
                source_parent: i.source_parent.clone(),
                target_parent: i.target_parent.clone(),
                meta: i.meta.clone(),
                data: None,
                more_data: i.more_data,
            })
            .collect()
    };
    match c {
        Command::Add(x) | Command::Replace(x) => {
            let stripped = ItemCommand {
                cmd_id: x.cmd_id,
                no_resp: x.no_resp,
                cred: x.cred.clone(),
                meta: x.meta.clone(),
                correlator: x.correlator.clone(),
                items: strip(&x.items),
            };
            if matches!(c, Command::Add(_)) { Command::Add(stripped) } else { Command::Replace(stripped) }
        }
        Command::Results(r) => Command::Results(Results {
            cmd_id: r.cmd_id,
            msg_ref: r.msg_ref,
            cmd_ref: r.cmd_ref,
            meta: r.meta.clone(),
            target_ref: r.target_ref.clone(),
            source_ref: r.source_ref.clone(),
            items: strip(&r.items),
        }),
        other => other.clone(),
    }
}

fn single_item(c: &mut Command) -> Option<&mut Item> {
    let items = match c {
        Command::Add(x) | Command::Replace(x) => &mut x.items,
        Command::Results(x) => &mut x.items,
        _ => return None,
    };
    if items.len() == 1 { items.first_mut() } else { None }
}

/// The bytes of data and URIs `command` carries (its members' for a group): what makes a
/// command large.
fn payload(command: &Command) -> usize {
    let uris = |it: &Item| [&it.target, &it.source].into_iter().flatten().map(|l| l.uri.len()).sum::<usize>();
    match command {
        Command::Atomic(g) | Command::Sequence(g) => g.commands.iter().map(payload).sum(),
        c => c.items().iter().map(|it| it.data_len() + uris(it)).sum(),
    }
}

/// The data of a command that may travel as a large object: Add, Replace or Results with one
/// item that has data.
fn single_data(c: &Command) -> Option<&Data> {
    match c {
        Command::Add(x) | Command::Replace(x) if x.items.len() == 1 => x.items[0].data.as_ref(),
        Command::Results(x) if x.items.len() == 1 => x.items[0].data.as_ref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statuses whose TargetRefs share whole strings, words and URI prefixes: with the 31st, the
    /// WBXML message grows by 26 bytes more than that status's own bound (the string table is
    /// chosen anew), so a message laid on estimates can come out over MaxMsgSize.
    const REFS: [&str; 31] = [
        "qq",
        "epsilon zeta x",
        "Node",
        "./Vendor/Acme/Settings/longer-value-here",
        "./DevInfo/./DevInfo/",
        "./Vendor/Acme/Settings/ wxyz",
        "./Vendor/Acme/Settings/abcd",
        "abcd efgh ./Vendor/Acme/Settings/",
        "longer-value-here./Vendor/Acme/Settings/",
        "abcd wxyz",
        "longer-value-here",
        "./A/B/C/D/./Vendor/Acme/",
        " wxyzab",
        "./A/B/C/D/longer-value-here",
        "./Vendor/Acme/Settings/ab",
        "epsilon zeta ./Vendor/Acme/Settings/",
        "Node wxyz",
        "abepsilon zeta ",
        "longer-value-here",
        "Nodeab",
        "x",
        "ab",
        "epsilon zeta ./DevInfo/",
        "abqq",
        "epsilon zeta x",
        "epsilon zeta ./A/B/C/D/",
        "longer-value-here./Vendor/Acme/",
        "longer-value-here./Vendor/Acme/",
        "Node wxyz",
        "abcdabcd efgh ",
        "./Vendor/Acme/Settings/longer-value-here",
    ];

    fn core_owing(refs: &[&str], max: u64) -> Core {
        let (local, remote) = (Location::new("IMEI:1"), Location::new("http://dm"));
        let mut core = Core::new("1".into(), local, remote, Encoding::Wbxml, State::Ready);
        core.peer_max_msg = Some(max);
        core.statuses = refs
            .iter()
            .enumerate()
            .map(|(i, r)| Status {
                cmd_id: 0,
                msg_ref: Some(1),
                cmd_ref: Some(i as u32 + 1),
                cmd: Status::cmd_name("Get"),
                target_refs: vec![r.to_string()],
                source_refs: vec![],
                cred: None,
                chal: None,
                data: StatusCode::OK,
                items: vec![],
            })
            .collect();
        core
    }

    /// Past its bound a WBXML message is laid on estimates of its size, not sized in full at
    /// every command; the message laid is checked in full, and laid again leaving a margin when
    /// an estimate let in too much: whatever MaxMsgSize, the message fits, and it holds as many
    /// statuses as sizing each in full lets in, or one fewer where a margin had to be left.
    #[test]
    fn a_wbxml_message_laid_on_estimates_fits_and_holds_what_strict_sizing_would() {
        let mut overs = 0;
        for max in 400..1800 {
            let mut core = core_owing(&REFS, max);
            let (m, _) = core.compose(Compose::Package, usize::MAX).unwrap();
            assert!(codec::encoded_len(&m, Encoding::Wbxml) as u64 <= max, "MaxMsgSize {max}");
            let mut strict = core_owing(&REFS, max);
            strict.laid_len.set(LaidLen { margin: u32::MAX, ..LaidLen::default() });
            let (s, _) = strict.compose(Compose::Package, usize::MAX).unwrap();
            assert!(m.commands.len() + 1 >= s.commands.len(), "MaxMsgSize {max}");
            // How often laying on estimates alone would have gone over.
            let mut loose = core_owing(&REFS, max);
            let mut laid = Vec::new();
            let mut lm = Message { header: loose.header(), commands: vec![], is_final: false };
            loose.lay_out(Compose::Package, usize::MAX, &mut lm, &mut laid).unwrap();
            overs += usize::from(codec::encoded_len(&lm, Encoding::Wbxml) as u64 > max);
        }
        assert!(overs > 0, "no MaxMsgSize where estimates alone go over: the check is untested");
    }

    /// R01 by count: a message holds at most `max_commands` commands, the 1222 tail and the
    /// members of a group counted; what does not fit waits for the next message.
    #[test]
    fn r01_a_message_holds_no_more_commands_than_max_commands() {
        let mut core = core_owing(&REFS, 1 << 20);
        let (m, done) = core.compose(Compose::Package, 7).unwrap();
        assert_eq!((m.commands.len(), done, core.statuses.len()), (7, false, REFS.len() - 7));
        let (m, _) = core_owing(&REFS, 1 << 20).compose(Compose::NextMessage, 7).unwrap();
        assert_eq!(m.commands.len(), 7, "six statuses and the 1222");
        let get = || Command::Get(ItemCommand { items: vec![Item::default()], ..ItemCommand::default() });
        let group = Command::Sequence(Group { commands: vec![get(), get(), get(), get()], ..Group::default() });
        let mut core = core_owing(&REFS[..2], 1 << 20);
        for command in [get(), group, get()] {
            core.outbox.push_back(Unit { command, refs: vec![], offset: 0 });
        }
        // Two statuses, a Get, then a Sequence of four that would make eight: it waits.
        let (m, done) = core.compose(Compose::Package, 7).unwrap();
        assert_eq!((m.commands.len(), done, core.outbox.len()), (3, false, 2));
        let (m, done) = core.compose(Compose::Package, 7).unwrap();
        assert_eq!((m.commands.len(), done), (2, true));
    }
}
