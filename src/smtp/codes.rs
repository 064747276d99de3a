//! What reply codes mean: the basic three-digit codes (RFC 5321 §4.2 and
//! the extensions that added some), and the enhanced status codes of the
//! IANA "SMTP Enhanced Status Codes" registry (RFC 3463, RFC 5248 and the
//! RFCs that registered more: 3886, 4468, 4954, 6531, 6710, 7293, 7372,
//! 7505, 8617, 8689). A code the registry does not list is explained by
//! its class and subject. Data only; the shell prints it.

use super::reply::EnhancedCode;

/// One registered enhanced status code (`X.subject.detail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    /// The subject, e.g. 7 in X.7.26.
    pub subject: u16,
    /// The detail, e.g. 26 in X.7.26.
    pub detail: u16,
    /// The registry's name for it.
    pub title: &'static str,
    /// What it means, in a sentence or two.
    pub description: &'static str,
    /// Where it is defined.
    pub rfc: &'static str,
}

const fn d(
    subject: u16,
    detail: u16,
    title: &'static str,
    description: &'static str,
    rfc: &'static str,
) -> Registered {
    Registered {
        subject,
        detail,
        title,
        description,
        rfc,
    }
}

const R3463: &str = "RFC 3463";

/// The registry's enumerated codes, by subject and detail.
pub const DETAILS: &[Registered] = &[
    d(
        0,
        0,
        "Other undefined status",
        "Only the class is known: no more specific code applies.",
        R3463,
    ),
    d(
        1,
        0,
        "Other address status",
        "Something about an address caused this.",
        R3463,
    ),
    d(
        1,
        1,
        "Bad destination mailbox address",
        "The mailbox does not exist: the part left of the @ is wrong.",
        R3463,
    ),
    d(
        1,
        2,
        "Bad destination system address",
        "The domain (right of the @) does not exist or cannot take mail.",
        R3463,
    ),
    d(
        1,
        3,
        "Bad destination mailbox address syntax",
        "The recipient address is not written correctly.",
        R3463,
    ),
    d(
        1,
        4,
        "Destination mailbox address ambiguous",
        "The address matches more than one mailbox.",
        R3463,
    ),
    d(
        1,
        5,
        "Destination address valid",
        "The recipient address is fine.",
        R3463,
    ),
    d(
        1,
        6,
        "Destination mailbox has moved, No forwarding address",
        "The address was valid once; it takes no mail any more.",
        R3463,
    ),
    d(
        1,
        7,
        "Bad sender's mailbox address syntax",
        "The sender address is not written correctly.",
        R3463,
    ),
    d(
        1,
        8,
        "Bad sender's system address",
        "The sender's domain does not exist or cannot take replies.",
        R3463,
    ),
    d(
        1,
        9,
        "Message relayed to non-compliant mailer",
        "The address was valid, but the message went on to a system that gives no further reports.",
        "RFC 3886",
    ),
    d(
        1,
        10,
        "Recipient address has null MX",
        "The recipient's domain says, with a null MX, that it takes no mail.",
        "RFC 7505",
    ),
    d(
        2,
        0,
        "Other or undefined mailbox status",
        "The mailbox exists, but something about it caused this.",
        R3463,
    ),
    d(
        2,
        1,
        "Mailbox disabled, not accepting messages",
        "The mailbox exists but takes no mail, for now or for good.",
        R3463,
    ),
    d(
        2,
        2,
        "Mailbox full",
        "The recipient is over quota; it may work once they make room.",
        R3463,
    ),
    d(
        2,
        3,
        "Message length exceeds administrative limit",
        "The message is larger than this mailbox accepts.",
        R3463,
    ),
    d(
        2,
        4,
        "Mailing list expansion problem",
        "The address is a list that could not be expanded.",
        R3463,
    ),
    d(
        3,
        0,
        "Other or undefined mail system status",
        "The receiving system normally takes mail, but something about it caused this.",
        R3463,
    ),
    d(
        3,
        1,
        "Mail system full",
        "The receiving system is out of storage.",
        R3463,
    ),
    d(
        3,
        2,
        "System not accepting network messages",
        "The system takes no mail now (shutting down, overloaded, maintenance).",
        R3463,
    ),
    d(
        3,
        3,
        "System not capable of selected features",
        "The system lacks a feature the message asks for.",
        R3463,
    ),
    d(
        3,
        4,
        "Message too big for system",
        "The message is larger than the system's limit (see its SIZE).",
        R3463,
    ),
    d(
        3,
        5,
        "System incorrectly configured",
        "The system is not set up to accept this message.",
        R3463,
    ),
    d(
        3,
        6,
        "Requested priority was changed",
        "The message was accepted with another priority than MT-PRIORITY asked for.",
        "RFC 6710",
    ),
    d(
        4,
        0,
        "Other or undefined network or routing status",
        "Something went wrong in the network or routing.",
        R3463,
    ),
    d(
        4,
        1,
        "No answer from host",
        "The next host did not answer the connection.",
        R3463,
    ),
    d(
        4,
        2,
        "Bad connection",
        "The connection was made but broke off (time-out, poor link).",
        R3463,
    ),
    d(
        4,
        3,
        "Directory server failure",
        "A directory server (often DNS) was unavailable.",
        R3463,
    ),
    d(
        4,
        4,
        "Unable to route",
        "No route to the destination could be found (e.g. no MX or A record).",
        R3463,
    ),
    d(
        4,
        5,
        "Mail system congestion",
        "The system is congested; try later.",
        R3463,
    ),
    d(
        4,
        6,
        "Routing loop detected",
        "The message went round a loop too many times.",
        R3463,
    ),
    d(
        4,
        7,
        "Delivery time expired",
        "The message was too old, or waited too long in a queue.",
        R3463,
    ),
    d(
        5,
        0,
        "Other or undefined protocol status",
        "Something was wrong with the SMTP exchange itself.",
        R3463,
    ),
    d(
        5,
        1,
        "Invalid command",
        "The command is out of sequence or not supported.",
        R3463,
    ),
    d(
        5,
        2,
        "Syntax error",
        "The command could not be understood.",
        R3463,
    ),
    d(
        5,
        3,
        "Too many recipients",
        "More recipients than the server takes in one transaction.",
        R3463,
    ),
    d(
        5,
        4,
        "Invalid command arguments",
        "The command is known, but its arguments or parameters are not valid.",
        R3463,
    ),
    d(
        5,
        5,
        "Wrong protocol version",
        "Client and server disagree on the protocol version.",
        R3463,
    ),
    d(
        5,
        6,
        "Authentication Exchange line is too long",
        "An AUTH response was longer than the server's buffer.",
        "RFC 4954",
    ),
    d(
        6,
        0,
        "Other or undefined media error",
        "Something about the content made it undeliverable.",
        R3463,
    ),
    d(
        6,
        1,
        "Media not supported",
        "The content's media type is not supported on the way.",
        R3463,
    ),
    d(
        6,
        2,
        "Conversion required and prohibited",
        "The content needs converting, and that is not allowed.",
        R3463,
    ),
    d(
        6,
        3,
        "Conversion required but not supported",
        "The content needs converting (e.g. 8-bit to 7-bit), and no host can.",
        R3463,
    ),
    d(
        6,
        4,
        "Conversion with loss performed",
        "Delivered, but a conversion lost some of the content.",
        R3463,
    ),
    d(
        6,
        5,
        "Conversion Failed",
        "A needed conversion failed.",
        R3463,
    ),
    d(
        6,
        6,
        "Message content not available",
        "Content to be fetched from elsewhere (BURL) could not be.",
        "RFC 4468",
    ),
    d(
        6,
        7,
        "Non-ASCII addresses not permitted for that sender/recipient",
        "A UTF-8 address was refused (SMTPUTF8).",
        "RFC 6531",
    ),
    d(
        6,
        8,
        "UTF-8 string reply is required, but not permitted by the SMTP client",
        "The answer needs UTF-8, which the client did not allow.",
        "RFC 6531",
    ),
    d(
        6,
        9,
        "UTF-8 header message cannot be transferred to one or more recipients, so the message must be rejected",
        "A message with UTF-8 headers cannot go on to a recipient.",
        "RFC 6531",
    ),
    d(
        6,
        10,
        "Duplicate of X.6.8 (deprecated)",
        "Registered twice by mistake; X.6.8 is the one to use.",
        "RFC 6531",
    ),
    d(
        7,
        0,
        "Other or undefined security status",
        "Something about security or policy caused this; often left vague on purpose.",
        R3463,
    ),
    d(
        7,
        1,
        "Delivery not authorized, message refused",
        "The sender may not send to this destination: per-host or per-recipient filtering.",
        R3463,
    ),
    d(
        7,
        2,
        "Mailing list expansion prohibited",
        "The sender may not send to this list.",
        R3463,
    ),
    d(
        7,
        3,
        "Security conversion required but not possible",
        "A conversion between secure messaging protocols was needed and not possible.",
        R3463,
    ),
    d(
        7,
        4,
        "Security features not supported",
        "The message uses security features the protocol cannot carry.",
        R3463,
    ),
    d(
        7,
        5,
        "Cryptographic failure",
        "A key or other needed information was missing or invalid.",
        R3463,
    ),
    d(
        7,
        6,
        "Cryptographic algorithm not supported",
        "The algorithm needed is not supported.",
        R3463,
    ),
    d(
        7,
        7,
        "Message integrity failure",
        "The message was corrupted or altered.",
        R3463,
    ),
    d(
        7,
        8,
        "Authentication credentials invalid",
        "AUTH failed: wrong user name or password (or token).",
        "RFC 4954",
    ),
    d(
        7,
        9,
        "Authentication mechanism is too weak",
        "The AUTH mechanism is weaker than the server allows for this user.",
        "RFC 4954",
    ),
    d(
        7,
        10,
        "Encryption Needed",
        "A plaintext mechanism needs TLS first (STARTTLS).",
        "RFC 5248",
    ),
    d(
        7,
        11,
        "Encryption required for requested authentication mechanism",
        "This AUTH mechanism is allowed only over an encrypted connection.",
        "RFC 4954",
    ),
    d(
        7,
        12,
        "A password transition is needed",
        "Log in once with PLAIN so the server can set up this mechanism.",
        "RFC 4954",
    ),
    d(
        7,
        13,
        "User Account Disabled",
        "The account exists but is disabled; the administrator can re-enable it.",
        "RFC 5248",
    ),
    d(
        7,
        14,
        "Trust relationship required",
        "The server needs a trust relationship with a third party (e.g. for BURL).",
        "RFC 5248",
    ),
    d(
        7,
        15,
        "Priority Level is too low",
        "The MT-PRIORITY is below what the server takes now.",
        "RFC 6710",
    ),
    d(
        7,
        16,
        "Message is too big for the specified priority",
        "Too large for the MT-PRIORITY given.",
        "RFC 6710",
    ),
    d(
        7,
        17,
        "Mailbox owner has changed",
        "The mailbox changed owner since the RRVS date.",
        "RFC 7293",
    ),
    d(
        7,
        18,
        "Domain owner has changed",
        "The recipient's domain changed owner since the RRVS date.",
        "RFC 7293",
    ),
    d(
        7,
        19,
        "RRVS test cannot be completed",
        "The server cannot tell whether the RRVS condition holds.",
        "RFC 7293",
    ),
    d(
        7,
        20,
        "No passing DKIM signature found",
        "The message had no valid DKIM signature, and local policy wants one.",
        "RFC 7372",
    ),
    d(
        7,
        21,
        "No acceptable DKIM signature found",
        "Valid DKIM signatures, but none the receiver accepts.",
        "RFC 7372",
    ),
    d(
        7,
        22,
        "No valid author-matched DKIM signature found",
        "No valid DKIM signature from the From header's domain.",
        "RFC 7372",
    ),
    d(
        7,
        23,
        "SPF validation failed",
        "SPF says this host may not send for the sender's domain.",
        "RFC 7372",
    ),
    d(
        7,
        24,
        "SPF validation error",
        "Checking SPF failed (e.g. a broken SPF record or DNS error).",
        "RFC 7372",
    ),
    d(
        7,
        25,
        "Reverse DNS validation failed",
        "The client's IP address has no matching reverse DNS name.",
        "RFC 7372",
    ),
    d(
        7,
        26,
        "Multiple authentication checks failed",
        "The message failed more than one authentication check (SPF, DKIM, DMARC...).",
        "RFC 7372",
    ),
    d(
        7,
        27,
        "Sender address has null MX",
        "The sender's domain says, with a null MX, that it takes no mail (so no reply could reach it).",
        "RFC 7505",
    ),
    d(
        7,
        28,
        "Mail flood detected",
        "The message looks like part of a flood of similar messages.",
        "IANA registry",
    ),
    d(
        7,
        29,
        "ARC validation failure",
        "The message's ARC chain did not validate.",
        "RFC 8617",
    ),
    d(
        7,
        30,
        "REQUIRETLS support required",
        "The message asked for REQUIRETLS, and a host on the way does not support it.",
        "RFC 8689",
    ),
];

