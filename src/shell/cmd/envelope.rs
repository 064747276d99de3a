//! `from`, `to`, `cc`, `bcc`: the draft's sender and recipients, and —
//! when connected — MAIL FROM and RCPT TO at once, filling in the step the
//! conversation lacks (EHLO before MAIL, MAIL before RCPT). The classic
//! forms (`MAIL FROM:<a>`, `RCPT TO:<b>`) go out exactly as typed, so a
//! learner sees what the server makes of them.

use super::tls::require_secure;
use super::{ensure_greeted, plural};
use crate::address::{Address, Mailbox, ReversePath};
use crate::mime::Params;
use crate::shell::args::{Args, rest_options, strip_verb_prefix};
use crate::shell::commands;
use crate::shell::failure::{Failure, command_error, judge};
use crate::shell::output::Output;
use crate::shell::session::Session;
use crate::smtp::params::{self, For, Param, Verdict};
use crate::smtp::{Command, Conversation, Ext, Reply, Stage};

fn address_failure(input: &str, e: impl std::fmt::Display) -> Failure {
    let f = Failure::local(format!("'{input}' is not a valid address: {e}"));
    let looks_like_param = input.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if looks_like_param {
        return f.hint(
            "an SMTP parameter? give it as an option (--notify, --orcpt, --param NAME=VALUE; \
             `help to`), or type the classic form: RCPT TO:<bob@example.com> NOTIFY=SUCCESS",
        );
    }
    f.hint(
        "examples: alice@example.com, <alice@example.com>, \"Alice Example <alice@example.com>\"",
    )
}

/// The parameters given as options: `--ret`, `--envid`, `--requiretls`
/// (MAIL) or `--notify`, `--orcpt` (RCPT), and each `--param`, in the
/// order typed; a keyword given twice is refused (RFC 5321 §4.1.2 allows
/// each once).
fn option_params(a: &Args, on: For) -> Result<Params, Failure> {
    let bad = |e: params::ParamError| {
        Failure::local(e.0).hint(match on {
            For::Mail => "see `help from`",
            For::Rcpt => "see `help to`",
        })
    };
    let mut list: Vec<Param> = Vec::new();
    for (name, value) in &a.opts {
        let v = value.as_deref().unwrap_or_default();
        let p = match name.as_str() {
            "--ret" => params::ret(v),
            "--envid" => params::envid(v),
            "--requiretls" => Param::new("REQUIRETLS", None),
            "--notify" => params::notify(v),
            "--orcpt" => params::orcpt(v),
            "--param" => Param::parse(v),
            _ => continue,
        }
        .map_err(bad)?;
        if let Some(why) = params::misuse(&p, on)
            && !a.flag("--force")
        {
            return Err(Failure::local(why).hint(format!(
                "--force sends {} anyway (to see what the server says)",
                p.keyword()
            )));
        }
        if list.iter().any(|q| q.keyword() == p.keyword()) {
            return Err(Failure::local(format!(
                "{} is given twice; a parameter goes once on {}",
                p.keyword(),
                on.command()
            ))
            .hint("keep one of them"));
        }
        list.push(p);
    }
    Ok(Params {
        list: list.iter().map(ToString::to_string).collect(),
        forced: a.flag("--force"),
    })
}

/// The parameters after the address of a classic line (`MAIL FROM:<a>
/// RET=HDRS`), which go out as typed: those that are valid are kept for
/// `send`; a warning says what is not valid, or not announced.
fn classic_params(out: &Output, words: &[String], on: For, c: Option<&Conversation>) -> Params {
    let mut list = Vec::new();
    for w in words {
        match Param::parse(w) {
            Ok(p) => {
                if let Some(c) = c.filter(|c| c.hello().is_some())
                    && let Some(Verdict::Refuse(why) | Verdict::Warn(why)) =
                        params::judge(&p, on, c.extensions(), c.is_secure())
                {
                    out.warn(&format!("{why}; sent as typed (the classic form)"));
                }
                list.push(p.to_string());
            }
            Err(e) => out.warn(&format!(
                "{e}; sent as typed (the classic form), but not kept for `send`"
            )),
        }
    }
    Params { list, forced: true }
}

