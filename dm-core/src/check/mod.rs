//! The trace checker: a captured session in, every rule it breaks out, by rule id (RULES.md),
//! message index and a one-line reason; plus the spec's other MUSTs a trace shows: CmdIDs
//! present, unique and not 0 (`CmdID`), the SyncHdr status first (`SyncHdrFirst`),
//! Results after their Status (`ResultsOrder`), references to real commands (`Ref`), and Meta
//! where the defaults do not hold (`MetaDefaults`: data that is not character text needs a
//! Format, since the default is `chr`).
//! A trace of one message with SessionID 0 and no Alert is a bootstrap, not a session: it is
//! checked as a device takes one (`Bootstrap`: only Add and Replace, no chunk; `bootstrap::check`).
//! Of R07 a trace shows a message past the MaxMsgSize its receiver announced. R12 (no
//! timeouts), R13 (execution order), R18 (silent drops) and R23 (package 0) leave no mark in a
//! captured DM session, so the checker cannot see them.

mod cred;

use std::collections::{HashMap, HashSet};

use crate::codec::{self, DecodeOptions};
use crate::model::{AlertCode, Command, Data, Message, StatusCode, cmd_ids, misnumbered, refers_to};

pub use cred::{Secrets, credentials};

/// Who sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the client (packages 1 and 3).
    ClientToServer,
    /// From the server (packages 2 and 4).
    ServerToClient,
}

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `R01` ... `R22`, `Decode`, or one of the extra checks named in the module doc.
    pub rule: &'static str,
    /// Index of the message in the trace.
    pub msg_index: usize,
    /// What is wrong, in words.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} message {}: {}", self.rule, self.msg_index, self.detail)
    }
}

fn is_alert(c: &Command, code: AlertCode) -> bool {
    matches!(c, Command::Alert(a) if a.data == code)
}

/// Only Status and Alert 1222/1223: a "Next Message" response.
fn next_message_response(m: &Message) -> bool {
    m.commands.iter().all(Command::is_next_message_response)
}

/// The CmdIDs of `m` a Status may answer: all but its statuses' (R06).
fn answerable(m: &Message) -> impl Iterator<Item = u32> {
    cmd_ids(m.commands.iter().filter(|c| !matches!(c, Command::Status(_)))).into_iter()
}

/// Anything but Status and Alert 1222/1223: commands that ask for an answer.
fn new_commands(m: &Message) -> bool {
    !next_message_response(m)
}

/// An authentication challenge: a Status 401 or 407 with Chal, which asks for an answer (R10).
fn challenges(m: &Message) -> bool {
    let refused = [StatusCode::INVALID_CREDENTIALS, StatusCode::MISSING_CREDENTIALS];
    m.commands.iter().any(|c| matches!(c, Command::Status(s) if s.chal.is_some() && refused.contains(&s.data)))
}

fn aborts(m: &Message) -> bool {
    m.commands.iter().any(|c| is_alert(c, AlertCode::SESSION_ABORT))
}

/// A Status or Results of a trace, and the command it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Index in the trace of the message it is in.
    pub msg_index: usize,
    /// Its CmdID.
    pub cmd_id: u32,
    /// Index in the trace of the message holding the command answered, and that command's
    /// CmdID (0: the message's SyncHdr); `None` when the trace holds no such command.
    pub answers: Option<(usize, u32)>,
}

/// Decodes (leniently: the checker judges rules, not syntax) and checks a trace.
pub fn check(trace: &[(Direction, Vec<u8>)]) -> Vec<Violation> {
    check_with(trace, &[], &Secrets::default())
}

/// `check`, and `credentials` with `hmac` and `secrets` where they name a password,
/// the trace decoded once; in the order of the messages, a message's rules before its Creds.
pub fn check_with(trace: &[(Direction, Vec<u8>)], hmac: &[Option<String>], secrets: &Secrets) -> Vec<Violation> {
    let (messages, mut out) = decode_trace(trace);
    out.extend(check_messages(&messages));
    out.extend(oversized(trace, &messages));
    if secrets.client.is_some() || secrets.server.is_some() || secrets.client_lookup.is_some() {
        out.extend(cred::judge(trace, &messages, hmac, secrets));
    }
    out.sort_by_key(|v| v.msg_index);
    out
}

