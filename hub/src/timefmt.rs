//! Times on the wire: RFC 3339 with `Z` out; RFC 3339 or the naive
//! `YYYY-MM-DDTHH:MM:SS[.fff]` (read as UTC) in. Internally: Unix milliseconds.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

pub type Millis = i64;

pub fn now_millis() -> Millis {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

/// `2026-11-22T20:56:17.123Z`
pub fn format_millis(ms: Millis) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return String::new();
    };
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

pub fn parse_time(s: &str) -> Option<Millis> {
    let s = s.trim();
    let t = OffsetDateTime::parse(s, &Rfc3339).ok().or_else(|| {
        let naive = format_description!(
            version = 2,
            "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        PrimitiveDateTime::parse(s, &naive)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    })?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_naive() {
        let ms = parse_time("2026-11-22T20:56:17.123Z").unwrap();
        assert_eq!(format_millis(ms), "2026-11-22T20:56:17.123Z");
        assert_eq!(parse_time("2026-11-22T20:56:17"), Some(ms - 123));
        assert_eq!(parse_time("2026-11-22 20:56:17"), Some(ms - 123));
        assert_eq!(parse_time("2026-11-22T21:56:17+01:00"), Some(ms - 123));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2026-13-01T00:00:00"), None);
    }
}
