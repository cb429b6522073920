//! The client (device) engine: package 1, then executing each server package against the tree
//! and answering it (package 3), until a server package needs no answer (R09).

use std::borrow::Cow;

use base64::Engine;

use super::chunk::{Chunk, Reassembly};
use super::core::{Compose, Core, Unit};
use super::ui::{UiHandler, UiRequest};
use super::{CommandRef, Event, Outgoing, State, Wire};
use crate::auth::{self, AuthType, Credentials};
use crate::codec::{Encoding, carriable, is_xml_text};
use crate::error::{AuthError, Error, UsageError};
use crate::model::*;
use crate::tree::uri::{self, ListKind, Target};
use crate::tree::{Leaf, Node, Tree, tnds, xml_text};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// How a client session starts and what it announces.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The device's URN, e.g. `IMEI:493005100592800` (SyncHdr Source).
    pub device_id: String,
    /// The server id, the name ACLs use.
    pub server_id: String,
    /// Where messages go (SyncHdr Target).
    pub server_uri: String,
    /// DevInfo sent in package 1, as (URI, value); empty: read from the tree's `./DevInfo`.
    pub devinfo: Vec<(String, String)>,
    /// Encoding, announced sizes, limits, strictness.
    pub wire: Wire,
    /// SessionID (default `1`); from a package-0 notification, the one it names.
    pub session_id: String,
    /// Started by a package-0 notification: Alert 1200 instead of 1201 (R20).
    pub server_initiated: bool,
    /// How this client authenticates (a server's challenge may change it).
    pub auth: AuthType,
    /// The client's user name and password (or HMAC secret); `None`: no Cred is sent.
    pub credentials: Option<Credentials>,
    /// The nonce to digest with (md5, HMAC): what the server gave in the last session.
    pub nonce: Vec<u8>,
    /// The server's credentials: when set, the server must authenticate (a Cred in its first
    /// message, or an x-syncml-hmac on each); when it does not, the client challenges it.
    pub server_credentials: Option<Credentials>,
    /// The scheme a challenge asks of the server (default md5).
    pub server_auth: AuthType,
    /// The nonce the server digests its md5 Cred with.
    pub server_nonce: Vec<u8>,
    /// Challenges answered before the client gives up (default 3).
    pub max_auth_attempts: u32,
    /// Fresh nonces for challenging a server that signs with HMAC: with one, every answer
    /// challenges the server anew (a new nonce every message).
    pub nonce_source: Option<super::NonceSource>,
}

impl ClientConfig {
    /// A configuration with no authentication, no DevInfo and the default wire settings.
    pub fn new(device_id: impl Into<String>, server_id: impl Into<String>, server_uri: impl Into<String>) -> Self {
        ClientConfig {
            device_id: device_id.into(),
            server_id: server_id.into(),
            server_uri: server_uri.into(),
            devinfo: Vec::new(),
            wire: Wire::default(),
            session_id: "1".into(),
            server_initiated: false,
            auth: AuthType::None,
            credentials: None,
            nonce: Vec::new(),
            server_credentials: None,
            server_auth: AuthType::Md5,
            server_nonce: Vec::new(),
            max_auth_attempts: 3,
            nonce_source: None,
        }
    }
}

/// The SyncHdr status for the server's credentials, and the scheme it concerns.
type ServerVerdict = (StatusCode, AuthType);

/// A client session over a management tree `T`.
pub struct ClientSession<T> {
    core: Core,
    config: ClientConfig,
    tree: T,
    ui: Option<UiHandler>,
    /// Package 1 as queued, to send again when the server challenges it.
    package1: Vec<Unit>,
    auth_attempts: u32,
    /// The server accepted this side's credentials: 212, or with HMAC a 200 to a signed message.
    authenticated: bool,
    /// How the server proved itself, once it has.
    server_verified: Option<AuthType>,
    /// Server messages challenged for their credentials.
    server_failures: u32,
    /// The code the server's credentials were last refused with, until it proves itself.
    server_refused: Option<StatusCode>,
    /// The nonce the server gave for the next session.
    next_nonce: Option<Vec<u8>>,
    /// The nonce this client gave the server for its next session.
    next_server_nonce: Option<Vec<u8>>,
    /// Where to send the next message: the server's last RespURI, else the server URI.
    respond_to: String,
    /// Bytes of Results data this client may still take on (`Limits::max_results_size`).
    results_room: usize,
    /// Challenged in a message of a server package that goes on: package 1 goes again once
    /// the package is whole (R03).
    challenged: bool,
}

