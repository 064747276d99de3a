//! The envelope of an existing message read from its own headers
//! (`send --message PATH --envelope-from-headers`): the sender from From
//! (or Sender, when From names several mailboxes, as RFC 5322 §3.6.2
//! then requires), the recipients from To, Cc and Bcc.
//!
//! Only the header block is parsed (by `mail-parser`, from bytes the
//! caller bounds), and every address is checked by [`crate::address`] as
//! if it had been typed.

use super::Draft;
use super::message::MimeError;
use crate::address::{Address, Mailbox, ReversePath};
use mail_parser::{Addr, HeaderName, HeaderValue, MessageParser};

/// Sender and recipients from a message's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderEnvelope {
    /// The envelope sender.
    pub from: ReversePath,
    /// Whether it came from the Sender header (From names several).
    pub from_sender_header: bool,
    /// To recipients.
    pub to: Vec<Mailbox>,
    /// Cc recipients.
    pub cc: Vec<Mailbox>,
    /// Bcc recipients (from a Bcc header the file has).
    pub bcc: Vec<Mailbox>,
}

impl HeaderEnvelope {
    /// Reads the envelope from `header` (the raw start of a message that
    /// holds its whole header block). Errors name the header and what is
    /// wrong with it.
    pub fn parse(header: &[u8]) -> Result<HeaderEnvelope, MimeError> {
        let fail = |why: String| MimeError::HeaderEnvelope(why);
        let Some(msg) = MessageParser::new().parse_headers(header) else {
            return Err(fail("the file has no header block".to_string()));
        };
        let list = |name: HeaderName<'static>, label: &str| -> Result<Vec<Mailbox>, MimeError> {
            let mut out = Vec::new();
            for value in msg.header_values(name) {
                let addrs: Vec<&Addr<'_>> = match value {
                    HeaderValue::Address(a) => a.iter().collect(),
                    HeaderValue::Empty => Vec::new(),
                    _ => {
                        return Err(fail(format!(
                            "the {label} header holds no address smtpsh can read"
                        )));
                    }
                };
                for a in addrs {
                    out.push(mailbox(a, label)?);
                }
            }
            Ok(out)
        };
        let from = list(HeaderName::From, "From")?;
        let (sender, from_sender_header) = match from.as_slice() {
            [] => {
                return Err(fail(
                    "the file has no From header (or no address in it) to take the sender from"
                        .to_string(),
                ));
            }
            [one] => (one.clone(), false),
            several => match list(HeaderName::Sender, "Sender")?.as_slice() {
                [one] => (one.clone(), true),
                _ => {
                    return Err(fail(format!(
                        "the From header names {} mailboxes and there is no Sender header to \
                         say which one sends",
                        several.len()
                    )));
                }
            },
        };
        let env = HeaderEnvelope {
            from: ReversePath::Mailbox(sender),
            from_sender_header,
            to: list(HeaderName::To, "To")?,
            cc: list(HeaderName::Cc, "Cc")?,
            bcc: list(HeaderName::Bcc, "Bcc")?,
        };
        if env.recipients().is_empty() {
            return Err(fail(
                "the file has no recipient in To, Cc or Bcc".to_string(),
            ));
        }
        Ok(env)
    }

    /// Envelope recipients: To, then Cc, then Bcc, each address once (as
    /// [`Draft::recipients`] counts them).
    pub fn recipients(&self) -> Vec<Address> {
        Draft {
            to: self.to.clone(),
            cc: self.cc.clone(),
            bcc: self.bcc.clone(),
            ..Draft::default()
        }
        .recipients()
    }
}

/// One address of a header, checked as if typed.
fn mailbox(a: &Addr<'_>, header: &str) -> Result<Mailbox, MimeError> {
    let Some(addr) = a
        .address
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        let name = a.name.as_deref().unwrap_or_default();
        return Err(MimeError::HeaderEnvelope(format!(
            "the {header} header has an entry without an address ({})",
            crate::text::excerpt(name.as_bytes(), 80)
        )));
    };
    let address = Address::parse(addr).map_err(|e| {
        MimeError::HeaderEnvelope(format!(
            "the {header} header's address {} is not usable: {e}",
            crate::text::excerpt(addr.as_bytes(), 200)
        ))
    })?;
    Ok(Mailbox {
        name: a
            .name
            .as_deref()
            .map(|n| n.chars().filter(|c| !c.is_control()).collect()),
        address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(header: &str) -> Result<HeaderEnvelope, String> {
        HeaderEnvelope::parse(header.as_bytes()).map_err(|e| e.to_string())
    }

    fn addrs(list: &[Mailbox]) -> Vec<&str> {
        list.iter().map(|m| m.address.as_str()).collect()
    }

    #[test]
    fn sender_and_recipients_come_from_the_headers() {
        let e = env(
            "From: \"Ann, Example\" <ann@example.org>\nTo: bob@example.org, Carol <carol@example.net>\n\
             Cc: team: dan@example.org, eve@example.org;\nBcc: BOB@EXAMPLE.ORG, hidden@example.com\n\
             Subject: x\n\nTo: not@header.example\n",
        )
        .expect("envelope");
        assert_eq!(e.from.to_string(), "Ann, Example <ann@example.org>");
        assert!(!e.from_sender_header);
        assert_eq!(addrs(&e.to), ["bob@example.org", "carol@example.net"]);
        assert_eq!(addrs(&e.cc), ["dan@example.org", "eve@example.org"]);
        let all: Vec<String> = e.recipients().iter().map(ToString::to_string).collect();
        assert_eq!(
            all,
            [
                "bob@example.org",
                "carol@example.net",
                "dan@example.org",
                "eve@example.org",
                "BOB@EXAMPLE.ORG",
                "hidden@example.com"
            ]
        );
    }

    #[test]
    fn several_from_mailboxes_need_a_sender_header() {
        let two = "From: a@example.org, b@example.org\nTo: c@example.org\n\n";
        assert!(env(two).unwrap_err().contains("names 2 mailboxes"));
        let e = env(&format!("Sender: b@example.org\n{two}")).expect("envelope");
        assert_eq!(e.from.to_string(), "b@example.org");
        assert!(e.from_sender_header);
    }

    #[test]
    fn what_cannot_be_an_envelope_is_said() {
        assert!(
            env("To: b@example.org\n\n")
                .unwrap_err()
                .contains("no From header")
        );
        assert!(
            env("From: a@example.org\nSubject: x\n\n")
                .unwrap_err()
                .contains("no recipient")
        );
        let e = env("From: a@example.org\nTo: undisclosed-recipients:;\n\n").unwrap_err();
        assert!(e.contains("no recipient"), "{e}");
        let e = env("From: a@example.org\nTo: Bob Example\n\n").unwrap_err();
        assert!(e.contains("To header"), "{e}");
        let e = env("From: a@example.org\nTo: <bad address@x>\n\n").unwrap_err();
        assert!(e.contains("To header"), "{e}");
        // Untrusted bytes never panic.
        for bytes in [&b""[..], b"\xff\xfe:\n\n", b"From:\x00\nTo:\r\r\n", b":\n"] {
            let _ = HeaderEnvelope::parse(bytes);
        }
    }
}
