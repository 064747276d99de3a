//! How a script's process ended → what the reports say about it.
//!
//! The exit status says what kind of ending it was (smtpsh's own: 0 ok,
//! 1 local error, 3 connection, 4 refused, 5 a check failed, 130
//! interrupted; anything else, or a signal, is a crash). Standard error
//! says where and why: smtpsh prints `*** FILE:LINE: message`, hints
//! indented by four spaces, and `*** stopped at FILE:LINE (exit status
//! N)`. The transcript says which command that line held (`FILE:LINE>
//! command`) and, for a script that was killed, what it was doing.

use super::child::{End, Ended};
use crate::text;
use std::time::Duration;

/// What became of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Exit status 0.
    Passed,
    /// It stopped at a failure of its own (exit status 1, 3, 4 or 5).
    Failed(Failure),
    /// Killed at its timeout.
    TimedOut {
        /// The timeout.
        after: Duration,
        /// The command it was running (`FILE:LINE` and the command).
        at: Option<(String, String)>,
    },
    /// A signal, a panic, an exit status smtpsh never gives, or it could
    /// not start.
    Crashed {
        /// What happened, in words.
        how: String,
    },
    /// Stopped by Ctrl-C or SIGTERM while it ran.
    Interrupted {
        /// The command it was running.
        at: Option<(String, String)>,
    },
    /// Never started.
    NotRun {
        /// Why not.
        why: String,
    },
}

/// The kind of failure, from smtpsh's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 1: a mistake in the script or on this machine (unknown command,
    /// missing file).
    Local,
    /// 3: could not reach the server, or lost it.
    Connection,
    /// 4: the server refused a command that had to succeed.
    Refused,
    /// 5: an `expect` or an `inbox` check failed.
    Check,
}

impl Kind {
    /// The kind an exit status means, if it is one of these.
    pub fn of_status(status: i32) -> Option<Kind> {
        match status {
            1 => Some(Kind::Local),
            3 => Some(Kind::Connection),
            4 => Some(Kind::Refused),
            5 => Some(Kind::Check),
            _ => None,
        }
    }
    /// A short name (JUnit's failure `type`, TAP's diagnostics).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Local => "local error",
            Kind::Connection => "connection error",
            Kind::Refused => "refused by the server",
            Kind::Check => "check failed",
        }
    }
    /// Whether it is an assertion about the server that did not hold
    /// (JUnit `failure`), rather than a test that could not do its job
    /// (JUnit `error`).
    pub fn is_assertion(self) -> bool {
        matches!(self, Kind::Refused | Kind::Check)
    }
}

/// Where and why a script stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The kind.
    pub kind: Kind,
    /// smtpsh's exit status.
    pub status: i32,
    /// `FILE:LINE`, when smtpsh said.
    pub location: Option<String>,
    /// The command on that line, from the transcript.
    pub command: Option<String>,
    /// What smtpsh said went wrong (the reply, or the error).
    pub message: String,
    /// Its hints.
    pub hints: Vec<String>,
}

/// How bad an outcome is, for reports that tell failures from errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Passed.
    Pass,
    /// An assertion did not hold: the server said something unexpected.
    Failure,
    /// The test could not do its job (script error, no connection,
    /// timeout, crash, interrupt).
    Error,
    /// Not run.
    Skipped,
}

/// A script's outcome, with what its process left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What became of it.
    pub verdict: Verdict,
    /// How long it ran.
    pub elapsed: Duration,
    /// The end of its standard error (lossy UTF-8, as printed).
    pub stderr: String,
    /// Whether the start of it was dropped.
    pub stderr_cut: bool,
}