impl<T: Tree> ClientSession<T> {
    /// A session ready to send package 1.
    pub fn new(config: ClientConfig, mut tree: T) -> Result<Self, Error> {
        let header = [&config.device_id, &config.server_uri, &config.session_id];
        if let Some(bad) = header.into_iter().find(|s| !is_xml_text(s)) {
            return Err(UsageError(format!("{bad:?} holds a character XML cannot carry")).into());
        }
        let mut core = Core::new(
            config.session_id.clone(),
            Location::new(&config.device_id),
            Location::new(&config.server_uri),
            config.wire.encoding,
            State::Ready,
        );
        core.configure(&config.wire);
        let code =
            if config.server_initiated { AlertCode::SERVER_INITIATED_MGMT } else { AlertCode::CLIENT_INITIATED_MGMT };
        let alert = Alert { cmd_id: 0, no_resp: false, cred: None, data: code, correlator: None, items: vec![] };
        let devinfo =
            if config.devinfo.is_empty() { devinfo_of(&mut tree, &config.server_id) } else { config.devinfo.clone() };
        if devinfo.is_empty() {
            return Err(UsageError(
                "no DevInfo: configure devinfo, or give a tree whose ./DevInfo node lists its leaves".into(),
            )
            .into());
        }
        let items = devinfo
            .into_iter()
            .map(|(uri, v)| Item { source: Some(Location::new(uri)), data: Some(Data::Text(v)), ..Item::default() })
            .collect();
        let replace = Command::Replace(ItemCommand { items, ..ItemCommand::default() });
        carriable(&replace)?;
        let mut package1 = Vec::new();
        for command in [Command::Alert(alert), replace] {
            let r = core.new_ref();
            package1.push(Unit { command, refs: vec![r], offset: 0 });
        }
        core.outbox.extend(package1.iter().cloned());
        if config.auth != AuthType::None {
            let c = config.credentials.as_ref().ok_or_else(|| UsageError("authentication needs credentials".into()))?;
            // md5 and HMAC name the user in Source/LocName (facts §4).
            core.local.name = Some(c.username.clone());
            core.cred = auth::cred(config.auth, c, &config.nonce).map(Box::new);
        }
        let respond_to = config.server_uri.clone();
        Ok(ClientSession {
            core,
            config,
            tree,
            ui: None,
            package1,
            auth_attempts: 0,
            authenticated: false,
            server_verified: None,
            server_failures: 0,
            server_refused: None,
            challenged: false,
            next_nonce: None,
            next_server_nonce: None,
            respond_to,
            results_room: 0,
        })
    }

    /// Where to send the next message: the server's last RespURI (a path or query alone resolved
    /// against the URI in use), else the server URI. The SyncHdr Target stays the server URI.
    pub fn respond_to(&self) -> &str {
        &self.respond_to
    }

    /// The nonce the server gave for the next session (md5; with HMAC the last one it gave, which
    /// signs the next message, in this session or the next): keep it for `ClientConfig::nonce`.
    pub fn next_nonce(&self) -> Option<&[u8]> {
        self.next_nonce.as_deref()
    }

    /// The nonce given the server for its next session (md5, once its Cred was accepted; with
    /// HMAC the last one given): keep it for `ClientConfig::server_nonce`.
    pub fn next_server_nonce(&self) -> Option<&[u8]> {
        self.next_server_nonce.as_deref()
    }

    /// The `x-syncml-hmac` value of the last message, when HMAC is in use.
    fn sign(&self, out: &mut Outgoing) {
        if let (AuthType::Hmac, Some(c)) = (self.config.auth, &self.config.credentials) {
            out.hmac = Some(auth::hmac_header(c, &self.config.nonce, &out.body));
        }
    }

    /// Follows the server's verdict on this side's credentials (its SyncHdr status). Returns
    /// true when the client must send package 1 again.
    fn follow_auth(&mut self, m: &Message, events: &mut Vec<Event>) -> bool {
        let Some(st) = self.core.header_status(m) else { return false };
        let meta = st.chal.as_ref().map(|c| &c.meta);
        let nonce = meta.and_then(|m| m.next_nonce.as_deref()).and_then(auth::decode_nonce);
        match st.data {
            StatusCode::AUTHENTICATION_ACCEPTED => {
                // No more credentials this session; a nonce now is for the next one.
                self.core.cred = None;
                self.next_nonce = nonce;
                self.authenticated = true;
                events.push(Event::Authenticated);
                false
            }
            StatusCode::INVALID_CREDENTIALS | StatusCode::MISSING_CREDENTIALS => {
                if let Some(t) = meta.and_then(|m| m.type_.as_deref()).and_then(AuthType::from_meta_type) {
                    self.config.auth = t;
                }
                if let Some(n) = nonce {
                    self.config.nonce = n;
                }
                self.auth_attempts += 1;
                let cred =
                    self.config.credentials.as_ref().map(|c| auth::cred(self.config.auth, c, &self.config.nonce));
                if self.auth_attempts > self.config.max_auth_attempts || cred.is_none() {
                    self.core.state = State::Ended;
                    events.push(Event::AuthenticationFailed { code: st.data });
                    return false;
                }
                self.core.cred = cred.flatten().map(Box::new);
                true
            }
            code => {
                if self.config.auth == AuthType::Hmac {
                    // HMAC: 200 to a signed message accepts it (told once), and a new nonce
                    // comes with every message.
                    if code == StatusCode::OK && !std::mem::replace(&mut self.authenticated, true) {
                        events.push(Event::Authenticated);
                    }
                    if let Some(n) = nonce {
                        self.next_nonce = Some(n.clone());
                        self.config.nonce = n;
                    }
                }
                false
            }
        }
    }

    /// Answers UI alerts (1100–1104); without one the defaults of `UiRequest::default_response`.
    pub fn set_ui_handler(&mut self, handler: UiHandler) {
        self.ui = Some(handler);
    }

    /// Where the session is (`Ready` at first: package 1 is to be sent).
    pub fn state(&self) -> State {
        self.core.state
    }

