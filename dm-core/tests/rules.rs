//! One test (at least) per rule of RULES.md, named after it, through the Pair and through
//! hand-written peer messages.
mod common;

use common::pair::{Dir, Flight, Pair, client_config, device_tree, server_config, without_msg_refs};
use dm_core::codec::{self, Encoding};
use dm_core::error::Error;
use dm_core::model::*;
use dm_core::session::{ClientSession, CommandRef, Event, ServerSession, State, UiResponse};

fn text(s: &str) -> Data {
    Data::Text(s.into())
}

fn alerts(m: &Message) -> Vec<u16> {
    m.commands.iter().filter_map(|c| if let Command::Alert(a) = c { Some(a.data.0) } else { None }).collect()
}

fn names(m: &Message) -> Vec<&'static str> {
    m.commands.iter().map(Command::name).collect()
}

fn rule_of(e: Error) -> &'static str {
    match e {
        Error::Remote(r) => r.rule,
        other => panic!("expected a RemoteError, got {other:?}"),
    }
}

/// A pair whose client announces a small MaxMsgSize, with the server holding `n` Replaces.
fn split_package2(n: usize) -> Pair {
    split_package2_in(n, Encoding::Xml)
}

fn split_package2_in(n: usize, encoding: Encoding) -> Pair {
    let mut cc = client_config();
    cc.wire.max_msg_size = Some(1200);
    cc.wire.encoding = encoding;
    let mut sc = server_config();
    sc.wire.encoding = encoding;
    let mut p = Pair::with(cc, device_tree(), sc);
    p.until_server_has_package();
    for i in 0..n {
        p.server.replace(&format!("./Vendor/N{i}"), text(&"v".repeat(40)), None, None).ok();
        p.server.add(&format!("./Vendor/N{i}"), Some(text(&"v".repeat(40))), None, None).unwrap();
    }
    p
}

#[test]
fn r01_final_only_in_the_last_message_of_a_split_package() {
    let mut p = split_package2(15);
    p.exchange();
    let s2c = p.messages(Dir::S2C);
    assert!(s2c.len() >= 3, "package 2 should need several messages, got {}", s2c.len());
    let (last, rest) = s2c.split_last().unwrap();
    assert!(rest.iter().all(|m| !m.is_final) && last.is_final);
    for (_, body) in p.trace.iter().filter(|(d, _)| *d == Dir::S2C) {
        assert!(body.len() <= 1200, "message of {} bytes over MaxMsgSize", body.len());
    }
    for i in 0..15 {
        assert!(p.client.tree().value(&format!("./Vendor/N{i}")).is_some());
    }
}

/// WBXML messages are sized by a bound (strings inline), then exactly near MaxMsgSize: none is
/// over it, and none but the last could have taken another command.
#[test]
fn r01_a_split_wbxml_package_fits_max_msg_size_and_fills_its_messages() {
    let mut p = split_package2_in(100, Encoding::Wbxml);
    p.exchange();
    let s2c: Vec<usize> = p.trace.iter().filter(|(d, _)| *d == Dir::S2C).map(|(_, b)| b.len()).collect();
    assert!(s2c.len() >= 3, "{s2c:?}");
    assert!(s2c.iter().all(|&n| n <= 1200), "{s2c:?}");
    // A Replace with its Status is under 150 bytes here.
    assert!(s2c[1..s2c.len() - 1].iter().all(|&n| n > 1200 - 150), "{s2c:?}");
}

/// A package is split by command count too: no message holds more commands (nested ones
/// counted) than the sender itself decodes, which is what a peer with the same limits takes.
/// 9 000 Gets in WBXML get 18 000 statuses and results in 700 KB, within MaxMsgSize: in one
/// message, the server refused them (commands limit).
#[test]
fn r01_a_package_splits_so_that_no_message_holds_more_commands_than_the_peer_takes() {
    for encoding in [Encoding::Wbxml, Encoding::Xml] {
        let (mut cc, mut sc) = (client_config(), server_config());
        cc.wire.encoding = encoding;
        sc.wire.encoding = encoding;
        let max = cc.wire.limits.max_commands;
        let mut p = Pair::with(cc, device_tree(), sc);
        p.until_server_has_package();
        for _ in 0..9_000 {
            p.server.get("./DevInfo/Man").unwrap();
        }
        p.drive();
        assert_eq!(p.server.state(), State::Ended, "{encoding:?}");
        let counts: Vec<usize> = p.all_messages().iter().map(|(_, m)| commands_in(&m.commands)).collect();
        assert!(counts.iter().all(|&n| n <= max), "{encoding:?}: {counts:?}");
        // In WBXML the count is what splits the client's package; in XML, the size.
        assert_eq!(counts.contains(&max), encoding == Encoding::Wbxml, "{encoding:?}: {counts:?}");
    }
}

/// Commands, nested ones counted, as the decoder counts them.
fn commands_in(commands: &[Command]) -> usize {
    commands
        .iter()
        .map(|c| 1 + if let Command::Atomic(g) | Command::Sequence(g) = c { commands_in(&g.commands) } else { 0 })
        .sum()
}

