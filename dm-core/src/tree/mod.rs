//! The management tree a client session executes the server's commands against.
//!
//! [`Tree`] is what the session engine calls; each operation answers with the DM status code the
//! specification gives (404, 405, 406, 418, 425, ...), never a Rust error the engine must map;
//! a code outside 200–599, or a success given as an `Err`, is answered 500 (Command failed).
//! URIs reach it normalized (`./A/B`, see [`uri`]); `?prop=` and `?list=` queries are split off by
//! the engine, and `?list=` is answered for any tree by [`tnds`]. [`MemoryTree`] is the tree for
//! everyone who does not bring their own.

pub mod acl;
pub mod ddf;
mod json;
mod memory;
pub mod objects;
pub mod tnds;
pub mod uri;

pub use memory::{Access, DEFAULT_CAPACITY, DEFAULT_MAX_NODES, ExecHandler, MemoryTree};

use std::borrow::Cow;

use crate::codec::is_xml_text;
use crate::model::StatusCode;

/// A leaf's value with its Format and Type properties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leaf {
    /// `chr`, `bin`, `int`, `bool`, `b64`, `xml`, `float`, `date`, `time`, `null`.
    pub format: Cow<'static, str>,
    /// MIME type, `text/plain` by default.
    pub type_: Cow<'static, str>,
    /// The value's bytes (`bin` as they are; `chr` and the others as UTF-8 text).
    pub data: Vec<u8>,
}

pub(crate) use crate::model::property_value;

impl Leaf {
    /// A `chr` `text/plain` leaf.
    pub fn text(value: impl Into<String>) -> Leaf {
        Leaf { format: "chr".into(), type_: "text/plain".into(), data: value.into().into_bytes() }
    }
}

/// What Get returns: a leaf's value, or an interior node's children (Format `node`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A leaf and its value.
    Leaf(Leaf),
    /// Child names in tree order, each one URI segment (else a Get or listing of the node is
    /// answered 500); `type_` is the MO identifier, if the node has one.
    Interior {
        /// The children's names.
        children: Vec<String>,
        /// The MO identifier.
        type_: Option<String>,
    },
}

impl Node {
    /// The node, or 500 when a message cannot carry what it names, as a tree of the caller's
    /// might give: a child name that is no URI segment (empty, `.`, `..`, or with `/`, `?` or
    /// NUL; it would go out as another node's URI), or a name, Format or Type that is not XML
    /// text. A leaf's value is no such fault: it goes as bytes.
    pub(crate) fn sendable(self) -> Result<Node, StatusCode> {
        let fine = match &self {
            Node::Interior { children, type_ } => {
                children.iter().all(|c| uri::is_segment(c.as_bytes()) && is_xml_text(c))
                    && type_.as_deref().is_none_or(is_xml_text)
            }
            Node::Leaf(l) => is_xml_text(&l.format) && is_xml_text(&l.type_),
        };
        if fine { Ok(self) } else { Err(StatusCode::COMMAND_FAILED) }
    }
}

/// A text of the tree's (a property's value) as a message carries it: 500 when XML cannot.
pub(crate) fn xml_text(text: String) -> Result<String, StatusCode> {
    if is_xml_text(&text) { Ok(text) } else { Err(StatusCode::COMMAND_FAILED) }
}

/// The operations a server's commands become. `server` is the server id the ACL is checked
/// against. `Ok(())` is 200.
pub trait Tree {
    /// The node at `uri`: a leaf with its value, or an interior node with its children's names.
    fn get(&mut self, server: &str, uri: &str) -> Result<Node, StatusCode>;
    /// Adds a leaf or (with `Node::Interior`, children ignored) an interior node; missing
    /// interior parents are created.
    fn add(&mut self, server: &str, uri: &str, node: Node) -> Result<(), StatusCode>;
    /// Replaces an existing leaf's value (404 when there is none).
    fn replace(&mut self, server: &str, uri: &str, value: Leaf) -> Result<(), StatusCode>;
    /// Deletes the node and its whole subtree.
    fn delete(&mut self, server: &str, uri: &str) -> Result<(), StatusCode>;
    /// Copies a leaf onto a leaf (created when missing).
    fn copy(&mut self, server: &str, source: &str, target: &str) -> Result<(), StatusCode>;
    /// Runs an executable node: `Ok(200)`, or `Ok(202)` when the result comes later
    /// (as a Generic Alert carrying `correlator`).
    fn exec(
        &mut self,
        server: &str,
        uri: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<StatusCode, StatusCode>;

    /// `exec` on a tree shared behind a lock (a shared tree's `Tree`). By default it runs
    /// locked; a tree whose Exec runs code of the caller's (MemoryTree's handlers) runs that
    /// unlocked, so that the code can use the tree.
    fn exec_shared(
        shared: &std::sync::Mutex<Self>,
        server: &str,
        uri: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<StatusCode, StatusCode>
    where
        Self: Sized,
    {
        lock(shared).exec(server, uri, data, correlator)
    }

    /// One property of a node (`ACL`, `Format`, `Name`, `Size`, `Title`, `TStamp`, `Type`,
    /// `VerNo`), as `?prop=` Gets it; 406 unless the tree keeps properties.
    fn get_property(&mut self, server: &str, uri: &str, name: &str) -> Result<String, StatusCode> {
        let _ = (server, uri, name);
        Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED)
    }

    /// Several properties of one node, each as `get_property` gives it (a TNDS listing asks
    /// for them node by node): a tree that can find the node and check its ACL once for all
    /// of them overrides this.
    fn get_properties(&mut self, server: &str, uri: &str, names: &[&str]) -> Vec<Result<String, StatusCode>> {
        names.iter().map(|name| self.get_property(server, uri, name)).collect()
    }

    /// Replaces a property (`ACL`, `Name`, `Title`), as `?prop=` Replaces it; 406 unless the
    /// tree keeps properties.
    fn replace_property(&mut self, server: &str, uri: &str, name: &str, value: &str) -> Result<(), StatusCode> {
        let _ = (server, uri, name, value);
        Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED)
    }

