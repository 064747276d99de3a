//! The interactive shell: the command table and its handlers, the session,
//! the line editor, script replay and the guided walk-through.
//!
//! - [`commands`]: the command table; [`settings`]: the settings table.
//! - [`args`]: a typed line → a command and its arguments.
//! - [`cmd`]: the handlers, grouped by concern; [`delivery`]: the `send`
//!   transaction.
//! - [`session`]: the shell's state; the connection lives in [`session::Live`].
//! - [`failure`]: how commands fail; [`output`]: everything printed.
//! - [`input`], [`helper`], [`history`], [`watch`]: where lines come from,
//!   the line editor, its history, and replies that arrive at the prompt.
//! - [`guided`], [`progress`]: the guided walk-through; the upload bar.
//!
//! [`run`] is the entry point: it connects if asked, then reads commands
//! from the line editor (a terminal), a script (`-f`, standard input) or
//! the `-c` list, and returns the process exit status.

pub mod args;
pub mod cmd;
pub mod commands;
pub mod delivery;
pub mod failure;
pub mod guided;
pub mod helper;
pub mod history;
pub mod input;
pub mod log;
pub mod output;
pub mod profile;
pub mod progress;
pub mod session;
pub mod settings;
pub mod vars;
pub mod watch;

use args::parse_line;
use cmd::tls::TlsMode;
use commands::{Handler, Record};
use failure::{FailKind, Failure};
use input::{Input, Line, ScriptInput};
use output::{ColorChoice, Output};
use session::Session;
use settings::{Color, Settings};
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
/// Exit status: standard output was closed by its reader (`smtpsh ... |
/// head`): smtpsh stopped quietly, as a process ended by SIGPIPE would
/// (128 + 13).
pub const EXIT_PIPE: i32 = 141;

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
    /// `-4`: the HOST PORT connection uses IPv4 only.
    pub ipv4: bool,
    /// `-6`: the HOST PORT connection uses IPv6 only.
    pub ipv6: bool,
    /// `--source ADDR`: the HOST PORT connection comes from this address.
    pub source: Option<String>,
    /// `--lmtp`: the HOST PORT (or unix:PATH) connection speaks LMTP.
    pub lmtp: bool,
    /// `--require-tls`: never send MAIL, RCPT, DATA or AUTH in plaintext.
    pub require_tls: bool,
    /// The TLS controls: `--cafile`, `--insecure`, `--cert`, `--key`,
    /// `--servername`, `--no-sni`, `--tls-min`, `--tls-max`, `--pin`.
    pub tls_controls: cmd::tls_options::TlsControls,
    /// `--sandbox`: start the built-in SMTP server and connect to it.
    pub sandbox: bool,
    /// `--var NAME=VALUE`, in order (a later one wins).
    pub vars: Vec<(String, String)>,
    /// `--log FILE`: the transcript, uncoloured and timestamped.
    pub log: Option<PathBuf>,
    /// `--profile NAME`: connect at start with this profile.
    pub profile: Option<String>,
    /// `--config FILE`: the config file instead of `$SMTPSH_CONFIG` or
    /// `$XDG_CONFIG_HOME/smtpsh/config.toml`.
    pub config: Option<PathBuf>,
    /// `--no-init`: do not run the init file at interactive start.
    pub no_init: bool,
}

