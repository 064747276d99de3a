//! `smtpsh test`: runs scripts as tests.

/// Runs `smtpsh test ARGS`; returns the exit status.
pub fn main(_args: &[std::ffi::OsString]) -> i32 {
    eprintln!("smtpsh test: not yet");
    2
}
