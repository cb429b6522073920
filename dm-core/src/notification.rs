//! Package 0, the General Notification Initiated Session Alert (facts §5): a 128-bit MD5 digest,
//! then the trigger: version (10 bits, 1.1 = 11), UI mode (2), initiator (1), 27 zero bits,
//! session id (16), server id length (8), server id, vendor data. Big-endian.

use crate::auth::{self, Credentials};
use crate::error::{DecodeError, DecodeErrorKind, Site};

/// The only version DM 1.2 sends: 1.1, as 10 bits.
pub const VERSION_1_1: u16 = 11;
/// The nonce a client retries with when the stored one fails (as libdmclient spells it).
pub const RESYNC_NONCE: &[u8] = b"0x00000000";
/// MIME type of a notification.
pub const CONTENT_TYPE: &str = "application/vnd.syncml.notification";

const DIGEST_LEN: usize = 16;
const HEADER_LEN: usize = 8;

/// How the device should involve its user before the session (the ui-mode field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UiMode {
    /// 0: not specified; the device decides.
    #[default]
    NotSpecified,
    /// 1: in the background, without telling the user.
    Background,
    /// 2: telling the user.
    Informative,
    /// 3: asking the user first.
    UserInteraction,
}

impl UiMode {
    fn bits(self) -> u8 {
        self as u8
    }

    fn from_bits(b: u8) -> UiMode {
        [UiMode::NotSpecified, UiMode::Background, UiMode::Informative, UiMode::UserInteraction][usize::from(b & 3)]
    }
}

/// A notification, parsed or to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The MD5 digest over the rest, with the server's credentials and nonce (facts §5).
    pub digest: [u8; DIGEST_LEN],
    /// The version field: 11 (1.1), the only one DM 1.2 sends.
    pub version: u16,
    /// How to involve the user.
    pub ui_mode: UiMode,
    /// true: the server initiated (initiator bit 1); false: client or user.
    pub server_initiated: bool,
    /// The session's SessionID, which its header writes in hex (`session_id_hex`).
    pub session_id: u16,
    /// The ServerID of the server asking for a session.
    pub server_id: String,
    /// Vendor-specific bytes after the ServerID.
    pub vendor: Vec<u8>,
}

/// A notification's fault (or its WAP push's) at `offset`.
pub(crate) fn bad(offset: usize, why: impl Into<String>) -> DecodeError {
    DecodeError {
        kind: DecodeErrorKind::Notification(why.into()),
        site: Site { offset: offset as u64, ..Site::default() },
    }
}

impl Notification {
    /// A server-initiated notification, not yet signed.
    pub fn new(server_id: impl Into<String>, session_id: u16, ui_mode: UiMode) -> Notification {
        Notification {
            digest: [0; DIGEST_LEN],
            version: VERSION_1_1,
            ui_mode,
            server_initiated: true,
            session_id,
            server_id: server_id.into(),
            vendor: Vec::new(),
        }
    }

    /// The trigger: everything after the digest.
    pub fn trigger(&self) -> Vec<u8> {
        let mut t = Vec::with_capacity(HEADER_LEN + self.server_id.len() + self.vendor.len());
        let bits: u64 = (u64::from(self.version & 0x3FF) << 30)
            | (u64::from(self.ui_mode.bits()) << 28)
            | (u64::from(self.server_initiated) << 27);
        t.extend_from_slice(&bits.to_be_bytes()[3..8]);
        t.extend_from_slice(&self.session_id.to_be_bytes());
        t.push(self.server_id.len().min(255) as u8);
        t.extend_from_slice(&self.server_id.as_bytes()[..self.server_id.len().min(255)]);
        t.extend_from_slice(&self.vendor);
        t
    }

    /// Signs with the server's credentials (server id and password) and the client's nonce,
    /// and returns the bytes to send.
    pub fn build(mut self, server: &Credentials, nonce: &[u8]) -> Vec<u8> {
        let trigger = self.trigger();
        self.digest = auth::notification_digest(server, nonce, &trigger);
        let mut out = self.digest.to_vec();
        out.extend(trigger);
        out
    }

    /// Parses a notification. Short input, a version other than 1.1, a length past the end
    /// and non-zero future-use bits are `DecodeError`s with the byte offset.
    pub fn parse(bytes: &[u8]) -> Result<Notification, DecodeError> {
        if bytes.len() < DIGEST_LEN + HEADER_LEN {
            return Err(bad(
                bytes.len(),
                format!("{} bytes, at least {} needed", bytes.len(), DIGEST_LEN + HEADER_LEN),
            ));
        }
        let mut digest = [0; DIGEST_LEN];
        digest.copy_from_slice(&bytes[..DIGEST_LEN]);
        let t = &bytes[DIGEST_LEN..];
        let mut word = [0u8; 8];
        word[3..8].copy_from_slice(&t[..5]);
        let bits = u64::from_be_bytes(word);
        let version = ((bits >> 30) & 0x3FF) as u16;
        if version != VERSION_1_1 {
            return Err(bad(DIGEST_LEN, format!("version {}.{}, only 1.1 exists", version / 10, version % 10)));
        }
        if bits & ((1 << 27) - 1) != 0 {
            return Err(bad(DIGEST_LEN + 1, "future-use bits are not zero"));
        }
        let len = usize::from(t[7]);
        let id = t.get(HEADER_LEN..HEADER_LEN + len).ok_or_else(|| {
            bad(DIGEST_LEN + 7, format!("server id of {len} bytes runs past the end ({} left)", t.len() - HEADER_LEN))
        })?;
        let server_id =
            String::from_utf8(id.to_vec()).map_err(|_| bad(DIGEST_LEN + HEADER_LEN, "server id is not UTF-8"))?;
        Ok(Notification {
            digest,
            version,
            ui_mode: UiMode::from_bits((bits >> 28) as u8),
            server_initiated: (bits >> 27) & 1 == 1,
            session_id: u16::from_be_bytes([t[5], t[6]]),
            server_id,
            vendor: t[HEADER_LEN + len..].to_vec(),
        })
    }

    /// True when the digest is the server's over this trigger with `nonce`.
    pub fn verify(&self, server: &Credentials, nonce: &[u8]) -> bool {
        auth::constant_time_eq(&auth::notification_digest(server, nonce, &self.trigger()), &self.digest)
    }

    /// Verifies with the stored nonce, then with the resynchronisation nonce `0x00000000`;
    /// returns the nonce that worked.
    pub fn verify_with_resync<'n>(&self, server: &Credentials, nonce: &'n [u8]) -> Option<&'n [u8]>
    where
        'static: 'n,
    {
        [nonce, RESYNC_NONCE].into_iter().find(|n| self.verify(server, n))
    }

    /// The SessionID the client's package 1 must carry: upper-case hex, no leading zeros.
    pub fn session_id_hex(&self) -> String {
        format!("{:X}", self.session_id)
    }

    /// A client configuration for the session this notification asks for (Alert 1200, its
    /// SessionID, R23), from the device's usual one.
    pub fn client_config(&self, base: crate::session::ClientConfig) -> crate::session::ClientConfig {
        let mut c = base;
        c.server_initiated = true;
        c.session_id = self.session_id_hex();
        c
    }
}
