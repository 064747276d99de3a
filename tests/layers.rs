//! The layers stay one-way (docs/architecture.md): the protocol, the MIME
//! writer and the sandbox never reach up into the shell.

use std::fs;
use std::path::Path;

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        panic!("{} must exist", dir.display());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn smtp_mime_and_sandbox_never_import_the_shell() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    for layer in ["smtp", "mime", "sandbox"] {
        let mut files = Vec::new();
        rust_files(&root.join(layer), &mut files);
        assert!(!files.is_empty(), "no files under src/{layer}");
        for file in files {
            let text = fs::read_to_string(&file).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("crate::shell") || code.contains("smtpsh::shell") {
                    offenders.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "lower layers import the shell:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_shared_modules_import_no_layer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in ["address.rs", "clock.rs", "local.rs", "text.rs"] {
        let text = fs::read_to_string(root.join(file)).unwrap_or_default();
        for layer in ["shell", "smtp", "mime", "sandbox"] {
            assert!(
                !text.contains(&format!("crate::{layer}")),
                "src/{file} imports crate::{layer}"
            );
        }
    }
}
