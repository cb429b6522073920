//! MetInf 1.2: `MetInf (FieldLevel?, Format?, Type?, Mark?, Size?, Anchor?, Version?, NextNonce?,
//! MaxMsgSize?, MaxObjSize?, EMI*, Mem?)`, all in namespace `syncml:metinf`.

/// Meta information of a header, command or item.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub field_level: bool,
    /// `chr` (the default), `b64`, `bin`, `bool`, `int`, `node`, `null`, `xml`, ...
    pub format: Option<String>,
    /// MIME type; `text/plain` is the default.
    pub type_: Option<String>,
    pub mark: Option<String>,
    /// Size of the data in the message (for a large object: of the whole object, first chunk only).
    pub size: Option<u64>,
    pub anchor: Option<Anchor>,
    pub version: Option<String>,
    pub next_nonce: Option<String>,
    pub max_msg_size: Option<u64>,
    pub max_obj_size: Option<u64>,
    pub emi: Vec<String>,
    pub mem: Option<Mem>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    pub last: Option<String>,
    pub next: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mem {
    pub shared_mem: bool,
    pub free_mem: String,
    pub free_id: String,
}

impl Meta {
    /// Meta with just a Format and a Type (the common case for items).
    pub fn typed(format: impl Into<String>, type_: impl Into<String>) -> Meta {
        Meta { format: Some(format.into()), type_: Some(type_.into()), ..Meta::default() }
    }

    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Meta::default()
    }
}
