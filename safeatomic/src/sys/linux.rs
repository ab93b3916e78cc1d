//! The Linux backend: the calls that only Linux has, or that Linux does
//! better than the portable backend ([`super::portable`], decision 0013).

use super::process::read_small_file;
use super::{AsFd, Mode, OFlags, OwnedFd, once, retry_intr};
use rustix::fs::RenameFlags;
use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::sync::OnceLock;

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
        match rustix::fs::openat(
            dir.as_fd(),
            path,
            flags | OFlags::NOATIME,
            Mode::empty().os(),
        ) {
            Err(rustix::io::Errno::PERM) => {
                rustix::fs::openat(dir.as_fd(), path, flags, Mode::empty().os())
            }
            other => other,
        }
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
    super::dir::names_from(prefix, || {
        retry_intr("readdir", || match entries.next() {
            None => Ok(None),
            Some(r) => r.map(|e| Some(e.file_name().to_bytes().to_vec())),
        })
    })
}

/// The process umask, read once from `/proc/self/status` (Linux ≥ 4.7).
///
/// `umask(2)` cannot be read without being set, and setting it is a race
/// with every other thread creating files; so we never call it. `None` when
/// `/proc` is unavailable: callers then fix modes explicitly.
pub(crate) fn umask() -> Option<u32> {
    static UMASK: OnceLock<Option<u32>> = OnceLock::new();
    *UMASK.get_or_init(|| {
        let text = read_small_file(Path::new("/proc/self/status")).ok()?;
        let text = String::from_utf8(text).ok()?;
        let line = text.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(line.trim(), 8).ok()
    })
}

/// The text of `/proc/self/mountinfo` (see `proc_pid_mountinfo(5)`).
pub(crate) fn mountinfo() -> io::Result<String> {
    let bytes = read_small_file(Path::new("/proc/self/mountinfo"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `openat(2)` with `O_TMPFILE`: an unnamed file in the directory `dir`.
pub(crate) fn open_tmpfile(dir: impl AsFd) -> io::Result<OwnedFd> {
    retry_intr("openat(O_TMPFILE)", || {
        rustix::fs::openat(
            dir.as_fd(),
            ".",
            OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600).os(),
        )
    })
}