/// What the first digit of an enhanced code says (RFC 3463 §3.1).
pub fn class_name(class: u8) -> &'static str {
    match class {
        2 => "success",
        4 => "temporary failure",
        5 => "permanent failure",
        _ => "unknown class",
    }
}

/// The longer meaning of a class, for `help code`.
fn class_description(class: u8) -> &'static str {
    match class {
        2 => "Success: the action was carried out.",
        4 => {
            "Persistent transient failure: the message is valid, but a condition that may \
              pass stopped it; the same may work later."
        }
        5 => {
            "Permanent failure: sending the same again will not work; the message or the \
              destination must change."
        }
        _ => "Not a class RFC 3463 defines (2, 4 or 5).",
    }
}

/// What the subject (second number) is about (RFC 3463 §3).
pub fn subject_name(subject: u16) -> Option<&'static str> {
    Some(match subject {
        0 => "other or undefined",
        1 => "addressing: the sender's or a recipient's address",
        2 => "mailbox: the recipient's mailbox",
        3 => "mail system: the receiving system",
        4 => "network and routing",
        5 => "mail delivery protocol: the SMTP commands themselves",
        6 => "message content or media",
        7 => "security or policy",
        _ => return None,
    })
}

/// A note for codes whose usual cause is not in their name.
fn note(code: EnhancedCode) -> Option<&'static str> {
    Some(match (code.class, code.subject, code.detail) {
        (4, 7, 0) => {
            "often greylisting: retried a few minutes later, the same message usually goes through"
        }
        (4, 7, 1) => "often greylisting or a temporary policy (rate limit, reputation) refusal",
        (5, 7, 1) => {
            "often relaying denied (this server is not the destination, and you are not authenticated) or a policy/blocklist refusal"
        }
        (_, 1, 1) => "check the spelling of the address",
        (5, 7, 0) => "often: authentication (or STARTTLS) is required first",
        (_, 7, 8) => "wrong user name or password",
        (_, 7, 26) => "check the sender domain's SPF, DKIM and DMARC",
        _ => return None,
    })
}

