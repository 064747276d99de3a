//! One running server's own directory: `<sandbox dir>/instances/<pid>-<port>/`,
//! holding the CA certificate made for it (`ca.pem`, for `--cafile`) and an
//! `owner` file saying which process made it.
//!
//! Every sandbox (`--sandbox`, `connect sandbox`, `smtpsh serve`) gets its
//! own, so a second one never rewrites the CA that clients of the first
//! trust. The directory is removed when its [`Instance`] is dropped (a
//! clean stop). One left behind by a process that died is removed by the
//! next start — but only when it is provably stale: on Linux, the `owner`
//! file names the same boot and PID namespace as ours and that process no
//! longer exists. Anything else (another machine sharing the directory,
//! another container, an unreadable `owner`, unknown files inside) is left
//! alone.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The subdirectory of the sandbox directory that holds the instances.
pub const INSTANCES_DIR: &str = "instances";
/// The CA certificate's file name in an instance directory.
pub const CA_FILE_NAME: &str = "ca.pem";
/// The file naming the process that owns an instance directory.
const OWNER_FILE: &str = "owner";

/// A running server's directory; removed on drop.
#[derive(Debug)]
pub struct Instance {
    dir: PathBuf,
    ca_file: PathBuf,
}

impl Instance {
    /// Makes `sandbox_dir/instances/<pid>-<port>/` (a suffix `-N` if that
    /// name is taken, which only a process of another machine or container
    /// could have done) with its `owner` file and `ca.pem`. Stale
    /// directories of dead processes are removed first.
    pub fn create(sandbox_dir: &Path, port: u16, ca_pem: &str) -> io::Result<Instance> {
        let parent = sandbox_dir.join(INSTANCES_DIR);
        crate::local::create_private_dir(&parent)?;
        clean_stale(&parent);
        let pid = std::process::id();
        let dir = make_unique_dir(&parent, &format!("{pid}-{port}"))?;
        let instance = Instance {
            ca_file: dir.join(CA_FILE_NAME),
            dir,
        };
        // From here on, a failure removes the directory (drop).
        fs::write(instance.dir.join(OWNER_FILE), Owner::ours().to_text())?;
        // A plain write: the directory is new and ours, and nobody is told
        // of the file before this returns.
        fs::write(&instance.ca_file, ca_pem)?;
        Ok(instance)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its `ca.pem`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        remove_instance_dir(&self.dir);
    }
}

/// Removes an instance directory if it holds only what an instance writes
/// (its `ca.pem` and `owner`); anything else inside, and the whole
/// directory stays.
pub fn remove_instance_dir(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut files = Vec::new();
    for entry in entries {
        let Ok(entry) = entry else { return };
        let ours = entry.file_name() == CA_FILE_NAME || entry.file_name() == OWNER_FILE;
        if !ours || !entry.file_type().is_ok_and(|t| t.is_file()) {
            return;
        }
        files.push(entry.path());
    }
    for file in files {
        let _ = fs::remove_file(file);
    }
    let _ = fs::remove_dir(dir);
}

/// Creates `parent/name`, else `parent/name-1`, `-2`, ... (never an
/// existing directory).
fn make_unique_dir(parent: &Path, name: &str) -> io::Result<PathBuf> {
    let mut last = None;
    for n in 0..100 {
        let dir = if n == 0 {
            parent.join(name)
        } else {
            parent.join(format!("{name}-{n}"))
        };
        match private_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free instance directory name")))
}

/// Creates exactly `dir` (not its parents), mode 0700; fails if it exists.
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().mode(0o700).create(dir)
}

/// Which process made an instance directory, and where it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    pid: u32,
    /// The kernel's boot id (Linux), empty if unknown.
    boot: String,
    /// The PID namespace (`pid:[4026531836]`, Linux), empty if unknown.
    pidns: String,
}

impl Owner {
    /// This process.
    fn ours() -> Owner {
        Owner {
            pid: std::process::id(),
            boot: boot_id().unwrap_or_default(),
            pidns: pid_namespace().unwrap_or_default(),
        }
    }

    fn to_text(&self) -> String {
        format!(
            "pid {}\nboot {}\npidns {}\n",
            self.pid, self.boot, self.pidns
        )
    }

    fn parse(text: &str) -> Option<Owner> {
        let mut pid = None;
        let mut boot = None;
        let mut pidns = None;
        for line in text.lines() {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "pid" => pid = value.parse().ok(),
                "boot" => boot = Some(value.to_string()),
                "pidns" => pidns = Some(value.to_string()),
                _ => {}
            }
        }
        Some(Owner {
            pid: pid?,
            boot: boot?,
            pidns: pidns?,
        })
    }
}

/// Removes the instance directories under `parent` whose owner provably no
/// longer runs; returns how many.
fn clean_stale(parent: &Path) -> usize {
    let ours = Owner::ours();
    if !can_see_processes_of(&ours) {
        return 0;
    }
    let Ok(entries) = fs::read_dir(parent) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let dir = entry.path();
        let Ok(text) = fs::read_to_string(dir.join(OWNER_FILE)) else {
            continue;
        };
        let Some(owner) = Owner::parse(&text) else {
            continue;
        };
        if owner.boot == ours.boot && owner.pidns == ours.pidns && !process_exists(owner.pid) {
            remove_instance_dir(&dir);
            if !dir.exists() {
                removed += 1;
            }
        }
    }
    removed
}

