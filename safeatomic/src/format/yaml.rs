//! YAML through `serde-saphyr`: pure Rust, panic-free, and with budgets
//! (aliases, events, depth) that make alias bombs and deep nesting fail fast
//! (docs/decisions/0005-yaml-crate.md).
//!
//! The crate's default budgets are kept, except that the events replayed
//! from aliases are capped at [`MAX_ALIAS_REPLAYED_EVENTS`] instead of a
//! million: a billion-laughs document then stops after a few milliseconds
//! of work, not a second.

use super::FormatProblem;

/// The most parser events that aliases (`*name`) may replay in one
/// document, all aliases together; each alias replays every event of its
/// anchored node (a scalar is one event, a sequence or mapping two plus its
/// contents). Hundreds of ordinary anchors and aliases stay far below it.
pub(super) const MAX_ALIAS_REPLAYED_EVENTS: usize = 20_000;

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, FormatProblem> {
    serde_saphyr::to_string(value)
        .map(String::into_bytes)
        .map_err(FormatProblem::plain)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FormatProblem> {
    let options = serde_saphyr::options! {
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_REPLAYED_EVENTS,
        },
    };
    serde_saphyr::from_str_with_options(text, options).map_err(problem)
}

fn problem(e: serde_saphyr::Error) -> FormatProblem {
    let location = e.location().map(|l| (l.line(), l.column()));
    // One line, without the source snippet; the crate appends the location
    // ("… at line L, column C", and for an error inside an alias "(used at
    // line L, column C)"), which is reported on its own: say it once.
    let mut message = e.render_with_options(serde_saphyr::render_options! {
        snippets: serde_saphyr::SnippetMode::Off,
    });
    if let Some((line, column)) = location {
        for phrase in [
            format!(" (used at line {line}, column {column})"),
            format!(" at line {line}, column {column}"),
        ] {
            if let Some(at) = message.find(&phrase) {
                message.replace_range(at..at + phrase.len(), "");
            }
        }
    }
    FormatProblem {
        data: None,
        message,
        location,
        source: Some(Box::new(e)),
    }
}
