//! Authentication and package 0: the spec's vectors, basic/md5/HMAC sessions through the Pair,
//! wrong passwords, replayed nonces, tampered bodies, and every bad trigger.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use common::pair::{Dir, Flight, Pair, client_config, device_tree, server_config, without_msg_refs};
use dm_core::auth::{self, AuthType, Credentials};
use dm_core::check::{Secrets, Violation, credentials};
use dm_core::codec::{self, Encoding};
use dm_core::error::{DecodeErrorKind, Error};
use dm_core::model::*;
use dm_core::notification::{Notification, RESYNC_NONCE, UiMode};
use dm_core::session::{
    ClientConfig, ClientSession, CommandRef, Event, NonceSource, PasswordLookup, ServerConfig, ServerSession, State,
};

#[test]
fn spec_vectors_basic_and_md5() {
    let c = Credentials::new("Bruce2", "OhBehave");
    assert_eq!(auth::cred(AuthType::Basic, &c, b"").unwrap().data, "QnJ1Y2UyOk9oQmVoYXZl");
    assert_eq!(auth::md5_digest(&c, b"Nonce"), "Zz6EivR3yeaaENcRN6lpAQ==");
    let cred = auth::cred(AuthType::Md5, &c, b"Nonce").unwrap();
    assert!(auth::verify_cred(&cred, AuthType::Md5, &c, b"Nonce"));
    assert!(!auth::verify_cred(&cred, AuthType::Md5, &c, b"Other"));
    assert!(!auth::verify_cred(&cred, AuthType::Md5, &Credentials::new("Bruce2", "x"), b"Nonce"));
    // The right data under another scheme's type, or none, is refused.
    for type_ in [Some("syncml:auth-basic"), None] {
        let retyped = Cred { meta: type_.map(|t| Meta::typed("b64", t)), ..cred.clone() };
        assert!(!auth::verify_cred(&retyped, AuthType::Md5, &c, b"Nonce"), "{type_:?}");
    }
    assert!(!format!("{c:?}").contains("OhBehave"));
    assert!(!format!("{cred:?}").contains(&cred.data));
}

#[test]
fn hmac_header_round_trip_and_tamper() {
    let c = Credentials::new("Robert Jordan", "secret");
    let h = auth::hmac_header(&c, b"n1", b"<SyncML/>");
    let parsed = auth::parse_hmac_header(&h).unwrap();
    assert_eq!((parsed.algorithm.as_str(), parsed.username.as_str()), ("MD5", "Robert Jordan"));
    assert!(auth::verify_hmac(&h, &c, b"n1", b"<SyncML/>"));
    assert!(!auth::verify_hmac(&h, &c, b"n1", b"<SyncML />"));
    assert!(!auth::verify_hmac(&h, &c, b"n2", b"<SyncML/>"));
    // algorithm is optional.
    let bare = h.replace("algorithm=MD5, ", "");
    assert!(auth::verify_hmac(&bare, &c, b"n1", b"<SyncML/>"));
    assert!(auth::parse_hmac_header("mac=abc").is_none());
}

fn counter_nonces() -> NonceSource {
    let n = Arc::new(AtomicU8::new(0));
    NonceSource(Arc::new(move || vec![n.fetch_add(1, Ordering::Relaxed); 16]))
}

fn pair_with(auth: AuthType, client_password: &str, encoding: Encoding) -> Pair {
    let mut cc = client_config();
    cc.auth = auth;
    cc.credentials = Some(Credentials::new("dev", client_password));
    cc.nonce = b"first".to_vec();
    cc.wire.encoding = encoding;
    let mut sc = server_config();
    sc.auth = auth;
    sc.client_credentials = Some(Credentials::new("dev", "pw"));
    sc.client_nonce = b"first".to_vec();
    sc.nonce_source = Some(counter_nonces());
    sc.wire.encoding = encoding;
    Pair::with(cc, device_tree(), sc)
}

fn synchdr_code(m: &Message) -> u16 {
    m.commands
        .iter()
        .find_map(|c| if let Command::Status(s) = c { (s.cmd == "SyncHdr").then_some(s.data.0) } else { None })
        .unwrap()
}

#[test]
fn basic_and_md5_sessions_authenticate_with_212() {
    for auth in [AuthType::Basic, AuthType::Md5] {
        let mut p = pair_with(auth, "pw", Encoding::Xml);
        p.until_server_has_package();
        assert!(p.server_events.contains(&Event::Authenticated), "{auth:?}");
        let get = p.server.get("./DevInfo/Man").unwrap();
        p.exchange();
        p.drive();
        let s2c = p.messages(Dir::S2C);
        assert_eq!(synchdr_code(&s2c[0]), 212);
        // After 212 the client stops sending Cred, and the server needs none: it answers 200.
        let c2s = p.messages(Dir::C2S);
        assert!(c2s[0].header.cred.is_some() && c2s[1].header.cred.is_none());
        assert_eq!((s2c.len(), synchdr_code(&s2c[1])), (2, 200), "{auth:?}");
        assert!(p.server_events.iter().any(|e| matches!(e, Event::Results { reference, .. } if *reference == get)));
        assert_eq!(p.server.state(), State::Ended);
        if auth == AuthType::Md5 {
            // The nonce for the next session reaches both callers, to keep.
            assert!(p.server.next_client_nonce().is_some());
            assert_eq!(p.client.next_nonce(), p.server.next_client_nonce());
            assert_eq!(c2s[0].header.source.name.as_deref(), Some("dev"));
        }
    }
}

/// An md5 pair whose client starts with a nonce the server no longer holds.
fn stale_client_nonce_pair() -> Pair {
    let mut p = pair_with(AuthType::Md5, "pw", Encoding::Xml);
    p.client = md5_client(b"stale", None);
    p
}

/// An md5 client ("dev"/"pw") that digests with `nonce` and takes messages of `max_msg_size`.
fn md5_client(nonce: &[u8], max_msg_size: Option<u64>) -> ClientSession<dm_core::tree::MemoryTree> {
    let mut cc = client_config();
    cc.auth = AuthType::Md5;
    cc.credentials = Some(Credentials::new("dev", "pw"));
    cc.nonce = nonce.to_vec();
    cc.wire.max_msg_size = max_msg_size.or(cc.wire.max_msg_size);
    ClientSession::new(cc, device_tree()).unwrap()
}

