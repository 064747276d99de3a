//! Typed SMTP commands. Every constructor validates its input: no CR, LF,
//! NUL or other control characters can reach the wire, and the command line
//! fits RFC 5321's 512-octet limit (§4.5.3.1.4). `Display` gives the
//! transcript form; [`Command::wire`] the exact bytes sent.

use crate::address::Address;
use std::fmt;

/// Longest command line including CRLF (RFC 5321 §4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;

/// Why a command could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// A control character (CR, LF, NUL, ...) in `what` (e.g. "the EHLO domain").
    ControlCharacter {
        /// What held it.
        what: &'static str,
    },
    /// `what` was empty but is required.
    Empty {
        /// What was empty.
        what: &'static str,
    },
    /// The command line would be over 512 octets with CRLF.
    TooLong {
        /// Its length with CRLF.
        len: usize,
    },
    /// A MAIL/RCPT parameter that is not `KEYWORD` or `KEYWORD=VALUE` (RFC 5321 §4.1.2 esmtp-param).
    BadParameter(String),
    /// An EHLO/HELO domain that is not a host name or address literal.
    BadDomain(String),
    /// A SASL mechanism name or response that is not what RFC 4954 allows
    /// (never holds the value: it may be a secret).
    BadSasl {
        /// What was wrong, e.g. "the AUTH mechanism name".
        what: &'static str,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::ControlCharacter { what } => write!(
                f,
                "{what} contains a control character (CR, LF or NUL); remove it"
            ),
            CommandError::Empty { what } => write!(f, "{what} is empty; give a value"),
            CommandError::TooLong { len } => write!(
                f,
                "the command line would be {len} octets with CRLF, over SMTP's limit of {MAX_COMMAND_LINE}; shorten it"
            ),
            CommandError::BadParameter(p) => write!(
                f,
                "\"{}\" is not a valid MAIL/RCPT parameter; write KEYWORD or KEYWORD=VALUE \
                 (keyword: letters, digits and hyphens; value: printable ASCII without spaces or '=')",
                crate::text::excerpt(p.as_bytes(), 60)
            ),
            CommandError::BadDomain(d) => write!(
                f,
                "\"{}\" is not a valid EHLO/HELO domain; use a host name such as client.example.com \
                 or an address literal such as [192.0.2.1] or [IPv6:2001:db8::1]",
                crate::text::excerpt(d.as_bytes(), 60)
            ),
            CommandError::BadSasl { what } => write!(
                f,
                "{what} is not valid for AUTH (mechanism names: letters, digits, '-' and '_'; \
                 responses: base64)"
            ),
        }
    }
}

impl std::error::Error for CommandError {}

/// The SMTP verbs smtpsh knows, so that a typo is a compile error rather
/// than a comparison that is silently false. Anything else is [`Verb::Other`]
/// (its text is [`Command::word`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `EHLO` (RFC 5321 §4.1.1.1).
    Ehlo,
    /// `HELO`.
    Helo,
    /// `LHLO` (LMTP, RFC 2033).
    Lhlo,
    /// `MAIL FROM:`.
    Mail,
    /// `RCPT TO:`.
    Rcpt,
    /// `DATA`.
    Data,
    /// `BDAT` (RFC 3030 CHUNKING).
    Bdat,
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY`.
    Vrfy,
    /// `EXPN`.
    Expn,
    /// `HELP`.
    Help,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH` (RFC 4954).
    Auth,
    /// `XCLIENT` (Postfix): the client's identity as the server sees it;
    /// a 220 answer is a new greeting.
    Xclient,
    /// `XFORWARD` (Postfix): the original client's identity, for logging.
    Xforward,
    /// A line answering a `334` AUTH challenge (no verb of its own).
    AuthResponse,
    /// Any other verb (an extension such as `XCLIENT`, or a typo).
    Other,
}

