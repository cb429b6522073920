//! Bootstrap for Python: a server's bootstrap message, and a device applying one to its tree.

use std::sync::{Arc, Mutex};

use dm_core::DecodeOptions;
use dm_core::bootstrap::{self, Security};
use dm_core::wap_push;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::pytree::any_tree;
use crate::tree::MemoryTree;
use crate::{LimitSettings, limits_of, to_py, u8_arg, usage};

fn security(name: &str) -> PyResult<Security> {
    Security::parse(name)
        .ok_or_else(|| usage(format!("security is NETWORKID, USERPIN or USERPIN_NETWORKID, not {name}")))
}

/// The WBXML bootstrap message from `server_id` to `device_id` adding the nodes of `tree` below
/// its top level, and its Content-Type with `security` and the MAC `key` gives.
#[pyfunction]
fn bootstrap_encode<'py>(
    py: Python<'py>,
    server_id: &str,
    device_id: &str,
    tree: &MemoryTree,
    security: &str,
    key: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, String)> {
    let m = bootstrap::message(server_id, device_id, &dm_core::tree::lock(&tree.shared));
    let (body, content_type) = bootstrap::encode(&m, self::security(security)?, key);
    Ok((PyBytes::new(py, &body), content_type))
}

/// Applies a bootstrap message to `tree` all or nothing (through its transaction: a tree object
/// without one is refused); with `key`, its MAC is checked. (server id, the URI of each item).
#[pyfunction]
#[pyo3(signature = (tree, body, content_type, key = None, lenient = false, limits = None))]
fn bootstrap_apply(
    tree: &Bound<'_, PyAny>,
    body: &[u8],
    content_type: &str,
    key: Option<&[u8]>,
    lenient: bool,
    limits: LimitSettings,
) -> PyResult<(String, Vec<String>)> {
    let options = DecodeOptions { lenient, limits: limits_of(limits)? };
    let mut t = any_tree(tree, &Arc::new(Mutex::new(Vec::new())));
    let done = bootstrap::apply(&mut t, body, content_type, key, &options).map_err(to_py)?;
    Ok((done.server_id, done.uris))
}

/// The key of a bootstrap's MAC by `security`, from the IMSI and the PIN.
#[pyfunction]
#[pyo3(signature = (security, imsi = None, pin = None))]
fn bootstrap_key<'py>(
    py: Python<'py>,
    security: &str,
    imsi: Option<&str>,
    pin: Option<&[u8]>,
) -> PyResult<Bound<'py, PyBytes>> {
    let key = bootstrap::key(self::security(security)?, imsi, pin).map_err(|e| to_py(e.into()))?;
    Ok(PyBytes::new(py, &key))
}

/// The key a device checks a bootstrap's MAC with, by the SEC of `content_type`.
#[pyfunction]
#[pyo3(signature = (content_type, imsi = None, pin = None))]
fn bootstrap_device_key<'py>(
    py: Python<'py>,
    content_type: &str,
    imsi: Option<&str>,
    pin: Option<&[u8]>,
) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &bootstrap::device_key(content_type, imsi, pin).map_err(to_py)?))
}

/// Checks a bootstrap's MAC (in `content_type`) against the one `key` gives: the SEC it names.
#[pyfunction]
fn bootstrap_verify(body: &[u8], content_type: &str, key: &[u8]) -> PyResult<&'static str> {
    Ok(bootstrap::verify(body, content_type, key).map_err(to_py)?.name())
}

/// The MAC of a bootstrap message: HMAC-SHA1 of `body` under `key`, in hexadecimal.
#[pyfunction]
fn bootstrap_mac(key: &[u8], body: &[u8]) -> String {
    bootstrap::mac(key, body)
}

/// A bootstrap message as a WAP push: the WSP Push PDU (transaction id `tid`) whose
/// Content-Type carries the SEC and MAC of `content_type`.
#[pyfunction]
#[pyo3(signature = (body, content_type, tid = 0))]
fn bootstrap_wap_push<'py>(
    py: Python<'py>,
    body: &[u8],
    content_type: &str,
    tid: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    // The caller's own Content-Type: what is wrong with it is a usage error, not a peer's.
    let (Some(security), Some(mac)) = bootstrap::seal(content_type).map_err(|e| usage(e.to_string()))? else {
        return Err(usage(format!("a bootstrap push carries SEC and MAC: {content_type:?} has not both")));
    };
    Ok(PyBytes::new(py, &wap_push::wrap_bootstrap(u8_arg("tid", tid)?, body, security, &mac)))
}

/// The bootstrap message a WAP push holds, and its Content-Type with the SEC and MAC it carried.
#[pyfunction]
fn bootstrap_from_wap_push<'py>(py: Python<'py>, pdu: &[u8]) -> PyResult<(Bound<'py, PyBytes>, String)> {
    let (body, content_type) = wap_push::unwrap_bootstrap(pdu).map_err(|e| to_py(e.into()))?;
    Ok((PyBytes::new(py, body), content_type))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(bootstrap_encode, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_apply, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_key, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_device_key, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_verify, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_mac, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_wap_push, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_from_wap_push, m)?)?;
    Ok(())
}
