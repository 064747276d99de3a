//! `inbox --wait N [--timeout S]` (an assertion, like `expect`: exit
//! status 5 when the messages do not come) and `inbox --clear`.

use super::inbox_failure;
use crate::sandbox::inbox as mailbox;
use crate::sandbox::maildir::Maildir;
use crate::shell::cmd::plural;
use crate::shell::failure::{FailKind, Failure};
use crate::shell::session::Session;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often the Maildir is looked at.
const POLL: Duration = Duration::from_millis(100);

/// Waits until `dir` holds at least `want` messages (a missing directory
/// holds none), at most `timeout` seconds; Ctrl-C stops it. Says what it
/// waits for unless `quiet` (JSON output).
pub(super) fn wait(
    s: &Session,
    dir: &Path,
    want: usize,
    timeout: f64,
    quiet: bool,
) -> Result<(), Failure> {
    let limit = Duration::try_from_secs_f64(timeout).unwrap_or(Duration::MAX);
    let start = Instant::now();
    let mut announced = quiet;
    loop {
        let have = Maildir::open(dir)
            .list()
            .map_err(|source| {
                inbox_failure(mailbox::InboxError::Io {
                    path: dir.to_path_buf(),
                    source,
                })
            })?
            .len();
        if have >= want {
            return Ok(());
        }
        if !announced {
            s.out.note(&format!(
                "waiting for {} in {} (it has {have}; at most {timeout} s, Ctrl-C stops)",
                plural(want, "message"),
                dir.display()
            ));
            let _ = s.out.flush();
            announced = true;
        }
        if s.interrupt.load(Ordering::SeqCst) {
            return Err(Failure::new(
                FailKind::Interrupted,
                format!(
                    "interrupted (Ctrl-C) while waiting for {}; the inbox has {have}",
                    plural(want, "message")
                ),
            ));
        }
        let waited = start.elapsed();
        if waited >= limit {
            return Err(Failure::new(
                FailKind::Expect,
                format!(
                    "waited {timeout} s for {}, the inbox has {have} ({})",
                    plural(want, "message"),
                    dir.display()
                ),
            )
            .hint(
                "is the application sending to this sandbox? a longer --timeout S waits longer",
            ));
        }
        std::thread::sleep(POLL.min(limit.saturating_sub(waited)));
    }
}

/// Empties `dir` (see [`mailbox::clear`]) and says how much went.
pub(super) fn clear(s: &Session, dir: &Path) -> Result<(), Failure> {
    let done = mailbox::clear(dir).map_err(inbox_failure)?;
    s.out.ok(&format!(
        "removed {} from {}",
        plural(done.removed, "message"),
        dir.display()
    ));
    if done.stale > 0 {
        s.out.note(&format!(
            "and {} older than a minute from tmp/",
            plural(done.stale, "unfinished file")
        ));
    }
    if done.kept > 0 {
        s.out.note(&format!(
            "{} in tmp/ younger than a minute left alone: a delivery may be writing {}",
            plural(done.kept, "file"),
            if done.kept == 1 { "it" } else { "them" }
        ));
    }
    Ok(())
}
