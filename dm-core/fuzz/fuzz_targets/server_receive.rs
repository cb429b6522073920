#![no_main]
//! A server receives anything as package 1, reading strictly, and leniently with DM 1.1 headers
//! taken too; a refused message leaves it waiting. One that is taken is answered, laid out in
//! either encoding under whatever MaxMsgSize it announced, in a message strict decoding takes.
//! Reading strictly, the checker judges the message as the server did (`judgement.rs`).
#[path = "../../tests/common/judgement.rs"]
mod judgement;
mod shared;

use dm_core::check::Direction;
use dm_core::codec::Encoding;
use dm_core::error::Error;
use dm_core::session::{ServerConfig, ServerSession, State};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (encoding, lenient) in [(Encoding::Xml, false), (Encoding::Wbxml, false), (Encoding::Xml, true)] {
        let mut config = ServerConfig::new("srv");
        config.wire.encoding = encoding;
        config.wire.lenient = lenient;
        config.wire.accept_dm11 = lenient;
        let mut s = ServerSession::new(config);
        let result = s.receive(data);
        if !lenient && !matches!(result, Err(Error::Limit(_))) {
            let trace = [(Direction::ClientToServer, data.to_vec())];
            assert_eq!(judgement::disagreement(&trace, &result), None);
        }
        if result.is_err() {
            assert_eq!(s.state(), State::Waiting);
            continue;
        }
        let _ = s.get("./DevInfo/Mod");
        if let Ok(Some(out)) = s.next_message() {
            shared::assert_sendable(&out.body, shared::announced(data, None));
        }
    }
});
