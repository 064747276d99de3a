//! The interactive shell: the command table, the session model, the line
//! editor helper, script replay and the guided walk-through.
//!
//! [`run`] is the entry point: it connects if asked, then reads commands
//! from the line editor (a terminal), a script (`-f`, standard input) or
//! the `-c` list, and returns the process exit status.

pub mod commands;
pub mod exec;
pub mod guided;
pub mod helper;
pub mod history;
pub mod inbox;
pub mod input;
pub mod mx;
pub mod output;
pub mod progress;
pub mod secure;
pub mod session;

use exec::{FailKind, Failure};
use input::{Input, Line, ScriptInput};
use output::ColorChoice;
use session::{Session, Settings};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit status: everything succeeded.
pub const EXIT_OK: i32 = 0;
/// Exit status: a local error (bad input, unknown command, missing file).
pub const EXIT_LOCAL: i32 = 1;
/// Exit status: wrong use of smtpsh's own command line.
pub const EXIT_USAGE: i32 = 2;

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Connect here at start.
    pub host: Option<String>,
    /// Port for `host`.
    pub port: Option<String>,
    /// `-f FILE` (`-` = standard input).
    pub file: Option<PathBuf>,
    /// `-c CMD`, in order.
    pub commands: Vec<String>,
    /// `--keep-going`: run the whole script, exit with the first failure's status.
    pub keep_going: bool,
    /// `--color`.
    pub color: ColorChoice,
    /// `--no-history`.
    pub no_history: bool,
    /// `--guided`.
    pub guided: bool,
    /// `--tls`: the HOST PORT connection uses implicit TLS.
    pub tls: bool,
    /// `--starttls`: the HOST PORT connection upgrades with STARTTLS at once.
    pub starttls: bool,
    /// `--require-tls`: never send MAIL, RCPT, DATA or AUTH in plaintext.
    pub require_tls: bool,
    /// `--cafile PATH`: trust this CA (PEM) instead of the system's roots.
    pub cafile: Option<PathBuf>,
    /// `--insecure`: do not verify TLS certificates.
    pub insecure: bool,
    /// `--sandbox`: start the built-in SMTP server and connect to it.
    pub sandbox: bool,
}

/// Runs smtpsh as the options say; returns the exit status.
pub fn run(opts: Options) -> i32 {
    opts.color.apply();
    let interrupt = Arc::new(AtomicBool::new(false));
    // Ctrl-C outside the line editor sets the flag (network waits check it);
    // a second Ctrl-C while the flag is still set ends the process.
    let _ = signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        130,
        interrupt.clone(),
    );
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, interrupt.clone());
    let settings = Settings {
        color: opts.color,
        require_tls: opts.require_tls,
        cafile: opts.cafile.clone(),
        insecure: opts.insecure,
        ..Settings::default()
    };
    let mut s = Session::new(settings, interrupt);

    let scripted =
        opts.file.is_some() || !opts.commands.is_empty() || !std::io::stdin().is_terminal();
    if !scripted && !opts.guided {
        s.out.note(&format!(
            "smtpsh {} — type `help` for commands, Tab to complete, Ctrl-D to leave",
            env!("CARGO_PKG_VERSION")
        ));
    }
    if opts.sandbox {
        if let Err(f) = inbox::connect_sandbox(&mut s) {
            report(&s, &f, None);
            if scripted || opts.guided {
                return f.kind.exit_code();
            }
        }
        s.interrupt.store(false, Ordering::SeqCst);
    }
    if let Some(host) = &opts.host {
        let target = secure::mode_from_flags(opts.tls, opts.starttls).and_then(|mode| {
            exec::parse_host_port(host, opts.port.as_deref())
                .and_then(|(h, p)| exec::open_with(&mut s, &h, p, mode))
        });
        if let Err(f) = target {
            report(&s, &f, None);
            if scripted || opts.guided {
                return f.kind.exit_code();
            }
        }
        s.interrupt.store(false, Ordering::SeqCst);
    }

    if opts.guided {
        return guided::run(&mut s, opts.no_history);
    }
    let result = if let Some(file) = &opts.file {
        let name = file.display().to_string();
        let reader: Box<dyn std::io::BufRead> = if name == "-" {
            Box::new(std::io::BufReader::new(std::io::stdin()))
        } else {
            match std::fs::File::open(file) {
                Ok(f) => Box::new(std::io::BufReader::new(f)),
                Err(e) => {
                    s.out.error(&format!("cannot open the script {name}: {e}"));
                    return EXIT_LOCAL;
                }
            }
        };
        let mut script = ScriptInput::from_reader(&name, reader);
        run_script(&mut s, &mut script, opts.keep_going)
    } else if !opts.commands.is_empty() {
        let mut script = ScriptInput::from_lines("-c", opts.commands.clone());
        run_script(&mut s, &mut script, opts.keep_going)
    } else if !std::io::stdin().is_terminal() {
        let mut script = ScriptInput::from_reader(
            "<stdin>",
            Box::new(std::io::BufReader::new(std::io::stdin())),
        );
        run_script(&mut s, &mut script, opts.keep_going)
    } else {
        interactive(&mut s, opts.no_history);
        Ok(())
    };
    if s.conn.is_some() {
        let _ = exec::leave(&mut s, false);
    }
    match result {
        Ok(()) => EXIT_OK,
        Err(f) => f.kind.exit_code(),
    }
}

