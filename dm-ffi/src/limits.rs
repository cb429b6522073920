//! The limits a session holds its peer to, as C sets them.

use dm_core::Limits;

/// Bounds on what the peer controls. dm_client_config_init and dm_server_config_init fill in
/// the defaults; 0 in a field also means its default. A message past one is refused whole:
/// dm_session_receive returns DM_ERR_LIMIT and dm_last_error names the field.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct dm_limits {
    /// Bytes in one message (1 MiB).
    pub max_message_size: usize,
    /// Bytes in one reassembled large object (16 MiB).
    pub max_object_size: usize,
    /// Depth of nested Sequence/Atomic (8).
    pub max_nesting: usize,
    /// Commands in one message, nested ones included (10 000).
    pub max_commands: usize,
    /// Items in one command (1 000).
    pub max_items: usize,
    /// Bytes in a URI (1 024).
    pub max_uri_len: usize,
    /// Bytes of text in one element (1 MiB).
    pub max_text_len: usize,
    /// Client: bytes of data in the Results it owes at once (64 MiB); past it a Get is
    /// answered 413.
    pub max_results_size: usize,
}

impl From<&Limits> for dm_limits {
    fn from(l: &Limits) -> Self {
        dm_limits {
            max_message_size: l.max_message_size,
            max_object_size: l.max_object_size,
            max_nesting: l.max_nesting,
            max_commands: l.max_commands,
            max_items: l.max_items,
            max_uri_len: l.max_uri_len,
            max_text_len: l.max_text_len,
            max_results_size: l.max_results_size,
        }
    }
}

impl From<&dm_limits> for Limits {
    fn from(c: &dm_limits) -> Self {
        let mut l = Limits::default();
        let fields = [
            (&mut l.max_message_size, c.max_message_size),
            (&mut l.max_object_size, c.max_object_size),
            (&mut l.max_nesting, c.max_nesting),
            (&mut l.max_commands, c.max_commands),
            (&mut l.max_items, c.max_items),
            (&mut l.max_uri_len, c.max_uri_len),
            (&mut l.max_text_len, c.max_text_len),
            (&mut l.max_results_size, c.max_results_size),
        ];
        for (field, value) in fields.into_iter().filter(|(_, v)| *v > 0) {
            *field = value;
        }
        l
    }
}
