//! ISO-8601 timestamps as the reference library writes them
//! (`2026-01-15T12:34:56.789012+00:00`, Python's `datetime.isoformat()` in UTC).

use std::time::{SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::{datetime, format_description};

/// The range a timestamp is shown in: the four-digit years of ISO-8601.
const FIRST: OffsetDateTime = datetime!(0000-01-01 00:00:00 UTC);
const LAST: OffsetDateTime = datetime!(9999-12-31 23:59:59.999999 UTC);

/// `t` in UTC, clamped to [`FIRST`]..=[`LAST`]: a clock set past the year
/// 9999 (or before year 0) gives the nearest time that can be written, never
/// a panic (`OffsetDateTime::from` panics out of its range).
fn utc(t: SystemTime) -> OffsetDateTime {
    let (dt, fallback) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            time::Duration::try_from(d)
                .ok()
                .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_add(d)),
            LAST,
        ),
        Err(before) => (
            time::Duration::try_from(before.duration())
                .ok()
                .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_sub(d)),
            FIRST,
        ),
    };
    dt.unwrap_or(fallback).clamp(FIRST, LAST)
}

/// Formats `t` in UTC with microseconds and an explicit `+00:00` offset.
pub(crate) fn format(t: SystemTime) -> String {
    let dt = utc(t);
    dt.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    ))
    // Formatting a valid UTC date with a fixed description cannot fail.
    .expect("fixed format description")
}

/// Formats `t` in UTC for use in a file name: `20260115T123456.789012Z`.
pub(crate) fn format_compact(t: SystemTime) -> String {
    utc(t)
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
    fn clocks_out_of_range_give_the_nearest_writable_time() {
        let far = UNIX_EPOCH + Duration::from_secs(1_000_000_000_000); // year ~33658
        assert_eq!(format(far), "9999-12-31T23:59:59.999999+00:00");
        assert_eq!(format_compact(far), "99991231T235959.999999Z");
        assert!(parse(&format(far)).is_some());
        let ancient = UNIX_EPOCH - Duration::from_secs(100_000_000_000); // year ~ -1200
        assert_eq!(format(ancient), "0000-01-01T00:00:00.000000+00:00");
        let before_1970 = UNIX_EPOCH - Duration::from_micros(1_500_000);
        assert_eq!(format(before_1970), "1969-12-31T23:59:58.500000+00:00");
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
