//! Reading: `read_atomic`, `AtomicReader`.

use crate::checksum::verify::{self, Verified};
use crate::env::{self, Guarantee};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::path;
use crate::policy::{Safety, SymlinkPolicy};
use crate::resolve::{self, Target, require_regular};
use crate::sys::{self, Mode, OFlags, OwnedFd, Stat};
use std::io;
use std::path::{Path, PathBuf};

/// Options for [`read_atomic_with`] and [`AtomicReader::open_with`].
///
/// # Examples
///
/// ```
/// use safeatomic::{ReadOptions, Safety};
/// let opts = ReadOptions::new().safety(Safety::Warn);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadOptions {
    pub(crate) safety: Safety,
    pub(crate) verify: bool,
    /// The caller holds the file's cooperative lock (a store update): a
    /// mismatch is then settled as it is, not by waiting for the lock.
    pub(crate) lock_held: bool,
    /// The algorithm whose sidecar is authoritative (a store's configured
    /// one); otherwise the sidecar written last is used.
    pub(crate) algorithm: Option<crate::checksum::digest::Algorithm>,
}

impl ReadOptions {
    /// The defaults: [`Safety::Strict`], no verification.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::ReadOptions;
    /// assert_eq!(ReadOptions::new(), ReadOptions::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the safety policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ReadOptions, Safety, read_atomic_with};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("f");
    /// # safeatomic::write_atomic(&path, b"x")?;
    /// // Read even where ReaderConsistency is not guaranteed, with a log warning.
    /// let bytes = read_atomic_with(&path, &ReadOptions::new().safety(Safety::Warn))?;
    /// # assert_eq!(bytes, b"x");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn safety(mut self, safety: Safety) -> Self {
        self.safety = safety;
        self
    }

    /// Verify the content against its checksum sidecar (default `false`);
    /// see [`read_atomic_verified`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Algorithm, ReadOptions, WriteOptions, read_atomic_with, write_atomic_with};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("f");
    /// write_atomic_with(&path, b"x", &WriteOptions::new().checksum(Some(Algorithm::Sha256)))?;
    /// assert_eq!(read_atomic_with(&path, &ReadOptions::new().verify(true))?, b"x");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }
}

/// Reads the whole file at `path`, as one consistent version of it.
///
/// Because writers in this library replace files by rename, the bytes
/// returned all come from one complete version, even while writers replace
/// the file concurrently.
///
/// # Errors
///
/// [`NotFound`](crate::ErrorKind::NotFound),
/// [`PermissionDenied`](crate::ErrorKind::PermissionDenied),
/// [`IsADirectory`](crate::ErrorKind::IsADirectory),
/// [`UnsupportedEnvironment`](crate::ErrorKind::UnsupportedEnvironment)
/// under the default strict policy on a non-target filesystem, or
/// [`Io`](crate::ErrorKind::Io); each names the path.
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("f");
/// safeatomic::write_atomic(&path, b"hello")?;
/// assert_eq!(safeatomic::read_atomic(&path)?, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_atomic(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    read_atomic_with(path, &ReadOptions::new())
}

/// Like [`read_atomic`], with explicit [`ReadOptions`].
///
/// # Errors
///
/// As [`read_atomic`].
///
/// # Examples
///
/// ```
/// use safeatomic::{ReadOptions, Safety, read_atomic_with};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("f");
/// # safeatomic::write_atomic(&path, b"x")?;
/// let bytes = read_atomic_with(&path, &ReadOptions::new().safety(Safety::BestEffort))?;
/// # assert_eq!(bytes, b"x");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_atomic_with(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Vec<u8>> {
    let mut reader = AtomicReader::open_with(path, options)?;
    if let Source::Memory(cursor) = reader.source {
        return Ok(cursor.into_inner());
    }
    let mut out = Vec::with_capacity(usize::try_from(reader.len).unwrap_or(0));
    io::Read::read_to_end(&mut reader, &mut out)
        .map_err(|e| Error::io(Operation::Read, "read", &reader.path, e))?;
    Ok(out)
}

