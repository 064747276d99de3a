//! The documentation cannot drift from the code: docs/commands.md has a
//! section with the exact usage line for every command of the command table,
//! and README.md and docs/scripting.md list every exit status.

use smtpsh::shell::commands::COMMANDS;
use smtpsh::shell::failure::FailKind;
use smtpsh::shell::{EXIT_OK, EXIT_PIPE, EXIT_USAGE};
use std::path::Path;

fn read_doc(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{rel} must exist ({}): {e}", path.display()))
}

/// The lines of the markdown section under `### name` (up to the next
/// heading of any level), or `None` if there is no such heading.
fn section<'a>(doc: &'a str, heading: &str) -> Option<Vec<&'a str>> {
    let mut lines = doc.lines();
    lines.by_ref().find(|l| l.trim_end() == heading)?;
    Some(lines.take_while(|l| !l.starts_with('#')).collect())
}

#[test]
fn commands_md_documents_every_command_with_its_usage_line() {
    let problems = command_doc_problems(&read_doc("docs/commands.md"));
    assert!(
        problems.is_empty(),
        "docs/commands.md is out of step with the command table:\n  {}",
        problems.join("\n  ")
    );
}

/// What docs/commands.md (given as `doc`) gets wrong about the command table.
fn command_doc_problems(doc: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for spec in COMMANDS {
        let heading = format!("### {}", spec.name);
        let Some(body) = section(doc, &heading) else {
            problems.push(format!("no `{heading}` section"));
            continue;
        };
        // The usage line, exactly, in backticks; optionally followed by the
        // aliases: `connect HOST [PORT]` (also `open`)
        let usage = format!("`{}`", spec.usage);
        let usage_line = body.iter().find(|l| {
            l.strip_prefix(usage.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(" (also "))
        });
        match usage_line {
            None => problems.push(format!(
                "{heading}: no line with the usage {usage} (as in src/shell/commands.rs)"
            )),
            Some(line) => {
                for alias in spec.aliases {
                    if !line.contains(&format!("`{alias}`")) {
                        problems.push(format!(
                            "{heading}: the usage line does not name the alias `{alias}`"
                        ));
                    }
                }
            }
        }
        if !body
            .iter()
            .any(|l| !l.trim().is_empty() && !l.starts_with('`'))
        {
            problems.push(format!("{heading}: no explanation after the usage line"));
        }
    }
    problems
}

#[test]
fn commands_md_has_no_section_for_a_command_that_does_not_exist() {
    let doc = read_doc("docs/commands.md");
    let stale: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(str::trim)
        .filter(|name| !COMMANDS.iter().any(|c| c.name == *name))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/commands.md documents commands the shell does not have: {stale:?}"
    );
}

/// Every exit status smtpsh can return: success, usage, and each failure kind.
fn exit_statuses() -> Vec<i32> {
    use FailKind::*;
    let kinds = [Local, Connection, Refused, Expect, Interrupted];
    // A new FailKind fails to compile here until it is added to `kinds`.
    for k in kinds {
        match k {
            Local | Connection | Refused | Expect | Interrupted => {}
        }
    }
    let mut codes = vec![EXIT_OK, EXIT_USAGE, EXIT_PIPE];
    codes.extend(kinds.iter().map(|k| k.exit_code()));
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// The text that documents exit statuses: the section whose heading
/// mentions "exit status" (up to the next heading of the same or a higher
/// level) and every paragraph that mentions it. Empty if there is none.
fn exit_status_text(doc: &str) -> String {
    let lines: Vec<&str> = doc.lines().collect();
    let level = |l: &str| l.chars().take_while(|&c| c == '#').count();
    let says = |l: &str| l.to_ascii_lowercase().contains("exit status");
    let mut text = String::new();
    if let Some(start) = lines.iter().position(|l| l.starts_with('#') && says(l)) {
        let own = level(lines[start]);
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.starts_with('#') && level(l) <= own)
            .map_or(lines.len(), |i| start + 1 + i);
        text.push_str(&lines[start + 1..end].join("\n"));
    }
    for paragraph in doc.split("\n\n") {
        if !paragraph.starts_with('#') && says(&paragraph.replace('\n', " ")) {
            text.push('\n');
            text.push_str(paragraph);
        }
    }
    text
}

/// Whether `code` appears as a number of its own (not part of `130` or `1.0`).
fn mentions_number(text: &str, code: i32) -> bool {
    let want = code.to_string();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let number = text[start..i].trim_end_matches('.');
            let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
            if before_ok && number == want {
                return true;
            }
        } else {
            i += 1;
        }
    }
    false
}

