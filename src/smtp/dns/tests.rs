//! The resolver's tests: answers built with hickory-proto, hostile byte
//! strings written by hand, and a fake DNS server on loopback.

use super::wire::{Rejected, build_query, name_text, parse_answer, query_name};
use super::*;
use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX};
use hickory_proto::rr::{Record, RecordType as WireType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

// -- building answers with hickory-proto -------------------------------------

/// A fully qualified wire name (`.` or "" for the root).
fn n(name: &str) -> Name {
    Name::from_labels(name.split('.').filter(|l| !l.is_empty()).map(str::as_bytes)).unwrap()
}

fn mx(preference: u16, exchange: &str) -> RData {
    RData::MX(MX::new(preference, n(exchange)))
}

fn a(ip: [u8; 4]) -> RData {
    RData::A(A(Ipv4Addr::from(ip)))
}

fn aaaa(ip: Ipv6Addr) -> RData {
    RData::AAAA(AAAA(ip))
}

fn cname(target: &str) -> RData {
    RData::CNAME(CNAME(n(target)))
}

/// A reply to query `id` for `name`/`qtype`: each record `(owner, data)`
/// (owner `None`: the question name), with `rcode` and the TC bit.
fn reply_for(
    id: u16,
    name: &str,
    qtype: WireType,
    rcode: ResponseCode,
    truncated: bool,
    records: Vec<(Option<&str>, RData)>,
) -> Vec<u8> {
    let mut m = Message::response(id, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    m.metadata.response_code = rcode;
    m.metadata.truncation = truncated;
    m.add_query(Query::query(n(name), qtype));
    for (owner, data) in records {
        m.add_answer(Record::from_rdata(n(owner.unwrap_or(name)), 300, data));
    }
    m.to_vec().unwrap()
}

/// A NOERROR reply whose records are all owned by the question name.
fn ok_for(id: u16, name: &str, qtype: WireType, records: Vec<RData>) -> Vec<u8> {
    let records = records.into_iter().map(|r| (None, r)).collect();
    reply_for(id, name, qtype, ResponseCode::NoError, false, records)
}

/// Check `reply` as the answer to query `id` for `name` (normalised as the
/// resolver does).
fn parse(reply: &[u8], id: u16, name: &str, rtype: RecordType) -> Result<Answer, Rejected> {
    let qname = query_name(&normalize_name(name).unwrap()).unwrap();
    parse_answer(reply, id, &qname, rtype)
}

/// The query `build_query` sends for `name` (normalised first).
fn query_bytes_for(id: u16, name: &str, rtype: RecordType) -> Result<Vec<u8>, DnsError> {
    build_query(id, &query_name(&normalize_name(name)?)?, rtype)
}

/// An MX answer for example.com: mx2 (20), mx1 (10), mx0 (10, in another
/// domain).
fn sample_mx_answer(id: u16) -> Vec<u8> {
    ok_for(
        id,
        "example.com",
        WireType::MX,
        vec![
            mx(20, "mx2.example.com"),
            mx(10, "mx1.example.com"),
            mx(10, "mx0.example.net"),
        ],
    )
}

// -- hostile answers, byte by byte -------------------------------------------

const TYPE_A: u16 = 1;
const TYPE_MX: u16 = 15;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// A name in wire form (uncompressed).
fn wire_name(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
    v
}

/// Header + question (the question name at offset 12).
fn header(id: u16, flags: u16, an: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&an.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&wire_name(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    m
}

/// A record with `owner` (wire bytes) and `rdata`, class IN.
fn rr(m: &mut Vec<u8>, owner: &[u8], rtype: u16, rdata: &[u8]) {
    m.extend_from_slice(owner);
    m.extend_from_slice(&rtype.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    m.extend_from_slice(&300u32.to_be_bytes());
    m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    m.extend_from_slice(rdata);
}

/// A compression pointer to offset 12 (the question name).
const PTR_Q: [u8; 2] = [0xC0, 12];

fn mx_rdata(pref: u16, name_wire: &[u8]) -> Vec<u8> {
    let mut v = pref.to_be_bytes().to_vec();
    v.extend_from_slice(name_wire);
    v
}

fn is_malformed<T: std::fmt::Debug>(r: &Result<T, Rejected>) -> bool {
    matches!(r, Err(Rejected::Malformed(_)))
}

// -- queries -----------------------------------------------------------------

#[test]
fn query_bytes() {
    let q = query_bytes_for(0xBEEF, "Example.COM.", RecordType::Mx).unwrap();
    let mut want = vec![0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    want.extend_from_slice(b"\x07Example\x03COM\x00\x00\x0f\x00\x01");
    assert_eq!(q, want);
    let q = query_bytes_for(1, "a.b", RecordType::Aaaa).unwrap();
    assert_eq!(&q[q.len() - 4..], &[0, 28, 0, 1]);
    let q = query_bytes_for(1, "a.b", RecordType::A).unwrap();
    assert_eq!(&q[q.len() - 4..], &[0, 1, 0, 1]);
}

#[test]
fn bad_names_are_refused() {
    for bad in [
        "",
        ".",
        "a..b",
        ".a",
        "exämple.com",
        "has space.com",
        "back\\slash.com",
        &"x".repeat(64),
        &format!("{}.com", ["abcdefghij"; 25].join(".")),
    ] {
        let e = query_bytes_for(1, bad, RecordType::A).expect_err(bad);
        assert!(matches!(e, DnsError::BadName { .. }), "{bad}: {e:?}");
        assert!(e.to_string().starts_with("cannot look up"), "{e}");
    }
    assert!(query_bytes_for(1, &"x".repeat(63), RecordType::A).is_ok());
    let q = query_bytes_for(1, "_dmarc.example.com", RecordType::A).unwrap();
    assert!(q.windows(7).any(|w| w == b"\x06_dmarc"), "{q:?}");
    let e = normalize_name("münchen.de").unwrap_err().to_string();
    assert!(e.contains("xn--"), "{e}");
}

// -- checking and reading answers ---------------------------------------------

#[test]
fn mx_answer_with_compression() {
    let bytes = sample_mx_answer(7);
    // hickory-proto compresses: owners and exchanges point at the question.
    assert!(bytes.windows(2).any(|w| w == PTR_Q), "{bytes:?}");
    let m = parse(&bytes, 7, "example.com", RecordType::Mx).unwrap();
    assert_eq!(m.rcode, 0);
    assert!(!m.truncated);
    let mut mxs = mx_records(&m);
    assert_eq!(mxs.len(), 3);
    assert!(mxs.contains(&Mx {
        preference: 20,
        exchange: "mx2.example.com".into()
    }));
    null_mx_check("example.com", &mut mxs).unwrap();
    sort_mx(&mut mxs);
    let prefs: Vec<u16> = mxs.iter().map(|m| m.preference).collect();
    assert_eq!(prefs, [10, 10, 20]);
    assert_eq!(mxs[2].exchange, "mx2.example.com");
    let mut first: Vec<&str> = mxs[..2].iter().map(|m| m.exchange.as_str()).collect();
    first.sort();
    assert_eq!(first, ["mx0.example.net", "mx1.example.com"]);
}

#[test]
fn hand_compressed_mx_answer() {
    // The same shape as a server may send it, pointers written by hand:
    // "mx1" + pointer to the question name.
    let mut m = header(7, 0x8180, 2, "example.com", TYPE_MX);
    let mut name = vec![3, b'm', b'x', b'1'];
    name.extend_from_slice(&PTR_Q);
    rr(&mut m, &PTR_Q, TYPE_MX, &mx_rdata(10, &name));
    rr(
        &mut m,
        &PTR_Q,
        TYPE_MX,
        &mx_rdata(20, &wire_name("mx2.example.net")),
    );
    let msg = parse(&m, 7, "example.com", RecordType::Mx).unwrap();
    assert_eq!(
        mx_records(&msg),
        [
            Mx {
                preference: 10,
                exchange: "mx1.example.com".into()
            },
            Mx {
                preference: 20,
                exchange: "mx2.example.net".into()
            }
        ]
    );
}

#[test]
fn equal_preferences_are_shuffled() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let mut mxs: Vec<Mx> = (0..4)
            .map(|i| Mx {
                preference: 5,
                exchange: format!("mx{i}"),
            })
            .collect();
        mxs.push(Mx {
            preference: 1,
            exchange: "first".into(),
        });
        sort_mx(&mut mxs);
        assert_eq!(mxs[0].exchange, "first");
        seen.insert(mxs[1].exchange.clone());
    }
    assert!(seen.len() > 1, "never shuffled: {seen:?}");
}

#[test]
fn question_name_case_and_trailing_dot() {
    let m = parse(&sample_mx_answer(7), 7, "EXAMPLE.com.", RecordType::Mx).unwrap();
    assert_eq!(mx_records(&m).len(), 3);
    // The answer's owners in another case still count.
    let bytes = ok_for(
        8,
        "Example.COM",
        WireType::MX,
        vec![mx(1, "mx.example.com")],
    );
    let m = parse(&bytes, 8, "example.com", RecordType::Mx).unwrap();
    assert_eq!(mx_records(&m).len(), 1);
}

#[test]
fn null_mx_is_an_error() {
    let bytes = ok_for(9, "nomail.example", WireType::MX, vec![mx(0, ".")]);
    let msg = parse(&bytes, 9, "nomail.example", RecordType::Mx).unwrap();
    let mut mxs = mx_records(&msg);
    assert_eq!(
        mxs,
        [Mx {
            preference: 0,
            exchange: ".".into()
        }]
    );
    let e = null_mx_check(&name_text(&msg.qname), &mut mxs).unwrap_err();
    assert!(matches!(e, DnsError::NullMx { .. }));
    assert_eq!(
        e.to_string(),
        "nomail.example does not accept mail: it publishes a null MX record (RFC 7505)"
    );
    // The same by hand: preference 0, the root name (one zero octet).
    let mut m = header(9, 0x8180, 1, "nomail.example", TYPE_MX);
    rr(&mut m, &PTR_Q, TYPE_MX, &[0, 0, 0]);
    let msg = parse(&m, 9, "nomail.example", RecordType::Mx).unwrap();
    assert_eq!(mx_records(&msg)[0].exchange, ".");
    // Mixed with a real MX (forbidden by RFC 7505): the "." is dropped.
    let mut mxs = vec![
        Mx {
            preference: 0,
            exchange: ".".into(),
        },
        Mx {
            preference: 10,
            exchange: "mx.example".into(),
        },
    ];
    null_mx_check("x", &mut mxs).unwrap();
    assert_eq!(mxs.len(), 1);
}

#[test]
fn nxdomain_nodata_and_errors() {
    // NXDOMAIN with the question.
    let m = reply_for(
        3,
        "nope.example",
        WireType::MX,
        ResponseCode::NXDomain,
        false,
        vec![],
    );
    let msg = parse(&m, 3, "nope.example", RecordType::Mx).unwrap();
    assert_eq!(msg.rcode, 3);
    // SERVFAIL without a question section.
    let mut m = Message::response(3, OpCode::Query);
    m.metadata.response_code = ResponseCode::ServFail;
    let msg = parse(&m.to_vec().unwrap(), 3, "x.example", RecordType::Mx).unwrap();
    assert_eq!(msg.rcode, 2);
    // ... but an answer without the question is not ours.
    let m = Message::response(3, OpCode::Query).to_vec().unwrap();
    assert!(is_malformed(&parse(&m, 3, "x.example", RecordType::Mx)));
    // NODATA: NOERROR and no answers (an SOA in authority is ignored).
    let m = ok_for(3, "a.example", WireType::MX, vec![]);
    let msg = parse(&m, 3, "a.example", RecordType::Mx).unwrap();
    assert!(mx_records(&msg).is_empty());
}

#[test]
fn addresses_and_cname_chain() {
    // www -> alias.example.net -> host.example.net (AAAA), plus a record
    // for an unrelated owner that must be ignored.
    let m = reply_for(
        5,
        "www.example.com",
        WireType::AAAA,
        ResponseCode::NoError,
        false,
        vec![
            (None, cname("alias.example.net")),
            (Some("alias.example.net"), cname("host.example.net")),
            (Some("host.example.net"), aaaa(Ipv6Addr::LOCALHOST)),
            (Some("evil.example"), aaaa("fe80::1".parse().unwrap())),
        ],
    );
    let msg = parse(&m, 5, "www.example.com", RecordType::Aaaa).unwrap();
    let chain: Vec<String> = owner_chain(&msg).iter().map(name_text).collect();
    assert_eq!(
        chain,
        ["www.example.com", "alias.example.net", "host.example.net"]
    );
    assert_eq!(
        address_records(&msg, RecordType::Aaaa),
        [IpAddr::V6(Ipv6Addr::LOCALHOST)]
    );
    assert!(address_records(&msg, RecordType::A).is_empty());

    let m = ok_for(
        6,
        "h.example",
        WireType::A,
        vec![a([192, 0, 2, 1]), a([192, 0, 2, 2])],
    );
    let msg = parse(&m, 6, "h.example", RecordType::A).unwrap();
    assert_eq!(
        address_records(&msg, RecordType::A),
        [IpAddr::from([192, 0, 2, 1]), IpAddr::from([192, 0, 2, 2])]
    );
}

#[test]
fn cname_loop_is_bounded() {
    let m = reply_for(
        5,
        "a.example",
        WireType::A,
        ResponseCode::NoError,
        false,
        vec![
            (None, cname("b.example")),
            (Some("b.example"), cname("A.example")),
        ],
    );
    let msg = parse(&m, 5, "a.example", RecordType::A).unwrap();
    let chain: Vec<String> = owner_chain(&msg).iter().map(name_text).collect();
    assert_eq!(chain, ["a.example", "b.example"]);
    assert!(address_records(&msg, RecordType::A).is_empty());
    // A chain longer than MAX_CNAME_CHAIN is cut there.
    let records = (0..40)
        .map(|i| {
            let owner = format!("c{i}.example");
            (owner, cname(&format!("c{}.example", i + 1)))
        })
        .collect::<Vec<_>>();
    let records = records
        .iter()
        .map(|(o, d)| (Some(o.as_str()), d.clone()))
        .chain([(Some("c40.example"), a([127, 0, 0, 1]))])
        .collect();
    let m = reply_for(
        6,
        "c0.example",
        WireType::A,
        ResponseCode::NoError,
        false,
        records,
    );
    let msg = parse(&m, 6, "c0.example", RecordType::A).unwrap();
    assert_eq!(owner_chain(&msg).len(), MAX_CNAME_CHAIN + 1);
    assert!(address_records(&msg, RecordType::A).is_empty());
}

#[test]
fn mismatched_answers_are_told_apart() {
    let a = sample_mx_answer(7);
    assert!(matches!(
        parse(&a, 8, "example.com", RecordType::Mx),
        Err(Rejected::Mismatch(_))
    ));
    assert!(matches!(
        parse(&a, 7, "example.org", RecordType::Mx),
        Err(Rejected::Mismatch(_))
    ));
    assert!(matches!(
        parse(&a, 7, "example.com", RecordType::A),
        Err(Rejected::Mismatch(_))
    ));
    // A query (QR = 0) is not an answer.
    let mut q = a.clone();
    q[2] &= 0x7F;
    assert!(matches!(
        parse(&q, 7, "example.com", RecordType::Mx),
        Err(Rejected::Mismatch(_))
    ));
    // Our own query, echoed back, is not an answer either.
    let echo = query_bytes_for(7, "example.com", RecordType::Mx).unwrap();
    assert!(matches!(
        parse(&echo, 7, "example.com", RecordType::Mx),
        Err(Rejected::Mismatch(_))
    ));
    // Another opcode (NOTIFY) is broken, not a stray answer.
    let mut o = a.clone();
    o[2] |= 4 << 3;
    assert!(is_malformed(&parse(&o, 7, "example.com", RecordType::Mx)));
    // Class CHAOS in the question.
    let mut c = header(7, 0x8180, 0, "example.com", TYPE_MX);
    let n = c.len();
    c[n - 1] = 3;
    assert!(matches!(
        parse(&c, 7, "example.com", RecordType::Mx),
        Err(Rejected::Mismatch(_))
    ));
}

#[test]
fn truncated_flag() {
    let a = reply_for(
        7,
        "example.com",
        WireType::MX,
        ResponseCode::NoError,
        true,
        vec![
            (None, mx(20, "mx2.example.com")),
            (None, mx(10, "mx1.example.com")),
            (None, mx(10, "mx0.example.net")),
        ],
    );
    assert_eq!(a[2] & 0x02, 0x02, "TC set");
    // Cut in the middle of the answers: still parses (what fits).
    let cut = &a[..a.len() - 5];
    let msg = parse(cut, 7, "example.com", RecordType::Mx).unwrap();
    assert!(msg.truncated);
    assert_eq!(msg.answers.len(), 2);
    // Without TC the same cut is malformed.
    let mut plain = cut.to_vec();
    plain[2] &= !0x02;
    assert!(is_malformed(&parse(
        &plain,
        7,
        "example.com",
        RecordType::Mx
    )));
}

#[test]
fn pointer_loops_and_forward_pointers_are_errors() {
    // A pointer to itself.
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
    let at = m.len();
    rr(&mut m, &[0xC0, at as u8], TYPE_A, &[1, 2, 3, 4]);
    let r = parse(&m, 1, "a.example", RecordType::A);
    assert_eq!(
        r.unwrap_err(),
        Rejected::Malformed("a compression pointer does not point backwards (a loop?)".into())
    );
    // A forward pointer.
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
    let at = m.len();
    rr(&mut m, &[0xC0, (at + 20) as u8], TYPE_A, &[1, 2, 3, 4]);
    assert!(is_malformed(&parse(&m, 1, "a.example", RecordType::A)));
    // A label followed by a pointer back to the label: a loop that only
    // moves backwards.
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
    let at = m.len();
    m.extend_from_slice(&[1, b'x', 0xC0, at as u8]);
    m.extend_from_slice(&TYPE_A.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
    assert!(is_malformed(&parse(&m, 1, "a.example", RecordType::A)));
    // Two names pointing at each other's labels.
    let mut m = header(1, 0x8180, 2, "a.example", TYPE_A);
    let first = m.len();
    let second = first + 4 + 14;
    m.extend_from_slice(&[1, b'x', 0xC0, second as u8]);
    m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
    m.extend_from_slice(&[1, b'y', 0xC0, first as u8]);
    m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
    assert!(is_malformed(&parse(&m, 1, "a.example", RecordType::A)));
}

#[test]
fn long_pointer_chains_end() {
    // Pointers may only point backwards, so a chain always ends: 100
    // pointers, each to the one before, the first to the question name,
    // carried as the data of a record of a private type; the next
    // record's owner points at the last of them.
    let mut m = header(1, 0x8180, 2, "a.example", TYPE_A);
    let base = m.len() + 2 + 10;
    let mut chain = PTR_Q.to_vec();
    for i in 1..100 {
        let prev = base + 2 * (i - 1);
        chain.extend_from_slice(&[0xC0 | (prev >> 8) as u8, prev as u8]);
    }
    rr(&mut m, &PTR_Q, 0xFF00, &chain);
    let last = base + 2 * 99;
    rr(
        &mut m,
        &[0xC0 | (last >> 8) as u8, last as u8],
        TYPE_A,
        &[127, 0, 0, 7],
    );
    let msg = parse(&m, 1, "a.example", RecordType::A).unwrap();
    assert_eq!(
        address_records(&msg, RecordType::A),
        [IpAddr::from([127, 0, 0, 7])]
    );
}

#[test]
fn long_names_and_bad_labels() {
    // 4 x 63-octet labels = 257 octets on the wire: too long.
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
    for _ in 0..4 {
        m.push(63);
        m.extend_from_slice(&[b'a'; 63]);
    }
    m.push(0);
    assert_eq!(
        parse(&m, 1, "a.example", RecordType::A).unwrap_err(),
        Rejected::Malformed("a name is longer than 255 octets".into())
    );
    // Extended label types 0x40 and 0x80.
    for t in [0x40u8, 0x80] {
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
        m.push(t | 1);
        m.extend_from_slice(&[b'x', 0]);
        assert!(is_malformed(&parse(&m, 1, "a.example", RecordType::A)));
    }
    // Odd bytes in a label are escaped, never raw.
    let name = Name::from_labels([&b"a\x1b."[..], b"b\\"]).unwrap();
    assert_eq!(name_text(&name), "a\\027\\046.b\\092");
    // An MX exchange with a control character comes out escaped, and the
    // escaped name is not asked for.
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_MX);
    rr(
        &mut m,
        &PTR_Q,
        TYPE_MX,
        &mx_rdata(1, b"\x03m\x07x\x01a\x00"),
    );
    let msg = parse(&m, 1, "a.example", RecordType::Mx).unwrap();
    let mxs = mx_records(&msg);
    assert_eq!(mxs[0].exchange, "m\\007x.a");
    assert!(matches!(
        normalize_name(&mxs[0].exchange),
        Err(DnsError::BadName { .. })
    ));
}

#[test]
fn bad_rdata_lengths() {
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
    rr(&mut m, &PTR_Q, TYPE_A, &[1, 2, 3, 4, 5]);
    assert!(is_malformed(&parse(&m, 1, "a.example", RecordType::A)));
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_AAAA);
    rr(&mut m, &PTR_Q, TYPE_AAAA, &[1, 2, 3, 4]);
    assert!(is_malformed(&parse(&m, 1, "a.example", RecordType::Aaaa)));
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_MX);
    rr(&mut m, &PTR_Q, TYPE_MX, &[0, 1]);
    assert!(is_malformed(&parse(&m, 1, "a.example", RecordType::Mx)));
    // Empty data.
    for t in [TYPE_A, TYPE_AAAA, TYPE_MX, 5] {
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
        rr(&mut m, &PTR_Q, t, &[]);
        assert!(
            is_malformed(&parse(&m, 1, "a.example", RecordType::A)),
            "{t}"
        );
    }
    // MX whose name is longer than its rdlength says.
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_MX);
    let mut rd = mx_rdata(1, &wire_name("mx.a.example"));
    rd.truncate(5);
    rr(&mut m, &PTR_Q, TYPE_MX, &rd);
    m.extend_from_slice(&[0; 20]);
    assert!(is_malformed(&parse(&m, 1, "a.example", RecordType::Mx)));
    // rdlength past the end.
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
    rr(&mut m, &PTR_Q, TYPE_A, &[1, 2, 3, 4]);
    let n = m.len();
    m[n - 5] = 200;
    assert!(is_malformed(&parse(&m, 1, "a.example", RecordType::A)));
    // More answers announced than present.
    let mut m = header(1, 0x8180, 2, "a.example", TYPE_A);
    rr(&mut m, &PTR_Q, TYPE_A, &[1, 2, 3, 4]);
    assert_eq!(
        parse(&m, 1, "a.example", RecordType::A).unwrap_err(),
        Rejected::Malformed("the answer is cut short".into())
    );
    // Two questions.
    let mut m = header(1, 0x8180, 0, "a.example", TYPE_A);
    m[5] = 2;
    assert!(is_malformed(&parse(&m, 1, "a.example", RecordType::A)));
    // Other classes and types are skipped, not errors.
    let mut m = header(1, 0x8180, 2, "a.example", TYPE_A);
    rr(&mut m, &PTR_Q, 16, b"\x05hello");
    m.extend_from_slice(&PTR_Q);
    m.extend_from_slice(&TYPE_A.to_be_bytes());
    m.extend_from_slice(&3u16.to_be_bytes()); // CHAOS
    m.extend_from_slice(&[0, 0, 0, 0, 0, 4, 9, 9, 9, 9]);
    let msg = parse(&m, 1, "a.example", RecordType::A).unwrap();
    assert_eq!(msg.answers.len(), 2);
    assert!(address_records(&msg, RecordType::A).is_empty());
}