/// R07's mark on a trace: a message larger than the MaxMsgSize its receiver announced last.
fn oversized(trace: &[(Direction, Vec<u8>)], messages: &[(usize, Direction, Message)]) -> Vec<Violation> {
    let (mut by_client, mut by_server) = (None, None);
    let mut out = Vec::new();
    for (i, d, m) in messages {
        let (mine, theirs) = match d {
            Direction::ClientToServer => (&mut by_client, by_server),
            Direction::ServerToClient => (&mut by_server, by_client),
        };
        let len = trace[*i].1.len() as u64;
        if let Some(max) = theirs.filter(|max| len > *max) {
            let detail = format!("a message of {len} bytes, past the MaxMsgSize {max} its receiver announced");
            out.push(Violation { rule: "R07", msg_index: *i, detail });
        }
        if let Some(n) = m.header.meta.as_ref().and_then(|meta| meta.max_msg_size) {
            *mine = Some(n);
        }
    }
    out
}

/// Decodes a trace as `check` does and pairs its answers (`answers`); a message that does not
/// decode answers nothing, and holds nothing answered.
pub fn trace_answers(trace: &[(Direction, Vec<u8>)]) -> Vec<Answer> {
    answers(&decode_trace(trace).0)
}

/// The messages of a trace that decode, each with its index, and a `Decode` violation for each
/// that does not.
fn decode_trace(trace: &[(Direction, Vec<u8>)]) -> (Vec<(usize, Direction, Message)>, Vec<Violation>) {
    let mut out = Vec::new();
    let mut messages = Vec::new();
    for (i, (d, body)) in trace.iter().enumerate() {
        match codec::decode_with(body, &DecodeOptions::lenient()) {
            Ok(m) => messages.push((i, *d, m)),
            Err(e) => out.push(Violation { rule: "Decode", msg_index: i, detail: e.to_string() }),
        }
    }
    (messages, out)
}

/// Pairs every Status and Results of decoded messages (each with its index in the trace) with
/// the command it answers: the peer's by MsgRef (without one, `model::refers_to`) and CmdRef.
pub fn answers(messages: &[(usize, Direction, Message)]) -> Vec<Answer> {
    let mut out = Vec::new();
    let mut client = Side::default();
    let mut server = Side::default();
    // Where each side's messages are in the trace, by MsgID.
    let (mut client_at, mut server_at) = (HashMap::new(), HashMap::new());
    for (i, d, m) in messages {
        let (me, peer, my_at, peer_at) = match d {
            Direction::ClientToServer => (&mut client, &server, &mut client_at, &server_at),
            Direction::ServerToClient => (&mut server, &client, &mut server_at, &client_at),
        };
        for c in &m.commands {
            let (cmd_id, msg_ref, cmd_ref) = match c {
                Command::Status(s) => (s.cmd_id, s.msg_ref, s.cmd_ref),
                Command::Results(r) => (r.cmd_id, r.msg_ref, Some(r.cmd_ref)),
                _ => continue,
            };
            let answers = cmd_ref.and_then(|r| {
                let msg = peer.answered_msg(msg_ref, r);
                let at = *peer_at.get(&msg)?;
                (r == 0 || peer.sent.contains(&(msg, r))).then_some((at, r))
            });
            out.push(Answer { msg_index: *i, cmd_id, answers });
        }
        me.sent.extend(answerable(m).map(|id| (m.header.msg_id, id)));
        me.msg_id = m.header.msg_id;
        my_at.insert(m.header.msg_id, *i);
    }
    out
}

#[derive(Default)]
struct Side {
    msg_id: u32,
    /// Its package is open: it sent a message of it without Final.
    open: bool,
    sent: HashSet<(u32, u32)>,
    /// (MsgRef, CmdRef) of every Status it sent: Results must come after their Status.
    answered: HashSet<(u32, u32)>,
}

