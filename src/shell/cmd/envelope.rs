//! `from`, `to`, `cc`, `bcc`: the draft's sender and recipients, and —
//! when connected — MAIL FROM and RCPT TO at once, filling in the step the
//! conversation lacks (EHLO before MAIL, MAIL before RCPT). The classic
//! forms (`MAIL FROM:<a>`, `RCPT TO:<b>`) go out exactly as typed, so a
//! learner sees what the server makes of them.

use super::tls::require_secure;
use super::{ensure_greeted, plural};
use crate::address::{Address, Mailbox, ReversePath};
use crate::shell::args::{Args, strip_verb_prefix};
use crate::shell::failure::{Failure, command_error, judge};
use crate::shell::session::Session;
use crate::smtp::{Command, Conversation, Ext, Reply, Stage};

fn address_failure(input: &str, e: impl std::fmt::Display) -> Failure {
    Failure::local(format!("'{input}' is not a valid address: {e}")).hint(
        "examples: alice@example.com  <alice@example.com>  \"Alice Example <alice@example.com>\"",
    )
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

/// `from ADDRESS` (also `MAIL FROM:<ADDRESS> [PARAMS]`).
pub fn from(s: &mut Session, a: Args) -> Result<(), Failure> {
    let text = strip_verb_prefix(&a.rest, "FROM:");
    // Classic form `MAIL FROM:<a@b> SIZE=10`: parameters after the `>`.
    let (addr_text, params): (&str, Vec<String>) = match text.find('>') {
        Some(i) if text.trim_start().starts_with('<') => (
            &text[..=i],
            text[i + 1..].split_whitespace().map(String::from).collect(),
        ),
        _ => (text, Vec::new()),
    };
    let path = ReversePath::parse(addr_text).map_err(|e| address_failure(addr_text, e))?;
    if let Some(addr) = path.address() {
        check_utf8_address(s.conversation(), addr)?;
    }
    // Everything that can refuse comes before the draft changes.
    let open = s.is_open();
    let transaction = s.conversation().and_then(Conversation::transaction);
    if open {
        require_secure(s, "MAIL FROM")?;
        if let Some(t) = transaction.filter(|_| !a.classic()) {
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
    }
    let in_transaction = transaction.is_some();
    s.draft.from = Some(path.clone());
    s.touch_draft();
    if !open {
        s.out.note(&format!(
            "sender set to {path} (MAIL FROM is sent by `send`, or at once when connected)"
        ));
        return Ok(());
    }
    if a.classic() {
        return send_as_typed(s, &a, "the sender (MAIL FROM)");
    }
    if in_transaction {
        s.out.note(&format!(
            "the server accepted {path} as the sender already; nothing sent"
        ));
        return Ok(());
    }
    ensure_greeted(s, "MAIL FROM needs a greeting")?;
    let cmd = mail_command(s, &path, &params)?;
    let reply = s.exchange(&cmd)?;
    judge(&reply, "the sender (MAIL FROM)").map_err(|f| sequence_hint(s, &reply, f))
}

/// Which recipient list a command fills.
#[derive(Clone, Copy)]
enum Field {
    To,
    Cc,
    Bcc,
}

/// `to`/`cc`/`bcc ADDRESS...` (also `RCPT TO:<ADDRESS>`).
fn add_recipients(s: &mut Session, a: Args, field: Field) -> Result<(), Failure> {
    let mut boxes = Vec::new();
    for w in &a.words {
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
    // Everything that can refuse comes before the draft changes.
    let open = s.is_open();
    if open {
        require_secure(s, "RCPT TO")?;
        if !a.classic() {
            sender_known(s)?;
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
    s.touch_draft();
    if !open {
        let names: Vec<String> = boxes.iter().map(|m| m.address.to_string()).collect();
        s.out.note(&format!(
            "recipient{} {} added (RCPT TO is sent by `send`, or at once when connected)",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        ));
        return Ok(());
    }
    if a.classic() {
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
    let cmd = mail_command(s, &sender, &[])?;
    let reply = s.exchange(&cmd)?;
    judge(&reply, "the sender (MAIL FROM)").map_err(|f| sequence_hint(s, &reply, f))
}

/// RCPT TO for one address (the conversation records the outcome).
fn rcpt(s: &mut Session, addr: &Address) -> Result<Reply, Failure> {
    let cmd = Command::rcpt_to(addr, &[]).map_err(command_error)?;
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