/// Reads the whole file at `path` as UTF-8 text.
///
/// # Errors
///
/// As [`read_atomic`], and [`InvalidInput`](crate::ErrorKind::InvalidInput)
/// when the content is not valid UTF-8.
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("f");
/// safeatomic::write_atomic(&path, "héllo")?;
/// assert_eq!(safeatomic::read_atomic_to_string(&path)?, "héllo");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_atomic_to_string(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let bytes = read_atomic(path)?;
    String::from_utf8(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            Operation::Read,
            "decode UTF-8",
            path,
        )
        .with_detail(format!(
            "invalid UTF-8 at byte {}",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Reads the whole file at `path` and verifies it against its checksum
/// sidecar, returning exactly the bytes that were verified (one read: never
/// verify-then-reread).
///
/// A read that races writers never reports a false mismatch or a false
/// "sidecar missing": writers publish the sidecar (naming the new and the
/// previous digest) before the data, the reader reads the sidecar first,
/// retries when the files changed underneath it, and confirms a mismatch or
/// a missing sidecar before reporting it: under a shared lock on the writers'
/// lock file if it gets it within 250 ms, else by re-reading until two
/// consecutive readings saw
/// the same data file and sidecar — so it never waits long, even while you
/// hold the file's lock yourself. The sidecar's declared algorithm is used.
/// A symlink at `path` is followed, as writers follow it: the real file's
/// sidecar and lock are used.
///
/// # Errors
///
/// [`ChecksumMismatch`](ErrorKind::ChecksumMismatch) (with
/// [`Error::checksum_mismatch`] giving expected and actual digests),
/// [`ChecksumMissing`](ErrorKind::ChecksumMissing),
/// [`ChecksumMalformed`](ErrorKind::ChecksumMalformed), and the errors of
/// [`read_atomic`].
///
/// # Examples
///
/// ```
/// use safeatomic::{Algorithm, ErrorKind, WriteOptions, read_atomic_verified, write_atomic_with};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.json");
/// write_atomic_with(&path, b"{}", &WriteOptions::new().checksum(Some(Algorithm::Sha256)))?;
/// assert_eq!(read_atomic_verified(&path)?, b"{}");
/// std::fs::write(&path, b"{\"tampered\":1}")?;
/// let err = read_atomic_verified(&path).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::ChecksumMismatch);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_atomic_verified(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    read_atomic_with(path, &ReadOptions::new().verify(true))
}

/// A reader holding one version of a file: it keeps reading that version,
/// unchanged, while writers replace the file (it holds the open file, and a
/// replace only moves the name).
///
/// # Examples
///
/// ```
/// use safeatomic::{AtomicReader, write_atomic};
/// use std::io::Read;
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("f");
/// write_atomic(&path, b"old")?;
/// let mut reader = AtomicReader::open(&path)?;
/// write_atomic(&path, b"new")?;
/// let mut s = String::new();
/// reader.read_to_string(&mut s)?;
/// assert_eq!(s, "old"); // the snapshot is stable
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AtomicReader {
    source: Source,
    path: PathBuf,
    len: u64,
}

/// Where a reader's bytes come from.
#[derive(Debug)]
enum Source {
    /// The open file: the snapshot is the inode.
    File(OwnedFd),
    /// Verified bytes, held so that exactly what was verified is returned.
    Memory(io::Cursor<Vec<u8>>),
}

impl AtomicReader {
    /// Opens the current version of `path`.
    ///
    /// # Errors
    ///
    /// As [`read_atomic`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AtomicReader, write_atomic};
    /// use std::io::{Read, Seek, SeekFrom};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("f");
    /// write_atomic(&path, b"0123456789")?;
    /// let mut r = AtomicReader::open(&path)?;
    /// r.seek(SeekFrom::Start(7))?;
    /// let mut tail = String::new();
    /// r.read_to_string(&mut tail)?;
    /// assert_eq!(tail, "789");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &ReadOptions::new())
    }

    /// Opens the current version of `path` with explicit [`ReadOptions`].
    ///
    /// # Errors
    ///
    /// As [`read_atomic`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AtomicReader, ReadOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("f");
    /// # safeatomic::write_atomic(&path, b"abc")?;
    /// let r = AtomicReader::open_with(&path, &ReadOptions::new())?;
    /// assert_eq!(r.len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Self> {
        let path = path.as_ref();
        let op = Operation::Read;
        if options.verify {
            // The sidecar and the lock sit beside the real file: resolve the
            // target exactly as writers and `verify_checksum` do (a symlink
            // at the target is followed to the file it names).
            let target = resolve::resolve(path, SymlinkPolicy::Follow, op)?;
            let (bytes, _) = verified(&target, path, options, op)?;
            return Ok(Self {
                len: bytes.len() as u64,
                source: Source::Memory(io::Cursor::new(bytes)),
                path: path.to_owned(),
            });
        }
        let (parent, name) = path::split(path).map_err(|e| e.into_error(op, path))?;
        let dir = sys::dir::open_dir(rustix::fs::CWD, parent)
            .map_err(|e| Error::io(op, "open parent directory", path, e))?;
        let environment =
            env::of_dir(&dir).map_err(|e| Error::io(op, "detect filesystem", path, e))?;
        env::gate(
            options.safety,
            &environment,
            &[Guarantee::ReaderConsistency],
            op,
            path,
        )?;
        // O_NONBLOCK: opening a FIFO planted at the path must not hang.
        let fd = sys::file::openat(
            &dir,
            Path::new(name),
            OFlags::RDONLY | OFlags::NONBLOCK,
            Mode::empty(),
        )
        .map_err(|e| Error::io(op, "open file", path, e))?;
        let st = require_regular(&fd, op, path)?;
        Ok(Self {
            source: Source::File(fd),
            path: path.to_owned(),
            len: u64::try_from(st.st_size).unwrap_or(0),
        })
    }

    /// Opens `path`, verifies it against its checksum sidecar, and reads from
    /// exactly the verified bytes (held in memory: the reader never returns
    /// a byte that was not verified).
    ///
    /// # Errors
    ///
    /// As [`read_atomic_verified`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Algorithm, AtomicReader, WriteOptions, write_atomic_with};
    /// use std::io::Read;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("f");
    /// write_atomic_with(&path, b"checked", &WriteOptions::new().checksum(Some(Algorithm::Sha512)))?;
    /// let mut s = String::new();
    /// AtomicReader::open_verified(&path)?.read_to_string(&mut s)?;
    /// assert_eq!(s, "checked");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_verified(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &ReadOptions::new().verify(true))
    }

    /// The size of the snapshot in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("f");
    /// safeatomic::write_atomic(&path, b"four")?;
    /// assert_eq!(safeatomic::AtomicReader::open(&path)?.len(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the snapshot is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("f");
    /// safeatomic::write_atomic(&path, b"")?;
    /// assert!(safeatomic::AtomicReader::open(&path)?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The path this reader was opened from (as given, symlinks not
    /// resolved).
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("f");
    /// safeatomic::write_atomic(&path, b"x")?;
    /// assert_eq!(safeatomic::AtomicReader::open(&path)?.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads the whole file of a resolved `target` (verified against its
