//! What the shell tells about itself: `help`, `status`, `history`, `set`,
//! `clear`.

use super::tls::tls_status;
use crate::address::Mailbox;
use crate::shell::args::Args;
use crate::shell::commands::{self, COMMANDS, Complete};
use crate::shell::failure::Failure;
use crate::shell::input::Input;
use crate::shell::output::{Output, Stream, Tone, human_bytes};
use crate::shell::session::{Session, format_peer, peer_label, stage_text};
use crate::shell::settings::{self, SETTINGS};
use crate::smtp::{Conversation, Verb};
use crate::text::wrap;
use std::io::Write;

/// `history`.
pub fn history(s: &mut Session, input: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    let h = input.history();
    if h.is_empty() {
        s.out
            .note("the history is empty (it is kept only for interactive sessions)");
    }
    s.out.page_start();
    for (i, line) in h.iter().enumerate() {
        s.out.plain(&format!("{:5}  {line}", i + 1));
    }
    s.out.page_end();
    Ok(())
}

/// `help [COMMAND]`, through the pager when it is taller than the screen.
pub fn help(s: &mut Session, a: Args) -> Result<(), Failure> {
    let o = &s.out;
    match a.words.first().map(String::as_str) {
        Some("smtp") => return help_smtp(o, a.words.get(1).map(String::as_str)),
        Some("code") => return help_code(o, a.words.get(1).map(String::as_str)),
        _ if a.words.len() > 1 => {
            return Err(Failure::local(
                "usage: help [COMMAND] | help smtp [VERB] | help code [CODE]",
            )
            .hint("e.g. help to, help smtp rcpt, help code 5.7.1"));
        }
        _ => {}
    }
    if let Some(name) = a.words.first() {
        let spec = commands::find(name).ok_or_else(|| {
            let f = Failure::local(format!("no command named '{name}'"));
            match commands::suggest(name).first() {
                Some(x) => f.hint(format!("did you mean `help {x}`?")),
                None => f.hint("`help` lists every command"),
            }
        })?;
        o.page_start();
        help_command(o, spec);
        o.page_end();
        return Ok(());
    }
    o.page_start();
    help_list(o);
    o.page_end();
    Ok(())
}

/// `help smtp [VERB]`: the verbs, or one explained (syntax, what it does,
/// parameters, RFC, the command that sends it).
fn help_smtp(o: &Output, verb: Option<&str>) -> Result<(), Failure> {
    use crate::smtp::verbs::{VERBS, lookup};
    let Some(verb) = verb else {
        o.plain("SMTP verbs (help smtp VERB explains one):");
        for v in VERBS {
            o.plain(&format!("  {:<9} {}  ({})", v.name, v.syntax, v.rfc));
        }
        return Ok(());
    };
    let v = lookup(verb).ok_or_else(|| {
        let names: Vec<&str> = VERBS.iter().map(|v| v.name).collect();
        Failure::local(format!("smtpsh has no explanation of the verb '{verb}'"))
            .hint(format!("known: {}", names.join(" ")))
    })?;
    o.plain(&format!("{}  ({})", o.paint(Tone::Bold, v.syntax), v.rfc));
    o.plain(&format!("  {}", v.what));
    if !v.params.is_empty() {
        o.plain("  Parameters:");
        for p in v.params {
            o.plain(&format!("    {p}"));
        }
    }
    match v.command {
        Some(c) => o.plain(&format!(
            "  In smtpsh: `{c}` sends it (`help {}`); `raw` sends it as typed.",
            c.split(' ').next().unwrap_or(c)
        )),
        None => o.plain("  In smtpsh: `raw LINE` sends it as typed."),
    }
    Ok(())
}

