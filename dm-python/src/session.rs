//! Client and server sessions for Python.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use dm_core::auth::{AuthType, Credentials};
use dm_core::codec::Encoding;
use dm_core::model::{AlertCode, Data, Item, Location, Meta};
use dm_core::session::{self as s, NonceSource, Outgoing, State, Wire};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::event::events;
use crate::pytree::{AnyTree, any_tree};
use crate::{LimitSettings, data_of, limits_of, to_py, usage};

/// What the Python classes read alike of either engine.
trait Engine {
    fn state(&self) -> State;
    fn content_type(&self) -> &'static str;
    fn device_nonce(&self) -> Option<&[u8]>;
    fn server_nonce(&self) -> Option<&[u8]>;
}

impl Engine for s::ClientSession<AnyTree> {
    fn state(&self) -> State {
        self.state()
    }
    fn content_type(&self) -> &'static str {
        self.content_type()
    }
    fn device_nonce(&self) -> Option<&[u8]> {
        self.next_nonce()
    }
    fn server_nonce(&self) -> Option<&[u8]> {
        self.next_server_nonce()
    }
}

impl Engine for s::ServerSession {
    fn state(&self) -> State {
        self.state()
    }
    fn content_type(&self) -> &'static str {
        self.content_type()
    }
    fn device_nonce(&self) -> Option<&[u8]> {
        self.next_client_nonce()
    }
    fn server_nonce(&self) -> Option<&[u8]> {
        Some(self.next_server_nonce()).filter(|n| !n.is_empty())
    }
}

/// The session, or `UsageError` when it is in use. With the GIL held throughout a call, only a
/// Python callback of the session's own (tree, UI handler) can find it so, from its thread or
/// another: waiting there would never end, since the call in use waits for the GIL.
fn lock<T>(inner: &Mutex<T>) -> PyResult<MutexGuard<'_, T>> {
    inner.try_lock().map_err(|e| match e {
        TryLockError::WouldBlock => usage("the session is in use: its own tree or UI callback cannot call it"),
        TryLockError::Poisoned(_) => usage("session poisoned"),
    })
}

type Status = (&'static str, &'static str, Option<String>, Option<Vec<u8>>, Option<Vec<u8>>);

fn status_of<E: Engine>(inner: &Mutex<(E, Option<String>)>) -> PyResult<Status> {
    let g = lock(inner)?;
    Ok((
        state_name(g.0.state()),
        g.0.content_type(),
        g.1.clone(),
        g.0.device_nonce().map(<[u8]>::to_vec),
        g.0.server_nonce().map(<[u8]>::to_vec),
    ))
}

fn state_name(st: State) -> &'static str {
    match st {
        State::Ready => "ready",
        State::Waiting => "waiting",
        State::Ended => "ended",
        State::Aborted => "aborted",
    }
}

fn wire(
    encoding: &str,
    max_msg_size: Option<u64>,
    max_obj_size: Option<u64>,
    limits: LimitSettings,
    lenient: bool,
    accept_dm11: bool,
) -> PyResult<Wire> {
    let mut w = Wire::default();
    w.limits = limits_of(limits)?;
    w.lenient = lenient;
    w.accept_dm11 = accept_dm11;
    w.encoding = match encoding {
        "xml" => Encoding::Xml,
        "wbxml" => Encoding::Wbxml,
        other => return Err(usage(format!("encoding is 'xml' or 'wbxml', not {other:?}"))),
    };
    w.max_msg_size = max_msg_size;
    w.max_obj_size = max_obj_size;
    Ok(w)
}

fn auth(name: &str) -> PyResult<AuthType> {
    AuthType::parse(name).ok_or_else(|| usage(format!("auth is none, basic, md5 or hmac, not {name:?}")))
}

/// The last outgoing message's extras, kept for `content_type` / `hmac_header`.
fn take<'py>(py: Python<'py>, out: Option<Outgoing>, hmac: &mut Option<String>) -> Option<Bound<'py, PyBytes>> {
    let out = out?;
    *hmac = out.hmac;
    Some(PyBytes::new(py, &out.body))
}

#[pyclass(module = "omadm._native", frozen)]
pub struct ClientSession {
    inner: Mutex<(s::ClientSession<AnyTree>, Option<String>)>,
    tree: Py<PyAny>,
    tree_errors: Arc<Mutex<Vec<String>>>,
}

