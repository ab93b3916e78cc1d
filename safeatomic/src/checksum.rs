//! Checksum sidecars (DESIGN §5): digests, the sidecar format, verification.
//!
//! A sidecar `<target>.<algo>` reads
//!
//! ```text
//! <hex digest>  <file name>
//! # algo=sha256
//! # timestamp=2026-01-15T12:34:56.789012+00:00
//! ```
//!
//! The first line is what `sha256sum` prints; the metadata lines start with
//! `#`, which GNU `sha256sum -c` skips even with `--strict`, so our
//! sidecars check cleanly. A file name with a backslash, newline or
//! carriage return is escaped as GNU tools escape it (`\\`, `\n`, `\r`,
//! the line prefixed with `\`). A sidecar written by a safeatomic write may
//! carry three more lines, `# previous=<algo>:<hex>`,
//! `# previous_inode=<n>` and `# previous_ctime=<s.ns>`: the digest, inode
//! and change time of the version it replaces, so that a crash between
//! publishing the sidecar and publishing the data is never mistaken for
//! corruption (docs/decisions/0004).
//!
//! Readers accept the metadata with or without the `#`: the Python
//! reference library and earlier versions of this crate write bare
//! `algo=` and `timestamp=` lines (which `sha256sum -c` only warns about).
//! The reference library reads our `.sha256` sidecars (it ignores the
//! lines it does not know and assumes SHA-256).
//!
//! Verification is lock-free and never reports a false mismatch or a false
//! "sidecar missing": such an answer is retried, then confirmed under a
//! shared lock on the writers' existing lock file, waited for at most
//! [`CONFIRM_LOCK_WAIT`] (250 ms), or, when the lock is held longer (by the
//! caller itself, say) or there is no lock file, by re-reading until two
//! consecutive readings saw the same files (docs/decisions/0008, 0010).
//!
//! Only sidecars another user cannot have planted are believed ([`choose`]).

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::identity::Version;
use crate::resolve::require_regular;
use crate::sys::{self, Mode, OFlags, OwnedFd, Stat};
use crate::{timefmt, trust};
use serde::Serialize;
use sha2::Digest;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
const HASH_CHUNK: usize = 1024 * 1024;

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
/// [`NotFound`](ErrorKind::NotFound), [`PermissionDenied`](ErrorKind::PermissionDenied),
/// [`IsADirectory`](ErrorKind::IsADirectory), [`Io`](ErrorKind::Io); each names the path.
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

/// What a checksum sidecar says.
///
/// # Examples
///
/// ```
/// use safeatomic::{Algorithm, WriteOptions, checksum_info, compute_hash_data, write_atomic_with};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("v.json");
/// let sha512 = WriteOptions::new().checksum(Some(Algorithm::Sha512));
/// write_atomic_with(&path, b"1", &sha512)?;
/// write_atomic_with(&path, b"2", &sha512)?;
/// let info = checksum_info(&path)?;
/// assert_eq!(info.sidecar_path, dir.path().join("v.json.sha512"));
/// assert_eq!(info.digest, compute_hash_data(b"2", Algorithm::Sha512));
/// // The version it replaced, so that a crash mid-write is no false alarm.
/// assert_eq!(info.previous, Some((Algorithm::Sha512, compute_hash_data(b"1", Algorithm::Sha512))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChecksumInfo {
    /// The sidecar file, `<target>.<algo>`.
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    pub sidecar_path: PathBuf,
    /// The algorithm the sidecar declares.
    pub algorithm: Algorithm,
    /// The lowercase hex digest of the data.
    pub digest: String,
    /// The file name the sidecar names (unescaped, as GNU tools read it).
    pub file_name: String,
    /// When the sidecar was written (ISO-8601), if it says.
    pub timestamp: Option<String>,
    /// The digest of the version this one replaced (`algo`, hex), written by
    /// safeatomic writes so a crash mid-write is not mistaken for corruption.
    pub previous: Option<(Algorithm, String)>,
    /// The inode of the version this one replaced.
    pub previous_inode: Option<u64>,
    /// The status-change time (`st_ctime`, `seconds.nanoseconds`) of the
    /// version this one replaced: with the inode, it identifies that very
    /// file (inode numbers alone are reused quickly).
    pub previous_ctime: Option<String>,
}

