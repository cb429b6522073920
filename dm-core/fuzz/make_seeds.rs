//! Writes the seeds of the session targets (`cargo run --bin make_seeds` here): whole sessions
//! through the Pair (chunking both ways under a MaxMsgSize of 1500, Sequence, Atomic with a
//! rollback, Exec, Copy, a UI alert, Struct and TNDS lists), in XML and WBXML, without
//! authentication, md5 and HMAC. `server_restore`: each server snapshot with the client message
//! that came next; `check`: each session as a trace; `client_session`: the server's messages;
//! `server_session`: the client's; `tnds`: listings of the device's tree, whole and in part (beside
//! `fumo.ddf`, written by hand, a DDF as `tests/tree.rs` holds a tree to it).
#[path = "../tests/common/pair.rs"]
mod pair;
#[path = "fuzz_targets/shared.rs"]
mod shared;

use std::path::Path;

use dm_core::auth::AuthType;
use dm_core::codec::Encoding;
use dm_core::session::{Event, NonceSource, State};
use pair::{Pair, client_config, device_tree, server_config};

fn joined(messages: &[Vec<u8>]) -> Vec<u8> {
    messages.join(shared::SEP)
}

fn session(name: &str, mut p: Pair, seeds: &Path) {
    let (mut both_ways, mut from_server, mut from_client) = (Vec::new(), Vec::new(), Vec::new());
    let mut snapshots = 0;
    for package in 0..4 {
        if package > 0 {
            shared::queue(&mut p.server, package).unwrap();
        }
        loop {
            if p.client.state() == State::Ready {
                let snapshot = p.server.snapshot();
                let msg = p.client.next_message().unwrap().unwrap();
                let seed = [&snapshot[..], &[0], &msg.body].concat();
                std::fs::write(seeds.join(format!("server_restore/{name}_{snapshots:02}")), seed).unwrap();
                snapshots += 1;
                both_ways.push(msg.body.clone());
                from_client.push(msg.body.clone());
                let events = p.server.receive_with_hmac(&msg.body, msg.hmac.as_deref()).unwrap();
                if events.contains(&Event::PackageEnd) {
                    break;
                }
            } else if p.server.state() == State::Ready {
                let msg = p.server.next_message().unwrap().unwrap();
                both_ways.push(msg.body.clone());
                from_server.push(msg.body.clone());
                p.client.receive_with_hmac(&msg.body, msg.hmac.as_deref()).unwrap();
            } else {
                break;
            }
        }
    }
    std::fs::write(seeds.join(format!("check/{name}")), joined(&both_ways)).unwrap();
    if name.starts_with("plain") {
        std::fs::write(seeds.join(format!("client_session/{name}")), joined(&from_server)).unwrap();
        std::fs::write(seeds.join(format!("server_session/{name}")), joined(&from_client)).unwrap();
    }
}

fn main() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for target in ["server_restore", "check", "client_session", "server_session", "tnds"] {
        std::fs::create_dir_all(seeds.join(target)).unwrap();
    }
    let mut tree = device_tree();
    tree.set_leaf("./Vendor/Bin", dm_core::tree::Leaf { format: "bin".into(), type_: "a/b".into(), data: vec![0, 255] })
        .unwrap();
    for (i, uri) in [".", "./DevInfo", "./Vendor"].iter().enumerate() {
        let all = dm_core::tree::uri::PropSelection::All;
        let listing = dm_core::tree::tnds::tnds(&mut tree, "omadm-test", uri, &all, usize::MAX).unwrap();
        std::fs::write(seeds.join(format!("tnds/listing_{i}")), listing).unwrap();
    }
    for (encoding, e) in [(Encoding::Xml, "xml"), (Encoding::Wbxml, "wbxml")] {
        let mut cc = client_config();
        cc.wire.encoding = encoding;
        cc.wire.max_msg_size = Some(1500);
        let mut sc = server_config();
        sc.wire.encoding = encoding;
        session(&format!("plain_{e}"), Pair::with(cc.clone(), device_tree(), sc.clone()), &seeds);
        let creds = shared::credentials();
        let nonces = NonceSource(std::sync::Arc::new(|| b"seed-nonce".to_vec()));
        for auth in [AuthType::Md5, AuthType::Hmac] {
            let (mut cc, mut sc) = (cc.clone(), sc.clone());
            (cc.auth, cc.credentials, cc.nonce_source) = (auth, Some(creds.clone()), Some(nonces.clone()));
            (sc.auth, sc.client_credentials, sc.nonce_source) = (auth, Some(creds.clone()), Some(nonces.clone()));
            session(&format!("{auth:?}_{e}"), Pair::with(cc, device_tree(), sc), &seeds);
        }
    }
}
