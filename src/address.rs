//! Mail addresses as the user types them: validated once, used by both the
//! SMTP envelope (`MAIL FROM:<..>`, `RCPT TO:<..>`) and the message headers.
//!
//! Accepted input forms (the shell has already removed shell quoting):
//! - `alice@example.com`
//! - `<alice@example.com>`
//! - `Alice Example <alice@example.com>` and `"Zoë, Q." <zoe@example.com>`
//! - `<>` (only where a reverse path is allowed: see [`ReversePath`])

use std::fmt;

/// Why an address was refused. `Display` is one sentence a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    /// The input was empty.
    Empty,
    /// A CR, LF, NUL or other control character was in the input.
    ControlCharacter,
    /// No `@` separating local part and domain.
    MissingAt,
    /// The local part is empty, too long (> 64 octets) or has bad syntax.
    BadLocalPart(String),
    /// The domain is empty, too long (> 255 octets) or has bad syntax.
    BadDomain(String),
    /// The whole path is over 256 octets.
    TooLong,
    /// Angle brackets unbalanced, text after `>`, and similar.
    BadSyntax(String),
    /// `<>` given where a real mailbox is required (e.g. a recipient).
    NullNotAllowed,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}

impl std::error::Error for AddressError {}

/// An RFC 5321 mailbox (`local-part@domain`), already validated:
/// no control characters, local part ≤ 64 octets (dot-atom or quoted string),
/// domain ≤ 255 octets (host name or address literal `[1.2.3.4]` / `[IPv6:..]`).
/// Non-ASCII (RFC 6531) is accepted; see [`Address::needs_smtputf8`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    addr: String,
}

impl Address {
    /// Parses a bare addr-spec, with or without surrounding `<>`.
    pub fn parse(input: &str) -> Result<Address, AddressError> {
        todo!()
    }
    /// The addr-spec, e.g. `alice@example.com`.
    pub fn as_str(&self) -> &str {
        &self.addr
    }
    /// The part after the last `@`.
    pub fn domain(&self) -> &str {
        todo!()
    }
    /// True when the address holds non-ASCII and so needs SMTPUTF8.
    pub fn needs_smtputf8(&self) -> bool {
        !self.addr.is_ascii()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.addr)
    }
}

/// A header mailbox: an optional display name plus an [`Address`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name as typed (unquoted, may be non-ASCII); `None` when absent.
    pub name: Option<String>,
    /// The address.
    pub address: Address,
}

impl Mailbox {
    /// Parses `addr`, `<addr>`, `Name <addr>` or `"Quoted Name" <addr>`.
    pub fn parse(input: &str) -> Result<Mailbox, AddressError> {
        todo!()
    }
}

impl fmt::Display for Mailbox {
    /// Human form: `Name <addr>` or `addr` (not header-encoded).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}

/// The `MAIL FROM` path: a mailbox or the null sender `<>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversePath {
    /// `<>`: the null reverse path (bounces).
    Null,
    /// A real sender mailbox.
    Mailbox(Mailbox),
}

impl ReversePath {
    /// Parses like [`Mailbox::parse`], plus `<>` for [`ReversePath::Null`].
    pub fn parse(input: &str) -> Result<ReversePath, AddressError> {
        todo!()
    }
    /// The envelope address, `None` for the null sender.
    pub fn address(&self) -> Option<&Address> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(&m.address),
        }
    }
}
