//! Output fitted to the terminal, through a pseudo-terminal of a given
//! size: `help`, `inbox`, `inbox N` and `status` at 80 and 60 columns
//! have no line wider than the terminal (the window resized between
//! commands, as a person does), and long output goes through `$PAGER`.

#[path = "support/pty.rs"]
mod pty;
use pty::PROMPT_START;

use expectrl::{Eof, Expect, Session};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use unicode_width::UnicodeWidthStr;

type Pty = expectrl::session::OsSession;

fn shell(home: &Path, pager: &str, cols: u16, rows: u16) -> Pty {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.arg("--no-history")
        .current_dir(home)
        .env("HOME", home)
        .env("SMTPSH_SANDBOX_DIR", home.join("sandbox"))
        .env("PAGER", pager)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR");
    let mut s = Session::spawn(cmd).expect("spawn smtpsh in a pty");
    s.get_process_mut()
        .set_window_size(cols, rows)
        .expect("window size");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s.expect(PROMPT_START).expect("first prompt");
    s
}

/// Types `line` + Enter; what was shown until the next prompt.
fn type_line(s: &mut Pty, line: &str) -> String {
    s.send(line).expect("type");
    s.send("\r").expect("enter");
    let cap = s
        .expect(PROMPT_START)
        .unwrap_or_else(|e| panic!("no prompt after {line:?}: {e}"));
    String::from_utf8_lossy(cap.before()).into_owned()
}

/// The text without terminal control sequences (colour, cursor moves,
/// modes) and carriage returns.
fn visible(text: &str) -> String {
    let csi = regex::Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r")
        .expect("regex");
    csi.replace_all(text, "").into_owned()
}

/// Fails if a line of `shown` is wider than `cols`.
fn assert_fits(shown: &str, cols: usize, what: &str) {
    let text = visible(shown);
    // Lines with the prompt are the line editor's (the line being typed,
    // redrawn at each key).
    for line in text.lines().filter(|l| !l.contains("smtpsh> ")) {
        assert!(
            line.width() <= cols,
            "{what} at {cols} columns: a line of {} columns:\n{line}\n---\n{text}",
            line.width()
        );
    }
}

/// A Maildir with two messages whose headers are long, one with an
/// attachment with a long name.
fn maildir(home: &Path) {
    let md = home.join("sandbox").join("Maildir");
    for d in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.join(d)).expect("maildir");
    }
    let long = "Quarterly figures for the board meeting, with the appendix on regional sales and the forecast";
    let one = format!(
        "Return-Path: <alice.longname@sales.example.com>\r\n\
         From: Alice Longname <alice.longname@sales.example.com>\r\n\
         To: bob.otherlongname@accounting.example.org, carol@example.net\r\n\
         Subject: {long}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         Hello, the figures are attached.\r\n\
         --b1\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name=\"q3.xlsx\"\r\n\
         Content-Disposition: attachment; filename=\"quarterly figures for the board meeting 2026 (final, v3).xlsx\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--b1--\r\n"
    );
    std::fs::write(md.join("new").join("1765000000.M1P1.host,S=1"), one).expect("write");
    let two = "From: x@example.com\r\nTo: y@example.com\r\nSubject: short\r\n\r\nhi\r\n";
    std::fs::write(md.join("new").join("1765000001.M2P1.host,S=2"), two).expect("write");
}

#[test]
fn help_inbox_and_status_fit_80_then_60_columns() {
    let home = tempfile::tempdir().expect("temp dir");
    maildir(home.path());
    // Tall enough that nothing is paged.
    let mut s = shell(home.path(), "cat", 80, 500);
    for &cols in &[80u16, 60] {
        s.get_process_mut()
            .set_window_size(cols, 500)
            .expect("resize");
        let c = usize::from(cols);
        let help = type_line(&mut s, "help");
        assert!(help.contains("Commands (help COMMAND"), "{help}");
        assert_fits(&help, c, "help");
        for line in [
            "help inbox",
            "help set",
            "inbox",
            "inbox 1",
            "inbox 1 --full",
            "subject A subject long enough to need more than one line at sixty columns, surely",
            "status",
        ] {
            let shown = type_line(&mut s, line);
            assert_fits(&shown, c, line);
        }
        let list = visible(&type_line(&mut s, "inbox"));
        assert!(list.contains("Quarterly fig"), "{list}");
        assert!(list.contains("alice.longnam"), "{list}");
        let tree = visible(&type_line(&mut s, "inbox 1"));
        assert!(tree.contains("sha256 "), "{tree}");
        assert!(tree.contains("--full"), "{tree}");
    }
    type_line(&mut s, "new");
    s.send_line("exit").expect("exit");
    s.expect(Eof).expect("end");
}

#[test]
fn output_taller_than_the_screen_goes_through_the_pager() {
    let home = tempfile::tempdir().expect("temp dir");
    let paged = home.path().join("paged.txt");
    let pager = format!("sh -c 'cat > \"{}\"'", paged.display());
    let mut s = shell(home.path(), &pager, 80, 24);
    // Short output: printed, no pager.
    let shown = type_line(&mut s, "help quit");
    assert!(visible(&shown).contains("quit"), "{shown}");
    assert!(!paged.exists());
    // `help` is taller than 24 rows: the pager gets it, colour and all.
    let shown = type_line(&mut s, "help");
    let text = std::fs::read_to_string(&paged).expect("the pager ran");
    assert!(text.contains("Commands (help COMMAND"), "{text}");
    assert!(text.contains("\x1b["), "colour passes through: {text:?}");
    assert!(!shown.contains("Commands (help COMMAND"), "{shown}");
    // `set pager off`: printed.
    std::fs::remove_file(&paged).expect("remove");
    type_line(&mut s, "set pager off");
    let shown = type_line(&mut s, "help");
    assert!(shown.contains("Commands (help COMMAND"), "{shown}");
    assert!(!paged.exists());
    s.send_line("exit").expect("exit");
    s.expect(Eof).expect("end");
}

#[test]
fn a_pager_that_cannot_start_is_reported_and_the_text_printed() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut s = shell(home.path(), "/nonexistent/pager -x", 80, 24);
    let shown = visible(&type_line(&mut s, "help"));
    assert!(
        shown.contains("cannot start the pager `/nonexistent/pager -x`"),
        "{shown}"
    );
    assert!(shown.contains("Commands (help COMMAND"), "{shown}");
    s.send_line("exit").expect("exit");
    s.expect(Eof).expect("end");
}

#[test]
fn a_script_on_a_terminal_is_never_paged() {
    let home = tempfile::tempdir().expect("temp dir");
    let paged = home.path().join("paged.txt");
    let pager = format!("sh -c 'cat > \"{}\"'", paged.display());
    // The terminal's size set before smtpsh starts.
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "stty rows 10 cols 80 && exec \"$0\" --no-history -c help",
    ])
    .arg(env!("CARGO_BIN_EXE_smtpsh"))
    .env("HOME", home.path())
    .env("PAGER", &pager)
    .env("TERM", "xterm-256color");
    let mut s = Session::spawn(cmd).expect("spawn smtpsh in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s.expect("connect sandbox").expect("help printed");
    s.expect(Eof).expect("end");
    assert!(!paged.exists(), "a script's output was paged");
}