/// sidecar when `options` say so) through the target's directory handle,
/// never following a symlink at the name: the file read is the one that
/// was resolved (or locked). Returns the bytes and the file's `fstat`,
/// taken before reading, so the value is never older than that identity.
/// Errors name `path`, the path the caller gave.
pub(crate) fn read_in(
    target: &Target,
    path: &Path,
    options: &ReadOptions,
    op: Operation,
) -> Result<(Vec<u8>, Stat)> {
    if options.verify {
        return verified(target, path, options, op);
    }
    env::gate(
        options.safety,
        &*env::of_target(target, op)?,
        &[Guarantee::ReaderConsistency],
        op,
        path,
    )?;
    let fd = sys::file::openat(
        &*target.dir,
        Path::new(&target.name),
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| Error::io(op, "open file", path, e))?;
    let st = require_regular(&fd, op, path)?;
    let bytes =
        sys::file::read_up_to(&fd, usize::MAX).map_err(|e| Error::io(op, "read", path, e))?;
    Ok((bytes, st))
}

/// The verified bytes of `target` and the `fstat` of the file they came
/// from, or the mismatch as an error.
fn verified(
    target: &Target,
    path: &Path,
    options: &ReadOptions,
    op: Operation,
) -> Result<(Vec<u8>, Stat)> {
    let needed = [Guarantee::ReaderConsistency, Guarantee::IntegrityDetection];
    env::gate(
        options.safety,
        &*env::of_target(target, op)?,
        &needed,
        op,
        path,
    )?;
    let how = verify::Verify {
        keep: true,
        lock_held: options.lock_held,
        prefer: options.algorithm,
    };
    match verify::verify_in(target, path, op, how)? {
        Verified::Match(bytes, st) => Ok((bytes, st)),
        Verified::Mismatch(info, actual) => {
            Err(
                Error::new(ErrorKind::ChecksumMismatch, op, "verify checksum", path)
                    .with_mismatch(info.digest, actual),
            )
        }
    }
}

impl io::Read for AtomicReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.source {
            Source::File(fd) => sys::file::read(&*fd, buf),
            Source::Memory(c) => io::Read::read(c, buf),
        }
    }
}

impl io::Seek for AtomicReader {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        match &mut self.source {
            Source::File(fd) => sys::file::seek(&*fd, pos),
            Source::Memory(c) => io::Seek::seek(c, pos),
        }
    }
}
