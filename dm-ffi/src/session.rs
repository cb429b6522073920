//! Client and server sessions behind one opaque handle.

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::ffi::{CStr, CString, c_char, c_int, c_void};

use dm_core::Limits;
use dm_core::auth::{AuthType, Credentials};
use dm_core::codec::Encoding;
use dm_core::model::{AlertCode, Data, Item, Location, Meta};
use dm_core::session::{
    ClientConfig, ClientSession, Event, NonceSource, Outgoing, PasswordLookup, ServerConfig, ServerSession, State,
    UiRequest, UiResponse, Wire,
};

use crate::boundary::{bytes_arg, guard, opt_str, out, str_arg, thread_error, thread_failure, tri};
use crate::limits::with_defaults;
use crate::result::dm_result;
use crate::tree::{CTree, dm_tree_ops};

/// A DM session, client or server. Opaque: create with dm_client_new / dm_server_new, release
/// with dm_session_free. (Not `repr(C)`, so that cbindgen declares it opaque.)
pub struct dm_session {
    _private: [u8; 0],
}

/// What a session sends; it receives either.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dm_encoding {
    /// XML text, application/vnd.syncml.dm+xml.
    DM_ENCODING_XML = 0,
    /// WBXML, application/vnd.syncml.dm+wbxml.
    DM_ENCODING_WBXML = 1,
}

/// How a party proves who it is.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dm_auth {
    /// No credentials.
    DM_AUTH_NONE = 0,
    /// syncml:auth-basic: base64 of user:password (only over a secure transport).
    DM_AUTH_BASIC = 1,
    /// syncml:auth-md5: an MD5 digest of the user, password and nonce.
    DM_AUTH_MD5 = 2,
    /// syncml:auth-MAC: a digest of each message in its x-syncml-hmac HTTP header.
    DM_AUTH_HMAC = 3,
}

/// Where a session stands (dm_session_state).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dm_state {
    /// dm_session_next_message has a message.
    DM_STATE_READY = 0,
    /// A message from the peer is expected.
    DM_STATE_WAITING = 1,
    /// The session is over.
    DM_STATE_ENDED = 2,
    /// The session was aborted, by either side.
    DM_STATE_ABORTED = 3,
}

/// Client settings. Fill with dm_client_config_init first, so that fields added later keep
/// their defaults.
#[repr(C)]
pub struct dm_client_config {
    /// The device's URN, e.g. "IMEI:493005100592800". Required.
    pub device_id: *const c_char,
    /// The server id (ACLs name it). Required.
    pub server_id: *const c_char,
    /// The server URL. Required.
    pub server_uri: *const c_char,
    /// SessionID; NULL: "1".
    pub session_id: *const c_char,
    /// Non-zero: started by a package-0 notification (Alert 1200).
    pub server_initiated: c_int,
    /// What the client sends (it receives either).
    pub encoding: dm_encoding,
    /// MaxMsgSize / MaxObjSize to announce; 0: limits.max_message_size / max_object_size.
    pub max_msg_size: u64,
    /// See max_msg_size.
    pub max_obj_size: u64,
    /// How the client authenticates.
    pub auth: dm_auth,
    /// The client's user name; NULL: no credentials.
    pub username: *const c_char,
    /// The client's password.
    pub password: *const c_char,
    /// The nonce for md5/HMAC digests (from the last session).
    pub nonce: *const u8,
    /// The bytes at nonce.
    pub nonce_len: usize,
    /// The server's password (its user name is server_id): when set, the server must
    /// authenticate, and is challenged (md5) when it does not. NULL: not checked.
    pub server_password: *const c_char,
    /// The nonce the server digests its Cred with.
    pub server_nonce: *const u8,
    /// The bytes at server_nonce.
    pub server_nonce_len: usize,
    /// The scheme a challenge asks of the server (default md5); a weaker Cred is challenged.
    pub server_auth: dm_auth,
    /// What the server's messages may hold: dm_client_config_init fills in the defaults, and 0
    /// in a field also means its default. A message past one is refused whole: DM_ERR_LIMIT,
    /// and dm_last_error names the field.
    pub limits: Limits,
    /// Non-zero: take what real servers send that is not valid (a bare '&' in text, text
    /// between elements, ...), but never a control character outside Data.
    pub lenient: c_int,
    /// Non-zero: take DM 1.1.2 headers (VerDTD 1.1, DM/1.1).
    pub accept_dm11: c_int,
}

/// Server settings. Fill with dm_server_config_init first.
#[repr(C)]
pub struct dm_server_config {
    /// Required.
    pub server_id: *const c_char,
    /// What the server sends (it receives either).
    pub encoding: dm_encoding,
    /// MaxMsgSize / MaxObjSize to announce; 0: limits.max_message_size / max_object_size.
    pub max_msg_size: u64,
    /// See max_msg_size.
    pub max_obj_size: u64,
    /// What the client must authenticate with, and its credentials.
    pub auth: dm_auth,
    /// The client's user name.
    pub username: *const c_char,
    /// The client's password.
    pub password: *const c_char,
    /// The nonce the client digests with now.
    pub nonce: *const u8,
    /// The bytes at nonce.
    pub nonce_len: usize,
    /// This server's own password (user name server_id), sent as a Cred of type `auth` (basic
    /// when `auth` is none) in its first message. NULL: none.
    pub server_password: *const c_char,
    /// The nonce the client gave for it.
    pub server_nonce: *const u8,
    /// The bytes at server_nonce.
    pub server_nonce_len: usize,
    /// What the client's messages may hold, as dm_client_config.limits.
    pub limits: Limits,
    /// Non-zero: take what real devices send that is not valid, as dm_client_config.lenient.
    pub lenient: c_int,
    /// Non-zero: take DM 1.1.2 headers.
    pub accept_dm11: c_int,
}

