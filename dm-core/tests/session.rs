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

/// The code of the Status a command got, if it got one.
fn code_of(events: &[Event], command: &dm_core::session::CommandRef) -> Option<u16> {
    status_codes(events).into_iter().find(|(r, _)| *r == command.0).map(|(_, code)| code)
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

use common::pair::{client_config, device_tree, server_config};
use dm_core::codec::{self, Encoding};
use dm_core::session::{ClientSession, ServerSession, UiResponse};
use dm_core::tree::{Leaf, MemoryTree, Node, Tree};

fn big_text(n: usize) -> String {
    (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect()
}

fn large_object_both_ways(encoding: Encoding) {
    const MIB: usize = 1 << 20;
    let mut cc = client_config();
    cc.wire.encoding = encoding;
    cc.wire.max_msg_size = Some(2048);
    let mut sc = server_config();
    sc.wire.encoding = encoding;
    sc.wire.max_msg_size = Some(2048);
    let mut p = Pair::with(cc, device_tree(), sc);
    p.until_server_has_package();
    let object = big_text(MIB);
    let put = p.server.replace("./Vendor/Level", Data::Text(object.clone()), None, None).unwrap();
    p.exchange();
    assert_eq!(p.client.tree().value("./Vendor/Level").map(str::len), Some(MIB));
    assert!(p.client.tree().value("./Vendor/Level") == Some(object.as_str()));
    let executed: Vec<_> = p.client_events.iter().filter(|e| matches!(e, Event::Executed { .. })).collect();
    assert!(
        matches!(executed[..], [Event::Executed { cmd: "Replace", code: StatusCode::OK, .. }]),
        "one Executed, for the whole object: {executed:?}"
    );
    let ev = p.take_server_events();
    assert!(
        ev.iter().any(
            |e| matches!(e, Event::Status { reference, code, .. } if *reference == put && *code == StatusCode::OK)
        )
    );
    // And back: a Get of it comes as chunked Results.
    let get = p.server.get("./Vendor/Level").unwrap();
    p.exchange();
    let ev = p.take_server_events();
    let got = ev.iter().find_map(|e| match e {
        Event::Results { reference, items } if *reference == get => items[0].data.clone(),
        _ => None,
    });
    assert!(got == Some(Data::Text(object)), "the object came back changed");
    for (_, body) in &p.trace {
        assert!(body.len() <= 2048, "a message of {} bytes", body.len());
    }
    // Every chunk but the last says MoreData; the first gives the Size.
    let chunks: Vec<Item> = p
        .messages(Dir::S2C)
        .iter()
        .flat_map(|m| m.commands.iter().filter(|c| c.name() == "Replace").flat_map(|c| c.items().to_vec()))
        .collect();
    assert!(chunks.len() > 500);
    assert_eq!(chunks[0].meta.as_ref().and_then(|m| m.size), Some(MIB as u64));
    assert!(chunks[1..].iter().all(|c| c.meta.as_ref().and_then(|m| m.size).is_none()));
    let (last, rest) = chunks.split_last().unwrap();
    assert!(rest.iter().all(|c| c.more_data) && !last.more_data);
    p.drive();
    assert_eq!(p.server.state(), State::Ended);
}

#[test]
fn one_mib_object_each_way_with_2kib_messages_xml() {
    large_object_both_ways(Encoding::Xml);
}

#[test]
fn one_mib_object_each_way_with_2kib_messages_wbxml() {
    large_object_both_ways(Encoding::Wbxml);
}

#[test]
fn binary_object_over_xml_travels_as_b64_and_is_stored_as_bin() {
    let mut p = Pair::new();
    p.until_server_has_package();
    let bytes: Vec<u8> = (0..=255).collect();
    p.server.replace("./Vendor/Level", Data::Binary(bytes.clone()), None, Some("application/octet-stream")).unwrap();
    let g = p.server.get("./Vendor/Level").unwrap();
    p.exchange();
    let dm_core::tree::Node::Leaf(leaf) = p.client.tree().node("./Vendor/Level").unwrap() else { panic!() };
    assert_eq!((&*leaf.format, leaf.data.clone()), ("bin", bytes.clone()));
    let ev = p.take_server_events();
    let item = ev
        .iter()
        .find_map(|e| match e {
            Event::Results { reference, items } if *reference == g => Some(items[0].clone()),
            _ => None,
        })
        .unwrap();
    // It went as base64 under Format b64; the event holds what the device holds, as in WBXML.
    let sent = p.messages(Dir::C2S).into_iter().flat_map(|m| m.commands).find_map(|c| match c {
        Command::Results(r) => r.items[0].meta.as_ref().and_then(|m| m.format.clone()),
        _ => None,
    });
    assert_eq!(sent.as_deref(), Some("b64"));
    assert_eq!(item.meta.as_ref().and_then(|m| m.format.as_deref()), Some("bin"));
    assert_eq!(item.data, Some(Data::Binary(bytes)));
}

#[test]
fn object_above_max_obj_size_is_refused_with_413() {
    let mut cc = client_config();
    cc.wire.max_msg_size = Some(2048);
    cc.wire.max_obj_size = Some(10_000);
    let mut p = Pair::with(cc, device_tree(), server_config());
    p.until_server_has_package();
    // The server side refuses to queue it: the client said it takes no more.
    assert!(matches!(
        p.server.replace("./Vendor/Level", Data::Text(big_text(20_000)), None, None),
        Err(dm_core::Error::Usage(_))
    ));
    // A server that sends it anyway gets 413 from the client.
    let mut client = ClientSession::new(
        {
            let mut cc = client_config();
            cc.wire.max_obj_size = Some(10_000);
            cc
        },
        device_tree(),
    )
    .unwrap();
    let _ = client.next_message().unwrap();
    let mut server = ServerSession::new(server_config());
    let pkg2 = {
        let m = codec::decode(&p.trace[0].1).unwrap();
        let _ = server.receive(&codec::encode(&m, Encoding::Xml)).unwrap();
        let mut m = codec::decode(&server.next_message().unwrap().unwrap().body).unwrap();
        let item = Item {
            target: Some(Location::new("./Vendor/Level")),
            meta: Some(Box::new(Meta { size: Some(20_000), ..Meta::default() })),
            data: Some(Data::Text("x".repeat(100))),
            more_data: true,
            ..Item::default()
        };
        m.commands.push(Command::Replace(ItemCommand { cmd_id: 9, items: vec![item], ..ItemCommand::default() }));
        m.is_final = false;
        m
    };
    client.receive(&codec::encode(&pkg2, Encoding::Xml)).unwrap();
    let answer = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
    assert!(answer.commands.iter().any(
        |c| matches!(c, Command::Status(s) if s.cmd_ref == Some(9) && s.data == StatusCode::REQUEST_ENTITY_TOO_LARGE)
    ));
}

#[test]
fn items_of_one_command_share_a_status_unless_their_outcomes_differ() {
    let mut client = ClientSession::new(client_config(), device_tree()).unwrap();
    let pkg1 = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
    let header = Header::new(ProtocolVersion::Dm12, "1", 1, pkg1.header.source.clone(), pkg1.header.target.clone());
    let get = |cmd_id: u32, uris: &[&str]| {
        let items = uris.iter().map(|u| Item { target: Some(Location::new(*u)), ..Item::default() }).collect();
        Command::Get(ItemCommand { cmd_id, items, ..ItemCommand::default() })
    };
    let pkg2 = Message {
        header,
        commands: vec![
            get(1, &["./DevInfo/Man", "./DevInfo/Mod"]),
            get(2, &["./DevInfo/Man", "./Vendor/Nothing", "./Vendor/Level", "./Vendor/None"]),
        ],
        is_final: true,
    };
    client.receive(&codec::encode(&pkg2, Encoding::Xml)).unwrap();
    let pkg3 = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
    let statuses: Vec<(u32, u16, Vec<String>)> = pkg3
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Status(s) if s.cmd == "Get" => Some((s.cmd_ref?, s.data.0, s.target_refs.clone())),
            _ => None,
        })
        .collect();
    let refs = |uris: &[&str]| uris.iter().map(|u| u.to_string()).collect::<Vec<_>>();
    assert_eq!(
        statuses,
        vec![
            (1, 200, refs(&["./DevInfo/Man", "./DevInfo/Mod"])),
            (2, 200, refs(&["./DevInfo/Man"])),
            (2, 404, refs(&["./Vendor/Nothing"])),
            (2, 200, refs(&["./Vendor/Level"])),
            (2, 404, refs(&["./Vendor/None"])),
        ]
    );
}

