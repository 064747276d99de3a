//! Where each script's transcript goes, and its sandbox.
//!
//! Transcripts are kept in `--transcripts DIR`, else beside the JUnit
//! report (`--junit reports/smtp.xml` → `reports/smtp-transcripts/`),
//! else in a temporary directory removed at the end. Each is
//! `NN-NAME.log`: NN the script's number in the run (so two `test.smtp`
//! in different directories never overwrite each other, and the files sort
//! in the report's order), NAME the script's file name. A file of that
//! name left by an earlier run is replaced; other files are left alone.
//!
//! Each script's sandbox (`SMTPSH_SANDBOX_DIR`: its Maildir and CA) is a
//! new directory in the temporary directory, removed at the end.

use super::RunError;
use super::discover::Script;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The longest file name part taken from a script's name (file systems
/// allow 255 bytes; the number and `.log` need the rest).
const NAME_MAX: usize = 200;

/// The directories of a run.
#[derive(Debug)]
pub struct Transcripts {
    /// Removed when dropped: the sandboxes, and the transcripts unless kept.
    work: TempDir,
    /// Where transcripts are kept, if they are.
    kept: Option<PathBuf>,
}

impl Transcripts {
    /// Makes the directories: `explicit` (`--transcripts`), else the one
    /// beside `junit`, else none kept.
    pub fn new(explicit: Option<&Path>, junit: Option<&Path>) -> Result<Transcripts, RunError> {
        let kept = explicit
            .map(Path::to_path_buf)
            .or_else(|| junit.map(beside));
        if let Some(dir) = &kept {
            std::fs::create_dir_all(dir).map_err(|e| {
                RunError::local(format!(
                    "cannot create the transcript directory {}: {e}",
                    dir.display()
                ))
                .hint("choose a writable place with --transcripts DIR")
            })?;
        }
        let work = tempfile::Builder::new()
            .prefix("smtpsh-test-")
            .tempdir()
            .map_err(|e| {
                RunError::local(format!(
                    "cannot create a temporary directory in {}: {e}",
                    std::env::temp_dir().display()
                ))
                .hint("set TMPDIR to a writable directory")
            })?;
        Ok(Transcripts { work, kept })
    }

    /// The directory transcripts are kept in, if they are.
    pub fn kept_dir(&self) -> Option<&Path> {
        self.kept.as_deref()
    }

    /// The transcript of script `index` (from 0) of `count`; an old file
    /// there is removed (the child appends).
    pub fn file_for(&self, index: usize, count: usize, script: &Script) -> PathBuf {
        let dir = self.kept.as_deref().unwrap_or(self.work.path());
        let path = dir.join(file_name(index, count, script));
        let _ = std::fs::remove_file(&path);
        path
    }

    /// The sandbox directory of script `index` (made by the child).
    pub fn sandbox_for(&self, index: usize) -> PathBuf {
        self.work.path().join(format!("sandbox-{}", index + 1))
    }
}

/// `reports/smtp.xml` → `reports/smtp-transcripts`.
pub fn beside(report: &Path) -> PathBuf {
    let stem = report
        .file_stem()
        .map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    report.with_file_name(format!("{stem}-transcripts"))
}

/// `03-deliver.smtp.log`: the number padded to the width of `count` (at
/// least two digits).
pub fn file_name(index: usize, count: usize, script: &Script) -> String {
    let width = count.to_string().len().max(2);
    let mut name = script.file_name();
    if name.len() > NAME_MAX {
        let mut end = NAME_MAX;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    format!("{:0width$}-{name}.log", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_are_numbered_and_sit_beside_the_report() {
        let s = Script::new(PathBuf::from("a/b/deliver.smtp"));
        assert_eq!(file_name(2, 9, &s), "03-deliver.smtp.log");
        assert_eq!(file_name(2, 120, &s), "003-deliver.smtp.log");
        let long = Script::new(PathBuf::from("é".repeat(150)));
        assert!(file_name(0, 1, &long).len() <= NAME_MAX + 8);
        assert_eq!(
            beside(Path::new("reports/smtp.xml")),
            Path::new("reports/smtp-transcripts")
        );
        assert_eq!(beside(Path::new("junit")), Path::new("junit-transcripts"));
    }

    #[test]
    fn equal_names_in_different_directories_get_different_files() {
        let t = Transcripts::new(None, None).unwrap();
        let a = t.file_for(0, 2, &Script::new(PathBuf::from("x/test.smtp")));
        let b = t.file_for(1, 2, &Script::new(PathBuf::from("y/test.smtp")));
        assert_ne!(a, b);
        assert_ne!(t.sandbox_for(0), t.sandbox_for(1));
        assert!(t.kept_dir().is_none());
        let work = t.work.path().to_path_buf();
        drop(t);
        assert!(!work.exists(), "the temporary directory is removed");
    }

    #[test]
    fn a_kept_directory_is_made_and_an_old_transcript_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("reports/smtp.xml");
        let t = Transcripts::new(None, Some(&report)).unwrap();
        let kept = dir.path().join("reports/smtp-transcripts");
        assert_eq!(t.kept_dir(), Some(kept.as_path()));
        let s = Script::new(PathBuf::from("a.smtp"));
        std::fs::write(kept.join("01-a.smtp.log"), "old").unwrap();
        let path = t.file_for(0, 1, &s);
        assert_eq!(path, kept.join("01-a.smtp.log"));
        assert!(!path.exists());
        drop(t);
        assert!(kept.exists(), "kept transcripts stay");
        // --transcripts wins; an impossible one is an error.
        let t = Transcripts::new(Some(&dir.path().join("mine")), Some(&report)).unwrap();
        assert_eq!(t.kept_dir(), Some(dir.path().join("mine").as_path()));
        std::fs::write(dir.path().join("file"), "").unwrap();
        assert!(Transcripts::new(Some(&dir.path().join("file/sub")), None).is_err());
    }
}
