//! RON through the `ron` crate, pretty-printed, with a trailing newline.

use super::{FormatProblem, line_column};

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, FormatProblem> {
    let mut out = ron::ser::to_string_pretty(value, ron::ser::PrettyConfig::default())
        .map_err(FormatProblem::plain)?;
    out.push('\n');
    Ok(out.into_bytes())
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FormatProblem> {
    // `text` is already checked to be UTF-8 (with the offending byte's
    // position), so ron's own check, which reports no position, never fires.
    ron::de::from_str(text).map_err(|e: ron::error::SpannedError| FormatProblem {
        data: None,
        // ron places an early end of input after the last token it read;
        // like the other formats, report the end of the input.
        location: Some(if e.code == ron::Error::Eof {
            line_column(text.as_bytes(), text.len())
        } else {
            (
                (e.span.start.line as u64).max(1),
                (e.span.start.col as u64).max(1),
            )
        }),
        message: e.code.to_string(),
        source: Some(Box::new(e)),
    })
}
