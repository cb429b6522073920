#![no_main]
//! XML in any form: strict and lenient decoding never panic, and what decodes re-encodes.
use dm_core::codec::{self, DecodeOptions, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for options in [DecodeOptions::default(), DecodeOptions::lenient()] {
        if let Ok(m) = codec::decode_with(data, &options) {
            let again = codec::decode(&codec::encode(&m, Encoding::Xml)).expect("our XML decodes");
            assert_eq!(again, m);
        }
    }
});
