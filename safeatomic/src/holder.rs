//! Who holds a `flock` right now, as the kernel sees it: for a lock whose
//! holder wrote no payload (`flock(1)`), or one inherited across `fork`
//! by a child that outlived the process that took it.
//!
//! `/proc/locks` lists every lock with the pid that *took* it and the
//! device and inode it is on (`proc(5)`). A `flock` belongs to an open
//! file description, which a child process inherits, so when the pid that
//! took it is gone, the holder is whichever process still has a
//! descriptor of it: `/proc/<pid>/fdinfo/<fd>` lists the locks of each
//! descriptor (`lock:` lines). Linux only; diagnostics only — the answer
//! can be stale by the time it is read, and processes of other users are
//! visible to root only.

use crate::sys::{self, Stat};
use std::path::{Path, PathBuf};

/// A process holding a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) pid: u32,
    /// Its command name (`/proc/<pid>/comm`), if it can be read.
    pub(crate) command: Option<String>,
}

/// The process holding a `flock` on the file with `fstat` `st`, if the
/// kernel shows one to us.
pub(crate) fn of(st: &Stat) -> Option<Holder> {
    let locks = sys::process::read_small_file(Path::new("/proc/locks")).ok()?;
    let locks = String::from_utf8_lossy(&locks);
    let mut key = lock_key(st);
    let mut pids = flock_pids(&locks, &key);
    // btrfs: `/proc/locks` names the filesystem's device, `stat` the
    // subvolume's. Then the inode alone, when it names one locked file.
    if pids.is_empty()
        && let Some(only) = only_key_of_inode(&locks, st.st_ino)
    {
        pids = flock_pids(&locks, &only);
        key = only;
    }
    // The pid that took it, if it still exists (as our own descriptors
    // do not outlive us, a live taker is the holder or the parent of it).
    let pid = match pids
        .iter()
        .copied()
        .find(|pid| sys::process::pid_exists(*pid) == Some(true))
    {
        Some(pid) => pid,
        // The taker is gone: a process that inherited its descriptor.
        None if !pids.is_empty() => inheritor(&key)?,
        None => return None,
    };
    Some(Holder {
        pid,
        command: command(pid),
    })
}

/// How `/proc/locks` and `fdinfo` name a file: `MAJ:MIN:INODE`, the
/// device numbers in hex (`fs/locks.c`, `lock_get_status`).
fn lock_key(st: &Stat) -> String {
    let (major, minor) = sys::statfs::major_minor(st.st_dev);
    format!("{major:02x}:{minor:02x}:{}", st.st_ino)
}

/// The pids that took the `FLOCK` locks on `key` (held, not waiting: a
/// waiter's line has `->`).
fn flock_pids(locks: &str, key: &str) -> Vec<u32> {
    locks
        .lines()
        .filter(|line| !line.contains("->"))
        .filter_map(|line| {
            // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:10010856 0 EOF"
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&key))
                .then(|| fields.get(4)?.parse::<u32>().ok())
                .flatten()
                .filter(|pid| *pid > 0)
        })
        .collect()
}

/// The one `MAJ:MIN:INODE` of the `FLOCK` locks on inode `ino`, if they
/// are all on one device.
fn only_key_of_inode(locks: &str, ino: u64) -> Option<String> {
    let suffix = format!(":{ino}");
    let mut keys = locks
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.contains(&"FLOCK"))
        .filter_map(|f| {
            f.iter()
                .find(|x| x.ends_with(&suffix) && x.matches(':').count() == 2)
                .map(|k| (*k).to_owned())
        });
    let first = keys.next()?;
    keys.all(|k| k == first).then_some(first)
}

/// The first process with a descriptor whose `fdinfo` lists a lock on
/// `key`.
fn inheritor(key: &str) -> Option<u32> {
    let proc = sys::dir::open_dir(rustix::fs::CWD, Path::new("/proc")).ok()?;
    let pids = sys::dir::names_with_prefix(&proc, b"").ok()?;
    pids.iter()
        .filter_map(|name| name.to_str()?.parse::<u32>().ok())
        .find(|pid| holds(*pid, key))
}

/// Whether a descriptor of process `pid` carries a lock on `key`.
fn holds(pid: u32, key: &str) -> bool {
    let fdinfo = PathBuf::from(format!("/proc/{pid}/fdinfo"));
    let Ok(dir) = sys::dir::open_dir(rustix::fs::CWD, &fdinfo) else {
        return false;
    };
    let Ok(fds) = sys::dir::names_with_prefix(&dir, b"") else {
        return false;
    };
    fds.iter()
        .filter(|fd| fd.as_encoded_bytes() != b"." && fd.as_encoded_bytes() != b"..")
        .any(|fd| {
            sys::process::read_small_file(&fdinfo.join(fd)).is_ok_and(|text| {
                String::from_utf8_lossy(&text)
                    .lines()
                    .any(|l| l.starts_with("lock:") && l.contains(" FLOCK ") && l.contains(key))
            })
        })
}

/// `/proc/<pid>/comm`: the process's command name.
fn command(pid: u32) -> Option<String> {
    let comm = sys::process::read_small_file(Path::new(&format!("/proc/{pid}/comm"))).ok()?;
    let comm = String::from_utf8_lossy(&comm).trim_end().to_owned();
    (!comm.is_empty()).then_some(comm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flock_pids_are_read_for_the_file_only() {
        let locks = "\
1: FLOCK  ADVISORY  WRITE 14850 fe:00:10010856 0 EOF
1: -> FLOCK  ADVISORY  WRITE 14999 fe:00:10010856 0 EOF
2: POSIX  ADVISORY  WRITE 200 fe:00:10010856 0 EOF
3: FLOCK  ADVISORY  READ 300 fe:00:10010856 0 EOF
4: FLOCK  ADVISORY  WRITE 400 fe:00:99 0 EOF
5: FLOCK  ADVISORY  WRITE -1 fe:00:10010856 0 EOF
";
        assert_eq!(flock_pids(locks, "fe:00:10010856"), [14850, 300]);
        assert!(flock_pids(locks, "fe:01:10010856").is_empty());
    }

    #[test]
    fn an_inode_locked_on_one_device_only_is_found_whatever_stat_says() {
        let locks = "\
1: FLOCK  ADVISORY  WRITE 14850 00:2d:257 0 EOF
2: FLOCK  ADVISORY  WRITE 200 fe:00:99 0 EOF
3: FLOCK  ADVISORY  WRITE 300 00:2e:99 0 EOF
";
        assert_eq!(only_key_of_inode(locks, 257).as_deref(), Some("00:2d:257"));
        assert_eq!(only_key_of_inode(locks, 99), None, "two devices: ambiguous");
        assert_eq!(only_key_of_inode(locks, 5), None);
    }
}
