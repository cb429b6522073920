//! The session engines, sans-IO: `receive` takes the peer's message, `next_message` gives the
//! next one to send. Neither touches a socket or a clock; both follow RULES.md R01–R22.
//!
//! Who speaks is fixed by the transport's request/response form: the client sends, the server
//! answers every client message (R11), and so on. Each engine knows whose package is open:
//! a party that has closed its package answers each further message of the peer with the
//! "Next Message" response (statuses owed, Alert 1222, no Final: R03, R04), and a party in the
//! middle of its own package goes on with it when the peer asks (R01, R02).

mod chunk;
mod client;
mod core;
mod server;
mod ui;

pub use client::{ClientConfig, ClientSession};
pub(crate) use client::{node_item, tnds_limits, write};
pub use server::{NonceSource, PasswordLookup, ServerConfig, ServerSession};
pub use ui::{UiHandler, UiRequest, UiResponse};

use std::borrow::Cow;

use crate::Limits;
use crate::codec::Encoding;
use crate::model::{AlertCode, Item, StatusCode};

/// What both roles configure alike: the wire and the limits.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Wire {
    /// What this side sends (default XML); it receives either.
    pub encoding: Encoding,
    /// MaxMsgSize this side announces (default: `limits.max_message_size`).
    pub max_msg_size: Option<u64>,
    /// MaxObjSize this side announces (default: `limits.max_object_size`).
    pub max_obj_size: Option<u64>,
    /// What a peer's message may hold at most.
    pub limits: Limits,
    /// Decode what real peers send although it is not valid (see `DecodeOptions::lenient`).
    pub lenient: bool,
    /// Accept DM 1.1.2 headers (VerDTD 1.1, DM/1.1) on receive.
    pub accept_dm11: bool,
}

/// Where a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum State {
    /// `next_message` has a message to send.
    Ready,
    /// A message from the peer is expected.
    Waiting,
    /// The session is over (R09).
    Ended,
    /// The session was aborted, by either side (R15–R17).
    Aborted,
}

/// Names a command the caller queued, in the events that answer it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct CommandRef(pub u32);

/// What a received message meant to the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Server: the client's DevInfo (package 1), as (URI, value).
    DevInfo(Vec<(String, String)>),
    /// The peer's Status for a command this side sent.
    Status {
        /// The command's reference, as queuing it returned.
        reference: CommandRef,
        /// The name of the command answered.
        cmd: Cow<'static, str>,
        /// The status code.
        code: StatusCode,
        /// The Status's items, if any.
        items: Vec<Item>,
    },
    /// Server: the Results of a Get (large objects already reassembled; data sent as base64,
    /// Format b64, decoded to bytes under Format bin, so that both encodings give the same).
    Results {
        /// The Get's reference, as queuing it returned.
        reference: CommandRef,
        /// One item per node read: its Source, Meta and Data.
        items: Vec<Item>,
    },
    /// An alert from the peer: a client's 1224 Client Event (base64 data decoded as in `Results`),
    /// or a server alert the client answered.
    Alert {
        /// The alert code.
        code: AlertCode,
        /// The Correlator it carried, if any.
        correlator: Option<String>,
        /// Its items (a UI alert's options, text and choices, say).
        items: Vec<Item>,
    },
    /// Server: a Generic Alert (1226) from the client (base64 data decoded as in `Results`).
    GenericAlert {
        /// The Correlator of the Exec it reports on, if any.
        correlator: Option<String>,
        /// What it reports: each item's Source, Meta (Type, Format, Mark) and Data.
        items: Vec<Item>,
    },
    /// Client: a server command was executed against the tree (a large object once, when whole).
    Executed {
        /// The command's name.
        cmd: &'static str,
        /// The node it was executed on.
        uri: String,
        /// The status the client answered with.
        code: StatusCode,
    },
    /// The peer's package is complete.
    PackageEnd,
    /// The session ended normally.
    Ended,
    /// The session was aborted.
    Aborted {
        /// Whether the peer aborted it (else this side did).
        by_peer: bool,
    },
    /// The client's credentials were accepted (told to both sides).
    Authenticated,
    /// The client's authentication failed for good (past the attempts allowed); the session is over.
    AuthenticationFailed {
        /// The last status the server answered the client's credentials with.
        code: crate::model::StatusCode,
    },
    /// The server's credentials were accepted (told to both sides).
    ServerAuthenticated,
    /// The server's authentication failed for good: past the attempts allowed (the client
    /// aborts), or the session is over with its credentials still refused (the server gave up
    /// first, or its last package needed no answer: nothing of it was run).
    ServerAuthenticationFailed {
        /// The status the client answered the server's credentials with.
        code: crate::model::StatusCode,
    },
}

/// One message ready to go out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The message's bytes, encoded.
    pub body: Vec<u8>,
    /// `application/vnd.syncml.dm+xml` or `+wbxml`.
    pub content_type: &'static str,
    /// The `x-syncml-hmac` header value, when HMAC authentication is in use.
    pub hmac: Option<String>,
}

/// Data sent as base64 (Format `b64`), decoded; white space in it is ignored. `None` when it is
/// not base64.
pub(crate) fn from_b64(text: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let compact: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).ok()
}
