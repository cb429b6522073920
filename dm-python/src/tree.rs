//! `MemoryTree` for Python, shared with the client session that executes against it.

use std::sync::{Arc, Mutex};

use dm_core::model::Data;
use dm_core::tree::{self as dmtree, Leaf, Node};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::{data_of, usage};

/// A tree Python and a session share: Python reads what the server changed.
pub(crate) type Shared = Arc<Mutex<dmtree::MemoryTree>>;

/// An in-memory management tree: `MemoryTree({"./DevInfo/Man": "Acme", ...})`.
#[pyclass(module = "omadm._native", frozen)]
pub struct MemoryTree {
    pub(crate) shared: Shared,
}

#[pymethods]
impl MemoryTree {
    /// Nodes by URI: a str (chr) or bytes (bin) leaf, or a dict of the JSON form (`value`,
    /// `format`, `type`, `acl`, ...), so that `MemoryTree(t.to_dict())` is `t` again.
    #[new]
    #[pyo3(signature = (nodes = None))]
    fn new(py: Python<'_>, nodes: Option<&Bound<'_, PyDict>>) -> PyResult<MemoryTree> {
        let t = MemoryTree { shared: Shared::default() };
        for (k, v) in nodes.into_iter().flat_map(|n| n.iter()) {
            if v.is_instance_of::<PyDict>() {
                let node = PyDict::new(py);
                node.set_item(&k, &v)?;
                let text: String = py.import("json")?.call_method1("dumps", (node,))?.extract()?;
                dmtree::lock(&t.shared).extend_from_json(&text).map_err(|e| usage(e.0))?;
            } else {
                t.set(&k.extract::<String>()?, &v)?;
            }
        }
        Ok(t)
    }

    /// Sets a leaf (str: chr; bytes: bin), creating parents.
    fn set(&self, uri: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let leaf = leaf_of(value)?;
        dmtree::lock(&self.shared).set_leaf(uri, leaf).map_err(|c| usage(format!("cannot set {uri}: status {c}")))
    }

    /// A leaf's value (str, or bytes for binary), the child names of an interior node joined by
    /// "/", or None.
    fn get<'py>(&self, py: Python<'py>, uri: &str) -> Option<Bound<'py, PyAny>> {
        match dmtree::lock(&self.shared).node(uri)? {
            Node::Leaf(l) if l.format == "bin" => Some(PyBytes::new(py, &l.data).into_any()),
            Node::Leaf(l) => Some(String::from_utf8_lossy(&l.data).into_pyobject(py).ok()?.into_any()),
            Node::Interior { children, .. } => Some(children.join("/").into_pyobject(py).ok()?.into_any()),
        }
    }

    /// The most bytes of leaf values a server's commands may bring the tree to (64 MiB unless
    /// set): past it, Add, Replace and Copy get 420 (Device full).
    fn set_capacity(&self, capacity: usize) {
        dmtree::lock(&self.shared).set_capacity(capacity);
    }

    /// Bytes of leaf values in the tree.
    fn leaf_bytes(&self) -> usize {
        dmtree::lock(&self.shared).leaf_bytes()
    }

    /// The most nodes a server's commands may bring the tree to (100 000 unless set): past it,
    /// Add and Copy get 420 (Device full).
    fn set_max_nodes(&self, nodes: usize) {
        dmtree::lock(&self.shared).set_max_nodes(nodes);
    }

    /// Nodes in the tree, the root included.
    fn node_count(&self) -> usize {
        dmtree::lock(&self.shared).node_count()
    }

    fn set_acl(&self, uri: &str, acl: &str) -> PyResult<()> {
        dmtree::lock(&self.shared)
            .set_acl(uri, acl)
            .map_err(|c| usage(format!("cannot set the ACL of {uri}: status {c}")))
    }

    /// The JSON form (see the README).
    fn to_json(&self) -> String {
        dmtree::lock(&self.shared).to_json()
    }

    /// The JSON form as a dict: what `MemoryTree(...)` takes.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?.call_method1("loads", (self.to_json(),))
    }

    #[staticmethod]
    fn from_json(text: &str) -> PyResult<MemoryTree> {
        let t = dmtree::MemoryTree::from_json(text).map_err(|e| usage(e.0))?;
        Ok(MemoryTree { shared: Arc::new(Mutex::new(t)) })
    }

    #[staticmethod]
    fn load(path: &str) -> PyResult<MemoryTree> {
        let t = dmtree::MemoryTree::load(path).map_err(|e| usage(e.0))?;
        Ok(MemoryTree { shared: Arc::new(Mutex::new(t)) })
    }

    fn save(&self, path: &str) -> PyResult<()> {
        dmtree::lock(&self.shared).save(path).map_err(|e| usage(e.0))
    }

    fn uris(&self) -> Vec<String> {
        dmtree::lock(&self.shared).uris()
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MemoryTree>()
}

/// A leaf holding a value from Python (see `data_of`): binary as `bin`, text as `chr`.
pub(crate) fn leaf_of(value: &Bound<'_, PyAny>) -> PyResult<Leaf> {
    Ok(match data_of(value)? {
        Data::Binary(data) => Leaf { format: "bin".into(), type_: "application/octet-stream".into(), data },
        Data::Text(text) | Data::Xml(text) => Leaf::text(text),
    })
}
