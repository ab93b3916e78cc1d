//! Process facts: random bytes, ids, umask, host name.

use super::{Mode, OFlags, file, once};
use std::io;
use std::path::Path;

pub(crate) use super::backend::{random_u64, umask};

/// Reads a small file (procfs) whole, through this module's calls.
pub(crate) fn read_small_file(path: &Path) -> io::Result<Vec<u8>> {
    let fd = file::openat(rustix::fs::CWD, path, OFlags::RDONLY, Mode::empty())?;
    file::read_up_to(&fd, usize::MAX)
}

/// `getpid(2)`; cannot fail.
pub(crate) fn pid() -> u32 {
    rustix::process::getpid()
        .as_raw_nonzero()
        .get()
        .unsigned_abs()
}

/// Whether a process with this pid exists (`kill(pid, 0)`): `Some(false)`
/// on `ESRCH`, `Some(true)` when it exists (also when we may not signal
/// it), `None` when it cannot be told.
pub(crate) fn pid_exists(pid: u32) -> Option<bool> {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)?;
    match once("kill", || rustix::process::test_kill_process(pid)) {
        Ok(()) => Some(true),
        Err(e) => match super::errno(&e) {
            Some(rustix::io::Errno::SRCH) => Some(false),
            Some(rustix::io::Errno::PERM) => Some(true),
            _ => None,
        },
    }
}

/// The host name from `uname(2)`; cannot fail.
pub(crate) fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The current time (`clock_gettime(CLOCK_REALTIME)` through std; never fails).
pub(crate) fn now() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

/// `geteuid(2)`: the effective user id, whose files we create; cannot fail.
pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}
