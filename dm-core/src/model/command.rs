use std::borrow::Cow;

use super::{AlertCode, Chal, Cred, Location, Meta, StatusCode};

/// A SyncBody command. DM uses these eleven (facts §1 "DM restrictions"); Map, Put, Search, Sync
/// and the other DS commands are refused by the decoder.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Command {
    /// Adds a node (an interior node with Format `node`).
    Add(ItemCommand),
    /// An alert: session start (1200/1201), next message (1222), abort (1223), user
    /// interaction (1100–1104), Client Event (1224), Generic Alert (1226), ...
    Alert(Alert),
    /// Its commands all or none.
    Atomic(Group),
    /// Copies a node (Source) to another (Target).
    Copy(ItemCommand),
    /// Deletes a node and its subtree.
    Delete(ItemCommand),
    /// Executes a node (a firmware update, say).
    Exec(ItemCommand),
    /// Reads nodes; the client answers with Results.
    Get(ItemCommand),
    /// Replaces a node's value or properties.
    Replace(ItemCommand),
    /// What a Get read.
    Results(Results),
    /// Its commands in order.
    Sequence(Group),
    /// The answer to a command or to the header.
    Status(Status),
}

impl Status {
    /// What a Status `Cmd` names: the header or a command.
    const CMD_NAMES: &[&str] = &[
        "SyncHdr", "Get", "Replace", "Add", "Delete", "Exec", "Copy", "Alert", "Atomic", "Sequence", "Results",
        "Status",
    ];

    /// `Cmd` as a Status carries it: a known name without allocating.
    pub fn cmd_name(name: &str) -> Cow<'static, str> {
        super::static_or_owned(name, Self::CMD_NAMES)
    }
}

impl Command {
    /// The element name, as a Status `Cmd` names it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Add(_) => "Add",
            Command::Alert(_) => "Alert",
            Command::Atomic(_) => "Atomic",
            Command::Copy(_) => "Copy",
            Command::Delete(_) => "Delete",
            Command::Exec(_) => "Exec",
            Command::Get(_) => "Get",
            Command::Replace(_) => "Replace",
            Command::Results(_) => "Results",
            Command::Sequence(_) => "Sequence",
            Command::Status(_) => "Status",
        }
    }

    /// Whether it may stand in a "Next Message" response (R04): a Status, or Alert 1222 or 1223.
    pub fn is_next_message_response(&self) -> bool {
        match self {
            Command::Status(_) => true,
            Command::Alert(a) => matches!(a.data, AlertCode::NEXT_MESSAGE | AlertCode::SESSION_ABORT),
            _ => false,
        }
    }

    /// The command's CmdID.
    pub fn cmd_id(&self) -> u32 {
        match self {
            Command::Add(c)
            | Command::Copy(c)
            | Command::Delete(c)
            | Command::Exec(c)
            | Command::Get(c)
            | Command::Replace(c) => c.cmd_id,
            Command::Alert(c) => c.cmd_id,
            Command::Atomic(c) | Command::Sequence(c) => c.cmd_id,
            Command::Results(c) => c.cmd_id,
            Command::Status(c) => c.cmd_id,
        }
    }

    /// Sets the command's CmdID.
    pub fn set_cmd_id(&mut self, id: u32) {
        match self {
            Command::Add(c)
            | Command::Copy(c)
            | Command::Delete(c)
            | Command::Exec(c)
            | Command::Get(c)
            | Command::Replace(c) => c.cmd_id = id,
            Command::Alert(c) => c.cmd_id = id,
            Command::Atomic(c) | Command::Sequence(c) => c.cmd_id = id,
            Command::Results(c) => c.cmd_id = id,
            Command::Status(c) => c.cmd_id = id,
        }
    }

    /// The items a command carries (none for Atomic and Sequence).
    pub fn items(&self) -> &[Item] {
        match self {
            Command::Add(c)
            | Command::Copy(c)
            | Command::Delete(c)
            | Command::Exec(c)
            | Command::Get(c)
            | Command::Replace(c) => &c.items,
            Command::Alert(c) => &c.items,
            Command::Results(c) => &c.items,
            Command::Status(c) => &c.items,
            Command::Atomic(_) | Command::Sequence(_) => &[],
        }
    }
}

