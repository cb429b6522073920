#![no_main]
//! A client through a whole session with a server that says anything: the server's messages,
//! split as `shared.rs` says, are delivered one by one. A refused message leaves the client waiting
//! for another; whatever it is told, the client never panics. The client is the seeds' one
//! (`make_seeds.rs`), so that their messages fit. What the client sends fits the MaxMsgSize the
//! server announced, and strict decoding takes it. The checker judges each message as the client
//! did (`judgement.rs`).
#[path = "../../tests/common/judgement.rs"]
mod judgement;
#[path = "../../tests/common/pair.rs"]
mod pair;
mod shared;

use dm_core::check::Direction;
use dm_core::error::Error;
use dm_core::session::{ClientSession, State};
use libfuzzer_sys::fuzz_target;

fn client() -> ClientSession<dm_core::tree::MemoryTree> {
    let mut config = pair::client_config();
    config.wire.max_msg_size = Some(1500);
    ClientSession::new(config, pair::device_tree()).expect("client")
}

fuzz_target!(|data: &[u8]| {
    let mut c = client();
    let mut max = None;
    let mut trace = Vec::new();
    for message in shared::split(data) {
        if c.state() == State::Ready {
            match c.next_message() {
                Ok(Some(out)) => {
                    shared::assert_sendable(&out.body, max);
                    trace.push((Direction::ClientToServer, out.body));
                }
                Ok(None) => {}
                Err(_) => return,
            }
        }
        if c.state() != State::Waiting {
            return;
        }
        trace.push((Direction::ServerToClient, message.to_vec()));
        let result = c.receive(message);
        if !matches!(result, Err(Error::Limit(_))) {
            assert_eq!(judgement::disagreement(&trace, &result), None);
        }
        match result {
            Ok(_) => max = shared::announced(message, max),
            Err(_) => {
                assert_eq!(c.state(), State::Waiting, "a refused message changed the client's state");
                trace.pop();
            }
        }
    }
});
