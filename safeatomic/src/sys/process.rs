//! Process facts: random bytes, ids, umask, host name.

use super::{Mode, OFlags, file, once};
use std::io;
use std::path::Path;
use std::sync::OnceLock;

/// `getrandom(2)`: 8 random bytes from the kernel's CSPRNG.
pub(crate) fn random_u64() -> io::Result<u64> {
    let mut buf = [0u8; 8];
    once("getrandom", || {
        rustix::rand::getrandom(&mut buf, rustix::rand::GetRandomFlags::empty()).map(|_| ())
    })?;
    Ok(u64::from_ne_bytes(buf))
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
