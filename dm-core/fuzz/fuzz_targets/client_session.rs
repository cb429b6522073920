#![no_main]
//! A client through a whole session with a server that says anything: the server's messages,
//! split at `\xff--\xff`, are delivered one by one. A refused message leaves the client waiting
//! for another; whatever it is told, the client never panics.
use dm_core::session::{ClientConfig, ClientSession, State};
use dm_core::tree::MemoryTree;
use dm_core::tree::objects::DevInfo;
use libfuzzer_sys::fuzz_target;

const SEP: &[u8] = b"\xff--\xff";

/// The client of the seeds (`dm-core/fuzz/seeds/client_session`), so that their messages fit.
fn client() -> ClientSession<MemoryTree> {
    let mut tree = MemoryTree::new();
    let devinfo = DevInfo {
        dev_id: "IMEI:493005100592800".into(),
        man: "Acme".into(),
        model: "X1".into(),
        dm_v: "1.2".into(),
        lang: "en-US".into(),
    };
    devinfo.install(&mut tree).expect("devinfo");
    tree.set_interior("./Vendor", None).expect("interior");
    tree.set_acl("./Vendor", "Add=*&Get=*&Replace=*&Delete=*&Exec=*").expect("acl");
    tree.set("./Vendor/Level", "1").expect("leaf");
    let mut config = ClientConfig::new("IMEI:493005100592800", "omadm-test", "http://127.0.0.1/dm");
    config.wire.max_msg_size = Some(1500);
    ClientSession::new(config, tree).expect("client")
}

fuzz_target!(|data: &[u8]| {
    let mut c = client();
    let mut rest = Some(data);
    while let Some(input) = rest {
        let at = input.windows(SEP.len()).position(|w| w == SEP);
        let message = at.map_or(input, |at| &input[..at]);
        rest = at.map(|at| &input[at + SEP.len()..]);
        if c.state() == State::Ready && c.next_message().is_err() {
            return;
        }
        if c.state() != State::Waiting {
            return;
        }
        if c.receive(message).is_err() {
            assert_eq!(c.state(), State::Waiting, "a refused message changed the client's state");
        }
    }
});
