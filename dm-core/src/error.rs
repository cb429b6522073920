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
    /// 1-based line for XML input; 0 for WBXML.
    pub line: u32,
    /// 1-based column (in characters) for XML input; 0 for WBXML.
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
    /// What is wrong.
    pub kind: DecodeErrorKind,
    /// Where.
    pub site: Site,
}

/// Why bytes are not a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// XML that is not well-formed, as the reader says.
    #[error("not well-formed XML: {0}")]
    Syntax(String),
    /// An XML message, or a WBXML string, that is not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// WBXML OPAQUE bytes that are not UTF-8 where the model needs text (any element but an
    /// Item's Data, which holds them as binary).
    #[error("opaque bytes that are not text where text is required")]
    BinaryText,
    /// A DOCTYPE with an internal subset (which could declare entities), or one after another
    /// DOCTYPE or the root.
    #[error("a DOCTYPE is not allowed")]
    Doctype,
    /// An entity reference other than the five XML predefines and character references.
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    /// An element (or WBXML token) outside the DM element set.
    #[error("unknown element <{0}>")]
    UnknownElement(String),
    /// A DM element in a place its parent does not have for it.
    #[error("element <{0}> is not allowed here")]
    UnexpectedElement(&'static str),
    /// A second instance of an element its parent holds at most once.
    #[error("element <{0}> appears more than once")]
    DuplicateElement(&'static str),
    /// An element its parent requires is absent.
    #[error("required element <{0}> is missing")]
    MissingElement(&'static str),
    /// Text (other than white space) in an element that holds only elements.
    #[error("text is not allowed here")]
    UnexpectedText,
    /// An element's text that is not a value it takes (a CmdID that is not a number, say).
    #[error("invalid value {value:?} for <{element}>")]
    InvalidValue {
        /// The element.
        element: &'static str,
        /// Its text.
        value: String,
    },
    /// An element in another namespace than SyncML's (or MetInf's, for Meta's children).
    #[error("<{element}> in namespace {found:?}, expected {expected:?}")]
    Namespace {
        /// The element.
        element: &'static str,
        /// The namespace it belongs in.
        expected: &'static str,
        /// The namespace it was in (empty: none; `p:` an undeclared prefix).
        found: String,
    },
    /// The bytes end inside the message.
    #[error("the message ends too early")]
    Truncated,
    /// Bytes after the message's end.
    #[error("trailing bytes after the message")]
    TrailingData,
    /// WBXML that breaks the WBXML 1.3 encoding (tokens, string table, version, public id).
    #[error("not WBXML: {0}")]
    Wbxml(String),
    /// Data that holds embedded XML beside text, or more than one document (strict decoding).
    #[error("Data holds {0}")]
    EmbeddedXml(&'static str),
    /// Bytes that start like neither encoding.
    #[error("the message is neither XML nor WBXML")]
    UnknownEncoding,
    /// Text XML cannot carry (`codec::is_xml_text`), refused in any element but Data however
    /// leniently read, and in an embedded document. An Item's Data that is such text is read as
    /// bytes from WBXML, whose strings may hold it, and kept as text by lenient XML decoding.
    #[error("text XML cannot carry (a control character, U+FFFE or U+FFFF)")]
    NotXmlText,
    /// A package-0 notification that does not follow its format.
    #[error("bad package-0 notification: {0}")]
    Notification(String),
    /// A WAP push (WSP Push PDU) that is not one, or holds another content than the one asked for.
    #[error("bad WAP push: {0}")]
    WapPush(String),
}

/// Which configurable limit was passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// The bytes of one message (`max_message_size`).
    MessageSize,
    /// The bytes of one object, large objects reassembled (`max_object_size`).
    ObjectSize,
    /// The depth of Atomic and Sequence, and of elements (`max_nesting`).
    Nesting,
    /// The commands of one message, nested ones counted (`max_commands`).
    Commands,
    /// The items of one command (`max_items`).
    Items,
    /// The bytes of one URI (`max_uri_len`).
    UriLength,
    /// The bytes of one element's text (`max_text_len`).
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
    /// Which limit.
    pub limit: Limit,
    /// What the peer sent, as far as it was counted (at least `max + 1`).
    pub value: u64,
    /// The limit's setting.
    pub max: u64,
    /// Where.
    pub site: Site,
}

/// A well-formed message from the peer that breaks a protocol rule of RULES.md.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct RemoteError {
    /// Rule id from RULES.md, e.g. `R19`; or `CmdID`, the spec's own MUST that a message's
    /// CmdIDs are unique and not 0.
    pub rule: &'static str,
    /// The message's MsgID; `None` when the fault is in what is left to send, not in one message.
    pub msg_id: Option<u32>,
    /// The command at fault; `None` when it is the message as a whole.
    pub cmd_id: Option<u32>,
    /// The element at fault, e.g. `MsgID` or `Status`.
    pub element: Option<&'static str>,
    /// What is wrong, in words.
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
    /// The peer's bytes are not a message.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The peer passed a configured limit.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The peer broke a protocol rule.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// Authentication failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The caller misused the API.
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