/// Add, Copy, Delete, Exec, Get, Replace: `(CmdID, NoResp?, Cred?, Meta?, Correlator?, Item+)`.
/// `correlator` is only meaningful for Exec.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ItemCommand {
    /// `CmdID`: unique in its message, from 1.
    pub cmd_id: u32,
    /// `<NoResp/>`: the sender wants no Status for it.
    pub no_resp: bool,
    /// `Cred`: credentials for this command alone.
    pub cred: Option<Box<Cred>>,
    /// `Meta`: the Format and Type of every item that has none of its own.
    pub meta: Option<Box<Meta>>,
    /// `Correlator`: carried back in the Generic Alert that reports an asynchronous Exec.
    pub correlator: Option<String>,
    /// `Item`s: the nodes the command acts on.
    pub items: Vec<Item>,
}

/// `Alert (CmdID, NoResp?, Cred?, Data, Correlator?, Item*)`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// `CmdID`: unique in its message, from 1.
    pub cmd_id: u32,
    /// `<NoResp/>`: the sender wants no Status for it.
    pub no_resp: bool,
    /// `Cred`: credentials for this command alone.
    pub cred: Option<Box<Cred>>,
    /// `Data`: the alert code.
    pub data: AlertCode,
    /// `Correlator`: a Generic Alert's, naming the Exec it reports on.
    pub correlator: Option<String>,
    /// `Item`s: a UI alert's options, text and choices; a Generic Alert's report.
    pub items: Vec<Item>,
}

/// Atomic and Sequence: `(CmdID, NoResp?, Meta?, commands+)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Group {
    /// `CmdID`: unique in its message, from 1.
    pub cmd_id: u32,
    /// `<NoResp/>`: the sender wants no Status for it.
    pub no_resp: bool,
    /// `Meta`.
    pub meta: Option<Box<Meta>>,
    /// The commands inside, in order.
    pub commands: Vec<Command>,
}

/// `Status (CmdID, MsgRef, CmdRef, Cmd, TargetRef*, SourceRef*, Cred?, Chal?, Data, Item*)`.
/// `cmd_ref` is `Some(0)` for the status of a SyncHdr; it is `None` only when a peer left it out.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Status {
    /// `CmdID`: unique in its message, from 1.
    pub cmd_id: u32,
    /// `MsgRef`: the MsgID of the message the command answered was in.
    pub msg_ref: Option<u32>,
    /// `CmdRef`: the CmdID of the command answered (0 for the header).
    pub cmd_ref: Option<u32>,
    /// The name of the command answered (`SyncHdr` for the header).
    pub cmd: Cow<'static, str>,
    /// `TargetRef`s: the Targets of the items answered.
    pub target_refs: Vec<String>,
    /// `SourceRef`s: the Sources of the items answered.
    pub source_refs: Vec<String>,
    /// `Cred`, which the DTD allows here (the sessions send none).
    pub cred: Option<Box<Cred>>,
    /// `Chal`: a challenge to authenticate (again), with the scheme and nonce.
    pub chal: Option<Box<Chal>>,
    /// `Data`: the status code.
    pub data: StatusCode,
    /// `Item`s: a user's answer to a UI alert, say.
    pub items: Vec<Item>,
}

/// The MsgID a Status or Results refers to (MsgRef is optional). Without MsgRef it answers the
/// message its sender received last, `last`; or message 1, the SyncML schema's default, when
/// only that one holds the command `sent(msg_id)` tells of.
pub fn refers_to(msg_ref: Option<u32>, last: u32, sent: impl Fn(u32) -> bool) -> u32 {
    match msg_ref {
        Some(m) => m,
        None if last != 1 && !sent(last) && sent(1) => 1,
        None => last,
    }
}

/// Every CmdID of `commands`, each group's members after the group's own.
pub fn cmd_ids<'a>(commands: impl IntoIterator<Item = &'a Command>) -> Vec<u32> {
    let mut out = Vec::new();
    each_cmd_id(commands, &mut |id| out.push(id));
    out
}

fn each_cmd_id<'a>(commands: impl IntoIterator<Item = &'a Command>, f: &mut impl FnMut(u32)) {
    for c in commands {
        f(c.cmd_id());
        if let Command::Atomic(g) | Command::Sequence(g) = c {
            each_cmd_id(&g.commands, f);
        }
    }
}

