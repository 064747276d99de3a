//! `expect`: a script's assertion. On the last reply — its code (`250`,
//! `2xx`), its enhanced status code (`5.7.1`, `5.1.x`), a regular
//! expression on its text whose named groups become variables — or on the
//! conversation: `expect tls`, `expect ext NAME...`, `expect auth [USER]`.

use crate::shell::failure::{FailKind, Failure};
use crate::shell::output::Output;
use crate::shell::session::Session;
use crate::shell::vars::{Vars, is_name};
use crate::smtp::{Conversation, Ext, Reply};
use regex::Regex;

/// What an `expect` line asks for.
#[derive(Debug, Clone)]
pub enum Expectation {
    /// The last reply: any of the codes, any of the enhanced codes, and
    /// the regular expression, each when given.
    Reply(ReplyCheck),
    /// The connection is encrypted.
    Tls,
    /// The server announced every one of these extensions.
    Ext(Vec<String>),
    /// Authenticated (as this user, when given).
    Auth(Option<String>),
}

/// `expect CODE... ENHANCED... /REGEX/`.
#[derive(Debug, Clone, Default)]
pub struct ReplyCheck {
    /// `250`, `2xx`, `55x`.
    pub codes: Vec<String>,
    /// `5.7.1`, `5.1.x`.
    pub enhanced: Vec<String>,
    /// The expression as typed (between the slashes, with its flags) and compiled.
    pub regex: Option<(String, Regex)>,
}

/// The examples every parse error shows.
const EXAMPLES: &str = "examples: expect 250, expect 2xx 3xx, expect 5.7.1, expect 550 5.1.x, \
     expect 250 /queued as (?<queue_id>\\S+)/, expect tls, expect ext PIPELINING, expect auth alice";

/// Whether `p` is a reply code pattern: three digits or `x`, the first a
/// class (2-5, or x).
pub fn is_code_pattern(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() == 3
        && b.iter()
            .all(|c| c.is_ascii_digit() || c.eq_ignore_ascii_case(&b'x'))
}

