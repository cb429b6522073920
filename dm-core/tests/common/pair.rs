//! A client and a server in memory, driven message by message (quinn's `Pair`), with a hook to
//! tamper with what is in flight and a record of every message for the checks.
#![allow(dead_code)]

use dm_core::auth::{AuthType, Credentials};
use dm_core::check::Direction;
use dm_core::codec;
use dm_core::model::Message;
use dm_core::session::{ClientConfig, ClientSession, Event, NonceSource, ServerConfig, ServerSession, State};
use dm_core::tree::MemoryTree;
use dm_core::tree::objects::DevInfo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    C2S,
    S2C,
}

/// What the hook does with a message in flight.
pub enum Flight {
    Deliver,
    Drop,
}

pub type Hook = Box<dyn FnMut(Dir, &mut Vec<u8>) -> Flight>;

pub struct Pair {
    pub client: ClientSession<MemoryTree>,
    pub server: ServerSession,
    pub trace: Vec<(Dir, Vec<u8>)>,
    /// The `x-syncml-hmac` header of each message of `trace`.
    pub hmacs: Vec<Option<String>>,
    /// Whether `trace` keeps every message (the default); a bench may measure without it.
    pub record: bool,
    pub hook: Option<Hook>,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
}

pub fn device_tree() -> MemoryTree {
    let mut t = MemoryTree::new();
    DevInfo {
        dev_id: "IMEI:493005100592800".into(),
        man: "Acme".into(),
        model: "X1".into(),
        dm_v: "1.2".into(),
        lang: "en-US".into(),
    }
    .install(&mut t)
    .unwrap();
    t.set_interior("./Vendor", None).unwrap();
    t.set_acl("./Vendor", "Add=*&Get=*&Replace=*&Delete=*&Exec=*").unwrap();
    t.set("./Vendor/Level", "1").unwrap();
    t
}

pub fn client_config() -> ClientConfig {
    ClientConfig::new("IMEI:493005100592800", "omadm-test", "http://127.0.0.1/dm")
}

pub fn server_config() -> ServerConfig {
    ServerConfig::new("omadm-test")
}

/// An md5 pair ("dev"/"pw") whose client digests with a nonce the server no longer holds
/// ("stale"; the server's is "first"), so that package 1 is challenged; the server's new nonces
/// come from `nonces`.
pub fn stale_md5_pair(nonces: NonceSource) -> Pair {
    let mut cc = client_config();
    (cc.auth, cc.credentials, cc.nonce) = (AuthType::Md5, Some(Credentials::new("dev", "pw")), b"stale".to_vec());
    let mut sc = server_config();
    (sc.auth, sc.client_credentials) = (AuthType::Md5, Some(Credentials::new("dev", "pw")));
    (sc.client_nonce, sc.nonce_source) = (b"first".to_vec(), Some(nonces));
    Pair::with(cc, device_tree(), sc)
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with(client_config(), device_tree(), server_config())
    }

    /// A pair whose client and server announce these MaxMsgSizes (`None`: the default).
    pub fn with_max_msg_sizes(client: Option<u64>, server: Option<u64>) -> Pair {
        let (mut cc, mut sc) = (client_config(), server_config());
        cc.wire.max_msg_size = client.or(cc.wire.max_msg_size);
        sc.wire.max_msg_size = server.or(sc.wire.max_msg_size);
        Pair::with(cc, device_tree(), sc)
    }

    pub fn with(cc: ClientConfig, tree: MemoryTree, sc: ServerConfig) -> Pair {
        Pair {
            client: ClientSession::new(cc, tree).unwrap(),
            server: ServerSession::new(sc),
            trace: Vec::new(),
            hmacs: Vec::new(),
            record: true,
            hook: None,
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Moves one message from whoever has one; returns its direction, or `None` when neither does.
    pub fn step(&mut self) -> Option<Dir> {
        let dir = if self.client.state() == State::Ready {
            Dir::C2S
        } else if self.server.state() == State::Ready {
            Dir::S2C
        } else {
            return None;
        };
        let out = match dir {
            Dir::C2S => self.client.next_message(),
            Dir::S2C => self.server.next_message(),
        }
        .unwrap()?;
        let hmac = out.hmac;
        let mut body = out.body;
        if let Some(hook) = &mut self.hook {
            if let Flight::Drop = hook(dir, &mut body) {
                return Some(dir);
            }
        }
        let unrecorded;
        let body = if self.record {
            self.hmacs.push(hmac.clone());
            self.trace.push((dir, body));
            &self.trace[self.trace.len() - 1].1
        } else {
            unrecorded = body;
            &unrecorded
        };
        match dir {
            Dir::C2S => {
                if self.server.state() == State::Waiting {
                    self.server_events.extend(self.server.receive_with_hmac(body, hmac.as_deref()).unwrap());
                }
            }
            Dir::S2C => {
                if self.client.state() == State::Waiting {
                    self.client_events.extend(self.client.receive_with_hmac(body, hmac.as_deref()).unwrap());
                }
            }
        }
        Some(dir)
    }

    /// Steps until neither side has anything to send, or the server's package is answered and
    /// the server has to decide (it is Ready after the client's Final with nothing queued).
    pub fn drive(&mut self) {
        for _ in 0..2_000 {
            if self.step().is_none() {
                return;
            }
        }
        panic!("the pair did not settle");
    }

    /// Steps until the server has received a complete client package (or nothing moves).
    pub fn until_server_has_package(&mut self) {
        for _ in 0..2_000 {
            if self.server_events.contains(&Event::PackageEnd) {
                return;
            }
            if self.step().is_none() {
                return;
            }
        }
        panic!("no package");
    }

    /// Sends the server's package and steps until the client's whole answer is back (the
    /// server saw the client's Final) or nothing moves.
    pub fn exchange(&mut self) {
        self.server_events.retain(|e| *e != Event::PackageEnd);
        for _ in 0..2_000 {
            if self.step().is_none() || self.server_events.contains(&Event::PackageEnd) {
                return;
            }
        }
        panic!("no answer");
    }

    pub fn take_server_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.server_events)
    }

    pub fn messages(&self, dir: Dir) -> Vec<Message> {
        self.trace.iter().filter(|(d, _)| *d == dir).map(|(_, b)| codec::decode(b).unwrap()).collect()
    }

    /// The trace as the checker takes it.
    pub fn checker_trace(&self) -> Vec<(Direction, Vec<u8>)> {
        let direction = |d| if d == Dir::C2S { Direction::ClientToServer } else { Direction::ServerToClient };
        self.trace.iter().map(|(d, b)| (direction(*d), b.clone())).collect()
    }

    pub fn all_messages(&self) -> Vec<(Dir, Message)> {
        self.trace.iter().map(|(d, b)| (*d, codec::decode(b).unwrap())).collect()
    }
}

/// A hook that takes every MsgRef out of what `from` sends (XML): MsgRef is optional in Status
/// and Results, and a peer may leave it out.
pub fn without_msg_refs(from: Dir) -> Hook {
    Box::new(move |dir, body| {
        if dir == from {
            let text = String::from_utf8(std::mem::take(body)).unwrap();
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(start) = rest.find("<MsgRef>") {
                let end = start + rest[start..].find("</MsgRef>").unwrap() + "</MsgRef>".len();
                out.push_str(&rest[..start]);
                rest = &rest[end..];
            }
            out.push_str(rest);
            *body = out.into_bytes();
        }
        Flight::Deliver
    })
}
