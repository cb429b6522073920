//! `omadm.Event`: what a received message meant. Its fields become Python objects only when one
//! is first read (most scripts look at `kind` alone), and then all at once, in a dict.

use dm_core::model::{Data, Item};
use dm_core::session::Event as E;
use pyo3::exceptions::PyAttributeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

/// Something a received message meant: ``kind`` (``devinfo``, ``status``, ``results``,
/// ``alert``, ``generic_alert``, ``executed``, ``package_end``, ``ended``, ``aborted``,
/// ``authenticated``, ``auth_failed``: the client's credentials; ``server_authenticated``,
/// ``server_auth_failed``: the server's) and the fields of that kind as attributes.
/// ``Event({"kind": ..., field: value, ...})`` makes one to compare with.
#[pyclass(module = "omadm._native", name = "Event", frozen)]
pub struct Event {
    kind: Py<PyString>,
    /// The engine's event, until its fields are wanted; None for one made from a dict.
    raw: Option<E>,
    fields: PyOnceLock<Py<PyDict>>,
}

#[pymethods]
impl Event {
    #[new]
    fn from_dict(fields: &Bound<'_, PyDict>) -> PyResult<Event> {
        let fields = fields.copy()?;
        let kind = fields.get_item("kind")?.ok_or_else(|| crate::usage("an event's dict names its kind"))?;
        fields.del_item("kind")?;
        let cell = PyOnceLock::new();
        let _ = cell.set(fields.py(), fields.clone().unbind());
        Ok(Event { kind: kind.cast_into::<PyString>()?.unbind(), raw: None, fields: cell })
    }

    /// The event's kind.
    #[getter]
    fn kind(&self, py: Python<'_>) -> Py<PyString> {
        self.kind.clone_ref(py)
    }

    /// The fields of the event's kind, by name.
    #[getter]
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let fields = self.fields.get_or_try_init(py, || match &self.raw {
            Some(e) => fields_of(py, e).map(Bound::unbind),
            None => Ok(PyDict::new(py).unbind()),
        })?;
        Ok(fields.bind(py).clone())
    }

    /// The data of the first item (results, alerts), if any.
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(items) = self.fields(py)?.get_item(intern!(py, "items"))? else { return Ok(None) };
        if !items.is_truthy()? {
            return Ok(None);
        }
        Ok(Some(items.get_item(0)?.get_item(intern!(py, "data"))?))
    }

    /// Status, results: the reference `get`, `replace`, ... returned for the command.
    #[getter]
    fn reference<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, intern!(py, "reference"))
    }

    /// Status: the name of the command answered; executed: of the command executed.
    #[getter]
    fn cmd<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, intern!(py, "cmd"))
    }

    /// Status, executed: the status code; alert: the alert code; auth_failed,
    /// server_auth_failed: the code that ended the session.
    #[getter]
    fn code<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, intern!(py, "code"))
    }

    /// Status, results, alert, generic_alert: the items, as dicts (`uri`, `format`, `type`,
    /// `mark`, `data`).
    #[getter]
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, intern!(py, "items"))
    }

    /// Alert, generic_alert: the Correlator, if any.
    #[getter]
    fn correlator<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, intern!(py, "correlator"))
    }

    /// Executed: the node the command was executed on.
    #[getter]
    fn uri<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, intern!(py, "uri"))
    }

    /// Aborted: whether the peer aborted.
    #[getter]
    fn by_peer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, intern!(py, "by_peer"))
    }

    /// Devinfo: the client's DevInfo values by URI.
    #[getter]
    fn devinfo<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, intern!(py, "devinfo"))
    }

    /// Any other field of an event made from a dict.
    fn __getattr__<'py>(&self, py: Python<'py>, name: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, name)
    }

    fn __eq__<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<Event>() else { return Ok(false) };
        let other = other.get();
        let same_kind = PyAnyMethods::eq(self.kind.bind(py).as_any(), other.kind.bind(py))?;
        Ok(same_kind && PyAnyMethods::eq(self.fields(py)?.as_any(), other.fields(py)?)?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut out = format!("Event({}", self.kind.bind(py));
        for (k, v) in self.fields(py)? {
            out += &format!(", {k}={}", v.repr()?);
        }
        Ok(out + ")")
    }

    /// Pickled as the dict it can be made again from.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyDict>,))> {
        let py = slf.py();
        let me = slf.get();
        let d = me.fields(py)?.copy()?;
        d.set_item(intern!(py, "kind"), me.kind.bind(py))?;
        Ok((slf.get_type().into_any(), (d,)))
    }
}

