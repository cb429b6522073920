#![doc = include_str!("../../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod bootstrap;
pub mod check;
pub mod codec;
pub mod error;
mod limits;
pub mod model;
pub mod notification;
pub mod session;
mod sha1;
pub mod tree;
pub mod wap_push;

pub use codec::{DecodeOptions, Encoding};
pub use error::Error;
pub use limits::Limits;
pub use model::Message;