impl Verb {
    /// Every named verb, in RFC order (for completion and help).
    pub const ALL: &'static [Verb] = &[
        Verb::Ehlo,
        Verb::Helo,
        Verb::Lhlo,
        Verb::Mail,
        Verb::Rcpt,
        Verb::Data,
        Verb::Bdat,
        Verb::Rset,
        Verb::Noop,
        Verb::Quit,
        Verb::Vrfy,
        Verb::Expn,
        Verb::Help,
        Verb::StartTls,
        Verb::Auth,
    ];
    /// The extension verbs smtpsh knows (from Postfix), which Tab offers
    /// only when the server announced them.
    pub const EXTENSIONS: &'static [Verb] = &[Verb::Xclient, Verb::Xforward];
    /// The verb for a word as typed (case-insensitive).
    pub fn parse(word: &str) -> Verb {
        Verb::ALL
            .iter()
            .chain(Verb::EXTENSIONS)
            .copied()
            .find(|v| v.name().eq_ignore_ascii_case(word))
            .unwrap_or(Verb::Other)
    }
    /// The verb as it goes on the wire (`""` for [`Verb::AuthResponse`]
    /// and [`Verb::Other`], which have no name of their own).
    pub fn name(self) -> &'static str {
        match self {
            Verb::Ehlo => "EHLO",
            Verb::Helo => "HELO",
            Verb::Lhlo => "LHLO",
            Verb::Mail => "MAIL",
            Verb::Rcpt => "RCPT",
            Verb::Data => "DATA",
            Verb::Bdat => "BDAT",
            Verb::Rset => "RSET",
            Verb::Noop => "NOOP",
            Verb::Quit => "QUIT",
            Verb::Vrfy => "VRFY",
            Verb::Expn => "EXPN",
            Verb::Help => "HELP",
            Verb::StartTls => "STARTTLS",
            Verb::Auth => "AUTH",
            Verb::Xclient => "XCLIENT",
            Verb::Xforward => "XFORWARD",
            Verb::AuthResponse | Verb::Other => "",
        }
    }
}

/// What a command says that the conversation keeps track of, read from
/// the line itself (so a line typed with `raw` counts like one built here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    /// Nothing beyond the verb.
    None,
    /// EHLO/HELO/LHLO: the name given (empty if none).
    Hello(String),
    /// MAIL/RCPT: the path between `<` and `>` (empty for the null path
    /// `<>`); `None` when the line has no readable path.
    Path(Option<String>),
    /// AUTH: the user it authenticates as, when smtpsh built it (never on
    /// the wire).
    Auth(Option<String>),
    /// BDAT: whether the chunk is the last (`BDAT n LAST`).
    Bdat {
        /// `LAST` was given.
        last: bool,
    },
    /// XCLIENT: the user its `LOGIN=` names (xtext decoded), if any; not
    /// for `[UNAVAILABLE]` or `[TEMPUNAVAIL]`. A server that greets anew
    /// takes the client as authenticated as that user (Postfix's
    /// XCLIENT_README), and as no one without it.
    Xclient {
        /// The `LOGIN=` user.
        login: Option<String>,
    },
}

/// One SMTP command line, validated. A line with a secret (a masked AUTH
/// line) is wiped when the command is dropped, and `Debug` shows only its
/// masked form.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// The line without CRLF, exactly as it goes on the wire.
    line: String,
    /// The verb.
    verb: Verb,
    /// The verb as typed, upper-case (`EHLO`, `XCLIENT`; `AUTH` for a
    /// response line).
    word: String,
    /// What the conversation needs to know besides the verb.
    detail: Detail,
    /// What the transcript shows instead of `line` (secrets masked), if set.
    shown: Option<String>,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("line", &self.shown.as_ref().unwrap_or(&self.line))
            .field("verb", &self.verb)
            .field("detail", &self.detail)
            .finish_non_exhaustive()
    }
}

impl Drop for Command {
    fn drop(&mut self) {
        if self.shown.is_some() {
            zeroize::Zeroize::zeroize(&mut self.line);
        }
    }
}

