//! `smtpsh`: read the command line, then hand over to the shell.

use clap::Parser;
use smtpsh::shell::{self, Options, output::ColorChoice};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

/// An interactive SMTP shell: talk to a mail server step by step, compose a
/// MIME message with attachments, send it, and replay sessions as scripts.
#[derive(Parser, Debug)]
#[command(
    name = "smtpsh",
    version,
    about,
    after_help = "Exit status: 0 all succeeded, 1 local error (bad input, missing file), 2 usage, \
3 connection error, 4 server refused a command, 5 an `expect` failed, 130 interrupted, \
141 standard output closed (`| head`).\n\
History: $SMTPSH_HISTORY, else $XDG_STATE_HOME/smtpsh/history (~/.local/state/smtpsh/history).\n\
Also: `smtpsh test --help` (run scripts as tests, JUnit/TAP reports), `smtpsh serve --help` (the sandbox as a headless mail catcher), `smtpsh inbox --help` (read what it stored).\n\
Examples:\n  smtpsh 127.0.0.1 2525\n  smtpsh -f session.smtp 127.0.0.1 2525\n  smtpsh -c 'connect 127.0.0.1 2525' -c ehlo -c quit\n  smtpsh --starttls --require-tls smtp.example.org 587"
)]
struct Cli {
    /// Connect to HOST at start (also HOST:PORT or [IPv6]:PORT).
    host: Option<String>,
    /// The port for HOST (default 25).
    port: Option<String>,
    /// Run the commands in FILE (`-` for standard input), then exit.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Run CMD (repeatable, in order), then exit.
    #[arg(short = 'c', long = "command", value_name = "CMD")]
    command: Vec<String>,
    /// In a script, go on after a failure; exit with the first failure's status.
    #[arg(long)]
    keep_going: bool,
    /// Colour: auto (only on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    color: String,
    /// Do not read or write the history file.
    #[arg(long)]
    no_history: bool,
    /// Walk through HELO, MAIL FROM, RCPT TO, the message and attachments step by step.
    #[arg(long, requires = "host")]
    guided: bool,
    /// Start the built-in sandbox SMTP server (127.0.0.1, a free port; mail
    /// stored in $SMTPSH_SANDBOX_DIR/Maildir, else $XDG_DATA_HOME/smtpsh/sandbox/Maildir)
    /// and connect to it.
    #[arg(long, conflicts_with = "host")]
    sandbox: bool,
    /// Connect to HOST with implicit TLS (TLS from the first byte; port 465 implies it).
    #[arg(long, conflicts_with = "starttls")]
    tls: bool,
    /// Connect to HOST in plaintext, then upgrade with STARTTLS right after EHLO (ports 25, 587).
    #[arg(long)]
    starttls: bool,
    /// Never send MAIL, RCPT, DATA or AUTH without TLS: connections upgrade with
    /// STARTTLS or stop (also `set require-tls on`).
    #[arg(long)]
    require_tls: bool,
    /// Trust the CA certificate(s) in this PEM file instead of the system's roots.
    #[arg(long, value_name = "PATH")]
    cafile: Option<PathBuf>,
    /// Do not verify TLS certificates (unsafe; warned at every connect).
    #[arg(long)]
    insecure: bool,
    /// Define the variable NAME for `${NAME}` in commands (repeatable;
    /// before `set var` in the script and the environment).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Write the whole transcript, without colour and with a timestamp per
    /// line, to FILE (also `set log FILE`).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

/// `--var NAME=VALUE`.
fn parse_var(s: &str) -> Result<(String, String), String> {
    shell::vars::parse_assignment(s)
}

fn main() {
    // `smtpsh serve ...` and `smtpsh inbox ...` are their own programs with
    // their own options; anything else is the shell's command line.
    let argv: Vec<OsString> = std::env::args_os().collect();
    match argv.get(1).and_then(|a| a.to_str()) {
        Some("serve") => std::process::exit(smtpsh::serve::main(&argv[2..])),
        Some("inbox") => std::process::exit(shell::inbox_main(&argv[2..])),
        Some("test") => std::process::exit(smtpsh::runner::main(&argv[2..])),
        _ => {}
    }
    let cli = Cli::parse();
    if cli.file.is_some() && !cli.command.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "smtpsh: -f and -c cannot be used together"
        );
        std::process::exit(shell::EXIT_USAGE);
    }
    let opts = Options {
        host: cli.host,
        port: cli.port,
        file: cli.file,
        commands: cli.command,
        keep_going: cli.keep_going,
        color: ColorChoice::parse(&cli.color).unwrap_or(ColorChoice::Auto),
        no_history: cli.no_history,
        guided: cli.guided,
        sandbox: cli.sandbox,
        tls: cli.tls,
        starttls: cli.starttls,
        require_tls: cli.require_tls,
        cafile: cli.cafile,
        insecure: cli.insecure,
        vars: cli.vars,
        log: cli.log,
    };
    std::process::exit(shell::run(opts));
}
