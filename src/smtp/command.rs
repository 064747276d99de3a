//! Typed SMTP commands. Every constructor validates its input: no CR, LF,
//! NUL or other control characters can reach the wire, and the command line
//! fits RFC 5321's 512-octet limit (§4.5.3.1.4). `Display` gives the
//! transcript form; [`Command::wire`] the exact bytes sent.

use crate::address::Address;
use std::fmt;

/// Longest command line including CRLF (RFC 5321 §4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;

/// Why a command could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// A control character (CR, LF, NUL, ...) in `what` (e.g. "the EHLO domain").
    ControlCharacter {
        /// What held it.
        what: &'static str,
    },
    /// `what` was empty but is required.
    Empty {
        /// What was empty.
        what: &'static str,
    },
    /// The command line would be over 512 octets with CRLF.
    TooLong {
        /// Its length with CRLF.
        len: usize,
    },
    /// A MAIL/RCPT parameter that is not `KEYWORD` or `KEYWORD=VALUE` (RFC 5321 §4.1.2 esmtp-param).
    BadParameter(String),
    /// An EHLO/HELO domain that is not a host name or address literal.
    BadDomain(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}

impl std::error::Error for CommandError {}

/// One SMTP command line, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The line without CRLF, exactly as it goes on the wire.
    line: String,
    /// The verb, upper-case (`EHLO`, `MAIL`, ...; for `raw`, the first word).
    verb: String,
}

impl Command {
    /// `EHLO domain` (host name or address literal such as `[127.0.0.1]`).
    pub fn ehlo(domain: &str) -> Result<Command, CommandError> {
        todo!()
    }
    /// `HELO domain`.
    pub fn helo(domain: &str) -> Result<Command, CommandError> {
        todo!()
    }
    /// `MAIL FROM:<addr>` (`<>` when `from` is `None`) followed by the ESMTP
    /// parameters, each `KEYWORD` or `KEYWORD=VALUE`.
    pub fn mail_from(from: Option<&Address>, params: &[String]) -> Result<Command, CommandError> {
        todo!()
    }
    /// `RCPT TO:<addr>` plus ESMTP parameters.
    pub fn rcpt_to(to: &Address, params: &[String]) -> Result<Command, CommandError> {
        todo!()
    }
    /// `DATA`.
    pub fn data() -> Command {
        todo!()
    }
    /// `RSET`.
    pub fn rset() -> Command {
        todo!()
    }
    /// `NOOP`.
    pub fn noop() -> Command {
        todo!()
    }
    /// `QUIT`.
    pub fn quit() -> Command {
        todo!()
    }
    /// `STARTTLS`.
    pub fn starttls() -> Command {
        todo!()
    }
    /// `VRFY arg`.
    pub fn vrfy(arg: &str) -> Result<Command, CommandError> {
        todo!()
    }
    /// `EXPN arg`.
    pub fn expn(arg: &str) -> Result<Command, CommandError> {
        todo!()
    }
    /// Any line, sent as typed (`raw`); refuses control characters other
    /// than TAB, and empty lines.
    pub fn raw(line: &str) -> Result<Command, CommandError> {
        todo!()
    }
    /// The verb in upper case, e.g. `MAIL`.
    pub fn verb(&self) -> &str {
        &self.verb
    }
    /// The exact bytes for the wire, CRLF included.
    pub fn wire(&self) -> Vec<u8> {
        todo!()
    }
}

impl fmt::Display for Command {
    /// The transcript form of the line (no CRLF).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}
