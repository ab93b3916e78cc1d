//! The one error type of the crate.

use crate::text::Shown;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A specialized `Result` whose error is [`Error`].
///
/// # Examples
///
/// ```
/// use safeatomic::{Result, read_atomic_to_string};
///
/// fn first_line(path: &std::path::Path) -> Result<String> {
///     Ok(read_atomic_to_string(path)?.lines().next().unwrap_or("").to_owned())
/// }
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("notes.txt");
/// # safeatomic::write_atomic(&path, "one\ntwo\n")?;
/// assert_eq!(first_line(&path)?, "one");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in a form a program can act on.
///
/// New kinds may be added in minor releases; match with a wildcard arm.
///
/// # Examples
///
/// ```
/// use safeatomic::{ErrorKind, read_atomic};
/// # let dir = tempfile::tempdir()?;
/// let config = match read_atomic(dir.path().join("config.json")) {
///     Ok(bytes) => bytes,
///     Err(e) if e.kind() == ErrorKind::NotFound => b"{}".to_vec(), // first run
///     Err(e) => return Err(e.into()),
/// };
/// assert_eq!(config, b"{}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The path (or its parent directory) does not exist.
    NotFound,
    /// The destination already exists (no-replace move, create-if-absent).
    AlreadyExists,
    /// The OS refused access (`EACCES`, `EPERM`, or a read-only filesystem).
    PermissionDenied,
    /// Source and destination are on different filesystems, so the move
    /// cannot be atomic; nothing was moved.
    CrossDevice,
    /// The filesystem or kernel lacks an operation (for example
    /// `RENAME_EXCHANGE`); nothing was changed.
    UnsupportedOperation,
    /// Under [`Safety::Strict`](crate::Safety::Strict), the filesystem cannot
    /// provide a guarantee the operation needs; refused before anything is created or written.
    UnsupportedEnvironment,
    /// The new content **is** in place and visible, but the final directory
    /// fsync failed, so it may not survive a power loss. Not rolled back.
    DurabilityUnconfirmed,
    /// The filesystem is full or the quota is exhausted (`ENOSPC`, `EDQUOT`).
    StorageFull,
    /// The path names a directory where a file was expected.
    IsADirectory,
    /// A component of the path that must be a directory is not one.
    NotADirectory,
    /// The path is a symlink and the [`SymlinkPolicy`](crate::SymlinkPolicy)
    /// refuses it, or a symlink was found where none may be followed.
    SymlinkRefused,
    /// The path or an option is not valid (empty path, a name like `..`,
    /// a mode with bits outside `0o7777`, a special file as target …).
    InvalidInput,
    /// A blocking lock acquisition gave up after its timeout; nothing was
    /// written.
    LockTimeout,
    /// The data does not match its checksum sidecar: it changed after it
    /// was written. [`Error::checksum_mismatch`] has both digests.
    ChecksumMismatch,
    /// There is no checksum sidecar for the file.
    ChecksumMissing,
    /// The content cannot be parsed (or a value cannot be serialized) in the
    /// file's format; [`Error::location`] gives line and column when known.
    Format,
    /// The file parses, but its data does not fit the type: a missing
    /// field, a value of the wrong type, an unknown variant. The file is
    /// not corrupt (a store never moves it aside for this): it was
    /// written by another version of the program, or edited.
    /// [`Error::field`] names the field, [`Error::location`] gives its
    /// line and column when the file has one for it.
    Schema,
    /// The file's schema version is above the type's (a newer program
    /// wrote it): it was read, but the store does not write it unless
    /// opened with
    /// [`StoreOptions::allow_newer_schema`](crate::StoreOptions::allow_newer_schema).
    /// Nothing was written; the detail names both versions.
    SchemaTooNew,
    /// A value was refused by its type's validation hook; nothing was written.
    Validation,
    /// The checksum sidecar cannot be parsed (empty, garbage, wrong length,
    /// unknown algorithm); the detail says why.
    ChecksumMalformed,
    /// A file safeatomic would use beside the target — its lock file — is
    /// not one it can trust: another user's file where that user could
    /// turn it against the caller, a hard link to some other file, or not
    /// a regular file. Nothing was written to it; the detail says why
    /// (docs/security.md).
    Untrusted,
    /// Any other I/O failure; [`Error::io_error`] has the OS error.
    Io,
}