/// Whether `p` is an enhanced status code pattern (RFC 3463): class 2, 4
/// or 5, subject and detail of 1-3 digits; any part may be `x`.
pub fn is_enhanced_pattern(p: &str) -> bool {
    let parts: Vec<&str> = p.split('.').collect();
    let [class, subject, detail] = parts.as_slice() else {
        return false;
    };
    let wild = |s: &str| s.eq_ignore_ascii_case("x");
    let digits = |s: &str| (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    (wild(class) || matches!(*class, "2" | "4" | "5"))
        && (wild(subject) || digits(subject))
        && (wild(detail) || digits(detail))
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

/// Does the enhanced code `class.subject.detail` match `pattern` (`5.1.x`)?
fn enhanced_matches(pattern: &str, code: &crate::smtp::EnhancedCode) -> bool {
    let want: Vec<&str> = pattern.split('.').collect();
    let have = [
        code.class.to_string(),
        code.subject.to_string(),
        code.detail.to_string(),
    ];
    want.len() == 3
        && want.iter().zip(have.iter()).all(|(w, h)| {
            w.eq_ignore_ascii_case("x") || w.trim_start_matches('0') == h.trim_start_matches('0')
        })
}

/// Parses what follows `expect` (variables already expanded).
pub fn parse(rest: &str) -> Result<Expectation, Failure> {
    let rest = rest.trim();
    let (first, after) = match rest.split_once(char::is_whitespace) {
        Some((f, a)) => (f, a.trim()),
        None => (rest, ""),
    };
    let bad = |msg: String| Failure::local(msg).hint(EXAMPLES);
    match first.to_ascii_lowercase().as_str() {
        "" => Err(bad("`expect` needs something to check".into())),
        "tls" if after.is_empty() => Ok(Expectation::Tls),
        "tls" => Err(bad(format!(
            "`expect tls` takes nothing more (got '{after}')"
        ))),
        "ext" if after.is_empty() => Err(bad(
            "`expect ext` needs the extension names, e.g. expect ext PIPELINING SIZE".into(),
        )),
        "ext" => Ok(Expectation::Ext(
            after.split_whitespace().map(str::to_string).collect(),
        )),
        "auth" => {
            let words = shlex::split(after).ok_or_else(|| bad("unbalanced quotes".into()))?;
            match words.as_slice() {
                [] => Ok(Expectation::Auth(None)),
                [user] => Ok(Expectation::Auth(Some(user.clone()))),
                _ => Err(bad("`expect auth` takes at most one user name".into())),
            }
        }
        _ => parse_reply_check(rest).map(Expectation::Reply),
    }
}

/// `CODE... ENHANCED... /REGEX/flags`, in any order; the expression runs
/// from its first `/` to the last one on the line.
fn parse_reply_check(text: &str) -> Result<ReplyCheck, Failure> {
    let mut check = ReplyCheck::default();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('/') {
            let Some(end) = inner.rfind('/') else {
                return Err(Failure::local(format!(
                    "the regular expression /{inner} has no closing '/'"
                ))
                .hint(EXAMPLES));
            };
            let flags = &inner[end + 1..];
            check.regex = Some(compile(&inner[..end], flags)?);
            break;
        }
        let (word, after) = match rest.split_once(char::is_whitespace) {
            Some((w, a)) => (w, a.trim_start()),
            None => (rest, ""),
        };
        if is_code_pattern(word) {
            check.codes.push(word.to_string());
        } else if is_enhanced_pattern(word) {
            check.enhanced.push(word.to_string());
        } else {
            return Err(Failure::local(format!(
                "'{word}' is not a reply code (250, 2xx), an enhanced status code (5.7.1, 5.1.x), \
                 a /regular expression/, tls, ext or auth"
            ))
            .hint(EXAMPLES));
        }
        rest = after;
    }
    Ok(check)
}

/// Compiles `/pattern/flags` (flags: `i` ignores case); every named group
/// must be a variable name.
fn compile(pattern: &str, flags: &str) -> Result<(String, Regex), Failure> {
    let ignore_case = match flags.trim() {
        "" => false,
        "i" => true,
        other => {
            return Err(Failure::local(format!(
                "unknown flag '{other}' after the regular expression (only i, ignore case)"
            )));
        }
    };
    let regex = regex::RegexBuilder::new(pattern)
        .case_insensitive(ignore_case)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            Failure::local(format!(
                "not a valid regular expression: /{pattern}/: {}",
                e.to_string().lines().last().unwrap_or("invalid")
            ))
            .hint(
                "syntax: https://docs.rs/regex/#syntax; a named group (?<name>...) becomes ${name}",
            )
        })?;
    if let Some(name) = regex.capture_names().flatten().find(|n| !is_name(n)) {
        return Err(Failure::local(format!(
            "the group name '{name}' cannot be a variable name (letters, digits and _)"
        )));
    }
    Ok((format!("/{pattern}/{}", flags.trim()), regex))
}

/// Whether `line` is an `expect` that judges the last reply (code,
/// enhanced code or regular expression); `expect tls`, `ext` and `auth`
/// judge the conversation instead.
pub fn is_reply_expect(line: &str) -> bool {
    let t = line.trim();
    let (first, rest) = t.split_at(t.find(char::is_whitespace).unwrap_or(t.len()));
    first.eq_ignore_ascii_case("expect") && matches!(parse(rest), Ok(Expectation::Reply(_)))
}

/// `expect ...`: judges and, on success, says what matched.
pub fn expect(s: &mut Session, rest: &str) -> Result<(), Failure> {
    match parse(rest)? {
        Expectation::Reply(check) => judge_reply(&s.out, &mut s.vars, &check),
        Expectation::Tls => {
            let c = s.conversation().filter(|c| c.closed().is_none());
            match c {
                Some(c) if c.is_secure() => {
                    s.out.ok("expect tls: the connection is encrypted");
                    Ok(())
                }
                Some(c) => Err(expect_failed(
                    "expected an encrypted connection (tls), but it is plaintext",
                )
                .hint(if c.offers(Ext::StartTls) {
                    "`starttls` encrypts it (the server offers STARTTLS)"
                } else {
                    "the server does not offer STARTTLS; `connect --tls HOST 465` uses implicit TLS"
                })),
                None => Err(expect_failed(
                    "expected an encrypted connection (tls), but not connected",
                )),
            }
        }
        Expectation::Ext(names) => judge_ext(s.conversation(), &names).map(|said| s.out.ok(&said)),
        Expectation::Auth(user) => {
            judge_auth(s.conversation(), user.as_deref()).map(|said| s.out.ok(&said))
        }
    }
}

fn expect_failed(message: impl Into<String>) -> Failure {
    Failure::new(FailKind::Expect, message)
}

