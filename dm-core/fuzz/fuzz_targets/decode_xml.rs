#![no_main]
//! Any input: strict and lenient decoding never panic, and what decodes re-encodes in its own
//! encoding to an equal message.
use dm_core::codec::{self, DecodeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for options in [DecodeOptions::default(), DecodeOptions::lenient()] {
        if let (Ok(m), Some(enc)) = (codec::decode_with(data, &options), codec::detect(data)) {
            let again = codec::decode(&codec::encode(&m, enc)).expect("our encoding decodes");
            assert_eq!(again, m);
        }
    }
});
