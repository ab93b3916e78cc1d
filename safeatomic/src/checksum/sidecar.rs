//! The sidecar file `<target>.<algo>`: its format (rendered and parsed),
//! which sidecar to believe, and removing the other algorithms' sidecars.

use super::digest::{Algorithm, UnknownAlgorithm};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::sys::{self, Mode, OFlags, OwnedFd, Stat};
use crate::{timefmt, trust};
use serde::Serialize;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

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
    pub(crate) algorithm: Algorithm,
    /// Its `lstat` (a symlink is described, never followed).
    pub(crate) st: Stat,
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

/// Whether the sidecar's `previous` lines describe the file with stat `st`
/// (same inode and ctime): the version its writer was replacing.
pub(crate) fn previous_applies(info: &ChecksumInfo, st: &Stat) -> bool {
    info.previous_inode == Some(st.st_ino)
        && info.previous_ctime.as_deref() == Some(ctime_of(st).as_str())
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
    use crate::checksum::digest::compute_hash_data;

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
        let st = crate::sys::file::statat(rustix::fs::CWD, std::path::Path::new("/")).unwrap();
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