#[test]
fn size_mismatch_gives_424_and_interruption_1225() {
    let mut client = ClientSession::new(client_config(), device_tree()).unwrap();
    let pkg1 = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
    let header =
        |id: u32| Header::new(ProtocolVersion::Dm12, "1", id, pkg1.header.source.clone(), pkg1.header.target.clone());
    let chunk = |uri: &str, data: &str, size: Option<u64>, more: bool, id: u32| {
        Command::Replace(ItemCommand {
            cmd_id: id,
            items: vec![Item {
                target: Some(Location::new(uri)),
                meta: size.map(|s| Box::new(Meta { size: Some(s), ..Meta::default() })),
                data: Some(Data::Text(data.into())),
                more_data: more,
                ..Item::default()
            }],
            ..ItemCommand::default()
        })
    };
    let send = |client: &mut ClientSession<_>, m: Message| {
        client.receive(&codec::encode(&m, Encoding::Xml)).unwrap();
        codec::decode(&client.next_message().unwrap().unwrap().body).unwrap()
    };
    // First chunk of ./Vendor/Level, then a chunk of another object: 1225 for the first.
    let m1 = Message {
        header: header(1),
        commands: vec![chunk("./Vendor/Level", "abc", Some(10), true, 1)],
        is_final: false,
    };
    let a1 = send(&mut client, m1);
    assert!(a1.commands.iter().any(|c| matches!(c, Command::Status(s) if s.data == StatusCode::CHUNKED_ITEM_ACCEPTED)));
    let m2 = Message {
        header: header(2),
        commands: vec![chunk("./Vendor/Other", "xyz", Some(4), true, 1)],
        is_final: false,
    };
    let a2 = send(&mut client, m2);
    // Alert 1225 is a command: it waits for the end of the server's package (R04).
    assert!(
        !a2.commands
            .iter()
            .any(|c| c.name() == "Alert" && matches!(c, Command::Alert(a) if a.data != AlertCode::NEXT_MESSAGE))
    );
    // The second object ends with 2 bytes more than announced: 424, not stored.
    let m3 =
        Message { header: header(3), commands: vec![chunk("./Vendor/Other", "zz!", None, false, 1)], is_final: true };
    let a3 = send(&mut client, m3);
    assert!(
        a3.commands.iter().any(|c| matches!(c, Command::Status(s) if s.data == StatusCode::SIZE_MISMATCH)),
        "{a3:?}"
    );
    let interrupted = a3.commands.iter().find_map(|c| match c {
        Command::Alert(a) if a.data == AlertCode::NO_END_OF_DATA => a.items[0].target.clone(),
        _ => None,
    });
    assert_eq!(interrupted.map(|l| l.uri), Some("./Vendor/Level".into()), "{a3:?}");
    assert_eq!(client.tree().value("./Vendor/Other"), None);
    assert_eq!(client.tree().value("./Vendor/Level"), Some("1"));
}

