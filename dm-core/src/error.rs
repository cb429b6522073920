//! Typed errors. Following h11, what the peer got wrong (`DecodeError`, `RemoteError`, `AuthError`,
//! `LimitError`) is kept apart from what the caller got wrong (`UsageError`).

use std::fmt;

/// Where in a message an error was found: the element path and the position in the bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Site {
    /// Element path from the root, e.g. `SyncML/SyncBody/Alert/Data`.
    pub path: String,
    /// Byte offset into the message.
    pub offset: u64,
    /// 1-based line and column for XML input; 0 for WBXML.
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}", self.line, self.column)?;
        } else {
            write!(f, "byte {}", self.offset)?;
        }
        if !self.path.is_empty() {
            write!(f, " in {}", self.path)?;
        }
        Ok(())
    }
}

/// The bytes are not a valid SyncML DM message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at {site}")]
pub struct DecodeError {
    pub kind: DecodeErrorKind,
    pub site: Site,
}

/// Why bytes are not a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    #[error("not well-formed XML: {0}")]
    Syntax(String),
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// WBXML OPAQUE bytes that are not UTF-8 where the model needs text (any element but an
    /// Item's Data, which holds them as binary).
    #[error("opaque bytes that are not text where text is required")]
    BinaryText,
    #[error("a DOCTYPE is not allowed")]
    Doctype,
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    #[error("unknown element <{0}>")]
    UnknownElement(String),
    #[error("element <{0}> is not allowed here")]
    UnexpectedElement(&'static str),
    #[error("element <{0}> appears more than once")]
    DuplicateElement(&'static str),
    #[error("required element <{0}> is missing")]
    MissingElement(&'static str),
    #[error("text is not allowed here")]
    UnexpectedText,
    #[error("invalid value {value:?} for <{element}>")]
    InvalidValue { element: &'static str, value: String },
    #[error("<{element}> in namespace {found:?}, expected {expected:?}")]
    Namespace { element: &'static str, expected: &'static str, found: String },
    #[error("the message ends too early")]
    Truncated,
    #[error("trailing bytes after the message")]
    TrailingData,
    #[error("not WBXML: {0}")]
    Wbxml(String),
    /// Data that holds embedded XML beside text, or more than one document (strict decoding).
    #[error("Data holds {0}")]
    EmbeddedXml(&'static str),
    #[error("the message is neither XML nor WBXML")]
    UnknownEncoding,
    /// Text XML cannot carry (`codec::is_xml_text`), refused in any element but Data however
    /// leniently read, and in an embedded document. An Item's Data that is such text is read as
    /// bytes from WBXML, whose strings may hold it, and kept as text by lenient XML decoding.
    #[error("text XML cannot carry (a control character, U+FFFE or U+FFFF)")]
    NotXmlText,
    #[error("bad package-0 notification: {0}")]
    Notification(String),
}

/// Which configurable limit was passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    MessageSize,
    ObjectSize,
    Nesting,
    Commands,
    Items,
    UriLength,
    TextLength,
    /// The bytes a WBXML message's string-table references expand to, in all: at most
    /// `Limits::max_message_size`, so that no small message decodes to gigabytes by referencing
    /// one long string again and again.
    TableExpansion,
}

/// The `Limits` setting's name, e.g. `max_uri_len`.
impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::MessageSize | Limit::TableExpansion => "max_message_size",
            Limit::ObjectSize => "max_object_size",
            Limit::Nesting => "max_nesting",
            Limit::Commands => "max_commands",
            Limit::Items => "max_items",
            Limit::UriLength => "max_uri_len",
            Limit::TextLength => "max_text_len",
        })
    }
}

/// Something a peer controls exceeded a configured limit ([`crate::Limits`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{limit} limit exceeded: {value} > {max} at {site}")]
pub struct LimitError {
    pub limit: Limit,
    pub value: u64,
    pub max: u64,
    pub site: Site,
}

/// A well-formed message from the peer that breaks a protocol rule of RULES.md.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct RemoteError {
    /// Rule id from RULES.md, e.g. `R19`.
    pub rule: &'static str,
    /// The message's MsgID; `None` when the fault is in what is left to send, not in one message.
    pub msg_id: Option<u32>,
    /// The command at fault; `None` when it is the message as a whole.
    pub cmd_id: Option<u32>,
    /// The element at fault, e.g. `MsgID` or `Status`.
    pub element: Option<&'static str>,
    pub reason: String,
}

impl RemoteError {
    /// The rule `m` breaks at `at` (the command's CmdID, if a command, and the element).
    pub(crate) fn in_message(
        rule: &'static str,
        m: &crate::Message,
        at: (Option<u32>, &'static str),
        reason: String,
    ) -> Error {
        let (cmd_id, element) = at;
        RemoteError { rule, msg_id: Some(m.header.msg_id), cmd_id, element: Some(element), reason }.into()
    }
}

/// `R19: MsgID 4 where 3 was due (MsgID 4, <MsgID>)`: the rule, why, and where.
impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.reason)?;
        let ids = [("MsgID", self.msg_id), ("CmdID", self.cmd_id)].into_iter();
        let mut at: Vec<String> = ids.filter_map(|(name, v)| Some(format!("{name} {}", v?))).collect();
        at.extend(self.element.map(|e| format!("<{e}>")));
        if at.is_empty() { Ok(()) } else { write!(f, " ({})", at.join(", ")) }
    }
}

/// Authentication of the peer failed, or the peer's challenge cannot be met.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed: {0}")]
pub struct AuthError(pub String);

/// The caller misused the API (e.g. `next_message` while waiting for the peer).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("usage error: {0}")]
pub struct UsageError(pub String);

/// Any error omadm returns.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Usage(#[from] UsageError),
}

impl Error {
    /// True when the peer is to blame (anything but a `UsageError`).
    pub fn is_remote(&self) -> bool {
        !matches!(self, Error::Usage(_))
    }
}

impl From<Box<Error>> for Error {
    fn from(e: Box<Error>) -> Self {
        *e
    }
}
