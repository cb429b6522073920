//! Result codes, stable numbering: never renumber, only add.

use dm_core::Error;

/// What a call did.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dm_result {
    /// Success.
    DM_OK = 0,
    /// Nothing more: no message to send, no event to take.
    DM_DONE = 1,
    /// A required pointer argument was NULL.
    DM_ERR_NULL = 2,
    /// The caller misused the API (e.g. next_message while waiting for the peer).
    DM_ERR_USAGE = 3,
    /// The bytes are not a valid DM message (XML or WBXML).
    DM_ERR_DECODE = 4,
    /// The peer broke a protocol rule (dm_last_error names the rule, e.g. R19).
    DM_ERR_PROTOCOL = 5,
    /// Authentication failed.
    DM_ERR_AUTH = 6,
    /// The peer passed a configured limit.
    DM_ERR_LIMIT = 7,
    /// A bug: a panic was caught at the boundary.
    DM_ERR_PANIC = 8,
    /// An argument is invalid (not UTF-8, an unknown enum value).
    DM_ERR_INVALID = 9,
}

impl From<&Error> for dm_result {
    fn from(e: &Error) -> dm_result {
        match e {
            Error::Decode(_) => dm_result::DM_ERR_DECODE,
            Error::Limit(_) => dm_result::DM_ERR_LIMIT,
            Error::Remote(_) => dm_result::DM_ERR_PROTOCOL,
            Error::Auth(_) => dm_result::DM_ERR_AUTH,
            Error::Usage(_) => dm_result::DM_ERR_USAGE,
        }
    }
}

/// A short static description of a result code. Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn dm_result_name(result: dm_result) -> *const std::ffi::c_char {
    let s: &'static str = match result {
        dm_result::DM_OK => "ok\0",
        dm_result::DM_DONE => "done\0",
        dm_result::DM_ERR_NULL => "a required pointer was NULL\0",
        dm_result::DM_ERR_USAGE => "API misuse\0",
        dm_result::DM_ERR_DECODE => "not a valid DM message\0",
        dm_result::DM_ERR_PROTOCOL => "the peer broke a protocol rule\0",
        dm_result::DM_ERR_AUTH => "authentication failed\0",
        dm_result::DM_ERR_LIMIT => "a limit was passed\0",
        dm_result::DM_ERR_PANIC => "internal error (panic caught)\0",
        dm_result::DM_ERR_INVALID => "invalid argument\0",
    };
    s.as_ptr().cast()
}
