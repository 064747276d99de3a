//! `smtpsh test`: runs scripts as tests.
//!
//! Every script runs in a child process of its own (this very binary with
//! `-f SCRIPT --color never --no-history --log TRANSCRIPT`, plus each
//! `--var`), with standard input null and a fresh, empty sandbox directory
//! (`SMTPSH_SANDBOX_DIR`), so scripts that run at once never see each
//! other's mail and a script that hangs or crashes cannot take the run
//! down: it is killed at its timeout, or reported as a crash.
//!
//! - [`discover`]: the paths given → the scripts, in order.
//! - [`child`]: one script's process: started, waited for, killed.
//! - [`verdict`]: how it ended → passed, failed (where and why), timed
//!   out, crashed; read from its exit status and standard error.
//! - [`pool`]: N scripts at once, results handed on in the scripts' order.
//! - [`transcripts`]: where each script's transcript goes.
//! - [`human`], [`tap`], [`junit`]: the reports.

pub mod child;
pub mod discover;
pub mod human;
pub mod junit;
pub mod pool;
pub mod tap;
pub mod transcripts;
pub mod verdict;

use crate::shell::output::ColorChoice;
use clap::Parser;
use pool::{Job, Stop};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use transcripts::Transcripts;
use verdict::Outcome;

/// Exit status: every script passed.
pub const EXIT_OK: i32 = 0;
/// Exit status: a script did not pass (failed, timed out, crashed, was
/// not run), or a report could not be written.
pub const EXIT_FAILED: i32 = 1;
/// Exit status: wrong use of `smtpsh test` (an option, a path that is
/// neither a file nor a directory, no scripts at all).
pub const EXIT_USAGE: i32 = 2;
/// Exit status: stopped by Ctrl-C or SIGTERM.
pub const EXIT_INTERRUPTED: i32 = 130;
/// Exit status: standard output was closed by its reader.
pub const EXIT_PIPE: i32 = 141;

/// The default `--timeout`: long enough for any sane script against a slow
/// server (a real SMTP conversation's own timeouts are minutes), short
/// enough that a hung CI job fails within a few minutes.
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;

/// Runs smtpsh scripts as tests: each in a fresh session of its own, N at
/// once; one line per script and a summary, JUnit XML or TAP for CI.
#[derive(Parser, Debug)]
#[command(
    name = "smtpsh test",
    version,
    after_help = "Each script runs in its own smtpsh process (like `smtpsh -f SCRIPT`), with its own \
empty sandbox (`connect sandbox`, `inbox`), and stops at its first failure. \
Results are printed in the scripts' order whatever finishes first.\n\
Exit status: 0 every script passed, 1 a script failed, timed out or crashed (or a report could \
not be written), 2 usage (unknown option, a path that does not exist, no scripts), \
130 interrupted (Ctrl-C, SIGTERM: running scripts are killed), 141 standard output closed.\n\
Transcripts: with --junit reports/smtp.xml they are kept in reports/smtp-transcripts/ \
(NN-NAME.log, NN the script's number); --transcripts DIR chooses; otherwise they are temporary \
and a failure shows the last lines of its own.\n\
Examples:\n  smtpsh test tests/smtp/\n  smtpsh test -j 4 --timeout 60 --junit reports/smtp.xml tests/smtp/\n  \
smtpsh test --tap --var HOST=127.0.0.1 --var PORT=2525 deliver.smtp bounce.smtp"
)]
pub struct Args {
    /// Scripts to run: files (run as given, whatever their name), or
    /// directories searched for *.smtp files (recursively, in path order).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Run N scripts at once (default: the number of CPUs).
    #[arg(short = 'j', long = "jobs", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
    /// Kill a script that runs longer than SECONDS and report it as timed out.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=86_400 * 7))]
    pub timeout: u64,
    /// Also write a JUnit XML report to FILE (one testcase per script, with
    /// the failure and the transcript), for GitLab, GitHub and Jenkins.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Print TAP version 14 on standard output instead of the usual lines.
    #[arg(long)]
    pub tap: bool,
    /// Keep each script's transcript in DIR (default: beside the --junit
    /// report, else a temporary directory removed at the end).
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub transcripts: Option<PathBuf>,
    /// Define the variable NAME for `${NAME}` in every script (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Start no new script after the first one that does not pass (those
    /// are reported as not run); scripts already running finish.
    #[arg(long)]
    pub fail_fast: bool,
    /// Colour: auto (only on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
}

