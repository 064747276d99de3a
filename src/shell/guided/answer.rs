//! What a guided answer means: a word for the walk-through itself (`help`,
//! `back`, `exit`), or the answer to the question in either form a learner
//! may type it (`HELO name` or `name`, `MAIL FROM:<a>` or `a`), turned into
//! the shell command it stands for; and what a reply code means, in one
//! line. No I/O: tested on its own.

/// What a typed answer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said<'a> {
    /// `help` (or `?`): explain this step again.
    Help,
    /// `back`: return to the previous step.
    Back,
    /// `exit` or `quit`: say QUIT and leave.
    Exit,
    /// An answer to the question (trimmed; may be empty).
    Answer(&'a str),
}

/// Reads a typed line: one of the walk-through's own words, or an answer.
pub fn said(line: &str) -> Said<'_> {
    let t = line.trim();
    match t.to_ascii_lowercase().as_str() {
        "help" | "?" => Said::Help,
        "back" => Said::Back,
        "exit" | "quit" => Said::Exit,
        _ => Said::Answer(t),
    }
}

/// Quotes a typed answer as one word.
pub use crate::shell::args::quote_word as quote;

/// `text` without a leading `word` (any case) and the blanks after it;
/// `None` when it does not start with that word.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let rest = text.get(word.len()..)?;
    if !head.eq_ignore_ascii_case(word) {
        return None;
    }
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| rest.trim_start())
}

/// `text` without a leading `keyword:` (any case, blanks allowed before
/// the colon) and the blanks after it.
fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    let rest = text.get(keyword.len()..)?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    rest.trim_start().strip_prefix(':').map(str::trim_start)
}

/// The address part of an envelope answer in any of its forms: the SMTP
/// command (`MAIL FROM:<a>`), its keyword alone (`FROM:<a>`), the smtpsh
/// command (`from a`), or the address alone.
fn envelope_part<'a>(answer: &'a str, verb: &str, keyword: &str, shell: &str) -> &'a str {
    if let Some(rest) = strip_word(answer, verb).and_then(|r| strip_keyword(r, keyword)) {
        return rest;
    }
    if let Some(rest) = strip_keyword(answer, keyword) {
        return rest;
    }
    strip_word(answer, shell).unwrap_or(answer)
}

/// `<address>` alone: the address inside.
fn bracketed(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('<')?.strip_suffix('>')?;
    (!inner.contains(['<', '>'])).then_some(inner)
}

/// The greeting: `HELO name`, `EHLO name`, `helo name` or `name`; empty
/// (or the verb alone) for `default`.
pub fn greeting(answer: &str, default: &str) -> Result<String, &'static str> {
    let (verb, name) = if let Some(rest) = strip_word(answer, "HELO") {
        ("helo", rest)
    } else if let Some(rest) = strip_word(answer, "EHLO") {
        ("ehlo", rest)
    } else {
        ("helo", answer)
    };
    let name = if name.is_empty() { default } else { name };
    if name.contains(char::is_whitespace) {
        return Err("the name is one word, such as student.example");
    }
    Ok(format!("{verb} {}", quote(name)))
}

/// The sender: `MAIL FROM:<a>`, `FROM:<a>`, `from a`, `<a>` or `a`.
pub fn sender(answer: &str) -> Result<String, &'static str> {
    let part = envelope_part(answer, "MAIL", "FROM", "from");
    if part.is_empty() {
        return Err("type the sender's address, such as alice@example.com");
    }
    Ok(match bracketed(part) {
        Some("") => "from <>".to_string(),
        Some(addr) => format!("from {addr}"),
        // A display name, or parameters after `<a>` (`SIZE=100`): `from`
        // reads the rest of its line.
        None => format!("from {part}"),
    })
}

/// A recipient: `RCPT TO:<b>`, `TO:<b>`, `to b`, `<b>` or `b`.
pub fn recipient(answer: &str) -> Result<String, &'static str> {
    let part = envelope_part(answer, "RCPT", "TO", "to");
    if part.is_empty() {
        return Err("type the recipient's address, such as bob@example.com");
    }
    if let Some(addr) = bracketed(part) {
        return Ok(format!("to {}", quote(addr)));
    }
    if part.starts_with('<')
        && let Some(end) = part.find('>')
        && !part[end + 1..].trim().is_empty()
    {
        // `<b> NOTIFY=...`: parameters, sent as typed by the SMTP verb.
        return Ok(format!("rcpt TO:{part}"));
    }
    Ok(format!("to {}", quote(part)))
}

/// The subject: `Subject: text` or the text; `None` for no subject.
pub fn subject(answer: &str) -> Option<String> {
    let text = strip_keyword(answer, "Subject").unwrap_or(answer).trim();
    (!text.is_empty()).then(|| format!("subject {text}"))
}

/// An attachment: `attach PATH` or the path; `None` for none (done).
pub fn attachment(answer: &str) -> Option<String> {
    let path = strip_word(answer, "attach").unwrap_or(answer).trim();
    (!path.is_empty()).then(|| format!("attach {}", quote(path)))
}

/// A command line as a script must say it so that `${...}` in what was
/// typed stays literal (`$$` is a `$`).
pub fn script_line(command: &str) -> String {
    command.replace('$', "$$")
}

