//! `smtpsh --guided [HOST [PORT]]`: the classic SMTP exercise for
//! newcomers (HELO, MAIL FROM, RCPT TO, the message, attachments, QUIT),
//! one question a step. Each answer becomes the shell command it stands
//! for, so every server reply is shown as in the shell, and what it means
//! is said in one line; a refused answer is asked again. At every question
//! `help`, `back` and `exit` work (the words are read in [`answer`]); at
//! the end the same message is shown as an smtpsh script.
//!
//! Exit status: 0 once the message is sent, 1 when the learner leaves
//! before (`exit`, Ctrl-D), 130 on Ctrl-C, otherwise the failure's status
//! (3 the connection was lost, 4 refused: only when answers come from a
//! pipe, which is never asked twice).

mod answer;

use super::cmd::{self, send::connect_line};
use super::failure::{FailKind, Failure, closed_failure};
use super::helper::Editor;
use super::input::{Input, Line, ScriptInput};
use super::session::Session;
use super::{execute_line, report};
use crate::smtp::Closed;
use answer::{Said, said};
use std::io::IsTerminal;

/// Runs the walk-through, on the sandbox when no server was given;
/// returns the exit status.
pub fn run(s: &mut Session, no_history: bool) -> i32 {
    let _ = no_history; // Answers are never kept in the history.
    if !s.is_open() {
        s.out.note(
            "no server given: using the built-in sandbox (smtpsh --guided --sandbox); \
             give HOST [PORT] to practise on a real server",
        );
        if let Err(f) = cmd::inbox::sandbox_connection(s, false) {
            report(s, &f, None);
            return f.kind.exit_code();
        }
    }
    if std::io::stdin().is_terminal() {
        match Editor::new(true, s.out.color()) {
            Ok(mut ed) => walk(s, &mut ed),
            Err(e) => {
                s.out.error(&format!("cannot start the line editor: {e}"));
                super::EXIT_LOCAL
            }
        }
    } else {
        walk(s, &mut ScriptInput::from_stdin("<stdin>"))
    }
}

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Hello,
    Sender,
    Recipient,
    More,
    Subject,
    Text,
    Attachments,
}

const STAGES: [Stage; 7] = [
    Stage::Hello,
    Stage::Sender,
    Stage::Recipient,
    Stage::More,
    Stage::Subject,
    Stage::Text,
    Stage::Attachments,
];

impl Stage {
    /// What the step is about, said when it starts.
    fn intro(self) -> &'static str {
        match self {
            Stage::Hello => "Step 1/6: say hello. HELO tells the server the name of your machine.",
            Stage::Sender => {
                "Step 2/6: MAIL FROM names the sender of the envelope (where bounces go)."
            }
            Stage::Recipient => {
                "Step 3/6: RCPT TO names a recipient; the server accepts or refuses each one."
            }
            Stage::More => "More recipients? One RCPT TO each; an empty line when done.",
            Stage::Subject => {
                "Step 4/6: the message. Its header comes first: the subject (Enter for none)."
            }
            Stage::Text => {
                "Step 5/6: the text. In SMTP the server reads message lines until one holding \
                 only '.': so does this prompt."
            }
            Stage::Attachments => {
                "Step 6/6: attachments. Type a file path per line (Tab completes); an empty \
                 line when done."
            }
        }
    }
    /// The question.
    fn question(self) -> &'static str {
        match self {
            Stage::Hello => "Your host name for HELO",
            Stage::Sender => "Sender address (MAIL FROM)",
            Stage::Recipient => "Recipient address (RCPT TO)",
            Stage::More => "Another recipient (empty line when done)",
            Stage::Subject => "Subject",
            Stage::Text => "body",
            Stage::Attachments => "Attachment path (empty line when done)",
        }
    }
    /// What a 250 to this step's command means.
    fn accepted(self) -> Option<&'static str> {
        match self {
            Stage::Hello => Some("250: OK, the server knows your name; next, who sends the mail"),
            Stage::Sender => Some("250: OK, the sender is accepted; next, who receives it"),
            Stage::Recipient | Stage::More => {
                Some("250: OK, the server will take a message for this recipient")
            }
            _ => None,
        }
    }
    /// `help`: the forms an answer may take, with an example.
    fn help(self) -> &'static str {
        match self {
            Stage::Hello => {
                "Type the SMTP command `HELO student.example`, or just the name \
                 `student.example`; Enter takes the name shown."
            }
            Stage::Sender => {
                "Type the SMTP command `MAIL FROM:<alice@example.com>`, or just \
                 `alice@example.com`. `<>` is the null sender (bounces)."
            }
            Stage::Recipient | Stage::More => {
                "Type the SMTP command `RCPT TO:<bob@example.com>`, or just `bob@example.com`; \
                 one recipient an answer."
            }
            Stage::Subject => {
                "Type the subject, such as `Hello from smtpsh` (or the header `Subject: Hello`); \
                 Enter for none."
            }
            Stage::Text => {
                "Type the message a line at a time, then a line with only `.`. (`help`, `back` \
                 and `exit` work on the first line; later lines are text.)"
            }
            Stage::Attachments => {
                "Type a file's path (Tab completes it), such as `notes.txt`, or `attach \
                 notes.txt`; an empty line to send."
            }
        }
    }
}

