//! ESMTP parameters of MAIL FROM and RCPT TO (RFC 5321 §4.1.2
//! `esmtp-param`): their syntax, the values of the ones smtpsh builds
//! itself (DSN's RET, ENVID, NOTIFY and ORCPT, RFC 3461, with xtext;
//! REQUIRETLS, RFC 8689; MT-PRIORITY, RFC 6710; ...), and which service
//! extension each needs, so a parameter the server did not announce can be
//! refused before it is sent.
//!
//! Nothing here can carry a control character: every value is checked
//! byte by byte, and what is not printable ASCII is refused or xtext-encoded.

use super::extensions::Extensions;
use std::fmt;

/// Which command a parameter goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum For {
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
}

impl For {
    /// `MAIL FROM` or `RCPT TO`.
    pub fn command(self) -> &'static str {
        match self {
            For::Mail => "MAIL FROM",
            For::Rcpt => "RCPT TO",
        }
    }
}

/// One parameter, `KEYWORD` or `KEYWORD=VALUE`, valid per RFC 5321
/// (keyword: a letter or digit, then letters, digits and hyphens; value:
/// printable ASCII but `=`, no spaces). The keyword is kept upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    keyword: String,
    value: Option<String>,
}

/// Why a parameter is not valid; the text says what is wrong and how to
/// write it instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError(pub String);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamError {}

/// Shows untrusted text in an error (escaped, shortened).
fn shown(text: &str) -> String {
    crate::text::excerpt(text.as_bytes(), 60)
}

impl Param {
    /// Reads `KEYWORD` or `KEYWORD=VALUE` as typed.
    pub fn parse(text: &str) -> Result<Param, ParamError> {
        match text.split_once('=') {
            Some((k, v)) => Param::new(k, Some(v)),
            None => Param::new(text, None),
        }
    }
    /// A parameter from its keyword and value, both checked.
    pub fn new(keyword: &str, value: Option<&str>) -> Result<Param, ParamError> {
        let mut kw = keyword.bytes();
        let keyword_ok = kw.next().is_some_and(|b| b.is_ascii_alphanumeric())
            && kw.all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !keyword_ok {
            return Err(ParamError(format!(
                "\"{}\" is not a parameter keyword: it must start with a letter or digit, \
                 then letters, digits and hyphens (no spaces, no '=')",
                shown(keyword)
            )));
        }
        if let Some(v) = value
            && let Some(bad) = v.chars().find(|&c| !matches!(c, '!'..='<' | '>'..='~'))
        {
            let what = match bad {
                ' ' => "a space".to_string(),
                '=' => "'='".to_string(),
                '\r' => "CR".to_string(),
                '\n' => "LF".to_string(),
                '\0' => "NUL".to_string(),
                c => format!("U+{:04X}", c as u32),
            };
            return Err(ParamError(format!(
                "the value of {} holds {what}: a parameter value is printable ASCII without \
                 spaces or '='",
                keyword.to_ascii_uppercase()
            )));
        }
        if value.is_some_and(str::is_empty) {
            return Err(ParamError(format!(
                "{}= has no value: write {0}=VALUE, or {0} alone",
                keyword.to_ascii_uppercase()
            )));
        }
        Ok(Param {
            keyword: keyword.to_ascii_uppercase(),
            value: value.map(str::to_string),
        })
    }
    /// The keyword, upper case.
    pub fn keyword(&self) -> &str {
        &self.keyword
    }
    /// The value as sent (xtext-encoded where the parameter wants it).
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

impl fmt::Display for Param {
    /// The wire form, `KEYWORD=VALUE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v}", self.keyword),
            None => f.write_str(&self.keyword),
        }
    }
}