/// What happened, one at a time from dm_session_next_event.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dm_event_kind {
    /// Server: one DevInfo node (uri, data).
    DM_EVENT_DEVINFO = 0,
    /// The peer's status for command `reference`: code, cmd; one event per item when it has
    /// items (data: a UI alert's answer, the text typed or a choice picked).
    DM_EVENT_STATUS = 1,
    /// Server: one result item of Get `reference`: uri, data.
    DM_EVENT_RESULTS = 2,
    /// An alert from the peer: code, one event per item (data).
    DM_EVENT_ALERT = 3,
    /// Server: a Generic Alert item: cmd holds the correlator, uri the source, data.
    DM_EVENT_GENERIC_ALERT = 4,
    /// Client: a server command ran against the tree: cmd, uri, code.
    DM_EVENT_EXECUTED = 5,
    /// The peer's package is complete.
    DM_EVENT_PACKAGE_END = 6,
    /// The session ended normally.
    DM_EVENT_ENDED = 7,
    /// code is 1 when the peer aborted, 0 when this side did.
    DM_EVENT_ABORTED = 8,
    /// The client's credentials were accepted.
    DM_EVENT_AUTHENTICATED = 9,
    /// The client's authentication failed for good: code is the last status.
    DM_EVENT_AUTH_FAILED = 10,
    /// The server's credentials were accepted.
    DM_EVENT_SERVER_AUTHENTICATED = 11,
    /// The server's authentication failed for good (code: the last status): past the attempts
    /// allowed (the session aborts), or the session is over with its credentials still refused.
    DM_EVENT_SERVER_AUTH_FAILED = 12,
}

/// One event. The pointers stay valid until the next call on the session; any may be NULL.
#[repr(C)]
pub struct dm_event {
    /// What happened; it says which fields are set.
    pub kind: dm_event_kind,
    /// Status, results: the reference the queuing call returned.
    pub reference: u32,
    /// A status or alert code (aborted: 1 when by the peer).
    pub code: u16,
    /// A command's name (a generic alert's correlator).
    pub cmd: *const c_char,
    /// A node's URI.
    pub uri: *const c_char,
    /// An item's data.
    pub data: *const u8,
    /// The bytes at data.
    pub len: usize,
}

enum Role {
    Client(Box<ClientSession<CTree>>),
    Server(Box<ServerSession>),
}

/// A flat event with owned strings.
struct Flat {
    kind: dm_event_kind,
    reference: u32,
    code: u16,
    cmd: Option<CString>,
    uri: Option<CString>,
    data: Vec<u8>,
    /// The item's Format, Type and Mark (dm_session_event_meta).
    meta: [Option<CString>; 3],
}

impl Flat {
    /// An event whose item, if any, has no Meta.
    fn new(
        kind: dm_event_kind,
        reference: u32,
        code: u16,
        cmd: Option<CString>,
        uri: Option<CString>,
        data: Vec<u8>,
    ) -> Flat {
        Flat { kind, reference, code, cmd, uri, data, meta: Default::default() }
    }
}

struct Session {
    role: Role,
    out: Vec<u8>,
    hmac: Option<CString>,
    /// Client: where its next message goes (`ClientSession::respond_to`), as of the last call.
    respond_to: Option<CString>,
    last_error: Option<CString>,
    events: VecDeque<Flat>,
    current: Option<Flat>,
}

fn c(s: &str) -> Option<CString> {
    CString::new(s.replace('\0', " ")).ok()
}

/// The string for C, or NULL.
fn c_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

fn items(kind: dm_event_kind, reference: u32, code: u16, cmd: Option<&str>, list: &[Item], out: &mut VecDeque<Flat>) {
    for i in list {
        let uri = i.source.as_ref().or(i.target.as_ref()).map(|l| l.uri.as_str());
        let data = i.data.as_ref().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        let m = i.meta.as_deref();
        let meta = [
            m.and_then(|m| m.format.as_deref()),
            m.and_then(|m| m.type_.as_deref()),
            m.and_then(|m| m.mark.as_deref()),
        ]
        .map(|v| v.and_then(c));
        out.push_back(Flat { meta, ..Flat::new(kind, reference, code, cmd.and_then(c), uri.and_then(c), data) });
    }
}

fn flatten(e: Event, out: &mut VecDeque<Flat>) {
    use dm_event_kind::*;
    let bare = |kind, code| Flat::new(kind, 0, code, None, None, vec![]);
    match e {
        Event::DevInfo(d) => {
            for (u, v) in d {
                out.push_back(Flat::new(DM_EVENT_DEVINFO, 0, 0, None, c(&u), v.into_bytes()));
            }
        }
        // A status with items (a UI alert's answer) gives one event per item.
        Event::Status { reference, cmd, code, items: list } if !list.is_empty() => {
            items(DM_EVENT_STATUS, reference.0, code.0, Some(&cmd), &list, out)
        }
        Event::Status { reference, cmd, code, .. } => {
            out.push_back(Flat::new(DM_EVENT_STATUS, reference.0, code.0, c(&cmd), None, vec![]))
        }
        Event::Results { reference, items: list } => items(DM_EVENT_RESULTS, reference.0, 0, None, &list, out),
        Event::Alert { code, items: list, .. } if list.is_empty() => out.push_back(bare(DM_EVENT_ALERT, code.0)),
        Event::Alert { code, items: list, .. } => items(DM_EVENT_ALERT, 0, code.0, None, &list, out),
        Event::GenericAlert { correlator, items: list } => {
            items(DM_EVENT_GENERIC_ALERT, 0, 1226, correlator.as_deref(), &list, out)
        }
        Event::Executed { cmd, uri, code } => {
            out.push_back(Flat::new(DM_EVENT_EXECUTED, 0, code.0, c(cmd), c(&uri), vec![]))
        }
        Event::PackageEnd => out.push_back(bare(DM_EVENT_PACKAGE_END, 0)),
        Event::Ended => out.push_back(bare(DM_EVENT_ENDED, 0)),
        Event::Aborted { by_peer } => out.push_back(bare(DM_EVENT_ABORTED, u16::from(by_peer))),
        Event::Authenticated => out.push_back(bare(DM_EVENT_AUTHENTICATED, 0)),
        Event::AuthenticationFailed { code } => out.push_back(bare(DM_EVENT_AUTH_FAILED, code.0)),
        Event::ServerAuthenticated => out.push_back(bare(DM_EVENT_SERVER_AUTHENTICATED, 0)),
        Event::ServerAuthenticationFailed { code } => out.push_back(bare(DM_EVENT_SERVER_AUTH_FAILED, code.0)),
        _ => {}
    }
}

