//! `inbox N --check-attachment FILE`: an assertion, like `expect` — it
//! passes only if message N has an attachment whose decoded bytes equal
//! FILE's (same size, same SHA-256), and otherwise fails with exit status 5
//! saying what was expected and what the message has.

use crate::local::expand_tilde;
use crate::sandbox::inbox::{self as mailbox, Detail, Part};
use crate::shell::cmd::plural;
use crate::shell::failure::{FailKind, Failure};
use crate::shell::output::human_bytes;
use crate::shell::session::Session;
use crate::text::shorten;
use std::path::Path;

/// Checks each of `files` against the attachments of message `n`; the
/// first that none equals fails.
pub(super) fn attachments(
    s: &mut Session,
    n: usize,
    detail: &Detail,
    files: &[String],
) -> Result<(), Failure> {
    for typed in files {
        let path = expand_tilde(typed);
        let (size, sha256) = mailbox::file_digest(&path).map_err(|e| {
            Failure::local(format!("cannot read {}: {e}", path.display()))
                .hint("--check-attachment takes the file the attachment should equal")
        })?;
        let Some((at, part)) = mailbox::matching_attachment(&detail.root, size, &sha256) else {
            return Err(mismatch(n, &path, size, &sha256, &detail.root));
        };
        s.out.ok(&format!(
            "message {n} part {at}{} equals {}: {}, sha256 {sha256}",
            named(part),
            path.display(),
            human_bytes(size)
        ));
    }
    Ok(())
}

/// ` "name"` when the part has a file name.
fn named(p: &Part) -> String {
    p.filename
        .as_deref()
        .map(|f| format!(" \"{}\"", mailbox::printable(f)))
        .unwrap_or_default()
}

/// The failure: what was expected, then every attachment the message has.
fn mismatch(n: usize, file: &Path, size: u64, sha256: &str, root: &Part) -> Failure {
    let f = Failure::new(
        FailKind::Expect,
        format!(
            "message {n} has no attachment equal to {} ({}, sha256 {sha256})",
            file.display(),
            human_bytes(size)
        ),
    );
    let found = root.attachments();
    if found.is_empty() {
        return f.hint(format!(
            "message {n} has no attachments; `inbox {n}` shows its parts"
        ));
    }
    let base = file.file_name().map(|b| b.to_string_lossy().into_owned());
    let mut f = f.hint(format!(
        "message {n} has {}:",
        plural(found.len(), "attachment")
    ));
    for (at, p) in found {
        let same_name = base.is_some() && p.filename.as_deref() == base.as_deref();
        f = f.also(format!(
            "  part {at}{}: {}, sha256 {}{}",
            named(p),
            human_bytes(p.content.len() as u64),
            shorten(p.sha256(), 17, "…"),
            if same_name {
                "  (same name, different content)"
            } else {
                ""
            }
        ));
    }
    f.also(format!(
        "`inbox {n}` shows every part; `inbox {n} --save-attachments DIR` writes them out to compare"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::output::Output;
    use crate::shell::settings::Settings;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    const MESSAGE: &[u8] = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\
Content-Type: text/plain\r\n\r\nhello\r\n--B\r\nContent-Type: application/octet-stream; name=a.bin\r\n\
Content-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n--B--\r\n";

    #[test]
    fn an_equal_file_passes_and_another_fails_with_what_the_message_has() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = dir.path().join("a.bin");
        std::fs::write(&good, [0u8, 1, 2, 0xff]).expect("write");
        let bad = dir.path().join("b.bin");
        std::fs::write(&bad, [0u8, 1, 2]).expect("write");
        let renamed = dir.path().join("sub");
        std::fs::create_dir(&renamed).expect("dir");
        let same_name = renamed.join("a.bin");
        std::fs::write(&same_name, b"other").expect("write");
        let detail = mailbox::inspect(MESSAGE).expect("parse");
        let (out, captured) = Output::capture(false);
        let mut s = Session::new(Settings::default(), out, Arc::new(AtomicBool::new(false)));
        let path = |p: &Path| p.to_string_lossy().into_owned();
        attachments(&mut s, 1, &detail, &[path(&good)]).expect("equal");
        assert!(
            captured
                .stdout()
                .contains("message 1 part 1.2 \"a.bin\" equals "),
            "{}",
            captured.stdout()
        );
        let f = attachments(&mut s, 1, &detail, &[path(&good), path(&bad)]).expect_err("differs");
        assert_eq!(f.kind, FailKind::Expect);
        assert!(
            f.message.contains("b.bin (3 bytes, sha256 "),
            "{}",
            f.message
        );
        let hint = f.hint.unwrap_or_default();
        assert!(
            hint.contains("part 1.2 \"a.bin\": 4 bytes, sha256 "),
            "{hint}"
        );
        let f = attachments(&mut s, 1, &detail, &[path(&same_name)]).expect_err("differs");
        assert!(
            f.hint
                .unwrap_or_default()
                .contains("same name, different content")
        );
        let f = attachments(&mut s, 1, &detail, &[path(&dir.path().join("none"))])
            .expect_err("missing");
        assert_eq!(f.kind, FailKind::Local);
        let plain = mailbox::inspect(b"Subject: s\r\n\r\nbody\r\n").expect("parse");
        let f = attachments(&mut s, 1, &plain, &[path(&good)]).expect_err("none");
        assert!(f.hint.unwrap_or_default().contains("has no attachments"));
    }
}
