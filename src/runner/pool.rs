//! N scripts at once: a few worker threads take the next script, run it
//! in its process and hand its outcome back; the results are reported in
//! the scripts' order (each as soon as it and all before it are done), so
//! the report is the same whatever `-j` and whatever finishes first.
//!
//! Ctrl-C or SIGTERM (a [`Stop`]) kills the running scripts and starts no
//! more; a second one ends the runner at once (exit status 130).

use super::child;
use super::discover::Script;
use super::verdict::Outcome;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How much of a transcript's end is read to find the failing command.
const TRANSCRIPT_SCAN: u64 = 256 * 1024;

/// One script of the run.
#[derive(Debug, Clone)]
pub struct Job {
    /// The script.
    pub script: Script,
    /// Its transcript file.
    pub transcript: PathBuf,
    /// Its sandbox directory.
    pub sandbox: PathBuf,
}

/// What every script's process gets.
#[derive(Debug, Clone)]
pub struct ChildSettings {
    /// The smtpsh binary.
    pub exe: PathBuf,
    /// `--var NAME=VALUE`, in order.
    pub vars: Vec<(String, String)>,
    /// Each script's limit.
    pub timeout: Duration,
}

/// Why the run is being stopped early: a signal, or standard output
/// closed.
#[derive(Debug, Default)]
pub struct Stop {
    signal: Arc<AtomicBool>,
    pipe: AtomicBool,
}

impl Stop {
    /// A stop that SIGINT and SIGTERM set; a second one while it is set
    /// ends the process at once with status 130.
    pub fn on_signals() -> Arc<Stop> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let stop = Stop::default();
        for sig in [SIGINT, SIGTERM] {
            // The order matters: the conditional exit looks at the flag
            // before the second registration sets it.
            let _ = signal_hook::flag::register_conditional_shutdown(
                sig,
                super::EXIT_INTERRUPTED,
                stop.signal.clone(),
            );
            let _ = signal_hook::flag::register(sig, stop.signal.clone());
        }
        Arc::new(stop)
    }
    /// Stops the run as a signal would (tests).
    pub fn interrupt(&self) {
        self.signal.store(true, Ordering::SeqCst);
    }
    /// Whether a signal stopped the run.
    pub fn interrupted(&self) -> bool {
        self.signal.load(Ordering::SeqCst)
    }
    /// Standard output was closed: nobody reads the report; stop.
    pub fn pipe_closed(&self) {
        self.pipe.store(true, Ordering::SeqCst);
    }
    /// Whether standard output was closed.
    pub fn stdout_closed(&self) -> bool {
        self.pipe.load(Ordering::SeqCst)
    }
    /// Whether the run is being stopped, for either reason.
    pub fn stopping(&self) -> bool {
        self.interrupted() || self.stdout_closed()
    }
}

/// Runs `jobs`, `workers` at once; calls `report(index, outcome)` for each
/// in order; returns every outcome (scripts never started are "not run").
pub fn run_all(
    jobs: &[Job],
    settings: &ChildSettings,
    workers: usize,
    fail_fast: bool,
    stop: &Stop,
    mut report: impl FnMut(usize, &Outcome),
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let tripped = AtomicBool::new(false);
    let mut results: Vec<Option<Outcome>> = vec![None; jobs.len()];
    let mut shown = 0;
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    let work = |tx: mpsc::Sender<(usize, Outcome)>| {
        while !stop.stopping() && !tripped.load(Ordering::SeqCst) {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(job) = jobs.get(i) else {
                break;
            };
            let outcome = run_one(job, settings, stop);
            if fail_fast && !outcome.passed() {
                tripped.store(true, Ordering::SeqCst);
            }
            if tx.send((i, outcome)).is_err() {
                break;
            }
        }
    };
    std::thread::scope(|scope| {
        let mut started = 0;
        for n in 0..workers.max(1) {
            let tx = tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("test-{n}"))
                .spawn_scoped(scope, || work(tx));
            if spawned.is_ok() {
                started += 1;
            }
        }
        if started == 0 {
            // No thread at all: one script after the other, here.
            work(tx.clone());
        }
        drop(tx);
        for (i, outcome) in rx {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(outcome);
            }
            while let Some(Some(o)) = results.get(shown) {
                report(shown, o);
                shown += 1;
            }
        }
    });
    let why = if stop.stopping() {
        "not run: the run was interrupted"
    } else {
        "not run: --fail-fast stopped the run at the first script that did not pass"
    };
    let outcomes: Vec<Outcome> = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Outcome::not_run(why)))
        .collect();
    for (i, o) in outcomes.iter().enumerate().skip(shown) {
        report(i, o);
    }
    outcomes
}

/// Runs one script and reads how it went.
fn run_one(job: &Job, settings: &ChildSettings, stop: &Stop) -> Outcome {
    let spec = child::Spec {
        exe: &settings.exe,
        script: &job.script.path,
        transcript: &job.transcript,
        sandbox: &job.sandbox,
        vars: &settings.vars,
        timeout: settings.timeout,
    };
    let ended = child::run(&spec, &|| stop.stopping());
    let transcript = child::read_transcript(&job.transcript, TRANSCRIPT_SCAN)
        .map(|(bytes, _)| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    Outcome::of(&ended, &transcript, settings.timeout)
}
