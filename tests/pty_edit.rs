//! `edit` through a pseudo-terminal, as a person uses it: the editor
//! (`$EDITOR`, a shell script here) gets the terminal and a private file,
//! the text comes back into the draft, a failing editor changes nothing,
//! and a recording replays the result without an editor.

#[path = "support/pty.rs"]
mod pty;
use pty::{PROMPT_START, type_line};

use expectrl::{Eof, Expect, Session};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The editor: refuses to run without a terminal or on a file others can
/// read; fails when `fail` exists; otherwise adds a line to a text file
/// and writes HTML into an `.html` one.
fn editor(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("editor.sh");
    let script = format!(
        "#!/bin/sh\n\
         [ -t 0 ] && [ -t 1 ] || exit 7\n\
         [ \"$(stat -c %a \"$1\")\" = 600 ] || exit 8\n\
         [ -e '{fail}' ] && exit 1\n\
         case \"$1\" in\n\
         *.html) printf '<p>Hi <b>there</b> &amp; welcome</p>\\n' > \"$1\" ;;\n\
         *) printf 'edited ✓\\n' >> \"$1\" ;;\n\
         esac\n",
        fail = dir.join("fail").display()
    );
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn edit_runs_the_editor_on_the_terminal_and_reads_the_text_back() {
    let home = tempfile::tempdir().unwrap();
    let ed = editor(home.path());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.args(["--color", "never", "--no-history"])
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("TERM", "xterm-256color")
        .env("EDITOR", &ed)
        .env_remove("VISUAL");
    let mut s = Session::spawn(cmd).expect("spawn smtpsh in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s.expect(PROMPT_START).expect("first prompt");

    let rec = home.path().join("r.smtp");
    type_line(&mut s, &format!("record {}", rec.display()));
    type_line(&mut s, "body first line");
    let out = type_line(&mut s, "edit");
    assert!(out.contains("body set (2 lines"), "{out}");
    let out = type_line(&mut s, "edit --html");
    assert!(
        out.contains("HTML set (1 line") && out.contains("multipart/alternative"),
        "{out}"
    );
    std::fs::write(home.path().join("fail"), b"").unwrap();
    let out = type_line(&mut s, "edit");
    assert!(out.contains("exited with"), "{out}");
    assert!(out.contains("the draft is unchanged"), "{out}");
    let out = type_line(&mut s, "status");
    assert!(out.contains("body:       22 bytes"), "{out}");
    assert!(out.contains("html:       "), "{out}");
    type_line(&mut s, "record stop");
    s.send_line("new").unwrap();
    s.expect(PROMPT_START).unwrap();
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();

    let recorded = std::fs::read_to_string(&rec).unwrap();
    assert!(
        recorded.contains(
            "body first line\nbody\nfirst line\nedited ✓\n.\nbody --html\n\
             <p>Hi <b>there</b> &amp; welcome</p>\n.\n"
        ),
        "{recorded}"
    );
    // The failed edit is no command to replay.
    assert_eq!(recorded.matches("\nbody\n").count(), 1, "{recorded}");
}
