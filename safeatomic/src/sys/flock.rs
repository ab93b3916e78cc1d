//! `flock(2)`: whole-file advisory locks bound to an open file description.

use super::{AsFd, once, retry_intr};
use rustix::fs::FlockOperation;
use std::io;

/// `flock(LOCK_EX)`: block until the exclusive lock is held.
pub(crate) fn lock_exclusive(fd: impl AsFd) -> io::Result<()> {
    // A blocking flock sleeps in the kernel and returns EINTR on signals.
    retry_intr("flock(LOCK_EX)", || {
        rustix::fs::flock(fd.as_fd(), FlockOperation::LockExclusive)
    })
}

/// `flock(LOCK_SH)`: block until a shared lock is held (no exclusive holder).
pub(crate) fn lock_shared(fd: impl AsFd) -> io::Result<()> {
    retry_intr("flock(LOCK_SH)", || {
        rustix::fs::flock(fd.as_fd(), FlockOperation::LockShared)
    })
}

/// `flock(LOCK_EX|LOCK_NB)`: `Ok(false)` when another open file description holds it.
pub(crate) fn try_lock_exclusive(fd: impl AsFd) -> io::Result<bool> {
    nonblocking(
        fd,
        "flock(LOCK_EX|LOCK_NB)",
        FlockOperation::NonBlockingLockExclusive,
    )
}

/// `flock(LOCK_SH|LOCK_NB)`: `Ok(false)` when an exclusive lock is held elsewhere.
pub(crate) fn try_lock_shared(fd: impl AsFd) -> io::Result<bool> {
    nonblocking(
        fd,
        "flock(LOCK_SH|LOCK_NB)",
        FlockOperation::NonBlockingLockShared,
    )
}

/// A `LOCK_NB` attempt: `EWOULDBLOCK` is an answer (`false`), not an error.
fn nonblocking(fd: impl AsFd, name: &'static str, op: FlockOperation) -> io::Result<bool> {
    match once(name, || rustix::fs::flock(fd.as_fd(), op)) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::WOULDBLOCK.raw_os_error()) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// `flock(LOCK_UN)`. Explicit rather than left to `close(2)`: a child forked
/// meanwhile shares the open file description and would keep the lock.
pub(crate) fn unlock(fd: impl AsFd) -> io::Result<()> {
    once("flock(LOCK_UN)", || {
        rustix::fs::flock(fd.as_fd(), FlockOperation::Unlock)
    })
}
