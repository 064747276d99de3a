//! What each SMTP verb is for, as `help smtp VERB` explains it: its
//! syntax, what it does, its parameters and the RFC that defines it.
//! Data only; the shell prints it.

/// One verb's explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerbHelp {
    /// The verb, upper case.
    pub name: &'static str,
    /// Its syntax (ABNF-like, as the RFC writes it).
    pub syntax: &'static str,
    /// What it does, in a few sentences.
    pub what: &'static str,
    /// Its parameters or arguments, one per entry (`NAME: meaning`).
    pub params: &'static [&'static str],
    /// Where it is defined.
    pub rfc: &'static str,
    /// The smtpsh command that sends it, if any.
    pub command: Option<&'static str>,
}

/// Every verb `help smtp` explains, in the order of a conversation.
pub const VERBS: &[VerbHelp] = &[
    VerbHelp {
        name: "EHLO",
        syntax: "EHLO domain",
        what: "Greets the server and asks what it offers: the reply's first line is the \
               server's name, each further line an extension (SIZE, PIPELINING, STARTTLS, \
               AUTH, DSN...). It also resets any mail transaction.",
        params: &["domain: the client's host name, or an address literal such as [192.0.2.1]"],
        rfc: "RFC 5321 §4.1.1.1",
        command: Some("ehlo"),
    },
    VerbHelp {
        name: "HELO",
        syntax: "HELO domain",
        what: "The greeting of plain SMTP, before extensions existed: the server announces \
               nothing. Used when a server refuses EHLO.",
        params: &["domain: the client's host name"],
        rfc: "RFC 5321 §4.1.1.1",
        command: Some("helo"),
    },
    VerbHelp {
        name: "LHLO",
        syntax: "LHLO domain",
        what: "LMTP's greeting (instead of EHLO), for local delivery to a mail store \
               (Dovecot, Cyrus): after the message, one reply per accepted recipient.",
        params: &["domain: the client's host name"],
        rfc: "RFC 2033 §4.1",
        command: None,
    },
    VerbHelp {
        name: "MAIL",
        syntax: "MAIL FROM:<reverse-path> [SP mail-parameters]",
        what: "Starts a mail transaction and names the envelope sender: where notices \
               (bounces) go. <> is the null sender, used by notices themselves.",
        params: &[
            "SIZE=n: the message's size in octets (SIZE, RFC 1870)",
            "BODY=7BIT|8BITMIME|BINARYMIME: the content's encoding (RFC 6152, RFC 3030)",
            "SMTPUTF8: addresses or headers in UTF-8 (RFC 6531)",
            "RET=FULL|HDRS: whole message or headers only in a notice (DSN, RFC 3461)",
            "ENVID=xtext: the sender's id for the transaction, in every notice (DSN, RFC 3461)",
            "AUTH=<mailbox>: who submitted the message (RFC 4954)",
            "REQUIRETLS: only over TLS all the way (RFC 8689)",
            "MT-PRIORITY=n: priority from -9 to 9 (RFC 6710)",
            "HOLDFOR=s, HOLDUNTIL=time: hold before delivery (FUTURERELEASE, RFC 4865)",
            "BY=time;R|N: deliver by a deadline (DELIVERBY, RFC 2852)",
        ],
        rfc: "RFC 5321 §4.1.1.2",
        command: Some("from"),
    },
    VerbHelp {
        name: "RCPT",
        syntax: "RCPT TO:<forward-path> [SP rcpt-parameters]",
        what: "Names one envelope recipient; repeated for each. The reply says whether the \
               server takes the address (250, 251) or not (550, 553, 450...).",
        params: &[
            "NOTIFY=NEVER|SUCCESS,FAILURE,DELAY: when to send a delivery notice (DSN, RFC 3461)",
            "ORCPT=type;xtext: the original recipient, kept in notices (DSN, RFC 3461)",
            "RRVS=time: the mailbox must have been the same owner's since (RFC 7293)",
        ],
        rfc: "RFC 5321 §4.1.1.3",
        command: Some("to"),
    },
    VerbHelp {
        name: "DATA",
        syntax: "DATA",
        what: "After 354, the message follows: headers, a blank line, the body, ended by a \
               line with only `.` (lines starting with `.` get another one: dot-stuffing). \
               The reply after the `.` says whether the message was accepted.",
        params: &[],
        rfc: "RFC 5321 §4.1.1.4",
        command: Some("data"),
    },
    VerbHelp {
        name: "BDAT",
        syntax: "BDAT chunk-size [SP LAST]",
        what: "Sends the message in chunks of exactly chunk-size octets, no dot-stuffing \
               and no end line; LAST marks the final chunk. Needs CHUNKING.",
        params: &[
            "chunk-size: the octets that follow the command",
            "LAST: this is the last chunk",
        ],
        rfc: "RFC 3030",
        command: Some("send (set transfer bdat)"),
    },
    VerbHelp {
        name: "RSET",
        syntax: "RSET",
        what: "Aborts the mail transaction: the server forgets the sender, the recipients \
               and any content. The connection and the greeting stay.",
        params: &[],
        rfc: "RFC 5321 §4.1.1.5",
        command: Some("rset"),
    },
    VerbHelp {
        name: "VRFY",
        syntax: "VRFY string",
        what: "Asks whether a user or mailbox exists. Most servers answer 252 (cannot \
               verify, will try to deliver) so as not to help address harvesting.",
        params: &["string: a user name or address"],
        rfc: "RFC 5321 §4.1.1.6",
        command: Some("vrfy"),
    },
    VerbHelp {
        name: "EXPN",
        syntax: "EXPN string",
        what: "Asks for the members of a mailing list. Most servers refuse it (502).",
        params: &["string: the list's name"],
        rfc: "RFC 5321 §4.1.1.7",
        command: Some("expn"),
    },
    VerbHelp {
        name: "HELP",
        syntax: "HELP [SP string]",
        what: "Asks the server for help, about a command if named. The answer (214) is \
               for people; its content is up to the server.",
        params: &["string: a command to ask about"],
        rfc: "RFC 5321 §4.1.1.8",
        command: None,
    },
    VerbHelp {
        name: "NOOP",
        syntax: "NOOP [SP string]",
        what: "Does nothing; the 250 shows the connection is alive. It also keeps an idle \
               connection from timing out.",
        params: &[],
        rfc: "RFC 5321 §4.1.1.9",
        command: Some("noop"),
    },
    VerbHelp {
        name: "QUIT",
        syntax: "QUIT",
        what: "Ends the session: the server answers 221 and closes the connection. A \
               transaction not completed with a message is dropped.",
        params: &[],
        rfc: "RFC 5321 §4.1.1.10",
        command: Some("quit"),
    },
    VerbHelp {
        name: "STARTTLS",
        syntax: "STARTTLS",
        what: "After 220, the client starts a TLS handshake on the same connection; then \
               everything is encrypted and the conversation starts again at EHLO (what \
               the server offers may change, e.g. AUTH appears).",
        params: &[],
        rfc: "RFC 3207",
        command: Some("starttls"),
    },
    VerbHelp {
        name: "AUTH",
        syntax: "AUTH mechanism [SP initial-response]",
        what: "Logs in with a SASL mechanism (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, \
               XOAUTH2...); the server's 334 challenges and the client's base64 answers \
               follow until 235 (success) or 535 (failure).",
        params: &[
            "mechanism: one the server lists in its AUTH extension",
            "initial-response: base64, or = for an empty one",
        ],
        rfc: "RFC 4954",
        command: Some("auth"),
    },
    VerbHelp {
        name: "ETRN",
        syntax: "ETRN [@]domain",
        what: "Asks the server to start delivering the mail it holds for a domain (a \
               client that connects from time to time, e.g. a backup MX's primary).",
        params: &["domain: the domain whose queue to run; @domain includes subdomains"],
        rfc: "RFC 1985",
        command: None,
    },
    VerbHelp {
        name: "XCLIENT",
        syntax: "XCLIENT attribute=value [SP attribute=value]...",
        what: "Postfix's extension for a trusted proxy or test tool: overrides what the \
               server knows of the client (address, name, HELO name, login). The server \
               answers with a new 220 greeting, and the conversation starts again at EHLO.",
        params: &[
            "ADDR, PORT, NAME, REVERSE_NAME, HELO, PROTO, LOGIN, DESTADDR, DESTPORT: the \
             values to pretend ([UNAVAILABLE] and [TEMPUNAVAIL] are allowed)",
        ],
        rfc: "Postfix XCLIENT_README (no RFC)",
        command: None,
    },
    VerbHelp {
        name: "XFORWARD",
        syntax: "XFORWARD attribute=value [SP attribute=value]...",
        what: "Postfix's extension for a content filter: passes on the original client's \
               details (for logging), without changing the server's access decisions.",
        params: &["NAME, ADDR, PORT, PROTO, HELO, IDENT, SOURCE: the original client's details"],
        rfc: "Postfix XFORWARD_README (no RFC)",
        command: None,
    },
];

/// The explanation of `verb` (any case; `MAIL FROM` and `RCPT TO` too).
pub fn lookup(verb: &str) -> Option<&'static VerbHelp> {
    let word = verb.split([' ', ':']).next().unwrap_or(verb);
    VERBS.iter().find(|v| v.name.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_smtpsh_names_is_explained() {
        for v in crate::smtp::Verb::ALL {
            assert!(lookup(v.name()).is_some(), "{}", v.name());
        }
        assert_eq!(lookup("mail from").map(|v| v.name), Some("MAIL"));
        assert_eq!(lookup("rcpt").map(|v| v.rfc), Some("RFC 5321 §4.1.1.3"));
        assert!(lookup("FROB").is_none());
        for v in VERBS {
            assert!(v.syntax.starts_with(v.name), "{}", v.name);
            assert!(!v.what.is_empty() && !v.rfc.is_empty());
        }
    }
}
