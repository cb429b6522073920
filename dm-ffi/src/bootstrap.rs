//! Bootstrap for C: a device applying the message that gives it a server's account.

use std::ffi::{c_char, c_void};

use dm_core::DecodeOptions;
use dm_core::bootstrap;

use crate::boundary::{bytes_arg, copy_str, guard, opt_str, thread_failure, tri};
use crate::result::dm_result;
use crate::tree::{CTree, dm_tree_ops};

/// Applies a bootstrap message (the OMA DM profile: WBXML, Add and Replace only, no answer) to
/// the tree kept by `ops` (`userdata` passed back), all or nothing: the tree's atomic callbacks
/// are required (DM_ERR_USAGE without them). With `key` (`key_len` bytes: the PIN, the
/// network's secret), `content_type` (the one it came with; NULL: application/vnd.syncml.dm+wbxml)
/// must carry the MAC that key gives, DM_ERR_AUTH otherwise; with a NULL key the caller vouches
/// for the message. An item the tree refuses is DM_ERR_PROTOCOL, the tree rolled back. The
/// server it came from (its account's ServerID) goes to `server_id` (NUL-terminated, cut to
/// `server_id_size`; NULL for none). dm_last_error(NULL) says what went wrong.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn dm_bootstrap_apply(
    ops: *const dm_tree_ops,
    userdata: *mut c_void,
    body: *const u8,
    len: usize,
    content_type: *const c_char,
    key: *const u8,
    key_len: usize,
    server_id: *mut c_char,
    server_id_size: usize,
) -> dm_result {
    guard(|| {
        if ops.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        let body = tri!(unsafe { bytes_arg(body, len) });
        let content_type = tri!(unsafe { opt_str(content_type) }).unwrap_or(bootstrap::CONTENT_TYPE);
        let key = if key.is_null() { None } else { Some(tri!(unsafe { bytes_arg(key, key_len) })) };
        let mut tree = CTree { ops: unsafe { *ops }, userdata };
        match bootstrap::apply(&mut tree, body, content_type, key, &DecodeOptions::default()) {
            Ok(done) => {
                if !server_id.is_null() && server_id_size > 0 {
                    let dst = unsafe { std::slice::from_raw_parts_mut(server_id, server_id_size) };
                    copy_str(dst, &done.server_id);
                }
                dm_result::DM_OK
            }
            Err(e) => thread_failure(&e),
        }
    })
}
