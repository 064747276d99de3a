//! The inbox as JSON (`inbox --json`): one object per message for the
//! list, and one message in full — its envelope, every header, every MIME
//! part with its SHA-256 — for whatever reads the sandbox's mail from
//! another process (a test in CI). The shape is documented in
//! docs/commands.md under `inbox`; field names are stable.
//!
//! Text is given as it is (JSON escapes what needs escaping), not
//! replaced for a terminal as the shell's display does.

use super::{
    Envelope, Part, Summary, addresses_text, envelope_of, from_to_subject, part_tree, written_value,
};
use crate::sandbox::maildir::Entry;
use mail_parser::{HeaderName, HeaderValue, MessageParser};
use serde::Serialize;
use std::collections::BTreeMap;

/// When a message arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    /// RFC 3339, UTC (`2026-11-26T14:58:59Z`).
    pub rfc3339: String,
    /// Seconds since the epoch.
    pub unix: u64,
}

impl Received {
    /// The time of a Maildir entry.
    pub fn of(entry: &Entry) -> Received {
        Received {
            rfc3339: crate::clock::rfc3339_unix(entry.received),
            unix: entry.received,
        }
    }
}

/// The envelope (see [`Envelope`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvelopeJson {
    /// MAIL FROM (`""` for the null sender; `null` when not recorded).
    pub sender: Option<String>,
    /// RCPT TO, in order.
    pub recipients: Vec<String>,
    /// The parameters given with a recipient (DSN's `NOTIFY=... ORCPT=...`),
    /// by address, for those that have any.
    pub recipient_parameters: BTreeMap<String, String>,
    /// Other envelope headers the sandbox wrote (`X-Envelope-DSN`, ...), by
    /// name.
    pub extra: BTreeMap<String, String>,
}

impl From<&Envelope> for EnvelopeJson {
    fn from(e: &Envelope) -> EnvelopeJson {
        EnvelopeJson {
            sender: e.sender.clone(),
            recipients: e.recipients.clone(),
            recipient_parameters: e.recipient_params.iter().cloned().collect(),
            extra: e.extra().cloned().collect(),
        }
    }
}

/// One message of the list (`inbox --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListItem {
    /// Its number, from 1, oldest first (what `inbox N` takes).
    pub number: usize,
    /// The file in the Maildir.
    pub file: String,
    /// When it arrived.
    pub received: Received,
    /// Bytes stored (with the sandbox's trace headers).
    pub size: u64,
    /// The From header's addresses, else the envelope sender.
    pub from: String,
    /// The To header's addresses, else the envelope recipients.
    pub to: String,
    /// The Subject, decoded.
    pub subject: String,
    /// The envelope.
    pub envelope: EnvelopeJson,
}

impl From<&Summary> for ListItem {
    fn from(s: &Summary) -> ListItem {
        ListItem {
            number: s.number,
            file: s.entry.path.to_string_lossy().into_owned(),
            received: Received::of(&s.entry),
            size: s.entry.size,
            from: s.from.clone(),
            to: s.to.clone(),
            subject: s.subject.clone(),
            envelope: EnvelopeJson::from(&s.envelope),
        }
    }
}

/// One header field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderJson {
    /// The name (mail-parser's spelling for the ones it knows:
    /// `Message-ID`, `Content-Type`).
    pub name: String,
    /// The value, unfolded: decoded (RFC 2047) for Subject, Comments,
    /// Keywords, Content-Description and address headers, as written
    /// otherwise.
    pub value: String,
}

/// One MIME part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartJson {
    /// `1` for the root, `1.2` for its second child, and so on.
    pub path: String,
    /// `type/subtype`, lower case.
    pub content_type: String,
    /// The `charset` parameter, as written.
    pub charset: Option<String>,
    /// The Content-Transfer-Encoding (`7bit` when absent), lower case.
    pub transfer_encoding: String,
    /// The Content-Disposition type (`inline`, `attachment`), lower case.
    pub disposition: Option<String>,
    /// The file name (disposition `filename`, else content type `name`).
    pub filename: Option<String>,
    /// An attachment: not a container, and disposition `attachment` or a
    /// file name (what `--check-attachment` and `--save-attachments` take).
    pub attachment: bool,
    /// Bytes after undoing the transfer encoding; `null` for multipart.
    pub size: Option<u64>,
    /// SHA-256 of those bytes (lower-case hex); `null` for multipart.
    pub sha256: Option<String>,
    /// The transfer encoding could not be undone: size and digest are of
    /// the text as stored.
    pub undecodable: bool,
}