#[pymethods]
impl ClientSession {
    #[new]
    #[pyo3(signature = (device_id, server_id, server_uri, tree, devinfo = None, username = None, password = None,
        auth = "none", nonce = b"".to_vec(), session_id = None, server_initiated = false, encoding = "xml",
        max_msg_size = None, max_obj_size = None, server_password = None, server_nonce = b"".to_vec(),
        server_auth = "md5", limits = None, lenient = false, accept_dm11 = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        device_id: &str,
        server_id: &str,
        server_uri: &str,
        tree: &Bound<'_, PyAny>,
        devinfo: Option<Vec<(String, String)>>,
        username: Option<String>,
        password: Option<String>,
        auth: &str,
        nonce: Vec<u8>,
        session_id: Option<String>,
        server_initiated: bool,
        encoding: &str,
        max_msg_size: Option<u64>,
        max_obj_size: Option<u64>,
        server_password: Option<String>,
        server_nonce: Vec<u8>,
        server_auth: &str,
        limits: LimitSettings,
        lenient: bool,
        accept_dm11: bool,
    ) -> PyResult<ClientSession> {
        let mut c = s::ClientConfig::new(device_id, server_id, server_uri);
        // The server's credentials (its id and password) check its Cred or HMAC; a server that
        // signs with HMAC is challenged with a new nonce every message.
        c.server_credentials = server_password.map(|p| Credentials::new(server_id, p));
        c.server_nonce = server_nonce;
        c.server_auth = self::auth(server_auth)?;
        c.nonce_source = Some(NonceSource::os());
        c.devinfo = devinfo.unwrap_or_default();
        c.auth = self::auth(auth)?;
        c.credentials = username.map(|u| Credentials::new(u, password.unwrap_or_default()));
        c.nonce = nonce;
        if let Some(id) = session_id {
            c.session_id = id;
        }
        c.server_initiated = server_initiated;
        c.wire = wire(encoding, max_msg_size, max_obj_size, limits, lenient, accept_dm11)?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let engine_tree = any_tree(tree, &errors);
        let session = s::ClientSession::new(c, engine_tree).map_err(to_py)?;
        Ok(ClientSession { inner: Mutex::new((session, None)), tree: tree.clone().unbind(), tree_errors: errors })
    }

    /// The next message to send (bytes), or None when the session is over.
    fn next_message<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut g = lock(&self.inner)?;
        let (c, hmac) = &mut *g;
        let out = c.next_message().map_err(to_py)?;
        Ok(take(py, out, hmac))
    }

    /// Takes a server message; returns the events it produced.
    #[pyo3(signature = (body, hmac = None))]
    fn receive<'py>(&self, py: Python<'py>, body: &[u8], hmac: Option<&str>) -> PyResult<Bound<'py, PyList>> {
        let list = lock(&self.inner)?.0.receive_with_hmac(body, hmac).map_err(to_py)?;
        events(py, list)
    }

    /// (state, content type, x-syncml-hmac of the last message, the nonces to keep for the
    /// next session: the device's, the server's).
    #[getter]
    fn status(&self) -> PyResult<Status> {
        status_of(&self.inner)
    }

    #[getter]
    fn tree(&self, py: Python<'_>) -> Py<PyAny> {
        self.tree.clone_ref(py)
    }

    /// Answers UI alerts with `handler(code, options, text, choices)`: None or True for OK/yes,
    /// False for no (304), a str for text input, a list of choice numbers (from 1); an exception
    /// cancels (214).
    fn set_ui_handler(&self, handler: Py<PyAny>) -> PyResult<()> {
        let mut g = lock(&self.inner)?;
        g.0.set_ui_handler(Box::new(move |req: &s::UiRequest| {
            Python::attach(|py| {
                let args = (req.code.0, req.options.clone(), req.text.clone(), req.choices.clone());
                match handler.bind(py).call1(args) {
                    Err(_) => s::UiResponse::Cancel,
                    Ok(v) if v.is_none() => req.default_response(),
                    Ok(v) => {
                        if let Ok(b) = v.extract::<bool>() {
                            return if b { s::UiResponse::Yes } else { s::UiResponse::No };
                        }
                        if let Ok(t) = v.extract::<String>() {
                            return s::UiResponse::Text(t);
                        }
                        match v.extract::<Vec<usize>>() {
                            Ok(c) => s::UiResponse::Choices(c),
                            Err(_) => s::UiResponse::Cancel,
                        }
                    }
                }
            })
        }));
        Ok(())
    }

    /// Where to send the next message: the server's last RespURI, else the server URI.
    #[getter]
    fn respond_to(&self) -> PyResult<String> {
        Ok(lock(&self.inner)?.0.respond_to().to_string())
    }

    /// Exceptions a Python tree raised (each answered 500 to the server).
    #[getter]
    fn tree_errors(&self) -> Vec<String> {
        self.tree_errors.lock().map(|e| e.clone()).unwrap_or_default()
    }

    fn abort(&self) -> PyResult<()> {
        lock(&self.inner)?.0.abort();
        Ok(())
    }

    /// One alert of one or more items, each (source URI, type, format, data, mark): a Generic
    /// Alert (1226) or a Client Event (1224).
    #[pyo3(signature = (code, items, correlator = None))]
    fn alert(&self, code: u16, items: Vec<GenericAlertItem>, correlator: Option<String>) -> PyResult<u32> {
        let items = items
            .into_iter()
            .map(|(uri, t, f, d, mark)| Item {
                source: uri.map(Location::new),
                meta: Some(Box::new(Meta { mark, ..Meta::typed(f, t) })),
                data: Some(Data::Text(d)),
                ..Item::default()
            })
            .collect();
        let mut g = lock(&self.inner)?;
        g.0.alert(AlertCode(code), correlator, items).map(|r| r.0).map_err(to_py)
    }
}

