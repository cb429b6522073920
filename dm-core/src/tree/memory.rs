//! An in-memory management tree with properties, ACLs, AccessType, permanent nodes and Exec
//! handlers. Local methods (`set`, `set_acl`, ...) are the device's own and skip the ACL; the
//! [`Tree`] methods are the server's and enforce it.
//!
//! Nodes hang below their parents by name, so that a subtree is deleted, renamed or put back by
//! an Atomic's rollback in one step, whatever lies below it.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use super::acl::{self, AclCommand};
use super::uri::{self, UriLimits};
use super::{Leaf, Node, Tree, lock, property_value};
use crate::model::StatusCode;

/// The commands a node supports (its DDF AccessType). Outside it a command gets 405.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access(u8);

impl Access {
    /// Add.
    pub const ADD: Access = Access(1);
    /// Copy.
    pub const COPY: Access = Access(2);
    /// Delete.
    pub const DELETE: Access = Access(4);
    /// Exec.
    pub const EXEC: Access = Access(8);
    /// Get.
    pub const GET: Access = Access(16);
    /// Replace.
    pub const REPLACE: Access = Access(32);
    /// Every command.
    pub const ALL: Access = Access(63);
    /// Each right by the name of its command, as AccessType names it.
    pub const NAMED: [(&'static str, Access); 6] = [
        ("Add", Access::ADD),
        ("Copy", Access::COPY),
        ("Delete", Access::DELETE),
        ("Exec", Access::EXEC),
        ("Get", Access::GET),
        ("Replace", Access::REPLACE),
    ];

    /// No command.
    pub const NONE: Access = Access(0);

    /// These rights and `other`.
    pub const fn with(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    /// These rights but `other`.
    pub const fn without(self, other: Access) -> Access {
        Access(self.0 & !other.0)
    }

    /// Whether every right of `other` is among these.
    pub const fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Default for Access {
    fn default() -> Self {
        Access::ALL
    }
}

/// Runs an Exec: data and correlator in, 200 or 202 (or an error code) out.
pub type ExecHandler = Box<dyn FnMut(Option<&[u8]>, Option<&str>) -> StatusCode + Send>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) interior: bool,
    pub(super) leaf: Leaf,
    pub(super) acl: String,
    pub(super) title: Option<String>,
    pub(super) tstamp: Option<String>,
    pub(super) verno: u16,
    pub(super) permanent: bool,
    pub(super) access: Access,
}

impl Entry {
    fn interior(type_: Option<String>) -> Entry {
        Entry {
            interior: true,
            leaf: Leaf { format: "node".into(), type_: type_.unwrap_or_default().into(), data: Vec::new() },
            acl: String::new(),
            title: None,
            tstamp: None,
            verno: 0,
            permanent: false,
            access: Access::ALL,
        }
    }

    fn leaf(leaf: Leaf) -> Entry {
        Entry { interior: false, leaf, ..Entry::interior(None) }
    }
}

/// A new value: VerNo moves on (wrapping at 16 bits), TStamp is now.
fn stamp(now: &Option<String>, e: &mut Entry, leaf: Leaf) {
    e.leaf = leaf;
    e.verno = e.verno.wrapping_add(1);
    e.tstamp.clone_from(now);
}

const ROOT: &str = ".";
const ROOT_ACL: &str = "Add=*&Get=*";
const INBOX: &str = "./Inbox";
const MAX_TITLE: usize = 255;

/// A node with what hangs below it: its Exec handler and its children, by name.
struct Slot {
    /// Which node this is, wherever renames move it (the journal's dedup key).
    id: u64,
    entry: Entry,
    exec: Option<ExecHandler>,
    children: BTreeMap<String, Box<Slot>>,
    /// What the subtree holds, this node included: kept up to date along the path of every
    /// change, so that a Delete and its rollback never walk the subtree.
    held: Held,
}

impl Slot {
    /// Each node of the subtree, this one first, without recursion (a tree may be deep).
    fn each(&self, mut f: impl FnMut(&Slot)) {
        let mut stack = vec![self];
        while let Some(s) = stack.pop() {
            f(s);
            stack.extend(s.children.values().map(|c| &**c));
        }
    }

    /// The node at `key`, this one being the root (`find_mut` of a tree, for a caller that
    /// borrows the tree's other fields beside it).
    fn below_mut(&mut self, key: &str) -> Option<&mut Slot> {
        segments(key)?.try_fold(self, |s, name| s.children.get_mut(name).map(|c| &mut **c))
    }