    /// The content type of this session's messages, for the HTTP header.
    pub fn content_type(&self) -> &'static str {
        self.core.encoding.content_type()
    }

    /// The management tree the server's commands run against.
    pub fn tree(&self) -> &T {
        &self.tree
    }

    /// The tree, to change between messages.
    pub fn tree_mut(&mut self) -> &mut T {
        &mut self.tree
    }

    /// The tree back, once the session is over.
    pub fn into_tree(self) -> T {
        self.tree
    }

    /// Queues an alert to the server: a Generic Alert (1226, with `correlator` for an
    /// asynchronous Exec), or a Client Event (1224). It goes out with this side's next package.
    pub fn alert(
        &mut self,
        code: AlertCode,
        correlator: Option<String>,
        items: Vec<Item>,
    ) -> Result<CommandRef, Error> {
        if matches!(self.core.state, State::Ended | State::Aborted) {
            return Err(UsageError("the session is over".into()).into());
        }
        let alert = Command::Alert(Alert { cmd_id: 0, no_resp: false, cred: None, data: code, correlator, items });
        carriable(&alert)?;
        self.core.check_sendable(&alert, "it is not queued")?;
        Ok(self.enqueue(alert))
    }

    /// Queues a checked command; one queued before package 1 goes is part of it, and goes
    /// again with it when the server challenges it.
    fn enqueue(&mut self, command: Command) -> CommandRef {
        let r = self.core.new_ref();
        let unit = Unit { command, refs: vec![r], offset: 0 };
        if self.core.msg_id == 0 {
            self.package1.push(unit.clone());
        }
        self.core.outbox.push_back(unit);
        r
    }

    /// Queues any command for the server. A client may send only Replace (DevInfo), Results and
    /// Alert (R14); anything else is refused here.
    pub fn queue(&mut self, command: Command) -> Result<CommandRef, Error> {
        match command {
            Command::Alert(a) => self.alert(a.data, a.correlator, a.items),
            Command::Replace(_) | Command::Results(_) => {
                carriable(&command)?;
                Ok(self.enqueue(command))
            }
            other => Err(UsageError(format!("R14: a client may not send {}", other.name())).into()),
        }
    }

    /// Queues a Generic Alert (1226).
    pub fn generic_alert(&mut self, correlator: Option<String>, items: Vec<Item>) -> Result<CommandRef, Error> {
        self.alert(AlertCode::GENERIC_ALERT, correlator, items)
    }

    /// Aborts the session (R15): the next message carries Alert 1223, the statuses and results
    /// owed, and Final; once it is taken the session is `Aborted`.
    pub fn abort(&mut self) {
        if !matches!(self.core.state, State::Ended | State::Aborted) {
            self.core.abort = true;
            self.core.state = State::Ready;
        }
    }

    /// The next message to send; `None` when the session is over (R09, R17).
    #[must_use = "the message must be sent"]
    pub fn next_message(&mut self) -> Result<Option<Outgoing>, Error> {
        match self.core.state {
            State::Ended | State::Aborted => return Ok(None),
            State::Waiting => return Err(UsageError("next_message called while waiting for the server".into()).into()),
            State::Ready => {}
        }
        let mode = if self.core.abort {
            Compose::Abort
        } else if self.core.peer_open && !self.core.our_open {
            Compose::NextMessage
        } else {
            Compose::Package
        };
        let (m, done) = self.core.compose(mode, self.config.wire.limits.max_commands)?;
        let mut out = self.core.encode(&m);
        self.sign(&mut out);
        if self.server_verified == Some(AuthType::Hmac) {
            // The server signs its next message, in this session or the next, with the nonce
            // this one gives it.
            self.next_server_nonce = Some(self.config.server_nonce.clone());
        }
        match mode {
            Compose::Abort => self.core.state = State::Aborted,
            Compose::Package => {
                self.core.our_open = !done;
                self.core.state = State::Waiting;
            }
            Compose::NextMessage => self.core.state = State::Waiting,
        }
        Ok(Some(out))
    }

    /// Takes a server message. A message that is refused leaves the session as it was.
    pub fn receive(&mut self, body: &[u8]) -> Result<Vec<Event>, Error> {
        self.receive_with_hmac(body, None)
    }

    /// Takes a server message and its `x-syncml-hmac` header. With `server_credentials`, the
    /// server must prove itself: a header that does not verify refuses the message (`AuthError`,
    /// the session unchanged); a missing or wrong Cred is challenged (401/407 + Chal) and the
    /// message's commands are not executed, for the server to send them again.
    pub fn receive_with_hmac(&mut self, body: &[u8], hmac: Option<&str>) -> Result<Vec<Event>, Error> {
        if self.core.state == State::Aborted && self.core.abort {
            // The server's answer to this side's abort (R16): nothing more happens.
            return Ok(Vec::new());
        }
        let m = self.core.check(body, &self.config.wire.limits)?;
        let verdict = self.check_server(&m, body, hmac)?;
        Ok(self.apply(m, verdict))
    }

    /// The client's verdict on the server's credentials: `None` when there is nothing to say
    /// (200), else the SyncHdr status with the scheme the server used.
    fn check_server(&self, m: &Message, body: &[u8], hmac: Option<&str>) -> Result<Option<ServerVerdict>, Error> {
        let Some(expected) = &self.config.server_credentials else { return Ok(None) };
        if let Some(h) = hmac {
            if !auth::verify_hmac(h, expected, &self.config.server_nonce, body) {
                return Err(AuthError("the server's x-syncml-hmac does not match".into()).into());
            }
            let first = self.server_verified.is_none();
            return Ok(first.then_some((StatusCode::OK, AuthType::Hmac)));
        }
        let operations = m.commands.iter().any(|c| !matches!(c, Command::Status(_) | Command::Results(_)));
        match (self.server_verified, &m.header.cred) {
            (Some(AuthType::Hmac), _) if operations => Ok(Some((StatusCode::MISSING_CREDENTIALS, AuthType::Hmac))),
            (Some(_), _) => Ok(None),
            // Nothing to execute: nothing to guard.
            (None, None) if !operations => Ok(None),
            (None, None) => Ok(Some((StatusCode::MISSING_CREDENTIALS, self.config.server_auth))),
            (None, Some(cred)) => {
                // No weaker scheme than the one asked for: basic where md5 is wanted is challenged.
                let wanted = self.config.server_auth;
                let kind = cred.meta.as_ref().and_then(|m| m.type_.as_deref()).and_then(AuthType::from_meta_type);
                let strong_enough = |k: AuthType| k == wanted || (wanted == AuthType::Basic && k == AuthType::Md5);
                Ok(Some(match kind {
                    Some(k) if strong_enough(k) && auth::verify_cred(cred, k, expected, &self.config.server_nonce) => {
                        (StatusCode::AUTHENTICATION_ACCEPTED, k)
                    }
                    _ => (StatusCode::INVALID_CREDENTIALS, wanted),
                }))
            }
        }
    }

    /// Challenges the server (R10): its message's commands are answered with the challenge's
    /// code, not executed; past the attempts allowed the client aborts.
    fn challenge_server(&mut self, m: &mut Message, code: StatusCode, events: &mut Vec<Event>) {
        self.server_failures += 1;
        self.server_refused = Some(code);
        let msg_id = m.header.msg_id;
        for c in &mut m.commands {
            match c {
                Command::Status(s) => events.extend(self.core.peer_status(s)),
                Command::Results(_) => {}
                _ => self.core.owe_status(msg_id, c, code, vec![], vec![]),
            }
        }
        if self.server_failures > self.config.max_auth_attempts {
            events.push(Event::ServerAuthenticationFailed { code });
            self.core.abort = true;
        }
        self.core.peer_open = !m.is_final;
        self.core.state = State::Ready;
    }

    fn apply(&mut self, mut m: Message, verdict: Option<ServerVerdict>) -> Vec<Event> {
        let mut events = Vec::new();
        if m.commands.iter().any(|c| matches!(c, Command::Alert(a) if a.data == AlertCode::SESSION_ABORT)) {
            // R17: no answer to an abort.
            self.core.peer_msg_id = m.header.msg_id;
            self.core.state = State::Aborted;
            // A server that gives up on this side's credentials says so with its last refusal.
            let refused = self
                .core
                .header_status(&m)
                .map(|s| s.data)
                .filter(|code| matches!(*code, StatusCode::INVALID_CREDENTIALS | StatusCode::MISSING_CREDENTIALS));
            events.extend(refused.map(|code| Event::AuthenticationFailed { code }));
            // A server that gives up with its credentials still refused.
            events.extend(self.server_refused.map(|code| Event::ServerAuthenticationFailed { code }));
            events.push(Event::Aborted { by_peer: true });
            return events;
        }
        // A challenged server, and one signing with HMAC, gets a new nonce for its next message;
        // an md5 server just accepted, one for its next session. Nonces are drawn only for these.
        let (code, kind) = verdict.unwrap_or((StatusCode::OK, self.server_verified.unwrap_or(AuthType::Hmac)));
        let challenge = matches!(code, StatusCode::INVALID_CREDENTIALS | StatusCode::MISSING_CREDENTIALS);
        let accepted_md5 = code == StatusCode::AUTHENTICATION_ACCEPTED && kind == AuthType::Md5;
        let checked = self.config.server_credentials.is_some();
        let wants_nonce = checked && (challenge || kind == AuthType::Hmac || accepted_md5);
        let fresh = self.config.nonce_source.as_ref().filter(|_| wants_nonce).map(|src| src.0());
        let chal = match fresh {
            Some(n) if accepted_md5 => {
                let c = auth::chal(kind, &n);
                self.next_server_nonce = Some(n);
                c
            }
            Some(n) => {
                self.config.server_nonce = n;
                auth::chal(kind, &self.config.server_nonce)
            }
            None if checked && challenge => auth::chal(kind, &self.config.server_nonce),
            None => None,
        };
        self.core.take_header(&m, code, chal);
        if verdict.is_some() && !challenge {
            self.server_verified = Some(kind);
            self.server_refused = None;
            events.push(Event::ServerAuthenticated);
        }
        if let Some(uri) = &m.header.resp_uri {
            self.respond_to = resolve(&self.respond_to, uri);
        }
        let msg_id = m.header.msg_id;
        self.challenged |= self.follow_auth(&m, &mut events);
        if self.challenged {
            // Challenged (R10): package 1 again, with credentials, once the server's package is
            // whole (its statuses for package 1 refuse it); till then, the next message of it.
            self.core.results.clear();
            self.core.our_open = false;
            self.core.peer_open = !m.is_final;
            if m.is_final {
                self.challenged = false;
                for u in self.package1.iter().rev() {
                    self.core.outbox.push_front(u.clone());
                }
            }
            self.core.state = State::Ready;
            return events;
        }
        if self.core.state == State::Ended {
            return events;
        }
        let statuses_only = m.commands.iter().all(|c| matches!(c, Command::Status(_)));
        if challenge && !(m.is_final && statuses_only && !self.core.our_open) {
            self.challenge_server(&mut m, code, &mut events);
            return events;
        }
        // A server that did not prove itself but sends a last package of statuses alone: the
        // session ends (R09), with nothing of its run, and says so; its statuses are still heard.
        if challenge {
            self.server_refused = Some(code);
        }
        for c in &mut m.commands {
            if let Command::Status(s) = c {
                events.extend(self.core.peer_status(s));
            }
        }
        if self.core.our_open {
            // The server asks for the rest of this side's package.
            for c in &m.commands {
                if let Command::Alert(_) = c {
                    self.core.owe_status(msg_id, c, StatusCode::OK, vec![], vec![]);
                }
            }
            self.core.state = State::Ready;
            return events;
        }
        let owed: usize = self.core.results.iter().flat_map(|u| u.command.items()).map(Item::data_len).sum();
        self.results_room = self.config.wire.limits.max_results_size.saturating_sub(owed);
        // One status a command but Status and Results, room made once: grown by doubling, the
        // queue of a message of thousands of commands would take up to three times the room.
        let answers = m.commands.iter().filter(|c| matches!(c, Command::Status(_) | Command::Results(_))).count();
        self.core.statuses.reserve(m.command_count() - answers);
        for c in &m.commands {
            if !matches!(c, Command::Status(_) | Command::Results(_)) {
                self.execute(msg_id, c, &mut events);
            }
        }
        self.core.peer_open = !m.is_final;
        if m.is_final {
            events.push(Event::PackageEnd);
            let owes = self.core.statuses.len() > 1 || !self.core.results.is_empty();
            if !owes {
                // R09: a server package with nothing to answer ends the session; one whose
                // server never proved itself is reported so.
                self.core.statuses.clear();
                self.core.state = State::Ended;
                events.extend(self.server_refused.map(|code| Event::ServerAuthenticationFailed { code }));
                events.push(Event::Ended);
                return events;
            }
        }
        self.core.state = State::Ready;
        events
    }

    /// Executes one server command, owing its status (and results); returns its status code.
    fn execute(&mut self, msg_id: u32, c: &Command, events: &mut Vec<Event>) -> StatusCode {
        match c {
            Command::Alert(a) => {
                let (code, items) = if a.data.is_user_interaction() {
                    let req = UiRequest::parse(a.data, &a.items);
                    let resp = match &mut self.ui {
                        Some(h) => h(&req),
                        None => req.default_response(),
                    };
                    resp.status()
                } else if matches!(a.data, AlertCode::NEXT_MESSAGE | AlertCode::SERVER_INITIATED_MGMT) {
                    (StatusCode::OK, vec![])
                } else {
                    (StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED, vec![])
                };
                events.push(Event::Alert { code: a.data, correlator: a.correlator.clone(), items: a.items.clone() });
                self.core.owe_status(msg_id, c, code, items, vec![]);
                code
            }
            Command::Sequence(g) => {
                // R13: in order; after a refused user interaction the rest is not executed (215).
                self.core.owe_status(msg_id, c, StatusCode::OK, vec![], vec![]);
                let mut stopped = false;
                for member in &g.commands {
                    if stopped {
                        self.not_executed(msg_id, member);
                        continue;
                    }
                    let code = self.execute(msg_id, member, events);
                    stopped = matches!(member, Command::Alert(a) if a.data.is_user_interaction()) && !code.is_success();
                }
                StatusCode::OK
            }
            Command::Atomic(g) => self.atomic(msg_id, c, g, events),
            Command::Add(x)
            | Command::Copy(x)
            | Command::Delete(x)
            | Command::Exec(x)
            | Command::Get(x)
            | Command::Replace(x) => self.item_command(msg_id, c, x, events),
            Command::Status(_) | Command::Results(_) => StatusCode::OK,
        }
    }

    fn not_executed(&mut self, msg_id: u32, c: &Command) {
        self.core.owe_status(msg_id, c, StatusCode::NOT_EXECUTED, vec![], vec![]);
        if let Command::Atomic(g) | Command::Sequence(g) = c {
            for m in &g.commands {
                self.not_executed(msg_id, m);
            }
        }
    }

    /// R13: all or nothing, through the tree's transaction. Get, Exec, Sequence or a nested
    /// Atomic inside give 500 (facts §1). A member that fails, or a commit the tree cannot
    /// make, rolls it back: 507, its members 216 (516 both when the rollback fails too).
    fn atomic(&mut self, msg_id: u32, c: &Command, g: &Group, events: &mut Vec<Event>) -> StatusCode {
        let at = self.core.statuses.len();
        let allowed = g.commands.iter().all(|m| {
            matches!(
                m,
                Command::Add(_) | Command::Alert(_) | Command::Delete(_) | Command::Copy(_) | Command::Replace(_)
            )
        });
        let begun = if allowed { self.tree.begin() } else { Err(StatusCode::COMMAND_FAILED) };
        if let Err(code) = begun {
            self.core.owe_status(msg_id, c, code, vec![], vec![]);
            for m in &g.commands {
                self.not_executed(msg_id, m);
            }
            return code;
        }
        self.core.owe_status(msg_id, c, StatusCode::OK, vec![], vec![]);
        let (mut failed, first_event) = (false, events.len());
        for member in &g.commands {
            failed |= !self.execute(msg_id, member, events).is_success();
        }
        // A commit the tree cannot make is undone as a failed member is.
        let code = if !failed && self.tree.commit().is_ok() {
            StatusCode::OK
        } else {
            let undone = self.tree.rollback().is_ok();
            let rolled_back = if undone { StatusCode::ATOMIC_ROLLBACK_OK } else { StatusCode::ATOMIC_ROLLBACK_FAILED };
            // What succeeded is answered, and told to the caller, as rolled back.
            let executed = events[first_event..].iter_mut().filter_map(|e| match e {
                Event::Executed { code, .. } => Some(code),
                _ => None,
            });
            for code in self.core.statuses.iter_mut().skip(at + 1).map(|s| &mut s.data).chain(executed) {
                if code.is_success() {
                    *code = rolled_back;
                }
            }
            if undone { StatusCode::ATOMIC_FAILED } else { StatusCode::ATOMIC_ROLLBACK_FAILED }
        };
        if let Some(s) = self.core.statuses.get_mut(at) {
            s.data = code;
        }
        code
    }

    fn item_command(&mut self, msg_id: u32, c: &Command, x: &ItemCommand, events: &mut Vec<Event>) -> StatusCode {
        // Each item's code, written down only once two differ: then each item gets its own Status.
        let (mut first, mut codes) = (None, Vec::new());
        let gets = if matches!(c, Command::Get(_)) { x.items.len() } else { 0 };
        let mut results = Vec::with_capacity(gets);
        for (i, item) in x.items.iter().enumerate() {
            let mut interrupted = None;
            let chunk = if matches!(c, Command::Add(_) | Command::Replace(_)) {
                let max = self.core.max_object(&self.config.wire.limits);
                Reassembly::accept(&mut self.core.incoming, c.name(), item, x.meta.as_deref(), max, &mut interrupted)
            } else {
                let interrupted_now = self.core.incoming.take();
                interrupted = interrupted_now;
                Chunk::Whole
            };
            if let Some(r) = interrupted {
                self.core.no_end_of_data(&r);
            }
            let before = results.len();
            let code = match chunk {
                Chunk::Buffered => StatusCode::CHUNKED_ITEM_ACCEPTED,
                Chunk::Refused(code) => code,
                Chunk::Whole => self.run(c, x, Cow::Borrowed(item), &mut results),
                Chunk::Complete(whole) => self.run(c, x, Cow::Owned(*whole), &mut results),
            };
            let code = if gets > 0 { self.take_results_room(&mut results, before, code) } else { code };
            // A chunk held for the rest of its object has not reached the tree yet.
            if code != StatusCode::CHUNKED_ITEM_ACCEPTED {
                let uri = super::chunk::item_uri(item);
                events.push(Event::Executed { cmd: c.name(), uri: uri.to_string(), code });
            }
            match first {
                None => first = Some(code),
                Some(f) if f == code && codes.is_empty() => {}
                Some(f) => {
                    if codes.is_empty() {
                        codes = vec![f; i];
                    }
                    codes.push(code);
                }
            }
        }
        let first = first.unwrap_or(StatusCode::OK);
        let uris = x.items.iter().map(super::chunk::item_uri);
        if codes.is_empty() {
            let mut refs = Vec::with_capacity(x.items.len());
            refs.extend(uris.filter(|u| !u.is_empty()).map(str::to_string));
            self.core.owe_status(msg_id, c, first, vec![], refs);
        } else {
            for (code, uri) in codes.into_iter().zip(uris) {
                self.core.owe_status(msg_id, c, code, vec![], vec![uri.to_string()]);
            }
        }
        if !results.is_empty() {
            let r = Results {
                cmd_id: 0,
                msg_ref: Some(msg_id),
                cmd_ref: x.cmd_id,
                meta: None,
                target_ref: None,
                source_ref: None,
                items: results,
            };
            self.core.results.push_back(Unit { command: Command::Results(r), refs: vec![], offset: 0 });
        }
        if first.is_success() { StatusCode::OK } else { first }
    }

    /// Takes room for the results a Get item added after `before`. Without room (or when a
    /// listing stopped for want of it) they are dropped, the item is answered 413, and no room
    /// is left for the rest of the message: each Get after it fails at once instead of building
    /// what cannot be held (`Limits::max_results_size`). Results a peer with this side's limits
    /// would refuse are dropped too (`refused_by_peer`), the room kept.
    fn take_results_room(&mut self, results: &mut Vec<Item>, before: usize, code: StatusCode) -> StatusCode {
        let added: usize = results[before..].iter().map(Item::data_len).sum();
        if code == StatusCode::REQUEST_ENTITY_TOO_LARGE || added > self.results_room {
            results.truncate(before);
            self.results_room = 0;
            return StatusCode::REQUEST_ENTITY_TOO_LARGE;
        }
        if let Some(refused) = self.refused_by_peer(results, before) {
            results.truncate(before);
            return refused;
        }
        self.results_room -= added;
        code
    }

    /// Why a peer with this side's limits would refuse a message holding these Results (the
    /// items after `before` just added), if it would: more items than a command may hold (413;
    /// a listing of a large subtree), a node URI past the URI limit (414; the device's tree may
    /// hold longer ones), a TNDS document nesting past the element depth limit (413).
    fn refused_by_peer(&self, results: &[Item], before: usize) -> Option<StatusCode> {
        let limits = &self.config.wire.limits;
        if results.len() > limits.max_items {
            return Some(StatusCode::REQUEST_ENTITY_TOO_LARGE);
        }
        let added = &results[before..];
        if added.iter().any(|it| it.source.as_ref().is_some_and(|s| s.uri.len() > limits.max_uri_len)) {
            return Some(StatusCode::URI_TOO_LONG);
        }
        // A TNDS document's nodes nest in the message (SyncML/SyncBody/Results/Item/Data/
        // MgmtTree), and a node's properties three deeper.
        let too_deep = |xml: &str| 6 + tnds::nesting(xml) + 3 > limits.max_element_depth();
        added
            .iter()
            .any(|it| matches!(&it.data, Some(Data::Xml(xml)) if too_deep(xml)))
            .then_some(StatusCode::REQUEST_ENTITY_TOO_LARGE)
    }

    /// One item of a management command against the tree.
    fn run(&mut self, c: &Command, x: &ItemCommand, mut item: Cow<'_, Item>, results: &mut Vec<Item>) -> StatusCode {
        // With no room left for results, a Get fails before the tree is read: nothing is built
        // that could not be held (else each of thousands of Gets would copy a large value).
        if matches!(c, Command::Get(_)) && self.results_room == 0 {
            return StatusCode::REQUEST_ENTITY_TOO_LARGE;
        }
        let moved = match &mut item {
            Cow::Owned(whole) => whole.data.take(),
            Cow::Borrowed(_) => None,
        };
        let item = &*item;
        let (tree, server, encoding) = (&mut self.tree, self.config.server_id.as_str(), self.core.encoding);
        let limits = tree.uri_limits();
        // A listing stops where its results could not be held (`take_results_room`).
        let room = self.results_room;
        // A TNDS document's node URIs are held to the message's URI limit too, as they are read.
        let max_uri = self.config.wire.limits.max_uri_len;
        let tnds_limits = tnds_limits(limits, max_uri);
        fn target(l: &Option<Location>, limits: uri::UriLimits) -> Result<Target<'_>, StatusCode> {
            uri::parse_target(&l.as_ref().ok_or(StatusCode::BAD_REQUEST)?.uri, limits)
        }
        let outcome: Result<StatusCode, StatusCode> = (|| {
            let t = target(&item.target, limits)?;
            match (c, t) {
                (Command::Get(_), Target::Node(u)) => {
                    let node = tree.get(server, &u).and_then(Node::sendable)?;
                    results.push(result_item(encoding, item_target(item), node));
                }
                (Command::Get(_), Target::Property { node, name }) => {
                    let v = tree.get_property(server, &node, &name).and_then(xml_text)?;
                    results.push(Item {
                        source: Some(Location::new(item_target(item))),
                        data: Some(Data::Text(v)),
                        ..Item::default()
                    });
                }
                (Command::Get(_), Target::List { node, kind: ListKind::Tnds, props }) => {
                    let xml = tnds::tnds(tree, server, &node, &props, room)?;
                    results.push(Item {
                        source: Some(Location::new(item_target(item))),
                        meta: Some(Box::new(Meta::typed("xml", tnds::TNDS_XML))),
                        data: Some(Data::Xml(xml)),
                        ..Item::default()
                    });
                }
                (Command::Get(_), Target::List { node, kind, .. }) => {
                    for (u, n) in tnds::list(tree, server, &node, kind, room)? {
                        let mut it = result_item(encoding, u, n);
                        if kind == ListKind::Struct {
                            it.data = None;
                        }
                        results.push(it);
                    }
                }
                (Command::Add(_) | Command::Replace(_), t) => {
                    write(tree, server, c, t, item, moved, x.meta.as_deref(), tnds_limits)?
                }
                (Command::Delete(_), Target::Node(u)) => tree.delete(server, &u)?,
                (Command::Copy(_), Target::Node(to)) => {
                    let Target::Node(from) = target(&item.source, limits)? else { return Err(StatusCode::BAD_REQUEST) };
                    tree.copy(server, &from, &to)?;
                }
                (Command::Exec(_), Target::Node(u)) => {
                    // Data as a Replace reads it: Format b64 is decoded.
                    let given = moved.is_some() || item.data.is_some();
                    let data = given.then(|| leaf_of(item, moved, x.meta.as_deref())).transpose()?;
                    return tree.exec(server, &u, data.as_ref().map(|l| &l.data[..]), x.correlator.as_deref());
                }
                // Properties cannot be added, deleted, copied or executed (TND §7).
                _ => return Err(StatusCode::COMMAND_NOT_ALLOWED),
            }
            Ok(StatusCode::OK)
        })();
        answerable(outcome)
    }
}

