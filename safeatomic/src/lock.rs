//! Cooperative locks: kernel `flock(2)` on a persistent `<target>.lock` file
//! (`docs/design.md`, the lock protocol).
//!
//! # Why the lock file is never removed
//!
//! `flock` locks an *inode*. If a releasing holder unlinked the lock file, a
//! waiter still blocked on the old inode would acquire it while a newcomer
//! creates and locks a new file under the same name: two holders at once.
//! Python's `filelock` shipped exactly that and went back to keeping the file
//! (its issue 574). So the file is created on first use and kept; only
//! [`force_release_lock`] removes it, as an explicit operator override.
//!
//! # Why the file is opened without `O_TRUNC`, with `O_NOFOLLOW`
//!
//! A symlink planted at the lock name must not make us truncate or write
//! whatever it points to (CVE-2025-68146 in `filelock`). The file is opened
//! `O_RDWR|O_CREAT|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC`, and the diagnostic payload (a
//! fixed 512-byte record, decision 0006) is written in place only once the
//! lock is held.
//!
//! # Not compatible with `O_EXCL` lock files
//!
//! The Python reference library locks by creating a file with `O_EXCL`
//! (the file's *existence* is the lock). We lock with `flock` on a file
//! that always exists. The two protocols do not see each other: never let
//! users of both share one `<target>.lock`. `flock(1)`, Python
//! `filelock.UnixFileLock` and `portalocker` use `flock` and do interoperate.

use crate::checksum::digest::{Algorithm, compute_hash_data};
use crate::env::{self, Guarantee};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::policy::{Safety, SymlinkPolicy};
use crate::resolve::{self, Target};
use crate::sys::{self, Mode, OFlags, OwnedFd, Stat};
use crate::{holder, litter, timefmt, trust};
use rustix::io::Errno;
use serde::Serialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The suffix of lock files: `<target>.lock`.
const LOCK_SUFFIX: &str = ".lock";

/// The size of the payload record: the JSON line padded with spaces (so the
/// file's size, and its block allocation, never change after first use:
/// acquiring and releasing rewrite one block in place instead of freeing
/// and reallocating it, which the next fsync's journal commit would carry).
const RECORD: usize = 512;

/// The payload of a free lock: the record, all spaces (read as empty).
fn blank_record() -> [u8; RECORD] {
    let mut r = [b' '; RECORD];
    r[RECORD - 1] = b'\n';
    r
}

/// Payloads larger than this are not ours: reported as corrupt, not parsed.
const MAX_PAYLOAD: usize = 64 * 1024;

/// The longest sleep between attempts of a blocking acquire with a timeout.
/// Without a timeout the wait happens in the kernel (no polling at all).
const MAX_BACKOFF: Duration = Duration::from_millis(20);

/// Options for [`acquire_lock_with`] and [`try_acquire_lock_with`].
///
/// # Examples
///
/// ```
/// use safeatomic::{LockOptions, acquire_lock_with};
/// use std::time::Duration;
/// # let dir = tempfile::tempdir()?;
/// let opts = LockOptions::new()
///     .timeout(Some(Duration::from_secs(5)))
///     .session("deploy-42"); // only its SHA-256 reaches the disk
/// let guard = acquire_lock_with(dir.path().join("state.json"), &opts)?;
/// guard.release()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockOptions {
    timeout: Option<Duration>,
    session: Option<String>,
    safety: Safety,
}

impl LockOptions {
    /// Defaults: wait indefinitely, no session, [`Safety::Strict`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{LockOptions, Safety};
    /// assert_eq!(LockOptions::new(), LockOptions::default());
    /// assert_eq!(LockOptions::new(), LockOptions::new().timeout(None).safety(Safety::Strict));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a blocking acquire waits before failing with
    /// [`ErrorKind::LockTimeout`]; `None` waits indefinitely.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ErrorKind, LockOptions, acquire_lock_with};
    /// use std::time::Duration;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("state.json");
    /// let held = acquire_lock_with(&path, &LockOptions::new())?;
    /// let opts = LockOptions::new().timeout(Some(Duration::from_millis(20)));
    /// let err = acquire_lock_with(&path, &opts).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::LockTimeout);
    /// # drop(held);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// A caller session string. Its hex SHA-256 is written to the lock
    /// payload (the string itself never reaches the disk), so operators can
    /// tell which job holds a lock without exposing the identifier.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Algorithm, LockOptions, acquire_lock_with, compute_hash_data, inspect_lock};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("state.json");
    /// let guard = acquire_lock_with(&path, &LockOptions::new().session("deploy-42"))?;
    /// let expected = compute_hash_data(b"deploy-42", Algorithm::Sha256);
    /// assert_eq!(inspect_lock(&path)?.session_hash, Some(expected));
    /// # drop(guard);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn session(mut self, session: impl Into<String>) -> Self {
        self.session = Some(session.into());
        self
    }

    /// Sets the safety policy (WriterExclusion and StaleRecovery are needed).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{LockOptions, Safety, acquire_lock_with};
    /// # let dir = tempfile::tempdir()?;
    /// // Lock even where flock may not exclude (e.g. NFS), with a logged warning.
    /// let guard = acquire_lock_with(dir.path().join("job"), &LockOptions::new().safety(Safety::Warn))?;
    /// # drop(guard);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn safety(mut self, safety: Safety) -> Self {
        self.safety = safety;
        self
    }
}

/// A held lock. Released on drop, or explicitly (with errors reported) by
/// [`release`](LockGuard::release).
///
/// The lock belongs to this guard's own open file description, so it
/// excludes other threads of the same process as well as other processes.
///
/// # Examples
///
/// ```
/// use safeatomic::{acquire_lock, try_acquire_lock, write_atomic_locked};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("counter");
/// {
///     let guard = acquire_lock(&path, None)?;
///     write_atomic_locked(&guard, b"1")?; // read-modify-write under the lock
///     assert!(try_acquire_lock(&path)?.is_none());
/// } // dropped: released
/// assert!(try_acquire_lock(&path)?.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct LockGuard {
    fd: Option<OwnedFd>,
    writable: bool,
    /// The locked file's directory, held open: a write under this guard
    /// commits there, whatever happens to the path meanwhile.
    target: Target,
    lock_path: PathBuf,
    op: Operation,
}