/// What a reply code means, in one line.
pub fn meaning(code: u16) -> &'static str {
    match code {
        220 => "220: the server is ready (its greeting)",
        221 => "221: the server says goodbye and closes the connection",
        235 => "235: you are logged in",
        250 => "250: OK, done",
        251 => "251: OK, the recipient is elsewhere and the server forwards it",
        252 => "252: the server cannot check the address but will try to deliver",
        354 => "354: go ahead, send the message and end it with a line holding only '.'",
        421 => "421: the server is closing the connection (busy, or you were idle too long)",
        450..=452 => "4xx: a temporary refusal; the same may work later",
        500 => "500: the server did not understand the command",
        501 => "501: the command is right but its argument is not (an address, a name)",
        502 | 504 => "502/504: the server does not do that",
        503 => "503: wrong order: something must come first (HELO, then MAIL FROM, then RCPT TO)",
        530 => "530: the server wants you to log in first (AUTH)",
        550 => "550: refused for good: no such mailbox, or the server does not relay there",
        551 | 553 => "55x: refused for good: the address is not accepted here",
        552 => "552: too big: the server's storage or size limit was exceeded",
        554 => "554: refused for good (the transaction failed, or policy)",
        200..=299 => "2xx: success",
        300..=399 => "3xx: go on, the server wants more",
        400..=499 => "4xx: a temporary failure; the same may work later",
        _ => "5xx: a permanent failure; change something before trying again",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_through_words_at_any_step() {
        assert_eq!(said(" help "), Said::Help);
        assert_eq!(said("?"), Said::Help);
        assert_eq!(said("BACK"), Said::Back);
        assert_eq!(said("exit"), Said::Exit);
        assert_eq!(said("QUIT"), Said::Exit);
        assert_eq!(said(" helpful "), Said::Answer("helpful"));
        assert_eq!(said(""), Said::Answer(""));
    }

    #[test]
    fn greeting_in_both_forms() {
        let g = |a: &str| greeting(a, "[127.0.0.1]");
        assert_eq!(
            g("HELO student.example").as_deref(),
            Ok("helo student.example")
        );
        assert_eq!(
            g("helo   student.example").as_deref(),
            Ok("helo student.example")
        );
        assert_eq!(g("student.example").as_deref(), Ok("helo student.example"));
        assert_eq!(g("EHLO x.example").as_deref(), Ok("ehlo x.example"));
        assert_eq!(g("").as_deref(), Ok("helo '[127.0.0.1]'"));
        assert_eq!(g("HELO").as_deref(), Ok("helo '[127.0.0.1]'"));
        // A name that merely starts like the verb is a name.
        assert_eq!(g("helohost").as_deref(), Ok("helo helohost"));
        assert!(g("two words").is_err());
        assert!(g("HELO two words").is_err());
    }

    #[test]
    fn sender_in_every_form() {
        for a in [
            "MAIL FROM:<alice@example.com>",
            "mail from: <alice@example.com>",
            "MAIL FROM : <alice@example.com>",
            "FROM:<alice@example.com>",
            "from alice@example.com",
            "<alice@example.com>",
            "alice@example.com",
        ] {
            assert_eq!(sender(a).as_deref(), Ok("from alice@example.com"), "{a}");
        }
        assert_eq!(sender("MAIL FROM:<>").as_deref(), Ok("from <>"));
        assert_eq!(
            sender("MAIL FROM:<a@b.org> SIZE=10").as_deref(),
            Ok("from <a@b.org> SIZE=10")
        );
        assert!(sender("MAIL FROM:").is_err());
        assert!(sender("").is_err());
    }

    #[test]
    fn recipient_in_every_form() {
        for a in [
            "RCPT TO:<bob@example.com>",
            "rcpt to:<bob@example.com>",
            "TO: <bob@example.com>",
            "to bob@example.com",
            "<bob@example.com>",
            "bob@example.com",
        ] {
            assert_eq!(recipient(a).as_deref(), Ok("to bob@example.com"), "{a}");
        }
        assert_eq!(
            recipient("Carol <carol@example.com>").as_deref(),
            Ok("to 'Carol <carol@example.com>'")
        );
        assert_eq!(
            recipient("RCPT TO:<c@d.org> NOTIFY=NEVER").as_deref(),
            Ok("rcpt TO:<c@d.org> NOTIFY=NEVER")
        );
        assert!(recipient("RCPT TO:").is_err());
        // The address is never split or unquoted into shell syntax.
        let cmd = recipient("x'; send").unwrap_or_default();
        assert_eq!(
            shlex::split(&cmd),
            Some(vec!["to".to_string(), "x'; send".to_string()])
        );
    }

    #[test]
    fn subject_and_attachment_forms() {
        assert_eq!(subject("Subject: Hi").as_deref(), Some("subject Hi"));
        assert_eq!(subject("Hi there").as_deref(), Some("subject Hi there"));
        assert_eq!(subject("  "), None);
        assert_eq!(subject("Subject:"), None);
        assert_eq!(
            attachment("attach a b.txt").as_deref(),
            Some("attach 'a b.txt'")
        );
        assert_eq!(attachment("notes.txt").as_deref(), Some("attach notes.txt"));
        assert_eq!(attachment(""), None);
        assert_eq!(script_line("subject ${HOME} $5"), "subject $${HOME} $$5");
    }

    #[test]
    fn every_code_has_a_meaning() {
        for code in [
            220, 221, 250, 354, 421, 450, 503, 550, 554, 299, 399, 499, 599,
        ] {
            assert!(meaning(code).starts_with(&code.to_string()[..1]), "{code}");
        }
    }
}
