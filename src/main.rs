//! `smtpsh`: read the command line, then hand over to the shell.

use clap::Parser;
use smtpsh::cli::{self, Cli};
use smtpsh::shell;
use std::ffi::OsString;
use std::io::Write;

fn main() {
    // `smtpsh serve ...`, `smtpsh inbox ...` and the others are their own
    // programs with their own options; anything else is the shell's
    // command line.
    let argv: Vec<OsString> = std::env::args_os().collect();
    let rest = argv.get(2..).unwrap_or_default();
    match argv.get(1).and_then(|a| a.to_str()) {
        Some("serve") => std::process::exit(smtpsh::serve::main(rest)),
        Some("inbox") => std::process::exit(shell::inbox_main(rest)),
        Some("test") => std::process::exit(smtpsh::runner::main(rest)),
        Some("profiles") => std::process::exit(cli::profiles::main(rest)),
        Some("completions") => std::process::exit(cli::completions::main(rest)),
        Some("man") => std::process::exit(cli::man::main(rest)),
        _ => {}
    }
    match Cli::parse().into_options() {
        Ok(opts) => std::process::exit(shell::run(opts)),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "smtpsh: {e}");
            std::process::exit(shell::EXIT_USAGE);
        }
    }
}
