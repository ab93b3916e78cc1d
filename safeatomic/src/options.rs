//! Per-call choices: safety policy, symlink policy and write options.

/// How an operation reacts when the environment cannot provide a guarantee
/// it needs (see [`inspect_guarantees`](crate::inspect_guarantees)).
///
/// The policy is always chosen at the call site; there is no global default
/// to change behind a caller's back.
///
/// # Examples
///
/// ```
/// use safeatomic::{Safety, WriteOptions, write_atomic_with};
/// assert_eq!(Safety::default(), Safety::Strict);
/// # let dir = tempfile::tempdir()?;
/// // A cache that may be lost: write it anywhere, log what is not guaranteed.
/// let opts = WriteOptions::new().safety(Safety::Warn);
/// write_atomic_with(dir.path().join("cache.bin"), b"...", &opts)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Safety {
    /// Refuse before anything is created or written, with
    /// [`ErrorKind::UnsupportedEnvironment`](crate::ErrorKind::UnsupportedEnvironment),
    /// when a guarantee the operation needs is
    /// [`NonTarget`](crate::Level::NonTarget) or
    /// [`Unsupported`](crate::Level::Unsupported) on this filesystem.
    /// [`BestEffort`](crate::Level::BestEffort) levels (tmpfs durability,
    /// overlay durability) proceed: the full protocol still runs and the
    /// residual risk is a documented property of the filesystem class.
    /// A failed directory fsync after the rename is an error
    /// ([`ErrorKind::DurabilityUnconfirmed`](crate::ErrorKind::DurabilityUnconfirmed)).
    #[default]
    Strict,
    /// Proceed anywhere; log a warning (through the `log` crate) for every
    /// needed guarantee that is not `Guaranteed`, and for a failed directory
    /// fsync after the rename (which then returns `Ok`). That log record is
    /// the report: with no logger installed nothing is shown, and a caller
    /// that must act on the condition uses `Strict`, where it is a typed
    /// error (decision 0009).
    Warn,
    /// Proceed anywhere, silently; a failed directory fsync after the rename
    /// returns `Ok`. The caller takes responsibility.
    BestEffort,
}

/// What a write does when its target path is a symbolic link.
///
/// The policy governs the **last** component of the path, like `O_NOFOLLOW`;
/// parent directories are resolved by the kernel as usual, and opened once,
/// so swapping a directory after that cannot redirect the write. Temp, lock
/// and sidecar files are never opened through a symlink.
///
/// # Examples
///
/// ```
/// use safeatomic::{ErrorKind, SymlinkPolicy, WriteOptions, write_atomic, write_atomic_with};
/// # let dir = tempfile::tempdir()?;
/// let (real, link) = (dir.path().join("real.toml"), dir.path().join("link.toml"));
/// std::os::unix::fs::symlink(&real, &link)?;
/// write_atomic(&link, b"a = 1")?; // Follow (the default): writes real.toml
/// assert_eq!(std::fs::read(&real)?, b"a = 1");
/// let refuse = WriteOptions::new().symlinks(SymlinkPolicy::Refuse);
/// let err = write_atomic_with(&link, b"a = 2", &refuse).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::SymlinkRefused);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SymlinkPolicy {
    /// Follow the link (and links it points to, up to 40): the real file is
    /// replaced atomically in its own directory and the link stays a link.
    /// What dotfile users expect. A dangling link creates its target.
    ///
    /// # Security
    ///
    /// As the kernel does with `fs.protected_symlinks=1` (whatever that
    /// setting is here): in a sticky, world-writable directory such as
    /// `/tmp`, a link is followed only when its owner is the caller or the
    /// directory's owner; another user's link there is refused with
    /// [`ErrorKind::SymlinkRefused`](crate::ErrorKind::SymlinkRefused)
    /// naming it (`docs/security.md`).
    #[default]
    Follow,
    /// Fail with [`ErrorKind::SymlinkRefused`](crate::ErrorKind::SymlinkRefused)
    /// if the target is a symlink; nothing is written.
    Refuse,
    /// Replace the link itself with a regular file; the file it pointed to is
    /// left untouched.
    ReplaceLink,
}

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
    pub(crate) checksum: Option<crate::Algorithm>,
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
    pub fn checksum(mut self, algorithm: Option<crate::Algorithm>) -> Self {
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
