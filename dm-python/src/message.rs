//! Messages: decode, encode, and the JSON form (the model's serde form) Python turns into dicts.

use dm_core::auth::Credentials;
use dm_core::check::{Direction, Secrets};
use dm_core::codec::{self, DecodeOptions, Encoding};
use dm_core::notification::{Notification, UiMode};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::session::password_lookup;
use crate::{LimitSettings, limits_of, to_py, u8_arg, u16_arg, usage};

/// A decoded SyncML DM message.
#[pyclass(module = "omadm._native", frozen)]
pub struct Message {
    pub(crate) inner: dm_core::Message,
}

#[pymethods]
impl Message {
    /// The message as JSON (`to_dict` in Python is `json.loads` of it).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner).map_err(|e| usage(e.to_string()))
    }

    /// The message a dict describes; refused when it holds text XML cannot carry (it could not
    /// be written out).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Message> {
        let inner = serde_json::from_str(text).map_err(|e| usage(format!("not a message: {e}")))?;
        codec::writable(&inner).map_err(|e| usage(e.0))?;
        Ok(Message { inner })
    }

    fn to_xml(&self) -> String {
        self.inner.to_xml()
    }

    fn to_pretty_xml(&self) -> String {
        codec::to_pretty_xml(&self.inner)
    }

    fn to_wbxml<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &codec::encode(&self.inner, Encoding::Wbxml))
    }

    #[getter]
    fn session_id(&self) -> String {
        self.inner.header.session_id.clone()
    }

    #[getter]
    fn msg_id(&self) -> u32 {
        self.inner.header.msg_id
    }

    #[getter]
    fn source(&self) -> String {
        self.inner.header.source.uri.clone()
    }

    #[getter]
    fn target(&self) -> String {
        self.inner.header.target.uri.clone()
    }

    #[getter(r#final)]
    fn is_final(&self) -> bool {
        self.inner.is_final
    }

    fn __repr__(&self) -> String {
        let names: Vec<&str> = self.inner.commands.iter().map(|c| c.name()).collect();
        format!(
            "<Message session={} msg_id={} {}{}>",
            self.inner.header.session_id,
            self.inner.header.msg_id,
            names.join(","),
            if self.inner.is_final { " final" } else { "" }
        )
    }
}

/// Decodes XML or WBXML (detected); `lenient` accepts what real peers send that is not valid.
#[pyfunction]
#[pyo3(signature = (data, lenient = false, limits = None))]
fn decode(data: &[u8], lenient: bool, limits: LimitSettings) -> PyResult<Message> {
    let options = DecodeOptions { lenient, limits: limits_of(limits)? };
    codec::decode_with(data, &options).map(|inner| Message { inner }).map_err(to_py)
}

#[pyfunction]
fn xml_to_wbxml<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    codec::xml_to_wbxml(data).map(|b| PyBytes::new(py, &b)).map_err(to_py)
}

#[pyfunction]
fn wbxml_to_xml(data: &[u8]) -> PyResult<String> {
    codec::wbxml_to_xml(data).map_err(to_py)
}

/// Builds a signed package-0 notification.
#[pyfunction]
#[pyo3(signature = (server_id, password, nonce, session_id, ui_mode = 0, vendor = b"".to_vec()))]
fn notification_build<'py>(
    py: Python<'py>,
    server_id: &str,
    password: &str,
    nonce: &[u8],
    session_id: i64,
    ui_mode: i64,
    vendor: Vec<u8>,
) -> PyResult<Bound<'py, PyBytes>> {
    let session_id = u16_arg("session_id", session_id)?;
    let mode = match ui_mode {
        0 => UiMode::NotSpecified,
        1 => UiMode::Background,
        2 => UiMode::Informative,
        3 => UiMode::UserInteraction,
        _ => return Err(usage("ui_mode is 0..3")),
    };
    let mut n = Notification::new(server_id, session_id, mode);
    n.vendor = vendor;
    let creds = dm_core::auth::Credentials::new(server_id, password);
    Ok(PyBytes::new(py, &n.build(&creds, nonce)))
}

/// Parses a notification: (version, ui_mode, server_initiated, session_id, session_id_hex,
/// server_id, vendor, digest). Verify with `notification_verify`.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn notification_parse(data: &[u8]) -> PyResult<(u16, u8, bool, u16, String, String, Vec<u8>, Vec<u8>)> {
    let n = Notification::parse(data).map_err(|e| to_py(e.into()))?;
    let hex = n.session_id_hex();
    Ok((n.version, n.ui_mode as u8, n.server_initiated, n.session_id, hex, n.server_id, n.vendor, n.digest.to_vec()))
}

/// Verifies a notification's digest: "nonce", "resync" (the 0x00000000 nonce worked) or None.
#[pyfunction]
fn notification_verify(data: &[u8], password: &str, nonce: &[u8]) -> PyResult<Option<&'static str>> {
    let n = Notification::parse(data).map_err(|e| to_py(e.into()))?;
    let creds = dm_core::auth::Credentials::new(n.server_id.clone(), password);
    Ok(n.verify_with_resync(&creds, nonce).map(|used| if used == nonce { "nonce" } else { "resync" }))
}

