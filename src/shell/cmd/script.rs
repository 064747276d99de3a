//! Scripts: `expect` (judge the last reply), `source` (run a file) and
//! `record` (write what is typed as a replayable script).

use crate::local::expand_tilde;
use crate::shell::args::Args;
use crate::shell::failure::{FailKind, Failure};
use crate::shell::input::{Input, ScriptInput};
use crate::shell::output::Output;
use crate::shell::session::{Recording, Session};
use crate::smtp::Reply;
use std::fs;
use std::io::{BufReader, Write};

/// Whether `p` is a reply code pattern: three digits or `x`.
fn is_pattern(p: &str) -> bool {
    p.len() == 3
        && p.chars()
            .all(|c| c.is_ascii_digit() || c.eq_ignore_ascii_case(&'x'))
}

/// Whether `line` is an `expect` command with valid code patterns.
pub fn is_expect_line(line: &str) -> bool {
    let mut words = line.split_whitespace();
    words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("expect"))
        && words.clone().count() > 0
        && words.all(is_pattern)
}

/// Does `code` match the pattern `250`, `2xx`, `55x`?
pub fn code_matches(pattern: &str, code: u16) -> bool {
    let p = pattern.as_bytes();
    let c = format!("{code:03}");
    p.len() == 3
        && p.iter()
            .zip(c.as_bytes())
            .all(|(p, c)| p.eq_ignore_ascii_case(&b'x') || p == c)
}

/// `expect CODE...`.
pub fn expect(s: &mut Session, a: Args) -> Result<(), Failure> {
    if let Some(p) = a.words.iter().find(|p| !is_pattern(p)) {
        return Err(Failure::local(format!("'{p}' is not a reply code pattern"))
            .hint("examples: expect 250, expect 2xx, expect 55x 45x"));
    }
    judge_expect(&a.words, s.out.last_reply(), &s.out)
}

/// Whether the last reply matches one of `patterns` (already checked);
/// says so on success, fails with what arrived otherwise.
pub fn judge_expect<P: AsRef<str>>(
    patterns: &[P],
    last: Option<&Reply>,
    out: &Output,
) -> Result<(), Failure> {
    let want = patterns
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(" or ");
    let Some(reply) = last else {
        return Err(Failure::new(
            FailKind::Expect,
            format!("expected {want}, but the previous command got no reply from the server"),
        ));
    };
    if patterns
        .iter()
        .any(|p| code_matches(p.as_ref(), reply.code))
    {
        out.ok(&format!("expect {want}: got {}", reply.code));
        Ok(())
    } else {
        Err(Failure::new(
            FailKind::Expect,
            format!("expected {want}, got {} {}", reply.code, reply.text()),
        ))
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

/// `record FILE | record stop`.
pub fn record(s: &mut Session, a: Args) -> Result<(), Failure> {
    let target = a.words.first().map_or("", String::as_str);
    if target == "stop" {
        return match s.record.take() {
            Some(rec) => {
                s.out.note(&format!(
                    "recording stopped; replay it with: smtpsh -f {}",
                    rec.path
                ));
                Ok(())
            }
            None => Err(Failure::local("not recording").hint("start with: record FILE")),
        };
    }
    let path = expand_tilde(target);
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Failure::local(format!("cannot write {}: {e}", path.display())))?;
    let _ = writeln!(
        file,
        "# recorded by smtpsh; replay with: smtpsh -f {}",
        path.display()
    );
    s.record = Some(Recording {
        path: path.display().to_string(),
        file,
    });
    s.out.note(&format!(
        "recording commands to {} (`record stop` ends it)",
        path.display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_patterns() {
        assert!(code_matches("250", 250));
        assert!(code_matches("2xx", 250));
        assert!(code_matches("2XX", 221));
        assert!(code_matches("5x0", 550));
        assert!(!code_matches("2xx", 550));
        assert!(!code_matches("25", 250));
        assert!(!code_matches("2500", 250));
        assert!(is_expect_line("expect 250 5xx"));
        assert!(!is_expect_line("expect"));
        assert!(!is_expect_line("expect 25"));
        assert!(!is_expect_line("hello 250"));
    }
}