impl Side {
    /// The MsgID of this side's message the other's Status or Results for `cmd_ref` refers to.
    fn answered_msg(&self, msg_ref: Option<u32>, cmd_ref: u32) -> u32 {
        refers_to(msg_ref, self.msg_id, |m| self.sent.contains(&(m, cmd_ref)))
    }
}

/// Checks decoded messages, each with its index in the trace.
pub fn check_messages(messages: &[(usize, Direction, Message)]) -> Vec<Violation> {
    if let [(i, _, m)] = messages
        && is_bootstrap(m)
    {
        let broken = crate::bootstrap::check(m).err();
        return broken.map(|e| Violation { rule: "Bootstrap", msg_index: *i, detail: e.reason }).into_iter().collect();
    }
    let mut out = Vec::new();
    let mut v = |rule: &'static str, i: usize, detail: String| out.push(Violation { rule, msg_index: i, detail });
    let mut client = Side::default();
    let mut server = Side::default();
    let session = messages.first().map(|(_, _, m)| m.header.session_id.clone());
    let mut prev: Option<(Direction, &Message)> = None;
    // The client's Alerts (MsgID, CmdID) the server has not answered yet (R21).
    let mut unanswered: Vec<(u32, u32)> = Vec::new();
    // Whether the server's package so far, and its last whole one, challenged the client (R10).
    let (mut challenging, mut challenged) = (false, false);
    for (i, d, m) in messages {
        let (i, d) = (*i, *d);
        let h = &m.header;
        let (me, peer) = match d {
            Direction::ClientToServer => (&mut client, &mut server),
            Direction::ServerToClient => (&mut server, &mut client),
        };
        // R19: versions, one SessionID, MsgIDs 1, 2, 3... per sender.
        if h.version().is_none() {
            v("R19", i, format!("VerDTD {:?} VerProto {:?}", h.ver_dtd, h.ver_proto));
        }
        if Some(&h.session_id) != session.as_ref() {
            v("R19", i, format!("SessionID {:?} changed", h.session_id));
        }
        if h.msg_id != me.msg_id + 1 {
            v("R19", i, format!("MsgID {} where {} was due", h.msg_id, me.msg_id + 1));
        }
        me.msg_id = h.msg_id;
        // The spec's other MUSTs on every message.
        if let Some((id, why)) = misnumbered(&m.commands) {
            v("CmdID", i, format!("{why}: {id}"));
        }
        let statuses: Vec<usize> =
            m.commands.iter().enumerate().filter(|(_, c)| matches!(c, Command::Status(_))).map(|(k, _)| k).collect();
        if let Some(&first) = statuses.first() {
            if prev.is_some() {
                let Command::Status(s) = &m.commands[first] else { unreachable!() };
                if s.cmd != "SyncHdr" {
                    v("SyncHdrFirst", i, format!("the first Status is for {} ", s.cmd));
                }
            }
        }
        for c in &m.commands {
            match c {
                Command::Status(s) => {
                    match s.cmd_ref {
                        None => v("Ref", i, format!("Status {} for {} without CmdRef", s.cmd_id, s.cmd)),
                        Some(0) if s.cmd != "SyncHdr" => v("Ref", i, format!("CmdRef 0 for {}", s.cmd)),
                        Some(0) => {
                            let msg_ref = peer.answered_msg(s.msg_ref, 0);
                            if msg_ref == 0 || msg_ref > peer.msg_id {
                                v("Ref", i, format!("Status for the SyncHdr of message {msg_ref}, never sent"));
                            }
                        }
                        Some(r) => {
                            let msg_ref = peer.answered_msg(s.msg_ref, r);
                            if !peer.sent.contains(&(msg_ref, r)) {
                                v("Ref", i, format!("Status for MsgRef {msg_ref} CmdRef {r}, never sent"));
                            }
                        }
                    }
                    if let Some(r) = s.cmd_ref {
                        me.answered.insert((peer.answered_msg(s.msg_ref, r), r));
                    }
                    if s.cmd == "Status" || (s.cmd == "Results" && s.data == StatusCode::OK) {
                        v("R06", i, format!("a {} Status for a {}", s.data.0, s.cmd));
                    }
                }
                Command::Results(r) => {
                    if !me.answered.contains(&(peer.answered_msg(r.msg_ref, r.cmd_ref), r.cmd_ref)) {
                        v(
                            "ResultsOrder",
                            i,
                            format!("Results for CmdRef {} before (or without) its Status", r.cmd_ref),
                        );
                    }
                    if r.items.iter().any(|it| it.source.is_none()) {
                        v("R22", i, format!("Results {} has an Item without Source", r.cmd_id));
                    }
                }
                _ => {}
            }
        }
        me.sent.extend(answerable(m).map(|id| (h.msg_id, id)));
        // Rules of the flow, message by message.
        if aborts(m) && !m.is_final {
            v("R15", i, "Alert 1223 without Final".into());
        }
        if d == Direction::ClientToServer {
            let alerts = m.commands.iter().filter(|c| matches!(c, Command::Alert(_)));
            unanswered.extend(alerts.map(|a| (h.msg_id, a.cmd_id())));
            if let Some(c) = m.commands.iter().find(|c| {
                !matches!(c, Command::Replace(_) | Command::Results(_) | Command::Alert(_) | Command::Status(_))
            }) {
                v("R14", i, format!("the client sent {}", c.name()));
            }
            if h.msg_id == 1 {
                let opens = m.commands.iter().any(|c| {
                    is_alert(c, AlertCode::CLIENT_INITIATED_MGMT) || is_alert(c, AlertCode::SERVER_INITIATED_MGMT)
                });
                if !opens {
                    v("R20", i, "package 1 without Alert 1200 or 1201".into());
                }
                let devinfo = m.commands.iter().any(|c| matches!(c, Command::Replace(x) if !x.items.is_empty() && x.items.iter().all(|it| it.source.is_some())));
                if !devinfo {
                    v("R20", i, "package 1 without a Replace of DevInfo (Items with Source)".into());
                }
            }
        } else {
            // Statuses for the client's Alerts may span the server's messages; its package
            // ends with all of them given.
            unanswered.retain(|&(msg, id)| {
                !m.commands.iter().any(|c| {
                    matches!(c, Command::Status(s) if s.cmd_ref == Some(id) && peer.answered_msg(s.msg_ref, id) == msg)
                })
            });
            if m.is_final && !unanswered.is_empty() {
                v("R21", i, "no Status for a client Alert".into());
                unanswered.clear();
            }
            challenging |= challenges(m);
            if m.is_final {
                challenged = std::mem::take(&mut challenging);
            }
            if !m.commands.iter().any(|c| matches!(c, Command::Status(s) if s.cmd_ref == Some(0))) && prev.is_some() {
                v("R21", i, "no Status for the client's SyncHdr".into());
            }
            if peer.open && new_commands(m) && !aborts(m) {
                v("R05", i, "new server commands while the client's package is open".into());
                v("R08", i, "new commands outside state 2".into());
            }
        }
        if let Some((pd, pm)) = prev {
            if pd == d {
                if d == Direction::ClientToServer {
                    v("R11", i, "a second client message without a server answer between".into());
                }
            } else {
                // The previous message was the peer's: what this one answers.
                // Asking for the next message of a package whose last message had Final: the
                // Final came before the package ended.
                let asks_more =
                    m.commands.iter().any(|c| is_alert(c, AlertCode::NEXT_MESSAGE)) && next_message_response(m);
                if asks_more && pm.is_final && !aborts(pm) && !me.open {
                    v("R01", i, "asks for more of a package whose message had Final".into());
                }
                if aborts(pm) && d == Direction::ClientToServer {
                    v("R17", i, "the client answered Alert 1223".into());
                }
                if aborts(pm) && d == Direction::ServerToClient && new_commands(m) {
                    v("R16", i, "the server answered Alert 1223 with new commands".into());
                }
                if d == Direction::ClientToServer && pm.is_final && !aborts(pm) && !me.open {
                    let only_status = pm.commands.iter().all(|c| matches!(c, Command::Status(_)));
                    if only_status && !peer.open && !challenged {
                        v("R09", i, "the client answered a server package that held only Status".into());
                    }
                }
                if peer.open && !pm.is_final && !me.open {
                    // The peer is in the middle of its package: ask for more (R03).
                    let asks = m.commands.iter().any(|c| is_alert(c, AlertCode::NEXT_MESSAGE)) || new_commands(m);
                    if !asks && !aborts(m) {
                        v("R03", i, "no Alert 1222 after an unfinished package".into());
                    }
                    if m.is_final && !aborts(m) {
                        v("R02", i, "Final while the peer's package is still open".into());
                    }
                    if !me.open && !next_message_response(m) {
                        v("R04", i, "a Next Message response with other commands".into());
                    }
                    if !me.open && m.is_final && !aborts(m) {
                        v("R04", i, "a Next Message response with Final".into());
                    }
                }
            }
        }
        for detail in meta_defaults(&m.commands) {
            v("MetaDefaults", i, detail);
        }
        // Whose package is open after this message.
        if m.is_final {
            me.open = false;
        } else if !next_message_response(m) || me.open || !peer.open {
            me.open = true;
        }
        prev = Some((d, m));
    }
    // R10: a server package that asks for an answer gets one; R11: a client message gets one.
    if let Some((i, d, m)) = messages.last() {
        if *d == Direction::ServerToClient && m.is_final && (new_commands(m) || challenged) && !aborts(m) {
            v("R10", *i, "the session ends on a server package that needs an answer".into());
        }
        if *d == Direction::ClientToServer && !aborts(m) {
            v("R11", *i, "the last client message got no answer".into());
        }
    }
    out
}

