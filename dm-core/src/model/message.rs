use super::{Command, Meta};

/// One SyncML message: `SyncML (SyncHdr, SyncBody)`, the body ending with an optional `Final`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// `SyncHdr`.
    pub header: Header,
    /// The commands of `SyncBody`, in order.
    pub commands: Vec<Command>,
    /// `<Final/>`: this message closes its package (R01).
    pub is_final: bool,
}

impl Message {
    /// Its commands, those inside Atomic and Sequence counted too (as the decoder's commands
    /// limit counts them).
    pub fn command_count(&self) -> usize {
        count(&self.commands)
    }
}

fn count(commands: &[Command]) -> usize {
    let inside = |c: &Command| match c {
        Command::Atomic(g) | Command::Sequence(g) => count(&g.commands),
        _ => 0,
    };
    commands.iter().map(|c| 1 + inside(c)).sum()
}

/// The versions a header announces. DM 1.2 is `1.2` / `DM/1.2`; DM 1.1.2 is `1.1` / `DM/1.1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ProtocolVersion {
    /// OMA DM 1.2 (and 1.2.1).
    #[default]
    Dm12,
    /// OMA DM 1.1.2.
    Dm11,
}

impl ProtocolVersion {
    /// The SyncHdr `VerDTD` of this version.
    pub const fn ver_dtd(self) -> &'static str {
        match self {
            ProtocolVersion::Dm12 => "1.2",
            ProtocolVersion::Dm11 => "1.1",
        }
    }

    /// The SyncHdr `VerProto` of this version.
    pub const fn ver_proto(self) -> &'static str {
        match self {
            ProtocolVersion::Dm12 => "DM/1.2",
            ProtocolVersion::Dm11 => "DM/1.1",
        }
    }

    /// The default namespace of the root element.
    pub const fn namespace(self) -> &'static str {
        match self {
            ProtocolVersion::Dm12 => "SYNCML:SYNCML1.2",
            ProtocolVersion::Dm11 => "SYNCML:SYNCML1.1",
        }
    }
}

/// `SyncHdr (VerDTD, VerProto, SessionID, MsgID, Target, Source, RespURI?, NoResp?, Cred?, Meta?)`.
/// VerDTD and VerProto are kept as sent so that a checker can see a wrong one.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// `VerDTD`: `1.2` in DM 1.2.
    pub ver_dtd: String,
    /// `VerProto`: `DM/1.2` in DM 1.2.
    pub ver_proto: String,
    /// `SessionID`: the same in every message of a session.
    pub session_id: String,
    /// `MsgID`: 1 for the sender's first message of the session, then one more each message.
    pub msg_id: u32,
    /// `Target`: the receiver (the server's URI, or the device's id).
    pub target: Location,
    /// `Source`: the sender.
    pub source: Location,
    /// `RespURI`: where the client sends its next message (server only).
    pub resp_uri: Option<String>,
    /// `NoResp`: the sender wants no Status for this header.
    pub no_resp: bool,
    /// `Cred`: the sender's credentials.
    pub cred: Option<Cred>,
    /// `Meta`: MaxMsgSize and MaxObjSize announced, say.
    pub meta: Option<Meta>,
}

impl Default for Header {
    fn default() -> Self {
        Header::new(ProtocolVersion::Dm12, "1", 1, Location::default(), Location::default())
    }
}

impl Header {
    /// A header with no Cred, Meta or RespURI, and a response wanted.
    pub fn new(
        version: ProtocolVersion,
        session_id: impl Into<String>,
        msg_id: u32,
        target: Location,
        source: Location,
    ) -> Header {
        Header {
            ver_dtd: version.ver_dtd().into(),
            ver_proto: version.ver_proto().into(),
            session_id: session_id.into(),
            msg_id,
            target,
            source,
            resp_uri: None,
            no_resp: false,
            cred: None,
            meta: None,
        }
    }

    /// The version announced, if VerDTD and VerProto agree on one DM knows.
    pub fn version(&self) -> Option<ProtocolVersion> {
        [ProtocolVersion::Dm12, ProtocolVersion::Dm11]
            .into_iter()
            .find(|v| v.ver_dtd() == self.ver_dtd && v.ver_proto() == self.ver_proto)
    }
}

/// `Target` / `Source` (and `SourceParent`, `TargetParent`): `(LocURI, LocName?)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Location {
    /// `LocURI`: a URI, or a node's path in the management tree.
    pub uri: String,
    /// `LocName`: a name for the location.
    pub name: Option<String>,
}

impl Location {
    /// A location without a name.
    pub fn new(uri: impl Into<String>) -> Location {
        Location { uri: uri.into(), name: None }
    }
}

/// `Cred (Meta?, Data)`: credentials, only in SyncHdr in DM.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cred {
    /// The scheme (`Type` `syncml:auth-basic` or `syncml:auth-md5`) and `Format` `b64`.
    pub meta: Option<Meta>,
    /// The credentials as sent: base64 of `user:password`, or of the MD5 digest.
    pub data: String,
}

impl std::fmt::Debug for Cred {
    /// Credentials never appear in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cred").field("meta", &self.meta).field("data", &"<redacted>").finish()
    }
}

/// `Chal (Meta)`: an authentication challenge carried in a Status.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Chal {
    /// The scheme asked for, the Format and the `NextNonce` to digest with.
    pub meta: Meta,
}
