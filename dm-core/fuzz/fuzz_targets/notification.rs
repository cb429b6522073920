#![no_main]
//! Package 0: parse never panics; what parses rebuilds to the same trigger. A WAP push never
//! panics either, and what unwraps is the PDU's tail, wrapped again the same way; so is a
//! bootstrap's push, its SEC and MAC read back as they were.
use dm_core::bootstrap;
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
    if let Ok((body, content_type)) = wap_push::unwrap_bootstrap(data) {
        assert!(data.ends_with(body));
        // A MAC is hex: other text the Content-Type's reading does not keep as it is (quotes, blanks).
        if let Ok((Some(security), Some(mac))) = bootstrap::seal(&content_type)
            && mac.bytes().all(|b| b.is_ascii_hexdigit())
        {
            let again = wap_push::wrap_bootstrap(data[0], body, security, &mac);
            let (same, read) = wap_push::unwrap_bootstrap(&again).unwrap();
            assert_eq!((same, bootstrap::seal(&read).unwrap()), (body, (Some(security), Some(mac))));
        }
    }
});
