//! Several messages in one fuzz input: split at `\xff--\xff`, a byte sequence neither encoding
//! has in practice (`make_seeds.rs` joins them so).
#![allow(dead_code)]

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