impl Command {
    /// `EHLO domain` (host name or address literal such as `[127.0.0.1]`).
    pub fn ehlo(domain: &str) -> Result<Command, CommandError> {
        check_domain(domain, "the EHLO domain")?;
        Command::build("EHLO", format!("EHLO {domain}"))
    }
    /// `HELO domain`.
    pub fn helo(domain: &str) -> Result<Command, CommandError> {
        check_domain(domain, "the HELO domain")?;
        Command::build("HELO", format!("HELO {domain}"))
    }
    /// `LHLO domain` (LMTP, RFC 2033 §4.1: the EHLO of LMTP).
    pub fn lhlo(domain: &str) -> Result<Command, CommandError> {
        check_domain(domain, "the LHLO domain")?;
        Command::build("LHLO", format!("LHLO {domain}"))
    }
    /// `MAIL FROM:<addr>` (`<>` when `from` is `None`) followed by the ESMTP
    /// parameters, each `KEYWORD` or `KEYWORD=VALUE`.
    pub fn mail_from(from: Option<&Address>, params: &[String]) -> Result<Command, CommandError> {
        let path = match from {
            Some(addr) => check_path(addr, "the sender address")?,
            None => "",
        };
        let line = with_params(format!("MAIL FROM:<{path}>"), params, "a MAIL parameter")?;
        Command::build("MAIL", line)
    }
    /// `RCPT TO:<addr>` plus ESMTP parameters.
    pub fn rcpt_to(to: &Address, params: &[String]) -> Result<Command, CommandError> {
        let path = check_path(to, "the recipient address")?;
        let line = with_params(format!("RCPT TO:<{path}>"), params, "a RCPT parameter")?;
        Command::build("RCPT", line)
    }
    /// `DATA`.
    pub fn data() -> Command {
        Command::fixed("DATA")
    }
    /// `RSET`.
    pub fn rset() -> Command {
        Command::fixed("RSET")
    }
    /// `NOOP`.
    pub fn noop() -> Command {
        Command::fixed("NOOP")
    }
    /// `QUIT`.
    pub fn quit() -> Command {
        Command::fixed("QUIT")
    }
    /// `STARTTLS`.
    pub fn starttls() -> Command {
        Command::fixed("STARTTLS")
    }
    /// `VRFY arg`.
    pub fn vrfy(arg: &str) -> Result<Command, CommandError> {
        check_argument(arg, "the VRFY argument")?;
        Command::build("VRFY", format!("VRFY {arg}"))
    }
    /// `EXPN arg`.
    pub fn expn(arg: &str) -> Result<Command, CommandError> {
        check_argument(arg, "the EXPN argument")?;
        Command::build("EXPN", format!("EXPN {arg}"))
    }
    /// Any line, sent as typed (`raw`); refuses control characters other
    /// than TAB, and empty lines.
    pub fn raw(line: &str) -> Result<Command, CommandError> {
        check_argument(line, "the command line")?;
        let trimmed = line.trim_start_matches([' ', '\t']);
        let (word, rest) = trimmed.split_once([' ', '\t']).unwrap_or((trimmed, ""));
        let mut command = Command::build(&word.to_uppercase(), line.to_string())?;
        command.detail = detail_of(command.verb, rest);
        Ok(command)
    }
    /// A line whose transcript form hides a secret, e.g.
    /// `Command::masked("AUTH PLAIN dXNlcgB1c2VyAHB3", "AUTH PLAIN ********")`.
    /// `line` is validated like [`Command::raw`]; `shown` (what `Display` and
    /// the transcript show) must hold no control characters either.
    pub fn masked(line: &str, shown: &str) -> Result<Command, CommandError> {
        check_argument(shown, "the transcript form of the command")?;
        let mut command = Command::raw(line)?;
        command.shown = Some(shown.to_string());
        Ok(command)
    }
    /// `AUTH MECHANISM [INITIAL-RESPONSE]` (RFC 4954 §4). The transcript
    /// shows `AUTH MECHANISM ****` when an initial response is sent (`=` is
    /// the empty one). Fails with [`CommandError::TooLong`] when the line
    /// would pass 512 octets: then send it without the initial response.
    pub fn auth(mechanism: &str, initial: Option<&str>) -> Result<Command, CommandError> {
        let name_ok = !mechanism.is_empty()
            && mechanism.len() <= 20
            && mechanism
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(CommandError::BadSasl {
                what: "the AUTH mechanism name",
            });
        }
        let Some(initial) = initial else {
            return Command::build("AUTH", format!("AUTH {mechanism}"));
        };
        let initial = if initial.is_empty() { "=" } else { initial };
        if !is_base64(initial) {
            return Err(CommandError::BadSasl {
                what: "the initial response",
            });
        }
        let mut command = Command::build("AUTH", format!("AUTH {mechanism} {initial}"))?;
        command.shown = Some(format!("AUTH {mechanism} ****"));
        Ok(command)
    }
    /// The same command (AUTH with an initial response) with another
    /// transcript form: the parts of a SASL message that hold no secret
    /// (SCRAM's client-first message). No control characters.
    pub fn shown_as(mut self, shown: &str) -> Result<Command, CommandError> {
        check_controls(shown, "the transcript form of the command", false)?;
        self.shown = Some(shown.to_string());
        Ok(self)
    }
    /// The same AUTH command, noting the user it authenticates as (kept
    /// for the conversation; never sent).
    pub fn for_user(mut self, user: &str) -> Command {
        if self.verb == Verb::Auth {
            self.detail = Detail::Auth(Some(user.to_string()));
        }
        self
    }
    /// One line answering a `334` challenge: base64 (possibly empty), or
    /// `*` to cancel. Up to 12288 octets (RFC 4954 §4), not 512. The
    /// transcript shows `shown` instead (e.g. `****`).
    pub fn sasl_response(data: &str, shown: &str) -> Result<Command, CommandError> {
        check_controls(shown, "the transcript form of the response", false)?;
        if data != "*" && !data.is_empty() && !is_base64(data) {
            return Err(CommandError::BadSasl {
                what: "the response",
            });
        }
        let len = data.len() + 2;
        if len > MAX_SASL_LINE {
            return Err(CommandError::TooLong { len });
        }
        Ok(Command {
            line: data.to_string(),
            verb: Verb::AuthResponse,
            word: "AUTH".to_string(),
            detail: Detail::None,
            shown: Some(shown.to_string()),
        })
    }
    /// `BDAT size` or `BDAT size LAST` (RFC 3030).
    pub fn bdat(size: u64, last: bool) -> Command {
        let line = if last {
            format!("BDAT {size} LAST")
        } else {
            format!("BDAT {size}")
        };
        Command {
            line,
            verb: Verb::Bdat,
            word: "BDAT".to_string(),
            detail: Detail::Bdat { last },
            shown: None,
        }
    }
    /// The verb.
    pub fn verb(&self) -> Verb {
        self.verb
    }
    /// The verb as typed, upper case, e.g. `MAIL` or `XCLIENT` (`AUTH` for
    /// a line answering an AUTH challenge).
    pub fn word(&self) -> &str {
        &self.word
    }
    /// What the command says besides its verb.
    pub fn detail(&self) -> &Detail {
        &self.detail
    }
    /// The exact bytes for the wire, CRLF included.
    pub fn wire(&self) -> Vec<u8> {
        let mut wire = Vec::with_capacity(self.line.len() + 2);
        wire.extend_from_slice(self.line.as_bytes());
        wire.extend_from_slice(b"\r\n");
        wire
    }

    /// A command without arguments.
    fn fixed(word: &str) -> Command {
        Command {
            line: word.to_string(),
            verb: Verb::parse(word),
            word: word.to_string(),
            detail: Detail::None,
            shown: None,
        }
    }

    /// Checks the length of an otherwise validated line; the detail is
    /// read from the line.
    fn build(word: &str, line: String) -> Result<Command, CommandError> {
        let len = line.len() + 2;
        if len > MAX_COMMAND_LINE {
            return Err(CommandError::TooLong { len });
        }
        let verb = Verb::parse(word);
        let rest = line.split_once(' ').map_or("", |(_, r)| r);
        let detail = detail_of(verb, rest);
        Ok(Command {
            line,
            verb,
            word: word.to_string(),
            detail,
            shown: None,
        })
    }
}

