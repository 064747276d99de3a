//! Settings: what `set` shows and changes. One table ([`SETTINGS`]) names
//! each setting with its values, help, how it is shown and how it is
//! changed; `set`, `help set`, Tab completion and the documentation check
//! all read it.

use super::failure::Failure;
use super::output::ColorChoice;
use super::session::Session;
use crate::smtp::conn::TimeoutPhase;
use crate::smtp::dns::Resolver;
use std::net::SocketAddr;
use std::time::Duration;

/// User settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// How long to wait for the server to make progress: `None` (the
    /// default) gives each phase its RFC 5321 timeout ([`TimeoutPhase`]);
    /// `set timeout N` sets one value for every phase.
    pub timeout: Option<Duration>,
    /// Colour (`--color`, `set color`): auto (on a terminal, unless
    /// `NO_COLOR` is set), always or never.
    pub color: Color,
    /// `set transfer`: how `send` transfers the content.
    pub transfer: Transfer,
    /// `--require-tls` / `set require-tls on`: never send MAIL, RCPT, DATA
    /// or AUTH in plaintext; a connect upgrades with STARTTLS or stops.
    pub require_tls: bool,
    /// The TLS controls every `connect` starts from (`--cafile`,
    /// `--insecure`, `--cert`, `--servername`, `--pin`, ... on the command
    /// line); `connect` options change them for one target.
    pub tls: super::cmd::tls_options::TlsControls,
    /// `set resolver ADDR`: the DNS server for `connect --mx` (default:
    /// the system's, from /etc/resolv.conf).
    pub resolver: Option<SocketAddr>,
}

/// The colour choice, `auto` by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub ColorChoice);

impl Default for Color {
    fn default() -> Color {
        Color(ColorChoice::Auto)
    }
}

/// How `send` transfers the message content (`set transfer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transfer {
    /// DATA: smtpsh's messages are 7-bit (text 7bit or quoted-printable,
    /// attachments base64), which is what DATA is for; BDAT would only be
    /// needed for binary content (BINARYMIME), which smtpsh never sends.
    #[default]
    Auto,
    /// Always DATA.
    Data,
    /// BDAT (RFC 3030 CHUNKING); refused before MAIL when the server does
    /// not offer CHUNKING.
    Bdat,
}

impl Transfer {
    /// Parses `auto`, `data` or `bdat`.
    pub fn parse(s: &str) -> Option<Transfer> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(Transfer::Auto),
            "data" => Some(Transfer::Data),
            "bdat" | "chunking" => Some(Transfer::Bdat),
            _ => None,
        }
    }
    /// The name as typed.
    pub fn name(self) -> &'static str {
        match self {
            Transfer::Auto => "auto",
            Transfer::Data => "data",
            Transfer::Bdat => "bdat",
        }
    }
}

/// One setting.
pub struct Setting {
    /// The name typed after `set`.
    pub name: &'static str,
    /// Other names.
    pub aliases: &'static [&'static str],
    /// The values, for `help set` and error messages (`on|off`).
    pub values: &'static str,
    /// What Tab offers as a value.
    pub suggestions: &'static [&'static str],
    /// One line of help.
    pub help: &'static str,
    /// The current value, in words.
    pub show: fn(&Session) -> String,
    /// Changes it; returns the line that confirms the new value.
    pub set: fn(&mut Session, &str) -> Result<String, Failure>,
}