/// Refuses the parameters the server cannot take (unless `forced`) and
/// warns about those it may not know; nothing to judge before EHLO.
/// `consequence`: what a refusal leaves undone, e.g. "MAIL FROM was not
/// sent, and the sender was not changed".
pub fn check_params(
    out: &Output,
    c: &Conversation,
    params: &Params,
    on: For,
    consequence: &str,
) -> Result<(), Failure> {
    if c.hello().is_none() {
        return Ok(());
    }
    for text in &params.list {
        let Ok(p) = Param::parse(text) else {
            continue;
        };
        match params::judge(&p, on, c.extensions(), c.is_secure()) {
            None => {}
            Some(Verdict::Warn(why)) => out.warn(&why),
            Some(Verdict::Refuse(why)) if params.forced => {
                out.warn(&format!("{why}; sent anyway (--force)"));
            }
            Some(Verdict::Refuse(why)) => {
                let cmd = match on {
                    For::Mail => "from",
                    For::Rcpt => "to",
                };
                return Err(
                    Failure::local(format!("{why}: {consequence}")).hint(format!(
                        "`{cmd} ... --force` sends {} anyway (to see what the server says); \
                     or give the {} again without it",
                        p.keyword(),
                        match on {
                            For::Mail => "sender",
                            For::Rcpt => "recipient",
                        }
                    )),
                );
            }
        }
    }
    Ok(())
}

/// [`check_params`] on the open connection, after greeting the server
/// when it has not said yet what it offers (EHLO first, as MAIL would
/// need anyway).
fn params_allowed(
    s: &mut Session,
    params: &Params,
    on: For,
    consequence: &str,
) -> Result<(), Failure> {
    if s.is_open() && !params.list.is_empty() {
        ensure_greeted(s, "the parameters are checked against its extensions")?;
    }
    match s.conversation() {
        Some(c) => check_params(&s.out, c, params, on, consequence),
        None => Ok(()),
    }
}

/// Refuses a non-ASCII address (RFC 6531) unless the server announced
/// SMTPUTF8: after EHLO without it, or after HELO (no extensions at all).
/// Before any greeting there is nothing to judge yet.
pub fn check_utf8_address(c: Option<&Conversation>, addr: &Address) -> Result<(), Failure> {
    let Some(c) = c.filter(|c| c.hello().is_some()) else {
        return Ok(());
    };
    if !addr.needs_smtputf8() || c.offers(Ext::SmtpUtf8) {
        return Ok(());
    }
    Err(Failure::local(format!(
        "{addr} has non-ASCII characters, but the server does not announce SMTPUTF8 \
         (RFC 6531), so it cannot take this address; the address was not sent"
    ))
    .hint("use an ASCII address for this server, or a server that offers SMTPUTF8"))
}

/// MAIL FROM with the parameters the message needs: SMTPUTF8 (RFC 6531)
/// when the sender or a recipient of the draft is non-ASCII and the server
/// offers it; a non-ASCII sender is refused when it does not.
pub fn mail_command(s: &Session, path: &ReversePath, extra: &[String]) -> Result<Command, Failure> {
    mail_command_for(s.conversation(), path, &s.draft.recipients(), extra)
}

/// [`mail_command`] on a conversation, for a message to `recipients`.
pub fn mail_command_for(
    c: Option<&Conversation>,
    path: &ReversePath,
    recipients: &[Address],
    extra: &[String],
) -> Result<Command, Failure> {
    if let Some(addr) = path.address() {
        check_utf8_address(c, addr)?;
    }
    let utf8 = path.address().is_some_and(Address::needs_smtputf8)
        || recipients.iter().any(Address::needs_smtputf8);
    let mut params: Vec<String> = extra.to_vec();
    if utf8
        && c.is_some_and(|c| c.offers(Ext::SmtpUtf8))
        && !params.iter().any(|p| p.eq_ignore_ascii_case("SMTPUTF8"))
    {
        params.push("SMTPUTF8".into());
    }
    Command::mail_from(path.address(), &params).map_err(command_error)
}

/// For a 503, says which step is missing.
fn sequence_hint(s: &Session, reply: &Reply, f: Failure) -> Failure {
    if reply.code != 503 {
        return f;
    }
    match s.conversation().map(Conversation::stage) {
        Some(Stage::Connected) => {
            f.hint("greet the server first: `ehlo` (then `from`, `to`, `send`)")
        }
        Some(Stage::Ready) => {
            f.hint("set the sender first: `from ADDRESS` (MAIL FROM comes before RCPT TO)")
        }
        _ => f,
    }
}

/// Sends the line exactly as the user typed it (`MAIL FROM:<a> SIZE=1`).
fn send_as_typed(s: &mut Session, a: &Args, what: &str) -> Result<(), Failure> {
    let cmd = Command::raw(&format!("{} {}", a.typed, a.verbatim)).map_err(command_error)?;
    let reply = s.exchange(&cmd)?;
    judge(&reply, what).map_err(|f| sequence_hint(s, &reply, f))
}

