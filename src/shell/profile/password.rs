//! Where `auth` finds the password when `--password-env` does not give
//! one, in order: the profile's `password`, its `password_command` (run
//! now, only because a password is needed), the netrc file; then the
//! caller asks at the terminal, or a script fails.
//!
//! A password is a [`Secret`] from the moment it is read: the command's
//! output is read into memory that is wiped, and nothing here prints it.

use super::netrc;
use crate::shell::failure::Failure;
use crate::shell::session::Session;
use crate::smtp::sasl::Secret;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use zeroize::Zeroizing;

/// The most read of a `password_command`'s output.
const MAX_OUTPUT: usize = 64 * 1024;

/// The password for `user` on the current connection from a stored
/// source; `Ok(None)` when none has one. Says which source gave it.
pub fn stored(s: &Session, user: &str) -> Result<Option<Secret>, Failure> {
    let host = s.live.as_ref().map(|l| l.conn.host().to_string());
    if let Some(p) = s
        .profile()
        .filter(|p| p.user.as_deref().is_none_or(|u| u == user))
    {
        if let Some(secret) = &p.password {
            s.out.note(&format!(
                "password: from the config file (profile {})",
                p.name
            ));
            return Ok(Some(secret.clone()));
        }
        if let Some(command) = &p.password_command {
            s.out.note(&format!(
                "password: from the password_command of profile {}",
                p.name
            ));
            let env = [
                ("SMTPSH_PROFILE", p.name.as_str()),
                ("SMTPSH_HOST", p.host.as_str()),
                ("SMTPSH_USER", user),
            ];
            let label = format!("the password_command of profile {}", p.name);
            return run_command(command, &label, &env).map(Some);
        }
    }
    let (Some(path), Some(host)) = (&s.profiles.netrc, host) else {
        return Ok(None);
    };
    from_netrc(s, path, &host, Some(user)).map(|found| found.and_then(|(_, password)| password))
}

/// The user `auth` logs in as when it is given none: the profile's
/// `user`, else the login the netrc file gives for the connection's host.
pub fn user(s: &Session) -> Option<String> {
    if let Some(user) = s.profile().and_then(|p| p.user.clone()) {
        return Some(user);
    }
    let path = s.profiles.netrc.as_ref()?;
    let host = s.live.as_ref()?.conn.host().to_string();
    from_netrc(s, path, &host, None)
        .ok()
        .flatten()
        .and_then(|(login, _)| login)
}

/// The netrc entry for `host` and `user`: its login and (when the file is
/// private) its password. A file that cannot be used is warned about and
/// skipped, so the prompt still comes.
#[allow(clippy::type_complexity)]
fn from_netrc(
    s: &Session,
    path: &Path,
    host: &str,
    user: Option<&str>,
) -> Result<Option<(Option<String>, Option<Secret>)>, Failure> {
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(None);
    };
    let shown = path.display();
    let mut text = Zeroizing::new(String::new());
    let read = file.metadata().and_then(|meta| {
        (&file)
            .take(super::MAX_CONFIG)
            .read_to_string(&mut text)
            .map(|_| meta)
    });
    let meta = match read {
        Ok(meta) => meta,
        Err(e) => {
            s.out.warn(&format!("cannot read {shown} ({e}): not used"));
            return Ok(None);
        }
    };
    let entries = match netrc::parse(&text) {
        Ok(entries) => entries,
        Err(e) => {
            s.out
                .warn(&format!("{shown}:{}: {}: not used", e.line, e.message));
            return Ok(None);
        }
    };
    let Some(entry) = netrc::find(&entries, host, user) else {
        return Ok(None);
    };
    let mut password = entry.password.clone();
    if password.is_some()
        && let Err(f) = super::private_check(path, &meta, "holds passwords")
    {
        s.out.warn(&f.message);
        if let Some(h) = &f.hint {
            s.out.hint(h);
        }
        password = None;
    } else if password.is_some() {
        s.out
            .note(&format!("password: from {shown} (machine {host})"));
    }
    Ok(Some((entry.login.clone(), password)))
}

/// Runs `command` with `sh -c` (standard input and the terminal are the
/// shell's, for a command that asks, e.g. for a key's passphrase); the
/// first line of its standard output is the password. A failure, or no
/// output, is an error with the exit status and the first line of its
/// standard error. `label` names the command in messages.
pub fn run_command(command: &str, label: &str, env: &[(&str, &str)]) -> Result<Secret, Failure> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(env.iter().copied())
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::local(format!("cannot run {label} with sh: {e}")))?;
    // Standard error is drained on its own thread, so a command that
    // writes much there cannot block while its output is read.
    let errors = child.stderr.take().map(|mut err| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = (&mut err).take(4096).read_to_end(&mut bytes);
            let _ = std::io::copy(&mut err, &mut std::io::sink());
            bytes
        })
    });
    let mut output: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(MAX_OUTPUT));
    if let Some(mut out) = child.stdout.take() {
        let mut chunk = Zeroizing::new([0u8; 4096]);
        loop {
            match out.read(&mut chunk[..]) {
                Ok(0) => break,
                Ok(n) => {
                    let room = MAX_OUTPUT - output.len();
                    output.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| Failure::local(format!("{label} did not finish: {e}")))?;
    let stderr = errors.and_then(|t| t.join().ok()).unwrap_or_default();
    let first_err = String::from_utf8_lossy(&stderr)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| crate::text::excerpt(l.as_bytes(), 200));
    let said = first_err
        .as_deref()
        .map(|l| format!(": {l}"))
        .unwrap_or_default();
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => "an unknown status".to_string(),
    };
    if !status.success() {
        return Err(
            Failure::local(format!("{label} failed ({how}){said}; AUTH was not sent"))
                .hint("run it in a terminal to see what it needs: sh -c 'COMMAND'"),
        );
    }
    let line = output.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(Failure::local(format!(
            "{label} printed no password ({how}, its first line is empty){said}; AUTH was not sent"
        )));
    }
    match std::str::from_utf8(line) {
        Ok(text) => Ok(Secret::new(text)),
        Err(_) => Err(Failure::local(format!(
            "{label} printed a line that is not valid UTF-8; AUTH was not sent"
        ))),
    }
}
