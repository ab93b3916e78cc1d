//! The options of a write (`WriteOptions`).

use crate::checksum::digest::Algorithm;
use crate::policy::{Safety, SymlinkPolicy};

/// Options for [`write_atomic_with`](crate::write_atomic_with) and
/// [`AtomicWriter::create_with`](crate::AtomicWriter::create_with).
///
/// A by-value builder; `WriteOptions::new()` (or `default()`) gives the
/// defaults: [`Safety::Strict`], mode taken from the existing file (or
/// `0o666` minus the umask for a new one), owner preserved where permitted,
/// [`SymlinkPolicy::Follow`], the cooperative lock taken (waiting
/// indefinitely).
///
/// # Examples
///
/// ```
/// use safeatomic::{Safety, SymlinkPolicy, WriteOptions, write_atomic_with};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("secret.json");
/// let opts = WriteOptions::new()
///     .mode(0o600)
///     .symlinks(SymlinkPolicy::Refuse)
///     .safety(Safety::Strict);
/// write_atomic_with(&path, br#"{"token":"..."}"#, &opts)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    pub(crate) safety: Safety,
    pub(crate) mode: Option<u32>,
    pub(crate) preserve_owner: bool,
    pub(crate) symlinks: SymlinkPolicy,
    pub(crate) lock: bool,
    pub(crate) lock_timeout: Option<std::time::Duration>,
    pub(crate) checksum: Option<Algorithm>,
    /// A store's commit: its temp file is noted as this process's when it
    /// is created (`identity::note_created`), for a watcher of the store.
    #[cfg(feature = "watch")]
    pub(crate) note_created: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl WriteOptions {
    /// The defaults (see the type documentation).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Safety, WriteOptions};
    /// assert_eq!(WriteOptions::new(), WriteOptions::default());
    /// assert_eq!(WriteOptions::new(), WriteOptions::new().safety(Safety::Strict).lock(true));
    /// ```
    pub fn new() -> Self {
        Self {
            safety: Safety::Strict,
            mode: None,
            preserve_owner: true,
            symlinks: SymlinkPolicy::Follow,
            lock: true,
            lock_timeout: None,
            checksum: None,
            #[cfg(feature = "watch")]
            note_created: false,
        }
    }

    /// Sets the safety policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Safety, WriteOptions, write_atomic_with};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("scratch.tmp");
    /// // The caller takes responsibility: no refusal, no warning.
    /// let opts = WriteOptions::new().safety(Safety::BestEffort);
    /// write_atomic_with(&path, b"scratch", &opts)?;
    /// # assert_eq!(std::fs::read(&path)?, b"scratch");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn safety(mut self, safety: Safety) -> Self {
        self.safety = safety;
        self
    }

    /// Sets the exact permission bits of the written file (`0o7777` at most),
    /// regardless of the umask or the mode of the file being replaced.
    /// Without it, an existing file keeps its mode and a new file gets
    /// `0o666` minus the umask. An invalid mode makes the write fail with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before any I/O.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{WriteOptions, write_atomic_with};
    /// use std::os::unix::fs::PermissionsExt;
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("token");
    /// write_atomic_with(&path, b"s3cr3t", &WriteOptions::new().mode(0o600))?;
    /// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o7777, 0o600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Whether to give the new file the owner and group of the file it
    /// replaces, where the OS permits it (default `true`). Only attempted
    /// when they differ from the writer's; refusal (`EPERM`) is not an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{WriteOptions, write_atomic_with};
    /// use std::os::unix::fs::MetadataExt;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("report.txt");
    /// # std::fs::write(&path, b"old")?;
    /// // The new file belongs to the writer, whoever owned the old one.
    /// write_atomic_with(&path, b"new", &WriteOptions::new().preserve_owner(false))?;
    /// # let me = std::fs::metadata(dir.path())?.uid(); // the tempdir is ours
    /// assert_eq!(std::fs::metadata(&path)?.uid(), me);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn preserve_owner(mut self, preserve: bool) -> Self {
        self.preserve_owner = preserve;
        self
    }

    /// Whether the write holds the cooperative lock `<target>.lock` from
    /// before the temp file exists until after the directory fsync (default
    /// `true`, as in the reference library), so concurrent writers never
    /// interleave. Turn it off only for files with a single writer.
    ///
    /// [`create_atomic_with`](crate::create_atomic_with) takes the lock only
    /// when it publishes a checksum sidecar, and then refuses `lock(false)`
    /// with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{WriteOptions, lock_file_path, write_atomic_with};
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("single-writer.log");
    /// write_atomic_with(&path, b"x", &WriteOptions::new().lock(false))?;
    /// assert!(!lock_file_path(&path).exists()); // no lock taken, none created
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn lock(mut self, lock: bool) -> Self {
        self.lock = lock;
        self
    }

    /// How long a locked write waits for the lock before failing with
    /// [`ErrorKind::LockTimeout`](crate::ErrorKind::LockTimeout); `None`
    /// (the default) waits indefinitely.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ErrorKind, WriteOptions, acquire_lock, write_atomic_with};
    /// use std::time::Duration;
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("state.json");
    /// let held = acquire_lock(&path, None)?; // someone else is writing
    /// let opts = WriteOptions::new().lock_timeout(Some(Duration::from_millis(20)));
    /// let err = write_atomic_with(&path, b"{}", &opts).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::LockTimeout);
    /// assert!(!path.exists()); // nothing was written
    /// # drop(held);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Also write a checksum sidecar `<target>.<algo>` (default `None`).
    ///
    /// The digest is computed while the data is written (one pass, also for
    /// [`AtomicWriter`](crate::AtomicWriter) of any size), and the sidecar
    /// is replaced atomically and durably before the data, under the lock
    /// the write holds (taken by default; with `.lock(false)` none is taken,
    /// so use that only for files with a single writer; a checksummed
    /// [`create_atomic_with`](crate::create_atomic_with) always takes it and
    /// refuses `.lock(false)`, decision 0008). Sidecars of other algorithms
    /// are removed once the data is in place. Verify with
    /// [`verify_checksum`](crate::verify_checksum) or
    /// [`read_atomic_verified`](crate::read_atomic_verified).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Algorithm, WriteOptions, verify_checksum, write_atomic_with};
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("model.bin");
    /// let opts = WriteOptions::new().checksum(Some(Algorithm::Sha256));
    /// write_atomic_with(&path, b"weights", &opts)?;
    /// assert!(dir.path().join("model.bin.sha256").exists());
    /// assert!(verify_checksum(&path)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn checksum(mut self, algorithm: Option<Algorithm>) -> Self {
        self.checksum = algorithm;
        self
    }

    /// Sets the symlink policy for the target path.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{SymlinkPolicy, WriteOptions, write_atomic_with};
    /// # let dir = tempfile::tempdir()?;
    /// let (shared, link) = (dir.path().join("shared.conf"), dir.path().join("local.conf"));
    /// std::fs::write(&shared, b"shared")?;
    /// std::os::unix::fs::symlink(&shared, &link)?;
    /// let opts = WriteOptions::new().symlinks(SymlinkPolicy::ReplaceLink);
    /// write_atomic_with(&link, b"local", &opts)?;
    /// assert!(!std::fs::symlink_metadata(&link)?.file_type().is_symlink());
    /// assert_eq!(std::fs::read(&shared)?, b"shared"); // untouched
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn symlinks(mut self, policy: SymlinkPolicy) -> Self {
        self.symlinks = policy;
        self
    }
}