    /// A new node without children.
    fn new(id: u64, entry: Entry) -> Box<Slot> {
        Box::new(Slot { id, held: Held::of(&entry), entry, exec: None, children: BTreeMap::new() })
    }
}

/// What a subtree holds: bytes of leaf values, nodes, and permanent nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Held {
    bytes: usize,
    nodes: usize,
    permanent: usize,
}

impl Held {
    /// What one node holds.
    fn of(e: &Entry) -> Held {
        Held { bytes: e.leaf.data.len(), nodes: 1, permanent: usize::from(e.permanent) }
    }

    /// `self` with `add` added and `sub` taken away.
    fn changed(self, add: Held, sub: Held) -> Held {
        Held {
            bytes: self.bytes + add.bytes - sub.bytes,
            nodes: self.nodes + add.nodes - sub.nodes,
            permanent: self.permanent + add.permanent - sub.permanent,
        }
    }
}

/// Dropped a level at a time, without recursion.
impl Drop for Slot {
    fn drop(&mut self) {
        let mut stack: Vec<Box<Slot>> = std::mem::take(&mut self.children).into_values().collect();
        while let Some(mut s) = stack.pop() {
            if !s.children.is_empty() {
                stack.extend(std::mem::take(&mut s.children).into_values());
            }
        }
    }
}

/// A [`Tree`] held in memory, with ACLs, properties, Atomic snapshots and the DM tree rules
/// (facts §7); `load`/`save` keep it as JSON.
pub struct MemoryTree {
    root: Slot,
    next_id: u64,
    /// What an open transaction (Atomic) changed, to undo.
    journal: Option<Journal>,
    now: Option<String>,
    /// The most leaf bytes, and nodes, a server's commands may bring the tree to.
    capacity: usize,
    max_nodes: usize,
}

/// How to undo each change since `begin`, in order. Each node is saved once (its properties at
/// their first change, its value at its first change), so that changing it again (a Title
/// replaced a thousand times, between renames or not) costs no more; a value replaced goes to
/// the journal as it is, not copied.
#[derive(Default)]
struct Journal {
    undo: Vec<Undo>,
    /// Nodes whose value (and with it everything) is saved, or that are new.
    saved: HashSet<u64>,
    /// Nodes whose properties (everything but the value) are saved.
    saved_properties: HashSet<u64>,
}

enum Undo {
    /// The node at this key as it was.
    Entry(String, Entry),
    /// The node at this key as it was, but for its value.
    Properties(String, Entry),
    /// The node at this key did not exist.
    Absent(String),
    /// A deleted subtree, with its Exec handlers, to put back here.
    Attach(String, Box<Slot>),
    /// A subtree renamed from `from` to `to`, to move back.
    Move { from: String, to: String },
}

/// The leaf bytes a tree holds before a server's Add, Replace or Copy gets 420 (Device full).
pub const DEFAULT_CAPACITY: usize = 64 << 20;
/// The nodes a tree holds before a server's Add or Copy gets 420: every node costs memory,
/// value or not (about 300 bytes).
pub const DEFAULT_MAX_NODES: usize = 100_000;

impl std::fmt::Debug for MemoryTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTree").field("nodes", &self.root.held.nodes).finish()
    }
}

impl Default for MemoryTree {
    fn default() -> Self {
        MemoryTree::new()
    }
}

/// A char predicate, which splits short keys faster than the char pattern `'/'`.
fn is_slash(c: char) -> bool {
    c == '/'
}

/// The names of a key's segments below the root; `None` for a key that is not `.` or `./...`.
fn segments(key: &str) -> Option<impl Iterator<Item = &str>> {
    let rest = if key == ROOT { "" } else { key.strip_prefix("./")? };
    Some(rest.split(is_slash).filter(move |_| !rest.is_empty()))
}

impl MemoryTree {
    /// The longest ACL a server may set (413 past it): every command checks the ACL in force,
    /// so its length is a cost each command pays. Room for a few servers in each entry.
    pub const MAX_ACL: usize = 4096;

    /// An empty tree: the root, with ACL `Add=*&Get=*`.
    pub fn new() -> MemoryTree {
        let mut root = Entry::interior(None);
        root.acl = ROOT_ACL.into();
        root.permanent = true;
        MemoryTree {
            root: *Slot::new(0, root),
            next_id: 1,
            journal: None,
            now: None,
            capacity: DEFAULT_CAPACITY,
            max_nodes: DEFAULT_MAX_NODES,
        }
    }

