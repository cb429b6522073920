#![no_main]
//! A server receives anything as package 1; a refused message leaves it waiting.
use dm_core::session::{ServerConfig, ServerSession, State};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut s = ServerSession::new(ServerConfig::new("srv"));
    if s.receive(data).is_err() {
        assert_eq!(s.state(), State::Waiting);
    } else {
        let _ = s.get("./DevInfo/Mod");
        let _ = s.next_message();
    }
});
