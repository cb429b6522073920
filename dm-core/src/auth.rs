//! Authentication (facts §4): syncml:auth-basic, syncml:auth-md5 and syncml:auth-MAC (HMAC over
//! the body, in the `x-syncml-hmac` transport header). Digests are compared in constant time;
//! secrets never reach Debug output or errors.

use base64::Engine;
use md5::{Digest, Md5};

use crate::model::{Chal, Cred, Meta};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The Meta Type of basic credentials.
pub const BASIC: &str = "syncml:auth-basic";
/// The Meta Type of MD5 digest credentials.
pub const MD5: &str = "syncml:auth-md5";
/// The Meta Type of HMAC (`x-syncml-hmac`) authentication.
pub const HMAC: &str = "syncml:auth-MAC";
/// The header that carries the HMAC of a message.
pub const HMAC_HEADER: &str = "x-syncml-hmac";

/// How a party proves who it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AuthType {
    /// No credentials.
    #[default]
    None,
    /// `syncml:auth-basic`: base64 of `user:password` (only over a secure transport).
    Basic,
    /// `syncml:auth-md5`: an MD5 digest of the user, password and nonce.
    Md5,
    /// `syncml:auth-MAC`: a digest of each message in its `x-syncml-hmac` HTTP header.
    Hmac,
}

impl AuthType {
    /// The Meta Type of Cred and Chal.
    pub fn meta_type(self) -> Option<&'static str> {
        match self {
            AuthType::None => None,
            AuthType::Basic => Some(BASIC),
            AuthType::Md5 => Some(MD5),
            AuthType::Hmac => Some(HMAC),
        }
    }

    /// The auth type a Cred or Chal Meta Type names; `None` for one DM does not use.
    pub fn from_meta_type(t: &str) -> Option<AuthType> {
        [AuthType::Basic, AuthType::Md5, AuthType::Hmac].into_iter().find(|a| a.meta_type() == Some(t))
    }

    /// `none`, `basic`, `md5`, `hmac` (as the CLI and the bindings spell it).
    pub fn parse(s: &str) -> Option<AuthType> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(AuthType::None),
            "basic" => Some(AuthType::Basic),
            "md5" | "digest" => Some(AuthType::Md5),
            "hmac" | "mac" => Some(AuthType::Hmac),
            _ => None,
        }
    }
}

/// A user name and password. Debug never shows the password.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Credentials {
    /// The user name (a server's ServerID, a client's device account name).
    pub username: String,
    /// The password (secret).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

impl Credentials {
    /// A user name and its password (or shared secret).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials { username: username.into(), password: password.into() }
    }
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// B64(H(username:password)), the part of every digest that hides the password.
fn user_hash(c: &Credentials) -> String {
    B64.encode(md5(&[c.username.as_bytes(), b":", c.password.as_bytes()]))
}

/// B64(H(B64(H(username:password)):nonce)), the syncml:auth-md5 digest.
pub fn md5_digest(c: &Credentials, nonce: &[u8]) -> String {
    B64.encode(md5(&[user_hash(c).as_bytes(), b":", nonce]))
}

/// B64(H(B64(H(username:password)):nonce:B64(H(body)))), the HMAC of a message body.
pub fn hmac_digest(c: &Credentials, nonce: &[u8], body: &[u8]) -> String {
    let body_hash = B64.encode(md5(&[body]));
    B64.encode(md5(&[user_hash(c).as_bytes(), b":", nonce, b":", body_hash.as_bytes()]))
}

/// The raw digest of a package-0 notification: H(B64(H(server-id:password)):nonce:B64(H(trigger))).
pub(crate) fn notification_digest(c: &Credentials, nonce: &[u8], trigger: &[u8]) -> [u8; 16] {
    let trigger_hash = B64.encode(md5(&[trigger]));
    md5(&[user_hash(c).as_bytes(), b":", nonce, b":", trigger_hash.as_bytes()])
}

/// Equality that takes the same time wherever the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cred_meta(t: &str) -> Meta {
    Meta { format: Some("b64".into()), type_: Some(crate::model::property_value(t)), ..Meta::default() }
}