/// Items whose data is not character text (an embedded document, binary data) with no Meta
/// Format, on the item or its command: the default, `chr`, says text [META].
fn meta_defaults(cmds: &[Command]) -> Vec<String> {
    let mut out = Vec::new();
    for c in cmds {
        let (meta, items) = match c {
            Command::Add(x) | Command::Replace(x) | Command::Exec(x) => (x.meta.as_deref(), &x.items),
            Command::Results(r) => (r.meta.as_deref(), &r.items),
            Command::Atomic(g) | Command::Sequence(g) => {
                out.extend(meta_defaults(&g.commands));
                continue;
            }
            _ => continue,
        };
        for item in items {
            let format = item.meta.as_deref().or(meta).and_then(|m| m.format.as_deref());
            let what = match (&item.data, format) {
                (Some(Data::Xml(_)), None) => "an embedded document",
                (Some(Data::Binary(_)), None) => "binary data",
                _ => continue,
            };
            let uri = item.target.as_ref().or(item.source.as_ref()).map_or("", |l| l.uri.as_str());
            out.push(format!(
                "{} {} item {uri}: {what} without a Meta Format (the default is chr)",
                c.name(),
                c.cmd_id()
            ));
        }
    }
    out
}

/// A bootstrap rather than a session's first message: SessionID 0 (DM Bootstrap's) and no
/// Alert (a session's package 1 opens with one).
fn is_bootstrap(m: &Message) -> bool {
    m.header.session_id == "0" && !m.commands.iter().any(|c| matches!(c, Command::Alert(_)))
}

/// Tells the direction of each message of a trace without one: the first message is the
/// client's, and so is every message from the same Source.
pub fn infer_directions(bodies: Vec<Vec<u8>>) -> Vec<(Direction, Vec<u8>)> {
    let source = |b: &[u8]| codec::decode_with(b, &DecodeOptions::lenient()).ok().map(|m| m.header.source.uri);
    let client = bodies.first().and_then(|b| source(b));
    bodies
        .into_iter()
        .map(|b| {
            let d = if source(&b) == client { Direction::ClientToServer } else { Direction::ServerToClient };
            (d, b)
        })
        .collect()
}