impl ErrorKind {
    /// Maps an OS error to a kind. Context-specific errors (`EXDEV`,
    /// `EINVAL` from `renameat2`) are refined by the caller.
    pub(crate) fn of_io(e: &io::Error) -> Self {
        use rustix::io::Errno;
        match crate::sys::errno(e) {
            Some(Errno::NOENT) => Self::NotFound,
            Some(Errno::EXIST) => Self::AlreadyExists,
            Some(Errno::ACCESS | Errno::PERM | Errno::ROFS) => Self::PermissionDenied,
            Some(Errno::XDEV) => Self::CrossDevice,
            Some(Errno::NOSPC | Errno::DQUOT) => Self::StorageFull,
            Some(Errno::ISDIR) => Self::IsADirectory,
            Some(Errno::NOTDIR) => Self::NotADirectory,
            Some(Errno::NAMETOOLONG) => Self::InvalidInput,
            _ => Self::Io,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::NotFound => "not found",
            Self::AlreadyExists => "already exists",
            Self::PermissionDenied => "permission denied",
            Self::CrossDevice => "source and destination are on different filesystems",
            Self::UnsupportedOperation => "operation not supported by this filesystem",
            Self::UnsupportedEnvironment => "environment cannot provide a required guarantee",
            Self::DurabilityUnconfirmed => "committed, durability unconfirmed",
            Self::StorageFull => "no space left",
            Self::IsADirectory => "is a directory",
            Self::NotADirectory => "not a directory",
            Self::SymlinkRefused => "symlink refused",
            Self::InvalidInput => "invalid input",
            Self::LockTimeout => "timed out waiting for the lock",
            Self::ChecksumMismatch => "checksum mismatch",
            Self::ChecksumMissing => "checksum sidecar missing",
            Self::Format => "format error",
            Self::Schema => "schema mismatch",
            Self::SchemaTooNew => "the file is from a newer schema",
            Self::Validation => "validation failed",
            Self::ChecksumMalformed => "checksum sidecar malformed",
            Self::Untrusted => "refused to use an untrusted file",
            Self::Io => "I/O error",
        }
    }
}

/// The public operation that failed.
///
/// # Examples
///
/// ```
/// use safeatomic::{Operation, move_atomic};
/// # let dir = tempfile::tempdir()?;
/// let err = move_atomic(dir.path().join("a"), dir.path().join("b")).unwrap_err();
/// assert_eq!(err.operation(), Operation::Move);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// An atomic write ([`write_atomic`](crate::write_atomic), [`AtomicWriter`](crate::AtomicWriter)).
    Write,
    /// A create-if-absent ([`create_atomic`](crate::create_atomic)).
    Create,
    /// A read ([`read_atomic`](crate::read_atomic), [`AtomicReader`](crate::AtomicReader)).
    Read,
    /// A move ([`move_atomic`](crate::move_atomic) and the no-replace variant).
    Move,
    /// An exchange ([`exchange_atomic`](crate::exchange_atomic)).
    Exchange,
    /// Environment inspection ([`inspect_guarantees`](crate::inspect_guarantees)).
    Inspect,
    /// Litter removal ([`cleanup_litter`](crate::cleanup_litter)).
    Cleanup,
    /// A lock operation ([`acquire_lock`](crate::acquire_lock) and friends).
    Lock,
    /// A checksum operation ([`verify_checksum`](crate::verify_checksum) and friends).
    Checksum,
    /// A typed store operation ([`Store`](crate::Store)).
    Store,
}

impl Operation {
    fn verb(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Create => "create",
            Self::Read => "read",
            Self::Move => "move",
            Self::Exchange => "exchange",
            Self::Inspect => "inspect",
            Self::Cleanup => "clean up",
            Self::Lock => "lock",
            Self::Checksum => "checksum",
            Self::Store => "access store",
        }
    }
}

/// An error from a safeatomic operation: what kind, which operation and
/// step, which path(s), and the underlying OS error if there was one.
///
/// `Display` prints one line, e.g.
/// ``failed to write `/etc/app.toml` (fsync temp file): no space left``;
/// [`source()`](std::error::Error::source) gives the OS error without
/// repeating it.
///
/// # Examples
///
/// ```
/// use safeatomic::{ErrorKind, Operation, read_atomic};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("missing.json");
/// let err = read_atomic(&path).unwrap_err();
/// assert_eq!((err.kind(), err.operation()), (ErrorKind::NotFound, Operation::Read));
/// assert_eq!(err.to_string(), format!("failed to read `{}` (open file): not found", path.display()));
/// // Converts into `std::io::Error` with the matching kind.
/// assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::NotFound);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    op: Operation,
    step: &'static str,
    path: PathBuf,
    other_path: Option<PathBuf>,
    detail: Option<String>,
    mismatch: Option<(String, String)>,
    location: Option<(u64, u64)>,
    /// For a schema mismatch: where in the data (`None`: the root).
    field: Option<String>,
    /// The OS error, or (for a parse error) the parser's own error.
    source: Option<Source>,
}

