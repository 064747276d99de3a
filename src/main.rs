//! `smtpsh`: read the command line, then hand over to the shell.

use clap::Parser;
use smtpsh::shell::{self, Options, output::ColorChoice};
use std::path::PathBuf;

/// An interactive SMTP shell: talk to a mail server step by step, compose a
/// MIME message with attachments, send it, and replay sessions as scripts.
#[derive(Parser, Debug)]
#[command(
    name = "smtpsh",
    version,
    about,
    after_help = "Exit status: 0 all succeeded, 1 local error (bad input, missing file), 2 usage, \
3 connection error, 4 server refused a command, 5 an `expect` failed, 130 interrupted.\n\
History: $SMTPSH_HISTORY, else $XDG_STATE_HOME/smtpsh/history (~/.local/state/smtpsh/history).\n\
Examples:\n  smtpsh 127.0.0.1 2525\n  smtpsh -f session.smtp 127.0.0.1 2525\n  smtpsh -c 'connect 127.0.0.1 2525' -c ehlo -c quit"
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
}

fn main() {
    let cli = Cli::parse();
    if cli.file.is_some() && !cli.command.is_empty() {
        eprintln!("smtpsh: -f and -c cannot be used together");
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
    };
    std::process::exit(shell::run(opts));
}