#[test]
fn a_challenge_sends_the_client_back_to_package_1() {
    // The client starts with a stale nonce: 401 + Chal, then the retry with the new nonce.
    let mut p = stale_client_nonce_pair();
    p.until_server_has_package();
    let msgs = p.all_messages();
    assert_eq!(synchdr_code(&msgs[1].1), 401);
    // Each command of the challenged message gets a Status of the same code, and nothing runs.
    let answered: Vec<(Option<u32>, u16)> = msgs[1]
        .1
        .commands
        .iter()
        .filter_map(|c| if let Command::Status(s) = c { Some((s.cmd_ref, s.data.0)) } else { None })
        .collect();
    for c in &msgs[0].1.commands {
        assert!(answered.contains(&(Some(c.cmd_id()), 401)), "{} {:?}", c.name(), answered);
    }
    let chal =
        msgs[1].1.commands.iter().find_map(|c| if let Command::Status(s) = c { s.chal.clone() } else { None }).unwrap();
    assert_eq!(chal.meta.format.as_deref(), Some("b64"));
    assert!(chal.meta.next_nonce.is_some());
    // Every command of the refused package got a status and nothing else was sent.
    assert!(msgs[1].1.commands.iter().all(|c| c.name() == "Status"));
    let retry = &msgs[2].1;
    assert_eq!(retry.header.session_id, msgs[0].1.header.session_id);
    assert!(
        retry.commands.iter().any(|c| matches!(c, Command::Alert(a) if a.data == AlertCode::CLIENT_INITIATED_MGMT))
    );
    assert!(retry.commands.iter().any(|c| c.name() == "Replace"));
    assert!(p.server_events.contains(&Event::Authenticated));
}

/// What the device queued before package 1 went (a Generic Alert reporting an update, a Client
/// Event) is part of package 1: challenged, it goes again with it, and the server hears it once.
#[test]
fn a_challenged_package_1_goes_again_with_the_alerts_queued_for_it() {
    let mut p = stale_client_nonce_pair();
    let item = |data: &str| Item { data: Some(Data::Text(data.into())), ..Item::default() };
    let report = p.client.generic_alert(Some("job-7".into()), vec![item("updated")]).unwrap();
    let event = p.client.alert(AlertCode(1224), None, vec![item("rebooted")]).unwrap();
    p.until_server_has_package();
    let c2s = p.messages(Dir::C2S);
    assert_eq!((c2s.len(), synchdr_code(&p.messages(Dir::S2C)[0])), (2, 401));
    let alerts = |m: &Message| -> Vec<u16> {
        m.commands.iter().filter_map(|c| if let Command::Alert(a) = c { Some(a.data.0) } else { None }).collect()
    };
    assert_eq!(alerts(&c2s[0]), alerts(&c2s[1]), "package 1 again, whole");
    assert_eq!(alerts(&c2s[1]), [1201, 1226, 1224]);
    let heard: Vec<&str> = p
        .server_events
        .iter()
        .filter_map(|e| match e {
            Event::GenericAlert { correlator, .. } => correlator.as_deref(),
            Event::Alert { code, .. } if code.0 == 1224 => Some("client event"),
            _ => None,
        })
        .collect();
    assert_eq!(heard, ["job-7", "client event"]);
    p.exchange();
    p.drive();
    let answered: Vec<(CommandRef, u16)> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            Event::Status { reference, code, .. } if [report, event].contains(reference) => Some((*reference, code.0)),
            _ => None,
        })
        .collect();
    assert_eq!(answered, [(report, 200), (event, 200)]);
}

/// A challenge that takes more than one message (a small MaxMsgSize, a package 1 of many
/// commands): the client asks for the rest of it (R03) before package 1 goes again, and the
/// server sends the rest and nothing new; the session then goes on as the rules ask.
#[test]
fn r03_a_challenge_in_several_messages_is_taken_whole_before_package_1_goes_again() {
    for without_cred in [false, true] {
        challenge_in_several_messages(without_cred);
    }
}

/// A device may ask for the rest of a challenge without credentials (ours sends the new ones):
/// the server answers it, without taking it as proof, and nothing runs till package 1 again.
fn challenge_in_several_messages(without_cred: bool) {
    let mut p = stale_client_nonce_pair();
    p.client = md5_client(b"stale", Some(1024));
    for i in 0..6 {
        let item = Item { data: Some(Data::Text(format!("report {i}"))), ..Item::default() };
        p.client.generic_alert(Some(format!("job-{i}")), vec![item]).unwrap();
    }
    if without_cred {
        p.hook = Some(Box::new(|dir, body| {
            let text = String::from_utf8(body.clone()).unwrap();
            if let (Dir::C2S, true, Some(start), Some(end)) =
                (dir, text.contains("<Data>1222</Data>"), text.find("<Cred>"), text.find("</Cred>"))
            {
                *body = format!("{}{}", &text[..start], &text[end + "</Cred>".len()..]).into_bytes();
            }
            Flight::Deliver
        }));
    }
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.drive();
    let all = p.all_messages();
    let (s2c, c2s) = (p.messages(Dir::S2C), p.messages(Dir::C2S));
    assert!(!s2c[0].is_final && synchdr_code(&s2c[0]) == 401, "the challenge spans messages");
    assert!(!c2s[1].is_final && c2s[1].commands.iter().all(|c| matches!(c, Command::Status(_) | Command::Alert(_))));
    assert_eq!(c2s[1].header.cred.is_none(), without_cred);
    // Asked for the rest with the new Cred, the server takes it (212); without, it only answers.
    assert_eq!(synchdr_code(&s2c[1]), if without_cred { 200 } else { 212 });
    assert_eq!(p.server_events.iter().filter(|e| **e == Event::Authenticated).count(), 1);
    let again = all.iter().position(|(d, m)| {
        *d == Dir::C2S
            && m.header.msg_id > 1
            && m.commands.iter().any(|c| matches!(c, Command::Alert(a) if a.data == AlertCode::CLIENT_INITIATED_MGMT))
    });
    let last_of_challenge = all.iter().position(|(d, m)| *d == Dir::S2C && m.is_final).unwrap();
    assert!(again.unwrap() > last_of_challenge, "package 1 again after the whole challenge");
    let heard = p.server_events.iter().filter(|e| matches!(e, Event::GenericAlert { .. })).count();
    assert_eq!(heard, 6, "each report heard once");
    assert!(p.client_events.iter().any(|e| matches!(e, Event::Executed { .. })));
    assert_eq!((p.client.state(), p.server.state()), (State::Ended, State::Ended));
    let v = dm_core::check::check(&p.checker_trace());
    assert!(v.is_empty(), "{v:#?}");
}