/// Renders a sidecar. GNU `sha256sum` escapes a name containing `\`, a
/// newline or (coreutils 9.1 and later) a carriage return (`\\`, `\n`,
/// `\r`) and marks the line with a leading `\`; so do we, byte for byte.
pub(crate) fn render_sidecar(
    algorithm: Algorithm,
    digest: &str,
    file_name: &OsStr,
    previous: Option<(Algorithm, &str, &Stat)>,
) -> Vec<u8> {
    let name = file_name.as_bytes();
    let escape = name.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r'));
    let mut out = Vec::with_capacity(digest.len() + name.len() + 120);
    if escape {
        out.push(b'\\');
    }
    out.extend_from_slice(digest.as_bytes());
    out.extend_from_slice(b"  ");
    for b in name {
        match (escape, b) {
            (true, b'\\') => out.extend_from_slice(b"\\\\"),
            (true, b'\n') => out.extend_from_slice(b"\\n"),
            (true, b'\r') => out.extend_from_slice(b"\\r"),
            _ => out.push(*b),
        }
    }
    out.extend_from_slice(
        format!(
            "\n# algo={algorithm}\n# timestamp={}\n",
            timefmt::format(sys::process::now())
        )
        .as_bytes(),
    );
    if let Some((algo, hex, st)) = previous {
        out.extend_from_slice(
            format!(
                "# previous={algo}:{hex}\n# previous_inode={}\n# previous_ctime={}\n",
                st.st_ino,
                ctime_of(st)
            )
            .as_bytes(),
        );
    }
    out
}

/// `st_ctime` as `seconds.nanoseconds`.
pub(crate) fn ctime_of(st: &Stat) -> String {
    format!("{}.{:09}", st.st_ctime, st.st_ctime_nsec)
}

/// Sidecars larger than this are not ours: reported malformed, not parsed.
pub(crate) const MAX_SIDECAR: usize = 64 * 1024;

/// Parses a sidecar; `Err(reason)` when malformed. `default_algo` comes from
/// the sidecar's extension, used when there is no `algo=` line.
pub(crate) fn parse_sidecar(
    bytes: &[u8],
    default_algo: Algorithm,
    sidecar_path: &Path,
) -> std::result::Result<ChecksumInfo, String> {
    if bytes.len() > MAX_SIDECAR {
        return Err(format!("larger than {MAX_SIDECAR} bytes"));
    }
    let mut lines = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace));
    let first = lines.next().ok_or("empty")?;
    let (escaped, first) = match first.strip_prefix(b"\\") {
        Some(rest) => (true, rest),
        None => (false, first),
    };
    let sep = first
        .iter()
        .position(|b| *b == b' ')
        .ok_or("no file name after the digest")?;
    let digest = std::str::from_utf8(&first[..sep]).map_err(|_| "digest is not ASCII hex")?;
    // "<hex>  <name>" (text mode) or "<hex> *<name>" (binary mode).
    let name = match &first[sep..] {
        [b' ', b' ', name @ ..] | [b' ', b'*', name @ ..] if !name.is_empty() => name,
        _ => return Err("expected two spaces (or ` *`) and a file name after the digest".into()),
    };
    let name = if escaped {
        unescape_gnu(name)?
    } else {
        name.to_vec()
    };
    if !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("digest {digest:?} is not hex"));
    }
    let mut algorithm = None;
    let mut timestamp = None;
    let mut previous = None;
    let mut previous_inode = None;
    let mut previous_ctime = None;
    for line in lines {
        let line = std::str::from_utf8(line)
            .map_err(|_| "a key line is not UTF-8")?
            .trim_end_matches('\r');
        // `# key=value` (what we write, skipped by `sha256sum -c --strict`)
        // or `key=value` (the reference library, earlier versions).
        let (commented, line) = match line.strip_prefix('#') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, line),
        };
        let Some((key, value)) = line.split_once('=') else {
            if commented {
                continue; // a comment
            }
            return Err(format!("unexpected line {line:?}"));
        };
        match key {
            "algo" => algorithm = Some(value.parse::<Algorithm>().map_err(|e| e.to_string())?),
            "timestamp" => timestamp = Some(value.to_owned()),
            "previous" => {
                let (a, h) = value
                    .split_once(':')
                    .ok_or("previous= is not <algo>:<hex>")?;
                let a: Algorithm = a.parse().map_err(|e: UnknownAlgorithm| e.to_string())?;
                if h.len() != a.hex_len() || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(
                        "previous= digest is not valid hex of its algorithm's length".into(),
                    );
                }
                previous = Some((a, h.to_ascii_lowercase()));
            }
            "previous_inode" => {
                previous_inode = Some(
                    value
                        .parse()
                        .map_err(|_| "previous_inode= is not a number")?,
                )
            }
            "previous_ctime" => previous_ctime = Some(value.to_owned()),
            // Readers ignore keys they do not know (forward compatibility).
            _ => {}
        }
    }
    let algorithm = algorithm.unwrap_or(default_algo);
    if digest.len() != algorithm.hex_len() {
        return Err(format!(
            "digest has {} hex digits, {algorithm} has {}",
            digest.len(),
            algorithm.hex_len()
        ));
    }
    Ok(ChecksumInfo {
        sidecar_path: sidecar_path.to_owned(),
        algorithm,
        digest: digest.to_ascii_lowercase(),
        file_name: String::from_utf8_lossy(&name).into_owned(),
        timestamp,
        previous,
        previous_inode,
        previous_ctime,
    })
}

