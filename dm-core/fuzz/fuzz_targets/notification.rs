#![no_main]
//! Package 0: parse never panics; what parses rebuilds to the same trigger.
use dm_core::notification::Notification;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = Notification::parse(data) {
        assert_eq!(n.trigger(), data[16..]);
    }
});