/// `help code [CODE]`: a basic reply code, an enhanced status code, or
/// a class or subject, with its RFC; without CODE, how codes are built.
fn help_code(o: &Output, code: Option<&str>) -> Result<(), Failure> {
    use crate::smtp::codes;
    let Some(code) = code else {
        o.plain("A reply starts with a three-digit code (RFC 5321 §4.2): 2xx done, 3xx go on, 4xx not now, 5xx never.");
        o.plain("With ENHANCEDSTATUSCODES (RFC 2034) the text starts with class.subject.detail (RFC 3463),");
        o.plain(
            "e.g. 550 5.7.26: class 5 permanent failure, subject 7 security or policy, detail 26.",
        );
        o.plain("Subjects:");
        for subject in 0..=7 {
            if let Some(name) = codes::subject_name(subject) {
                o.plain(&format!("  X.{subject}.X  {name}"));
            }
        }
        o.plain("help code 550, help code 5.7.26, help code 5.7 (a subject's codes), help code 4 (a class).");
        o.plain("Under each reply, `set explain` shows what its enhanced code means.");
        return Ok(());
    };
    let lines = codes::explain(code).ok_or_else(|| {
        Failure::local(format!("'{code}' is not a reply code")).hint(
            "give a basic code (550), an enhanced code (5.7.1), a subject (5.7) or a class (4)",
        )
    })?;
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            o.plain(&o.paint(Tone::Bold, line));
        } else {
            o.plain(&format!("  {line}"));
        }
    }
    Ok(())
}

/// `help COMMAND`: its usage, aliases and help (each line wrapped by
/// the output, hanging under its own text).
fn help_command(o: &Output, spec: &commands::Spec) {
    o.plain(&o.paint(Tone::Bold, spec.usage));
    if !spec.aliases.is_empty() {
        o.plain(&format!("  (also: {})", spec.aliases.join(", ")));
    }
    o.plain(&format!("  {}", spec.summary));
    let lines = if o.columns(Stream::Out).is_some() {
        // Rewrapped to the width: the table's line breaks inside a
        // sentence would leave short lines between wrapped ones.
        let mut names = vec![spec.name];
        names.extend_from_slice(spec.aliases);
        reflow(spec.help, &names)
    } else {
        spec.help
            .lines()
            .map(|l| l.trim_start().to_string())
            .collect()
    };
    for l in lines {
        o.plain(&format!("  {l}"));
    }
    if spec.complete == Complete::Settings {
        for st in SETTINGS {
            o.plain(&format!("  set {} {}", st.name, st.values));
            o.plain(&format!("      {}", st.help));
        }
        o.plain("  set var [NAME [VALUE]]");
        o.plain(
            "      define ${NAME} for the command lines that follow (--var NAME=VALUE comes \
                 first, the environment last); `set var` lists the variables",
        );
    }
}

/// A command's help with each sentence or entry on one line: a line that
/// goes on from the one before (which ends mid-sentence, and it is no
/// entry of its own — `NAME ...`, `--option`, `term  what it does`,
/// `Example:`) is joined to it.
fn reflow(help: &str, names: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in help.lines().map(str::trim_start) {
        let entry = line.starts_with('-')
            || line.starts_with("Example")
            || line.contains("  ")
            || names.iter().any(|n| {
                line.strip_prefix(n)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ':']))
            });
        let goes_on = |prev: &str| {
            !prev.ends_with('.')
                && !prev.starts_with("Example")
                && (prev.ends_with([',', ';', '('])
                    || line.starts_with(|c: char| c.is_lowercase() || "$(`\"'".contains(c)))
        };
        match out.last_mut() {
            Some(prev) if !entry && !line.is_empty() && goes_on(prev) => {
                prev.push(' ');
                prev.push_str(line);
            }
            _ => out.push(line.to_string()),
        }
    }
    out
}

/// The widest the usage column of `help` gets.
const USAGE_COLUMN: usize = 44;

/// How wide the usage column of `help` is on `columns` (none: not a
/// terminal): two fifths of the width, between 16 and [`USAGE_COLUMN`].
fn usage_column(columns: Option<usize>) -> usize {
    columns.map_or(USAGE_COLUMN, |w| {
        (w.saturating_sub(3) * 2 / 5).clamp(16, USAGE_COLUMN)
    })
}

