//! The report for people: a line per script as soon as it (and all before
//! it) are done, then a summary.
//!
//! ```text
//! running 3 scripts, 3 at a time (timeout 300 s each)
//! ok      t/pass.smtp (0.05 s)
//! FAIL    t/fail.smtp (0.04 s)
//!         t/fail.smtp:5 `expect 550`: expected 550, got 250 2.1.5 ok
//! TIMEOUT t/hang.smtp (2.00 s)
//!         timed out after 2 s at t/hang.smtp:1 `connect 127.0.0.1 2525`
//!
//! 3 scripts: 1 passed, 1 failed, 1 timed out in 2.1 s
//! ```
//!
//! A script that did not pass gets its reason (and smtpsh's hints), a
//! crash the end of its standard error, and, when transcripts are not
//! kept, the last lines of its transcript; when they are, the summary
//! names their files.

use super::pool::Job;
use super::verdict::{Outcome, Verdict};
use super::{Settings, Summary, child};
use crate::shell::output::{Tone, paint};
use crate::text;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Transcript lines shown for a script that did not pass.
pub const TRANSCRIPT_LINES: usize = 20;
/// Standard error lines shown for a crash.
pub const STDERR_LINES: usize = 10;
/// How the details under a script's line are indented.
const INDENT: &str = "        ";

/// The report for people, written to `W`.
#[derive(Debug)]
pub struct Human<W: Write> {
    out: W,
    settings: Settings,
    /// Where transcripts are kept, if they are.
    kept: Option<PathBuf>,
    /// The transcripts of the scripts that did not pass, for the summary.
    not_passed: Vec<PathBuf>,
    /// The writer failed (standard output closed).
    broken: bool,
    /// Whether the writer is a terminal (where Ctrl-C echoes `^C`).
    terminal: bool,
    /// Whether an interrupt was seen.
    interrupted: bool,
}

impl<W: Write> Human<W> {
    /// A report on `out`; `kept` is the transcript directory, if kept.
    pub fn new(out: W, settings: Settings, kept: Option<PathBuf>) -> Human<W> {
        Human {
            out,
            settings,
            kept,
            not_passed: Vec::new(),
            broken: false,
            terminal: false,
            interrupted: false,
        }
    }

    /// Says the writer is a terminal.
    pub fn set_terminal(&mut self, terminal: bool) {
        self.terminal = terminal;
    }

    /// The run is being interrupted: on a terminal, the next line starts
    /// on a line of its own instead of after the echoed `^C`.
    pub fn interrupted(&mut self) {
        if self.terminal && !self.interrupted {
            self.line("");
        }
        self.interrupted = true;
    }

    /// The writer back (tests).
    pub fn into_inner(self) -> W {
        self.out
    }

    fn line(&mut self, text: &str) {
        if !self.broken && writeln!(self.out, "{text}").is_err() {
            self.broken = true;
        }
    }

    fn paint(&self, tone: Tone, text: &str) -> String {
        paint(self.settings.color, tone, text)
    }

    /// `running 3 scripts, 2 at a time (timeout 300 s each)`.
    pub fn start(&mut self, count: usize) {
        let scripts = if count == 1 { "script" } else { "scripts" };
        let at_once = if self.settings.jobs == 1 {
            "one at a time".to_string()
        } else {
            format!("{} at a time", self.settings.jobs)
        };
        let line = format!(
            "running {count} {scripts}, {at_once} (timeout {} s each)",
            self.settings.timeout.as_secs()
        );
        let line = self.paint(Tone::Dim, &line);
        self.line(&line);
        let _ = self.out.flush();
    }

