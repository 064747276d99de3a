//! One script's process: started, waited for (with a deadline, and an
//! eye on the run being stopped), killed when it must be.
//!
//! The child stays in the runner's process group, so a Ctrl-C at the
//! terminal, or a CI job killing the group, reaches it too. Its standard
//! input is null, its standard output (the transcript, also in its
//! `--log` file) is discarded, and its standard error (the error lines)
//! is read on a thread of its own, keeping the last [`STDERR_KEEP`] bytes,
//! so a chatty child never blocks.
//!
//! Killing is SIGTERM, then SIGKILL after [`GRACE`]. The child is only
//! signalled while it has not been reaped, so its pid cannot have been
//! reused.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How much of the child's standard error is kept (its end).
pub const STDERR_KEEP: usize = 64 * 1024;
/// How long a child has between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(2);
/// How often a running child is looked at.
const POLL: Duration = Duration::from_millis(10);
/// How long to wait for the standard error pipe to close after the child
/// ended (a process it started could hold it open).
const DRAIN: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    /// The smtpsh binary.
    pub exe: &'a Path,
    /// The script.
    pub script: &'a Path,
    /// Where its transcript goes (`--log`).
    pub transcript: &'a Path,
    /// Its own sandbox directory (`SMTPSH_SANDBOX_DIR`).
    pub sandbox: &'a Path,
    /// `--var NAME=VALUE`, each.
    pub vars: &'a [(String, String)],
    /// How long it may run.
    pub timeout: Duration,
}

impl Spec<'_> {
    /// The child's arguments: `--file=SCRIPT --color never --no-history
    /// --log=TRANSCRIPT --var=NAME=VALUE...` (the `=` forms, so a path
    /// starting with `-` is never read as an option).
    pub fn arguments(&self) -> Vec<OsString> {
        // `-f -` would read standard input: a file named `-` is `./-`.
        let script: &Path = if self.script == Path::new("-") {
            Path::new("./-")
        } else {
            self.script
        };
        let mut args = vec![
            joined("--file=", script.as_os_str()),
            "--color".into(),
            "never".into(),
            "--no-history".into(),
            joined("--log=", self.transcript.as_os_str()),
        ];
        for (name, value) in self.vars {
            args.push(format!("--var={name}={value}").into());
        }
        args
    }
}

fn joined(option: &str, value: &std::ffi::OsStr) -> OsString {
    let mut s = OsString::from(option);
    s.push(value);
    s
}

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// It exited with this status.
    Exited(i32),
    /// A signal ended it (not one of ours).
    Signaled {
        /// The signal's number.
        signal: i32,
        /// Whether it dumped core.
        core: bool,
    },
    /// It ran past its timeout and was killed.
    TimedOut,
    /// The run was stopped (Ctrl-C, SIGTERM) and it was killed.
    Stopped,
    /// It could not be started.
    NotStarted(String),
}

/// A finished child.
#[derive(Debug, Clone)]
pub struct Ended {
    /// How.
    pub end: End,
    /// How long it ran.
    pub elapsed: Duration,
    /// The end of its standard error (at most [`STDERR_KEEP`] bytes).
    pub stderr: Vec<u8>,
    /// Whether the start of its standard error was dropped.
    pub stderr_cut: bool,
}

/// Runs the script of `spec` to its end; `stopped` says the run is being
/// stopped (checked every few milliseconds).
pub fn run(spec: &Spec<'_>, stopped: &dyn Fn() -> bool) -> Ended {
    let start = Instant::now();
    let mut cmd = Command::new(spec.exe);
    cmd.args(spec.arguments())
        .env("SMTPSH_SANDBOX_DIR", spec.sandbox)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Ended {
                end: End::NotStarted(format!("cannot start {}: {e}", spec.exe.display())),
                elapsed: start.elapsed(),
                stderr: Vec::new(),
                stderr_cut: false,
            };
        }
    };
    let stderr = child.stderr.take().map(drain);
    let deadline = start + spec.timeout;
    let end = loop {
        match child.try_wait() {
            Ok(Some(status)) => break end_of(status),
            Ok(None) => {}
            Err(e) => {
                // Cannot happen for a child of ours; never wait forever.
                terminate(&mut child);
                break End::NotStarted(format!("cannot wait for the script's process: {e}"));
            }
        }
        if stopped() {
            terminate(&mut child);
            break End::Stopped;
        }
        if Instant::now() >= deadline {
            terminate(&mut child);
            break End::TimedOut;
        }
        std::thread::sleep(POLL);
    };
    let elapsed = start.elapsed();
    let (stderr, stderr_cut) = stderr
        .and_then(|rx| rx.recv_timeout(DRAIN).ok())
        .unwrap_or_default();
    Ended {
        end,
        elapsed,
        stderr,
        stderr_cut,
    }
}

