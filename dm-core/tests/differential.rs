//! The engines and the checker judge the same messages alike: a session's messages are changed
//! in flight one at a time (Final flipped, a command taken out, added or renumbered, a reference
//! moved), and what the receiving engine refuses the checker reports at that message, while what
//! the engine takes the checker does not report, but for the slips the engines get past on
//! purpose (`common::judgement::tolerated`).
mod common;

use common::judgement::disagreement;
use common::pair::{Pair, client_config, device_tree, server_config, stale_md5_pair};
use dm_core::auth::{AuthType, Credentials};
use dm_core::check::Direction;
use dm_core::codec::{self, Encoding};
use dm_core::error::Error;
use dm_core::model::*;
use dm_core::session::{Event, NonceSource, State};

#[derive(Clone, Copy, Debug)]
enum Shape {
    Plain,
    SmallMessages,
    Md5Challenge,
    /// Large objects both ways in 1 KiB messages, WBXML, basic auth, server-initiated.
    LargeObjects,
}

#[derive(Clone, Debug)]
enum Mutation {
    FlipFinal,
    AddAlert(u16),
    Remove(usize),
    Duplicate(usize),
    MsgRef(usize, Option<i64>),
    CmdRef(usize, i64),
    AddGet,
    AddResults,
    SwapWithNext(usize),
    CmdId(usize, u32),
    MsgId(i64),
    SessionId,
    StatusCode(usize, u16),
    MoreData(usize),
    NoItems(usize),
}

fn pair(shape: Shape) -> Pair {
    match shape {
        Shape::Plain => Pair::new(),
        Shape::SmallMessages => Pair::with_max_msg_sizes(Some(1024), Some(1024)),
        Shape::Md5Challenge => {
            let nonces = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
            stale_md5_pair(NonceSource(std::sync::Arc::new(move || {
                vec![nonces.fetch_add(1, std::sync::atomic::Ordering::Relaxed); 16]
            })))
        }
        Shape::LargeObjects => {
            let mut cc = client_config();
            (cc.auth, cc.credentials) = (AuthType::Basic, Some(Credentials::new("dev", "pw")));
            (cc.server_initiated, cc.session_id) = (true, "7".into());
            (cc.wire.max_msg_size, cc.wire.encoding) = (Some(1024), Encoding::Wbxml);
            let mut sc = server_config();
            (sc.auth, sc.client_credentials) = (AuthType::Basic, Some(Credentials::new("dev", "pw")));
            (sc.wire.max_msg_size, sc.wire.encoding) = (Some(1024), Encoding::Wbxml);
            let mut tree = device_tree();
            tree.set("./Vendor/Big", &"b".repeat(3000)).unwrap();
            Pair::with(cc, tree, sc)
        }
    }
}

fn queue(shape: Shape, p: &mut Pair) {
    if let Shape::LargeObjects = shape {
        p.server.get("./Vendor/Big").unwrap();
        p.server.replace("./Vendor/Level", Data::Text("x".repeat(2500)), None, None).unwrap();
        return;
    }
    let gets = if matches!(shape, Shape::SmallMessages) { 12 } else { 2 };
    for _ in 0..gets {
        p.server.get("./DevInfo/Man").unwrap();
    }
    p.server.replace("./Vendor/Level", Data::Text("2".into()), None, None).unwrap();
    p.server.begin_sequence().unwrap();
    p.server.add("./Vendor/New", Some(Data::Text("n".into())), None, None).unwrap();
    p.server.delete("./Vendor/New").unwrap();
    p.server.end_group().unwrap();
    p.server.alert(AlertCode(1100), vec![Item { data: Some(Data::Text("hello".into())), ..Item::default() }]).unwrap();
}

fn mutate(m: &mut Message, mutation: &Mutation) -> bool {
    let next_id = m.commands.iter().map(Command::cmd_id).max().unwrap_or(0) + 1;
    match *mutation {
        Mutation::FlipFinal => m.is_final = !m.is_final,
        Mutation::AddAlert(code) => m.commands.push(Command::Alert(Alert {
            cmd_id: next_id,
            no_resp: false,
            cred: None,
            data: AlertCode(code),
            correlator: None,
            items: vec![],
        })),
        Mutation::Remove(i) if i < m.commands.len() => {
            m.commands.remove(i);
        }
        Mutation::Duplicate(i) if i < m.commands.len() => {
            let mut c = m.commands[i].clone();
            c.set_cmd_id(next_id);
            m.commands.push(c);
        }
        Mutation::MsgRef(i, delta) => {
            let Some(s) = status(m, i) else { return false };
            s.msg_ref = match delta {
                None => None,
                Some(d) => Some((i64::from(s.msg_ref.unwrap_or(1)) + d).max(0) as u32),
            };
        }
        Mutation::CmdRef(i, d) => {
            let Some(s) = status(m, i) else { return false };
            let Some(r) = s.cmd_ref else { return false };
            s.cmd_ref = Some((i64::from(r) + d).max(0) as u32);
        }
        Mutation::AddGet => m.commands.push(Command::Get(ItemCommand {
            cmd_id: next_id,
            items: vec![Item { target: Some(Location::new("./DevInfo/Man")), ..Item::default() }],
            ..ItemCommand::default()
        })),
        Mutation::AddResults => m.commands.push(Command::Results(Results {
            cmd_id: next_id,
            msg_ref: Some(1),
            cmd_ref: 99,
            items: vec![Item::default()],
            ..Results::default()
        })),
        Mutation::SwapWithNext(i) if i + 1 < m.commands.len() => m.commands.swap(i, i + 1),
        Mutation::CmdId(i, id) if i < m.commands.len() => m.commands[i].set_cmd_id(id),
        Mutation::MsgId(d) => m.header.msg_id = (i64::from(m.header.msg_id) + d).max(0) as u32,
        Mutation::SessionId => m.header.session_id.push('9'),
        Mutation::StatusCode(i, code) => {
            let Some(s) = status(m, i) else { return false };
            s.data = StatusCode(code);
        }
        Mutation::MoreData(i) => {
            let Some(item) = items(m, i).and_then(|items| items.first_mut()) else { return false };
            item.more_data = !item.more_data;
        }
        Mutation::NoItems(i) => {
            let Some(items) = items(m, i).filter(|items| !items.is_empty()) else { return false };
            items.clear();
        }
        _ => return false,
    }
    true
}

