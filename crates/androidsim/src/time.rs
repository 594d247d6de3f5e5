//! Times as the app writes them: Gson's `setDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")`
//! (`extensions/GsonBuilder.kt`), in the phone's zone. Java's `XXX` writes `Z` for a zero
//! offset and `+hh:mm` otherwise.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

/// `instant` written in `zone` as the app does.
pub(crate) fn format(instant: DateTime<Utc>, zone: FixedOffset) -> String {
    let local = zone.from_utc_datetime(&instant.naive_utc());
    let stamp = local.format("%Y-%m-%dT%H:%M:%S%.3f");
    if zone.local_minus_utc() == 0 {
        format!("{stamp}Z")
    } else {
        format!("{stamp}{}", local.format("%:z"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_is_written_with_z() {
        let t = Utc
            .with_ymd_and_hms(2025, 3, 1, 12, 30, 5)
            .single()
            .expect("valid");
        assert_eq!(format(t, Utc.fix()), "2025-03-01T12:30:05.000Z");
    }

    #[test]
    fn other_zones_with_offset() {
        let t = Utc
            .with_ymd_and_hms(2025, 3, 1, 23, 30, 5)
            .single()
            .expect("valid")
            + chrono::Duration::milliseconds(7);
        let zone = FixedOffset::east_opt(2 * 3600).expect("valid");
        assert_eq!(format(t, zone), "2025-03-02T01:30:05.007+02:00");
        let zone = FixedOffset::west_opt(5 * 3600 + 1800).expect("valid");
        assert_eq!(format(t, zone), "2025-03-01T18:00:05.007-05:30");
    }

    use chrono::Offset;
}