/// RFC 3461 §4 xtext: printable ASCII but `+` and `=` as it is, every
/// other byte (of the UTF-8) as `+HH`.
pub fn xtext_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// The text an xtext stands for; `None` when it is not valid xtext (a
/// `+` without two upper-case hex digits, a byte outside `!`..`~`, or
/// bytes that are not UTF-8).
pub fn xtext_decode(xtext: &str) -> Option<String> {
    let bytes = xtext.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            let hex = xtext.get(i + 1..i + 3)?;
            if !hex
                .bytes()
                .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(&h))
            {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if (b'!'..=b'~').contains(&b) && b != b'=' {
            out.push(b);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

/// `RET=FULL|HDRS` (RFC 3461 §4.3): the whole message, or only its
/// headers, in a failure notice.
pub fn ret(value: &str) -> Result<Param, ParamError> {
    match value.to_ascii_uppercase().as_str() {
        v @ ("FULL" | "HDRS") => Param::new("RET", Some(v)),
        _ => Err(ParamError(format!(
            "--ret takes full or hdrs, not \"{}\" (RFC 3461: the whole message or only its \
             headers in a notice)",
            shown(value)
        ))),
    }
}

/// Longest ENVID before encoding (RFC 3461 §4.4: 100 characters).
const MAX_ENVID: usize = 100;
/// Longest ORCPT value (RFC 3461 §4.2: 500 characters).
const MAX_ORCPT: usize = 500;

/// `ENVID=xtext` (RFC 3461 §4.4): the sender's identifier for the
/// transaction, returned in every notice. Printable ASCII, spaces
/// allowed (encoded), at most 100 characters.
pub fn envid(id: &str) -> Result<Param, ParamError> {
    if id.is_empty() {
        return Err(ParamError(
            "--envid needs an identifier, e.g. --envid QQ314159".into(),
        ));
    }
    if let Some(c) = id.chars().find(|&c| !matches!(c, ' '..='~')) {
        return Err(ParamError(format!(
            "an ENVID is printable ASCII (RFC 3461 §4.4); it holds U+{:04X}",
            c as u32
        )));
    }
    if id.len() > MAX_ENVID {
        return Err(ParamError(format!(
            "an ENVID is at most {MAX_ENVID} characters (RFC 3461 §4.4); this one has {}",
            id.len()
        )));
    }
    Param::new("ENVID", Some(&xtext_encode(id)))
}

/// `NOTIFY=NEVER` or a comma-separated list of SUCCESS, FAILURE and DELAY
/// (RFC 3461 §4.1), as typed in any case; NEVER goes alone, each other
/// word at most once.
pub fn notify(list: &str) -> Result<Param, ParamError> {
    let hint = "write never, or one or more of success, failure, delay separated by commas \
                (e.g. --notify success,failure)";
    let mut words: Vec<String> = Vec::new();
    for w in list.split(',') {
        let w = w.trim().to_ascii_uppercase();
        if !matches!(w.as_str(), "NEVER" | "SUCCESS" | "FAILURE" | "DELAY") {
            return Err(ParamError(format!(
                "\"{}\" is not a NOTIFY condition; {hint}",
                shown(&w)
            )));
        }
        if words.contains(&w) {
            return Err(ParamError(format!(
                "{w} is given twice in --notify; {hint}"
            )));
        }
        words.push(w);
    }
    if words.len() > 1 && words.iter().any(|w| w == "NEVER") {
        return Err(ParamError(format!(
            "NEVER cannot go with other conditions (RFC 3461 §4.1: it asks for no notice at all); \
             {hint}"
        )));
    }
    Param::new("NOTIFY", Some(&words.join(",")))
}

/// `ORCPT=TYPE;xtext` (RFC 3461 §4.2): the original recipient, kept in
/// notices. `TYPE;ADDRESS` as typed (`rfc822;bob@example.org`); an
/// address alone is `rfc822`.
pub fn orcpt(text: &str) -> Result<Param, ParamError> {
    let (kind, addr) = match text.split_once(';') {
        Some((k, a)) => (k.trim(), a.trim()),
        None if text.contains('@') => ("rfc822", text.trim()),
        None => {
            return Err(ParamError(format!(
                "\"{}\" is not TYPE;ADDRESS: write e.g. --orcpt rfc822;bob@example.org",
                shown(text)
            )));
        }
    };
    let mut k = kind.bytes();
    let kind_ok = k.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && k.all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !kind_ok {
        return Err(ParamError(format!(
            "\"{}\" is not an address type: use rfc822 (or utf-8, RFC 6533)",
            shown(kind)
        )));
    }
    if addr.is_empty() {
        return Err(ParamError(
            "--orcpt has no address after the ';': write e.g. rfc822;bob@example.org".into(),
        ));
    }
    if let Some(c) = addr.chars().find(|c| c.is_control()) {
        return Err(ParamError(format!(
            "the ORCPT address holds a control character (U+{:04X})",
            c as u32
        )));
    }
    let value = format!("{kind};{}", xtext_encode(addr));
    if value.len() > MAX_ORCPT {
        return Err(ParamError(format!(
            "ORCPT is at most {MAX_ORCPT} characters (RFC 3461 §4.2); this one has {}",
            value.len()
        )));
    }
    Param::new("ORCPT", Some(&value))
}

/// A parameter smtpsh knows: the command it goes on, the extension that
/// defines it, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// The keyword.
    pub keyword: &'static str,
    /// MAIL FROM or RCPT TO.
    pub on: For,
    /// The EHLO keyword the server must announce.
    pub extension: &'static str,
    /// Where it is defined.
    pub rfc: &'static str,
    /// How the user gives it.
    pub given: Given,
}

/// How a parameter is given in the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    /// Only as `--param NAME=VALUE`.
    Param,
    /// An option of its own on `from`/`to` (`--ret`, `--notify`...).
    Option(&'static str),
    /// `send` adds it by itself (SIZE, BODY, SMTPUTF8).
    BySend,
}

/// Every parameter smtpsh knows.
pub const KNOWN: &[Known] = &[
    known("SIZE", For::Mail, "SIZE", "RFC 1870").given(Given::BySend),
    known("BODY", For::Mail, "8BITMIME", "RFC 6152").given(Given::BySend),
    known("SMTPUTF8", For::Mail, "SMTPUTF8", "RFC 6531").given(Given::BySend),
    known("RET", For::Mail, "DSN", "RFC 3461").given(Given::Option("--ret")),
    known("ENVID", For::Mail, "DSN", "RFC 3461").given(Given::Option("--envid")),
    known("NOTIFY", For::Rcpt, "DSN", "RFC 3461").given(Given::Option("--notify")),
    known("ORCPT", For::Rcpt, "DSN", "RFC 3461").given(Given::Option("--orcpt")),
    known("REQUIRETLS", For::Mail, "REQUIRETLS", "RFC 8689").given(Given::Option("--requiretls")),
    known("MT-PRIORITY", For::Mail, "MT-PRIORITY", "RFC 6710"),
    known("HOLDFOR", For::Mail, "FUTURERELEASE", "RFC 4865"),
    known("HOLDUNTIL", For::Mail, "FUTURERELEASE", "RFC 4865"),
    known("BY", For::Mail, "DELIVERBY", "RFC 2852"),
    known("AUTH", For::Mail, "AUTH", "RFC 4954"),
    known("MTRK", For::Mail, "MTRK", "RFC 3885"),
    known("RRVS", For::Rcpt, "RRVS", "RFC 7293"),
];

const fn known(
    keyword: &'static str,
    on: For,
    extension: &'static str,
    rfc: &'static str,
) -> Known {
    Known {
        keyword,
        on,
        extension,
        rfc,
        given: Given::Param,
    }
}

impl Known {
    /// The same, given otherwise than by `--param`.
    const fn given(self, given: Given) -> Known {
        Known { given, ..self }
    }
}

/// The extension the `from`/`to` option `option` (`--ret`...) needs.
pub fn option_extension(option: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|k| matches!(k.given, Given::Option(o) if o == option))
        .map(|k| k.extension)
}

