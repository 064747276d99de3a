//! Scripts: `expect` (judge the last reply or the conversation),
//! `source` (run a file) and `record` (write what is typed as a
//! replayable script).

pub mod expect;
pub mod record;

pub use expect::is_reply_expect;
pub use record::Recording;

use crate::local::expand_tilde;
use crate::shell::args::Args;
use crate::shell::failure::Failure;
use crate::shell::input::{Input, ScriptInput};
use crate::shell::output::Output;
use crate::shell::session::Session;
use crate::shell::vars::Vars;
use std::fs;
use std::io::BufReader;

/// `expect ...` (the rest of the line as typed, variables expanded).
pub fn expect(s: &mut Session, a: Args) -> Result<(), Failure> {
    expect::expect(s, &a.verbatim)
}

/// An `expect` line read where message text could start (right after
/// `data` or `raw DATA` in a script): its variables are expanded and the
/// last reply (the 354) judged, as the `expect` command would.
pub fn judge_expect_line(out: &Output, vars: &mut Vars, line: &str) -> Result<(), Failure> {
    let rest = line
        .trim()
        .split_once(char::is_whitespace)
        .map_or("", |(_, r)| r);
    let rest = vars.expand(rest)?;
    match expect::parse(&rest)? {
        expect::Expectation::Reply(check) => expect::judge_reply(out, vars, &check),
        _ => Err(Failure::local("only a reply `expect` may follow DATA")),
    }
}

/// `source FILE`.
pub fn source(s: &mut Session, a: Args) -> Result<(), Failure> {
    if s.source_depth >= 16 {
        return Err(Failure::local(
            "`source` nested more than 16 deep (does a file source itself?)",
        ));
    }
    let path = expand_tilde(a.words.first().map_or("", String::as_str));
    let file = fs::File::open(&path).map_err(|e| {
        Failure::local(format!("cannot open {}: {e}", path.display()))
            .hint("check the path (Tab completes it)")
    })?;
    let mut script =
        ScriptInput::from_reader(&path.display().to_string(), Box::new(BufReader::new(file)));
    s.source_depth += 1;
    let r = crate::shell::run_script(s, &mut script, false);
    s.source_depth -= 1;
    // The error was shown at its own file and line: here, say where the
    // sourced script stopped (same kind, so the same exit status).
    r.map_err(|f| Failure {
        message: format!(
            "the sourced script stopped at {} ({})",
            script
                .location()
                .unwrap_or_else(|| path.display().to_string()),
            f.message
        ),
        hint: None,
        ..f
    })
}

/// `record FILE [--append|--force] [--expect] | record stop`.
pub fn record(s: &mut Session, a: Args) -> Result<(), Failure> {
    record::record(s, a)
}