/// What the conversation needs from the arguments of `verb`.
fn detail_of(verb: Verb, rest: &str) -> Detail {
    let rest = rest.trim_matches([' ', '\t']);
    match verb {
        Verb::Ehlo | Verb::Helo | Verb::Lhlo => {
            Detail::Hello(rest.split([' ', '\t']).next().unwrap_or("").to_string())
        }
        Verb::Mail => Detail::Path(path_after(rest, "FROM:")),
        Verb::Rcpt => Detail::Path(path_after(rest, "TO:")),
        Verb::Auth => Detail::Auth(None),
        Verb::Bdat => Detail::Bdat {
            last: rest
                .split([' ', '\t'])
                .nth(1)
                .is_some_and(|w| w.eq_ignore_ascii_case("LAST")),
        },
        Verb::Xclient => Detail::Xclient {
            login: xclient_login(rest),
        },
        _ => Detail::None,
    }
}

/// The user of an XCLIENT line's `LOGIN=xtext` (the last one given), if
/// it names one.
fn xclient_login(args: &str) -> Option<String> {
    let value = args
        .rsplit([' ', '\t'])
        .filter_map(|w| w.split_once('='))
        .find(|(name, _)| name.eq_ignore_ascii_case("LOGIN"))
        .map(|(_, value)| value)?;
    let unknown = ["[UNAVAILABLE]", "[TEMPUNAVAIL]"];
    if unknown.iter().any(|u| value.eq_ignore_ascii_case(u)) {
        return None;
    }
    super::params::xtext_decode(value).filter(|v| !v.is_empty())
}

/// The path of `FROM:<path> params` / `TO:<path> params`, read leniently
/// (spaces after the colon, a path without brackets), as servers do.
/// `None` when there is no `keyword` or no path.
pub fn path_after(args: &str, keyword: &str) -> Option<String> {
    let head = args.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = args[keyword.len()..].trim_start_matches([' ', '\t']);
    if let Some(inner) = rest.strip_prefix('<') {
        return inner.find('>').map(|end| inner[..end].to_string());
    }
    let word = rest.split([' ', '\t']).next().unwrap_or("");
    (!word.is_empty()).then(|| word.to_string())
}

impl fmt::Display for Command {
    /// The transcript form of the line (no CRLF); for [`Command::masked`],
    /// the masked form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown.as_deref().unwrap_or(&self.line))
    }
}

/// Longest SASL response line including CRLF (RFC 4954 §4: 12288 octets).
const MAX_SASL_LINE: usize = 12288 + 2;

/// Base64 characters with padding only at the end.
fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Refuses every control character (C0, DEL, C1); TAB only when `allow_tab`.
fn check_controls(s: &str, what: &'static str, allow_tab: bool) -> Result<(), CommandError> {
    if s.chars()
        .any(|c| c.is_control() && !(allow_tab && c == '\t'))
    {
        return Err(CommandError::ControlCharacter { what });
    }
    Ok(())
}

