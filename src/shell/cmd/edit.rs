//! `edit [--html]`: the text body (or the HTML) in the user's editor.
//!
//! The text goes into a private temporary file (mode 0600, removed
//! afterwards), the editor (`$VISUAL`, else `$EDITOR`, else `vi`) runs on
//! the terminal, and the file is read back: UTF-8 without NUL, or the
//! draft stays as it was. An editor that exits with a failure status
//! changes nothing either. In a script there is no one to type: `edit` is
//! refused there.

use super::draft::{check_text, set_body, set_html};
use super::record_line;
use crate::shell::args::Args;
use crate::shell::failure::Failure;
use crate::shell::input::Input;
use crate::shell::session::Session;
use std::ffi::OsString;
use std::io::Write;
use std::process::Command;

/// `edit [--html]`.
pub fn edit(s: &mut Session, input: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let html = a.flag("--html");
    if !input.interactive() {
        return Err(Failure::local(
            "`edit` needs a terminal for the editor, and a script has none",
        )
        .hint(if html {
            "use `body --html FILE`, or `body --html` and the lines, ending with `.`"
        } else {
            "use `body --file PATH`, or `body` and the lines, ending with `.`"
        }));
    }
    let editor = editor_command(std::env::var_os("VISUAL"), std::env::var_os("EDITOR"));
    let mut current = if html {
        s.draft.html.clone().unwrap_or_default()
    } else {
        s.draft.body.clone()
    };
    // Editors expect (and add) a final line break: give it to them, so
    // leaving the editor without a change changes nothing.
    if !current.is_empty() && !current.ends_with('\n') {
        current.push('\n');
    }
    let suffix = if html { ".html" } else { ".txt" };
    let edited = edit_text(&editor, &current, suffix)?;
    if edited == current {
        s.out.note("no change");
        return Ok(());
    }
    record_text(s, if html { "body --html" } else { "body" }, &edited);
    if html {
        set_html(s, edited);
    } else {
        set_body(s, edited);
    }
    Ok(())
}

/// The editor to run: `$VISUAL`, else `$EDITOR` (each when set and not
/// blank), else `vi`. It may hold arguments (`code --wait`): it is run by
/// `sh`, as git runs it.
pub fn editor_command(visual: Option<OsString>, editor: Option<OsString>) -> OsString {
    [visual, editor]
        .into_iter()
        .flatten()
        .find(|v| !v.to_string_lossy().trim().is_empty())
        .unwrap_or_else(|| OsString::from("vi"))
}

/// Writes `text` into a private temporary file named `*SUFFIX`, runs
/// `editor` on it with the terminal, and returns what the file holds when
/// it exits successfully. Refused: an editor that cannot start or fails,
/// a file that is not UTF-8 or holds NUL.
pub fn edit_text(editor: &OsString, text: &str, suffix: &str) -> Result<String, Failure> {
    let unchanged = "the draft is unchanged";
    let mut file = tempfile::Builder::new()
        .prefix("smtpsh-edit-")
        .suffix(suffix)
        .tempfile()
        .map_err(|e| Failure::local(format!("cannot make a temporary file: {e}")))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let f = file.as_file_mut();
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .and_then(|()| f.write_all(text.as_bytes()))
            .and_then(|()| f.flush())
            .map_err(|e| Failure::local(format!("cannot write the temporary file: {e}")))?;
    }
    let shown = editor.to_string_lossy().into_owned();
    let mut script = editor.clone();
    script.push(" \"$@\"");
    let status = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg(&shown)
        .arg(file.path())
        .status()
        .map_err(|e| {
            Failure::local(format!("cannot run the editor {shown:?}: {e}")).hint(unchanged)
        })?;
    if !status.success() {
        return Err(
            Failure::local(format!("the editor {shown:?} exited with {status}")).hint(format!(
                "{unchanged} (set $VISUAL or $EDITOR to the editor you use)"
            )),
        );
    }
    let bytes = std::fs::read(file.path()).map_err(|e| {
        Failure::local(format!("cannot read the edited text back: {e}")).hint(unchanged)
    })?;
    let edited = String::from_utf8(bytes).map_err(|_| {
        Failure::local("the edited text is not UTF-8")
            .hint(format!("{unchanged}; save the file as UTF-8 in the editor"))
    })?;
    check_text(&edited).map_err(|f| f.hint(unchanged))?;
    Ok(edited)
}

/// A recording gets what `edit` produced as the `body` (or `body --html`)
/// it stands for, so the script replays without an editor. A text with a
/// line that is only `.` cannot be typed that way: then a comment says so.
fn record_text(s: &mut Session, command: &str, text: &str) {
    if text.lines().any(|l| l == ".") {
        record_line(
            s,
            &format!("# edit: the text has a line with only '.', which `{command}` cannot replay"),
        );
        return;
    }
    record_line(s, command);
    for line in text.lines() {
        record_line(s, line);
    }
    record_line(s, ".");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// An editor: a shell script that runs `body` with the file as `$1`.
    fn script(dir: &std::path::Path, body: &str) -> OsString {
        let p = dir.join("editor.sh");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p.into_os_string()
    }

    #[test]
    fn the_editor_is_visual_then_editor_then_vi() {
        let v = |s: &str| Some(OsString::from(s));
        assert_eq!(editor_command(v("nano"), v("ed")), "nano");
        assert_eq!(editor_command(v(" "), v("ed")), "ed");
        assert_eq!(editor_command(None, v("code --wait")), "code --wait");
        assert_eq!(editor_command(None, v("")), "vi");
        assert_eq!(editor_command(None, None), "vi");
    }

    #[test]
    fn the_text_goes_to_a_private_file_and_comes_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("seen");
        let ed = script(
            dir.path(),
            &format!(
                "stat -c %a \"$1\" > '{log}'; cat \"$1\" >> '{log}'; \
                 case \"$1\" in *.html) ;; *) exit 9;; esac; printf 'new ✓\\n' >> \"$1\"",
                log = log.display()
            ),
        );
        let got = edit_text(&ed, "old\n", ".html").expect("edited");
        assert_eq!(got, "old\nnew ✓\n");
        assert_eq!(std::fs::read_to_string(&log).expect("log"), "600\nold\n");
    }

    #[test]
    fn a_failing_editor_or_bad_text_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fails = script(dir.path(), "echo changed > \"$1\"; exit 3");
        let e = edit_text(&fails, "keep", ".txt").expect_err("exit 3");
        assert!(e.message.contains("exited with"), "{}", e.message);
        let binary = script(dir.path(), "printf '\\377\\376' > \"$1\"");
        let e = edit_text(&binary, "keep", ".txt").expect_err("not UTF-8");
        assert!(e.message.contains("not UTF-8"), "{}", e.message);
        let nul = script(dir.path(), "printf 'a\\000b' > \"$1\"");
        let e = edit_text(&nul, "keep", ".txt").expect_err("NUL");
        assert!(e.message.contains("NUL"), "{}", e.message);
        let missing = OsString::from("/nonexistent/editor");
        assert!(edit_text(&missing, "keep", ".txt").is_err());
    }
}
