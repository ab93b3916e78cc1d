//! Temp files left by crashed writers ("litter"), and their removal.
//!
//! A writer holds `flock(LOCK_EX)` on its temp file from just after creating
//! it until it is renamed or removed. A crashed writer's lock is released by
//! the kernel at once. So a temp file whose lock can be taken belongs to no
//! live writer and is litter. The window between a writer's `openat` and its
//! `flock` is closed on the writer's side: after locking, it checks that its
//! file still has a link (`st_nlink > 0`) and starts over if a sweeper
//! removed it in between (see `publish::create_temp`).
//!
//! When sweeps run (issue #17): a sweep lists the whole directory, which
//! costs more the more files it holds, so writes do not sweep every time.
//! A directory is swept by `Store::open`, by [`cleanup_litter`], by the
//! first write or lock in it that a process makes (before the lock is
//! taken), and when a temp file cannot be created or written for lack of
//! space or inodes. Litter is left only by a writer that died, so a
//! directory needs a sweep once a process, not once a write.

use crate::error::{Error, Operation, Result};
use crate::identity::FileId;
use crate::sys::{self, AsFd, Mode, OFlags, Stat};
use crate::trust;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

/// The prefix of every temp file name: `.safeatomic-tmp-<16 hex>.tmp`.
pub(crate) const TEMP_PREFIX: &str = ".safeatomic-tmp-";
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// The name for a fresh temp file.
pub(crate) fn temp_name(random: u64) -> String {
    format!("{TEMP_PREFIX}{random:016x}{TEMP_SUFFIX}")
}

fn is_temp_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    let hex = b
        .strip_prefix(TEMP_PREFIX.as_bytes())
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX.as_bytes()));
    matches!(hex, Some(h) if h.len() == 16 && h.iter().all(u8::is_ascii_hexdigit))
}

/// The step of [`create_owned`] that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CreateStep {
    /// The exclusive create.
    Create,
    /// Taking the `flock` that marks the file as owned.
    Lock,
}

/// Creates a file under a fresh random name (`name_for(random)`) in `dir`
/// with `O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC`, `access` and `mode`, and
/// marks it as owned by a live process: `flock(LOCK_EX)` held for as long as
/// the returned descriptor lives, so that no sweep removes it. A sweep that
/// opened the file between our create and our lock may have removed it (it
/// saw it unlocked): then its link count is 0 and we start over under
/// another name, as for a name that exists already. On a failed lock the
/// file is removed again (best effort).
///
/// Temp files and the doctor's run markers both follow this protocol
/// (decision 0002); [`owner`] is the sweeper's side of it.
pub(crate) fn create_owned(
    dir: &sys::OwnedFd,
    name_for: impl Fn(u64) -> String,
    access: OFlags,
    mode: Mode,
) -> Result<(std::ffi::OsString, sys::OwnedFd, sys::Stat), (CreateStep, std::io::Error)> {
    const ATTEMPTS: usize = 16;
    for _ in 0..ATTEMPTS {
        let random = sys::process::random_u64();
        let name = std::ffi::OsString::from(name_for(random));
        // O_EXCL: never reuse an existing name (or follow a symlink planted
        // there); O_NOFOLLOW is belt and braces for the same.
        let fd = match sys::file::openat(
            dir,
            Path::new(&name),
            access | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW,
            mode,
        ) {
            Ok(fd) => fd,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err((CreateStep::Create, e)),
        };
        match sys::flock::lock_exclusive(&fd).and_then(|()| sys::file::fstat(&fd)) {
            Ok(st) if st.st_nlink > 0 => return Ok((name, fd, st)),
            Ok(_) => continue,
            Err(e) => {
                let _ = sys::dir::unlinkat(dir, Path::new(&name)); // best effort; litter otherwise
                return Err((CreateStep::Lock, e));
            }
        }
    }
    Err((
        CreateStep::Create,
        std::io::Error::from(rustix::io::Errno::EXIST),
    ))
}

/// Who owns a file that marks its owner by holding `flock` on it.
enum Owner {
    /// Nothing at the name.
    Gone,
    /// Held by a live process, not a regular file we may open, or another
    /// user's file: leave it.
    Live,
    /// A regular file nobody holds; locked by us as long as the fd lives.
    Dead(sys::OwnedFd, sys::Stat),
}

fn owner(dir: impl AsFd, name: &Path) -> std::io::Result<Owner> {
    // O_NOFOLLOW: a symlink planted under our name is never opened.
    // O_NONBLOCK: never hang on a FIFO planted there.
    let fd = match sys::file::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Owner::Gone),
        Err(_) => return Ok(Owner::Live), // a symlink, or not ours to open
    };
    let st = sys::file::fstat(&fd)?;
    // Only our own files: root does not remove other users' files either
    // (one named like ours may be theirs, or a trap).
    if !trust::is_regular(&st) || !trust::own_litter(&st) || !sys::flock::try_lock_exclusive(&fd)? {
        return Ok(Owner::Live);
    }
    Ok(Owner::Dead(fd, st))
}

