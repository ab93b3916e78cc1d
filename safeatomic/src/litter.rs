//! Temp files left by crashed writers ("litter"), and their removal.
//!
//! A writer holds `flock(LOCK_EX)` on its temp file from just after creating
//! it until it is renamed or removed. A crashed writer's lock is released by
//! the kernel at once. So a temp file whose lock can be taken belongs to no
//! live writer and is litter. The window between a writer's `openat` and its
//! `flock` is closed on the writer's side: after locking, it checks that its
//! file still has a link (`st_nlink > 0`) and starts over if a sweeper
//! removed it in between (see `commit::create_temp`).

use crate::error::{Error, Operation, Result};
use crate::sys::{self, AsFd, Mode, OFlags};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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

/// Removes the litter in an open directory; returns how many files it removed.
/// Files that a live writer holds, symlinks and anything that is not a
/// regular file are left alone.
pub(crate) fn sweep(dir: impl AsFd) -> std::io::Result<usize> {
    let dir = dir.as_fd();
    let mut removed = 0;
    for name in sys::dir::names_with_prefix(dir, TEMP_PREFIX.as_bytes())? {
        if !is_temp_name(&name) {
            continue;
        }
        let name = Path::new(&name);
        // O_NOFOLLOW: a symlink planted under a temp name is never opened.
        // O_NONBLOCK: never hang on a FIFO planted under a temp name.
        let fd = match sys::file::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(_) => continue, // gone already, a symlink, or not ours to open
        };
        let st = sys::file::fstat(&fd)?;
        if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
            continue;
        }
        if !sys::flock::try_lock_exclusive(&fd)? {
            continue; // a live writer holds it
        }
        // Unlink only the inode we locked, not something renamed there since.
        match sys::file::lstatat(dir, name) {
            Ok(now) if now.st_dev == st.st_dev && now.st_ino == st.st_ino => {
                sys::dir::unlinkat(dir, name)?;
                log::debug!("removed litter {}", name.display());
                removed += 1;
            }
            _ => {}
        }
    }
    Ok(removed)
}

/// Removes temp files left in `dir` by writers that crashed, and returns how
/// many it removed. A temp file that a live writer (in any process) is still
/// writing is never touched.
///
/// Every write already does this for its own directory; call it yourself
/// for directories you no longer write to, or at startup.
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
    let fd = sys::dir::open_dir(rustix::fs::CWD, path)
        .map_err(|e| Error::io(op, "open directory", path, e))?;
    sweep(&fd).map_err(|e| Error::io(op, "remove litter", path, e))
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
}
