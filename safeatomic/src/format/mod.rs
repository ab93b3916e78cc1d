//! Serde formats: JSON, YAML, TOML and RON, each behind its cargo feature.
//! Codecs only — bytes in, values out — with no file access: the
//! `atomic_<format>_dump` / `atomic_<format>_load` helpers that write and
//! read files live in `helpers.rs`, above the writer and the reader.

// Without any format feature, the plumbing below has no user.
#![cfg_attr(
    not(any(feature = "json", feature = "yaml", feature = "toml", feature = "ron")),
    allow(dead_code)
)]

#[cfg(feature = "json")]
mod json;
#[cfg(feature = "ron")]
mod ron;
#[cfg(feature = "toml")]
mod toml;
#[cfg(feature = "yaml")]
mod yaml;

mod require;
mod schema;

use crate::error::{Error, ErrorKind, Operation, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::path::Path;

/// A file format for typed values: what a [`Persisted`](trait@crate::Persisted)
/// type declares as its `FORMAT`.
///
/// # Examples
///
/// ```
/// use safeatomic::{Format, Persisted};
/// # use serde::{Deserialize, Serialize};
/// #[derive(Clone, Serialize, Deserialize, Persisted)]
/// #[persisted(format = "json")]
/// struct State { runs: u64 }
///
/// assert_eq!(State::FORMAT, Format::Json);
/// assert_eq!(State::FORMAT.to_string(), "json");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Format {
    /// JSON (`serde_json`), pretty-printed. Feature `json` (default).
    Json,
    /// YAML (`serde-saphyr`). Feature `yaml`.
    ///
    /// Hostile input is refused with [`ErrorKind::Format`] before it costs
    /// much: besides `serde-saphyr`'s default budgets (nesting depth 64,
    /// 250,000 nodes, 1,000,000 events …), aliases may replay at most
    /// 20,000 parser events per document, all aliases together (an alias
    /// replays every event of its anchored node: one for a scalar, two plus
    /// the contents for a sequence or mapping). A "billion laughs" alias
    /// bomb is refused within milliseconds; hundreds of ordinary anchors and
    /// aliases load.
    Yaml,
    /// TOML (`toml`); the value must serialize to a table. Feature `toml`.
    Toml,
    /// RON (`ron`), pretty-printed. Feature `ron`.
    Ron,
}

impl Format {
    /// Every format, enabled or not.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::Format;
    /// let enabled: Vec<&str> = Format::ALL
    ///     .iter()
    ///     .filter(|f| f.is_enabled())
    ///     .map(|f| f.name())
    ///     .collect();
    /// assert!(enabled.contains(&"json")); // a default feature
    /// println!("this build reads and writes: {}", enabled.join(", "));
    /// ```
    pub const ALL: [Format; 4] = [Format::Json, Format::Yaml, Format::Toml, Format::Ron];

    /// The lowercase name: `"json"`, `"yaml"`, `"toml"`, `"ron"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::Format;
    /// assert_eq!(Format::Toml.name(), "toml");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Yaml => "yaml",
            Self::Toml => "toml",
            Self::Ron => "ron",
        }
    }

    /// Whether this build of safeatomic has the format's cargo feature
    /// (which has the same name as the format).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::Format;
    /// // `json` is a default feature of safeatomic.
    /// assert!(Format::Json.is_enabled());
    /// ```
    pub fn is_enabled(self) -> bool {
        match self {
            Self::Json => cfg!(feature = "json"),
            Self::Yaml => cfg!(feature = "yaml"),
            Self::Toml => cfg!(feature = "toml"),
            Self::Ron => cfg!(feature = "ron"),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a format backend reports on failure: a message (without the
/// location) and, when known, a 1-based (line, column), the column counted
/// in characters. Input that is not UTF-8 is located at its first bad byte;
/// an early end of input at the end of the input.
pub(crate) struct FormatProblem {
    /// `Some(true)`: the text parses, the data does not fit the type;
    /// `Some(false)`: the text does not parse; `None`: the backend does not
    /// say (the decode then finds out).
    pub(crate) data: Option<bool>,
    pub(crate) message: String,
    pub(crate) location: Option<(u64, u64)>,
    /// The parser's own error, kept as the error's `source()` (several
    /// show the offending line with a caret).
    pub(crate) source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl FormatProblem {
    #[cfg_attr(
        not(any(feature = "toml", feature = "yaml", feature = "ron")),
        allow(dead_code)
    )]
    pub(crate) fn plain(message: impl fmt::Display) -> Self {
        Self {
            data: None,
            message: message.to_string(),
            location: None,
            source: None,
        }
    }

    fn into_error(self, format: Format, op: Operation, step: &'static str, path: &Path) -> Error {
        // One line: a backend's message may span several.
        let message = self
            .message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let mut err = Error::new(ErrorKind::Format, op, step, path)
            .with_detail(format!("{format}: {message}"));
        if let Some(source) = self.source {
            err = err.with_parser_error(source);
        }
        match self.location {
            Some((line, column)) => err.with_location(line, column),
            None => err,
        }
    }
}

impl FormatProblem {
    /// A schema mismatch at `field` (`None`: the document itself). A
    /// location is kept only for a field: the whole document is no place
    /// in it (`toml` reports its start for a missing top-level field).
    fn into_schema_error(
        mut self,
        format: Format,
        op: Operation,
        path: &Path,
        field: Option<String>,
    ) -> Error {
        if field.is_none() {
            self.location = None;
        }
        if let Some(field) = &field {
            self.message = format!("{field}: {}", self.message);
        }
        self.into_error(format, op, "parse", path)
            .with_kind(ErrorKind::Schema)
            .with_field(field)
    }
}

fn disabled(format: Format, op: Operation, path: &Path) -> Error {
    Error::new(ErrorKind::UnsupportedOperation, op, "choose format", path).with_detail(format!(
        "the {format} format needs the `{format}` feature of safeatomic"
    ))
}

/// `bytes` as text, or a problem located at the first byte that is not
/// valid UTF-8 (every format here is UTF-8 text).
fn utf8(bytes: &[u8]) -> std::result::Result<&str, FormatProblem> {
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let message = match e.error_len() {
            Some(_) => format!("not UTF-8: invalid byte 0x{:02x}", bytes[offset]),
            None => "not UTF-8: the file ends inside a multi-byte character".to_owned(),
        };
        FormatProblem {
            data: Some(false),
            message,
            location: Some(line_column(bytes, offset)),
            source: Some(Box::new(e)),
        }
    })
}