/// Runs `smtpsh inbox ARGS` (the words after `inbox`): the shell's
/// `inbox` command from the command line; returns the exit status.
///
/// The words are quoted back into one `inbox ...` line and run by
/// [`execute_line`] in a session of their own (no history, no sandbox,
/// colour when standard output is a terminal), so the options, their
/// checks and the exit status (0, 1 local error, 5 a failed check, 130
/// Ctrl-C) are exactly those of `inbox` in the shell or in a script.
/// `--help` (or `-h`) anywhere prints the command's help.
pub fn inbox_main(args: &[std::ffi::OsString]) -> i32 {
    let mut s = new_session(Settings {
        color: Color(ColorChoice::Auto),
        ..Settings::default()
    });
    let mut line = String::from("inbox");
    for (i, arg) in args.iter().enumerate() {
        let Some(word) = arg.to_str() else {
            s.out.error(&format!(
                "smtpsh inbox: argument {} is not valid UTF-8: {}",
                i + 1,
                arg.to_string_lossy()
            ));
            s.out
                .hint("file and directory names must be UTF-8 for `inbox`; rename or link it");
            return EXIT_USAGE;
        };
        if word == "--help" || word == "-h" {
            line = "help inbox".to_string();
            break;
        }
        match shlex::try_quote(word) {
            Ok(q) => {
                line.push(' ');
                line.push_str(&q);
            }
            Err(_) => {
                s.out.error(&format!(
                    "smtpsh inbox: argument {} holds a NUL character",
                    i + 1
                ));
                return EXIT_USAGE;
            }
        }
    }
    let mut input = ScriptInput::from_lines("smtpsh inbox", vec![line.clone()]);
    let status = match execute_line(&mut s, &mut input, &line) {
        Ok(()) => EXIT_OK,
        Err(f) => {
            report(&s, &f, None);
            f.kind.exit_code()
        }
    };
    finish(&mut s, status)
}

/// The flag Ctrl-C sets (network waits and `inbox --wait` check it); a
/// second Ctrl-C while it is still set ends the process with 130.
fn ctrl_c_flag() -> Arc<AtomicBool> {
    let interrupt = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        130,
        interrupt.clone(),
    );
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, interrupt.clone());
    interrupt
}

/// A session printing to standard output in the settings' colour, with
/// Ctrl-C caught.
fn new_session(settings: Settings) -> Session {
    let mut out = Output::default();
    out.set_color(settings.color.0.resolve());
    Session::new(settings, out, ctrl_c_flag())
}

/// Flushes the output; the exit status, 141 when standard output closed.
fn finish(s: &mut Session, status: i32) -> i32 {
    let _ = s.out.flush();
    if s.out.is_broken() { EXIT_PIPE } else { status }
}

/// Runs smtpsh as the options say; returns the exit status.
pub fn run(opts: Options) -> i32 {
    let settings = Settings {
        color: Color(opts.color),
        require_tls: opts.require_tls,
        tls: opts.tls_controls.clone(),
        ..Settings::default()
    };
    let mut s = new_session(settings);
    s.vars = vars::Vars::with_command_line(&opts.vars);
    s.profiles = profile::Profiles::load(opts.config.as_deref());
    if let Some(name) = &opts.profile {
        // A profile asked for on the command line that cannot be had is
        // a usage error: nothing is run.
        if let Err(f) = s.profiles.get(name) {
            report(&s, &f, None);
            return finish(&mut s, EXIT_USAGE);
        }
    } else if let Some(f) = &s.profiles.error {
        s.out
            .warn(&format!("{} (no profiles until it is fixed)", f.message));
        if let Some(h) = &f.hint {
            s.out.hint(h);
        }
    }
    if let Some(path) = &opts.log {
        match log::TranscriptLog::open(path) {
            Ok(log) => {
                s.out.set_log(Some(log));
            }
            Err(e) => {
                s.out.error(&format!(
                    "cannot write the transcript to {}: {e}",
                    path.display()
                ));
                return finish(&mut s, EXIT_LOCAL);
            }
        }
    }
    let status = run_session(&mut s, &opts);
    if s.is_open() {
        let _ = cmd::connect::leave(&mut s, false);
    }
    finish(&mut s, status)
}

/// Where the commands come from.
fn scripted(opts: &Options) -> bool {
    opts.file.is_some() || !opts.commands.is_empty() || !std::io::stdin().is_terminal()
}

