//! Emptying the Maildir (`inbox --clear`): the messages go, the
//! directories stay, and a delivery still being written is left alone.

use super::InboxError;
use std::fs;
use std::io;
use std::path::Path;

/// What [`clear`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Messages removed from `new/` and `cur/`.
    pub removed: usize,
    /// Files removed from `tmp/`: older than [`TMP_GRACE`], left by a
    /// delivery that never finished.
    pub stale: usize,
    /// Files left in `tmp/`: younger than [`TMP_GRACE`], a delivery may be
    /// writing them.
    pub kept: usize,
}

/// How old a file in `tmp/` must be before [`clear`] removes it.
pub const TMP_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// Empties the Maildir: removes the files (never directories, never what
/// a symbolic link points to) in `new/` and `cur/`, and those in `tmp/`
/// older than [`TMP_GRACE`]. Names starting with `.` are left alone, as
/// [`super::list`] ignores them.
pub fn clear(maildir: &Path) -> Result<Cleared, InboxError> {
    if !super::is_maildir(maildir) {
        return Err(InboxError::NotMaildir {
            maildir: maildir.to_path_buf(),
        });
    }
    let mut done = Cleared::default();
    let now = std::time::SystemTime::now();
    for sub in ["new", "cur", "tmp"] {
        let dir = maildir.join(sub);
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| InboxError::Io { path, source }
        };
        let entries = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(&dir)(e)),
        };
        for item in entries {
            let item = item.map_err(io_err(&dir))?;
            if item.file_name().as_encoded_bytes().starts_with(b".") {
                continue;
            }
            // Not following links: a link is neither a file nor removed.
            let Ok(meta) = fs::symlink_metadata(item.path()) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            if sub == "tmp" {
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .unwrap_or_default();
                if age < TMP_GRACE {
                    done.kept += 1;
                    continue;
                }
            }
            match fs::remove_file(item.path()) {
                Ok(()) => {}
                // Gone meanwhile (another reader cleared it): not ours to count.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&item.path())(e)),
            }
            if sub == "tmp" {
                done.stale += 1;
            } else {
                done.removed += 1;
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::maildir::Maildir;
    use std::time::{Duration, SystemTime};

    #[test]
    fn messages_go_directories_and_fresh_tmp_files_stay() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("Maildir");
        let md = Maildir::create(&root).expect("create");
        md.deliver(b"Subject: a\r\n\r\na\r\n").expect("deliver");
        fs::write(root.join("cur/0000000001.M1P1Q1.h:2,S"), b"x").expect("write");
        fs::write(root.join("new/.keep"), b"").expect("write");
        fs::create_dir(root.join("new/sub")).expect("dir");
        fs::write(root.join("new/sub/inside"), b"x").expect("write");
        fs::write(root.join("tmp/fresh"), b"x").expect("write");
        let old = fs::File::create(root.join("tmp/old")).expect("create");
        old.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .expect("mtime");
        let outside = dir.path().join("outside");
        fs::write(&outside, b"keep me").expect("write");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, root.join("new/link")).expect("symlink");

        let done = clear(&root).expect("clear");
        assert_eq!(
            done,
            Cleared {
                removed: 2,
                stale: 1,
                kept: 1
            }
        );
        assert!(md.list().expect("list").is_empty());
        assert!(root.join("new/sub/inside").exists());
        assert!(root.join("new/.keep").exists());
        assert!(root.join("tmp/fresh").exists());
        assert!(!root.join("tmp/old").exists());
        assert_eq!(fs::read(&outside).expect("outside"), b"keep me");
        assert_eq!(clear(&root).expect("again").removed, 0);
        assert!(matches!(
            clear(dir.path()),
            Err(InboxError::NotMaildir { .. })
        ));
    }
}
