//! Writing: `write_atomic`, `AtomicWriter`, `create_atomic`.

use crate::commit::{Aim, Pending, Unsynced};
use crate::error::{Error, Operation, Result};
use crate::lock::LockGuard;
use crate::options::WriteOptions;
use crate::publish::Publish;
use std::io;
use std::path::Path;

/// Replaces the file at `path` with `data`, atomically and durably, with the
/// default [`WriteOptions`].
///
/// A concurrent reader sees the old complete file or the new complete file,
/// never a mix; once this returns `Ok`, the new content survives process
/// death and power loss (on a filesystem where
/// [`CrashDurability`](crate::Guarantee::CrashDurability) is `Guaranteed`).
/// The existing file's permission bits are kept; a new file gets `0o666`
/// minus the umask. A symlink at `path` is followed and stays a symlink.
///
/// # Errors
///
/// Every error names `path` and the failed step. Before the rename the
/// target is untouched and no temp file remains:
/// [`NotFound`](crate::ErrorKind::NotFound) (parent directory missing),
/// [`PermissionDenied`](crate::ErrorKind::PermissionDenied),
/// [`StorageFull`](crate::ErrorKind::StorageFull),
/// [`IsADirectory`](crate::ErrorKind::IsADirectory),
/// [`InvalidInput`](crate::ErrorKind::InvalidInput) (empty path, special file),
/// [`UnsupportedEnvironment`](crate::ErrorKind::UnsupportedEnvironment) (refused by
/// [`Safety::Strict`](crate::Safety::Strict) before anything is created or written).
/// After the rename, only
/// [`DurabilityUnconfirmed`](crate::ErrorKind::DurabilityUnconfirmed): the new
/// content is in place, but the directory fsync failed.
///
/// # Examples
///
/// ```
/// use safeatomic::{read_atomic, write_atomic};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("config.json");
/// write_atomic(&path, br#"{"theme":"dark"}"#)?;
/// assert_eq!(read_atomic(&path)?, br#"{"theme":"dark"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_atomic(path: impl AsRef<Path>, data: impl AsRef<[u8]>) -> Result<()> {
    write_atomic_with(path, data, &WriteOptions::new())
}

/// Like [`write_atomic`], with explicit [`WriteOptions`].
///
/// # Errors
///
/// As [`write_atomic`]; and [`InvalidInput`](crate::ErrorKind::InvalidInput)
/// for an invalid mode, [`SymlinkRefused`](crate::ErrorKind::SymlinkRefused)
/// when the target is a symlink under [`SymlinkPolicy::Refuse`](crate::SymlinkPolicy::Refuse).
///
/// # Examples
///
/// ```
/// use safeatomic::{WriteOptions, write_atomic_with};
/// use std::os::unix::fs::PermissionsExt;
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("token");
/// write_atomic_with(&path, b"s3cret", &WriteOptions::new().mode(0o600))?;
/// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_atomic_with(
    path: impl AsRef<Path>,
    data: impl AsRef<[u8]>,
    options: &WriteOptions,
) -> Result<()> {
    Pending::write_whole(
        Aim::Path(path.as_ref()),
        data.as_ref(),
        options,
        Operation::Write,
        Publish::Replace,
    )
}

/// Replaces the file protected by `guard` with `data`, under the lock the
/// caller already holds: the building block of read-modify-write without
/// lost updates.
///
/// # Errors
///
/// As [`write_atomic`] (never [`LockTimeout`](crate::ErrorKind::LockTimeout):
/// the lock is already held).
///
/// # Examples
///
/// ```
/// use safeatomic::{acquire_lock, read_atomic_to_string, write_atomic, write_atomic_locked};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("counter");
/// write_atomic(&path, "0")?;
/// let guard = acquire_lock(&path, None)?;          // no other writer from here
/// let n: u64 = read_atomic_to_string(&path)?.parse()?;
/// write_atomic_locked(&guard, (n + 1).to_string())?;
/// guard.release()?;
/// assert_eq!(read_atomic_to_string(&path)?, "1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_atomic_locked(guard: &LockGuard, data: impl AsRef<[u8]>) -> Result<()> {
    write_atomic_locked_with(guard, data, &WriteOptions::new())
}

