//! Verification: a data file checked against its sidecar, lock-free, never
//! a false mismatch or a false "missing" (docs/decisions/0008); and
//! writing a sidecar for an existing file.

use super::digest::{Algorithm, HASH_CHUNK, hash_fd};
use super::sidecar::{
    ChecksumInfo, candidates, choose, current_sidecar, parse_sidecar, previous_applies,
    remove_other_sidecars, render_sidecar, sidecar_name, sidecar_path,
};
use crate::env::Guarantee;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::identity::Version;
use crate::policy::Safety;
use crate::resolve::require_regular;
use crate::sys::{self, Mode, OFlags, OwnedFd, Stat};
use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

/// Reads `fd` to the end in one pass, hashing it with the sidecar's
/// algorithm and, when the sidecar's `previous` applies to this inode
/// (same inode and ctime), with the previous algorithm too. Returns the bytes if `keep`.
/// `Ok(Err(actual))` is a mismatch: the data is neither version the sidecar
/// vouches for.
pub(crate) fn check_fd(
    info: &ChecksumInfo,
    fd: &OwnedFd,
    st: &Stat,
    keep: bool,
) -> std::io::Result<(std::result::Result<(), String>, Vec<u8>)> {
    let mut current = info.algorithm.hasher();
    let mut previous = match &info.previous {
        Some((algo, digest)) if previous_applies(info, st) => Some((algo.hasher(), digest)),
        _ => None,
    };
    let mut kept = Vec::new();
    let mut buf = vec![0u8; HASH_CHUNK];
    loop {
        let n = sys::file::read(fd, &mut buf)?;
        if n == 0 {
            break;
        }
        current.update(&buf[..n]);
        if let Some((h, _)) = previous.as_mut() {
            h.update(&buf[..n]);
        }
        if keep {
            kept.extend_from_slice(&buf[..n]);
        }
    }
    let actual = current.finish_hex();
    let ok = actual == info.digest || previous.is_some_and(|(h, digest)| h.finish_hex() == *digest);
    Ok((if ok { Ok(()) } else { Err(actual) }, kept))
}

/// How many lock-free attempts a verifying read makes while writers keep
/// replacing the file, before it confirms its answer (under the lock, or by
/// re-reading).
const RACY_ATTEMPTS: usize = 8;

/// How long a verification that found a mismatch, or no sidecar, waits for
/// the writers' lock to confirm that answer. A writer holds the lock for one
/// write: milliseconds for a small file. A holder that keeps it longer (the
/// caller's own [`LockGuard`](crate::LockGuard), a `flock(1)` job, a long
/// streamed write) does not make verification wait: the answer is then
/// confirmed by re-reading instead.
pub(crate) const CONFIRM_LOCK_WAIT: Duration = Duration::from_millis(250);

/// The most readings a confirmation makes before it reports the last one:
/// with the pauses below, about two seconds of a file that never stops
/// changing and never matches.
const MAX_CONFIRM_READINGS: usize = 100;

/// The pause between two readings of a confirmation by re-reading, doubling
/// from the first to the last value.
const CONFIRM_PAUSES: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(20));

/// How [`verify_in`] verifies.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Verify {
    /// Return the bytes read (a verified read).
    pub(crate) keep: bool,
    /// The caller holds the target's lock: the first answer is final.
    pub(crate) lock_held: bool,
    /// The algorithm whose sidecar wins when it is there (a store's).
    pub(crate) prefer: Option<Algorithm>,
}

/// The outcome of a verification.
pub(crate) enum Verified {
    /// The data matches (the bytes, when they were kept, and the `fstat`
    /// of the data file they were read from, taken before reading).
    Match(Vec<u8>, Stat),
    /// A genuine mismatch: (sidecar, actual digest).
    Mismatch(Box<ChecksumInfo>, String),
}

/// What one lock-free reading of a data file and its sidecar found.
enum Outcome {
    Match(Vec<u8>),
    Mismatch(Box<ChecksumInfo>, String),
    /// No trusted sidecar of any algorithm (the data file exists);
    /// `ignored`: some were there but not trusted.
    Missing {
        ignored: bool,
    },
}

/// One reading: its outcome, and the identity of the two files it read.
struct Reading {
    outcome: Outcome,
    /// The data file as read.
    data: Stat,
    /// Every sidecar seen (believed or not), with its algorithm.
    sidecars: Vec<(Algorithm, Stat)>,
}

/// Whether two `stat`s describe the same version of the same file.
fn same_file(a: &Stat, b: &Stat) -> bool {
    Version::of(a) == Version::of(b)
}

