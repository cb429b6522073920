//! The trace checker: silent on what our engines produce, loud on every rule broken.
mod common;

use common::pair::{Dir, Pair, client_config, device_tree, server_config, stale_md5_pair};
use dm_core::check::{Answer, Direction, Violation, answers, check, infer_directions};
use dm_core::codec::{self, Encoding};
use dm_core::model::*;

fn trace(p: &Pair) -> Vec<(Direction, Vec<u8>)> {
    p.checker_trace()
}

fn rules(v: &[Violation]) -> Vec<&'static str> {
    v.iter().map(|x| x.rule).collect()
}

#[test]
fn silent_on_sessions_our_engines_produce() {
    // Plain, split packages both ways, a large object, and the spec-size limits.
    let mut p = Pair::with_max_msg_sizes(Some(1500), Some(1100));
    p.until_server_has_package();
    for i in 0..8 {
        p.server.add(&format!("./Vendor/N{i}"), Some(Data::Text("x".repeat(40))), None, None).unwrap();
        p.server.get("./DevInfo/Man").unwrap();
    }
    p.server.replace("./Vendor/Level", Data::Text("y".repeat(5000)), None, None).unwrap();
    p.exchange();
    p.server.get("./Vendor/Level").unwrap();
    p.exchange();
    p.drive();
    let v = check(&trace(&p));
    assert!(v.is_empty(), "{v:#?}");
}

/// MsgRef is optional: without it a Status or Results answers the message its sender received
/// last (so the client's message 3 answers the server's message 2), as the checker reads it.
#[test]
fn silent_on_statuses_and_results_without_msg_ref() {
    let mut msgs = two_packages();
    without_msg_refs(&mut msgs);
    assert_eq!(check_msgs(&msgs), Vec::<&str>::new());
    // The Results of the second Get, moved before its Status: out of order in that message.
    let c3 = &mut msgs[4].1.commands;
    let at = c3.iter().position(|c| c.name() == "Results").unwrap();
    let results = c3.remove(at);
    c3.insert(1, results);
    for (c, id) in c3.iter_mut().zip(1..) {
        match c {
            Command::Status(s) => s.cmd_id = id,
            Command::Results(r) => r.cmd_id = id,
            _ => unreachable!("the client's package 3 holds Status and Results"),
        }
    }
    assert_eq!(check_msgs(&msgs), ["ResultsOrder"]);
}

/// Packages 1 to 5: two Gets and a Replace, the client's answers in its messages 2 and 3.
fn two_packages() -> Vec<(Direction, Message)> {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.server.get("./Vendor/Level").unwrap();
    p.server.replace("./Vendor/Level", Data::Text("2".into()), None, None).unwrap();
    p.exchange();
    p.drive();
    let msgs: Vec<(Direction, Message)> = trace(&p).into_iter().map(|(d, b)| (d, codec::decode(&b).unwrap())).collect();
    assert_eq!(msgs.len(), 6);
    msgs
}

fn without_msg_refs(msgs: &mut [(Direction, Message)]) {
    for (_, m) in msgs {
        for c in &mut m.commands {
            match c {
                Command::Status(s) => s.msg_ref = None,
                Command::Results(r) => r.msg_ref = None,
                _ => {}
            }
        }
    }
}

fn indexed(msgs: &[(Direction, Message)]) -> Vec<(usize, Direction, Message)> {
    msgs.iter().cloned().enumerate().map(|(i, (d, m))| (i, d, m)).collect()
}