    /// A script's line, and its details if it did not pass; false once
    /// the writer has failed.
    pub fn result(&mut self, job: &Job, outcome: &Outcome) -> bool {
        let tone = match outcome.verdict {
            Verdict::Passed => Tone::Green,
            Verdict::TimedOut { .. } | Verdict::Interrupted { .. } => Tone::BoldYellow,
            Verdict::NotRun { .. } => Tone::Dim,
            _ => Tone::BoldRed,
        };
        let label = self.paint(tone, &format!("{:<7}", outcome.label()));
        let name = text::escape(job.script.name.as_bytes());
        let time = match outcome.verdict {
            Verdict::NotRun { .. } => String::new(),
            _ => format!(" ({})", seconds(outcome.elapsed)),
        };
        self.line(&format!("{label} {name}{time}"));
        if !outcome.passed() {
            self.details(job, outcome);
        }
        let _ = self.out.flush();
        !self.broken
    }

    /// The reason, hints, standard error of a crash, transcript's end.
    fn details(&mut self, job: &Job, outcome: &Outcome) {
        let reason = self.paint(Tone::Red, &outcome.reason());
        self.line(&format!("{INDENT}{reason}"));
        match &outcome.verdict {
            Verdict::Failed(f) => {
                for hint in &f.hints {
                    let hint = self.paint(Tone::Dim, hint);
                    self.line(&format!("{INDENT}    {hint}"));
                }
            }
            Verdict::Crashed { .. } if !outcome.stderr.trim().is_empty() => {
                self.line(&format!("{INDENT}its standard error ended with:"));
                for l in outcome.stderr_tail(STDERR_LINES) {
                    self.line(&format!("{INDENT}| {l}"));
                }
            }
            _ => {}
        }
        if matches!(
            outcome.verdict,
            Verdict::NotRun { .. } | Verdict::Interrupted { .. }
        ) {
            return;
        }
        if self.kept.is_some() {
            self.not_passed.push(job.transcript.clone());
        } else {
            let tail = transcript_tail(&job.transcript, TRANSCRIPT_LINES);
            if !tail.is_empty() {
                self.line(&format!("{INDENT}the transcript ended with:"));
                for l in tail {
                    let l = self.paint(Tone::Dim, &l);
                    self.line(&format!("{INDENT}| {l}"));
                }
            }
        }
    }

    /// The summary line, and where the transcripts and the report are.
    pub fn finish(&mut self, summary: &Summary, junit: Option<&Path>) {
        self.line("");
        let all_passed = summary.passed == summary.total;
        let mut line = format!("{} in {}", summary.counts(), seconds(summary.elapsed));
        if summary.stopped {
            line.push_str(" (interrupted)");
        }
        let line = self.paint(
            if all_passed {
                Tone::Green
            } else {
                Tone::BoldRed
            },
            &line,
        );
        self.line(&line);
        if let Some(dir) = self.kept.clone() {
            self.line(&format!("transcripts: {}", dir.display()));
        }
        if !self.not_passed.is_empty() {
            self.line("the transcripts of the scripts that did not pass:");
            for path in std::mem::take(&mut self.not_passed) {
                self.line(&format!("    {}", path.display()));
            }
        }
        if let Some(report) = junit {
            self.line(&format!("JUnit report: {}", report.display()));
        }
        let _ = self.out.flush();
    }
}

/// `0.05 s`, `12.3 s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

/// The last `n` lines of a transcript file, the date dropped from each
/// timestamp (the time of day stays), escaped for a terminal.
pub fn transcript_tail(path: &Path, n: usize) -> Vec<String> {
    let Some((bytes, _)) = child::read_transcript(path, 64 * 1024) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| text::escape(time_of_day(l).as_bytes()))
        .collect()
}

/// `2026-12-06T22:05:36.246Z text` → `22:05:36.246 text`; a line
/// without such a timestamp as it is.
fn time_of_day(line: &str) -> String {
    let stamped = line.split_once(' ').and_then(|(stamp, text)| {
        let (date, time) = stamp.split_once('T')?;
        let time = time.strip_suffix('Z')?;
        let date_ok = date.len() == 10 && date.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        let time_ok = !time.is_empty()
            && time
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b':' || b == b'.');
        (date_ok && time_ok).then(|| format!("{time} {text}"))
    });
    stamped.unwrap_or_else(|| line.to_string())
}

#[cfg(test)]
mod tests;
