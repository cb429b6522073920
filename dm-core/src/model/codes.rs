//! Status and alert codes (facts/FACTS.md §3). Both are open newtypes: a code a peer sends that
//! the table does not name is kept as it is, and `name()` returns `None` for it.

use std::fmt;

macro_rules! code_type {
    ($(#[$doc:meta])* $ty:ident { $($(#[$cdoc:meta])* $name:ident = $value:literal, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $ty(pub u16);

        impl $ty {
            $($(#[$cdoc])* #[doc = concat!("`", stringify!($value), "` ", $text, ".")] pub const $name: $ty = $ty($value);)*

            /// The name the specification gives this code, if it gives one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($text),)*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({} {})", stringify!($ty), self.0, n),
                    None => write!(f, "{}({})", stringify!($ty), self.0),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<u16> for $ty {
            fn from(v: u16) -> Self { $ty(v) }
        }
    };
}

code_type! {
    /// A SyncML status code (the `Data` of a `Status`).
    StatusCode {
        OK = 200, "OK";
        ACCEPTED = 202, "Accepted for processing";
        AUTHENTICATION_ACCEPTED = 212, "Authentication accepted";
        CHUNKED_ITEM_ACCEPTED = 213, "Chunked item accepted and buffered";
        OPERATION_CANCELLED = 214, "Operation cancelled";
        NOT_EXECUTED = 215, "Not executed";
        ATOMIC_ROLLBACK_OK = 216, "Atomic roll back OK";
        NOT_MODIFIED = 304, "Not modified";
        BAD_REQUEST = 400, "Bad request";
        INVALID_CREDENTIALS = 401, "Invalid credentials";
        FORBIDDEN = 403, "Forbidden";
        NOT_FOUND = 404, "Not found";
        COMMAND_NOT_ALLOWED = 405, "Command not allowed";
        OPTIONAL_FEATURE_NOT_SUPPORTED = 406, "Optional feature not supported";
        MISSING_CREDENTIALS = 407, "Missing credentials";
        REQUEST_TIMEOUT = 408, "Request timeout";
        INCOMPLETE_COMMAND = 412, "Incomplete command";
        REQUEST_ENTITY_TOO_LARGE = 413, "Request entity too large";
        URI_TOO_LONG = 414, "URI too long";
        UNSUPPORTED_MEDIA_TYPE = 415, "Unsupported media type or format";
        REQUESTED_RANGE_NOT_SATISFIABLE = 416, "Requested range not satisfiable";
        ALREADY_EXISTS = 418, "Already exists";
        DEVICE_FULL = 420, "Device full";
        SIZE_MISMATCH = 424, "Size mismatch";
        PERMISSION_DENIED = 425, "Permission denied";
        COMMAND_FAILED = 500, "Command failed";
        NOT_IMPLEMENTED = 501, "Command not implemented";
        SERVICE_UNAVAILABLE = 503, "Service unavailable";
        GATEWAY_TIMEOUT = 504, "Gateway timeout";
        PROCESSING_ERROR = 506, "Processing error";
        ATOMIC_FAILED = 507, "Atomic failed";
        DATA_STORE_FAILURE = 510, "Data store failure";
        OPERATION_CANCELLED_FAILURE = 514, "Operation cancelled failure";
        ATOMIC_ROLLBACK_FAILED = 516, "Atomic roll back failed";
        ATOMIC_RESPONSE_TOO_LARGE = 517, "Atomic response too large to fit";
    }
}

/// A tree operation fails with the status code DM gives it; as an error it says which.
impl std::error::Error for StatusCode {}

impl StatusCode {
    /// 2xx: the command (or the part of it this status answers) succeeded.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// `Ok` for 2xx, `Err` otherwise: a tree's answer to a command.
    pub fn result(self) -> Result<StatusCode, StatusCode> {
        if self.is_success() { Ok(self) } else { Err(self) }
    }
}

code_type! {
    /// A DM alert code (the `Data` of an `Alert`). DM codes start at 1100.
    AlertCode {
        DISPLAY = 1100, "Display";
        CONFIRM_OR_REJECT = 1101, "Confirm or reject";
        TEXT_INPUT = 1102, "Text input";
        SINGLE_CHOICE = 1103, "Single choice";
        MULTIPLE_CHOICE = 1104, "Multiple choice";
        SERVER_INITIATED_MGMT = 1200, "Server-initiated management";
        CLIENT_INITIATED_MGMT = 1201, "Client-initiated management";
        NEXT_MESSAGE = 1222, "Next message";
        SESSION_ABORT = 1223, "Session abort";
        CLIENT_EVENT = 1224, "Client event";
        NO_END_OF_DATA = 1225, "No end of data";
        GENERIC_ALERT = 1226, "Generic alert";
    }
}

impl AlertCode {
    /// 1100–1104: the alert asks the user something (facts §3 "UI alert parameters").
    pub fn is_user_interaction(self) -> bool {
        (1100..=1104).contains(&self.0)
    }
}