/// A CmdID of a message's `commands` that breaks "unique within the message and not 0"
/// (facts §1), and why; `None` when they keep it.
pub fn misnumbered(commands: &[Command]) -> Option<(u32, &'static str)> {
    // Nearly always increasing from 1, and then unique.
    let (mut last, mut increasing) = (0, true);
    each_cmd_id(commands, &mut |id| {
        increasing &= id > last;
        last = id;
    });
    if increasing {
        return None;
    }
    let mut sorted = cmd_ids(commands);
    sorted.sort_unstable();
    if sorted.first() == Some(&0) {
        return Some((0, "a CmdID of 0"));
    }
    sorted.windows(2).find(|w| w[0] == w[1]).map(|w| (w[0], "a CmdID used twice"))
}

/// `Results (CmdID, MsgRef?, CmdRef, Meta?, TargetRef?, SourceRef?, Item+)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Results {
    /// `CmdID`: unique in its message, from 1.
    pub cmd_id: u32,
    /// `MsgRef`: the MsgID of the message the command answered was in.
    pub msg_ref: Option<u32>,
    /// `CmdRef`: the CmdID of the Get answered.
    pub cmd_ref: u32,
    /// `Meta`: the Format and Type of every item that has none of its own.
    pub meta: Option<Box<Meta>>,
    /// `TargetRef`.
    pub target_ref: Option<String>,
    /// `SourceRef`.
    pub source_ref: Option<String>,
    /// `Item`s: one per node read, each with its Source, Meta and Data.
    pub items: Vec<Item>,
}

/// `Item (Target?, Source?, SourceParent?, TargetParent?, Meta?, Data?, MoreData?)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Item {
    /// `Target`: the node acted on.
    pub target: Option<Location>,
    /// `Source`: the node read (Results), or copied from (Copy).
    pub source: Option<Location>,
    /// Rare in DM: boxed, so that the Items of a message of thousands take less room.
    pub source_parent: Option<Box<Location>>,
    /// `TargetParent`: rare in DM, boxed too.
    pub target_parent: Option<Box<Location>>,
    /// `Meta`: Format, Type, Size (of a large object), Mark.
    pub meta: Option<Box<Meta>>,
    /// `Data`: the value.
    pub data: Option<Data>,
    /// `<MoreData/>`: a large-object chunk that is not the last.
    pub more_data: bool,
}

impl Item {
    /// The length of its data as it travels; 0 without data.
    pub fn data_len(&self) -> usize {
        self.data.as_ref().map_or(0, Data::len)
    }
}

/// The content of an Item's `Data`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Data {
    /// Character data, entities resolved.
    Text(String),
    /// An embedded XML document (DDF, TNDS, any other), kept byte for byte as XML wrote it.
    /// WBXML carries a DDF/TNDS document as a WBXML document in OPAQUE and any other as LITERAL
    /// elements, unless its text is shorter or it cannot be carried as elements: then it
    /// travels as its text and decodes from WBXML as `Text`. Strict decoding reads one document
    /// with only white space beside it; lenient decoding also keeps text beside it, or several.
    Xml(String),
    /// Raw bytes, as WBXML OPAQUE carries them when they are not UTF-8 text.
    Binary(Vec<u8>),
}

impl Data {
    /// Text as `Text` when XML can carry it (`codec::is_xml_text`), else its bytes as `Binary`:
    /// as text it could not be written out again.
    pub fn from_text(text: String) -> Data {
        if crate::codec::is_xml_text(&text) { Data::Text(text) } else { Data::Binary(text.into_bytes()) }
    }

    /// Bytes as `from_text` takes them, or as `Binary` when they are not UTF-8.
    pub fn from_bytes(bytes: Vec<u8>) -> Data {
        match String::from_utf8(bytes) {
            Ok(text) => Data::from_text(text),
            Err(e) => Data::Binary(e.into_bytes()),
        }
    }

    /// The length of the data as it travels (`Meta/Size` counts this).
    pub fn len(&self) -> usize {
        match self {
            Data::Text(s) | Data::Xml(s) => s.len(),
            Data::Binary(b) => b.len(),
        }
    }

    /// Whether the data is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The data as it travels (text as its UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Data::Text(s) | Data::Xml(s) => s.as_bytes(),
            Data::Binary(b) => b,
        }
    }

    /// The data as bytes, without copying.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Data::Text(s) | Data::Xml(s) => s.into_bytes(),
            Data::Binary(b) => b,
        }
    }
}