impl PartJson {
    /// A part at `path`.
    pub fn of(path: String, p: &Part) -> PartJson {
        let multipart = p.mime_type.starts_with("multipart/");
        PartJson {
            path,
            content_type: p.mime_type.clone(),
            charset: p.charset.clone(),
            transfer_encoding: p.encoding.clone(),
            disposition: p.disposition.clone(),
            filename: p.filename.clone(),
            attachment: p.is_attachment(),
            size: (!multipart).then_some(p.content.len() as u64),
            sha256: (!multipart).then(|| p.sha256()),
            undecodable: p.undecodable,
        }
    }
}

/// One message in full (`inbox N --json`): what the list says of it, then
/// its headers and parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageJson {
    /// Number, file, arrival, size, from, to, subject, envelope: as in the
    /// list (flattened into the same object).
    #[serde(flatten)]
    pub summary: ListItem,
    /// Every header of the message, in order (the sandbox's trace headers
    /// first).
    pub headers: Vec<HeaderJson>,
    /// Every MIME part, depth first.
    pub parts: Vec<PartJson>,
}

/// Message `number` (its Maildir `entry` and stored bytes `raw`) as JSON;
/// `None` if mail-parser finds no message in it.
pub fn message(number: usize, entry: &Entry, raw: &[u8]) -> Option<MessageJson> {
    let msg = MessageParser::default().parse(raw)?;
    let root = part_tree(&msg, 0, 0)?;
    let envelope = envelope_of(&msg);
    let (from, to, subject) = from_to_subject(&msg, &envelope);
    let headers = msg
        .headers()
        .iter()
        .map(|h| {
            let decoded = matches!(
                h.name,
                HeaderName::Subject
                    | HeaderName::Comments
                    | HeaderName::Keywords
                    | HeaderName::ContentDescription
            );
            let value = match &h.value {
                HeaderValue::Address(a) => addresses_text(a),
                HeaderValue::Text(t) if decoded => t.to_string(),
                HeaderValue::TextList(l) if decoded => l.join(", "),
                _ => written_value(&msg, h),
            };
            HeaderJson {
                name: h.name.as_str().to_string(),
                value,
            }
        })
        .collect();
    let parts = root
        .numbered()
        .into_iter()
        .map(|(path, p)| PartJson::of(path, p))
        .collect();
    let summary = Summary {
        number,
        entry: entry.clone(),
        from,
        to,
        subject,
        envelope,
    };
    Some(MessageJson {
        summary: ListItem::from(&summary),
        headers,
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::SAMPLE;
    use super::*;
    use sha2::{Digest, Sha256};
    use std::path::PathBuf;

    fn entry() -> Entry {
        Entry {
            path: PathBuf::from("/m/new/1"),
            name: "1".into(),
            received: 1_700_000_000,
            micros: 0,
            size: SAMPLE.len() as u64,
        }
    }

    #[test]
    fn a_message_has_its_envelope_headers_and_parts() {
        let m = message(3, &entry(), SAMPLE).expect("parse");
        assert_eq!(m.summary.number, 3);
        assert_eq!(m.summary.received.rfc3339, "2023-11-14T22:13:20Z");
        assert_eq!(m.summary.received.unix, 1_700_000_000);
        assert_eq!(m.summary.envelope.sender.as_deref(), Some("a@b.org"));
        assert_eq!(m.summary.envelope.recipients, ["x@y.org", "z@y.org"]);
        assert!(m.summary.envelope.extra.is_empty());
        let h = |name: &str| {
            m.headers
                .iter()
                .find(|h| h.name == name)
                .map(|h| h.value.as_str())
        };
        assert_eq!(h("Subject"), Some("hé"));
        assert_eq!(h("From"), Some("Al <a@b.org>"));
        assert_eq!(h("Message-ID"), Some("<id1@b.org>"));
        assert_eq!(h("X-Envelope-To"), Some("<x@y.org>, <z@y.org>"));
        assert_eq!(m.summary.subject, "hé");
        let paths: Vec<&str> = m.parts.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["1", "1.1", "1.2", "1.3", "1.4"]);
        let root = &m.parts[0];
        assert_eq!(root.content_type, "multipart/mixed");
        assert_eq!((root.size, root.sha256.as_deref()), (None, None));
        let text = &m.parts[1];
        assert_eq!(text.charset.as_deref(), Some("utf-8"));
        assert_eq!(text.transfer_encoding, "quoted-printable");
        assert!(!text.attachment && text.disposition.is_none());
        let bin = &m.parts[4];
        assert_eq!(bin.disposition.as_deref(), Some("attachment"));
        assert_eq!(bin.size, Some(4));
        let digest: String = Sha256::digest([0u8, 1, 2, 0xff])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(bin.sha256.as_deref(), Some(digest.as_str()));
        let l = &m.parts[2];
        assert_eq!(l.filename.as_deref(), Some("../../l.txt"));
        assert!(l.attachment);
        // It serializes, with the fields in order.
        let text = serde_json::to_string(&m).expect("json");
        assert!(
            text.starts_with("{\"number\":3,\"file\":\"/m/new/1\""),
            "{text}"
        );
    }

    #[test]
    fn dsn_parameters_and_unknown_envelope_headers_are_kept() {
        let raw = b"Return-Path: <>\r\nReceived: from x\r\n\tby y; Thu, 1 Jan 2026 00:00:00 +0000\r\n\
X-Envelope-To: <a@b.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b.org,\r\n <\"q,r\"@b.org>,\r\n <c@d.org> NOTIFY=NEVER\r\n\
X-Envelope-DSN: RET=HDRS ENVID=QQ+2B1\r\nX-Envelope-Future: x\r\n\
Subject: s\r\nX-Envelope-To: <spoof@evil.example>\r\n\r\nbody\r\n";
        let m = message(1, &entry(), raw).expect("parse");
        assert_eq!(m.summary.envelope.sender.as_deref(), Some(""));
        assert_eq!(
            m.summary.envelope.recipients,
            ["a@b.org", "\"q,r\"@b.org", "c@d.org"]
        );
        let pairs = |map: &BTreeMap<String, String>| -> Vec<(String, String)> {
            map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let owned = |l: &[(&str, &str)]| -> Vec<(String, String)> {
            l.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            pairs(&m.summary.envelope.recipient_parameters),
            owned(&[
                ("a@b.org", "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b.org"),
                ("c@d.org", "NOTIFY=NEVER")
            ])
        );
        assert_eq!(
            pairs(&m.summary.envelope.extra),
            owned(&[
                ("X-Envelope-DSN", "RET=HDRS ENVID=QQ+2B1"),
                ("X-Envelope-Future", "x")
            ])
        );
        // No To header: the list's `to` is the envelope's.
        assert_eq!(m.summary.to, "a@b.org, \"q,r\"@b.org, c@d.org");
        assert_eq!(m.parts.len(), 1);
        assert_eq!(m.parts[0].path, "1");
        assert_eq!(m.parts[0].size, Some(6));
        assert_eq!(m.headers.len(), 7);
    }

    #[test]
    fn list_items_carry_the_envelope() {
        let dir = tempfile::tempdir().expect("temp dir");
        let md = crate::sandbox::maildir::Maildir::create(dir.path()).expect("create");
        md.deliver(SAMPLE).expect("deliver");
        let l = super::super::list(dir.path()).expect("list");
        let item = ListItem::from(&l[0]);
        assert_eq!(item.number, 1);
        assert_eq!(item.envelope.recipients, ["x@y.org", "z@y.org"]);
        assert_eq!(item.from, "a@b.org");
        let v = serde_json::to_value(&item).expect("json");
        assert_eq!(v["envelope"]["sender"], "a@b.org");
        assert_eq!(v["received"]["unix"], item.received.unix);
    }
}