/// The reply checks on the last reply `out` showed — and, after an LMTP
/// message some recipients did not get, on each of their replies
/// ([`Output::more_replies`]): every one must match. Named groups of a
/// matching expression become variables in `vars` (from the first
/// reply). (Apart from the session: `data` judges an `expect 354` while
/// it holds the connection.)
pub fn judge_reply(out: &Output, vars: &mut Vars, check: &ReplyCheck) -> Result<(), Failure> {
    let want = describe(check);
    let Some(reply) = out.last_reply().cloned() else {
        return Err(expect_failed(format!(
            "expected {want}, but the previous command got no reply from the server"
        )));
    };
    for other in out.more_replies() {
        judge_one(check, other, &want)
            .map_err(|f| f.hint("each refused recipient's reply must match the `expect`"))?;
    }
    let captures = judge_one(check, &reply, &want)?;
    let mut said = format!("expect {want}: got {}", got(&reply, check));
    if !out.more_replies().is_empty() {
        said.push_str(&format!(
            " ({} replies, every one matching)",
            out.more_replies().len() + 1
        ));
    }
    let mut set = Vec::new();
    for (name, value) in &captures {
        vars.capture(name, value.as_deref());
        if let Some(v) = value {
            set.push(format!("{name}={v}"));
        }
    }
    if !set.is_empty() {
        said.push_str(&format!("; {}", set.join(" ")));
    }
    out.ok(&said);
    Ok(())
}

/// Whether `reply` satisfies `check`: the expression's named groups and
/// what each captured when it matched, or the failure saying what differs.
fn judge_one(check: &ReplyCheck, reply: &Reply, want: &str) -> Result<Captured, Failure> {
    let code_ok = check.codes.is_empty() || check.codes.iter().any(|p| code_matches(p, reply.code));
    let enhanced_ok = check.enhanced.is_empty()
        || reply
            .enhanced
            .is_some_and(|e| check.enhanced.iter().any(|p| enhanced_matches(p, &e)));
    let text = reply.lines.join("\n");
    let captures = check.regex.as_ref().map(|(_, re)| re.captures(&text));
    let regex_ok = !matches!(captures, Some(None));
    if !(code_ok && enhanced_ok && regex_ok) {
        let why = if !code_ok {
            String::new()
        } else if !enhanced_ok && reply.enhanced.is_none() {
            " (the reply has no enhanced status code)".to_string()
        } else if !enhanced_ok {
            " (another enhanced status code)".to_string()
        } else {
            " (the text does not match)".to_string()
        };
        let f = expect_failed(format!("expected {want}, got {}{why}", one_line(reply)));
        // The whole reply, when its first line did not say it all.
        return Err(if reply.lines.len() > 1 || one_line(reply).ends_with('…') {
            f.hint(full_reply(reply))
        } else {
            f
        });
    }
    let mut named = Vec::new();
    if let (Some((_, re)), Some(Some(caps))) = (&check.regex, captures) {
        for name in re.capture_names().flatten() {
            let value = caps.name(name).map(|m| m.as_str().to_string());
            named.push((name.to_string(), value));
        }
    }
    Ok(named)
}

/// A matching expression's named groups and what each captured.
type Captured = Vec<(String, Option<String>)>;

/// What an expectation asks, in words: `250 or 2xx, 5.7.1, /text/`.
fn describe(check: &ReplyCheck) -> String {
    let mut parts = Vec::new();
    if !check.codes.is_empty() {
        parts.push(check.codes.join(" or "));
    }
    if !check.enhanced.is_empty() {
        parts.push(check.enhanced.join(" or "));
    }
    if let Some((typed, _)) = &check.regex {
        parts.push(typed.clone());
    }
    parts.join(" ")
}

/// What came, as much as the check looked at.
fn got(reply: &Reply, check: &ReplyCheck) -> String {
    match (&check.enhanced.is_empty(), reply.enhanced) {
        (false, Some(e)) => format!("{} {e}", reply.code),
        _ => reply.code.to_string(),
    }
}

/// The reply on one line for the failure's first line: its first line,
/// shortened (the hint shows it in full).
fn one_line(reply: &Reply) -> String {
    let first = reply.lines.first().cloned().unwrap_or_default();
    let more = if reply.lines.len() > 1 { " …" } else { "" };
    let text = crate::text::shorten(first, 200, "…") + more;
    if text.is_empty() {
        reply.code.to_string()
    } else {
        format!("{} {text}", reply.code)
    }
}