#[test]
fn short_and_odd_headers() {
    for len in 0..12 {
        let m = header(1, 0x8180, 0, "a.example", TYPE_A);
        assert_eq!(
            parse(&m[..len], 1, "a.example", RecordType::A).unwrap_err(),
            Rejected::Malformed("the answer is shorter than a DNS header".into()),
            "{len}"
        );
    }
    // The question cut short.
    let m = header(1, 0x8180, 0, "a.example", TYPE_A);
    assert!(is_malformed(&parse(
        &m[..m.len() - 1],
        1,
        "a.example",
        RecordType::A
    )));
    // Whatever follows the answer section is not read.
    let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
    rr(&mut m, &PTR_Q, TYPE_A, &[127, 0, 0, 1]);
    m[9] = 5; // ARCOUNT 5, none there
    m.extend_from_slice(b"\xff\xfe garbage");
    let msg = parse(&m, 1, "a.example", RecordType::A).unwrap();
    assert_eq!(
        address_records(&msg, RecordType::A),
        [IpAddr::from([127, 0, 0, 1])]
    );
}

#[test]
fn every_prefix_and_mutation_is_handled_without_panic() {
    let good = sample_mx_answer(42);
    assert_eq!(
        parse(&good, 42, "example.com", RecordType::Mx)
            .unwrap()
            .answers
            .len(),
        3
    );
    for n in 0..good.len() {
        // A cut answer never parses into the full record set.
        if let Ok(m) = parse(&good[..n], 42, "example.com", RecordType::Mx) {
            assert!(m.answers.len() < 3, "prefix {n} parsed fully");
        }
    }
    // Deterministic pseudo-random mutations (xorshift).
    let mut s: u64 = 0x1234_5678_9ABC_DEF1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for _ in 0..20_000 {
        let mut m = good.clone();
        for _ in 0..(1 + next() % 4) {
            let i = (next() as usize) % m.len();
            m[i] = next() as u8;
        }
        if next() % 5 == 0 {
            let cut = (next() as usize) % m.len();
            m.truncate(cut);
        }
        if let Ok(msg) = parse(&m, 42, "example.com", RecordType::Mx) {
            // Whatever decodes can be read and printed.
            for mx in mx_records(&msg) {
                assert!(!mx.exchange.chars().any(|c| c.is_control()), "{mx:?}");
            }
        }
    }
    for _ in 0..5_000 {
        let len = (next() % 600) as usize;
        let m: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let _ = parse(&m, (next() & 0xFFFF) as u16, "example.com", RecordType::Mx);
        for start in 0..m.len().min(32) {
            let _ = Name::read(&mut BinDecoder::new(&m[start..]));
        }
    }
}

