//! The report as TAP version 14 (the Test Anything Protocol), for
//! harnesses such as `prove` and CI plugins that read it:
//!
//! ```text
//! TAP version 14
//! 1..3
//! ok 1 - t/pass.smtp
//! not ok 2 - t/fail.smtp
//!   ---
//!   message: "t/fail.smtp:5 `expect 550`: expected 550, got 250 2.1.5 ok"
//!   severity: failure
//!   kind: "check failed"
//!   at: "t/fail.smtp:5"
//!   exit_status: 5
//!   duration_ms: 41
//!   transcript: "reports/smtp-transcripts/02-fail.smtp.log"
//!   ...
//! ok 3 - t/later.smtp # SKIP not run: --fail-fast stopped the run ...
//! # 3 scripts: 1 passed, 1 failed, 1 not run in 0.1 s
//! ```
//!
//! Test points come in the scripts' order. The diagnostics are a YAML
//! block whose strings are JSON-quoted (valid YAML, and every character
//! that is not printable is escaped); `severity` is `failure` (the server
//! did not do what the script expected) or `error` (the script could not
//! do its job), as in the JUnit report. Without kept transcripts, the
//! diagnostics hold the transcript's last lines (`transcript_tail`); a
//! crash's also the end of its standard error (`stderr_tail`).

use super::Summary;
use super::human::{TRANSCRIPT_LINES, seconds, transcript_tail};
use super::pool::Job;
use super::verdict::{Outcome, Severity, Verdict};
use crate::text;
use std::io::Write;

/// A TAP report on `W`.
#[derive(Debug)]
pub struct Tap<W: Write> {
    out: W,
    count: usize,
    /// Whether transcripts are kept (their path is given, not their end).
    kept: bool,
    broken: bool,
}

impl<W: Write> Tap<W> {
    /// A report of `count` scripts on `out`.
    pub fn new(out: W, count: usize, kept: bool) -> Tap<W> {
        Tap {
            out,
            count,
            kept,
            broken: false,
        }
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

    /// The version line and the plan.
    pub fn start(&mut self) {
        self.line("TAP version 14");
        let plan = format!("1..{}", self.count);
        self.line(&plan);
        let _ = self.out.flush();
    }

    /// Test point `number`, with its diagnostics if it did not pass; false
    /// once the writer has failed.
    pub fn result(&mut self, number: usize, job: &Job, outcome: &Outcome) -> bool {
        let name = description(&job.script.name);
        match &outcome.verdict {
            Verdict::Passed => self.line(&format!("ok {number} - {name}")),
            Verdict::NotRun { why } => {
                let why = description(why);
                self.line(&format!("ok {number} - {name} # SKIP {why}"));
            }
            _ => {
                self.line(&format!("not ok {number} - {name}"));
                self.diagnostics(job, outcome);
            }
        }
        let _ = self.out.flush();
        !self.broken
    }

    /// The YAML block after a `not ok`.
    fn diagnostics(&mut self, job: &Job, outcome: &Outcome) {
        let severity = match outcome.severity() {
            Severity::Failure => "failure",
            _ => "error",
        };
        self.line("  ---");
        self.line(&format!("  message: {}", quoted(&outcome.reason())));
        self.line(&format!("  severity: {severity}"));
        self.line(&format!("  kind: {}", quoted(outcome.kind_name())));
        if let Some(at) = outcome.location() {
            self.line(&format!("  at: {}", quoted(at)));
        }
        if let Verdict::Failed(f) = &outcome.verdict {
            self.line(&format!("  exit_status: {}", f.status));
            if !f.hints.is_empty() {
                self.list("hints", &f.hints);
            }
        }
        self.line(&format!("  duration_ms: {}", outcome.elapsed.as_millis()));
        if matches!(outcome.verdict, Verdict::Crashed { .. }) && !outcome.stderr.is_empty() {
            self.list("stderr_tail", &outcome.stderr_tail(10));
        }
        if self.kept {
            let path = job.transcript.to_string_lossy().into_owned();
            self.line(&format!("  transcript: {}", quoted(&path)));
        } else if !matches!(outcome.verdict, Verdict::Interrupted { .. }) {
            let tail = transcript_tail(&job.transcript, TRANSCRIPT_LINES);
            if !tail.is_empty() {
                self.list("transcript_tail", &tail);
            }
        }
        self.line("  ...");
    }

    /// A YAML list of strings.
    fn list(&mut self, key: &str, items: &[String]) {
        self.line(&format!("  {key}:"));
        for item in items {
            self.line(&format!("    - {}", quoted(item)));
        }
    }

    /// The summary as comments.
    pub fn finish(&mut self, summary: &Summary) {
        let mut line = format!("# {} in {}", summary.counts(), seconds(summary.elapsed));
        if summary.stopped {
            line.push_str(" (interrupted)");
        }
        self.line(&line);
        let _ = self.out.flush();
    }
}

/// A test point's description: one line, `#` and `\` escaped as TAP 14
/// says, no control characters.
pub fn description(name: &str) -> String {
    text::escape_as(name.as_bytes(), text::Style::Field)
        .replace('\\', "\\\\")
        .replace('#', "\\#")
}

/// A YAML double-quoted scalar (JSON's string syntax, which YAML reads),
/// printable characters only.
pub fn quoted(s: &str) -> String {
    let printable = text::escape_as(s.as_bytes(), text::Style::Text).replace('\t', " ");
    serde_json::to_string(&printable).unwrap_or_else(|_| "\"\"".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_and_strings_are_escaped() {
        assert_eq!(description("a#b\\c\nd"), "a\\#b\\\\c\\\\x0ad");
        assert_eq!(quoted("say \"hi\"\t\x1b"), r#""say \"hi\" \\x1B""#);
        assert_eq!(quoted("\u{202e}"), r#""\\xE2\\x80\\xAE""#);
    }
}