#[test]
fn answers_pair_each_status_and_results_with_the_command_it_answers() {
    let mut msgs = two_packages();
    let paired = answers(&indexed(&msgs));
    let count = |kind| msgs.iter().flat_map(|(_, m)| &m.commands).filter(|c| c.name() == kind).count();
    assert_eq!(paired.len(), count("Status") + count("Results"));
    for a in &paired {
        let (at, cmd_ref) = a.answers.unwrap_or_else(|| panic!("{a:?} answers nothing"));
        assert_ne!(msgs[at].0, msgs[a.msg_index].0, "{a:?} answers its own side");
        assert!(at < a.msg_index);
        let answer = msgs[a.msg_index].1.commands.iter().find(|c| c.cmd_id() == a.cmd_id).unwrap();
        let answered = msgs[at].1.commands.iter().find(|c| c.cmd_id() == cmd_ref).map_or("SyncHdr", Command::name);
        match answer {
            Command::Status(s) => assert_eq!(s.cmd, answered),
            _ => assert_eq!(answered, "Get"),
        }
    }
    // The client's third message answers the server's second, the one it received last.
    let third: Vec<usize> =
        paired.iter().filter(|a| a.msg_index == 4).filter_map(|a| a.answers).map(|(at, _)| at).collect();
    assert_eq!((third.len(), third.iter().all(|&at| at == 3)), (4, true), "{third:?}");
    without_msg_refs(&mut msgs);
    assert_eq!(answers(&indexed(&msgs)), paired, "the same without MsgRef");
    let Some(Command::Status(s)) = msgs[4].1.commands.iter_mut().find(|c| c.name() == "Status" && c.cmd_id() > 1)
    else {
        panic!()
    };
    s.cmd_ref = Some(40);
    let cmd_id = s.cmd_id;
    let unmatched: Vec<Answer> = answers(&indexed(&msgs)).into_iter().filter(|a| a.answers.is_none()).collect();
    assert_eq!(unmatched, [Answer { msg_index: 4, cmd_id, answers: None }]);
}

#[test]
fn a_missing_msg_ref_is_the_message_received_last_or_else_message_1() {
    let sent = |ids: &'static [u32]| move |m: u32| ids.contains(&m);
    assert_eq!(refers_to(Some(5), 3, sent(&[3])), 5, "a MsgRef given is the MsgRef");
    assert_eq!(refers_to(None, 3, sent(&[1, 3])), 3);
    assert_eq!(refers_to(None, 3, sent(&[1])), 1, "the SyncML schema's default");
    assert_eq!(refers_to(None, 3, sent(&[])), 3, "neither holds it: the one it answers");
}

fn spec(names: &[&str]) -> Vec<(Direction, Vec<u8>)> {
    infer_directions(names.iter().map(|n| common::vector(&format!("oma_spec_examples/{n}"))).collect())
}

#[test]
fn reports_the_spec_examples_own_slips_and_only_those() {
    let one_step = spec(&[
        "26_01_onestep_pkg1_client_init_1200.xml",
        "26_02_onestep_pkg2_server_sequence_alert1101_replace.xml",
        "26_03_onestep_pkg3_client_status.xml",
        "26_04_onestep_pkg4_server_close.xml",
    ]);
    // Its Sequence's CmdIDs (6, 7, 8, 1, 2, 4) are out of order, which the spec allows: unique
    // in the message and not 0 is all it asks.
    assert_eq!(check(&one_step), []);
    let two_step = spec(&[
        "26_05_twostep_pkg1_client_init_1200.xml",
        "26_06_twostep_pkg2_server_alert1100_get.xml",
        "26_07_twostep_pkg3_client_results.xml",
        "26_08_twostep_pkg4_server_replace.xml",
        "26_09_twostep_pkg3b_client_status.xml",
        "26_10_twostep_pkg4b_server_close.xml",
    ]);
    let v = check(&two_step);
    assert!(v.iter().any(|x| x.rule == "Ref" && x.detail.contains("SyncHdr without CmdRef")), "{v:#?}");
    assert!(v.iter().all(|x| x.msg_index < two_step.len()));
}

/// A plain session: package 1, a package 2 with a Get and a Replace, package 3, the end.
fn session() -> Vec<(Direction, Message)> {
    let mut p = Pair::new();
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.server.replace("./Vendor/Level", Data::Text("2".into()), None, None).unwrap();
    p.exchange();
    p.drive();
    trace(&p).into_iter().map(|(d, b)| (d, codec::decode(&b).unwrap())).collect()
}

fn check_msgs(msgs: &[(Direction, Message)]) -> Vec<&'static str> {
    let t: Vec<(Direction, Vec<u8>)> = msgs.iter().map(|(d, m)| (*d, codec::encode(m, Encoding::Xml))).collect();
    rules(&check(&t))
}

fn broken(rule: &str, f: impl FnOnce(&mut Vec<(Direction, Message)>)) {
    let mut msgs = session();
    assert!(check_msgs(&msgs).is_empty());
    f(&mut msgs);
    let found = check_msgs(&msgs);
    assert!(found.contains(&rule), "expected {rule}, found {found:?}");
}

fn alert(code: AlertCode, cmd_id: u32) -> Command {
    Command::Alert(Alert { cmd_id, no_resp: false, cred: None, data: code, correlator: None, items: vec![] })
}