impl Outcome {
    /// Reads an ended process; `transcript` is what it logged (for the
    /// failing command), `timeout` its limit.
    pub fn of(ended: &Ended, transcript: &str, timeout: Duration) -> Outcome {
        let stderr = String::from_utf8_lossy(&ended.stderr).into_owned();
        let verdict = match &ended.end {
            End::Exited(0) => Verdict::Passed,
            End::Exited(130) | End::Stopped => Verdict::Interrupted {
                at: last_command(transcript),
            },
            End::Exited(code) => match Kind::of_status(*code) {
                Some(kind) => Verdict::Failed(failure(kind, *code, &stderr, transcript)),
                None => Verdict::Crashed {
                    how: exit_words(*code),
                },
            },
            End::Signaled { signal, core } => Verdict::Crashed {
                how: signal_words(*signal, *core),
            },
            End::TimedOut => Verdict::TimedOut {
                after: timeout,
                at: last_command(transcript),
            },
            End::NotStarted(why) => Verdict::Crashed { how: why.clone() },
        };
        Outcome {
            verdict,
            elapsed: ended.elapsed,
            stderr,
            stderr_cut: ended.stderr_cut,
        }
    }
    /// A script that was never started.
    pub fn not_run(why: &str) -> Outcome {
        Outcome {
            verdict: Verdict::NotRun {
                why: why.to_string(),
            },
            elapsed: Duration::ZERO,
            stderr: String::new(),
            stderr_cut: false,
        }
    }
    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Passed
    }
    /// How bad it is.
    pub fn severity(&self) -> Severity {
        match &self.verdict {
            Verdict::Passed => Severity::Pass,
            Verdict::Failed(f) if f.kind.is_assertion() => Severity::Failure,
            Verdict::NotRun { .. } => Severity::Skipped,
            _ => Severity::Error,
        }
    }
    /// The one word for it: `ok`, `FAIL`, `TIMEOUT`, `CRASH`, `STOPPED`
    /// (interrupted), `SKIPPED` (not run).
    pub fn label(&self) -> &'static str {
        match self.verdict {
            Verdict::Passed => "ok",
            Verdict::Failed(_) => "FAIL",
            Verdict::TimedOut { .. } => "TIMEOUT",
            Verdict::Crashed { .. } => "CRASH",
            Verdict::Interrupted { .. } => "STOPPED",
            Verdict::NotRun { .. } => "SKIPPED",
        }
    }
    /// A short name for the kind of outcome (JUnit's `type`).
    pub fn kind_name(&self) -> &'static str {
        match &self.verdict {
            Verdict::Passed => "passed",
            Verdict::Failed(f) => f.kind.name(),
            Verdict::TimedOut { .. } => "timeout",
            Verdict::Crashed { .. } => "crash",
            Verdict::Interrupted { .. } => "interrupted",
            Verdict::NotRun { .. } => "not run",
        }
    }
    /// The location it stopped at, if known.
    pub fn location(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Failed(f) => f.location.as_deref(),
            Verdict::TimedOut {
                at: Some((loc, _)), ..
            }
            | Verdict::Interrupted { at: Some((loc, _)) } => Some(loc),
            _ => None,
        }
    }
    /// Why it did not pass, on one line: `fail.smtp:5 \`expect 550\`:
    /// expected 550, got 250 ...`, `timed out after 2 s at hang.smtp:1
    /// \`connect ...\``, `killed by signal SIGSEGV`. Empty when it passed.
    pub fn reason(&self) -> String {
        match &self.verdict {
            Verdict::Passed => String::new(),
            Verdict::Failed(f) => match (&f.location, &f.command) {
                (Some(loc), Some(cmd)) => format!("{loc} `{cmd}`: {}", f.message),
                (Some(loc), None) => format!("{loc}: {}", f.message),
                _ => f.message.clone(),
            },
            Verdict::TimedOut { after, at } => {
                format!("timed out after {} s{}", after.as_secs(), at_words(at))
            }
            Verdict::Crashed { how } => how.clone(),
            Verdict::Interrupted { at } => format!("interrupted{}", at_words(at)),
            Verdict::NotRun { why } => why.clone(),
        }
    }
    /// The last `n` lines of standard error, escaped for a terminal.
    pub fn stderr_tail(&self, n: usize) -> Vec<String> {
        let lines: Vec<&str> = self.stderr.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| text::escape(l.as_bytes()))
            .collect()
    }
}

