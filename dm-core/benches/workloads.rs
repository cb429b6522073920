//! The sessions the benches time and `examples/prof.rs` profiles, through the in-memory `Pair`
//! (the including crate declares `mod pair` from tests/common/pair.rs).
#![allow(dead_code)]

use dm_core::codec::Encoding;
use dm_core::model::Data;
use dm_core::session::{ClientConfig, ServerConfig, ServerSession, State};
use dm_core::tree::MemoryTree;

use crate::pair::{Pair, client_config, device_tree, server_config};

pub const MIB: usize = 1 << 20;

/// What exists before a session: both configurations and the device's management tree.
pub struct Setup {
    client: ClientConfig,
    tree: MemoryTree,
    server: ServerConfig,
}

/// The set-up of the whole session with both sides speaking `encoding`.
pub fn setup(encoding: Encoding) -> Setup {
    let mut client = client_config();
    client.wire.encoding = encoding;
    let mut server = server_config();
    server.wire.encoding = encoding;
    Setup { client, tree: device_tree(), server }
}

/// The whole session: both sessions created, package 1, then 10 Gets and 10 Replaces (package
/// 2), their answers (3), and the end (4). The messages are not kept.
pub fn whole_session(setup: Setup) -> Pair {
    let mut p = Pair::with(setup.client, setup.tree, setup.server);
    p.record = false;
    drive_whole_session(&mut p);
    p
}

/// The messages of the whole session in `encoding`, as they were sent.
pub fn session_messages(encoding: Encoding) -> Vec<Vec<u8>> {
    let s = setup(encoding);
    let mut p = Pair::with(s.client, s.tree, s.server);
    drive_whole_session(&mut p);
    p.trace.into_iter().map(|(_, body)| body).collect()
}

/// The session itself, from package 1 to the end.
pub fn drive_whole_session(p: &mut Pair) {
    p.until_server_has_package();
    queue_twenty_commands(&mut p.server);
    p.drive();
    assert_eq!((p.client.state(), p.server.state()), (State::Ended, State::Ended));
}

/// The session's package 2: ten Gets and ten Replaces.
pub fn queue_twenty_commands(server: &mut ServerSession) {
    for i in 0..10 {
        server.get("./DevInfo/Man").unwrap();
        server.replace(&format!("./Vendor/N{i}"), Data::Text("value".into()), None, None).unwrap();
    }
}

/// `value` replaced on the device and read back, both chunked to fit 8 KiB messages; the
/// messages are kept in the `Pair`'s trace when `record`.
pub fn large_object_session(value: &str, record: bool) -> Pair {
    let mut cc = client_config();
    cc.wire.max_msg_size = Some(8 * 1024);
    cc.wire.limits.max_object_size = 2 * MIB;
    let mut sc = server_config();
    sc.wire.max_msg_size = Some(8 * 1024);
    sc.wire.limits.max_object_size = 2 * MIB;
    let mut p = Pair::with(cc, device_tree(), sc);
    p.record = record;
    p.until_server_has_package();
    p.server.replace("./Vendor/Big", Data::Text(value.into()), None, None).unwrap();
    p.exchange();
    p.server.get("./Vendor/Big").unwrap();
    p.drive();
    assert_eq!(p.server.state(), State::Ended);
    p
}
