//! The paths given → the scripts to run, in order.
//!
//! A file is run as given, whatever its name. A directory is searched
//! recursively for `*.smtp` files, sorted by path (component by
//! component, so `a/z.smtp` comes before `a.smtp`... and `b/` after);
//! entries whose name starts with `.` are skipped, and symbolic links to
//! directories are not followed (no loops). The same file reached twice
//! runs once, at its first place. Anything else is a usage error naming
//! the path.

use super::RunError;
use std::collections::HashSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// A script to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The path to run it by (as given, or the directory given joined with
    /// what was found in it, without a leading `./`).
    pub path: PathBuf,
    /// The path for people and reports (not UTF-8 made readable).
    pub name: String,
}

impl Script {
    /// A script at `path`.
    pub fn new(path: PathBuf) -> Script {
        let name = path.to_string_lossy().into_owned();
        Script { path, name }
    }
    /// The file's own name (`deliver.smtp`), for transcript names.
    pub fn file_name(&self) -> String {
        self.path.file_name().map_or_else(
            || "script".to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// The extension a directory's scripts have.
pub const EXTENSION: &str = "smtp";

/// The scripts `paths` name, in order; an error for the first path that
/// is neither a file nor a directory of scripts, or for no paths at all.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Script>, RunError> {
    let mut scripts = Vec::new();
    let mut seen = HashSet::new();
    for given in paths {
        let shown = given.display();
        let meta = fs::metadata(given).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                RunError::usage(format!("{shown}: no such file or directory"))
                    .hint("give script files, or directories to search for *.smtp scripts")
            }
            _ => RunError::usage(format!("cannot read {shown}: {e}")),
        })?;
        let found = if meta.is_dir() {
            let mut found = Vec::new();
            walk(given, &mut found)?;
            found.sort();
            if found.is_empty() {
                return Err(RunError::usage(format!(
                    "{shown}: no *.{EXTENSION} scripts in this directory"
                ))
                .hint(format!(
                    "scripts in a directory are found by the .{EXTENSION} extension; \
                     give other files by name"
                )));
            }
            found
        } else if meta.is_file() {
            vec![given.clone()]
        } else {
            return Err(RunError::usage(format!(
                "{shown}: neither a file nor a directory"
            )));
        };
        for path in found {
            // The same file by another path runs once.
            let key = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if seen.insert(key) {
                scripts.push(Script::new(path));
            }
        }
    }
    if scripts.is_empty() {
        return Err(RunError::usage("no scripts to run"));
    }
    Ok(scripts)
}

/// Adds the `*.smtp` files under `dir` to `out` (unsorted).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), RunError> {
    let entries = fs::read_dir(dir).map_err(|e| {
        RunError::usage(format!("cannot read the directory {}: {e}", dir.display()))
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| {
            RunError::usage(format!("cannot read the directory {}: {e}", dir.display()))
        })?;
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = join(dir, Path::new(&name));
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, out)?;
        } else if has_extension(&path) && (kind.is_file() || path.is_file()) {
            // A regular file, or a link to one (never a link to a directory).
            out.push(path);
        }
    }
    Ok(())
}

/// Whether `path` ends in `.smtp`.
fn has_extension(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == EXTENSION)
}

/// `dir/name`, without a leading `./` when `dir` is `.`.
fn join(dir: &Path, name: &Path) -> PathBuf {
    if dir.components().all(|c| c == Component::CurDir) {
        name.to_path_buf()
    } else {
        dir.join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, "noop\n").unwrap();
    }

    #[test]
    fn directories_are_searched_in_path_order_and_files_run_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "b.smtp",
            "a.smtp",
            "sub/c.smtp",
            "sub/deeper/a.smtp",
            "notes.txt",
            ".hidden.smtp",
            ".git/x.smtp",
            "z.smtp.bak",
        ] {
            touch(&d.join(f));
        }
        touch(&d.join("other/run-me.txt"));
        let found = discover(&[d.to_path_buf(), d.join("other/run-me.txt")]).unwrap();
        let rel: Vec<String> = found
            .iter()
            .map(|s| {
                s.path
                    .strip_prefix(d)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            rel,
            [
                "a.smtp",
                "b.smtp",
                "sub/c.smtp",
                "sub/deeper/a.smtp",
                "other/run-me.txt"
            ]
        );
        // Given again (as a file, and by another spelling): runs once.
        let again =
            discover(&[d.join("b.smtp"), d.to_path_buf(), d.join("sub/../a.smtp")]).unwrap();
        assert_eq!(again.len(), 4);
        assert!(again[0].name.ends_with("b.smtp"));
    }

    #[test]
    fn a_current_directory_gives_names_without_dot_slash() {
        assert_eq!(
            join(Path::new("."), Path::new("a.smtp")),
            Path::new("a.smtp")
        );
        assert_eq!(
            join(Path::new("./."), Path::new("a.smtp")),
            Path::new("a.smtp")
        );
        assert_eq!(
            join(Path::new("t"), Path::new("a.smtp")),
            Path::new("t/a.smtp")
        );
    }

    #[test]
    fn missing_paths_empty_directories_and_nothing_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = discover(std::slice::from_ref(&missing)).unwrap_err();
        assert_eq!(e.status, super::super::EXIT_USAGE);
        assert!(
            e.message.contains("nope") && e.message.contains("no such file"),
            "{}",
            e.message
        );
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        touch(&empty.join("readme.txt"));
        let e = discover(std::slice::from_ref(&empty)).unwrap_err();
        assert!(e.message.contains("no *.smtp scripts"), "{}", e.message);
        assert!(discover(&[]).is_err());
    }

    #[test]
    fn names_survive_bytes_that_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let s = Script::new(PathBuf::from(std::ffi::OsStr::from_bytes(b"d/\xffx.smtp")));
        assert_eq!(s.name, "d/\u{fffd}x.smtp");
        assert_eq!(s.file_name(), "\u{fffd}x.smtp");
    }
}
