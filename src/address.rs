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
        match self {
            AddressError::Empty => f.write_str("the address is empty"),
            AddressError::ControlCharacter => {
                f.write_str("the address contains a control character (CR, LF, NUL, ...)")
            }
            AddressError::MissingAt => f.write_str(
                "the address has no '@' (expected local-part@domain, e.g. alice@example.com)",
            ),
            AddressError::BadLocalPart(why) => write!(f, "bad local part (before '@'): {why}"),
            AddressError::BadDomain(why) => write!(f, "bad domain (after '@'): {why}"),
            AddressError::TooLong => {
                f.write_str("the address is longer than 254 octets (RFC 5321 limit)")
            }
            AddressError::BadSyntax(why) => write!(f, "bad address syntax: {why}"),
            AddressError::NullNotAllowed => {
                f.write_str("the null address <> is only allowed as the sender (from <>)")
            }
        }
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
        let s = input.trim();
        if s.chars().any(char::is_control) {
            return Err(AddressError::ControlCharacter);
        }
        let s = match (s.strip_prefix('<'), s.ends_with('>')) {
            (Some(rest), true) => &rest[..rest.len() - 1],
            (None, false) => s,
            _ => return Err(AddressError::BadSyntax("unbalanced '<' or '>'".into())),
        };
        if s.is_empty() {
            return Err(if input.contains('<') {
                AddressError::NullNotAllowed
            } else {
                AddressError::Empty
            });
        }
        let at = s.rfind('@').ok_or(AddressError::MissingAt)?;
        let (local, domain) = (&s[..at], &s[at + 1..]);
        check_local(local)?;
        check_domain(domain)?;
        if s.len() > 254 {
            return Err(AddressError::TooLong);
        }
        Ok(Address {
            addr: s.to_string(),
        })
    }
    /// The addr-spec, e.g. `alice@example.com`.
    pub fn as_str(&self) -> &str {
        &self.addr
    }
    /// The part after the last `@`.
    pub fn domain(&self) -> &str {
        self.addr.rsplit_once('@').map_or("", |(_, d)| d)
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
        let s = input.trim();
        if s.chars().any(char::is_control) {
            return Err(AddressError::ControlCharacter);
        }
        let Some(open) = s.rfind('<').filter(|&i| i > 0) else {
            return Ok(Mailbox {
                name: None,
                address: Address::parse(s)?,
            });
        };
        if !s[open..].contains('>') {
            return Err(AddressError::BadSyntax(
                "the '<' has no closing '>' (write Name <address>)".into(),
            ));
        }
        if !s.ends_with('>') {
            return Err(AddressError::BadSyntax("text after the closing '>'".into()));
        }
        let address = Address::parse(&s[open..])?;
        let raw_name = s[..open].trim();
        let name = match raw_name.strip_prefix('"') {
            Some(rest) => {
                let inner = rest.strip_suffix('"').ok_or_else(|| {
                    AddressError::BadSyntax("unterminated quoted display name".into())
                })?;
                let mut out = String::new();
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    out.push(if c == '\\' {
                        chars.next().unwrap_or('\\')
                    } else {
                        c
                    });
                }
                out
            }
            None => raw_name.to_string(),
        };
        Ok(Mailbox {
            name: (!name.is_empty()).then_some(name),
            address,
        })
    }
}

impl fmt::Display for Mailbox {
    /// Human form: `Name <addr>` or `addr` (not header-encoded).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.address),
            None => write!(f, "{}", self.address),
        }
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
        if input.trim() == "<>" {
            return Ok(ReversePath::Null);
        }
        Mailbox::parse(input).map(ReversePath::Mailbox)
    }
    /// The envelope address, `None` for the null sender.
    pub fn address(&self) -> Option<&Address> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(&m.address),
        }
    }
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => m.fmt(f),
        }
    }
}

/// RFC 5322 `atext`: the characters of an unquoted local part (besides
/// dots), plus any non-ASCII character (RFC 6531).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

fn check_local(local: &str) -> Result<(), AddressError> {
    let bad = |why: &str| Err(AddressError::BadLocalPart(why.to_string()));
    if local.is_empty() {
        return bad("it is empty");
    }
    if local.len() > 64 {
        return bad("it is longer than 64 octets");
    }
    if let Some(inner) = local.strip_prefix('"') {
        let Some(inner) = inner.strip_suffix('"') else {
            return bad("unterminated quoted string");
        };
        let mut escaped = false;
        for c in inner.chars() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => return bad("unescaped '\"' inside quotes"),
                _ => {}
            }
        }
        return if escaped {
            bad("ends with a lone backslash")
        } else {
            Ok(())
        };
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return bad("a dot at the start or end, or two dots in a row (quote it: \"a..b\"@x)");
    }
    match local.chars().find(|&c| c != '.' && !is_atext(c)) {
        Some(c) => Err(AddressError::BadLocalPart(format!(
            "the character {c:?} needs quoting (e.g. \"john doe\"@example.com)"
        ))),
        None => Ok(()),
    }
}

