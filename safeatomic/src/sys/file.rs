//! Calls on regular files and on the directory entries that name them.

use super::{AsFd, Mode, OFlags, OwnedFd, Stat, once, retry_intr};
use rustix::fs::AtFlags;
use std::io;
use std::path::Path;

pub(crate) use super::backend::open_tmpfile;

/// `openat(2)`. `O_CLOEXEC` is always added.
pub(crate) fn openat(
    dir: impl AsFd,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    // open(2) can return EINTR while waiting on a FIFO or a slow device.
    retry_intr("openat", || {
        rustix::fs::openat(dir.as_fd(), path, flags | OFlags::CLOEXEC, mode.os())
    })
}

/// `write(2)` until all of `buf` is written (short writes and `EINTR` handled).
pub(crate) fn write_all(fd: impl AsFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = retry_intr("write", || rustix::io::write(fd.as_fd(), buf))?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0"));
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// `read(2)` once (`EINTR` retried). Returns 0 at end of file.
pub(crate) fn read(fd: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    retry_intr("read", || rustix::io::read(fd.as_fd(), &mut *buf))
}

/// Reads the file from its start (`pread`: the descriptor's position is
/// neither used nor moved, so the same descriptor can be read again) to
/// its end, or until more than `limit` bytes have been read (the caller
/// rejects an oversized file by its length). The buffer doubles as it
/// fills, so a large file takes a few large reads.
pub(crate) fn read_up_to(fd: impl AsFd, limit: usize) -> io::Result<Vec<u8>> {
    let mut out = vec![0u8; limit.saturating_add(1).min(8192)];
    let mut len = 0;
    while len <= limit {
        if len == out.len() {
            out.resize(out.len().saturating_mul(2).min(limit.saturating_add(1)), 0);
        }
        let n = pread(fd.as_fd(), &mut out[len..], len as u64)?;
        if n == 0 {
            break;
        }
        len += n;
    }
    out.truncate(len);
    Ok(out)
}

/// `pread(2)` once at `offset` (`EINTR` retried). Returns 0 at end of file.
pub(crate) fn pread(fd: impl AsFd, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    retry_intr("pread", || rustix::io::pread(fd.as_fd(), &mut *buf, offset))
}

/// `lseek(2)`.
pub(crate) fn seek(fd: impl AsFd, pos: io::SeekFrom) -> io::Result<u64> {
    let pos = match pos {
        io::SeekFrom::Start(n) => rustix::fs::SeekFrom::Start(n),
        io::SeekFrom::End(n) => rustix::fs::SeekFrom::End(n),
        io::SeekFrom::Current(n) => rustix::fs::SeekFrom::Current(n),
    };
    once("lseek", || rustix::fs::seek(fd.as_fd(), pos))
}

/// `fsync(2)`: flush data and metadata of a file or directory to stable storage.
#[cfg(not(target_os = "macos"))]
pub(crate) fn fsync(fd: impl AsFd) -> io::Result<()> {
    retry_intr("fsync", || rustix::fs::fsync(fd.as_fd()))
}

/// macOS: `fcntl(F_FULLFSYNC)` (Apple's `fcntl(2)` and `fsync(2)` man
/// pages): flush data and metadata of a file or directory to stable
/// storage, the drive's write cache included, which a plain `fsync(2)`
/// there leaves unflushed.
///
/// A filesystem that does not implement it answers `ENOTSUP` (SMB, NTFS),
/// `EINVAL` (WebDAV, macFUSE) or `ENOTTY` (OpenZFS), per Apple's
/// published filesystem sources; there the strongest flush it has, plain
/// `fsync(2)`, is made instead (as Go's `File.Sync` and libuv do). APFS
/// and HFS+ implement it, so the fallback never weakens a class the
/// library guarantees (ZFS's `fsync` commits its intent log and flushes
/// the disks' caches itself).
#[cfg(target_os = "macos")]
pub(crate) fn fsync(fd: impl AsFd) -> io::Result<()> {
    use rustix::io::Errno;
    match retry_intr("fcntl(F_FULLFSYNC)", || {
        rustix::fs::fcntl_fullfsync(fd.as_fd())
    }) {
        Err(e)
            if matches!(
                super::errno(&e),
                Some(Errno::NOTSUP | Errno::INVAL | Errno::NOTTY)
            ) =>
        {
            retry_intr("fsync", || rustix::fs::fsync(fd.as_fd()))
        }
        other => other,
    }
}

/// The fault point name of [`fsync`]'s call.
#[cfg(not(target_os = "macos"))]
const FSYNC: &str = "fsync";
#[cfg(target_os = "macos")]
const FSYNC: &str = "fcntl(F_FULLFSYNC)";

/// [`fsync`] without its fault point, for [`fsync_beside`]'s thread (whose
/// fault point passed on the caller's): `EINTR` retried.
#[cfg(not(target_os = "macos"))]
fn flush(fd: &OwnedFd) -> io::Result<()> {
    loop {
        match rustix::fs::fsync(fd) {
            Err(rustix::io::Errno::INTR) => continue,
            done => return done.map_err(io::Error::from),
        }
    }
}

/// [`fsync`] (macOS: `F_FULLFSYNC`, plain `fsync(2)` where a filesystem
/// does not implement it) without its fault point, for [`fsync_beside`].
#[cfg(target_os = "macos")]
fn flush(fd: &OwnedFd) -> io::Result<()> {
    use rustix::io::Errno;
    loop {
        match rustix::fs::fcntl_fullfsync(fd) {
            Err(Errno::INTR) => continue,
            Err(Errno::NOTSUP | Errno::INVAL | Errno::NOTTY) => loop {
                match rustix::fs::fsync(fd) {
                    Err(Errno::INTR) => continue,
                    done => return done.map_err(io::Error::from),
                }
            },
            done => return done.map_err(io::Error::from),
        }
    }
}

/// An `fsync(2)` under way on another thread ([`fsync_beside`]).
pub(crate) enum Beside<'scope> {
    Running(std::thread::ScopedJoinHandle<'scope, io::Result<()>>),
    Done(io::Result<()>),
}

impl Beside<'_> {
    /// Waits for the `fsync` and returns its result.
    pub(crate) fn wait(self) -> io::Result<()> {
        match self {
            Beside::Done(result) => result,
            Beside::Running(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the fsync thread panicked"))),
        }
    }
}

/// `fsync(2)` of `fd` on another thread of `scope`, while the caller goes
/// on (a checksummed write syncs its sidecar meanwhile: issue #17). Its
/// fault point passes here, on the caller's thread, so the call keeps its
/// place among the caller's calls; [`Beside::wait`] gives its result.
/// Where no thread can be started, the call is made here.
pub(crate) fn fsync_beside<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    fd: &'scope OwnedFd,
) -> Beside<'scope> {
    let interrupted = Some(rustix::io::Errno::INTR.raw_os_error());
    loop {
        match super::fault::point(super::fault::Call {
            name: FSYNC,
            interruptible: true,
        }) {
            Ok(()) => break,
            // An injected EINTR is retried here like a real one there.
            Err(e) if e.raw_os_error() == interrupted => continue,
            Err(e) => return Beside::Done(Err(e)),
        }
    }
    let sync = move || flush(fd);
    match std::thread::Builder::new()
        .name("safeatomic-fsync".to_owned())
        .spawn_scoped(scope, sync)
    {
        Ok(handle) => Beside::Running(handle),
        Err(_) => Beside::Done(sync()),
    }
}

