//! Calls on directories: open, rename variants, link, unlink, readlink, list.

use super::{AsFd, Mode, once};
use rustix::fs::AtFlags;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

pub(crate) use super::backend::{names_with_prefix, open_dir, renameat_noreplace};

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

/// `renameat2(2)` with `RENAME_EXCHANGE`: atomically swap two names.
#[cfg(target_os = "linux")]
pub(crate) fn renameat_exchange(
    a_dir: impl AsFd,
    a: &Path,
    b_dir: impl AsFd,
    b: &Path,
) -> io::Result<()> {
    once("renameat2(RENAME_EXCHANGE)", || {
        rustix::fs::renameat_with(
            a_dir.as_fd(),
            a,
            b_dir.as_fd(),
            b,
            rustix::fs::RenameFlags::EXCHANGE,
        )
    })
}

/// macOS: `renameatx_np(2)` with `RENAME_SWAP` (Apple's `rename(2)` man
/// page): atomically swap two names; `ENOTSUP` where the filesystem
/// cannot.
#[cfg(target_os = "macos")]
pub(crate) fn renameat_exchange(
    a_dir: impl AsFd,
    a: &Path,
    b_dir: impl AsFd,
    b: &Path,
) -> io::Result<()> {
    once("renameatx_np(RENAME_SWAP)", || {
        apple_rename(a_dir, a, b_dir, b, rustix::fs::RenameFlags::EXCHANGE)
    })
}

/// macOS: `renameatx_np(2)` with `flags` (`RENAME_SWAP`, `RENAME_EXCL`).
/// Its `ENOTSUP` for a flag the filesystem lacks is returned as
/// `EOPNOTSUPP`, the errno the callers read as "unsupported" (the two are
/// one number on Linux and FreeBSD, two on macOS: `intro(2)`).
#[cfg(target_os = "macos")]
pub(super) fn apple_rename(
    from_dir: impl AsFd,
    from: &Path,
    to_dir: impl AsFd,
    to: &Path,
    flags: rustix::fs::RenameFlags,
) -> rustix::io::Result<()> {
    use rustix::io::Errno;
    match rustix::fs::renameat_with(from_dir.as_fd(), from, to_dir.as_fd(), to, flags) {
        Err(Errno::NOTSUP) => Err(Errno::OPNOTSUPP),
        other => other,
    }
}

/// No exchange on FreeBSD (its `rename(2)` has no flags): `ENOSYS`, the
/// typed "unsupported" error of filesystems that refuse
/// `RENAME_EXCHANGE`. No system call is made.
#[cfg(target_os = "freebsd")]
pub(crate) fn renameat_exchange(
    _a_dir: impl AsFd,
    _a: &Path,
    _b_dir: impl AsFd,
    _b: &Path,
) -> io::Result<()> {
    Err(rustix::io::Errno::NOSYS.into())
}

/// The names that start with `prefix`, of the entries `next` reads one by
/// one (`None` at the end): the listing loop of both backends.
pub(super) fn names_from(
    prefix: &[u8],
    mut next: impl FnMut() -> io::Result<Option<Vec<u8>>>,
) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    while let Some(name) = next()? {
        if name.starts_with(prefix) {
            names.push(OsString::from_vec(name));
        }
    }
    Ok(names)
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
            rustix::fs::mkdirat(rustix::fs::CWD, dir, Mode::from_raw_mode(0o777).os())
        }) {
            Ok(()) => {}
            // Created meanwhile by someone else: fine.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
