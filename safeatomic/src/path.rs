//! Splitting a user path into the directory to open and the name inside it.

use crate::error::{Error, ErrorKind, Operation};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// Why a path cannot name a file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BadPath {
    kind: ErrorKind,
    detail: &'static str,
}

impl BadPath {
    pub(crate) fn into_error(self, op: Operation, path: &Path) -> Error {
        Error::new(self.kind, op, crate::error::CHECK_PATH, path).with_detail(self.detail)
    }
}

/// Splits `path` into (parent directory, file name). A bare name has the
/// parent `.`. Rejects paths that cannot name a file: empty, ending in `/`,
/// `.` or `..`, or containing a NUL byte.
pub(crate) fn split(path: &Path) -> Result<(&Path, &OsStr), BadPath> {
    let bytes = path.as_os_str().as_bytes();
    let bad = |kind, detail| Err(BadPath { kind, detail });
    if bytes.is_empty() {
        return bad(ErrorKind::InvalidInput, "the path is empty");
    }
    if bytes.contains(&0) {
        return bad(ErrorKind::InvalidInput, "the path contains a NUL byte");
    }
    if bytes.ends_with(b"/") {
        return bad(
            ErrorKind::IsADirectory,
            "the path ends with `/`, so it names a directory",
        );
    }
    // `Path::components` drops a trailing `.` ("a/." would look like "a"),
    // so the last component is checked on the raw bytes first.
    let last = bytes.rsplit(|b| *b == b'/').next().unwrap_or(bytes);
    if last == b"." || last == b".." {
        return bad(
            ErrorKind::InvalidInput,
            "the path ends in `.` or `..`, which cannot name a file",
        );
    }
    match path.components().next_back() {
        Some(Component::Normal(name)) => {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            Ok((parent, name))
        }
        Some(Component::RootDir) => bad(ErrorKind::IsADirectory, "the path is the root directory"),
        _ => bad(
            ErrorKind::InvalidInput,
            "the path ends in `.` or `..`, which cannot name a file",
        ),
    }
}

/// The parent directory of `path` (`.` for a bare name).
pub(crate) fn parent_of(path: &Path) -> Result<&Path, BadPath> {
    split(path).map(|(parent, _)| parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_rejects() {
        assert_eq!(
            split(Path::new("a")).unwrap(),
            (Path::new("."), OsStr::new("a"))
        );
        assert_eq!(
            split(Path::new("/x/y")).unwrap(),
            (Path::new("/x"), OsStr::new("y"))
        );
        assert_eq!(
            split(Path::new("/y")).unwrap(),
            (Path::new("/"), OsStr::new("y"))
        );
        for bad in ["", "/", "a/", "a/..", ".", "a/."] {
            assert!(split(Path::new(bad)).is_err(), "{bad:?} accepted");
        }
    }
}