/// Every setting, in the order `set` lists them.
#[rustfmt::skip]
pub static SETTINGS: &[Setting] = &[
    Setting { name: "timeout", aliases: &[], values: "SECONDS|default", suggestions: &["default", "30", "60", "300"],
        show: |s| timeout_text(s.settings.timeout), set: set_timeout,
        help: "how long to wait for the server: one value for every phase, or `default` for \
               RFC 5321's per phase (greeting, MAIL, RCPT 5 min; DATA 2 min; each data block \
               3 min; end of message 10 min; other commands 5 min; connecting 30 s)" },
    Setting { name: "color", aliases: &["colour"], values: "auto|always|never", suggestions: &["auto", "always", "never"],
        show: |s| s.settings.color.0.name().to_string(), set: set_color,
        help: "colour the transcript (auto: on a terminal, unless NO_COLOR is set)" },
    Setting { name: "verbose", aliases: &[], values: "on|off", suggestions: &["on", "off"],
        show: |s| on_off(s.out.verbose), set: set_verbose,
        help: "show protocol notices (e.g. a reply line ending in a bare LF)" },
    Setting { name: "explain", aliases: &[], values: "on|errors|off", suggestions: &["on", "errors", "off"],
        show: |s| s.out.explain.name().to_string(), set: set_explain,
        help: "under a reply with an enhanced status code (5.7.26), a dimmed line saying what it means, from \
               the IANA registry (RFC 3463 and later); `errors`: only under 4xx/5xx replies" },
    Setting { name: "require-tls", aliases: &[], values: "on|off", suggestions: &["on", "off"],
        show: |s| on_off(s.settings.require_tls), set: set_require_tls,
        help: "never send MAIL, RCPT, DATA or AUTH without TLS (connect upgrades with STARTTLS or stops)" },
    Setting { name: "transfer", aliases: &[], values: "auto|data|bdat", suggestions: &["auto", "data", "bdat"],
        show: |s| s.settings.transfer.name().to_string(), set: set_transfer,
        help: "how `send` sends the content: DATA (auto, the default) or one BDAT chunk (CHUNKING, RFC 3030)" },
    Setting { name: "resolver", aliases: &[], values: "ADDR|system", suggestions: &["system", "127.0.0.1:53"],
        show: show_resolver, set: set_resolver,
        help: "the DNS server `connect --mx` asks (e.g. 127.0.0.1:5353), or `system` (/etc/resolv.conf)" },
    Setting { name: "pager", aliases: &[], values: "on|off", suggestions: &["on", "off"],
        show: show_pager, set: set_pager,
        help: "on a terminal, show `help`, `show` and `history` through $PAGER (default `less -R`) when \
               they are taller than the screen (typed commands only, never a script's)" },
    Setting { name: "log", aliases: &[], values: "FILE|off", suggestions: &["off"],
        show: show_log, set: set_log,
        help: "also write the whole transcript to FILE (appended; no colour, a UTC timestamp per line, \
               secrets masked as on screen), or `off`; --log FILE does it from the start" },
];

fn show_log(s: &Session) -> String {
    s.out
        .log_path()
        .map_or("off".to_string(), |p| p.display().to_string())
}

fn set_log(s: &mut Session, v: &str) -> Result<String, Failure> {
    if v.eq_ignore_ascii_case("off") {
        return Ok(match s.out.set_log(None) {
            Some(old) => format!("the transcript to {} stopped", old.path().display()),
            None => "log: off".to_string(),
        });
    }
    let path = crate::local::expand_tilde(v);
    let log = super::log::TranscriptLog::open(&path).map_err(|e| {
        Failure::local(format!(
            "cannot write the transcript to {}: {e}",
            path.display()
        ))
        .hint("give a file in a directory you can write, e.g. set log /tmp/smtpsh.log")
    })?;
    s.out.set_log(Some(log));
    Ok(format!(
        "writing the transcript to {} (`set log off` stops it)",
        path.display()
    ))
}

fn show_pager(s: &Session) -> String {
    if s.out.pager {
        format!(
            "on (`{}`, for output taller than the screen)",
            super::output::pager_command().join(" ")
        )
    } else {
        "off".into()
    }
}

fn set_pager(s: &mut Session, v: &str) -> Result<String, Failure> {
    s.out.pager = parse_on_off(v)?;
    Ok(format!("pager: {}", show_pager(s)))
}

fn set_explain(s: &mut Session, v: &str) -> Result<String, Failure> {
    s.out.explain = super::output::Explain::parse(v).ok_or_else(|| {
        Failure::local(format!("explain is on, errors or off, not '{v}'"))
            .hint("set explain off hides the lines; `help code X.Y.Z` still explains a code")
    })?;
    Ok(format!("explain: {}", s.out.explain.name()))
}

fn set_verbose(s: &mut Session, v: &str) -> Result<String, Failure> {
    s.out.verbose = parse_on_off(v)?;
    Ok(format!("verbose: {}", on_off(s.out.verbose)))
}

fn set_require_tls(s: &mut Session, v: &str) -> Result<String, Failure> {
    s.settings.require_tls = parse_on_off(v)?;
    Ok(if s.settings.require_tls {
        "require-tls is on: MAIL, RCPT, DATA and AUTH are never sent without TLS".into()
    } else {
        "require-tls is off".into()
    })
}

fn show_resolver(s: &Session) -> String {
    s.settings
        .resolver
        .map_or("system (/etc/resolv.conf)".to_string(), |a| a.to_string())
}

/// The setting named `name` (or an alias), case-insensitively.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| {
        s.name.eq_ignore_ascii_case(name) || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

fn on_off(on: bool) -> String {
    if on { "on" } else { "off" }.to_string()
}

