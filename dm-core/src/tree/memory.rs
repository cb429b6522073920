//! An in-memory management tree with properties, ACLs, AccessType, permanent nodes and Exec
//! handlers. Local methods (`set`, `set_acl`, ...) are the device's own and skip the ACL; the
//! [`Tree`] methods are the server's and enforce it.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;

use super::acl::{self, AclCommand};
use super::uri::{self, UriLimits};
use super::{Leaf, Node, Tree, property_value};
use crate::model::StatusCode;

/// The commands a node supports (its DDF AccessType). Outside it a command gets 405.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access(u8);

impl Access {
    pub const ADD: Access = Access(1);
    pub const COPY: Access = Access(2);
    pub const DELETE: Access = Access(4);
    pub const EXEC: Access = Access(8);
    pub const GET: Access = Access(16);
    pub const REPLACE: Access = Access(32);
    pub const ALL: Access = Access(63);

    pub const fn without(self, other: Access) -> Access {
        Access(self.0 & !other.0)
    }

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

pub struct MemoryTree {
    pub(super) nodes: BTreeMap<String, Entry>,
    /// What an open transaction (Atomic) changed, to undo.
    journal: Option<Journal>,
    exec: HashMap<String, ExecHandler>,
    now: Option<String>,
    /// Bytes of leaf values, and the most a server's commands may bring it to.
    bytes: usize,
    capacity: usize,
}

/// Each node changed, as it was at `begin` (`None`: it did not exist), in the order of their
/// first changes; and how to undo each change to the Exec handlers, by the key the handler had
/// after it.
#[derive(Default)]
struct Journal {
    nodes: Vec<(String, Option<Entry>)>,
    /// The keys in `nodes`: a node is saved at its first change only, so that changing it again
    /// (a Title replaced a thousand times, a subtree renamed back and forth) costs no more copies.
    saved: HashSet<String>,
    handlers: Vec<(String, HandlerUndo)>,
}

impl Journal {
    fn save(&mut self, key: &str, before: impl FnOnce() -> Option<Entry>) {
        if !self.saved.contains(key) {
            self.saved.insert(key.to_string());
            self.nodes.push((key.to_string(), before()));
        }
    }
}

enum HandlerUndo {
    /// A deleted node's handler, to put back.
    Restore(ExecHandler),
    /// A renamed node's handler, to move back to this key.
    MoveBack(String),
}

/// The leaf bytes a tree holds before a server's Add, Replace or Copy gets 420 (Device full).
pub const DEFAULT_CAPACITY: usize = 64 << 20;

impl std::fmt::Debug for MemoryTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTree").field("nodes", &self.nodes.len()).finish()
    }
}

impl Default for MemoryTree {
    fn default() -> Self {
        MemoryTree::new()
    }
}

