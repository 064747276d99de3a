//! Transcript events: what a [`Connection`](super::Connection) reports
//! as it sends and receives.

use crate::smtp::reply::Reply;

/// Something that shows the transcript (the shell's output; a recorder in tests).
pub trait Observer {
    /// Called for every line sent, reply received and note.
    fn event(&mut self, event: Event<'_>);
}

/// A transcript event.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A command line was sent (transcript form, secrets masked).
    Sent {
        /// The line, without CRLF.
        line: &'a str,
        /// Whether it travelled inside TLS.
        secure: bool,
    },
    /// A whole reply arrived.
    Received {
        /// The reply.
        reply: &'a Reply,
        /// Whether it travelled inside TLS.
        secure: bool,
        /// LMTP: the recipient this reply after the message is for (one
        /// reply per recipient, RFC 2033 §4.2); `None` otherwise.
        recipient: Option<&'a str>,
    },
    /// The message content was sent (after DATA's 354, or as the chunk of
    /// a `BDAT n LAST`).
    DataSent {
        /// Bytes on the wire: for DATA the dot-stuffed content and the
        /// terminator; for BDAT the chunk (the command line not counted).
        bytes: u64,
        /// Whether it travelled inside TLS.
        secure: bool,
        /// Whether it was a BDAT chunk (RFC 3030) rather than DATA content.
        bdat: bool,
    },
    /// Something the layer noticed, e.g. "the server ended a line with a bare LF".
    Notice(&'a str),
    /// A reply is slow to come: said once per reply, after
    /// [`super::WAITING_NOTICE`] without one.
    Waiting {
        /// What is awaited, e.g. "the greeting".
        what: &'a str,
    },
}
