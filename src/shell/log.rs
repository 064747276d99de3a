//! The transcript file of `--log FILE` / `set log FILE`: every line the
//! shell prints (standard output and standard error alike), without
//! colour, each after a UTC timestamp, plus the command lines a script or
//! a person gave. It holds what the screen shows, so secrets are masked
//! and message content summarised exactly as there; lines that may hold a
//! secret are never written (see [`super::may_hold_secret`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// An open transcript file.
#[derive(Debug)]
pub struct TranscriptLog {
    path: PathBuf,
    file: File,
}

impl TranscriptLog {
    /// Opens `path` for appending (created with mode 0600: a transcript
    /// names people and servers) and writes a first line saying who
    /// started it.
    pub fn open(path: &Path) -> io::Result<TranscriptLog> {
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        let mut log = TranscriptLog {
            path: path.to_path_buf(),
            file,
        };
        log.write(&format!(
            "=== smtpsh {} transcript (times in UTC)",
            env!("CARGO_PKG_VERSION")
        ))?;
        Ok(log)
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` (one or more lines; colour removed), each line after
    /// the time, with one system call per line so a process that dies
    /// leaves whole lines behind.
    pub fn write(&mut self, text: &str) -> io::Result<()> {
        let stamp = crate::clock::stamp(SystemTime::now());
        let plain = anstream::adapter::strip_str(text).to_string();
        for line in plain.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            self.file
                .write_all(format!("{stamp} {line}\n").as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_stamped_and_uncoloured() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        let mut log = TranscriptLog::open(&path).unwrap();
        log.write("\x1b[1m -> \x1b[0m\x1b[1mEHLO x\x1b[0m").unwrap();
        log.write("a\nb").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        let first = format!(
            " === smtpsh {} transcript (times in UTC)",
            env!("CARGO_PKG_VERSION")
        );
        assert!(lines[0].ends_with(&first), "{}", lines[0]);
        assert!(lines[1].ends_with("Z  -> EHLO x"), "{}", lines[1]);
        assert!(lines[2].ends_with("Z a") && lines[3].ends_with("Z b"));
        assert!(!text.contains('\x1b'));
        // Appends; never truncates what was there.
        drop(log);
        TranscriptLog::open(&path).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().starts_with(&text));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(TranscriptLog::open(dir.path()).is_err());
    }
}
