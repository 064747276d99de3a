//! What reply codes mean: the basic three-digit codes (RFC 5321 §4.2 and
//! the extensions that added some), and the enhanced status codes of the
//! IANA "SMTP Enhanced Status Codes" registry (RFC 3463, RFC 5248 and the
//! RFCs that registered more: 3886, 4468, 4954, 6531, 6710, 7293, 7372,
//! 7505, 8617, 8689). A code the registry does not list is explained by
//! its class and subject. Data only; the shell prints it.

use super::reply::EnhancedCode;

mod tables;
pub use tables::{BASIC, Basic, DETAILS, Registered};

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
        2 => "the action was carried out.",
        4 => {
            "the message is valid, but a condition that may pass stopped it; the same may \
              work later (RFC 3463 calls it a persistent transient failure)."
        }
        5 => {
            "sending the same again will not work; the message or the destination must \
              change."
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