#[test]
fn r06_status_for_a_status_is_reported() {
    broken("R06", |m| {
        let Command::Status(mut s) = m[1].1.commands[0].clone() else { panic!() };
        s.cmd = "Status".into();
        s.cmd_ref = Some(1);
        s.cmd_id = 99;
        m[2].1.commands.push(Command::Status(s));
    });
}

/// A Status answers a command its peer sent: not the SyncHdr of a message never sent, not a
/// Status (which gets none, R06), whatever its Cmd says.
#[test]
fn statuses_for_a_synchdr_never_sent_or_for_a_status_are_reported() {
    broken("Ref", |m| {
        let Command::Status(s) = &mut m[2].1.commands[0] else { panic!() };
        assert_eq!(s.cmd_ref, Some(0));
        s.msg_ref = Some(5);
    });
    broken("Ref", |m| {
        let Command::Status(mut s) = m[2].1.commands[1].clone() else { panic!() };
        let server_status = m[1].1.commands.iter().find(|c| matches!(c, Command::Status(_))).unwrap().cmd_id();
        (s.cmd_id, s.cmd_ref) = (99, Some(server_status));
        m[2].1.commands.push(Command::Status(s));
    });
}

/// A message larger than the MaxMsgSize its receiver announced last (servers that ignore a
/// device's are a classic of interop).
#[test]
fn r07_a_message_past_the_max_msg_size_its_receiver_announced_is_reported() {
    let announce = |m: &mut Message, n| m.header.meta.get_or_insert_with(Default::default).max_msg_size = Some(n);
    broken("R07", |m| announce(&mut m[0].1, 512));
    let mut msgs = session();
    announce(&mut msgs[0].1, 512);
    announce(&mut msgs[2].1, 100_000);
    let found = check_msgs(&msgs);
    assert_eq!(found.iter().filter(|r| **r == "R07").count(), 1, "only message 1 is past it: {found:?}");
}

/// CmdIDs are unique in their message and not 0 (facts §1); in any order.
#[test]
fn cmd_ids_used_twice_or_0_are_reported_and_their_order_is_free() {
    broken("CmdID", |m| {
        let (a, b) = (m[1].1.commands[1].cmd_id(), m[1].1.commands[2].clone());
        m[1].1.commands.push(renumbered(b, a));
    });
    broken("CmdID", |m| {
        let first = m[2].1.commands.remove(0);
        m[2].1.commands.insert(0, renumbered(first, 0));
    });
    let mut msgs = session();
    msgs[1].1.commands.reverse();
    let found = check_msgs(&msgs);
    assert!(!found.contains(&"CmdID"), "{found:?}");
}

fn renumbered(mut c: Command, id: u32) -> Command {
    c.set_cmd_id(id);
    c
}

#[test]
fn r14_client_commands_are_reported() {
    broken("R14", |m| {
        m[2].1.commands.push(Command::Delete(ItemCommand {
            cmd_id: 50,
            items: vec![Item::default()],
            ..ItemCommand::default()
        }))
    });
}

#[test]
fn r19_msgid_and_session_id_are_reported() {
    broken("R19", |m| m[2].1.header.msg_id = 7);
    broken("R19", |m| m[3].1.header.session_id = "9".into());
    broken("R19", |m| m[1].1.header.ver_proto = "DM/1.3".into());
}

#[test]
fn r15_abort_without_final_is_reported() {
    broken("R15", |m| {
        m.truncate(3);
        m[2].1.commands.push(alert(AlertCode::SESSION_ABORT, 40));
        m[2].1.is_final = false;
    });
}

#[test]
fn r11_and_r10_unanswered_messages_are_reported() {
    broken("R11", |m| {
        m.truncate(3);
    });
    // Two client messages with no server message between them.
    broken("R11", |m| {
        m.remove(1);
    });
    broken("R10", |m| {
        m.truncate(2);
    });
}

#[test]
fn r09_answer_to_a_status_only_package_is_reported() {
    broken("R09", |m| {
        let mut extra = m[2].clone();
        extra.1.header.msg_id = 3;
        extra.1.commands.truncate(1);
        if let Command::Status(s) = &mut extra.1.commands[0] {
            s.msg_ref = Some(2);
        }
        m.push(extra);
    });
}

#[test]
fn r17_and_r16_answers_to_an_abort_are_reported() {
    broken("R17", |m| {
        m.truncate(3);
        m[1].1.commands.push(alert(AlertCode::SESSION_ABORT, 90));
    });
    broken("R16", |m| {
        m[2].1.commands.push(alert(AlertCode::SESSION_ABORT, 90));
        m[3].1.commands.push(Command::Get(ItemCommand {
            cmd_id: 91,
            items: vec![Item::default()],
            ..ItemCommand::default()
        }));
    });
}

