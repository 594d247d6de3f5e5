//! TP-SCTS, TP-DT and the absolute validity period (TS 23.040 §9.2.3.11): seven octets of
//! swapped BCD — year, month, day, hour, minute, second and the offset from UTC in quarter
//! hours, whose bit 3 is the sign.
//!
//! The two-digit year is read as 2000..=2099. Digits that are not decimal, dates that do
//! not exist (month 13, 30 February) and offsets beyond what a time zone can be are
//! errors, never guesses.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};

use crate::error::GsmError;

/// Decodes seven octets; `field` names the field in errors ("service centre time stamp").
pub fn decode(octets: [u8; 7], field: &'static str) -> Result<DateTime<FixedOffset>, GsmError> {
    let invalid = |reason: String| GsmError::InvalidTimestamp { field, reason };
    let [y, mo, d, h, mi, s, tz] = octets;
    let bcd = |name: &str, o: u8| -> Result<u32, GsmError> {
        let (tens, units) = (o & 0x0F, o >> 4);
        if tens > 9 || units > 9 {
            return Err(invalid(format!("{name} octet {o:#04x} is not decimal")));
        }
        Ok(u32::from(tens) * 10 + u32::from(units))
    };
    let year = 2000 + bcd("year", y)? as i32;
    let (month, day) = (bcd("month", mo)?, bcd("day", d)?);
    let (hour, minute, second) = (bcd("hour", h)?, bcd("minute", mi)?, bcd("second", s)?);
    let units = tz >> 4;
    if units > 9 {
        return Err(invalid(format!("time zone octet {tz:#04x} is not decimal")));
    }
    let quarters = i32::from(tz & 0x07) * 10 + i32::from(units);
    let sign = if tz & 0x08 != 0 { -1 } else { 1 };
    let offset = FixedOffset::east_opt(sign * quarters * 15 * 60)
        .ok_or_else(|| invalid(format!("time zone of {quarters} quarter hours")))?;
    let date = NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| invalid(format!("{year:04}-{month:02}-{day:02} is not a date")))?;
    let naive = date
        .and_hms_opt(hour, minute, second)
        .ok_or_else(|| invalid(format!("{hour:02}:{minute:02}:{second:02} is not a time")))?;
    naive
        .and_local_timezone(offset)
        .single()
        .ok_or_else(|| invalid("local time does not exist".into()))
}

/// Encodes a time stamp. The offset must be a whole number of quarter hours and the year
/// within 2000..=2099.
pub fn encode(time: &DateTime<FixedOffset>) -> Result<[u8; 7], GsmError> {
    let swap = |v: u32| -> u8 { ((v % 10) << 4) as u8 | (v / 10 % 10) as u8 };
    let year = time.year();
    if !(2000..=2099).contains(&year) {
        return Err(GsmError::InvalidValidity(format!(
            "year {year} cannot be written as a two-digit SMS year"
        )));
    }
    let seconds = time.offset().local_minus_utc();
    if seconds % (15 * 60) != 0 {
        return Err(GsmError::InvalidValidity(format!(
            "time zone offset of {seconds} s is not a whole number of quarter hours"
        )));
    }
    let quarters = (seconds / (15 * 60)).unsigned_abs();
    if quarters > 79 {
        return Err(GsmError::InvalidValidity(format!(
            "time zone offset of {quarters} quarter hours does not fit"
        )));
    }
    let sign = if seconds < 0 { 0x08 } else { 0 };
    Ok([
        swap((year - 2000) as u32),
        swap(time.month()),
        swap(time.day()),
        swap(time.hour()),
        swap(time.minute()),
        // A leap second (60) is written as 59: SMS time stamps have no leap seconds.
        swap(time.second().min(59)),
        swap(quarters) | sign,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELD: &str = "service centre time stamp";

    #[test]
    fn vectors() {
        let plus = decode([0x70, 0x40, 0x21, 0x32, 0x52, 0x24, 0x23], FIELD).unwrap();
        assert_eq!(plus.to_rfc3339(), "2007-04-12T23:25:42+08:00");
        let minus = decode([0x70, 0x40, 0x21, 0x32, 0x52, 0x24, 0x2B], FIELD).unwrap();
        assert_eq!(minus.to_rfc3339(), "2007-04-12T23:25:42-08:00");
        assert_eq!(
            encode(&plus).unwrap(),
            [0x70, 0x40, 0x21, 0x32, 0x52, 0x24, 0x23]
        );
        assert_eq!(
            encode(&minus).unwrap(),
            [0x70, 0x40, 0x21, 0x32, 0x52, 0x24, 0x2B]
        );
    }

    #[test]
    fn invalid_dates_are_errors() {
        let err = |o| decode(o, FIELD).unwrap_err().to_string();
        assert_eq!(
            err([0x70, 0x31, 0x21, 0x32, 0x52, 0x24, 0x23]),
            "invalid service centre time stamp: 2007-13-12 is not a date"
        );
        assert_eq!(
            err([0x70, 0x20, 0x03, 0x32, 0x52, 0x24, 0x23]),
            "invalid service centre time stamp: 2007-02-30 is not a date"
        );
        assert_eq!(
            err([0x70, 0x40, 0x21, 0x52, 0x52, 0x24, 0x23]),
            "invalid service centre time stamp: 25:25:42 is not a time"
        );
        assert_eq!(
            err([0x7A, 0x40, 0x21, 0x32, 0x52, 0x24, 0x23]),
            "invalid service centre time stamp: year octet 0x7a is not decimal"
        );
    }
}