/// `from ADDRESS [OPTIONS]` (also `MAIL FROM:<ADDRESS> [PARAMS]`).
pub fn from(s: &mut Session, a: Args) -> Result<(), Failure> {
    let classic = a.classic();
    let (text, params) = if classic {
        let text = strip_verb_prefix(&a.rest, "FROM:");
        // Classic form `MAIL FROM:<a@b> SIZE=10`: parameters after the `>`.
        match text.find('>') {
            Some(i) if text.trim_start().starts_with('<') => {
                let words: Vec<String> =
                    text[i + 1..].split_whitespace().map(String::from).collect();
                let p = classic_params(&s.out, &words, For::Mail, s.conversation());
                (text[..=i].to_string(), p)
            }
            _ => (text.to_string(), Params::default()),
        }
    } else {
        let spec = commands::find("from").ok_or_else(|| Failure::local("no `from` command"))?;
        let (text, opts) = rest_options(spec, a.verbatim.trim())?;
        (text, option_params(&opts, For::Mail)?)
    };
    if text.trim().is_empty() {
        return Err(Failure::local("no address given").hint(
            "usage: from ADDRESS [--ret full|hdrs] [--envid ID] [--requiretls] [--param NAME=VALUE]",
        ));
    }
    let addr_text = text.as_str();
    let path = ReversePath::parse(addr_text).map_err(|e| address_failure(addr_text, e))?;
    if let Some(addr) = path.address() {
        check_utf8_address(s.conversation(), addr)?;
    }
    // Everything that can refuse comes before the draft changes.
    let open = s.is_open();
    if open {
        require_secure(s, "MAIL FROM")?;
    }
    if open && !classic {
        params_allowed(
            s,
            &params,
            For::Mail,
            "MAIL FROM was not sent, and the sender was not changed",
        )?;
    }
    let transaction = s.conversation().and_then(Conversation::transaction);
    if open && let Some(t) = transaction.filter(|_| !classic) {
        let wanted = path.address().map_or_else(String::new, ToString::to_string);
        if t.sender() != Some(wanted.as_str()) {
            return Err(Failure::local(format!(
                "a mail transaction is open (MAIL FROM:<{}> accepted, {}); the sender was not changed",
                t.sender().unwrap_or("?"),
                plural(t.accepted().len(), "recipient")
            ))
            .hint("`rset` ends it (the server forgets its recipients), then `from` again"));
        }
    }
    let in_transaction = transaction.is_some();
    s.draft.from = Some(path.clone());
    let shown = params_text(&params);
    s.draft.mail_params = params;
    s.touch_draft();
    if !open {
        s.out.note(&format!(
            "sender set to {path}{shown} (MAIL FROM is sent by `send`, or at once when connected)"
        ));
        return Ok(());
    }
    if classic {
        return send_as_typed(s, &a, "the sender (MAIL FROM)");
    }
    if in_transaction {
        s.out.note(&format!(
            "the server accepted {path} as the sender already; nothing sent{}",
            if shown.is_empty() {
                ""
            } else {
                " (the parameters go with the next MAIL FROM; `rset` ends this transaction)"
            }
        ));
        return Ok(());
    }
    ensure_greeted(s, "MAIL FROM needs a greeting")?;
    let extra = s.draft.mail_params.list.clone();
    let cmd = mail_command(s, &path, &extra)?;
    let reply = s.exchange(&cmd)?;
    judge(&reply, "the sender (MAIL FROM)").map_err(|f| sequence_hint(s, &reply, f))
}

/// ` (RET=HDRS ENVID=x)` for notes and `status`, or nothing.
pub fn params_text(p: &Params) -> String {
    if p.is_empty() {
        return String::new();
    }
    format!(
        " ({}{})",
        p.list.join(" "),
        if p.forced { ", forced" } else { "" }
    )
}

/// Which recipient list a command fills.
#[derive(Clone, Copy)]
enum Field {
    To,
    Cc,
    Bcc,
}

