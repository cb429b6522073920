#![no_main]
//! WBXML: after a SyncML 1.2 header, any body; never a panic, and what decodes round-trips.
use dm_core::codec::{self, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = vec![0x02, 0xA4, 0x01, 0x6A];
    bytes.extend_from_slice(data);
    for input in [data, &bytes[..]] {
        if let Ok(m) = codec::decode(input) {
            let again = codec::decode(&codec::encode(&m, Encoding::Wbxml)).expect("our WBXML decodes");
            assert_eq!(again, m);
        }
    }
});