fn check_domain(domain: &str) -> Result<(), AddressError> {
    let bad = |why: String| Err(AddressError::BadDomain(why));
    if domain.is_empty() {
        return bad("it is empty".into());
    }
    if domain.len() > 255 {
        return bad("it is longer than 255 octets".into());
    }
    if let Some(lit) = domain.strip_prefix('[') {
        let Some(lit) = lit.strip_suffix(']') else {
            return bad("unterminated address literal '['".into());
        };
        let ok = match lit.get(..5) {
            Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => {
                lit[5..].parse::<std::net::Ipv6Addr>().is_ok()
            }
            _ => lit.parse::<std::net::Ipv4Addr>().is_ok(),
        };
        return if ok {
            Ok(())
        } else {
            bad(format!("[{lit}] is not an IPv4 or IPv6: address literal"))
        };
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return bad("empty label (a dot at the start or end, or two dots in a row)".into());
        }
        if label.len() > 63 {
            return bad(format!("the label '{label}' is longer than 63 octets"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad(format!("the label '{label}' starts or ends with '-'"));
        }
        if let Some(c) = label
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii()))
        {
            return bad(format!("the character {c:?} is not allowed in a domain"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_bracketed_addresses() {
        assert_eq!(
            Address::parse("a@example.com").unwrap().as_str(),
            "a@example.com"
        );
        assert_eq!(
            Address::parse(" <a@example.com> ").unwrap().as_str(),
            "a@example.com"
        );
        assert_eq!(
            Address::parse("a@example.com").unwrap().domain(),
            "example.com"
        );
        assert!(Address::parse("\"john doe\"@example.com").is_ok());
        assert!(Address::parse("x@[127.0.0.1]").is_ok());
        assert!(Address::parse("x@[IPv6:::1]").is_ok());
        assert!(Address::parse("zoë@exämple.de").unwrap().needs_smtputf8());
    }

    #[test]
    fn malformed_addresses_say_why() {
        for (input, want) in [
            ("", AddressError::Empty),
            ("nobody", AddressError::MissingAt),
            ("<>", AddressError::NullNotAllowed),
            ("a@b\r\nRCPT TO:<x@y>", AddressError::ControlCharacter),
            ("a\0@b", AddressError::ControlCharacter),
        ] {
            assert_eq!(Address::parse(input), Err(want), "{input:?}");
        }
        for input in [
            "@example.com",
            "a..b@x.org",
            ".a@x.org",
            "john doe@x.org",
            "a@",
            "a@-x.org",
            "a@x..org",
            "a@x_y.org",
            "<a@x.org",
            "a@[1.2.3]",
        ] {
            let err = Address::parse(input).unwrap_err();
            assert!(!err.to_string().is_empty(), "{input:?}");
            assert!(
                !matches!(err, AddressError::Empty | AddressError::MissingAt),
                "{input:?} gave {err:?}"
            );
        }
        let long_local = format!("{}@x.org", "a".repeat(65));
        assert!(matches!(
            Address::parse(&long_local),
            Err(AddressError::BadLocalPart(_))
        ));
        let long = format!("a@{}.org", vec!["b".repeat(60); 5].join("."));
        assert!(Address::parse(&long).is_err());
    }

    #[test]
    fn mailboxes_with_display_names() {
        let m = Mailbox::parse("Ann Example <ann@example.com>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Ann Example"));
        assert_eq!(m.address.as_str(), "ann@example.com");
        let m = Mailbox::parse("\"Zoë, \\\"Q\\\"\" <zoe@example.com>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Zoë, \"Q\""));
        let m = Mailbox::parse("<bob@example.com>").unwrap();
        assert_eq!(m.name, None);
        assert_eq!(m.to_string(), "bob@example.com");
        assert!(Mailbox::parse("Ann <ann@example.com> trailing").is_err());
        let missing = Mailbox::parse("Bob <bob@example.com")
            .unwrap_err()
            .to_string();
        assert!(missing.contains("no closing '>'"), "{missing}");
        assert!(Mailbox::parse("Ann\r\nBcc: x <ann@example.com>").is_err());
    }

    #[test]
    fn reverse_path_allows_null() {
        assert_eq!(ReversePath::parse("<>").unwrap(), ReversePath::Null);
        assert_eq!(ReversePath::parse("<>").unwrap().address(), None);
        let p = ReversePath::parse("a@x.org").unwrap();
        assert_eq!(p.address().map(Address::as_str), Some("a@x.org"));
    }
}
