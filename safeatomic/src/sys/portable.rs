//! The portable backend: what macOS and FreeBSD offer, written so that the
//! same code runs on Linux too (built with `--cfg safeatomic_portable`),
//! where the test suites exercise it (decision 0013). The Linux backend
//! ([`super::linux`]) has a counterpart of every item here.
//!
//! The only lines here that Linux cannot run are marked `macOS:` and
//! follow the Apple man page they name.

use super::{AsFd, Mode, OFlags, OwnedFd, once};
use std::ffi::OsString;
use std::io;
use std::path::Path;

/// `openat(2)` of a directory with `O_RDONLY|O_DIRECTORY` (readable so it can
/// be listed and fsynced). `path` is resolved relative to `dir`.
///
/// Without `O_NOATIME`, which only Linux has (decision 0007): where the
/// filesystem updates access times, the litter sweep's listing updates
/// the directory's.
pub(crate) fn open_dir(dir: impl AsFd, path: &Path) -> io::Result<OwnedFd> {
    super::file::openat(dir, path, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())
}

/// macOS: `renameatx_np(2)` with `RENAME_EXCL` (Apple's `rename(2)` man
/// page, which documents `renamex_np` and `renameatx_np`): fails with
/// `EEXIST` if `to` exists, or `ENOTSUP` where the filesystem lacks the
/// flag (the caller then uses `link(2)`).
#[cfg(target_os = "macos")]
pub(crate) fn renameat_noreplace(
    from_dir: impl AsFd,
    from: &Path,
    to_dir: impl AsFd,
    to: &Path,
) -> io::Result<()> {
    once("renameatx_np(RENAME_EXCL)", || {
        super::dir::apple_rename(
            from_dir,
            from,
            to_dir,
            to,
            rustix::fs::RenameFlags::NOREPLACE,
        )
    })
}

/// No rename without replace (FreeBSD's `rename(2)` has no flags):
/// `ENOSYS`, which the caller learns once per device and answers with
/// `link(2)` + `unlink(2)`, whose `EEXIST` keeps the decision atomic.
/// No system call is made.
#[cfg(not(target_os = "macos"))]
pub(crate) fn renameat_noreplace(
    _from_dir: impl AsFd,
    _from: &Path,
    _to_dir: impl AsFd,
    _to: &Path,
) -> io::Result<()> {
    Err(rustix::io::Errno::NOSYS.into())
}

/// The names in a directory that start with `prefix`, read through the
/// portable directory stream (`fdopendir(3)`/`readdir(3)` where libc is
/// the backend, `getdents64(2)` on Linux), which opens the directory
/// again (`opendir` fault point) and reads it from its start.
///
/// The `readdir` fault point fires once per entry, where a failure of the
/// underlying read can surface. Not retried on `EINTR`: the stream stops
/// after its first error.
pub(crate) fn names_with_prefix(dir: impl AsFd, prefix: &[u8]) -> io::Result<Vec<OsString>> {
    let mut entries = once("opendir", || rustix::fs::Dir::read_from(dir.as_fd()))?;
    super::dir::names_from(prefix, || {
        once("readdir", || match entries.read() {
            None => Ok(None),
            Some(r) => r.map(|e| Some(e.file_name().to_bytes().to_vec())),
        })
    })
}

/// The umask cannot be read without `/proc` (and `umask(2)` cannot be read
/// without being set, a race with every other thread): unknown, so callers
/// fix modes explicitly.
pub(crate) fn umask() -> Option<u32> {
    None
}

/// No `O_TMPFILE` outside Linux: `EOPNOTSUPP`, without a system call (the
/// doctor's informational probe reports it).
pub(crate) fn open_tmpfile(_dir: impl AsFd) -> io::Result<OwnedFd> {
    Err(rustix::io::Errno::OPNOTSUPP.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_finds_exactly_the_names_with_the_prefix() {
        let d = tempfile::tempdir().unwrap();
        for name in [
            ".safeatomic-tmp-a",
            ".safeatomic-tmp-b",
            "other",
            ".safeatomic",
        ] {
            let path = d.path().join(name);
            let flags = OFlags::CREATE | OFlags::WRONLY;
            super::super::file::openat(rustix::fs::CWD, &path, flags, Mode::from_raw_mode(0o600))
                .unwrap();
        }
        let dir = open_dir(rustix::fs::CWD, d.path()).unwrap();
        let mut names = names_with_prefix(&dir, b".safeatomic-tmp-").unwrap();
        names.sort();
        assert_eq!(names, [".safeatomic-tmp-a", ".safeatomic-tmp-b"]);
        // The stream reads the directory from its start: a second listing
        // of the same descriptor finds the same names.
        assert_eq!(names_with_prefix(&dir, b"other").unwrap(), ["other"]);
    }
}
