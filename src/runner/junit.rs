//! The JUnit XML report (`--junit FILE`), in the form GitLab
//! (`artifacts:reports:junit`), GitHub reporters and Jenkins read:
//!
//! ```text
//! <testsuites name="smtpsh test" tests failures errors skipped time timestamp>
//!   <testsuite name="smtpsh test" tests failures errors skipped time timestamp hostname>
//!     <testcase name="t/fail.smtp" classname="smtpsh" file="t/fail.smtp" time="0.041">
//!       <failure message="t/fail.smtp:5 `expect 550`: expected 550, got 250 ..." type="check failed">
//!         ...the error, smtpsh's hints, where the transcript is...
//!       </failure>
//!       <system-out>...the transcript...</system-out>
//!       <system-err>...its standard error...</system-err>
//!     </testcase>
//! ```
//!
//! One testcase per script, named by its path (`classname` is `smtpsh` for
//! all). A script whose server did not do what it expected (an `expect`
//! or `inbox` check failed, a command refused: exit status 4 or 5) is a
//! `<failure>`; one that could not do its job (a local or connection
//! error, a timeout, a crash, an interrupt) an `<error>`; one never run a
//! `<skipped>`. Every testcase carries its transcript (the end of it past
//! [`TRANSCRIPT_MAX`] bytes). Whatever bytes a server sent, the XML stays
//! well-formed: the writer (quick-xml) escapes markup, and characters XML
//! 1.0 forbids (and other control characters) become `\xNN` first.

use super::RunError;
use super::child;
use super::discover::Script;
use super::verdict::{Outcome, Severity, Verdict};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The most of a transcript put in the report (its end is kept).
pub const TRANSCRIPT_MAX: u64 = 1024 * 1024;
/// The suite's name.
const SUITE: &str = "smtpsh test";
/// Every testcase's `classname`.
const CLASSNAME: &str = "smtpsh";

/// One script in the report.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    /// The script.
    pub script: &'a Script,
    /// How it went.
    pub outcome: &'a Outcome,
    /// Its transcript file.
    pub transcript: &'a Path,
}

/// The whole run.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// Every script, in order.
    pub cases: &'a [Case<'a>],
    /// The run's time.
    pub elapsed: Duration,
    /// When it started.
    pub started_at: SystemTime,
}

/// The report's file, opened before the run so a path that cannot be
/// written fails at once, not after the scripts.
#[derive(Debug)]
pub struct ReportFile {
    path: PathBuf,
    file: File,
}

