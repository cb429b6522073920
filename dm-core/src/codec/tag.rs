//! Element names of SyncML 1.2 (code page 0) and MetInf 1.2 (code page 1), with their WBXML tokens
//! (facts/wbxml/syncml12_wbxml_tags.tsv, from libwbxml's tables).

pub(crate) const NS_SYNCML12: &str = "SYNCML:SYNCML1.2";
pub(crate) const NS_SYNCML11: &str = "SYNCML:SYNCML1.1";
pub(crate) const NS_METINF: &str = "syncml:metinf";

/// Markup of at most `N` bytes in an array of that width, so that writing it copies a fixed
/// number of bytes (no call to copy a length known only at run time) and keeps the first `len`.
pub(crate) struct Padded<const N: usize = 24> {
    pub(crate) bytes: [u8; N],
    pub(crate) len: usize,
}

impl<const N: usize> Padded<N> {
    /// `parts` one after the other.
    const fn join(parts: &[&str]) -> Padded<N> {
        let mut bytes = [0u8; N];
        let mut len = 0;
        let mut p = 0;
        while p < parts.len() {
            let b = parts[p].as_bytes();
            let mut i = 0;
            while i < b.len() {
                bytes[len] = b[i];
                len += 1;
                i += 1;
            }
            p += 1;
        }
        Padded { bytes, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The start tag of a MetInf element outside MetInf, with its namespace; empty for the others.
const fn metinf_start(name: &str, page: u8) -> Padded<40> {
    if page == 1 { Padded::join(&["<", name, " xmlns=\"", NS_METINF, "\">"]) } else { Padded::join(&[]) }
}

/// A slot in a 256-entry table for an element name, from its length and three of its bytes.
const fn name_hash(name: &[u8]) -> usize {
    let n = name.len();
    if n == 0 {
        return 0;
    }
    (n * 7 + name[0] as usize * 3 + name[n - 1] as usize * 5 + name[n / 2] as usize) % 256
}

macro_rules! tags {
    ($($name:ident = ($page:literal, $token:literal),)*) => {
        /// A known element. The name is the element name; page and token are its WBXML code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(clippy::upper_case_acronyms)]
        pub(crate) enum Tag { $($name,)* }

        const NAMES: &[&str] = &[$(stringify!($name),)*];
        const START_TAGS: &[Padded] = &[$(Padded::join(&["<", stringify!($name), ">"]),)*];
        const END_TAGS: &[Padded] = &[$(Padded::join(&["</", stringify!($name), ">"]),)*];
        const METINF_START_TAGS: &[Padded<40>] = &[$(metinf_start(stringify!($name), $page),)*];
        const CODES: &[(u8, u8)] = &[$(($page, $token),)*];
        const ALL: &[Tag] = &[$(Tag::$name,)*];

        /// Index into `ALL` by code page (0, 1) and token; `u8::MAX` where no tag is.
        const BY_CODE: [[u8; 64]; 2] = {
            let mut table = [[u8::MAX; 64]; 2];
            let mut i = 0;
            while i < CODES.len() {
                table[CODES[i].0 as usize][CODES[i].1 as usize] = i as u8;
                i += 1;
            }
            table
        };

        /// Index into `ALL` by `name_hash`, the next free slot on a collision; `u8::MAX` where
        /// no tag is (the table has room to spare, so every probe ends at one).
        const BY_NAME: [u8; 256] = {
            let mut table = [u8::MAX; 256];
            let mut i = 0;
            while i < NAMES.len() {
                let mut slot = name_hash(NAMES[i].as_bytes());
                while table[slot] != u8::MAX {
                    slot = (slot + 1) % 256;
                }
                table[slot] = i as u8;
                i += 1;
            }
            table
        };

        impl Tag {
            #[inline]
            pub(crate) fn name(self) -> &'static str {
                NAMES[self as usize]
            }

            /// `<Name>`, written in one piece.
            #[inline]
            pub(crate) fn start_tag(self) -> &'static Padded {
                &START_TAGS[self as usize]
            }

            /// `<Name xmlns="syncml:metinf">`, for a MetInf element not inside another one.
            #[inline]
            pub(crate) fn metinf_start_tag(self) -> &'static Padded<40> {
                &METINF_START_TAGS[self as usize]
            }

            /// `</Name>`.
            #[inline]
            pub(crate) fn end_tag(self) -> &'static Padded {
                &END_TAGS[self as usize]
            }

            /// By a hash of the name (one comparison, not one per candidate).
            pub(crate) fn from_name(name: &str) -> Option<Tag> {
                let mut slot = name_hash(name.as_bytes());
                loop {
                    let tag = *ALL.get(usize::from(BY_NAME[slot]))?;
                    if tag.name() == name {
                        return Some(tag);
                    }
                    slot = (slot + 1) % BY_NAME.len();
                }
            }

            /// WBXML code page and token (without the content/attribute bits).
            #[inline]
            pub(crate) fn code(self) -> (u8, u8) {
                CODES[self as usize]
            }

            #[inline]
            pub(crate) fn from_code(page: u8, token: u8) -> Option<Tag> {
                let i = *BY_CODE.get(usize::from(page))?.get(usize::from(token))?;
                ALL.get(usize::from(i)).copied()
            }
        }
    };
}