/// Connects as the command line says, then runs the commands.
fn run_session(s: &mut Session, opts: &Options) -> i32 {
    let scripted = scripted(opts);
    // A person at a terminal (the shell, or the guided walk-through) is
    // told when a reply is slow to come, the first greeting included.
    s.out.waiting_notes = !scripted && std::io::stdout().is_terminal();
    if !scripted && !opts.guided {
        s.out.note(&format!(
            "smtpsh {} — type `help` for commands, Tab to complete, Ctrl-D to leave",
            env!("CARGO_PKG_VERSION")
        ));
    }
    if !scripted && !opts.guided && !opts.no_init {
        run_init_file(s);
    }
    let connected = connect_at_start(s, opts);
    fresh_line_after_ctrl_c(s);
    if let Err(f) = connected {
        report(s, &f, None);
        if scripted || opts.guided {
            return f.kind.exit_code();
        }
    }
    if opts.guided {
        return guided::run(s, opts.no_history);
    }
    let result = if let Some(file) = &opts.file {
        let name = file.display().to_string();
        let mut script = if name == "-" {
            ScriptInput::from_stdin(&name)
        } else {
            match std::fs::File::open(file) {
                Ok(f) => ScriptInput::from_reader(&name, Box::new(std::io::BufReader::new(f))),
                Err(e) => {
                    s.out.error(&format!("cannot open the script {name}: {e}"));
                    return EXIT_LOCAL;
                }
            }
        };
        run_script(s, &mut script, opts.keep_going)
    } else if !opts.commands.is_empty() {
        let mut script = ScriptInput::from_lines("-c", opts.commands.clone());
        run_script(s, &mut script, opts.keep_going)
    } else if scripted {
        run_script(s, &mut ScriptInput::from_stdin("<stdin>"), opts.keep_going)
    } else {
        interactive(s, opts.no_history);
        Ok(())
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(f) => f.kind.exit_code(),
    }
}

/// The init file (`$XDG_CONFIG_HOME/smtpsh/init.smtp`), run as a script
/// when the shell starts at a terminal: it stops at its first failure,
/// said with its `file:line`, and the shell starts all the same.
fn run_init_file(s: &mut Session) {
    let Some(path) = crate::local::init_file() else {
        return;
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            s.out.warn(&format!(
                "cannot read the init file {}: {e}",
                path.display()
            ));
            return;
        }
    };
    let name = path.display().to_string();
    let mut script = ScriptInput::from_reader(&name, Box::new(std::io::BufReader::new(file)));
    if run_script(s, &mut script, false).is_err() {
        s.out.note(&format!(
            "the rest of the init file {name} was not run (`--no-init` skips it)"
        ));
    }
}

/// `--sandbox`, or HOST [PORT] with `--tls` / `--starttls`, or `--profile`.
fn connect_at_start(s: &mut Session, opts: &Options) -> Result<(), Failure> {
    if opts.sandbox {
        cmd::inbox::sandbox_connection(s, !opts.guided)?;
    }
    let mode: TlsMode = cmd::tls::mode_from_flags(opts.tls, opts.starttls)?;
    if opts.profile.is_none() && opts.host.is_none() {
        return Ok(());
    }
    let net = crate::smtp::conn::NetOptions {
        family: match (opts.ipv4, opts.ipv6) {
            (true, _) => Some(crate::smtp::conn::Family::V4),
            (false, true) => Some(crate::smtp::conn::Family::V6),
            (false, false) => None,
        },
        source: opts
            .source
            .as_deref()
            .map(cmd::net::parse_source)
            .transpose()?,
        proxy: None,
    };
    let tls = s.settings.tls.clone();
    if let Some(name) = &opts.profile {
        let mut target = s.profiles.get(name)?.target(&tls);
        if mode != TlsMode::Auto {
            target.mode = mode;
        }
        target.net = net;
        target.lmtp |= opts.lmtp;
        // What the command line gives explicitly wins over the profile.
        target.tls = crate::shell::profile::layered(&target.tls, &tls);
        return cmd::connect::open(s, target);
    }
    let Some(host) = &opts.host else {
        return Ok(());
    };
    let target = cmd::connect::parse_target(host, opts.port.as_deref(), mode, opts.lmtp)?;
    cmd::connect::open(s, session::Target { net, tls, ..target })
}