#[test]
fn ui_alerts_go_through_the_handler_and_answer_in_the_status() {
    let mut p = Pair::new();
    let item = |s: &str| Item { data: Some(Data::Text(s.into())), ..Item::default() };
    p.client.set_ui_handler(Box::new(|req| match req.code {
        AlertCode::CONFIRM_OR_REJECT => UiResponse::No,
        // A typed answer XML cannot carry fails the alert (500): it cannot be sent.
        AlertCode::TEXT_INPUT if req.text == "Bell" => UiResponse::Text("\u{7}".into()),
        AlertCode::TEXT_INPUT => UiResponse::Text(format!("typed for {}", req.text)),
        AlertCode::MULTIPLE_CHOICE => UiResponse::Choices(vec![1, 3]),
        _ => UiResponse::Ok,
    }));
    p.until_server_has_package();
    let confirm = p.server.alert(AlertCode::CONFIRM_OR_REJECT, vec![item("MAXDT=10"), item("Update?")]).unwrap();
    let input = p.server.alert(AlertCode::TEXT_INPUT, vec![item("MAXLEN=5"), item("Name")]).unwrap();
    let bell = p.server.alert(AlertCode::TEXT_INPUT, vec![item(""), item("Bell")]).unwrap();
    let multi = p
        .server
        .alert(AlertCode::MULTIPLE_CHOICE, vec![item(""), item("Pick"), item("a"), item("b"), item("c")])
        .unwrap();
    p.exchange();
    let ev = p.take_server_events();
    let answer = |r| {
        ev.iter()
            .find_map(|e| match e {
                Event::Status { reference, cmd, code, items } if *reference == r => {
                    assert_eq!(cmd, "Alert");
                    Some((code.0, items.iter().map(|i| i.data.clone().unwrap()).collect::<Vec<_>>()))
                }
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(answer(confirm), (304, vec![]));
    assert_eq!(answer(input), (200, vec![Data::Text("typed for Name".into())]));
    assert_eq!(answer(bell), (500, vec![]));
    assert_eq!(answer(multi), (200, vec![Data::Text("1".into()), Data::Text("3".into())]));
}

#[test]
fn ui_default_answers_from_the_alert_options() {
    let mut p = Pair::new();
    let item = |s: &str| Item { data: Some(Data::Text(s.into())), ..Item::default() };
    p.until_server_has_package();
    let single =
        p.server.alert(AlertCode::SINGLE_CHOICE, vec![item("DR=2"), item("Pick"), item("a"), item("b")]).unwrap();
    p.exchange();
    let ev = p.take_server_events();
    assert!(ev.iter().any(|e| matches!(e, Event::Status { reference, items, .. } if *reference == single && items[0].data == Some(Data::Text("2".into())))));
}

#[test]
fn exec_with_correlator_and_a_later_generic_alert() {
    let mut tree = device_tree();
    tree.set("./Vendor/Update", "").unwrap();
    tree.on_exec("./Vendor/Update", Box::new(|_, _| StatusCode::ACCEPTED)).unwrap();
    let mut p = Pair::with(client_config(), tree, server_config());
    p.until_server_has_package();
    let ex = p.server.exec("./Vendor/Update", None, Some("job-1")).unwrap();
    p.step();
    // The device finishes later and reports with a Generic Alert carrying the correlator.
    let result = Item {
        source: Some(Location::new("./Vendor/Update")),
        meta: Some(Box::new(Meta::typed("chr", "org.openmobilealliance.dm.firmwareupdate.devicerequest"))),
        data: Some(Data::Text("200".into())),
        ..Item::default()
    };
    p.client.generic_alert(Some("job-1".into()), vec![result]).unwrap();
    p.step();
    let ev = p.take_server_events();
    assert!(ev.iter().any(
        |e| matches!(e, Event::Status { reference, code, .. } if *reference == ex && *code == StatusCode::ACCEPTED)
    ));
    assert!(ev.iter().any(|e| matches!(e, Event::GenericAlert { correlator: Some(c), items }
        if c == "job-1" && items[0].data == Some(Data::Text("200".into())))));
}

#[test]
fn a_bad_message_leaves_the_session_as_it_was() {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.replace("./Vendor/Level", Data::Text("2".into()), None, None).unwrap();
    let pkg2 = p.server.next_message().unwrap().unwrap().body;
    let mut cut = pkg2.clone();
    cut.truncate(pkg2.len() / 2);
    for bad in [cut, b"garbage".to_vec(), pkg2.iter().map(|b| if *b == b'1' { b'7' } else { *b }).collect()] {
        assert!(p.client.receive(&bad).is_err());
        assert_eq!(p.client.state(), State::Waiting);
        assert_eq!(p.client.tree().value("./Vendor/Level"), Some("1"));
    }
    p.client.receive(&pkg2).unwrap();
    assert_eq!(p.client.tree().value("./Vendor/Level"), Some("2"));
    // Misuse is a UsageError, not a remote one.
    assert!(matches!(p.client.receive(&pkg2), Err(dm_core::Error::Usage(_))));
    let mut server = ServerSession::new(server_config());
    assert!(matches!(server.next_message(), Err(dm_core::Error::Usage(_))));
}

#[test]
fn server_snapshot_restores_and_continues_exactly() {
    let mut p = Pair::new();
    p.until_server_has_package();
    let g = p.server.get("./DevInfo/Man").unwrap();
    let pkg2 = p.server.next_message().unwrap().unwrap();
    let saved = p.server.snapshot();
    // Another process: only the bytes and the configuration.
    let mut restored = ServerSession::restore(&saved, server_config()).unwrap();
    assert_eq!(restored.state(), State::Waiting);
    p.client.receive(&pkg2.body).unwrap();
    let pkg3 = p.client.next_message().unwrap().unwrap();
    let ev = restored.receive(&pkg3.body).unwrap();
    assert!(ev.iter().any(|e| matches!(e, Event::Results { reference, .. } if *reference == g)));
    let pkg4 = restored.next_message().unwrap().unwrap();
    p.client.receive(&pkg4.body).unwrap();
    assert_eq!(p.client.state(), State::Ended);
    assert_eq!(restored.state(), State::Ended);
    assert!(ServerSession::restore(b"nonsense", server_config()).is_err());
}

/// A snapshot a store corrupted or tampered with is refused as misuse when restored, rather
/// than failing later: each field the engine relies on is checked against what a session holds.
#[test]
fn a_snapshot_holding_what_no_session_holds_is_refused() {
    let mut p = Pair::with_max_msg_sizes(Some(2048), None);
    p.until_server_has_package();
    p.server.replace("./Vendor/Level", Data::Text("é".repeat(3000)), None, None).unwrap();
    let first_chunk = p.server.next_message().unwrap().unwrap();
    p.client.receive(&first_chunk.body).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&p.server.snapshot()).unwrap();
    assert!(json["core"]["outbox"][0]["offset"].as_u64().unwrap() > 0, "a chunk is out: {json}");
    assert!(ServerSession::restore(&serde_json::to_vec(&json).unwrap(), server_config()).is_ok());
    type Tamper = fn(&mut serde_json::Value);
    let tampered: [(&str, Tamper, &str); 6] = [
        ("/core/outbox/0/offset", |v| *v = 7000.into(), "chunk offset"),
        ("/core/outbox/0/offset", |v| *v = 1.into(), "chunk offset"),
        ("/core/msg_id", |v| *v = u32::MAX.into(), "counter"),
        ("/core/peer_max_msg", |v| *v = 100.into(), "MaxMsgSize"),
        (
            "/core/sent",
            |v| ["keys", "refs"].into_iter().for_each(|k| v[k].as_array_mut().unwrap().push(0.into())),
            "sent-command log",
        ),
        ("/devinfo/ends", |v| v.as_array_mut().unwrap().push(1_000_000.into()), "DevInfo"),
    ];
    for (field, tamper, named) in tampered {
        let mut bad = json.clone();
        tamper(bad.pointer_mut(field).unwrap());
        match ServerSession::restore(&serde_json::to_vec(&bad).unwrap(), server_config()) {
            Err(dm_core::Error::Usage(e)) => assert!(e.to_string().contains(named), "{field}: {e}"),
            other => panic!("{field} tampered, restored: {other:?}"),
        }
    }
}

#[test]
fn abort_by_either_side_at_every_point_of_a_long_session() {
    for aborter in [Dir::C2S, Dir::S2C] {
        for at in 0..12 {
            let mut p = Pair::new();
            p.until_server_has_package();
            for i in 0..5 {
                p.server.replace("./Vendor/Level", Data::Text(i.to_string()), None, None).unwrap();
                p.server.get("./Vendor/Level").unwrap();
            }
            for _ in 0..at {
                if p.step().is_none() {
                    break;
                }
            }
            match aborter {
                Dir::C2S => p.client.abort(),
                Dir::S2C => p.server.abort(),
            }
            for _ in 0..20 {
                if p.step().is_none() {
                    break;
                }
            }
            assert!(matches!(p.client.state(), State::Aborted | State::Ended), "client {:?} at {at}", p.client.state());
            assert!(
                matches!(p.server.state(), State::Aborted | State::Ended | State::Waiting),
                "server {:?} at {at}",
                p.server.state()
            );
        }
    }
}

#[test]
fn dm_112_headers_are_accepted_only_when_enabled() {
    let run = |accept: bool| {
        let mut sc = server_config();
        sc.wire.accept_dm11 = accept;
        let mut server = ServerSession::new(sc);
        let mut client = ClientSession::new(client_config(), device_tree()).unwrap();
        let mut pkg1 = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
        pkg1.header.ver_dtd = "1.1".into();
        pkg1.header.ver_proto = "DM/1.1".into();
        let r = server.receive(&codec::encode(&pkg1, Encoding::Xml));
        (r, server)
    };
    assert!(matches!(run(false).0, Err(dm_core::Error::Remote(e)) if e.rule == "R19"));
    let (r, mut server) = run(true);
    r.unwrap();
    // The answer speaks the peer's version.
    let answer = codec::decode(&server.next_message().unwrap().unwrap().body).unwrap();
    assert_eq!((answer.header.ver_dtd.as_str(), answer.header.ver_proto.as_str()), ("1.1", "DM/1.1"));
}

#[test]
fn a_duplicated_message_is_refused_and_changes_nothing() {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.replace("./Vendor/Level", Data::Text("5".into()), None, None).unwrap();
    let pkg2 = p.server.next_message().unwrap().unwrap().body;
    p.client.receive(&pkg2).unwrap();
    let pkg3 = p.client.next_message().unwrap().unwrap().body;
    // The network delivers package 2 again: a MsgID seen before.
    assert!(p.client.receive(&pkg2).is_err());
    p.server.receive(&pkg3).unwrap();
    assert!(matches!(p.server.receive(&pkg3), Err(dm_core::Error::Usage(_))), "the server is Ready, not Waiting");
    let pkg4 = p.server.next_message().unwrap().unwrap().body;
    p.client.receive(&pkg4).unwrap();
    assert_eq!(p.client.state(), State::Ended);
}

#[test]
fn client_event_reaches_the_server_as_an_alert_event() {
    let mut p = Pair::new();
    let item = Item {
        source: Some(Location::new("./Vendor/Battery")),
        meta: Some(Box::new(Meta::typed("chr", "org.example.battery"))),
        data: Some(Data::Text("low".into())),
        ..Item::default()
    };
    let blob = Item {
        meta: Some(Box::new(Meta::typed("b64", "org.example.dump"))),
        data: Some(Data::Text("AAEC".into())),
        ..Item::default()
    };
    p.client.alert(AlertCode::CLIENT_EVENT, None, vec![item, blob]).unwrap();
    p.until_server_has_package();
    let items = p.server_events.iter().find_map(|e| match e {
        Event::Alert { code: AlertCode::CLIENT_EVENT, items, .. } => Some(items),
        _ => None,
    });
    let items = items.expect("a Client Event");
    assert_eq!(items[0].data, Some(Data::Text("low".into())));
    // Binary data, sent as base64 over XML, comes as the device holds it (as in Results).
    assert_eq!(items[1].data, Some(Data::Binary(vec![0, 1, 2])));
    assert_eq!(items[1].meta.as_ref().and_then(|m| m.format.as_deref()), Some("bin"));
}

#[test]
fn the_client_follows_the_servers_resp_uri() {
    let mut sc = server_config();
    sc.resp_uri = Some("http://127.0.0.1/dm?s=42".into());
    let mut p = Pair::with(client_config(), device_tree(), sc);
    assert_eq!(p.client.respond_to(), "http://127.0.0.1/dm");
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.step();
    assert_eq!(p.client.respond_to(), "http://127.0.0.1/dm?s=42");
    let m = p.messages(Dir::S2C).pop().unwrap();
    assert_eq!(m.header.resp_uri.as_deref(), Some("http://127.0.0.1/dm?s=42"));
    p.drive();
    assert_eq!(p.client.state(), State::Ended);
}

#[test]
fn a_resp_uri_without_scheme_and_host_is_resolved_against_the_server_uri() {
    let mut sc = server_config();
    sc.resp_uri = Some("/manage?s=42".into());
    let mut p = Pair::with(client_config(), device_tree(), sc);
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.step();
    assert_eq!(p.client.respond_to(), "http://127.0.0.1/manage?s=42");
}

/// A `MemoryTree` that counts the reads of node values (`get`) and answers as a careless C
/// tree might: a Replace of `./Vendor/Zero` with 0 (C's "success"), a Delete of `./Vendor/Ok`
/// with 200 given as a failure, `./Vendor/Odd` with children named `ok` and `a/b`.
struct Quirky(MemoryTree, std::rc::Rc<std::cell::Cell<usize>>);

impl Tree for Quirky {
    fn get(&mut self, server: &str, uri: &str) -> Result<Node, StatusCode> {
        self.1.set(self.1.get() + 1);
        match uri {
            "./Vendor/Odd" => Ok(Node::Interior { children: vec!["ok".into(), "a/b".into()], type_: None }),
            "./Vendor/Odd/ok" => Ok(Node::Leaf(Leaf::text("v"))),
            _ => self.0.get(server, uri),
        }
    }
    fn add(&mut self, server: &str, uri: &str, node: Node) -> Result<(), StatusCode> {
        self.0.add(server, uri, node)
    }
    fn replace(&mut self, server: &str, uri: &str, value: Leaf) -> Result<(), StatusCode> {
        if uri == "./Vendor/Zero" {
            return Err(StatusCode(0));
        }
        self.0.replace(server, uri, value)
    }
    fn delete(&mut self, server: &str, uri: &str) -> Result<(), StatusCode> {
        if uri == "./Vendor/Ok" {
            return Err(StatusCode::OK);
        }
        self.0.delete(server, uri)
    }
    fn copy(&mut self, server: &str, source: &str, target: &str) -> Result<(), StatusCode> {
        self.0.copy(server, source, target)
    }
    fn exec(
        &mut self,
        server: &str,
        uri: &str,
        data: Option<&[u8]>,
        c: Option<&str>,
    ) -> Result<StatusCode, StatusCode> {
        self.0.exec(server, uri, data, c)
    }
}

/// A status a tree gives that no command can carry goes out as 500: a code outside 200–599
/// (0, 7, 1000) or a success given as a failure. Before, the client sent Status 0 and 7.
#[test]
fn a_status_from_the_tree_that_is_no_dm_status_is_answered_500() {
    let mut tree = device_tree();
    for leaf in ["Seven", "Many", "Later"] {
        tree.set(&format!("./Vendor/{leaf}"), "").unwrap();
    }
    tree.on_exec("./Vendor/Seven", Box::new(|_, _| StatusCode(7))).unwrap();
    tree.on_exec("./Vendor/Many", Box::new(|_, _| StatusCode(1000))).unwrap();
    tree.on_exec("./Vendor/Later", Box::new(|_, _| StatusCode::ACCEPTED)).unwrap();
    let mut client = ClientSession::new(client_config(), Quirky(tree, Default::default())).unwrap();
    let mut server = ServerSession::new(server_config());
    server.receive(&client.next_message().unwrap().unwrap().body).unwrap();
    let refs = [
        server.replace("./Vendor/Zero", Data::Text("1".into()), None, None).unwrap(),
        server.delete("./Vendor/Ok").unwrap(),
        server.exec("./Vendor/Seven", None, None).unwrap(),
        server.exec("./Vendor/Many", None, None).unwrap(),
        server.exec("./Vendor/Later", None, None).unwrap(),
        server.replace("./Vendor/Level", Data::Text("2".into()), None, None).unwrap(),
        server.delete("./Vendor/Nope").unwrap(),
    ];
    client.receive(&server.next_message().unwrap().unwrap().body).unwrap();
    let events = server.receive(&client.next_message().unwrap().unwrap().body).unwrap();
    let codes = refs.map(|r| code_of(&events, &r));
    assert_eq!(codes, [500, 500, 500, 500, 202, 200, 404].map(Some));
}

/// Neither side sends text XML cannot carry (a control character, U+FFFE, U+FFFF): a conforming
/// peer refuses the whole message holding it. A tree's value goes as bytes (base64 under Format
/// b64 in XML, bin in WBXML), a property as 500, and the caller's own text is a UsageError.
/// Before, the client wrote NUL and control characters raw into its XML.
#[test]
fn text_xml_cannot_carry_is_never_sent() {
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let mut tree = device_tree();
        tree.set("./Vendor/Ctl", "a\u{0}b\u{1f}").unwrap();
        tree.set("./Vendor/Title", "v").unwrap();
        tree.replace_property("omadm-test", "./Vendor/Title", "Title", "t\u{FFFF}").unwrap();
        let mut cc = client_config();
        cc.wire.encoding = encoding;
        let mut p = Pair::with(cc, tree, server_config());
        p.until_server_has_package();
        let value = p.server.get("./Vendor/Ctl").unwrap();
        let title = p.server.get("./Vendor/Title?prop=Title").unwrap();
        p.drive();
        let ev = p.take_server_events();
        assert_eq!([&value, &title].map(|r| code_of(&ev, r)), [Some(200), Some(500)]);
        let item = ev.iter().find_map(|e| match e {
            Event::Results { reference, items } if *reference == value => Some(items[0].clone()),
            _ => None,
        });
        let item = item.unwrap();
        // Sent as b64 in XML, bin in WBXML: the event holds the bytes either way.
        let (format, data) = (item.meta.and_then(|m| m.format), item.data.unwrap());
        assert_eq!((format.as_deref(), data), (Some("bin"), Data::Binary(b"a\0b\x1f".to_vec())));
        for (_, body) in &p.trace {
            let xml = match codec::detect(body) {
                Some(Encoding::Wbxml) => codec::wbxml_to_xml(body).unwrap(),
                _ => String::from_utf8(body.clone()).unwrap(),
            };
            assert!(codec::is_xml_text(&xml), "{xml}");
        }
    }
}

/// Binary Exec data reaches the tree as the server gave it, in both encodings: over XML as
/// base64 under Format b64, which the client decodes as it does a Replace's (before, the tree
/// was handed the base64 text, and the server sent it without a Format).
#[test]
fn binary_exec_data_reaches_the_tree_as_given() {
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let mut tree = device_tree();
        tree.set("./Vendor/Run", "").unwrap();
        let keep = seen.clone();
        let handler = move |d: Option<&[u8]>, _: Option<&str>| {
            *keep.lock().unwrap() = d.map(<[u8]>::to_vec);
            StatusCode::OK
        };
        tree.on_exec("./Vendor/Run", Box::new(handler)).unwrap();
        let mut sc = server_config();
        sc.wire.encoding = encoding;
        let mut p = Pair::with(client_config(), tree, sc);
        p.until_server_has_package();
        let run = p.server.exec("./Vendor/Run", Some(Data::Binary(vec![0, 1, 0xFF])), None).unwrap();
        p.drive();
        assert_eq!(code_of(&p.take_server_events(), &run), Some(200));
        assert_eq!(*seen.lock().unwrap(), Some(vec![0, 1, 0xFF]), "{encoding:?}");
    }
}