/// The URI limits a TNDS document's nodes are held to: the tree's, and the message's `max_uri`.
pub(crate) fn tnds_limits(limits: uri::UriLimits, max_uri: usize) -> uri::UriLimits {
    match limits.max_tot_len {
        0 => uri::UriLimits { max_tot_len: max_uri, ..limits },
        n => uri::UriLimits { max_tot_len: n.min(max_uri), ..limits },
    }
}

/// Writes one Add or Replace item to `tree` as `server` would: a leaf, an interior node (Format
/// `node`), each node of a TNDS document (with its ACL), a leaf's new value, or a property.
/// Anything else (an Add of a property) is 405.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write<T: Tree + ?Sized>(
    tree: &mut T,
    server: &str,
    c: &Command,
    target: Target<'_>,
    item: &Item,
    moved: Option<Data>,
    cmd_meta: Option<&Meta>,
    tnds_limits: uri::UriLimits,
) -> Result<(), StatusCode> {
    match (c, target) {
        (Command::Add(_), Target::Node(u)) => {
            let leaf = leaf_of(item, moved, cmd_meta)?;
            if leaf.type_ == tnds::TNDS_XML {
                let xml = String::from_utf8(leaf.data).map_err(|_| StatusCode::BAD_REQUEST)?;
                for n in tnds::parse(&xml, &u, tnds_limits)? {
                    tree.add(server, &n.uri, n.node)?;
                    if let Some(acl) = n.acl {
                        tree.replace_property(server, &n.uri, "ACL", &acl)?;
                    }
                }
                Ok(())
            } else if leaf.format == "node" {
                let type_ = Some(leaf.type_.into_owned()).filter(|t| !t.is_empty() && t != "text/plain");
                tree.add(server, &u, Node::Interior { children: vec![], type_ })
            } else {
                tree.add(server, &u, Node::Leaf(leaf))
            }
        }
        (Command::Replace(_), Target::Node(u)) => tree.replace(server, &u, leaf_of(item, moved, cmd_meta)?),
        (Command::Replace(_), Target::Property { node, name }) => {
            let v = leaf_of(item, moved, cmd_meta)?;
            let v = String::from_utf8(v.data).map_err(|_| StatusCode::BAD_REQUEST)?;
            tree.replace_property(server, &node, &name, &v)
        }
        _ => Err(StatusCode::COMMAND_NOT_ALLOWED),
    }
}

