//! JSON through `serde_json`: pretty-printed, with a trailing newline.

use super::FormatProblem;

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, FormatProblem> {
    let mut out = serde_json::to_vec_pretty(value).map_err(problem)?;
    out.push(b'\n');
    Ok(out)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, FormatProblem> {
    serde_json::from_slice(bytes).map_err(problem)
}

fn problem(e: serde_json::Error) -> FormatProblem {
    // serde_json reports line 0 when it has no position (serialization).
    let location = (e.line() > 0).then(|| (e.line() as u64, e.column() as u64));
    // Its message ends in " at line L column C"; the location is reported
    // on its own, so say it once.
    let mut message = e.to_string();
    if let Some((line, column)) = location {
        let suffix = format!(" at line {line} column {column}");
        if message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
    }
    FormatProblem { message, location }
}
