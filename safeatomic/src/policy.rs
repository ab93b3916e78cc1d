//! Per-call policies: what to do where a guarantee is weaker than needed
//! (`Safety`), and with a symlink at a write's target (`SymlinkPolicy`).

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