/// What a `dm_session` points to: the session, and whether a call on it is running. A callback
/// of its own (tree, UI handler) calling back into it finds it in use and is refused, so that
/// the session is never reached twice at once (nor freed under the call that runs the callback).
struct Handle {
    in_use: Cell<bool>,
    session: UnsafeCell<Session>,
}

/// What `dm_last_error` says to a callback that called its own session.
const IN_USE: &CStr = c"the session is in use: its own tree or UI callback cannot call it";

/// The session for one call, given back when it is dropped (on return or unwind).
struct InUse<'a> {
    handle: &'a Handle,
    session: &'a mut Session,
}

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        self.handle.in_use.set(false);
    }
}

impl std::ops::Deref for InUse<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session
    }
}

impl std::ops::DerefMut for InUse<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session
    }
}

/// The session behind a handle, for one call: `DM_ERR_NULL` for NULL, `DM_ERR_USAGE` while a
/// call on it is running (its callback called in).
unsafe fn session<'a>(s: *const dm_session) -> Result<InUse<'a>, dm_result> {
    if s.is_null() {
        return Err(dm_result::DM_ERR_NULL);
    }
    let handle = unsafe { &*s.cast::<Handle>() };
    if handle.in_use.replace(true) {
        return Err(dm_result::DM_ERR_USAGE);
    }
    Ok(InUse { handle, session: unsafe { &mut *handle.session.get() } })
}

fn new_handle(role: Role, handle: *mut *mut dm_session) -> dm_result {
    let respond_to = match &role {
        Role::Client(c) => self::c(c.respond_to()),
        Role::Server(_) => None,
    };
    let s =
        Session { role, out: vec![], hmac: None, respond_to, last_error: None, events: VecDeque::new(), current: None };
    let p = Box::into_raw(Box::new(Handle { in_use: Cell::new(false), session: UnsafeCell::new(s) }));
    match unsafe { out(handle, p.cast::<dm_session>()) } {
        Ok(()) => dm_result::DM_OK,
        Err(e) => {
            drop(unsafe { Box::from_raw(p) });
            e
        }
    }
}

impl Session {
    /// Keeps the error for dm_last_error and maps it to a result code.
    fn fail(&mut self, e: dm_core::Error) -> dm_result {
        self.last_error = c(&e.to_string());
        (&e).into()
    }

    /// The server session, or DM_ERR_USAGE (dm_last_error says why) for a client's.
    fn server(&mut self) -> Result<&mut ServerSession, dm_result> {
        match &mut self.role {
            Role::Server(v) => Ok(v),
            Role::Client(_) => {
                self.last_error = c("this call is for server sessions");
                Err(dm_result::DM_ERR_USAGE)
            }
        }
    }

    /// The client session, or DM_ERR_USAGE (dm_last_error says why) for a server's.
    fn client(&mut self) -> Result<&mut ClientSession<CTree>, dm_result> {
        match &mut self.role {
            Role::Client(c) => Ok(c),
            Role::Server(_) => {
                self.last_error = c("this call is for client sessions");
                Err(dm_result::DM_ERR_USAGE)
            }
        }
    }

    /// A queued command's outcome: its reference written (when asked for), or the error kept.
    fn queued(
        &mut self,
        queued: Result<dm_core::session::CommandRef, dm_core::Error>,
        reference: *mut u32,
    ) -> dm_result {
        match queued {
            Ok(r) => {
                if !reference.is_null() {
                    unsafe { reference.write(r.0) };
                }
                dm_result::DM_OK
            }
            Err(e) => self.fail(e),
        }
    }
}

fn encoding(e: dm_encoding) -> Encoding {
    match e {
        dm_encoding::DM_ENCODING_XML => Encoding::Xml,
        dm_encoding::DM_ENCODING_WBXML => Encoding::Wbxml,
    }
}

fn auth_type(a: dm_auth) -> AuthType {
    match a {
        dm_auth::DM_AUTH_NONE => AuthType::None,
        dm_auth::DM_AUTH_BASIC => AuthType::Basic,
        dm_auth::DM_AUTH_MD5 => AuthType::Md5,
        dm_auth::DM_AUTH_HMAC => AuthType::Hmac,
    }
}

/// What both configurations say of the wire: the sizes to announce (0: the limits), limits,
/// leniency.
fn wire(e: dm_encoding, (msg, obj): (u64, u64), limits: &Limits, lenient: c_int, accept_dm11: c_int) -> Wire {
    let mut w = Wire::default();
    w.encoding = encoding(e);
    w.max_msg_size = (msg > 0).then_some(msg);
    w.max_obj_size = (obj > 0).then_some(obj);
    w.limits = with_defaults(limits);
    w.lenient = lenient != 0;
    w.accept_dm11 = accept_dm11 != 0;
    w
}