/// [`write_atomic_locked`] with explicit [`WriteOptions`] (their lock
/// settings do not apply: the guard is the lock).
///
/// # Errors
///
/// As [`write_atomic_locked`].
///
/// # Examples
///
/// ```
/// use safeatomic::{WriteOptions, acquire_lock, write_atomic_locked_with};
/// # let dir = tempfile::tempdir()?;
/// let guard = acquire_lock(dir.path().join("f"), None)?;
/// write_atomic_locked_with(&guard, b"x", &WriteOptions::new().mode(0o600))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_atomic_locked_with(
    guard: &LockGuard,
    data: impl AsRef<[u8]>,
    options: &WriteOptions,
) -> Result<()> {
    Pending::write_whole(
        Aim::Locked(guard),
        data.as_ref(),
        options,
        Operation::Write,
        Publish::Replace,
    )
}

/// Publishes `data` at `path` only if nothing exists there yet, atomically
/// and durably: the "first writer publishes, everyone else reads" pattern.
///
/// Of any number of racing creators (threads or processes) exactly one
/// succeeds; the others get [`AlreadyExists`](crate::ErrorKind::AlreadyExists)
/// and, from then on, can read the winner's complete content. The decision
/// is made by `renameat2(RENAME_NOREPLACE)`, or by `link(2)` on filesystems
/// without it; both are atomic. Anything at `path`, including a symlink
/// (even a dangling one), counts as existing.
///
/// # Errors
///
/// [`AlreadyExists`](crate::ErrorKind::AlreadyExists) when `path` exists;
/// otherwise as [`write_atomic`].
///
/// # Examples
///
/// ```
/// use safeatomic::{ErrorKind, create_atomic};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("init.json");
/// create_atomic(&path, b"first")?;
/// let err = create_atomic(&path, b"second").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::AlreadyExists);
/// assert_eq!(std::fs::read(&path)?, b"first");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn create_atomic(path: impl AsRef<Path>, data: impl AsRef<[u8]>) -> Result<()> {
    create_atomic_with(path, data, &WriteOptions::new())
}

/// Like [`create_atomic`], with explicit [`WriteOptions`] (the symlink
/// policy does not apply: anything at the path counts as existing).
///
/// With [`WriteOptions::checksum`], the sidecar is published before the
/// data (docs/decisions/0004), so the create takes the target's cooperative
/// lock, as a write does (waiting as long as
/// [`WriteOptions::lock_timeout`] allows), and checks under it that the
/// target is still absent before anything is written: a losing creator
/// gets [`AlreadyExists`](crate::ErrorKind::AlreadyExists) having changed
/// nothing, and the winner's sidecar always verifies. If a program that
/// ignores the lock creates the file just before our no-replace rename, the
/// sidecar state from before is put back (best effort, logged). Without a
/// checksum no lock is needed or taken: the no-replace rename decides.
///
/// # Deadlock
///
/// With a checksum, as for [`write_atomic`]: do not call it while you hold
/// a [`LockGuard`] for the same path (the lock is not reentrant; it would
/// wait for your own guard, forever without a timeout).
///
/// # Errors
///
/// As [`create_atomic`]; with a checksum also
/// [`LockTimeout`](crate::ErrorKind::LockTimeout), and
/// [`InvalidInput`](crate::ErrorKind::InvalidInput) before any I/O when
/// [`WriteOptions::lock`] is `false` (a sidecar cannot be published safely
/// without the lock; docs/decisions/0008).
///
/// # Examples
///
/// ```
/// use safeatomic::{Algorithm, ErrorKind, WriteOptions, create_atomic_with, verify_checksum};
/// # let dir = tempfile::tempdir()?;
/// create_atomic_with(dir.path().join("id"), b"42", &WriteOptions::new().mode(0o640))?;
///
/// let path = dir.path().join("seed.json");
/// let checked = WriteOptions::new().checksum(Some(Algorithm::Sha256));
/// create_atomic_with(&path, b"{}", &checked)?;
/// let lost = create_atomic_with(&path, b"{\"late\":1}", &checked).unwrap_err();
/// assert_eq!(lost.kind(), ErrorKind::AlreadyExists);
/// assert!(verify_checksum(&path)?); // the loser touched nothing
///
/// let unlocked = checked.clone().lock(false);
/// let refused = create_atomic_with(dir.path().join("x"), b"", &unlocked).unwrap_err();
/// assert_eq!(refused.kind(), ErrorKind::InvalidInput);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn create_atomic_with(
    path: impl AsRef<Path>,
    data: impl AsRef<[u8]>,
    options: &WriteOptions,
) -> Result<()> {
    Pending::write_whole(
        Aim::Path(path.as_ref()),
        data.as_ref(),
        options,
        Operation::Create,
        Publish::NoReplace,
    )
}