/// `help`: every command's usage and summary in two columns fitted to
/// the width; a usage too long for its column gets lines of its own.
fn help_list(o: &Output) {
    o.plain("Commands (help COMMAND for details; Tab completes):");
    let columns = o.columns(Stream::Out);
    let col = usage_column(columns);
    let fit = columns.unwrap_or(usize::MAX);
    let summary_at = 2 + col + 1;
    for c in COMMANDS {
        let usage = c.usage.chars().count();
        if usage > col {
            // Its own lines (bold, wrapped at spaces); the summary below.
            for l in wrap::wrap_hanging(&format!("  {}", c.usage), fit, 4) {
                let text = l.trim_start();
                let indent = &l[..l.len() - text.len()];
                o.plain(&format!("{indent}{}", o.paint(Tone::Bold, text)));
            }
            let below = format!("{:summary_at$}{}", "", c.summary);
            for l in wrap::wrap_hanging(&below, fit, summary_at) {
                o.plain(&l);
            }
        } else {
            let pad = " ".repeat(col - usage);
            let line = format!("  {}{pad} {}", o.paint(Tone::Bold, c.usage), c.summary);
            for l in wrap::wrap_hanging(&line, fit, summary_at) {
                o.plain(&l);
            }
        }
    }
    o.plain(
        "\nA session: connect HOST PORT, ehlo, from ADDR, to ADDR, subject TEXT, body, attach FILE, send.\n\
         No server at hand? `connect sandbox` starts one inside smtpsh.",
    );
}

/// `set [NAME [VALUE]]` and `set var [NAME [VALUE...]]`.
pub fn set(s: &mut Session, a: Args) -> Result<(), Failure> {
    if a.words.first().is_some_and(|w| w == "var") {
        return set_var(s, &a.words[1..]);
    }
    let (name, value) = match a.words.as_slice() {
        [] => {
            let width = SETTINGS.iter().map(|st| st.name.len()).max().unwrap_or(0);
            for st in SETTINGS {
                s.out
                    .plain(&format!("{:width$}  {}", st.name, (st.show)(s)));
            }
            let n = s.vars.list().len();
            if n > 0 {
                s.out.note(&format!(
                    "{} defined (`set var` lists them)",
                    super::plural(n, "variable")
                ));
            }
            return Ok(());
        }
        [name] => (name, None),
        [name, value] => (name, Some(value)),
        [name, ..] => {
            return Err(Failure::local(format!("`set {name}` takes one value"))
                .hint("quote a value with spaces; `set var NAME VALUE` defines a variable"));
        }
    };
    let Some(setting) = settings::find(name) else {
        let names: Vec<&str> = SETTINGS.iter().map(|st| st.name).collect();
        return Err(Failure::local(format!("unknown setting '{name}'"))
            .hint(format!("settings: {}", names.join(", "))));
    };
    let Some(value) = value else {
        // `set NAME`: what it is now, and what it can be.
        s.out
            .plain(&format!("{}  {}", setting.name, (setting.show)(s)));
        s.out.note(&format!(
            "values: {} — `set {} VALUE` changes it",
            setting.values, setting.name
        ));
        return Ok(());
    };
    let said = (setting.set)(s, value)?;
    s.out.note(&said);
    Ok(())
}

/// `set var` (list), `set var NAME` (show), `set var NAME VALUE...`
/// (define; several words are joined by one space).
fn set_var(s: &mut Session, words: &[String]) -> Result<(), Failure> {
    use crate::shell::vars::{has_control, is_name};
    let Some((name, value)) = words.split_first() else {
        let all = s.vars.list();
        if all.is_empty() {
            s.out.note(
                "no variables defined (`set var NAME VALUE`, or smtpsh --var NAME=VALUE); \
                 ${NAME} also reads the environment",
            );
        }
        for (name, value, source) in all {
            s.out.plain(&format!("{name}={value}  ({})", source.name()));
        }
        return Ok(());
    };
    if !is_name(name) {
        return Err(Failure::local(format!(
            "'{name}' is not a variable name (letters, digits and _, not starting with a digit)"
        )));
    }
    if value.is_empty() {
        return match s.vars.get(name)? {
            Some((v, source)) => {
                s.out.plain(&format!("{name}={v}  ({})", source.name()));
                Ok(())
            }
            None => Err(
                Failure::local(format!("the variable {name} is not defined"))
                    .hint(format!("define it: set var {name} VALUE")),
            ),
        };
    }
    let value = value.join(" ");
    if has_control(&value) {
        return Err(Failure::local("a variable cannot hold a line break"));
    }
    s.vars.set(name, &value);
    match s.vars.get(name) {
        Ok(Some((v, source))) if v != value => s.out.note(&format!(
            "{name} set, but {}'s value {v} is used (it comes first)",
            source.name()
        )),
        _ => s.out.note(&format!("{name}={value}")),
    }
    Ok(())
}

