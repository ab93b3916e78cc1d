//! YAML through `serde-saphyr`: pure Rust, panic-free, and with budgets
//! (aliases, events, depth) that make alias bombs and deep nesting fail fast
//! (docs/decisions/0005-yaml-crate.md).

use super::FormatProblem;

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, FormatProblem> {
    serde_saphyr::to_string(value)
        .map(String::into_bytes)
        .map_err(FormatProblem::plain)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, FormatProblem> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| FormatProblem::plain(format!("not UTF-8: {e}")))?;
    serde_saphyr::from_str(text).map_err(|e| FormatProblem {
        location: e.location().map(|l| (l.line(), l.column())),
        message: e.to_string(),
    })
}