/// The registered entry for `subject.detail`, if any.
pub fn detail(subject: u16, detail: u16) -> Option<&'static Registered> {
    DETAILS
        .iter()
        .find(|e| e.subject == subject && e.detail == detail)
}

/// One line explaining `code`, as shown (dimmed) under a reply:
/// `5.7.26 Multiple authentication checks failed (permanent failure, RFC 7372)`;
/// for a code the registry lacks, its class and subject.
pub fn one_line(code: EnhancedCode) -> String {
    let class = class_name(code.class);
    let mut line = match detail(code.subject, code.detail) {
        // A success's "other ... status" says nothing more than its subject.
        Some(_) if code.class == 2 && code.detail == 0 => match code.subject {
            0 => format!("{code} success, nothing more specific (RFC 3463)"),
            s => format!(
                "{code} success, {} (RFC 3463)",
                subject_name(s).unwrap_or("other")
            ),
        },
        Some(e) => format!("{code} {} ({class}, {})", e.title, e.rfc),
        None => match subject_name(code.subject) {
            Some(subject) => format!(
                "{code} {class}, {subject}; X.{}.{} is not in the registry (RFC 3463)",
                code.subject, code.detail
            ),
            None => format!(
                "{code} {class}; subject {} is not defined (RFC 3463)",
                code.subject
            ),
        },
    };
    if let Some(n) = note(code) {
        line.push_str(" — ");
        line.push_str(n);
    }
    line
}