// -- resolv.conf and addresses -----------------------------------------

#[test]
fn resolv_conf() {
    let r = Resolver::from_resolv_conf(
        "# comment\nsearch example.com\nnameserver fe80::1%eth0\n\
         nameserver 10.0.0.53 # first usable\nnameserver 10.0.0.54\n\
         options ndots:2 timeout:1 attempts:3\n",
    )
    .unwrap();
    assert_eq!(r.server, "10.0.0.53:53".parse().unwrap());
    assert_eq!(r.timeout, Duration::from_secs(1));
    assert_eq!(r.attempts, 3);
    let r = Resolver::from_resolv_conf("nameserver ::1\n").unwrap();
    assert_eq!(r.server, "[::1]:53".parse().unwrap());
    assert_eq!(r.attempts, DEFAULT_ATTEMPTS);
    assert_eq!(r.timeout, DEFAULT_TIMEOUT);
    assert!(Resolver::from_resolv_conf("search x\n; nameserver 1.2.3.4\n").is_none());
    assert!(Resolver::from_resolv_conf("").is_none());
}

#[test]
fn resolver_addresses() {
    let p = |s| Resolver::parse_addr(s);
    assert_eq!(p("127.0.0.1"), Ok("127.0.0.1:53".parse().unwrap()));
    assert_eq!(p("127.0.0.1:5353"), Ok("127.0.0.1:5353".parse().unwrap()));
    assert_eq!(p("::1"), Ok("[::1]:53".parse().unwrap()));
    assert_eq!(p("[::1]"), Ok("[::1]:53".parse().unwrap()));
    assert_eq!(p(" [::1]:5353 "), Ok("[::1]:5353".parse().unwrap()));
    let e = p("dns.example").unwrap_err();
    assert!(e.contains("not a resolver address"), "{e}");
    assert!(p("127.0.0.1:99999").is_err());
}