/// A client that sends package 1 again, with good credentials, at the first message of a
/// challenge that takes several (omadm's own client did before session 27) breaks R04 (a Next
/// Message response holds statuses and Alert 1222 alone), or R02 when the message is Final: it
/// is refused, and the server is as it was, its challenge still to finish.
#[test]
fn r02_r04_package_1_again_before_the_challenge_is_whole_is_refused() {
    for (is_final, rule) in [(false, "R04"), (true, "R02")] {
        let mut p = stale_client_nonce_pair();
        p.client = md5_client(b"stale", Some(1024));
        for i in 0..6 {
            let item = Item { data: Some(Data::Text(format!("report {i}"))), ..Item::default() };
            p.client.generic_alert(Some(format!("job-{i}")), vec![item]).unwrap();
        }
        p.step();
        p.step();
        let challenge = &p.messages(Dir::S2C)[0];
        assert!(!challenge.is_final && synchdr_code(challenge) == 401, "the challenge spans messages");
        // Where our client asks for the rest, this one sends package 1 again with its new Cred.
        let first = &p.messages(Dir::C2S)[0];
        let asks_rest = p.client.next_message().unwrap().unwrap().body;
        let header = codec::decode(&asks_rest).unwrap().header;
        let header = Header { msg_id: header.msg_id, cred: header.cred, ..first.header.clone() };
        let again = codec::encode(&Message { header, is_final, ..first.clone() }, Encoding::Xml);
        let before = p.server.snapshot();
        let e = p.server.receive(&again).unwrap_err();
        assert!(matches!(e, Error::Remote(ref r) if r.rule == rule), "{e}");
        assert_eq!(p.server.snapshot(), before, "nothing changed");
        // The request for the rest is still answered with it.
        p.server.receive(&asks_rest).unwrap();
        let rest = codec::decode(&p.server.next_message().unwrap().unwrap().body).unwrap();
        assert!(rest.commands.iter().all(|c| matches!(c, Command::Status(_))), "the rest and nothing new");
    }
}

/// A server that does not prove itself but has nothing to send: its last package of statuses
/// alone ends the session (R09), with nothing of its run; the client does not challenge it and
/// send a message the server no longer waits for.
#[test]
fn r09_a_server_not_proved_that_sends_nothing_ends_the_session() {
    let mut p = server_auth_pair(Some("wrong"), b"sn");
    p.drive();
    assert_eq!(p.trace.len(), 2, "package 1 and the server's statuses");
    assert_eq!((p.client.state(), p.server.state()), (State::Ended, State::Ended));
    assert!(!p.client_events.contains(&Event::ServerAuthenticated));
}

/// A command is judged never to fit against a message with no Cred in its header: the server
/// authenticates itself in its first message only (and again when challenged: here its basic
/// Cred is, the client asking for md5), so a Get that does not fit beside its Cred goes in the
/// next one (it was dropped as unsendable, R07).
#[test]
fn r07_a_command_that_fits_but_beside_the_servers_cred_goes_in_the_next_message() {
    let mut cc = client_config();
    cc.server_credentials = Some(Credentials::new("srv", "spw"));
    cc.server_nonce = b"sn".to_vec();
    cc.nonce_source = Some(counter_nonces());
    cc.wire.max_msg_size = Some(900);
    let mut sc = server_config();
    sc.credentials = Some((AuthType::Basic, Credentials::new("srv", "spw")));
    sc.resp_uri = Some("http://127.0.0.1:39179/dm?s=1".into());
    let mut p = Pair::with(cc, device_tree(), sc);
    let get = p.server.get("./DevInfo/Man").unwrap();
    p.drive();
    let s2c = p.messages(Dir::S2C);
    assert!(s2c[0].header.cred.is_some() && !s2c[0].commands.iter().any(|c| c.name() == "Get"), "no room beside Cred");
    assert!(p.server_events.iter().any(|e| matches!(e, Event::Results { reference, .. } if *reference == get)));
    assert_eq!((p.client.state(), p.server.state()), (State::Ended, State::Ended));
}

/// The emptiest message a command is judged against holds the SyncHdr status and a plain status
/// for the peer's Alert 1222: with md5 the SyncHdr status carries a Chal (212 and the next
/// session's nonce), and two of them left a small Get no room: it was dropped as unsendable.
#[test]
fn r07_a_small_get_to_a_device_of_small_messages_is_sent_with_md5() {
    let mut p = pair_with(AuthType::Md5, "pw", Encoding::Xml);
    p.client = md5_client(b"first", Some(1024));
    p.until_server_has_package();
    let get = p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.drive();
    assert!(p.server_events.iter().any(|e| matches!(e, Event::Results { reference, .. } if *reference == get)));
}

/// A challenge in a SyncHdr Status without MsgRef (it is optional) is a challenge still, either
/// way: the server's to a client with a stale nonce, the client's to a server with one.
#[test]
fn challenges_in_statuses_without_msg_ref_are_followed() {
    let mut p = stale_client_nonce_pair();
    p.hook = Some(without_msg_refs(Dir::S2C));
    p.until_server_has_package();
    assert!(p.server_events.contains(&Event::Authenticated));
    let c2s = p.messages(Dir::C2S);
    assert_eq!(c2s.len(), 2, "package 1 again, with the nonce of the challenge");
    assert!(p.messages(Dir::S2C)[0].commands.iter().all(|c| !matches!(c, Command::Status(s) if s.msg_ref.is_some())));

    let mut p = server_auth_pair(Some("spw"), b"old");
    p.hook = Some(without_msg_refs(Dir::C2S));
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.exchange();
    p.drive();
    assert_eq!(synchdr_code(&p.messages(Dir::C2S)[1]), 401);
    assert_eq!((executed(&p), p.client.state(), p.server.state()), (1, State::Ended, State::Ended));
    assert!(p.server_events.contains(&Event::ServerAuthenticated));
    let statuses = p.server_events.iter().filter(|e| matches!(e, Event::Status { .. })).count();
    assert_eq!(statuses, 1, "the Get's 401 goes unreported: the Get goes again");
}

#[test]
fn a_wrong_password_ends_the_session_after_the_attempts_allowed() {
    let mut p = pair_with(AuthType::Md5, "wrong", Encoding::Xml);
    p.drive();
    assert!(p.server_events.iter().any(|e| matches!(e, Event::AuthenticationFailed { .. })));
    assert_eq!(p.server.state(), State::Aborted);
    assert_eq!(p.client.state(), State::Aborted, "the last refusal carries Alert 1223");
    // The client is told why: its credentials were refused, then the server aborted.
    let told: Vec<&Event> = p.client_events.iter().rev().take(2).collect();
    assert!(
        matches!(told[..], [Event::Aborted { by_peer: true }, Event::AuthenticationFailed { code }] if code.0 == 401)
    );
    let c2s = p.messages(Dir::C2S).len();
    assert_eq!(c2s, 3, "three attempts");
    // No DevInfo was taken from an unauthenticated client.
    assert!(!p.server_events.iter().any(|e| matches!(e, Event::DevInfo(_))));
}

