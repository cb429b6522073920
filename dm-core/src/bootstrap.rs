//! Bootstrap (DM Bootstrap 1.2, the OMA DM profile; DM Security §5.1.7.2): the one message a
//! server sends a device that does not know it yet, adding a DMAcc account (and whatever else)
//! to its tree. No session follows from it and nothing answers it. It travels as WBXML with an
//! HMAC-SHA1 of its bytes in the Content-Type, keyed by a secret both sides hold
//! (`SEC=NETWORKID`: one the network and the device share, the IMSI on a GSM or UMTS network:
//! [`imsi_key`]; `USERPIN`: a PIN the user is given; `USERPIN_NETWORKID`: both, [`key`]), and is
//! applied all or nothing.
//!
//! ```
//! use dm_core::bootstrap::{self, Security};
//! use dm_core::tree::{MemoryTree, objects::DmAcc};
//! use dm_core::DecodeOptions;
//!
//! // The server: the account it gives, sealed with the PIN the user is told.
//! let mut account = MemoryTree::new();
//! let acc = DmAcc { node: "acme".into(), server_id: "acme".into(), addr: "https://dm.example.com/dm".into(), ..DmAcc::default() };
//! acc.install(&mut account).unwrap();
//! let m = bootstrap::message("acme", "IMEI:1", &account);
//! let (body, content_type) = bootstrap::encode(&m, Security::UserPin, b"1234");
//!
//! // Over WAP Push, SEC and MAC travel as the push's Content-Type parameters.
//! let pdu = dm_core::wap_push::wrap_bootstrap(0, &body, Security::UserPin, &bootstrap::mac(b"1234", &body));
//! assert_eq!(dm_core::wap_push::unwrap_bootstrap(&pdu).unwrap(), (&body[..], content_type.clone()));
//!
//! // The device: its MAC checked with the PIN, then applied all or nothing.
//! let mut tree = MemoryTree::new();
//! let done = bootstrap::apply(&mut tree, &body, &content_type, Some(b"1234"), &DecodeOptions::default()).unwrap();
//! assert_eq!(done.server_id, "acme");
//! assert_eq!(tree.value("./DMAcc/acme/AppAddr/1/Addr"), Some("https://dm.example.com/dm"));
//! assert!(bootstrap::apply(&mut MemoryTree::new(), &body, &content_type, Some(b"4321"), &DecodeOptions::default()).is_err());
//! ```

use crate::codec::{self, DecodeOptions, Encoding};
use crate::error::{AuthError, Error, RemoteError, UsageError};
use crate::model::{Command, Header, Item, ItemCommand, Location, Message, ProtocolVersion};
use crate::session::{node_item, tnds_limits, write};
use crate::tree::{MemoryTree, Node, Tree, uri};

/// The MIME type of a bootstrap message.
pub const CONTENT_TYPE: &str = "application/vnd.syncml.dm+wbxml";

/// How the key of a bootstrap's MAC was agreed: its `SEC` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// `NETWORKID`: a secret of the network the device is on (the IMSI, the ESN, ...).
    NetworkId = 0,
    /// `USERPIN`: a PIN the user was given.
    UserPin = 1,
    /// `USERPIN_NETWORKID`: both.
    UserPinNetworkId = 2,
}

impl Security {
    /// Its name in the Content-Type.
    pub const fn name(self) -> &'static str {
        match self {
            Security::NetworkId => "NETWORKID",
            Security::UserPin => "USERPIN",
            Security::UserPinNetworkId => "USERPIN_NETWORKID",
        }
    }

    /// Its number, as WSP's SEC parameter carries it (Provisioning Bootstrap's 0 to 2).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The method a WSP SEC number names.
    pub fn from_code(code: u32) -> Option<Security> {
        [Security::NetworkId, Security::UserPin, Security::UserPinNetworkId]
            .into_iter()
            .find(|s| u32::from(s.code()) == code)
    }

    /// The method a `SEC` value names, DM Security's names or Provisioning Bootstrap's
    /// (`NETWPIN`, `USERNETWPIN`, and their numbers 0 to 2), in any case.
    pub fn parse(value: &str) -> Option<Security> {
        match value.to_ascii_uppercase().as_str() {
            "NETWORKID" | "NETWPIN" | "0" => Some(Security::NetworkId),
            "USERPIN" | "1" => Some(Security::UserPin),
            "USERPIN_NETWORKID" | "USERNETWPIN" | "2" => Some(Security::UserPinNetworkId),
            _ => None,
        }
    }
}