#[test]
fn r02_client_does_not_close_its_package_before_the_server_closes_its_own() {
    let mut p = split_package2(15);
    p.exchange();
    let msgs = p.all_messages();
    let last_server_final = msgs.iter().rposition(|(d, m)| *d == Dir::S2C && m.is_final).unwrap();
    for (d, m) in &msgs[1..last_server_final] {
        if *d == Dir::C2S {
            assert!(!m.is_final, "client closed package 3 while package 2 was open");
        }
    }
    // A peer that does it is refused.
    let mut p = split_package2(15);
    p.step(); // first part of package 2 (server's package now open)
    p.step(); // client's Next Message response
    let mut bad =
        Message { header: p.messages(Dir::C2S).last().unwrap().header.clone(), commands: vec![], is_final: true };
    bad.header.msg_id += 1;
    let _ = p.server.next_message().unwrap();
    let e = p.server.receive(&codec::encode(&bad, Encoding::Xml)).unwrap_err();
    assert_eq!(rule_of(e), "R02");
}

#[test]
fn r03_recipient_of_an_unfinished_package_asks_with_1222() {
    let mut p = split_package2(15);
    p.exchange();
    let msgs = p.all_messages();
    for w in msgs.windows(2) {
        if w[0].0 == Dir::S2C && !w[0].1.is_final {
            assert!(alerts(&w[1].1).contains(&1222), "no 1222 after a non-final message");
        }
    }
}

/// A pair where the server announces a small MaxMsgSize and asks for many Results, so that
/// package 3 takes several messages.
fn split_package3() -> Pair {
    let mut p = Pair::with_max_msg_sizes(None, Some(1024));
    p.until_server_has_package();
    for _ in 0..12 {
        p.server.get("./DevInfo/Man").unwrap();
    }
    p.server.get("./DevInfo").unwrap();
    p
}

#[test]
fn r04_next_message_response_has_status_and_1222_only_no_final() {
    let mut p = split_package3();
    p.exchange();
    let msgs = p.all_messages();
    let c2s_finals: Vec<usize> =
        msgs.iter().enumerate().filter(|(_, (d, m))| *d == Dir::C2S && m.is_final).map(|(i, _)| i).collect();
    let mut checked = 0;
    for (i, (d, m)) in msgs.iter().enumerate() {
        // Server messages answering a client message that was not final.
        if *d == Dir::S2C
            && i > 0
            && msgs[i - 1].0 == Dir::C2S
            && !msgs[i - 1].1.is_final
            && !c2s_finals.is_empty()
            && i > 2
        {
            assert!(!m.is_final);
            assert!(names(m).iter().all(|n| *n == "Status" || *n == "Alert"), "{:?}", names(m));
            assert_eq!(alerts(m), [1222]);
            let Command::Status(s) = &m.commands[0] else { panic!() };
            assert_eq!(s.cmd, "SyncHdr");
            checked += 1;
        }
    }
    assert!(checked >= 1, "package 3 was not split");
    // A client that answers the server's open package with other commands is refused.
    let mut p = split_package2(15);
    p.step();
    let s2c = p.messages(Dir::S2C);
    let last = s2c.last().unwrap();
    // Results for a command the server did send: only R04 refuses them.
    let sent = last.commands.iter().find(|c| matches!(c, Command::Add(_))).expect("an Add went out").cmd_id();
    let e = p.server.receive(&client_results(last, last.header.msg_id, sent, false)).unwrap_err();
    assert_eq!(rule_of(e), "R04");
    // Nor may an Alert but 1222 (and 1223, which ends the session) stand there: a Generic Alert.
    let mut header = p.messages(Dir::C2S).last().unwrap().header.clone();
    header.msg_id += 1;
    let alert = |code| {
        Command::Alert(Alert {
            cmd_id: 1,
            no_resp: false,
            cred: None,
            data: AlertCode(code),
            correlator: None,
            items: vec![],
        })
    };
    let message = |code| Message { header: header.clone(), commands: vec![alert(code)], is_final: false };
    let e = p.server.receive(&codec::encode(&message(1226), Encoding::Xml)).unwrap_err();
    assert_eq!((rule_of(e.clone()), e.to_string().contains("Alert 1226")), ("R04", true), "{e}");
    p.server.receive(&codec::encode(&message(1222), Encoding::Xml)).expect("Alert 1222 belongs there");
}

/// A message's CmdIDs are unique and not 0 (facts §1), in any order: one that breaks this is
/// refused, the session as it was; a lenient session takes it.
#[test]
fn a_message_whose_cmd_ids_repeat_or_are_0_is_refused() {
    let mut client = ClientSession::new(client_config(), device_tree()).unwrap();
    let package_1 = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
    let renumbered = |ids: &[u32]| {
        let mut m = package_1.clone();
        for (c, id) in m.commands.iter_mut().zip(ids) {
            c.set_cmd_id(*id);
        }
        codec::encode(&m, Encoding::Xml)
    };
    for ids in [[1, 1], [0, 1]] {
        let mut server = ServerSession::new(server_config());
        let before = server.snapshot();
        let e = server.receive(&renumbered(&ids)).unwrap_err();
        assert!(matches!(&e, Error::Remote(r) if r.rule == "CmdID"), "{ids:?}: {e}");
        assert_eq!(server.snapshot(), before);
        let mut config = server_config();
        config.wire.lenient = true;
        ServerSession::new(config).receive(&renumbered(&ids)).expect("lenient");
    }
    ServerSession::new(server_config()).receive(&renumbered(&[2, 1])).expect("out of order is fine");
}