/// How an exit status ended.
fn end_of(status: ExitStatus) -> End {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        End::Exited(code)
    } else {
        End::Signaled {
            signal: status.signal().unwrap_or(0),
            core: status.core_dumped(),
        }
    }
}

/// SIGTERM, then SIGKILL after [`GRACE`]; reaps the child.
fn terminate(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        let until = Instant::now() + GRACE;
        while Instant::now() < until {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(POLL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads `pipe` to its end on a thread of its own, keeping the last
/// [`STDERR_KEEP`] bytes; the receiver gets them and whether some were
/// dropped.
fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<(Vec<u8>, bool)> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("test-stderr".into())
        .spawn(move || {
            let mut kept = Vec::new();
            let mut cut = false;
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        kept.extend_from_slice(&buf[..n]);
                        if kept.len() > 2 * STDERR_KEEP {
                            kept.drain(..kept.len() - STDERR_KEEP);
                            cut = true;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            if kept.len() > STDERR_KEEP {
                kept.drain(..kept.len() - STDERR_KEEP);
                cut = true;
            }
            let _ = tx.send((kept, cut));
        });
    // Without a thread the pipe is closed at once: the child's writes to
    // standard error then fail instead of blocking, and nothing is kept.
    drop(spawned);
    rx
}

/// The transcript file a child writes, read back (bytes; not UTF-8 is
/// the reader's business): `None` if there is none.
pub fn read_transcript(path: &Path, max: u64) -> Option<(Vec<u8>, bool)> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let cut = len > max;
    if cut {
        file.seek(SeekFrom::Start(len - max)).ok()?;
    }
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes).ok()?;
    if cut {
        // Start at a whole line.
        if let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            bytes.drain(..=nl);
        }
    }
    Some((bytes, cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(script: &'a Path, vars: &'a [(String, String)]) -> Spec<'a> {
        Spec {
            exe: Path::new("/bin/false"),
            script,
            transcript: Path::new("-t.log"),
            sandbox: Path::new("/tmp/x"),
            vars,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn arguments_never_look_like_options() {
        let vars = [("HOST".to_string(), "a=b c".to_string())];
        let args = spec(Path::new("-x.smtp"), &vars).arguments();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--file=-x.smtp",
                "--color",
                "never",
                "--no-history",
                "--log=-t.log",
                "--var=HOST=a=b c"
            ]
        );
        let dash = spec(Path::new("-"), &[]).arguments();
        assert_eq!(dash[0], "--file=./-");
    }

    #[test]
    fn a_program_that_cannot_start_is_reported() {
        let mut s = spec(Path::new("x.smtp"), &[]);
        s.exe = Path::new("/nonexistent/smtpsh");
        let ended = run(&s, &|| false);
        assert!(matches!(ended.end, End::NotStarted(ref m) if m.contains("/nonexistent/smtpsh")));
    }

    #[test]
    fn a_long_transcript_is_read_from_a_whole_line_near_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        let (all, cut) = read_transcript(&path, 1 << 20).unwrap();
        assert!(!cut);
        assert_eq!(all, text.as_bytes());
        let (end, cut) = read_transcript(&path, 100).unwrap();
        assert!(cut);
        let end = String::from_utf8(end).unwrap();
        assert!(
            end.starts_with("line ") && end.ends_with("line 999\n"),
            "{end}"
        );
        assert!(read_transcript(&dir.path().join("none"), 10).is_none());
    }
}