/// The failure smtpsh described on standard error (`stderr`), with the
/// failing command from `transcript`.
pub fn failure(kind: Kind, status: i32, stderr: &str, transcript: &str) -> Failure {
    let lines: Vec<&str> = stderr.lines().collect();
    // `*** stopped at FILE:LINE (exit status N)`: the location, certainly.
    let stopped_at = lines.iter().rev().find_map(|l| {
        l.strip_prefix("*** stopped at ")?
            .rsplit_once(" (exit status ")
            .map(|(loc, _)| loc.to_string())
    });
    let is_error = |l: &&str| l.starts_with("*** ") && !l.starts_with("*** stopped at ");
    // The error line: the last at that location; else the last that has a
    // location; else the last at all.
    let chosen = stopped_at
        .as_ref()
        .and_then(|loc| {
            let prefix = format!("*** {loc}: ");
            lines
                .iter()
                .rposition(|l| is_error(l) && l.starts_with(&prefix))
                .map(|i| (i, Some(loc.clone()), prefix.len()))
        })
        .or_else(|| {
            lines.iter().enumerate().rev().find_map(|(i, l)| {
                let rest = l.strip_prefix("*** ").filter(|_| is_error(l))?;
                let (loc, _) = split_location(rest)?;
                Some((i, Some(loc.to_string()), 4 + loc.len() + 2))
            })
        })
        .or_else(|| lines.iter().rposition(is_error).map(|i| (i, None, 4)));
    let Some((index, location, skip)) = chosen else {
        return Failure {
            kind,
            status,
            location: stopped_at.clone(),
            command: stopped_at.and_then(|loc| command_at(transcript, &loc)),
            message: format!("{} (exit status {status})", kind.name()),
            hints: Vec::new(),
        };
    };
    let line = lines[index];
    let message = text::escape(line.get(skip..).unwrap_or(line).as_bytes());
    let hints = lines[index + 1..]
        .iter()
        .map_while(|l| l.strip_prefix("    "))
        .map(|h| text::escape(h.as_bytes()))
        .collect();
    let location = location.or(stopped_at);
    Failure {
        kind,
        status,
        command: location.as_deref().and_then(|l| command_at(transcript, l)),
        location,
        message,
        hints,
    }
}

/// `FILE:LINE: message` → (`FILE:LINE`, `message`), the first `:DIGITS: `
/// ending the location (a file name with a colon in it still works, one
/// with `:DIGITS: ` in it does not).
fn split_location(text: &str) -> Option<(&str, &str)> {
    let mut from = 0;
    while let Some(i) = text[from..].find(':').map(|i| i + from) {
        let digits = text[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
        let after = i + 1 + digits;
        if digits > 0 && text[after..].starts_with(": ") && i > 0 {
            return Some((&text[..after], &text[after + 2..]));
        }
        from = i + 1;
    }
    None
}

/// A transcript line's text without its timestamp.
fn untimed(line: &str) -> &str {
    line.split_once(' ').map_or(line, |(_, rest)| rest)
}

/// The command logged at `location` (`FILE:LINE> command`), the last time.
pub fn command_at(transcript: &str, location: &str) -> Option<String> {
    let prefix = format!("{location}> ");
    transcript.lines().rev().find_map(|l| {
        untimed(l)
            .strip_prefix(&prefix)
            .map(|c| text::escape(c.as_bytes()))
    })
}

/// The last command logged (`FILE:LINE`, command): what a killed script
/// was doing.
pub fn last_command(transcript: &str) -> Option<(String, String)> {
    transcript.lines().rev().find_map(|l| {
        let line = untimed(l);
        if line.starts_with(['<', ' ', '=', '*']) {
            return None;
        }
        let (place, cmd) = line.split_once("> ")?;
        let (_, number) = place.rsplit_once(':')?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((text::escape(place.as_bytes()), text::escape(cmd.as_bytes())))
    })
}

/// ` at FILE:LINE \`command\``, or nothing.
fn at_words(at: &Option<(String, String)>) -> String {
    at.as_ref()
        .map(|(loc, cmd)| format!(" at {loc} `{cmd}`"))
        .unwrap_or_default()
}

/// `exited with status N`, with what it usually means.
fn exit_words(code: i32) -> String {
    match code {
        101 => format!("exited with status {code} (smtpsh panicked: a bug, please report it)"),
        2 => format!("exited with status {code} (smtpsh refused its command line)"),
        _ => format!("exited with status {code}, which smtpsh never gives"),
    }
}

/// `killed by signal SIGSEGV (core dumped)`.
fn signal_words(signal: i32, core: bool) -> String {
    let name = nix::sys::signal::Signal::try_from(signal)
        .map_or_else(|_| signal.to_string(), |s| s.as_str().to_string());
    let core = if core { " (core dumped)" } else { "" };
    format!("killed by signal {name}{core}")
}

#[cfg(test)]
mod tests;