/// Whether `/proc` shows the processes of `ours`'s PID namespace: the boot
/// and namespace are known and `/proc/self` is this process.
fn can_see_processes_of(ours: &Owner) -> bool {
    if ours.boot.is_empty() || ours.pidns.is_empty() {
        return false;
    }
    fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str().and_then(|s| s.parse::<u32>().ok()))
        == Some(ours.pid)
}

/// Whether process `pid` exists (in this PID namespace, per `/proc`).
fn process_exists(pid: u32) -> bool {
    // Anything but a clear "not there" counts as existing.
    !matches!(
        fs::symlink_metadata(Path::new("/proc").join(pid.to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound
    )
}

/// The kernel's boot id (Linux), changed at every boot.
fn boot_id() -> Option<String> {
    let id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
        .then(|| id.to_string())
}

/// This process's PID namespace (Linux): `pid:[4026531836]`.
fn pid_namespace() -> Option<String> {
    let link = fs::read_link("/proc/self/ns/pid").ok()?;
    let text = link.to_str()?;
    (text.starts_with("pid:[") && !text.contains('\n')).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n";

    #[test]
    fn an_instance_has_its_own_directory_and_removes_it_when_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = Instance::create(dir.path(), 1025, PEM).expect("a");
        let b = Instance::create(dir.path(), 1025, PEM).expect("b");
        assert_ne!(a.dir(), b.dir());
        let pid = std::process::id();
        assert_eq!(
            a.dir(),
            dir.path().join(INSTANCES_DIR).join(format!("{pid}-1025"))
        );
        assert_eq!(
            b.dir(),
            dir.path().join(INSTANCES_DIR).join(format!("{pid}-1025-1"))
        );
        assert_eq!(fs::read_to_string(a.ca_file()).expect("ca"), PEM);
        let (a_dir, b_dir) = (a.dir().to_path_buf(), b.dir().to_path_buf());
        drop(a);
        assert!(!a_dir.exists());
        assert!(b_dir.join(CA_FILE_NAME).is_file());
        drop(b);
        assert!(!b_dir.exists());
    }

    #[test]
    fn owner_files_read_back() {
        let o = Owner {
            pid: 42,
            boot: "b1f0-99".into(),
            pidns: "pid:[4026531836]".into(),
        };
        assert_eq!(Owner::parse(&o.to_text()), Some(o));
        assert_eq!(Owner::parse("pid 42\nboot x\n"), None);
        assert_eq!(Owner::parse("pid x\nboot x\npidns y\n"), None);
    }

    /// A directory as a process that has ended would have left it.
    fn leave(parent: &Path, name: &str, owner: &Owner) -> PathBuf {
        let dir = parent.join(name);
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join(OWNER_FILE), owner.to_text()).expect("owner");
        fs::write(dir.join(CA_FILE_NAME), PEM).expect("ca");
        dir
    }

    #[test]
    fn only_provably_stale_directories_are_cleaned() {
        let ours = Owner::ours();
        if !can_see_processes_of(&ours) {
            // Not Linux with /proc: nothing is ever provably stale.
            let dir = tempfile::tempdir().expect("temp dir");
            let d = leave(dir.path(), "1-1", &ours);
            assert_eq!(clean_stale(dir.path()), 0);
            assert!(d.exists());
            return;
        }
        // A PID that no process has: a child that has been waited for.
        let mut child = std::process::Command::new("true").spawn().expect("true");
        let dead = child.id();
        child.wait().expect("wait");

        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path();
        let stale = leave(
            p,
            &format!("{dead}-1025"),
            &Owner {
                pid: dead,
                ..ours.clone()
            },
        );
        let alive = leave(p, "mine", &ours);
        let other_boot = leave(
            p,
            "other-boot",
            &Owner {
                pid: dead,
                boot: "another-machine".into(),
                ..ours.clone()
            },
        );
        let other_ns = leave(
            p,
            "other-ns",
            &Owner {
                pid: dead,
                pidns: "pid:[1]".into(),
                ..ours.clone()
            },
        );
        let no_owner = p.join("no-owner");
        fs::create_dir_all(&no_owner).expect("mkdir");
        let extra = leave(
            p,
            "extra",
            &Owner {
                pid: dead,
                ..ours.clone()
            },
        );
        fs::write(extra.join("notes.txt"), "mine").expect("extra file");

        // Only `stale` goes; `extra`, holding a file an instance never
        // writes, stays whole.
        assert_eq!(clean_stale(p), 1);
        assert!(!stale.exists());
        for kept in [&alive, &other_boot, &other_ns, &no_owner, &extra] {
            assert!(kept.exists(), "{}", kept.display());
        }
        assert!(extra.join("notes.txt").exists());
        assert!(extra.join(OWNER_FILE).exists());
    }
}