/// A notification as a WAP push: the WSP Push PDU, with transaction id `tid`.
#[pyfunction]
#[pyo3(signature = (notification, tid = 0))]
fn wap_push<'py>(py: Python<'py>, notification: &[u8], tid: i64) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &dm_core::wap_push::wrap(u8_arg("tid", tid)?, notification)))
}

/// The notification a WAP push (a WSP Push PDU) holds.
#[pyfunction]
fn from_wap_push<'py>(py: Python<'py>, pdu: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let body = dm_core::wap_push::unwrap(pdu).map_err(|e| to_py(e.into()))?;
    Ok(PyBytes::new(py, body))
}

/// The SMS user data (user data header included) a WAP push travels in, one item per SMS.
#[pyfunction]
#[pyo3(signature = (pdu, reference = 0))]
fn sms_user_data<'py>(py: Python<'py>, pdu: &[u8], reference: i64) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let parts = dm_core::wap_push::sms_user_data(pdu, u8_arg("reference", reference)?).map_err(|e| to_py(e.into()))?;
    Ok(parts.iter().map(|p| PyBytes::new(py, p)).collect())
}

/// Checks a captured session against the rules: (rule, message index, reason) for each
/// violation. `directions` ("c2s"/"s2c" per message) is inferred from the Sources when absent.
/// Given a side's (user name, password), each Cred and HMAC (`hmac`: each message's
/// x-syncml-hmac header, or None) it sends is verified too, with the nonce it was given last
/// (`client_nonce`/`server_nonce`: before the session); without `client`, `passwords` (a dict
/// by user name, or a callable) gives the password of the user a client's Cred names. The trace
/// is decoded once.
#[pyfunction]
#[pyo3(signature = (messages, directions = None, hmac = None, client = None, server = None, client_nonce = None, server_nonce = None, passwords = None))]
#[allow(clippy::too_many_arguments)]
fn check(
    py: Python<'_>,
    messages: Vec<Vec<u8>>,
    directions: Option<Vec<String>>,
    hmac: Option<Vec<Option<String>>>,
    client: Option<(String, String)>,
    server: Option<(String, String)>,
    client_nonce: Option<Vec<u8>>,
    server_nonce: Option<Vec<u8>>,
    passwords: Option<Py<PyAny>>,
) -> PyResult<Vec<(String, usize, String)>> {
    let trace = trace(messages, directions)?;
    let pair = |c: Option<(String, String)>| c.map(|(user, password)| Credentials::new(user, password));
    let client_lookup = passwords.map(|p| password_lookup(py, p)).transpose()?;
    let secrets = Secrets { client: pair(client), server: pair(server), client_lookup, client_nonce, server_nonce };
    let found = dm_core::check::check_with(&trace, &hmac.unwrap_or_default(), &secrets);
    Ok(found.into_iter().map(|v| (v.rule.to_string(), v.msg_index, v.detail)).collect())
}

/// A Status or Results, (message index, CmdID), and the command it answers, (message index,
/// CmdID; 0 for a SyncHdr) or None.
type Answer = (usize, u32, Option<(usize, u32)>);

/// Each Status and Results of a trace with the command it answers.
#[pyfunction]
#[pyo3(signature = (messages, directions = None))]
fn answers(messages: Vec<Vec<u8>>, directions: Option<Vec<String>>) -> PyResult<Vec<Answer>> {
    let trace = trace(messages, directions)?;
    Ok(dm_core::check::trace_answers(&trace).into_iter().map(|a| (a.msg_index, a.cmd_id, a.answers)).collect())
}

/// The messages with their directions, given ("c2s"/"s2c" each) or inferred.
fn trace(messages: Vec<Vec<u8>>, directions: Option<Vec<String>>) -> PyResult<Vec<(Direction, Vec<u8>)>> {
    match directions {
        None => Ok(dm_core::check::infer_directions(messages)),
        Some(d) if d.len() == messages.len() => d
            .iter()
            .zip(messages)
            .map(|(d, m)| match d.as_str() {
                "c2s" => Ok((Direction::ClientToServer, m)),
                "s2c" => Ok((Direction::ServerToClient, m)),
                other => Err(usage(format!("a direction is c2s or s2c, not {other:?}"))),
            })
            .collect(),
        Some(_) => Err(usage("one direction per message")),
    }
}

/// The Content-Type the bytes of a message call for: that of their encoding, detected; None
/// when they are neither XML nor WBXML.
#[pyfunction]
fn content_type_of(data: &[u8]) -> Option<&'static str> {
    dm_core::codec::detect(data).map(dm_core::Encoding::content_type)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Message>()?;
    m.add_function(wrap_pyfunction!(content_type_of, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(answers, m)?)?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(xml_to_wbxml, m)?)?;
    m.add_function(wrap_pyfunction!(wbxml_to_xml, m)?)?;
    m.add_function(wrap_pyfunction!(notification_build, m)?)?;
    m.add_function(wrap_pyfunction!(notification_parse, m)?)?;
    m.add_function(wrap_pyfunction!(notification_verify, m)?)?;
    m.add_function(wrap_pyfunction!(wap_push, m)?)?;
    m.add_function(wrap_pyfunction!(from_wap_push, m)?)?;
    m.add_function(wrap_pyfunction!(sms_user_data, m)?)?;
    Ok(())
}
