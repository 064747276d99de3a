//! LMTP (RFC 2033): after the message the server answers once per
//! accepted recipient, so a message may reach some recipients and not
//! others. [`PerRecipient`] reads that outcome from the conversation (the
//! transaction the message ended, [`Conversation::last_message`]) and says
//! it: who got the message, who did not and why (a refused RCPT or a
//! refused delivery), and whose outcome is unknown (the connection ended
//! before their reply).
//!
//! A partial delivery is a failure ([`FailKind::Refused`], exit status 4
//! in a script) that an `expect` right after it may accept: the replies
//! it judges are those of the recipients that did not get the message
//! ([`PerRecipient::judged`]).

use crate::shell::cmd::plural;
use crate::shell::failure::{FailKind, Failure};
use crate::shell::output::Output;
use crate::smtp::{Conversation, Reply};

/// How a message fared, recipient by recipient (LMTP).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerRecipient {
    /// Recipients the message was delivered to, in RCPT order.
    pub delivered: Vec<String>,
    /// Recipients it was not delivered to, with the reply that said so
    /// (to RCPT, or after the message), in RCPT order.
    pub failed: Vec<(String, Reply)>,
    /// Accepted recipients that got no reply after the message: the
    /// connection ended first, so whether they got it is unknown.
    pub unknown: Vec<String>,
}

impl PerRecipient {
    /// The outcome of the message that just ended on an LMTP conversation
    /// (`None` for SMTP, or when no message ended).
    pub fn of(c: &Conversation) -> Option<PerRecipient> {
        if !c.is_lmtp() {
            return None;
        }
        let t = c.last_message()?;
        let mut per = PerRecipient::default();
        for r in t.refused() {
            per.failed.push((r.address.clone(), r.reply.clone()));
        }
        for d in t.deliveries() {
            if d.reply.is_positive() {
                per.delivered.push(d.address.clone());
            } else {
                per.failed.push((d.address.clone(), d.reply.clone()));
            }
        }
        per.unknown = t.undelivered_unknown().to_vec();
        Some(per)
    }

    /// Every recipient named in the transaction.
    pub fn total(&self) -> usize {
        self.delivered.len() + self.failed.len() + self.unknown.len()
    }

    /// Whether every recipient got the message.
    pub fn all_delivered(&self) -> bool {
        self.failed.is_empty() && self.unknown.is_empty() && !self.delivered.is_empty()
    }

    /// Prints the outcome: a success line when all got it, else a warning
    /// with who did not and why.
    pub fn report(&self, out: &Output) {
        if self.all_delivered() {
            out.ok(&format!(
                "delivered to {} (LMTP: one reply each)",
                if self.delivered.len() == 1 {
                    "the recipient".to_string()
                } else {
                    format!("all {} recipients", self.delivered.len())
                }
            ));
            return;
        }
        let mut lines = vec![format!(
            "delivered to {} of {}",
            self.delivered.len(),
            plural(self.total(), "recipient")
        )];
        if !self.delivered.is_empty() {
            lines.push(format!("  delivered: {}", self.delivered.join(", ")));
        }
        for (address, reply) in &self.failed {
            lines.push(format!("  not delivered: {address} ({})", short(reply)));
        }
        if !self.unknown.is_empty() {
            lines.push(format!(
                "  unknown (no reply came): {}",
                self.unknown.join(", ")
            ));
        }
        out.warn(&lines.join("\n"));
    }

    /// Success when every recipient got the message; else a refusal
    /// ([`FailKind::Refused`]) saying how many did.
    pub fn verdict(&self) -> Result<(), Failure> {
        if self.all_delivered() {
            return Ok(());
        }
        let n = self.total();
        let message = if self.delivered.is_empty() {
            format!(
                "the message was delivered to none of the {}",
                plural(n, "recipient")
            )
        } else {
            format!(
                "partial delivery: the message was delivered to {} of {}",
                self.delivered.len(),
                plural(n, "recipient")
            )
        };
        let mut f = Failure::new(FailKind::Refused, message);
        if !self.unknown.is_empty() {
            f = f.hint(format!(
                "whether {} got it is unknown: the connection ended before their replies",
                self.unknown.join(", ")
            ));
        } else if !self.delivered.is_empty() {
            f = f.hint(
                "in a script, an `expect` right after it (e.g. `expect 550 5.1.1`) accepts the \
                 refused recipients' replies",
            );
        }
        Err(f)
    }

    /// The replies an `expect` after the message judges: those of the
    /// recipients that did not get it (each must match), or, when all
    /// did, the last recipient's reply.
    pub fn judged(&self, last: &Reply) -> Vec<Reply> {
        if self.failed.is_empty() {
            return vec![last.clone()];
        }
        self.failed.iter().map(|(_, r)| r.clone()).collect()
    }
}

/// `550 5.1.1 text` on one line, shortened.
fn short(reply: &Reply) -> String {
    let text = crate::text::shorten(reply.text(), 120, "…");
    match reply.enhanced {
        Some(e) if !text.starts_with(&e.to_string()) => format!("{} {e} {text}", reply.code),
        _ => format!("{} {text}", reply.code),
    }
}