impl LockGuard {
    /// The path the lock protects (after following symlinks).
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let (real, link) = (dir.path().join("real"), dir.path().join("link"));
    /// std::os::unix::fs::symlink(&real, &link)?;
    /// let guard = safeatomic::acquire_lock(&link, None)?;
    /// assert_eq!(guard.path(), real);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.target.path
    }

    /// The locked target: its directory handle and name.
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// The lock file, `<target>.lock`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let guard = safeatomic::acquire_lock(dir.path().join("state.json"), None)?;
    /// assert_eq!(guard.lock_path(), dir.path().join("state.json.lock"));
    /// assert!(guard.lock_path().exists()); // created on first use, never removed
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// Clears the payload and releases the lock.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if clearing the payload or unlocking fails; the
    /// lock is released anyway when the file is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let guard = safeatomic::acquire_lock(dir.path().join("f"), None)?;
    /// guard.release()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release(mut self) -> Result<()> {
        self.release_inner()
    }

    fn release_inner(&mut self) -> Result<()> {
        let Some(fd) = self.fd.take() else {
            return Ok(());
        };
        let fail = |step, e| lock_error(self.op, step, &self.target.path, &self.lock_path, e);
        let cleared = if self.writable {
            sys::file::pwrite_all(&fd, &blank_record(), 0)
                .map_err(|e| fail("clear lock payload", e))
        } else {
            Ok(())
        };
        let unlocked = sys::flock::unlock(&fd).map_err(|e| fail("unlock", e));
        drop(fd); // close(2) releases the lock in any case
        cleared.and(unlocked)
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Err(e) = self.release_inner() {
            log::warn!("{e}");
        }
    }
}

/// The diagnostic payload of a lock file (lock step *payload*): one line of
/// JSON.
#[derive(Debug, Serialize, serde::Deserialize)]
struct Payload {
    version: u32,
    pid: u32,
    hostname: String,
    session_hash: Option<String>,
    timestamp: String,
    #[serde(default)]
    kernel_lock: Option<String>,
}

impl Payload {
    fn current(session: Option<&str>) -> Self {
        Payload {
            version: 1,
            pid: sys::process::pid(),
            hostname: sys::process::hostname(),
            session_hash: session.map(session_hash),
            timestamp: timefmt::format(sys::process::now()),
            kernel_lock: Some("flock".to_owned()),
        }
    }

    fn to_line(&self) -> String {
        // Serializing plain strings and integers cannot fail.
        let mut line = serde_json::to_string(self).expect("payload serializes");
        line.push('\n');
        line
    }

    /// The line padded with spaces to the record size (a longer line —
    /// only with an absurd host name — is written as it is).
    fn to_record(&self) -> Vec<u8> {
        let mut line = self.to_line().into_bytes();
        if line.len() < RECORD {
            line.pop();
            line.resize(RECORD - 1, b' ');
            line.push(b'\n');
        }
        line
    }
}

/// The hex SHA-256 of a session string.
fn session_hash(session: &str) -> String {
    compute_hash_data(session.as_bytes(), Algorithm::Sha256)
}

/// The lock file name for a target name.
fn lock_name(target_name: &std::ffi::OsStr) -> OsString {
    let mut name = target_name.to_owned();
    name.push(LOCK_SUFFIX);
    name
}

/// `<target>.lock` for a target path (no symlinks followed, nothing touched).
///
/// # Examples
///
/// ```
/// use std::path::Path;
/// assert_eq!(safeatomic::lock_file_path("/srv/state.json"), Path::new("/srv/state.json.lock"));
/// ```
pub fn lock_file_path(target: impl AsRef<Path>) -> PathBuf {
    let mut p = target.as_ref().as_os_str().to_owned();
    p.push(LOCK_SUFFIX);
    PathBuf::from(p)
}

/// A lock error: named after the target the caller gave, with the lock
/// file in the detail, under the caller's operation (a locked write reports
/// `Operation::Write`).
fn lock_error(
    op: Operation,
    step: &'static str,
    target: &Path,
    lock_path: &Path,
    e: std::io::Error,
) -> Error {
    Error::io(op, step, target, e).with_detail(format!("lock file `{}`", lock_path.display()))
}

/// The lock file of an open directory, opened for locking.
struct Opened {
    fd: OwnedFd,
    writable: bool,
    /// Its `fstat` (to name the kernel's holder after a timeout).
    st: Stat,
}

/// Opens (creating if needed) the lock file of `target` and checks that it
/// can be trusted ([`trust::lock_file`]) before anything touches it.
///
/// A new lock file gets no wider permissions than the target has, or is
/// about to get (`mode`): `0o644` limited to those bits, read and write
/// kept for its owner; who can open a lock file can hold its `flock`.
fn open_lock_file(
    op: Operation,
    target: &Target,
    mode: Option<u32>,
    lock_path: &Path,
) -> Result<Opened> {
    let name = lock_name(&target.name);
    let name = Path::new(&name);
    let dir = &*target.dir;
    let mode = mode
        .or(target.found.file().map(|st| st.st_mode))
        .map_or(0o644, |m| (0o644 & m) | 0o600);
    let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK;
    let (fd, writable) = match sys::file::openat(dir, name, flags, Mode::from_raw_mode(mode)) {
        Ok(fd) => (fd, true),
        // Someone else's lock file that we may not write, or one on a
        // read-only mount: flock works on a read-only descriptor too; we
        // just cannot leave a payload.
        Err(e) if matches!(sys::errno(&e), Some(Errno::ACCESS | Errno::ROFS)) => {
            let ro = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK;
            match sys::file::openat(dir, name, ro, Mode::empty()) {
                Ok(fd) => (fd, false),
                Err(_) => return Err(lock_error(op, "open lock file", &target.path, lock_path, e)),
            }
        }
        Err(e) => return Err(open_error(op, &target.path, lock_path, e)),
    };
    let st = check_trusted(op, &fd, target, lock_path)?;
    Ok(Opened { fd, writable, st })
}

fn open_error(op: Operation, target: &Path, lock_path: &Path, e: std::io::Error) -> Error {
    let err = lock_error(op, "open lock file", target, lock_path, e);
    if err.raw_os_error() == Some(Errno::LOOP.raw_os_error()) {
        err.with_kind(ErrorKind::SymlinkRefused)
            .with_detail(format!(
                "lock file `{}` is a symlink; lock files are never opened through one",
                lock_path.display()
            ))
    } else {
        err
    }
}