/// An alert item from Python: (source URI, type, format, data, mark).
type GenericAlertItem = (Option<String>, String, String, String, Option<String>);

#[pyclass(module = "omadm._native", frozen)]
pub struct ServerSession {
    inner: Mutex<(s::ServerSession, Option<String>)>,
}

impl ServerSession {
    fn with<T>(&self, f: impl FnOnce(&mut s::ServerSession) -> Result<T, dm_core::Error>) -> PyResult<T> {
        let mut g = lock(&self.inner)?;
        f(&mut g.0).map_err(to_py)
    }
}

#[pymethods]
impl ServerSession {
    #[new]
    #[pyo3(signature = (server_id, username = None, password = None, auth = "none", nonce = b"".to_vec(),
        encoding = "xml", max_msg_size = None, max_obj_size = None, server_password = None, server_nonce = b"".to_vec(),
        resp_uri = None, limits = None, lenient = false, accept_dm11 = false, passwords = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        server_id: &str,
        username: Option<String>,
        password: Option<String>,
        auth: &str,
        nonce: Vec<u8>,
        encoding: &str,
        max_msg_size: Option<u64>,
        max_obj_size: Option<u64>,
        server_password: Option<String>,
        server_nonce: Vec<u8>,
        resp_uri: Option<String>,
        limits: LimitSettings,
        lenient: bool,
        accept_dm11: bool,
        passwords: Option<Py<PyAny>>,
    ) -> PyResult<ServerSession> {
        let mut c = s::ServerConfig::new(server_id);
        c.auth = self::auth(auth)?;
        c.client_credentials = username.map(|u| Credentials::new(u, password.unwrap_or_default()));
        c.lookup = passwords.map(|p| password_lookup(py, p)).transpose()?;
        c.client_nonce = nonce;
        c.nonce_source = Some(NonceSource::os());
        c.wire = wire(encoding, max_msg_size, max_obj_size, limits, lenient, accept_dm11)?;
        c.resp_uri = resp_uri;
        // The server's own credentials: md5/basic Cred in its first message, or an HMAC on each.
        if let Some(p) = server_password {
            let kind = if c.auth == AuthType::None { AuthType::Basic } else { c.auth };
            c.credentials = Some((kind, Credentials::new(server_id, p)));
            c.server_nonce = server_nonce;
        }
        Ok(ServerSession { inner: Mutex::new((s::ServerSession::new(c), None)) })
    }

    /// Takes a client message (and its x-syncml-hmac header); returns the events it produced.
    #[pyo3(signature = (body, hmac = None))]
    fn receive<'py>(&self, py: Python<'py>, body: &[u8], hmac: Option<&str>) -> PyResult<Bound<'py, PyList>> {
        let list = self.with(|s| s.receive_with_hmac(body, hmac))?;
        events(py, list)
    }

    fn next_message<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut g = lock(&self.inner)?;
        let (sv, hmac) = &mut *g;
        let out = sv.next_message().map_err(to_py)?;
        Ok(take(py, out, hmac))
    }

    fn get(&self, uri: &str) -> PyResult<u32> {
        self.with(|s| s.get(uri)).map(|r| r.0)
    }

    /// Queues a command given as JSON in `Message.to_dict`'s shape, as it is.
    fn command(&self, json: &str) -> PyResult<u32> {
        let c = serde_json::from_str(json).map_err(|e| usage(format!("not a command: {e}")))?;
        self.with(|s| s.command(c)).map(|r| r.0)
    }

    #[pyo3(signature = (uri, data, format = None, r#type = None))]
    fn replace(&self, uri: &str, data: &Bound<'_, PyAny>, format: Option<&str>, r#type: Option<&str>) -> PyResult<u32> {
        let d = data_of(data)?;
        self.with(|s| s.replace(uri, d, format, r#type)).map(|r| r.0)
    }

    #[pyo3(signature = (uri, data = None, format = None, r#type = None))]
    fn add(
        &self,
        uri: &str,
        data: Option<&Bound<'_, PyAny>>,
        format: Option<&str>,
        r#type: Option<&str>,
    ) -> PyResult<u32> {
        let d = data.map(data_of).transpose()?;
        self.with(|s| s.add(uri, d, format, r#type)).map(|r| r.0)
    }

    fn delete(&self, uri: &str) -> PyResult<u32> {
        self.with(|s| s.delete(uri)).map(|r| r.0)
    }

    #[pyo3(signature = (uri, data = None, correlator = None))]
    fn exec(&self, uri: &str, data: Option<&Bound<'_, PyAny>>, correlator: Option<&str>) -> PyResult<u32> {
        let d = data.map(data_of).transpose()?;
        self.with(|s| s.exec(uri, d, correlator)).map(|r| r.0)
    }

    fn copy(&self, source: &str, target: &str) -> PyResult<u32> {
        self.with(|s| s.copy(source, target)).map(|r| r.0)
    }

    /// Any alert; `items` are the data of its items (options, text, choices for UI alerts).
    #[pyo3(signature = (code, items = Vec::new()))]
    fn alert(&self, code: u16, items: Vec<String>) -> PyResult<u32> {
        let items = items.into_iter().map(|d| Item { data: Some(Data::Text(d)), ..Item::default() }).collect();
        self.with(|s| s.alert(AlertCode(code), items)).map(|r| r.0)
    }

    fn begin_sequence(&self) -> PyResult<u32> {
        self.with(|s| s.begin_sequence()).map(|r| r.0)
    }

    fn begin_atomic(&self) -> PyResult<u32> {
        self.with(|s| s.begin_atomic()).map(|r| r.0)
    }

    fn end_group(&self) -> PyResult<()> {
        self.with(|s| s.end_group())
    }

    fn abort(&self) -> PyResult<()> {
        self.with(|s| {
            s.abort();
            Ok(())
        })
    }

    /// (state, content type, x-syncml-hmac of the last message, the nonces to keep for the
    /// next session: the device's, the server's).
    #[getter]
    fn status(&self) -> PyResult<Status> {
        status_of(&self.inner)
    }

    #[getter]
    fn devinfo(&self) -> PyResult<Vec<(String, String)>> {
        Ok(lock(&self.inner)?.0.devinfo().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[getter]
    fn device_id(&self) -> PyResult<String> {
        Ok(lock(&self.inner)?.0.device_id().to_string())
    }

    /// The session as bytes; `ServerSession.restore(data, ...)` continues it anywhere.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let g = lock(&self.inner)?;
        Ok(PyBytes::new(py, &g.0.snapshot()))
    }

    /// Takes over the state of `snapshot` bytes, keeping this session's configuration (the
    /// snapshot does not hold one): `ServerSession.restore` builds the session, then calls this.
    fn restore(&self, data: &[u8]) -> PyResult<()> {
        let mut g = lock(&self.inner)?;
        let config = g.0.config().clone();
        *g = (s::ServerSession::restore(data, config).map_err(to_py)?, None);
        Ok(())
    }
}

/// A server's (or the checker's) client passwords by user name: a dict, or a callable
/// `(user) -> str | None`. An exception from the callable is reported as unraisable and the
/// user is unknown (401).
pub(crate) fn password_lookup(py: Python<'_>, passwords: Py<PyAny>) -> PyResult<s::PasswordLookup> {
    if let Ok(table) = passwords.bind(py).cast::<PyDict>() {
        let table: HashMap<String, String> = table.extract()?;
        return Ok(s::PasswordLookup(Arc::new(move |user| table.get(user).cloned())));
    }
    if !passwords.bind(py).is_callable() {
        return Err(usage("passwords: a dict of user name to password, or a callable (user) -> str | None"));
    }
    Ok(s::PasswordLookup(Arc::new(move |user| {
        Python::attach(|py| {
            let lookup = passwords.bind(py);
            match lookup.call1((user,)).and_then(|v| v.extract::<Option<String>>()) {
                Ok(found) => found,
                Err(e) => {
                    e.write_unraisable(py, Some(lookup));
                    None
                }
            }
        })
    })))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ClientSession>()?;
    m.add_class::<ServerSession>()
}