unsafe fn credentials(user: *const c_char, pass: *const c_char) -> Result<Option<Credentials>, dm_result> {
    let (u, p) = unsafe { (opt_str(user)?, opt_str(pass)?) };
    Ok(u.map(|u| Credentials::new(u, p.unwrap_or_default())))
}

/// The server's credentials (its user name is its id), when a password is given.
unsafe fn password_of(server_id: *const c_char, pass: *const c_char) -> Result<Option<Credentials>, dm_result> {
    let (id, p) = unsafe { (opt_str(server_id)?, opt_str(pass)?) };
    Ok(p.map(|p| Credentials::new(id.unwrap_or_default(), p)))
}

/// Fills a client configuration with the defaults.
#[unsafe(no_mangle)]
pub extern "C" fn dm_client_config_init(config: *mut dm_client_config) -> dm_result {
    guard(|| {
        let defaults = dm_client_config {
            device_id: std::ptr::null(),
            server_id: std::ptr::null(),
            server_uri: std::ptr::null(),
            session_id: std::ptr::null(),
            server_initiated: 0,
            encoding: dm_encoding::DM_ENCODING_XML,
            max_msg_size: 0,
            max_obj_size: 0,
            auth: dm_auth::DM_AUTH_NONE,
            username: std::ptr::null(),
            password: std::ptr::null(),
            nonce: std::ptr::null(),
            nonce_len: 0,
            server_password: std::ptr::null(),
            server_nonce: std::ptr::null(),
            server_nonce_len: 0,
            server_auth: dm_auth::DM_AUTH_MD5,
            limits: Limits::default(),
            lenient: 0,
            accept_dm11: 0,
        };
        tri!(unsafe { out(config, defaults) });
        dm_result::DM_OK
    })
}

/// Fills a server configuration with the defaults.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_config_init(config: *mut dm_server_config) -> dm_result {
    guard(|| {
        let defaults = dm_server_config {
            server_id: std::ptr::null(),
            encoding: dm_encoding::DM_ENCODING_XML,
            max_msg_size: 0,
            max_obj_size: 0,
            auth: dm_auth::DM_AUTH_NONE,
            username: std::ptr::null(),
            password: std::ptr::null(),
            nonce: std::ptr::null(),
            nonce_len: 0,
            server_password: std::ptr::null(),
            server_nonce: std::ptr::null(),
            server_nonce_len: 0,
            limits: Limits::default(),
            lenient: 0,
            accept_dm11: 0,
        };
        tri!(unsafe { out(config, defaults) });
        dm_result::DM_OK
    })
}

/// A client session over a tree kept by the callbacks in `ops` (copied; `userdata` is passed
/// back to every callback). DevInfo is read from the tree's ./DevInfo. The session is ready to
/// send package 1.
#[unsafe(no_mangle)]
pub extern "C" fn dm_client_new(
    config: *const dm_client_config,
    ops: *const dm_tree_ops,
    userdata: *mut c_void,
    session: *mut *mut dm_session,
) -> dm_result {
    guard(|| {
        if config.is_null() || ops.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        let cfg = unsafe { &*config };
        let mut cc = ClientConfig::new(
            tri!(unsafe { str_arg(cfg.device_id) }),
            tri!(unsafe { str_arg(cfg.server_id) }),
            tri!(unsafe { str_arg(cfg.server_uri) }),
        );
        if let Some(id) = tri!(unsafe { opt_str(cfg.session_id) }) {
            cc.session_id = id.into();
        }
        cc.server_initiated = cfg.server_initiated != 0;
        cc.wire = wire(cfg.encoding, (cfg.max_msg_size, cfg.max_obj_size), &cfg.limits, cfg.lenient, cfg.accept_dm11);
        cc.auth = auth_type(cfg.auth);
        cc.credentials = tri!(unsafe { credentials(cfg.username, cfg.password) });
        cc.nonce = tri!(unsafe { bytes_arg(cfg.nonce, cfg.nonce_len) }).to_vec();
        cc.server_credentials = tri!(unsafe { password_of(cfg.server_id, cfg.server_password) });
        cc.server_nonce = tri!(unsafe { bytes_arg(cfg.server_nonce, cfg.server_nonce_len) }).to_vec();
        cc.server_auth = auth_type(cfg.server_auth);
        cc.nonce_source = Some(NonceSource::os());
        let tree = CTree { ops: unsafe { *ops }, userdata };
        match ClientSession::new(cc, tree) {
            Ok(client) => new_handle(Role::Client(Box::new(client)), session),
            Err(e) => thread_failure(&e),
        }
    })
}

/// A server session, waiting for the client's package 1. Nonces come from /dev/urandom.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_new(config: *const dm_server_config, session: *mut *mut dm_session) -> dm_result {
    guard(|| {
        if config.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        let cfg = unsafe { &*config };
        let mut sc = ServerConfig::new(tri!(unsafe { str_arg(cfg.server_id) }));
        sc.wire = wire(cfg.encoding, (cfg.max_msg_size, cfg.max_obj_size), &cfg.limits, cfg.lenient, cfg.accept_dm11);
        sc.auth = auth_type(cfg.auth);
        sc.client_credentials = tri!(unsafe { credentials(cfg.username, cfg.password) });
        sc.client_nonce = tri!(unsafe { bytes_arg(cfg.nonce, cfg.nonce_len) }).to_vec();
        sc.nonce_source = Some(NonceSource::os());
        let kind = if sc.auth == AuthType::None { AuthType::Basic } else { sc.auth };
        sc.credentials = tri!(unsafe { password_of(cfg.server_id, cfg.server_password) }).map(|c| (kind, c));
        sc.server_nonce = tri!(unsafe { bytes_arg(cfg.server_nonce, cfg.server_nonce_len) }).to_vec();
        new_handle(Role::Server(Box::new(ServerSession::new(sc))), session)
    })
}