/// Creates `name` beside the file `guard` holds, in the directory that was
/// locked, with `data`, if nothing is there (as [`create_atomic_with`],
/// under the guard's lock): a store's migration backup.
/// [`write_atomic_locked_with`] up to its directory fsync, which the
/// caller makes once it has released `guard` (a store, so that the next
/// update need not wait for that fsync).
pub(crate) fn write_locked_unsynced(
    guard: &LockGuard,
    data: &[u8],
    options: &WriteOptions,
) -> Result<Unsynced> {
    Pending::write_whole_unsynced(
        Aim::Locked(guard),
        data,
        options,
        Operation::Write,
        Publish::Replace,
    )
}

pub(crate) fn create_beside(
    guard: &LockGuard,
    name: &std::ffi::OsStr,
    data: &[u8],
    options: &WriteOptions,
) -> Result<()> {
    Pending::write_whole(
        Aim::Beside(guard, name),
        data,
        options,
        Operation::Store,
        Publish::NoReplace,
    )
}

/// Size of the write buffer: large enough to amortise syscalls, small
/// enough that memory stays flat for any file size.
const BUFFER: usize = 64 * 1024;

/// A streaming atomic write: write any amount through [`io::Write`], then
/// [`commit`](AtomicWriter::commit) to publish it atomically and durably.
///
/// Nothing is visible at the target until `commit` returns. Dropping the
/// writer without committing (including on panic or early `?` return)
/// discards the temp file and leaves the target untouched, as
/// [`discard`](AtomicWriter::discard) does. Memory use is constant (a
/// 64 KiB buffer) whatever the size written.
///
/// # Examples
///
/// ```
/// use safeatomic::AtomicWriter;
/// use std::io::Write;
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("export.csv");
/// let mut w = AtomicWriter::create(&path)?;
/// for i in 0..1000 {
///     writeln!(w, "{i},{}", i * i)?;
/// }
/// w.commit()?;
/// assert!(std::fs::read_to_string(&path)?.starts_with("0,0\n1,1\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AtomicWriter {
    pending: Option<Pending>,
    buf: Vec<u8>,
}

