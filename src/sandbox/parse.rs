//! Reading what a client sent: command lines, `FROM:<path>` / `TO:<path>`
//! arguments, ESMTP parameters, AUTH responses. Everything works on bytes
//! with checked indexing: a client's input may be any bytes, and none of
//! it can make these functions panic (the `sandbox_session` fuzz target
//! drives them through the whole server session).

use base64::Engine as _;

/// Why a command line is not a command: the reply code, enhanced code and
/// text to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    /// The reply code.
    pub code: u16,
    /// The enhanced status code.
    pub enhanced: &'static str,
    /// What was wrong.
    pub text: String,
}

fn bad(code: u16, enhanced: &'static str, text: impl Into<String>) -> Bad {
    Bad {
        code,
        enhanced,
        text: text.into(),
    }
}

/// A command line split into its verb (upper-cased ASCII) and argument
/// bytes (after one space; empty when none).
#[derive(Debug, PartialEq, Eq)]
pub struct CommandLine<'a> {
    /// `MAIL`, `RCPT`, ...
    pub verb: String,
    /// Everything after the first space.
    pub arg: &'a [u8],
}

/// Checks a raw line (with its terminator) and splits it: it must end in
/// CRLF and hold no other CR, LF or NUL; the verb must be ASCII letters.
pub fn command_line(raw: &[u8]) -> Result<CommandLine<'_>, Bad> {
    let body = strict_line(raw)?;
    let (verb, arg) = match body.iter().position(|&b| b == b' ') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &b""[..]),
    };
    if verb.is_empty() || verb.len() > 16 || !verb.iter().all(u8::is_ascii_alphabetic) {
        return Err(bad(500, "5.5.2", "Command not recognized"));
    }
    Ok(CommandLine {
        verb: String::from_utf8_lossy(verb).to_ascii_uppercase(),
        arg,
    })
}

/// The content of a line that must end in CRLF and hold no other CR, LF
/// or NUL (a command line, an AUTH response).
pub fn strict_line(raw: &[u8]) -> Result<&[u8], Bad> {
    let Some(body) = raw.strip_suffix(b"\r\n") else {
        return Err(bad(
            500,
            "5.5.2",
            "Bare LF: a command line must end with CRLF (RFC 5321 section 2.3.8)",
        ));
    };
    if body.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(bad(500, "5.5.2", "Bare CR or NUL in the command line"));
    }
    Ok(body)
}

