//! `send --message` against a real server (aiosmtpd, tests/servers/): the
//! stored bytes are the file with CRLF line endings, byte for byte
//! (SHA-256), whatever its line endings and leading dots; the SIZE
//! announced is their number; an 8-bit file goes with BODY=8BITMIME; the
//! envelope can come from the file's headers.
#![cfg(feature = "interop")]

mod support;

use std::fs;
use support::*;

#[test]
fn a_message_file_arrives_byte_for_byte() {
    let server = Aiosmtpd::start();
    let work = tempfile::tempdir().expect("temp dir");
    let mut eml = "From: Zoë <zoe@example.org>\nTo: bob@example.org\nSubject: Grüße\n\
                   Date: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <interop@example.org>\n\n"
        .as_bytes()
        .to_vec();
    for i in 0..2000 {
        match i % 5 {
            0 => eml.extend_from_slice(b".\n"),
            1 => eml.extend_from_slice(b"..two dots\r\n"),
            2 => eml.extend_from_slice("Äpfel und Birnen\r".as_bytes()),
            3 => eml.extend_from_slice(b".leading dot\n"),
            _ => eml.extend_from_slice(format!("line {i}\n").as_bytes()),
        }
    }
    eml.extend_from_slice(b"no final newline");
    let path = work.path().join("message.eml");
    fs::write(&path, &eml).expect("write");
    let out = run_script(&format!(
        "connect 127.0.0.1 {}\nsend --message {} --envelope-from-headers\nexpect 250\n",
        server.port,
        quote(&path_str(&path))
    ));
    assert_exit(&out, 0, "send --message to aiosmtpd");
    let stored = server.wait_for_messages_after(1, &out);
    let want = crlf_lines(&eml);
    assert_eq!(
        sha256_hex(&stored[0].data),
        sha256_hex(&want),
        "stored:\n{}",
        String::from_utf8_lossy(&stored[0].data)
    );
    assert_eq!(stored[0].mail_from, "zoe@example.org");
    assert_eq!(stored[0].rcpt_tos, vec!["bob@example.org".to_string()]);
    let options = &stored[0].mail_options;
    assert!(
        options.contains(&format!("SIZE={}", want.len())),
        "{options:?}"
    );
    assert!(
        options.contains(&"BODY=8BITMIME".to_string()),
        "{options:?}"
    );
    assert!(options.contains(&"SMTPUTF8".to_string()), "{options:?}");
}