/// The caller's own text XML cannot carry is a UsageError, before anything is queued.
#[test]
fn the_callers_text_xml_cannot_carry_is_a_usage_error() {
    let usage = |r: Result<dm_core::session::CommandRef, dm_core::Error>| matches!(r, Err(dm_core::Error::Usage(_)));
    let mut p = Pair::new();
    p.until_server_has_package();
    for bad in ["a\u{1}", "\u{FFFE}", "\u{0}"] {
        assert!(usage(p.server.replace("./Vendor/Level", Data::Text(bad.into()), None, None)));
        assert!(usage(
            p.server.alert(AlertCode::DISPLAY, vec![Item { data: Some(Data::Text(bad.into())), ..Item::default() }])
        ));
        assert!(usage(p.client.generic_alert(Some(bad.into()), vec![])));
    }
    // A document naming such a character by reference is no more well-formed.
    for bad in ["<a>&#1;</a>", "<a b=\"&#xFFFE;\"/>", "<a>&#99999999;</a>"] {
        assert!(usage(p.server.replace("./Vendor/Level", Data::Xml(bad.into()), None, None)), "{bad}");
    }
    let fine = p.server.replace("./Vendor/Level", Data::Binary(vec![0, 1]), None, None).unwrap();
    p.drive();
    assert_eq!(code_of(&p.take_server_events(), &fine), Some(200));
    let mut cc = client_config();
    cc.devinfo = vec![("./DevInfo/Man".into(), "Acme\u{7}".into())];
    assert!(matches!(ClientSession::new(cc, device_tree()), Err(dm_core::Error::Usage(_))));
    let mut cc = client_config();
    cc.device_id = "IMEI:\u{1}".into();
    assert!(matches!(ClientSession::new(cc, device_tree()), Err(dm_core::Error::Usage(_))));
}

