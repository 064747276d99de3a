//! `record FILE`: the commands typed from now on, written as a script
//! that `smtpsh -f FILE` replays from any directory.
//!
//! Each command's lines (the command and any message lines it read) are
//! held until it ends, then written according to how it went: as typed
//! (relative paths made absolute) when it ran; followed by the `expect`
//! its reply satisfies when the server refused it (so the replay asserts
//! the same refusal and goes on), or after every command that got a reply
//! with `record FILE --expect`; as comments when it failed without a
//! reply (a typo, a missing file, a lost connection), so the replay never
//! stops where the session did not.

use crate::local::expand_tilde;
use crate::shell::args::{Args, parse_line, quote_word as quote};
use crate::shell::commands::{ArgStyle, Complete, Spec};
use crate::shell::failure::{FailKind, Failure};
use crate::shell::session::Session;
use crate::smtp::Reply;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An open recording.
#[derive(Debug)]
pub struct Recording {
    /// The file's absolute path.
    pub path: PathBuf,
    file: File,
    /// `--expect`: an `expect` line after each command that got a reply.
    expect: bool,
    /// The lines of the command running now, written when it ends.
    pending: Option<Vec<String>>,
}

impl Recording {
    /// Writes `line` now, or holds it with the running command's.
    pub fn line(&mut self, line: &str) -> std::io::Result<()> {
        match self.pending.as_mut() {
            Some(p) => {
                p.push(line.to_string());
                Ok(())
            }
            None => writeln!(self.file, "{line}"),
        }
    }
}

/// `record FILE [--append|--force] [--expect] | record stop`.
pub fn record(s: &mut Session, a: Args) -> Result<(), Failure> {
    let target = a.words.first().map_or("", String::as_str);
    if target == "stop" && a.opts.is_empty() {
        return match s.record.take() {
            Some(rec) => {
                s.out.note(&format!(
                    "recording stopped; replay it with: smtpsh -f {}",
                    quote(&rec.path.display().to_string())
                ));
                Ok(())
            }
            None => Err(Failure::local("not recording").hint("start with: record FILE")),
        };
    }
    if let Some(rec) = &s.record {
        return Err(
            Failure::local(format!("already recording to {}", rec.path.display()))
                .hint("`record stop` ends it first"),
        );
    }
    let (append, force) = (a.flag("--append"), a.flag("--force"));
    if append && force {
        return Err(
            Failure::local("--append and --force cannot be used together")
                .hint("--append adds to the file, --force replaces it"),
        );
    }
    let path = absolute(&expand_tilde(target));
    let exists = fs::symlink_metadata(&path).is_ok();
    if exists && !append && !force {
        return Err(
            Failure::local(format!("{} already exists", path.display())).hint(format!(
                "`record {} --append` adds to it, `record {} --force` replaces it",
                quote(target),
                quote(target)
            )),
        );
    }
    if path.is_dir() {
        return Err(Failure::local(format!("{} is a directory", path.display()))
            .hint("record into a file, e.g. record session.smtp"));
    }
    let mut options = fs::OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| Failure::local(format!("cannot write {}: {e}", path.display())))?;
    let shown = quote(&path.display().to_string());
    let _ = writeln!(
        file,
        "# {} by smtpsh {} on {}; replay with: smtpsh -f {shown}",
        if append && exists {
            "recording resumed"
        } else {
            "recorded"
        },
        env!("CARGO_PKG_VERSION"),
        crate::clock::readable_unix(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        )
    );
    let expect = a.flag("--expect");
    s.record = Some(Recording {
        path: path.clone(),
        file,
        expect,
        pending: None,
    });
    s.out.note(&format!(
        "recording commands to {}{} (`record stop` ends it)",
        path.display(),
        if expect {
            ", each reply as an `expect` line"
        } else {
            ""
        }
    ));
    Ok(())
}

/// A command starts: `line` (already in its recorded form, or `None`
/// when the handler writes its own) is held until [`finish`].
pub fn begin(s: &mut Session, line: Option<String>) {
    if let Some(rec) = s.record.as_mut() {
        rec.pending = Some(line.into_iter().collect());
    }
}

/// The command ended with `result`: its lines are written as described
/// in the module's documentation.
pub fn finish(s: &mut Session, spec: &Spec, result: &Result<(), Failure>) {
    let last = s.out.last_reply().cloned();
    let Some(rec) = s.record.as_mut() else {
        return;
    };
    let Some(lines) = rec.pending.take() else {
        return;
    };
    if lines.is_empty() {
        return;
    }
    let mut out: Vec<String> = Vec::new();
    match (result, &last) {
        (Ok(()), Some(reply)) if rec.expect && !spec.judges_last_reply => {
            out.extend(lines);
            out.push(expect_line(reply));
        }
        (Ok(()), _) => out.extend(lines),
        (Err(f), Some(reply)) if f.kind == FailKind::Refused && reply.is_error() => {
            out.extend(lines);
            out.push(expect_line(reply));
        }
        (Err(f), _) => {
            out.push(format!("# failed, so not replayed: {}", f.message));
            out.extend(lines.iter().map(|l| format!("# {l}")));
        }
    }
    let written = out.iter().try_for_each(|l| writeln!(rec.file, "{l}"));
    if let Err(e) = written {
        let path = rec.path.display().to_string();
        s.record = None;
        s.out.warn(&format!("recording to {path} stopped: {e}"));
    }
}