/// `--var NAME=VALUE`, checked as the shell checks it.
fn parse_var(s: &str) -> Result<(String, String), String> {
    crate::shell::vars::parse_assignment(s)
}

/// Runs `smtpsh test ARGS` (the words after `test`); returns the exit
/// status.
pub fn main(args: &[OsString]) -> i32 {
    let argv = std::iter::once(OsString::from("smtpsh test")).chain(args.iter().cloned());
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            // Help and version go to standard output (0), errors to
            // standard error (2), as clap decides.
            let _ = e.print();
            return e.exit_code();
        }
    };
    // Signals first: a Ctrl-C while we start must stop us cleanly.
    let stop = Stop::on_signals();
    match run(&args, &stop) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("smtpsh test: {}", e.message);
            if let Some(hint) = e.hint {
                eprintln!("    {hint}");
            }
            e.status
        }
    }
}

/// Why the run could not start or finish.
#[derive(Debug)]
pub struct RunError {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The exit status it means.
    pub status: i32,
}

impl RunError {
    /// A problem with the command line (exit status 2).
    pub fn usage(message: impl Into<String>) -> RunError {
        RunError {
            message: message.into(),
            hint: None,
            status: EXIT_USAGE,
        }
    }
    /// A problem on this machine (exit status 1).
    pub fn local(message: impl Into<String>) -> RunError {
        RunError {
            message: message.into(),
            hint: None,
            status: EXIT_FAILED,
        }
    }
    /// With what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> RunError {
        self.hint = Some(hint.into());
        self
    }
}

/// How the reports are to be made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Scripts at once.
    pub jobs: usize,
    /// Each script's limit.
    pub timeout: Duration,
    /// Colour on standard output.
    pub color: bool,
}

/// Finds the scripts, runs them, reports; the exit status.
fn run(args: &Args, stop: &Arc<Stop>) -> Result<i32, RunError> {
    let scripts = discover::discover(&args.paths)?;
    let exe = std::env::current_exe().map_err(|e| {
        RunError::local(format!(
            "cannot find the smtpsh program to run scripts with: {e}"
        ))
    })?;
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        |n| n as usize,
    );
    let settings = Settings {
        jobs: jobs.clamp(1, scripts.len().max(1)),
        timeout: Duration::from_secs(args.timeout),
        color: ColorChoice::parse(&args.color).is_some_and(ColorChoice::resolve),
    };
    // Everything that can fail on this machine fails before a script runs.
    let transcripts = Transcripts::new(args.transcripts.as_deref(), args.junit.as_deref())?;
    let report_file = args
        .junit
        .as_deref()
        .map(junit::ReportFile::create)
        .transpose()?;

    let jobs_list: Vec<Job> = scripts
        .iter()
        .enumerate()
        .map(|(i, script)| Job {
            script: script.clone(),
            transcript: transcripts.file_for(i, scripts.len(), script),
            sandbox: transcripts.sandbox_for(i),
        })
        .collect();
    let start = Instant::now();
    let started_at = SystemTime::now();
    let mut printer = if args.tap {
        Printer::Tap(tap::Tap::new(
            std::io::stdout(),
            scripts.len(),
            transcripts.kept_dir().is_some(),
        ))
    } else {
        let mut h = human::Human::new(
            std::io::stdout(),
            settings.clone(),
            transcripts.kept_dir().map(|d| d.to_path_buf()),
        );
        h.set_terminal(std::io::stdout().is_terminal());
        Printer::Human(h)
    };
    printer.start(scripts.len());
    let child_settings = pool::ChildSettings {
        exe,
        vars: args.vars.clone(),
        timeout: settings.timeout,
    };
    let outcomes = pool::run_all(
        &jobs_list,
        &child_settings,
        settings.jobs,
        args.fail_fast,
        stop,
        |index, outcome| {
            if stop.interrupted() {
                printer.interrupted();
            }
            if !printer.result(index + 1, &jobs_list[index], outcome) {
                // Standard output is gone: nobody is reading; stop.
                stop.pipe_closed();
            }
        },
    );
    let elapsed = start.elapsed();
    let mut status = if outcomes.iter().all(Outcome::passed) {
        EXIT_OK
    } else {
        EXIT_FAILED
    };
    if let Some(file) = report_file {
        let cases: Vec<junit::Case> = jobs_list
            .iter()
            .zip(&outcomes)
            .map(|(job, outcome)| junit::Case {
                script: &job.script,
                outcome,
                transcript: &job.transcript,
            })
            .collect();
        let report = junit::Report {
            cases: &cases,
            elapsed,
            started_at,
        };
        if let Err(e) = file.write(&report) {
            let _ = std::io::stdout().flush();
            eprintln!("smtpsh test: {}", e.message);
            status = status.max(EXIT_FAILED);
        }
    }
    let summary = Summary::of(&outcomes, elapsed, stop.interrupted());
    printer.finish(&summary, args.junit.as_deref());
    drop(transcripts);
    if stop.stdout_closed() {
        return Ok(EXIT_PIPE);
    }
    if stop.interrupted() {
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(status)
}