fn unescape_gnu(name: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(name.len());
    let mut it = name.iter();
    while let Some(b) = it.next() {
        if *b == b'\\' {
            match it.next() {
                Some(b'\\') => out.push(b'\\'),
                Some(b'n') => out.push(b'\n'),
                Some(b'r') => out.push(b'\r'),
                other => {
                    return Err(format!(
                        "invalid escape in file name: \\{:?}",
                        other.map(|c| *c as char)
                    ));
                }
            }
        } else {
            out.push(*b);
        }
    }
    Ok(out)
}

/// The sidecar name for a target name and algorithm: `<name>.<algo>`.
pub(crate) fn sidecar_name(target_name: &OsStr, algorithm: Algorithm) -> OsString {
    let mut n = target_name.as_bytes().to_vec();
    n.push(b'.');
    n.extend_from_slice(algorithm.name().as_bytes());
    OsString::from_vec(n)
}

/// A sidecar found beside a data file, not yet believed: believed only
/// once it is known to be trusted ([`trust::sidecar`]) and chosen.
pub(crate) struct Candidate {
    algorithm: Algorithm,
    /// Its `lstat` (a symlink is described, never followed).
    st: Stat,
    /// What it says, or why it cannot be parsed (`Err` also for a file
    /// that could not be read as a sidecar: not a regular file, a symlink).
    parsed: std::result::Result<ChecksumInfo, String>,
    /// `<target>.<algo>`, for messages.
    shown: PathBuf,
}

