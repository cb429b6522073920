//! What the targets share with `make_seeds.rs`: how several messages make one input (joined at
//! `\xff--\xff`, a byte sequence neither encoding has in practice), and the credentials of the
//! seeds' sessions, which a target must configure for their messages to authenticate.
#![allow(dead_code)]

use dm_core::auth::Credentials;

pub const SEP: &[u8] = b"\xff--\xff";

/// The messages of `data`, in order.
pub fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some(at) = data.windows(SEP.len()).position(|w| w == SEP) {
        out.push(&data[..at]);
        data = &data[at + SEP.len()..];
    }
    out.push(data);
    out
}

/// The client's credentials in the seeds' md5 and HMAC sessions.
pub fn credentials() -> Credentials {
    Credentials { username: "dev".into(), password: "pw".into() }
}
