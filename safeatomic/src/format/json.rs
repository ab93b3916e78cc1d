//! JSON through `serde_json`: pretty-printed, with a trailing newline.

use super::{FormatProblem, line_column};

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, FormatProblem> {
    let mut out = serde_json::to_vec_pretty(value).map_err(|e| problem(e, None))?;
    out.push(b'\n');
    Ok(out)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FormatProblem> {
    serde_json::from_str(text).map_err(|e| problem(e, Some(text)))
}

/// `text` is the input that failed to parse (`None` when serializing).
fn problem(e: serde_json::Error, text: Option<&str>) -> FormatProblem {
    // serde_json reports line 0 when it has no position (serialization).
    let reported = (e.line() > 0).then(|| (e.line() as u64, e.column() as u64));
    // Its message ends in " at line L column C"; the location is reported
    // on its own, so say it once.
    let mut message = e.to_string();
    if let Some((line, column)) = reported {
        let suffix = format!(" at line {line} column {column}");
        if message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
    }
    // serde_json's column is that of the last character it read, which is 0
    // when that was a newline or nothing at all (an empty file). Locations
    // here are 1-based and point at the problem: for an early end of input,
    // the end of the input.
    let location = match text {
        Some(text) if e.is_eof() => Some(line_column(text.as_bytes(), text.len())),
        _ => reported.map(|(line, column)| (line, column.max(1))),
    };
    FormatProblem {
        data: Some(e.classify() == serde_json::error::Category::Data),
        message,
        location,
        source: Some(Box::new(e)),
    }
}
