//! The server engine: answers every client message (R11), sends new commands only when the
//! client's package is complete (R05, R08), and reports what the client answered as events.

use std::collections::VecDeque;
use std::sync::Arc;

use base64::Engine;

use super::chunk::{Chunk, Reassembly};
use super::core::{Compose, Core, Unit, sent_key};
use super::{CommandRef, Event, Outgoing, State, Wire};
use crate::auth::{self, AuthType, Credentials};
use crate::codec::Encoding;
use crate::error::{AuthError, Error, RemoteError, UsageError};
use crate::model::*;

/// How a server session behaves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The server id (DMAcc ServerID), the name client ACLs use.
    pub server_id: String,
    /// Encoding, announced sizes, limits, strictness.
    pub wire: Wire,
    /// What the client must authenticate with (`None`: anyone).
    pub auth: AuthType,
    /// The client's credentials: a fixed pair ...
    pub client_credentials: Option<Credentials>,
    /// ... or a lookup of the password by user name (Cred's user, or Source/LocName).
    pub lookup: Option<PasswordLookup>,
    /// The nonce the client digests with now (md5, HMAC), as given it in an earlier session.
    pub client_nonce: Vec<u8>,
    /// Where fresh nonces come from (16 bytes or more from the OS random source); dm-core has no
    /// randomness of its own. Needed for md5 and HMAC challenges.
    pub nonce_source: Option<NonceSource>,
    /// Failed attempts allowed before the session ends (default 3).
    pub max_auth_attempts: u32,
    /// The server's own Cred for the client (basic or md5), sent in its first message, and the
    /// nonce the client gave for it.
    pub credentials: Option<(AuthType, Credentials)>,
    /// Where the client is to send its next messages (SyncHdr RespURI in every answer), e.g.
    /// a URL that names this session for a fleet of front ends.
    pub resp_uri: Option<String>,
    /// The nonce the client gave for the server's Cred (md5, HMAC) in the last session.
    pub server_nonce: Vec<u8>,
}

type LookupFn = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Finds a client's password by user name.
#[derive(Clone)]
pub struct PasswordLookup(pub std::sync::Arc<LookupFn>);

/// Gives a fresh nonce.
#[derive(Clone)]
pub struct NonceSource(pub std::sync::Arc<dyn Fn() -> Vec<u8> + Send + Sync>);

impl std::fmt::Debug for PasswordLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordLookup(..)")
    }
}

#[cfg(feature = "os-nonce")]
impl NonceSource {
    /// 16 bytes a nonce from /dev/urandom; where it cannot be read, from the per-process keys
    /// the standard library seeds from the OS for its hash maps, never a fixed value.
    pub fn os() -> NonceSource {
        NonceSource(std::sync::Arc::new(|| {
            use std::io::Read;
            let mut n = vec![0u8; 16];
            let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut n));
            if read.is_err() {
                use std::hash::{BuildHasher, Hasher};
                let word = || std::collections::hash_map::RandomState::new().build_hasher().finish().to_le_bytes();
                n = [word(), word()].concat();
            }
            n
        }))
    }
}

impl std::fmt::Debug for NonceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceSource(..)")
    }
}

impl ServerConfig {
    /// A configuration with no authentication and the default wire settings.
    pub fn new(server_id: impl Into<String>) -> Self {
        ServerConfig {
            server_id: server_id.into(),
            wire: Wire::default(),
            auth: AuthType::None,
            client_credentials: None,
            lookup: None,
            client_nonce: Vec::new(),
            nonce_source: None,
            max_auth_attempts: 3,
            credentials: None,
            resp_uri: None,
            server_nonce: Vec::new(),
        }
    }

    fn password_of(&self, user: &str) -> Option<Credentials> {
        match (&self.client_credentials, &self.lookup) {
            (Some(c), _) if c.username == user => Some(c.clone()),
            (_, Some(l)) => l.0(user).map(|p| Credentials::new(user, p)),
            _ => None,
        }
    }
}

/// The outcome of checking a client message's credentials.
enum AuthCheck {
    /// Accepted: SyncHdr status 212 (or 200 once authenticated, and always with HMAC).
    Accepted(StatusCode),
    /// 401 (wrong) or 407 (missing), with a challenge.
    Challenge(StatusCode),
}

/// A server session: queue commands, take events.
#[derive(Debug)]
pub struct ServerSession {
    saved: Saved,
    /// Shared by every session of a server (`Arc`): a session at rest holds no copy of it.
    config: Arc<ServerConfig>,
}