    /// The most bytes of leaf values a server's commands may bring the tree to
    /// ([`DEFAULT_CAPACITY`] unless set); past it, Add, Replace and Copy get 420 (Device full).
    /// The device's own `set` calls are not held to it.
    pub fn set_capacity(&mut self, bytes: usize) {
        self.capacity = bytes;
    }

    /// Bytes of leaf values in the tree.
    pub fn leaf_bytes(&self) -> usize {
        self.root.held.bytes
    }

    /// The most nodes a server's commands may bring the tree to ([`DEFAULT_MAX_NODES`] unless
    /// set); past it, Add and Copy get 420 (Device full). The device's own calls are not held
    /// to it.
    pub fn set_max_nodes(&mut self, nodes: usize) {
        self.max_nodes = nodes;
    }

    /// Nodes in the tree, the root included.
    pub fn node_count(&self) -> usize {
        self.root.held.nodes
    }

    /// Whether every node's totals are those of its entry and its children's totals (for
    /// tests: one walk of the tree).
    #[doc(hidden)]
    pub fn totals_agree(&self) -> bool {
        let mut agree = true;
        self.root.each(|s| {
            let below = s.children.values().fold(Held::default(), |h, c| h.changed(c.held, Held::default()));
            agree &= s.held == Held::of(&s.entry).changed(below, Held::default());
        });
        agree
    }

    fn find(&self, key: &str) -> Option<&Slot> {
        segments(key)?.try_fold(&self.root, |s, name| s.children.get(name).map(|c| &**c))
    }

    fn find_mut(&mut self, key: &str) -> Option<&mut Slot> {
        self.root.below_mut(key)
    }

    pub(super) fn entry(&self, key: &str) -> Option<&Entry> {
        self.find(key).map(|s| &s.entry)
    }

    /// Adds a node under its existing parent (or puts `entry` in place of the node there): the
    /// one place nodes come and values change, so that their bytes are counted and a
    /// transaction can undo.
    fn put(&mut self, key: &str, entry: Entry) {
        let Some((parent, name)) = key.rsplit_once(is_slash) else { return };
        let (new, id) = (Held::of(&entry), self.next_id);
        let Some(p) = self.find_mut(parent) else { return };
        let (id, old) = match p.children.get_mut(name) {
            Some(s) => (s.id, Some(std::mem::replace(&mut s.entry, entry))),
            None => {
                p.children.insert(name.to_string(), Slot::new(id, entry));
                self.next_id += 1;
                (id, None)
            }
        };
        match &old {
            Some(o) => self.adjust(key, new, Held::of(o)),
            None => self.adjust(parent, new, Held::default()),
        }
        if let Some(journal) = &mut self.journal {
            if journal.saved.insert(id) {
                journal
                    .undo
                    .push(old.map_or_else(|| Undo::Absent(key.to_string()), |o| Undo::Entry(key.to_string(), o)));
            }
        }
    }

    /// Adds `add` to, and takes `sub` from, the totals of each node from the root to `key`.
    fn adjust(&mut self, key: &str, add: Held, sub: Held) {
        let mut slot = &mut self.root;
        slot.held = slot.held.changed(add, sub);
        for name in segments(key).into_iter().flatten() {
            let Some(child) = slot.children.get_mut(name) else { return };
            slot = child;
            slot.held = slot.held.changed(add, sub);
        }
    }

    /// Takes the subtree at `key` out of the tree, its totals with it.
    fn detach(&mut self, key: &str) -> Option<Box<Slot>> {
        let (parent, name) = key.rsplit_once(is_slash)?;
        let slot = self.find_mut(parent)?.children.remove(name)?;
        self.adjust(parent, Held::default(), slot.held);
        Some(slot)
    }

    /// Links a subtree at `key`, which is free (a rename's target, or a deleted subtree's place
    /// once the rollback has undone what came after), under its existing parent.
    fn attach(&mut self, key: &str, slot: Box<Slot>) {
        let Some((parent, name)) = key.rsplit_once(is_slash) else { return };
        let held = slot.held;
        let Some(p) = self.find_mut(parent) else { return };
        let replaced = p.children.insert(name.to_string(), slot);
        debug_assert!(replaced.is_none(), "a subtree attached over {key}");
        self.adjust(parent, held, Held::default());
    }

    /// Moves the subtree at `from` to `to`.
    fn relink(&mut self, from: &str, to: &str) {
        if let Some(slot) = self.detach(from) {
            self.attach(to, slot);
        }
    }