/// How a step ended.
enum Next {
    /// Answered: on to the next step.
    Done,
    /// `back`.
    Back,
    /// `exit`, Ctrl-D or Ctrl-C (`Line::Interrupted`): QUIT and leave.
    Leave(Line),
    /// A failure that ends the walk (the connection is gone, or answers
    /// come from a pipe).
    Fail(Failure),
}

/// The walk-through's own memory, for `back` and the script at the end.
struct Walk {
    /// The draft as it was before each step.
    before: Vec<crate::mime::Draft>,
    /// The commands each step ran, as a script says them.
    script: Vec<Vec<String>>,
}

fn walk(s: &mut Session, input: &mut dyn Input) -> i32 {
    s.out.note(
        "The classic SMTP exercise, one step at a time: each answer becomes the smtpsh command \
         shown, and the server's reply is explained.",
    );
    s.out.note(
        "At every question: `help` explains, `back` returns to the previous step, `exit` (or \
         Ctrl-D) says QUIT and leaves.",
    );
    let mut w = Walk {
        before: vec![crate::mime::Draft::default(); STAGES.len()],
        script: vec![Vec::new(); STAGES.len()],
    };
    let mut i = 0;
    while let Some(&stage) = STAGES.get(i) {
        w.before[i] = s.draft.clone();
        w.script[i].clear();
        match ask(s, input, stage, &mut w.script[i]) {
            Next::Done => i += 1,
            Next::Back if i == 0 => s.out.note("this is the first step"),
            Next::Back => {
                i -= 1;
                if let Err(f) = undo(s, input, i, &w) {
                    report(s, &f, None);
                    return end(s, input, Next::Fail(f));
                }
            }
            other => return end(s, input, other),
        }
    }
    s.out
        .note("Sending: DATA, the message, a final '.', then QUIT.");
    match execute_line(s, input, "send") {
        Ok(()) => {
            s.out.note(
                "354 asked for the message; 250 after the '.' means the server took it \
                 (delivering it is now its job); 221 is its goodbye.",
            );
            s.out
                .ok("done: the message was accepted. `smtpsh` gives you the full shell.");
            show_script(s, &w);
            super::EXIT_OK
        }
        Err(f) => {
            report(s, &f, None);
            explain_reply(s, None);
            end(s, input, Next::Fail(f))
        }
    }
}

/// Back to `stage`: the draft as it was before it; the server forgets
/// the transaction (RSET) when the envelope is asked again.
fn undo(s: &mut Session, input: &mut dyn Input, stage: usize, w: &Walk) -> Result<(), Failure> {
    if let Some(d) = w.before.get(stage) {
        s.draft = d.clone();
    }
    let asks_envelope = stage <= 3;
    let open = s.conversation().and_then(|c| c.transaction()).is_some();
    if asks_envelope && open {
        s.out.note(
            "RSET makes the server forget the sender and recipients; what you answer again \
             is sent anew.",
        );
        execute_line(s, input, "rset")?;
    }
    Ok(())
}

/// Reads one answer (a path at the attachment step). At a terminal the
/// watcher shows what the server says meanwhile, and a connection the
/// server closes (an idle learner's 421) ends the walk at once, not at the
/// next answer: `Err` with the failure, its reply already shown and
/// explained.
fn read(
    s: &mut Session,
    input: &mut dyn Input,
    stage: Stage,
    prompt: &str,
) -> Result<Line, Failure> {
    let path = stage == Stage::Attachments;
    let Some(ed) = input.editor() else {
        return Ok(if path {
            input.path(prompt)
        } else {
            input.continuation(prompt)
        });
    };
    let shown = (prompt.to_string(), prompt.to_string());
    let (line, woke) = super::read_watched(s, ed, &shown, false, |ed| {
        if path {
            ed.path(prompt)
        } else {
            ed.continuation(prompt)
        }
    });
    let closed = s.conversation().and_then(|c| c.closed()).cloned();
    match (woke, closed) {
        (Some(_), Some(closed)) if line == Line::Interrupted => {
            if let Closed::ByServer(r) = &closed {
                s.out.note(answer::meaning(r.code));
            }
            Err(closed_failure(&closed))
        }
        _ => Ok(line),
    }
}

