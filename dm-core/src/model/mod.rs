//! The SyncML DM 1.2 message model (RepPro 1.2 as DM uses it, facts/FACTS.md §1).
//!
//! Plain owned data: build it by hand, decode it with [`crate::codec`], encode it back.
//! Identifiers that the DTD types as numbers (MsgID, CmdID, MsgRef, CmdRef) are `u32`. In serde's
//! form an item command, an item, a location or a Meta need name only the fields they hold.

mod codes;
mod command;
mod message;
mod meta;

pub use codes::{AlertCode, StatusCode};
pub use command::{Alert, Command, Data, Group, Item, ItemCommand, Results, Status, cmd_ids, misnumbered, refers_to};
pub use message::{Chal, Cred, Header, Location, Message, ProtocolVersion};
pub(crate) use meta::property_value;
pub use meta::{Anchor, Mem, Meta};

use std::borrow::Cow;

/// `s` borrowed from `common` when it is one of those values, else copied: names and types that
/// nearly always take one of a few values cost no allocation.
pub(crate) fn static_or_owned(s: &str, common: &'static [&'static str]) -> Cow<'static, str> {
    match common.iter().find(|c| **c == s) {
        Some(c) => Cow::Borrowed(c),
        None => Cow::Owned(s.to_string()),
    }
}