#[test]
fn ip_literals_skip_dns() {
    // No server listens on port 9 of 192.0.2.1 (TEST-NET): never asked.
    let r = Resolver::new("192.0.2.1:9".parse().unwrap());
    assert_eq!(
        resolve_host("::1", &r).unwrap(),
        [IpAddr::V6(Ipv6Addr::LOCALHOST)]
    );
    assert_eq!(
        resolve_host("[::1]", &r).unwrap(),
        [IpAddr::V6(Ipv6Addr::LOCALHOST)]
    );
    assert_eq!(
        resolve_host("127.0.0.1", &r).unwrap(),
        [IpAddr::V4(Ipv4Addr::LOCALHOST)]
    );
}

#[test]
fn error_messages_are_actionable() {
    let server: SocketAddr = "127.0.0.1:5353".parse().unwrap();
    let cases = [
        (
            DnsError::NxDomain {
                name: "exmaple.com".into(),
                server,
            },
            "exmaple.com: no such domain (the DNS server 127.0.0.1:5353 says it does not exist); check the spelling",
        ),
        (
            DnsError::Timeout {
                name: "example.com".into(),
                rtype: RecordType::Mx,
                server,
                waited: Duration::from_secs(6),
                attempts: 2,
            },
            "no answer from the DNS server 127.0.0.1:5353 for example.com MX within 6 s (2 tries); check the resolver address and the network",
        ),
        (
            DnsError::NoMailServer {
                domain: "example.com".into(),
            },
            "example.com cannot receive mail: it has no MX record and no address (AAAA or A) to fall back to",
        ),
        (
            DnsError::NoUsableMx {
                domain: "example.com".into(),
                hosts: vec![
                    (
                        "mx1.example.com".into(),
                        DnsError::NxDomain {
                            name: "mx1.example.com".into(),
                            server,
                        },
                    ),
                    (
                        "mx2.example.com".into(),
                        DnsError::NoAddress {
                            name: "mx2.example.com".into(),
                        },
                    ),
                ],
            },
            "none of the mail servers of example.com can be reached: mx1.example.com does not exist; mx2.example.com has no address",
        ),
        (
            DnsError::ServerFailure {
                name: "example.com".into(),
                rtype: RecordType::A,
                server,
                rcode: 5,
            },
            "the DNS server 127.0.0.1:5353 could not answer for example.com A: REFUSED, it does not answer queries from here (is it a recursive resolver?) (code 5)",
        ),
        (
            DnsError::Io {
                server,
                source: io::Error::from(io::ErrorKind::ConnectionRefused),
            },
            "the DNS server 127.0.0.1:5353 refused the connection (nothing listens there?); check the resolver address",
        ),
    ];
    for (e, want) in cases {
        assert_eq!(e.to_string(), want);
    }
}