/// Refuses a lock file that is not a regular file with one link owned by a
/// trusted user ([`trust::lock_file`]): nothing is written to it, not even
/// its lock taken.
fn check_trusted(op: Operation, fd: &OwnedFd, target: &Target, lock_path: &Path) -> Result<Stat> {
    let st = sys::file::fstat(fd)
        .map_err(|e| lock_error(op, "stat lock file", &target.path, lock_path, e))?;
    trust::lock_file(&target.dir_st, target.owner(), &st).map_err(|why| {
        Error::new(ErrorKind::Untrusted, op, "open lock file", &target.path).with_detail(format!(
            "lock file `{}` is not used: {why}",
            lock_path.display()
        ))
    })?;
    Ok(st)
}

/// How to wait for the lock.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    /// `LOCK_NB`: return `None` at once when held elsewhere.
    Try,
    /// Block; with a timeout, poll with bounded back-off.
    Block(Option<Duration>),
}

/// The two `flock` modes: one writer, or any number of readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exclusive,
    Shared,
}

impl Kind {
    fn try_lock(self, fd: &OwnedFd) -> std::io::Result<bool> {
        match self {
            Kind::Exclusive => sys::flock::try_lock_exclusive(fd),
            Kind::Shared => sys::flock::try_lock_shared(fd),
        }
    }

    fn lock(self, fd: &OwnedFd) -> std::io::Result<()> {
        match self {
            Kind::Exclusive => sys::flock::lock_exclusive(fd),
            Kind::Shared => sys::flock::lock_shared(fd),
        }
    }
}

