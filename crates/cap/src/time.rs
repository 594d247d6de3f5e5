//! CAP's date-time form.
//!
//! CAP 1.2 §3.3.2 writes times as `2002-05-24T16:49:00-07:00`: the numeric offset is always
//! present, UTC is written `+00:00` (the schema's pattern does not accept `Z`), and there are
//! no fractional seconds. Fractions are dropped (rounded down to the second).

use chrono::{DateTime, Datelike, FixedOffset};

/// The CAP form of a time, e.g. `2026-12-05T10:30:00-05:00`.
///
/// The time keeps its own offset: a message sent at 10:30 in New York is written with
/// `-05:00`, not converted to UTC. Check [`representable`] first for years outside
/// 0000-9999 or offsets with seconds, which this form cannot carry.
pub fn cap_time(time: &DateTime<FixedOffset>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Why a time cannot be written in CAP form, or `None` if it can.
pub fn representable(time: &DateTime<FixedOffset>) -> Option<&'static str> {
    if !(0..=9999).contains(&time.year()) {
        return Some("the year must have four digits (0000 to 9999)");
    }
    if time.offset().local_minus_utc() % 60 != 0 {
        return Some("the UTC offset must be whole minutes");
    }
    None
}

/// The RFC 822 form RSS 2.0 uses, e.g. `Sat, 05 Dec 2026 10:30:00 -0500`.
///
/// Written with a format string rather than chrono's `to_rfc2822`, which panics on years
/// it cannot write; a bad date in one alert must not take the feed down.
pub(crate) fn rfc822_time(time: &DateTime<FixedOffset>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn at(
        offset_secs: i32,
        y: i32,
        mo: u32,
        d: u32,
        h: u32,
        mi: u32,
        s: u32,
    ) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(offset_secs)
            .unwrap()
            .with_ymd_and_hms(y, mo, d, h, mi, s)
            .unwrap()
    }

    #[test]
    fn keeps_the_local_offset() {
        assert_eq!(
            cap_time(&at(-5 * 3600, 2026, 12, 5, 10, 30, 0)),
            "2026-12-05T10:30:00-05:00"
        );
        assert_eq!(
            cap_time(&at(5 * 3600 + 1800, 2026, 1, 2, 3, 4, 5)),
            "2026-01-02T03:04:05+05:30"
        );
    }

    #[test]
    fn utc_is_plus_zero_not_z() {
        let t = Utc
            .with_ymd_and_hms(2026, 12, 5, 15, 30, 0)
            .unwrap()
            .fixed_offset();
        assert_eq!(cap_time(&t), "2026-12-05T15:30:00+00:00");
    }

    #[test]
    fn fractions_are_dropped() {
        let naive = NaiveDate::from_ymd_opt(2026, 12, 5)
            .unwrap()
            .and_hms_nano_opt(10, 30, 0, 999_999_999)
            .unwrap();
        let t = FixedOffset::east_opt(3600)
            .unwrap()
            .from_local_datetime(&naive)
            .unwrap();
        assert_eq!(cap_time(&t), "2026-12-05T10:30:00+01:00");
    }

    #[test]
    fn unrepresentable_times_are_named() {
        assert_eq!(representable(&at(0, 2026, 1, 1, 0, 0, 0)), None);
        assert!(representable(&at(0, 10000, 1, 1, 0, 0, 0)).is_some());
        assert!(representable(&at(0, -1, 1, 1, 0, 0, 0)).is_some());
        assert!(representable(&at(3600 + 7, 2026, 1, 1, 0, 0, 0)).is_some());
    }

    #[test]
    fn rss_dates() {
        assert_eq!(
            rfc822_time(&at(-5 * 3600, 2026, 12, 5, 10, 30, 0)),
            "Sat, 05 Dec 2026 10:30:00 -0500"
        );
        // No panic for a year RFC 822 cannot write.
        let _ = rfc822_time(&at(0, 12345, 1, 1, 0, 0, 0));
    }
}