/// What a tree answered, as a status a command can carry: a code outside 200–599 (a C callback
/// returning 0 for success, say), or a success given as a failure, is answered 500.
fn answerable(outcome: Result<StatusCode, StatusCode>) -> StatusCode {
    let code = match outcome {
        Err(code) if code.is_success() => StatusCode::COMMAND_FAILED,
        Ok(code) | Err(code) => code,
    };
    if (200..600).contains(&code.0) { code } else { StatusCode::COMMAND_FAILED }
}

/// A Get result: data in the encoding's form for binary, Meta only when not the default.
fn result_item(encoding: Encoding, uri: String, node: Node) -> Item {
    Item { source: Some(Location::new(uri)), ..node_item(encoding, node) }
}

/// A node as an item carries it, without its location: data in the encoding's form for binary
/// (an interior node's: its children's names), Meta only when not the default.
#[cfg_attr(feature = "inline-more", inline(always))]
pub(crate) fn node_item(encoding: Encoding, node: Node) -> Item {
    let (format, type_, data) = match node {
        Node::Interior { children, type_ } => ("node".into(), type_.map(Cow::Owned), Data::Text(children.join("/"))),
        Node::Leaf(l) => {
            // Text XML cannot carry goes as bytes too.
            let data = if l.format == "bin" { Data::Binary(l.data) } else { Data::from_bytes(l.data) };
            let (format, data) = match (data, encoding) {
                (Data::Binary(bytes), Encoding::Xml) => ("b64".into(), Data::Text(B64.encode(bytes))),
                (Data::Binary(bytes), Encoding::Wbxml) => ("bin".into(), Data::Binary(bytes)),
                (text, _) => (l.format, text),
            };
            (format, Some(l.type_), data)
        }
    };
    let default = format == "chr" && type_.as_deref().is_none_or(|t| t == "text/plain");
    let meta = (!default).then(|| {
        Box::new(Meta {
            format: Some(format),
            type_: type_.filter(|t| !t.is_empty() && t != "text/plain"),
            ..Meta::default()
        })
    });
    Item { meta, data: Some(data), ..Item::default() }
}

