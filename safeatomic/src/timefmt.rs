//! ISO-8601 timestamps as the reference library writes them
//! (`2026-01-15T12:34:56.789012+00:00`, Python's `datetime.isoformat()` in UTC).

use std::time::SystemTime;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Formats `t` in UTC with microseconds and an explicit `+00:00` offset.
pub(crate) fn format(t: SystemTime) -> String {
    let dt = OffsetDateTime::from(t);
    dt.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    ))
    // Formatting a valid UTC date with a fixed description cannot fail.
    .expect("fixed format description")
}

/// Formats `t` in UTC for use in a file name: `20260115T123456.789012Z`.
pub(crate) fn format_compact(t: SystemTime) -> String {
    OffsetDateTime::from(t)
        .format(format_description!(
            "[year][month][day]T[hour][minute][second].[subsecond digits:6]Z"
        ))
        .expect("fixed format description")
}

/// Parses an RFC 3339 / ISO-8601 timestamp with an offset (`Z` or `±HH:MM`),
/// with or without fractional seconds.
pub(crate) fn parse(s: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .ok()
        .map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_like_python_isoformat_and_round_trips() {
        let t = UNIX_EPOCH + Duration::from_micros(1_768_480_496_789_012);
        let s = format(t);
        assert_eq!(s, "2026-01-15T12:34:56.789012+00:00");
        assert_eq!(parse(&s), Some(t));
        assert_eq!(format_compact(t), "20260115T123456.789012Z");
    }

    #[test]
    fn parses_other_offsets_and_precisions() {
        let base = parse("2026-01-15T12:34:56+00:00").unwrap();
        assert_eq!(parse("2026-01-15T12:34:56Z"), Some(base));
        assert_eq!(parse("2026-01-15T14:34:56+02:00"), Some(base));
        assert_eq!(parse("not a time"), None);
        assert_eq!(parse("2026-01-15 12:34:56"), None);
    }
}