    /// Changes a node's properties (anything but its value) in place, undoable as `put` is.
    fn modify(&mut self, key: &str, change: impl FnOnce(&mut Entry)) -> Result<(), StatusCode> {
        let journal = &mut self.journal;
        let slot = self.root.below_mut(key).ok_or(StatusCode::NOT_FOUND)?;
        if let Some(journal) = journal {
            if !journal.saved.contains(&slot.id) && journal.saved_properties.insert(slot.id) {
                journal.undo.push(Undo::Properties(key.to_string(), slot.entry.clone_without_value()));
            }
        }
        let (before, value) = (Held::of(&slot.entry), std::mem::take(&mut slot.entry.leaf.data));
        change(&mut slot.entry);
        slot.entry.leaf.data = value;
        let after = Held::of(&slot.entry);
        if after != before {
            self.adjust(key, after, before);
        }
        Ok(())
    }

    /// Whether a server's command may replace `old` leaf bytes with `new` ones (420 if not).
    fn room(&self, old: usize, new: usize) -> Result<(), StatusCode> {
        if new <= old || self.leaf_bytes() - old + new <= self.capacity { Ok(()) } else { Err(StatusCode::DEVICE_FULL) }
    }

    /// The time TStamp records, as ISO 8601 basic UTC (`20010711T163817Z`). The tree has no clock:
    /// without this, TStamp is unsupported (406).
    pub fn set_time(&mut self, now: Option<String>) {
        self.now = now;
    }

