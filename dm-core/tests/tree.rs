//! The DM tree: every status code path of MemoryTree, ACL inheritance and enforcement, properties,
//! Atomic rollback, tree exchange (Struct, StructData, TNDS) and JSON.

mod common;

use std::borrow::Cow;

use dm_core::model::StatusCode as S;
use dm_core::tree::objects::{AppAuth, DevDetail, DevInfo, DmAcc};
use dm_core::tree::uri::{self, ListKind, PropSelection, Target, UriLimits};
use dm_core::tree::{Access, Leaf, MemoryTree, Node, Tree, tnds};

const SRV: &str = "srv1";

fn tree() -> MemoryTree {
    let mut t = MemoryTree::new();
    DevInfo { dev_id: "IMEI:1".into(), man: "Acme".into(), model: "X1".into(), dm_v: "1.2".into(), lang: "en".into() }
        .install(&mut t)
        .unwrap();
    t.set_interior("./Vendor", None).unwrap();
    t.set_acl("./Vendor", "Add=*&Get=*&Replace=*&Delete=*&Exec=*").unwrap();
    t.set("./Vendor/A", "a").unwrap();
    t
}

fn leaf(v: &str) -> Node {
    Node::Leaf(Leaf::text(v))
}

fn interior() -> Node {
    Node::Interior { children: vec![], type_: None }
}

#[test]
fn get_leaf_and_interior_child_list() {
    let mut t = tree();
    assert_eq!(t.get(SRV, "./DevInfo/Man"), Ok(leaf("Acme")));
    let Ok(Node::Interior { children, type_ }) = t.get(SRV, "./DevInfo") else { panic!() };
    assert_eq!(children, ["DevId", "DmV", "Ext", "Lang", "Man", "Mod"]);
    assert_eq!(type_.as_deref(), Some(DevInfo::URN));
    assert_eq!(t.get(SRV, "./Nope"), Err(S::NOT_FOUND));
}

