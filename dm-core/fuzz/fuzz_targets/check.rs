#![no_main]
//! A captured trace (messages split as `shared.rs` says): the checker never panics, every
//! violation (of the rules, and of the seeds' credentials) names a message of the trace, and
//! every answer one before its own.
mod shared;

use dm_core::check::{Secrets, check, check_with, credentials, infer_directions, trace_answers};
use dm_core::session::PasswordLookup;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let messages: Vec<Vec<u8>> = shared::split(data).into_iter().map(<[u8]>::to_vec).collect();
    let n = messages.len();
    let trace = infer_directions(messages);
    let secrets = Secrets {
        client: Some(shared::credentials()),
        server: Some(shared::credentials()),
        client_nonce: Some(b"seed-nonce".to_vec()),
        ..Secrets::default()
    };
    // A server's many devices: each judged as the user it names.
    let user = shared::credentials();
    let many = Secrets {
        client: None,
        client_lookup: Some(PasswordLookup(std::sync::Arc::new(move |u| (u == user.username).then(|| user.password.clone())))),
        ..secrets.clone()
    };
    let found = check(&trace).into_iter().chain(credentials(&trace, &[], &secrets));
    for v in found.chain(check_with(&trace, &[], &many)) {
        assert!(v.msg_index < n, "{v} names no message of {n}");
        let _ = v.to_string();
    }
    for a in trace_answers(&trace) {
        assert!(a.msg_index < n && a.answers.is_none_or(|(at, _)| at < a.msg_index), "{a:?} in {n} messages");
    }
});