impl MemoryTree {
    /// An empty tree: the root, with ACL `Add=*&Get=*`.
    pub fn new() -> MemoryTree {
        let mut root = Entry::interior(None);
        root.acl = ROOT_ACL.into();
        root.permanent = true;
        MemoryTree {
            nodes: BTreeMap::from([(ROOT.to_string(), root)]),
            journal: None,
            exec: HashMap::new(),
            now: None,
            bytes: 0,
            capacity: DEFAULT_CAPACITY,
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
        self.bytes
    }

    /// Puts `entry` at `key`, or removes the node (`None`), returning the node it replaced: the
    /// one place nodes come and go, so that their bytes are counted and a transaction can undo.
    fn put(&mut self, key: &str, entry: Option<Entry>) -> Option<Entry> {
        let old = match entry {
            Some(e) => {
                self.bytes += e.leaf.data.len();
                self.nodes.insert(key.to_string(), e)
            }
            None => self.nodes.remove(key),
        };
        self.bytes -= old.as_ref().map_or(0, |o| o.leaf.data.len());
        if let Some(journal) = &mut self.journal {
            journal.save(key, || old.clone());
        }
        old
    }

    /// Changes the node at `key` in place, counted and undoable as `put` is.
    fn modify(&mut self, key: &str, change: impl FnOnce(&mut Entry)) -> Result<(), StatusCode> {
        let e = self.nodes.get_mut(key).ok_or(StatusCode::NOT_FOUND)?;
        if let Some(journal) = &mut self.journal {
            journal.save(key, || Some(e.clone()));
        }
        let before = e.leaf.data.len();
        change(e);
        self.bytes = self.bytes - before + e.leaf.data.len();
        Ok(())
    }

    /// Whether a server's command may replace `old` leaf bytes with `new` ones (420 if not).
    fn room(&self, old: usize, new: usize) -> Result<(), StatusCode> {
        if new <= old || self.bytes - old + new <= self.capacity { Ok(()) } else { Err(StatusCode::DEVICE_FULL) }
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

    pub fn set_leaf(&mut self, uri: &str, leaf: Leaf) -> Result<(), StatusCode> {
        let key = Self::key(uri)?;
        if self.nodes.get(&*key).is_some_and(|e| e.interior) {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        self.make_parents(&key)?;
        if self.nodes.contains_key(&*key) {
            let now = self.now.clone();
            return self.modify(&key, |e| stamp(&now, e, leaf));
        }
        let mut e = Entry::leaf(Leaf::default());
        stamp(&self.now, &mut e, leaf);
        self.put(&key, Some(e));
        Ok(())
    }

    /// Creates an interior node (device side), with an optional MO type.
    pub fn set_interior(&mut self, uri: &str, type_: Option<&str>) -> Result<(), StatusCode> {
        let key = Self::key(uri)?;
        match self.nodes.get(&*key) {
            Some(e) if !e.interior => return Err(StatusCode::COMMAND_NOT_ALLOWED),
            Some(_) => self.modify(&key, |e| e.leaf.type_ = property_value(type_.unwrap_or_default()))?,
            None => {
                self.make_parents(&key)?;
                let mut e = Entry::interior(type_.map(str::to_string));
                e.tstamp.clone_from(&self.now);
                self.put(&key, Some(e));
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

    pub fn set_access(&mut self, uri: &str, access: Access) -> Result<(), StatusCode> {
        self.modify_uri(uri, |e| e.access = access)
    }

    pub fn set_title(&mut self, uri: &str, title: &str) -> Result<(), StatusCode> {
        self.modify_uri(uri, |e| e.title = Some(title.into()))
    }

    /// Registers what an Exec on `uri` runs. The handler belongs to the node: it moves with a
    /// rename (Name), goes with a Delete, and both come back on an Atomic's rollback.
    pub fn on_exec(&mut self, uri: &str, handler: ExecHandler) -> Result<(), StatusCode> {
        self.exec.insert(Self::key(uri)?.into_owned(), handler);
        Ok(())
    }

    /// A leaf's value as text, or `None` (missing, interior, or not UTF-8). Device side.
    pub fn value(&self, uri: &str) -> Option<&str> {
        let e = self.nodes.get(&*Self::key(uri).ok()?)?;
        if e.interior { None } else { std::str::from_utf8(&e.leaf.data).ok() }
    }

    /// A node's own ACL (empty: inherited). Device side.
    pub fn acl(&self, uri: &str) -> Option<&str> {
        self.nodes.get(&*Self::key(uri).ok()?).map(|e| e.acl.as_str())
    }

    /// A node as the device sees it (no ACL).
    pub fn node(&self, uri: &str) -> Option<Node> {
        let key = Self::key(uri).ok()?;
        let e = self.nodes.get(&*key)?;
        Some(self.node_of(&key, e))
    }

    fn node_of(&self, key: &str, e: &Entry) -> Node {
        if e.interior {
            let type_ = Some(e.leaf.type_.to_string()).filter(|t| !t.is_empty());
            Node::Interior { children: self.children(key).map(str::to_string).collect(), type_ }
        } else {
            Node::Leaf(e.leaf.clone())
        }
    }

    /// Every node URI, in tree order.
    pub fn uris(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    /// The names of `key`'s children, in key order: a walk over the keys below `key` that skips
    /// each child's descendants in one seek, whatever lies below them.
    pub(super) fn children<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> + 'a {
        let prefix = format!("{key}/");
        let mut keys = self.nodes.range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded));
        std::iter::from_fn(move || {
            loop {
                let (k, _) = keys.next()?;
                let rest = k.strip_prefix(prefix.as_str())?;
                let Some(at) = rest.find('/') else { return Some(uri::name(k)) };
                // Below child `rest[..at]`: its descendants sort before `<child>0` ('0' follows '/').
                let past = format!("{prefix}{}0", &rest[..at]);
                keys = self.nodes.range::<str, _>((Bound::Included(past.as_str()), Bound::Unbounded));
            }
        })
    }

    fn subtree_keys(&self, key: &str) -> Vec<String> {
        let prefix = format!("{key}/");
        std::iter::once(key.to_string())
            .chain(
                self.nodes.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()),
            )
            .collect()
    }

    /// Creates the missing interior ancestors of `key` (empty ACL: they inherit).
    fn make_parents(&mut self, key: &str) -> Result<(), StatusCode> {
        let Some(parent) = uri::parent(key) else { return Ok(()) };
        match self.nodes.get(parent) {
            Some(e) if e.interior => Ok(()),
            Some(_) => Err(StatusCode::COMMAND_NOT_ALLOWED),
            None => {
                self.make_parents(parent)?;
                let mut e = Entry::interior(None);
                e.tstamp.clone_from(&self.now);
                self.put(parent, Some(e));
                Ok(())
            }
        }
    }

    /// The nearest existing node at or above `key`.
    fn nearest<'k>(&self, key: &'k str) -> &'k str {
        let mut k = key;
        while !self.nodes.contains_key(k) {
            match uri::parent(k) {
                Some(p) => k = p,
                None => return ROOT,
            }
        }
        k
    }

    /// The ACL in force at `key`: its own, or the nearest non-empty ancestor's (a node that
    /// does not exist has none of its own).
    fn effective_acl<'s>(&'s self, key: &str) -> &'s str {
        let mut k = key;
        loop {
            match self.nodes.get(k) {
                Some(e) if !e.acl.is_empty() => return &e.acl,
                _ => match uri::parent(k) {
                    Some(p) => k = p,
                    None => return "",
                },
            }
        }
    }

    fn check(&self, key: &str, cmd: AclCommand, server: &str) -> Result<(), StatusCode> {
        if acl::allows(self.effective_acl(key), cmd, server) { Ok(()) } else { Err(StatusCode::PERMISSION_DENIED) }
    }

    fn existing(&self, key: &str, need: Access) -> Result<&Entry, StatusCode> {
        let e = self.nodes.get(key).ok_or(StatusCode::NOT_FOUND)?;
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
        if self.nodes.contains_key(key) {
            return Err(StatusCode::ALREADY_EXISTS);
        }
        let parent = Self::parent_acl_target(key);
        let anchor = self.nearest(parent).to_string();
        let anchor_entry = self.nodes.get(&anchor).ok_or(StatusCode::NOT_FOUND)?;
        if !anchor_entry.interior || !anchor_entry.access.contains(Access::ADD) {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        self.check(&anchor, AclCommand::Add, server)?;
        let creator_acl = interior && self.check(&anchor, AclCommand::Replace, server).is_err();
        self.room(0, len)?;
        let mut entry = make(self);
        if creator_acl {
            entry.acl = acl::creator(server);
        }
        self.make_parents(key)?;
        entry.tstamp.clone_from(&self.now);
        entry.verno = 1;
        self.put(key, Some(entry));
        Ok(())
    }

    /// Replaces a leaf's value with the one `make` makes once every check has passed (`len`:
    /// its size): a refused Copy copies nothing.
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
        let value = make(self);
        let now = self.now.clone();
        self.modify(key, |e| stamp(&now, e, value))
    }

    fn rename(&mut self, key: &str, new_name: &str) -> Result<(), StatusCode> {
        let parent = uri::parent(key).ok_or(StatusCode::COMMAND_NOT_ALLOWED)?;
        let joined = format!("{parent}/{new_name}");
        let new_key = uri::normalize(&joined, UriLimits::default())?;
        if uri::parent(&new_key) != Some(parent) {
            return Err(StatusCode::BAD_REQUEST);
        }
        if self.nodes.contains_key(&*new_key) {
            return Err(StatusCode::ALREADY_EXISTS);
        }
        for k in self.subtree_keys(key) {
            let moved = format!("{new_key}{}", &k[key.len()..]);
            if let Some(e) = self.put(&k, None) {
                self.put(&moved, Some(e));
            }
            // The node keeps its Exec handler under its new name.
            if let Some(handler) = self.exec.remove(&k) {
                self.exec.insert(moved.clone(), handler);
                if let Some(journal) = &mut self.journal {
                    journal.handlers.push((moved, HandlerUndo::MoveBack(k)));
                }
            }
        }
        Ok(())
    }
}

