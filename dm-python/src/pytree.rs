//! Any Python object as the device's tree: methods `get(uri)`, `add(uri, value, format, type)`,
//! `replace(uri, value, format, type)`, `delete(uri)`, `exec(uri, data, correlator)`,
//! `copy(source, target)`. `get` returns str or a number (a chr leaf), bytes (bin), a list of
//! child names (an interior node) or None (404); anything else is 500. The others return None
//! (200) or a status code. A missing method is 405. An exception with an int `status` attribute
//! gives that status; any other is 500, and its text is kept in `errors`, never lost.
//! Optional: `begin()`, `commit()`, `rollback()` make Atomic and bootstrap all or nothing
//! (missing, Atomic is 501 and a rollback 516); `get_property(uri, name)` returning str and
//! `replace_property(uri, name, value)` serve `?prop=` (missing, 406).

use std::sync::{Arc, Mutex};

use dm_core::model::StatusCode;
use dm_core::tree::{Leaf, Node, Tree};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::tree::{Shared, leaf_of};

pub(crate) struct PyTree {
    pub obj: Py<PyAny>,
    pub errors: Arc<Mutex<Vec<String>>>,
}

impl PyTree {
    fn call<T>(
        &self,
        method: &str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
        read: impl for<'py> FnOnce(&Bound<'py, PyAny>) -> Result<T, StatusCode>,
    ) -> Result<T, StatusCode> {
        self.call_or(StatusCode::COMMAND_NOT_ALLOWED, method, args, read)
    }

    /// `method` called with `args` and its answer read; `missing` when the object has no such method.
    fn call_or<T>(
        &self,
        missing: StatusCode,
        method: &str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
        read: impl for<'py> FnOnce(&Bound<'py, PyAny>) -> Result<T, StatusCode>,
    ) -> Result<T, StatusCode> {
        Python::attach(|py| {
            let obj = self.obj.bind(py);
            if !obj.hasattr(method).unwrap_or(false) {
                return Err(missing);
            }
            let result = args(py).and_then(|a| obj.call_method1(method, a));
            match result {
                Ok(v) => read(&v),
                Err(e) => Err(raised_status(py, &e).unwrap_or_else(|| self.failed(method, &e))),
            }
        })
    }

    /// 500, with the reason kept in `errors`.
    fn failed(&self, method: &str, e: &PyErr) -> StatusCode {
        if let Ok(mut list) = self.errors.lock() {
            list.push(format!("{method}: {e}"));
        }
        StatusCode::COMMAND_FAILED
    }

    fn done(v: &Bound<'_, PyAny>) -> Result<(), StatusCode> {
        answered(v).map(drop)
    }

    fn value_args<'py>(py: Python<'py>, uri: &str, leaf: &Leaf) -> PyResult<Bound<'py, PyTuple>> {
        let value: Bound<'py, PyAny> = match std::str::from_utf8(&leaf.data) {
            Ok(s) if leaf.format != "bin" => s.into_pyobject(py)?.into_any(),
            _ => PyBytes::new(py, &leaf.data).into_any(),
        };
        PyTuple::new(
            py,
            [
                uri.into_pyobject(py)?.into_any(),
                value,
                (&*leaf.format).into_pyobject(py)?.into_any(),
                (&*leaf.type_).into_pyobject(py)?.into_any(),
            ],
        )
    }
}

impl Tree for PyTree {
    fn get(&mut self, _server: &str, uri: &str) -> Result<Node, StatusCode> {
        self.call(
            "get",
            |py| PyTuple::new(py, [uri]),
            |v| {
                if v.is_none() {
                    return Err(StatusCode::NOT_FOUND);
                }
                if let Ok(list) = v.cast::<PyList>() {
                    let children = list.iter().map(|c| c.str().map(|s| s.to_string())).collect::<PyResult<_>>();
                    return children
                        .map(|children| Node::Interior { children, type_: None })
                        .map_err(|_| StatusCode::COMMAND_FAILED);
                }
                leaf_of(v).map(Node::Leaf).map_err(|e| self.failed("get", &e))
            },
        )
    }

    fn add(&mut self, _server: &str, uri: &str, node: Node) -> Result<(), StatusCode> {
        let leaf = match node {
            Node::Leaf(l) => l,
            Node::Interior { type_, .. } => {
                Leaf { format: "node".into(), type_: type_.unwrap_or_default().into(), data: vec![] }
            }
        };
        self.call("add", |py| Self::value_args(py, uri, &leaf), Self::done)
    }

    fn replace(&mut self, _server: &str, uri: &str, value: Leaf) -> Result<(), StatusCode> {
        self.call("replace", |py| Self::value_args(py, uri, &value), Self::done)
    }

    fn delete(&mut self, _server: &str, uri: &str) -> Result<(), StatusCode> {
        self.call("delete", |py| PyTuple::new(py, [uri]), Self::done)
    }

    fn copy(&mut self, _server: &str, source: &str, target: &str) -> Result<(), StatusCode> {
        self.call("copy", |py| PyTuple::new(py, [source, target]), Self::done)
    }