/// Client text for a reply: printable ASCII as it is, anything else as
/// `\xNN`, at most 64 characters (`...` marking a cut). Replies stay
/// ASCII whatever the client sent.
pub fn echo(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if out.len() >= 64 {
            out.push_str("...");
            break;
        }
        if (0x20..0x7f).contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// Splits `FROM:<path> params` (or `TO:`): the path without its brackets
/// (a source route removed) and the parameter bytes.
pub fn path_arg<'a>(arg: &'a [u8], keyword: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    let k = keyword.len();
    let matches = arg
        .get(..k)
        .is_some_and(|head| head.eq_ignore_ascii_case(keyword.as_bytes()));
    if !matches {
        return Err(format!("expected {keyword}<address>"));
    }
    let rest = &arg[k..];
    if rest.first() == Some(&b' ') {
        return Err(format!(
            "no space is allowed after '{keyword}' (RFC 5321 section 4.1.2)"
        ));
    }
    let Some(inner) = rest.strip_prefix(b"<") else {
        return Err("the address must be in angle brackets, e.g. <alice@example.com>".into());
    };
    let mut quoted = false;
    let mut escaped = false;
    let mut end = None;
    for (i, &c) in inner.iter().enumerate() {
        match (quoted, escaped, c) {
            (_, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (_, false, b'"') => quoted = !quoted,
            (false, false, b'>') => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(end) = end else {
        return Err("missing '>'".into());
    };
    let path = &inner[..end];
    let params = &inner[end + 1..];
    if !params.is_empty() && params.first() != Some(&b' ') {
        return Err("text after '>' must be parameters separated by a space".into());
    }
    // A source route (`@a,@b:user@c`) is accepted and ignored (§4.1.1.3, C.1).
    let path = if path.first() == Some(&b'@') {
        match path.iter().position(|&b| b == b':') {
            Some(i) => &path[i + 1..],
            None => return Err("bad source route".into()),
        }
    } else {
        path
    };
    Ok((path, params))
}

/// One ESMTP parameter: the keyword upper-cased, the value as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// `SIZE`, `BODY`, `NOTIFY`, ...
    pub key: String,
    /// The value after `=`, if any.
    pub value: Option<String>,
}

/// The parameters after a path: space-separated `KEY[=VALUE]`, each
/// keyword given once, ASCII only (RFC 5321 section 4.1.2 esmtp-param).
pub fn params(bytes: &[u8]) -> Result<Vec<Param>, String> {
    let mut out: Vec<Param> = Vec::new();
    for word in bytes.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        if !word.iter().all(|b| b.is_ascii_graphic()) {
            return Err(format!("parameter '{}' is not printable ASCII", echo(word)));
        }
        let (key, value) = match word.iter().position(|&b| b == b'=') {
            Some(i) => (&word[..i], Some(&word[i + 1..])),
            None => (word, None),
        };
        if key.is_empty() || !key.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
            return Err(format!("bad parameter keyword in '{}'", echo(word)));
        }
        let key = String::from_utf8_lossy(key).to_ascii_uppercase();
        if out.iter().any(|p| p.key == key) {
            return Err(format!("parameter {key} given twice"));
        }
        out.push(Param {
            key,
            value: value.map(|v| String::from_utf8_lossy(v).into_owned()),
        });
    }
    Ok(out)
}

/// Whether `value` is valid xtext (RFC 3461 §4: printable ASCII except
/// `+` and `=`, and `+XX` hex escapes), as DSN's ENVID and ORCPT use.
pub fn is_xtext(value: &str) -> bool {
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                let hex = b.get(i + 1..i + 3);
                if !hex.is_some_and(|h| {
                    h.iter()
                        .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
                }) {
                    return false;
                }
                i += 3;
            }
            b'=' => return false,
            c if (0x21..0x7f).contains(&c) => i += 1,
            _ => return false,
        }
    }
    true
}

/// `BDAT` arguments: the chunk size (at most 19 digits) and whether `LAST`
/// follows; `None` for anything else.
pub fn bdat(arg: &[u8]) -> Option<(u64, bool)> {
    let mut words = arg.split(|&b| b == b' ');
    let size = words
        .next()
        .filter(|w| !w.is_empty() && w.len() <= 19 && w.iter().all(u8::is_ascii_digit))
        .and_then(|w| std::str::from_utf8(w).ok()?.parse::<u64>().ok())?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case(b"LAST") => true,
        Some(_) => return None,
    };
    words.next().is_none().then_some((size, last))
}

/// Decodes one base64 AUTH response; `*` cancels, `=` is empty.
pub fn auth_response(line: &[u8]) -> Result<Vec<u8>, Bad> {
    let line = line.trim_ascii_end();
    if line == b"*" {
        return Err(bad(501, "5.7.0", "Authentication cancelled"));
    }
    if line == b"=" {
        return Ok(Vec::new());
    }
    base64::engine::general_purpose::STANDARD
        .decode(line)
        .map_err(|_| bad(501, "5.5.2", "Cannot decode the base64 response"))
}