impl AtomicWriter {
    /// Starts an atomic write of `path` with the default [`WriteOptions`].
    /// The temp file is created now, in the target's directory.
    ///
    /// # Errors
    ///
    /// As [`write_atomic`] for the steps before writing: missing parent,
    /// permissions, safety refusal, a directory or special file at `path`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let w = safeatomic::AtomicWriter::create(dir.path().join("a.bin"))?;
    /// w.discard(); // nothing published
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        Self::create_with(path, &WriteOptions::new())
    }

    /// Starts an atomic write of `path` with explicit [`WriteOptions`].
    ///
    /// # Errors
    ///
    /// As [`AtomicWriter::create`], plus invalid options.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AtomicWriter, WriteOptions};
    /// use std::io::Write;
    /// # let dir = tempfile::tempdir()?;
    /// let mut w = AtomicWriter::create_with(dir.path().join("k"), &WriteOptions::new().mode(0o600))?;
    /// w.write_all(b"key")?;
    /// w.commit()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_with(path: impl AsRef<Path>, options: &WriteOptions) -> Result<Self> {
        Ok(Self {
            pending: Some(Pending::begin(
                Aim::Path(path.as_ref()),
                options,
                Operation::Write,
                Publish::Replace,
            )?),
            buf: Vec::new(),
        })
    }

    /// The path that `commit` will replace (after following symlinks).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::AtomicWriter;
    /// # let dir = tempfile::tempdir()?;
    /// std::os::unix::fs::symlink("real.txt", dir.path().join("alias.txt"))?;
    /// let w = AtomicWriter::create(dir.path().join("alias.txt"))?;
    /// assert_eq!(w.path(), dir.path().join("real.txt"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        self.pending().path()
    }

    fn pending(&self) -> &Pending {
        // Invariant: Some until commit/discard, which consume self.
        self.pending
            .as_ref()
            .expect("pending until commit or discard")
    }

    fn pending_mut(&mut self) -> &mut Pending {
        self.pending
            .as_mut()
            .expect("pending until commit or discard")
    }

    fn flush_buffer(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            let buf = std::mem::take(&mut self.buf);
            let r = self.pending_mut().write(&buf);
            self.buf = buf;
            self.buf.clear();
            r?;
        }
        Ok(())
    }

    /// Makes everything written durable and publishes it atomically at the
    /// target, then makes the directory entry durable.
    ///
    /// # Errors
    ///
    /// As [`write_atomic`]: before the rename the target is untouched and
    /// the temp file removed; after it, only
    /// [`DurabilityUnconfirmed`](crate::ErrorKind::DurabilityUnconfirmed).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::AtomicWriter;
    /// use std::io::Write;
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("out.txt");
    /// let mut w = AtomicWriter::create(&path)?;
    /// w.write_all(b"done")?;
    /// assert!(!path.exists()); // nothing visible before the commit
    /// w.commit()?;
    /// assert_eq!(std::fs::read(&path)?, b"done");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn commit(mut self) -> Result<()> {
        self.flush_buffer()?;
        let pending = self
            .pending
            .take()
            .expect("pending until commit or discard");
        pending.commit()
    }

    /// Abandons the write: the temp file is removed, the target untouched.
    /// Dropping the writer does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AtomicWriter, write_atomic};
    /// use std::io::Write;
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("keep.txt");
    /// write_atomic(&path, b"old")?;
    /// let mut w = AtomicWriter::create(&path)?;
    /// w.write_all(b"half-written")?;
    /// w.discard();
    /// assert_eq!(std::fs::read(&path)?, b"old");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn discard(mut self) {
        if let Some(p) = self.pending.take() {
            p.discard();
        }
    }
}

impl io::Write for AtomicWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > BUFFER {
            self.flush_buffer()?;
        }
        if data.len() >= BUFFER {
            self.pending_mut().write(data)?;
        } else {
            if self.buf.capacity() == 0 {
                self.buf.reserve_exact(BUFFER);
            }
            self.buf.extend_from_slice(data);
        }
        Ok(data.len())
    }

    /// Writes buffered bytes to the temp file. This publishes nothing: only
    /// [`AtomicWriter::commit`] does.
    fn flush(&mut self) -> io::Result<()> {
        self.flush_buffer().map_err(io::Error::from)
    }
}

impl std::fmt::Debug for AtomicWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicWriter")
            .field("path", &self.pending.as_ref().map(Pending::path))
            .field("buffered", &self.buf.len())
            .finish()
    }
}

// Compile-time checks: a writer can move between threads; errors can too.
const _: () = {
    const fn send<T: Send>() {}
    const fn send_sync<T: Send + Sync>() {}
    send::<AtomicWriter>();
    send_sync::<Error>();
};
