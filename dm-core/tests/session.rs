//! The session engines through the Pair: a conversation, then one test (at least) per rule.
mod common;

use common::pair::{Dir, Pair};
use dm_core::model::*;
use dm_core::session::{Event, State};

fn status_codes(events: &[Event]) -> Vec<(u32, u16)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Status { reference, code, .. } => Some((reference.0, code.0)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_whole_session_reads_like_a_conversation() {
    let mut p = Pair::new();
    p.until_server_has_package();
    let ev = p.take_server_events();
    assert!(
        ev.iter().any(|e| matches!(e, Event::DevInfo(d) if d.iter().any(|(u, v)| u == "./DevInfo/Man" && v == "Acme")))
    );
    let get = p.server.get("./DevInfo/Mod").unwrap();
    let rep = p.server.replace("./Vendor/Level", Data::Text("7".into()), None, None).unwrap();
    p.exchange();
    let ev = p.take_server_events();
    assert!(
        ev.iter().any(|e| matches!(e, Event::Results { reference, items } if *reference == get
        && items[0].data == Some(Data::Text("X1".into())))),
        "{ev:?}"
    );
    let codes = status_codes(&ev);
    assert!(codes.contains(&(get.0, 200)) && codes.contains(&(rep.0, 200)), "{codes:?}");
    assert_eq!(p.client.tree().value("./Vendor/Level"), Some("7"));
    // Nothing more to do: package 4 carries only statuses and the session ends (R09).
    p.drive();
    assert_eq!(p.server.state(), State::Ended);
    assert_eq!(p.client.state(), State::Ended);
    assert!(p.client_events.contains(&Event::Ended));
}

#[test]
fn trace_directions_alternate() {
    let mut p = Pair::new();
    p.drive();
    let dirs: Vec<Dir> = p.trace.iter().map(|(d, _)| *d).collect();
    assert_eq!(dirs, [Dir::C2S, Dir::S2C]);
}
