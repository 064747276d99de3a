//! Postfix's XCLIENT and XFORWARD commands (XCLIENT_README,
//! XFORWARD_README): `XCLIENT NAME=client.example ADDR=192.0.2.20` makes
//! the server see another client (it answers with a new 220 greeting);
//! `XFORWARD ...` tells it, for logging, who the original client was (250,
//! nothing restarts). Values are xtext (RFC 3461 §4); the attribute names a
//! server accepts are those it announces (`250-XCLIENT NAME ADDR PORT ...`).

use super::command::{Command, CommandError, Verb};
use super::extensions::Extensions;
use super::params::xtext_encode;
use std::fmt::Write as _;

/// Which of the two commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// `XCLIENT`.
    Xclient,
    /// `XFORWARD`.
    Xforward,
}

impl Forward {
    /// The verb, which is also the EHLO keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Forward::Xclient => "XCLIENT",
            Forward::Xforward => "XFORWARD",
        }
    }
    /// The verb as a [`Verb`].
    pub fn verb(self) -> Verb {
        match self {
            Forward::Xclient => Verb::Xclient,
            Forward::Xforward => Verb::Xforward,
        }
    }
    /// The attribute names Postfix documents for it.
    pub fn documented(self) -> &'static [&'static str] {
        match self {
            Forward::Xclient => &[
                "NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "DESTADDR", "DESTPORT",
            ],
            Forward::Xforward => &["NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE"],
        }
    }
    /// The attribute names the server announced for it (upper case, in
    /// its order); `None` when it did not announce the command at all.
    pub fn announced(self, ext: &Extensions) -> Option<Vec<String>> {
        ext.keyword(self.keyword())
            .map(|e| e.params.iter().map(|p| p.to_ascii_uppercase()).collect())
    }
}

/// Whether `name` may be an attribute name: letters, digits and `-`.
fn is_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `XCLIENT NAME=xtext ...` (or XFORWARD) for `attributes` as typed
/// (values are encoded here). Refuses an empty list, a bad name, a value
/// that is empty or holds a control character (CR, LF, NUL... are never
/// sent, even encoded), and a line over 512 octets (send the attributes
/// in several commands then, as the README says).
pub fn command(kind: Forward, attributes: &[(String, String)]) -> Result<Command, CommandError> {
    if attributes.is_empty() {
        return Err(CommandError::Empty {
            what: "the attribute list (NAME=VALUE...)",
        });
    }
    let mut line = kind.keyword().to_string();
    for (name, value) in attributes {
        if !is_name(name) {
            return Err(CommandError::BadParameter(format!("{name}={value}")));
        }
        if value.chars().any(char::is_control) {
            return Err(CommandError::ControlCharacter {
                what: "an attribute value",
            });
        }
        if value.is_empty() {
            return Err(CommandError::Empty {
                what: "an attribute value ([UNAVAILABLE] says it is unknown)",
            });
        }
        let _ = write!(
            line,
            " {}={}",
            name.to_ascii_uppercase(),
            xtext_encode(value)
        );
    }
    Command::raw(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn xtext_encodes_what_it_must() {
        assert_eq!(xtext_encode("client.example"), "client.example");
        assert_eq!(xtext_encode("[UNAVAILABLE]"), "[UNAVAILABLE]");
        assert_eq!(xtext_encode("a b+c=d"), "a+20b+2Bc+3Dd");
        assert_eq!(xtext_encode("é"), "+C3+A9");
        assert_eq!(xtext_encode("IPV6:2001:db8::1"), "IPV6:2001:db8::1");
    }

    #[test]
    fn commands_are_built_and_checked() {
        let c = command(
            Forward::Xclient,
            &attrs(&[("addr", "192.0.2.20"), ("NAME", "client.example")]),
        )
        .unwrap();
        assert_eq!(c.to_string(), "XCLIENT ADDR=192.0.2.20 NAME=client.example");
        assert_eq!(c.verb(), Verb::Xclient);
        let c = command(Forward::Xforward, &attrs(&[("HELO", "a b")])).unwrap();
        assert_eq!(c.to_string(), "XFORWARD HELO=a+20b");
        assert_eq!(c.verb(), Verb::Xforward);
        assert!(matches!(
            command(Forward::Xclient, &attrs(&[("NAME", "a\r\nRSET")])),
            Err(CommandError::ControlCharacter { .. })
        ));
        assert!(matches!(
            command(Forward::Xclient, &attrs(&[("NA ME", "x")])),
            Err(CommandError::BadParameter(_))
        ));
        assert!(matches!(
            command(Forward::Xclient, &attrs(&[("NAME", "")])),
            Err(CommandError::Empty { .. })
        ));
        assert!(command(Forward::Xclient, &[]).is_err());
        let long = "x".repeat(600);
        assert!(matches!(
            command(Forward::Xclient, &attrs(&[("HELO", &long)])),
            Err(CommandError::TooLong { .. })
        ));
    }

    #[test]
    fn announced_attributes() {
        let e = Extensions::from_lines(&["mx", "XCLIENT NAME ADDR PORT", "PIPELINING"]);
        assert_eq!(
            Forward::Xclient.announced(&e),
            Some(vec!["NAME".into(), "ADDR".into(), "PORT".into()])
        );
        assert_eq!(Forward::Xforward.announced(&e), None);
    }
}