// -- a fake DNS server on loopback ------------------------------------------

type Responder = Box<dyn Fn(&[u8], bool) -> Option<Vec<u8>> + Send + Sync>;

/// A UDP + TCP server on one loopback port; `answer(query, over_tcp)`
/// gives the reply (None: stay silent). Counts the queries it saw.
struct FakeServer {
    addr: SocketAddr,
    udp_queries: Arc<AtomicUsize>,
    tcp_queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeServer {
    fn start(answer: Responder) -> FakeServer {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let answer = Arc::new(answer);
        let stop = Arc::new(AtomicBool::new(false));
        let udp_queries = Arc::new(AtomicUsize::new(0));
        let tcp_queries = Arc::new(AtomicUsize::new(0));
        {
            let (answer, stop, count) = (answer.clone(), stop.clone(), udp_queries.clone());
            udp.set_read_timeout(Some(Duration::from_millis(20)))
                .unwrap();
            thread::spawn(move || {
                let mut buf = [0u8; 1500];
                while !stop.load(Ordering::SeqCst) {
                    if let Ok((n, peer)) = udp.recv_from(&mut buf) {
                        count.fetch_add(1, Ordering::SeqCst);
                        if let Some(reply) = answer(&buf[..n], false) {
                            let _ = udp.send_to(&reply, peer);
                        }
                    }
                }
            });
        }
        {
            let (answer, stop, count) = (answer, stop.clone(), tcp_queries.clone());
            tcp.set_nonblocking(true).unwrap();
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok((mut s, _)) = tcp.accept() else {
                        thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    s.set_nonblocking(false).unwrap();
                    let mut len = [0u8; 2];
                    if s.read_exact(&mut len).is_err() {
                        continue;
                    }
                    let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if s.read_exact(&mut q).is_err() {
                        continue;
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    if let Some(reply) = answer(&q, true) {
                        let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                        framed.extend_from_slice(&reply);
                        let _ = s.write_all(&framed);
                    }
                }
            });
        }
        FakeServer {
            addr,
            udp_queries,
            tcp_queries,
            stop,
        }
    }

