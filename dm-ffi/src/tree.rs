//! A management tree kept in C, through a table of callbacks. Each callback returns the DM
//! status code of the operation (200 OK, 404, 405, 418, 425, ...; one outside 200–599, 0 say, is
//! answered 500); a NULL callback means the tree does not support it (405, or 501 for
//! transactions).

use std::ffi::{CStr, CString, c_char, c_int, c_void};

use dm_core::model::StatusCode;
use dm_core::tree::{Leaf, Node, Tree};

/// A node value passed across the boundary. What a callback fills in must stay valid until the
/// callback returns to the library (which copies it at once).
#[repr(C)]
pub struct dm_value {
    /// Format: "chr" (NULL means chr), "int", "bool", "bin", "xml", ...; "node" for an interior node.
    pub format: *const c_char,
    /// MIME type (NULL means text/plain), or for an interior node its MO identifier.
    pub mime_type: *const c_char,
    /// The value; for an interior node its children's names joined by '/'.
    pub data: *const u8,
    /// The bytes at data.
    pub len: usize,
}

/// The tree callbacks, each given the `userdata` passed with the table. Each returns a DM status
/// code (200, 404, 425, ...); one outside 200–599, 0 say, is answered 500.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dm_tree_ops {
    /// Get: fills *out with the node's value (or an interior node's children).
    pub get: Option<unsafe extern "C" fn(userdata: *mut c_void, uri: *const c_char, out: *mut dm_value) -> c_int>,
    /// Add: a new leaf with *value, or an interior node (format "node").
    pub add: Option<unsafe extern "C" fn(userdata: *mut c_void, uri: *const c_char, value: *const dm_value) -> c_int>,
    /// Replace: a leaf's value, format and type.
    pub replace:
        Option<unsafe extern "C" fn(userdata: *mut c_void, uri: *const c_char, value: *const dm_value) -> c_int>,
    /// Delete (the whole subtree).
    pub remove: Option<unsafe extern "C" fn(userdata: *mut c_void, uri: *const c_char) -> c_int>,
    /// Exec with the command's data (len may be 0) and Correlator (NULL without one); 202
    /// accepts it to run later, its outcome then sent in a Generic Alert (dm_client_generic_alert).
    pub exec: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            uri: *const c_char,
            data: *const u8,
            len: usize,
            correlator: *const c_char,
        ) -> c_int,
    >,
    /// Copy the node at source to target.
    pub copy:
        Option<unsafe extern "C" fn(userdata: *mut c_void, source: *const c_char, target: *const c_char) -> c_int>,
    /// Get a property of a node (?prop=name): fills *out with its value.
    pub get_property: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            uri: *const c_char,
            name: *const c_char,
            out: *mut dm_value,
        ) -> c_int,
    >,
    /// Replace a property of a node (?prop=name) with value.
    pub replace_property: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            uri: *const c_char,
            name: *const c_char,
            value: *const c_char,
        ) -> c_int,
    >,
    /// Atomic: starts a transaction of the changes that follow.
    pub atomic_begin: Option<unsafe extern "C" fn(userdata: *mut c_void) -> c_int>,
    /// Atomic: keeps the transaction's changes (a code outside 200-299: they could not be kept,
    /// and atomic_rollback is called to undo them).
    pub atomic_commit: Option<unsafe extern "C" fn(userdata: *mut c_void) -> c_int>,
    /// Atomic: undoes the transaction's changes.
    pub atomic_rollback: Option<unsafe extern "C" fn(userdata: *mut c_void) -> c_int>,
}

/// The callbacks as a `Tree` for the client engine.
pub(crate) struct CTree {
    pub ops: dm_tree_ops,
    pub userdata: *mut c_void,
}

fn code(c: c_int) -> Result<(), StatusCode> {
    let s = StatusCode(u16::try_from(c).unwrap_or(500));
    s.result().map(drop)
}

fn cstr(s: &str) -> Result<CString, StatusCode> {
    CString::new(s).map_err(|_| StatusCode::BAD_REQUEST)
}

const EMPTY: dm_value =
    dm_value { format: std::ptr::null(), mime_type: std::ptr::null(), data: std::ptr::null(), len: 0 };

unsafe fn text(p: *const c_char, default: &str) -> String {
    if p.is_null() { default.into() } else { unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned() }
}

unsafe fn data_of(v: &dm_value) -> Vec<u8> {
    if v.data.is_null() || v.len == 0 {
        Vec::new()
    } else {
        unsafe { std::slice::from_raw_parts(v.data, v.len) }.to_vec()
    }
}

/// A value for C, pointing into the strings kept alive in `keep` for the call.
fn value_of(leaf: &Leaf, keep: &mut Vec<CString>) -> Result<dm_value, StatusCode> {
    keep.push(cstr(&leaf.format)?);
    keep.push(cstr(&leaf.type_)?);
    Ok(dm_value {
        format: keep[0].as_ptr(),
        mime_type: keep[1].as_ptr(),
        data: leaf.data.as_ptr(),
        len: leaf.data.len(),
    })
}

