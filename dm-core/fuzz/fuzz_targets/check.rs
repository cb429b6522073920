#![no_main]
//! A captured trace, messages split at `\xff--\xff` (a byte sequence neither encoding has in
//! practice): the checker never panics, and every violation names a message of the trace.
use dm_core::check::{check, infer_directions};
use libfuzzer_sys::fuzz_target;

const SEP: &[u8] = b"\xff--\xff";

fn split(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(at) = data.windows(SEP.len()).position(|w| w == SEP) {
        out.push(data[..at].to_vec());
        data = &data[at + SEP.len()..];
    }
    out.push(data.to_vec());
    out
}

fuzz_target!(|data: &[u8]| {
    let messages = split(data);
    let n = messages.len();
    for v in check(&infer_directions(messages)) {
        assert!(v.msg_index < n, "{v} names no message of {n}");
        let _ = v.to_string();
    }
});