fn items(m: &mut Message, i: usize) -> Option<&mut Vec<Item>> {
    match m.commands.get_mut(i)? {
        Command::Add(x) | Command::Replace(x) | Command::Get(x) | Command::Delete(x) | Command::Exec(x) => {
            Some(&mut x.items)
        }
        Command::Results(r) => Some(&mut r.items),
        Command::Alert(a) => Some(&mut a.items),
        _ => None,
    }
}

fn status(m: &mut Message, i: usize) -> Option<&mut Status> {
    m.commands.iter_mut().filter_map(|c| if let Command::Status(s) = c { Some(s) } else { None }).nth(i)
}

/// A trace, and what the receiver of its last message made of it.
type Outcome = (Vec<(Direction, Vec<u8>)>, Result<Vec<Event>, Error>);

/// The trace up to message `at` changed by `mutation`, and what its receiver made of it; else
/// (the session has no message `at`, or the mutation does not apply to it) how many messages
/// the session had till then.
fn run(shape: Shape, at: usize, mutation: &Mutation) -> Result<Outcome, usize> {
    let mut p = pair(shape);
    let mut queued = false;
    let mut trace = Vec::new();
    for index in 0.. {
        if !queued && p.server_events.contains(&Event::PackageEnd) {
            queue(shape, &mut p);
            queued = true;
        }
        let dir = if p.client.state() == State::Ready {
            Direction::ClientToServer
        } else if p.server.state() == State::Ready {
            Direction::ServerToClient
        } else {
            return Err(index);
        };
        let out = match dir {
            Direction::ClientToServer => p.client.next_message(),
            Direction::ServerToClient => p.server.next_message(),
        };
        let Some(out) = out.unwrap() else { return Err(index) };
        let mut body = out.body;
        if index == at {
            let mut m = codec::decode(&body).unwrap();
            if !mutate(&mut m, mutation) {
                return Err(index);
            }
            body = codec::encode(&m, codec::detect(&body).unwrap());
        }
        let receiver_waits = match dir {
            Direction::ClientToServer => p.server.state() == State::Waiting,
            Direction::ServerToClient => p.client.state() == State::Waiting,
        };
        trace.push((dir, body.clone()));
        let result = match dir {
            _ if !receiver_waits => Ok(vec![]),
            Direction::ClientToServer => p.server.receive(&body),
            Direction::ServerToClient => p.client.receive(&body),
        };
        if index == at {
            return Ok((trace, result));
        }
        let events = result.unwrap();
        match dir {
            Direction::ClientToServer => p.server_events.extend(events),
            Direction::ServerToClient => p.client_events.extend(events),
        }
    }
    unreachable!()
}

#[test]
fn the_engines_and_the_checker_agree_on_every_changed_message() {
    let mut mutations = vec![Mutation::FlipFinal, Mutation::AddGet, Mutation::AddResults, Mutation::SessionId];
    mutations.extend([-1, 1].map(Mutation::MsgId));
    mutations.extend([1222, 1223, 1226, 1201, 1100, 1224].map(Mutation::AddAlert));
    for i in 0..6 {
        mutations.extend([
            Mutation::Remove(i),
            Mutation::Duplicate(i),
            Mutation::MsgRef(i, None),
            Mutation::MsgRef(i, Some(1)),
            Mutation::MsgRef(i, Some(-1)),
            Mutation::CmdRef(i, 1),
            Mutation::CmdRef(i, -1),
            Mutation::SwapWithNext(i),
            Mutation::CmdId(i, 0),
            Mutation::CmdId(i, 1),
            Mutation::CmdId(i, 2),
            Mutation::MoreData(i),
            Mutation::NoItems(i),
        ]);
        mutations.extend([200, 213, 401, 1225].map(|code| Mutation::StatusCode(i, code)));
    }
    let mut disagreements = Vec::new();
    let mut cases = 0;
    for shape in [Shape::Plain, Shape::SmallMessages, Shape::Md5Challenge, Shape::LargeObjects] {
        let Err(messages) = run(shape, usize::MAX, &Mutation::FlipFinal) else { unreachable!() };
        for at in 0..messages {
            for mutation in &mutations {
                let Ok((trace, result)) = run(shape, at, mutation) else { continue };
                cases += 1;
                if let Some(why) = disagreement(&trace, &result) {
                    disagreements.push(format!("{shape:?} message {at} {mutation:?}: {why}"));
                }
            }
        }
    }
    assert!(cases > 2_000, "{cases} cases");
    assert!(disagreements.is_empty(), "{} of {cases}:\n{}", disagreements.len(), disagreements.join("\n"));
}