/// What caused an [`Error`].
enum Source {
    Io(io::Error),
    /// A parser's error, whose `Display` shows the offending line with a
    /// caret (kept for `source()` and the `{:#}` form).
    Parser(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    pub(crate) fn new(
        kind: ErrorKind,
        op: Operation,
        step: &'static str,
        path: impl Into<PathBuf>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                op,
                step,
                path: path.into(),
                other_path: None,
                detail: None,
                mismatch: None,
                location: None,
                field: None,
                source: None,
            }),
        }
    }

    /// An error caused by an OS call, its kind derived from the errno.
    pub(crate) fn io(
        op: Operation,
        step: &'static str,
        path: impl Into<PathBuf>,
        source: io::Error,
    ) -> Self {
        Self::new(ErrorKind::of_io(&source), op, step, path).with_source(source)
    }

    /// A copy of this error, for each of several callers it concerns (the
    /// callers of one group commit). The source is copied as an OS error
    /// of the same number, or as the message of any other error.
    pub(crate) fn duplicate(&self) -> Self {
        let i = &*self.inner;
        let source = i.source.as_ref().map(|source| match source {
            Source::Io(e) => Source::Io(match e.raw_os_error() {
                Some(errno) => io::Error::from_raw_os_error(errno),
                None => io::Error::new(e.kind(), e.to_string()),
            }),
            Source::Parser(e) => Source::Parser(e.to_string().into()),
        });
        Self {
            inner: Box::new(Inner {
                kind: i.kind,
                op: i.op,
                step: i.step,
                path: i.path.clone(),
                other_path: i.other_path.clone(),
                detail: i.detail.clone(),
                mismatch: i.mismatch.clone(),
                location: i.location,
                field: i.field.clone(),
                source,
            }),
        }
    }

    pub(crate) fn with_source(mut self, source: io::Error) -> Self {
        self.inner.source = Some(Source::Io(source));
        self
    }

    /// Keeps a parser's own error as the source (its snippet of the input).
    #[cfg_attr(
        not(any(feature = "json", feature = "yaml", feature = "toml", feature = "ron")),
        allow(dead_code)
    )]
    pub(crate) fn with_parser_error(
        mut self,
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    ) -> Self {
        self.inner.source = Some(Source::Parser(source));
        self
    }

    /// The same error, reported under another operation (a store's lock
    /// error is the store's).
    pub(crate) fn with_operation(mut self, op: Operation) -> Self {
        self.inner.op = op;
        self
    }

    pub(crate) fn with_other_path(mut self, other: impl Into<PathBuf>) -> Self {
        self.inner.other_path = Some(other.into());
        self
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.inner.detail = Some(detail.into());
        self
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.inner.kind = kind;
        self
    }

    /// A checksum mismatch: both digests, and how to accept a deliberate
    /// change (the data was edited on purpose, by a person or a program
    /// that does not keep the sidecar).
    pub(crate) fn with_mismatch(mut self, expected: String, actual: String) -> Self {
        self.inner.detail = Some(format!(
            "expected {expected}, found {actual}; if the file was changed on purpose, \
             accept it with `safeatomic checksum write {}`",
            Shown::path(&self.inner.path)
        ));
        self.inner.mismatch = Some((expected, actual));
        self
    }

    #[cfg_attr(
        not(any(feature = "json", feature = "yaml", feature = "toml", feature = "ron")),
        allow(dead_code)
    )]
    pub(crate) fn with_field(mut self, field: Option<String>) -> Self {
        self.inner.field = field;
        self
    }

    pub(crate) fn with_location(mut self, line: u64, column: u64) -> Self {
        self.inner.location = Some((line, column));
        self
    }

    /// For [`ErrorKind::Format`] and [`ErrorKind::Schema`]: the 1-based
    /// line and column of the problem in the file, when the format's parser
    /// reports one (never for a field that is missing from the file's top
    /// level: no place in the file holds it).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ErrorKind, atomic_json_load};
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("config.json");
    /// std::fs::write(&path, "{\"port\": }")?;
    /// let err = atomic_json_load::<serde_json::Value>(&path).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Format);
    /// assert_eq!(err.location(), Some((1, 10)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn location(&self) -> Option<(u64, u64)> {
        self.inner.location
    }

    /// For [`ErrorKind::Schema`]: the path in the data of the value that does
    /// not fit the type (`display.page_size`, `servers[2].port`), or of the
    /// table that lacks a field; `None` for the document itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ErrorKind, atomic_json_load};
    /// # use serde::Deserialize;
    /// #[derive(Debug, Deserialize)]
    /// struct Config { display: Display }
    /// #[derive(Debug, Deserialize)]
    /// struct Display { page_size: u32 }
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("config.json");
    /// std::fs::write(&path, "{\"display\": {\"page_size\": \"large\"}}")?;
    /// let err = atomic_json_load::<Config>(&path).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Schema);
    /// assert_eq!(err.field(), Some("display.page_size"));
    /// assert_eq!(err.location(), Some((1, 33)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn field(&self) -> Option<&str> {
        self.inner.field.as_deref()
    }

    /// For [`ErrorKind::ChecksumMismatch`]: the digest the sidecar expects
    /// and the digest of the data found, in that order.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Algorithm, ErrorKind, WriteOptions, compute_hash_data};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("data.bin");
    /// let opts = WriteOptions::new().checksum(Some(Algorithm::Sha256));
    /// safeatomic::write_atomic_with(&path, b"hello", &opts)?;
    /// std::fs::write(&path, b"jello")?; // changed behind the library's back
    /// let err = safeatomic::read_atomic_verified(&path).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::ChecksumMismatch);
    /// let (expected, found) = err.checksum_mismatch().unwrap();
    /// assert_eq!(expected, compute_hash_data(b"hello", Algorithm::Sha256));
    /// assert_eq!(found, compute_hash_data(b"jello", Algorithm::Sha256));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checksum_mismatch(&self) -> Option<(&str, &str)> {
        self.inner
            .mismatch
            .as_ref()
            .map(|(e, a)| (e.as_str(), a.as_str()))
    }

    /// What went wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ErrorKind, WriteOptions, write_atomic_with};
    /// # let dir = tempfile::tempdir()?;
    /// let opts = WriteOptions::new().mode(0o10000); // not a permission bit
    /// let err = write_atomic_with(dir.path().join("f"), b"x", &opts).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The public operation that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Operation, create_atomic};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("id");
    /// create_atomic(&path, b"1")?;
    /// let err = create_atomic(&path, b"2").unwrap_err(); // already there
    /// assert_eq!(err.operation(), Operation::Create);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn operation(&self) -> Operation {
        self.inner.op
    }

    /// The step of the operation that failed, e.g. `"fsync temp file"`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let err = safeatomic::read_atomic(dir.path().join("missing")).unwrap_err();
    /// assert_eq!(err.step(), "open file");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn step(&self) -> &'static str {
        self.inner.step
    }

    /// The path the operation was about (the target, or the source of a move).
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("missing");
    /// let err = safeatomic::read_atomic(&path).unwrap_err();
    /// assert_eq!(err.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The second path of a two-path operation (move destination, exchange partner).
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let (src, dst) = (dir.path().join("missing"), dir.path().join("dst"));
    /// let err = safeatomic::move_atomic(&src, &dst).unwrap_err();
    /// assert_eq!(err.path(), src);
    /// assert_eq!(err.other_path(), Some(dst.as_path()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn other_path(&self) -> Option<&Path> {
        self.inner.other_path.as_deref()
    }

    /// The underlying OS error, if the failure came from a syscall.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let err = safeatomic::read_atomic(dir.path().join("missing")).unwrap_err();
    /// let os = err.io_error().expect("open(2) failed");
    /// assert_eq!(os.kind(), std::io::ErrorKind::NotFound);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn io_error(&self) -> Option<&io::Error> {
        match &self.inner.source {
            Some(Source::Io(e)) => Some(e),
            _ => None,
        }
    }

    /// The raw OS error number, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let err = safeatomic::read_atomic(dir.path().join("missing")).unwrap_err();
    /// assert_eq!(err.raw_os_error(), Some(2)); // ENOENT
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn raw_os_error(&self) -> Option<i32> {
        self.io_error().and_then(io::Error::raw_os_error)
    }

    /// Whether the new content was published despite this error
    /// (only [`ErrorKind::DurabilityUnconfirmed`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::write_atomic;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("state");
    /// match write_atomic(&path, b"v2") {
    ///     Ok(()) => {}
    ///     // Visible but perhaps not durable: do not retry as if nothing happened.
    ///     Err(e) if e.is_committed() => eprintln!("warning: {e}"),
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_committed(&self) -> bool {
        self.inner.kind == ErrorKind::DurabilityUnconfirmed
    }
}