/// A RespURI as a URI reference resolved against the URI in use (RFC 3986 §5.2, without
/// removing dot segments): servers mostly send an absolute URI, some only a path or a query.
fn resolve(base: &str, reference: &str) -> String {
    let scheme_end = |s: &str| {
        let end = s.find(':')?;
        let scheme = &s[..end];
        let ok = scheme.bytes().next()?.is_ascii_alphabetic()
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        ok.then_some(end)
    };
    let Some(scheme) = scheme_end(base) else { return reference.to_string() };
    if scheme_end(reference).is_some() {
        return reference.to_string();
    }
    let after_scheme = scheme + 1;
    let path_start = if base[after_scheme..].starts_with("//") {
        base[after_scheme + 2..].find(['/', '?', '#']).map_or(base.len(), |i| after_scheme + 2 + i)
    } else {
        after_scheme
    };
    let path_end = base[path_start..].find(['?', '#']).map_or(base.len(), |i| path_start + i);
    let (head, path) = (&base[..path_start], &base[path_start..path_end]);
    match reference.as_bytes().first() {
        _ if reference.starts_with("//") => format!("{}{reference}", &base[..after_scheme]),
        Some(b'/') => format!("{head}{reference}"),
        Some(b'?') => format!("{head}{path}{reference}"),
        Some(b'#') | None => base.to_string(),
        Some(_) => {
            let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
            format!("{head}{dir}{reference}")
        }
    }
}