/// Removes the litter in an open directory; returns how many files it removed.
/// Files that a live writer holds, other users' files, symlinks and
/// anything that is not a regular file are left alone.
pub(crate) fn sweep(dir: impl AsFd) -> std::io::Result<usize> {
    let dir = dir.as_fd();
    let mut removed = 0;
    for name in sys::dir::names_with_prefix(dir, TEMP_PREFIX.as_bytes())? {
        if !is_temp_name(&name) {
            continue;
        }
        let name = Path::new(&name);
        let Owner::Dead(_locked, st) = owner(dir, name)? else {
            continue; // gone already, or a live writer's, or not ours
        };
        // Unlink only the inode we locked, not something renamed there since.
        match sys::file::lstatat(dir, name) {
            Ok(now) if FileId::of(&now) == FileId::of(&st) => {
                sys::dir::unlinkat(dir, name)?;
                log::debug!("removed litter {}", name.display());
                removed += 1;
            }
            _ => {}
        }
    }
    Ok(removed)
}

/// The directories this process has swept, with the fault-injection
/// recording they were swept in (always 0 outside tests, see
/// `sys::fault::epoch`).
static SWEPT: Mutex<Option<HashSet<(FileId, u64)>>> = Mutex::new(None);

/// How many directories [`SWEPT`] remembers; past that it forgets them
/// all (and sweeps each once more), so that a process writing in
/// ever new directories does not grow it without bound.
const SWEPT_MAX: usize = 4096;

/// Marks the directory `st` as swept; `false` when it was already.
fn mark_swept(st: &Stat) -> bool {
    let key = (FileId::of(st), sys::fault::epoch());
    // A panic while holding the lock cannot leave the set half-changed.
    let mut swept = SWEPT.lock().unwrap_or_else(PoisonError::into_inner);
    let swept = swept.get_or_insert_with(HashSet::new);
    if swept.contains(&key) {
        return false;
    }
    if swept.len() >= SWEPT_MAX {
        swept.clear();
    }
    swept.insert(key)
}

/// Write step *sweep*: removes the litter in the open directory `dir`
/// (whose `stat` is `st`) unless this process swept it already. Call it
/// before taking the target's lock: a sweep lists the whole directory,
/// and nobody should wait for that. A failure is only logged: litter
/// removal is housekeeping, and must not fail the write.
pub(crate) fn sweep_first_time(dir: impl AsFd, st: &Stat, shown: &Path) {
    if mark_swept(st) {
        sweep_logged(dir, shown);
    }
}

/// [`sweep`], its failure logged, and the directory `st` remembered as
/// swept; returns how many files it removed.
pub(crate) fn sweep_remembered(dir: impl AsFd, st: &Stat, shown: &Path) -> usize {
    mark_swept(st);
    sweep_logged(dir, shown)
}

/// [`sweep`], its failure logged (as a failed sweep that removed nothing).
pub(crate) fn sweep_logged(dir: impl AsFd, shown: &Path) -> usize {
    sweep(dir).unwrap_or_else(|e| {
        log::debug!("litter sweep beside {} failed: {e}", shown.display());
        0
    })
}

/// The prefix of the doctor's probe files. A destructive run first creates
/// its marker `.safeatomic-doctor-<16 hex>` and holds `flock(LOCK_EX)` on it
/// for as long as it lives; its probe files are named
/// `.safeatomic-doctor-<16 hex>-<probe>` (plus `.lock`, `.sha256`, `.sha512`
/// beside some), and the marker is removed after all of them.
pub(crate) const PROBE_PREFIX: &str = ".safeatomic-doctor-";

/// The run id (16 hex digits) of a probe file or marker name.
fn probe_run_id(name: &OsStr) -> Option<&[u8]> {
    let rest = name.as_bytes().strip_prefix(PROBE_PREFIX.as_bytes())?;
    let id = rest.get(..16)?;
    let well_formed =
        id.iter().all(u8::is_ascii_hexdigit) && (rest.len() == 16 || rest.get(16) == Some(&b'-'));
    well_formed.then_some(id)
}