/// `clear`.
pub fn clear(s: &mut Session) -> Result<(), Failure> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x1b[H\x1b[2J");
        let _ = out.flush();
    }
    let _ = s.out.flush();
    Ok(())
}

/// `status`.
pub fn status(s: &mut Session) -> Result<(), Failure> {
    connection_status(s);
    draft_status(s);
    Ok(())
}

/// The connection and conversation lines of `status`.
fn connection_status(s: &Session) {
    let o = &s.out;
    let Some(live) = &s.live else {
        o.plain("connection:   none");
        return;
    };
    let c = &live.conn;
    let conv = live.conversation();
    let place = match (c.peer(), c.local()) {
        (Some(peer), Some(local)) => format!(
            "{} ({}) from {local}",
            format_peer(c.host(), peer.port()),
            peer.ip()
        ),
        _ => format!("{} (a UNIX-domain socket)", peer_label(c)),
    };
    o.plain(&format!(
        "connection:   {place}, {}{} [{}]",
        if conv.is_secure() { "TLS" } else { "plaintext" },
        if conv.is_lmtp() { ", LMTP" } else { "" },
        stage_text(conv)
    ));
    if let Some(net) = s
        .last_target
        .as_ref()
        .and_then(|t| super::net::describe(&t.net))
    {
        o.plain(&format!("network:      {net}"));
    }
    if let Some(p) = s.profile() {
        o.plain(&format!(
            "profile:      {}{}",
            p.name,
            s.profiles
                .path
                .as_ref()
                .map(|f| format!(" (from {})", f.display()))
                .unwrap_or_default()
        ));
    }
    if let Some(closed) = conv.closed() {
        o.plain(&format!("closed:       {closed}"));
        o.plain("  (`connect` connects again to the same server)");
        return;
    }
    if let Some(mx) = &live.mx {
        o.plain(&format!(
            "found by MX:  {}, a mail server of {}",
            mx.host, mx.domain
        ));
    }
    if let Some(g) = conv.greeting() {
        o.plain(&format!("greeting:     {} {}", g.code, g.text()));
    }
    match conv.hello() {
        Some(h) if h.verb == Verb::Helo => {
            o.plain(&format!("greeted:      HELO {} (no extensions)", h.name))
        }
        Some(h) => o.plain(&format!("greeted:      {} {}", h.verb.name(), h.name)),
        None if conv.is_lmtp() => o.plain("greeted:      not yet (`lhlo`)"),
        None => o.plain("greeted:      not yet (`ehlo`)"),
    }
    for line in tls_status(s) {
        o.plain(&line);
    }
    extension_status(s, conv);
}

/// Extensions and the envelope.
fn extension_status(s: &Session, conv: &Conversation) {
    let o = &s.out;
    if let Some(ext) = conv.extensions() {
        o.plain(&format!("server name:  {}", ext.domain));
        let list: Vec<String> = ext
            .list
            .iter()
            .map(|e| {
                let mut v = e.keyword.clone();
                for p in &e.params {
                    v.push(' ');
                    v.push_str(p);
                }
                v
            })
            .collect();
        o.plain(&format!(
            "extensions:   {}",
            if list.is_empty() {
                "none".to_string()
            } else {
                list.join(", ")
            }
        ));
    }
    let Some(t) = conv.transaction() else {
        o.plain("envelope:     no transaction (MAIL FROM not sent)");
        return;
    };
    o.plain(&format!(
        "envelope:     MAIL FROM <{}> accepted",
        t.sender().unwrap_or("?")
    ));
    o.plain(&format!(
        "  accepted:   {}",
        if t.accepted().is_empty() {
            "none".to_string()
        } else {
            t.accepted().join(", ")
        }
    ));
    if !t.refused().is_empty() {
        let r: Vec<String> = t
            .refused()
            .iter()
            .map(|r| format!("{} ({} {})", r.address, r.reply.code, r.reply.text()))
            .collect();
        o.plain(&format!("  rejected:   {}", r.join("; ")));
    }
}