/// A line that did not parse (a typo, a wrong option) is written as a
/// comment, unless it may hold a secret (`auth PLAIN alice hunter2`).
pub fn not_run(s: &mut Session, typed: &str, f: &Failure) {
    let lines = if crate::shell::may_hold_secret(typed) {
        vec!["# a line that may hold a secret was not recorded".to_string()]
    } else {
        vec![
            format!("# failed, so not replayed: {}", f.message),
            format!("# {typed}"),
        ]
    };
    if let Some(rec) = s.record.as_mut()
        && rec.pending.is_none()
    {
        let written = lines.iter().try_for_each(|l| writeln!(rec.file, "{l}"));
        if let Err(e) = written {
            let path = rec.path.display().to_string();
            s.record = None;
            s.out.warn(&format!("recording to {path} stopped: {e}"));
        }
    }
}

/// The `expect` line `reply` satisfies: its code, and its enhanced
/// status code when it has one.
pub fn expect_line(reply: &Reply) -> String {
    match reply.enhanced {
        Some(e) => format!("expect {} {e}", reply.code),
        None => format!("expect {}", reply.code),
    }
}

/// The form of a typed command line in a recording: as typed, but with
/// each relative path (a file argument, or the value of an option named
/// PATH, FILE or DIR) made absolute, so the script replays from any
/// directory. Paths holding a variable (`${DIR}/a.bin`) stay as typed.
pub fn recorded_form(typed: &str) -> String {
    let Ok((spec, args)) = parse_line(typed) else {
        return typed.to_string();
    };
    let path_option = |name: &str| {
        spec.options.iter().any(|o| {
            let mut it = o.split(' ');
            it.next() == Some(name)
                && it
                    .next()
                    .is_some_and(|meta| matches!(meta, "PATH" | "FILE" | "DIR"))
        })
    };
    if spec.args == ArgStyle::Rest {
        // `body --file PATH`: the one option of a free-text command.
        if let Some(path) = args.rest.strip_prefix("--file") {
            let path = crate::shell::args::unquote_rest(path.trim());
            if let Some(abs) = absolute_word(&path) {
                return format!("{} --file {}", args.typed, quote(&abs));
            }
        }
        return typed.to_string();
    }
    let mut changed = false;
    let mut words = vec![args.typed.clone()];
    // `cert save FILE`: the sub-command is a word, not a path.
    let subcommands = match spec.complete {
        Complete::Subcommands(subs) => subs,
        _ => &[],
    };
    for (i, w) in args.words.iter().enumerate() {
        let sub = i == 0 && subcommands.contains(&w.as_str());
        match absolute_word(w).filter(|_| spec.path_words && !sub) {
            Some(abs) => {
                changed = true;
                words.push(quote(&abs));
            }
            None => words.push(quote(w)),
        }
    }
    for (name, value) in &args.opts {
        words.push(name.clone());
        if let Some(v) = value {
            match absolute_word(v).filter(|_| path_option(name)) {
                Some(abs) => {
                    changed = true;
                    words.push(quote(&abs));
                }
                None => words.push(quote(v)),
            }
        }
    }
    if changed {
        words.join(" ")
    } else {
        typed.to_string()
    }
}

/// `word` as an absolute path when it is a relative one (not `-`, not
/// holding a variable).
fn absolute_word(word: &str) -> Option<String> {
    if word.is_empty() || word == "-" || word.contains('$') {
        return None;
    }
    let p = expand_tilde(word);
    if p.is_absolute() && !word.starts_with('~') {
        return None;
    }
    Some(absolute(&p).display().to_string())
}

/// `p` made absolute against the current directory (`.` and `..` left
/// to the file system: symbolic links keep their meaning).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::recorded_form;

    #[test]
    fn relative_paths_are_recorded_absolute_but_not_sub_commands() {
        let cwd = std::env::current_dir().expect("cwd");
        let abs = |p: &str| cwd.join(p).display().to_string();
        assert_eq!(
            recorded_form("cert save chain.pem"),
            format!("cert save {}", abs("chain.pem"))
        );
        assert_eq!(
            recorded_form("cert save chain.pem --force"),
            format!("cert save {} --force", abs("chain.pem"))
        );
        assert_eq!(recorded_form("cert show"), "cert show");
        assert_eq!(
            recorded_form("cert save /tmp/c.pem"),
            "cert save /tmp/c.pem"
        );
        assert_eq!(
            recorded_form("attach a.txt"),
            format!("attach {}", abs("a.txt"))
        );
        // A file named like a sub-command, in the place of a path, is a path.
        assert_eq!(
            recorded_form("cert save show"),
            format!("cert save {}", abs("show"))
        );
    }
}