/// Removes the probe files of doctor runs that died (killed mid-run) in an
/// open directory; returns how many files it removed. A live run holds its
/// marker locked and is left alone; a run whose marker is gone is dead (the
/// marker is created before its first probe file and removed after the
/// last). Only regular files are removed.
pub(crate) fn sweep_probes(dir: impl AsFd) -> std::io::Result<usize> {
    let dir = dir.as_fd();
    let mut runs: std::collections::BTreeMap<Vec<u8>, Vec<std::ffi::OsString>> =
        std::collections::BTreeMap::new();
    for name in sys::dir::names_with_prefix(dir, PROBE_PREFIX.as_bytes())? {
        if let Some(id) = probe_run_id(&name) {
            runs.entry(id.to_vec()).or_default().push(name);
        }
    }
    let mut removed = 0;
    for (id, names) in runs {
        let marker = format!("{PROBE_PREFIX}{}", String::from_utf8_lossy(&id));
        let marker = Path::new(&marker);
        // Held (locked) while we remove the run's files.
        let _held = match owner(dir, marker)? {
            Owner::Dead(fd, _) => Some(fd),
            Owner::Gone => None,
            Owner::Live => continue, // a live run, or not a marker of ours
        };
        // The marker last, so an interrupted sweep leaves a dead marker
        // for the next one.
        let (markers, files): (Vec<_>, Vec<_>) = names.iter().partition(|n| Path::new(n) == marker);
        for name in files.into_iter().chain(markers) {
            let name = Path::new(name);
            match sys::file::lstatat(dir, name) {
                // Our own regular files only (as for temp files).
                Ok(st) if trust::is_regular(&st) && trust::own_litter(&st) => {
                    match sys::dir::unlinkat(dir, name) {
                        Ok(()) => removed += 1,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                    log::debug!("removed a dead doctor run's probe file {}", name.display());
                }
                _ => {}
            }
        }
    }
    Ok(removed)
}

/// Removes temp files left in `dir` by writers that crashed, and the probe
/// files of destructive [`doctor`](crate::doctor) runs that were killed, and
/// returns how many it removed. A temp file that a live writer (in any
/// process) is still writing, and the files of a doctor run still going,
/// are never touched; nor are files of other users (root included: root
/// does not remove other users' files).
///
/// A directory's temp-file litter is also removed by [`Store::open`](crate::Store::open),
/// by the first write (or lock) in it that a process makes, and when a
/// write runs out of space; a destructive doctor run removes the probe
/// files of dead runs. Call this yourself for directories you no longer
/// write to, or from a long-running program that outlives other writers
/// that may crash.
///
/// # Errors
///
/// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if `dir` does not
/// exist, [`ErrorKind::NotADirectory`](crate::ErrorKind::NotADirectory) if it
/// is not a directory, [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied)
/// if it cannot be read or changed.
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// // What a writer killed before its rename leaves behind (nobody holds it):
/// let litter = dir.path().join(".safeatomic-tmp-0123456789abcdef.tmp");
/// std::fs::write(&litter, b"half a file")?;
/// assert_eq!(safeatomic::cleanup_litter(dir.path())?, 1);
/// assert!(!litter.exists());
/// assert_eq!(safeatomic::cleanup_litter(dir.path())?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn cleanup_litter(dir: impl AsRef<Path>) -> Result<usize> {
    let path = dir.as_ref();
    let op = Operation::Cleanup;
    let dir = sys::dir::open_dir(rustix::fs::CWD, path)
        .map_err(|e| Error::io(op, "open directory", path, e))?;
    let st = sys::file::fstat(&dir).map_err(|e| Error::io(op, "open directory", path, e))?;
    mark_swept(&st);
    let temps = sweep(&dir).map_err(|e| Error::io(op, "remove litter", path, e))?;
    let probes =
        sweep_probes(&dir).map_err(|e| Error::io(op, "remove doctor probe files", path, e))?;
    Ok(temps + probes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised_exactly() {
        assert!(is_temp_name(OsStr::new(&temp_name(0xdead_beef))));
        assert!(!is_temp_name(OsStr::new(".safeatomic-tmp-xyz.tmp")));
        assert!(!is_temp_name(OsStr::new(
            ".safeatomic-tmp-0123456789abcdef.tmp.bak"
        )));
        assert!(!is_temp_name(OsStr::new("data.json")));
    }

    #[test]
    fn probe_names_are_recognised_exactly() {
        let id = |n: &str| probe_run_id(OsStr::new(n)).map(|i| i.to_vec());
        assert_eq!(
            id(".safeatomic-doctor-0123456789abcdef"),
            Some(b"0123456789abcdef".to_vec())
        );
        assert_eq!(
            id(".safeatomic-doctor-0123456789abcdef-lock.lock"),
            Some(b"0123456789abcdef".to_vec())
        );
        assert_eq!(id(".safeatomic-doctor-0123456789abcdefx"), None);
        assert_eq!(id(".safeatomic-doctor-0123456789abcde"), None);
        assert_eq!(id(".safeatomic-doctor-0123456789abcdeg-x"), None);
        assert_eq!(id("data.json"), None);
    }
}
