//! The message draft and its RFC 5322 / MIME (RFC 2045-2049, 2047, 2183,
//! 2231) serialisation, written as a stream.
//!
//! - [`draft`]: what the user is composing (addresses, subject, body,
//!   headers, attachments), validated as it is entered.
//! - [`encode`]: the encoders (base64 lines, quoted-printable, RFC 2047
//!   encoded-words, RFC 2231 parameters, header folding).
//! - [`html`]: a plain-text version of an HTML body; its `cid:` references.
//! - [`tree`]: the MIME structure (multipart/mixed, alternative, related).
//! - [`message`]: draft → a [`Message`] plan whose exact size is known
//!   before a byte is written, and which streams attachments from disk in
//!   chunks (memory stays flat whatever their size).
//! - [`file`]: an existing message file ([`MessageFile`]), sent as it is
//!   with its line endings made CRLF by [`normalize`], in constant memory;
//!   [`envelope`] reads its sender and recipients from its headers.
//!
//! Both are a [`Content`]: what the `send` transaction streams.

pub mod draft;
pub mod encode;
pub mod envelope;
pub mod file;
pub mod html;
pub mod message;
pub mod normalize;
#[cfg(test)]
pub(crate) mod test_support;
pub mod tree;

pub use draft::{Attachment, Draft, Params, Stamp, validate_header};
pub use envelope::HeaderEnvelope;
pub use file::MessageFile;
pub use message::{Content, ContentSink, Message, MimeError, PartSummary, compose};
pub use tree::PartTree;
