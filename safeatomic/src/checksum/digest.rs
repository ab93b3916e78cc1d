//! Digests: the algorithms, incremental hashing at hardware speed, and the
//! digests of bytes and files.

use crate::error::{Error, Operation, Result};
use crate::resolve::require_regular;
use crate::sys::{self, Mode, OFlags, OwnedFd};
use serde::Serialize;
use sha2::Digest;
use std::fmt;
use std::path::Path;

/// A digest algorithm for checksum sidecars.
///
/// # Examples
///
/// ```
/// use safeatomic::Algorithm;
/// assert_eq!(Algorithm::default(), Algorithm::Sha256);
/// assert_eq!("SHA512".parse::<Algorithm>()?, Algorithm::Sha512);
/// assert_eq!(Algorithm::Sha512.to_string(), "sha512");
/// # Ok::<(), safeatomic::UnknownAlgorithm>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Algorithm {
    /// SHA-256 (the default), sidecar `<target>.sha256`, checked by `sha256sum -c`.
    #[default]
    Sha256,
    /// SHA-512, sidecar `<target>.sha512`, checked by `sha512sum -c`.
    Sha512,
}

impl Algorithm {
    /// Every algorithm, in the order sidecars are looked for.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::Algorithm;
    /// let names: Vec<_> = Algorithm::ALL.iter().map(|a| a.name()).collect();
    /// assert_eq!(names, ["sha256", "sha512"]);
    /// ```
    pub const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    /// The name used in sidecars and file extensions: `"sha256"`, `"sha512"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(safeatomic::Algorithm::Sha256.name(), "sha256");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// Length of a digest in hex characters.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Algorithm, compute_hash_data};
    /// for a in Algorithm::ALL {
    ///     assert_eq!(compute_hash_data(b"", a).len(), a.hex_len());
    /// }
    /// ```
    pub fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }

    pub(crate) fn hasher(self) -> Hasher {
        match self {
            Self::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Self::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an [`Algorithm`] from an unknown name.
///
/// # Examples
///
/// ```
/// use safeatomic::{Algorithm, UnknownAlgorithm};
/// let err = "md5".parse::<Algorithm>().unwrap_err();
/// assert_eq!(err, UnknownAlgorithm("md5".to_owned()));
/// assert!(err.to_string().contains("expected sha256 or sha512"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown checksum algorithm `{0}` (expected sha256 or sha512)")]
pub struct UnknownAlgorithm(pub String);

impl std::str::FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownAlgorithm(s.to_owned()))
    }
}

/// An incremental digest (hardware SHA extensions are used where the CPU
/// has them, detected at run time by `sha2`).
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            Self::Sha256(_) => Algorithm::Sha256,
            Self::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub(crate) fn finish_hex(self) -> String {
        match self {
            Self::Sha256(h) => hex(&h.finalize()),
            Self::Sha512(h) => hex(&h.finalize()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// The lowercase hex digest of `data`.
///
/// # Examples
///
/// ```
/// use safeatomic::{Algorithm, compute_hash_data};
/// assert_eq!(
///     compute_hash_data(b"abc", Algorithm::Sha256),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn compute_hash_data(data: &[u8], algorithm: Algorithm) -> String {
    let mut h = algorithm.hasher();
    h.update(data);
    h.finish_hex()
}

/// Read size for streaming digests: large enough for full throughput, small
/// enough to keep memory flat.
pub(crate) const HASH_CHUNK: usize = 1024 * 1024;

/// Hashes everything readable from `fd` (from its current offset).
pub(crate) fn hash_fd(fd: &OwnedFd, algorithm: Algorithm) -> std::io::Result<String> {
    let mut h = algorithm.hasher();
    let mut buf = vec![0u8; HASH_CHUNK];
    loop {
        let n = sys::file::read(fd, &mut buf)?;
        if n == 0 {
            return Ok(h.finish_hex());
        }
        h.update(&buf[..n]);
    }
}

/// The lowercase hex digest of the file at `path`, read in 1 MiB chunks
/// (constant memory for any size).
///
/// # Errors
///
/// [`NotFound`](crate::ErrorKind::NotFound), [`PermissionDenied`](crate::ErrorKind::PermissionDenied),
/// [`IsADirectory`](crate::ErrorKind::IsADirectory), [`Io`](crate::ErrorKind::Io); each names the path.
///
/// # Examples
///
/// ```
/// use safeatomic::{Algorithm, compute_hash_data, compute_hash_file, write_atomic};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("f");
/// write_atomic(&path, b"abc")?;
/// assert_eq!(compute_hash_file(&path, Algorithm::Sha256)?, compute_hash_data(b"abc", Algorithm::Sha256));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compute_hash_file(path: impl AsRef<Path>, algorithm: Algorithm) -> Result<String> {
    let path = path.as_ref();
    let op = Operation::Checksum;
    let fd = sys::file::openat(
        rustix::fs::CWD,
        path,
        OFlags::RDONLY | OFlags::NONBLOCK,
        Mode::empty(),
    )
    .map_err(|e| Error::io(op, "open file", path, e))?;
    require_regular(&fd, op, path)?;
    hash_fd(&fd, algorithm).map_err(|e| Error::io(op, "read file", path, e))
}
