//! `smtpsh man` and `smtpsh completions SHELL` through the real binary: the
//! page is roff that names every option, sub-command and shell command
//! (rendered by `man`/`groff` without a warning when they are installed);
//! each script names every option and sub-command, and bash (and fish, if
//! installed) accept its syntax. What "every option" is comes from the
//! binary's own `--help` texts, not from the code that makes the page.

mod support;

use smtpsh::shell::commands::COMMANDS;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::{assert_exit, describe_output, private_home, run_with_timeout, stderr, stdout};

/// A safety net only: every run here ends on its own at once.
const RUN: Duration = Duration::from_secs(60);

/// `smtpsh ARGS` with a private home and no input.
fn smtpsh(args: &[&str]) -> Output {
    let home = private_home();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.env("HOME", &home)
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("NO_COLOR", "1")
        .env_remove("SMTPSH_HISTORY")
        .current_dir(&home)
        .stdin(Stdio::null())
        .args(args);
    run_with_timeout(cmd, RUN)
}

/// The long options (`--file`) a help text lists, as `--name`.
fn long_options(help: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in help.split(|c: char| c.is_whitespace() || "[],|`()".contains(c)) {
        let Some(name) = word.strip_prefix("--") else {
            continue;
        };
        let name: String = name
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let option = format!("--{name}");
        if !name.is_empty() && !found.contains(&option) {
            found.push(option);
        }
    }
    found
}

/// Every long option of the shell and of each sub-command whose options
/// `--help` shows, read from the binary, with the sub-command's name.
fn every_option() -> Vec<(&'static str, String)> {
    let mut all = Vec::new();
    for (sub, args) in [
        ("", vec!["--help"]),
        ("serve", vec!["serve", "--help"]),
        ("test", vec!["test", "--help"]),
        ("inbox", vec!["inbox", "--help"]),
        ("completions", vec!["completions", "--help"]),
    ] {
        let out = smtpsh(&args);
        assert_exit(&out, 0, &format!("smtpsh {}", args.join(" ")));
        // Only the options part: after_help texts name other commands' options.
        let help = stdout(&out);
        let options = help
            .split("\n\n")
            .filter(|p| {
                p.starts_with("Options:") || p.starts_with("Usage:") || p.starts_with("inbox")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let found = long_options(&options);
        assert!(!found.is_empty(), "no options in smtpsh {args:?}:\n{help}");
        all.extend(found.into_iter().map(|o| (sub, o)));
    }
    all
}

/// The page as text: roff's escaped dashes and font changes undone.
fn plain(roff: &str) -> String {
    roff.replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\fP", "")
}

#[test]
fn the_man_page_is_roff_with_every_section_option_and_command() {
    let out = smtpsh(&["man"]);
    assert_exit(&out, 0, "smtpsh man");
    let page = stdout(&out);
    // The title comes first, after the apostrophe preamble (`.ie`/`.el`).
    let first = page
        .lines()
        .find(|l| !l.starts_with(".ie ") && !l.starts_with(".el "))
        .unwrap_or_default();
    assert!(first.starts_with(".TH smtpsh 1"), "{first:?}");
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "SUB-COMMANDS",
        "\"SHELL COMMANDS\"",
        "\"EXIT STATUS\"",
        "ENVIRONMENT",
        "FILES",
    ] {
        assert!(
            page.lines().any(|l| l == format!(".SH {section}")),
            "no section {section}"
        );
    }
    let text = plain(&page);
    for (sub, option) in every_option() {
        assert!(text.contains(&option), "{sub} {option} is not in the page");
    }
    for sub in ["serve", "inbox", "test", "profiles", "completions", "man"] {
        assert!(
            page.lines().any(|l| l == format!(".SS \"smtpsh {sub}\"")),
            "no sub-section for {sub}"
        );
    }
    for spec in COMMANDS {
        assert!(
            text.contains(&plain(spec.usage)) || text.contains(spec.usage),
            "the command {} is not in the page",
            spec.name
        );
    }
    for fact in [
        "SMTPSH_HISTORY",
        "SMTPSH_SANDBOX_DIR",
        "NO_COLOR",
        "XDG_STATE_HOME",
        "XDG_DATA_HOME",
        "dead-letter",
        "141",
    ] {
        assert!(text.contains(fact), "{fact} is not in the page");
    }
}

/// Whether the program `name` is on PATH.
fn installed(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `program args` with `input` on standard input.
fn run_with_input(program: &str, args: &[&str], input: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).expect("write the page");
    }
    child.wait_with_output().expect("wait")
}