/// What smtpsh knows of `keyword` (any case).
pub fn lookup(keyword: &str) -> Option<&'static Known> {
    KNOWN
        .iter()
        .find(|k| k.keyword.eq_ignore_ascii_case(keyword))
}

/// What is wrong with sending a parameter to this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It would be refused or misread: smtpsh does not send it (unless forced).
    Refuse(String),
    /// It may be fine; said, then sent.
    Warn(String),
}

/// Judges `param` on `on` for a server that announced `ext` (`None`: not
/// greeted with EHLO, so it announced nothing); `secure`: the connection
/// is TLS. `None` when there is nothing to say.
pub fn judge(param: &Param, on: For, ext: Option<&Extensions>, secure: bool) -> Option<Verdict> {
    let announced = |k: &str| ext.is_some_and(|e| e.keyword(k).is_some());
    let Some(known) = lookup(param.keyword()) else {
        if announced(param.keyword()) {
            return None;
        }
        return Some(Verdict::Warn(format!(
            "{} is not a parameter smtpsh knows, and the server announced no {} extension; \
             it is sent as given",
            param.keyword(),
            param.keyword()
        )));
    };
    if let Some(why) = misuse(param, on) {
        return Some(Verdict::Refuse(why));
    }
    let extension = match (known.keyword, param.value()) {
        ("BODY", Some(v)) if v.eq_ignore_ascii_case("BINARYMIME") => "BINARYMIME",
        _ => known.extension,
    };
    if !announced(extension) {
        let server = if ext.is_some() {
            "the server did not announce"
        } else {
            "the server announced no extensions (no EHLO), so not"
        };
        return Some(Verdict::Refuse(format!(
            "{} needs the {extension} extension ({}), and {server} it",
            param.keyword(),
            known.rfc,
        )));
    }
    if known.keyword == "REQUIRETLS" && !secure {
        return Some(Verdict::Refuse(
            "REQUIRETLS (RFC 8689) is only for a TLS connection, and this one is plaintext".into(),
        ));
    }
    None
}