fn item_target(item: &Item) -> String {
    item.target.as_ref().map(|l| l.uri.clone()).unwrap_or_default()
}

/// The leaf an Add/Replace item carries. Format and Type come from the item's Meta, else the
/// command's, else `chr` / `text/plain`; `b64` data is decoded and stored as `bin` (facts §1).
/// `moved` is the data of a reassembled large object, taken out of it rather than copied.
fn leaf_of(item: &Item, moved: Option<Data>, cmd_meta: Option<&Meta>) -> Result<Leaf, StatusCode> {
    let pick = |f: fn(&Meta) -> Option<&Cow<'static, str>>, default: &'static str| {
        item.meta.as_deref().and_then(f).or_else(|| cmd_meta.and_then(f)).cloned().unwrap_or(Cow::Borrowed(default))
    };
    let mut format = pick(|m| m.format.as_ref(), "chr");
    let type_ = pick(|m| m.type_.as_ref(), "text/plain");
    let data = match moved {
        Some(data) => Some(data.into_bytes()),
        None => item.data.as_ref().map(|d| d.as_bytes().to_vec()),
    };
    let mut data = data.unwrap_or_default();
    if format == "b64" {
        data = super::from_b64(&data).ok_or(StatusCode::BAD_REQUEST)?;
        format = "bin".into();
    }
    Ok(Leaf { format, type_, data })
}

