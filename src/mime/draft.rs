//! The draft being composed.

use super::message::MimeError;
use crate::address::{Address, Mailbox, ReversePath};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// An attached file. The file is read only when the message is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Where the content is read from.
    pub path: PathBuf,
    /// The file name announced in Content-Disposition (no path).
    pub name: String,
    /// `type/subtype`, lower case (from `--type` or guessed from the name).
    pub content_type: String,
    /// Size in bytes when attached; the message is refused if it changes.
    pub size: u64,
}

impl Attachment {
    /// Checks that `path` is a readable regular file (not a directory, FIFO,
    /// device, ...), and builds the attachment. `content_type` overrides the
    /// type guessed from the name (checked as `type/subtype` token syntax);
    /// `name` overrides the announced file name (no control characters, no
    /// `/`). Errors say which path and why.
    pub fn new(path: &Path, content_type: Option<&str>, name: Option<&str>) -> Result<Attachment, MimeError> {
        todo!()
    }
}

/// Fixed per-message values: Date, Message-ID and the multipart boundary.
/// Kept with the draft from the first `show`/`save`/`send` until the draft
/// changes or is sent, so `save` writes the very bytes `send` transmits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// RFC 5322 date-time, e.g. `Thu, 26 Nov 2026 14:31:10 +0000`.
    pub date: String,
    /// `<unique@domain>`.
    pub message_id: String,
    /// A multipart boundary (1-70 bchars) made so it cannot occur in
    /// base64 or quoted-printable output (it contains `=_`).
    pub boundary: String,
}

impl Stamp {
    /// A fresh stamp: `now` as the date, a unique Message-ID on `domain`
    /// (the local host name), a random boundary.
    pub fn new(now: SystemTime, domain: &str) -> Stamp {
        todo!()
    }
}

/// The message being composed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// Envelope sender and (unless a `From` header was set) the From header.
    pub from: Option<ReversePath>,
    /// To recipients (envelope and header).
    pub to: Vec<Mailbox>,
    /// Cc recipients (envelope and header).
    pub cc: Vec<Mailbox>,
    /// Bcc recipients (envelope only; never in a header).
    pub bcc: Vec<Mailbox>,
    /// The subject (unencoded; may be non-ASCII).
    pub subject: Option<String>,
    /// The text body (any line endings; normalised to CRLF when written).
    pub body: String,
    /// Extra headers in order: (name, unencoded value). A header named
    /// From, To, Cc, Subject, Date or Message-ID replaces the generated one.
    pub headers: Vec<(String, String)>,
    /// Attachments in order.
    pub attachments: Vec<Attachment>,
    /// Date/Message-ID/boundary, once fixed.
    pub stamp: Option<Stamp>,
}

impl Draft {
    /// True when nothing has been entered.
    pub fn is_empty(&self) -> bool {
        self.from.is_none()
            && self.to.is_empty()
            && self.cc.is_empty()
            && self.bcc.is_empty()
            && self.subject.is_none()
            && self.body.is_empty()
            && self.headers.is_empty()
            && self.attachments.is_empty()
    }
    /// Envelope recipients: To, then Cc, then Bcc, each address once.
    pub fn recipients(&self) -> Vec<Address> {
        todo!()
    }
}

/// Checks a user header: the name is 1-76 printable ASCII characters
/// without `:` (RFC 5322 §2.2), the value has no CR, LF, NUL or other
/// control characters except TAB.
pub fn validate_header(name: &str, value: &str) -> Result<(), MimeError> {
    todo!()
}
