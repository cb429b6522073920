//! Codec helpers for captured traffic.

use std::ffi::c_char;

use dm_core::codec::{self, DecodeOptions, Encoding};

use crate::boundary::{bytes_arg, give_buffer, guard, thread_failure, tri};
use crate::result::dm_result;

/// Hands C the bytes `how` makes of the input.
fn convert(
    input: *const u8,
    len: usize,
    out_ptr: *mut *mut u8,
    out_len: *mut usize,
    how: impl FnOnce(&[u8]) -> Result<Vec<u8>, dm_core::Error>,
) -> dm_result {
    guard(|| {
        let bytes = tri!(unsafe { bytes_arg(input, len) });
        if out_ptr.is_null() || out_len.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        match how(bytes) {
            Ok(out) => {
                tri!(unsafe { give_buffer(out, false, out_ptr, out_len) });
                dm_result::DM_OK
            }
            Err(e) => thread_failure(&e),
        }
    })
}

/// The message decoded leniently and encoded again.
fn reencoded(bytes: &[u8], to: Encoding) -> Result<Vec<u8>, dm_core::Error> {
    codec::decode_with(bytes, &DecodeOptions::lenient()).map(|m| codec::encode(&m, to))
}

/// Converts a message (XML or WBXML, decoded leniently) to WBXML. The output belongs to the
/// caller: release it with dm_buffer_free(*out, *out_len). On error dm_last_error(NULL) says why.
#[unsafe(no_mangle)]
pub extern "C" fn dm_xml_to_wbxml(input: *const u8, len: usize, out: *mut *mut u8, out_len: *mut usize) -> dm_result {
    convert(input, len, out, out_len, |bytes| reencoded(bytes, Encoding::Wbxml))
}

/// Converts a message to compact XML (not NUL-terminated): WBXML element by element as sent,
/// its WBXML checked but not its SyncML structure (dm_decode_to_xml checks that); XML is
/// decoded leniently and written again. Release the output with dm_buffer_free.
#[unsafe(no_mangle)]
pub extern "C" fn dm_wbxml_to_xml(input: *const u8, len: usize, out: *mut *mut u8, out_len: *mut usize) -> dm_result {
    convert(input, len, out, out_len, |bytes| match codec::detect(bytes) {
        Some(Encoding::Wbxml) => codec::wbxml_to_xml(bytes).map(String::into_bytes),
        _ => reencoded(bytes, Encoding::Xml),
    })
}

/// Decodes a message strictly and returns it as indented XML, NUL-terminated (out_len does not
/// count the NUL). Release with dm_buffer_free(*out, *out_len + 1).
#[unsafe(no_mangle)]
pub extern "C" fn dm_decode_to_xml(
    input: *const u8,
    len: usize,
    out_ptr: *mut *mut c_char,
    out_len: *mut usize,
) -> dm_result {
    guard(|| {
        let bytes = tri!(unsafe { bytes_arg(input, len) });
        if out_ptr.is_null() || out_len.is_null() {
            return dm_result::DM_ERR_NULL;
        }
        match codec::decode(bytes) {
            Ok(m) => {
                tri!(unsafe { give_buffer(codec::to_pretty_xml(&m).into_bytes(), true, out_ptr.cast(), out_len) });
                dm_result::DM_OK
            }
            Err(e) => thread_failure(&e),
        }
    })
}

/// Releases a buffer this library handed out. NULL does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn dm_buffer_free(buffer: *mut u8, len: usize) {
    let _ = guard(|| {
        if !buffer.is_null() {
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(buffer, len)) });
        }
        dm_result::DM_OK
    });
}
