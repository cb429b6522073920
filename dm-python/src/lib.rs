//! `omadm._native`: the Rust engine for Python. The pure-Python package `omadm` re-exports it and
//! adds the sugar (context managers, the CLI, HTTP glue).

use dm_core::model::Data;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

mod bootstrap;
mod event;
mod message;
mod pytree;
mod session;
mod tree;

create_exception!(omadm._native, Error, PyException, "Base class of every omadm error.");
create_exception!(omadm._native, DecodeError, Error, "The bytes are not a valid DM message.");
create_exception!(omadm._native, ProtocolError, Error, "The peer broke a protocol rule (the message names it).");
create_exception!(omadm._native, AuthError, Error, "Authentication failed.");
create_exception!(omadm._native, LimitError, Error, "The peer passed a configured limit.");
create_exception!(omadm._native, UsageError, Error, "The API was misused.");

/// The Python exception for an omadm error, with what and where as attributes: a
/// ProtocolError's `rule`, `msg_id`, `cmd_id`, `element`, `reason`; a LimitError's `limit` (the
/// setting's name), `value`, `max`; a DecodeError's and LimitError's `path`, `offset`, `line`,
/// `column`.
pub(crate) fn to_py(e: dm_core::Error) -> PyErr {
    use dm_core::Error as E;
    let msg = e.to_string();
    let err = match &e {
        E::Decode(_) => DecodeError::new_err(msg),
        E::Limit(_) => LimitError::new_err(msg),
        E::Remote(_) => ProtocolError::new_err(msg),
        E::Auth(_) => AuthError::new_err(msg),
        E::Usage(_) => UsageError::new_err(msg),
    };
    let attributes = |py: Python<'_>, err: &PyErr| -> PyResult<()> {
        let value = err.value(py);
        let site = |s: &dm_core::error::Site| -> PyResult<()> {
            value.setattr("path", &s.path)?;
            value.setattr("offset", s.offset)?;
            value.setattr("line", s.line)?;
            value.setattr("column", s.column)
        };
        match &e {
            E::Decode(d) => site(&d.site),
            E::Limit(l) => {
                value.setattr("limit", l.limit.to_string())?;
                value.setattr("value", l.value)?;
                value.setattr("max", l.max)?;
                site(&l.site)
            }
            E::Remote(r) => {
                value.setattr("rule", r.rule)?;
                value.setattr("msg_id", r.msg_id)?;
                value.setattr("cmd_id", r.cmd_id)?;
                value.setattr("element", r.element)?;
                value.setattr("reason", &r.reason)
            }
            E::Auth(_) | E::Usage(_) => Ok(()),
        }
    };
    Python::attach(|py| match attributes(py, &err) {
        Ok(()) => err,
        Err(failed) => failed,
    })
}

/// How Python gives limits: (name, value) pairs of those to change (`dm_core::Limits::NAMES`).
pub(crate) type LimitSettings = Option<Vec<(String, usize)>>;

/// Limits from the settings named; the rest keep their defaults.
pub(crate) fn limits_of(settings: LimitSettings) -> PyResult<dm_core::Limits> {
    let mut limits = dm_core::Limits::default();
    for (name, value) in settings.unwrap_or_default() {
        limits.set(&name, value).map_err(|e| usage(e.0))?;
    }
    Ok(limits)
}

pub(crate) fn usage(msg: impl Into<String>) -> PyErr {
    UsageError::new_err(msg.into())
}

/// A 16-bit argument from a Python int: UsageError past the range, not OverflowError.
pub(crate) fn u16_arg(name: &str, v: i64) -> PyResult<u16> {
    int_arg(name, v, "0..65535")
}

/// A byte-sized integer argument: UsageError past 0..255.
pub(crate) fn u8_arg(name: &str, v: i64) -> PyResult<u8> {
    int_arg(name, v, "0..255")
}

fn int_arg<T: TryFrom<i64>>(name: &str, v: i64, range: &str) -> PyResult<T> {
    T::try_from(v).map_err(|_| usage(format!("{name} is {range}")))
}

/// A value from Python as DM data: bytes (or a bytearray) are binary; a str, or an int or float
/// as its text, is text. Anything else (None, a bool, a container) is refused, never sent as
/// its repr.
pub(crate) fn data_of(v: &Bound<'_, PyAny>) -> PyResult<Data> {
    use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyString};
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(Data::Binary(b.as_bytes().to_vec()));
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Ok(Data::Binary(b.to_vec()));
    }
    let number = (v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>()) && !v.is_instance_of::<PyBool>();
    if number || v.is_instance_of::<PyString>() {
        return Ok(Data::Text(v.str()?.to_string()));
    }
    Err(usage(format!("a value is str, bytes or a number, not {}", v.get_type().name()?)))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    m.add("ProtocolError", py.get_type::<ProtocolError>())?;
    m.add("AuthError", py.get_type::<AuthError>())?;
    m.add("LimitError", py.get_type::<LimitError>())?;
    m.add("UsageError", py.get_type::<UsageError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Limits' defaults, by name, for omadm.Limits.
    let defaults: Vec<(&str, usize)> = dm_core::Limits::default().settings().collect();
    m.add("DEFAULT_LIMITS", pyo3::types::PyDict::from_sequence(&defaults.into_pyobject(py)?)?)?;
    m.add_class::<event::Event>()?;
    message::register(m)?;
    tree::register(m)?;
    session::register(m)?;
    bootstrap::register(m)?;
    Ok(())
}
