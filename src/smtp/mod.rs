//! The SMTP protocol, kept apart from the shell.
//!
//! - [`reply`]: incremental, bounded reply parsing (bytes in, replies out; no I/O).
//! - [`client`]: the conversation as a sans-IO state machine: commands and
//!   replies in, everything true of the conversation out.
//! - [`command`]: typed commands (verbs typed too) that refuse CR/LF/NUL; one `Display` for the
//!   transcript and one wire form.
//! - [`extensions`]: the capabilities announced in an EHLO reply.
//! - [`params`]: MAIL/RCPT parameters (DSN, REQUIRETLS, MT-PRIORITY, ...):
//!   syntax, xtext, and the extension each needs.
//! - [`codes`]: what reply codes and enhanced status codes mean (the IANA
//!   registry as data, with fallbacks by class and subject).
//! - [`verbs`]: what each SMTP verb does (`help smtp VERB`).
//! - [`dns`]: a tiny DNS stub resolver: MX lookup in RFC 5321 §5.1 order
//!   (fallback to A/AAAA, null MX), host addresses IPv6 first.
//! - [`dotstuff`]: DATA transparency (CRLF normalisation and dot-stuffing).
//! - [`conn`]: the thin I/O layer around the conversation: any stream, TLS,
//!   timeouts, interruption and transcript events.
//! - [`tls`]: rustls client configuration, the TLS stream, handshake errors
//!   explained in one line, certificate summaries.
//! - [`forward`]: Postfix's XCLIENT and XFORWARD: attributes, xtext.
//! - [`proxy`]: the HAProxy PROXY header (v1 text, v2 binary) as pure functions.
//! - [`sasl`]: AUTH mechanisms (PLAIN, LOGIN, CRAM-MD5, XOAUTH2) as pure
//!   functions, and a `Secret` that never prints.

pub mod client;
pub mod codes;
pub mod command;
pub mod conn;
pub mod dns;
pub mod dotstuff;
pub mod extensions;
pub mod forward;
pub mod params;
pub mod proxy;
pub mod reply;
pub mod sasl;
pub mod tls;
pub mod verbs;

pub use client::{Change, Closed, Conversation, DeliveryReply, Pending, Stage, Transaction};
pub use command::{Command, CommandError, Detail, Verb};
pub use conn::{ConnError, ConnectOptions, Connection, Endpoint, Event, Observer};
pub use dotstuff::DotStuffer;
pub use extensions::{Ext, Extension, Extensions};
pub use reply::{EnhancedCode, Reply, ReplyError, ReplyParser};
