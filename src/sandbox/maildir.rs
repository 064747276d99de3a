//! A Maildir (<https://cr.yp.to/proto/maildir.html>): each message is one
//! file, written into `tmp/` and renamed into `new/`, so a reader never
//! sees a partial message. Names are
//! `SECS.M<usec>P<pid>Q<n>R<random>.HOST,S=<size>` (seconds zero-padded,
//! so name order is arrival order). Any mail reader that knows Maildir can
//! open it; `inbox` reads `new/` and `cur/`. The server's messages are not
//! fsynced one by one (why: `MaildirDelivery::commit`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a server puts the messages it accepted: one [`Delivery`] per
/// message, written as the message arrives (memory stays flat whatever the
/// size) and committed only once it is whole.
pub trait Store: Send + Sync {
    /// Starts storing one message.
    fn begin(&self) -> io::Result<Box<dyn Delivery>>;
}

/// One message being stored. Dropping it without [`Delivery::commit`]
/// discards what was written: a reader never sees half a message.
pub trait Delivery: Write + Send {
    /// Makes the message visible; returns where it is (a file) if anywhere.
    fn commit(self: Box<Self>) -> io::Result<Option<PathBuf>>;
}

/// A [`Store`] in memory, for tests and fuzzing: every committed message.
#[derive(Debug, Default)]
pub struct MemoryStore {
    messages: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl MemoryStore {
    /// The messages committed so far, in order.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

struct MemoryDelivery {
    messages: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    bytes: Vec<u8>,
}

impl Write for MemoryDelivery {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Delivery for MemoryDelivery {
    fn commit(self: Box<Self>) -> io::Result<Option<PathBuf>> {
        let mut all = self
            .messages
            .lock()
            .map_err(|_| io::Error::other("the memory store was poisoned"))?;
        all.push(self.bytes);
        Ok(None)
    }
}

impl Store for MemoryStore {
    fn begin(&self) -> io::Result<Box<dyn Delivery>> {
        Ok(Box::new(MemoryDelivery {
            messages: self.messages.clone(),
            bytes: Vec::new(),
        }))
    }
}

/// A Maildir directory with `tmp/`, `new/` and `cur/`.
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file.
    pub path: PathBuf,
    /// Its name (without the `:2,flags` info part).
    pub name: String,
    /// When it arrived, seconds since the epoch (from the name, else mtime).
    pub received: u64,
    /// Microseconds within that second, when the name has them.
    pub micros: u64,
    /// Size in bytes.
    pub size: u64,
}

impl Maildir {
    /// Opens `root` without creating anything (for reading).
    pub fn open(root: &Path) -> Maildir {
        Maildir {
            root: root.to_path_buf(),
        }
    }

    /// Opens `root`, creating it and its `tmp`, `new`, `cur` (mode 0700).
    pub fn create(root: &Path) -> io::Result<Maildir> {
        for sub in ["tmp", "new", "cur"] {
            crate::local::create_private_dir(&root.join(sub))?;
        }
        Ok(Maildir::open(root))
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the directory looks like a Maildir (has `new/`).
    pub fn exists(&self) -> bool {
        self.root.join("new").is_dir()
    }

    /// Stores a whole `message` the way the server does (written to
    /// `tmp/`, renamed into `new/`); returns the file's path.
    pub fn deliver(&self, message: &[u8]) -> io::Result<PathBuf> {
        let mut d = self.begin()?;
        d.write_all(message)?;
        d.commit()?
            .ok_or_else(|| io::Error::other("a Maildir delivery names its file"))
    }

    /// The messages in `new/` and `cur/`, oldest first (by arrival time in
    /// the name, then name). A missing Maildir is an empty list.
    pub fn list(&self) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        if !self.root.exists() {
            return Ok(out);
        }
        for sub in ["new", "cur"] {
            let dir = self.root.join(sub);
            let rd = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for item in rd {
                let item = item?;
                let file_name = item.file_name().to_string_lossy().into_owned();
                if file_name.starts_with('.') {
                    continue;
                }
                let meta = match item.metadata() {
                    Ok(m) if m.is_file() => m,
                    _ => continue,
                };
                let name = file_name
                    .split_once(':')
                    .map_or(file_name.as_str(), |(n, _)| n)
                    .to_string();
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                let (received, micros) = time_of_name(&name).unwrap_or((mtime, 0));
                out.push(Entry {
                    path: item.path(),
                    name,
                    received,
                    micros,
                    size: meta.len(),
                });
            }
        }
        out.sort_by(|a, b| (a.received, a.micros, &a.name).cmp(&(b.received, b.micros, &b.name)));
        Ok(out)
    }
}

impl Store for Maildir {
    fn begin(&self) -> io::Result<Box<dyn Delivery>> {
        let name = unique_name();
        let tmp = self.root.join("tmp").join(&name);
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts.open(&tmp)?;
        Ok(Box::new(MaildirDelivery {
            file: Some(io::BufWriter::with_capacity(64 * 1024, file)),
            tmp,
            new: self.root.join("new"),
            name,
            size: 0,
        }))
    }
}

/// A message being written into `tmp/`; renamed into `new/` on commit,
/// removed if dropped before.
struct MaildirDelivery {
    file: Option<io::BufWriter<File>>,
    tmp: PathBuf,
    new: PathBuf,
    name: String,
    size: u64,
}

impl Write for MaildirDelivery {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("the delivery is finished"))?;
        let n = file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

impl Delivery for MaildirDelivery {
    fn commit(mut self: Box<Self>) -> io::Result<Option<PathBuf>> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("the delivery is finished"))?;
        // Not fsynced: this is a catcher's test mail, and an fsync per
        // message (the Maildir spec's rule for a real MTA) halved the
        // throughput under load (docs/performance.md). The rename still
        // means a reader sees a message whole or not at all; a crash of the
        // machine may lose the last ones.
        drop(file.into_inner().map_err(|e| e.into_error())?);
        let dest = self.new.join(format!("{},S={}", self.name, self.size));
        fs::rename(&self.tmp, &dest)?;
        self.tmp = PathBuf::new();
        Ok(Some(dest))
    }
}

