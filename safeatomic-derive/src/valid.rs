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
    check_schema(cx, input, format.kind);
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

/// `version`, `version_key` and `migrate` together.
fn check_schema(cx: &Ctxt, input: &Input<'_>, format: FormatKind) {
    let attrs = &input.attrs;
    let Some((version, literal)) = &attrs.version else {
        if let Some(key) = &attrs.version_key {
            cx.error_spanned_by(key, "version_key needs version = N");
        }
        if let Some((_, list)) = &attrs.migrate {
            cx.error_spanned_by(list, "migrate needs version = N (its last step's target)");
        }
        if let Some((_, list)) = &attrs.migrate_from {
            cx.error_spanned_by(
                list,
                "migrate_from needs version = N (the type's own version)",
            );
        }
        return;
    };
    let needed = version - 1;
    let steps = |n: u32| match n {
        1 => "1 migration step".to_owned(),
        n => format!("{n} migration steps"),
    };
    if let (Some(_), Some((types, list))) = (&attrs.migrate, &attrs.migrate_from) {
        let _ = types;
        cx.error_spanned_by(
            list,
            "give migrate (steps on the data) or migrate_from (older types), not both",
        );
    }
    match (&attrs.migrate, &attrs.migrate_from) {
        (None, Some((types, list))) if types.len() as u64 != u64::from(needed) => cx
            .error_spanned_by(
                list,
                format_args!(
                    "version {version} needs the types of versions 1 to {}, {} in all, not {}",
                    version - 1,
                    needed,
                    types.len()
                ),
            ),
        (None, Some(_)) => {}
        (None, None) if needed > 0 => cx.error_spanned_by(
            literal,
            format_args!(
                "version {version} needs migrate = [...] with {} (1 to 2{})",
                steps(needed),
                if needed > 1 {
                    format!(", …, {} to {version}", version - 1)
                } else {
                    String::new()
                },
            ),
        ),
        (Some((given, list)), _) if given.len() as u64 != u64::from(needed) => cx.error_spanned_by(
            list,
            format_args!(
                "version {version} needs {}, one per step from version 1, not {}",
                steps(needed),
                given.len()
            ),
        ),
        _ => {}
    }
    if !matches!(input.shape, Shape::Named | Shape::Enum { tagged: true }) {
        cx.error_spanned_by(
            literal,
            format_args!(
                "a schema version is a key at the top level of the file: version needs a struct with named fields (or a tagged enum), not {}",
                input.shape.description()
            ),
        );
    }
    if format == FormatKind::Ron
        && let Some((steps, list)) = &attrs.migrate
        && !steps.is_empty()
    {
        cx.error_spanned_by(
            list,
            "migrations on the data are for JSON, YAML and TOML files: RON's data without its type does not say which enum variant a value is; give the older versions' types instead: migrate_from = [v1::Config, ...]",
        );
    }
    if let Some(span) = input.denies_unknown_fields {
        cx.error_at(
            span,
            "a type with a schema version cannot deny unknown fields: its files hold the version key, which the type does not declare",
        );
    }
}