/// A free-form argument (VRFY, EXPN, raw): no controls but TAB, not blank.
fn check_argument(s: &str, what: &'static str) -> Result<(), CommandError> {
    check_controls(s, what, true)?;
    if s.trim_matches([' ', '\t']).is_empty() {
        return Err(CommandError::Empty { what });
    }
    Ok(())
}

/// An envelope address, checked again before it goes between `<` and `>`.
fn check_path<'a>(addr: &'a Address, what: &'static str) -> Result<&'a str, CommandError> {
    let path = addr.as_str();
    check_controls(path, what, false)?;
    if path.is_empty() {
        return Err(CommandError::Empty { what });
    }
    Ok(path)
}

/// Appends validated ESMTP parameters to `line`.
fn with_params(
    mut line: String,
    params: &[String],
    what: &'static str,
) -> Result<String, CommandError> {
    for param in params {
        check_controls(param, what, false)?;
        if !is_esmtp_param(param) {
            return Err(CommandError::BadParameter(param.clone()));
        }
        line.push(' ');
        line.push_str(param);
    }
    Ok(line)
}

/// `esmtp-keyword ["=" esmtp-value]` (RFC 5321 §4.1.2): keyword is
/// ALPHA/DIGIT then ALPHA/DIGIT/"-"; value is one or more of %d33-60 / %d62-126.
fn is_esmtp_param(param: &str) -> bool {
    let (keyword, value) = match param.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (param, None),
    };
    let mut kw = keyword.bytes();
    let keyword_ok = kw.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && kw.all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let value_ok = value
        .is_none_or(|v| !v.is_empty() && v.bytes().all(|b| (33..=126).contains(&b) && b != b'='));
    keyword_ok && value_ok
}

/// An EHLO/HELO argument: a host name or an address literal.
fn check_domain(domain: &str, what: &'static str) -> Result<(), CommandError> {
    check_controls(domain, what, false)?;
    if domain.is_empty() {
        return Err(CommandError::Empty { what });
    }
    let ok = match domain.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']').is_some_and(is_address_literal),
        None => is_host_name(domain),
    };
    if ok {
        Ok(())
    } else {
        Err(CommandError::BadDomain(domain.to_string()))
    }
}