/// Releases a session. NULL does nothing, and so does a session's own callback freeing it.
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_free(session: *mut dm_session) {
    let _ = guard(|| {
        let in_use = tri!(unsafe { self::session(session) });
        std::mem::forget(in_use);
        drop(unsafe { Box::from_raw(session.cast::<Handle>()) });
        dm_result::DM_OK
    });
}

/// The next message to send: *data / *len stay valid until the next call on the session.
/// DM_DONE when there is nothing to send (the session is over).
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_next_message(
    session: *mut dm_session,
    data: *mut *const u8,
    len: *mut usize,
) -> dm_result {
    guard(|| {
        let mut s = tri!(unsafe { self::session(session) });
        if data.is_null() || len.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        let next = match &mut s.role {
            Role::Client(c) => c.next_message(),
            Role::Server(v) => v.next_message(),
        };
        match next {
            Ok(Some(Outgoing { body, hmac, .. })) => {
                s.out = body;
                s.hmac = hmac.as_deref().and_then(c);
                tri!(unsafe { out(data, s.out.as_ptr()) });
                tri!(unsafe { out(len, s.out.len()) });
                dm_result::DM_OK
            }
            Ok(None) => dm_result::DM_DONE,
            Err(e) => s.fail(e),
        }
    })
}

/// Takes a message from the peer, with its x-syncml-hmac header value (or NULL). A refused
/// message leaves the session as it was; dm_last_error says why.
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_receive(
    session: *mut dm_session,
    data: *const u8,
    len: usize,
    hmac_header: *const c_char,
) -> dm_result {
    guard(|| {
        let mut s = tri!(unsafe { self::session(session) });
        let body = tri!(unsafe { bytes_arg(data, len) });
        let hmac = tri!(unsafe { opt_str(hmac_header) });
        let r = match &mut s.role {
            Role::Client(c) => c.receive_with_hmac(body, hmac),
            Role::Server(v) => v.receive_with_hmac(body, hmac),
        };
        match r {
            Ok(events) => {
                for e in events {
                    flatten(e, &mut s.events);
                }
                if let Role::Client(c) = &s.role {
                    s.respond_to = self::c(c.respond_to());
                }
                dm_result::DM_OK
            }
            Err(e) => s.fail(e),
        }
    })
}

/// The next event from what was received; DM_DONE when there is none.
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_next_event(session: *mut dm_session, event: *mut dm_event) -> dm_result {
    guard(|| {
        let mut s = tri!(unsafe { self::session(session) });
        if event.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        s.current = s.events.pop_front();
        let Some(f) = &s.current else { return dm_result::DM_DONE };
        let e = dm_event {
            kind: f.kind,
            reference: f.reference,
            code: f.code,
            cmd: c_ptr(&f.cmd),
            uri: c_ptr(&f.uri),
            data: if f.data.is_empty() { std::ptr::null() } else { f.data.as_ptr() },
            len: f.data.len(),
        };
        tri!(unsafe { out(event, e) });
        dm_result::DM_OK
    })
}

/// The Format, Type and Mark of the item the last dm_session_next_event gave (a Results,
/// Generic Alert, Alert or Status item): a FUMO result's Type, an alert's severity. Each is NULL
/// when the item had none, and stays valid until the next call on the session; any out-pointer
/// may be NULL.
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_event_meta(
    session: *mut dm_session,
    format: *mut *const c_char,
    type_: *mut *const c_char,
    mark: *mut *const c_char,
) -> dm_result {
    guard(|| {
        let s = tri!(unsafe { self::session(session) });
        let meta = s.current.as_ref().map(|f| &f.meta);
        for (i, at) in [format, type_, mark].into_iter().enumerate() {
            if !at.is_null() {
                unsafe { at.write(meta.map_or(std::ptr::null(), |m| c_ptr(&m[i]))) };
            }
        }
        dm_result::DM_OK
    })
}

/// Where the session stands (DM_STATE_ABORTED for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_state(session: *const dm_session) -> dm_state {
    let mut state = dm_state::DM_STATE_ABORTED;
    let _ = guard(|| {
        let s = tri!(unsafe { self::session(session) });
        state = match match &s.role {
            Role::Client(c) => c.state(),
            Role::Server(v) => v.state(),
        } {
            State::Ready => dm_state::DM_STATE_READY,
            State::Waiting => dm_state::DM_STATE_WAITING,
            State::Ended => dm_state::DM_STATE_ENDED,
            State::Aborted => dm_state::DM_STATE_ABORTED,
        };
        dm_result::DM_OK
    });
    state
}

/// Aborts the session: the next message carries Alert 1223 (R15).
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_abort(session: *mut dm_session) -> dm_result {
    guard(|| {
        let mut s = tri!(unsafe { self::session(session) });
        match &mut s.role {
            Role::Client(c) => c.abort(),
            Role::Server(v) => v.abort(),
        }
        dm_result::DM_OK
    })
}

/// The content type of the session's messages. Static: never free it. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_content_type(session: *const dm_session) -> *const c_char {
    let Ok(s) = (unsafe { self::session(session) }) else { return std::ptr::null() };
    let wbxml = match &s.role {
        Role::Client(c) => c.content_type(),
        Role::Server(v) => v.content_type(),
    } == Encoding::Wbxml.content_type();
    if wbxml { c"application/vnd.syncml.dm+wbxml".as_ptr() } else { c"application/vnd.syncml.dm+xml".as_ptr() }
}