/// Everything a server session is between two messages (what `snapshot` keeps).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Saved {
    core: Core,
    devinfo: Pairs,
    /// Open Sequence/Atomic groups, innermost last.
    groups: Vec<Unit>,
    /// The client sent Alert 1223: answer with statuses only, then the session is over (R16).
    peer_aborted: bool,
    authenticated: bool,
    auth_failures: u32,
    /// The nonce the client's next digest must use.
    nonce: Box<[u8]>,
    /// The nonce sent for the client's next session (md5), for the caller to keep.
    next_nonce: Option<Box<[u8]>>,
    /// This answer challenges the client: it holds no new commands and does not end the session.
    challenging: bool,
    /// Authentication failed past the attempts allowed: the answer ends the session.
    auth_failed: bool,
    /// The nonce this server signs its next HMAC with (the client's last challenge).
    sign_nonce: Box<[u8]>,
    /// The client accepted this server's credentials.
    server_verified: bool,
    /// Messages of this server the client challenged.
    server_failures: u32,
    /// Until the client accepts this server's credentials: what the outbox held before the
    /// last message, and how many of those units it still holds, to send them again.
    resend: Option<Box<(VecDeque<Unit>, usize)>>,
}

impl Saved {
    fn check_restored(&self) -> Result<(), &'static str> {
        self.core.check_restored()?;
        Unit::check_restored(self.groups.iter().chain(self.resend.iter().flat_map(|r| &r.0)))?;
        if !self.devinfo.consistent() {
            return Err("DevInfo pairs outside their text");
        }
        Ok(())
    }
}

/// (key, value) string pairs in one string: a session at rest keeps the DevInfo in two
/// allocations, not two per node.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Pairs {
    text: String,
    /// Where each key and each value ends in `text`.
    ends: Vec<u32>,
}

impl Pairs {
    fn push(&mut self, key: &str, value: &str) {
        for s in [key, value] {
            self.text.push_str(s);
            self.ends.push(self.text.len() as u32);
        }
    }

    /// Every end inside `text`, on a character, in order.
    fn consistent(&self) -> bool {
        self.ends.len() % 2 == 0
            && self.ends.is_sorted()
            && self.ends.iter().all(|&e| self.text.is_char_boundary(e as usize))
    }

    fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.chunks_exact(2).map(move |e| {
            let (k, v) = (e[0] as usize, e[1] as usize);
            let pair = (&self.text[start..k], &self.text[k..v]);
            start = v;
            pair
        })
    }
}

/// An item from the client as the device holds it: data sent as base64 (Format `b64`, on the
/// item or its command) decoded, under Format `bin`, as the client decodes what a server sends;
/// so events are the same in either encoding. Data that is not base64 is left as it came.
fn as_held(mut item: Item, command_meta: Option<&Meta>) -> Item {
    let formats = [item.meta.as_deref(), command_meta].map(|m| m.and_then(|m| m.format.as_deref()));
    if formats[0].or(formats[1]) != Some("b64") {
        return item;
    }
    let Some(bytes) = item.data.as_ref().and_then(|d| super::from_b64(d.as_bytes())) else { return item };
    item.data = Some(Data::Binary(bytes));
    item.meta.get_or_insert_default().format = Some("bin".into());
    item
}

