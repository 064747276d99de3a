//! The history file: one command per line, private (mode 0600), written so
//! that nothing typed is lost and nothing gets corrupted.
//!
//! - Each command is appended the moment it is entered, in one `write` to a
//!   file opened with `O_APPEND`: a crash loses nothing already entered, and
//!   two shells appending at once never interleave inside a line.
//! - The file is only ever rewritten to trim it, and then through a
//!   temporary file renamed over it, so a reader or a crash sees either the
//!   old file or the new one.
//! - Lines starting with a space are not recorded (like bash's
//!   `ignorespace`), and message text is never a command line, so it never
//!   reaches the file.
//! - Files written by rustyline (a `#V2` header and `\` escapes) are read too.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A history file.
#[derive(Debug, Clone)]
pub struct HistoryFile {
    path: PathBuf,
    max: usize,
}

impl HistoryFile {
    /// Opens (creating if needed, mode 0600, directory 0700) the file at
    /// `path`, keeping at most `max` entries.
    pub fn open(path: &Path, max: usize) -> io::Result<HistoryFile> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            crate::local::create_private_dir(dir)?;
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        Ok(HistoryFile {
            path: path.to_path_buf(),
            max: max.max(1),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the entries, oldest first (the last `max`). A file with more
    /// than twice `max` entries is trimmed (atomically) on the way.
    pub fn load(&self) -> io::Result<Vec<String>> {
        let bytes = fs::read(&self.path)?;
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines();
        let v2 = text.starts_with("#V2");
        if v2 {
            lines.next();
        }
        let mut entries: Vec<String> = lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| if v2 { unescape_v2(l) } else { l.to_string() })
            .collect();
        if entries.len() > 2 * self.max || v2 {
            let keep = entries.split_off(entries.len().saturating_sub(self.max));
            self.rewrite(&keep)?;
            return Ok(keep);
        }
        let start = entries.len().saturating_sub(self.max);
        Ok(entries.split_off(start))
    }

    /// Appends one command. Lines with control characters or a leading
    /// space are not recorded.
    pub fn append(&self, line: &str) -> io::Result<()> {
        if line.trim().is_empty() || line.starts_with(' ') || line.chars().any(char::is_control) {
            return Ok(());
        }
        let mut f = OpenOptions::new()
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        f.write_all(format!("{line}\n").as_bytes())
    }

    /// Replaces the file with `entries` through a temporary file + rename.
    fn rewrite(&self, entries: &[String]) -> io::Result<()> {
        let tmp = self
            .path
            .with_extension(format!("tmp.{}", std::process::id()));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            let mut text = String::new();
            for e in entries {
                text.push_str(e);
                text.push('\n');
            }
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

/// rustyline's `#V2` format escapes `\` as `\\` and newline as `\n`.
fn unescape_v2(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_loads_and_keeps_it_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/smtpsh/history");
        let h = HistoryFile::open(&path, 100).unwrap();
        h.append("connect 127.0.0.1 2525").unwrap();
        h.append(" secret typed with a leading space").unwrap();
        h.append("to a@b.org\r\nevil").unwrap();
        h.append("ehlo").unwrap();
        assert_eq!(h.load().unwrap(), vec!["connect 127.0.0.1 2525", "ehlo"]);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
    }

    #[test]
    fn trims_atomically_when_too_long() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history");
        let h = HistoryFile::open(&path, 3).unwrap();
        for i in 0..10 {
            h.append(&format!("noop {i}")).unwrap();
        }
        assert_eq!(h.load().unwrap(), vec!["noop 7", "noop 8", "noop 9"]);
        // The file itself was rewritten to the kept entries; no temp file is left.
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "noop 7\nnoop 8\nnoop 9\n"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn reads_rustyline_v2_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history");
        fs::write(&path, "#V2\nraw MAIL FROM:<a\\\\b@x.org>\nehlo\n").unwrap();
        let h = HistoryFile::open(&path, 10).unwrap();
        assert_eq!(
            h.load().unwrap(),
            vec!["raw MAIL FROM:<a\\b@x.org>", "ehlo"]
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "raw MAIL FROM:<a\\b@x.org>\nehlo\n"
        );
    }

    #[test]
    fn two_writers_never_interleave_within_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history");
        let h = HistoryFile::open(&path, 100_000).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        h.append(&format!("noop thread-{t}-line-{i}-{}", "x".repeat(40)))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let lines = h.load().unwrap();
        assert_eq!(lines.len(), 2000);
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("noop thread-") && l.ends_with(&"x".repeat(40)))
        );
    }
}