/// The SyncHdr Cred for `auth` (none for HMAC, which travels in the transport header).
pub fn cred(auth: AuthType, c: &Credentials, nonce: &[u8]) -> Option<Cred> {
    let data = match auth {
        AuthType::Basic => B64.encode(format!("{}:{}", c.username, c.password)),
        AuthType::Md5 => md5_digest(c, nonce),
        AuthType::None | AuthType::Hmac => return None,
    };
    Some(Cred { meta: Some(cred_meta(auth.meta_type()?)), data })
}

/// Checks a received Cred against the expected credentials (and nonce, for md5).
pub fn verify_cred(cred: &Cred, auth: AuthType, c: &Credentials, nonce: &[u8]) -> bool {
    let Some(expected) = self::cred(auth, c, nonce) else { return false };
    let t = cred.meta.as_ref().and_then(|m| m.type_.as_deref());
    t == auth.meta_type() && constant_time_eq(cred.data.trim().as_bytes(), expected.data.as_bytes())
}

/// The user name a Cred claims: from Basic's data, else `None` (md5 names it in LocName).
pub fn basic_username(cred: &Cred) -> Option<String> {
    let raw = B64.decode(cred.data.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    Some(s.split_once(':')?.0.to_string())
}

/// The user a Cred claims to be: a basic Cred's own, an md5 Cred's sender's (the SyncHdr
/// Source's LocName).
pub fn claimed_user(m: &crate::model::Message, cred: &Cred) -> Option<String> {
    let kind = cred.meta.as_ref().and_then(|m| m.type_.as_deref()).and_then(AuthType::from_meta_type);
    if kind == Some(AuthType::Basic) { basic_username(cred) } else { m.header.source.name.clone() }
}

/// A challenge: Type, Format b64 and, for md5 and HMAC, the next nonce.
pub fn chal(auth: AuthType, nonce: &[u8]) -> Option<Chal> {
    let mut meta = cred_meta(auth.meta_type()?);
    if auth != AuthType::Basic {
        meta.next_nonce = Some(encode_nonce(nonce));
    }
    Some(Chal { meta })
}

/// A NextNonce's text: the nonce in base64.
pub fn encode_nonce(nonce: &[u8]) -> String {
    B64.encode(nonce)
}

/// The nonce a NextNonce carries (base64-decoded, as libdmclient uses it).
pub fn decode_nonce(next_nonce: &str) -> Option<Vec<u8>> {
    B64.decode(next_nonce.trim()).ok()
}

/// The `x-syncml-hmac` header value for a message body.
pub fn hmac_header(c: &Credentials, nonce: &[u8], body: &[u8]) -> String {
    format!("algorithm=MD5, username=\"{}\", mac={}", c.username, hmac_digest(c, nonce, body))
}

/// A parsed `x-syncml-hmac` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HmacHeader {
    /// `algorithm`: `MD5`, the only one DM defines.
    pub algorithm: String,
    /// `username`.
    pub username: String,
    /// `mac`: base64 of the digest.
    pub mac: String,
}

/// Parses `algorithm=MD5, username="name", mac=...`; algorithm defaults to MD5.
pub fn parse_hmac_header(value: &str) -> Option<HmacHeader> {
    let (mut algorithm, mut username, mut mac) = ("MD5".to_string(), None, None);
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (val, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], q[end + 1..].trim_start().trim_start_matches(',').trim_start())
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), after[end..].trim_start_matches(',').trim_start())
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "algorithm" => algorithm = val.to_string(),
            "username" => username = Some(val.to_string()),
            "mac" => mac = Some(val.to_string()),
            _ => {}
        }
        rest = next;
    }
    Some(HmacHeader { algorithm, username: username?, mac: mac? })
}

/// Checks an HMAC header against a body.
pub fn verify_hmac(header: &str, c: &Credentials, nonce: &[u8], body: &[u8]) -> bool {
    let Some(h) = parse_hmac_header(header) else { return false };
    h.algorithm.eq_ignore_ascii_case("MD5")
        && h.username == c.username
        && constant_time_eq(h.mac.as_bytes(), hmac_digest(c, nonce, body).as_bytes())
}