fn assert_documents_exit_statuses(rel: &str) {
    let doc = read_doc(rel);
    let section = exit_status_text(&doc);
    assert!(
        !section.is_empty(),
        "{rel} has no section or paragraph about the exit status"
    );
    let missing: Vec<i32> = exit_statuses()
        .into_iter()
        .filter(|&c| !mentions_number(&section, c))
        .collect();
    assert!(
        missing.is_empty(),
        "{rel} does not document the exit statuses {missing:?} where it talks about \
         exit statuses (all: {:?})",
        exit_statuses()
    );
}

#[test]
fn scripting_md_lists_every_exit_status() {
    assert_documents_exit_statuses("docs/scripting.md");
}

#[test]
fn readme_lists_every_exit_status() {
    assert_documents_exit_statuses("README.md");
}

#[test]
fn the_number_matcher_is_strict() {
    assert!(mentions_number("| 1 | local error |", 1));
    assert!(mentions_number("130 interrupted", 130));
    assert!(!mentions_number("MIME-Version: 1.0 and 130", 1));
    assert!(!mentions_number("RFC 5321", 1));
    assert!(!mentions_number("x13", 13));
    assert!(mentions_number("status 3.", 3));
    assert_eq!(exit_statuses(), vec![0, 1, 2, 3, 4, 5, 130, 141]);
    let doc = "# x\n\nExit status: 0 ok, 1 local, 2 usage,\n3 connection, 4 refused, 5 expect.\n";
    let text = exit_status_text(doc);
    assert!(mentions_number(&text, 5) && !mentions_number(&text, 130));
    assert!(exit_status_text("# x\n\nnothing here\n").is_empty());
}

#[test]
fn the_command_doc_check_finds_drift() {
    let doc = read_doc("docs/commands.md");
    // A usage line that no longer matches, and a section that is gone.
    let drifted = doc
        .replace("`detach N`", "`detach NUMBER`")
        .replace("### noop", "### no-op");
    let problems = command_doc_problems(&drifted);
    assert!(
        problems.iter().any(|p| p.contains("### detach"))
            && problems.iter().any(|p| p.contains("no `### noop` section")),
        "{problems:?}"
    );
}

/// Every `FILE::NAME, NAME, ...` in the bullet lists of docs/security.md
/// names a test that exists: the guarantees cite real proofs.
#[test]
fn security_md_cites_only_tests_that_exist() {
    let doc = read_doc("docs/security.md");
    let mut bullets: Vec<String> = Vec::new();
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("- ") {
            bullets.push(rest.to_string());
        } else if let (Some(last), true) = (bullets.last_mut(), line.starts_with("  ")) {
            last.push(' ');
            last.push_str(line.trim());
        }
    }
    let mut cited = 0;
    let mut missing = Vec::new();
    for segment in bullets.iter().flat_map(|b| b.split(';')) {
        let Some((file, names)) = segment.split_once("::") else {
            continue;
        };
        let file = file.trim();
        let text = read_doc(file);
        let names = names.split(" — ").next().unwrap_or("");
        let names = names.split(" (").next().unwrap_or("");
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            cited += 1;
            if !text.contains(&format!("fn {name}(")) {
                missing.push(format!("{file}::{name}"));
            }
        }
    }
    assert!(
        cited > 50,
        "only {cited} tests cited: is the format still parsed?"
    );
    assert!(
        missing.is_empty(),
        "docs/security.md cites tests that do not exist: {missing:?}"
    );
}