/// The whole reply, every line as the server sent it.
fn full_reply(reply: &Reply) -> String {
    let mut s = String::from("the reply in full:");
    for line in reply.wire_lines() {
        s.push_str("\n  ");
        s.push_str(&line);
    }
    s
}

fn judge_ext(c: Option<&Conversation>, names: &[String]) -> Result<String, Failure> {
    let want = names.join(" ");
    let Some(c) = c else {
        return Err(expect_failed(format!(
            "expected the extension {want}, but not connected"
        )));
    };
    let Some(ext) = c.extensions() else {
        return Err(expect_failed(format!(
            "expected the extension {want}, but the server was not greeted with EHLO, so it announced nothing"
        ))
        .hint("`ehlo` first"));
    };
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| ext.keyword(n).is_none())
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(format!("expect ext {want}: announced"));
    }
    let announced: Vec<&str> = ext.list.iter().map(|e| e.keyword.as_str()).collect();
    Err(expect_failed(format!(
        "expected the server to announce {}, but it did not",
        missing.join(" and ")
    ))
    .hint(format!(
        "it announced: {}",
        if announced.is_empty() {
            "nothing".to_string()
        } else {
            announced.join(" ")
        }
    )))
}

fn judge_auth(c: Option<&Conversation>, want: Option<&str>) -> Result<String, Failure> {
    let user = c.and_then(Conversation::user);
    match (user, want) {
        (Some(u), None) => Ok(format!("expect auth: authenticated as {u}")),
        (Some(u), Some(w)) if u == w => Ok(format!("expect auth {w}: authenticated as {u}")),
        (Some(u), Some(w)) => Err(expect_failed(format!(
            "expected to be authenticated as {w}, but authenticated as {u}"
        ))),
        (None, _) => Err(expect_failed(match want {
            Some(w) => format!("expected to be authenticated as {w}, but not authenticated"),
            None => "expected to be authenticated, but not authenticated".to_string(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(code_matches("250", 250) && code_matches("2xx", 250) && code_matches("2XX", 221));
        assert!(code_matches("5x0", 550) && !code_matches("2xx", 550));
        assert!(!code_matches("25", 250) && !code_matches("2500", 250));
        for p in ["5.7.1", "5.1.x", "x.x.x", "2.0.0", "4.7.26", "5.123.999"] {
            assert!(is_enhanced_pattern(p), "{p}");
        }
        for p in [
            "5.7", "3.1.1", "5.1.1.1", "5..1", "5.1234.1", "a.b.c", "250",
        ] {
            assert!(!is_enhanced_pattern(p), "{p}");
        }
        let e = crate::smtp::EnhancedCode {
            class: 5,
            subject: 7,
            detail: 26,
        };
        assert!(enhanced_matches("5.7.26", &e) && enhanced_matches("5.7.x", &e));
        assert!(enhanced_matches("5.07.026", &e) && !enhanced_matches("5.7.1", &e));
    }

    #[test]
    fn parsing() {
        let Ok(Expectation::Reply(c)) = parse("250 5.1.x /queued as (?<queue_id>\\S+)/") else {
            panic!("not a reply check");
        };
        assert_eq!(
            (c.codes, c.enhanced),
            (vec!["250".to_string()], vec!["5.1.x".to_string()])
        );
        assert_eq!(
            c.regex.map(|r| r.0),
            Some("/queued as (?<queue_id>\\S+)/".to_string())
        );
        // The expression runs to the last slash: slashes inside are fine.
        let Ok(Expectation::Reply(c)) = parse("/a/b/i") else {
            panic!()
        };
        assert!(c.regex.is_some_and(|(_, re)| re.is_match("x A/B")));
        assert!(matches!(parse("TLS"), Ok(Expectation::Tls)));
        assert!(matches!(parse("ext PIPELINING SIZE"), Ok(Expectation::Ext(v)) if v.len() == 2));
        assert!(matches!(parse("auth"), Ok(Expectation::Auth(None))));
        assert!(matches!(parse("auth 'a b'"), Ok(Expectation::Auth(Some(u))) if u == "a b"));
        for bad in [
            "",
            "25",
            "tls 250",
            "ext",
            "/unclosed",
            "/(/",
            "/x/g",
            "/(?<a.b>x)/",
            "auth a b",
            "hello",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(is_reply_expect("expect 250") && is_reply_expect("  EXPECT /x/"));
        assert!(
            !is_reply_expect("expect tls")
                && !is_reply_expect("expect")
                && !is_reply_expect("expected 250")
        );
    }
}
