#![no_main]
//! Package 0: parse never panics; what parses rebuilds to the same trigger. A WAP push never
//! panics either, and what unwraps is the PDU's tail, wrapped again the same way.
use dm_core::notification::Notification;
use dm_core::wap_push;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = Notification::parse(data) {
        assert_eq!(n.trigger(), data[16..]);
    }
    if let Ok(body) = wap_push::unwrap(data) {
        assert!(data.ends_with(body));
        assert_eq!(wap_push::unwrap(&wap_push::wrap(data[0], body)).unwrap(), body);
    }
});