    fn resolver(&self) -> Resolver {
        let mut r = Resolver::new(self.addr);
        r.timeout = Duration::from_millis(300);
        r
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// (id, qname, qtype) of a query.
fn question(q: &[u8]) -> (u16, String, WireType) {
    let m = Message::from_vec(q).unwrap();
    let query = &m.queries[0];
    (m.metadata.id, name_text(&query.name), query.query_type)
}

/// An answer echoing the query's question, with `records` (owner: the
/// question name), `rcode` and the TC bit.
fn reply(q: &[u8], rcode: ResponseCode, truncated: bool, records: Vec<RData>) -> Vec<u8> {
    let (id, name, qtype) = question(q);
    let records = records.into_iter().map(|r| (None, r)).collect();
    reply_for(id, &name, qtype, rcode, truncated, records)
}

/// A NOERROR answer to `q` with `records`.
fn ok(q: &[u8], records: Vec<RData>) -> Vec<u8> {
    reply(q, ResponseCode::NoError, false, records)
}

/// An NXDOMAIN answer to `q`.
fn nx(q: &[u8]) -> Vec<u8> {
    reply(q, ResponseCode::NXDomain, false, vec![])
}

/// A small zone: example.test MX mx1 (10), mx2 (20), mx-gone (5);
/// mx1 AAAA ::1 and A 127.0.0.1; mx2 A 127.0.0.2; mx-gone NXDOMAIN;
/// bare.test (no MX) A 127.0.0.3; nomail.test null MX; empty.test
/// nothing at all.
fn zone(q: &[u8], _tcp: bool) -> Option<Vec<u8>> {
    let (_, name, qtype) = question(q);
    let name = name.to_ascii_lowercase();
    let rec = match (name.as_str(), qtype) {
        ("example.test", WireType::MX) => vec![
            mx(20, "mx2.example.test"),
            mx(10, "mx1.example.test"),
            mx(5, "mx-gone.example.test"),
        ],
        ("mx1.example.test", WireType::AAAA) => vec![aaaa(Ipv6Addr::LOCALHOST)],
        ("mx1.example.test", WireType::A) => vec![a([127, 0, 0, 1])],
        ("mx2.example.test", WireType::A) => vec![a([127, 0, 0, 2])],
        ("bare.test", WireType::A) => vec![a([127, 0, 0, 3])],
        ("nomail.test", WireType::MX) => vec![mx(0, ".")],
        ("mx-gone.example.test" | "nowhere.test", _) => return Some(nx(q)),
        _ => vec![],
    };
    Some(ok(q, rec))
}

#[test]
fn mx_targets_in_rfc5321_order() {
    let srv = FakeServer::start(Box::new(zone));
    let r = srv.resolver();
    let t = mx_targets("Example.Test.", &r).unwrap();
    assert_eq!(
        t,
        [
            (
                "mx1.example.test".to_string(),
                vec![
                    IpAddr::V6(Ipv6Addr::LOCALHOST),
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                ]
            ),
            (
                "mx2.example.test".to_string(),
                vec![IpAddr::from([127, 0, 0, 2])]
            ),
        ]
    );
    assert_eq!(
        lookup_mx("example.test", &r)
            .unwrap()
            .iter()
            .map(|m| m.preference)
            .collect::<Vec<_>>(),
        [5, 10, 20]
    );
    // No MX: the domain itself.
    assert_eq!(
        mx_targets("bare.test", &r).unwrap(),
        [("bare.test".to_string(), vec![IpAddr::from([127, 0, 0, 3])])]
    );
    assert!(matches!(
        mx_targets("nomail.test", &r),
        Err(DnsError::NullMx { .. })
    ));
    assert!(matches!(
        mx_targets("nowhere.test", &r),
        Err(DnsError::NxDomain { .. })
    ));
    assert!(matches!(
        mx_targets("empty.test", &r),
        Err(DnsError::NoMailServer { .. })
    ));
    assert!(matches!(
        resolve_host("empty.test", &r),
        Err(DnsError::NoAddress { .. })
    ));
    assert_eq!(srv.tcp_queries.load(Ordering::SeqCst), 0);
}

#[test]
fn no_usable_mx_lists_each_host() {
    let srv = FakeServer::start(Box::new(|q, _| {
        let (_, name, qtype) = question(q);
        match (name.as_str(), qtype) {
            ("d.test", WireType::MX) => {
                Some(ok(q, vec![mx(1, "gone.d.test"), mx(2, "noaddr.d.test")]))
            }
            ("gone.d.test", _) => Some(nx(q)),
            _ => Some(ok(q, vec![])),
        }
    }));
    let e = mx_targets("d.test", &srv.resolver()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "none of the mail servers of d.test can be reached: gone.d.test does not exist; \
         noaddr.d.test has no address"
    );
}

#[test]
fn a_host_listed_twice_is_tried_once() {
    let srv = FakeServer::start(Box::new(|q, _| {
        let (_, name, qtype) = question(q);
        match (name.as_str(), qtype) {
            ("dup.test", WireType::MX) => Some(ok(
                q,
                vec![
                    mx(30, "b.dup.test"),
                    mx(10, "a.dup.test"),
                    mx(20, "b.dup.test"),
                    mx(40, "A.dup.test"),
                ],
            )),
            (_, WireType::A) => Some(ok(q, vec![a([127, 0, 0, 1])])),
            _ => Some(ok(q, vec![])),
        }
    }));
    let t = mx_targets("dup.test", &srv.resolver()).unwrap();
    let hosts: Vec<&str> = t.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(hosts, ["a.dup.test", "b.dup.test"]);
    // One MX query, then AAAA + A for each of the two hosts.
    assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 5);
}

#[test]
fn truncated_udp_is_retried_over_tcp() {
    let srv = FakeServer::start(Box::new(|q, tcp| {
        let recs: Vec<RData> = (0..40u8).map(|i| a([127, 0, 1, i])).collect();
        if tcp {
            Some(ok(q, recs))
        } else {
            Some(reply(q, ResponseCode::NoError, true, recs[..3].to_vec()))
        }
    }));
    let r = srv.resolver();
    let msg = r.query("big.test", RecordType::A).unwrap();
    assert_eq!(address_records(&msg, RecordType::A).len(), 40);
    assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 1);
    assert_eq!(srv.tcp_queries.load(Ordering::SeqCst), 1);
}