impl Reading {
    /// Reads the sidecar (first), then the data, and compares them.
    fn take(
        dir: &OwnedFd,
        name: &OsStr,
        path: &Path,
        op: Operation,
        keep: bool,
        prefer: Option<Algorithm>,
    ) -> Result<Self> {
        let found = candidates(dir, name, path, op)?;
        let sidecars = found.iter().map(|c| (c.algorithm, c.st)).collect();
        // The name was resolved already: a symlink there now is not the
        // file that was resolved (or locked), and is not followed.
        let fd = sys::file::openat(
            dir,
            Path::new(name),
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW,
            Mode::empty(),
        )
        .map_err(|e| Error::io(op, "open file", path, e))?;
        let data = require_regular(&fd, op, path)?;
        let Some((info, _)) = choose(&found, Some(data.st_uid), prefer, path, op)? else {
            return Ok(Reading {
                outcome: Outcome::Missing {
                    ignored: !found.is_empty(),
                },
                data,
                sidecars,
            });
        };
        let (result, bytes) =
            check_fd(&info, &fd, &data, keep).map_err(|e| Error::io(op, "read file", path, e))?;
        Ok(Reading {
            outcome: match result {
                Ok(()) => Outcome::Match(bytes),
                Err(actual) => Outcome::Mismatch(Box::new(info), actual),
            },
            data,
            sidecars,
        })
    }

    /// Whether `other` read the very same files, unchanged.
    fn same_files(&self, other: &Reading) -> bool {
        same_file(&self.data, &other.data)
            && self.sidecars.len() == other.sidecars.len()
            && self
                .sidecars
                .iter()
                .zip(&other.sidecars)
                .all(|((a, s), (b, t))| a == b && same_file(s, t))
    }

    /// Whether the names still lead to the files this reading read (the
    /// data file and every sidecar, present or absent as they were).
    fn unchanged(&self, dir: &OwnedFd, name: &OsStr) -> bool {
        let now = |n: &OsStr| sys::file::lstatat(dir, Path::new(n)).ok();
        if !now(name).is_some_and(|st| same_file(&st, &self.data)) {
            return false;
        }
        Algorithm::ALL.into_iter().all(|a| {
            let seen = self
                .sidecars
                .iter()
                .find(|(b, _)| *b == a)
                .map(|(_, st)| st);
            match (seen, now(&sidecar_name(name, a))) {
                (None, None) => true,
                (Some(read), Some(st)) => same_file(&st, read),
                _ => false,
            }
        })
    }

    /// The final answer of a verification that did not match.
    fn report(self, op: Operation, path: &Path) -> Result<Verified> {
        match self.outcome {
            Outcome::Match(bytes) => Ok(Verified::Match(bytes, self.data)),
            Outcome::Mismatch(info, actual) => Ok(Verified::Mismatch(info, actual)),
            Outcome::Missing { ignored } => Err(Error::new(
                ErrorKind::ChecksumMissing,
                op,
                "find checksum sidecar",
                path,
            )
            .with_detail(format!(
                "no {}{} sidecar",
                if ignored { "trusted " } else { "" },
                Algorithm::ALL.map(|a| format!("`.{a}`")).join(" or ")
            ))),
        }
    }
}