impl Tree for MemoryTree {
    fn get(&mut self, server: &str, key: &str) -> Result<Node, StatusCode> {
        let e = self.existing(key, Access::GET)?;
        if key == INBOX || key.starts_with("./Inbox/") {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        self.check(key, AclCommand::Get, server)?;
        Ok(self.node_of(key, e))
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
        let keys = self.subtree_keys(key);
        if keys.iter().any(|k| self.nodes.get(k).is_some_and(|e| e.permanent)) {
            return Err(StatusCode::COMMAND_NOT_ALLOWED);
        }
        self.check(key, AclCommand::Delete, server)?;
        for k in keys {
            self.put(&k, None);
            if let Some(handler) = self.exec.remove(&k) {
                match &mut self.journal {
                    Some(journal) => journal.handlers.push((k, HandlerUndo::Restore(handler))),
                    None => drop(handler),
                }
            }
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
        let copied = |tree: &Self| tree.nodes.get(source).map(|e| e.leaf.clone()).unwrap_or_default();
        match self.nodes.get(target) {
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
        self.existing(key, Access::EXEC)?;
        self.check(key, AclCommand::Exec, server)?;
        let handler = self.exec.get_mut(key).ok_or(StatusCode::COMMAND_NOT_ALLOWED)?;
        let status = handler(data, correlator);
        if status.is_success() { Ok(status) } else { Err(status) }
    }

    fn get_property(&mut self, server: &str, key: &str, name: &str) -> Result<String, StatusCode> {
        let e = self.nodes.get(key).ok_or(StatusCode::NOT_FOUND)?;
        self.check(key, AclCommand::Get, server)?;
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

    fn replace_property(&mut self, server: &str, key: &str, name: &str, value: &str) -> Result<(), StatusCode> {
        let e = self.nodes.get(key).ok_or(StatusCode::NOT_FOUND)?;
        match name {
            "ACL" => {
                // Changing an ACL takes Replace rights on the parent (TND §7.7.1).
                self.check(Self::parent_acl_target(key), AclCommand::Replace, server)?;
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

    /// Puts back each node changed since `begin`, last change first, and each Exec handler
    /// deleted or moved with its node.
    fn rollback(&mut self) -> Result<(), StatusCode> {
        let journal = self.journal.take().ok_or(StatusCode::ATOMIC_ROLLBACK_FAILED)?;
        for (key, old) in journal.nodes.into_iter().rev() {
            self.put(&key, old);
        }
        for (key, undo) in journal.handlers.into_iter().rev() {
            match undo {
                HandlerUndo::Restore(handler) => _ = self.exec.insert(key, handler),
                HandlerUndo::MoveBack(old) => {
                    if let Some(handler) = self.exec.remove(&key) {
                        self.exec.insert(old, handler);
                    }
                }
            }
        }
        Ok(())
    }

    fn uri_limits(&mut self) -> UriLimits {
        // The three leaves side by side among the keys: one descent of the map finds them all.
        const DIR: &str = "./DevDetail/URI/";
        let mut limits = UriLimits::default();
        let after = (Bound::Excluded(DIR), Bound::Excluded("./DevDetail/URI0"));
        for (key, e) in self.nodes.range::<str, _>(after).filter(|(_, e)| !e.interior) {
            let slot = match &key[DIR.len()..] {
                "MaxDepth" => &mut limits.max_depth,
                "MaxTotLen" => &mut limits.max_tot_len,
                "MaxSegLen" => &mut limits.max_seg_len,
                _ => continue,
            };
            *slot = std::str::from_utf8(&e.leaf.data).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        }
        limits
    }
}