#[test]
fn r20_package1_without_its_alert_or_devinfo_is_reported() {
    broken("R20", |m| m[0].1.commands.retain(|c| c.name() != "Alert"));
    broken("R20", |m| m[0].1.commands.retain(|c| c.name() != "Replace"));
}

#[test]
fn r21_server_package_without_a_status_for_synchdr_or_an_alert_is_reported() {
    broken("R21", |m| m[1].1.commands.retain(|c| !matches!(c, Command::Status(s) if s.cmd == "SyncHdr")));
    broken("R21", |m| m[1].1.commands.retain(|c| !matches!(c, Command::Status(s) if s.cmd == "Alert")));
    // A Status with the Alert's CmdRef but another message's MsgRef answers something else.
    broken("R21", |m| {
        for c in &mut m[1].1.commands {
            if let Command::Status(s) = c {
                if s.cmd == "Alert" {
                    s.msg_ref = Some(9);
                }
            }
        }
    });
}

/// Statuses for the client's Alerts may span the server's messages (a small MaxMsgSize): R21
/// holds of the server's package, which ends with each of them given.
#[test]
fn r21_statuses_for_client_alerts_may_span_the_server_s_messages() {
    let mut p = Pair::with_max_msg_sizes(Some(1024), None);
    for i in 0..8 {
        let item = Item { data: Some(Data::Text(format!("report {i}"))), ..Item::default() };
        p.client.generic_alert(None, vec![item]).unwrap();
    }
    p.drive();
    let t = trace(&p);
    let server_messages = p.messages(Dir::S2C);
    assert!(!server_messages[0].is_final, "package 2 spans messages");
    let v = check(&t);
    assert!(v.is_empty(), "{v:#?}");
    // Without a Status for one of them in the whole package, R21 at its last message.
    let mut msgs: Vec<(Direction, Message)> = t.iter().map(|(d, b)| (*d, codec::decode(b).unwrap())).collect();
    let last = msgs.iter().rposition(|(d, m)| *d == Direction::ServerToClient && m.is_final).unwrap();
    let at = msgs
        .iter()
        .position(|(d, m)| {
            *d == Direction::ServerToClient
                && m.commands.iter().any(|c| matches!(c, Command::Status(s) if s.cmd == "Alert"))
        })
        .unwrap();
    let gone = msgs[at].1.commands.iter().rposition(|c| matches!(c, Command::Status(s) if s.cmd == "Alert")).unwrap();
    msgs[at].1.commands.remove(gone);
    let found = check(&msgs.iter().map(|(d, m)| (*d, codec::encode(m, Encoding::Xml))).collect::<Vec<_>>());
    let r21: Vec<usize> = found.iter().filter(|v| v.rule == "R21").map(|v| v.msg_index).collect();
    assert!(r21.iter().all(|&i| i <= last) && !r21.is_empty(), "{found:#?}");
}

#[test]
fn a_status_for_a_command_never_sent_is_reported_by_its_refs() {
    let mut msgs = session();
    for c in &mut msgs[1].1.commands {
        if let Command::Status(s) = c {
            if s.cmd == "Alert" {
                s.cmd_ref = Some(9);
            }
        }
    }
    let t: Vec<(Direction, Vec<u8>)> = msgs.iter().map(|(d, m)| (*d, codec::encode(m, Encoding::Xml))).collect();
    let v = check(&t);
    assert!(v.iter().any(|x| x.rule == "Ref" && x.detail == "Status for MsgRef 1 CmdRef 9, never sent"), "{v:#?}");
}

#[test]
fn r22_results_without_source_are_reported() {
    broken("R22", |m| {
        for c in &mut m[2].1.commands {
            if let Command::Results(r) = c {
                r.items[0].source = None;
            }
        }
    });
}