/// Verifies the data file of `target` against its current sidecar,
/// lock-free, never reporting a false mismatch or a false "missing", and
/// never waiting long.
///
/// The sidecar is read before the data. Writers publish the sidecar (naming
/// the incoming and the outgoing digest) before the data, so the sidecar a
/// reader sees is never older than the data it then opens; if the data is
/// newer still, the mismatch comes with a changed file, and the read is
/// retried. A writer changing algorithms publishes `.sha256` and then
/// removes `.sha512` (or the reverse), so a reader can miss both: "no
/// sidecar" is retried and confirmed like a mismatch.
///
/// Confirmation: a rename in progress can hide from the change check, so a
/// mismatch or a missing sidecar is only reported once two consecutive
/// readings saw the very same two files (device, inode, size, mtime and
/// ctime of data and sidecar unchanged) and neither matched. The second
/// reading is taken under a shared lock on the writers' lock file if it can
/// be had within
/// [`CONFIRM_LOCK_WAIT`] (no cooperating writer can then change anything,
/// so the readings agree at once); otherwise (its holder may be the caller
/// itself) readings are repeated, with short pauses, until two agree. A
/// match is final at once. With `lock_held` (the caller holds the lock),
/// the first answer is final.
///
/// `path` is what errors name (the path the caller gave).
pub(crate) fn verify_in(
    target: &crate::resolve::Target,
    path: &Path,
    op: Operation,
    how: Verify,
) -> Result<Verified> {
    let Verify {
        keep,
        lock_held,
        prefer,
    } = how;
    let (dir, name): (&OwnedFd, _) = (&target.dir, target.name.as_os_str());
    let mut races = 0;
    // Held once taken: a reading under the writers' lock is final.
    let mut guard: Option<crate::lock::SharedHold> = None;
    // The lock could not be had in time: confirm by re-reading instead.
    let mut rereading = false;
    let mut previous: Option<Reading> = None;
    let mut readings = 0;
    let mut pause = CONFIRM_PAUSES.0;
    loop {
        let reading = Reading::take(dir, name, path, op, keep, prefer)?;
        readings += 1;
        if matches!(reading.outcome, Outcome::Match(_)) || lock_held || guard.is_some() {
            return reading.report(op, path);
        }
        if rereading {
            // The same two files read twice give the answer.
            let stable = previous.as_ref().is_some_and(|p| p.same_files(&reading));
            if stable || readings >= MAX_CONFIRM_READINGS {
                return reading.report(op, path);
            }
        } else if races < RACY_ATTEMPTS && !reading.unchanged(dir, name) {
            // A writer replaced the data or the sidecar while we read: not
            // a fair comparison; try again.
            races += 1;
            continue;
        } else {
            // A shared lock excludes every cooperating writer and writes
            // nothing: verification stays a read-only operation.
            match crate::lock::hold_shared(op, target, CONFIRM_LOCK_WAIT) {
                Ok(Some(held)) => {
                    guard = Some(held);
                    continue;
                }
                // No lock file (nobody ever locked it), one we do not
                // trust, or held elsewhere for longer (perhaps by the
                // caller): confirm by re-reading.
                Ok(None) => rereading = true,
                Err(e) => {
                    log::debug!("confirming a checksum result by re-reading: {e}");
                    rereading = true;
                }
            }
        }
        previous = Some(reading);
        std::thread::sleep(pause);
        pause = (pause * 2).min(CONFIRM_PAUSES.1);
    }
}

/// The directory and name of a data file, for checksum operations.
fn open_target(path: &Path, op: Operation) -> Result<crate::resolve::Target> {
    crate::resolve::resolve(path, crate::policy::SymlinkPolicy::Follow, op)
}

/// Checks the file at `path` against its checksum sidecar, using the
/// algorithm the sidecar declares (`.sha256` or `.sha512`; if both exist,
/// the one written last).
///
/// Returns `Ok(true)` on a match and `Ok(false)` only for a genuine
/// mismatch. A verification that races a writer never reports a false
/// mismatch or a false "missing": it retries, then confirms the answer
/// under a shared lock on the writers' lock file if it gets it within 250 ms
/// (creating no file, writing nothing), or else by
/// re-reading until two consecutive readings saw the very same data file
/// and sidecar. So it never waits long for the lock, even while the caller
/// itself holds it (a [`LockGuard`](crate::LockGuard)) or another program
/// (`flock(1)`) keeps it. A crash between the sidecar and the data
/// replacement of a safeatomic write is not a mismatch either (the sidecar
/// names both versions). A symlink at `path` is followed, as writers follow
/// it. The file is streamed (constant memory).
///
/// # Errors
///
/// [`ChecksumMissing`](ErrorKind::ChecksumMissing) when there is no sidecar,
/// [`ChecksumMalformed`](ErrorKind::ChecksumMalformed) when it cannot be
/// parsed (empty, garbage digest, wrong length, unknown algorithm),
/// [`NotFound`](ErrorKind::NotFound) when the data file is missing, and the
/// usual I/O kinds; each names the data file.
///
/// # Examples
///
/// ```
/// use safeatomic::{Algorithm, WriteOptions, verify_checksum, write_atomic_with};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.json");
/// write_atomic_with(&path, b"{}", &WriteOptions::new().checksum(Some(Algorithm::Sha256)))?;
/// assert!(verify_checksum(&path)?);
/// std::fs::write(&path, b"{} ")?; // changed behind the library's back
/// assert!(!verify_checksum(&path)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_checksum(path: impl AsRef<Path>) -> Result<bool> {
    let path = path.as_ref();
    let op = Operation::Checksum;
    let target = open_target(path, op)?;
    match verify_in(&target, path, op, Verify::default())? {
        Verified::Match(..) => Ok(true),
        Verified::Mismatch(..) => Ok(false),
    }
}