#[test]
fn man_and_groff_render_the_page_without_a_warning() {
    let page = smtpsh(&["man"]).stdout;
    if installed("groff") {
        // -ww: every warning; -z: no output, only the diagnostics.
        let out = run_with_input("groff", &["-man", "-Tutf8", "-ww", "-z"], &page, &[]);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "groff: {}",
            describe_output(&out)
        );
    }
    if installed("man") {
        let out = run_with_input(
            "man",
            &["--warnings", "-l", "-"],
            &page,
            &[("MANPAGER", "cat"), ("MANWIDTH", "80")],
        );
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "man -l -: {}",
            describe_output(&out)
        );
        let text = stdout(&out);
        assert!(text.contains("SHELL COMMANDS"), "{text}");
        assert!(text.contains("--maildir"), "{text}");
    }
}

#[test]
fn man_takes_no_arguments() {
    let out = smtpsh(&["man", "extra"]);
    assert_exit(&out, 2, "smtpsh man extra");
    assert!(stderr(&out).contains("extra"), "{}", describe_output(&out));
}

/// The completion script for `shell`.
fn script(shell: &str) -> String {
    let out = smtpsh(&["completions", shell]);
    assert_exit(&out, 0, &format!("smtpsh completions {shell}"));
    stdout(&out)
}

/// Whether `script` (for `shell`) completes the long option `--name`.
fn offers(shell: &str, script: &str, option: &str) -> bool {
    match shell {
        "fish" => {
            let name = option.trim_start_matches('-');
            script
                .lines()
                .any(|l| l.contains(&format!("-l {name} ")) || l.ends_with(&format!("-l {name}")))
        }
        _ => script.contains(option),
    }
}

#[test]
fn every_script_completes_every_option_and_sub_command() {
    let options = every_option();
    for shell in ["bash", "zsh", "fish"] {
        let text = script(shell);
        for (sub, option) in &options {
            assert!(
                offers(shell, &text, option),
                "{shell}: {sub} {option} is missing"
            );
        }
        for sub in ["serve", "inbox", "test", "profiles", "completions", "man"] {
            assert!(
                text.contains(sub),
                "{shell}: the sub-command {sub} is missing"
            );
        }
        // The values of --color, and of completions' SHELL.
        for value in ["always", "never", "bash", "zsh", "fish"] {
            assert!(
                text.contains(value),
                "{shell}: the value {value} is missing"
            );
        }
    }
}

#[test]
fn zsh_and_fish_complete_paths_where_a_path_is_taken() {
    let zsh = script("zsh");
    for option in ["--file", "--cafile", "--log", "--junit", "--tls-cert"] {
        let line = zsh
            .lines()
            .find(|l| l.contains(&format!("'{option}=")) || l.contains(&format!("'{option}[")))
            .unwrap_or_else(|| panic!("zsh: no {option}"));
        assert!(line.contains("_files"), "zsh {option}: {line}");
    }
    let line = zsh
        .lines()
        .find(|l| l.contains("'--maildir="))
        .unwrap_or_default();
    assert!(line.contains("_files -/"), "zsh --maildir: {line}");
    let fish = script("fish");
    let line = fish
        .lines()
        .find(|l| l.contains("-l cafile"))
        .unwrap_or_default();
    assert!(line.contains("-F"), "fish --cafile: {line}");
}

#[test]
fn bash_and_fish_accept_the_syntax() {
    for (shell, program, args) in [
        ("bash", "bash", vec!["-n"]),
        ("fish", "fish", vec!["--no-execute"]),
        ("zsh", "zsh", vec!["-n"]),
    ] {
        if !installed(program) {
            continue;
        }
        let out = run_with_input(program, &args, script(shell).as_bytes(), &[]);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{program} {args:?}: {}",
            describe_output(&out)
        );
    }
}

#[test]
fn bash_completes_the_sub_commands_and_an_option_value() {
    if !installed("bash") {
        return;
    }
    let dir = private_home();
    let file = dir.join("smtpsh.bash");
    std::fs::write(&file, script("bash")).expect("write the script");
    // Run the completion function as bash would on Tab, and print what it offers.
    let complete = |words: &str| -> String {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"{words}\"; COMP_POINT=${{#COMP_LINE}}; \
             _smtpsh smtpsh \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display()
        );
        let out = Command::new("bash")
            .args(["--norc", "-c", &program])
            .current_dir(&dir)
            .output()
            .expect("bash");
        stdout(&out)
    };
    let subs = complete("smtpsh s");
    assert!(subs.lines().any(|l| l == "serve"), "{subs}");
    let colors = complete("smtpsh --color ''");
    assert_eq!(
        colors.lines().collect::<Vec<_>>(),
        ["auto", "always", "never"]
    );
    std::fs::write(dir.join("session.smtp"), "ehlo\n").expect("a file");
    let files = complete("smtpsh -f sess");
    assert!(files.lines().any(|l| l == "session.smtp"), "{files}");
    let serve = complete("smtpsh serve --mail");
    assert!(serve.lines().any(|l| l == "--maildir"), "{serve}");
}