fn held_items(items: &mut Vec<Item>) -> Vec<Item> {
    std::mem::take(items).into_iter().map(|i| as_held(i, None)).collect()
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

impl ServerSession {
    /// A session waiting for the client's package 1. Pass an `Arc<ServerConfig>` to share one
    /// configuration between many sessions.
    pub fn new(config: impl Into<Arc<ServerConfig>>) -> ServerSession {
        let config = config.into();
        let mut core =
            Core::new(String::new(), Location::default(), Location::default(), config.wire.encoding, State::Waiting);
        core.configure(&config.wire);
        core.resp_uri = config.resp_uri.clone();
        core.cred =
            config.credentials.as_ref().and_then(|(t, c)| auth::cred(*t, c, &config.server_nonce)).map(Box::new);
        let nonce = config.client_nonce.clone();
        let saved = Saved {
            core,
            devinfo: Pairs::default(),
            groups: Vec::new(),
            peer_aborted: false,
            authenticated: config.auth == AuthType::None,
            auth_failures: 0,
            nonce: nonce.into(),
            next_nonce: None,
            challenging: false,
            auth_failed: false,
            sign_nonce: config.server_nonce.clone().into(),
            server_verified: false,
            server_failures: 0,
            resend: None,
        };
        ServerSession { saved, config }
    }

    /// Where the session is (`Waiting` for the client's message at first).
    pub fn state(&self) -> State {
        self.saved.core.state
    }

    /// The content type of this session's messages, for the HTTP header.
    pub fn content_type(&self) -> &'static str {
        self.saved.core.encoding.content_type()
    }

    /// The client's DevInfo from package 1, as (URI, value).
    pub fn devinfo(&self) -> impl Iterator<Item = (&str, &str)> {
        self.saved.devinfo.iter()
    }

    /// The SessionID the client chose.
    pub fn session_id(&self) -> &str {
        &self.saved.core.session_id
    }

    /// The device id (the client's SyncHdr Source).
    pub fn device_id(&self) -> &str {
        &self.saved.core.remote.uri
    }

    /// The configuration the session was created (or restored) with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Finds client passwords with `lookup` from now on (`ServerConfig::lookup`), for a caller
    /// that sets it once the session exists (the C ABI).
    pub fn set_password_lookup(&mut self, lookup: PasswordLookup) {
        Arc::make_mut(&mut self.config).lookup = Some(lookup);
    }

    /// The session as bytes, to be restored (in this or another process) with `restore`.
    pub fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(&self.saved).unwrap_or_default()
    }

    /// A session from `snapshot` bytes; the configuration is not in them. Bytes that are not a
    /// snapshot, or that hold what no session holds (a store corrupted or tampered with them),
    /// are a `UsageError`.
    pub fn restore(data: &[u8], config: impl Into<Arc<ServerConfig>>) -> Result<ServerSession, Error> {
        let config = config.into();
        let not_a_snapshot = |why: &dyn std::fmt::Display| UsageError(format!("not a server session snapshot: {why}"));
        let saved: Saved = serde_json::from_slice(data).map_err(|e| not_a_snapshot(&e))?;
        saved.check_restored().map_err(|why| not_a_snapshot(&why))?;
        Ok(ServerSession { saved, config })
    }

    /// The nonce given the client for its next session (md5; with HMAC the last one given): keep
    /// it for `client_nonce`.
    pub fn next_client_nonce(&self) -> Option<&[u8]> {
        self.saved.next_nonce.as_deref()
    }

    /// The nonce the client gave this server for its next Cred (its last challenge, or the
    /// next-session nonce that came with 212): keep it for `ServerConfig::server_nonce`.
    pub fn next_server_nonce(&self) -> &[u8] {
        &self.saved.sign_nonce
    }

    /// Takes a client message. A refused message leaves the session as it was.
    pub fn receive(&mut self, body: &[u8]) -> Result<Vec<Event>, Error> {
        self.receive_with_hmac(body, None)
    }

    /// Takes a client message and its `x-syncml-hmac` header, if it came with one.
    pub fn receive_with_hmac(&mut self, body: &[u8], hmac: Option<&str>) -> Result<Vec<Event>, Error> {
        let m = self.saved.core.check(body, &self.config.wire.limits)?;
        self.check(&m)?;
        let verdict = self.authenticate(&m, body, hmac)?;
        Ok(self.apply(m, verdict))
    }

    fn fresh_nonce(&self) -> Result<Vec<u8>, Error> {
        match &self.config.nonce_source {
            Some(src) => Ok(src.0()),
            None => Err(UsageError("md5 and HMAC need ServerConfig::nonce_source".into()).into()),
        }
    }

    /// Whether `m` asks for the rest of this server's challenge, which took more than one
    /// message: statuses and Alert 1222 alone (R03, R04).
    fn asks_rest_of_challenge(&self, m: &Message) -> bool {
        self.saved.challenging
            && self.saved.core.our_open
            && m.commands.iter().all(|c| {
                matches!(c, Command::Status(_)) || matches!(c, Command::Alert(a) if a.data == AlertCode::NEXT_MESSAGE)
            })
    }

    /// The SyncHdr status this message earns, by the client's Cred or HMAC header.
    fn authenticate(&self, m: &Message, body: &[u8], hmac: Option<&str>) -> Result<AuthCheck, Error> {
        let auth = self.config.auth;
        if auth == AuthType::None {
            return Ok(AuthCheck::Accepted(StatusCode::OK));
        }
        if auth == AuthType::Hmac {
            let Some(value) = hmac else {
                return Ok(AuthCheck::Challenge(StatusCode::MISSING_CREDENTIALS));
            };
            let header =
                auth::parse_hmac_header(value).ok_or_else(|| AuthError("malformed x-syncml-hmac header".into()))?;
            let ok = self
                .config
                .password_of(&header.username)
                .is_some_and(|c| auth::verify_hmac(value, &c, &self.saved.nonce, body));
            return Ok(if ok {
                AuthCheck::Accepted(StatusCode::OK)
            } else {
                AuthCheck::Challenge(StatusCode::INVALID_CREDENTIALS)
            });
        }
        if self.saved.authenticated {
            return Ok(AuthCheck::Accepted(StatusCode::OK));
        }
        // Asking for the rest of this server's challenge needs no credentials: nothing runs, and
        // nothing new is sent (R03).
        if m.header.cred.is_none() && self.asks_rest_of_challenge(m) {
            return Ok(AuthCheck::Accepted(StatusCode::OK));
        }
        let Some(cred) = &m.header.cred else { return Ok(AuthCheck::Challenge(StatusCode::MISSING_CREDENTIALS)) };
        let user =
            auth::claimed_user(m, cred).or_else(|| self.config.client_credentials.as_ref().map(|c| c.username.clone()));
        let ok = user
            .and_then(|u| self.config.password_of(&u))
            .is_some_and(|c| auth::verify_cred(cred, auth, &c, &self.saved.nonce));
        Ok(if ok {
            AuthCheck::Accepted(StatusCode::AUTHENTICATION_ACCEPTED)
        } else {
            AuthCheck::Challenge(StatusCode::INVALID_CREDENTIALS)
        })
    }

    fn check(&self, m: &Message) -> Result<(), Error> {
        let core = &self.saved.core;
        if core.peer_msg_id == 0 {
            let opens = m.commands.iter().any(|c| {
                matches!(c, Command::Alert(a) if matches!(a.data, AlertCode::CLIENT_INITIATED_MGMT | AlertCode::SERVER_INITIATED_MGMT))
            });
            if !opens {
                return Err(RemoteError::in_message(
                    "R20",
                    m,
                    (None, "SyncBody"),
                    "package 1 without Alert 1200 or 1201".into(),
                ));
            }
        }
        let allowed = |c: &&Command| {
            matches!(c, Command::Alert(_) | Command::Replace(_) | Command::Status(_) | Command::Results(_))
        };
        if let Some(other) = m.commands.iter().find(|c| !allowed(c)) {
            let why = format!("a client may send Replace, Results, Alert and Status, not {}", other.name());
            return Err(RemoteError::in_message("R14", m, (Some(other.cmd_id()), other.name()), why));
        }
        Ok(())
    }

    fn apply(&mut self, mut m: Message, verdict: AuthCheck) -> Vec<Event> {
        let mut events = Vec::with_capacity(m.commands.len() + 1);
        let auth = self.config.auth;
        // A new nonce for every challenge, for every HMAC message, and for the next md5 session.
        let nonce = match (&verdict, auth) {
            (_, AuthType::None | AuthType::Basic) => None,
            (AuthCheck::Challenge(_), _) | (_, AuthType::Hmac) => self.fresh_nonce().ok(),
            (AuthCheck::Accepted(code), AuthType::Md5) if *code == StatusCode::AUTHENTICATION_ACCEPTED => {
                self.fresh_nonce().ok()
            }
            _ => None,
        };
        let chal = match &verdict {
            AuthCheck::Challenge(_) => auth::chal(auth, nonce.as_deref().unwrap_or(&self.saved.nonce)),
            AuthCheck::Accepted(_) => nonce.as_deref().and_then(|n| auth::chal(auth, n)),
        };
        let asks_rest = self.asks_rest_of_challenge(&m);
        let saved = &mut self.saved;
        let core = &mut saved.core;
        if core.peer_msg_id == 0 {
            core.session_id = m.header.session_id.clone();
            core.remote = Location::new(&m.header.source.uri);
            core.local = Location::new(&m.header.target.uri);
        }
        let code = match verdict {
            AuthCheck::Accepted(c) | AuthCheck::Challenge(c) => c,
        };
        core.take_header(&m, code, chal);
        core.state = State::Ready;
        let msg_id = m.header.msg_id;
        // The client asks for the rest of a challenge that took more than one message (R03):
        // the rest, and still nothing new, whatever its credentials now.
        let rest_of_challenge = code.is_success() && asks_rest;
        saved.challenging = !code.is_success() || rest_of_challenge;
        if saved.challenging && !rest_of_challenge {
            // The package is answered with a status for every command and nothing else.
            saved.auth_failures += u32::from(code == StatusCode::INVALID_CREDENTIALS);
            if let Some(n) = nonce {
                saved.nonce = n.into();
            }
            for c in &m.commands {
                if !matches!(c, Command::Status(_) | Command::Results(_)) {
                    core.owe_status(msg_id, c, code, vec![], vec![]);
                }
            }
            if saved.auth_failures >= self.config.max_auth_attempts {
                saved.auth_failed = true;
                events.push(Event::AuthenticationFailed { code });
            }
            core.peer_open = false;
            return events;
        }
        // A request for the rest of a challenge without credentials proves nothing.
        let unproved = rest_of_challenge && code == StatusCode::OK && auth != AuthType::Hmac;
        if !saved.authenticated && !unproved {
            saved.authenticated = true;
            events.push(Event::Authenticated);
        }
        if let Some(n) = nonce {
            // With HMAC each answer's nonce signs the client's next message, in this session or
            // the next; with md5 it is for the next session.
            if auth == AuthType::Hmac {
                saved.nonce = n.clone().into();
            }
            saved.next_nonce = Some(n.into());
        }
        if rest_of_challenge {
            for c in m.commands.iter().filter(|c| matches!(c, Command::Alert(_))) {
                core.owe_status(msg_id, c, StatusCode::OK, vec![], vec![]);
            }
            return events;
        }
        let challenged = self.follow_client_verdict(&m, &mut events);
        let saved = &mut self.saved;
        let core = &mut saved.core;
        // The commands' contents move into the events.
        for mut c in std::mem::take(&mut m.commands) {
            match &mut c {
                // The client did not execute a challenged message's commands: they go again.
                Command::Status(s) if Some(core.answered_msg(s.msg_ref, s.cmd_ref.unwrap_or(0))) == challenged => {}
                Command::Status(s) => {
                    // The client's challenge on this server's header: the nonce to sign with next.
                    let next =
                        s.chal.as_ref().filter(|_| s.cmd_ref == Some(0)).and_then(|c| c.meta.next_nonce.as_deref());
                    if let Some(n) = next.and_then(auth::decode_nonce) {
                        saved.sign_nonce = n.into();
                    }
                    events.extend(core.peer_status(s));
                }
                Command::Alert(a) => {
                    let code = match a.data {
                        AlertCode::SESSION_ABORT => {
                            saved.peer_aborted = true;
                            events.push(Event::Aborted { by_peer: true });
                            StatusCode::OK
                        }
                        AlertCode::GENERIC_ALERT => {
                            let correlator = a.correlator.take();
                            events.push(Event::GenericAlert { correlator, items: held_items(&mut a.items) });
                            StatusCode::OK
                        }
                        AlertCode::CLIENT_INITIATED_MGMT
                        | AlertCode::SERVER_INITIATED_MGMT
                        | AlertCode::NEXT_MESSAGE
                        | AlertCode::CLIENT_EVENT
                        | AlertCode::NO_END_OF_DATA => {
                            if matches!(a.data, AlertCode::CLIENT_EVENT | AlertCode::NO_END_OF_DATA) {
                                let correlator = a.correlator.take();
                                events.push(Event::Alert { code: a.data, correlator, items: held_items(&mut a.items) });
                            }
                            StatusCode::OK
                        }
                        _ => StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED,
                    };
                    core.owe_status(msg_id, &c, code, vec![], vec![]);
                }
                Command::Replace(x) => {
                    let info: Vec<(String, String)> = x
                        .items
                        .iter()
                        .filter_map(|i| {
                            let uri = i.source.as_ref().or(i.target.as_ref())?.uri.clone();
                            let v = i
                                .data
                                .as_ref()
                                .map(|d| String::from_utf8_lossy(d.as_bytes()).into_owned())
                                .unwrap_or_default();
                            Some((uri, v))
                        })
                        .collect();
                    for (uri, value) in &info {
                        saved.devinfo.push(uri, value);
                    }
                    events.push(Event::DevInfo(info));
                    core.owe_status(msg_id, &c, StatusCode::OK, vec![], vec![]);
                }
                Command::Results(r) => {
                    let reference =
                        core.sent.get(sent_key(core.answered_msg(r.msg_ref, r.cmd_ref), r.cmd_ref)).flatten();
                    let (meta, items) = (r.meta.take(), std::mem::take(&mut r.items));
                    let mut whole = Vec::with_capacity(items.len());
                    let mut ack = None;
                    for item in items {
                        let mut interrupted = None;
                        let max = core.max_object(&self.config.wire.limits);
                        match Reassembly::accept(
                            &mut core.incoming,
                            "Results",
                            &item,
                            meta.as_deref(),
                            max,
                            &mut interrupted,
                        ) {
                            Chunk::Whole => whole.push(as_held(item, meta.as_deref())),
                            Chunk::Complete(i) => whole.push(as_held(*i, meta.as_deref())),
                            Chunk::Buffered => ack = Some(StatusCode::CHUNKED_ITEM_ACCEPTED),
                            Chunk::Refused(code) => ack = Some(code),
                        }
                        if let Some(r) = interrupted {
                            core.no_end_of_data(&r);
                        }
                    }
                    // R06: Results get a Status only when it is not 200.
                    if let Some(code) = ack {
                        core.owe_status(msg_id, &c, code, vec![], vec![]);
                    }
                    if let (Some(reference), false) = (reference, whole.is_empty()) {
                        events.push(Event::Results { reference, items: whole });
                    }
                }
                _ => {}
            }
        }
        // What a session keeps of DevInfo takes no spare room at rest.
        saved.devinfo.shrink_to_fit();
        if !core.our_open {
            core.peer_open = !m.is_final;
            if m.is_final {
                events.push(Event::PackageEnd);
            }
        }
        events
    }

    /// Follows the client's verdict on this server's credentials (its status for our SyncHdr).
    /// On a challenge the challenged message's commands go out again, with credentials for the
    /// client's nonce; returns that message's id.
    fn follow_client_verdict(&mut self, m: &Message, events: &mut Vec<Event>) -> Option<u32> {
        let saved = &mut self.saved;
        let st = saved.core.header_status(m)?;
        if st.data.is_success() {
            if !saved.server_verified && self.config.credentials.is_some() {
                saved.server_verified = true;
                saved.resend = None;
                events.push(Event::ServerAuthenticated);
            }
            return None;
        }
        if !matches!(st.data, StatusCode::INVALID_CREDENTIALS | StatusCode::MISSING_CREDENTIALS) {
            return None;
        }
        saved.server_failures += 1;
        let core = &mut saved.core;
        // Without credentials, or past the attempts allowed, the session ends here.
        let attempts_left = saved.server_failures <= self.config.max_auth_attempts;
        let Some((configured, creds)) = self.config.credentials.as_ref().filter(|_| attempts_left) else {
            events.push(Event::ServerAuthenticationFailed { code: st.data });
            core.abort = true;
            return Some(core.msg_id);
        };
        let meta = st.chal.as_ref().map(|c| &c.meta);
        let kind = meta.and_then(|m| m.type_.as_deref()).and_then(AuthType::from_meta_type).unwrap_or(*configured);
        let nonce = meta.and_then(|m| m.next_nonce.as_deref()).and_then(auth::decode_nonce).unwrap_or_default();
        core.cred = auth::cred(kind, creds, &nonce).map(Box::new);
        saved.sign_nonce = nonce.into();
        if let Some((before, remaining)) = saved.resend.take().map(|b| *b) {
            let newer = core.outbox.split_off(remaining.min(core.outbox.len()));
            core.outbox = before;
            core.outbox.extend(newer);
        }
        Some(core.msg_id)
    }

    /// The answer to the client's last message (R11). A final message without commands ends
    /// the session (R09).
    #[must_use = "the message must be sent"]
    pub fn next_message(&mut self) -> Result<Option<Outgoing>, Error> {
        let core = &mut self.saved.core;
        match core.state {
            State::Ended | State::Aborted => return Ok(None),
            State::Waiting => return Err(UsageError("next_message called while waiting for the client".into()).into()),
            State::Ready => {}
        }
        if self.saved.peer_aborted || self.saved.challenging {
            // R16: statuses for the SyncHdr and the Alert, nothing new; then it is over. A
            // challenge likewise holds every new command back, and waits for the retry.
            let held = (std::mem::take(&mut core.outbox), std::mem::take(&mut core.results));
            // Past the attempts allowed, the answer aborts the session (1223) as it refuses.
            let mode = if self.saved.auth_failed { Compose::Abort } else { Compose::Package };
            let composed = core.compose(mode, self.config.wire.limits.max_commands);
            (core.outbox, core.results) = held;
            let (m, done) = composed?;
            core.our_open = !done && !self.saved.auth_failed;
            core.cred = None; // it went in the first message of the answer
            core.state =
                if self.saved.peer_aborted || self.saved.auth_failed { State::Aborted } else { State::Waiting };
            return Ok(Some(core.encode(&m)));
        }
        let mode = if core.abort {
            Compose::Abort
        } else if core.our_open {
            Compose::Package
        } else if core.peer_open {
            Compose::NextMessage
        } else {
            Compose::Package
        };
        let before = (!self.saved.server_verified && self.config.credentials.is_some()).then(|| core.outbox.clone());
        let (m, done) = core.compose(mode, self.config.wire.limits.max_commands)?;
        if let Some(before) = before {
            self.saved.resend = Some(Box::new((before, core.outbox.len())));
        }
        let core = &mut self.saved.core;
        // The server authenticates itself once, in its first message (again when challenged).
        core.cred = None;
        let mut out = core.encode(&m);
        // With HMAC it signs every message instead.
        if let Some((AuthType::Hmac, c)) = &self.config.credentials {
            out.hmac = Some(auth::hmac_header(c, &self.saved.sign_nonce, &out.body));
        }
        core.state = State::Waiting;
        match mode {
            Compose::Abort => core.state = State::Aborted,
            Compose::Package => {
                core.our_open = !done;
                if m.is_final && m.commands.iter().all(|c| matches!(c, Command::Status(_))) {
                    core.state = State::Ended;
                }
            }
            Compose::NextMessage => {}
        }
        Ok(Some(out))
    }

    /// Aborts the session (R15): the next message carries Alert 1223 and Final.
    pub fn abort(&mut self) {
        if !matches!(self.saved.core.state, State::Ended | State::Aborted) {
            self.saved.core.abort = true;
        }
    }

    fn queue(&mut self, command: Command) -> Result<CommandRef, Error> {
        if matches!(self.saved.core.state, State::Ended | State::Aborted) {
            return Err(UsageError("the session is over".into()).into());
        }
        self.sendable(&command)?;
        crate::codec::carriable(&command)?;
        if self.saved.groups.is_empty() {
            self.saved.core.check_sendable(&command, "it is not queued")?;
        }
        let r = self.saved.core.new_ref();
        match self.saved.groups.last_mut() {
            Some(Unit { command: Command::Atomic(g) | Command::Sequence(g), refs, .. }) => {
                refs.push(r);
                g.commands.push(command);
            }
            _ => self.saved.core.outbox.push_back(Unit { command, refs: vec![r], offset: 0 }),
        }
        Ok(r)
    }

    /// A command the client would refuse the whole message for, by this side's own limits (a
    /// client announces none but its sizes): more items than a command holds, a URI past the
    /// URI limit. A local error, before anything is queued.
    fn sendable(&self, command: &Command) -> Result<(), Error> {
        let limits = &self.config.wire.limits;
        let items = command.items();
        if items.len() > limits.max_items {
            let (n, name, max) = (items.len(), command.name(), limits.max_items);
            return Err(UsageError(format!("{n} items in one {name}: a client takes at most {max}")).into());
        }
        let uris = items.iter().flat_map(|it| {
            [it.target.as_ref(), it.source.as_ref(), it.target_parent.as_deref(), it.source_parent.as_deref()]
        });
        if let Some(l) = uris.flatten().find(|l| l.uri.len() > limits.max_uri_len) {
            let (n, max) = (l.uri.len(), limits.max_uri_len);
            return Err(UsageError(format!("a URI of {n} bytes: a client takes at most {max}")).into());
        }
        match command {
            Command::Atomic(g) | Command::Sequence(g) => g.commands.iter().try_for_each(|c| self.sendable(c)),
            _ => Ok(()),
        }
    }

    fn item_command(uri: &str, data: Option<Data>, format: Option<&str>, type_: Option<&str>) -> ItemCommand {
        let meta = (format.is_some() || type_.is_some()).then(|| {
            Box::new(Meta { format: format.map(property_value), type_: type_.map(property_value), ..Meta::default() })
        });
        let item = Item { target: Some(Location::new(uri)), meta, data, ..Item::default() };
        ItemCommand { items: vec![item], ..ItemCommand::default() }
    }

    /// Binary data over XML travels as base64 with Format `b64` (facts §1).
    fn wire_data(&self, data: Option<Data>, format: Option<&str>) -> Result<(Option<Data>, Option<String>), Error> {
        let Some(data) = data else { return Ok((None, format.map(str::to_string))) };
        if let Some(max) = self.saved.core.peer_max_obj {
            if data.len() as u64 > max {
                return Err(UsageError(format!(
                    "an object of {} bytes exceeds the client's MaxObjSize {max}",
                    data.len()
                ))
                .into());
            }
        }
        let (data, format) = match (data, self.saved.core.encoding) {
            (Data::Binary(b), Encoding::Xml) => (Data::Text(B64.encode(b)), Some("b64".into())),
            (Data::Binary(b), Encoding::Wbxml) => (Data::Binary(b), Some(format.unwrap_or("bin").into())),
            (d, _) => (d, format.map(str::to_string)),
        };
        Ok((Some(data), format))
    }

    /// Queues a Get; its Status and Results arrive as events with the returned reference.
    pub fn get(&mut self, uri: &str) -> Result<CommandRef, Error> {
        self.queue(Command::Get(Self::item_command(uri, None, None, None)))
    }

    /// Queues a Replace. Binary data goes as `b64` text in XML, as `bin` in WBXML; a value
    /// larger than a message holds goes in chunks (a large object).
    pub fn replace(
        &mut self,
        uri: &str,
        data: Data,
        format: Option<&str>,
        type_: Option<&str>,
    ) -> Result<CommandRef, Error> {
        let (data, format) = self.wire_data(Some(data), format)?;
        self.queue(Command::Replace(Self::item_command(uri, data, format.as_deref(), type_)))
    }

    /// Adds a leaf (with data) or, with format `node`, an interior node.
    pub fn add(
        &mut self,
        uri: &str,
        data: Option<Data>,
        format: Option<&str>,
        type_: Option<&str>,
    ) -> Result<CommandRef, Error> {
        let (data, format) = self.wire_data(data, format)?;
        self.queue(Command::Add(Self::item_command(uri, data, format.as_deref(), type_)))
    }

    /// Queues a Delete of the node and its subtree.
    pub fn delete(&mut self, uri: &str) -> Result<CommandRef, Error> {
        self.queue(Command::Delete(Self::item_command(uri, None, None, None)))
    }

    /// Queues an Exec; `correlator` comes back in the Generic Alert of a deferred result.
    pub fn exec(&mut self, uri: &str, data: Option<Data>, correlator: Option<&str>) -> Result<CommandRef, Error> {
        let (data, format) = self.wire_data(data, None)?;
        let mut c = Self::item_command(uri, data, format.as_deref(), None);
        c.correlator = correlator.map(str::to_string);
        self.queue(Command::Exec(c))
    }

    /// Queues a Copy of the leaf at `source` to `target`.
    pub fn copy(&mut self, source: &str, target: &str) -> Result<CommandRef, Error> {
        let mut c = Self::item_command(target, None, None, None);
        c.items[0].source = Some(Location::new(source));
        self.queue(Command::Copy(c))
    }

    /// Queues a command as it is (its CmdIDs are set when it is sent), for what the helpers
    /// do not cover: several items, Meta on the command, NoResp. Statuses and Results are the
    /// session's to send, and a Sequence or Atomic is built with `begin_sequence` /
    /// `begin_atomic`, so that each member has its reference.
    pub fn command(&mut self, command: Command) -> Result<CommandRef, Error> {
        if let Command::Status(_) | Command::Results(_) | Command::Sequence(_) | Command::Atomic(_) = command {
            let hint = "statuses and results are the session's; groups take begin_sequence / begin_atomic";
            return Err(UsageError(format!("command() does not queue a {}: {hint}", command.name())).into());
        }
        self.queue(command)
    }

    /// Any alert, e.g. a UI alert: items are the options, the text and the choices.
    pub fn alert(&mut self, code: AlertCode, items: Vec<Item>) -> Result<CommandRef, Error> {
        self.queue(Command::Alert(Alert { cmd_id: 0, no_resp: false, cred: None, data: code, correlator: None, items }))
    }

    /// Starts a Sequence: commands queued until `end_group` go into it, run in order (R13).
    pub fn begin_sequence(&mut self) -> Result<CommandRef, Error> {
        self.begin_group(Command::Sequence(Group::default()))
    }

    /// Starts an Atomic: all or nothing (R13).
    pub fn begin_atomic(&mut self) -> Result<CommandRef, Error> {
        self.begin_group(Command::Atomic(Group::default()))
    }

    fn begin_group(&mut self, command: Command) -> Result<CommandRef, Error> {
        if matches!(self.saved.core.state, State::Ended | State::Aborted) {
            return Err(UsageError("the session is over".into()).into());
        }
        let max = self.config.wire.limits.max_nesting;
        if self.saved.groups.len() >= max {
            return Err(UsageError(format!("groups nested deeper than {max}: a client takes at most {max}")).into());
        }
        let r = self.saved.core.new_ref();
        self.saved.groups.push(Unit { command, refs: vec![r], offset: 0 });
        Ok(r)
    }

    /// Closes the innermost open group and queues it. An outermost group that could never fit
    /// in a message to the client is a `UsageError`, and dropped: none of it is sent (R07).
    pub fn end_group(&mut self) -> Result<(), Error> {
        let unit = self.saved.groups.pop().ok_or_else(|| UsageError("end_group without an open group".into()))?;
        match self.saved.groups.last_mut() {
            Some(Unit { command: Command::Atomic(g) | Command::Sequence(g), refs, .. }) => {
                refs.extend(unit.refs);
                g.commands.push(unit.command);
            }
            _ => {
                self.saved.core.check_sendable(&unit.command, "none of it is sent")?;
                self.saved.core.outbox.push_back(unit)
            }
        }
        Ok(())
    }
}
