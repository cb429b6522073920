//! Property: whatever the server queues, over whatever MaxMsgSize and MaxObjSize and either
//! encoding, the session ends with every command answered exactly once.
mod common;

use std::collections::HashMap;

use common::pair::{Dir, Pair, client_config, device_tree, server_config};
use dm_core::codec::Encoding;
use dm_core::model::*;
use dm_core::session::{CommandRef, Event, State};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Get(bool),
    Replace(usize),
    Add(usize),
    Delete,
    Exec,
    Display,
    Sequence(Vec<Op>),
}

/// Top-level commands may be large objects; a Sequence must fit one message whole (R07), so its
/// members stay small.
fn op() -> impl Strategy<Value = Op> {
    let small = prop_oneof![
        any::<bool>().prop_map(Op::Get),
        (0usize..40).prop_map(Op::Replace),
        Just(Op::Delete),
        Just(Op::Exec),
        Just(Op::Display),
    ];
    let sequence = small.prop_recursive(2, 6, 3, |inner| proptest::collection::vec(inner, 1..3).prop_map(Op::Sequence));
    prop_oneof![
        any::<bool>().prop_map(Op::Get),
        (0usize..6000).prop_map(Op::Replace),
        (0usize..3000).prop_map(Op::Add),
        Just(Op::Delete),
        Just(Op::Exec),
        Just(Op::Display),
        sequence,
    ]
}

fn queue(p: &mut Pair, op: &Op, n: &mut usize, refs: &mut Vec<(CommandRef, bool)>) {
    *n += 1;
    let uri = format!("./Vendor/N{n}");
    let s = &mut p.server;
    let r = match op {
        Op::Get(exists) => s.get(if *exists { "./Vendor/Level" } else { "./Vendor/Missing" }),
        Op::Replace(len) => s.replace("./Vendor/Level", Data::Text("r".repeat(*len)), None, None),
        Op::Add(len) => s.add(&uri, Some(Data::Text("a".repeat(*len))), None, None),
        Op::Delete => s.delete(&uri),
        Op::Exec => s.exec("./Vendor/Level", None, None),
        Op::Display => s.alert(
            AlertCode::DISPLAY,
            vec![Item::default(), Item { data: Some(Data::Text("hi".into())), ..Item::default() }],
        ),
        Op::Sequence(ops) => {
            let g = s.begin_sequence().unwrap();
            refs.push((g, false));
            for o in ops {
                queue(p, o, n, refs);
            }
            p.server.end_group().unwrap();
            return;
        }
    };
    // An object above the client's MaxObjSize is refused when queued: nothing to answer.
    if let Ok(r) = r {
        refs.push((r, matches!(op, Op::Get(true))));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_command_is_answered_exactly_once(
        script in proptest::collection::vec(proptest::collection::vec(op(), 1..6), 1..4),
        client_max in 1500u64..5000,
        server_max in 1100u64..5000,
        max_obj in 1000u64..8000,
        wbxml in any::<bool>(),
    ) {
        let encoding = if wbxml { Encoding::Wbxml } else { Encoding::Xml };
        let mut cc = client_config();
        cc.wire.max_msg_size = Some(client_max);
        cc.wire.max_obj_size = Some(max_obj);
        cc.wire.encoding = encoding;
        let mut sc = server_config();
        sc.wire.max_msg_size = Some(server_max);
        sc.wire.encoding = encoding;
        let mut p = Pair::with(cc, device_tree(), sc);
        p.until_server_has_package();
        let mut refs = Vec::new();
        let mut n = 0;
        for package in &script {
            let before = refs.len();
            for o in package {
                queue(&mut p, o, &mut n, &mut refs);
            }
            // A package whose every command was refused when queued would end the session.
            if refs.len() > before {
                p.exchange();
            }
        }
        p.drive();
        prop_assert_eq!(p.server.state(), State::Ended);
        prop_assert_eq!(p.client.state(), State::Ended);
        // Every message fits what its receiver announced (the client's to the server, and back).
        for (dir, body) in &p.trace {
            let max = if *dir == Dir::C2S { server_max } else { client_max };
            prop_assert!(body.len() as u64 <= max, "{:?} message of {} bytes over {}", dir, body.len(), max);
        }
        let mut statuses: HashMap<CommandRef, usize> = HashMap::new();
        let mut results: HashMap<CommandRef, usize> = HashMap::new();
        for e in &p.server_events {
            match e {
                Event::Status { reference, .. } => *statuses.entry(*reference).or_default() += 1,
                Event::Results { reference, .. } => *results.entry(*reference).or_default() += 1,
                _ => {}
            }
        }
        for (r, has_results) in &refs {
            prop_assert_eq!(statuses.get(r).copied(), Some(1), "status count for {:?}", r);
            prop_assert_eq!(results.get(r).copied().unwrap_or(0), usize::from(*has_results), "results for {:?}", r);
        }
    }
}
