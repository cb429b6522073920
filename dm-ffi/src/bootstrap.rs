//! Bootstrap for C: a device applying the message that gives it a server's account.

use std::ffi::{c_char, c_void};

use dm_core::DecodeOptions;
use dm_core::bootstrap;

use crate::boundary::{
    bytes_arg, bytes_out, copy_str, guard, opt_str, out, set_thread_error, str_arg, thread_failure, tri,
};
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

/// The key to check a bootstrap's MAC with (`key` of dm_bootstrap_apply), for the SEC its
/// `content_type` names, from what the device holds: `imsi` (its digits, NUL-terminated; NULL
/// for none) and the PIN the user typed (`pin_len` bytes; NULL for none). NETWORKID takes the
/// IMSI in semi-octets (as the SIM holds it), USERPIN the PIN, USERPIN_NETWORKID both. It is
/// written to `key` (`key_size` bytes: 8 and the PIN's length always do) and its length to
/// `*key_len`; DM_ERR_INVALID when it does not fit (`*key_len` says what would), DM_ERR_USAGE
/// when a secret the SEC needs is missing or not an IMSI, DM_ERR_AUTH when there is no SEC (or
/// one not known), DM_ERR_PROTOCOL when `content_type` is not a DM message's.
#[unsafe(no_mangle)]
pub extern "C" fn dm_bootstrap_key(
    content_type: *const c_char,
    imsi: *const c_char,
    pin: *const u8,
    pin_len: usize,
    key: *mut u8,
    key_size: usize,
    key_len: *mut usize,
) -> dm_result {
    guard(|| {
        let content_type = tri!(unsafe { str_arg(content_type) });
        let imsi = tri!(unsafe { opt_str(imsi) });
        let pin = if pin.is_null() { None } else { Some(tri!(unsafe { bytes_arg(pin, pin_len) })) };
        let derived = match bootstrap::device_key(content_type, imsi, pin) {
            Ok(derived) => derived,
            Err(e) => return thread_failure(&e),
        };
        tri!(unsafe { out(key_len, derived.len()) });
        if derived.len() > key_size {
            set_thread_error(&format!("the key takes {} bytes, not {key_size}", derived.len()));
            return dm_result::DM_ERR_INVALID;
        }
        let dst = tri!(unsafe { bytes_out(key, key_size) });
        dst[..derived.len()].copy_from_slice(&derived);
        dm_result::DM_OK
    })
}

/// The bootstrap message a WAP push holds (a WSP Push PDU of content type 0x42, as a device's
/// push stack hands it over): *body points into `pdu`, nothing to free, and its Content-Type,
/// with the SEC and MAC the push carried as parameters, is written as dm_bootstrap_apply takes
/// it to `content_type` (NUL-terminated; 128 bytes hold any whose MAC is HMAC-SHA1's 40 hex
/// digits: DM_ERR_INVALID when it does not fit). Anything else gives DM_ERR_DECODE
/// (dm_last_error(NULL) says why).
#[unsafe(no_mangle)]
pub extern "C" fn dm_bootstrap_from_wap_push(
    pdu: *const u8,
    len: usize,
    body: *mut *const u8,
    body_len: *mut usize,
    content_type: *mut c_char,
    content_type_size: usize,
) -> dm_result {
    guard(|| {
        let bytes = tri!(unsafe { bytes_arg(pdu, len) });
        if body.is_null() || body_len.is_null() || content_type.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        let (inner, text) = match dm_core::wap_push::unwrap_bootstrap(bytes) {
            Ok(found) => found,
            Err(e) => return thread_failure(&e.into()),
        };
        if text.len() >= content_type_size {
            set_thread_error(&format!(
                "the Content-Type takes {} bytes and a NUL, not {content_type_size}",
                text.len()
            ));
            return dm_result::DM_ERR_INVALID;
        }
        copy_str(unsafe { std::slice::from_raw_parts_mut(content_type, content_type_size) }, &text);
        tri!(unsafe { out(body, inner.as_ptr()) });
        tri!(unsafe { out(body_len, inner.len()) });
        dm_result::DM_OK
    })
}