#[test]
fn a_server_finds_each_devices_password_by_its_user_name() {
    use std::sync::Mutex;
    for auth in [AuthType::Basic, AuthType::Md5, AuthType::Hmac] {
        for (user, password, accepted) in [("dev", "pw", true), ("dev", "wrong", false), ("eve", "pw", false)] {
            let asked = Arc::new(Mutex::new(Vec::new()));
            let seen = asked.clone();
            let mut sc = server_config();
            sc.auth = auth;
            sc.lookup = Some(dm_core::session::PasswordLookup(Arc::new(move |name: &str| {
                seen.lock().unwrap().push(name.to_string());
                (name == "dev").then(|| "pw".to_string())
            })));
            sc.client_nonce = b"first".to_vec();
            sc.nonce_source = Some(counter_nonces());
            let mut cc = client_config();
            cc.auth = auth;
            cc.credentials = Some(Credentials::new(user, password));
            cc.nonce = b"first".to_vec();
            let mut p = Pair::with(cc, device_tree(), sc);
            p.drive();
            let ok = p.server_events.contains(&Event::Authenticated);
            assert_eq!((ok, p.server.state() == State::Ended), (accepted, accepted), "{auth:?} {user} {password}");
            assert!(asked.lock().unwrap().iter().all(|n| n == user), "looked up by the client's user name");
            assert!(!asked.lock().unwrap().is_empty(), "{auth:?}");
        }
    }
}

#[test]
fn a_replayed_old_nonce_is_refused() {
    let mut p = pair_with(AuthType::Md5, "pw", Encoding::Xml);
    let first = p.client.next_message().unwrap().unwrap().body;
    p.server.receive(&first).unwrap();
    let _ = p.server.next_message().unwrap();
    // The same package 1 again (MsgID fixed up): its digest used the spent nonce... but the
    // server has accepted the client, so a new session is needed to see the replay:
    let mut server = ServerSession::new({
        let mut sc = server_config();
        sc.auth = AuthType::Md5;
        sc.client_credentials = Some(Credentials::new("dev", "pw"));
        sc.client_nonce = b"fresh".to_vec();
        sc.nonce_source = Some(counter_nonces());
        sc
    });
    server.receive(&first).unwrap();
    let answer = codec::decode(&server.next_message().unwrap().unwrap().body).unwrap();
    assert_eq!(synchdr_code(&answer), 401);
}

#[test]
fn hmac_over_xml_and_wbxml_and_tampering_is_caught() {
    for enc in [Encoding::Xml, Encoding::Wbxml] {
        let mut p = pair_with(AuthType::Hmac, "pw", enc);
        p.until_server_has_package();
        p.server.get("./DevInfo/Man").unwrap();
        p.exchange();
        p.drive();
        let s2c = p.messages(Dir::S2C);
        // The header status is 200, not 212, and every answer carries a new nonce.
        assert!(s2c.iter().all(|m| synchdr_code(m) == 200), "{enc:?}");
        let nonces: Vec<String> = s2c
            .iter()
            .filter_map(|m| {
                m.commands.iter().find_map(|c| {
                    if let Command::Status(s) = c { s.chal.as_ref()?.meta.next_nonce.clone() } else { None }
                })
            })
            .collect();
        assert!(nonces.len() >= 2 && nonces[0] != nonces[1], "{nonces:?}");
        assert!(p.messages(Dir::C2S).iter().all(|m| m.header.cred.is_none()));
        let told = |events: &[Event]| events.iter().filter(|e| matches!(e, Event::Authenticated)).count();
        assert_eq!((told(&p.client_events), told(&p.server_events)), (1, 1), "both sides told once");
    }
    // A body changed after signing fails the HMAC.
    let mut p = pair_with(AuthType::Hmac, "pw", Encoding::Xml);
    p.hook = Some(Box::new(|d, body| {
        if d == Dir::C2S {
            let s = String::from_utf8(body.clone()).unwrap().replace("Acme", "Evil");
            *body = s.into_bytes();
        }
        Flight::Deliver
    }));
    p.step();
    p.step();
    let answer = p.messages(Dir::S2C).pop().unwrap();
    assert_eq!(synchdr_code(&answer), 401);
    assert!(!p.server_events.iter().any(|e| matches!(e, Event::DevInfo(_))));
}

fn hmac_both_ways() -> Pair {
    let mut p = pair_with(AuthType::Hmac, "pw", Encoding::Xml);
    let mut sc = server_config();
    sc.auth = AuthType::Hmac;
    sc.client_credentials = Some(Credentials::new("dev", "pw"));
    sc.client_nonce = b"first".to_vec();
    sc.nonce_source = Some(counter_nonces());
    sc.credentials = Some((AuthType::Hmac, Credentials::new("srv", "spw")));
    sc.server_nonce = b"sn".to_vec();
    p.server = ServerSession::new(sc);
    let mut cc = client_config();
    cc.auth = AuthType::Hmac;
    cc.credentials = Some(Credentials::new("dev", "pw"));
    cc.nonce = b"first".to_vec();
    cc.server_credentials = Some(Credentials::new("srv", "spw"));
    cc.server_nonce = b"sn".to_vec();
    cc.nonce_source = Some(counter_nonces());
    p.client = ClientSession::new(cc, device_tree()).unwrap();
    p
}

#[test]
fn hmac_in_both_directions_with_a_new_nonce_every_message() {
    // The Pair passes each message's x-syncml-hmac to the other side, which verifies it.
    let mut p = hmac_both_ways();
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.server.get("./DevInfo/Mod").unwrap();
    p.exchange();
    p.drive();
    assert_eq!((p.client.state(), p.server.state()), (State::Ended, State::Ended));
    // Every client answer challenged the server with a fresh nonce.
    let nonces: Vec<String> = p
        .messages(Dir::C2S)
        .iter()
        .skip(1)
        .filter_map(|m| {
            m.commands
                .iter()
                .find_map(|c| if let Command::Status(s) = c { s.chal.as_ref()?.meta.next_nonce.clone() } else { None })
        })
        .collect();
    assert!(nonces.len() >= 2 && nonces.windows(2).all(|w| w[0] != w[1]), "{nonces:?}");
    // The last nonce each side was given is the one both keep for the next session.
    assert!(p.client.next_nonce().is_some() && p.client.next_nonce() == p.server.next_client_nonce());
    let last = nonces.last().and_then(|n| auth::decode_nonce(n));
    assert_eq!(p.client.next_server_nonce(), last.as_deref());
    assert_eq!(Some(p.server.next_server_nonce()), last.as_deref());
}