/// After a command or a connect: Ctrl-C during a wait came as a signal,
/// and the terminal echoed `^C` where the cursor was, so what follows
/// starts a line of its own. (At the line editor's prompt Ctrl-C is a key,
/// and the editor ends the line itself.) Clears the flag.
fn fresh_line_after_ctrl_c(s: &Session) {
    if s.interrupt.swap(false, Ordering::SeqCst) && std::io::stderr().is_terminal() {
        let _ = s.out.flush();
        let _ = std::io::Write::write_all(&mut std::io::stderr(), b"\n");
    }
}

/// Prints a failure with its location and hint.
pub fn report(s: &Session, f: &Failure, location: Option<&str>) {
    match location {
        Some(loc) => s.out.error(&format!("{loc}: {}", f.message)),
        None => s.out.error(&f.message),
    }
    if let Some(h) = &f.hint {
        s.out.hint(h);
    }
}

/// Runs one line a script or a person gave: `${NAME}` variables are
/// expanded first (see [`vars`]), then it runs as [`execute_line`] runs it.
pub fn run_line(s: &mut Session, input: &mut dyn Input, line: &str) -> Result<(), Failure> {
    let typed = line.trim();
    if typed.is_empty() || typed.starts_with('#') {
        return Ok(());
    }
    let expanded = s.vars.expand(typed)?;
    execute(s, input, typed, &expanded)
}

/// Parses and runs one command line exactly as given (no variables;
/// comments and blank lines do nothing).
pub fn execute_line(s: &mut Session, input: &mut dyn Input, line: &str) -> Result<(), Failure> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(());
    }
    execute(s, input, trimmed, trimmed)
}

/// Runs `line`; `typed` is how it was written (before variables), which
/// is what a recording keeps.
fn execute(s: &mut Session, input: &mut dyn Input, typed: &str, line: &str) -> Result<(), Failure> {
    let (spec, args) = match parse_line(line) {
        Ok(parsed) => parsed,
        Err(f) => {
            cmd::script::record::not_run(s, typed, &f);
            return Err(f);
        }
    };
    match spec.record {
        Record::Line if s.record.is_some() => {
            cmd::script::record::begin(s, Some(cmd::script::record::recorded_form(typed)));
        }
        Record::Itself => cmd::script::record::begin(s, None),
        _ => {}
    }
    if !spec.judges_last_reply {
        s.out.forget_reply();
    }
    s.interrupt.store(false, Ordering::SeqCst);
    // Only a command typed at the prompt may page its output.
    s.out.interactive = input.interactive();
    let r = match spec.run {
        Handler::Plain(run) => run(s, args),
        Handler::Reads(run) => run(s, input, args),
        Handler::Bare(run) => run(s),
    };
    fresh_line_after_ctrl_c(s);
    cmd::script::record::finish(s, spec, &r);
    if spec.name != "exit" {
        // The unsent-draft warning is for the exit that comes right after
        // it: after any other command, the next exit warns again.
        s.warned_unsent = false;
    }
    r
}

/// Writes a command line to the transcript file (`--log`), after
/// `where>` (the script's `file:line`, or `smtpsh`); never a line that
/// may hold a secret, and not blank lines.
fn log_command(s: &Session, place: &str, line: &str) {
    if line.trim().is_empty() {
        return;
    }
    if may_hold_secret(line) {
        s.out.log_only(&format!(
            "{place}> (a line that may hold a secret: not logged)"
        ));
    } else {
        s.out.log_only(&format!("{place}> {line}"));
    }
}

/// Whether a typed line may hold a secret (a command whose stray words may
/// be one, say `auth PLAIN alice hunter2`, that does not parse): it never
/// reaches the history.
pub fn may_hold_secret(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    commands::find(first).is_some_and(|spec| spec.secret_words) && parse_line(line).is_err()
}

