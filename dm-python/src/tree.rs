//! `MemoryTree` for Python, shared with the client session that executes against it.

use std::sync::{Arc, Mutex};

use dm_core::model::{Data, StatusCode};
use dm_core::tree::{self as dmtree, Leaf, Node, objects};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::pytree::{answered, raised_status};
use crate::{data_of, u16_arg, usage};

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
                t.set(&k.extract::<String>()?, &v, None, None)?;
            }
        }
        Ok(t)
    }

    /// Sets a leaf (str: chr; bytes: bin; unless `format` and `type` say otherwise), creating
    /// parents.
    #[pyo3(signature = (uri, value, format = None, r#type = None))]
    fn set(&self, uri: &str, value: &Bound<'_, PyAny>, format: Option<&str>, r#type: Option<&str>) -> PyResult<()> {
        let mut leaf = leaf_of(value)?;
        leaf.format = format.map_or(leaf.format, |f| f.to_string().into());
        leaf.type_ = r#type.map_or(leaf.type_, |t| t.to_string().into());
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

    /// Runs `handler(data, correlator)` for an Exec on the node at `uri`: data is bytes or None;
    /// it returns None (200), 202 (the result comes later, in a Generic Alert) or another
    /// status. An exception with an int `status` attribute gives that status; any other is 500,
    /// reported as an unraisable exception. The tree is not locked while it runs: it may read
    /// and change the tree.
    fn on_exec(&self, uri: &str, handler: Py<PyAny>) -> PyResult<()> {
        let run: dmtree::ExecHandler = Box::new(move |data, correlator| {
            Python::attach(|py| {
                let handler = handler.bind(py);
                match handler.call1((data.map(|d| PyBytes::new(py, d)), correlator)) {
                    Ok(v) => answered(&v).unwrap_or_else(|code| code),
                    Err(e) => raised_status(py, &e).unwrap_or_else(|| {
                        e.write_unraisable(py, Some(handler));
                        StatusCode::COMMAND_FAILED
                    }),
                }
            })
        });
        dmtree::lock(&self.shared).on_exec(uri, run).map_err(|c| usage(format!("cannot run Exec on {uri}: status {c}")))
    }

    /// Sets the nodes of a TNDS document as the tree's own: each at its Path, or below `base`.
    #[pyo3(signature = (document, base = "."))]
    fn set_tnds(&self, document: &str, base: &str) -> PyResult<()> {
        dmtree::lock(&self.shared).extend_from_tnds(document, base).map_err(|e| usage(e.0))
    }

    /// Gives the tree the nodes a DDF document requires (see `dm_core::tree::ddf`), as the
    /// device's own: a simulated device that holds the management object.
    #[pyo3(signature = (ddf, base = "."))]
    fn set_ddf(&self, ddf: &str, base: &str) -> PyResult<()> {
        let ddf = dmtree::ddf::Ddf::parse(ddf).map_err(|e| usage(e.0))?;
        ddf.instantiate(&mut dmtree::lock(&self.shared), base).map_err(|e| usage(e.0))
    }

    /// Where the tree does not keep a DDF document: (URI, why) for each node (see
    /// `dm_core::tree::ddf`); its top nodes at their Path, else below `base`.
    #[pyo3(signature = (ddf, base = "."))]
    fn check_ddf(&self, ddf: &str, base: &str) -> PyResult<Vec<(String, String)>> {
        let ddf = dmtree::ddf::Ddf::parse(ddf).map_err(|e| usage(e.0))?;
        Ok(ddf.check(&dmtree::lock(&self.shared), base).into_iter().map(|m| (m.uri, m.detail)).collect())
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

    /// Installs ./DevInfo (urn:oma:mo:oma-dm-devinfo:1.0) as a device holds it: its five leaves,
    /// permanent and readable by any server, and an empty Ext.
    #[pyo3(signature = (dev_id, man, model, dm_v = "1.2", lang = "en-US"))]
    fn install_devinfo(&self, dev_id: &str, man: &str, model: &str, dm_v: &str, lang: &str) -> PyResult<()> {
        let o = objects::DevInfo {
            dev_id: dev_id.into(),
            man: man.into(),
            model: model.into(),
            dm_v: dm_v.into(),
            lang: lang.into(),
        };
        self.install("./DevInfo", |t| o.install(t))
    }

    /// Installs ./DevDetail (urn:oma:mo:oma-dm-devdetail:1.0), readable by any server. The URI
    /// limits (0: none) bound what a server may address (414).
    #[pyo3(signature = (fw_v = "", sw_v = "", hw_v = "", dev_typ = "", oem = "", lrg_obj = true, max_depth = 0,
        max_tot_len = 0, max_seg_len = 0))]
    #[allow(clippy::too_many_arguments)]
    fn install_devdetail(
        &self,
        fw_v: &str,
        sw_v: &str,
        hw_v: &str,
        dev_typ: &str,
        oem: &str,
        lrg_obj: bool,
        max_depth: i64,
        max_tot_len: i64,
        max_seg_len: i64,
    ) -> PyResult<()> {
        let (max_depth, max_tot_len, max_seg_len) = (
            u16_arg("max_depth", max_depth)?,
            u16_arg("max_tot_len", max_tot_len)?,
            u16_arg("max_seg_len", max_seg_len)?,
        );
        let o = objects::DevDetail {
            dev_typ: dev_typ.into(),
            oem: oem.into(),
            fw_v: fw_v.into(),
            sw_v: sw_v.into(),
            hw_v: hw_v.into(),
            lrg_obj,
            max_depth,
            max_tot_len,
            max_seg_len,
        };
        self.install("./DevDetail", |t| o.install(t))
    }

    /// Installs the account ./DMAcc/<node> (urn:oma:mo:oma-dm-dmacc:1.0; node: the server id
    /// unless given) that only `server_id` may read or change. `auth`: one (level, type, name,
    /// secret, data) per AppAuth entry, e.g. ("CLCRED", "DIGEST", "dev", "pw", b"nonce"); no
    /// server can read the secrets.
    #[pyo3(signature = (server_id, addr, node = None, name = "", addr_type = "URI", port = None, auth_pref = None,
        auth = Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn install_dmacc(
        &self,
        server_id: &str,
        addr: &str,
        node: Option<&str>,
        name: &str,
        addr_type: &str,
        port: Option<i64>,
        auth_pref: Option<String>,
        auth: Vec<(String, String, String, String, Vec<u8>)>,
    ) -> PyResult<()> {
        let o = objects::DmAcc {
            node: node.unwrap_or(server_id).into(),
            server_id: server_id.into(),
            name: name.into(),
            addr: addr.into(),
            addr_type: addr_type.into(),
            port: port.map(|p| u16_arg("port", p)).transpose()?,
            auth_pref,
            auth: auth
                .into_iter()
                .map(|(level, auth_type, name, secret, data)| objects::AppAuth { level, auth_type, name, secret, data })
                .collect(),
        };
        self.install("./DMAcc", |t| o.install(t))
    }
}

impl MemoryTree {
    fn install(
        &self,
        object: &str,
        install: impl FnOnce(&mut dmtree::MemoryTree) -> Result<(), dm_core::model::StatusCode>,
    ) -> PyResult<()> {
        install(&mut dmtree::lock(&self.shared)).map_err(|c| usage(format!("cannot install {object}: status {c}")))
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
