//! How bytes from outside — file names, lock payloads — appear in
//! messages and reports: escaped, so a name cannot break a one-line error
//! or forge terminal output, and serializable whatever its encoding.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A path (or other bytes from outside) as messages show it: control
/// characters, bidirectional-text overrides and bytes that are not UTF-8
/// escaped (`\n`, `\u{1b}`, `\xff`), so a file name cannot break a
/// one-line error or forge terminal output.
pub(crate) struct Shown<'a>(pub(crate) &'a [u8]);

impl<'a> Shown<'a> {
    pub(crate) fn path(path: &'a Path) -> Self {
        Shown(path.as_os_str().as_bytes())
    }
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if needs_escape(c) {
                    write!(f, "{}", c.escape_debug())?;
                } else {
                    f.write_char(c)?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

/// Control characters, and the format characters that reorder text on a
/// terminal (bidirectional marks, embeddings, overrides and isolates).
pub(crate) fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Serializes a path as a string, lossily where it is not UTF-8 (each
/// invalid byte becomes U+FFFD): reports stay printable (`--json`) for any
/// file name, where serde's own `Path` serialization fails.
pub(crate) fn serialize_lossy<S: serde::Serializer>(
    path: &Path,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn shown_paths_escape_control_characters_and_invalid_bytes() {
        let p = Path::new(OsStr::from_bytes(
            b"a\nb\x1b[2Jc\xff\xe2\x80\xaed\xc3\xa9.json",
        ));
        assert_eq!(
            Shown::path(p).to_string(),
            "a\\nb\\u{1b}[2Jc\\xff\\u{202e}d\u{e9}.json"
        );
    }

    #[test]
    fn paths_that_are_not_utf8_serialize_lossily() {
        use std::os::unix::ffi::OsStrExt;
        #[derive(serde::Serialize)]
        struct S<'a> {
            #[serde(serialize_with = "serialize_lossy")]
            p: &'a Path,
        }
        let p = Path::new(OsStr::from_bytes(b"caf\xe9/\xff.json"));
        let json = serde_json::to_string(&S { p }).unwrap();
        assert_eq!(json, "{\"p\":\"caf\u{fffd}/\u{fffd}.json\"}");
    }
}