impl CTree {
    fn with_value(
        &mut self,
        uri: &str,
        leaf: &Leaf,
        f: Option<unsafe extern "C" fn(*mut c_void, *const c_char, *const dm_value) -> c_int>,
    ) -> Result<(), StatusCode> {
        let f = f.ok_or(StatusCode::COMMAND_NOT_ALLOWED)?;
        let u = cstr(uri)?;
        let mut keep = Vec::new();
        let v = value_of(leaf, &mut keep)?;
        code(unsafe { f(self.userdata, u.as_ptr(), &v) })
    }

    fn transaction(&mut self, f: Option<unsafe extern "C" fn(*mut c_void) -> c_int>) -> Result<(), StatusCode> {
        let f = f.ok_or(StatusCode::NOT_IMPLEMENTED)?;
        code(unsafe { f(self.userdata) })
    }
}

impl Tree for CTree {
    fn get(&mut self, _server: &str, uri: &str) -> Result<Node, StatusCode> {
        let f = self.ops.get.ok_or(StatusCode::COMMAND_NOT_ALLOWED)?;
        let u = cstr(uri)?;
        let mut v = EMPTY;
        code(unsafe { f(self.userdata, u.as_ptr(), &mut v) })?;
        let format = unsafe { text(v.format, "chr") };
        let data = unsafe { data_of(&v) };
        if format == "node" {
            let list = String::from_utf8_lossy(&data).into_owned();
            let children = list.split('/').filter(|c| !c.is_empty()).map(str::to_string).collect();
            let type_ = Some(unsafe { text(v.mime_type, "") }).filter(|t| !t.is_empty());
            return Ok(Node::Interior { children, type_ });
        }
        Ok(Node::Leaf(Leaf { format: format.into(), type_: unsafe { text(v.mime_type, "text/plain") }.into(), data }))
    }

    fn add(&mut self, _server: &str, uri: &str, node: Node) -> Result<(), StatusCode> {
        let leaf = match node {
            Node::Leaf(l) => l,
            Node::Interior { type_, .. } => {
                Leaf { format: "node".into(), type_: type_.unwrap_or_default().into(), data: vec![] }
            }
        };
        self.with_value(uri, &leaf, self.ops.add)
    }

    fn replace(&mut self, _server: &str, uri: &str, value: Leaf) -> Result<(), StatusCode> {
        self.with_value(uri, &value, self.ops.replace)
    }

    fn delete(&mut self, _server: &str, uri: &str) -> Result<(), StatusCode> {
        let f = self.ops.remove.ok_or(StatusCode::COMMAND_NOT_ALLOWED)?;
        let u = cstr(uri)?;
        code(unsafe { f(self.userdata, u.as_ptr()) })
    }

    fn copy(&mut self, _server: &str, source: &str, target: &str) -> Result<(), StatusCode> {
        let f = self.ops.copy.ok_or(StatusCode::COMMAND_NOT_ALLOWED)?;
        let (s, t) = (cstr(source)?, cstr(target)?);
        code(unsafe { f(self.userdata, s.as_ptr(), t.as_ptr()) })
    }

    fn exec(
        &mut self,
        _server: &str,
        uri: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<StatusCode, StatusCode> {
        let f = self.ops.exec.ok_or(StatusCode::COMMAND_NOT_ALLOWED)?;
        let u = cstr(uri)?;
        let corr = correlator.map(cstr).transpose()?;
        let d = data.unwrap_or_default();
        let c = unsafe {
            f(self.userdata, u.as_ptr(), d.as_ptr(), d.len(), corr.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()))
        };
        code(c).map(|_| StatusCode(c as u16))
    }

    fn get_property(&mut self, _server: &str, uri: &str, name: &str) -> Result<String, StatusCode> {
        let f = self.ops.get_property.ok_or(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED)?;
        let (u, n) = (cstr(uri)?, cstr(name)?);
        let mut v = EMPTY;
        code(unsafe { f(self.userdata, u.as_ptr(), n.as_ptr(), &mut v) })?;
        Ok(String::from_utf8_lossy(&unsafe { data_of(&v) }).into_owned())
    }

    fn replace_property(&mut self, _server: &str, uri: &str, name: &str, value: &str) -> Result<(), StatusCode> {
        let f = self.ops.replace_property.ok_or(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED)?;
        let (u, n, v) = (cstr(uri)?, cstr(name)?, cstr(value)?);
        code(unsafe { f(self.userdata, u.as_ptr(), n.as_ptr(), v.as_ptr()) })
    }

    fn begin(&mut self) -> Result<(), StatusCode> {
        self.transaction(self.ops.atomic_begin)
    }

    fn commit(&mut self) -> Result<(), StatusCode> {
        self.transaction(self.ops.atomic_commit)
    }

    fn rollback(&mut self) -> Result<(), StatusCode> {
        self.transaction(self.ops.atomic_rollback).map_err(|_| StatusCode::ATOMIC_ROLLBACK_FAILED)
    }
}