/// The x-syncml-hmac header for the last message, or NULL. Valid until the next call.
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_hmac_header(session: *const dm_session) -> *const c_char {
    let Ok(s) = (unsafe { self::session(session) }) else { return std::ptr::null() };
    c_ptr(&s.hmac)
}

/// Client: the URL to send its messages to: the server's last RespURI (a server may name a new
/// one in any message, and the client MUST follow it; a path or query alone is resolved against
/// the URI in use), else the configured server URI. NULL for a server session or NULL. Valid
/// until the next call.
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_respond_to(session: *const dm_session) -> *const c_char {
    let Ok(s) = (unsafe { self::session(session) }) else { return std::ptr::null() };
    c_ptr(&s.respond_to)
}

/// Which nonce `dm_session_next_nonce` gives.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dm_nonce {
    /// The nonce the client digests its credentials with in the next session (md5): a client
    /// reads what the server gave it, a server what it gave the client.
    DM_NONCE_CLIENT = 0,
    /// The nonce the server digests its credentials with in the next session.
    DM_NONCE_SERVER = 1,
}

/// A nonce to keep for the next session (persist it, and pass it as `nonce` / `server_nonce` of
/// the next configuration). *data / *len stay valid until the next call on the session;
/// DM_DONE when this session gave none.
#[unsafe(no_mangle)]
pub extern "C" fn dm_session_next_nonce(
    session: *mut dm_session,
    which: dm_nonce,
    data: *mut *const u8,
    len: *mut usize,
) -> dm_result {
    guard(|| {
        let s = tri!(unsafe { self::session(session) });
        let nonce = match (&s.role, which) {
            (Role::Client(c), dm_nonce::DM_NONCE_CLIENT) => c.next_nonce(),
            (Role::Client(c), dm_nonce::DM_NONCE_SERVER) => c.next_server_nonce(),
            (Role::Server(v), dm_nonce::DM_NONCE_CLIENT) => v.next_client_nonce(),
            (Role::Server(v), dm_nonce::DM_NONCE_SERVER) => Some(v.next_server_nonce()),
        };
        let Some(n) = nonce.filter(|n| !n.is_empty()) else { return dm_result::DM_DONE };
        tri!(unsafe { out(data, n.as_ptr()) });
        tri!(unsafe { out(len, n.len()) });
        dm_result::DM_OK
    })
}

/// What went wrong in the last failed call on `session`, or, with NULL, in the last failed call
/// on this thread that had no session. NULL when nothing failed. Valid until the next call.
#[unsafe(no_mangle)]
pub extern "C" fn dm_last_error(session: *const dm_session) -> *const c_char {
    match unsafe { self::session(session) } {
        Ok(s) => c_ptr(&s.last_error),
        Err(dm_result::DM_ERR_USAGE) => IN_USE.as_ptr(),
        Err(_) => thread_error(),
    }
}

/// Queues a server command through `f` and writes its reference.
fn queue(
    session: *mut dm_session,
    reference: *mut u32,
    f: impl FnOnce(&mut ServerSession) -> Result<dm_core::session::CommandRef, dm_core::Error>,
) -> dm_result {
    guard(|| {
        let mut s = tri!(unsafe { self::session(session) });
        let queued = f(tri!(s.server()));
        s.queued(queued, reference)
    })
}

/// Server: queues a Get. `reference` (may be NULL) names it in the events that answer it.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_get(session: *mut dm_session, uri: *const c_char, reference: *mut u32) -> dm_result {
    let uri = tri!(unsafe { str_arg(uri) });
    queue(session, reference, |s| s.get(uri))
}

/// Server: queues a Replace of a leaf. `format` and `mime_type` may be NULL (chr, text/plain).
/// Data that is not text XML can carry (not UTF-8, or with a control character) goes as binary.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_replace(
    session: *mut dm_session,
    uri: *const c_char,
    data: *const u8,
    len: usize,
    format: *const c_char,
    mime_type: *const c_char,
    reference: *mut u32,
) -> dm_result {
    let (uri, data) = (tri!(unsafe { str_arg(uri) }), tri!(unsafe { bytes_arg(data, len) }));
    let (format, mime) = (tri!(unsafe { opt_str(format) }), tri!(unsafe { opt_str(mime_type) }));
    queue(session, reference, |s| s.replace(uri, Data::from_bytes(data.to_vec()), format, mime))
}

/// Server: queues an Add (format "node" for an interior node; data may then be NULL). Data
/// goes as `dm_server_replace` sends it.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_add(
    session: *mut dm_session,
    uri: *const c_char,
    data: *const u8,
    len: usize,
    format: *const c_char,
    mime_type: *const c_char,
    reference: *mut u32,
) -> dm_result {
    let (uri, data) = (tri!(unsafe { str_arg(uri) }), tri!(unsafe { bytes_arg(data, len) }));
    let (format, mime) = (tri!(unsafe { opt_str(format) }), tri!(unsafe { opt_str(mime_type) }));
    let data = (!data.is_empty()).then(|| Data::from_bytes(data.to_vec()));
    queue(session, reference, |s| s.add(uri, data, format, mime))
}

/// Server: queues a Delete.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_delete(session: *mut dm_session, uri: *const c_char, reference: *mut u32) -> dm_result {
    let uri = tri!(unsafe { str_arg(uri) });
    queue(session, reference, |s| s.delete(uri))
}

/// Server: queues a Copy of the node at `source` to `target`, both on the device.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_copy(
    session: *mut dm_session,
    source: *const c_char,
    target: *const c_char,
    reference: *mut u32,
) -> dm_result {
    let (source, target) = (tri!(unsafe { str_arg(source) }), tri!(unsafe { str_arg(target) }));
    queue(session, reference, |s| s.copy(source, target))
}