#[test]
fn r02_r03_r04_r05_r08_package_interleaving_is_reported() {
    // The server leaves package 2 open (no Final) ...
    broken("R03", |m| {
        m[1].1.is_final = false;
        // ... and the client answers with statuses only, without asking for more.
        m[2].1.commands.retain(|c| c.name() == "Status");
    });
    broken("R02", |m| m[1].1.is_final = false);
    broken("R04", |m| m[1].1.is_final = false);
    // Package 2 left open: the client answers with more than a Next Message response (its
    // Results), without Final; or with only what such a response holds, but with Final.
    broken("R04", |m| {
        m[1].1.is_final = false;
        m[2].1.is_final = false;
    });
    broken("R04", |m| {
        m[1].1.is_final = false;
        m[2].1.commands.retain(|c| c.name() == "Status");
        m[2].1.commands.push(alert(AlertCode::NEXT_MESSAGE, 90));
    });
    // The client leaves package 3 open and the server sends new commands anyway.
    broken("R05", |m| {
        m[2].1.is_final = false;
        m[3].1.commands.push(Command::Get(ItemCommand {
            cmd_id: 70,
            items: vec![Item::default()],
            ..ItemCommand::default()
        }));
    });
    broken("R08", |m| {
        m[2].1.is_final = false;
        m[3].1.commands.push(Command::Get(ItemCommand {
            cmd_id: 70,
            items: vec![Item::default()],
            ..ItemCommand::default()
        }));
    });
}

#[test]
fn r01_a_final_in_the_middle_of_a_package_is_a_package_closed_early() {
    // A Final on the first part of a split package closes it: what follows is a new package
    // the client never asked for (R01 seen as R05 / R02 on the next message).
    let mut p = Pair::with_max_msg_sizes(Some(1200), None);
    p.until_server_has_package();
    for i in 0..15 {
        p.server.add(&format!("./Vendor/N{i}"), Some(Data::Text("v".repeat(40))), None, None).unwrap();
    }
    p.exchange();
    p.drive();
    let mut msgs: Vec<(Direction, Message)> =
        trace(&p).into_iter().map(|(d, b)| (d, codec::decode(&b).unwrap())).collect();
    assert!(check_msgs(&msgs).is_empty());
    msgs[1].1.is_final = true;
    let found = check_msgs(&msgs);
    assert!(found.contains(&"R01"), "a Final on a non-final message went unseen: {found:?}");
}

#[test]
fn silent_on_a_challenged_server_sending_its_package_again() {
    let mut cc = client_config();
    cc.server_credentials = Some(dm_core::auth::Credentials::new("srv", "spw"));
    cc.server_nonce = b"sn".to_vec();
    let mut sc = server_config();
    sc.credentials = Some((dm_core::auth::AuthType::Md5, dm_core::auth::Credentials::new("srv", "spw")));
    sc.server_nonce = b"stale".to_vec();
    let mut p = Pair::with(cc, device_tree(), sc);
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.drive();
    assert_eq!(p.trace.len(), 6, "package 1, 2, the challenge, 2 again, 3, and the close");
    let v = check(&trace(&p));
    assert!(v.is_empty(), "{v:#?}");
}

/// A client challenged by the server (401 and Chal on its header, 401 on each command: a
/// package of statuses alone) sends package 1 again: R10 asks for that answer, and R09 does
/// not forbid it. Without the answer the session ends on a package that needs one (R10).
#[test]
fn r09_r10_a_challenged_client_sends_package_1_again() {
    let nonces = dm_core::session::NonceSource(std::sync::Arc::new(|| b"n1".to_vec()));
    let mut p = stale_md5_pair(nonces);
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.drive();
    let t = trace(&p);
    let challenge = codec::decode(&t[1].1).unwrap();
    assert!(challenge.commands.iter().all(|c| matches!(c, Command::Status(s) if s.data.0 == 401)), "{challenge:?}");
    assert_eq!(t.len(), 6, "package 1, the challenge, package 1 again, 2, 3, and the close");
    let v = check(&t);
    assert!(v.is_empty(), "{v:#?}");
    assert_eq!(rules(&check(&t[..2])), ["R10"]);
}

#[test]
fn meta_defaults_an_embedded_document_needs_a_format() {
    fn with(m: &mut [(Direction, Message)], format: Option<&'static str>) {
        let tnds = "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>x</NodeName></Node></MgmtTree>";
        let Some(Command::Replace(r)) = m[1].1.commands.iter_mut().find(|c| matches!(c, Command::Replace(_))) else {
            panic!("package 2 has a Replace")
        };
        r.items[0].data = Some(Data::Xml(tnds.into()));
        r.items[0].meta = format.map(|f| Box::new(Meta::typed(f, "application/vnd.syncml.dmtnds+xml")));
    }
    broken("MetaDefaults", |m| with(m, None));
    let mut msgs = session();
    with(&mut msgs, Some("xml"));
    assert!(check_msgs(&msgs).is_empty());
}
