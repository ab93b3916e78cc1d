//! RON through the `ron` crate, pretty-printed, with a trailing newline.

use super::FormatProblem;

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, FormatProblem> {
    let mut out =
        ron::ser::to_string_pretty(value, ron::ser::PrettyConfig::default()).map_err(|e| {
            FormatProblem {
                message: e.to_string(),
                location: None,
            }
        })?;
    out.push('\n');
    Ok(out.into_bytes())
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, FormatProblem> {
    ron::de::from_bytes(bytes).map_err(|e| FormatProblem {
        location: Some((e.span.start.line as u64, e.span.start.col as u64)),
        message: e.code.to_string(),
    })
}