/// The step of errors about the path itself (what it names), which the
/// message does not repeat: the kind and the detail say it.
pub(crate) const CHECK_PATH: &str = "check path";

impl fmt::Display for Error {
    /// One line. A parse error says where first, as compilers do:
    /// ``config.toml:6:13: parse error: toml: invalid type: …``; any other
    /// error says what failed: ``failed to write `/etc/app.toml` (fsync
    /// temp file): no space left``. The alternate form (`{:#}`) adds, on
    /// the lines after it, the parser's own report (the offending line with
    /// a caret) where there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        if matches!(i.kind, ErrorKind::Format | ErrorKind::Schema) && i.step == "parse" {
            write!(f, "{}", Shown::path(&i.path))?;
            if let Some((line, column)) = i.location {
                write!(f, ":{line}:{column}")?;
            }
            match i.kind {
                ErrorKind::Schema => write!(f, ": schema mismatch")?,
                _ => write!(f, ": parse error")?,
            }
        } else {
            write!(f, "failed to {} `{}`", i.op.verb(), Shown::path(&i.path))?;
            if let Some(other) = &i.other_path {
                write!(f, " and `{}`", Shown::path(other))?;
            }
            if i.step != CHECK_PATH {
                write!(f, " ({})", i.step)?;
            }
            write!(f, ": {}", i.kind.describe())?;
            if let Some((line, column)) = i.location {
                write!(f, " at line {line}, column {column}")?;
            }
        }
        if let Some(detail) = &i.detail {
            // Details quote file names and payloads: one line, no escapes.
            write!(f, ": {}", Shown(detail.as_bytes()))?;
        }
        if f.alternate()
            && let Some(Source::Parser(parser)) = &i.source
        {
            write!(f, "\n\n{}", parser.to_string().trim_end())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Error")
            .field("kind", &i.kind)
            .field("operation", &i.op)
            .field("step", &i.step)
            .field("path", &i.path)
            .field("other_path", &i.other_path)
            .field("detail", &i.detail)
            .field(
                "source",
                &i.source.as_ref().map(|s| match s {
                    Source::Io(e) => e as &dyn fmt::Debug,
                    Source::Parser(e) => e as &dyn fmt::Debug,
                }),
            )
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.inner.source.as_ref()? {
            Source::Io(e) => Some(e),
            Source::Parser(e) => Some(&**e),
        }
    }
}

