//! Text from outside — file names, lock payloads, library messages — as
//! the tool prints it: control characters and bidirectional-text overrides
//! escaped (`\n`, `\u{1b}`), so nothing can break a line of output or
//! forge terminal output; JSON that never fails on a file name.

use std::path::Path;

/// `s` with control characters and bidirectional overrides escaped.
pub(crate) fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let reorders = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || reorders {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// A path for human output: [`clean`], invalid UTF-8 shown as U+FFFD.
pub(crate) fn path(p: &Path) -> String {
    clean(&p.to_string_lossy())
}

/// Serializes a path as a string, lossily where it is not UTF-8 (serde's
/// own `Path` serialization fails on such a name).
pub(crate) fn serialize_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_overrides_are_escaped() {
        assert_eq!(
            clean("host\n\x1b[2Jx\u{202e}é"),
            "host\\n\\u{1b}[2Jx\\u{202e}é"
        );
        assert_eq!(clean("plain"), "plain");
    }
}