#[test]
fn one_retry_after_a_timeout() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = seen.clone();
    let srv = FakeServer::start(Box::new(move |q, _| {
        // Silent the first time.
        if s2.fetch_add(1, Ordering::SeqCst) == 0 {
            None
        } else {
            Some(ok(q, vec![a([127, 0, 0, 9])]))
        }
    }));
    let r = srv.resolver();
    assert_eq!(
        resolve_host("slow.test", &r).unwrap(),
        [IpAddr::from([127, 0, 0, 9])]
    );
    // AAAA: lost once, then answered; A: answered at once.
    assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 3);
}

#[test]
fn silence_is_a_timeout_after_two_tries() {
    let srv = FakeServer::start(Box::new(|_, _| None));
    let mut r = srv.resolver();
    r.timeout = Duration::from_millis(150);
    let t0 = Instant::now();
    let e = lookup_mx("quiet.test", &r).unwrap_err();
    let took = t0.elapsed();
    assert!(matches!(e, DnsError::Timeout { attempts: 2, .. }), "{e:?}");
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 2);
    assert!(e.to_string().contains("within 300 ms (2 tries)"), "{e}");
}

#[test]
fn spoofed_and_stray_answers_are_ignored() {
    // Before the real answer: one with another ID, garbage, one for another
    // question with the right ID, and our own query echoed. All are
    // skipped.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let mut buf = [0u8; 512];
        let (n, peer) = sock.recv_from(&mut buf).unwrap();
        let q = buf[..n].to_vec();
        let mut wrong = ok(&q, vec![a([6, 6, 6, 6])]);
        wrong[0] ^= 0xFF;
        sock.send_to(&wrong, peer).unwrap();
        sock.send_to(b"\x00garbage", peer).unwrap();
        let other = ok_for(
            question(&q).0,
            "other.test",
            WireType::A,
            vec![a([6, 6, 6, 7])],
        );
        sock.send_to(&other, peer).unwrap();
        sock.send_to(&q, peer).unwrap();
        sock.send_to(&ok(&q, vec![a([127, 0, 0, 5])]), peer)
            .unwrap();
    });
    let mut r = Resolver::new(addr);
    r.timeout = Duration::from_secs(2);
    let msg = r.query("spoof.test", RecordType::A).unwrap();
    assert_eq!(
        address_records(&msg, RecordType::A),
        [IpAddr::from([127, 0, 0, 5])]
    );
    handle.join().unwrap();
}