/// Server: queues an Exec, with optional data (sent as `dm_server_replace` sends it) and
/// correlator.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_exec(
    session: *mut dm_session,
    uri: *const c_char,
    data: *const u8,
    len: usize,
    correlator: *const c_char,
    reference: *mut u32,
) -> dm_result {
    let (uri, data) = (tri!(unsafe { str_arg(uri) }), tri!(unsafe { bytes_arg(data, len) }));
    let correlator = tri!(unsafe { opt_str(correlator) });
    let data = (!data.is_empty()).then(|| Data::from_bytes(data.to_vec()));
    queue(session, reference, |s| s.exec(uri, data, correlator))
}

/// Server: queues a UI alert (1100–1104) with its options (e.g. "MAXDT=30"), text and choices.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_alert(
    session: *mut dm_session,
    code: u16,
    options: *const c_char,
    text: *const c_char,
    choices: *const *const c_char,
    n_choices: usize,
    reference: *mut u32,
) -> dm_result {
    guard(|| {
        let options = tri!(unsafe { opt_str(options) }).unwrap_or_default();
        let text = tri!(unsafe { opt_str(text) }).unwrap_or_default();
        let item = |s: &str| Item { data: Some(Data::Text(s.to_string())), ..Item::default() };
        let mut items = vec![item(options), item(text)];
        if n_choices > 0 {
            if choices.is_null() {
                return dm_result::DM_ERR_NULL;
            }
            for i in 0..n_choices {
                items.push(item(tri!(unsafe { str_arg(*choices.add(i)) })));
            }
        }
        queue(session, reference, |s| s.alert(AlertCode(code), items))
    })
}

/// Server: starts a Sequence; commands queued until dm_server_end_group go into it.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_begin_sequence(session: *mut dm_session, reference: *mut u32) -> dm_result {
    queue(session, reference, |s| s.begin_sequence())
}

/// Server: starts an Atomic (all or nothing).
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_begin_atomic(session: *mut dm_session, reference: *mut u32) -> dm_result {
    queue(session, reference, |s| s.begin_atomic())
}

/// Server: closes the innermost Sequence or Atomic.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_end_group(session: *mut dm_session) -> dm_result {
    queue(session, std::ptr::null_mut(), |s| s.end_group().map(|_| dm_core::session::CommandRef(0)))
}

/// Answers a UI alert (1100 display, 1101 confirm, 1102 text input, 1103/1104 choices):
/// returns 200 (OK / yes; for text input write the text into `answer`, for choices the chosen
/// numbers as "1,3"), 304 (no), 214 (cancelled) or 408 (timed out). `answer` holds `cap` bytes.
pub type dm_ui_handler = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        code: u16,
        options: *const c_char,
        text: *const c_char,
        choices: *const *const c_char,
        n_choices: usize,
        answer: *mut c_char,
        cap: usize,
    ) -> c_int,
>;

/// Finds a client's password by its user name (the Cred's, or the Source LocName md5 and HMAC
/// clients send): the password (NUL-terminated, copied at once), or NULL for a user it does not
/// know.
pub type dm_password_lookup = Option<unsafe extern "C" fn(userdata: *mut c_void, user: *const c_char) -> *const c_char>;

/// The lookup and its userdata, carried into the engine.
struct LookupCall {
    f: unsafe extern "C" fn(*mut c_void, *const c_char) -> *const c_char,
    userdata: *mut c_void,
}

// The lookup runs inside dm_session_receive, on the thread that drives the session.
unsafe impl Send for LookupCall {}
unsafe impl Sync for LookupCall {}

impl LookupCall {
    fn password(&self, user: &str) -> Option<String> {
        let user = CString::new(user).ok()?;
        let found = unsafe { (self.f)(self.userdata, user.as_ptr()) };
        (!found.is_null()).then(|| unsafe { CStr::from_ptr(found) }.to_string_lossy().into_owned())
    }
}

/// Server: finds each client's password with `lookup` (a fleet of devices, each with its own;
/// the configuration's username/password, if any, is tried first). A NULL lookup: DM_ERR_NULL.
#[unsafe(no_mangle)]
pub extern "C" fn dm_server_set_password_lookup(
    session: *mut dm_session,
    lookup: dm_password_lookup,
    userdata: *mut c_void,
) -> dm_result {
    guard(|| {
        let mut s = tri!(unsafe { self::session(session) });
        let sv = tri!(s.server());
        let Some(f) = lookup else { return dm_result::DM_ERR_NULL };
        let call = LookupCall { f, userdata };
        sv.set_password_lookup(PasswordLookup(std::sync::Arc::new(move |user: &str| call.password(user))));
        dm_result::DM_OK
    })
}

/// The handler and its userdata, carried into the engine's UI callback.
struct UiCall {
    f: unsafe extern "C" fn(
        *mut c_void,
        u16,
        *const c_char,
        *const c_char,
        *const *const c_char,
        usize,
        *mut c_char,
        usize,
    ) -> c_int,
    userdata: *mut c_void,
}

// The handler runs on the thread that drives the session, as the C caller does.
unsafe impl Send for UiCall {}