impl Drop for MaildirDelivery {
    fn drop(&mut self) {
        self.file = None;
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// `SECS.M<usec>P<pid>Q<n>R<random>.HOST`, unique per Maildir conventions
/// (time, pid, a per-process counter, 64 bits from the OS generator,
/// host); `,S=<size>` is added when the message is committed.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    // Maildir writes `/` and `:` in the host part as `\057` and `\072`;
    // `host_name` gives only letters, digits, `-` and `.`.
    let host = crate::local::host_name();
    debug_assert!(!host.contains(['/', ':']), "{host:?}");
    format!(
        "{:010}.M{:06}P{}Q{}R{:016x}.{host}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        crate::local::random_u64()
    )
}

/// Seconds (and microseconds after `.M`) from a Maildir name.
fn time_of_name(name: &str) -> Option<(u64, u64)> {
    let (secs, rest) = name.split_once('.')?;
    let secs = secs.parse().ok()?;
    let micros = rest
        .strip_prefix('M')
        .map(|r| {
            r.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    Some((secs, micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliver_then_list_in_arrival_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let md = Maildir::create(&dir.path().join("Maildir")).expect("create");
        assert!(md.list().expect("list").is_empty());
        let a = md.deliver(b"Subject: a\r\n\r\na\r\n").expect("deliver a");
        let b = md.deliver(b"Subject: b\r\n\r\nbb\r\n").expect("deliver b");
        assert!(a.starts_with(md.root().join("new")));
        assert_ne!(a, b);
        let list = md.list().expect("list");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].path, a);
        assert_eq!(list[1].path, b);
        assert_eq!(list[1].size, 18);
        assert_eq!(fs::read_dir(md.root().join("tmp")).expect("tmp").count(), 0);
        assert!(list[0].name.ends_with(",S=17"));
    }

    #[test]
    fn a_streamed_delivery_appears_only_when_committed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let md = Maildir::create(dir.path()).expect("create");
        let mut d = md.begin().expect("begin");
        d.write_all(b"Subject: s\r\n\r\nbody\r\n").expect("write");
        assert!(
            md.list().expect("list").is_empty(),
            "not visible before commit"
        );
        let path = d.commit().expect("commit").expect("a file");
        assert!(
            path.to_string_lossy().ends_with(",S=20"),
            "{}",
            path.display()
        );
        assert_eq!(
            fs::read(&path).expect("read"),
            b"Subject: s\r\n\r\nbody\r\n"
        );
        let mut abandoned = md.begin().expect("begin");
        abandoned.write_all(b"half").expect("write");
        drop(abandoned);
        assert_eq!(fs::read_dir(md.root().join("tmp")).expect("tmp").count(), 0);
        assert_eq!(md.list().expect("list").len(), 1);
    }

    #[test]
    fn names_sort_by_time_and_cur_is_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let md = Maildir::create(dir.path()).expect("create");
        fs::write(md.root().join("cur/0000000200.M000001P1Q0.h:2,S"), b"x").expect("w");
        fs::write(md.root().join("new/0000000100.M000009P1Q0.h"), b"y").expect("w");
        fs::write(md.root().join("new/.hidden"), b"z").expect("w");
        let list = md.list().expect("list");
        let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["0000000100.M000009P1Q0.h", "0000000200.M000001P1Q0.h"]
        );
        assert_eq!(time_of_name("12.M34P5"), Some((12, 34)));
        assert_eq!(time_of_name("junk"), None);
        assert!(
            Maildir::open(&dir.path().join("none"))
                .list()
                .expect("list")
                .is_empty()
        );
    }
}