/// The key of a `NETWORKID` MAC on a GSM or UMTS network: the IMSI in semi-octets, as the SIM
/// holds it (GSM 11.11 EF_IMSI without its length byte; Provisioning Bootstrap's NETWPIN): the
/// first byte the first digit over 0x1 (0x9 when the digits are odd in number), then each
/// further pair of digits low nibble first, an even count padded with 0xF. So
/// `262019876543210` gives `29 26 10 89 67 45 23 01`.
pub fn imsi_key(imsi: &str) -> Result<Vec<u8>, UsageError> {
    let digits = imsi.as_bytes();
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(UsageError(format!("an IMSI is 1 to 15 digits, not {imsi:?}")));
    }
    let parity = if digits.len() % 2 == 1 { 0x8 } else { 0 };
    let nibbles = digits.iter().map(|d| d - b'0');
    let mut all: Vec<u8> = std::iter::once(0x1 | parity).chain(nibbles).collect();
    if all.len() % 2 == 1 {
        all.push(0xF);
    }
    Ok(all.chunks(2).map(|pair| pair[1] << 4 | pair[0]).collect())
}

/// The key of a bootstrap's MAC by its `security`: the IMSI's ([`imsi_key`]) for
/// `NETWORKID`, the PIN for `USERPIN`, the IMSI's followed by the PIN for
/// `USERPIN_NETWORKID`. A secret the method needs and is not given is a usage error.
pub fn key(security: Security, imsi: Option<&str>, pin: Option<&[u8]>) -> Result<Vec<u8>, UsageError> {
    let missing = |what: &str| UsageError(format!("SEC={} needs {what}", security.name()));
    let network = || imsi.ok_or_else(|| missing("the IMSI")).and_then(imsi_key);
    let pin = || pin.ok_or_else(|| missing("the PIN"));
    Ok(match security {
        Security::NetworkId => network()?,
        Security::UserPin => pin()?.to_vec(),
        Security::UserPinNetworkId => [network()?, pin()?.to_vec()].concat(),
    })
}

/// The key a device checks a bootstrap's MAC with: [`key`] for the `SEC` its `content_type`
/// names, from the IMSI and PIN the device holds. No `SEC` there is an `AuthError`.
pub fn device_key(content_type: &str, imsi: Option<&str>, pin: Option<&[u8]>) -> Result<Vec<u8>, Error> {
    let (Some(security), _) = seal(content_type)? else {
        return Err(AuthError(format!("bootstrap: no SEC in its Content-Type ({content_type})")).into());
    };
    Ok(key(security, imsi, pin)?)
}

/// The MAC of a bootstrap message: HMAC-SHA1 of its bytes under `key`, in hexadecimal.
pub fn mac(key: &[u8], body: &[u8]) -> String {
    crate::sha1::hmac_sha1(key, body).iter().map(|b| format!("{b:02x}")).collect()
}

/// The Content-Type a bootstrap message goes with, its method and MAC in it:
/// `application/vnd.syncml.dm+wbxml; SEC=USERPIN; MAC=...`.
pub fn content_type(security: Security, key: &[u8], body: &[u8]) -> String {
    format!("{CONTENT_TYPE}; SEC={}; MAC={}", security.name(), mac(key, body))
}

/// The `SEC` and `MAC` a Content-Type holds, when it is a DM message's; a parameter's name in
/// any case, its value bare or quoted.
pub fn seal(content_type: &str) -> Result<(Option<Security>, Option<String>), Error> {
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(CONTENT_TYPE) && !media.eq_ignore_ascii_case("application/vnd.syncml.dm+xml") {
        let reason = format!("a bootstrap is a DM message ({CONTENT_TYPE}), not {media:?}");
        return Err(RemoteError { rule: "Bootstrap", msg_id: None, cmd_id: None, element: None, reason }.into());
    }
    let (mut security, mut mac) = (None, None);
    for (name, value) in parts.filter_map(|p| p.split_once('=')) {
        let value = value.trim().trim_matches('"');
        match name.trim().to_ascii_uppercase().as_str() {
            "SEC" => {
                let s = Security::parse(value).ok_or_else(|| AuthError(format!("bootstrap: unknown SEC={value}")))?;
                security = Some(s);
            }
            "MAC" => mac = Some(value.to_string()),
            _ => {}
        }
    }
    Ok((security, mac))
}

/// A bootstrap message from `server_id` to `device_id` adding every node of `tree` below its
/// top level (an account at ./DMAcc/X is added as ./DMAcc/X and its nodes: ./DMAcc is the
/// device's own), with their values, secrets included, their Format and Type. One Add holds
/// them, interior nodes before their children; SessionID 0, Final.
pub fn message(server_id: &str, device_id: &str, tree: &MemoryTree) -> Message {
    let items = tree
        .uris()
        .into_iter()
        .filter(|u| u.matches('/').count() > 1)
        .filter_map(|u| Some(added(&u, tree.node(&u)?)))
        .collect();
    let header = Header::new(ProtocolVersion::Dm12, "0", 1, Location::new(device_id), Location::new(server_id));
    let add = ItemCommand { cmd_id: 1, items, ..ItemCommand::default() };
    Message { header, commands: vec![Command::Add(add)], is_final: true }
}

/// The Add item that creates `node` at `uri`, as WBXML carries it: an interior node without data.
fn added(uri: &str, node: Node) -> Item {
    let interior = matches!(node, Node::Interior { .. });
    let item = node_item(Encoding::Wbxml, node);
    Item { target: Some(Location::new(uri)), data: if interior { None } else { item.data }, ..item }
}