/// The client's message 2 answering the server's `last` with one Results for `cmd_ref` of the
/// server's message `msg_ref`.
fn client_results(last: &Message, msg_ref: u32, cmd_ref: u32, is_final: bool) -> Vec<u8> {
    let mut header = Header::new(
        ProtocolVersion::Dm12,
        last.header.session_id.clone(),
        2,
        last.header.source.clone(),
        last.header.target.clone(),
    );
    header.meta = None;
    let results =
        Results { cmd_id: 1, msg_ref: Some(msg_ref), cmd_ref, items: vec![Item::default()], ..Results::default() };
    codec::encode(&Message { header, commands: vec![Command::Results(results)], is_final }, Encoding::Xml)
}

#[test]
fn r22_results_for_a_command_never_sent_are_refused() {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.step();
    let s2c = p.messages(Dir::S2C);
    let last = s2c.last().unwrap();
    assert!(last.is_final, "package 2 fits one message");
    let get = last.commands.iter().find(|c| matches!(c, Command::Get(_))).unwrap().cmd_id();
    let answer = |msg_ref, cmd_ref| client_results(last, msg_ref, cmd_ref, true);
    let id = last.header.msg_id;
    for (msg_ref, cmd_ref) in [(id, get + 40), (id + 1, get)] {
        let e = p.server.receive(&answer(msg_ref, cmd_ref)).unwrap_err();
        assert_eq!(rule_of(e), "R22", "Results for MsgRef {msg_ref} CmdRef {cmd_ref}");
    }
    p.server.receive(&answer(id, get)).expect("Results for the Get sent");
    // A client sends no Get: Results from the server answer nothing it sent.
    let mut p = Pair::new();
    p.until_server_has_package();
    let mut m = codec::decode(&p.server.next_message().unwrap().unwrap().body).unwrap();
    let results =
        Results { cmd_id: 90, msg_ref: Some(1), cmd_ref: 9, items: vec![Item::default()], ..Results::default() };
    m.commands.push(Command::Results(results));
    let e = p.client.receive(&codec::encode(&m, Encoding::Xml)).unwrap_err();
    assert_eq!(rule_of(e), "R22");
}

