//! MetInf 1.2: `MetInf (FieldLevel?, Format?, Type?, Mark?, Size?, Anchor?, Version?, NextNonce?,
//! MaxMsgSize?, MaxObjSize?, EMI*, Mem?)`, all in namespace `syncml:metinf`.

use std::borrow::Cow;

/// Meta information of a header, command or item.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Meta {
    /// `<FieldLevel/>`: a DS flag MetInf allows.
    pub field_level: bool,
    /// `chr` (the default), `b64`, `bin`, `bool`, `int`, `node`, `null`, `xml`, ...
    pub format: Option<Cow<'static, str>>,
    /// MIME type; `text/plain` is the default.
    pub type_: Option<Cow<'static, str>>,
    /// `Mark`: the importance of a Generic Alert (`fatal`, `critical`, `major`, `minor`, ...).
    pub mark: Option<String>,
    /// Size of the data in the message (for a large object: of the whole object, first chunk only).
    pub size: Option<u64>,
    /// `Anchor`: a DS element MetInf allows.
    pub anchor: Option<Anchor>,
    /// `Version` of the data.
    pub version: Option<String>,
    /// `NextNonce` (base64): the nonce to digest the next credentials with.
    pub next_nonce: Option<String>,
    /// `MaxMsgSize`: the largest message the sender takes, in bytes.
    pub max_msg_size: Option<u64>,
    /// `MaxObjSize`: the largest object the sender takes, in bytes.
    pub max_obj_size: Option<u64>,
    /// `EMI`: extensions, kept as sent.
    pub emi: Vec<String>,
    /// `Mem`: the memory left on the device.
    pub mem: Option<Mem>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
/// `Anchor (Last?, Next)`: a DS element that MetInf allows.
pub struct Anchor {
    /// `Last`.
    pub last: Option<String>,
    /// `Next`.
    pub next: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
/// `Mem (SharedMem?, FreeMem, FreeID)`: the memory left on the device.
pub struct Mem {
    /// `<SharedMem/>`.
    pub shared_mem: bool,
    /// `FreeMem`: bytes free.
    pub free_mem: String,
    /// `FreeID`: items that can still be added.
    pub free_id: String,
}

impl Meta {
    /// Meta with just a Format and a Type (the common case for items).
    pub fn typed(format: impl Into<Cow<'static, str>>, type_: impl Into<Cow<'static, str>>) -> Meta {
        Meta { format: Some(format.into()), type_: Some(type_.into()), ..Meta::default() }
    }

    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Meta::default()
    }
}

/// A Format or Type value: the common ones borrowed from static text, any other copied.
pub(crate) fn property_value(s: &str) -> Cow<'static, str> {
    const COMMON: &[&str] = &[
        "chr",
        "text/plain",
        "bin",
        "int",
        "bool",
        "b64",
        "xml",
        "float",
        "date",
        "time",
        "null",
        "node",
        "syncml:auth-md5",
        "syncml:auth-basic",
        "syncml:auth-MAC",
    ];
    super::static_or_owned(s, COMMON)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_property_values_are_not_copied() {
        assert!(matches!(property_value("chr"), Cow::Borrowed("chr")));
        assert!(matches!(property_value("text/plain"), Cow::Borrowed("text/plain")));
        assert!(matches!(property_value("application/x-acme"), Cow::Owned(s) if s == "application/x-acme"));
    }

    #[test]
    fn a_decoded_meta_borrows_common_formats_and_types() {
        let xml = r#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>
            <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>c</LocURI></Target><Source><LocURI>s</LocURI>
            </Source></SyncHdr><SyncBody><Replace><CmdID>1</CmdID><Item><Target><LocURI>./a</LocURI></Target>
            <Meta><Format xmlns="syncml:metinf">chr</Format><Type xmlns="syncml:metinf">application/x-acme</Type>
            </Meta><Data>v</Data></Item></Replace><Final/></SyncBody></SyncML>"#;
        let m = crate::codec::decode(xml.as_bytes()).unwrap();
        let meta = m.commands[0].items()[0].meta.as_ref().unwrap();
        assert!(matches!(meta.format, Some(Cow::Borrowed("chr"))));
        assert!(matches!(&meta.type_, Some(Cow::Owned(t)) if t == "application/x-acme"));
    }
}