/// `message` in WBXML with its Content-Type, MAC and all.
pub fn encode(message: &Message, security: Security, key: &[u8]) -> (Vec<u8>, String) {
    let body = codec::encode(message, Encoding::Wbxml);
    let content_type = content_type(security, key, &body);
    (body, content_type)
}

/// What a bootstrap did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bootstrapped {
    /// The server it came from (its SyncHdr Source): the ServerID its account names.
    pub server_id: String,
    /// The node of each item, in order.
    pub uris: Vec<String>,
}

/// Applies a bootstrap message to `tree` as its server would (the tree's ACLs hold as for any
/// server), all or nothing: through the tree's transaction, so a tree that has none cannot be
/// bootstrapped (a usage error). With `key`, its `content_type` must carry a MAC that the key
/// gives (`AuthError` otherwise); without, the caller vouches for it (a transport secure of
/// its own, a factory). It may hold only Add and Replace. A message that fails leaves the
/// tree as it was, with the item at fault in the error.
pub fn apply<T: Tree + ?Sized>(
    tree: &mut T,
    body: &[u8],
    content_type: &str,
    key: Option<&[u8]>,
    options: &DecodeOptions,
) -> Result<Bootstrapped, Error> {
    match key {
        Some(key) => verify(body, content_type, key).map(drop)?,
        None => seal(content_type).map(drop)?,
    }
    let m = codec::decode_with(body, options)?;
    check(&m)?;
    let (msg_id, server) = (Some(m.header.msg_id), m.header.source.uri.as_str());
    tree.begin()
        .map_err(|code| UsageError(format!("a bootstrap is all or nothing: the tree has no transaction ({code})")))?;
    let mut uris = Vec::new();
    let limits = tree.uri_limits();
    let tnds = tnds_limits(limits, options.limits.max_uri_len);
    for c in &m.commands {
        let (Command::Add(x) | Command::Replace(x)) = c else { continue };
        for item in &x.items {
            let at = item.target.as_ref().map_or("", |t| t.uri.as_str());
            let written = uri::parse_target(at, limits)
                .and_then(|t| write(tree, server, c, t, item, None, x.meta.as_deref(), tnds));
            if let Err(code) = written {
                let undone = if tree.rollback().is_ok() { "" } else { "; the tree could not undo what came before it" };
                let reason = format!("{} {at}: {code}{undone}", c.name());
                return Err(refused((msg_id, Some(x.cmd_id), "Item"), reason).into());
            }
            uris.push(at.to_string());
        }
    }
    if let Err(code) = tree.commit() {
        let _ = tree.rollback();
        return Err(refused((msg_id, None, "SyncBody"), format!("the tree could not keep it ({code})")).into());
    }
    Ok(Bootstrapped { server_id: server.to_string(), uris })
}

/// Checks a bootstrap's MAC, as its `content_type` carries it, against the one `key` gives;
/// the method (SEC) it names. An `AuthError` says why not (no SEC and MAC, another MAC).
pub fn verify(body: &[u8], content_type: &str, key: &[u8]) -> Result<Security, Error> {
    let (Some(security), Some(given)) = seal(content_type)? else {
        return Err(AuthError(format!("bootstrap: no SEC and MAC in its Content-Type ({content_type})")).into());
    };
    if !crate::auth::constant_time_eq(mac(key, body).as_bytes(), given.to_ascii_lowercase().as_bytes()) {
        return Err(AuthError(format!("bootstrap: its MAC is not the one SEC={} gives", security.name())).into());
    }
    Ok(security)
}

/// Whether `m` is a bootstrap as a device takes one (the trace checker's rule `Bootstrap` too):
/// DM 1.2 (or 1.1), from a server its SyncHdr names, holding only Add and Replace, no chunk.
pub fn check(m: &Message) -> Result<(), RemoteError> {
    let msg_id = Some(m.header.msg_id);
    if !matches!(m.header.ver_proto.as_str(), "DM/1.2" | "DM/1.1") {
        return Err(refused((msg_id, None, "VerProto"), format!("{:?}, not DM/1.2", m.header.ver_proto)));
    }
    if m.header.source.uri.is_empty() {
        return Err(refused((msg_id, None, "Source"), "no server in its SyncHdr".into()));
    }
    for c in &m.commands {
        let (Command::Add(x) | Command::Replace(x)) = c else {
            let reason = format!("a {} in a bootstrap: only Add and Replace", c.name());
            return Err(refused((msg_id, Some(c.cmd_id()), c.name()), reason));
        };
        if x.items.iter().any(|i| i.more_data) {
            return Err(refused((msg_id, Some(x.cmd_id), "MoreData"), "a chunk: a bootstrap is one message".into()));
        }
    }
    Ok(())
}

/// A bootstrap refused, at (MsgID, CmdID, element).
fn refused(at: (Option<u32>, Option<u32>, &'static str), reason: String) -> RemoteError {
    let (msg_id, cmd_id, element) = at;
    RemoteError { rule: "Bootstrap", msg_id, cmd_id, element: Some(element), reason }
}