/// What the run came to, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Scripts in the run.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed (an `expect`, a refusal, a local or connection error).
    pub failed: usize,
    /// Killed at the timeout.
    pub timed_out: usize,
    /// Ended by a signal, a panic, or an exit status smtpsh never gives.
    pub crashed: usize,
    /// Stopped by an interrupt while running.
    pub interrupted: usize,
    /// Never started (`--fail-fast`, or an interrupt).
    pub not_run: usize,
    /// The whole run's time.
    pub elapsed: Duration,
    /// Whether the run was stopped by a signal.
    pub stopped: bool,
}

impl Summary {
    /// Counts `outcomes`.
    pub fn of(outcomes: &[Outcome], elapsed: Duration, stopped: bool) -> Summary {
        use verdict::Verdict::*;
        let mut s = Summary {
            total: outcomes.len(),
            elapsed,
            stopped,
            ..Summary::default()
        };
        for o in outcomes {
            match &o.verdict {
                Passed => s.passed += 1,
                Failed(_) => s.failed += 1,
                TimedOut { .. } => s.timed_out += 1,
                Crashed { .. } => s.crashed += 1,
                Interrupted { .. } => s.interrupted += 1,
                NotRun { .. } => s.not_run += 1,
            }
        }
        s
    }
    /// `3 scripts: 1 passed, 1 failed, 1 timed out` (the counts that are
    /// not zero, passed and failed always).
    pub fn counts(&self) -> String {
        let mut parts = vec![
            format!("{} passed", self.passed),
            format!("{} failed", self.failed),
        ];
        for (n, what) in [
            (self.timed_out, "timed out"),
            (self.crashed, "crashed"),
            (self.interrupted, "interrupted"),
            (self.not_run, "not run"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let scripts = if self.total == 1 { "script" } else { "scripts" };
        format!("{} {scripts}: {}", self.total, parts.join(", "))
    }
}

/// The report on standard output: lines for people, or TAP.
enum Printer {
    Human(human::Human<std::io::Stdout>),
    Tap(tap::Tap<std::io::Stdout>),
}

impl Printer {
    fn interrupted(&mut self) {
        if let Printer::Human(h) = self {
            h.interrupted();
        }
    }
    fn start(&mut self, count: usize) {
        match self {
            Printer::Human(h) => h.start(count),
            Printer::Tap(t) => t.start(),
        }
    }
    /// Reports script number `number`; false when standard output is closed.
    fn result(&mut self, number: usize, job: &Job, outcome: &Outcome) -> bool {
        match self {
            Printer::Human(h) => h.result(job, outcome),
            Printer::Tap(t) => t.result(number, job, outcome),
        }
    }
    fn finish(&mut self, summary: &Summary, junit: Option<&std::path::Path>) {
        match self {
            Printer::Human(h) => h.finish(summary, junit),
            Printer::Tap(t) => t.finish(summary),
        }
    }
}

#[cfg(test)]
mod tests;