    fn key(uri: &str) -> Result<Cow<'_, str>, StatusCode> {
        uri::normalize(uri, UriLimits::default())
    }

    /// Sets a `chr` leaf (device side, no ACL), creating parents.
    pub fn set(&mut self, uri: &str, value: &str) -> Result<(), StatusCode> {
        self.set_leaf(uri, Leaf::text(value))
    }

    /// Sets a leaf as the device does, past ACLs, creating missing parents.
    pub fn set_leaf(&mut self, uri: &str, leaf: Leaf) -> Result<(), StatusCode> {
        let key = Self::key(uri)?;
        let mut e = match self.entry(&key) {
            Some(e) if e.interior => return Err(StatusCode::COMMAND_NOT_ALLOWED),
            Some(e) => e.clone_without_value(),
            None => Entry::leaf(Leaf::default()),
        };
        self.make_parents(&key)?;
        stamp(&self.now, &mut e, leaf);
        self.put(&key, e);
        Ok(())
    }

    /// Creates an interior node (device side), with an optional MO type.
    pub fn set_interior(&mut self, uri: &str, type_: Option<&str>) -> Result<(), StatusCode> {
        let key = Self::key(uri)?;
        match self.entry(&key) {
            Some(e) if !e.interior => return Err(StatusCode::COMMAND_NOT_ALLOWED),
            Some(_) => self.modify(&key, |e| e.leaf.type_ = property_value(type_.unwrap_or_default()))?,
            None => {
                self.make_parents(&key)?;
                let mut e = Entry::interior(type_.map(str::to_string));
                e.tstamp.clone_from(&self.now);
                self.put(&key, e);
            }
        }
        Ok(())
    }

    fn modify_uri(&mut self, uri: &str, change: impl FnOnce(&mut Entry)) -> Result<(), StatusCode> {
        self.modify(&Self::key(uri)?, change)
    }

    /// Sets a node's ACL (device side).
    pub fn set_acl(&mut self, uri: &str, acl: &str) -> Result<(), StatusCode> {
        acl::validate(acl)?;
        self.modify_uri(uri, |e| e.acl = acl.into())
    }

    /// Marks a node permanent: a server cannot delete or rename it (405).
    pub fn set_permanent(&mut self, uri: &str, permanent: bool) -> Result<(), StatusCode> {
        self.modify_uri(uri, |e| e.permanent = permanent)
    }

    /// Sets which commands a node's AccessType allows.
    pub fn set_access(&mut self, uri: &str, access: Access) -> Result<(), StatusCode> {
        self.modify_uri(uri, |e| e.access = access)
    }

    /// Sets a node's Title property.
    pub fn set_title(&mut self, uri: &str, title: &str) -> Result<(), StatusCode> {
        self.modify_uri(uri, |e| e.title = Some(title.into()))
    }

    /// Registers what an Exec on the node at `uri` runs (404 if there is none). The handler
    /// belongs to the node: it moves with a rename (Name), goes with a Delete, and both come back
    /// on an Atomic's rollback.
    pub fn on_exec(&mut self, uri: &str, handler: ExecHandler) -> Result<(), StatusCode> {
        let key = Self::key(uri)?;
        self.find_mut(&key).ok_or(StatusCode::NOT_FOUND)?.exec = Some(handler);
        Ok(())
    }

    /// What an Exec by `server` on `uri` runs, taken out of the node after the checks the Exec
    /// gets (404, 405 without a handler or AccessType Exec, 425 by ACL), so that a tree shared
    /// behind a lock can run it unlocked, the handler free to use the tree. Give it back with
    /// `return_exec`.
    pub fn take_exec(&mut self, server: &str, uri: &str) -> Result<ExecHandler, StatusCode> {
        self.exec_slot(server, &Self::key(uri)?)?.take().ok_or(StatusCode::COMMAND_NOT_ALLOWED)
    }

    /// Where the handler an Exec by `server` on `key` runs is kept, after the Exec's checks.
    fn exec_slot(&mut self, server: &str, key: &str) -> Result<&mut Option<ExecHandler>, StatusCode> {
        self.existing(key, Access::EXEC)?;
        self.check(key, AclCommand::Exec, server)?;
        self.find_mut(key).map(|s| &mut s.exec).ok_or(StatusCode::NOT_FOUND)
    }

    /// Puts back a handler `take_exec` took, unless the node has gone or has a new one.
    pub fn return_exec(&mut self, uri: &str, handler: ExecHandler) {
        if let Some(slot) = Self::key(uri).ok().and_then(|key| self.find_mut(&key)) {
            slot.exec.get_or_insert(handler);
        }
    }

    /// A leaf's value as text, or `None` (missing, interior, or not UTF-8). Device side.
    pub fn value(&self, uri: &str) -> Option<&str> {
        let e = self.entry(&Self::key(uri).ok()?)?;
        if e.interior { None } else { std::str::from_utf8(&e.leaf.data).ok() }
    }

    /// A node's own ACL (empty: inherited). Device side.
    pub fn acl(&self, uri: &str) -> Option<&str> {
        self.entry(&Self::key(uri).ok()?).map(|e| e.acl.as_str())
    }

    /// A node as the device sees it (no ACL).
    pub fn node(&self, uri: &str) -> Option<Node> {
        self.find(&Self::key(uri).ok()?).map(node_of)
    }

    /// Every node URI, in tree order (a node, then its children by name).
    pub fn uris(&self) -> Vec<String> {
        self.entries().into_iter().map(|(uri, _)| uri).collect()
    }

    /// Every node with its URI, in tree order.
    pub(super) fn entries(&self) -> Vec<(String, &Entry)> {
        let mut out = Vec::new();
        let mut stack = vec![(ROOT.to_string(), &self.root)];
        while let Some((uri, s)) = stack.pop() {
            stack.extend(s.children.iter().rev().map(|(name, c)| (format!("{uri}/{name}"), &**c)));
            out.push((uri, &s.entry));
        }
        out
    }

    /// The names of `key`'s children, in name order.
    pub(super) fn children<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.find(key).into_iter().flat_map(|s| s.children.keys().map(String::as_str))
    }

    /// Creates the missing interior ancestors of `key` (empty ACL: they inherit), in one descent
    /// past finding the nearest existing one (405 if that is a leaf).
    fn make_parents(&mut self, key: &str) -> Result<(), StatusCode> {
        let Some(parent) = uri::parent(key) else { return Ok(()) };
        let (anchor, nearest) = self.nearest(parent);
        if !nearest.entry.interior {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        // The nodes to make below each node of the path, which its totals take.
        let mut below = parent[anchor.len()..].bytes().filter(|&b| b == b'/').count();
        if below == 0 {
            return Ok(());
        }
        let (now, journal, next_id) = (&self.now, &mut self.journal, &mut self.next_id);
        let (mut slot, mut at) = (&mut self.root, ROOT.len());
        for name in segments(parent).into_iter().flatten() {
            slot.held.nodes += below;
            at += 1 + name.len();
            if !slot.children.contains_key(name) {
                let mut entry = Entry::interior(None);
                entry.tstamp.clone_from(now);
                let id = *next_id;
                *next_id += 1;
                slot.children.insert(name.to_string(), Slot::new(id, entry));
                if let Some(journal) = journal.as_mut() {
                    journal.saved.insert(id);
                    journal.undo.push(Undo::Absent(key[..at].to_string()));
                }
                below -= 1;
            }
            let Some(child) = slot.children.get_mut(name) else { break };
            slot = child;
        }
        Ok(())
    }

    /// The nearest existing node at or above `key`: its key, and the node.
    fn nearest<'k>(&self, key: &'k str) -> (&'k str, &Slot) {
        let (mut slot, mut at) = (&self.root, ROOT.len());
        for name in segments(key).into_iter().flatten() {
            let Some(child) = slot.children.get(name) else { break };
            (slot, at) = (child, at + 1 + name.len());
        }
        (&key[..at], slot)
    }

    /// The node at `key`, if any, and the ACL in force there: its own, or the nearest non-empty
    /// ancestor's (a node that does not exist has none of its own); one descent finds both.
    fn located<'s>(&'s self, key: &str) -> (Option<&'s Slot>, &'s str) {
        let (mut slot, mut found) = (&self.root, true);
        let mut acl = slot.entry.acl.as_str();
        for name in segments(key).into_iter().flatten() {
            let Some(child) = slot.children.get(name) else {
                found = false;
                break;
            };
            slot = child;
            if !slot.entry.acl.is_empty() {
                acl = &slot.entry.acl;
            }
        }
        (found.then_some(slot), acl)
    }

    fn check(&self, key: &str, cmd: AclCommand, server: &str) -> Result<(), StatusCode> {
        allowed(self.located(key).1, cmd, server)
    }

    /// The node at `key` for a server's Get of its properties: 404 if missing, 425 if its ACL
    /// in force denies the Get; one descent.
    fn readable(&self, server: &str, key: &str) -> Result<&Entry, StatusCode> {
        let (slot, acl) = self.located(key);
        let e = &slot.ok_or(StatusCode::NOT_FOUND)?.entry;
        allowed(acl, AclCommand::Get, server)?;
        Ok(e)
    }

    fn existing(&self, key: &str, need: Access) -> Result<&Entry, StatusCode> {
        let e = self.entry(key).ok_or(StatusCode::NOT_FOUND)?;
        if e.access.contains(need) { Ok(e) } else { Err(StatusCode::COMMAND_NOT_ALLOWED) }
    }

    fn parent_acl_target(key: &str) -> &str {
        uri::parent(key).unwrap_or(key)
    }

    fn insert_new(&mut self, server: &str, key: &str, entry: Entry) -> Result<(), StatusCode> {
        let (interior, len) = (entry.interior, entry.leaf.data.len());
        self.insert_made(server, key, interior, len, |_| entry)
    }

    /// Inserts the node `make` makes once every check has passed (`interior` and `len`, its
    /// value's size, are what they check): a refused Copy copies nothing.
    fn insert_made(
        &mut self,
        server: &str,
        key: &str,
        interior: bool,
        len: usize,
        make: impl FnOnce(&Self) -> Entry,
    ) -> Result<(), StatusCode> {
        if self.find(key).is_some() {
            return Err(StatusCode::ALREADY_EXISTS);
        }
        let parent = Self::parent_acl_target(key);
        let (anchor, nearest) = self.nearest(parent);
        if !nearest.entry.interior || !nearest.entry.access.contains(Access::ADD) {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        self.check(anchor, AclCommand::Add, server)?;
        let creator_acl = interior && self.check(anchor, AclCommand::Replace, server).is_err();
        self.room(0, len)?;
        // The node and the ancestors made for it: one per segment below the anchor.
        let made = key[anchor.len()..].bytes().filter(|&b| b == b'/').count();
        if self.node_count() + made > self.max_nodes {
            return Err(StatusCode::DEVICE_FULL);
        }
        let mut entry = make(self);
        if creator_acl {
            entry.acl = acl::creator(server);
        }
        self.make_parents(key)?;
        entry.tstamp.clone_from(&self.now);
        entry.verno = 1;
        self.put(key, entry);
        Ok(())
    }

    /// Replaces a leaf's value with the one `make` makes once every check has passed (`len`:
    /// its size): a refused Copy copies nothing. The value replaced goes to the journal as it
    /// is, not copied.
    fn replace_made(
        &mut self,
        server: &str,
        key: &str,
        len: usize,
        make: impl FnOnce(&Self) -> Leaf,
    ) -> Result<(), StatusCode> {
        let e = self.existing(key, Access::REPLACE)?;
        if e.interior {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        self.check(key, AclCommand::Replace, server)?;
        self.room(e.leaf.data.len(), len)?;
        let mut entry = e.clone_without_value();
        stamp(&self.now, &mut entry, make(self));
        self.put(key, entry);
        Ok(())
    }

    fn rename(&mut self, key: &str, new_name: &str) -> Result<(), StatusCode> {
        let parent = uri::parent(key).ok_or(StatusCode::COMMAND_NOT_ALLOWED)?;
        let joined = format!("{parent}/{new_name}");
        let new_key = uri::normalize(&joined, UriLimits::default())?;
        if uri::parent(&new_key) != Some(parent) {
            return Err(StatusCode::BAD_REQUEST);
        }
        if self.find(&new_key).is_some() {
            return Err(StatusCode::ALREADY_EXISTS);
        }
        // The subtree moves whole, Exec handlers and all.
        self.relink(key, &new_key);
        if let Some(journal) = &mut self.journal {
            journal.undo.push(Undo::Move { from: key.to_string(), to: new_key.into_owned() });
        }
        Ok(())
    }
}

/// Property `name` of the node `e` at `key`.
fn property(e: &Entry, key: &str, name: &str) -> Result<String, StatusCode> {
    Ok(match name {
        "ACL" => e.acl.clone(),
        "Format" => e.leaf.format.to_string(),
        "Type" => e.leaf.type_.to_string(),
        "Name" => uri::name(key).to_string(),
        "Size" if !e.interior => e.leaf.data.len().to_string(),
        "Title" => e.title.clone().unwrap_or_default(),
        "TStamp" => e.tstamp.clone().ok_or(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED)?,
        "VerNo" => e.verno.to_string(),
        _ => return Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED),
    })
}

