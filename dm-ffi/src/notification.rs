//! Package 0 for C: parse and verify a notification, or build one.

use std::ffi::c_char;

use dm_core::auth::Credentials;
use dm_core::notification::{Notification, UiMode};

use crate::boundary::{bytes_arg, copy_str, give_buffer, guard, out, set_thread_error, str_arg, tri};
use crate::result::dm_result;

/// A parsed notification. `vendor` points into the input buffer.
#[repr(C)]
pub struct dm_notification {
    /// 11 for version 1.1.
    pub version: u16,
    /// 0 not specified, 1 background, 2 informative, 3 user interaction.
    pub ui_mode: u8,
    /// 1 when the server initiated.
    pub server_initiated: u8,
    /// The session's SessionID as a number.
    pub session_id: u16,
    /// The SessionID package 1 must carry (upper-case hex), NUL-terminated: put it in
    /// dm_client_config.session_id, with server_initiated = 1.
    pub session_id_hex: [c_char; 8],
    /// NUL-terminated; longer ids are cut.
    pub server_id: [c_char; 256],
    /// Vendor-specific bytes after the server id (NULL when none).
    pub vendor: *const u8,
    /// The bytes at vendor.
    pub vendor_len: usize,
    /// 1: the digest matches the nonce given; 2: it matches the resync nonce "0x00000000";
    /// 0: it matches neither (do not start a session).
    pub digest_ok: u8,
}

/// Parses a notification and verifies its digest with the server's id and password and the
/// nonce (then the resync nonce). A bad trigger gives DM_ERR_DECODE (dm_last_error(NULL) says
/// where).
#[unsafe(no_mangle)]
pub extern "C" fn dm_notification_parse(
    data: *const u8,
    len: usize,
    password: *const c_char,
    nonce: *const u8,
    nonce_len: usize,
    notification: *mut dm_notification,
) -> dm_result {
    guard(|| {
        let bytes = tri!(unsafe { bytes_arg(data, len) });
        let password = tri!(unsafe { str_arg(password) });
        let nonce = tri!(unsafe { bytes_arg(nonce, nonce_len) });
        let n = match Notification::parse(bytes) {
            Ok(n) => n,
            Err(e) => {
                set_thread_error(&e.to_string());
                return dm_result::DM_ERR_DECODE;
            }
        };
        let creds = Credentials::new(n.server_id.clone(), password);
        let digest_ok = match n.verify_with_resync(&creds, nonce) {
            Some(used) if used == nonce => 1,
            Some(_) => 2,
            None => 0,
        };
        let vendor_at = bytes.len() - n.vendor.len();
        let mut c = dm_notification {
            version: n.version,
            ui_mode: n.ui_mode as u8,
            server_initiated: u8::from(n.server_initiated),
            session_id: n.session_id,
            session_id_hex: [0; 8],
            server_id: [0; 256],
            vendor: unsafe { data.add(vendor_at) },
            vendor_len: n.vendor.len(),
            digest_ok,
        };
        copy_str(&mut c.session_id_hex, &n.session_id_hex());
        copy_str(&mut c.server_id, &n.server_id);
        tri!(unsafe { out(notification, c) });
        dm_result::DM_OK
    })
}

/// Builds a server-initiated notification signed with the server's id and password and the
/// client's nonce. Release the output with dm_buffer_free.
#[unsafe(no_mangle)]
pub extern "C" fn dm_notification_build(
    server_id: *const c_char,
    password: *const c_char,
    nonce: *const u8,
    nonce_len: usize,
    session_id: u16,
    ui_mode: u8,
    out_ptr: *mut *mut u8,
    out_len: *mut usize,
) -> dm_result {
    guard(|| {
        let id = tri!(unsafe { str_arg(server_id) });
        let password = tri!(unsafe { str_arg(password) });
        let nonce = tri!(unsafe { bytes_arg(nonce, nonce_len) });
        if out_ptr.is_null() || out_len.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        let mode = match ui_mode {
            0 => UiMode::NotSpecified,
            1 => UiMode::Background,
            2 => UiMode::Informative,
            3 => UiMode::UserInteraction,
            _ => return dm_result::DM_ERR_INVALID,
        };
        let bytes = Notification::new(id, session_id, mode).build(&Credentials::new(id, password), nonce);
        tri!(unsafe { give_buffer(bytes, false, out_ptr, out_len) });
        dm_result::DM_OK
    })
}

/// The notification a WAP push holds (a WSP Push PDU, as a device's SMS or push stack hands it
/// over, without the SMS user data header): *notification points into `pdu`, nothing to free.
/// Anything else gives DM_ERR_DECODE (dm_last_error(NULL) says why).
#[unsafe(no_mangle)]
pub extern "C" fn dm_notification_from_wap_push(
    pdu: *const u8,
    len: usize,
    notification: *mut *const u8,
    notification_len: *mut usize,
) -> dm_result {
    guard(|| {
        let bytes = tri!(unsafe { bytes_arg(pdu, len) });
        if notification.is_null() || notification_len.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        match dm_core::wap_push::unwrap(bytes) {
            Ok(body) => {
                tri!(unsafe { out(notification, body.as_ptr()) });
                tri!(unsafe { out(notification_len, body.len()) });
                dm_result::DM_OK
            }
            Err(e) => {
                set_thread_error(&e.to_string());
                dm_result::DM_ERR_DECODE
            }
        }
    })
}
