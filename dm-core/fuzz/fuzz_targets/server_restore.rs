#![no_main]
//! A snapshot from a store the caller does not control (corrupted, truncated, tampered) and the
//! client message that comes next, split at the first NUL (JSON holds none): restoring never
//! panics, what restores snapshots to itself, and the restored session takes the message, or
//! refuses it and stays as it was, under each authentication it may have been configured with.
mod shared;

use dm_core::auth::AuthType;
use dm_core::session::{NonceSource, ServerConfig, ServerSession};
use libfuzzer_sys::fuzz_target;

fn config(auth: AuthType) -> ServerConfig {
    let mut c = ServerConfig::new("omadm-test");
    if auth != AuthType::None {
        c.auth = auth;
        c.client_credentials = Some(shared::credentials());
        c.nonce_source = Some(NonceSource(std::sync::Arc::new(|| b"fuzz-nonce".to_vec())));
    }
    c
}

fuzz_target!(|data: &[u8]| {
    let (snapshot, body) = data.split_at(data.iter().position(|&b| b == 0).unwrap_or(data.len()));
    let body = body.get(1..).unwrap_or_default();
    for auth in [AuthType::None, AuthType::Md5, AuthType::Hmac] {
        let Ok(mut s) = ServerSession::restore(snapshot, config(auth)) else { return };
        let saved = s.snapshot();
        let again = ServerSession::restore(&saved, config(auth)).expect("a snapshot restores");
        assert_eq!(again.snapshot(), saved);
        let _ = (s.state(), s.devinfo().count(), s.session_id(), s.device_id(), s.next_client_nonce());
        if s.receive(body).is_err() {
            assert_eq!(s.snapshot(), saved, "a refused message changed the session");
        }
        let _ = s.get("./DevInfo/Mod");
        let _ = s.next_message();
        s.abort();
        let _ = s.next_message();
    }
});