/// Asks `stage`'s question until it is answered.
fn ask(s: &mut Session, input: &mut dyn Input, stage: Stage, script: &mut Vec<String>) -> Next {
    s.out.note(stage.intro());
    if stage == Stage::Text {
        return text(s, input, script);
    }
    let default = (stage == Stage::Hello).then(|| cmd::helo_name(s));
    let prompt = match &default {
        Some(d) => format!("{} (Enter for {d}): ", stage.question()),
        None => format!("{}: ", stage.question()),
    };
    loop {
        let typed = match read(s, input, stage, &prompt) {
            Ok(Line::Text(t)) => t,
            Ok(other) => return Next::Leave(other),
            Err(f) => return Next::Fail(f),
        };
        let a = match said(&typed) {
            Said::Help => {
                s.out.note(stage.help());
                continue;
            }
            Said::Back => return Next::Back,
            Said::Exit => return Next::Leave(Line::Eof),
            Said::Answer(a) => a,
        };
        let command = match stage {
            Stage::Hello => {
                answer::greeting(a, default.as_deref().unwrap_or("localhost")).map(Some)
            }
            Stage::Sender => answer::sender(a).map(Some),
            Stage::Recipient => answer::recipient(a).map(Some),
            Stage::More if a.is_empty() => return Next::Done,
            Stage::More => answer::recipient(a).map(Some),
            Stage::Subject => Ok(answer::subject(a)),
            Stage::Attachments => Ok(answer::attachment(a)),
            Stage::Text => Ok(None),
        };
        let command = match command {
            Ok(Some(c)) => c,
            Ok(None) => return Next::Done,
            Err(why) => {
                s.out.warn(why);
                continue;
            }
        };
        match execute_line(s, input, &command) {
            Ok(()) => {
                explain_reply(s, Some(stage));
                script.push(answer::script_line(&command));
                if !matches!(stage, Stage::More | Stage::Attachments) {
                    return Next::Done;
                }
            }
            Err(f) => {
                report(s, &f, None);
                explain_reply(s, Some(stage));
                if f.kind == FailKind::Interrupted || !s.is_open() || !input.interactive() {
                    return Next::Fail(f);
                }
                s.out
                    .note("let's try that again (`help` shows the forms an answer may take)");
            }
        }
    }
}

/// The message text: lines until a lone `.`; the walk-through's words
/// only on the first line.
fn text(s: &mut Session, input: &mut dyn Input, script: &mut Vec<String>) -> Next {
    let mut lines: Vec<String> = Vec::new();
    loop {
        let typed = match read(s, input, Stage::Text, "body> ") {
            Ok(Line::Text(t)) => t,
            Ok(other) => return Next::Leave(other),
            Err(f) => return Next::Fail(f),
        };
        if lines.is_empty() {
            match said(&typed) {
                Said::Help => {
                    s.out.note(Stage::Text.help());
                    continue;
                }
                Said::Back => return Next::Back,
                Said::Exit => return Next::Leave(Line::Eof),
                Said::Answer(a) if a.eq_ignore_ascii_case("DATA") => {
                    s.out.note(
                        "DATA is sent for you at the end, just before the message: type the \
                         text now",
                    );
                    continue;
                }
                Said::Answer(_) => {}
            }
        }
        if typed == "." {
            break;
        }
        lines.push(typed);
    }
    if lines.is_empty() {
        s.out.note("no text: the message will have an empty body");
        return Next::Done;
    }
    let mut body = lines.clone();
    body.push(".".to_string());
    let mut from_answers = ScriptInput::from_lines("body", body.clone());
    match execute_line(s, &mut from_answers, "body") {
        Ok(()) => {
            script.push("body".to_string());
            script.extend(body);
            Next::Done
        }
        Err(f) => {
            report(s, &f, None);
            Next::Fail(f)
        }
    }
}

/// The reply to the command just run, explained in one line (a 250 as
/// what it means at `stage`).
fn explain_reply(s: &Session, stage: Option<Stage>) {
    let Some(code) = s.out.last_reply().map(|r| r.code) else {
        return;
    };
    match stage.and_then(Stage::accepted) {
        Some(said) if code == 250 => s.out.note(said),
        _ => s.out.note(answer::meaning(code)),
    }
}

/// Ends the walk: QUIT when the connection is still open (its 221
/// explained), and the exit status.
fn end(s: &mut Session, input: &mut dyn Input, why: Next) -> i32 {
    // A failure was reported where it happened.
    let status = match why {
        Next::Fail(f) => f.kind.exit_code(),
        Next::Leave(Line::Interrupted) => FailKind::Interrupted.exit_code(),
        _ => super::EXIT_LOCAL,
    };
    if s.is_open() {
        s.out.note("QUIT tells the server you are done.");
        if execute_line(s, input, "quit").is_ok() {
            explain_reply(s, None);
        }
    }
    s.out
        .warn("the message was not sent; `smtpsh --guided` starts again");
    status
}

/// The script that sends the same message, one command a line.
fn show_script(s: &Session, w: &Walk) {
    s.out.note(
        "The same message as an smtpsh script (save it as FILE and run `smtpsh -f FILE`; in the \
         shell, `record FILE` saves the commands you type):",
    );
    let connect = connect_line(s);
    let lines = std::iter::once(connect)
        .chain(w.script.iter().flatten().cloned())
        .chain(std::iter::once("send".to_string()));
    for line in lines {
        s.out.plain(&line);
    }
}

#[cfg(test)]
mod tests;