impl ReportFile {
    /// Creates `path` (and its missing directories), empty.
    pub fn create(path: &Path) -> Result<ReportFile, RunError> {
        let fail = |e: io::Error| {
            RunError::local(format!(
                "cannot write the JUnit report {}: {e}",
                path.display()
            ))
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let file = File::create(path).map_err(fail)?;
        Ok(ReportFile {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Writes `report` into the file.
    pub fn write(mut self, report: &Report<'_>) -> Result<(), RunError> {
        let fail = |e: io::Error| {
            RunError::local(format!(
                "cannot write the JUnit report {}: {e}",
                self.path.display()
            ))
        };
        let bytes = xml(report).map_err(fail)?;
        self.file.write_all(&bytes).map_err(fail)?;
        self.file.flush().map_err(fail)
    }
}

/// Counts for the suite's attributes.
fn counts(cases: &[Case<'_>]) -> [(&'static str, String); 4] {
    let count = |s: Severity| cases.iter().filter(|c| c.outcome.severity() == s).count();
    [
        ("tests", cases.len().to_string()),
        ("failures", count(Severity::Failure).to_string()),
        ("errors", count(Severity::Error).to_string()),
        ("skipped", count(Severity::Skipped).to_string()),
    ]
}

/// The report as XML bytes.
pub fn xml(report: &Report<'_>) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let counts = counts(report.cases);
    let time = secs(report.elapsed);
    let timestamp = crate::clock::rfc3339(report.started_at);
    let mut attrs: Vec<(&str, &str)> = vec![("name", SUITE)];
    attrs.extend(counts.iter().map(|(k, v)| (*k, v.as_str())));
    attrs.push(("time", &time));
    attrs.push(("timestamp", &timestamp));
    let host = crate::local::host_name();
    w.create_element("testsuites")
        .with_attributes(attrs.iter().copied())
        .write_inner_content(|w| {
            let mut suite = attrs.clone();
            suite.push(("hostname", &host));
            w.create_element("testsuite")
                .with_attributes(suite)
                .write_inner_content(|w| report.cases.iter().try_for_each(|c| testcase(w, c)))?;
            Ok(())
        })?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

/// One `<testcase>`.
fn testcase(w: &mut Writer<Vec<u8>>, case: &Case<'_>) -> io::Result<()> {
    let name = xml_text(case.script.name.as_bytes());
    let time = secs(case.outcome.elapsed);
    let attrs = [
        ("name", name.as_str()),
        ("classname", CLASSNAME),
        ("file", name.as_str()),
        ("time", time.as_str()),
    ];
    w.create_element("testcase")
        .with_attributes(attrs)
        .write_inner_content(|w| {
            let outcome = case.outcome;
            let message = one_line(&outcome.reason());
            match outcome.severity() {
                Severity::Pass => {}
                Severity::Skipped => {
                    w.create_element("skipped")
                        .with_attribute(("message", message.as_str()))
                        .write_empty()?;
                }
                severity => {
                    let element = if severity == Severity::Failure {
                        "failure"
                    } else {
                        "error"
                    };
                    let details = xml_text(details(case).as_bytes());
                    w.create_element(element)
                        .with_attribute(("message", message.as_str()))
                        .with_attribute(("type", outcome.kind_name()))
                        .write_text_content(BytesText::new(&details))?;
                }
            }
            if let Some((bytes, cut)) = child::read_transcript(case.transcript, TRANSCRIPT_MAX) {
                let mut text = String::new();
                if cut {
                    text.push_str(&format!(
                        "[the start of the transcript is left out; all of it: {}]\n",
                        case.transcript.display()
                    ));
                }
                text.push_str(&xml_text(&bytes));
                w.create_element("system-out")
                    .write_text_content(BytesText::new(&text))?;
            }
            if !outcome.stderr.is_empty() {
                let mut text = String::new();
                if outcome.stderr_cut {
                    text.push_str("[the start of standard error is left out]\n");
                }
                text.push_str(&xml_text(outcome.stderr.as_bytes()));
                w.create_element("system-err")
                    .write_text_content(BytesText::new(&text))?;
            }
            Ok(())
        })?;
    Ok(())
}

/// The text inside `<failure>` or `<error>`: the reason, smtpsh's hints,
/// the status, a crash's standard error, where the transcript is.
fn details(case: &Case<'_>) -> String {
    let outcome = case.outcome;
    let mut lines = vec![outcome.reason()];
    match &outcome.verdict {
        Verdict::Failed(f) => {
            lines.extend(f.hints.iter().map(|h| format!("    {h}")));
            lines.push(format!(
                "smtpsh exit status {} ({})",
                f.status,
                f.kind.name()
            ));
        }
        Verdict::TimedOut { .. } => {
            lines.push("the script was killed: SIGTERM, then SIGKILL if it did not stop".into());
        }
        Verdict::Crashed { .. } => {
            lines.push("its standard error ended with:".into());
            lines.extend(outcome.stderr_tail(20));
        }
        _ => {}
    }
    lines.push(format!("transcript: {}", case.transcript.display()));
    lines.join("\n")
}

/// `1.234` (seconds, milliseconds).
fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Untrusted bytes as text XML 1.0 allows: not UTF-8, control characters
/// other than TAB, LF and CR, and U+FFFE/U+FFFF become `\xNN` for each of
/// their bytes. Markup characters stay (the writer escapes them).
pub fn xml_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            let allowed = matches!(ch, '\t' | '\n' | '\r')
                || !(ch.is_control() || ch == '\u{fffe}' || ch == '\u{ffff}');
            if allowed {
                out.push(ch);
            } else {
                let mut buf = [0u8; 4];
                for &b in ch.encode_utf8(&mut buf).as_bytes() {
                    out.push_str(&format!("\\x{b:02X}"));
                }
            }
        }
        for &b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// An attribute's value: XML-safe, on one line.
fn one_line(text: &str) -> String {
    xml_text(text.as_bytes()).replace(['\n', '\r', '\t'], " ")
}

#[cfg(test)]
mod tests;