/// `to`/`cc`/`bcc ADDRESS... [OPTIONS]` (also `RCPT TO:<ADDRESS> [PARAMS]`).
fn add_recipients(s: &mut Session, a: Args, field: Field) -> Result<(), Failure> {
    let classic = a.classic();
    let mut boxes = Vec::new();
    let mut after_address: Vec<String> = Vec::new();
    for w in &a.words {
        if classic && !boxes.is_empty() {
            // `RCPT TO:<b> NOTIFY=SUCCESS`: what follows the address are parameters.
            after_address.push(w.clone());
            continue;
        }
        let text = strip_verb_prefix(w, "TO:");
        if text.is_empty() {
            continue;
        }
        let m = Mailbox::parse(text).map_err(|e| address_failure(text, e))?;
        check_utf8_address(s.conversation(), &m.address)?;
        boxes.push(m);
    }
    if boxes.is_empty() {
        return Err(Failure::local("no address given").hint("example: to bob@example.com"));
    }
    let params = if classic {
        classic_params(&s.out, &after_address, For::Rcpt, s.conversation())
    } else {
        option_params(&a, For::Rcpt)?
    };
    if boxes.len() > 1 && a.opt("--orcpt").is_some() {
        return Err(Failure::local(
            "--orcpt names the original recipient of one address, and several were given",
        )
        .hint(
            "give each recipient with its own --orcpt: to a@x --orcpt rfc822;a@x, then to b@y ...",
        ));
    }
    // Everything that can refuse comes before the draft changes.
    let open = s.is_open();
    if open {
        require_secure(s, "RCPT TO")?;
        if !classic {
            sender_known(s)?;
            params_allowed(
                s,
                &params,
                For::Rcpt,
                "RCPT TO was not sent, and the recipient was not added",
            )?;
        }
    }
    let list = match field {
        Field::To => &mut s.draft.to,
        Field::Cc => &mut s.draft.cc,
        Field::Bcc => &mut s.draft.bcc,
    };
    for m in &boxes {
        if !list.iter().any(|x| x.address == m.address) {
            list.push(m.clone());
        }
    }
    // Each address typed gets the parameters typed with it now, none if
    // none (as `from` replaces the sender's): typed again after a refusal
    // for a parameter, it goes without.
    for m in &boxes {
        s.draft.set_rcpt_params(&m.address, params.clone());
    }
    s.touch_draft();
    if !open {
        let names: Vec<String> = boxes.iter().map(|m| m.address.to_string()).collect();
        s.out.note(&format!(
            "recipient{} {}{} added (RCPT TO is sent by `send`, or at once when connected)",
            if names.len() == 1 { "" } else { "s" },
            names.join(", "),
            params_text(&params)
        ));
        return Ok(());
    }
    if classic {
        return send_as_typed(s, &a, "the recipient (RCPT TO)");
    }
    open_transaction(s)?;
    let mut refused: Option<Failure> = None;
    for m in &boxes {
        let already = s
            .conversation()
            .and_then(Conversation::transaction)
            .is_some_and(|t| t.is_accepted(m.address.as_str()));
        if already {
            s.out.note(&format!(
                "the server accepted {} already; RCPT TO not sent again",
                m.address
            ));
            continue;
        }
        let reply = rcpt(s, &m.address)?;
        if let Err(f) = judge(&reply, &format!("the recipient {}", m.address)) {
            refused = Some(sequence_hint(s, &reply, f));
        }
        if !s.is_open() {
            // A 421 closed the connection: the other addresses cannot be sent.
            break;
        }
    }
    refused.map_or(Ok(()), Err)
}

/// Refuses RCPT when there is no sender at all: no transaction, and none
/// in the draft to open one with.
fn sender_known(s: &Session) -> Result<(), Failure> {
    let open = s.conversation().is_some_and(|c| c.transaction().is_some());
    if open || s.draft.from.is_some() {
        return Ok(());
    }
    Err(Failure::local(
        "the server needs a sender before recipients: nothing was sent, and the recipient was not added",
    )
    .hint("`from ADDRESS` sends MAIL FROM; then `to` again"))
}

/// Before RCPT: the transaction needs MAIL FROM — sent from the draft's
/// sender (EHLO first if needed).
fn open_transaction(s: &mut Session) -> Result<(), Failure> {
    let open = s.conversation().is_some_and(|c| c.transaction().is_some());
    if open {
        return Ok(());
    }
    sender_known(s)?;
    let Some(sender) = s.draft.from.clone() else {
        return Ok(());
    };
    ensure_greeted(s, "MAIL FROM needs a greeting")?;
    s.out.note(&format!(
        "MAIL FROM first, from the draft's sender {sender}"
    ));
    let extra = s.draft.mail_params.clone();
    params_allowed(s, &extra, For::Mail, "MAIL FROM was not sent (nor RCPT TO)")?;
    let cmd = mail_command(s, &sender, &extra.list)?;
    let reply = s.exchange(&cmd)?;
    judge(&reply, "the sender (MAIL FROM)").map_err(|f| sequence_hint(s, &reply, f))
}

/// RCPT TO for one address, with the parameters the draft has for it
/// (the conversation records the outcome).
fn rcpt(s: &mut Session, addr: &Address) -> Result<Reply, Failure> {
    let params = s
        .draft
        .rcpt_params_for(addr)
        .map(|p| p.list.clone())
        .unwrap_or_default();
    let cmd = Command::rcpt_to(addr, &params).map_err(command_error)?;
    s.exchange(&cmd)
}

/// `to ADDRESS...`.
pub fn to(s: &mut Session, a: Args) -> Result<(), Failure> {
    add_recipients(s, a, Field::To)
}

/// `cc ADDRESS...`.
pub fn cc(s: &mut Session, a: Args) -> Result<(), Failure> {
    add_recipients(s, a, Field::Cc)
}

/// `bcc ADDRESS...`.
pub fn bcc(s: &mut Session, a: Args) -> Result<(), Failure> {
    add_recipients(s, a, Field::Bcc)
}
