//! smtpsh: an interactive SMTP shell.
//!
//! Data flows one way: [`shell`] reads commands and keeps the session;
//! it composes messages with [`mime`] and talks to servers with [`smtp`].

pub mod address;
pub mod mime;
pub mod sandbox;
pub mod shell;
pub mod smtp;