/// `help set`, Tab completion and `set` read one table; docs/commands.md
/// names every setting in it.
#[test]
fn commands_md_names_every_setting() {
    let doc = read_doc("docs/commands.md");
    let set = section(&doc, "### set").expect("a `### set` section");
    let text = set.join("\n");
    let missing: Vec<&str> = smtpsh::shell::settings::SETTINGS
        .iter()
        .map(|s| s.name)
        .filter(|name| {
            !text.contains(&format!("`set {name}")) && !text.contains(&format!("`{name}`"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/commands.md `set` does not name the settings {missing:?}"
    );
}

/// docs/architecture.md names every module of the shell, the protocol,
/// the sandbox, serve, the test runner and the command line: a new one is
/// placed on the map.
#[test]
fn architecture_md_names_every_module() {
    let doc = read_doc("docs/architecture.md");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    for dir in [
        "shell",
        "shell/cmd",
        "smtp",
        "sandbox",
        "serve",
        "runner",
        "cli",
    ] {
        let entries = std::fs::read_dir(root.join(dir)).expect("src dir");
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(module) = name
                .strip_suffix(".rs")
                .or(entry.path().is_dir().then_some(name.as_str()))
            else {
                continue;
            };
            if ["mod", "tests"].contains(&module) {
                continue;
            }
            if !doc.contains(module) {
                missing.push(format!("{dir}/{module}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/architecture.md does not mention {missing:?}"
    );
}

/// The fenced block under `## heading` in a doc.
fn example_under(doc: &str, heading: &str) -> String {
    let lines = section(doc, heading).unwrap_or_else(|| panic!("no {heading}"));
    lines
        .iter()
        .skip_while(|l| !l.starts_with("```"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn scripting_md_checking_what_arrived_runs_against_the_sandbox() {
    let script = example_under(&read_doc("docs/scripting.md"), "## Checking what arrived");
    assert!(script.contains("--check-attachment report.pdf"), "{script}");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("report.pdf"),
        b"%PDF-1.4 not really\x00\xff\n",
    )
    .expect("write report.pdf");
    std::fs::write(dir.path().join("t.smtp"), &script).expect("write script");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smtpsh"))
        .args(["--no-history", "--color", "never", "-f", "t.smtp"])
        .current_dir(dir.path())
        .env("SMTPSH_SANDBOX_DIR", dir.path().join("sandbox"))
        .env("HOME", dir.path())
        .output()
        .expect("run smtpsh");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("equals report.pdf"), "{text}");
    // The same check against another file fails with status 5.
    std::fs::write(dir.path().join("report.pdf"), b"other").expect("rewrite");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smtpsh"))
        .args(["inbox", "1", "--check-attachment", "report.pdf"])
        .current_dir(dir.path())
        .env("SMTPSH_SANDBOX_DIR", dir.path().join("sandbox"))
        .env("HOME", dir.path())
        .output()
        .expect("run smtpsh inbox");
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fenced blocks under `## heading`, in order.
fn examples_under(doc: &str, heading: &str) -> Vec<String> {
    let lines = section(doc, heading).unwrap_or_else(|| panic!("no {heading}"));
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for l in lines {
        match (&mut current, l.starts_with("```")) {
            (None, true) => current = Some(String::new()),
            (Some(_), true) => blocks.extend(current.take()),
            (Some(b), false) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

/// Runs `script` as `t.smtp` in `dir` with `env`; exit status and output.
fn run_doc_script(dir: &Path, script: &str, env: &[(&str, String)]) -> (Option<i32>, String) {
    std::fs::write(dir.join("t.smtp"), script).expect("write script");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.args(["--no-history", "--color", "never", "-f", "t.smtp"])
        .current_dir(dir)
        .env("SMTPSH_SANDBOX_DIR", dir.join("sandbox"))
        .env("HOME", dir)
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run smtpsh");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn scripting_md_variables_example_runs_against_a_sandbox() {
    let blocks = examples_under(&read_doc("docs/scripting.md"), "## Variables");
    let script = blocks.first().expect("the example script");
    assert!(script.contains("${RCPT}"), "{script}");
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox =
        smtpsh::sandbox::Sandbox::start_in(&dir.path().join("server")).expect("start sandbox");
    let env = [
        ("SMTP_PORT", sandbox.port().to_string()),
        ("RCPT", "ops@example.org".to_string()),
    ];
    let (code, text) = run_doc_script(dir.path(), script, &env);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("RCPT TO:<ops@example.org>"), "{text}");
    // Without RCPT, the error names the variable, the file and the line.
    let (code, text) = run_doc_script(dir.path(), script, &env[..1]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("t.smtp:4: undefined variable ${RCPT}"),
        "{text}"
    );
}

#[test]
fn scripting_md_expect_example_captures_the_queue_id() {
    let blocks = examples_under(
        &read_doc("docs/scripting.md"),
        "## `expect`: scripts as tests",
    );
    let script = blocks.first().expect("the capture example");
    assert!(script.contains("(?<queue_id>"), "{script}");
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, text) = run_doc_script(dir.path(), &format!("{script}set var queue_id\n"), &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("(captured by expect)"), "{text}");
}

#[test]
fn scripting_md_sending_an_existing_message_runs_against_the_sandbox() {
    use std::io::Write;
    let script = example_under(
        &read_doc("docs/scripting.md"),
        "## Sending an existing message",
    );
    assert!(script.contains("send --message -"), "{script}");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("captured.eml"),
        b"From: Ann <ann@example.com>\nTo: bob@example.org\nSubject: captured\n\n.a dot\n",
    )
    .expect("write captured.eml");
    std::fs::write(dir.path().join("this.smtp"), &script).expect("write script");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_smtpsh"))
        .args(["--no-history", "--color", "never", "-f", "this.smtp"])
        .current_dir(dir.path())
        .env("SMTPSH_SANDBOX_DIR", dir.path().join("sandbox"))
        .env("HOME", dir.path())
        .env("TMPDIR", dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run smtpsh");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"Subject: piped\n\nfrom standard input\n")
        .expect("write the message");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("--fix-headers added Date: "), "{text}");
    let stored = std::fs::read_dir(dir.path().join("sandbox/Maildir/new"))
        .expect("Maildir")
        .count();
    assert_eq!(stored, 2, "{text}");
}
