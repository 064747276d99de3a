//! `xclient` and `xforward` (Postfix's XCLIENT and XFORWARD): sent only
//! when the server announced them, with the attribute names it announced;
//! the values xtext-encoded. A 220 to XCLIENT (typed, or `raw XCLIENT`) is
//! a new greeting: the conversation (`smtp/client.rs`) starts again, and
//! the shell says so.

use super::ensure_greeted;
use crate::shell::args::Args;
use crate::shell::failure::{Failure, command_error, judge};
use crate::shell::session::Session;
use crate::smtp::forward::{self, Forward};
use crate::smtp::{Command, Reply, Verb};

/// `xclient NAME=VALUE...`.
pub fn xclient(s: &mut Session, a: Args) -> Result<(), Failure> {
    send(s, &a, Forward::Xclient)
}

/// `xforward NAME=VALUE...`.
pub fn xforward(s: &mut Session, a: Args) -> Result<(), Failure> {
    send(s, &a, Forward::Xforward)
}

fn send(s: &mut Session, a: &Args, kind: Forward) -> Result<(), Failure> {
    let keyword = kind.keyword();
    let mut attributes = parse_attributes(&a.words, keyword)?;
    s.open_live()?;
    ensure_greeted(s, &format!("its reply says whether {keyword} is offered"))?;
    let conversation = s.open_live()?.conversation();
    if conversation.transaction().is_some() {
        return Err(Failure::local(format!(
            "{keyword} goes before MAIL, and a mail transaction is open"
        ))
        .hint("`rset` ends the transaction (the draft stays)"));
    }
    let announced = conversation
        .extensions()
        .and_then(|e| kind.announced(e))
        .ok_or_else(|| not_announced(kind))?;
    for (name, _) in &attributes {
        if !announced.contains(name) {
            return Err(Failure::local(format!(
                "the server does not accept the {keyword} attribute {name}: it announced {}",
                if announced.is_empty() {
                    "none".to_string()
                } else {
                    announced.join(" ")
                }
            ))
            .hint(format!(
                "{keyword} attributes (Postfix): {}",
                kind.documented().join(" ")
            )));
        }
    }
    for (name, value) in &mut attributes {
        // Postfix reads an IPv6 ADDR or DESTADDR with its `IPV6:` prefix.
        if (name == "ADDR" || name == "DESTADDR") && value.parse::<std::net::Ipv6Addr>().is_ok() {
            *value = format!("IPV6:{value}");
        }
    }
    let cmd = forward::command(kind, &attributes).map_err(command_error)?;
    let reply = s.exchange(&cmd)?;
    after_reply(s, &cmd, &reply);
    judge(&reply, keyword)
}

/// `NAME=VALUE` words, names upper-cased; each name once.
fn parse_attributes(words: &[String], keyword: &str) -> Result<Vec<(String, String)>, Failure> {
    let mut out: Vec<(String, String)> = Vec::new();
    for w in words {
        let Some((name, value)) = w.split_once('=').filter(|(n, _)| !n.is_empty()) else {
            return Err(
                Failure::local(format!("'{w}' is not NAME=VALUE")).hint(format!(
                    "example: {} NAME=client.example ADDR=192.0.2.20",
                    keyword.to_ascii_lowercase()
                )),
            );
        };
        let name = name.to_ascii_uppercase();
        if out.iter().any(|(n, _)| *n == name) {
            return Err(Failure::local(format!(
                "the attribute {name} is given twice"
            )));
        }
        out.push((name, value.to_string()));
    }
    Ok(out)
}

/// The server did not announce `kind`: refused here, with the way round.
fn not_announced(kind: Forward) -> Failure {
    let keyword = kind.keyword();
    let setting = match kind {
        Forward::Xclient => "smtpd_authorized_xclient_hosts",
        Forward::Xforward => "smtpd_authorized_xforward_hosts",
    };
    Failure::local(format!(
        "the server did not announce {keyword} in its EHLO reply (`status` lists what it did)"
    ))
    .hint(format!(
        "Postfix offers it only to the clients in {setting}; `raw {keyword} NAME=VALUE` sends it anyway"
    ))
}

/// After the reply to an XCLIENT (typed, or with `raw`): a 220 is a new
/// greeting, and the shell says who the server now takes the client for.
pub fn after_reply(s: &mut Session, cmd: &Command, reply: &Reply) {
    if cmd.verb() != Verb::Xclient || reply.code != 220 {
        return;
    }
    let line = cmd.to_string();
    let attribute = |name: &str| {
        line.split_whitespace()
            .skip(1)
            .filter_map(|w| w.split_once('='))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_string())
    };
    let who = match (attribute("NAME"), attribute("ADDR")) {
        (Some(n), Some(a)) => format!("{n} [{a}]"),
        (None, Some(a)) => format!("[{a}]"),
        (Some(n), None) => n,
        (None, None) => line.split_once(' ').map_or("", |(_, r)| r).to_string(),
    };
    let login = match s.conversation().and_then(|c| c.user()) {
        Some(user) => format!(", authenticated as {user} (LOGIN)"),
        None => String::new(),
    };
    s.out.note(&format!(
        "new greeting: the server now sees you as {who}{login}; EHLO again (`ehlo`; `from` and `send` do it)"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_name_value_pairs() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = parse_attributes(&w(&["addr=192.0.2.20", "NAME=a=b"]), "XCLIENT").unwrap();
        assert_eq!(
            a,
            vec![
                ("ADDR".to_string(), "192.0.2.20".to_string()),
                ("NAME".to_string(), "a=b".to_string())
            ]
        );
        assert!(
            parse_attributes(&w(&["ADDR"]), "XCLIENT")
                .unwrap_err()
                .message
                .contains("not NAME=VALUE")
        );
        assert!(parse_attributes(&w(&["=x"]), "XCLIENT").is_err());
        assert!(
            parse_attributes(&w(&["NAME=a", "name=b"]), "XCLIENT")
                .unwrap_err()
                .message
                .contains("twice")
        );
    }
}
