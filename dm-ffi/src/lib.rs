//! The C ABI of omadm. Every exported function is an `extern "C" fn` written out (so cbindgen
//! sees it) whose body runs inside `boundary::guard`: a panic becomes `DM_ERR_PANIC`, never an
//! abort. Pointers are checked for NULL; lengths are trusted only as far as C allows.
// The C caller's pointers are its contract, documented on each function, as in rustls-ffi.
#![allow(non_camel_case_types, clippy::missing_safety_doc, clippy::not_unsafe_ptr_arg_deref)]
#![warn(missing_docs)]

mod bootstrap;
mod boundary;
mod codec;
mod limits;
mod notification;
mod result;
mod session;
mod tree;

pub use bootstrap::*;
pub use codec::*;
pub use notification::*;
pub use result::*;
pub use session::*;
pub use tree::*;

/// The library version, e.g. "0.1.0". Static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn dm_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