/// The draft lines of `status`.
fn draft_status(s: &Session) {
    let o = &s.out;
    let d = &s.draft;
    let list = |v: &[Mailbox]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter()
                .map(|m| {
                    let params = d
                        .rcpt_params_for(&m.address)
                        .map(super::envelope::params_text);
                    format!("{m}{}", params.unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    o.plain(&format!(
        "draft:        {}",
        if s.unsent {
            "not sent yet"
        } else if d.is_empty() {
            "empty"
        } else {
            "sent"
        }
    ));
    o.plain(&format!(
        "  from:       {}",
        d.from.as_ref().map_or("-".to_string(), |f| format!(
            "{f}{}",
            super::envelope::params_text(&d.mail_params)
        ))
    ));
    o.plain(&format!("  to:         {}", list(&d.to)));
    o.plain(&format!("  cc:         {}", list(&d.cc)));
    o.plain(&format!("  bcc:        {}", list(&d.bcc)));
    o.plain(&format!(
        "  subject:    {}",
        d.subject.as_deref().unwrap_or("-")
    ));
    o.plain(&format!(
        "  body:       {}",
        human_bytes(d.body.len() as u64)
    ));
    if let Some(html) = &d.html {
        o.plain(&format!("  html:       {}", human_bytes(html.len() as u64)));
    }
    for (n, v) in &d.headers {
        o.plain(&format!("  header:     {n}: {v}"));
    }
    for (i, a) in d.attachments.iter().enumerate() {
        // The file, when its path says more than the name the message gives it.
        let from = if a.path.as_os_str() == a.name.as_str() {
            String::new()
        } else {
            format!(" from {}", a.path.display())
        };
        // An inline part: its Content-ID, for the HTML's cid: reference.
        let (kind, cid) = match &a.content_id {
            Some(id) => ("inline", format!(" cid:{id}")),
            None => ("attach", String::new()),
        };
        o.plain(&format!(
            "  {kind} {}:   {} ({}, {}){cid}{from}",
            i + 1,
            a.name,
            a.content_type,
            human_bytes(a.size),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lines_broken_mid_sentence_are_joined() {
        let help = "Completes what the transaction lacks (EHLO; MAIL FROM;\n\
                    RCPT TO for each), then DATA, the message, and QUIT:\n\
                    one message per connection.\n\
                    expect tls: the connection is encrypted\n\
                    expect ext NAME: the server announced these\n\
                    --message PATH  sends that file (`-`: standard\n\
                    input); the envelope is the draft's\n\
                    Example: send\n\
                    `connect sandbox` starts one";
        assert_eq!(
            reflow(help, &["expect", "send"]),
            [
                "Completes what the transaction lacks (EHLO; MAIL FROM; RCPT TO for each), \
                 then DATA, the message, and QUIT: one message per connection.",
                "expect tls: the connection is encrypted",
                "expect ext NAME: the server announced these",
                "--message PATH  sends that file (`-`: standard input); the envelope is the draft's",
                "Example: send",
                "`connect sandbox` starts one",
            ]
        );
    }

    #[test]
    fn the_usage_column_narrows_with_the_terminal() {
        assert_eq!(usage_column(None), USAGE_COLUMN);
        assert_eq!(usage_column(Some(200)), USAGE_COLUMN);
        assert_eq!(usage_column(Some(80)), 30);
        assert_eq!(usage_column(Some(60)), 22);
        assert_eq!(usage_column(Some(10)), 16);
    }

    #[test]
    fn help_fits_the_width_and_a_pipe_gets_it_whole() {
        use crate::shell::output::{Fit, Output};
        for cols in [60, 80, 100] {
            let (mut o, c) = Output::capture(true);
            o.set_fit(Fit::Fixed { cols, rows: 1000 });
            help_list(&o);
            for spec in COMMANDS {
                help_command(&o, spec);
            }
            let text = c.stdout();
            for line in text.lines() {
                assert!(wrap::width(line) <= cols, "{cols}: {line}");
            }
        }
        let (o, c) = Output::capture(false);
        help_list(&o);
        let text = c.stdout();
        assert!(text.lines().any(|l| wrap::width(l) > 100), "not wrapped");
    }
}