#[test]
fn get_inbox_is_not_allowed() {
    let mut t = tree();
    t.set_interior("./Inbox", None).unwrap();
    t.set("./Inbox/x", "1").unwrap();
    assert_eq!(t.get(SRV, "./Inbox"), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!(t.get(SRV, "./Inbox/x"), Err(S::COMMAND_NOT_ALLOWED));
}

#[test]
fn add_existing_gives_418_and_missing_parents_are_created() {
    let mut t = tree();
    assert_eq!(t.add(SRV, "./Vendor/A", leaf("x")), Err(S::ALREADY_EXISTS));
    t.add(SRV, "./Vendor/B/C/D", leaf("d")).unwrap();
    assert!(matches!(t.get(SRV, "./Vendor/B/C"), Ok(Node::Interior { .. })));
    assert_eq!(t.get_property(SRV, "./Vendor/B", "ACL"), Ok(String::new()), "implicit parents have an empty ACL");
    assert_eq!(t.add(SRV, "./Vendor/A/Under", leaf("x")), Err(S::COMMAND_NOT_ALLOWED), "a leaf has no children");
}

#[test]
fn replace_missing_gives_404_and_interior_405() {
    let mut t = tree();
    assert_eq!(t.replace(SRV, "./Vendor/Nope", Leaf::text("x")), Err(S::NOT_FOUND));
    assert!(t.get(SRV, "./Vendor/Nope").is_err(), "Replace must not create the node");
    assert_eq!(t.replace(SRV, "./Vendor", Leaf::text("x")), Err(S::COMMAND_NOT_ALLOWED));
    t.replace(SRV, "./Vendor/A", Leaf::text("b")).unwrap();
    assert_eq!(t.value("./Vendor/A"), Some("b"));
}

#[test]
fn delete_removes_the_subtree_but_not_root_or_permanent_nodes() {
    let mut t = tree();
    t.add(SRV, "./Vendor/B/C", leaf("c")).unwrap();
    t.delete(SRV, "./Vendor/B").unwrap();
    assert_eq!(t.get(SRV, "./Vendor/B/C"), Err(S::NOT_FOUND));
    assert_eq!(t.delete(SRV, "."), Err(S::COMMAND_NOT_ALLOWED));
    t.set_permanent("./Vendor/A", true).unwrap();
    assert_eq!(t.delete(SRV, "./Vendor/A"), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!(t.delete(SRV, "./Vendor"), Err(S::COMMAND_NOT_ALLOWED), "a permanent descendant protects the subtree");
    assert_eq!(t.delete(SRV, "./Vendor/Nope"), Err(S::NOT_FOUND));
    // Permanence withdrawn deep down frees the subtree again.
    t.set_permanent("./Vendor/A", false).unwrap();
    t.delete(SRV, "./Vendor").unwrap();
    assert!(t.totals_agree());
}

/// Nothing grows below a leaf: the device's own `set` and `set_interior` are refused there
/// (405), and make no parents on the way.
#[test]
fn nothing_is_made_below_a_leaf() {
    let mut t = tree();
    let nodes = t.node_count();
    assert_eq!(t.set("./Vendor/A/x/y", "v"), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!(t.set_interior("./Vendor/A/x/y", None), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!(t.add(SRV, "./Vendor/A/x/y", leaf("v")), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!((t.node("./Vendor/A/x"), t.node_count()), (None, nodes));
    assert!(t.totals_agree());
}

#[test]
fn copy_is_leaf_to_leaf() {
    let mut t = tree();
    t.copy(SRV, "./Vendor/A", "./Vendor/Z").unwrap();
    assert_eq!(t.value("./Vendor/Z"), Some("a"));
    t.set("./Vendor/A", "new").unwrap();
    t.copy(SRV, "./Vendor/A", "./Vendor/Z").unwrap();
    assert_eq!(t.value("./Vendor/Z"), Some("new"));
    assert_eq!(t.copy(SRV, "./Vendor", "./Vendor2"), Err(S::FORBIDDEN));
    t.set_interior("./Vendor/I", None).unwrap();
    assert_eq!(t.copy(SRV, "./Vendor/A", "./Vendor/I"), Err(S::FORBIDDEN));
    assert_eq!(t.copy(SRV, "./Vendor/Nope", "./Vendor/Y"), Err(S::NOT_FOUND));
}

#[test]
fn exec_runs_the_registered_handler() {
    let mut t = tree();
    t.set("./Vendor/Reboot", "").unwrap();
    t.on_exec(
        "./Vendor/Reboot",
        Box::new(|data, corr| {
            assert_eq!((data, corr), (Some(&b"now"[..]), Some("c1")));
            S::ACCEPTED
        }),
    )
    .unwrap();
    assert_eq!(t.exec(SRV, "./Vendor/Reboot", Some(b"now"), Some("c1")), Ok(S::ACCEPTED));
    assert_eq!(t.exec(SRV, "./Vendor/A", None, None), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!(t.exec(SRV, "./Vendor/Nope", None, None), Err(S::NOT_FOUND));
    t.on_exec("./Vendor/A", Box::new(|_, _| S::COMMAND_FAILED)).unwrap();
    assert_eq!(t.exec(SRV, "./Vendor/A", None, None), Err(S::COMMAND_FAILED));
}

#[test]
fn a_shared_tree_runs_its_exec_handlers_unlocked_so_that_they_can_use_the_tree() {
    let shared = std::sync::Arc::new(std::sync::Mutex::new(tree()));
    shared.lock().unwrap().set("./Vendor/Run", "").unwrap();
    let inside = shared.clone();
    let handler: dm_core::tree::ExecHandler = Box::new(move |_, _| match inside.try_lock() {
        Ok(mut t) => {
            t.set("./Vendor/Ran", "yes").unwrap();
            S::ACCEPTED
        }
        Err(_) => S::COMMAND_FAILED, // locked: it would have deadlocked
    });
    shared.lock().unwrap().on_exec("./Vendor/Run", handler).unwrap();
    let mut session_side = shared.clone();
    for _ in 0..2 {
        assert_eq!(session_side.exec(SRV, "./Vendor/Run", None, None), Ok(S::ACCEPTED), "and back in its node");
    }
    let mut t = shared.lock().unwrap();
    assert_eq!(t.value("./Vendor/Ran"), Some("yes"));
    let run = t.take_exec(SRV, "./Vendor/Run").unwrap();
    assert_eq!(t.exec(SRV, "./Vendor/Run", None, None), Err(S::COMMAND_NOT_ALLOWED), "taken");
    t.return_exec("./Vendor/Run", run);
    assert!(t.take_exec(SRV, "./Vendor/A").is_err_and(|c| c == S::COMMAND_NOT_ALLOWED));
    t.set_acl("./Vendor/Run", "Exec=other").unwrap();
    assert!(t.take_exec(SRV, "./Vendor/Run").is_err_and(|c| c == S::PERMISSION_DENIED));
    t.set_acl("./Vendor/Run", "").unwrap();
    let run = t.take_exec(SRV, "./Vendor/Run").unwrap();
    Tree::delete(&mut *t, SRV, "./Vendor/Run").unwrap();
    t.return_exec("./Vendor/Run", run); // its node has gone: so has it
    t.set("./Vendor/Run", "").unwrap();
    assert_eq!(t.exec(SRV, "./Vendor/Run", None, None), Err(S::COMMAND_NOT_ALLOWED));
}

#[test]
fn access_type_limits_commands_with_405() {
    let mut t = tree();
    t.set_access("./Vendor/A", Access::GET).unwrap();
    assert_eq!(t.replace(SRV, "./Vendor/A", Leaf::text("x")), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!(t.delete(SRV, "./Vendor/A"), Err(S::COMMAND_NOT_ALLOWED));
    assert!(t.get(SRV, "./Vendor/A").is_ok());
}

#[test]
fn acl_inheritance_and_enforcement_table() {
    let mut t = MemoryTree::new();
    t.set_interior("./A", None).unwrap();
    t.set_acl("./A", "Get=srv1+srv2&Replace=srv1&Add=srv1&Delete=srv1&Exec=*").unwrap();
    t.set("./A/B/C", "c").unwrap(); // ./A/B has an empty ACL: it inherits ./A's
    t.set("./A/D", "d").unwrap();
    t.set_acl("./A/D", "Get=srv3").unwrap(); // its own ACL replaces the inherited one entirely
    let table: &[(&str, &str, &str, bool)] = &[
        ("Get", "./A/B/C", "srv1", true),
        ("Get", "./A/B/C", "srv2", true),
        ("Get", "./A/B/C", "srv3", false),
        ("Replace", "./A/B/C", "srv1", true),
        ("Replace", "./A/B/C", "srv2", false),
        ("Get", "./A/D", "srv1", false),
        ("Get", "./A/D", "srv3", true),
        ("Replace", "./A/D", "srv1", false),
        ("Delete", "./A/B/C", "srv2", false),
        ("Add", "./A/B/N", "srv2", false),
        ("Add", "./A/B/N", "srv1", true),
        ("Get", ".", "anyone", true), // root default Add=*&Get=*
    ];
    for &(cmd, node, server, allowed) in table {
        let r = match cmd {
            "Get" => t.get(server, node).map(|_| ()),
            "Replace" => t.replace(server, node, Leaf::text("v")),
            "Delete" => t.delete(server, node),
            "Add" => t.add(server, node, leaf("n")),
            _ => unreachable!(),
        };
        assert_eq!(r.is_ok(), allowed, "{cmd} {node} by {server}: {r:?}");
        if !allowed {
            assert_eq!(r, Err(S::PERMISSION_DENIED));
        }
    }
}

#[test]
fn changing_an_acl_takes_replace_on_the_parent() {
    let mut t = MemoryTree::new();
    t.set_interior("./A", None).unwrap();
    t.set_acl("./A", "Get=*&Replace=srv1").unwrap();
    t.set("./A/B", "b").unwrap();
    assert_eq!(t.replace_property("srv2", "./A/B", "ACL", "Get=srv2"), Err(S::PERMISSION_DENIED));
    t.replace_property("srv1", "./A/B", "ACL", "Get=srv2").unwrap();
    assert_eq!(t.get_property("srv2", "./A/B", "ACL"), Ok("Get=srv2".into()));
    assert_eq!(t.replace_property("srv1", "./A/B", "ACL", "Bogus=x"), Err(S::BAD_REQUEST));
    // Each command checks the ACL in force: a server cannot make that cost grow without end.
    let longest = format!("Get={}", "s".repeat(MemoryTree::MAX_ACL - 4));
    t.replace_property("srv1", "./A/B", "ACL", &longest).unwrap();
    let long = format!("{longest}+t");
    assert_eq!(t.replace_property("srv1", "./A/B", "ACL", &long), Err(S::REQUEST_ENTITY_TOO_LARGE));
    t.set_acl("./A/B", &long).unwrap();
}

#[test]
fn interior_node_created_without_parent_replace_gets_creator_rights() {
    let mut t = MemoryTree::new(); // root: Add=*&Get=*
    t.add("srv9", "./New", interior()).unwrap();
    assert_eq!(t.acl("./New"), Some("Add=srv9&Delete=srv9&Replace=srv9"));
    assert_eq!(t.get("srv9", "./New"), Err(S::PERMISSION_DENIED), "no Get in that ACL, as TND gives it");
    t.add("srv9", "./New/Leaf", leaf("x")).unwrap();
    t.delete("srv9", "./New").unwrap();
}

#[test]
fn properties_and_their_allowed_commands() {
    let mut t = tree();
    t.set_time(Some("20261125T130000Z".into()));
    t.set("./Vendor/P", "hello").unwrap();
    assert_eq!(t.get_property(SRV, "./Vendor/P", "Format"), Ok("chr".into()));
    assert_eq!(t.get_property(SRV, "./Vendor/P", "Type"), Ok("text/plain".into()));
    assert_eq!(t.get_property(SRV, "./Vendor/P", "Name"), Ok("P".into()));
    assert_eq!(t.get_property(SRV, "./Vendor/P", "Size"), Ok("5".into()));
    assert_eq!(t.get_property(SRV, "./Vendor/P", "TStamp"), Ok("20261125T130000Z".into()));
    assert_eq!(t.get_property(SRV, "./Vendor/P", "VerNo"), Ok("1".into()));
    t.replace(SRV, "./Vendor/P", Leaf::text("again")).unwrap();
    assert_eq!(t.get_property(SRV, "./Vendor/P", "VerNo"), Ok("2".into()));
    assert_eq!(t.get_property(SRV, "./Vendor", "Size"), Err(S::OPTIONAL_FEATURE_NOT_SUPPORTED));
    assert_eq!(t.get_property(SRV, "./Vendor/P", "Colour"), Err(S::OPTIONAL_FEATURE_NOT_SUPPORTED));
    assert_eq!(t.get_property(SRV, "./Vendor/Nope", "Name"), Err(S::NOT_FOUND));
    for ro in ["Format", "Type", "Size", "TStamp", "VerNo"] {
        assert_eq!(t.replace_property(SRV, "./Vendor/P", ro, "x"), Err(S::COMMAND_NOT_ALLOWED), "{ro}");
    }
    t.replace_property(SRV, "./Vendor/P", "Title", "A title").unwrap();
    assert_eq!(t.get_property(SRV, "./Vendor/P", "Title"), Ok("A title".into()));
    assert_eq!(t.replace_property(SRV, "./Vendor/P", "Title", &"x".repeat(256)), Err(S::REQUEST_ENTITY_TOO_LARGE));
    t.replace_property(SRV, "./Vendor/P", "Name", "Q").unwrap();
    assert_eq!(t.value("./Vendor/Q"), Some("again"));
    assert_eq!(t.replace_property(SRV, "./Vendor/Q", "Name", "A"), Err(S::ALREADY_EXISTS));
    let mut no_clock = tree();
    assert_eq!(no_clock.get_property(SRV, "./Vendor/A", "TStamp"), Err(S::OPTIONAL_FEATURE_NOT_SUPPORTED));
}

#[test]
fn verno_wraps_at_16_bits() {
    let mut t = tree();
    for _ in 0..65_536 {
        t.replace(SRV, "./Vendor/A", Leaf::text("x")).unwrap();
    }
    assert_eq!(t.get_property(SRV, "./Vendor/A", "VerNo"), Ok("1".into()));
}

#[test]
fn atomic_rollback_undoes_everything_since_begin() {
    let mut t = tree();
    let before = t.to_json();
    t.begin().unwrap();
    t.add(SRV, "./Vendor/New", leaf("n")).unwrap();
    t.replace(SRV, "./Vendor/A", Leaf::text("changed")).unwrap();
    t.delete(SRV, "./Vendor/A").unwrap();
    assert_eq!(t.begin(), Err(S::COMMAND_FAILED), "no nested transactions");
    t.rollback().unwrap();
    assert_eq!(t.to_json(), before);
    assert_eq!(t.rollback(), Err(S::ATOMIC_ROLLBACK_FAILED));
    t.begin().unwrap();
    t.add(SRV, "./Vendor/Kept", leaf("k")).unwrap();
    t.commit().unwrap();
    assert_eq!(t.value("./Vendor/Kept"), Some("k"));
}

/// Everything a server's commands change inside Atomic comes back on rollback: new nodes and
/// the parents made for them, values (with VerNo), ACL, Title and Name, deleted subtrees and
/// their Exec handlers, and the tree's byte count; nothing of the tree is copied to get there.
#[test]
fn atomic_rollback_restores_properties_renames_deletions_and_exec_handlers() {
    let mut t = tree();
    t.set_interior("./Vendor/Dir", None).unwrap();
    t.set("./Vendor/Dir/Leaf", "v").unwrap();
    t.on_exec("./Vendor/Dir/Leaf", Box::new(|_, _| S::OK)).unwrap();
    t.set("./Vendor/Run", "").unwrap();
    t.on_exec("./Vendor/Run", Box::new(|_, _| S::ACCEPTED)).unwrap();
    let (json, bytes) = (t.to_json(), t.leaf_bytes());
    let verno = t.get_property(SRV, "./Vendor/A", "VerNo").unwrap();
    t.begin().unwrap();
    t.add(SRV, "./Vendor/New/Deep/Leaf", leaf("a long new value")).unwrap();
    t.replace(SRV, "./Vendor/A", Leaf::text("changed")).unwrap();
    t.replace_property(SRV, "./Vendor/A", "Title", "t").unwrap();
    t.replace_property(SRV, "./Vendor/A", "ACL", "Get=*").unwrap();
    t.replace_property(SRV, "./Vendor/Dir", "Name", "Moved").unwrap();
    t.delete(SRV, "./Vendor/Moved").unwrap();
    t.delete(SRV, "./Vendor/Run").unwrap();
    t.rollback().unwrap();
    assert_eq!(t.to_json(), json);
    assert_eq!(t.leaf_bytes(), bytes);
    assert_eq!(t.get_property(SRV, "./Vendor/A", "VerNo").unwrap(), verno);
    assert_eq!(t.exec(SRV, "./Vendor/Dir/Leaf", None, None), Ok(S::OK), "the renamed node's handler is back");
    assert_eq!(t.exec(SRV, "./Vendor/Run", None, None), Ok(S::ACCEPTED), "the deleted node's handler is back");
    // A rename alone, rolled back: the handler goes back with its node.
    t.begin().unwrap();
    t.replace_property(SRV, "./Vendor/Dir", "Name", "Moved").unwrap();
    t.rollback().unwrap();
    assert_eq!(t.exec(SRV, "./Vendor/Dir/Leaf", None, None), Ok(S::OK));
    assert_eq!(t.exec(SRV, "./Vendor/Moved/Leaf", None, None), Err(S::NOT_FOUND));
}

/// The journal follows nodes, not keys: a node renamed onto a key where another node came and
/// went in the same Atomic, then changed there, is put back as it was (the property test's
/// first find against a journal that saved each key once).
#[test]
fn rollback_follows_a_node_renamed_onto_a_key_used_before() {
    let mut t = tree();
    t.set("./Vendor/D", "").unwrap();
    let json = t.to_json();
    t.begin().unwrap();
    t.add(SRV, "./Vendor/B", interior()).unwrap();
    t.delete(SRV, "./Vendor/B").unwrap();
    t.replace_property(SRV, "./Vendor/D", "Name", "B").unwrap();
    t.replace_property(SRV, "./Vendor/B", "Title", "t").unwrap();
    t.replace(SRV, "./Vendor/B", Leaf::text("changed")).unwrap();
    t.rollback().unwrap();
    assert_eq!(t.to_json(), json);
}

/// Deleting or renaming a subtree is one step, whatever lies below it: a node 20 000 levels
/// deep, under a subtree of thousands of nodes, is renamed, deleted and put back by a rollback,
/// and the tree drops without recursing through its depth.
#[test]
fn deep_and_wide_subtrees_move_whole() {
    let mut t = tree();
    let deep = format!("./Vendor/S{}", "/d".repeat(20_000));
    t.set(&deep, "bottom").unwrap();
    for i in 0..5_000 {
        t.set(&format!("./Vendor/S/w{i}"), "v").unwrap();
    }
    let bytes = t.leaf_bytes();
    t.begin().unwrap();
    t.replace_property(SRV, "./Vendor/S", "Name", "T").unwrap();
    assert_eq!(t.value(&deep.replacen("/S/", "/T/", 1)), Some("bottom"));
    t.delete(SRV, "./Vendor/T").unwrap();
    assert_eq!((t.value("./Vendor/T/w7"), t.leaf_bytes()), (None, bytes - 6 - 5_000));
    t.rollback().unwrap();
    assert_eq!((t.value(&deep), t.value("./Vendor/S/w7"), t.leaf_bytes()), (Some("bottom"), Some("v"), bytes));
    assert_eq!(t.value("./Vendor/T/w7"), None);
    drop(t);
}

/// A listing of a subtree 2 000 levels deep walks it without recursing through its depth: on a
/// thread with a 64 KiB stack, as a device agent may give a session.
#[test]
fn a_listing_of_a_deep_subtree_does_not_recurse() {
    let mut t = tree();
    t.set(&format!("./Vendor/S{}", "/d".repeat(2_000)), "bottom").unwrap();
    let listed = std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(move || {
            let struct_ = tnds::list(&mut t, SRV, "./Vendor/S", ListKind::Struct, usize::MAX).map(|l| l.len());
            let xml = tnds::tnds(&mut t, SRV, "./Vendor/S", &PropSelection::All, usize::MAX);
            (struct_, xml.map(|x| x.matches("<Node>").count()))
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(listed, (Ok(2_001), Ok(2_001)));
}

/// A node's properties asked together (as a TNDS listing asks) are what each asked alone
/// gives, errors included: 404 for a missing node, 425 where the ACL denies the Get.
#[test]
fn properties_asked_together_are_those_asked_alone() {
    let mut t = tree();
    t.set_time(Some("20261202T000000Z".into()));
    t.set("./Vendor/Q/T", "stamped").unwrap();
    t.set_acl("./Vendor/Q", &format!("Get={SRV}")).unwrap();
    let names = ["ACL", "Format", "Name", "Size", "Title", "TStamp", "Type", "VerNo", "Nope"];
    let mut codes = Vec::new();
    for (server, uri) in [(SRV, "./Vendor/Q/T"), (SRV, "./Vendor"), (SRV, "./Nope"), ("other", "./Vendor/Q/T")] {
        let alone: Vec<_> = names.iter().map(|n| t.get_property(server, uri, n)).collect();
        assert_eq!(t.get_properties(server, uri, &names), alone, "{server} {uri}");
        codes.extend(alone.iter().filter_map(|r| r.as_ref().err().copied()));
    }
    assert!(codes.contains(&S::NOT_FOUND) && codes.contains(&S::PERMISSION_DENIED));
}

/// Renaming a node (its Name property) keeps its Exec handler: Exec runs under the new name, and
/// a node created later under the old name has none.
#[test]
fn a_renamed_node_keeps_its_exec_handler() {
    let mut t = tree();
    t.set_interior("./Vendor/Dir", None).unwrap();
    t.set("./Vendor/Dir/Leaf", "v").unwrap();
    t.on_exec("./Vendor/Dir/Leaf", Box::new(|_, _| S::ACCEPTED)).unwrap();
    t.replace_property(SRV, "./Vendor/Dir", "Name", "Moved").unwrap();
    assert_eq!(t.exec(SRV, "./Vendor/Moved/Leaf", None, None), Ok(S::ACCEPTED));
    assert_eq!(t.exec(SRV, "./Vendor/Dir/Leaf", None, None), Err(S::NOT_FOUND));
    t.add(SRV, "./Vendor/Dir/Leaf", leaf("new")).unwrap();
    assert_eq!(t.exec(SRV, "./Vendor/Dir/Leaf", None, None), Err(S::COMMAND_NOT_ALLOWED), "a new node, no handler");
    t.replace_property(SRV, "./Vendor/Moved/Leaf", "Name", "Renamed").unwrap();
    assert_eq!(t.exec(SRV, "./Vendor/Moved/Renamed", None, None), Ok(S::ACCEPTED), "a leaf renamed keeps it too");
}

/// A tree holds at most its capacity of leaf bytes from a server: past it Add, Replace and Copy
/// get 420 (Device full), and a Copy cannot multiply one large leaf without end.
#[test]
fn a_full_tree_answers_420_to_add_replace_and_copy() {
    let mut t = tree();
    t.set_acl(".", "Add=*&Get=*&Replace=*").unwrap();
    let used = t.leaf_bytes();
    t.set_capacity(used + 3_000);
    t.add(SRV, "./Vendor/Big", Node::Leaf(Leaf::text("x".repeat(1_000)))).unwrap();
    t.copy(SRV, "./Vendor/Big", "./Vendor/C1").unwrap();
    t.copy(SRV, "./Vendor/Big", "./Vendor/C2").unwrap();
    assert_eq!(t.copy(SRV, "./Vendor/Big", "./Vendor/C3"), Err(S::DEVICE_FULL));
    assert_eq!(t.add(SRV, "./Vendor/D", leaf("y")), Err(S::DEVICE_FULL));
    assert_eq!(t.replace(SRV, "./Vendor/A", Leaf::text("longer")), Err(S::DEVICE_FULL));
    assert_eq!(t.node("./Vendor/C3"), None);
    assert_eq!(t.leaf_bytes(), used + 3_000);
    // A value no longer than the one it replaces always fits; a delete makes room.
    t.replace(SRV, "./Vendor/C2", Leaf::text("z")).unwrap();
    t.copy(SRV, "./Vendor/A", "./Vendor/C3").unwrap();
    t.delete(SRV, "./Vendor/C1").unwrap();
    t.copy(SRV, "./Vendor/Big", "./Vendor/C4").unwrap();
    // The device's own values are not held to it.
    t.set("./Vendor/Own", &"o".repeat(5_000)).unwrap();
}

/// A tree holds at most its most nodes from a server, values or not: past it an Add (with the
/// parents it would make) or a Copy to a new node gets 420; a delete makes room, a rollback
/// gives the count back, and the device's own nodes are not held to it.
#[test]
fn a_tree_at_its_most_nodes_answers_420_to_add_and_copy() {
    let mut t = tree();
    let n = t.node_count();
    assert_eq!(n, t.uris().len());
    t.set_max_nodes(n + 3);
    assert_eq!(t.add(SRV, "./Vendor/N/O/P/Q", leaf("v")), Err(S::DEVICE_FULL), "four nodes with its parents");
    t.add(SRV, "./Vendor/N/O/P", leaf("v")).unwrap();
    assert_eq!(t.node_count(), n + 3);
    assert_eq!(t.add(SRV, "./Vendor/M", interior()), Err(S::DEVICE_FULL));
    assert_eq!(t.copy(SRV, "./Vendor/A", "./Vendor/C"), Err(S::DEVICE_FULL));
    t.copy(SRV, "./Vendor/A", "./Vendor/N/O/P").unwrap();
    t.begin().unwrap();
    t.delete(SRV, "./Vendor/N").unwrap();
    assert_eq!(t.node_count(), n);
    t.add(SRV, "./Vendor/M", interior()).unwrap();
    t.rollback().unwrap();
    assert_eq!((t.node_count(), t.node("./Vendor/M")), (n + 3, None));
    t.set("./Vendor/Own/Node", "o").unwrap();
    assert_eq!(t.node_count(), n + 5);
}

#[test]
fn uri_normalization_and_limits() {
    let none = UriLimits::default();
    assert!(matches!(uri::normalize("./A/B", none), Ok(Cow::Borrowed("./A/B"))), "already normal: not copied");
    assert_eq!(uri::normalize("./A/B/", none), Ok("./A/B".into()));
    assert_eq!(uri::normalize("A/B", none), Ok("./A/B".into()));
    assert_eq!(uri::normalize(".", none), Ok(".".into()));
    assert_eq!(uri::normalize("./", none), Ok(".".into()));
    for bad in ["./A//B", "./A/../B", "./A/./B"] {
        assert_eq!(uri::normalize(bad, none), Err(S::BAD_REQUEST), "{bad}");
    }
    let mut t = tree();
    DevDetail { max_depth: 3, max_tot_len: 20, max_seg_len: 6, ..DevDetail::default() }.install(&mut t).unwrap();
    let l = t.uri_limits();
    assert_eq!((l.max_depth, l.max_tot_len, l.max_seg_len), (3, 20, 6));
    assert_eq!(uri::normalize("./A/B/C/D", l), Err(S::URI_TOO_LONG));
    assert_eq!(uri::normalize("./Sevenxx", l), Err(S::URI_TOO_LONG));
    assert_eq!(uri::normalize("./abcde/abcde/abcde/ab", l), Err(S::URI_TOO_LONG));
    assert_eq!(uri::normalize("./A/B/C", l), Ok("./A/B/C".into()));
}

#[test]
fn target_queries() {
    let l = UriLimits::default();
    assert_eq!(uri::parse_target("./A?prop=ACL", l), Ok(Target::Property { node: "./A".into(), name: "ACL".into() }));
    assert_eq!(
        uri::parse_target("./A?list=TNDS+Value+ACL", l),
        Ok(Target::List {
            node: "./A".into(),
            kind: ListKind::Tnds,
            props: PropSelection::Only(vec!["Value".into(), "ACL".into()])
        })
    );
    assert_eq!(
        uri::parse_target("./A?list=TNDS-ACL", l),
        Ok(Target::List { node: "./A".into(), kind: ListKind::Tnds, props: PropSelection::Except(vec!["ACL".into()]) })
    );
    assert_eq!(uri::parse_target("./A?list=TNDS+Value-ACL", l), Err(S::OPTIONAL_FEATURE_NOT_SUPPORTED));
    assert_eq!(uri::parse_target("./A?list=Fancy", l), Err(S::OPTIONAL_FEATURE_NOT_SUPPORTED));
    assert_eq!(uri::parse_target("./A?what=1", l), Err(S::OPTIONAL_FEATURE_NOT_SUPPORTED));
}

#[test]
fn struct_and_struct_data_list_the_subtree() {
    let mut t = tree();
    t.set("./Vendor/B/C", "c").unwrap();
    let s = tnds::list(&mut t, SRV, "./Vendor", ListKind::Struct, usize::MAX).unwrap();
    let uris: Vec<&str> = s.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(uris, ["./Vendor", "./Vendor/A", "./Vendor/B", "./Vendor/B/C"]);
    assert!(s.iter().all(|(_, n)| !matches!(n, Node::Leaf(l) if !l.data.is_empty())));
    let sd = tnds::list(&mut t, SRV, "./Vendor", ListKind::StructData, usize::MAX).unwrap();
    assert_eq!(sd[3].1, leaf("c"));
    // A node the server may not read is left out.
    t.set_acl("./Vendor/B", "Get=other").unwrap();
    let s = tnds::list(&mut t, SRV, "./Vendor", ListKind::Struct, usize::MAX).unwrap();
    assert_eq!(s.len(), 2);
}

#[test]
fn tnds_output_parses_back_into_the_same_tree() {
    let mut t = tree();
    t.set_leaf(
        "./Vendor/Bin",
        Leaf { format: "bin".into(), type_: "application/octet-stream".into(), data: vec![0, 1, 255] },
    )
    .unwrap();
    t.set("./Vendor/B/C", "a<b&c").unwrap();
    t.set_acl("./Vendor/B", "Get=*&Replace=srv1").unwrap();
    let xml = tnds::tnds(&mut t, SRV, "./Vendor", &PropSelection::All, usize::MAX).unwrap();
    assert!(
        xml.starts_with(
            "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD><Node><NodeName>Vendor</NodeName><Path>.</Path>"
        ),
        "{xml}"
    );
    assert!(xml.contains("<Value>a&lt;b&amp;c</Value>"), "{xml}");
    assert!(xml.contains("<Format><bin/></Format>"), "{xml}");
    let mut copy = MemoryTree::new();
    copy.extend_from_tnds(&xml, ".").unwrap();
    let uris: Vec<String> = t.uris().into_iter().filter(|u| u.starts_with("./Vendor")).collect();
    for u in &uris {
        assert_eq!(copy.node(u), t.node(u), "{u}");
        assert_eq!(copy.get_property(SRV, u, "ACL"), t.get_property(SRV, u, "ACL"), "{u}");
    }
    // Property selection.
    let only = tnds::tnds(&mut t, SRV, "./Vendor", &PropSelection::Only(vec!["Format".into()]), usize::MAX).unwrap();
    assert!(!only.contains("<Value>") && !only.contains("<ACL>") && only.contains("<Format>"), "{only}");
    let except = tnds::tnds(&mut t, SRV, "./Vendor", &PropSelection::Except(vec!["ACL".into()]), usize::MAX).unwrap();
    assert!(!except.contains("<ACL>") && except.contains("<Value>"), "{except}");
    assert_eq!(tnds::parse("<MgmtTree><Node></MgmtTree>", ".", UriLimits::default()), Err(S::BAD_REQUEST));
}

/// A TNDS document never holds what XML cannot carry: a value that is not XML text (a control
/// character, not UTF-8) goes as base64 under Format `bin` and reads back as the same bytes
/// (before, it went raw, or altered); a Format that cannot be the element name the document
/// writes it as, or a property that is not XML text, fails the listing (500).
#[test]
fn tnds_documents_hold_only_what_xml_carries() {
    let mut t = tree();
    t.set("./Vendor/Ctl", "a\u{1}b").unwrap();
    t.set_leaf("./Vendor/Raw", Leaf { format: "chr".into(), type_: "text/plain".into(), data: vec![b'a', 0xFF] })
        .unwrap();
    let xml = tnds::tnds(&mut t, SRV, "./Vendor", &PropSelection::All, usize::MAX).unwrap();
    assert!(dm_core::codec::is_xml_text(&xml), "{xml}");
    let nodes = tnds::parse(&xml, ".", UriLimits::default()).unwrap();
    let leaf = |uri: &str| nodes.iter().find(|n| n.uri == uri).map(|n| n.node.clone());
    let bin = |data: &[u8]| Node::Leaf(Leaf { format: "bin".into(), type_: "text/plain".into(), data: data.to_vec() });
    assert_eq!(leaf("./Vendor/Ctl"), Some(bin(b"a\x01b")));
    assert_eq!(leaf("./Vendor/Raw"), Some(bin(&[b'a', 0xFF])));
    t.set_leaf("./Vendor/Odd", Leaf { format: "x y".into(), type_: "text/plain".into(), data: b"v".to_vec() }).unwrap();
    assert_eq!(tnds::tnds(&mut t, SRV, "./Vendor/Odd", &PropSelection::All, usize::MAX), Err(S::COMMAND_FAILED));
    t.set("./Vendor/Odd", "v").unwrap();
    t.replace_property(SRV, "./Vendor/Odd", "Title", "t\u{7}").unwrap();
    assert_eq!(tnds::tnds(&mut t, SRV, "./Vendor/Odd", &PropSelection::All, usize::MAX), Err(S::COMMAND_FAILED));
}

/// A TNDS document's node URIs are held to the limit as they are built: one long Path with many
/// children under it is refused (414) at the first URI past the limit, not made into many.
#[test]
fn tnds_node_uris_are_held_to_the_limit_as_they_are_read() {
    let doc = |path_len: usize, children: usize| {
        let kids = "<Node><NodeName>a</NodeName></Node>".repeat(children);
        format!(
            "<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>x</NodeName><Path>./{}</Path>{kids}</Node></MgmtTree>",
            "p".repeat(path_len)
        )
    };
    let limits = UriLimits { max_tot_len: 1024, ..UriLimits::default() };
    let nodes = tnds::parse(&doc(1000, 3), ".", limits).unwrap();
    assert_eq!(nodes.len(), 4);
    assert!(nodes.iter().all(|n| n.uri.len() <= 1026));
    assert_eq!(tnds::parse(&doc(1022, 3), ".", limits), Err(S::URI_TOO_LONG), "the child's URI is one too long");
    assert_eq!(tnds::parse(&doc(100_000, 20_000), ".", limits), Err(S::URI_TOO_LONG));
}

#[test]
fn json_round_trip() {
    let mut t = tree();
    t.set_leaf(
        "./Vendor/Bin",
        Leaf { format: "bin".into(), type_: "application/octet-stream".into(), data: vec![0, 1, 255] },
    )
    .unwrap();
    t.set_title("./Vendor/A", "t").unwrap();
    t.set_access("./Vendor/A", Access::GET.without(Access::ADD)).unwrap();
    t.set_interior("./Vendor/Empty", Some("urn:x")).unwrap();
    t.set_interior("./Vendor/Bare", None).unwrap();
    let json = t.to_json();
    let back = MemoryTree::from_json(&json).unwrap();
    assert!(back.same_content(&t), "{json}\n---\n{}", back.to_json());
    // An interior node without children is not implied by any other URI: it is written.
    assert_eq!(back.node("./Vendor/Bare"), Some(Node::Interior { children: vec![], type_: None }));
    assert_eq!(back.value("./DevInfo/Man"), Some("Acme"));
    let simple = MemoryTree::from_json(r#"{"./DevInfo/Man": "Acme", "./X": {"value": "5", "format": "int"}}"#).unwrap();
    assert_eq!(
        simple.node("./X"),
        Some(Node::Leaf(Leaf { format: "int".into(), type_: "text/plain".into(), data: b"5".to_vec() }))
    );
    assert!(MemoryTree::from_json("[1]").is_err());
    assert!(MemoryTree::from_json(r#"{"./X": 5}"#).unwrap_err().0.contains("./X"));
    let path = std::env::temp_dir().join(format!("omadm-tree-{}.json", std::process::id()));
    t.save(&path).unwrap();
    assert!(MemoryTree::load(&path).unwrap().same_content(&t));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn dmacc_secrets_are_never_readable() {
    let mut t = tree();
    let acc = DmAcc {
        node: "acme".into(),
        server_id: SRV.into(),
        name: "Acme DM".into(),
        addr: "https://dm.acme.example/".into(),
        auth: vec![AppAuth {
            level: "SRVCRED".into(),
            auth_type: "DIGEST".into(),
            name: "server".into(),
            secret: "s3cret".into(),
            data: vec![1, 2],
        }],
        ..DmAcc::default()
    };
    acc.install(&mut t).unwrap();
    assert_eq!(t.get(SRV, "./DMAcc/acme/AppID"), Ok(leaf("w7")));
    assert_eq!(t.get(SRV, "./DMAcc/acme/AppAuth/1/AAuthSecret"), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!(t.get(SRV, "./DMAcc/acme/AppAuth/1/AAuthData"), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!(t.copy(SRV, "./DMAcc/acme/AppAuth/1/AAuthSecret", "./DMAcc/acme/Leak"), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!(t.get("other", "./DMAcc/acme/ServerID"), Err(S::PERMISSION_DENIED));
    t.replace(SRV, "./DMAcc/acme/AppAuth/1/AAuthSecret", Leaf::text("new")).unwrap();
    assert!(!format!("{:?}", acc).contains("s3cret"));
    let xml = tnds::tnds(&mut t, SRV, "./DMAcc", &PropSelection::All, usize::MAX).unwrap();
    assert!(!xml.contains("new") && !xml.contains("s3cret"), "{xml}");
}

#[test]
fn a_dmacc_node_name_is_one_segment() {
    let mut t = tree();
    for node in ["a/b", "", "..", "a?b"] {
        let acc = DmAcc { node: node.into(), server_id: SRV.into(), ..DmAcc::default() };
        assert_eq!(acc.install(&mut t), Err(S::BAD_REQUEST), "{node:?}");
    }
    assert!(t.node("./DMAcc").is_none(), "nothing installed");
}

mod journal {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Add(usize, usize),
        AddInterior(usize),
        Replace(usize, usize),
        Delete(usize),
        Copy(usize, usize),
        Acl(usize),
        Title(usize),
        Rename(usize, usize),
        Permanent(usize),
    }

    const URIS: [&str; 6] = ["./Vendor/A", "./Vendor/B", "./Vendor/D", "./Vendor/D/E", "./Vendor/D/F/G", "./Vendor/H"];

    fn op() -> impl Strategy<Value = Op> {
        let u = 0..URIS.len();
        prop_oneof![
            (u.clone(), 0..200usize).prop_map(|(u, n)| Op::Add(u, n)),
            u.clone().prop_map(Op::AddInterior),
            (u.clone(), 0..200usize).prop_map(|(u, n)| Op::Replace(u, n)),
            u.clone().prop_map(Op::Delete),
            (u.clone(), u.clone()).prop_map(|(a, b)| Op::Copy(a, b)),
            u.clone().prop_map(Op::Acl),
            u.clone().prop_map(Op::Title),
            (u.clone(), 0..3usize).prop_map(|(u, n)| Op::Rename(u, n)),
            u.clone().prop_map(Op::Permanent),
        ]
    }

    fn apply(t: &mut MemoryTree, op: &Op) {
        let _ = match *op {
            Op::Add(u, n) => t.add(SRV, URIS[u], Node::Leaf(Leaf::text("v".repeat(n)))),
            Op::AddInterior(u) => t.add(SRV, URIS[u], interior()),
            Op::Replace(u, n) => t.replace(SRV, URIS[u], Leaf::text("r".repeat(n))),
            Op::Delete(u) => t.delete(SRV, URIS[u]),
            Op::Copy(a, b) => t.copy(SRV, URIS[a], URIS[b]),
            Op::Acl(u) => t.replace_property(SRV, URIS[u], "ACL", "Get=*&Replace=*"),
            Op::Title(u) => t.replace_property(SRV, URIS[u], "Title", "t"),
            Op::Rename(u, n) => t.replace_property(SRV, URIS[u], "Name", ["X", "Y", "B"][n]),
            Op::Permanent(u) => t.set_permanent(URIS[u], true),
        };
    }

    /// The leaf bytes the tree holds, counted from its nodes.
    fn counted(t: &MemoryTree) -> usize {
        let uris: Vec<String> = t.uris();
        uris.iter().map(|u| if let Some(Node::Leaf(l)) = t.node(u) { l.data.len() } else { 0 }).sum()
    }

    proptest! {
        /// Whatever a server's commands do inside Atomic, rollback gives back the tree as it
        /// was, byte and node counts included; the counts are right after any commands and
        /// never pass the tree's capacity and most nodes.
        #[test]
        fn rollback_undoes_any_commands_and_the_byte_count_stays_right(
            before in proptest::collection::vec(op(), 0..12),
            inside in proptest::collection::vec(op(), 0..12),
        ) {
            let mut t = tree();
            let (capacity, max_nodes) = (t.leaf_bytes() + 600, t.node_count() + 4);
            t.set_capacity(capacity);
            t.set_max_nodes(max_nodes);
            before.iter().for_each(|op| apply(&mut t, op));
            prop_assert_eq!(t.leaf_bytes(), counted(&t));
            let (json, bytes) = (t.to_json(), t.leaf_bytes());
            t.begin().unwrap();
            inside.iter().for_each(|op| apply(&mut t, op));
            prop_assert_eq!(t.leaf_bytes(), counted(&t));
            prop_assert_eq!(t.node_count(), t.uris().len());
            prop_assert!(t.totals_agree());
            prop_assert!(t.leaf_bytes() <= capacity && t.node_count() <= max_nodes);
            t.rollback().unwrap();
            prop_assert_eq!(t.to_json(), json);
            prop_assert_eq!((t.leaf_bytes(), t.node_count()), (bytes, t.uris().len()));
            prop_assert!(t.totals_agree());
        }
    }
}

/// TNDS values read XML's references as the codec reads them: character references and the
/// five entities; any other entity is a malformed document (400).
#[test]
fn tnds_values_resolve_references_as_the_codec_does() {
    let doc = |value: &str| {
        format!("<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>x</NodeName><Value>{value}</Value></Node></MgmtTree>")
    };
    let nodes = tnds::parse(&doc("&#x41;&#66;&amp;&lt;&quot;"), "./V", UriLimits::default()).unwrap();
    assert_eq!(nodes[0].node, leaf("AB&<\""));
    assert_eq!(tnds::parse(&doc("&nbsp;"), "./V", UriLimits::default()), Err(S::BAD_REQUEST));
}

/// An interior node's children are found by seeking past each child's descendants; they are
/// what a scan of every key finds, whatever characters sort around `/` in the names.
mod children {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop_oneof![Just('a'), Just('!'), Just('-'), Just('.'), Just('0'), Just('~')], 1..4)
            .prop_map(|c| c.into_iter().collect::<String>())
            .prop_filter("not a dot segment", |n| n != "." && n != "..")
    }

    proptest! {
        #[test]
        fn children_are_what_a_scan_of_every_key_finds(paths in proptest::collection::vec(proptest::collection::vec(name(), 1..4), 1..30)) {
            let mut t = MemoryTree::new();
            for p in &paths {
                let uri = format!("./V/{}", p.join("/"));
                // A leaf where an interior node is wanted is refused: both trees see the same.
                let _ = t.set(&uri, "v");
            }
            let keys: Vec<String> = t.uris();
            for key in &keys {
                let Some(Node::Interior { children, .. }) = t.node(key) else { continue };
                let prefix = format!("{key}/");
                let mut scanned: Vec<&str> =
                    keys.iter().filter_map(|k| k.strip_prefix(&prefix)).filter(|rest| !rest.contains('/')).collect();
                scanned.sort_unstable();
                let mut found = children.clone();
                found.sort_unstable();
                prop_assert_eq!(found, scanned, "children of {}", key);
            }
        }
    }
}

/// A listing (Struct, StructData, TNDS) stops with 413 once it passes the room it is given: a
/// Get of a large subtree cannot build more than the client could hold.
#[test]
fn listings_stop_with_413_past_their_room() {
    let mut t = tree();
    for i in 0..10 {
        t.set(&format!("./Vendor/Big/N{i}"), &"v".repeat(100)).unwrap();
    }
    let sd = tnds::list(&mut t, SRV, "./Vendor/Big", ListKind::StructData, 10_000).unwrap();
    assert_eq!(sd.len(), 11);
    assert_eq!(tnds::list(&mut t, SRV, "./Vendor/Big", ListKind::StructData, 500), Err(S::REQUEST_ENTITY_TOO_LARGE));
    // Struct carries no values: the same room holds it.
    assert_eq!(tnds::list(&mut t, SRV, "./Vendor/Big", ListKind::Struct, 500).map(|l| l.len()), Ok(11));
    let xml = tnds::tnds(&mut t, SRV, "./Vendor/Big", &PropSelection::All, usize::MAX).unwrap();
    assert_eq!(tnds::tnds(&mut t, SRV, "./Vendor/Big", &PropSelection::All, xml.len()).as_ref(), Ok(&xml));
    assert_eq!(
        tnds::tnds(&mut t, SRV, "./Vendor/Big", &PropSelection::All, xml.len() / 2),
        Err(S::REQUEST_ENTITY_TOO_LARGE)
    );
}

/// A rename (Name) takes Replace rights on the node, keeps the node under its parent, and
/// leaves a permanent node as it is.
#[test]
fn a_rename_needs_replace_rights_keeps_its_parent_and_spares_permanent_nodes() {
    let mut t = tree();
    t.set_interior("./Vendor/Locked", None).unwrap();
    t.set_acl("./Vendor/Locked", "Get=*").unwrap();
    assert_eq!(t.replace_property(SRV, "./Vendor/Locked", "Name", "Open"), Err(S::PERMISSION_DENIED));
    assert_eq!(t.replace_property(SRV, "./Vendor/A", "Name", "Sub/B"), Err(S::BAD_REQUEST), "a move, not a rename");
    t.set_permanent("./Vendor/A", true).unwrap();
    assert_eq!(t.replace_property(SRV, "./Vendor/A", "Name", "B"), Err(S::COMMAND_NOT_ALLOWED));
    assert_eq!(t.value("./Vendor/A"), Some("a"));
    assert!(t.node("./Vendor/Locked").is_some() && t.node("./Vendor/Open").is_none() && t.node("./Vendor/B").is_none());
}

/// A device's tree from a TNDS document, as a vendor ships one or `?list=TNDS` gives it
/// (`MemoryTree::extend_from_tnds`, and `MemoryTree::load` of a file holding one): each node
/// below the base when it has no Path, with its Format, Type and value; the DOCTYPE naming the
/// DTD is skipped, one declaring entities refused.
#[test]
fn a_tnds_document_becomes_the_device_s_own_nodes() {
    let ddf = std::fs::read_to_string(common::vectors().join("libwbxml/ddf-001.ddf")).unwrap();
    assert!(ddf.contains("<!DOCTYPE MgmtTree PUBLIC"));
    let mut t = MemoryTree::new();
    t.extend_from_tnds(&ddf, "./Vendor").unwrap();
    assert_eq!(t.value("./Vendor/E-Mail/POP3/POPServer"), Some("mail.Operatorx.com"));
    assert_eq!(t.value("./Vendor/E-Mail/POP3/PWD"), Some("4571F7C34A9876B3"));
    let email = t.node("./Vendor/E-Mail").unwrap();
    assert!(matches!(email, Node::Interior { type_: Some(ref d), .. } if d == "com.operatorX.dm/1.0/EMail"));
    assert_eq!(t.get_property(SRV, "./Vendor/E-Mail/POP3/PWD", "Type"), Ok("text/plain".into()));
    // A file of it (a byte order mark first, as some editors write), read as the root's.
    let path = std::env::temp_dir().join(format!("omadm-tnds-{}.xml", std::process::id()));
    std::fs::write(&path, format!("\u{feff}{ddf}")).unwrap();
    let loaded = MemoryTree::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded.value("./E-Mail/POP3/UserID"), Some("UserName"));
    // Entities declared, a second DOCTYPE, or no document: refused, saying what.
    let declaring = ddf.replace("dm_ddf-v1_2.dtd\">", "dm_ddf-v1_2.dtd\" [<!ENTITY x \"y\">]>");
    let late = ddf.replace("<VerDTD>", "<!DOCTYPE MgmtTree><VerDTD>");
    for bad in [declaring.as_str(), late.as_str(), "{}", "<MgmtTree>"] {
        let e = MemoryTree::new().extend_from_tnds(bad, ".").unwrap_err();
        assert!(e.0.starts_with("not a TNDS document that can be read (400"), "{e}");
    }
}

/// A listing of the whole tree (`.?list=TNDS`) names the root `.`: read back, it is the root,
/// and the tree is the same (it was refused, 400).
#[test]
fn a_tnds_listing_of_the_root_reads_back_as_the_same_tree() {
    let mut t = tree();
    t.set("./Vendor/B/C", "x").unwrap();
    t.set_acl("./Vendor/B", "Get=*&Replace=srv1").unwrap();
    let xml = tnds::tnds(&mut t, SRV, ".", &PropSelection::All, usize::MAX).unwrap();
    assert!(xml.contains("<Node><NodeName>.</NodeName><RTProperties>"), "{xml}");
    let mut copy = MemoryTree::new();
    copy.extend_from_tnds(&xml, ".").unwrap();
    for u in t.uris() {
        assert_eq!(copy.node(&u), t.node(&u), "{u}");
        assert_eq!(copy.get_property(SRV, &u, "ACL"), t.get_property(SRV, &u, "ACL"), "{u}");
    }
    assert_eq!(copy.uris(), t.uris());
}

const FUMO_DDF: &str = r#"<!DOCTYPE MgmtTree PUBLIC "-//OMA//DTD-DM-DDF 1.2//EN" "http://www.openmobilealliance.org/tech/DTD/dm_ddf-v1_2.dtd">
<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Man>Acme</Man><Mod>X1</Mod>
<Node><NodeName/><DFProperties><AccessType><Get/></AccessType><DFFormat><node/></DFFormat>
  <Occurrence><One/></Occurrence><DFType><DDFName>urn:oma:mo:oma-fumo:1.0</DDFName></DFType></DFProperties>
  <Node><NodeName>PkgName</NodeName><DFProperties><DFFormat><chr/></DFFormat><Occurrence><ZeroOrOne/></Occurrence></DFProperties></Node>
  <Node><NodeName>State</NodeName><DFProperties><DFFormat><int/></DFFormat></DFProperties></Node>
  <Node><NodeName>Update</NodeName><DFProperties><DFFormat><node/></DFFormat></DFProperties>
    <Node><NodeName>PkgURL</NodeName><DFProperties><DFFormat><chr/></DFFormat><DFType><MIME>text/plain</MIME></DFType></DFProperties></Node>
  </Node>
  <Node><NodeName>Ext</NodeName><DFProperties><DFFormat><node/></DFFormat><Occurrence><ZeroOrOne/></Occurrence></DFProperties>
    <Node><NodeName/><DFProperties><DFFormat><chr/></DFFormat><Occurrence><ZeroOrN>2</ZeroOrN></Occurrence></DFProperties></Node>
  </Node>
</Node></MgmtTree>"#;

fn fumo(pkg_url: bool) -> MemoryTree {
    let mut t = MemoryTree::new();
    t.set_interior("./FUMO", Some("urn:oma:mo:oma-fumo:1.0")).unwrap();
    t.set_leaf("./FUMO/State", Leaf { format: "int".into(), type_: "text/plain".into(), data: b"10".to_vec() })
        .unwrap();
    t.set_interior("./FUMO/Update", None).unwrap();
    if pkg_url {
        t.set("./FUMO/Update/PkgURL", "http://fw").unwrap();
    }
    t.set("./FUMO/Ext/a", "1").unwrap();
    t.set("./FUMO/Ext/b", "2").unwrap();
    t
}

/// A tree held to a DDF (`ddf::Ddf::check`): named nodes where the DDF places them, unnamed ones
/// counted against their Occurrence, Format and Type compared; each mismatch says where and why.
#[test]
fn a_tree_is_held_to_its_ddf() {
    use dm_core::tree::ddf::{Ddf, Occurrence};
    let ddf = Ddf::parse(FUMO_DDF).unwrap();
    let [mo] = &ddf.nodes[..] else { panic!("{ddf:?}") };
    assert_eq!((mo.name.as_deref(), mo.children.len()), (None, 4));
    assert_eq!(mo.children[3].children[0].occurrence, Occurrence::ZeroOrN(2));
    assert_eq!(ddf.check(&fumo(true), "./FUMO"), vec![]);
    let mut t = fumo(false);
    t.set("./FUMO/State", "ten").unwrap(); // chr, where the DDF has int
    t.set("./FUMO/Extra", "x").unwrap();
    t.set("./FUMO/Ext/c", "3").unwrap();
    let found: Vec<(String, String)> = ddf.check(&t, "./FUMO").into_iter().map(|m| (m.uri, m.detail)).collect();
    let expected = [
        ("./FUMO/State", "Format chr, where the DDF has int"),
        ("./FUMO/Update/PkgURL", "missing (the DDF's Occurrence: One)"),
        ("./FUMO/Ext", "3 unnamed nodes, where the DDF's Occurrence is ZeroOrN(2)"),
        ("./FUMO/Extra", "a node the DDF does not describe"),
    ];
    assert_eq!(found, expected.map(|(u, d)| (u.to_string(), d.to_string())), "{found:#?}");
    // The MO where it is not: missing; without its MO identifier: another Type.
    assert_eq!(ddf.check(&t, "./Nowhere")[0].detail, "missing (the DDF's Occurrence: One)");
    t.set_interior("./FUMO", None).unwrap();
    assert_eq!(ddf.check(&t, "./FUMO")[0].detail, "Type none, where the DDF has urn:oma:mo:oma-fumo:1.0");
}

/// A DDF gives a tree the nodes it describes (`Ddf::instantiate`): those it requires, an
/// unnamed one named `1`, optional named ones with a DefaultValue, each with its Format, Type,
/// value, AccessType and Scope; the tree then keeps the DDF.
#[test]
fn a_ddf_gives_a_simulated_device_its_management_object() {
    use dm_core::tree::ddf::Ddf;
    let with_defaults = FUMO_DDF
        .replace(
            "<NodeName>PkgName</NodeName><DFProperties>",
            "<NodeName>PkgName</NodeName><DFProperties><DefaultValue>fw-1.0</DefaultValue>",
        )
        .replace(
            "<NodeName>State</NodeName><DFProperties>",
            "<NodeName>State</NodeName><DFProperties><AccessType><Get/></AccessType><Scope><Permanent/></Scope>\
             <DefaultValue>10</DefaultValue>",
        );
    let ddf = Ddf::parse(&with_defaults).unwrap();
    let mut t = MemoryTree::new();
    t.set_acl(".", "Get=*&Replace=*&Delete=*").unwrap();
    ddf.instantiate(&mut t, "./FUMO").unwrap();
    let made: Vec<String> = t.uris().into_iter().filter(|u| u.starts_with("./FUMO")).collect();
    assert_eq!(made, ["./FUMO", "./FUMO/PkgName", "./FUMO/State", "./FUMO/Update", "./FUMO/Update/PkgURL"]);
    assert_eq!((t.value("./FUMO/PkgName"), t.value("./FUMO/State")), (Some("fw-1.0"), Some("10")));
    assert_eq!(t.get_property(SRV, "./FUMO/State", "Format"), Ok("int".into()));
    assert_eq!(t.replace(SRV, "./FUMO/State", Leaf::text("11")), Err(S::COMMAND_NOT_ALLOWED), "AccessType Get");
    assert_eq!(Tree::delete(&mut t, SRV, "./FUMO/State"), Err(S::COMMAND_NOT_ALLOWED), "Scope Permanent");
    assert_eq!(ddf.check(&t, "./FUMO"), vec![]);
    // An unnamed node it requires is made once, named 1.
    let required = FUMO_DDF.replace("<ZeroOrN>2</ZeroOrN>", "<OneOrMore/>").replace(
        "<NodeName>Ext</NodeName><DFProperties><DFFormat><node/></DFFormat><Occurrence><ZeroOrOne/>",
        "<NodeName>Ext</NodeName><DFProperties><DFFormat><node/></DFFormat><Occurrence><One/>",
    );
    let ddf = Ddf::parse(&required).unwrap();
    let mut t = MemoryTree::new();
    ddf.instantiate(&mut t, "./FUMO").unwrap();
    assert_eq!(t.value("./FUMO/Ext/1"), Some(""));
    assert_eq!(ddf.check(&t, "./FUMO"), vec![]);
    // What the tree has is left as it is: a value, an unnamed node of its own (no `1` beside it).
    let mut t = MemoryTree::new();
    t.set_leaf("./FUMO/State", Leaf { format: "int".into(), type_: "text/plain".into(), data: b"50".to_vec() })
        .unwrap();
    t.set("./FUMO/Ext/mine", "x").unwrap();
    ddf.instantiate(&mut t, "./FUMO").unwrap();
    assert_eq!((t.value("./FUMO/State"), t.value("./FUMO/Ext/1")), (Some("50"), None));
    assert!(t.node("./FUMO/Update/PkgURL").is_some());
    // but for an interior node without a Type: it takes the MO's identifier; another stays.
    let mo_type = |t: &MemoryTree| match t.node("./FUMO") {
        Some(Node::Interior { type_, .. }) => type_,
        _ => None,
    };
    assert_eq!(mo_type(&t).as_deref(), Some("urn:oma:mo:oma-fumo:1.0"));
    t.set_interior("./FUMO", Some("urn:acme:fw")).unwrap();
    ddf.instantiate(&mut t, "./FUMO").unwrap();
    assert_eq!(mo_type(&t).as_deref(), Some("urn:acme:fw"));
    let binary = FUMO_DDF.replace(
        "<chr/></DFFormat><Occurrence><ZeroOrOne/>",
        "<bin/></DFFormat><DefaultValue>%</DefaultValue><Occurrence><ZeroOrOne/>",
    );
    let e = Ddf::parse(&binary).unwrap().instantiate(&mut MemoryTree::new(), "./FUMO").unwrap_err();
    assert!(e.0.starts_with("DDF node ./FUMO/PkgName: a DefaultValue that is not base64"), "{e}");
}

#[test]
fn a_ddf_that_cannot_be_read_is_refused_saying_why() {
    use dm_core::tree::ddf::Ddf;
    let deep = format!("<MgmtTree>{}{}</MgmtTree>", "<Node>".repeat(65), "</Node>".repeat(65));
    for (bad, why) in [
        (FUMO_DDF.replace("<ZeroOrN>2", "<ZeroOrN>two"), "ZeroOrN of \"two\", not a number"),
        (FUMO_DDF.replace("<One/>", "<Once/>"), "an Occurrence of Once"),
        (FUMO_DDF.replace("dm_ddf-v1_2.dtd\">", "dm_ddf-v1_2.dtd\" [<!ENTITY e \"x\">]>"), "a DOCTYPE"),
        (deep, "nodes nested past 64"),
        ("<MgmtTree/>".to_string(), "no Node"),
        ("<MgmtTree><Node>".to_string(), "a Node left open"),
    ] {
        let e = Ddf::parse(&bad).unwrap_err();
        assert!(e.0.starts_with("not a DDF document that can be read: ") && e.0.contains(why), "{e}");
    }
}

/// Found by fuzzing: a TNDS NodeName holding `/` made nodes the document does not show (now
/// 400), and a value's white space at either end was lost on the way back (now kept; names and
/// properties are trimmed).
#[test]
fn tnds_names_are_one_segment_and_values_keep_their_white_space() {
    let doc = |name: &str, value: &str| {
        format!("<MgmtTree><Node><NodeName>{name}</NodeName><Path>.</Path><Value>{value}</Value></Node></MgmtTree>")
    };
    for name in ["a/b", "..", "a?b"] {
        assert_eq!(tnds::parse(&doc(name, "x"), ".", UriLimits::default()), Err(S::BAD_REQUEST), "{name}");
    }
    let mut t = MemoryTree::new();
    t.extend_from_tnds(&doc("\n  Padded  ", "  two spaces each side  "), ".").unwrap();
    assert_eq!(t.value("./Padded"), Some("  two spaces each side  "));
    let listed = tnds::tnds(&mut t, SRV, "./Padded", &PropSelection::All, usize::MAX).unwrap();
    let mut again = MemoryTree::new();
    again.extend_from_tnds(&listed, ".").unwrap();
    assert_eq!(again.node("./Padded"), t.node("./Padded"));
}