/// What the checksum sidecar of `path` says (the one written last, if
/// there are several).
///
/// # Errors
///
/// [`ChecksumMissing`](ErrorKind::ChecksumMissing),
/// [`ChecksumMalformed`](ErrorKind::ChecksumMalformed), or I/O kinds.
///
/// # Examples
///
/// ```
/// use safeatomic::{Algorithm, checksum_info, write_checksum_file, write_atomic};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("data.bin");
/// write_atomic(&path, b"abc")?;
/// write_checksum_file(&path, Algorithm::Sha512)?;
/// let info = checksum_info(&path)?;
/// assert_eq!(info.algorithm, Algorithm::Sha512);
/// assert_eq!(info.file_name, "data.bin");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn checksum_info(path: impl AsRef<Path>) -> Result<ChecksumInfo> {
    let path = path.as_ref();
    let op = Operation::Checksum;
    let target = open_target(path, op)?;
    current_sidecar(&target.dir, &target.name, target.owner(), None, path, op)?
        .map(|(info, _)| info)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::ChecksumMissing,
                op,
                "find checksum sidecar",
                path,
            )
        })
}

/// Computes the digest of the file at `path` and writes its sidecar
/// `<path>.<algo>` atomically and durably, under the file's cooperative
/// lock (so no safeatomic writer changes the data meanwhile). Sidecars of
/// other algorithms for the same file are removed first. The sidecar gets
/// the data file's owner and group (where the caller may give them) and its
/// permission bits.
///
/// # Deadlock
///
/// It takes the lock of `path` itself and waits for it without a timeout.
/// The lock is not reentrant (see [`acquire_lock`](crate::acquire_lock) and
/// `docs/locks.md`): called while you hold a [`LockGuard`](crate::LockGuard)
/// for the same file, it waits for your own guard forever. Under your own
/// guard, rewrite the data and its sidecar together with
/// [`write_atomic_locked_with`](crate::write_atomic_locked_with) and
/// [`WriteOptions::checksum`](crate::WriteOptions::checksum) instead.
///
/// # Errors
///
/// As [`compute_hash_file`](crate::compute_hash_file), plus
/// [`UnsupportedEnvironment`](ErrorKind::UnsupportedEnvironment) where a
/// write would be refused (the [`Safety::Strict`](Safety::Strict)
/// gate, before anything is written), lock errors
/// ([`Untrusted`](ErrorKind::Untrusted) for a lock file another user could
/// turn against the caller); an error when another algorithm's sidecar
/// cannot be removed (nothing is written then);
/// [`DurabilityUnconfirmed`](ErrorKind::DurabilityUnconfirmed) if the final
/// directory fsync fails (the sidecar is in place).
///
/// # Examples
///
/// ```
/// use safeatomic::{Algorithm, verify_checksum, write_checksum_file, write_atomic};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("f");
/// write_atomic(&path, b"data")?;
/// let info = write_checksum_file(&path, Algorithm::Sha256)?;
/// assert_eq!(info.digest.len(), 64);
/// assert!(verify_checksum(&path)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_checksum_file(path: impl AsRef<Path>, algorithm: Algorithm) -> Result<ChecksumInfo> {
    let path = path.as_ref();
    let op = Operation::Checksum;
    let target = open_target(path, op)?;
    // The safety gate, before anything is written, as for every write.
    let env = crate::env::of_target(&target, op)?;
    crate::env::gate(
        Safety::Strict,
        &env,
        &[
            Guarantee::AtomicVisibility,
            Guarantee::CrashDurability,
            Guarantee::IntegrityDetection,
        ],
        op,
        path,
    )?;
    let _lock = crate::lock::acquire_in(op, &target, crate::lock::Wait::Block(None), None, None)?;
    let fd = sys::file::openat(
        &target.dir,
        Path::new(&target.name),
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| Error::io(op, "open file", path, e))?;
    let st = require_regular(&fd, op, path)?;
    let digest = hash_fd(&fd, algorithm).map_err(|e| Error::io(op, "read file", path, e))?;
    let content = render_sidecar(algorithm, &digest, &target.name, None);
    let sname = sidecar_name(&target.name, algorithm);
    let spath = sidecar_path(&target.path, algorithm);
    let staged = crate::publish::Staged::new(
        &target.dir,
        &content,
        Some(st.st_mode & 0o666),
        Some((st.st_uid, st.st_gid)),
        op,
        &spath,
    )?;
    // Other algorithms' sidecars go first: one that cannot be removed fails
    // the call with nothing changed (left beside ours, it could be taken
    // for the current sidecar). A crash between the two leaves no sidecar
    // (reported as missing, never as a mismatch).
    remove_other_sidecars(&target.dir, &target.name, algorithm, path, op)?;
    staged.publish(&sname, &env)?;
    if let Err(e) = sys::file::fsync(&target.dir) {
        crate::publish::durability_unconfirmed(Safety::Strict, op, &spath, e)?;
    }
    let parsed = parse_sidecar(&content, algorithm, &spath).expect("a rendered sidecar parses");
    Ok(parsed)
}
