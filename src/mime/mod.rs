//! The message draft and its RFC 5322 / MIME (RFC 2045-2049, 2047, 2183,
//! 2231) serialisation, written as a stream.
//!
//! - [`draft`]: what the user is composing (addresses, subject, body,
//!   headers, attachments), validated as it is entered.
//! - [`encode`]: the encoders (base64 lines, quoted-printable, RFC 2047
//!   encoded-words, RFC 2231 parameters, header folding).
//! - [`message`]: draft → a [`Message`] plan whose exact size is known
//!   before a byte is written, and which streams attachments from disk in
//!   chunks (memory stays flat whatever their size).

pub mod draft;
pub mod encode;
pub mod message;

pub use draft::{Attachment, Draft, Stamp, validate_header};
pub use message::{ContentSink, Message, MimeError, PartSummary, compose};
