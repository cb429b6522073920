#![no_main]
//! Any input: strict and lenient decoding never panic, and what decodes re-encodes in its own
//! encoding to an equal message, which strict decoding takes too unless it holds what only
//! lenient decoding takes (in Data: embedded XML with text beside it, two documents, markup
//! XML 1.0 refuses, or text XML cannot carry); then lenient decoding takes it.
use dm_core::Error;
use dm_core::codec::{self, DecodeOptions};
use dm_core::error::DecodeErrorKind as K;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for options in [DecodeOptions::default(), DecodeOptions::lenient()] {
        if let (Ok(m), Some(enc)) = (codec::decode_with(data, &options), codec::detect(data)) {
            let bytes = codec::encode(&m, enc);
            let again = match codec::decode(&bytes) {
                Err(Error::Decode(e))
                    if options.lenient
                        && matches!(e.kind, K::EmbeddedXml(_) | K::NotXmlText | K::Syntax(_) | K::Doctype) =>
                {
                    codec::decode_with(&bytes, &options)
                }
                other => other,
            };
            assert_eq!(again.expect("our encoding decodes"), m);
        }
    }
});