#[test]
fn a_tampered_server_message_fails_its_hmac_at_the_client() {
    let mut p = hmac_both_ways();
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    let out = p.server.next_message().unwrap().unwrap();
    let header = out.hmac.clone().expect("the server signs its messages");
    let tampered = String::from_utf8(out.body.clone()).unwrap().replace("DevInfo", "DevInfX").into_bytes();
    assert!(matches!(p.client.receive_with_hmac(&tampered, Some(&header)), Err(Error::Auth(_))));
    assert_eq!(p.client.state(), State::Waiting);
    p.client.receive_with_hmac(&out.body, Some(&header)).unwrap();
}

/// A server package with nothing to execute needs no credentials: the session ends as usual.
#[test]
fn a_server_package_of_statuses_only_is_not_challenged() {
    let mut p = server_auth_pair(None, b"");
    p.until_server_has_package();
    p.drive();
    assert_eq!(p.client.state(), State::Ended);
    assert_eq!(p.messages(Dir::C2S).len(), 1, "package 1 only: nothing was challenged");
}

/// Once the server signs with HMAC, a message of its without the header is challenged (407)
/// and its commands are not executed.
#[test]
fn an_unsigned_server_message_after_hmac_is_challenged() {
    let mut p = hmac_both_ways();
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.server.get("./DevInfo/Mod").unwrap();
    let out = p.server.next_message().unwrap().unwrap();
    let before = executed(&p);
    let events = p.client.receive_with_hmac(&out.body, None).unwrap();
    assert!(!events.iter().any(|e| matches!(e, Event::Executed { .. })) && executed(&p) == before);
    let answer = codec::decode(&p.client.next_message().unwrap().unwrap().body).unwrap();
    assert_eq!(synchdr_code(&answer), 407);
}

/// A client that wants the server's md5 credentials (password "spw", nonces from a counter) and a
/// server whose Cred digests `server_password` with `server_nonce`.
fn server_auth_pair(server_password: Option<&str>, server_nonce: &[u8]) -> Pair {
    let (cc, sc) = server_auth_configs(server_password, server_nonce);
    Pair::with(cc, device_tree(), sc)
}

/// The configurations of `server_auth_pair`, for a test to change before pairing them.
fn server_auth_configs(server_password: Option<&str>, server_nonce: &[u8]) -> (ClientConfig, ServerConfig) {
    let mut cc = client_config();
    cc.server_credentials = Some(Credentials::new("srv", "spw"));
    cc.server_nonce = b"sn".to_vec();
    cc.nonce_source = Some(counter_nonces());
    let mut sc = server_config();
    sc.credentials = server_password.map(|p| (AuthType::Md5, Credentials::new("srv", p)));
    sc.server_nonce = server_nonce.to_vec();
    (cc, sc)
}

fn executed(p: &Pair) -> usize {
    p.client_events.iter().filter(|e| matches!(e, Event::Executed { .. })).count()
}

#[test]
fn a_server_with_a_stale_nonce_is_challenged_and_sends_its_package_again() {
    let mut p = server_auth_pair(Some("spw"), b"old");
    p.until_server_has_package();
    p.server.replace("./DevInfo/Lang", Data::Text("fr".into()), None, None).unwrap();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.exchange();
    p.drive();
    assert_eq!((p.client.state(), p.server.state()), (State::Ended, State::Ended));
    let c2s = p.messages(Dir::C2S);
    let s2c = p.messages(Dir::S2C);
    // The client's answer to package 2: 401 + an md5 challenge on the header, 401 for each
    // command (not executed).
    assert_eq!(synchdr_code(&c2s[1]), 401);
    let chal = c2s[1].commands.iter().find_map(|c| if let Command::Status(s) = c { s.chal.clone() } else { None });
    let chal = chal.expect("a challenge");
    assert_eq!(chal.meta.type_.as_deref(), Some("syncml:auth-md5"));
    let nonce = auth::decode_nonce(chal.meta.next_nonce.as_deref().unwrap()).unwrap();
    assert!(
        c2s[1]
            .commands
            .iter()
            .filter(|c| matches!(c, Command::Status(s) if s.cmd != "SyncHdr"))
            .all(|c| matches!(c, Command::Status(s) if s.data.0 == 401))
    );
    // The server sends the same commands again, its Cred digested with the client's nonce.
    let again = s2c[1].header.cred.as_ref().expect("credentials again");
    assert!(auth::verify_cred(again, AuthType::Md5, &Credentials::new("srv", "spw"), &nonce));
    let names = |m: &Message| {
        m.commands.iter().filter(|c| !matches!(c, Command::Status(_))).map(|c| c.name()).collect::<Vec<_>>()
    };
    assert_eq!(names(&s2c[0]), names(&s2c[1]));
    assert_eq!(synchdr_code(&c2s[2]), 212);
    // Executed once each; the server hears one Status per command it queued, and both sides
    // know the server was authenticated.
    assert_eq!(executed(&p), 2);
    let statuses = p.server_events.iter().filter(|e| matches!(e, Event::Status { .. })).count();
    assert_eq!(statuses, 2);
    assert!(p.client_events.contains(&Event::ServerAuthenticated));
    assert!(p.server_events.contains(&Event::ServerAuthenticated));
    // With 212 came the nonce for the server's next session: both sides keep it, and the next
    // session authenticates the server at once.
    let next = p.client.next_server_nonce().expect("a nonce for the next session").to_vec();
    assert_eq!(p.server.next_server_nonce(), &next[..]);
    let mut again = server_auth_pair(Some("spw"), &next);
    let mut cc = client_config();
    cc.server_credentials = Some(Credentials::new("srv", "spw"));
    cc.server_nonce = next;
    again.client = ClientSession::new(cc, device_tree()).unwrap();
    again.until_server_has_package();
    again.server.get("./DevInfo/Man").unwrap();
    again.drive();
    assert_eq!(synchdr_code(&again.messages(Dir::C2S)[1]), 212);
    assert_eq!(again.client.state(), State::Ended);
}

