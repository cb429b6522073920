#![no_main]
//! A client that sent package 1 receives anything, reading strictly, and leniently with DM 1.1
//! headers taken too: an error leaves it waiting, unchanged; what it answers fits the MaxMsgSize
//! the message announced, and strict decoding takes it (however leniently the client read what
//! it answers).
mod shared;

use dm_core::session::{ClientConfig, ClientSession, State};
use dm_core::tree::MemoryTree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for lenient in [false, true] {
        let mut tree = MemoryTree::new();
        let _ = tree.set("./DevInfo/DevId", "IMEI:1");
        let _ = tree.set_acl(".", "Add=*&Get=*&Replace=*&Delete=*&Exec=*");
        let mut config = ClientConfig::new("IMEI:1", "srv", "http://dm");
        config.wire.lenient = lenient;
        config.wire.accept_dm11 = lenient;
        let mut c = ClientSession::new(config, tree).expect("client");
        let _ = c.next_message();
        if c.receive(data).is_err() {
            assert_eq!(c.state(), State::Waiting);
        } else if let Ok(Some(out)) = c.next_message() {
            shared::assert_sendable(&out.body, shared::announced(data, None));
        }
    }
});
