//! TOML through the `toml` crate, pretty-printed.

use super::{FormatProblem, line_column};

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, FormatProblem> {
    toml::to_string_pretty(value)
        .map(String::into_bytes)
        .map_err(FormatProblem::plain)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FormatProblem> {
    toml::from_str(text).map_err(|e: toml::de::Error| FormatProblem {
        data: None,
        location: e
            .span()
            .map(|span| line_column(text.as_bytes(), span.start)),
        message: e.message().trim_end().to_owned(),
        source: Some(Box::new(e)),
    })
}
