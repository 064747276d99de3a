//! `smtpsh serve`: the sandbox SMTP server without the shell — a headless
//! mail catcher on a fixed port, one line (or JSON object) per event.

use std::ffi::OsString;

/// Runs `smtpsh serve ARGS` (the words after `serve`); returns the exit
/// status.
pub fn main(_args: &[OsString]) -> i32 {
    eprintln!("smtpsh serve: not implemented yet");
    2
}
