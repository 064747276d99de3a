//! The SMTP protocol, kept apart from the shell.
//!
//! - [`reply`]: incremental, bounded reply parsing (bytes in, replies out; no I/O).
//! - [`command`]: typed commands that refuse CR/LF/NUL; one `Display` for the
//!   transcript and one wire form.
//! - [`extensions`]: the capabilities announced in an EHLO reply.
//! - [`dotstuff`]: DATA transparency (CRLF normalisation and dot-stuffing).
//! - [`conn`]: a thin connection over any `Read + Write` stream with timeouts,
//!   interruption and transcript events.

pub mod command;
pub mod conn;
pub mod dotstuff;
pub mod extensions;
pub mod reply;

pub use command::{Command, CommandError};
pub use conn::{ConnError, ConnectOptions, Connection, Event, Observer};
pub use dotstuff::DotStuffer;
pub use extensions::{Extension, Extensions};
pub use reply::{EnhancedCode, Reply, ReplyError, ReplyParser};
