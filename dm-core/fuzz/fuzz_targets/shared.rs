//! What the targets share with `make_seeds.rs`: how several messages make one input (joined at
//! `\xff--\xff`, a byte sequence neither encoding has in practice); the credentials of the
//! seeds' sessions, which a target must configure for their messages to authenticate; what the
//! seeds' server queues for each package; and the oracle of what a session sends: it fits the
//! MaxMsgSize its peer announced, and strict decoding takes it (so it holds nothing a peer could
//! refuse, such as text XML cannot carry).
#![allow(dead_code)]

use dm_core::auth::Credentials;
use dm_core::model::{AlertCode, Data, Item};
use dm_core::session::ServerSession;

pub const SEP: &[u8] = b"\xff--\xff";

/// The messages of `data`, in order.
pub fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some(at) = data.windows(SEP.len()).position(|w| w == SEP) {
        out.push(&data[..at]);
        data = &data[at + SEP.len()..];
    }
    out.push(data);
    out
}

/// The client's credentials in the seeds' md5 and HMAC sessions.
pub fn credentials() -> Credentials {
    Credentials { username: "dev".into(), password: "pw".into() }
}

/// The MaxMsgSize a message the session took announces, or the one announced before.
pub fn announced(body: &[u8], before: Option<u64>) -> Option<u64> {
    let m = dm_core::codec::decode_with(body, &dm_core::codec::DecodeOptions::lenient());
    m.ok().and_then(|m| m.header.meta.and_then(|meta| meta.max_msg_size)).or(before)
}

/// A message sent never exceeds the peer's MaxMsgSize, and strict decoding takes it.
pub fn assert_sendable(sent: &[u8], max: Option<u64>) {
    if let Some(max) = max {
        assert!(sent.len() as u64 <= max, "a message of {} bytes where the peer announced {max}", sent.len());
    }
    if let Err(e) = dm_core::codec::decode(sent) {
        panic!("a message sent that strict decoding refuses: {e}");
    }
}

/// What the server asks for in each of its packages; a client's small MaxMsgSize or MaxObjSize
/// may leave a command unsendable, and the rest unqueued.
pub fn queue(s: &mut ServerSession, package: usize) -> Result<(), dm_core::error::Error> {
    let text = |t: &str| Data::Text(t.into());
    let item = |t: &str| Item { data: Some(text(t)), ..Item::default() };
    if package % 2 == 1 {
        s.get("./DevInfo/Mod")?;
        s.replace("./Vendor/Level", text(&"0123456789abcdef".repeat(150)), None, None)?;
        s.begin_atomic()?;
        s.add("./Vendor/New", Some(text("x")), None, None)?;
        s.end_group()?;
    } else {
        s.get("./Vendor/Level")?;
        s.begin_sequence()?;
        s.exec("./Vendor/Level", None, Some("corr-1"))?;
        s.delete("./Vendor/New")?;
        s.end_group()?;
        s.copy("./Vendor/Level", "./Vendor/Copy")?;
        s.alert(AlertCode::CONFIRM_OR_REJECT, vec![item("MINDT=10"), item("Proceed?")])?;
        s.begin_atomic()?;
        s.add("./Vendor/A", Some(text("a")), None, None)?;
        s.replace("./Nope/X", text("x"), None, None)?;
        s.end_group()?;
        s.get("./Vendor?list=Struct")?;
        s.get("./DevInfo?list=TNDS+Format+Type")?;
    }
    Ok(())
}