/// Reads every sidecar of `name` in `dir` (one per algorithm, where one
/// exists), without deciding which to believe. Symlinks are never
/// followed and special files never read: they come back as candidates
/// that [`choose`] ignores.
pub(crate) fn candidates(
    dir: &OwnedFd,
    name: &OsStr,
    target: &Path,
    op: Operation,
) -> Result<Vec<Candidate>> {
    let mut found = Vec::new();
    for algorithm in Algorithm::ALL {
        let sname = sidecar_name(name, algorithm);
        let shown = sidecar_path(target, algorithm);
        // Errors name the data file (what the caller asked about); the
        // detail names the sidecar.
        let fail = |step, e| {
            Error::io(op, step, target, e).with_detail(format!("sidecar `{}`", shown.display()))
        };
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK;
        let (st, parsed) = match sys::file::openat(dir, Path::new(&sname), flags, Mode::empty()) {
            Ok(fd) => {
                let st = sys::file::fstat(&fd).map_err(|e| fail("stat checksum sidecar", e))?;
                if trust::is_regular(&st) {
                    let bytes = sys::file::read_up_to(&fd, MAX_SIDECAR)
                        .map_err(|e| fail("read checksum sidecar", e))?;
                    (st, parse_sidecar(&bytes, algorithm, &shown))
                } else {
                    (st, Err("it is not a regular file".to_owned()))
                }
            }
            Err(e) if sys::errno(&e) == Some(rustix::io::Errno::NOENT) => continue,
            // A symlink (O_NOFOLLOW) or a directory at the name.
            Err(e)
                if matches!(
                    sys::errno(&e),
                    Some(rustix::io::Errno::LOOP | rustix::io::Errno::ISDIR)
                ) =>
            {
                match sys::file::lstatat(dir, Path::new(&sname)) {
                    Ok(st) => (st, Err("it is not a regular file".to_owned())),
                    Err(e) if sys::errno(&e) == Some(rustix::io::Errno::NOENT) => continue,
                    Err(e) => return Err(fail("stat checksum sidecar", e)),
                }
            }
            Err(e) => return Err(fail("open checksum sidecar", e)),
        };
        found.push(Candidate {
            algorithm,
            st,
            parsed,
            shown,
        });
    }
    Ok(found)
}

/// The sidecar to believe, of `candidates`, for a data file owned by
/// `data_owner` (`None`: no data file):
///
/// * only trusted sidecars count ([`trust::sidecar`]): a regular file with
///   one link, owned by the data file's owner, root or the caller; others
///   are ignored with a warning, never a reason to report a mismatch;
/// * a store's configured algorithm (`prefer`) is authoritative: its
///   sidecar wins when it is there;
/// * otherwise the one written last (by its timestamp; by mtime without
///   one).
///
/// `Ok(None)` when no trusted sidecar exists. A chosen sidecar that cannot
/// be parsed is [`ErrorKind::ChecksumMalformed`].
pub(crate) fn choose(
    candidates: &[Candidate],
    data_owner: Option<u32>,
    prefer: Option<Algorithm>,
    target: &Path,
    op: Operation,
) -> Result<Option<(ChecksumInfo, Stat)>> {
    let owner = data_owner.unwrap_or_else(sys::process::euid);
    let trusted: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| match trust::sidecar(owner, &c.st) {
            Ok(()) => true,
            Err(why) => {
                log::warn!(
                    "{}: ignoring sidecar `{}`: {why}",
                    target.display(),
                    c.shown.display()
                );
                false
            }
        })
        .collect();
    let preferred = prefer.and_then(|a| trusted.iter().find(|c| c.algorithm == a));
    let chosen = match preferred {
        Some(c) => Some(*c),
        None => trusted
            .iter()
            .copied()
            .max_by_key(|c| c.parsed.as_ref().map(|info| written_at(info, &c.st)).ok()),
    };
    let Some(c) = chosen else { return Ok(None) };
    match &c.parsed {
        Ok(info) => Ok(Some((info.clone(), c.st))),
        Err(reason) => Err(Error::new(
            ErrorKind::ChecksumMalformed,
            op,
            "parse checksum sidecar",
            target,
        )
        .with_detail(format!("sidecar `{}`: {reason}", c.shown.display()))),
    }
}

/// The sidecar that describes `name` in `dir` ([`candidates`], then
/// [`choose`]).
pub(crate) fn current_sidecar(
    dir: &OwnedFd,
    name: &OsStr,
    data_owner: Option<u32>,
    prefer: Option<Algorithm>,
    target_path: &Path,
    op: Operation,
) -> Result<Option<(ChecksumInfo, Stat)>> {
    let found = candidates(dir, name, target_path, op)?;
    choose(&found, data_owner, prefer, target_path, op)
}