impl From<Error> for io::Error {
    /// Converts to an `io::Error` whose kind matches, keeping the message and
    /// the original error as the inner error.
    fn from(e: Error) -> Self {
        let kind = match e.kind() {
            ErrorKind::NotFound => io::ErrorKind::NotFound,
            ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
            ErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
            ErrorKind::CrossDevice => io::ErrorKind::CrossesDevices,
            ErrorKind::UnsupportedOperation | ErrorKind::UnsupportedEnvironment => {
                io::ErrorKind::Unsupported
            }
            ErrorKind::StorageFull => io::ErrorKind::StorageFull,
            ErrorKind::IsADirectory => io::ErrorKind::IsADirectory,
            ErrorKind::NotADirectory => io::ErrorKind::NotADirectory,
            ErrorKind::InvalidInput | ErrorKind::SymlinkRefused => io::ErrorKind::InvalidInput,
            ErrorKind::LockTimeout => io::ErrorKind::TimedOut,
            ErrorKind::ChecksumMismatch
            | ErrorKind::ChecksumMalformed
            | ErrorKind::Format
            | ErrorKind::Schema => io::ErrorKind::InvalidData,
            ErrorKind::SchemaTooNew => io::ErrorKind::Unsupported,
            ErrorKind::Validation => io::ErrorKind::InvalidInput,
            ErrorKind::ChecksumMissing => io::ErrorKind::NotFound,
            ErrorKind::Untrusted => io::ErrorKind::PermissionDenied,
            ErrorKind::DurabilityUnconfirmed | ErrorKind::Io => {
                e.io_error().map_or(io::ErrorKind::Other, io::Error::kind)
            }
        };
        io::Error::new(kind, e)
    }
}