/// 1-based (line, column) of a byte offset in `text`: the line counts
/// `\n`s before it, the column counts characters (not bytes) from the
/// start of its line.
pub(crate) fn line_column(text: &[u8], offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count() as u64
        + 1;
    (line, column)
}

/// The enabled backend's result, or `None` when the format's feature is off.
fn encode_enabled<T: Serialize>(
    format: Format,
    value: &T,
) -> Option<std::result::Result<Vec<u8>, FormatProblem>> {
    match format {
        #[cfg(feature = "json")]
        Format::Json => Some(json::encode(value)),
        #[cfg(feature = "yaml")]
        Format::Yaml => Some(yaml::encode(value)),
        #[cfg(feature = "toml")]
        Format::Toml => Some(toml::encode(value)),
        #[cfg(feature = "ron")]
        Format::Ron => Some(ron::encode(value)),
        #[allow(unreachable_patterns)] // unreachable when every format is enabled
        _ => {
            let _ = value; // used only by the enabled backends
            None
        }
    }
}

fn decode_enabled<T: DeserializeOwned>(
    format: Format,
    bytes: &[u8],
) -> Option<std::result::Result<T, FormatProblem>> {
    match format {
        #[cfg(feature = "json")]
        Format::Json => Some(utf8(bytes).and_then(json::decode)),
        #[cfg(feature = "yaml")]
        Format::Yaml => Some(utf8(bytes).and_then(yaml::decode)),
        #[cfg(feature = "toml")]
        Format::Toml => Some(utf8(bytes).and_then(toml::decode)),
        #[cfg(feature = "ron")]
        Format::Ron => Some(utf8(bytes).and_then(ron::decode)),
        #[allow(unreachable_patterns)] // unreachable when every format is enabled
        _ => {
            let _ = bytes; // used only by the enabled backends
            None
        }
    }
}

/// Serializes `value` in `format`.
pub(crate) fn encode<T: Serialize>(
    format: Format,
    value: &T,
    path: &Path,
    op: Operation,
) -> Result<Vec<u8>> {
    encode_enabled(format, value)
        .ok_or_else(|| disabled(format, op, path))?
        .map_err(|p| p.into_error(format, op, "serialize", path))
}

/// Parses `bytes` as `format`.
pub(crate) fn decode<T: DeserializeOwned>(
    format: Format,
    bytes: &[u8],
    path: &Path,
    op: Operation,
) -> Result<T> {
    let problem = match decode_enabled(format, bytes).ok_or_else(|| disabled(format, op, path))? {
        Ok(value) => return Ok(value),
        Err(problem) => problem,
    };
    // Text that parses is data, only not this type's: another version of
    // the program wrote it, or a person edited it. Not corruption. (An
    // empty file parses in YAML, as nothing: it is a cut one.)
    let data = problem.data.unwrap_or_else(|| {
        !bytes.trim_ascii().is_empty()
            && matches!(
                decode_enabled(format, bytes),
                Some(Ok(serde::de::IgnoredAny))
            )
    });
    if data {
        let field = schema::failed_at::<T, _>(|| decode_enabled(format, bytes));
        return Err(problem.into_schema_error(format, op, path, field));
    }
    Err(problem.into_error(format, op, "parse", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_lines_and_characters() {
        let text = "ab\ncdé\nf".as_bytes();
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, text.len() - 1), (3, 1));
        assert_eq!(line_column(text, 7), (2, 4), "é is one column");
    }

    #[test]
    fn text_that_is_not_utf8_is_located_at_its_first_bad_byte() {
        let e = utf8(b"ab\ncd\xffef").err().unwrap();
        assert_eq!(e.location, Some((2, 3)));
        assert_eq!(e.message, "not UTF-8: invalid byte 0xff");
        let e = utf8("xé".as_bytes()[..2].as_ref()).err().unwrap();
        assert_eq!(e.location, Some((1, 2)));
        assert!(e.message.contains("ends inside"), "{}", e.message);
        assert_eq!(utf8("é".as_bytes()).ok(), Some("é"));
    }
}