/// Takes the `flock` of an opened lock file (lock step *flock*): `false`
/// when a [`Wait::Try`] finds it busy.
fn wait_for(
    op: Operation,
    opened: &Opened,
    wait: Wait,
    kind: Kind,
    shown: &Path,
    lock_path: &Path,
) -> Result<bool> {
    let fail = |e| lock_error(op, "lock", shown, lock_path, e);
    match wait {
        Wait::Try => kind.try_lock(&opened.fd).map_err(fail),
        // Blocks in the kernel: no CPU while waiting, wakes on release.
        Wait::Block(None) => kind.lock(&opened.fd).map(|()| true).map_err(fail),
        Wait::Block(Some(timeout)) => {
            let deadline = Instant::now() + timeout;
            let mut backoff = Duration::from_millis(1);
            loop {
                if kind.try_lock(&opened.fd).map_err(fail)? {
                    return Ok(true);
                }
                let now = Instant::now();
                if now >= deadline {
                    // Who keeps it, as the kernel shows it, when it can.
                    let by = holder::of(&opened.st).map_or_else(
                        || "another holder".to_owned(),
                        |h| match h.command {
                            Some(command) => format!("pid {} ({command})", h.pid),
                            None => format!("pid {}", h.pid),
                        },
                    );
                    return Err(
                        Error::new(ErrorKind::LockTimeout, op, "lock", shown).with_detail(format!(
                            "lock file `{}` still held by {by} after {timeout:?}",
                            lock_path.display()
                        )),
                    );
                }
                std::thread::sleep(backoff.min(deadline - now));
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Acquires the lock of `target` (its lock file in the target's open
/// directory). Used by the public functions and by every locked write. The
/// guard keeps the directory handle. `mode`: the permission bits the target
/// is about to get, when the caller knows them (a write's explicit mode).
pub(crate) fn acquire_in(
    op: Operation,
    target: &Target,
    wait: Wait,
    session: Option<&str>,
    mode: Option<u32>,
) -> Result<Option<LockGuard>> {
    let shown = &target.path;
    let lock_path = lock_file_path(shown);
    let opened = open_lock_file(op, target, mode, &lock_path)?;
    if !wait_for(op, &opened, wait, Kind::Exclusive, shown, &lock_path)? {
        return Ok(None);
    }
    let guard = LockGuard {
        fd: Some(opened.fd),
        writable: opened.writable,
        target: target.clone(),
        lock_path,
        op,
    };
    if guard.writable {
        // Held now: only the holder ever writes the payload.
        let fd = guard.fd.as_ref().expect("just acquired");
        let line = Payload::current(session).to_record();
        // Over the whole record: a longer leftover (from another tool, or
        // a corrupt payload) is cut once; then the size stays `RECORD`.
        // The size seen when the file was opened: lock holders never make
        // it longer, and what another tool adds meanwhile the next
        // acquisition cuts.
        let cut = if opened.st.st_size > RECORD as i64 {
            sys::file::ftruncate(fd, RECORD as u64)
        } else {
            Ok(())
        };
        cut.and_then(|()| sys::file::pwrite_all(fd, &line, 0))
            .map_err(|e| lock_error(op, "write lock payload", shown, &guard.lock_path, e))?;
    }
    Ok(Some(guard))
}

fn acquire(path: &Path, wait: Wait, options: &LockOptions) -> Result<Option<LockGuard>> {
    let op = Operation::Lock;
    let target = resolve::resolve(path, SymlinkPolicy::Follow, op)?;
    env::gate(
        options.safety,
        &*env::of_target(&target, op)?,
        &[Guarantee::WriterExclusion, Guarantee::StaleRecovery],
        op,
        &target.path,
    )?;
    // The writes under this lock will not sweep (`commit::Pending::begin`):
    // the first lock in a directory does, before it waits for the lock.
    litter::sweep_first_time(&*target.dir, &target.dir_st, &target.path);
    acquire_in(op, &target, wait, options.session.as_deref(), None)
}

/// Takes the lock of `path` if it is free right now.
///
/// Returns `Ok(None)` when another holder has it: contention is not an
/// error. The lock file `<path>.lock` is created if needed (and kept).
///
/// # Errors
///
/// [`NotFound`](ErrorKind::NotFound) (parent directory missing),
/// [`PermissionDenied`](ErrorKind::PermissionDenied) (cannot create the lock
/// file), [`SymlinkRefused`](ErrorKind::SymlinkRefused) (a symlink at the lock
/// name), [`InvalidInput`](ErrorKind::InvalidInput) (the lock name is not a
/// regular file), [`UnsupportedEnvironment`](ErrorKind::UnsupportedEnvironment)
/// (e.g. NFS under `Safety::Strict`).
///
/// # Platform-specific behavior
///
/// Advisory: it excludes only code that takes the same lock (this library,
/// `flock(1)`, Python `filelock`/`portalocker`). `flock` locks belong to an
/// open file description; each acquisition opens its own, so threads of one
/// process exclude each other. NFS is a non-target (its `flock` emulation
/// differs by version and mount options).
///
/// # Examples
///
/// ```
/// use safeatomic::try_acquire_lock;
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.json");
/// let first = try_acquire_lock(&path)?.expect("free");
/// assert!(try_acquire_lock(&path)?.is_none()); // held by `first`
/// drop(first);
/// assert!(try_acquire_lock(&path)?.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn try_acquire_lock(path: impl AsRef<Path>) -> Result<Option<LockGuard>> {
    try_acquire_lock_with(path, &LockOptions::new())
}

/// [`try_acquire_lock`] with [`LockOptions`] (the timeout is ignored).
///
/// # Errors
///
/// As [`try_acquire_lock`].
///
/// # Examples
///
/// ```
/// use safeatomic::{LockOptions, try_acquire_lock_with};
/// # let dir = tempfile::tempdir()?;
/// let g = try_acquire_lock_with(dir.path().join("f"), &LockOptions::new().session("job-7"))?;
/// assert!(g.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn try_acquire_lock_with(
    path: impl AsRef<Path>,
    options: &LockOptions,
) -> Result<Option<LockGuard>> {
    acquire(path.as_ref(), Wait::Try, options)
}

/// Waits for the lock of `path` and takes it. `timeout: None` waits
/// indefinitely, asleep in the kernel; with a timeout the wait polls with a
/// back-off of at most 20 ms (near-zero CPU either way).
///
/// The lock is not reentrant: while you hold the guard, write the file with
/// [`write_atomic_locked`](crate::write_atomic_locked). A second
/// acquisition of the same lock — by `acquire_lock`, or by `write_atomic`
/// or `Store::update`, which lock by default — waits for your own guard,
/// forever without a timeout.
///
/// # Errors
///
/// [`LockTimeout`](ErrorKind::LockTimeout) when the timeout expires;
/// otherwise as [`try_acquire_lock`].
///
/// # Platform-specific behavior
///
/// As [`try_acquire_lock`].
///
/// # Examples
///
/// ```
/// use safeatomic::{ErrorKind, acquire_lock};
/// use std::time::Duration;
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("counter");
/// let held = acquire_lock(&path, None)?;
/// let err = acquire_lock(&path, Some(Duration::from_millis(10))).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::LockTimeout);
/// # drop(held);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn acquire_lock(path: impl AsRef<Path>, timeout: Option<Duration>) -> Result<LockGuard> {
    acquire_lock_with(path, &LockOptions::new().timeout(timeout))
}

/// [`acquire_lock`] with [`LockOptions`].
///
/// # Errors
///
/// As [`acquire_lock`].
///
/// # Examples
///
/// ```
/// use safeatomic::{LockOptions, acquire_lock_with, inspect_lock};
/// use std::time::Duration;
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("state.json");
/// let opts = LockOptions::new().timeout(Some(Duration::from_secs(5)));
/// let guard = acquire_lock_with(&path, &opts)?;
/// assert!(inspect_lock(&path)?.held);
/// guard.release()?;
/// assert!(!inspect_lock(&path)?.held);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn acquire_lock_with(path: impl AsRef<Path>, options: &LockOptions) -> Result<LockGuard> {
    let guard = acquire(path.as_ref(), Wait::Block(options.timeout), options)?;
    Ok(guard.expect("a blocking acquire returns a guard or an error"))
}

/// A held shared (read) lock: `flock(LOCK_SH)` on the same `<target>.lock`
/// as the exclusive lock. Any number of shared holders coexist, and
/// exclude every exclusive holder: no cooperating writer (`write_atomic`,
/// `Store::update`, `flock(1)` without `-s`) changes the file while it is
/// held. Released on drop, or explicitly by
/// [`release`](SharedLockGuard::release).
///
/// A shared holder writes no payload (several readers share one record);
/// [`inspect_lock`] names one of them from the kernel's table
/// ([`LockInfo::holder_pid`]) and says [`LockInfo::shared`].
///
/// # Examples
///
/// ```
/// use safeatomic::{acquire_shared_lock, inspect_lock, try_acquire_lock};
/// # let dir = tempfile::tempdir()?;
/// let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
/// // Read two files that must be consistent with each other.
/// let ga = acquire_shared_lock(&a, None)?;
/// let gb = acquire_shared_lock(&b, None)?;
/// assert!(try_acquire_lock(&a)?.is_none()); // writers wait
/// assert!(acquire_shared_lock(&a, None).is_ok()); // other readers do not
/// assert!(inspect_lock(&a)?.shared);
/// drop((ga, gb));
/// assert!(try_acquire_lock(&a)?.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct SharedLockGuard {
    fd: Option<OwnedFd>,
    path: PathBuf,
    lock_path: PathBuf,
}

impl SharedLockGuard {
    /// The path the lock protects (after following symlinks).
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let guard = safeatomic::acquire_shared_lock(dir.path().join("state.json"), None)?;
    /// assert_eq!(guard.path(), dir.path().join("state.json"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file, `<target>.lock`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let guard = safeatomic::acquire_shared_lock(dir.path().join("state.json"), None)?;
    /// assert_eq!(guard.lock_path(), dir.path().join("state.json.lock"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// Releases the lock (`flock(LOCK_UN)`, then close).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if unlocking fails; the lock is released anyway
    /// when the file is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let guard = safeatomic::acquire_shared_lock(dir.path().join("f"), None)?;
    /// guard.release()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release(mut self) -> Result<()> {
        self.release_inner()
    }

    fn release_inner(&mut self) -> Result<()> {
        let Some(fd) = self.fd.take() else {
            return Ok(());
        };
        // Explicit, as for the exclusive lock: a child forked meanwhile
        // shares the open file description.
        let unlocked = sys::flock::unlock(&fd)
            .map_err(|e| lock_error(Operation::Lock, "unlock", &self.path, &self.lock_path, e));
        drop(fd);
        unlocked
    }
}

impl Drop for SharedLockGuard {
    fn drop(&mut self) {
        if let Err(e) = self.release_inner() {
            log::warn!("{e}");
        }
    }
}