/// A node whose child names no URI can hold (`a/b` would go out as the URI of another node)
/// is answered 500, whether it is read or listed: nothing of it is sent.
#[test]
fn children_no_uri_can_name_are_answered_500() {
    let mut client = ClientSession::new(client_config(), Quirky(device_tree(), Default::default())).unwrap();
    let mut server = ServerSession::new(server_config());
    server.receive(&client.next_message().unwrap().unwrap().body).unwrap();
    let targets =
        ["./Vendor/Odd", "./Vendor/Odd?list=Struct", "./Vendor/Odd?list=StructData", "./Vendor/Odd?list=TNDS"];
    let refs = targets.map(|t| server.get(t).unwrap());
    let fine = server.get("./Vendor/Odd/ok").unwrap();
    client.receive(&server.next_message().unwrap().unwrap().body).unwrap();
    let events = server.receive(&client.next_message().unwrap().unwrap().body).unwrap();
    assert_eq!(refs.map(|r| code_of(&events, &r)), [Some(500); 4]);
    assert_eq!(code_of(&events, &fine), Some(200));
    let results = events.iter().filter(|e| matches!(e, Event::Results { .. })).count();
    assert_eq!(results, 1, "only the fine Get has Results");
}

/// Once a Get has found no room for its results, every later Get of that message gets 413
/// before the tree is read, even one with nothing to hold: else a message of thousands of Gets
/// of a large value would copy it thousands of times (about 25 s of work for an 800 KB
/// message of Gets of a node with 20 000 children).
#[test]
fn gets_past_the_room_for_results_do_not_read_the_tree() {
    let mut cc = client_config();
    cc.wire.limits.max_results_size = 10_000;
    let mut tree = device_tree();
    tree.set("./Vendor/Big", &"b".repeat(6_000)).unwrap();
    tree.set("./Vendor/Empty", "").unwrap();
    let reads = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut client = ClientSession::new(cc, Quirky(tree, reads.clone())).unwrap();
    let mut server = ServerSession::new(server_config());
    server.receive(&client.next_message().unwrap().unwrap().body).unwrap();
    reads.set(0); // package 1 read DevInfo
    let mut refs = vec![];
    for _ in 0..100 {
        refs.push(server.get("./Vendor/Big").unwrap());
    }
    refs.push(server.get("./Vendor/Empty").unwrap());
    client.receive(&server.next_message().unwrap().unwrap().body).unwrap();
    // The first fits, the second finds no room: two reads, then none.
    assert_eq!(reads.get(), 2);
    let events = server.receive(&client.next_message().unwrap().unwrap().body).unwrap();
    let codes: Vec<_> = refs.iter().map(|r| code_of(&events, r)).collect();
    assert_eq!(codes[..2], [Some(200), Some(413)]);
    assert!(codes[2..].iter().all(|c| *c == Some(413)), "{codes:?}");
}

