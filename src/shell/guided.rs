//! `smtpsh --guided HOST [PORT]`: a walk through the classic SMTP steps for
//! newcomers. Each answer becomes the shell command it stands for, so every
//! server reply is shown as in the shell, and a wrong answer is asked again.

use super::failure::Failure;
use super::input::{Input, Line, ScriptInput};
use super::session::Session;
use super::{execute_line, report};
use std::io::IsTerminal;

/// Runs the guided walk-through on an open connection; returns the exit status.
pub fn run(s: &mut Session, no_history: bool) -> i32 {
    if !s.is_open() {
        s.out
            .error("--guided needs a server: smtpsh --guided HOST [PORT]");
        return super::EXIT_USAGE;
    }
    if std::io::stdin().is_terminal() {
        match super::helper::Editor::new(true, s.out.color()) {
            Ok(mut ed) => {
                let _ = no_history;
                walk(s, &mut ed)
            }
            Err(e) => {
                s.out.error(&format!("cannot start the line editor: {e}"));
                super::EXIT_LOCAL
            }
        }
    } else {
        let mut input = ScriptInput::from_stdin("<stdin>");
        walk(s, &mut input)
    }
}

/// Asks until `make` turns the answer into a command that succeeds.
/// `None` when the input ended.
fn step(
    s: &mut Session,
    input: &mut dyn Input,
    explain: &str,
    question: &str,
    default: Option<&str>,
    make: &fn(&str) -> Option<String>,
) -> Option<Result<(), Failure>> {
    s.out.note(explain);
    loop {
        let prompt = match default {
            Some(d) => format!("{question} (Enter for {d}): "),
            None => format!("{question}: "),
        };
        let answer = match input.continuation(&prompt) {
            Line::Text(t) => t.trim().to_string(),
            Line::Eof | Line::Interrupted => return None,
        };
        let answer = if answer.is_empty() {
            default.unwrap_or("").to_string()
        } else {
            answer
        };
        let Some(cmd) = make(&answer) else {
            s.out.warn("please type an answer");
            continue;
        };
        match execute_line(s, input, &cmd) {
            Ok(()) => return Some(Ok(())),
            Err(f) => {
                report(s, &f, None);
                if !s.is_open() {
                    return Some(Err(f));
                }
                if !input.interactive() {
                    return Some(Err(f));
                }
                s.out.note("let's try that again");
            }
        }
    }
}

fn walk(s: &mut Session, input: &mut dyn Input) -> i32 {
    let ended = || {
        Failure::local("the guided session ended before the message was sent")
            .hint("run `smtpsh` for the full shell")
    };
    let helo_default = super::cmd::helo_name(s);
    let steps: Vec<Step> = vec![
        (
            "Step 1/5: say hello. HELO tells the server the name of your machine.",
            "Your host name for HELO",
            Some(helo_default),
            (|a: &str| Some(format!("helo {a}"))),
        ),
        (
            "Step 2/5: MAIL FROM names the sender of the envelope (where bounces go).",
            "Sender address (MAIL FROM)",
            None,
            (|a: &str| (!a.is_empty()).then(|| format!("from {a}"))),
        ),
        (
            "Step 3/5: RCPT TO names a recipient; the server accepts or refuses each one.",
            "Recipient address (RCPT TO)",
            None,
            (|a: &str| (!a.is_empty()).then(|| format!("to {}", shell_quote(a)))),
        ),
    ];
    for (explain, question, default, make) in &steps {
        match step(s, input, explain, question, default.as_deref(), make) {
            Some(Ok(())) => {}
            Some(Err(f)) => return f.kind.exit_code(),
            None => {
                report(s, &ended(), None);
                return super::EXIT_LOCAL;
            }
        }
    }
    // More recipients.
    loop {
        let answer = match input.continuation("Another recipient (empty line when done): ") {
            Line::Text(t) => t.trim().to_string(),
            _ => {
                report(s, &ended(), None);
                return super::EXIT_LOCAL;
            }
        };
        if answer.is_empty() {
            break;
        }
        if let Err(f) = execute_line(s, input, &format!("to {}", shell_quote(&answer))) {
            report(s, &f, None);
            if !s.is_open() {
                return f.kind.exit_code();
            }
        }
    }
    s.out
        .note("Step 4/5: the message. The subject goes in a header; the text follows.");
    let subject = match input.continuation("Subject: ") {
        Line::Text(t) => t,
        _ => {
            report(s, &ended(), None);
            return super::EXIT_LOCAL;
        }
    };
    if !subject.trim().is_empty()
        && let Err(f) = execute_line(s, input, &format!("subject {subject}"))
    {
        report(s, &f, None);
    }
    s.out.note(
        "In SMTP the server reads message lines until one holding only '.': so does this prompt.",
    );
    if let Err(f) = execute_line(s, input, "body") {
        report(s, &f, None);
        return f.kind.exit_code();
    }
    s.out
        .note("Step 5/5: attachments. Type a file path per line (Tab completes); an empty line when done.");
    while let Line::Text(t) = input.continuation("Attachment path: ") {
        let answer = t.trim().to_string();
        if answer.is_empty() {
            break;
        }
        if let Err(f) = execute_line(s, input, &format!("attach {}", shell_quote(&answer))) {
            report(s, &f, None);
        }
    }
    s.out
        .note("Sending: DATA, the message, a final '.', then QUIT.");
    match execute_line(s, input, "send") {
        Ok(()) => {
            s.out
                .ok("done: the message was accepted. `smtpsh` gives you the full shell.");
            super::EXIT_OK
        }
        Err(f) => {
            report(s, &f, None);
            f.kind.exit_code()
        }
    }
}

/// One question: explanation, question, default answer, and how the
/// answer becomes a shell command (`None`: ask again).
type Step = (
    &'static str,
    &'static str,
    Option<String>,
    fn(&str) -> Option<String>,
);

/// Quotes a typed answer as one shell word.
fn shell_quote(s: &str) -> String {
    shlex::try_quote(s).map_or_else(|_| s.to_string(), |q| q.into_owned())
}