/// Statuses and Results without MsgRef (it is optional) answer the message their sender
/// received last: the client's in message 3 are for the server's message 2, not 3.
#[test]
fn r22_statuses_and_results_without_msg_ref_answer_the_message_received_last() {
    let mut p = Pair::new();
    p.hook = Some(without_msg_refs(Dir::C2S));
    p.until_server_has_package();
    let get = p.server.get("./DevInfo/Man").unwrap();
    let replace = p.server.replace("./Vendor/Level", text("2"), None, None).unwrap();
    p.exchange();
    let again = p.server.get("./Vendor/Level").unwrap();
    p.exchange();
    p.drive();
    assert!(p.messages(Dir::C2S).iter().all(|m| m.commands.iter().all(|c| match c {
        Command::Status(s) => s.msg_ref.is_none(),
        Command::Results(r) => r.msg_ref.is_none(),
        _ => true,
    })));
    assert_eq!(p.messages(Dir::C2S).len(), 3);
    let status = |r| {
        p.server_events.iter().find_map(|e| match e {
            Event::Status { reference, code, .. } if *reference == r => Some(code.0),
            _ => None,
        })
    };
    assert_eq!((status(get), status(replace), status(again)), (Some(200), Some(200), Some(200)));
    let results: Vec<(CommandRef, Option<Data>)> = p
        .server_events
        .iter()
        .filter_map(|e| match e {
            Event::Results { reference, items } => Some((*reference, items[0].data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(results, [(get, Some(text("Acme"))), (again, Some(text("2")))]);
    assert_eq!((p.client.state(), p.server.state()), (State::Ended, State::Ended));
}

#[test]
fn r05_server_holds_new_commands_until_the_client_package_is_complete() {
    let mut p = split_package3();
    p.step(); // package 2
    p.step(); // first message of package 3, not final
    assert!(!p.messages(Dir::C2S).last().unwrap().is_final);
    p.server.delete("./Vendor/Level").unwrap();
    let mut saw_delete_before_final = false;
    loop {
        let dir = p.step().unwrap();
        let last = p.all_messages().last().cloned().unwrap();
        if dir == Dir::S2C && names(&last.1).contains(&"Delete") {
            break;
        }
        if dir == Dir::C2S && last.1.is_final {
            continue;
        }
        if dir == Dir::S2C {
            saw_delete_before_final |= names(&last.1).contains(&"Delete");
            assert!(names(&last.1).iter().all(|n| *n == "Status" || *n == "Alert"));
        }
    }
    assert!(!saw_delete_before_final);
    assert!(p.messages(Dir::C2S).last().unwrap().is_final, "Delete went out before the client's Final");
}

#[test]
fn r06_no_status_for_results_or_status() {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.drive();
    for (_, m) in p.all_messages() {
        for c in &m.commands {
            if let Command::Status(s) = c {
                assert!(s.cmd != "Status", "a Status for a Status");
                assert!(s.cmd != "Results" || s.data != StatusCode::OK, "a 200 Status for Results");
            }
        }
    }
    let c2s = p.messages(Dir::C2S);
    assert!(c2s.iter().any(|m| names(m).contains(&"Results")));
}

#[test]
fn r07_a_command_that_cannot_fit_is_a_local_error_and_a_tiny_max_msg_size_a_remote_one() {
    let item = |i: usize| Item {
        target: Some(Location::new(format!("./Vendor/M{i}"))),
        data: Some(text(&"x".repeat(600))),
        ..Item::default()
    };
    // Two big items in one command: it can be neither split nor chunked.
    let big = || Command::Add(ItemCommand { items: vec![item(1), item(2)], ..ItemCommand::default() });
    let usage = |r: Result<(), Error>, then: &str| match r {
        Err(Error::Usage(e)) => assert!(e.0.contains("MaxMsgSize 1024") && e.0.contains(then), "{e}"),
        other => panic!("{other:?}"),
    };
    let mut p = Pair::with_max_msg_sizes(Some(1024), None);
    p.until_server_has_package();
    // With the client's MaxMsgSize known, it is refused when queued, and so is a group that
    // holds it, whole; what is queued around them goes as it would have.
    let first = p.server.add("./Vendor/First", Some(text("1")), None, None).unwrap();
    usage(p.server.command(big()).map(drop), "it is not queued");
    let atomic = p.server.begin_atomic().unwrap();
    let inside = p.server.add("./Vendor/Inside", Some(text("1")), None, None).unwrap();
    p.server.command(big()).unwrap();
    usage(p.server.end_group(), "none of it is sent");
    let small = p.server.add("./Vendor/Small", Some(text("1")), None, None).unwrap();
    p.exchange();
    let status = |p: &Pair, r| {
        p.server_events.iter().find_map(|e| match e {
            Event::Status { reference, code, .. } if *reference == r => Some(*code),
            _ => None,
        })
    };
    assert_eq!([status(&p, first), status(&p, small)], [Some(StatusCode::OK); 2]);
    assert_eq!([status(&p, atomic), status(&p, inside)], [None; 2]);
    assert_eq!(p.client.tree().value("./Vendor/Inside"), None);

    // Queued before the client said its MaxMsgSize, it is dropped when a message is composed.
    // The command before it is laid into the message first, and comes back whole when the
    // message is undone.
    let mut p = Pair::with_max_msg_sizes(Some(1024), None);
    let first = p.server.add("./Vendor/First", Some(text("1")), None, None).unwrap();
    let dropped = p.server.command(big()).unwrap();
    p.until_server_has_package();
    usage(p.server.next_message().map(drop), "dropped");
    // The error changed nothing else: the next message carries the rest, whole.
    p.step();
    let m = p.messages(Dir::S2C).pop().unwrap();
    assert_eq!(m.header.msg_id, 1);
    assert!(names(&m).contains(&"Add"));
    p.exchange();
    assert_eq!(status(&p, first), Some(StatusCode::OK));
    assert_eq!(status(&p, dropped), None);
    assert_eq!(p.client.tree().value("./Vendor/First"), Some("1"));

    // A client's alert likewise, once the server's MaxMsgSize is known.
    let mut p = Pair::with_max_msg_sizes(None, Some(1024));
    p.until_server_has_package();
    p.server.get("./Vendor/Level").unwrap();
    p.step();
    let report = |n| Item { data: Some(text(&"r".repeat(n))), ..Item::default() };
    usage(p.client.generic_alert(None, vec![report(2000)]).map(drop), "it is not queued");
    p.client.generic_alert(None, vec![report(10)]).unwrap();

    let mut cc = client_config();
    cc.wire.max_msg_size = Some(100);
    let mut client = ClientSession::new(cc, device_tree()).unwrap();
    let mut server = ServerSession::new(server_config());
    let pkg1 = client.next_message().unwrap().unwrap();
    assert_eq!(rule_of(server.receive(&pkg1.body).unwrap_err()), "R07");
    assert_eq!(server.state(), State::Waiting);
}

#[test]
fn r08_server_sends_new_commands_only_after_a_complete_client_package() {
    // State 1 → 2 → new commands; state 3 only while sending a large object.
    let mut p = split_package3();
    p.exchange();
    let msgs = p.all_messages();
    let mut client_package_complete = true;
    for (d, m) in &msgs {
        match d {
            Dir::C2S => client_package_complete = m.is_final,
            Dir::S2C => {
                let new = m.commands.iter().any(|c| {
                    !matches!(c, Command::Status(_))
                        && !matches!(c, Command::Alert(a) if a.data == AlertCode::NEXT_MESSAGE)
                });
                assert!(!new || client_package_complete, "new commands while the client's package was open");
            }
        }
    }
}

#[test]
fn r09_server_package_with_only_status_ends_the_session() {
    let mut p = Pair::new();
    p.drive();
    assert_eq!(p.server.state(), State::Ended);
    assert_eq!(p.client.state(), State::Ended);
    assert!(p.client.next_message().unwrap().is_none());
    let last = p.messages(Dir::S2C).pop().unwrap();
    assert!(last.is_final && names(&last).iter().all(|n| *n == "Status"));
}

#[test]
fn r10_management_command_or_alert_makes_the_client_respond() {
    let mut p = Pair::new();
    p.until_server_has_package();
    let item = |s: &str| Item { data: Some(text(s)), ..Item::default() };
    p.server.alert(AlertCode::DISPLAY, vec![item("MINDT=1"), item("Hello")]).unwrap();
    p.step();
    assert_eq!(p.client.state(), State::Ready);
    p.step();
    let answer = p.messages(Dir::C2S).pop().unwrap();
    assert!(answer.is_final && names(&answer).contains(&"Status"));
}

#[test]
fn r11_server_answers_every_client_message() {
    let mut p = split_package3();
    p.exchange();
    p.drive();
    let dirs: Vec<Dir> = p.trace.iter().map(|(d, _)| *d).collect();
    for w in dirs.windows(2) {
        assert_ne!(w[0], w[1], "two messages in a row from one side: {dirs:?}");
    }
    assert_eq!(dirs.last(), Some(&Dir::S2C));
}

#[test]
fn r12_no_timeout_ends_a_session_the_caller_aborts() {
    let mut client = ClientSession::new(client_config(), device_tree()).unwrap();
    let _ = client.next_message().unwrap().unwrap();
    // However long the server takes, the engine waits: it has no clock.
    assert_eq!(client.state(), State::Waiting);
    client.abort();
    let m = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
    assert_eq!(alerts(&m), [1223]);
    assert_eq!(client.state(), State::Aborted);
}

#[test]
fn r13_sequence_in_order_atomic_all_or_nothing() {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.begin_sequence().unwrap();
    p.server.replace("./Vendor/Level", text("2"), None, None).unwrap();
    let g = p.server.get("./Vendor/Level").unwrap();
    p.server.replace("./Vendor/Level", text("3"), None, None).unwrap();
    p.server.end_group().unwrap();
    let atomic = p.server.begin_atomic().unwrap();
    let added = p.server.add("./Vendor/New", Some(text("n")), None, None).unwrap();
    let missing = p.server.replace("./Vendor/Missing", text("x"), None, None).unwrap();
    p.server.end_group().unwrap();
    p.exchange();
    let ev = p.take_server_events();
    let got = ev.iter().find_map(|e| match e {
        Event::Results { reference, items } if *reference == g => items[0].data.clone(),
        _ => None,
    });
    assert_eq!(got, Some(text("2")), "the Get ran between the two Replaces");
    assert_eq!(p.client.tree().value("./Vendor/Level"), Some("3"));
    let code = |r| {
        ev.iter().find_map(|e| match e {
            Event::Status { reference, code, .. } if *reference == r => Some(*code),
            _ => None,
        })
    };
    assert_eq!(code(atomic), Some(StatusCode::ATOMIC_FAILED));
    assert_eq!(code(added), Some(StatusCode::ATOMIC_ROLLBACK_OK));
    assert_eq!(code(missing), Some(StatusCode::NOT_FOUND));
    assert_eq!(p.client.tree().value("./Vendor/New"), None, "the Add was rolled back");
    let executed: Vec<_> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            Event::Executed { cmd, uri, code } if *cmd == "Add" || uri == "./Vendor/Missing" => {
                Some((uri.as_str(), *code))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        executed,
        [("./Vendor/New", StatusCode::ATOMIC_ROLLBACK_OK), ("./Vendor/Missing", StatusCode::NOT_FOUND)],
        "the client's events say what it answered"
    );
    // Get inside Atomic, or Atomic inside Atomic: 500.
    let outer = p.server.begin_atomic().unwrap();
    let inner = p.server.get("./Vendor/Level").unwrap();
    p.server.end_group().unwrap();
    p.exchange();
    let ev = p.take_server_events();
    assert!(ev.iter().any(|e| matches!(e, Event::Status { reference, code, .. } if *reference == outer && *code == StatusCode::COMMAND_FAILED)));
    // Its members are not executed, and each says so.
    assert!(ev.iter().any(|e| matches!(e, Event::Status { reference, code, .. } if *reference == inner && *code == StatusCode::NOT_EXECUTED)));
    assert!(!ev.iter().any(|e| matches!(e, Event::Results { reference, .. } if *reference == inner)));
}

/// A tree whose commit fails (a flash that is full): the Atomic is undone as if a member had
/// failed, not reported 200 member by member over a half-kept change.
#[test]
fn r13_a_commit_the_tree_cannot_make_rolls_the_atomic_back() {
    use dm_core::tree::{Leaf, MemoryTree, Node, Tree};
    struct Full(MemoryTree);
    impl Tree for Full {
        fn get(&mut self, s: &str, u: &str) -> Result<Node, StatusCode> {
            self.0.get(s, u)
        }
        fn add(&mut self, s: &str, u: &str, n: Node) -> Result<(), StatusCode> {
            self.0.add(s, u, n)
        }
        fn replace(&mut self, s: &str, u: &str, v: Leaf) -> Result<(), StatusCode> {
            self.0.replace(s, u, v)
        }
        fn delete(&mut self, s: &str, u: &str) -> Result<(), StatusCode> {
            self.0.delete(s, u)
        }
        fn copy(&mut self, s: &str, a: &str, b: &str) -> Result<(), StatusCode> {
            self.0.copy(s, a, b)
        }
        fn exec(&mut self, s: &str, u: &str, d: Option<&[u8]>, c: Option<&str>) -> Result<StatusCode, StatusCode> {
            self.0.exec(s, u, d, c)
        }
        fn begin(&mut self) -> Result<(), StatusCode> {
            self.0.begin()
        }
        fn commit(&mut self) -> Result<(), StatusCode> {
            Err(StatusCode::DEVICE_FULL)
        }
        fn rollback(&mut self) -> Result<(), StatusCode> {
            self.0.rollback()
        }
    }
    let mut client = ClientSession::new(client_config(), Full(device_tree())).unwrap();
    let mut server = ServerSession::new(server_config());
    server.receive(&client.next_message().unwrap().unwrap().body).unwrap();
    let atomic = server.begin_atomic().unwrap();
    let added = server.add("./Vendor/New", Some(Data::Text("n".into())), None, None).unwrap();
    server.end_group().unwrap();
    client.receive(&server.next_message().unwrap().unwrap().body).unwrap();
    let events = server.receive(&client.next_message().unwrap().unwrap().body).unwrap();
    let code = |r| {
        events.iter().find_map(|e| match e {
            Event::Status { reference, code, .. } if *reference == r => Some(*code),
            _ => None,
        })
    };
    assert_eq!((code(atomic), code(added)), (Some(StatusCode::ATOMIC_FAILED), Some(StatusCode::ATOMIC_ROLLBACK_OK)));
    assert_eq!(client.tree().0.value("./Vendor/New"), None);
}

/// A Sequence stops at a user interaction the user refused: what follows it is not executed
/// and gets 215; an accepted one lets the rest run.
#[test]
fn r13_a_refused_confirmation_stops_its_sequence_with_215_for_the_rest() {
    for accept in [false, true] {
        let mut p = Pair::new();
        p.client.set_ui_handler(Box::new(move |_| if accept { UiResponse::Ok } else { UiResponse::No }));
        p.until_server_has_package();
        let item = Item { data: Some(text("Update?")), ..Item::default() };
        p.server.begin_sequence().unwrap();
        let confirm = p.server.alert(AlertCode::CONFIRM_OR_REJECT, vec![item]).unwrap();
        let replace = p.server.replace("./Vendor/Level", text("9"), None, None).unwrap();
        let get = p.server.get("./Vendor/Level").unwrap();
        p.server.end_group().unwrap();
        p.exchange();
        let ev = p.take_server_events();
        let code = |r| {
            ev.iter().find_map(|e| match e {
                Event::Status { reference, code, .. } if *reference == r => Some(code.0),
                _ => None,
            })
        };
        if accept {
            assert_eq!((code(confirm), code(replace), code(get)), (Some(200), Some(200), Some(200)));
            assert_eq!(p.client.tree().value("./Vendor/Level"), Some("9"));
        } else {
            assert_eq!((code(confirm), code(replace), code(get)), (Some(304), Some(215), Some(215)));
            assert_ne!(p.client.tree().value("./Vendor/Level"), Some("9"), "the Replace after the refusal ran");
            assert!(!ev.iter().any(|e| matches!(e, Event::Results { .. })), "the Get after the refusal ran");
        }
    }
}

#[test]
fn r14_client_sends_only_replace_results_alert_status() {
    let mut client = ClientSession::new(client_config(), device_tree()).unwrap();
    let add = Command::Add(ItemCommand::default());
    assert!(matches!(client.queue(add), Err(Error::Usage(_))));
    // A server refuses a client that does.
    let pkg1 = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
    let mut bad = pkg1.clone();
    bad.commands.push(Command::Add(ItemCommand { cmd_id: 9, items: vec![Item::default()], ..ItemCommand::default() }));
    let mut server = ServerSession::new(server_config());
    assert_eq!(rule_of(server.receive(&codec::encode(&bad, Encoding::Xml)).unwrap_err()), "R14");
    // Unchanged by the refusal: the real package 1 is taken as if nothing happened.
    assert!(server.receive(&codec::encode(&pkg1, Encoding::Xml)).is_ok());
}

#[test]
fn r15_abort_carries_1223_owed_statuses_and_final() {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.replace("./Vendor/Level", text("5"), None, None).unwrap();
    p.step(); // package 2 reaches the client, which owes statuses
    p.client.abort();
    let m = codec::decode(&p.client.next_message().unwrap().unwrap().body).unwrap();
    assert!(m.is_final);
    assert_eq!(alerts(&m), [1223]);
    assert!(m.commands.iter().any(|c| matches!(c, Command::Status(s) if s.cmd == "Replace")));
    assert_eq!(p.client.state(), State::Aborted);
    assert!(p.client.next_message().unwrap().is_none());
}

#[test]
fn r16_server_answers_an_abort_with_statuses_only() {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.step();
    p.client.abort();
    p.step();
    assert!(p.server_events.contains(&Event::Aborted { by_peer: true }));
    p.server.delete("./Vendor/Level").ok();
    let m = codec::decode(&p.server.next_message().unwrap().unwrap().body).unwrap();
    assert!(names(&m).iter().all(|n| *n == "Status"), "{:?}", names(&m));
    assert!(m.commands.iter().any(|c| matches!(c, Command::Status(s) if s.cmd == "Alert")));
    assert_eq!(p.server.state(), State::Aborted);
}

#[test]
fn r17_client_does_not_answer_an_abort() {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.abort();
    p.step();
    assert_eq!(p.client.state(), State::Aborted);
    assert!(p.client_events.contains(&Event::Aborted { by_peer: true }));
    assert!(p.client.next_message().unwrap().is_none());
    assert_eq!(p.server.state(), State::Aborted);
}

#[test]
fn r18_a_dropped_message_loses_nothing_already_done() {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.replace("./Vendor/Level", text("9"), None, None).unwrap();
    p.hook = Some(Box::new(|d, _| if d == Dir::C2S { Flight::Drop } else { Flight::Deliver }));
    p.step(); // package 2 delivered
    p.step(); // package 3 lost
    assert_eq!(p.client.tree().value("./Vendor/Level"), Some("9"), "what ran stays done");
    assert_eq!(p.server.state(), State::Waiting);
    // Either side may be dropped or aborted now without corrupting anything.
    p.server.abort();
    assert!(p.server.next_message().is_err(), "a server cannot speak out of turn");
    p.client.abort();
    assert!(p.client.next_message().unwrap().is_some());
    assert_eq!(p.client.state(), State::Aborted);
}

#[test]
fn r19_header_versions_session_id_and_msgid_sequence() {
    let mut p = split_package3();
    p.exchange();
    p.drive();
    for dir in [Dir::C2S, Dir::S2C] {
        let msgs = p.messages(dir);
        for (i, m) in msgs.iter().enumerate() {
            assert_eq!((m.header.ver_dtd.as_str(), m.header.ver_proto.as_str()), ("1.2", "DM/1.2"));
            assert_eq!(m.header.msg_id, i as u32 + 1);
            assert_eq!(m.header.session_id, "1");
            assert!(!m.header.target.uri.is_empty() && !m.header.source.uri.is_empty());
        }
    }
    // A MsgID going backwards, or a new SessionID, is refused and changes nothing.
    let mut p = Pair::new();
    p.until_server_has_package();
    let pkg2 = p.server.next_message().unwrap().unwrap();
    let mut m = codec::decode(&pkg2.body).unwrap();
    m.header.msg_id = 5;
    // The error names the rule, the message and the element at fault.
    let e = p.client.receive(&codec::encode(&m, Encoding::Xml)).unwrap_err();
    assert_eq!(e.to_string(), "R19: MsgID 5 where 1 was due (MsgID 5, <MsgID>)");
    assert_eq!(rule_of(e), "R19");
    m.header.msg_id = 1;
    m.header.session_id = "77".into();
    let e = p.client.receive(&codec::encode(&m, Encoding::Xml)).unwrap_err();
    assert!(matches!(&e, Error::Remote(r) if r.element == Some("SessionID") && r.msg_id == Some(1)), "{e:?}");
    m.header.session_id = "1".into();
    m.header.ver_proto = "DM/1.3".into();
    assert_eq!(rule_of(p.client.receive(&codec::encode(&m, Encoding::Xml)).unwrap_err()), "R19");
    assert!(p.client.receive(&pkg2.body).is_ok());
}

#[test]
fn r20_package1_alert_devinfo_and_final() {
    let mut client = ClientSession::new(client_config(), device_tree()).unwrap();
    let m = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
    assert!(m.is_final);
    assert_eq!(alerts(&m), [1201]);
    let Some(Command::Replace(r)) = m.commands.iter().find(|c| c.name() == "Replace") else { panic!() };
    let uris: Vec<&str> = r.items.iter().map(|i| i.source.as_ref().unwrap().uri.as_str()).collect();
    for u in ["./DevInfo/DevId", "./DevInfo/Man", "./DevInfo/Mod", "./DevInfo/DmV", "./DevInfo/Lang"] {
        assert!(uris.contains(&u), "{u} missing from {uris:?}");
    }
    assert!(m.commands.iter().all(|c| c.cmd_id() > 0));
    // Server-initiated: 1200 and the notification's session id.
    let mut cc = client_config();
    cc.server_initiated = true;
    cc.session_id = "1234".into();
    let mut client = ClientSession::new(cc, device_tree()).unwrap();
    let m = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
    assert_eq!((alerts(&m), m.header.session_id.as_str()), (vec![1200], "1234"));
    // A package 1 without the alert is refused.
    let mut bad = m.clone();
    bad.commands.retain(|c| c.name() != "Alert");
    let mut server = ServerSession::new(server_config());
    assert_eq!(rule_of(server.receive(&codec::encode(&bad, Encoding::Xml)).unwrap_err()), "R20");
}

#[test]
fn r21_server_package_status_for_synchdr_first_cmdids_and_meta() {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.replace("./Vendor/Level", text("4"), Some("int"), None).unwrap();
    p.step();
    let m = p.messages(Dir::S2C).pop().unwrap();
    let Command::Status(first) = &m.commands[0] else { panic!("first is {}", m.commands[0].name()) };
    assert_eq!((&*first.cmd, first.cmd_ref, first.msg_ref), ("SyncHdr", Some(0), Some(1)));
    assert!(m.commands.iter().any(|c| matches!(c, Command::Status(s) if s.cmd == "Alert")));
    let ids: Vec<u32> = m.commands.iter().map(Command::cmd_id).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1) && ids[0] == 1, "{ids:?}");
    let Some(Command::Replace(r)) = m.commands.iter().find(|c| c.name() == "Replace") else { panic!() };
    assert_eq!(r.items[0].meta.as_ref().and_then(|m| m.format.as_deref()), Some("int"));
    assert!(m.is_final);
}

#[test]
fn r22_package3_statuses_and_results_with_source_and_meta() {
    let mut p = Pair::new();
    p.until_server_has_package();
    let g1 = p.server.get("./DevInfo/Man").unwrap();
    p.server.get("./Vendor").unwrap();
    p.server.get("./Nope").unwrap();
    p.exchange();
    let m = p.messages(Dir::C2S).pop().unwrap();
    let statuses: Vec<(String, u16)> = m
        .commands
        .iter()
        .filter_map(|c| if let Command::Status(s) = c { Some((s.cmd.to_string(), s.data.0)) } else { None })
        .collect();
    assert_eq!(statuses[0].0, "SyncHdr");
    assert_eq!(statuses.iter().filter(|(c, _)| c == "Get").count(), 3);
    assert!(statuses.contains(&("Get".into(), 404)));
    let results: Vec<&Results> =
        m.commands.iter().filter_map(|c| if let Command::Results(r) = c { Some(r) } else { None }).collect();
    assert_eq!(results.len(), 2, "no Results for the failed Get");
    for r in &results {
        assert!(r.items.iter().all(|i| i.source.is_some()));
        // Results after the Status of their Get.
        let status_at =
            m.commands.iter().position(|c| matches!(c, Command::Status(s) if s.cmd_ref == Some(r.cmd_ref))).unwrap();
        let results_at =
            m.commands.iter().position(|c| matches!(c, Command::Results(x) if x.cmd_ref == r.cmd_ref)).unwrap();
        assert!(status_at < results_at);
    }
    let interior = &results[1].items[0];
    assert_eq!(interior.meta.as_ref().and_then(|m| m.format.as_deref()), Some("node"));
    assert_eq!(interior.data, Some(text("Level")));
    assert!(results[0].items[0].meta.is_none(), "chr/text/plain needs no Meta");
    assert!(m.is_final);
    let _ = g1;
}

/// A value that leaves no room in the message, then an empty one: the empty value is no large
/// object to chunk, and waits for the next message (it once went out as an empty "chunk",
/// past the peer's MaxMsgSize). Every limit around the one the first value fills exactly.
#[test]
fn r07_an_empty_value_with_no_room_left_waits_for_the_next_message() {
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        for client_max in 2700..2900 {
            let mut cc = client_config();
            cc.wire.max_msg_size = Some(client_max);
            cc.wire.encoding = encoding;
            let mut sc = server_config();
            sc.wire.encoding = encoding;
            let mut p = Pair::with(cc, device_tree(), sc);
            p.until_server_has_package();
            p.server.add("./Vendor/N1", Some(text(&"a".repeat(2000))), None, None).unwrap();
            let empty = p.server.replace("./Vendor/Level", text(""), None, None).unwrap();
            p.exchange();
            p.drive();
            for (dir, body) in &p.trace {
                assert!(
                    *dir == Dir::C2S || body.len() as u64 <= client_max,
                    "{encoding:?}: {} over {client_max}",
                    body.len()
                );
            }
            let events = p.take_server_events();
            assert!(events.iter().any(|e| matches!(e, Event::Status { reference, .. } if *reference == empty)));
            assert_eq!(p.client.tree().value("./Vendor/Level"), Some(""));
        }
    }
}

/// A header that leaves no room for the SyncHdr status (a client taking 512 bytes, the least it
/// may announce, and a server with a RespURI): a remote error, and the session as it was; it
/// once dropped the statuses, and the next message went out empty, ending the session.
#[test]
fn r07_no_room_for_the_synchdr_status_is_reported_and_nothing_is_lost() {
    let mut sc = server_config();
    sc.resp_uri = Some(format!("http://127.0.0.1:8080/dm?session={}", "s".repeat(64)));
    let mut cc = client_config();
    cc.wire.max_msg_size = Some(512);
    let mut p = Pair::with(cc, device_tree(), sc);
    p.step();
    for _ in 0..2 {
        let e = p.server.next_message().unwrap_err();
        assert_eq!(rule_of(e), "R07");
        assert_eq!(p.server.state(), State::Ready);
    }
    let snapshot = p.server.snapshot();
    assert!(p.server.next_message().is_err());
    assert_eq!(p.server.snapshot(), snapshot, "the failed call changed nothing");
}

#[test]
fn r07_a_max_msg_size_too_small_to_progress_is_reported_not_looped() {
    let mut p = Pair::with_max_msg_sizes(Some(1500), Some(700));
    p.until_server_has_package();
    p.server.replace("./Vendor/Level", text(&"r".repeat(64)), None, None).unwrap();
    p.server.begin_sequence().unwrap();
    p.server.get("./Vendor/Level").unwrap();
    p.server.end_group().unwrap();
    let _ = p.step();
    let mut error = None;
    for _ in 0..50 {
        match p.client.state() {
            State::Ready => match p.client.next_message() {
                Ok(Some(out)) => {
                    p.server.receive(&out.body).unwrap();
                    let back = p.server.next_message().unwrap().unwrap();
                    p.client.receive(&back.body).unwrap();
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            },
            _ => break,
        }
    }
    let e = error.expect("the peers went on asking for the next message");
    assert!(matches!(e, Error::Remote(ref r) if r.rule == "R07"), "{e:?}");
}