/// A Results holds no more items than the client itself decodes in one command: a listing of
/// a subtree past that is answered 413, and the rest of the session goes on (the server
/// refused the whole message before, for its items limit). A listing within it is sent whole.
#[test]
fn a_listing_past_the_items_a_command_may_hold_gets_413() {
    let mut tree = device_tree();
    for i in 0..1_200 {
        tree.set(&format!("./Vendor/Many/N{i}"), "v").unwrap();
        if i < 900 {
            tree.set(&format!("./Vendor/Some/N{i}"), "v").unwrap();
        }
    }
    let mut p = Pair::with(client_config(), tree, server_config());
    p.until_server_has_package();
    let many = p.server.get("./Vendor/Many?list=Struct").unwrap();
    let some = p.server.get("./Vendor/Some?list=Struct").unwrap();
    let after = p.server.get("./DevInfo/Man").unwrap();
    p.drive();
    assert_eq!(p.server.state(), State::Ended);
    let ev = p.take_server_events();
    assert_eq!([&many, &some, &after].map(|r| code_of(&ev, r)), [Some(413), Some(200), Some(200)]);
    let items = |r: &dm_core::session::CommandRef| {
        ev.iter().find_map(|e| match e {
            Event::Results { reference, items, .. } if reference == r => Some(items.len()),
            _ => None,
        })
    };
    assert_eq!([&many, &some, &after].map(items), [None, Some(901), Some(1)]);
}

