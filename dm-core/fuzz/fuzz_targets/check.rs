#![no_main]
//! A captured trace (messages split as `shared.rs` says): the checker never panics, and every
//! violation names a message of the trace.
mod shared;

use dm_core::check::{check, infer_directions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let messages: Vec<Vec<u8>> = shared::split(data).into_iter().map(<[u8]>::to_vec).collect();
    let n = messages.len();
    for v in check(&infer_directions(messages)) {
        assert!(v.msg_index < n, "{v} names no message of {n}");
        let _ = v.to_string();
    }
});
