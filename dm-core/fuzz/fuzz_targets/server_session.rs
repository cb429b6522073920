#![no_main]
//! A server through a whole session with a client that says anything: the client's messages,
//! split as `shared.rs` says, are delivered one by one, and the server queues the seeds' commands
//! at the end of each client package. A refused message leaves the server waiting for another;
//! whatever it is told, the server never panics. What it sends fits the MaxMsgSize the client
//! announced, and strict decoding takes it. The checker judges each client message as the
//! server did (`judgement.rs`).
#[path = "../../tests/common/judgement.rs"]
mod judgement;
#[path = "../../tests/common/pair.rs"]
mod pair;
mod shared;

use dm_core::check::Direction;
use dm_core::error::Error;
use dm_core::session::{Event, ServerSession, State};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut s = ServerSession::new(pair::server_config());
    let (mut max, mut package, mut trace) = (None, 0, Vec::new());
    for message in shared::split(data) {
        if s.state() != State::Waiting {
            return;
        }
        trace.push((Direction::ClientToServer, message.to_vec()));
        let result = s.receive(message);
        if !matches!(result, Err(Error::Limit(_))) {
            assert_eq!(judgement::disagreement(&trace, &result), None);
        }
        let Ok(events) = result else {
            assert_eq!(s.state(), State::Waiting, "a refused message changed the server's state");
            trace.pop();
            continue;
        };
        max = shared::announced(message, max);
        if events.contains(&Event::PackageEnd) {
            package += 1;
            let _ = shared::queue(&mut s, package);
        }
        while s.state() == State::Ready {
            match s.next_message() {
                Ok(Some(out)) => {
                    shared::assert_sendable(&out.body, max);
                    trace.push((Direction::ServerToClient, out.body));
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