#[test]
fn an_md5_server_once_accepted_is_not_challenged_again() {
    let mut p = server_auth_pair(Some("spw"), b"sn");
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.server.get("./DevInfo/Mod").unwrap();
    p.exchange();
    p.drive();
    let c2s = p.messages(Dir::C2S);
    assert_eq!(synchdr_code(&c2s[1]), 212);
    // After the 212 (whose Chal carries the next session's nonce), no challenge of any kind.
    let chals = |m: &Message| m.commands.iter().filter(|c| matches!(c, Command::Status(s) if s.chal.is_some())).count();
    assert_eq!(chals(&c2s[1]), 1);
    assert!(c2s[2..].iter().all(|m| chals(m) == 0), "{:?}", c2s.iter().map(chals).collect::<Vec<_>>());
    assert_eq!(p.client.state(), State::Ended);
}

#[test]
fn a_server_without_credentials_is_challenged_407_and_ends() {
    let mut p = server_auth_pair(None, b"");
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.drive();
    let c2s = p.messages(Dir::C2S);
    assert_eq!(synchdr_code(&c2s[1]), 407);
    assert_eq!(executed(&p), 0);
    // The challenged Get is answered with the challenge's code.
    let get = p.messages(Dir::S2C)[0].commands.iter().find(|c| c.name() == "Get").unwrap().cmd_id();
    let answered = |c: &Command| matches!(c, Command::Status(s) if s.cmd_ref == Some(get) && s.data.0 == 407);
    assert!(c2s[1].commands.iter().any(answered), "{:?}", c2s[1].commands);
    assert!(p.server_events.iter().any(|e| matches!(e, Event::ServerAuthenticationFailed { code } if code.0 == 407)));
    assert_eq!(p.server.state(), State::Aborted);
}

#[test]
fn a_server_with_a_wrong_password_fails_after_the_attempts_allowed() {
    let mut p = server_auth_pair(Some("wrong"), b"sn");
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.drive();
    let c2s = p.messages(Dir::C2S);
    // Three challenges the server answers (the default), then the fourth failure aborts (1223).
    let challenges = c2s
        .iter()
        .filter(|m| m.commands.iter().any(|c| matches!(c, Command::Status(s) if s.cmd == "SyncHdr" && s.data.0 == 401)))
        .count();
    assert_eq!(challenges, 4);
    let last = c2s.last().unwrap();
    assert!(last.commands.iter().any(|c| matches!(c, Command::Alert(a) if a.data == AlertCode::SESSION_ABORT)));
    assert!(p.client_events.iter().any(|e| matches!(e, Event::ServerAuthenticationFailed { code } if code.0 == 401)));
    assert_eq!(executed(&p), 0);
    assert_eq!((p.client.state(), p.server.state()), (State::Aborted, State::Aborted));
}

#[test]
fn a_server_that_gives_up_with_its_credentials_refused_is_reported_so() {
    let (mut cc, sc) = server_auth_configs(Some("wrong"), b"sn");
    cc.max_auth_attempts = 10;
    let mut p = Pair::with(cc, device_tree(), sc);
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.drive();
    // The server aborts first (its three attempts spent): the client says why it ended.
    let s2c = p.messages(Dir::S2C);
    assert!(
        s2c.last()
            .unwrap()
            .commands
            .iter()
            .any(|c| matches!(c, Command::Alert(a) if a.data == AlertCode::SESSION_ABORT))
    );
    let tail: Vec<_> = p.client_events.iter().rev().take(2).collect();
    assert!(matches!(tail[1], Event::ServerAuthenticationFailed { code } if code.0 == 401), "{tail:?}");
    assert!(matches!(tail[0], Event::Aborted { by_peer: true }), "{tail:?}");
    assert_eq!(executed(&p), 0);
}

#[test]
fn a_session_that_ends_with_the_servers_credentials_refused_is_reported_so() {
    let session = |password: &str| {
        let mut p = server_auth_pair(Some(password), b"sn");
        p.drive();
        p
    };
    // Package 2 holds statuses alone: the session ends (R09), nothing of the server run, and the
    // client says the server never proved itself.
    let p = session("wrong");
    assert!(p.messages(Dir::S2C).last().unwrap().commands.iter().all(|c| matches!(c, Command::Status(_))));
    let tail: Vec<_> = p.client_events.iter().rev().take(2).collect();
    assert!(matches!(tail[1], Event::ServerAuthenticationFailed { code } if code.0 == 401), "{tail:?}");
    assert!(matches!(tail[0], Event::Ended), "{tail:?}");
    assert!(!p.client_events.contains(&Event::ServerAuthenticated));
    // The right password: no such event.
    let p = session("spw");
    assert!(p.client_events.contains(&Event::ServerAuthenticated));
    assert!(!p.client_events.iter().any(|e| matches!(e, Event::ServerAuthenticationFailed { .. })));
}

#[test]
fn the_client_checks_the_servers_credentials() {
    let basic_pkg2 = |server_auth: AuthType| {
        let mut cc = client_config();
        cc.server_credentials = Some(Credentials::new("srv", "spw"));
        cc.server_auth = server_auth;
        let mut client = ClientSession::new(cc, device_tree()).unwrap();
        let pkg1 = client.next_message().unwrap().unwrap().body;
        let mut server = ServerSession::new(server_config());
        server.receive(&pkg1).unwrap();
        server.get("./DevInfo/Man").unwrap();
        let mut pkg2 = codec::decode(&server.next_message().unwrap().unwrap().body).unwrap();
        pkg2.header.cred = auth::cred(AuthType::Basic, &Credentials::new("srv", "spw"), b"");
        let events = client.receive(&codec::encode(&pkg2, Encoding::Xml)).unwrap();
        (events, codec::decode(&client.next_message().unwrap().unwrap().body).unwrap())
    };
    let (events, pkg3) = basic_pkg2(AuthType::Basic);
    assert!(events.contains(&Event::ServerAuthenticated));
    assert_eq!(synchdr_code(&pkg3), 212);
    // Where md5 is asked for, a right password in basic is no better than a wrong one.
    let (events, pkg3) = basic_pkg2(AuthType::Md5);
    assert!(!events.contains(&Event::ServerAuthenticated));
    assert_eq!(synchdr_code(&pkg3), 401);
}

#[test]
fn the_server_authenticates_itself_in_its_first_message() {
    let mut p = server_auth_pair(Some("spw"), b"sn");
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.exchange();
    p.drive();
    let s2c = p.messages(Dir::S2C);
    assert!(s2c[0].header.cred.is_some() && s2c[1].header.cred.is_none());
    assert_eq!(p.client.state(), State::Ended);
}