/// What is wrong with a parameter smtpsh knows whatever the server: it
/// goes on the other command (NOTIFY on MAIL FROM), or its value is not
/// one its RFC allows. `None` for an unknown parameter.
pub fn misuse(param: &Param, on: For) -> Option<String> {
    let known = lookup(param.keyword())?;
    if known.on != on {
        return Some(format!(
            "{} is a {} parameter ({} {}), not a {} one",
            known.keyword,
            known.on.command(),
            known.extension,
            known.rfc,
            on.command()
        ));
    }
    bad_value(param)
}

/// What is wrong with the value of a parameter smtpsh knows, when given
/// by hand (`--param`, the classic form).
fn bad_value(param: &Param) -> Option<String> {
    let v = param.value();
    let needs_value = |what: &str| Some(format!("{} needs a value: {what}", param.keyword()));
    match (param.keyword(), v) {
        ("REQUIRETLS" | "SMTPUTF8", Some(_)) => Some(format!("{} takes no value", param.keyword())),
        ("RET", None) => needs_value("RET=FULL or RET=HDRS"),
        ("RET", Some(v)) => ret(v).err().map(|e| e.0),
        ("NOTIFY", None) => needs_value("NOTIFY=SUCCESS,FAILURE,DELAY or NOTIFY=NEVER"),
        ("NOTIFY", Some(v)) => notify(v).err().map(|e| e.0),
        ("ENVID", None) => needs_value("ENVID=xtext"),
        ("ENVID", Some(v)) => xtext_decode(v)
            .is_none()
            .then(|| format!("ENVID={v} is not valid xtext (RFC 3461 §4): use --envid ID")),
        ("ORCPT", None) => needs_value("ORCPT=rfc822;ADDRESS"),
        ("ORCPT", Some(v)) => match v.split_once(';') {
            Some((_, addr)) if xtext_decode(addr).is_some() => None,
            _ => Some(format!(
                "ORCPT={v} is not TYPE;xtext (RFC 3461 §4.2): use --orcpt rfc822;ADDRESS"
            )),
        },
        ("MT-PRIORITY", None) => needs_value("MT-PRIORITY=N, N from -9 to 9"),
        ("MT-PRIORITY", Some(v)) => {
            let n = v.strip_prefix('+').unwrap_or(v).parse::<i8>();
            (!n.is_ok_and(|n| (-9..=9).contains(&n)))
                .then(|| format!("MT-PRIORITY is a number from -9 to 9 (RFC 6710), not {v}"))
        }
        ("HOLDFOR", None) => needs_value("HOLDFOR=SECONDS"),
        ("HOLDFOR", Some(v)) => (!(v.len() <= 9 && v.bytes().all(|b| b.is_ascii_digit())))
            .then(|| format!("HOLDFOR is a number of seconds (RFC 4865), not {v}")),
        ("SIZE", Some(v)) => (!v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| format!("SIZE is a number of octets (RFC 1870), not {v}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(lines: &[&str]) -> Extensions {
        Extensions::from_lines(lines)
    }

    #[test]
    fn parameters_follow_rfc_5321_syntax() {
        let p = Param::parse("mt-priority=3").unwrap();
        assert_eq!((p.keyword(), p.value()), ("MT-PRIORITY", Some("3")));
        assert_eq!(p.to_string(), "MT-PRIORITY=3");
        assert_eq!(Param::parse("HOLDFOR").unwrap().to_string(), "HOLDFOR");
        for bad in [
            "",
            "=1",
            "-X=1",
            "A B=1",
            "X=",
            "X=a b",
            "X=a=b",
            "X=\r\nRCPT",
            "X=a\0",
            "K\u{e9}Y",
            "X=caf\u{e9}",
            "X\n",
        ] {
            assert!(Param::parse(bad).is_err(), "{bad:?}");
        }
        let e = Param::parse("X=a b").unwrap_err().to_string();
        assert!(e.contains("a space"), "{e}");
        let e = Param::parse("X=a\r\nRCPT TO:<x>").unwrap_err().to_string();
        assert!(e.contains("CR") && !e.contains('\r'), "{e}");
    }

    #[test]
    fn each_option_names_the_extension_its_parameter_needs() {
        for (option, ext) in [
            ("--ret", Some("DSN")),
            ("--envid", Some("DSN")),
            ("--notify", Some("DSN")),
            ("--orcpt", Some("DSN")),
            ("--requiretls", Some("REQUIRETLS")),
            ("--param", None),
            ("--force", None),
        ] {
            assert_eq!(option_extension(option), ext, "{option}");
        }
    }

    #[test]
    fn xtext_round_trips() {
        assert_eq!(xtext_encode("QQ314159"), "QQ314159");
        assert_eq!(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(xtext_encode("bob@example.org"), "bob@example.org");
        assert_eq!(xtext_encode("\u{e9}"), "+C3+A9");
        for s in ["", "x", "a+b=c d", "\u{e9}t\u{e9}", "~!<>"] {
            assert_eq!(xtext_decode(&xtext_encode(s)).as_deref(), Some(s));
        }
        for bad in ["+", "+4", "+4g", "+4a", "a=b", "a b", "+FF"] {
            assert_eq!(xtext_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn dsn_values() {
        assert_eq!(ret("hdrs").unwrap().to_string(), "RET=HDRS");
        assert_eq!(ret("Full").unwrap().to_string(), "RET=FULL");
        assert!(ret("all").unwrap_err().0.contains("full or hdrs"));
        assert_eq!(
            envid("QQ 314+159").unwrap().to_string(),
            "ENVID=QQ+20314+2B159"
        );
        assert!(envid("").is_err());
        assert!(envid(&"x".repeat(101)).is_err());
        assert!(envid(&"x".repeat(100)).is_ok());
        assert!(envid("a\r\nb").is_err());
        assert!(envid("caf\u{e9}").is_err());
        assert_eq!(
            notify("success, Failure,delay").unwrap().to_string(),
            "NOTIFY=SUCCESS,FAILURE,DELAY"
        );
        assert_eq!(notify("never").unwrap().to_string(), "NOTIFY=NEVER");
        assert!(
            notify("never,success")
                .unwrap_err()
                .0
                .contains("NEVER cannot go")
        );
        assert!(notify("success,success").unwrap_err().0.contains("twice"));
        assert!(notify("always").is_err());
        assert!(notify("").is_err());
        assert_eq!(
            orcpt("rfc822;bob+x@example.org").unwrap().to_string(),
            "ORCPT=rfc822;bob+2Bx@example.org"
        );
        assert_eq!(
            orcpt("bob@example.org").unwrap().to_string(),
            "ORCPT=rfc822;bob@example.org"
        );
        assert!(orcpt("bob").is_err());
        assert!(orcpt("rfc 822;b@x").is_err());
        assert!(orcpt("rfc822;").is_err());
        assert!(orcpt("rfc822;a\nb@x").is_err());
        assert_eq!(
            orcpt("rfc822;a b=c@x").unwrap().to_string(),
            "ORCPT=rfc822;a+20b+3Dc@x"
        );
    }

    #[test]
    fn each_parameter_needs_its_extension() {
        let dsn = ext(&["mx", "DSN", "SIZE 100"]);
        let bare = ext(&["mx", "PIPELINING"]);
        let p = |s: &str| Param::parse(s).unwrap();
        assert_eq!(judge(&p("RET=HDRS"), For::Mail, Some(&dsn), false), None);
        assert_eq!(
            judge(&p("NOTIFY=NEVER"), For::Rcpt, Some(&dsn), false),
            None
        );
        let Some(Verdict::Refuse(why)) = judge(&p("RET=HDRS"), For::Mail, Some(&bare), false)
        else {
            panic!("RET without DSN");
        };
        assert!(why.contains("DSN extension (RFC 3461)"), "{why}");
        let Some(Verdict::Refuse(why)) = judge(&p("NOTIFY=NEVER"), For::Mail, Some(&dsn), false)
        else {
            panic!("NOTIFY on MAIL");
        };
        assert!(why.contains("RCPT TO parameter"), "{why}");
        // REQUIRETLS: the extension and TLS.
        let rt = ext(&["mx", "REQUIRETLS"]);
        assert!(matches!(
            judge(&p("REQUIRETLS"), For::Mail, Some(&dsn), true),
            Some(Verdict::Refuse(w)) if w.contains("REQUIRETLS extension (RFC 8689)")
        ));
        assert!(matches!(
            judge(&p("REQUIRETLS"), For::Mail, Some(&rt), false),
            Some(Verdict::Refuse(w)) if w.contains("plaintext")
        ));
        assert_eq!(judge(&p("REQUIRETLS"), For::Mail, Some(&rt), true), None);
        // MT-PRIORITY: its extension and its range.
        let mt = ext(&["mx", "MT-PRIORITY MIXER"]);
        assert_eq!(
            judge(&p("MT-PRIORITY=3"), For::Mail, Some(&mt), false),
            None
        );
        assert!(matches!(
            judge(&p("MT-PRIORITY=3"), For::Mail, Some(&bare), false),
            Some(Verdict::Refuse(w)) if w.contains("MT-PRIORITY extension (RFC 6710)")
        ));
        assert!(matches!(
            judge(&p("MT-PRIORITY=12"), For::Mail, Some(&mt), false),
            Some(Verdict::Refuse(w)) if w.contains("-9 to 9")
        ));
        // Unknown: a warning, unless the server announced it.
        assert!(matches!(
            judge(&p("X-TRACE=1"), For::Mail, Some(&bare), false),
            Some(Verdict::Warn(w)) if w.contains("not a parameter smtpsh knows")
        ));
        let xt = ext(&["mx", "X-TRACE"]);
        assert_eq!(judge(&p("X-TRACE=1"), For::Mail, Some(&xt), false), None);
        // Nothing announced at all (HELO).
        assert!(matches!(
            judge(&p("RET=FULL"), For::Mail, None, false),
            Some(Verdict::Refuse(w)) if w.contains("no EHLO")
        ));
        // Values of known parameters typed by hand.
        assert!(judge(&p("RET=ALL"), For::Mail, Some(&dsn), false).is_some());
        assert!(judge(&p("ENVID=a+zz"), For::Mail, Some(&dsn), false).is_some());
        assert!(judge(&p("ORCPT=bob"), For::Rcpt, Some(&dsn), false).is_some());
        assert_eq!(
            judge(&p("ORCPT=rfc822;b@x"), For::Rcpt, Some(&dsn), false),
            None
        );
        let bin = ext(&["mx", "8BITMIME"]);
        assert!(judge(&p("BODY=BINARYMIME"), For::Mail, Some(&bin), false).is_some());
        assert_eq!(
            judge(&p("BODY=8BITMIME"), For::Mail, Some(&bin), false),
            None
        );
    }
}