/// A listing that would name a node past the URI length limit is answered 414: its Results
/// would have the server refuse the whole message (the device's own tree may hold longer URIs
/// than its peer takes).
#[test]
fn a_listing_naming_a_uri_past_the_limit_gets_414() {
    let mut tree = device_tree();
    tree.set(&format!("./Vendor/Deep/{}", ["segment"; 150].join("/")), "v").unwrap();
    let mut p = Pair::with(client_config(), tree, server_config());
    p.until_server_has_package();
    let deep = p.server.get("./Vendor/Deep?list=Struct").unwrap();
    let after = p.server.get("./DevInfo/Man").unwrap();
    p.drive();
    assert_eq!(p.server.state(), State::Ended);
    let ev = p.take_server_events();
    assert_eq!([&deep, &after].map(|r| code_of(&ev, r)), [Some(414), Some(200)]);
}

/// A TNDS listing whose nodes would nest past the element depth limit in the message is
/// answered 413 (the server refused the whole message for its nesting limit, in either
/// encoding); one that fits goes whole.
#[test]
fn a_tnds_listing_nesting_past_the_depth_limit_gets_413() {
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let mut tree = device_tree();
        let max = dm_core::Limits::default().max_element_depth();
        tree.set(&format!("./Vendor/Deep/{}", ["a"; 100].join("/")), "v").unwrap();
        // The deepest that fits: 6 levels of message, then the nodes, then 3 of properties; and
        // one level deeper.
        tree.set(&format!("./Vendor/Fits/{}", vec!["b"; max - 10].join("/")), "v").unwrap();
        tree.set(&format!("./Vendor/Over/{}", vec!["c"; max - 9].join("/")), "v").unwrap();
        let (mut cc, mut sc) = (client_config(), server_config());
        (cc.wire.encoding, sc.wire.encoding) = (encoding, encoding);
        let mut p = Pair::with(cc, tree, sc);
        p.until_server_has_package();
        let deep = p.server.get("./Vendor/Deep?list=TNDS").unwrap();
        let fits = p.server.get("./Vendor/Fits?list=TNDS").unwrap();
        let over = p.server.get("./Vendor/Over?list=TNDS").unwrap();
        p.drive();
        assert_eq!(p.server.state(), State::Ended, "{encoding:?}");
        let ev = p.take_server_events();
        let codes = [&deep, &fits, &over].map(|r| code_of(&ev, r));
        assert_eq!(codes, [Some(413), Some(200), Some(413)], "{encoding:?}");
    }
}

/// The server refuses to queue, as a usage error, what would make the client refuse the whole
/// message by the same limits: a URI past the URI limit, more items than a command holds,
/// groups nested deeper than the nesting limit. What is at each limit goes, and the session
/// ends well.
#[test]
fn the_server_queues_nothing_a_client_with_its_limits_would_refuse() {
    let mut p = Pair::new();
    p.until_server_has_package();
    let limits = dm_core::Limits::default();
    let uri = |n: usize| format!("./Vendor/{}", "u".repeat(n - "./Vendor/".len()));
    let usage = |r: Result<dm_core::session::CommandRef, dm_core::Error>| matches!(r, Err(dm_core::Error::Usage(_)));
    assert!(usage(p.server.get(&uri(limits.max_uri_len + 1))));
    assert!(usage(p.server.copy(&uri(limits.max_uri_len + 1), "./Vendor/Copy")));
    let options =
        |n: usize| (0..n).map(|i| Item { data: Some(Data::Text(i.to_string())), ..Item::default() }).collect();
    assert!(usage(p.server.alert(AlertCode(1103), options(limits.max_items + 1))));
    let at_limits = [
        p.server.get(&uri(limits.max_uri_len)).unwrap(),
        p.server.alert(AlertCode(1100), options(limits.max_items)).unwrap(),
    ];
    for _ in 0..limits.max_nesting {
        p.server.begin_sequence().unwrap();
    }
    assert!(matches!(p.server.begin_atomic(), Err(dm_core::Error::Usage(_))));
    let innermost = p.server.get("./DevInfo/Man").unwrap();
    for _ in 0..limits.max_nesting {
        p.server.end_group().unwrap();
    }
    p.drive();
    assert_eq!(p.server.state(), State::Ended);
    let ev = p.take_server_events();
    assert_eq!(code_of(&ev, &at_limits[0]), Some(404));
    assert_eq!(code_of(&ev, &innermost), Some(200));
}

/// The Results a client owes at once hold at most `max_results_size` bytes of data: Gets past
/// it are answered 413 and send nothing (else a message of Gets of one large value could make a
/// device hold it thousands of times); once the results are sent there is room again.
#[test]
fn results_owed_at_once_are_bounded_and_gets_past_them_get_413() {
    let mut cc = client_config();
    cc.wire.limits.max_results_size = 10_000;
    let mut tree = device_tree();
    tree.set("./Vendor/Big", &"b".repeat(4_000)).unwrap();
    tree.set("./Vendor/Big2", &"b".repeat(4_000)).unwrap();
    let mut p = Pair::with(cc, tree, server_config());
    p.until_server_has_package();
    let refs: Vec<_> = (0..4).map(|_| p.server.get("./Vendor/Big").unwrap()).collect();
    p.exchange();
    let ev = p.take_server_events();
    let code = |r| code_of(&ev, r);
    let with_results = |r: &dm_core::session::CommandRef| {
        ev.iter().any(|e| matches!(e, Event::Results { reference, .. } if reference == r))
    };
    assert_eq!(refs.iter().map(code).collect::<Vec<_>>(), [Some(200), Some(200), Some(413), Some(413)]);
    assert_eq!(refs.iter().map(with_results).collect::<Vec<_>>(), [true, true, false, false]);
    // The results went out with package 3: the next package has room again, and a listing
    // past the room stops with 413.
    let again = p.server.get("./Vendor/Big").unwrap();
    let listing = p.server.get("./Vendor?list=StructData").unwrap();
    p.exchange();
    let ev = p.take_server_events();
    assert!(ev.iter().any(|e| matches!(e, Event::Results { reference, .. } if *reference == again)));
    assert!(
        ev.iter().any(|e| matches!(e, Event::Status { reference, code, .. } if *reference == listing && code.0 == 413))
    );
}