fn written_at(info: &ChecksumInfo, st: &Stat) -> std::time::SystemTime {
    info.timestamp
        .as_deref()
        .and_then(timefmt::parse)
        .unwrap_or_else(|| {
            std::time::UNIX_EPOCH
                + std::time::Duration::new(st.st_mtime.max(0) as u64, st.st_mtime_nsec as u32)
        })
}

/// `<target>.<algo>`.
pub(crate) fn sidecar_path(target: &Path, algorithm: Algorithm) -> PathBuf {
    let mut p = target.as_os_str().to_owned();
    p.push(".");
    p.push(algorithm.name());
    PathBuf::from(p)
}

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

/// Whether the sidecar's `previous` lines describe the file with stat `st`
/// (same inode and ctime): the version its writer was replacing.
pub(crate) fn previous_applies(info: &ChecksumInfo, st: &Stat) -> bool {
    info.previous_inode == Some(st.st_ino)
        && info.previous_ctime.as_deref() == Some(ctime_of(st).as_str())
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
    crate::resolve::resolve(path, crate::options::SymlinkPolicy::Follow, op)
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
/// As [`compute_hash_file`], plus
/// [`UnsupportedEnvironment`](ErrorKind::UnsupportedEnvironment) where a
/// write would be refused (the [`Safety::Strict`](crate::Safety::Strict)
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
        crate::Safety::Strict,
        &env,
        &[
            crate::Guarantee::AtomicVisibility,
            crate::Guarantee::CrashDurability,
            crate::Guarantee::IntegrityDetection,
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
        crate::publish::durability_unconfirmed(crate::Safety::Strict, op, &spath, e)?;
    }
    let parsed = parse_sidecar(&content, algorithm, &spath).expect("a rendered sidecar parses");
    Ok(parsed)
}

