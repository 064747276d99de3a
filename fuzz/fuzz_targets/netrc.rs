//! Fuzz target: the netrc file (`smtpsh::shell::profile::netrc`).
//!
//! The input (UTF-8) is a netrc file. Checked:
//! - no panic, whatever the text;
//! - an error names a line of the input (1 to the number of lines);
//! - the entries read, written back with every token quoted (`\` and `"`
//!   escaped), read again to the same entries (machine, login, password);
//! - `find` for each entry's machine and login returns an entry for that
//!   machine (case-insensitively) or the `default`, whose login fits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpsh::shell::profile::netrc::{self, Entry};

fn quoted(token: &str) -> String {
    let mut q = String::from("\"");
    for c in token.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

fn written(entries: &[Entry]) -> String {
    let mut text = String::new();
    for e in entries {
        match &e.machine {
            Some(m) => text.push_str(&format!("machine {}\n", quoted(m))),
            None => text.push_str("default\n"),
        }
        if let Some(l) = &e.login {
            text.push_str(&format!("  login {}\n", quoted(l)));
        }
        if let Some(p) = &e.password {
            text.push_str(&format!("  password {}\n", quoted(p.expose())));
        }
    }
    text
}

type Shape = (Option<String>, Option<String>, Option<String>);

fn shape(entries: &[Entry]) -> Vec<Shape> {
    entries
        .iter()
        .map(|e| {
            (
                e.machine.clone(),
                e.login.clone(),
                e.password.as_ref().map(|p| p.expose().to_string()),
            )
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let entries = match netrc::parse(text) {
        Ok(entries) => entries,
        Err(e) => {
            let lines = text.matches('\n').count() + 1;
            assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
            return;
        }
    };
    let again = netrc::parse(&written(&entries)).expect("written entries parse");
    assert_eq!(shape(&entries), shape(&again));
    for e in &entries {
        let Some(machine) = &e.machine else { continue };
        let found = netrc::find(&entries, machine, e.login.as_deref()).expect("its own entry");
        let host_fits = found
            .machine
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(machine));
        assert!(host_fits);
        if let (Some(want), Some(got)) = (&e.login, &found.login) {
            assert_eq!(want, got);
        }
    }
});