/// Runs a script: stops at the first failure (unless `keep_going`), except
/// that a failure directly followed by `expect` is left to the `expect`.
/// Returns the first failure. Stops quietly when standard output is closed.
pub fn run_script(s: &mut Session, input: &mut dyn Input, keep_going: bool) -> Result<(), Failure> {
    let mut first: Option<Failure> = None;
    let prompt = (String::new(), String::new());
    while !s.exiting && !s.out.is_broken() {
        if s.interrupt.swap(false, Ordering::SeqCst) {
            let f = Failure::new(FailKind::Interrupted, "interrupted (Ctrl-C)");
            report(s, &f, input.location().as_deref());
            return Err(f);
        }
        let line = match input.command(&prompt) {
            Line::Text(l) => l,
            Line::Eof => break,
            Line::Interrupted => continue,
        };
        log_command(s, input.location().as_deref().unwrap_or("smtpsh"), &line);
        let Err(f) = run_line(s, input, &line) else {
            continue;
        };
        // A failed `expect` is never excused by the next one.
        let judged_by_expect =
            !matches!(f.kind, FailKind::Interrupted | FailKind::Expect) && input.next_is_expect();
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

/// Runs `read` (the line editor at `prompt`) while the watcher waits on
/// the connection ([`watch`]): what the server sends on its own meanwhile
/// is shown above the prompt. Returns the line, and when the watcher woke
/// the editor because the connection ended, what had been typed (to put
/// back; the old prompt line is erased): then a [`Line::Interrupted`] is
/// the watcher's doing, not the user's Ctrl-C, and what it showed is also
/// in the log. `say_connect`: see [`watch::Reach::say_connect`].
fn read_watched(
    s: &mut Session,
    ed: &mut helper::Editor,
    prompt: &(String, String),
    say_connect: bool,
    read: impl FnOnce(&mut helper::Editor) -> Line,
) -> (Line, Option<String>) {
    let mut printer = ed.take_printer();
    let reach = watch::Reach {
        printer: printer.as_mut(),
        color: s.out.color(),
        explain: s.out.explain,
        wake: std::io::stdout().is_terminal(),
        fit: s.out.fit(),
        say_connect,
    };
    let conn = s.live.as_mut().map(|l| &mut l.conn);
    let (line, seen) = watch::around(conn, reach, || read(&mut *ed));
    ed.give_printer(printer);
    if !seen.woke {
        return (line, None);
    }
    s.interrupt.store(false, Ordering::SeqCst);
    let typed = if line == Line::Interrupted {
        ed.abandoned_line(prompt)
    } else {
        String::new()
    };
    let _ = s.out.bytes(seen.text.as_bytes());
    s.out.log_only(seen.text.trim_end_matches('\n'));
    let _ = s.out.flush();
    (line, Some(typed))
}

/// The interactive loop with the line editor.
fn interactive(s: &mut Session, no_history: bool) {
    let mut ed = match helper::Editor::new(no_history, s.out.color()) {
        Ok(ed) => ed,
        Err(e) => {
            s.out.error(&format!("cannot start the line editor: {e}"));
            return;
        }
    };
    if let Some(w) = ed.history_warning() {
        s.out.warn(&w);
    }
    ed.set_profiles(s.profiles.names());
    let mut resume = String::new();
    while !s.exiting && !s.out.is_broken() {
        ed.set_extensions(s.conversation().and_then(|c| c.extensions()));
        let prompt = s.prompt();
        let (line, woke) = read_watched(s, &mut ed, &prompt, true, |ed| {
            ed.command_from(&prompt, &resume)
        });
        resume = woke.unwrap_or_default();
        match line {
            Line::Text(line) => {
                if !may_hold_secret(&line) {
                    ed.add_history(&line, &s.out);
                }
                log_command(s, "smtpsh", &line);
                if let Err(f) = run_line(s, &mut ed, &line) {
                    report(s, &f, None);
                    // A paste stops at its first failure, as a script does.
                    if ed.drop_pasted() {
                        s.out.note("what was pasted after it is not run");
                    }
                }
            }
            Line::Interrupted => {}
            Line::Eof => {
                let _ = cmd::connect::leave(s, true);
            }
        }
    }
}

#[cfg(test)]
mod tests;
