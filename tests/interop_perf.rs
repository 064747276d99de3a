//! Large and chunked messages through real servers (behaviour, not speed;
//! bench/run.sh measures speed): a 200 MiB attachment through aiosmtpd
//! arrives with its SHA-256 intact and the announced SIZE equal to the
//! bytes received, over the unpipelined path (aiosmtpd offers no
//! PIPELINING); `set transfer bdat` through Postfix (CHUNKING and
//! PIPELINING) delivers the message exactly as `save` wrote it.
#![cfg(feature = "interop")]

mod support;
use support::path_str;

use mail_parser::{MessageParser, MimeHeaders};
use std::fs;
use std::path::Path;
use support::postfix::Postfix;
use support::*;

/// SHA-256 (hex) of a file, by `sha256sum` (the test binary is a debug
/// build: hashing hundreds of MiB in it would take most of the test).
fn sha256_file(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    assert!(out.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Writes `n` random bytes (from /dev/urandom) to `path`; returns their
/// SHA-256 (hex).
fn random_file(path: &Path, n: u64) -> String {
    let mut src = fs::File::open("/dev/urandom").expect("open /dev/urandom");
    let mut dst = fs::File::create(path).expect("create");
    let copied = std::io::copy(&mut std::io::Read::take(&mut src, n), &mut dst).expect("copy");
    assert_eq!(copied, n);
    sha256_file(path)
}

/// SHA-256 (hex) and size of the base64 body of the part whose headers
/// name `filename` (decoded by `base64 -d` for the same reason).
fn attachment_sha(message: &[u8], filename: &str) -> (String, u64) {
    // The part header is near the start and the closing boundary near the
    // end: only those ends are searched (a debug build scans slowly).
    let head = &message[..message.len().min(64 * 1024)];
    let at = [
        format!("filename=\"{filename}\""),
        format!("filename={filename}"),
    ]
    .iter()
    .find_map(|needle| {
        head.windows(needle.len())
            .position(|w| w == needle.as_bytes())
    })
    .unwrap_or_else(|| panic!("no part named {filename}"));
    let body = head[at..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| at + i + 4)
        .expect("end of the part header");
    let tail_start = message.len().saturating_sub(64 * 1024).max(body);
    let end = message[tail_start..]
        .windows(4)
        .position(|w| w == b"\r\n--")
        .map_or(message.len(), |i| tail_start + i + 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let encoded = dir.path().join("part.b64");
    let decoded = dir.path().join("part.bin");
    fs::write(&encoded, &message[body..end]).expect("write the part");
    let status = std::process::Command::new("base64")
        .arg("-d")
        .arg("-i")
        .arg(&encoded)
        .stdout(fs::File::create(&decoded).expect("create"))
        .status()
        .expect("run base64");
    assert!(status.success(), "base64 -d failed");
    let size = fs::metadata(&decoded).expect("decoded").len();
    (sha256_file(&decoded), size)
}

#[test]
fn a_200_mib_attachment_round_trips_through_aiosmtpd() {
    const SIZE: u64 = 200 * 1024 * 1024;
    // The base64 message is ~270 MiB: above the harness's 256 MiB default.
    let limit = (400 * 1024 * 1024).to_string();
    let server = Aiosmtpd::start_with(&["--data-size-limit", &limit]);
    let dir = tempfile::tempdir().expect("temp dir");
    let big = dir.path().join("big.bin");
    let sha = random_file(&big, SIZE);
    let out = run_script(&format!(
        "from alice@example.com\nto bob@example.com\nsubject 200 MiB\n\
         body see attachment\nattach {}\nconnect 127.0.0.1 {}\nsend\n",
        quote(&path_str(&big)),
        server.port
    ));
    assert_exit(&out, 0, &server.describe());
    let msgs = server.wait_for_messages_after(1, &out);
    let m = &msgs[0];
    // RFC 1870: the SIZE announced is the size received (aiosmtpd keeps
    // the content unstuffed, without the final dot).
    let size_param = m
        .mail_options
        .iter()
        .find_map(|o| o.strip_prefix("SIZE="))
        .unwrap_or_else(|| panic!("no SIZE= in {:?}", m.mail_options));
    assert_eq!(size_param, m.data.len().to_string());
    let (got, n) = attachment_sha(&m.data, "big.bin");
    assert_eq!(n, SIZE);
    assert_eq!(got, sha, "the attachment changed on the way");
    // No PIPELINING offered: one command, one reply, in turn.
    let shown = printed(&out);
    assert!(!shown.contains("PIPELINING"), "{shown}");
    let events: Vec<String> = server
        .session_events(m.session)
        .into_iter()
        .filter(|e| e.kind == "command" || e.kind == "reply")
        .map(|e| {
            if e.kind == "command" {
                format!("C {}", e.verb)
            } else {
                format!("S {}", &e.line[..3.min(e.line.len())])
            }
        })
        .collect();
    let from_mail: Vec<&str> = events
        .iter()
        .map(String::as_str)
        .skip_while(|e| *e != "C MAIL")
        .take(6)
        .collect();
    assert_eq!(
        from_mail,
        ["C MAIL", "S 250", "C RCPT", "S 250", "C DATA", "S 354"],
        "{events:?}"
    );
    assert!(shown.contains("on the wire in"), "{shown}");
}

#[test]
fn bdat_through_postfix_delivers_the_message_as_saved() {
    let pf = Postfix::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("data.bin");
    let bin_sha = random_file(&bin, 5 * 1024 * 1024 + 3);
    let notes = dir.path().join("notes.txt");
    let notes_text = ".leading dot\r\n.\r\nlast line without end";
    fs::write(&notes, notes_text).expect("write");
    let saved = dir.path().join("saved.eml");
    let out = run_script(&format!(
        "set transfer bdat\nfrom alice@example.com\nto bob@example.com carol@example.org\n\
         subject chunked\nbody '.a dot first'\nattach {}\nattach {}\nsave {}\n\
         connect 127.0.0.1 {}\nsend\n",
        quote(&path_str(&bin)),
        quote(&path_str(&notes)),
        quote(&path_str(&saved)),
        pf.port_str()
    ));
    assert_exit(&out, 0, &pf.describe());
    let shown = printed(&out);
    let saved = fs::read(&saved).expect("saved");
    assert!(
        shown.contains(&format!(" -> BDAT {} LAST", saved.len())),
        "{shown}"
    );
    assert!(!shown.contains(" -> DATA"), "never both: {shown}");
    let msgs = pf.wait_for_messages_after(2, &out);
    for m in &msgs {
        assert!(
            m.original_crlf() == saved,
            "Postfix stored something else than `save` wrote for {}",
            m.delivered_to
        );
        let parsed = MessageParser::default().parse(m.original()).expect("parse");
        let sha = |name: &str| {
            parsed
                .attachments()
                .find(|a| a.attachment_name() == Some(name))
                .map(|a| sha256_hex(a.contents()))
                .unwrap_or_else(|| panic!("no attachment {name}"))
        };
        assert_eq!(sha("data.bin"), bin_sha);
        assert_eq!(sha("notes.txt"), sha256_hex(notes_text.as_bytes()));
    }
}

#[test]
fn pipelined_send_through_postfix_pairs_replies_and_skips_a_refused_recipient() {
    let pf = Postfix::start();
    let out = run_script(&format!(
        "from alice@example.com\nto bob@example.com {}\nbody pipelined\n\
         connect 127.0.0.1 {}\nsend\n",
        support::postfix::REFUSED_RECIPIENT,
        pf.port_str()
    ));
    assert_exit(&out, 0, &pf.describe());
    let shown = printed(&out);
    assert!(shown.contains("PIPELINING"), "{shown}");
    // Each command is followed by its own reply.
    let lines: Vec<&str> = shown.lines().collect();
    let after = |cmd: &str| -> &str {
        let i = lines
            .iter()
            .position(|l| l.starts_with(cmd))
            .unwrap_or_else(|| panic!("no {cmd:?} in {shown}"));
        lines.get(i + 1).copied().unwrap_or_default()
    };
    assert!(after(" -> MAIL FROM:").starts_with("<-  250"), "{shown}");
    assert!(after(" -> RCPT TO:<bob@").starts_with("<-  250"), "{shown}");
    assert!(
        after(&format!(
            " -> RCPT TO:<{}",
            support::postfix::REFUSED_RECIPIENT
        ))
        .starts_with("<-  550"),
        "{shown}"
    );
    assert!(after(" -> DATA").starts_with("<-  354"), "{shown}");
    let msgs = pf.wait_for_messages_after(1, &out);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].delivered_to, "bob@example.com");
}
