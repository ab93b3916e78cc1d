//! Rules that involve more than one attribute, or the shape of the type.

use crate::ast::{Input, Shape};
use crate::attr::{FormatAttr, FormatKind};
use crate::ctxt::Ctxt;
use crate::symbol::PERSISTED;

/// Checks what parsing could not, and returns the format to expand with.
///
/// `None` only when an error has been reported (here or while parsing).
pub(crate) fn check<'a>(cx: &Ctxt, input: &'a Input<'_>) -> Option<&'a FormatAttr> {
    if let Shape::Union(span) = input.shape {
        // No format can store a union: that is the one thing to fix.
        cx.error_at(span, "Persisted cannot be derived for a union");
        return None;
    }
    let Some(format) = &input.attrs.format else {
        // A `format` with a bad value, or a misspelt key, was already
        // reported: saying it is missing as well would be a second error
        // for the same mistake.
        if !cx.has_errors() {
            let message = format!(
                r#"missing format: add #[{PERSISTED}(format = "json")] (or "yaml", "toml", "ron")"#
            );
            match &input.attrs.first {
                Some(attr) => cx.error_spanned_by(attr, &message),
                None => cx.error_spanned_by(input.ident, &message),
            }
        }
        return None;
    };
    if format.kind == FormatKind::Toml
        && !matches!(input.shape, Shape::Named | Shape::Enum { tagged: true })
    {
        cx.error_spanned_by(
            &format.literal,
            format_args!(
                r#"a TOML document must be a table: format "toml" needs a struct with named fields, not {}"#,
                input.shape.description(),
            ),
        );
    }
    Some(format)
}