/// The DevInfo leaves of a tree.
fn devinfo_of(tree: &mut impl Tree, server: &str) -> Vec<(String, String)> {
    let Ok(Node::Interior { children, .. }) = tree.get(server, "./DevInfo") else { return Vec::new() };
    children
        .into_iter()
        .filter(|c| uri::is_segment(c.as_bytes()))
        .filter_map(|c| {
            let uri = format!("./DevInfo/{c}");
            match tree.get(server, &uri) {
                Ok(Node::Leaf(l)) => Some((uri, String::from_utf8_lossy(&l.data).into_owned())),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn a_resp_uri_is_resolved_against_the_uri_in_use() {
        let base = "http://dm.example:8080/dm/session?s=1";
        for (reference, resolved) in [
            ("https://other.example/x?y", "https://other.example/x?y"),
            ("//other.example:81/x", "http://other.example:81/x"),
            ("/manage?sid=7", "http://dm.example:8080/manage?sid=7"),
            ("?s=2", "http://dm.example:8080/dm/session?s=2"),
            ("next?s=3", "http://dm.example:8080/dm/next?s=3"),
            ("", base),
        ] {
            assert_eq!(resolve(base, reference), resolved, "{reference}");
        }
        assert_eq!(resolve("http://h", "x"), "http://h/x");
        assert_eq!(resolve("not a uri", "/x"), "/x");
    }
}
