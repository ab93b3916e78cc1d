//! Process facts: random names, ids, umask, host name.

use super::{Mode, OFlags, file, once};
use std::io;
use std::path::Path;
use std::sync::OnceLock;

/// A fresh unpredictable number for a temp file's name, without a system
/// call: a per-process counter and the clock (which differ between a
/// process and the child it forked), hashed with SipHash under keys the
/// standard library draws once from the kernel's CSPRNG
/// (`std::hash::RandomState`). Other users cannot predict it, so they
/// cannot take the names we are about to use; `O_EXCL` makes a collision
/// harmless anyway (the caller draws again).
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // The clock through the vDSO: no system call.
    let t = now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    KEYS.get_or_init(RandomState::new).hash_one((n, t))
}

pub(crate) use super::backend::umask;

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
///
/// Read once a process (`uname(2)`): every lock payload names it, and a
/// host renamed while a program runs keeps the name it started with.
pub(crate) fn hostname() -> String {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    })
    .clone()
}

/// The current time (`clock_gettime(CLOCK_REALTIME)` through std; never fails).
pub(crate) fn now() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

/// `geteuid(2)`: the effective user id, whose files we create; cannot fail.
pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_do_not_repeat_and_spread_over_all_bits() {
        let values: Vec<u64> = (0..10_000).map(|_| random_u64()).collect();
        let distinct: std::collections::BTreeSet<u64> = values.iter().copied().collect();
        assert_eq!(distinct.len(), values.len());
        // Every bit is set in some value and clear in another.
        let (any, all) = values
            .iter()
            .fold((0u64, u64::MAX), |(any, all), v| (any | v, all & v));
        assert_eq!((any, all), (u64::MAX, 0));
    }
}