    /// Atomic: everything between `begin` and `commit` is undone by `rollback`.
    fn begin(&mut self) -> Result<(), StatusCode> {
        Err(StatusCode::NOT_IMPLEMENTED)
    }

    /// Ends an Atomic whose commands all succeeded.
    fn commit(&mut self) -> Result<(), StatusCode> {
        Err(StatusCode::NOT_IMPLEMENTED)
    }

    /// Undoes everything since `begin` (an Atomic with a failed command).
    fn rollback(&mut self) -> Result<(), StatusCode> {
        Err(StatusCode::ATOMIC_ROLLBACK_FAILED)
    }

    /// The limits of `./DevDetail/URI`; URIs past them get 414.
    fn uri_limits(&mut self) -> uri::UriLimits {
        uri::UriLimits::default()
    }
}

impl<T: Tree + ?Sized> Tree for Box<T> {
    fn get(&mut self, server: &str, uri: &str) -> Result<Node, StatusCode> {
        (**self).get(server, uri)
    }
    fn add(&mut self, server: &str, uri: &str, node: Node) -> Result<(), StatusCode> {
        (**self).add(server, uri, node)
    }
    fn replace(&mut self, server: &str, uri: &str, value: Leaf) -> Result<(), StatusCode> {
        (**self).replace(server, uri, value)
    }
    fn delete(&mut self, server: &str, uri: &str) -> Result<(), StatusCode> {
        (**self).delete(server, uri)
    }
    fn copy(&mut self, server: &str, source: &str, target: &str) -> Result<(), StatusCode> {
        (**self).copy(server, source, target)
    }
    fn exec(
        &mut self,
        server: &str,
        uri: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<StatusCode, StatusCode> {
        (**self).exec(server, uri, data, correlator)
    }
    fn get_property(&mut self, server: &str, uri: &str, name: &str) -> Result<String, StatusCode> {
        (**self).get_property(server, uri, name)
    }
    fn get_properties(&mut self, server: &str, uri: &str, names: &[&str]) -> Vec<Result<String, StatusCode>> {
        (**self).get_properties(server, uri, names)
    }
    fn replace_property(&mut self, server: &str, uri: &str, name: &str, value: &str) -> Result<(), StatusCode> {
        (**self).replace_property(server, uri, name, value)
    }
    fn begin(&mut self) -> Result<(), StatusCode> {
        (**self).begin()
    }
    fn commit(&mut self) -> Result<(), StatusCode> {
        (**self).commit()
    }
    fn rollback(&mut self) -> Result<(), StatusCode> {
        (**self).rollback()
    }
    fn uri_limits(&mut self) -> uri::UriLimits {
        (**self).uri_limits()
    }
}

/// A tree shared with the caller (who reads it while a session runs against it); a lock
/// poisoned by a panic elsewhere is taken over, the tree being left as the panic left it.
impl<T: Tree> Tree for std::sync::Arc<std::sync::Mutex<T>> {
    fn get(&mut self, server: &str, uri: &str) -> Result<Node, StatusCode> {
        lock(self).get(server, uri)
    }
    fn add(&mut self, server: &str, uri: &str, node: Node) -> Result<(), StatusCode> {
        lock(self).add(server, uri, node)
    }
    fn replace(&mut self, server: &str, uri: &str, value: Leaf) -> Result<(), StatusCode> {
        lock(self).replace(server, uri, value)
    }
    fn delete(&mut self, server: &str, uri: &str) -> Result<(), StatusCode> {
        lock(self).delete(server, uri)
    }
    fn copy(&mut self, server: &str, source: &str, target: &str) -> Result<(), StatusCode> {
        lock(self).copy(server, source, target)
    }
    fn exec(
        &mut self,
        server: &str,
        uri: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<StatusCode, StatusCode> {
        T::exec_shared(self, server, uri, data, correlator)
    }
    fn get_property(&mut self, server: &str, uri: &str, name: &str) -> Result<String, StatusCode> {
        lock(self).get_property(server, uri, name)
    }
    fn get_properties(&mut self, server: &str, uri: &str, names: &[&str]) -> Vec<Result<String, StatusCode>> {
        lock(self).get_properties(server, uri, names)
    }
    fn replace_property(&mut self, server: &str, uri: &str, name: &str, value: &str) -> Result<(), StatusCode> {
        lock(self).replace_property(server, uri, name, value)
    }
    fn begin(&mut self) -> Result<(), StatusCode> {
        lock(self).begin()
    }
    fn commit(&mut self) -> Result<(), StatusCode> {
        lock(self).commit()
    }
    fn rollback(&mut self) -> Result<(), StatusCode> {
        lock(self).rollback()
    }
    fn uri_limits(&mut self) -> uri::UriLimits {
        lock(self).uri_limits()
    }
}

/// Locks a shared tree, taking over a lock a panic poisoned.
pub fn lock<T>(shared: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}