fn allowed(acl: &str, cmd: AclCommand, server: &str) -> Result<(), StatusCode> {
    if acl::allows(acl, cmd, server) { Ok(()) } else { Err(StatusCode::PERMISSION_DENIED) }
}

/// A node as a server's Get sees it: a leaf's value, or an interior node's children.
fn node_of(s: &Slot) -> Node {
    let e = &s.entry;
    if e.interior {
        let type_ = Some(e.leaf.type_.to_string()).filter(|t| !t.is_empty());
        Node::Interior { children: s.children.keys().cloned().collect(), type_ }
    } else {
        Node::Leaf(e.leaf.clone())
    }
}

impl Entry {
    /// Everything but the leaf's bytes.
    fn clone_without_value(&self) -> Entry {
        let leaf = Leaf { format: self.leaf.format.clone(), type_: self.leaf.type_.clone(), data: Vec::new() };
        Entry { leaf, acl: self.acl.clone(), title: self.title.clone(), tstamp: self.tstamp.clone(), ..*self }
    }
}

impl Tree for MemoryTree {
    fn get(&mut self, server: &str, key: &str) -> Result<Node, StatusCode> {
        let (slot, acl) = self.located(key);
        let slot = slot.ok_or(StatusCode::NOT_FOUND)?;
        if !slot.entry.access.contains(Access::GET) || key == INBOX || key.starts_with("./Inbox/") {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        allowed(acl, AclCommand::Get, server)?;
        Ok(node_of(slot))
    }

    fn add(&mut self, server: &str, key: &str, node: Node) -> Result<(), StatusCode> {
        let entry = match node {
            Node::Leaf(leaf) => Entry::leaf(leaf),
            Node::Interior { type_, .. } => Entry::interior(type_),
        };
        self.insert_new(server, key, entry)
    }

    fn replace(&mut self, server: &str, key: &str, value: Leaf) -> Result<(), StatusCode> {
        self.replace_made(server, key, value.data.len(), |_| value)
    }

    fn delete(&mut self, server: &str, key: &str) -> Result<(), StatusCode> {
        self.existing(key, Access::DELETE)?;
        if self.find(key).is_some_and(|s| s.held.permanent > 0) {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        self.check(key, AclCommand::Delete, server)?;
        // The subtree goes whole, Exec handlers and all: kept by an open transaction, else dropped.
        let slot = self.detach(key).ok_or(StatusCode::NOT_FOUND)?;
        if let Some(journal) = &mut self.journal {
            journal.undo.push(Undo::Attach(key.to_string(), slot));
        }
        Ok(())
    }

    fn copy(&mut self, server: &str, source: &str, target: &str) -> Result<(), StatusCode> {
        let src = self.existing(source, Access::COPY)?;
        if src.interior {
            return Err(StatusCode::FORBIDDEN);
        }
        self.check(source, AclCommand::Get, server)?;
        let len = src.leaf.data.len();
        let copied = |tree: &Self| tree.entry(source).map(|e| e.leaf.clone()).unwrap_or_default();
        match self.entry(target) {
            Some(t) if t.interior => Err(StatusCode::FORBIDDEN),
            Some(_) => self.replace_made(server, target, len, copied),
            None => self.insert_made(server, target, false, len, |tree| Entry::leaf(copied(tree))),
        }
    }

    fn exec(
        &mut self,
        server: &str,
        key: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<StatusCode, StatusCode> {
        let handler = self.exec_slot(server, key)?.as_mut().ok_or(StatusCode::COMMAND_NOT_ALLOWED)?;
        handler(data, correlator).result()
    }

    fn exec_shared(
        shared: &Mutex<Self>,
        server: &str,
        uri: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<StatusCode, StatusCode> {
        let mut handler = lock(shared).take_exec(server, uri)?;
        let status = handler(data, correlator);
        lock(shared).return_exec(uri, handler);
        status.result()
    }

    fn get_property(&mut self, server: &str, key: &str, name: &str) -> Result<String, StatusCode> {
        let e = self.readable(server, key)?;
        property(e, key, name)
    }

    /// One descent and one ACL check for all of them.
    fn get_properties(&mut self, server: &str, key: &str, names: &[&str]) -> Vec<Result<String, StatusCode>> {
        match self.readable(server, key) {
            Ok(e) => names.iter().map(|name| property(e, key, name)).collect(),
            Err(code) => vec![Err(code); names.len()],
        }
    }

    fn replace_property(&mut self, server: &str, key: &str, name: &str, value: &str) -> Result<(), StatusCode> {
        let e = self.entry(key).ok_or(StatusCode::NOT_FOUND)?;
        match name {
            "ACL" => {
                // Changing an ACL takes Replace rights on the parent (TND §7.7.1).
                self.check(Self::parent_acl_target(key), AclCommand::Replace, server)?;
                if value.len() > Self::MAX_ACL {
                    return Err(StatusCode::REQUEST_ENTITY_TOO_LARGE);
                }
                acl::validate(value)?;
                self.modify(key, |e| e.acl = value.into())?;
            }
            "Name" => {
                if e.permanent {
                    return Err(StatusCode::COMMAND_NOT_ALLOWED);
                }
                self.check(key, AclCommand::Replace, server)?;
                self.rename(key, value)?;
            }
            "Title" => {
                self.check(key, AclCommand::Replace, server)?;
                if value.len() > MAX_TITLE {
                    return Err(StatusCode::REQUEST_ENTITY_TOO_LARGE);
                }
                self.modify(key, |e| e.title = Some(value.into()))?;
            }
            "Format" | "Type" | "Size" | "TStamp" | "VerNo" => return Err(StatusCode::COMMAND_NOT_ALLOWED),
            _ => return Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED),
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), StatusCode> {
        if self.journal.is_some() {
            return Err(StatusCode::COMMAND_FAILED);
        }
        self.journal = Some(Journal::default());
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StatusCode> {
        self.journal.take().map(|_| ()).ok_or(StatusCode::COMMAND_FAILED)
    }

    /// Undoes each change since `begin`, last first: nodes as they were, deleted subtrees put
    /// back and renamed ones moved back, Exec handlers with them.
    fn rollback(&mut self) -> Result<(), StatusCode> {
        let journal = self.journal.take().ok_or(StatusCode::ATOMIC_ROLLBACK_FAILED)?;
        for undo in journal.undo.into_iter().rev() {
            match undo {
                Undo::Entry(key, entry) => self.put(&key, entry),
                Undo::Properties(key, entry) => _ = self.modify(&key, |e| *e = entry),
                Undo::Absent(key) => drop(self.detach(&key)),
                Undo::Attach(key, slot) => self.attach(&key, slot),
                Undo::Move { from, to } => self.relink(&to, &from),
            }
        }
        Ok(())
    }

    fn uri_limits(&mut self) -> UriLimits {
        let mut limits = UriLimits::default();
        let Some(dir) = self.find("./DevDetail/URI") else { return limits };
        for (name, s) in dir.children.iter().filter(|(_, s)| !s.entry.interior) {
            let slot = match name.as_str() {
                "MaxDepth" => &mut limits.max_depth,
                "MaxTotLen" => &mut limits.max_tot_len,
                "MaxSegLen" => &mut limits.max_seg_len,
                _ => continue,
            };
            *slot = std::str::from_utf8(&s.entry.leaf.data).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        }
        limits
    }
}