/// A basic reply code's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Basic {
    /// The code.
    pub code: u16,
    /// What it means.
    pub meaning: &'static str,
    /// Where it is defined.
    pub rfc: &'static str,
}

const fn b(code: u16, meaning: &'static str, rfc: &'static str) -> Basic {
    Basic { code, meaning, rfc }
}

const R5321: &str = "RFC 5321 §4.2";

/// The basic reply codes.
pub const BASIC: &[Basic] = &[
    b(211, "System status, or system help reply", R5321),
    b(214, "Help message, for a person", R5321),
    b(
        220,
        "Service ready: the greeting (also the answer to STARTTLS: start the TLS handshake)",
        R5321,
    ),
    b(
        221,
        "Service closing the connection (the answer to QUIT)",
        R5321,
    ),
    b(235, "Authentication succeeded", "RFC 4954"),
    b(250, "Requested mail action okay, completed", R5321),
    b(
        251,
        "User not local; the server will forward the message",
        R5321,
    ),
    b(
        252,
        "Cannot verify the user (VRFY), but will accept the message and try to deliver it",
        R5321,
    ),
    b(
        334,
        "AUTH challenge: send the next base64 response",
        "RFC 4954",
    ),
    b(
        354,
        "Start mail input: send the message, ending with a line with only `.`",
        R5321,
    ),
    b(
        421,
        "Service not available, closing the connection (busy, shutting down, or idle too long)",
        R5321,
    ),
    b(432, "A password transition is needed", "RFC 4954"),
    b(
        450,
        "Mailbox unavailable for now (busy, or blocked for a while, e.g. greylisting)",
        R5321,
    ),
    b(451, "Aborted: local error in processing; try later", R5321),
    b(
        452,
        "Insufficient system storage (or, after RCPT, too many recipients)",
        R5321,
    ),
    b(
        454,
        "Temporary failure: TLS not available now, or temporary authentication failure",
        "RFC 3207, RFC 4954",
    ),
    b(
        455,
        "Server unable to accommodate the parameters, for now",
        R5321,
    ),
    b(
        500,
        "Syntax error, command unrecognized (or the line too long)",
        R5321,
    ),
    b(501, "Syntax error in parameters or arguments", R5321),
    b(502, "Command not implemented", R5321),
    b(
        503,
        "Bad sequence of commands (e.g. RCPT before MAIL)",
        R5321,
    ),
    b(504, "Command parameter not implemented", R5321),
    b(521, "This host does not accept mail at all", "RFC 7504"),
    b(
        523,
        "Encryption needed for this authentication mechanism",
        "RFC 5248",
    ),
    b(
        530,
        "Authentication required (or STARTTLS first)",
        "RFC 4954",
    ),
    b(534, "Authentication mechanism is too weak", "RFC 4954"),
    b(535, "Authentication credentials invalid", "RFC 4954"),
    b(
        538,
        "Encryption required for the requested authentication mechanism",
        "RFC 4954",
    ),
    b(
        550,
        "Mailbox unavailable (not found, no access, or refused by policy)",
        R5321,
    ),
    b(551, "User not local; try the address given", R5321),
    b(
        552,
        "Exceeded storage allocation (message too big, or mailbox full)",
        R5321,
    ),
    b(
        553,
        "Mailbox name not allowed (the address's syntax)",
        R5321,
    ),
    b(
        554,
        "Transaction failed (or, as a greeting, no SMTP service here)",
        R5321,
    ),
    b(
        555,
        "MAIL FROM/RCPT TO parameters not recognized or not implemented",
        R5321,
    ),
    b(
        556,
        "The recipient's domain does not accept mail",
        "RFC 7504",
    ),
];