impl Event {
    fn field<'py>(&self, py: Python<'py>, name: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        match self.fields(py)?.get_item(name)? {
            Some(value) => Ok(value),
            None => Err(PyAttributeError::new_err(format!("a {} event has no {name}", self.kind.bind(py)))),
        }
    }
}

/// The engine's events as Python objects, their fields not yet made.
pub(crate) fn events<'py>(py: Python<'py>, list: Vec<E>) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for e in list {
        let kind = kind_of(py, &e);
        out.append(Event { kind, raw: Some(e), fields: PyOnceLock::new() })?;
    }
    Ok(out)
}

fn kind_of(py: Python<'_>, e: &E) -> Py<PyString> {
    let kind = match e {
        E::DevInfo(_) => intern!(py, "devinfo"),
        E::Status { .. } => intern!(py, "status"),
        E::Results { .. } => intern!(py, "results"),
        E::Alert { .. } => intern!(py, "alert"),
        E::GenericAlert { .. } => intern!(py, "generic_alert"),
        E::Executed { .. } => intern!(py, "executed"),
        E::PackageEnd => intern!(py, "package_end"),
        E::Ended => intern!(py, "ended"),
        E::Aborted { .. } => intern!(py, "aborted"),
        E::Authenticated => intern!(py, "authenticated"),
        E::AuthenticationFailed { .. } => intern!(py, "auth_failed"),
        E::ServerAuthenticated => intern!(py, "server_authenticated"),
        E::ServerAuthenticationFailed { .. } => intern!(py, "server_auth_failed"),
        _ => intern!(py, "other"),
    };
    kind.clone().unbind()
}

fn fields_of<'py>(py: Python<'py>, e: &E) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match e {
        E::DevInfo(list) => {
            let info = PyDict::new(py);
            for (u, v) in list {
                info.set_item(u, v)?;
            }
            d.set_item(intern!(py, "devinfo"), info)?;
        }
        E::Status { reference, cmd, code, items: list } => {
            d.set_item(intern!(py, "reference"), reference.0)?;
            d.set_item(intern!(py, "cmd"), cmd.as_ref())?;
            d.set_item(intern!(py, "code"), code.0)?;
            d.set_item(intern!(py, "items"), items(py, list)?)?;
        }
        E::Results { reference, items: list } => {
            d.set_item(intern!(py, "reference"), reference.0)?;
            d.set_item(intern!(py, "items"), items(py, list)?)?;
        }
        E::Alert { code, correlator, items: list } => {
            d.set_item(intern!(py, "code"), code.0)?;
            d.set_item(intern!(py, "correlator"), correlator)?;
            d.set_item(intern!(py, "items"), items(py, list)?)?;
        }
        E::GenericAlert { correlator, items: list } => {
            d.set_item(intern!(py, "correlator"), correlator)?;
            d.set_item(intern!(py, "items"), items(py, list)?)?;
        }
        E::Executed { cmd, uri, code } => {
            d.set_item(intern!(py, "cmd"), cmd)?;
            d.set_item(intern!(py, "uri"), uri)?;
            d.set_item(intern!(py, "code"), code.0)?;
        }
        E::Aborted { by_peer } => d.set_item(intern!(py, "by_peer"), by_peer)?,
        E::AuthenticationFailed { code } | E::ServerAuthenticationFailed { code } => {
            d.set_item(intern!(py, "code"), code.0)?;
        }
        _ => {}
    }
    Ok(d)
}

fn data_value<'py>(py: Python<'py>, d: &Data) -> PyResult<Bound<'py, PyAny>> {
    Ok(match d {
        Data::Text(t) | Data::Xml(t) => t.into_pyobject(py)?.into_any(),
        Data::Binary(b) => PyBytes::new(py, b).into_any(),
    })
}

fn items<'py>(py: Python<'py>, list: &[Item]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for i in list {
        let d = PyDict::new(py);
        d.set_item(intern!(py, "uri"), i.source.as_ref().or(i.target.as_ref()).map(|l| l.uri.as_str()))?;
        d.set_item(intern!(py, "format"), i.meta.as_ref().and_then(|m| m.format.as_deref()))?;
        d.set_item(intern!(py, "type"), i.meta.as_ref().and_then(|m| m.type_.as_deref()))?;
        d.set_item(intern!(py, "mark"), i.meta.as_ref().and_then(|m| m.mark.as_deref()))?;
        d.set_item(intern!(py, "data"), i.data.as_ref().map(|x| data_value(py, x)).transpose()?)?;
        out.append(d)?;
    }
    Ok(out)
}
