//! The service extensions a server announces in its EHLO reply
//! (RFC 5321 §4.1.1.1). Unknown keywords are kept; keywords compare
//! case-insensitively.

use super::reply::Reply;

/// The service extensions smtpsh acts on, named once so that a typo is a
/// compile error rather than a keyword that is silently never announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ext {
    /// `PIPELINING` (RFC 2920).
    Pipelining,
    /// `SIZE` (RFC 1870).
    Size,
    /// `8BITMIME` (RFC 6152).
    EightBitMime,
    /// `SMTPUTF8` (RFC 6531).
    SmtpUtf8,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH` (RFC 4954).
    Auth,
    /// `CHUNKING`: BDAT (RFC 3030).
    Chunking,
    /// `BINARYMIME` (RFC 3030).
    BinaryMime,
    /// `DSN` (RFC 3461).
    Dsn,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    EnhancedStatusCodes,
    /// `REQUIRETLS` (RFC 8689).
    RequireTls,
    /// `MT-PRIORITY` (RFC 6710).
    MtPriority,
}

impl Ext {
    /// Every extension smtpsh knows.
    pub const ALL: &'static [Ext] = &[
        Ext::Pipelining,
        Ext::Size,
        Ext::EightBitMime,
        Ext::SmtpUtf8,
        Ext::StartTls,
        Ext::Auth,
        Ext::Chunking,
        Ext::BinaryMime,
        Ext::Dsn,
        Ext::EnhancedStatusCodes,
        Ext::RequireTls,
        Ext::MtPriority,
    ];
    /// The EHLO keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Ext::Pipelining => "PIPELINING",
            Ext::Size => "SIZE",
            Ext::EightBitMime => "8BITMIME",
            Ext::SmtpUtf8 => "SMTPUTF8",
            Ext::StartTls => "STARTTLS",
            Ext::Auth => "AUTH",
            Ext::Chunking => "CHUNKING",
            Ext::BinaryMime => "BINARYMIME",
            Ext::Dsn => "DSN",
            Ext::EnhancedStatusCodes => "ENHANCEDSTATUSCODES",
            Ext::RequireTls => "REQUIRETLS",
            Ext::MtPriority => "MT-PRIORITY",
        }
    }
    /// The MAIL FROM parameter that uses this extension, as Tab offers it
    /// after `raw MAIL FROM:<...>` (none for extensions without one).
    pub fn mail_parameter(self) -> Option<&'static str> {
        match self {
            Ext::Size => Some("SIZE="),
            Ext::EightBitMime => Some("BODY=8BITMIME"),
            Ext::BinaryMime => Some("BODY=BINARYMIME"),
            Ext::SmtpUtf8 => Some("SMTPUTF8"),
            Ext::Dsn => Some("RET="),
            Ext::RequireTls => Some("REQUIRETLS"),
            Ext::MtPriority => Some("MT-PRIORITY="),
            _ => None,
        }
    }
}

/// One announced extension: its keyword (as sent) and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The keyword as the server wrote it, e.g. `SIZE`, `AUTH`, `8BITMIME`.
    pub keyword: String,
    /// Space-separated parameters after the keyword, e.g. `["PLAIN", "LOGIN"]`.
    pub params: Vec<String>,
}

/// Everything learned from one EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// The server's name from the first line of the EHLO reply.
    pub domain: String,
    /// The extensions in the order announced (empty lines skipped).
    pub list: Vec<Extension>,
}

impl Extensions {
    /// Reads a 250 EHLO reply: the first line is `domain [greeting]`, each
    /// further line one extension. A reply that is not 2yz announces
    /// nothing (empty result).
    pub fn from_ehlo(reply: &Reply) -> Extensions {
        if !reply.is_positive() {
            return Extensions::default();
        }
        let mut lines = reply.lines.iter();
        let domain = lines
            .next()
            .and_then(|first| first.split_whitespace().next())
            .unwrap_or_default()
            .to_string();
        let list = lines
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let keyword = words.next()?.to_string();
                Some(Extension {
                    keyword,
                    params: words.map(str::to_string).collect(),
                })
            })
            .collect();
        Extensions { domain, list }
    }
    /// Whether `ext` was announced.
    pub fn has(&self, ext: Ext) -> bool {
        self.get(ext).is_some()
    }
    /// The announcement of `ext` (the first one if a server announced it twice).
    pub fn get(&self, ext: Ext) -> Option<&Extension> {
        self.keyword(ext.keyword())
    }
    /// The extension announced under any `keyword`, known to smtpsh or
    /// not (case-insensitive; the first one if announced twice).
    pub fn keyword(&self, keyword: &str) -> Option<&Extension> {
        self.list
            .iter()
            .find(|e| e.keyword.eq_ignore_ascii_case(keyword))
    }
    /// The SIZE limit: `Some(0)` means announced without a limit; `None`
    /// when SIZE was not announced or its value is not a number.
    pub fn size_limit(&self) -> Option<u64> {
        let size = self.get(Ext::Size)?;
        match size.params.first() {
            None => Some(0),
            Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => n.parse().ok(),
            Some(_) => None,
        }
    }
    /// What an EHLO reply made of `lines` (the first the server's name)
    /// announces; for tests.
    #[cfg(test)]
    pub fn from_lines(lines: &[&str]) -> Extensions {
        let mut wire = String::new();
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            wire.push_str(&format!("250{sep}{line}\r\n"));
        }
        let mut p = super::reply::ReplyParser::new();
        match p.push(wire.as_bytes()).ok().and_then(|()| p.next_reply()) {
            Some(reply) => Extensions::from_ehlo(&reply),
            None => Extensions::default(),
        }
    }
    /// AUTH mechanisms, upper case, in announced order (also reads the old
    /// `AUTH=PLAIN LOGIN` form). Each mechanism appears once.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        let mut mechanisms: Vec<String> = Vec::new();
        for ext in &self.list {
            let (head, rest) = match ext.keyword.split_once('=') {
                Some((head, first)) => (head, Some(first)),
                None => (ext.keyword.as_str(), None),
            };
            if !head.eq_ignore_ascii_case("AUTH") {
                continue;
            }
            for mechanism in rest
                .into_iter()
                .chain(ext.params.iter().map(String::as_str))
            {
                let mechanism = mechanism.to_ascii_uppercase();
                if !mechanism.is_empty() && !mechanisms.contains(&mechanism) {
                    mechanisms.push(mechanism);
                }
            }
        }
        mechanisms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::ReplyParser;

    fn reply(wire: &str) -> Reply {
        let mut p = ReplyParser::new();
        p.push(wire.as_bytes()).expect("valid reply");
        p.next_reply().expect("complete reply")
    }

    fn ehlo(lines: &[&str]) -> Extensions {
        Extensions::from_lines(lines)
    }

    #[test]
    fn typical_reply() {
        let e = ehlo(&[
            "mail.example.com Hello client [192.0.2.1]",
            "PIPELINING",
            "SIZE 10240000",
            "8BITMIME",
            "AUTH PLAIN LOGIN CRAM-MD5",
            "STARTTLS",
            "X-UNKNOWN-THING a b c",
            "SMTPUTF8",
        ]);
        assert_eq!(e.domain, "mail.example.com");
        assert_eq!(e.list.len(), 7);
        assert!(
            e.has(Ext::Pipelining) && e.keyword("pipelining").is_some() && e.has(Ext::StartTls)
        );
        assert!(!e.has(Ext::Chunking));
        assert_eq!(e.size_limit(), Some(10_240_000));
        assert_eq!(e.auth_mechanisms(), vec!["PLAIN", "LOGIN", "CRAM-MD5"]);
        let x = e
            .keyword("x-unknown-thing")
            .expect("unknown keywords are kept");
        assert_eq!(x.keyword, "X-UNKNOWN-THING");
        assert_eq!(x.params, vec!["a", "b", "c"]);
    }

    #[test]
    fn single_line_reply() {
        let e = ehlo(&["mx.example.net"]);
        assert_eq!(e.domain, "mx.example.net");
        assert!(e.list.is_empty());
        assert_eq!(e.size_limit(), None);
        assert!(e.auth_mechanisms().is_empty());
    }

    #[test]
    fn empty_lines_and_odd_spacing() {
        let e = ehlo(&["", "", "  SIZE   42  ", "\tDSN"]);
        assert_eq!(e.domain, "");
        assert_eq!(e.list.len(), 2);
        assert_eq!(
            e.get(Ext::Size).map(|s| s.params.clone()),
            Some(vec!["42".to_string()])
        );
        assert_eq!(e.size_limit(), Some(42));
        assert!(e.has(Ext::Dsn));
    }

    #[test]
    fn size_values() {
        assert_eq!(ehlo(&["x", "SIZE"]).size_limit(), Some(0));
        assert_eq!(ehlo(&["x", "SIZE 0"]).size_limit(), Some(0));
        assert_eq!(ehlo(&["x", "size 1000"]).size_limit(), Some(1000));
        assert_eq!(ehlo(&["x", "SIZE lots"]).size_limit(), None);
        assert_eq!(ehlo(&["x", "SIZE -5"]).size_limit(), None);
        assert_eq!(ehlo(&["x", "SIZE +5"]).size_limit(), None);
        assert_eq!(
            ehlo(&["x", "SIZE 99999999999999999999999"]).size_limit(),
            None
        );
        assert_eq!(ehlo(&["x", "8BITMIME"]).size_limit(), None);
    }

    #[test]
    fn old_auth_form_and_dedup() {
        let e = ehlo(&["x", "AUTH=PLAIN LOGIN", "AUTH login plain XOAUTH2"]);
        assert_eq!(e.auth_mechanisms(), vec!["PLAIN", "LOGIN", "XOAUTH2"]);
        assert!(e.has(Ext::Auth));
        let e = ehlo(&["x", "auth=login"]);
        assert_eq!(e.auth_mechanisms(), vec!["LOGIN"]);
        let e = ehlo(&["x", "AUTH= PLAIN"]);
        assert_eq!(e.auth_mechanisms(), vec!["PLAIN"]);
        let e = ehlo(&["x", "AUTHX PLAIN", "AUTHENTICATE LOGIN"]);
        assert!(e.auth_mechanisms().is_empty());
    }

    #[test]
    fn first_of_duplicates_wins() {
        let e = ehlo(&["x", "SIZE 100", "SIZE 200"]);
        assert_eq!(e.size_limit(), Some(100));
    }

    #[test]
    fn error_reply_announces_nothing() {
        let e = Extensions::from_ehlo(&reply("502-5.5.1 Unrecognized\r\n502 SIZE 100\r\n"));
        assert_eq!(e, Extensions::default());
    }
}