fn acquire_shared(
    path: &Path,
    wait: Wait,
    options: &LockOptions,
) -> Result<Option<SharedLockGuard>> {
    let op = Operation::Lock;
    let target = resolve::resolve(path, SymlinkPolicy::Follow, op)?;
    env::gate(
        options.safety,
        &*env::of_target(&target, op)?,
        &[Guarantee::WriterExclusion],
        op,
        &target.path,
    )?;
    let lock_path = lock_file_path(&target.path);
    let opened = open_lock_file(op, &target, None, &lock_path)?;
    if !wait_for(op, &opened, wait, Kind::Shared, &target.path, &lock_path)? {
        return Ok(None);
    }
    Ok(Some(SharedLockGuard {
        fd: Some(opened.fd),
        path: target.path,
        lock_path,
    }))
}

/// Waits for a shared (read) lock on `path` and takes it: `flock(LOCK_SH)`
/// on `<path>.lock`, the file the exclusive lock uses, created if needed.
/// It waits only for an exclusive holder; other shared holders (this
/// function, `flock -s`) share it. `timeout: None` waits indefinitely,
/// asleep in the kernel; with a timeout the wait polls with a back-off of
/// at most 20 ms.
///
/// For a reader that needs several files consistent with each other:
/// hold a shared lock on each (always in the same order, as with any set
/// of locks), read, release. A single file needs no lock to be read
/// whole: [`read_atomic`](crate::read_atomic) sees one version.
///
/// Not reentrant with the exclusive lock: while this guard is held, an
/// exclusive acquisition of the same file by this process (a write, a
/// `Store::update`) waits for it.
///
/// # Errors
///
/// [`LockTimeout`](ErrorKind::LockTimeout) when the timeout expires (the
/// error names the exclusive holder); otherwise as [`try_acquire_lock`].
///
/// # Examples
///
/// ```
/// use safeatomic::{ErrorKind, acquire_lock, acquire_shared_lock};
/// use std::time::Duration;
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.json");
/// let writer = acquire_lock(&path, None)?;
/// let err = acquire_shared_lock(&path, Some(Duration::from_millis(10))).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::LockTimeout);
/// drop(writer);
/// let reader = acquire_shared_lock(&path, Some(Duration::from_millis(10)))?;
/// # drop(reader);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn acquire_shared_lock(
    path: impl AsRef<Path>,
    timeout: Option<Duration>,
) -> Result<SharedLockGuard> {
    acquire_shared_lock_with(path, &LockOptions::new().timeout(timeout))
}

/// [`acquire_shared_lock`] with [`LockOptions`] (the session is not
/// recorded: a shared holder writes no payload).
///
/// # Errors
///
/// As [`acquire_shared_lock`].
///
/// # Examples
///
/// ```
/// use safeatomic::{LockOptions, Safety, acquire_shared_lock_with};
/// # let dir = tempfile::tempdir()?;
/// let opts = LockOptions::new().safety(Safety::Warn);
/// let guard = acquire_shared_lock_with(dir.path().join("f"), &opts)?;
/// # drop(guard);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn acquire_shared_lock_with(
    path: impl AsRef<Path>,
    options: &LockOptions,
) -> Result<SharedLockGuard> {
    let guard = acquire_shared(path.as_ref(), Wait::Block(options.timeout), options)?;
    Ok(guard.expect("a blocking acquire returns a guard or an error"))
}

/// Takes a shared lock on `path` if no exclusive holder has it right now
/// (`flock(LOCK_SH|LOCK_NB)`); `Ok(None)` when one has.
///
/// # Errors
///
/// As [`try_acquire_lock`].
///
/// # Examples
///
/// ```
/// use safeatomic::{acquire_lock, try_acquire_shared_lock};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.json");
/// let first = try_acquire_shared_lock(&path)?.expect("free");
/// assert!(try_acquire_shared_lock(&path)?.is_some()); // readers share
/// drop(first);
/// let writer = acquire_lock(&path, None)?;
/// assert!(try_acquire_shared_lock(&path)?.is_none());
/// # drop(writer);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn try_acquire_shared_lock(path: impl AsRef<Path>) -> Result<Option<SharedLockGuard>> {
    acquire_shared(path.as_ref(), Wait::Try, &LockOptions::new())
}

/// Everything known about the lock of a path, from [`inspect_lock`], which
/// creates no file.
///
/// # Examples
///
/// ```
/// use safeatomic::inspect_lock;
/// # let dir = tempfile::tempdir()?;
/// let info = inspect_lock(dir.path().join("never-locked"))?;
/// assert!(!info.exists && !info.held && info.pid.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LockInfo {
    /// The lock file, `<target>.lock`.
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    pub lock_path: PathBuf,
    /// Whether the lock file exists.
    pub exists: bool,
    /// Whether some process holds the lock right now (kernel `flock` state),
    /// exclusively or shared.
    pub held: bool,
    /// Whether it is held by shared (read) holders
    /// ([`acquire_shared_lock`], `flock -s`), which write no payload.
    pub shared: bool,
    /// The holder's pid, from the payload.
    pub pid: Option<u32>,
    /// The holder's host name, from the payload.
    pub hostname: Option<String>,
    /// The hex SHA-256 of the holder's session string, if it gave one.
    pub session_hash: Option<String>,
    /// When the holder took the lock (ISO-8601, as written).
    pub timestamp: Option<String>,
    /// How long ago that was (serialized as `age_seconds`, a number).
    #[serde(rename = "age_seconds", serialize_with = "seconds")]
    pub age: Option<Duration>,
    /// Why the payload could not be trusted, if it could not.
    pub corrupt: Option<String>,
    /// The payload as found (lossily decoded, at most 4 KiB), when corrupt.
    pub raw_payload: Option<String>,
    /// Whether the process that wrote the payload still exists: `Some(false)`
    /// when the payload names this host and no process has its pid (so a
    /// current holder, if any, is someone else that wrote no payload, such
    /// as `flock(1)`), `Some(true)` when a process with that pid exists
    /// (possibly a reused pid), `None` when it cannot be told (another host,
    /// no payload). Diagnostic only: hosts sharing a name across pid
    /// namespaces (containers) can mislead it.
    pub holder_alive: Option<bool>,
    /// The process holding the lock now, as the kernel shows it
    /// (`/proc/locks`, and `/proc/<pid>/fdinfo` for a lock inherited by a
    /// child that outlived its taker), whether or not it wrote a payload:
    /// `flock(1)` is named too. `None` when the lock is free or the holder
    /// cannot be seen from here (another pid namespace; another user's
    /// process, for a caller other than root).
    pub holder_pid: Option<u32>,
    /// That process's command name (`/proc/<pid>/comm`).
    pub holder_command: Option<String>,
}