/// Prints a failure with its location and hint.
fn report(s: &Session, f: &Failure, location: Option<&str>) {
    match location {
        Some(loc) => s.out.error(&format!("{loc}: {}", f.message)),
        None => s.out.error(&f.message),
    }
    if let Some(h) = &f.hint {
        s.out.hint(h);
    }
}

/// Parses and runs one command line (comments and blank lines do nothing).
pub fn execute_line(s: &mut Session, input: &mut dyn Input, line: &str) -> Result<(), Failure> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(());
    }
    let (spec, args) = exec::parse_line(trimmed)?;
    // `auth` records itself: a typed password becomes --password-env.
    if spec.name != "record" && spec.name != "auth" {
        exec::record_line(s, trimmed);
    }
    if spec.name != "expect" {
        s.last_reply = None;
    }
    s.interrupt.store(false, Ordering::SeqCst);
    let r = (spec.run)(s, input, args);
    s.interrupt.store(false, Ordering::SeqCst);
    r
}

/// Runs a script: stops at the first failure (unless `keep_going`), except
/// that a failure directly followed by `expect` is left to the `expect`.
/// Returns the first failure.
pub fn run_script(s: &mut Session, input: &mut dyn Input, keep_going: bool) -> Result<(), Failure> {
    let mut first: Option<Failure> = None;
    let prompt = (String::new(), String::new());
    while !s.exiting {
        if s.interrupt.swap(false, Ordering::SeqCst) {
            let f = Failure {
                kind: FailKind::Interrupted,
                message: "interrupted (Ctrl-C)".into(),
                hint: None,
            };
            report(s, &f, input.location().as_deref());
            return Err(f);
        }
        let line = match input.command(&prompt) {
            Line::Text(l) => l,
            Line::Eof => break,
            Line::Interrupted => continue,
        };
        let Err(f) = execute_line(s, input, &line) else {
            continue;
        };
        let judged_by_expect = f.kind != FailKind::Interrupted && input.next_is_expect();
        // A refusal that the next `expect` judges is not an error yet: the
        // reply is in the transcript and the `expect` says whether it was wanted.
        if !(judged_by_expect && f.kind == FailKind::Refused) {
            report(s, &f, input.location().as_deref());
        }
        if f.kind == FailKind::Interrupted {
            return Err(f);
        }
        if judged_by_expect {
            continue;
        }
        if !keep_going {
            if let Some(loc) = input.location() {
                s.out.error(&format!(
                    "stopped at {loc} (exit status {})",
                    f.kind.exit_code()
                ));
            }
            return Err(f);
        }
        first.get_or_insert(f);
    }
    first.map_or(Ok(()), Err)
}

/// The interactive loop with the line editor.
fn interactive(s: &mut Session, no_history: bool) {
    let mut ed = match helper::Editor::new(no_history) {
        Ok(ed) => ed,
        Err(e) => {
            s.out.error(&format!("cannot start the line editor: {e}"));
            return;
        }
    };
    if let Some(w) = ed.history_warning() {
        s.out.warn(&w);
    }
    while !s.exiting {
        ed.set_extensions(s.extensions.as_ref());
        match ed.command(&s.prompt()) {
            Line::Text(line) => {
                // An `auth` line with a stray extra word may hold a typed
                // password: it never reaches the history.
                if !secure::may_hold_secret(&line) {
                    ed.add_history(&line, &s.out);
                }
                if let Err(f) = execute_line(s, &mut ed, &line) {
                    report(s, &f, None);
                }
            }
            Line::Interrupted => continue,
            Line::Eof => {
                let _ = exec::leave(s, true);
            }
        }
    }
}