#[test]
fn package0_spec_example_parses() {
    let trigger = common::vector("pkg0/spec_example_trigger_without_digest.bin");
    let mut bytes = vec![0u8; 16];
    bytes.extend(&trigger);
    let n = Notification::parse(&bytes).unwrap();
    assert_eq!((n.version, n.ui_mode, n.server_initiated, n.session_id), (11, UiMode::Background, false, 0x1234));
    assert_eq!(n.server_id, "com.mgmtsrv.manage");
    assert_eq!(n.session_id_hex(), "1234");
    assert_eq!(n.trigger(), trigger);
    // As the example sends it: a WAP push to WDP port 2948 in one SMS, and back.
    let pdu = dm_core::wap_push::wrap(0x01, &bytes);
    let [sms] = &dm_core::wap_push::sms_user_data(&pdu, 0).unwrap()[..] else { panic!("one SMS") };
    assert_eq!(sms[..13], [0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x01, 0x06, 0x03, 0xC4, 0xAF, 0x87]);
    let received = dm_core::wap_push::unwrap(&sms[7..]).unwrap();
    assert_eq!(Notification::parse(received).unwrap(), n);
}

#[test]
fn r23_package0_digest_verified_session_id_used_ui_mode_kept() {
    let server = Credentials::new("com.mgmtsrv.manage", "srvpwd");
    let mut note = Notification::new("com.mgmtsrv.manage", 0x00AB, UiMode::UserInteraction);
    note.vendor = b"vendor!".to_vec();
    let bytes = note.clone().build(&server, b"nonce-1");
    let parsed = Notification::parse(&bytes).unwrap();
    assert_eq!(parsed.vendor, b"vendor!");
    assert_eq!(parsed.ui_mode, UiMode::UserInteraction, "the UI mode reaches the caller to honour");
    assert!(parsed.verify(&server, b"nonce-1"));
    assert!(!parsed.verify(&server, b"nonce-2"));
    assert!(!parsed.verify(&Credentials::new("com.mgmtsrv.manage", "x"), b"nonce-1"));
    // The resynchronisation nonce.
    let resync = note.clone().build(&server, RESYNC_NONCE);
    assert_eq!(Notification::parse(&resync).unwrap().verify_with_resync(&server, b"stored"), Some(RESYNC_NONCE));
    // A client session from it: Alert 1200 and the session id in upper-case hex (R23).
    let cc = parsed.client_config(ClientConfig::new("IMEI:1", "com.mgmtsrv.manage", "http://s"));
    let mut tree = device_tree();
    tree.set("./x", "1").unwrap();
    let mut client = ClientSession::new(cc, tree).unwrap();
    let m = codec::decode(&client.next_message().unwrap().unwrap().body).unwrap();
    assert_eq!(m.header.session_id, "AB");
    assert!(m.commands.iter().any(|c| matches!(c, Command::Alert(a) if a.data == AlertCode::SERVER_INITIATED_MGMT)));
}

#[test]
fn package0_bad_triggers_are_typed_errors() {
    let server = Credentials::new("srv", "pw");
    let good = Notification::new("srv", 1, UiMode::Background).build(&server, b"n");
    let kind = |b: &[u8]| Notification::parse(b).unwrap_err();
    // Short.
    assert!(matches!(kind(&good[..20]).kind, DecodeErrorKind::Notification(ref m) if m.contains("bytes")));
    // Wrong version (1.2).
    let mut v = good.clone();
    v[16] = 0x03;
    assert!(matches!(kind(&v).kind, DecodeErrorKind::Notification(ref m) if m.contains("version")));
    // Length past the end.
    let mut l = good.clone();
    l[23] = 200;
    let e = kind(&l);
    assert!(matches!(e.kind, DecodeErrorKind::Notification(ref m) if m.contains("past the end")));
    assert_eq!(e.site.offset, 23);
    // Future-use bits set.
    let mut f = good.clone();
    f[20] = 1;
    assert!(matches!(kind(&f).kind, DecodeErrorKind::Notification(ref m) if m.contains("future")));
    // A bad digest parses but does not verify.
    let mut d = good;
    d[0] ^= 1;
    assert!(!Notification::parse(&d).unwrap().verify(&server, b"n"));
}

#[test]
fn md5_server_needs_a_nonce_source() {
    let mut sc = ServerConfig::new("s");
    sc.auth = AuthType::Md5;
    sc.client_credentials = Some(Credentials::new("dev", "pw"));
    let mut server = ServerSession::new(sc);
    let mut client = ClientSession::new(client_config(), device_tree()).unwrap();
    let pkg1 = client.next_message().unwrap().unwrap().body;
    server.receive(&pkg1).unwrap();
    // Missing credentials: challenged, with whatever nonce there is.
    let answer = codec::decode(&server.next_message().unwrap().unwrap().body).unwrap();
    assert_eq!(synchdr_code(&answer), 407);
}

/// The checker verifies a trace's credentials with the passwords it is given: silent on the
/// sessions our engines have, whatever the nonce known before the trace.
#[test]
fn the_checker_verifies_credentials_with_the_passwords_it_is_given() {
    let secrets = |nonce: Option<&[u8]>| Secrets {
        client: Some(Credentials::new("dev", "pw")),
        client_nonce: nonce.map(<[u8]>::to_vec),
        ..Secrets::default()
    };
    let mut p = pair_with(AuthType::Md5, "pw", Encoding::Xml);
    p.drive();
    for nonce in [Some(&b"first"[..]), None] {
        assert_eq!(credentials(&p.checker_trace(), &[], &secrets(nonce)), [], "{nonce:?}");
    }
    // A stale nonce is challenged; only package 1's first Cred does not match.
    let mut p = stale_client_nonce_pair();
    p.drive();
    let found = credentials(&p.checker_trace(), &[], &secrets(Some(b"first")));
    assert_eq!(found.iter().map(|v| v.msg_index).collect::<Vec<_>>(), [0], "{found:#?}");
    assert!(found[0].detail.contains("given before the trace"), "{}", found[0].detail);
    // A wrong password, challenged every time: each Cred, and no acceptance.
    let mut p = pair_with(AuthType::Basic, "bad", Encoding::Xml);
    p.drive();
    let found = credentials(&p.checker_trace(), &[], &secrets(None));
    assert!(found.len() >= 2 && found.iter().all(|v| v.detail.contains("another password")), "{found:#?}");
}

/// Passwords by user name, as a server with many devices finds them.
fn lookup(pairs: &[(&str, &str)]) -> PasswordLookup {
    let table: std::collections::HashMap<String, String> =
        pairs.iter().map(|(u, p)| (u.to_string(), p.to_string())).collect();
    PasswordLookup(Arc::new(move |user| table.get(user).cloned()))
}