/// Dot-separated labels of letters, digits, hyphens (not at either end of a
/// label) and, leniently, underscores; at most 255 octets, labels at most 63.
fn is_host_name(name: &str) -> bool {
    name.len() <= 255
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The inside of `[...]`: IPv4, `IPv6:` + IPv6, or a general address
/// literal `tag:content` (RFC 5321 §4.1.3).
fn is_address_literal(inner: &str) -> bool {
    if inner.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    let Some((tag, content)) = inner.split_once(':') else {
        return false;
    };
    if tag.eq_ignore_ascii_case("IPv6") {
        return content.parse::<std::net::Ipv6Addr>().is_ok();
    }
    let mut t = tag.bytes();
    let tag_ok = t.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && t.all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !tag.ends_with('-');
    tag_ok && !content.is_empty() && content.bytes().all(|b| matches!(b, 33..=90 | 94..=126))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Address {
        Address::parse(s).expect("valid test address")
    }

    fn params(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const INJECTIONS: &[&str] = &[
        "x\r\nRCPT TO:<evil@example.com>",
        "x\rDATA",
        "x\nQUIT",
        "x\0y",
        "x\x1by",
        "x\x7fy",
        "x\u{85}y",
        "\r\n",
    ];

    #[test]
    fn simple_commands() {
        for (cmd, line) in [
            (Command::data(), "DATA"),
            (Command::rset(), "RSET"),
            (Command::noop(), "NOOP"),
            (Command::quit(), "QUIT"),
            (Command::starttls(), "STARTTLS"),
        ] {
            assert_eq!(cmd.to_string(), line);
            assert_eq!(cmd.word(), line);
            assert_eq!(cmd.wire(), format!("{line}\r\n").into_bytes());
        }
    }

    #[test]
    fn ehlo_and_helo() {
        let c = Command::ehlo("client.example.com").expect("valid");
        assert_eq!(c.wire(), b"EHLO client.example.com\r\n");
        assert_eq!(c.word(), "EHLO");
        assert_eq!(c.to_string(), "EHLO client.example.com");
        let c = Command::helo("localhost").expect("valid");
        assert_eq!(c.wire(), b"HELO localhost\r\n");
        assert_eq!(c.word(), "HELO");
        for ok in [
            "a",
            "my-host",
            "my_host.example",
            "xn--bcher-kva.example",
            "123.example",
            "[127.0.0.1]",
            "[IPv6:::1]",
            "[ipv6:2001:db8::1]",
            "[IPv6:::ffff:192.0.2.1]",
            "[x-tag:some-content]",
        ] {
            assert!(Command::ehlo(ok).is_ok(), "{ok}");
            assert!(Command::helo(ok).is_ok(), "{ok}");
        }
        for bad in [
            "two words",
            "-leading",
            "trailing-",
            "a..b",
            ".a",
            "a.",
            "host/x",
            "caf\u{e9}.example",
            "[1.2.3]",
            "[1.2.3.4",
            "1.2.3.4]",
            "[IPv6:1.2.3.4]",
            "[IPv6:zz::1]",
            "[]",
            "[tag:]",
            "[tag:a]b]",
            "[:x]",
        ] {
            assert!(
                matches!(Command::ehlo(bad), Err(CommandError::BadDomain(_))),
                "{bad}"
            );
        }
        assert!(Command::ehlo(&"a".repeat(64)).is_err());
        assert!(Command::ehlo(&vec!["a".repeat(63); 4].join(".")).is_ok());
        assert!(Command::ehlo(&vec!["a".repeat(63); 5].join(".")).is_err());
        assert_eq!(
            Command::ehlo(""),
            Err(CommandError::Empty {
                what: "the EHLO domain"
            })
        );
    }

    #[test]
    fn domain_injection_is_refused() {
        for bad in INJECTIONS.iter().chain(&["host\tname"]) {
            assert_eq!(
                Command::ehlo(bad),
                Err(CommandError::ControlCharacter {
                    what: "the EHLO domain"
                }),
                "{bad:?}"
            );
            assert_eq!(
                Command::helo(bad),
                Err(CommandError::ControlCharacter {
                    what: "the HELO domain"
                })
            );
        }
    }

    #[test]
    fn mail_from() {
        let a = addr("alice@example.com");
        let c = Command::mail_from(Some(&a), &[]).expect("valid");
        assert_eq!(c.wire(), b"MAIL FROM:<alice@example.com>\r\n");
        assert_eq!(c.word(), "MAIL");
        let c = Command::mail_from(None, &[]).expect("valid");
        assert_eq!(c.to_string(), "MAIL FROM:<>");
        let c = Command::mail_from(
            Some(&a),
            &params(&["SIZE=12345", "BODY=8BITMIME", "SMTPUTF8", "ENVID=QQ+2B1"]),
        )
        .expect("valid");
        assert_eq!(
            c.to_string(),
            "MAIL FROM:<alice@example.com> SIZE=12345 BODY=8BITMIME SMTPUTF8 ENVID=QQ+2B1"
        );
    }

    #[test]
    fn rcpt_to() {
        let c = Command::rcpt_to(&addr("<bob@example.org>"), &[]).expect("valid");
        assert_eq!(c.wire(), b"RCPT TO:<bob@example.org>\r\n");
        assert_eq!(c.word(), "RCPT");
        let c = Command::rcpt_to(
            &addr("bob@example.org"),
            &params(&["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob@example.org"]),
        )
        .expect("valid");
        assert_eq!(
            c.to_string(),
            "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org"
        );
    }

    #[test]
    fn parameters_are_validated() {
        let a = addr("a@example.com");
        for bad in [
            "",
            "=x",
            "-SIZE=1",
            "SI ZE=1",
            "SIZE=",
            "SIZE=1=2",
            "SIZE=a b",
            "SIZE 1",
            "BODY=8BIT\u{e9}",
            "K\u{e9}Y",
            "SIZE=1 RCPT",
        ] {
            let list = vec![bad.to_string()];
            assert_eq!(
                Command::mail_from(Some(&a), &list),
                Err(CommandError::BadParameter(bad.to_string())),
                "{bad:?}"
            );
            assert_eq!(
                Command::rcpt_to(&a, &list),
                Err(CommandError::BadParameter(bad.to_string()))
            );
        }
        for ok in ["X", "9", "X-Y-", "A=!", "A=~<>", "RET=HDRS"] {
            let list = vec![ok.to_string()];
            assert!(Command::mail_from(None, &list).is_ok(), "{ok}");
        }
    }

    #[test]
    fn parameter_injection_is_refused() {
        let a = addr("a@example.com");
        for bad in INJECTIONS
            .iter()
            .map(|s| format!("SIZE={s}"))
            .chain(["SIZE=1\t".into()])
        {
            let list = vec!["BODY=7BIT".to_string(), bad.clone()];
            assert_eq!(
                Command::mail_from(Some(&a), &list),
                Err(CommandError::ControlCharacter {
                    what: "a MAIL parameter"
                }),
                "{bad:?}"
            );
            assert_eq!(
                Command::rcpt_to(&a, &list),
                Err(CommandError::ControlCharacter {
                    what: "a RCPT parameter"
                })
            );
        }
    }

    #[test]
    fn addresses_with_controls_never_reach_the_wire() {
        // The address module refuses them; if one ever got through, the
        // command would still refuse it.
        for bad in INJECTIONS {
            let input = format!("a{bad}@example.com");
            if let Ok(a) = Address::parse(&input) {
                assert!(Command::mail_from(Some(&a), &[]).is_err(), "{input:?}");
                assert!(Command::rcpt_to(&a, &[]).is_err(), "{input:?}");
            }
        }
    }

    #[test]
    fn length_limit() {
        // "VRFY " + arg + CRLF = 512 exactly.
        let arg = "v".repeat(512 - 7);
        assert!(Command::vrfy(&arg).is_ok());
        let arg = "v".repeat(512 - 6);
        assert_eq!(Command::vrfy(&arg), Err(CommandError::TooLong { len: 513 }));
        assert_eq!(
            Command::raw(&"N".repeat(600)),
            Err(CommandError::TooLong { len: 602 })
        );
        let a = addr("a@example.com");
        let many: Vec<String> = (0..60).map(|i| format!("X-PARAM{i}=1")).collect();
        assert!(matches!(
            Command::mail_from(Some(&a), &many),
            Err(CommandError::TooLong { .. })
        ));
        // Octets, not characters.
        let arg = "\u{e9}".repeat(254);
        assert!(matches!(
            Command::expn(&arg),
            Err(CommandError::TooLong { len: 515 })
        ));
    }

    #[test]
    fn vrfy_and_expn() {
        let c = Command::vrfy("postmaster").expect("valid");
        assert_eq!(c.wire(), b"VRFY postmaster\r\n");
        assert_eq!(c.word(), "VRFY");
        let c = Command::expn("staff\tlist").expect("TAB is allowed");
        assert_eq!(c.to_string(), "EXPN staff\tlist");
        assert_eq!(c.word(), "EXPN");
        assert_eq!(
            Command::vrfy(" "),
            Err(CommandError::Empty {
                what: "the VRFY argument"
            })
        );
        assert_eq!(
            Command::expn(""),
            Err(CommandError::Empty {
                what: "the EXPN argument"
            })
        );
        for bad in INJECTIONS {
            assert_eq!(
                Command::vrfy(bad),
                Err(CommandError::ControlCharacter {
                    what: "the VRFY argument"
                }),
                "{bad:?}"
            );
            assert_eq!(
                Command::expn(bad),
                Err(CommandError::ControlCharacter {
                    what: "the EXPN argument"
                })
            );
        }
    }

    #[test]
    fn raw_lines() {
        let c = Command::raw("xclient name=foo").expect("valid");
        assert_eq!(c.word(), "XCLIENT");
        assert_eq!(c.to_string(), "xclient name=foo");
        assert_eq!(c.wire(), b"xclient name=foo\r\n");
        let c = Command::raw("  noop\tx").expect("valid");
        assert_eq!(c.word(), "NOOP");
        assert_eq!(c.wire(), b"  noop\tx\r\n");
        for empty in ["", " ", "\t \t"] {
            assert_eq!(
                Command::raw(empty),
                Err(CommandError::Empty {
                    what: "the command line"
                })
            );
        }
        for bad in INJECTIONS {
            assert_eq!(
                Command::raw(bad),
                Err(CommandError::ControlCharacter {
                    what: "the command line"
                }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn auth_commands_mask_the_response() {
        let c = Command::auth("PLAIN", Some("AHRpbQB0YW5zdGFhZnRhbnN0YWFm")).expect("valid");
        assert_eq!(c.wire(), b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
        assert_eq!(c.to_string(), "AUTH PLAIN ****");
        assert_eq!(c.word(), "AUTH");
        // Nor does `{:?}` show the secret (a debug print must not leak it).
        let debug = format!("{c:?} {:?}", Command::sasl_response("c2VjcmV0", "****"));
        assert!(
            !debug.contains("AHRpbQ") && !debug.contains("c2VjcmV0"),
            "{debug}"
        );
        assert!(debug.contains("AUTH PLAIN ****"), "{debug}");
        let c = Command::auth("CRAM-MD5", None).expect("valid");
        assert_eq!(c.to_string(), "AUTH CRAM-MD5");
        assert_eq!(
            Command::auth("PLAIN", Some("")).expect("valid").wire(),
            b"AUTH PLAIN =\r\n"
        );
        assert!(Command::auth("PLAIN\r\nMAIL", None).is_err());
        assert!(Command::auth("plain", None).is_err());
        assert!(Command::auth("PLAIN", Some("abc\r\nRCPT")).is_err());
        let long = "QUFB".repeat(200);
        assert!(matches!(
            Command::auth("XOAUTH2", Some(&long)),
            Err(CommandError::TooLong { .. })
        ));
        // A response may be long, but not endless, and hides its content.
        let r = Command::sasl_response(&long, "****").expect("valid");
        assert_eq!(r.to_string(), "****");
        assert_eq!(r.word(), "AUTH");
        assert_eq!(
            Command::sasl_response("", "").expect("valid").wire(),
            b"\r\n"
        );
        assert_eq!(
            Command::sasl_response("*", "*").expect("valid").wire(),
            b"*\r\n"
        );
        assert!(Command::sasl_response(&"A".repeat(12289), "****").is_err());
        assert!(Command::sasl_response("a b", "****").is_err());
        let e = Command::sasl_response("c2VjcmV0\n", "****").unwrap_err();
        assert!(!e.to_string().contains("c2VjcmV0"));
    }

    #[test]
    fn masked_commands_hide_the_secret() {
        let c = Command::masked("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "AUTH PLAIN ********")
            .expect("valid");
        assert_eq!(c.to_string(), "AUTH PLAIN ********");
        assert_eq!(c.wire(), b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
        assert_eq!(c.word(), "AUTH");
        assert!(Command::masked("x\r\ny", "x").is_err());
        assert!(Command::masked("AUTH x", "AUTH\n").is_err());
    }

    #[test]
    fn error_messages_are_for_people() {
        assert_eq!(
            CommandError::ControlCharacter {
                what: "the EHLO domain"
            }
            .to_string(),
            "the EHLO domain contains a control character (CR, LF or NUL); remove it"
        );
        assert_eq!(
            CommandError::Empty {
                what: "the VRFY argument"
            }
            .to_string(),
            "the VRFY argument is empty; give a value"
        );
        assert!(
            CommandError::TooLong { len: 600 }
                .to_string()
                .contains("600 octets")
        );
        assert!(
            CommandError::BadParameter("SIZE=".into())
                .to_string()
                .starts_with("\"SIZE=\" is not a valid MAIL/RCPT parameter")
        );
        let long = CommandError::BadDomain("x y".repeat(100)).to_string();
        assert!(long.starts_with("\"x yx y"));
        assert!(long.len() < 250, "{long}");
        assert!(long.contains("[192.0.2.1]"));
    }

    #[test]
    fn verbs_are_typed_and_details_read_from_the_line() {
        assert_eq!(Verb::parse("ehlo"), Verb::Ehlo);
        assert_eq!(Verb::parse("StartTLS"), Verb::StartTls);
        assert_eq!(Verb::parse("ETRN"), Verb::Other);
        for v in Verb::ALL.iter().chain(Verb::EXTENSIONS) {
            assert_eq!(Verb::parse(v.name()), *v);
        }
        assert_eq!(Verb::parse("xclient"), Verb::Xclient);
        let c = Command::raw("MAIL FROM:<a@b.org> SIZE=10").unwrap();
        assert_eq!(c.verb(), Verb::Mail);
        assert_eq!(c.detail(), &Detail::Path(Some("a@b.org".into())));
        let c = Command::raw("  rcpt to: <x@y.org>").unwrap();
        assert_eq!(c.verb(), Verb::Rcpt);
        assert_eq!(c.detail(), &Detail::Path(Some("x@y.org".into())));
        let c = Command::raw("MAIL FROM:<>").unwrap();
        assert_eq!(c.detail(), &Detail::Path(Some(String::new())));
        let c = Command::raw("RCPT TO:bare@y.org NOTIFY=NEVER").unwrap();
        assert_eq!(c.detail(), &Detail::Path(Some("bare@y.org".into())));
        let c = Command::raw("RCPT x@y.org").unwrap();
        assert_eq!(c.detail(), &Detail::Path(None));
        let c = Command::raw("MAIL FROM:<unclosed").unwrap();
        assert_eq!(c.detail(), &Detail::Path(None));
        let c = Command::raw("helo  client.example").unwrap();
        assert_eq!(c.detail(), &Detail::Hello("client.example".into()));
        let c = Command::mail_from(Some(&addr("s@example.org")), &params(&["SIZE=1"])).unwrap();
        assert_eq!(c.detail(), &Detail::Path(Some("s@example.org".into())));
        assert_eq!(
            Command::mail_from(None, &[]).unwrap().detail(),
            &Detail::Path(Some(String::new()))
        );
        let c = Command::auth("PLAIN", Some("AGEAYg=="))
            .unwrap()
            .for_user("ann");
        assert_eq!(c.detail(), &Detail::Auth(Some("ann".into())));
        assert!(!c.wire().windows(3).any(|w| w == b"ann"));
        assert_eq!(Command::bdat(10, true).to_string(), "BDAT 10 LAST");
        assert_eq!(
            Command::bdat(10, true).detail(),
            &Detail::Bdat { last: true }
        );
        assert_eq!(
            Command::raw("BDAT 5").unwrap().detail(),
            &Detail::Bdat { last: false }
        );
        assert_eq!(
            Command::sasl_response("*", "*").unwrap().verb(),
            Verb::AuthResponse
        );
        assert_eq!(path_after("FROM:", "FROM:"), None);
        assert_eq!(path_after("FR", "FROM:"), None);
        assert_eq!(path_after("TO:é", "FROM:"), None);
    }
}
