//! Calls on directories: open, rename variants, link, unlink, readlink, list.

use super::{AsFd, Mode, OFlags, OwnedFd, once, retry_intr};
use rustix::fs::{AtFlags, RenameFlags};
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// `openat(2)` of a directory with `O_RDONLY|O_DIRECTORY` (readable so it can
/// be listed and fsynced). `path` is resolved relative to `dir`.
///
/// With `O_NOATIME` where the kernel allows it (the caller owns the
/// directory or has `CAP_FOWNER`; otherwise `EPERM`, and the directory is
/// opened without it): a litter sweep lists the directory, and since
/// every write also changes the directory's mtime, `relatime` would
/// update its atime on every listing — a dirtied inode that measurably
/// slowed each durable write when every write swept (decision 0007), and
/// still costs one for each process's first write in a directory.
pub(crate) fn open_dir(dir: impl AsFd, path: &Path) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    retry_intr("openat", || {
        match rustix::fs::openat(dir.as_fd(), path, flags | OFlags::NOATIME, Mode::empty()) {
            Err(rustix::io::Errno::PERM) => {
                rustix::fs::openat(dir.as_fd(), path, flags, Mode::empty())
            }
            other => other,
        }
    })
}

/// `renameat(2)`: atomically replace `to` with `from`.
pub(crate) fn renameat(
    from_dir: impl AsFd,
    from: &Path,
    to_dir: impl AsFd,
    to: &Path,
) -> io::Result<()> {
    once("renameat", || {
        rustix::fs::renameat(from_dir.as_fd(), from, to_dir.as_fd(), to)
    })
}

/// `renameat2(2)` with `RENAME_NOREPLACE`: fails with `EEXIST` if `to` exists.
pub(crate) fn renameat_noreplace(
    from_dir: impl AsFd,
    from: &Path,
    to_dir: impl AsFd,
    to: &Path,
) -> io::Result<()> {
    once("renameat2(RENAME_NOREPLACE)", || {
        rustix::fs::renameat_with(
            from_dir.as_fd(),
            from,
            to_dir.as_fd(),
            to,
            RenameFlags::NOREPLACE,
        )
    })
}

/// `renameat2(2)` with `RENAME_EXCHANGE`: atomically swap two names.
pub(crate) fn renameat_exchange(
    a_dir: impl AsFd,
    a: &Path,
    b_dir: impl AsFd,
    b: &Path,
) -> io::Result<()> {
    once("renameat2(RENAME_EXCHANGE)", || {
        rustix::fs::renameat_with(a_dir.as_fd(), a, b_dir.as_fd(), b, RenameFlags::EXCHANGE)
    })
}

/// `linkat(2)` without following symlinks: fails with `EEXIST` if `to` exists.
pub(crate) fn linkat(
    from_dir: impl AsFd,
    from: &Path,
    to_dir: impl AsFd,
    to: &Path,
) -> io::Result<()> {
    once("linkat", || {
        rustix::fs::linkat(from_dir.as_fd(), from, to_dir.as_fd(), to, AtFlags::empty())
    })
}

/// `unlinkat(2)` of a non-directory.
pub(crate) fn unlinkat(dir: impl AsFd, path: &Path) -> io::Result<()> {
    once("unlinkat", || {
        rustix::fs::unlinkat(dir.as_fd(), path, AtFlags::empty())
    })
}

/// `readlinkat(2)`.
pub(crate) fn readlinkat(dir: impl AsFd, path: &Path) -> io::Result<PathBuf> {
    once("readlinkat", || {
        rustix::fs::readlinkat(dir.as_fd(), path, Vec::new())
    })
    .map(|target| PathBuf::from(OsString::from_vec(target.into_bytes())))
}

/// The names in a directory that start with `prefix`, read with
/// `getdents64(2)` straight from `dir` (no second open of the directory).
///
/// Rewinds the descriptor first (`lseek(2)` to 0): a directory handle
/// that was listed before is listed whole again. The `readdir` fault
/// point fires once per entry, where a failure of `getdents64` can
/// surface.
pub(crate) fn names_with_prefix(dir: impl AsFd, prefix: &[u8]) -> io::Result<Vec<OsString>> {
    super::file::seek(dir.as_fd(), io::SeekFrom::Start(0))?;
    let mut buf = Vec::with_capacity(8192);
    let mut entries = rustix::fs::RawDir::new(dir.as_fd(), buf.spare_capacity_mut());
    let mut names = Vec::new();
    loop {
        let entry = retry_intr("readdir", || match entries.next() {
            None => Ok(None),
            Some(r) => r.map(|e| Some(e.file_name().to_bytes().to_vec())),
        })?;
        let Some(name) = entry else { break };
        if name.starts_with(prefix) {
            names.push(OsString::from_vec(name));
        }
    }
    Ok(names)
}

/// `mkdir -p`: creates `path` and its missing parents with mode 0o777
/// (minus the umask), through `mkdirat(2)`.
#[cfg_attr(not(feature = "config-dir"), allow(dead_code))]
pub(crate) fn create_dir_all(path: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut cur = path;
    loop {
        match once("fstatat", || {
            rustix::fs::statat(rustix::fs::CWD, cur, AtFlags::empty())
        }) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(cur);
                match cur.parent() {
                    Some(p) if !p.as_os_str().is_empty() => cur = p,
                    _ => break,
                }
            }
            Err(e) => return Err(e),
        }
    }
    for dir in missing.into_iter().rev() {
        match once("mkdirat", || {
            rustix::fs::mkdirat(rustix::fs::CWD, dir, Mode::from_raw_mode(0o777))
        }) {
            Ok(()) => {}
            // Created meanwhile by someone else: fine.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
