//! The DNS message format, through `hickory-proto`: the query we send, and
//! the checks a reply must pass before the lookups read it.
//!
//! Only the header, the question and the answer section of a reply are
//! decoded; the authority and additional sections are not read (a stub
//! resolver that sends no EDNS has no use for them).

use std::fmt::Write as _;

use hickory_proto::op::{Header, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType as WireType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, DecodeError};

use super::{DnsError, RecordType};
use crate::text::{Style, escape_as};

/// A reply that answers our query (right ID, QR set, standard query, our
/// question echoed).
#[derive(Debug, Clone)]
pub(super) struct Answer {
    /// The question name, as we asked it.
    pub(super) qname: Name,
    /// TC: the reply did not fit in a datagram (ask again over TCP).
    pub(super) truncated: bool,
    /// The response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...).
    pub(super) rcode: u8,
    /// The answer section, every owner and class; the lookups choose.
    pub(super) answers: Vec<Record>,
}

/// Why a reply is not taken as the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Rejected {
    /// Well-formed, but not the answer to our query (ID, QR bit, question):
    /// over UDP, keep waiting for the real one.
    Mismatch(String),
    /// Broken.
    Malformed(String),
}

fn malformed<T>(reason: impl Into<String>) -> Result<T, Rejected> {
    Err(Rejected::Malformed(reason.into()))
}

/// The wire name of `name`, which [`super::normalize_name`] has checked
/// (ASCII, no trailing dot, labels of 1..=63 octets). Labels are taken as
/// bytes: no IDNA mapping, no escapes.
pub(super) fn query_name(name: &str) -> Result<Name, DnsError> {
    Name::from_labels(name.split('.').map(str::as_bytes)).map_err(|e| DnsError::BadName {
        name: name.to_string(),
        reason: escape_as(e.to_string().as_bytes(), Style::Field),
    })
}

/// A query (RFC 1035 §4.1): ID `id`, recursion desired, one question of
/// class IN, no EDNS.
pub(super) fn build_query(id: u16, qname: &Name, rtype: RecordType) -> Result<Vec<u8>, DnsError> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(qname.clone(), rtype.wire()));
    msg.to_vec().map_err(|e| DnsError::BadName {
        name: name_text(qname),
        reason: format!(
            "the query cannot be encoded: {}",
            escape_as(e.to_string().as_bytes(), Style::Field)
        ),
    })
}

/// Check and decode `reply` as the answer to query `id` for `qname`/`rtype`.
///
/// A reply with the TC bit set may be cut anywhere in its answer section:
/// then the records that decode are kept and the rest is dropped (the
/// caller asks again over TCP).
pub(super) fn parse_answer(
    reply: &[u8],
    id: u16,
    qname: &Name,
    rtype: RecordType,
) -> Result<Answer, Rejected> {
    let mut d = BinDecoder::new(reply);
    let Ok(Header { metadata, counts }) = Header::read(&mut d) else {
        return malformed("the answer is shorter than a DNS header");
    };
    if metadata.id != id {
        return Err(Rejected::Mismatch(format!(
            "answer ID {} is not query ID {id}",
            metadata.id
        )));
    }
    if metadata.message_type != MessageType::Response {
        return Err(Rejected::Mismatch("a query, not an answer".into()));
    }
    if metadata.op_code != OpCode::Query {
        return malformed("the answer has an unexpected opcode");
    }
    let truncated = metadata.truncation;
    let rcode = metadata.response_code.low();
    match counts.queries {
        // Allowed only for error answers (some servers drop the question).
        0 if rcode != 0 => {}
        1 => {
            let q = Query::read(&mut d).map_err(|e| Rejected::Malformed(decode_reason(&e)))?;
            if q.name != *qname || q.query_type != rtype.wire() || q.query_class != DNSClass::IN {
                return Err(Rejected::Mismatch(format!(
                    "the answer is for {} {} {}, not {} {rtype} IN",
                    name_text(&q.name),
                    q.query_type,
                    q.query_class,
                    name_text(qname)
                )));
            }
        }
        n => return malformed(format!("the answer has {n} questions")),
    }
    let mut answers = Vec::new();
    for _ in 0..counts.answers {
        let record = match Record::read(&mut d) {
            Ok(record) => record,
            // Asked again over TCP: keep what decodes.
            Err(_) if truncated && rcode == 0 => break,
            Err(e) => return malformed(decode_reason(&e)),
        };
        // hickory-proto reads an empty RDATA as an update placeholder; for
        // the types we read it is a broken record.
        if let RData::Update0(t) = &record.data
            && matches!(
                t,
                WireType::A | WireType::AAAA | WireType::MX | WireType::CNAME
            )
        {
            return malformed(format!("an empty {t} record"));
        }
        answers.push(record);
    }
    Ok(Answer {
        qname: qname.clone(),
        truncated,
        rcode,
        answers,
    })
}

/// A decoded name as text: labels joined by `.`, no trailing dot, `.` for
/// the root; octets outside printable ASCII, `.` and `\` inside a label
/// escaped as `\DDD` (RFC 1035 §5.1), so the text is always safe to print.
pub(super) fn name_text(name: &Name) -> String {
    if name.is_root() {
        return ".".into();
    }
    let mut text = String::with_capacity(name.len());
    for (i, label) in name.iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        for &b in label {
            if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                text.push(char::from(b));
            } else {
                let _ = write!(text, "\\{b:03}");
            }
        }
    }
    text
}

/// Why a reply does not decode, in words (hickory-proto's own text for the
/// rare cases not named here).
fn decode_reason(e: &DecodeError) -> String {
    match e {
        DecodeError::InsufficientBytes => "the answer is cut short".into(),
        DecodeError::PointerNotPriorToLabel { .. } | DecodeError::LabelOverlapsWithOther { .. } => {
            "a compression pointer does not point backwards (a loop?)".into()
        }
        DecodeError::DomainNameTooLong(_) | DecodeError::LabelBytesTooLong(_) => {
            "a name is longer than 255 octets".into()
        }
        DecodeError::UnrecognizedLabelCode(_) => "a name uses an unknown label type".into(),
        // Either the data runs past the end of the answer, or its contents
        // do not fill it exactly.
        DecodeError::IncorrectRDataLengthRead { len, .. } => {
            format!(
                "a record's data length ({len} octets) is wrong (cut short, or not what its type holds)"
            )
        }
        other => escape_as(other.to_string().as_bytes(), Style::Field),
    }
}
