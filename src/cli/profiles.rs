//! `smtpsh profiles`: the profiles of the config file (docs/profiles.md),
//! one a line: name, where it connects, TLS, user. `--names` prints the
//! names alone, which is what the completion scripts ask for `--profile
//! NAME` (see [`super::completions`]).

use crate::shell::cmd::tls::{self, TlsMode};
use crate::shell::profile::{Profile, Profiles};
use clap::{Arg, ArgAction, ArgMatches};
use std::ffi::OsString;
use std::path::PathBuf;

/// `smtpsh profiles` as a clap command.
pub fn command() -> clap::Command {
    clap::Command::new("profiles")
        .bin_name("smtpsh profiles")
        .about("List the profiles of the config file: name, where it connects, TLS, user.")
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .value_hint(clap::ValueHint::FilePath)
                .help(
                    "Read FILE (also $SMTPSH_CONFIG; default \
                     $XDG_CONFIG_HOME/smtpsh/config.toml)",
                ),
        )
        .arg(
            Arg::new("names")
                .long("names")
                .action(ArgAction::SetTrue)
                .help("Only the names, one a line (for scripts and shell completion)"),
        )
        .after_help(
            "Connect with one: smtpsh --profile NAME, or `connect NAME` in the shell.\n\
             Exit status: 0 listed (none is no error), 1 the config file cannot be used, 2 usage.",
        )
}

/// Runs `smtpsh profiles ARGS`; returns the exit status.
pub fn main(args: &[OsString]) -> i32 {
    let argv = std::iter::once(OsString::from("smtpsh profiles")).chain(args.iter().cloned());
    let matches: ArgMatches = match command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let profiles = Profiles::load(matches.get_one::<PathBuf>("config").map(PathBuf::as_path));
    if let Some(e) = &profiles.error {
        // As the shell reports it: marked, coloured on a terminal.
        let out = crate::shell::output::Output::default();
        out.error(&format!("smtpsh profiles: {}", e.message));
        if let Some(hint) = &e.hint {
            out.hint(hint);
        }
        return crate::shell::EXIT_LOCAL;
    }
    let text = if matches.get_flag("names") {
        profiles.names().iter().map(|n| format!("{n}\n")).collect()
    } else {
        listing(&profiles)
    };
    super::print(text.as_bytes())
}

/// The table `smtpsh profiles` prints, or where profiles would be.
fn listing(profiles: &Profiles) -> String {
    let Some(path) = &profiles.path else {
        let default = crate::local::config_file()
            .map_or("$XDG_CONFIG_HOME/smtpsh/config.toml".into(), |(p, _)| {
                p.display().to_string()
            });
        return format!(
            "no config file ({default} does not exist); profiles are [profile.NAME] tables \
             there (docs/profiles.md)\n"
        );
    };
    if profiles.map.is_empty() {
        return format!("{} defines no profile\n", path.display());
    }
    let rows: Vec<[String; 4]> = profiles.map.values().map(row).collect();
    let widths: Vec<usize> = (0..3)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!("profiles in {}:\n", path.display());
    for r in &rows {
        let mut line = String::from(" ");
        for (i, cell) in r.iter().enumerate() {
            line.push(' ');
            line.push_str(cell);
            if let Some(&w) = widths.get(i) {
                line.push_str(&" ".repeat(w.saturating_sub(cell.chars().count()) + 1));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One profile's cells: name, where, TLS (and LMTP), user.
fn row(p: &Profile) -> [String; 4] {
    let target = p.target(&Default::default());
    let tls = if p.socket.is_none() && tls::is_implicit(p.mode, p.port) {
        "tls"
    } else if p.mode == TlsMode::StartTls {
        "starttls"
    } else {
        "plain"
    };
    let tls = if p.lmtp {
        format!("{tls}, lmtp")
    } else {
        tls.to_string()
    };
    let user = p
        .user
        .as_deref()
        .map_or_else(|| "-".to_string(), |u| format!("user {u}"));
    [p.name.clone(), target.label(), tls, user]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_aligns_name_where_tls_and_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[profile.work]\nhost = \"smtp.example.org\"\nport = 587\ntls = \"starttls\"\n\
             user = \"alice\"\n\n[profile.dovecot]\nhost = \"unix:/run/dovecot/lmtp\"\n\
             lmtp = true\n\n[profile.relay]\nhost = \"mx.example.net\"\nport = 465\n",
        )
        .expect("write");
        let profiles = Profiles::load(Some(&path));
        assert!(profiles.error.is_none(), "{:?}", profiles.error);
        let text = listing(&profiles);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("profiles in {}:", path.display()));
        assert_eq!(
            lines[1..],
            [
                "  dovecot  unix:/run/dovecot/lmtp  plain, lmtp  -",
                "  relay    mx.example.net:465      tls          -",
                "  work     smtp.example.org:587    starttls     user alice",
            ]
        );
        assert_eq!(profiles.names(), ["dovecot", "relay", "work"]);
    }
}