/// The deepest message the default limits let in (Sequences nested 8 deep around a Replace of
/// an embedded document that fills the element depth) runs through a whole session, in WBXML,
/// on a 128 KiB stack in a debug build: the decoder recurses only through Sequence and Atomic,
/// with small frames, and reads embedded documents without recursion. (A release build runs
/// it on 32 KiB; before, it took more than 64 KiB.)
#[test]
fn the_deepest_message_the_limits_let_in_runs_on_a_small_stack() {
    let events = std::thread::Builder::new()
        .stack_size(128 << 10)
        .spawn(|| {
            let (mut cc, mut sc) = (client_config(), server_config());
            (cc.wire.encoding, sc.wire.encoding) = (Encoding::Wbxml, Encoding::Wbxml);
            let mut p = Pair::with(cc, device_tree(), sc);
            p.until_server_has_package();
            for _ in 0..8 {
                p.server.begin_sequence().unwrap();
            }
            // SyncML, SyncBody, 8 Sequences, Replace, Item and Data: 13 levels above the document.
            let depth = dm_core::Limits::default().max_element_depth() - 13;
            let doc = format!("{}x{}", "<a>".repeat(depth), "</a>".repeat(depth));
            p.server.replace("./Vendor/Level", Data::Xml(doc), Some("xml"), None).unwrap();
            for _ in 0..8 {
                p.server.end_group().unwrap();
            }
            p.drive();
            p.take_server_events()
        })
        .unwrap()
        .join()
        .unwrap();
    let replaced =
        events.iter().any(|e| matches!(e, Event::Status { cmd, code, .. } if cmd == "Replace" && code.is_success()));
    assert!(replaced, "{events:?}");
}

/// Leniently read, a peer's URI holding text XML cannot carry is refused all the same: it would
/// come back in our Status (a TargetRef, the header's Target), and every peer would refuse that
/// message. The refused message changes nothing; the one as sent is taken after it.
#[test]
fn leniently_read_text_xml_cannot_carry_is_refused_and_changes_nothing() {
    use dm_core::error::DecodeErrorKind;
    let not_xml_text =
        |e: dm_core::Error| matches!(&e, dm_core::Error::Decode(d) if d.kind == DecodeErrorKind::NotXmlText);
    let (mut cc, mut sc) = (client_config(), server_config());
    for wire in [&mut cc.wire, &mut sc.wire] {
        (wire.lenient, wire.encoding) = (true, Encoding::Xml);
    }
    let mut p = Pair::with(cc, device_tree(), sc);
    let pkg1 = p.client.next_message().unwrap().unwrap().body;
    let device = client_config().device_id;
    let bad = String::from_utf8(pkg1.clone()).unwrap().replace(&device, &format!("{device}&#1;"));
    assert!(not_xml_text(p.server.receive(bad.as_bytes()).unwrap_err()));
    p.server.receive(&pkg1).unwrap();
    let get = p.server.get("./DevInfo/Man").unwrap();
    let pkg2 = p.server.next_message().unwrap().unwrap().body;
    let bad = String::from_utf8(pkg2.clone()).unwrap().replace("./DevInfo/Man", "./DevInfo/Man\u{7}");
    assert!(not_xml_text(p.client.receive(bad.as_bytes()).unwrap_err()));
    p.client.receive(&pkg2).unwrap();
    p.drive();
    assert_eq!(code_of(&p.take_server_events(), &get), Some(200));
    assert_eq!((p.client.state(), p.server.state()), (State::Ended, State::Ended));
}

#[test]
fn the_server_queues_any_command_but_statuses_results_and_whole_groups() {
    let mut p = Pair::new();
    p.until_server_has_package();
    let get = p.server.command(Command::Get(ItemCommand {
        items: ["./DevInfo/Man", "./DevInfo/Mod"]
            .map(|uri| Item { target: Some(Location::new(uri)), ..Item::default() })
            .to_vec(),
        ..ItemCommand::default()
    }));
    let get = get.unwrap();
    for refused in [
        Command::Status(Status {
            cmd_id: 0,
            msg_ref: Some(1),
            cmd_ref: Some(1),
            cmd: "Get".into(),
            target_refs: vec![],
            source_refs: vec![],
            cred: None,
            chal: None,
            data: StatusCode::OK,
            items: vec![],
        }),
        Command::Results(Results::default()),
        Command::Sequence(Group::default()),
        Command::Atomic(Group::default()),
    ] {
        let name = refused.name();
        let e = p.server.command(refused).unwrap_err();
        assert!(matches!(e, dm_core::Error::Usage(_)) && e.to_string().contains(name), "{e}");
    }
    p.drive();
    let read = p.server_events.iter().find_map(|e| match e {
        Event::Results { reference, items } if *reference == get => Some(items.len()),
        _ => None,
    });
    assert_eq!(read, Some(2), "one Get, both nodes read");
}

/// A server of many devices moves sessions between threads (a pool, async tasks), behind a
/// Mutex or not, and shares one configuration among them: sessions are `Send` whatever the
/// handlers (Exec, password lookup) they hold, the configuration `Send + Sync`.
#[test]
fn sessions_move_between_threads() {
    use dm_core::session::{ClientConfig, ClientSession, PasswordLookup, ServerConfig, ServerSession};
    use dm_core::tree::{MemoryTree, objects::DevInfo};
    use std::sync::Arc;
    fn movable<T: Send + 'static>(value: T) -> T {
        std::thread::spawn(move || value).join().unwrap()
    }
    let mut tree = MemoryTree::new();
    DevInfo { dev_id: "IMEI:1".into(), man: "Acme".into(), model: "X1".into(), dm_v: "1.2".into(), lang: "en".into() }
        .install(&mut tree)
        .unwrap();
    tree.on_exec("./DevInfo", Box::new(|_, _| StatusCode::OK)).unwrap();
    let mut client = ClientSession::new(ClientConfig::new("IMEI:1", "srv", "http://dm"), tree).unwrap();
    let config = movable(Arc::new(ServerConfig::new("srv")));
    let mut server = ServerSession::new(Arc::clone(&config));
    server.set_password_lookup(PasswordLookup(Arc::new(|_: &str| None)));
    let body = client.next_message().unwrap().unwrap().body;
    let mut server = movable(server);
    server.receive(&body).unwrap();
    let get = server.get("./DevInfo/Mod").unwrap();
    let reply = movable(server.next_message().unwrap().unwrap()).body;
    let mut client = movable(client);
    client.receive(&reply).unwrap();
    let events = movable(std::sync::Mutex::new(server))
        .into_inner()
        .unwrap()
        .receive(&client.next_message().unwrap().unwrap().body)
        .unwrap();
    assert!(events.iter().any(|e| matches!(e, Event::Results { reference, .. } if *reference == get)));
}