/// A server with many devices: the checker takes their passwords by user name and judges each
/// Cred and HMAC as the user it names; a user the passwords do not name is found too.
#[test]
fn the_checker_judges_a_client_as_the_user_its_cred_names_among_many() {
    let passwords = |pairs: &[(&str, &str)]| Secrets {
        client_lookup: Some(lookup(pairs)),
        client_nonce: Some(b"first".to_vec()),
        ..Secrets::default()
    };
    for auth in [AuthType::Basic, AuthType::Md5, AuthType::Hmac] {
        let mut p = pair_with(auth, "pw", Encoding::Xml);
        p.drive();
        let trace = p.checker_trace();
        let judged = |pairs: &[(&str, &str)]| credentials(&trace, &p.hmacs, &passwords(pairs));
        assert_eq!(judged(&[("eve", "x"), ("dev", "pw")]), [], "{auth:?}");
        let wrong = judged(&[("dev", "other")]);
        // The device's first Cred, and the server's acceptance of it.
        assert!(wrong[0].msg_index == 0 && wrong.iter().any(|v| v.detail.starts_with("answered")), "{wrong:#?}");
        let unknown = judged(&[("eve", "pw")]);
        assert!(unknown[0].detail.contains("user \"dev\", whom the passwords given do not name"), "{unknown:#?}");
        // check_with takes them as credentials does.
        assert_eq!(dm_core::check::check_with(&trace, &p.hmacs, &passwords(&[("dev", "other")])), wrong);
        if auth == AuthType::Md5 {
            // An md5 Cred names its user in the Source's LocName: without one, no user is named.
            let mut nameless = trace.clone();
            let mut m = codec::decode(&nameless[0].1).unwrap();
            m.header.source.name = None;
            nameless[0].1 = codec::encode(&m, Encoding::Xml);
            let found = credentials(&nameless, &[], &passwords(&[("dev", "pw")]));
            assert_eq!(found[0].detail, "credentials that name no user", "{found:#?}");
        }
    }
}

/// Why a Cred does not match, of the usual slips; and a server that accepts one.
#[test]
fn the_checker_says_why_a_cred_does_not_match_and_who_accepted_it() {
    let dev = Credentials::new("dev", "pw");
    let secrets = Secrets { client: Some(dev.clone()), client_nonce: Some(b"first".to_vec()), ..Secrets::default() };
    // Package 1 with a stale nonce, the challenge (a new nonce), package 1 again.
    let mut p = stale_client_nonce_pair();
    p.drive();
    let trace = p.checker_trace();
    let chal = p.messages(Dir::S2C)[0]
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Status(s) if s.cmd_ref == Some(0) => s.chal.as_ref()?.meta.next_nonce.clone(),
            _ => None,
        })
        .unwrap();
    let new_nonce = auth::decode_nonce(&chal).unwrap();
    let with_cred = |at: usize, nonce: &[u8]| {
        let mut trace = trace.clone();
        let mut m = codec::decode(&trace[at].1).unwrap();
        m.header.cred = auth::cred(AuthType::Md5, &dev, nonce);
        trace[at].1 = codec::encode(&m, Encoding::Xml);
        credentials(&trace, &[], &secrets)
    };
    let again = 2;
    assert_eq!(with_cred(again, &new_nonce).len(), 1, "package 1 again matches: only message 0 is found");
    let why = |found: Vec<Violation>| {
        found.into_iter().filter(|v| v.msg_index == again).map(|v| v.detail).collect::<Vec<_>>()
    };
    for (nonce, slip) in [
        (b"first".to_vec(), "stale nonce given before the trace"),
        (chal.clone().into_bytes(), "base64 text"),
        (vec![], "an empty nonce"),
    ] {
        let found = why(with_cred(again, &nonce));
        assert!(found.len() == 1 && found[0].contains(slip), "{slip}: {found:?}");
    }
    // The server's 212 to a Cred that does not match is found too.
    let found = with_cred(again, b"other");
    assert!(
        found.iter().any(|v| v.msg_index == again + 1 && v.detail.starts_with("answered 212 to message 2")),
        "{found:#?}"
    );
}

/// With the `x-syncml-hmac` headers a capture keeps, each HMAC is verified too: an HMAC session
/// checks clean; a header signed with a stale nonce or for another user, one that does not
/// parse, and a body changed after it was signed are found, with the server's 200 to it.
#[test]
fn the_checker_verifies_hmac_headers_with_the_nonce_given_last() {
    let mut p = pair_with(AuthType::Hmac, "pw", Encoding::Xml);
    p.until_server_has_package();
    p.server.get("./DevInfo/Man").unwrap();
    p.drive();
    let dev = Credentials::new("dev", "pw");
    let secrets = Secrets { client: Some(dev.clone()), client_nonce: Some(b"first".to_vec()), ..Secrets::default() };
    let trace = p.checker_trace();
    assert!(p.hmacs.iter().filter(|h| h.is_some()).count() >= 2);
    assert_eq!(credentials(&trace, &p.hmacs, &secrets), []);
    // The client's second message signed with the nonce it was given before the session.
    let at = 2;
    let mut hmacs = p.hmacs.clone();
    hmacs[at] = Some(auth::hmac_header(&dev, b"first", &trace[at].1));
    let found = credentials(&trace, &hmacs, &secrets);
    assert!(found.len() == 2 && found[0].msg_index == at, "{found:#?}");
    assert!(found[0].detail.contains("stale nonce given before the trace"), "{}", found[0].detail);
    assert!(found[1].msg_index == at + 1 && found[1].detail.starts_with("answered 200"), "{found:#?}");
    // Another user, and a header that does not parse.
    hmacs[at] = Some(auth::hmac_header(&Credentials::new("eve", "pw"), b"first", &trace[at].1));
    assert!(credentials(&trace, &hmacs, &secrets)[0].detail.contains("user \"eve\""));
    hmacs[at] = Some("mac=".into());
    assert!(credentials(&trace, &hmacs, &secrets)[0].detail.contains("does not parse"));
    // check_with: the rules and the credentials of one decoding, in the messages' order.
    let mut both = [dm_core::check::check(&trace), credentials(&trace, &hmacs, &secrets)].concat();
    both.sort_by_key(|v| v.msg_index);
    assert_eq!(dm_core::check::check_with(&trace, &hmacs, &secrets), both);
    assert_eq!(dm_core::check::check_with(&trace, &hmacs, &Secrets::default()), dm_core::check::check(&trace));
    let mut changed = trace.clone();
    changed[at].1.extend_from_slice(b"\n");
    let found = credentials(&changed, &p.hmacs, &secrets);
    assert!(
        found.len() == 2 && found[0].detail.contains("another password, or a nonce not in the trace"),
        "{found:#?}"
    );
}