    fn exec(
        &mut self,
        _server: &str,
        uri: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<StatusCode, StatusCode> {
        self.call(
            "exec",
            |py| {
                let d = data.map(|d| PyBytes::new(py, d).into_any()).unwrap_or_else(|| py.None().into_bound(py));
                let c = correlator
                    .map(|c| c.into_pyobject(py).map(|s| s.into_any()))
                    .transpose()?
                    .unwrap_or_else(|| py.None().into_bound(py));
                PyTuple::new(py, [uri.into_pyobject(py)?.into_any(), d, c])
            },
            answered,
        )
    }

    fn get_property(&mut self, _server: &str, uri: &str, name: &str) -> Result<String, StatusCode> {
        self.call_or(
            StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED,
            "get_property",
            |py| PyTuple::new(py, [uri, name]),
            |v| {
                if v.is_none() {
                    return Err(StatusCode::NOT_FOUND);
                }
                v.extract::<String>().map_err(|e| self.failed("get_property", &e))
            },
        )
    }

    fn replace_property(&mut self, _server: &str, uri: &str, name: &str, value: &str) -> Result<(), StatusCode> {
        self.call_or(
            StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED,
            "replace_property",
            |py| PyTuple::new(py, [uri, name, value]),
            Self::done,
        )
    }

    fn begin(&mut self) -> Result<(), StatusCode> {
        self.call_or(StatusCode::NOT_IMPLEMENTED, "begin", |py| Ok(PyTuple::empty(py)), Self::done)
    }

    fn commit(&mut self) -> Result<(), StatusCode> {
        self.call_or(StatusCode::NOT_IMPLEMENTED, "commit", |py| Ok(PyTuple::empty(py)), Self::done)
    }

    fn rollback(&mut self) -> Result<(), StatusCode> {
        self.call_or(StatusCode::ATOMIC_ROLLBACK_FAILED, "rollback", |py| Ok(PyTuple::empty(py)), Self::done)
    }
}

/// A Python command's answer: None is 200, an int that status, anything else 500.
pub(crate) fn answered(v: &Bound<'_, PyAny>) -> Result<StatusCode, StatusCode> {
    if v.is_none() {
        return Ok(StatusCode::OK);
    }
    StatusCode(v.extract::<u16>().map_err(|_| StatusCode::COMMAND_FAILED)?).result()
}

/// The status an exception carries in an int `status` attribute, if it does.
pub(crate) fn raised_status(py: Python<'_>, e: &PyErr) -> Option<StatusCode> {
    e.value(py).getattr("status").ok().and_then(|s| s.extract::<u16>().ok()).map(StatusCode)
}

/// `tree` as the engine takes it: a MemoryTree shared, any other object called back (its
/// failures kept in `errors`).
pub(crate) fn any_tree(tree: &Bound<'_, PyAny>, errors: &Arc<Mutex<Vec<String>>>) -> AnyTree {
    match tree.cast::<crate::tree::MemoryTree>() {
        Ok(m) => AnyTree::Memory(m.get().shared.clone()),
        Err(_) => AnyTree::Python(PyTree { obj: tree.clone().unbind(), errors: errors.clone() }),
    }
}

/// The tree a Python client session runs against: ours, or the caller's object.
pub(crate) enum AnyTree {
    Memory(Shared),
    Python(PyTree),
}

macro_rules! delegate {
    ($self:ident, $t:ident => $e:expr) => {
        match $self {
            AnyTree::Memory($t) => $e,
            AnyTree::Python($t) => $e,
        }
    };
}

impl Tree for AnyTree {
    fn get(&mut self, s: &str, u: &str) -> Result<Node, StatusCode> {
        delegate!(self, t => t.get(s, u))
    }
    fn add(&mut self, s: &str, u: &str, n: Node) -> Result<(), StatusCode> {
        delegate!(self, t => t.add(s, u, n))
    }
    fn replace(&mut self, s: &str, u: &str, v: Leaf) -> Result<(), StatusCode> {
        delegate!(self, t => t.replace(s, u, v))
    }
    fn delete(&mut self, s: &str, u: &str) -> Result<(), StatusCode> {
        delegate!(self, t => t.delete(s, u))
    }
    fn copy(&mut self, s: &str, a: &str, b: &str) -> Result<(), StatusCode> {
        delegate!(self, t => t.copy(s, a, b))
    }
    fn exec(&mut self, s: &str, u: &str, d: Option<&[u8]>, c: Option<&str>) -> Result<StatusCode, StatusCode> {
        delegate!(self, t => t.exec(s, u, d, c))
    }
    fn get_property(&mut self, s: &str, u: &str, n: &str) -> Result<String, StatusCode> {
        delegate!(self, t => t.get_property(s, u, n))
    }
    fn replace_property(&mut self, s: &str, u: &str, n: &str, v: &str) -> Result<(), StatusCode> {
        delegate!(self, t => t.replace_property(s, u, n, v))
    }
    fn begin(&mut self) -> Result<(), StatusCode> {
        delegate!(self, t => t.begin())
    }
    fn commit(&mut self) -> Result<(), StatusCode> {
        delegate!(self, t => t.commit())
    }
    fn rollback(&mut self) -> Result<(), StatusCode> {
        delegate!(self, t => t.rollback())
    }
}