impl LockInfo {
    /// A payload left by a holder that is gone: present (valid or corrupt)
    /// while nobody holds the lock, or naming a process of this host that no
    /// longer exists while someone else (which wrote no payload, e.g.
    /// `flock(1)`) holds it. Diagnostic only — the kernel released the dead
    /// holder's lock at once, so a stale payload blocks no one.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{inspect_lock, lock_file_path};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("state.json");
    /// // A holder that died while writing its payload left garbage behind.
    /// std::fs::write(lock_file_path(&path), "garb")?;
    /// let info = inspect_lock(&path)?;
    /// assert!(info.corrupt.is_some() && !info.held);
    /// assert!(info.is_stale());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_stale(&self) -> bool {
        self.exists
            && if self.held {
                self.holder_alive == Some(false)
            } else {
                self.pid.is_some() || self.corrupt.is_some()
            }
    }
}

/// Serializes a duration as fractional seconds (`null` when absent).
fn seconds<S: serde::Serializer>(
    age: &Option<Duration>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match age {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// Parses a payload; `Err(reason)` when it is not a valid version-1 payload.
fn parse_payload(bytes: &[u8]) -> std::result::Result<Payload, String> {
    if bytes.len() > MAX_PAYLOAD {
        return Err(format!("payload larger than {MAX_PAYLOAD} bytes"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "payload is not UTF-8".to_owned())?;
    let payload: Payload = serde_json::from_str(text.trim())
        .map_err(|e| format!("payload is not a valid lock payload: {e}"))?;
    if payload.version != 1 {
        return Err(format!("unknown payload version {}", payload.version));
    }
    if timefmt::parse(&payload.timestamp).is_none() {
        return Err(format!("invalid timestamp {:?}", payload.timestamp));
    }
    if let Some(h) = &payload.session_hash
        && !(h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err("session_hash is not a hex SHA-256".to_owned());
    }
    Ok(payload)
}

/// Reads at most `MAX_PAYLOAD + 1` bytes of the lock file, from its start.
fn read_payload(fd: &OwnedFd) -> std::io::Result<Vec<u8>> {
    sys::file::read_up_to(fd, MAX_PAYLOAD)
}

/// How often [`read_settled_payload`] reads a payload that is in flux
/// before it reports what it sees.
const SETTLE_READS: u32 = 12;

/// Reads the payload once no holder is writing it, and whether the lock
/// was held at that moment.
///
/// A holder writes its record right after acquiring and blanks it just
/// before releasing, and `read(2)` is not atomic with respect to a
/// concurrent `write(2)`: a plain read can return a mix of the two (say,
/// blanks followed by the tail of the old record). So: while the lock is
/// free, the read happens under a shared lock, which no writing holder can
/// have; while it is held, a read counts only once it parses, is blank, or
/// equals the read before it (a payload that stays invalid is corrupt, not
/// in flux).
fn read_settled_payload(fd: &OwnedFd, target: &Path, lock_path: &Path) -> Result<(Held, Vec<u8>)> {
    let fail = |step, e| lock_error(Operation::Lock, step, target, lock_path, e);
    let mut previous: Option<Vec<u8>> = None;
    let mut pause = Duration::from_micros(50);
    let mut reads = 0;
    loop {
        reads += 1;
        if sys::flock::try_lock_shared(fd).map_err(|e| fail("test lock", e))? {
            let bytes = read_payload(fd);
            let unlocked = sys::flock::unlock(fd).map_err(|e| fail("unlock", e));
            let bytes = bytes.map_err(|e| fail("read lock payload", e))?;
            unlocked?;
            return Ok((shared_or_free(fd, target, lock_path)?, bytes));
        }
        let bytes = read_payload(fd).map_err(|e| fail("read lock payload", e))?;
        let settled = bytes.iter().all(u8::is_ascii_whitespace)
            || parse_payload(&bytes).is_ok()
            || previous.as_ref() == Some(&bytes)
            || reads == SETTLE_READS;
        if settled {
            return Ok((Held::Exclusive, bytes));
        }
        previous = Some(bytes);
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// Opens an existing lock file read-only for inspection (never creates).
/// An open lock file and its `fstat`.
type OpenLock = (OwnedFd, Stat);

fn open_existing(path: &Path) -> Result<(Option<OpenLock>, PathBuf, Target)> {
    let op = Operation::Lock;
    let target = resolve::resolve(path, SymlinkPolicy::Follow, op)?;
    let lock_path = lock_file_path(&target.path);
    let fd = open_existing_in(op, &target, &lock_path)?;
    Ok((fd, lock_path, target))
}

/// Opens the lock file of `target` read-only if it exists, and checks that
/// it can be trusted (a hard link to another file is not read either).
fn open_existing_in(op: Operation, target: &Target, lock_path: &Path) -> Result<Option<OpenLock>> {
    let name = lock_name(&target.name);
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK;
    match sys::file::openat(&*target.dir, Path::new(&name), flags, Mode::empty()) {
        Ok(fd) => {
            let st = check_trusted(op, &fd, target, lock_path)?;
            Ok(Some((fd, st)))
        }
        Err(e) if sys::errno(&e) == Some(Errno::NOENT) => Ok(None),
        Err(e) => Err(open_error(op, &target.path, lock_path, e)),
    }
}

/// A shared `flock` on a target's existing lock file: while it is held, no
/// cooperating writer can change the target. Read-only: it creates no file
/// and writes no payload (verification uses it to settle an answer).
pub(crate) struct SharedHold {
    fd: OwnedFd,
}

impl Drop for SharedHold {
    /// Unlocks explicitly, as a `LockGuard` does: a child forked meanwhile
    /// shares the open file description, and closing ours alone would
    /// leave the lock held until that child execs or exits.
    fn drop(&mut self) {
        if let Err(e) = sys::flock::unlock(&self.fd) {
            log::debug!("releasing a shared lock: {e}");
        }
    }
}

/// Takes a shared lock on the lock file of `target` within `timeout`.
/// `Ok(None)` when there is no lock file (nobody ever locked the target),
/// when it is not trusted, or when an exclusive holder keeps it past the
/// timeout (possibly the caller itself).
pub(crate) fn hold_shared(
    op: Operation,
    target: &Target,
    timeout: Duration,
) -> Result<Option<SharedHold>> {
    let lock_path = lock_file_path(&target.path);
    let fd = match open_existing_in(op, target, &lock_path) {
        Ok(Some((fd, _))) => fd,
        Ok(None) => return Ok(None),
        Err(e) if e.kind() == ErrorKind::Untrusted => {
            log::warn!("{e}");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let fail = |e| lock_error(op, "lock (shared)", &target.path, &lock_path, e);
    let deadline = Instant::now() + timeout;
    let mut backoff = Duration::from_millis(1);
    loop {
        if sys::flock::try_lock_shared(&fd).map_err(fail)? {
            return Ok(Some(SharedHold { fd }));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(backoff.min(deadline - now));
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// How a lock is held, as [`inspect_lock`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    No,
    Exclusive,
    Shared,
}

/// Whether the lock file is held now, tested with `flock(LOCK_SH|LOCK_NB)`
/// on a fresh descriptor (released at once), then, when that succeeds,
/// with `LOCK_EX|LOCK_NB` (which only shared holders can refuse).
fn held(fd: &OwnedFd, target: &Path, lock_path: &Path) -> Result<Held> {
    let fail = |e| lock_error(Operation::Lock, "test lock", target, lock_path, e);
    if !sys::flock::try_lock_shared(fd).map_err(fail)? {
        return Ok(Held::Exclusive);
    }
    sys::flock::unlock(fd).map_err(fail)?;
    shared_or_free(fd, target, lock_path)
}

/// Whether a lock that a shared test found not held exclusively is held
/// by shared holders: `flock(LOCK_EX|LOCK_NB)` (released at once) fails
/// only then (or when an exclusive holder came in meanwhile, which holds it
/// too).
fn shared_or_free(fd: &OwnedFd, target: &Path, lock_path: &Path) -> Result<Held> {
    let fail = |e| lock_error(Operation::Lock, "test lock", target, lock_path, e);
    if sys::flock::try_lock_exclusive(fd).map_err(fail)? {
        sys::flock::unlock(fd).map_err(fail)?;
        Ok(Held::No)
    } else {
        Ok(Held::Shared)
    }
}

/// Whether some process holds the lock of `path` right now. Creates nothing.
///
/// Held shared ([`acquire_shared_lock`], `flock -s`) counts as held. The
/// test takes a shared lock for an instant, then (when no exclusive holder
/// refused it) an exclusive one; a concurrent [`try_acquire_lock`] or
/// [`try_acquire_shared_lock`] in that instant may see the lock as busy.
///
/// # Errors
///
/// [`NotFound`](ErrorKind::NotFound) (parent missing),
/// [`SymlinkRefused`](ErrorKind::SymlinkRefused) (symlink at the lock name),
/// [`PermissionDenied`](ErrorKind::PermissionDenied).
///
/// # Examples
///
/// ```
/// use safeatomic::{acquire_lock, is_locked};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("f");
/// assert!(!is_locked(&path)?);
/// let g = acquire_lock(&path, None)?;
/// assert!(is_locked(&path)?);
/// # drop(g);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn is_locked(path: impl AsRef<Path>) -> Result<bool> {
    let path = path.as_ref();
    let (fd, lock_path, _) = open_existing(path)?;
    fd.map_or(Ok(false), |(fd, _)| {
        held(&fd, path, &lock_path).map(|h| h != Held::No)
    })
}

/// Everything known about the lock of `path`: whether the file exists, is
/// held, and what its payload says. Creates nothing. A corrupt, truncated,
/// non-UTF-8, unknown-version or oversized payload is reported in
/// [`LockInfo::corrupt`], never trusted.
///
/// # Errors
///
/// As [`is_locked`].
///
/// # Examples
///
/// ```
/// use safeatomic::{acquire_lock, inspect_lock};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("f");
/// let g = acquire_lock(&path, None)?;
/// let info = inspect_lock(&path)?;
/// assert!(info.held);
/// assert_eq!(info.pid, Some(std::process::id()));
/// # drop(g);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn inspect_lock(path: impl AsRef<Path>) -> Result<LockInfo> {
    let path = path.as_ref();
    let (fd, lock_path, _) = open_existing(path)?;
    let mut info = LockInfo {
        lock_path,
        exists: fd.is_some(),
        held: false,
        shared: false,
        pid: None,
        hostname: None,
        session_hash: None,
        timestamp: None,
        age: None,
        corrupt: None,
        raw_payload: None,
        holder_alive: None,
        holder_pid: None,
        holder_command: None,
    };
    let Some((fd, st)) = fd else { return Ok(info) };
    let (held, bytes) = read_settled_payload(&fd, path, &info.lock_path)?;
    info.held = held != Held::No;
    info.shared = held == Held::Shared;
    if info.held
        && let Some(h) = holder::of(&st)
    {
        info.holder_pid = Some(h.pid);
        info.holder_command = h.command;
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(info);
    }
    match parse_payload(&bytes) {
        Ok(p) => {
            info.age =
                timefmt::parse(&p.timestamp).and_then(|t| SystemTime::now().duration_since(t).ok());
            info.pid = Some(p.pid);
            if p.hostname == sys::process::hostname() {
                info.holder_alive = sys::process::pid_exists(p.pid);
            }
            info.hostname = Some(p.hostname);
            info.session_hash = p.session_hash;
            info.timestamp = Some(p.timestamp);
        }
        Err(reason) => {
            info.corrupt = Some(reason);
            let shown = &bytes[..bytes.len().min(4096)];
            info.raw_payload = Some(String::from_utf8_lossy(shown).into_owned());
        }
    }
    Ok(info)
}

/// How long ago the current (or last, if stale) holder took the lock of
/// `path`, from its payload; `None` without a valid payload.
///
/// # Errors
///
/// As [`inspect_lock`].
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("f");
/// let g = safeatomic::acquire_lock(&path, None)?;
/// assert!(safeatomic::lock_age(&path)?.is_some());
/// # drop(g);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn lock_age(path: impl AsRef<Path>) -> Result<Option<Duration>> {
    inspect_lock(path).map(|i| i.age)
}

/// Whether the lock of `path` has a payload left by a holder that is gone
/// (see [`LockInfo::is_stale`]). Diagnostic only: a dead holder's `flock`
/// is released by the kernel at once, so a stale lock never blocks anyone.
///
/// # Errors
///
/// As [`inspect_lock`].
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// assert!(!safeatomic::is_stale_lock(dir.path().join("f"))?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn is_stale_lock(path: impl AsRef<Path>) -> Result<bool> {
    inspect_lock(path).map(|i| i.is_stale())
}

/// Clears a stale payload: takes the lock if free, empties the payload,
/// releases. Returns whether there was a payload to clear. A held lock is
/// left alone (`Ok(false)`).
///
/// # Errors
///
/// As [`try_acquire_lock`].
///
/// # Examples
///
/// ```
/// use safeatomic::{is_stale_lock, lock_file_path, release_stale_lock};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("state.json");
/// # std::fs::write(lock_file_path(&path), "garb")?; // a dead holder's leftover
/// assert!(is_stale_lock(&path)?);
/// assert!(release_stale_lock(&path)?); // cleared
/// assert!(!is_stale_lock(&path)?);
/// assert!(!release_stale_lock(&path)?); // nothing left to clear
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn release_stale_lock(path: impl AsRef<Path>) -> Result<bool> {
    let path = path.as_ref();
    let op = Operation::Lock;
    let (fd, lock_path, target) = open_existing(path)?;
    if fd.is_none() {
        return Ok(false);
    }
    let opened = open_lock_file(op, &target, None, &lock_path)?;
    let fail = |step, e| lock_error(op, step, path, &lock_path, e);
    if !sys::flock::try_lock_exclusive(&opened.fd).map_err(|e| fail("lock", e))? {
        return Ok(false);
    }
    // A payload is anything but whitespace (a free lock holds a blank record).
    let had_payload = read_payload(&opened.fd)
        .map_err(|e| fail("read lock payload", e))?
        .iter()
        .any(|b| !b.is_ascii_whitespace());
    if had_payload {
        if !opened.writable {
            return Err(
                Error::new(ErrorKind::PermissionDenied, op, "clear lock payload", path)
                    .with_detail(format!(
                        "lock file `{}` is not writable",
                        lock_path.display()
                    )),
            );
        }
        // Truncate (not blank): the leftover may be longer than a record.
        sys::file::ftruncate(&opened.fd, 0).map_err(|e| fail("clear lock payload", e))?;
    }
    sys::flock::unlock(&opened.fd).map_err(|e| fail("unlock", e))?;
    Ok(had_payload)
}

/// Operator override: removes the lock file of `path`, whoever holds it.
/// Returns whether there was a file to remove.
///
/// **This breaks exclusion**: a current holder keeps its lock on the removed
/// inode while the next acquirer locks a new file, so two holders run at
/// once. Use it only to repair a lock file that is not a lock file any more
/// (wrong owner or permissions, a directory or symlink at its name) or when
/// every holder is known to be gone.
///
/// # Errors
///
/// [`NotFound`](ErrorKind::NotFound) (parent missing),
/// [`PermissionDenied`](ErrorKind::PermissionDenied).
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("f");
/// drop(safeatomic::acquire_lock(&path, None)?);
/// assert!(safeatomic::force_release_lock(&path)?);
/// assert!(!safeatomic::lock_file_path(&path).exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn force_release_lock(path: impl AsRef<Path>) -> Result<bool> {
    let op = Operation::Lock;
    let target = resolve::resolve(path.as_ref(), SymlinkPolicy::Follow, op)?;
    let lname = lock_name(&target.name);
    let lock_path = lock_file_path(&target.path);
    match sys::dir::unlinkat(&*target.dir, Path::new(&lname)) {
        Ok(()) => {
            log::warn!(
                "force-released {}: exclusion is broken for any current holder",
                lock_path.display()
            );
            Ok(true)
        }
        Err(e) if sys::errno(&e) == Some(Errno::NOENT) => Ok(false),
        Err(e) => Err(lock_error(
            op,
            "remove lock file",
            path.as_ref(),
            &lock_path,
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_matches_the_documented_shape() {
        let p = Payload::current(Some("s"));
        let line = p.to_line();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        assert!(line.starts_with(r#"{"version":1,"pid":"#), "{line}");
        assert!(line.contains(r#""kernel_lock":"flock"}"#), "{line}");
        assert!(
            !line.contains("\"s\""),
            "the raw session string must not reach disk"
        );
        assert!(parse_payload(line.as_bytes()).is_ok());
    }

    #[test]
    fn the_record_is_one_padded_line_of_fixed_size_and_parses() {
        let record = Payload::current(Some("s")).to_record();
        assert_eq!(record.len(), RECORD);
        assert_eq!(record.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(record.last(), Some(&b'\n'));
        assert!(parse_payload(&record).is_ok());
        let blank = blank_record();
        assert!(blank.iter().all(u8::is_ascii_whitespace));
    }

    #[test]
    fn bad_payloads_are_corrupt_with_a_reason() {
        let good = Payload::current(None).to_line();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"{".to_vec(), "not a valid"),
            (good.as_bytes()[..good.len() / 2].to_vec(), "not a valid"),
            (vec![0xff, 0xfe, b'{'], "UTF-8"),
            (
                good.replace("\"version\":1", "\"version\":2").into_bytes(),
                "version 2",
            ),
            (
                good.replace("\"pid\":", "\"pid\":-").into_bytes(),
                "not a valid",
            ),
            (vec![b' '; MAX_PAYLOAD + 1], "larger"),
            (
                good.replace(&Payload::current(None).timestamp[..10], "yesterday!")
                    .into_bytes(),
                "timestamp",
            ),
            (good.replace("null", "\"abc\"").into_bytes(), "session_hash"),
        ];
        for (bytes, reason) in cases {
            let err = parse_payload(&bytes).unwrap_err();
            assert!(err.contains(reason), "{err:?} should mention {reason:?}");
        }
        let extra = good.replace("\"version\":1", "\"version\":1,\"future\":[1,2]");
        assert!(
            parse_payload(extra.as_bytes()).is_ok(),
            "unknown keys are ignored"
        );
    }

    #[test]
    fn session_hash_is_hex_sha256() {
        assert_eq!(
            session_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