/// Validates a mailbox (`local@domain`) with the client's own rules.
pub fn address(path: &[u8]) -> Result<String, String> {
    let Ok(path) = std::str::from_utf8(path) else {
        return Err("the address is not UTF-8".into());
    };
    if path.contains('<') || path.contains('>') {
        return Err("unexpected angle bracket".into());
    }
    crate::address::Address::parse(path)
        .map(|a| a.as_str().to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        let c = command_line(b"mail FROM:<a@b>\r\n").expect("ok");
        assert_eq!((c.verb.as_str(), c.arg), ("MAIL", &b"FROM:<a@b>"[..]));
        assert_eq!(command_line(b"QUIT\r\n").expect("ok").arg, b"");
        assert_eq!(command_line(b"QUIT\n").expect_err("bare LF").code, 500);
        assert_eq!(command_line(b"NO\rOP\r\n").expect_err("bare CR").code, 500);
        assert_eq!(
            command_line(b"\xc3\xa9\r\n").expect_err("not ASCII").code,
            500
        );
        assert_eq!(command_line(b"\r\n").expect_err("empty").code, 500);
        assert_eq!(command_line(b" MAIL\r\n").expect_err("space").code, 500);
    }

    #[test]
    fn paths_never_slice_inside_a_character() {
        assert_eq!(
            path_arg(b"FROM:<a@b> SIZE=1", "FROM:"),
            Ok((&b"a@b"[..], &b" SIZE=1"[..]))
        );
        // The issue's panic: a multi-byte character where the keyword ends.
        assert!(path_arg("FROMé<a@b>".as_bytes(), "FROM:").is_err());
        assert!(path_arg("é".as_bytes(), "FROM:").is_err());
        assert!(path_arg(b"FRO", "FROM:").is_err());
        assert!(path_arg(b"\xff\xfe\xfd\xfc\xfb", "FROM:").is_err());
        assert_eq!(
            path_arg(b"TO:<@r1,@r2:u@d>", "TO:"),
            Ok((&b"u@d"[..], &b""[..]))
        );
        assert_eq!(
            path_arg(b"TO:<\"a>b\"@d>", "TO:"),
            Ok((&b"\"a>b\"@d"[..], &b""[..]))
        );
        assert!(path_arg(b"TO: <a@b>", "TO:").is_err());
        assert!(path_arg(b"TO:<a@b", "TO:").is_err());
        assert!(path_arg(b"TO:<a@b>x", "TO:").is_err());
        assert!(path_arg(b"TO:<@r1>", "TO:").is_err());
        assert!(address(b"\xff@b.org").is_err());
    }

    #[test]
    fn parameters_and_xtext() {
        let p = params(b" SIZE=10 body=8BITMIME SMTPUTF8").expect("ok");
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].key, "BODY");
        assert_eq!(p[2].value, None);
        assert!(params(b" SIZE=1 size=2").is_err());
        assert!(params(" NOTIFY=é".as_bytes()).is_err());
        assert!(params(b" =x").is_err());
        assert!(is_xtext("rfc822;a+2Bb@c.org"));
        assert!(!is_xtext("a+2b"));
        assert!(!is_xtext("a=b"));
        assert!(!is_xtext("a+"));
        assert_eq!(echo(b"a\xffb\r"), "a\\xFFb\\x0D");
        assert!(echo(&[b'x'; 200]).ends_with("..."));
    }

    #[test]
    fn bdat_arguments() {
        assert_eq!(bdat(b"12"), Some((12, false)));
        assert_eq!(bdat(b"0 last"), Some((0, true)));
        for bad in [
            &b""[..],
            b"x",
            b"1 LAST x",
            b"1 FIRST",
            b"-1",
            b"99999999999999999999",
            b" 1",
        ] {
            assert_eq!(bdat(bad), None, "{}", echo(bad));
        }
    }

    #[test]
    fn auth_responses() {
        assert_eq!(auth_response(b"=").expect("empty"), b"");
        assert_eq!(auth_response(b"*").expect_err("cancel").code, 501);
        assert_eq!(auth_response(b"ZGVtbw==").expect("b64"), b"demo");
        assert!(auth_response(b"\xff").is_err());
    }
}
