//! TOML through the `toml` crate, pretty-printed.

use super::{FormatProblem, line_column};

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, FormatProblem> {
    toml::to_string_pretty(value)
        .map(String::into_bytes)
        .map_err(FormatProblem::plain)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, FormatProblem> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| FormatProblem::plain(format!("not UTF-8: {e}")))?;
    toml::from_str(text).map_err(|e| FormatProblem {
        location: e.span().map(|span| line_column(bytes, span.start)),
        message: e.message().to_owned(),
    })
}
