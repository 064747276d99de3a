//! What the shell tells about itself: `help`, `status`, `history`, `set`,
//! `clear`.

use super::tls::tls_status;
use crate::address::Mailbox;
use crate::shell::args::Args;
use crate::shell::commands::{self, COMMANDS, Complete};
use crate::shell::failure::Failure;
use crate::shell::input::Input;
use crate::shell::output::{Tone, human_bytes};
use crate::shell::session::{Session, format_peer, stage_text};
use crate::shell::settings::{self, SETTINGS};
use crate::smtp::{Conversation, Verb};
use std::io::Write;

/// `history`.
pub fn history(s: &mut Session, input: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    let h = input.history();
    if h.is_empty() {
        s.out
            .note("the history is empty (it is kept only for interactive sessions)");
    }
    for (i, line) in h.iter().enumerate() {
        s.out.plain(&format!("{:5}  {line}", i + 1));
    }
    Ok(())
}

/// `help [COMMAND]`.
pub fn help(s: &mut Session, a: Args) -> Result<(), Failure> {
    let o = &s.out;
    if let Some(name) = a.words.first() {
        let spec = commands::find(name).ok_or_else(|| {
            let f = Failure::local(format!("no command named '{name}'"));
            match commands::suggest(name).first() {
                Some(x) => f.hint(format!("did you mean `help {x}`?")),
                None => f.hint("`help` lists every command"),
            }
        })?;
        o.plain(&o.paint(Tone::Bold, spec.usage));
        if !spec.aliases.is_empty() {
            o.plain(&format!("  (also: {})", spec.aliases.join(", ")));
        }
        o.plain(&format!("  {}", spec.summary));
        for l in spec.help.lines() {
            o.plain(&format!("  {}", l.trim_start()));
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
        return Ok(());
    }
    o.plain("Commands (help COMMAND for details; Tab completes):");
    const WIDTH: usize = 44;
    for c in COMMANDS {
        if c.usage.chars().count() > WIDTH {
            // A long usage line gets its own line; the summary goes below it.
            o.plain(&format!("  {}", o.paint(Tone::Bold, c.usage)));
            o.plain(&format!("  {:WIDTH$} {}", "", c.summary));
        } else {
            let pad = " ".repeat(WIDTH - c.usage.chars().count());
            o.plain(&format!(
                "  {}{pad} {}",
                o.paint(Tone::Bold, c.usage),
                c.summary
            ));
        }
    }
    o.plain(
        "\nA session: connect HOST PORT, ehlo, from ADDR, to ADDR, subject TEXT, body, attach FILE, send.\n\
         No server at hand? `connect sandbox` starts one inside smtpsh.",
    );
    Ok(())
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
        return match s
            .vars
            .get(name)
            .map_err(|e| Failure::local(e.to_string()))?
        {
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
    o.plain(&format!(
        "connection:   {} ({}) from {}, {} [{}]",
        format_peer(c.host(), c.peer().port()),
        c.peer().ip(),
        c.local(),
        if conv.is_secure() { "TLS" } else { "plaintext" },
        stage_text(conv)
    ));
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
                .map(ToString::to_string)
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
        d.from.as_ref().map_or("-".to_string(), ToString::to_string)
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
        o.plain(&format!(
            "  attach {}:   {} ({}, {}){from}",
            i + 1,
            a.name,
            a.content_type,
            human_bytes(a.size),
        ));
    }
}