tags! {
    Add = (0, 0x05),
    Alert = (0, 0x06),
    Archive = (0, 0x07),
    Atomic = (0, 0x08),
    Chal = (0, 0x09),
    Cmd = (0, 0x0A),
    CmdID = (0, 0x0B),
    CmdRef = (0, 0x0C),
    Copy = (0, 0x0D),
    Cred = (0, 0x0E),
    Data = (0, 0x0F),
    Delete = (0, 0x10),
    Exec = (0, 0x11),
    Final = (0, 0x12),
    Get = (0, 0x13),
    Item = (0, 0x14),
    Lang = (0, 0x15),
    LocName = (0, 0x16),
    LocURI = (0, 0x17),
    Map = (0, 0x18),
    MapItem = (0, 0x19),
    Meta = (0, 0x1A),
    MsgID = (0, 0x1B),
    MsgRef = (0, 0x1C),
    NoResp = (0, 0x1D),
    NoResults = (0, 0x1E),
    Put = (0, 0x1F),
    Replace = (0, 0x20),
    RespURI = (0, 0x21),
    Results = (0, 0x22),
    Search = (0, 0x23),
    Sequence = (0, 0x24),
    SessionID = (0, 0x25),
    SftDel = (0, 0x26),
    Source = (0, 0x27),
    SourceRef = (0, 0x28),
    Status = (0, 0x29),
    Sync = (0, 0x2A),
    SyncBody = (0, 0x2B),
    SyncHdr = (0, 0x2C),
    SyncML = (0, 0x2D),
    Target = (0, 0x2E),
    TargetRef = (0, 0x2F),
    VerDTD = (0, 0x31),
    VerProto = (0, 0x32),
    NumberOfChanges = (0, 0x33),
    MoreData = (0, 0x34),
    Field = (0, 0x35),
    Filter = (0, 0x36),
    Record = (0, 0x37),
    FilterType = (0, 0x38),
    SourceParent = (0, 0x39),
    TargetParent = (0, 0x3A),
    Move = (0, 0x3B),
    Correlator = (0, 0x3C),
    Anchor = (1, 0x05),
    EMI = (1, 0x06),
    Format = (1, 0x07),
    FreeID = (1, 0x08),
    FreeMem = (1, 0x09),
    Last = (1, 0x0A),
    Mark = (1, 0x0B),
    MaxMsgSize = (1, 0x0C),
    Mem = (1, 0x0D),
    MetInf = (1, 0x0E),
    Next = (1, 0x0F),
    NextNonce = (1, 0x10),
    SharedMem = (1, 0x11),
    Size = (1, 0x12),
    Type = (1, 0x13),
    Version = (1, 0x14),
    MaxObjSize = (1, 0x15),
    FieldLevel = (1, 0x16),
}

impl Tag {
    /// MetInf elements live in namespace `syncml:metinf` (code page 1).
    #[inline]
    pub(crate) fn is_metinf(self) -> bool {
        self.code().0 == 1
    }
}

/// Namespace of the DM DDF 1.2 elements (WBXML code page 2), used for documents embedded in Data.
pub(crate) const NS_DDF: &str = "syncml:dmddf1.2";

/// Code page 2 (DM DDF 1.2), by token from 0x05.
pub(crate) const DDF_NAMES: [&str; 56] = [
    "AccessType",
    "ACL",
    "Add",
    "b64",
    "bin",
    "bool",
    "chr",
    "CaseSense",
    "CIS",
    "Copy",
    "CS",
    "date",
    "DDFName",
    "DefaultValue",
    "Delete",
    "Description",
    "DFFormat",
    "DFProperties",
    "DFTitle",
    "DFType",
    "Dynamic",
    "Exec",
    "float",
    "Format",
    "Get",
    "int",
    "Man",
    "MgmtTree",
    "MIME",
    "Mod",
    "Name",
    "Node",
    "node",
    "NodeName",
    "null",
    "Occurrence",
    "One",
    "OneOrMore",
    "OneOrN",
    "Path",
    "Permanent",
    "Replace",
    "RTProperties",
    "Scope",
    "Size",
    "time",
    "Title",
    "TStamp",
    "Type",
    "Value",
    "VerDTD",
    "VerNo",
    "xml",
    "ZeroOrMore",
    "ZeroOrN",
    "ZeroOrOne",
];

pub(crate) fn ddf_name(token: u8) -> Option<&'static str> {
    DDF_NAMES.get(usize::from(token).checked_sub(5)?).copied()
}

pub(crate) fn ddf_token(name: &str) -> Option<u8> {
    DDF_NAMES.iter().position(|n| *n == name).map(|i| i as u8 + 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_is_found_by_its_name_and_its_code() {
        for &tag in ALL {
            assert_eq!(Tag::from_name(tag.name()), Some(tag));
            let (page, token) = tag.code();
            assert_eq!(Tag::from_code(page, token), Some(tag));
            assert_eq!(tag.start_tag().as_bytes(), format!("<{}>", tag.name()).as_bytes());
            assert_eq!(tag.end_tag().as_bytes(), format!("</{}>", tag.name()).as_bytes());
            let metinf = format!("<{} xmlns=\"{NS_METINF}\">", tag.name());
            assert_eq!(tag.metinf_start_tag().as_bytes(), if tag.is_metinf() { metinf.as_bytes() } else { b"" });
        }
        for unknown in ["", "syncml", "SyncMLx", "Dat", "MgmtTree", "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"] {
            assert_eq!(Tag::from_name(unknown), None, "{unknown}");
        }
        assert_eq!(Tag::from_code(0, 0x30), None);
        assert_eq!(Tag::from_code(2, 0x05), None);
    }
}