impl UiCall {
    fn answer(&self, req: &UiRequest) -> UiResponse {
        let cs = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
        let (options, text) = (cs(&req.options), cs(&req.text));
        let choices: Vec<CString> = req.choices.iter().map(|c| cs(c)).collect();
        let ptrs: Vec<*const c_char> = choices.iter().map(|c| c.as_ptr()).collect();
        let mut buf = vec![0 as c_char; 1024];
        let code = unsafe {
            (self.f)(
                self.userdata,
                req.code.0,
                options.as_ptr(),
                text.as_ptr(),
                ptrs.as_ptr(),
                ptrs.len(),
                buf.as_mut_ptr(),
                buf.len() - 1,
            )
        };
        let answer = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned();
        match code {
            304 => UiResponse::No,
            214 => UiResponse::Cancel,
            408 => UiResponse::Timeout,
            _ => match req.code {
                AlertCode::TEXT_INPUT => UiResponse::Text(answer),
                AlertCode::SINGLE_CHOICE | AlertCode::MULTIPLE_CHOICE => {
                    UiResponse::Choices(answer.split(',').filter_map(|n| n.trim().parse().ok()).collect())
                }
                AlertCode::CONFIRM_OR_REJECT => UiResponse::Yes,
                _ => UiResponse::Ok,
            },
        }
    }
}

/// Client: answers UI alerts with `handler` (NULL: the defaults the alert's options give).
#[unsafe(no_mangle)]
pub extern "C" fn dm_client_set_ui_handler(
    session: *mut dm_session,
    handler: dm_ui_handler,
    userdata: *mut c_void,
) -> dm_result {
    guard(|| {
        let mut s = tri!(unsafe { self::session(session) });
        let cl = tri!(s.client());
        match handler {
            Some(f) => {
                let call = UiCall { f, userdata };
                cl.set_ui_handler(Box::new(move |req| call.answer(req)));
            }
            None => cl.set_ui_handler(Box::new(UiRequest::default_response)),
        }
        dm_result::DM_OK
    })
}

/// One item of an alert a client sends (dm_client_alert).
#[repr(C)]
pub struct dm_alert_item {
    /// The URI of the node it reports on (NULL: none).
    pub source_uri: *const c_char,
    /// Its Meta Type, required: a Generic Alert's "Reversed-Domain-Name: ..." or a Client
    /// Event's type.
    pub mime_type: *const c_char,
    /// Its Meta Format (NULL: chr).
    pub format: *const c_char,
    /// Its severity (NULL: none): fatal, critical, minor, warning, informational, harmless or
    /// indeterminate.
    pub mark: *const c_char,
    /// The data: UTF-8 text XML can carry (binary data goes base64 under format b64).
    pub data: *const u8,
    /// Its length in bytes.
    pub len: usize,
}

/// Client: queues an alert of `count` items (1 to 1000): a Generic Alert (1226, with an
/// optional correlator from an Exec answered 202: queue it once dm_session_receive has
/// returned, not from the exec callback) or a Client Event (1224). It goes out with the next
/// package; its Status arrives as an event with `reference`.
#[unsafe(no_mangle)]
pub extern "C" fn dm_client_alert(
    session: *mut dm_session,
    code: u16,
    correlator: *const c_char,
    items: *const dm_alert_item,
    count: usize,
    reference: *mut u32,
) -> dm_result {
    guard(|| {
        let mut s = tri!(unsafe { self::session(session) });
        let correlator = tri!(unsafe { opt_str(correlator) });
        if items.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        let most = Limits::default().max_items;
        if count == 0 || count > most {
            s.last_error = c(&format!("an alert holds 1 to {most} items, not {count}"));
            return dm_result::DM_ERR_INVALID;
        }
        let mut list = Vec::with_capacity(count);
        for i in unsafe { std::slice::from_raw_parts(items, count) } {
            match unsafe { alert_item(i) } {
                Ok(item) => list.push(item),
                Err((code, why)) => {
                    if let Some(why) = why {
                        s.last_error = c(why);
                    }
                    return code;
                }
            }
        }
        let queued = tri!(s.client()).alert(AlertCode(code), correlator.map(str::to_string), list);
        s.queued(queued, reference)
    })
}

/// The item a C alert item describes, or the result (and why) refusing it.
unsafe fn alert_item(i: &dm_alert_item) -> Result<Item, (dm_result, Option<&'static str>)> {
    let source = unsafe { opt_str(i.source_uri) }.map_err(|r| (r, None))?;
    let mime = unsafe { str_arg(i.mime_type) }.map_err(|r| (r, None))?;
    let format = unsafe { opt_str(i.format) }.map_err(|r| (r, None))?.unwrap_or("chr");
    let mark = unsafe { opt_str(i.mark) }.map_err(|r| (r, None))?;
    let data = unsafe { bytes_arg(i.data, i.len) }.map_err(|r| (r, None))?;
    let Ok(data) = std::str::from_utf8(data) else {
        return Err((
            dm_result::DM_ERR_INVALID,
            Some("the data is not UTF-8 text (send binary data as base64 with format b64)"),
        ));
    };
    Ok(Item {
        source: source.map(Location::new),
        meta: Some(Box::new(Meta { mark: mark.map(str::to_string), ..Meta::typed(format, mime) })),
        data: Some(Data::Text(data.to_string())),
        ..Item::default()
    })
}

/// Client: queues a Generic Alert (1226) with one item, as dm_client_alert does: the source
/// URI, its Meta Type and Format (NULL: chr), data, and an optional correlator.
#[unsafe(no_mangle)]
pub extern "C" fn dm_client_generic_alert(
    session: *mut dm_session,
    correlator: *const c_char,
    source_uri: *const c_char,
    mime_type: *const c_char,
    format: *const c_char,
    data: *const u8,
    len: usize,
    reference: *mut u32,
) -> dm_result {
    let item = dm_alert_item { source_uri, mime_type, format, mark: std::ptr::null(), data, len };
    dm_client_alert(session, AlertCode::GENERIC_ALERT.0, correlator, &item, 1, reference)
}