fn parse_on_off(v: &str) -> Result<bool, Failure> {
    match v.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(Failure::local(format!("'{v}' is not on or off"))),
    }
}

fn set_timeout(s: &mut Session, v: &str) -> Result<String, Failure> {
    s.settings.timeout = if v.eq_ignore_ascii_case("default") {
        None
    } else {
        let secs = v
            .parse::<u64>()
            .ok()
            .filter(|&n| (1..=86400).contains(&n))
            .ok_or_else(|| {
                Failure::local(format!(
                    "'{v}' is not a number of seconds (1-86400) or `default`"
                ))
                .hint("example: set timeout 60")
            })?;
        Some(Duration::from_secs(secs))
    };
    if let Some(live) = s.live.as_mut() {
        live.conn.set_timeout(s.settings.timeout);
    }
    Ok(format!("timeout: {}", timeout_text(s.settings.timeout)))
}

fn set_color(s: &mut Session, v: &str) -> Result<String, Failure> {
    let c = ColorChoice::parse(v)
        .ok_or_else(|| Failure::local(format!("'{v}' is not auto, always or never")))?;
    s.settings.color = Color(c);
    s.out.set_color(c.resolve());
    Ok(format!("color: {}", c.name()))
}

fn set_transfer(s: &mut Session, v: &str) -> Result<String, Failure> {
    let t = Transfer::parse(v).ok_or_else(|| {
        Failure::local(format!("'{v}' is not auto, data or bdat"))
            .hint("example: set transfer bdat")
    })?;
    s.settings.transfer = t;
    Ok(match t {
        Transfer::Auto => "transfer: auto (DATA: smtpsh's messages are 7-bit)".into(),
        Transfer::Data => "transfer: DATA".into(),
        Transfer::Bdat => {
            "transfer: BDAT (CHUNKING, RFC 3030); `send` stops before MAIL if the server does not offer it"
                .into()
        }
    })
}

fn set_resolver(s: &mut Session, v: &str) -> Result<String, Failure> {
    if v.eq_ignore_ascii_case("system") {
        s.settings.resolver = None;
        return Ok("DNS: the system's resolver (/etc/resolv.conf)".into());
    }
    let addr = Resolver::parse_addr(v).map_err(|e| {
        Failure::local(e).hint(
            "examples: set resolver 127.0.0.1:5353, set resolver [::1]:53, set resolver system",
        )
    })?;
    s.settings.resolver = Some(addr);
    Ok(format!("DNS: {addr}"))
}

/// The timeout setting in words: one value, or the per-phase defaults.
pub fn timeout_text(timeout: Option<Duration>) -> String {
    use TimeoutPhase as P;
    let secs = |p: P| p.default_timeout().as_secs();
    match timeout {
        Some(t) => format!(
            "{} s for every phase (`set timeout default` restores the defaults)",
            t.as_secs()
        ),
        None => format!(
            "default (RFC 5321 §4.5.3.2): greeting {} s, MAIL {} s, RCPT {} s, DATA {} s, \
             each data block {} s, end of message {} s, other commands {} s; connecting {} s",
            secs(P::Greeting),
            secs(P::Mail),
            secs(P::Rcpt),
            secs(P::DataInit),
            secs(P::DataBlock),
            secs(P::DataEnd),
            secs(P::Command),
            secs(P::Connect),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_complete() {
        let mut seen = std::collections::HashSet::new();
        for s in SETTINGS {
            for n in std::iter::once(s.name).chain(s.aliases.iter().copied()) {
                assert!(seen.insert(n), "duplicate setting {n}");
            }
            assert!(!s.help.is_empty() && !s.values.is_empty());
            assert!(!s.suggestions.is_empty());
        }
        assert_eq!(find("COLOUR").map(|s| s.name), Some("color"));
        assert!(find("colr").is_none());
    }

    #[test]
    fn every_setting_takes_its_suggestions_and_confirms() {
        for setting in SETTINGS {
            for value in setting.suggestions {
                let (mut s, _) = Session::for_tests();
                let said = (setting.set)(&mut s, value)
                    .unwrap_or_else(|f| panic!("set {} {value}: {}", setting.name, f.message));
                assert!(
                    !said.is_empty(),
                    "set {} {value} says nothing",
                    setting.name
                );
                assert!(!(setting.show)(&s).is_empty());
            }
            if setting.values.contains("FILE") {
                // Any path is a value; `log` has its own test.
                continue;
            }
            let (mut s, _) = Session::for_tests();
            assert!(
                (setting.set)(&mut s, "no-such-value").is_err(),
                "set {} accepts anything",
                setting.name
            );
        }
    }
}