#[test]
fn query_ids_differ() {
    // IDs come from the OS generator: 16 queries with one ID would happen
    // once in 2^240 runs.
    let ids = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = ids.clone();
    let srv = FakeServer::start(Box::new(move |q, _| {
        seen.lock().unwrap().push(question(q).0);
        Some(ok(q, vec![a([127, 0, 0, 1])]))
    }));
    let r = srv.resolver();
    for _ in 0..8 {
        resolve_host("id.test", &r).unwrap();
    }
    let ids = ids.lock().unwrap();
    assert_eq!(ids.len(), 16);
    assert!(ids.iter().any(|&id| id != ids[0]), "{ids:?}");
}

#[test]
fn interrupt_ends_the_wait() {
    let srv = FakeServer::start(Box::new(|_, _| None));
    let mut r = srv.resolver();
    r.timeout = Duration::from_secs(30);
    let flag = Arc::new(AtomicBool::new(false));
    r.interrupt = Some(flag.clone());
    let setter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        flag.store(true, Ordering::SeqCst);
    });
    let t0 = Instant::now();
    let e = lookup_mx("x.test", &r).unwrap_err();
    assert!(matches!(e, DnsError::Interrupted), "{e:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    setter.join().unwrap();
}

#[test]
fn interrupt_ends_the_tcp_wait() {
    // UDP says "truncated"; TCP accepts and never answers.
    let srv = FakeServer::start(Box::new(|q, tcp| {
        if tcp {
            thread::sleep(Duration::from_secs(3));
            None
        } else {
            Some(reply(q, ResponseCode::NoError, true, vec![]))
        }
    }));
    let mut r = srv.resolver();
    r.timeout = Duration::from_secs(30);
    let flag = Arc::new(AtomicBool::new(false));
    r.interrupt = Some(flag.clone());
    let setter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        flag.store(true, Ordering::SeqCst);
    });
    let t0 = Instant::now();
    let e = resolve_host("x.test", &r).unwrap_err();
    assert!(matches!(e, DnsError::Interrupted), "{e:?}");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    setter.join().unwrap();
}

#[test]
fn server_errors_and_refused_port() {
    let srv = FakeServer::start(Box::new(|q, _| {
        Some(reply(q, ResponseCode::Refused, false, vec![]))
    }));
    let e = lookup_mx("x.test", &srv.resolver()).unwrap_err();
    assert!(
        matches!(e, DnsError::ServerFailure { rcode: 5, .. }),
        "{e:?}"
    );
    let srv = FakeServer::start(Box::new(|q, _| {
        Some(reply(q, ResponseCode::ServFail, false, vec![]))
    }));
    let e = lookup_mx("x.test", &srv.resolver()).unwrap_err();
    assert!(
        matches!(e, DnsError::ServerFailure { rcode: 2, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("SERVFAIL"), "{e}");
    // Nothing listens: ICMP port unreachable shows as a refusal (or, if
    // the ICMP is lost, a timeout).
    let free = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let mut r = Resolver::new(addr);
    r.timeout = Duration::from_millis(200);
    let e = lookup_mx("x.test", &r).unwrap_err();
    assert!(
        matches!(e, DnsError::Io { .. } | DnsError::Timeout { .. }),
        "{e:?}"
    );
}

#[test]
fn malformed_answer_is_reported_after_the_wait() {
    let srv = FakeServer::start(Box::new(|q, _| {
        let mut m = ok(q, vec![a([1, 2, 3, 4])]);
        m.truncate(m.len() - 2);
        Some(m)
    }));
    let mut r = srv.resolver();
    r.timeout = Duration::from_millis(100);
    let e = resolve_host("bad.test", &r).unwrap_err();
    assert!(matches!(e, DnsError::Malformed { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "the DNS server {} sent a malformed answer for bad.test: \
             a record's data length (4 octets) is wrong (cut short, or not what its type holds)",
            srv.addr
        )
    );
}

#[test]
fn malformed_tcp_answer_is_an_error() {
    // Truncated over UDP; over TCP a wrong ID (nothing else can arrive on
    // that connection, so it is an error at once).
    let srv = FakeServer::start(Box::new(|q, tcp| {
        let mut m = reply(q, ResponseCode::NoError, !tcp, vec![a([1, 2, 3, 4])]);
        if tcp {
            m[0] ^= 0xFF;
        }
        Some(m)
    }));
    let e = resolve_host("tc.test", &srv.resolver()).unwrap_err();
    assert!(matches!(e, DnsError::Malformed { .. }), "{e:?}");
    assert!(e.to_string().contains("is not query ID"), "{e}");
}

#[test]
fn one_query_per_address_family() {
    let srv = FakeServer::start(Box::new(zone));
    let r = srv.resolver();
    resolve_host("mx1.example.test", &r).unwrap();
    assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 2);
    // NXDOMAIN for both families.
    let e = resolve_host("nowhere.test", &r).unwrap_err();
    assert!(matches!(e, DnsError::NxDomain { .. }), "{e:?}");
    assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 4);
}