/// `fstat(2)`.
pub(crate) fn fstat(fd: impl AsFd) -> io::Result<Stat> {
    once("fstat", || rustix::fs::fstat(fd.as_fd())).map(Stat::from)
}

/// `fstatat(2)` with `AT_SYMLINK_NOFOLLOW`: a symlink is described, not followed.
pub(crate) fn lstatat(dir: impl AsFd, path: &Path) -> io::Result<Stat> {
    once("fstatat", || {
        rustix::fs::statat(dir.as_fd(), path, AtFlags::SYMLINK_NOFOLLOW)
    })
    .map(Stat::from)
}

/// `fchmod(2)`.
pub(crate) fn fchmod(fd: impl AsFd, mode: Mode) -> io::Result<()> {
    once("fchmod", || rustix::fs::fchmod(fd.as_fd(), mode.os()))
}

/// `fchown(2)`.
pub(crate) fn fchown(fd: impl AsFd, uid: u32, gid: u32) -> io::Result<()> {
    once("fchown", || {
        rustix::fs::fchown(
            fd.as_fd(),
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        )
    })
}

/// `ftruncate(2)`.
pub(crate) fn ftruncate(fd: impl AsFd, len: u64) -> io::Result<()> {
    retry_intr("ftruncate", || rustix::fs::ftruncate(fd.as_fd(), len))
}

/// `pwrite(2)` of all of `buf` at `offset` (short writes and `EINTR` handled).
pub(crate) fn pwrite_all(fd: impl AsFd, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        let n = retry_intr("pwrite", || rustix::io::pwrite(fd.as_fd(), buf, offset))?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "pwrite returned 0",
            ));
        }
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// `fstatat(2)` following symlinks (like `stat(2)`).
pub(crate) fn statat(dir: impl AsFd, path: &Path) -> io::Result<Stat> {
    once("fstatat", || {
        rustix::fs::statat(dir.as_fd(), path, AtFlags::empty())
    })
    .map(Stat::from)
}

/// `faccessat(2)` with `W_OK`, using the effective ids: may this process
/// create files in the directory `path`? Writes nothing.
pub(crate) fn access_writable(path: &Path) -> io::Result<()> {
    once("faccessat(W_OK)", || {
        rustix::fs::accessat(
            rustix::fs::CWD,
            path,
            rustix::fs::Access::WRITE_OK,
            AtFlags::EACCESS,
        )
    })
}
