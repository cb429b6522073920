//! The one place `unsafe` pointer handling and panic catching live.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::result::dm_result;

thread_local! {
    /// The last error of a call that had no session to keep it (codec helpers, constructors).
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

pub(crate) fn set_thread_error(msg: &str) {
    LAST_ERROR.with(|e| *e.borrow_mut() = CString::new(msg.replace('\0', " ")).ok());
}

pub(crate) fn thread_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |s| s.as_ptr()))
}

/// Runs an exported body; a panic becomes `DM_ERR_PANIC`.
pub(crate) fn guard(f: impl FnOnce() -> dm_result) -> dm_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            set_thread_error("internal error: a panic was caught at the C boundary");
            dm_result::DM_ERR_PANIC
        }
    }
}

/// A C string argument as `&str`; `Err` for NULL or invalid UTF-8.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char) -> Result<&'a str, dm_result> {
    if p.is_null() {
        return Err(dm_result::DM_ERR_NULL);
    }
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| dm_result::DM_ERR_INVALID)
}

/// An optional C string argument: NULL is `None`.
pub(crate) unsafe fn opt_str<'a>(p: *const c_char) -> Result<Option<&'a str>, dm_result> {
    if p.is_null() { Ok(None) } else { unsafe { str_arg(p) }.map(Some) }
}

/// A byte buffer argument; NULL with length 0 is the empty slice.
pub(crate) unsafe fn bytes_arg<'a>(p: *const u8, len: usize) -> Result<&'a [u8], dm_result> {
    match (p.is_null(), len) {
        (true, 0) => Ok(&[]),
        (true, _) => Err(dm_result::DM_ERR_NULL),
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(p, len) }),
    }
}

/// A caller's buffer to write into; NULL with size 0 is the empty slice.
pub(crate) unsafe fn bytes_out<'a>(p: *mut u8, size: usize) -> Result<&'a mut [u8], dm_result> {
    match (p.is_null(), size) {
        (true, 0) => Ok(&mut []),
        (true, _) => Err(dm_result::DM_ERR_NULL),
        (false, _) => Ok(unsafe { std::slice::from_raw_parts_mut(p, size) }),
    }
}

/// Writes through an out-pointer, checked for NULL.
pub(crate) unsafe fn out<T>(p: *mut T, v: T) -> Result<(), dm_result> {
    if p.is_null() {
        return Err(dm_result::DM_ERR_NULL);
    }
    unsafe { p.write(v) };
    Ok(())
}

/// Moves `v` to C through `data` and `len`; `dm_buffer_free(*data, *len)` gives it back. With
/// `nul`, a NUL follows the bytes (not counted in `*len`: free `*len + 1`).
pub(crate) unsafe fn give_buffer(
    mut v: Vec<u8>,
    nul: bool,
    data: *mut *mut u8,
    len: *mut usize,
) -> Result<(), dm_result> {
    if data.is_null() || len.is_null() {
        return Err(dm_result::DM_ERR_NULL);
    }
    let n = v.len();
    if nul {
        v.push(0);
    }
    unsafe {
        data.write(Box::into_raw(v.into_boxed_slice()).cast());
        len.write(n);
    }
    Ok(())
}

/// `s` into `dst`, NUL-terminated, cut to fit.
pub(crate) fn copy_str(dst: &mut [c_char], s: &str) {
    let Some(room) = dst.len().checked_sub(1) else { return };
    let n = s.len().min(room);
    for (d, b) in dst.iter_mut().zip(&s.as_bytes()[..n]) {
        *d = *b as c_char;
    }
    dst[n] = 0;
}

/// A failure of a call that has no session: kept for `dm_last_error(NULL)`, as its result code.
pub(crate) fn thread_failure(e: &dm_core::Error) -> dm_result {
    set_thread_error(&e.to_string());
    e.into()
}

/// `?` for `Result<_, dm_result>` inside exported bodies.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return code,
        }
    };
}
pub(crate) use tri;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_dm_err_panic_with_its_message() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = guard(|| panic!("a bug"));
        std::panic::set_hook(hook);
        assert_eq!(r, dm_result::DM_ERR_PANIC);
        let text = unsafe { CStr::from_ptr(thread_error()) }.to_str().unwrap();
        assert_eq!(text, "internal error: a panic was caught at the C boundary");
        assert_eq!(guard(|| dm_result::DM_OK), dm_result::DM_OK);
    }
}