/// Removes the sidecars of algorithms other than `keep`. One that cannot be
/// removed is an error (left beside the new one, it could be taken for the
/// current sidecar); `path` is the data file errors name.
pub(crate) fn remove_other_sidecars(
    dir: &OwnedFd,
    name: &OsStr,
    keep: Algorithm,
    path: &Path,
    op: Operation,
) -> Result<()> {
    for algo in Algorithm::ALL.into_iter().filter(|a| *a != keep) {
        let sname = sidecar_name(name, algo);
        match sys::dir::unlinkat(dir, Path::new(&sname)) {
            Ok(()) => {}
            Err(e) if sys::errno(&e) == Some(rustix::io::Errno::NOENT) => {}
            Err(e) => {
                return Err(
                    Error::io(op, "remove other sidecar", path, e).with_detail(format!(
                        "the {algo} sidecar `{}` cannot be removed, and left beside the new {keep} \
                     sidecar it could be taken for the current one",
                        sidecar_path(path, algo).display()
                    )),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> std::result::Result<ChecksumInfo, String> {
        parse_sidecar(text, Algorithm::Sha256, Path::new("x.sha256"))
    }

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn renders_what_sha256sum_and_the_reference_library_write() {
        let out = render_sidecar(Algorithm::Sha256, ABC, OsStr::new("data.json"), None);
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(format!("{ABC}  data.json").as_str()));
        assert_eq!(lines.next(), Some("# algo=sha256"));
        assert!(lines.next().unwrap().starts_with("# timestamp="));
        assert_eq!(lines.next(), None);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn names_with_backslash_newline_or_cr_are_escaped_the_gnu_way_and_round_trip() {
        for (name, line) in [
            ("a\\b", "a\\\\b"),
            ("line\nbreak", "line\\nbreak"),
            ("cr\rhere", "cr\\rhere"),
            ("all\\\r\n", "all\\\\\\r\\n"),
        ] {
            let out = render_sidecar(Algorithm::Sha256, ABC, OsStr::new(name), None);
            let first = String::from_utf8_lossy(out.split(|b| *b == b'\n').next().unwrap());
            assert_eq!(first, format!("\\{ABC}  {line}"), "{name:?}");
            assert_eq!(parse(&out).unwrap().file_name, name);
        }
        let plain = render_sidecar(Algorithm::Sha256, ABC, OsStr::new("café ü.txt"), None);
        assert_ne!(plain[0], b'\\');
        assert_eq!(parse(&plain).unwrap().file_name, "café ü.txt");
    }

    #[test]
    fn reads_the_reference_librarys_format_and_binary_mode_lines() {
        let reference = format!(
            "{ABC}  config.json\nalgo=sha256\ntimestamp=2026-01-15T12:34:56.789012+00:00\n"
        );
        let info = parse(reference.as_bytes()).unwrap();
        assert_eq!(
            (info.digest.as_str(), info.file_name.as_str()),
            (ABC, "config.json")
        );
        assert_eq!(
            info.timestamp.as_deref(),
            Some("2026-01-15T12:34:56.789012+00:00")
        );
        let binary = format!("{}  *x\n", ABC.to_uppercase()).replacen("  *", " *", 1);
        assert_eq!(parse(binary.as_bytes()).unwrap().digest, ABC);
        let bare = format!("{ABC}  x\n");
        assert_eq!(parse(bare.as_bytes()).unwrap().algorithm, Algorithm::Sha256);
    }

    #[test]
    fn metadata_is_read_with_or_without_the_comment_mark_and_comments_are_skipped() {
        let d512 = compute_hash_data(b"abc", Algorithm::Sha512);
        for text in [
            format!("{d512}  x\nalgo=sha512\ntimestamp=2026-01-15T12:34:56+00:00\n"),
            format!("{d512}  x\n# algo=sha512\n# timestamp=2026-01-15T12:34:56+00:00\n"),
            format!(
                "{d512}  x\n#algo=sha512\n# a comment\n#\n#timestamp=2026-01-15T12:34:56+00:00\n"
            ),
        ] {
            let info = parse(text.as_bytes()).unwrap();
            assert_eq!(info.algorithm, Algorithm::Sha512, "{text}");
            assert_eq!(info.timestamp.as_deref(), Some("2026-01-15T12:34:56+00:00"));
        }
    }

    #[test]
    fn the_declared_algorithm_wins_over_the_extension() {
        let d512 = compute_hash_data(b"abc", Algorithm::Sha512);
        let text = format!("{d512}  x\nalgo=sha512\n");
        assert_eq!(parse(text.as_bytes()).unwrap().algorithm, Algorithm::Sha512);
    }

    #[test]
    fn malformed_sidecars_say_why() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "empty"),
            (b"   \n \t\n".to_vec(), "empty"),
            (b"zz  x\n".to_vec(), "not hex"),
            (b"abcd  x\n".to_vec(), "hex digits"),
            (format!("{ABC}\n").into_bytes(), "file name"),
            (format!("{ABC} x\n").into_bytes(), "two spaces"),
            (
                format!("{ABC}  x\nalgo=md5\n").into_bytes(),
                "unknown checksum algorithm",
            ),
            (
                format!("{ABC}  x\nalgo=sha512\n").into_bytes(),
                "hex digits",
            ),
            (
                format!("{ABC}  x\njunk line\n").into_bytes(),
                "unexpected line",
            ),
            (format!("\\{ABC}  a\\qb\n").into_bytes(), "invalid escape"),
            (vec![b'a'; MAX_SIDECAR + 1], "larger"),
        ];
        for (text, why) in cases {
            let err = parse(&text).unwrap_err();
            assert!(err.contains(why), "{err:?} should say {why:?}");
        }
    }

    #[test]
    fn previous_lines_round_trip_and_unknown_keys_are_ignored() {
        let d512 = compute_hash_data(b"old", Algorithm::Sha512);
        let st = rustix::fs::stat("/").unwrap();
        let mut out = render_sidecar(
            Algorithm::Sha256,
            ABC,
            OsStr::new("x"),
            Some((Algorithm::Sha512, &d512, &st)),
        );
        out.extend_from_slice(b"future_key=whatever\n");
        let info = parse(&out).unwrap();
        assert_eq!(info.previous, Some((Algorithm::Sha512, d512)));
        assert_eq!(info.previous_inode, Some(st.st_ino));
        assert_eq!(info.previous_ctime, Some(ctime_of(&st)));
    }
}