/// The meaning of a basic reply code; for one not listed, its class.
pub fn basic(code: u16) -> Basic {
    if let Some(found) = BASIC.iter().find(|x| x.code == code) {
        return *found;
    }
    let meaning = match code / 100 {
        2 => "Positive completion: the command succeeded",
        3 => "Positive intermediate: the server waits for more",
        4 => "Transient negative completion: not done, may work later",
        5 => "Permanent negative completion: not done, and will not be as it is",
        _ => "Not an SMTP reply code (200-559)",
    };
    Basic {
        code,
        meaning,
        rfc: "RFC 5321 §4.2.1",
    }
}

/// What `help code TEXT` says: `550`, `5.7.26`, `5.7`, `X.7.26` or `5`;
/// `None` when TEXT is none of those.
pub fn explain(text: &str) -> Option<Vec<String>> {
    let t = text.trim();
    if t.len() == 3 && t.bytes().all(|b| b.is_ascii_digit()) {
        let code: u16 = t.parse().ok()?;
        if !(200..=559).contains(&code) {
            return None;
        }
        let found = basic(code);
        let mut out = vec![format!("{code}: {} ({})", found.meaning, found.rfc)];
        let related: Vec<String> = DETAILS
            .iter()
            .filter(|e| typical_basic(e).contains(&code))
            .map(|e| format!("{}.{}.{}", code / 100, e.subject, e.detail))
            .collect();
        if !related.is_empty() && code >= 400 {
            out.push(format!(
                "with an enhanced code, often: {} (`help code X.Y.Z` explains one)",
                related.join(", ")
            ));
        }
        return Some(out);
    }
    let parts: Vec<&str> = t.split('.').collect();
    let num = |s: &str| -> Option<u16> {
        (!s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let class = match parts.first().copied() {
        Some("X" | "x") => None,
        Some(c) => match num(c) {
            Some(n @ (2 | 4 | 5)) => Some(n as u8),
            _ => return None,
        },
        None => return None,
    };
    let class_line = |c: Option<u8>| match c {
        Some(c) => format!("{c}.X.X: {} — {}", class_name(c), class_description(c)),
        None => "X: the class: 2 success, 4 temporary failure, 5 permanent failure".to_string(),
    };
    match parts.as_slice() {
        [_] => Some(vec![class_line(class)]),
        [_, s] => {
            let s = num(s)?;
            let subject = subject_name(s)?;
            let mut out = vec![
                class_line(class),
                format!("X.{s}.X: {subject} status (RFC 3463)"),
            ];
            out.extend(
                DETAILS
                    .iter()
                    .filter(|e| e.subject == s)
                    .map(|e| format!("  X.{}.{} {} ({})", e.subject, e.detail, e.title, e.rfc)),
            );
            Some(out)
        }
        [_, s, dd] => {
            let (s, dd) = (num(s)?, num(dd)?);
            let mut out = Vec::new();
            match (class, detail(s, dd)) {
                (Some(c), _) => out.push(one_line(EnhancedCode {
                    class: c,
                    subject: s,
                    detail: dd,
                })),
                (None, Some(e)) => out.push(format!("X.{s}.{dd} {} ({})", e.title, e.rfc)),
                (None, None) => {}
            }
            match detail(s, dd) {
                Some(e) => out.push(e.description.to_string()),
                None => out.push(format!(
                    "X.{s}.{dd} is not in the IANA registry; its subject: {}",
                    subject_name(s).unwrap_or("not defined by RFC 3463")
                )),
            }
            out.push(class_line(class));
            Some(out)
        }
        _ => None,
    }
}

/// The basic codes an enhanced code usually comes with (from the
/// registry's "associated basic status code" column, simplified).
fn typical_basic(e: &Registered) -> &'static [u16] {
    match (e.subject, e.detail) {
        (1, 1) => &[550, 451],
        (1, 2) | (1, 3) => &[550, 553, 501],
        (1, 8) => &[451, 501, 553],
        (2, 1) => &[550, 450],
        (2, 2) => &[552, 452],
        (2, 3) => &[552],
        (3, 0) => &[421, 451, 550, 554],
        (3, 1) => &[452],
        (3, 2) => &[421, 453, 521],
        (3, 4) => &[552, 554],
        (4, 1) | (4, 3) | (4, 5) => &[451],
        (4, 2) => &[421],
        (5, 1) => &[500, 501, 503, 550, 554, 555],
        (5, 2) => &[500, 501, 502, 550, 555],
        (5, 3) => &[452, 451],
        (5, 4) => &[501, 504, 550, 555],
        (7, 0) => &[421, 450, 454, 530, 535, 550, 554],
        (7, 1) => &[450, 451, 454, 550, 551, 553, 554],
        (7, 8) => &[535, 554],
        (7, 9) => &[534],
        (7, 11) => &[538],
        (7, 23) | (7, 25) | (7, 26) | (7, 27) => &[550],
        (7, 24) => &[451, 550],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(class: u8, subject: u16, detail: u16) -> EnhancedCode {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }

    #[test]
    fn registered_codes_are_explained_with_their_rfc() {
        assert_eq!(
            one_line(code(5, 7, 26)),
            "5.7.26 Multiple authentication checks failed (permanent failure, RFC 7372) — \
             check the sender domain's SPF, DKIM and DMARC"
        );
        let greylist = one_line(code(4, 7, 0));
        assert!(
            greylist.starts_with(
                "4.7.0 Other or undefined security status (temporary failure, RFC 3463)"
            ),
            "{greylist}"
        );
        assert!(greylist.contains("greylisting"), "{greylist}");
        assert!(one_line(code(2, 1, 5)).starts_with("2.1.5 Destination address valid (success"));
        // A success's generic detail: its subject, not "Other ... status".
        assert_eq!(
            one_line(code(2, 1, 0)),
            "2.1.0 success, addressing: the sender's or a recipient's address (RFC 3463)"
        );
        assert_eq!(
            one_line(code(2, 0, 0)),
            "2.0.0 success, nothing more specific (RFC 3463)"
        );
        assert!(
            one_line(code(5, 7, 30))
                .contains("REQUIRETLS support required (permanent failure, RFC 8689)")
        );
        assert!(one_line(code(4, 7, 15)).contains("RFC 6710"));
        assert!(one_line(code(5, 1, 10)).contains("null MX"));
    }

    #[test]
    fn unregistered_codes_fall_back_to_class_and_subject() {
        let line = one_line(code(5, 7, 99));
        assert_eq!(
            line,
            "5.7.99 permanent failure, security or policy; X.7.99 is not in the registry (RFC 3463)"
        );
        assert!(one_line(code(4, 4, 42)).contains("network and routing"));
        assert!(one_line(code(5, 9, 1)).contains("subject 9 is not defined"));
    }

    #[test]
    fn the_table_has_each_code_once_and_every_subject_an_other() {
        for (i, e) in DETAILS.iter().enumerate() {
            assert!(
                !DETAILS[..i]
                    .iter()
                    .any(|f| f.subject == e.subject && f.detail == e.detail),
                "X.{}.{} twice",
                e.subject,
                e.detail
            );
            assert!(subject_name(e.subject).is_some());
            assert!(e.rfc.starts_with("RFC ") || e.rfc == "IANA registry");
        }
        for s in 0..=7 {
            assert!(detail(s, 0).is_some(), "X.{s}.0");
        }
    }

    #[test]
    fn help_code_reads_every_form() {
        let l = explain("550").unwrap();
        assert!(l[0].starts_with("550: Mailbox unavailable"), "{l:?}");
        assert!(l[1].contains("5.7.1") && l[1].contains("5.1.1"), "{l:?}");
        assert!(explain("555").unwrap()[0].contains("parameters not recognized"));
        assert!(explain("299").unwrap()[0].contains("Positive completion"));
        let l = explain("5.7.1").unwrap();
        assert!(l[0].starts_with("5.7.1 Delivery not authorized"), "{l:?}");
        assert!(l[1].contains("filtering"), "{l:?}");
        assert!(l[2].contains("permanent failure"), "{l:?}");
        let l = explain("X.7.26").unwrap();
        assert!(l[0].contains("RFC 7372"), "{l:?}");
        let l = explain("5.7").unwrap();
        assert!(l.iter().any(|x| x.contains("X.7.26 Multiple")), "{l:?}");
        assert!(explain("4").unwrap()[0].contains("temporary failure"));
        assert!(explain("4.7.77").unwrap()[1].contains("not in the IANA registry"));
        for bad in [
            "", "hello", "600", "3.1.1", "5.7.1.2", "5.x", "5.7.", "1234", "5.7.abcd",
        ] {
            assert!(explain(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn basic_codes() {
        assert!(basic(354).meaning.contains("`.`"));
        assert_eq!(basic(521).rfc, "RFC 7504");
        assert!(basic(459).meaning.contains("Transient"));
    }
}