#[test]
fn completions_without_or_with_a_wrong_shell_is_a_usage_error() {
    for args in [
        vec!["completions"],
        vec!["completions", "powershell"],
        vec!["completions", "bash", "zsh"],
    ] {
        let out = smtpsh(&args);
        assert_exit(&out, 2, &format!("smtpsh {}", args.join(" ")));
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains("SHELL"), "{err}");
        assert!(out.stdout.is_empty(), "{}", describe_output(&out));
    }
    let out = smtpsh(&["completions", "powershell"]);
    assert!(stderr(&out).contains("bash, zsh, fish"), "{}", stderr(&out));
}

#[test]
fn help_names_the_man_page_and_the_completions() {
    let out = smtpsh(&["--help"]);
    let help = stdout(&out);
    assert!(help.contains("smtpsh man"), "{help}");
    assert!(help.contains("smtpsh completions"), "{help}");
}

/// A config file with the profiles `lab` and `work`, and a directory
/// holding only the `smtpsh` being tested, for PATH (the scripts run
/// `smtpsh profiles --names` when Tab is pressed after `--profile`).
fn two_profiles() -> (PathBuf, String) {
    let dir = private_home();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[profile.work]\nhost = \"smtp.example.org\"\nport = 587\ntls = \"starttls\"\n\
         user = \"alice\"\n\n[profile.lab]\nhost = \"127.0.0.1\"\nport = 2526\n",
    )
    .expect("write the config");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_smtpsh"), bin.join("smtpsh")).expect("link");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    (config, path)
}

#[test]
fn profiles_lists_the_config_file_and_names_alone_for_scripts() {
    let (config, _) = two_profiles();
    let config = config.to_string_lossy().into_owned();
    let out = smtpsh(&["profiles", "--config", &config]);
    assert_exit(&out, 0, "smtpsh profiles");
    let text = stdout(&out);
    assert!(
        text.contains("  lab   127.0.0.1:2526        plain     -\n"),
        "{text}"
    );
    assert!(
        text.contains("  work  smtp.example.org:587  starttls  user alice\n"),
        "{text}"
    );
    let out = smtpsh(&["profiles", "--names", "--config", &config]);
    assert_eq!(stdout(&out), "lab\nwork\n");
    // A config file that cannot be used: said, exit 1, nothing listed.
    let out = smtpsh(&[
        "profiles",
        "--names",
        "--config",
        "/nonexistent/config.toml",
    ]);
    assert_exit(&out, 1, "a missing --config");
    assert!(out.stdout.is_empty(), "{}", describe_output(&out));
    assert!(
        stderr(&out).contains("cannot read the config file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_shell_completes_profile_names_after_profile() {
    let (config, path) = two_profiles();
    let env = [
        ("PATH", path.as_str()),
        ("SMTPSH_CONFIG", config.to_str().unwrap_or_default()),
    ];
    // bash, as on Tab: the completion function, then what it offers.
    let bash = "source <(smtpsh completions bash); COMP_WORDS=(smtpsh --profile w); COMP_CWORD=2; \
         COMP_LINE='smtpsh --profile w'; COMP_POINT=${#COMP_LINE}; \
         _smtpsh smtpsh w --profile; printf '%s\\n' \"${COMPREPLY[@]}\"";
    let out = Command::new("bash")
        .args(["--norc", "-c", bash])
        .env_clear()
        .envs(env)
        .output()
        .expect("bash");
    assert_eq!(stdout(&out), "work\n", "{}", describe_output(&out));
    // zsh's action runs the same command (its syntax is checked by bash_and_fish_accept_the_syntax).
    let zsh = script("zsh");
    assert!(
        zsh.contains(":NAME:{compadd -- ${(f)\"$(smtpsh profiles --names 2>/dev/null)\"}}'"),
        "{zsh}"
    );
    // fish: `complete -C` prints what Tab would offer (.ci/run installs
    // fish; a developer machine may not have it).
    if !installed("fish") {
        return;
    }
    let out = Command::new("fish")
        .args([
            "-N",
            "-c",
            "source (smtpsh completions fish | psub); complete -C 'smtpsh --profile='",
        ])
        .env_clear()
        .envs(env)
        .output()
        .expect("fish (installed by .ci/run)");
    let offered = stdout(&out);
    assert!(
        offered.contains("--profile=lab\t"),
        "{}",
        describe_output(&out)
    );
    assert!(offered.contains("--profile=work\t"), "{offered}");
}
