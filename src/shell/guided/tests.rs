//! The walk-through in-process: answers from a script, the connection to a
//! [`MemoryServer`], and what the server received and the learner saw.

use super::walk;
use crate::shell::input::ScriptInput;
use crate::shell::output::Captured;
use crate::shell::session::{Live, Session};
use crate::smtp::conn::memory::{MemoryServer, greeted};

/// A session on `server` (greeting read).
fn on(server: &MemoryServer) -> (Session, Captured) {
    let (mut s, out) = Session::for_tests();
    let mut conn = server.connection();
    greeted(&mut conn).expect("greeting");
    s.live = Some(Live { conn, mx: None });
    (s, out)
}

/// Walks with these answers; the exit status and everything shown.
fn answers(server: &MemoryServer, lines: &[&str]) -> (i32, String, Session) {
    let (mut s, out) = on(server);
    let mut input =
        ScriptInput::from_lines("answers", lines.iter().map(|l| l.to_string()).collect());
    let status = walk(&mut s, &mut input);
    (status, out.take(), s)
}

#[test]
fn both_answer_forms_back_and_the_script_at_the_end() {
    let server = MemoryServer::default();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "attached\n").expect("write");
    let path = file.display().to_string();
    let (status, shown, _) = answers(
        &server,
        &[
            "help",
            "HELO student.example",
            "MAIL FROM:<alice@example.com>",
            // Back to the sender: the server forgets it (RSET).
            "back",
            "alice@example.org",
            "RCPT TO:<bob@example.com>",
            "carol@example.com",
            "",
            "Subject: Guided ${HOME}",
            "help",
            "first line",
            ".dotted",
            ".",
            &format!("attach {path}"),
            "",
        ],
    );
    assert_eq!(status, 0, "{shown}");
    assert_eq!(
        server.commands(),
        [
            "HELO student.example",
            "MAIL FROM:<alice@example.com>",
            "RSET",
            "MAIL FROM:<alice@example.org>",
            "RCPT TO:<bob@example.com>",
            "RCPT TO:<carol@example.com>",
            "DATA",
            "QUIT",
        ]
    );
    let message = String::from_utf8_lossy(&server.messages()[0]).into_owned();
    assert!(message.contains("Subject: Guided ${HOME}\r\n"), "{message}");
    assert!(message.contains("first line\r\n..dotted\r\n"), "{message}");
    assert!(message.contains("notes.txt"), "{message}");
    // `help` explained the step, each reply was explained in a line.
    assert!(
        shown.contains("`HELO student.example`, or just the name"),
        "{shown}"
    );
    assert!(
        shown.contains("`help`, `back` and `exit` work on the first line"),
        "{shown}"
    );
    assert!(
        shown.contains("250: OK, the server knows your name"),
        "{shown}"
    );
    assert!(shown.contains("221 is its goodbye"), "{shown}");
    // The same message as a script, one command a line, `$` kept literal.
    let script = format!(
        "connect HOST\nhelo student.example\nfrom alice@example.org\nto bob@example.com\n\
         to carol@example.com\nsubject Guided $${{HOME}}\nbody\nfirst line\n.dotted\n.\n\
         attach {}\nsend\n",
        super::answer::quote(&path)
    );
    assert!(shown.contains(&script), "{shown}");
}

#[test]
fn a_refusal_is_explained_and_asked_again() {
    let server = MemoryServer::default().answer("RCPT TO:<nobody", "550 5.1.1 no such user");
    let (status, shown, _) = answers(&server, &["", "a@example.com", "nobody@example.com"]);
    // From a pipe a refusal ends the walk with its status, after QUIT.
    assert_eq!(status, 4, "{shown}");
    assert!(shown.contains("550: refused for good"), "{shown}");
    assert_eq!(server.commands().last().map(String::as_str), Some("QUIT"));
}

#[test]
fn exit_or_the_end_of_input_says_quit_and_fails() {
    for last in [Some("exit"), Some("QUIT"), None] {
        let server = MemoryServer::default();
        let mut lines = vec!["student.example", "a@example.com"];
        lines.extend(last);
        let (status, shown, s) = answers(&server, &lines);
        assert_eq!(status, 1, "{last:?}: {shown}");
        assert_eq!(
            server.commands(),
            ["HELO student.example", "MAIL FROM:<a@example.com>", "QUIT"],
            "{last:?}"
        );
        assert!(shown.contains("221: the server says goodbye"), "{shown}");
        assert!(shown.contains("the message was not sent"), "{shown}");
        assert!(!s.is_open());
    }
}

#[test]
fn back_at_the_first_step_and_a_wrong_answer_stay_put() {
    let server = MemoryServer::default();
    let (status, shown, _) = answers(&server, &["back", "two words", "exit"]);
    assert_eq!(status, 1);
    assert!(shown.contains("this is the first step"), "{shown}");
    assert!(shown.contains("the name is one word"), "{shown}");
    assert_eq!(server.commands(), ["QUIT"]);
}

#[test]
fn back_from_the_text_to_the_subject_forgets_it() {
    let server = MemoryServer::default();
    let (status, shown, _) = answers(
        &server,
        &[
            "",
            "a@example.com",
            "b@example.com",
            "",
            "wrong subject",
            "back",
            "Right subject",
            "DATA",
            "hello",
            ".",
            "",
        ],
    );
    assert_eq!(status, 0, "{shown}");
    assert!(shown.contains("DATA is sent for you at the end"), "{shown}");
    let message = String::from_utf8_lossy(&server.messages()[0]).into_owned();
    assert!(message.contains("Subject: Right subject\r\n"), "{message}");
    assert!(!message.contains("wrong"), "{message}");
    // Going back to the subject asked nothing of the server.
    assert!(!server.commands().contains(&"RSET".to_string()));
}

#[test]
fn an_answer_holding_a_line_break_sends_nothing() {
    let server = MemoryServer::default();
    let (status, shown, _) = answers(&server, &["student.example\r\nMAIL FROM:<x@y.org>"]);
    assert_eq!(status, 1, "{shown}");
    assert_eq!(server.commands(), ["QUIT"]);
}
