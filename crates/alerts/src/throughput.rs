//! What each path really sends, measured from the outbox, beside what it is configured to
//! send: the confirm page and the progress page estimate with whichever is lower, so an
//! alert administrator hears how long everyone will take as the paths actually perform (a
//! modem on a weak signal, a message centre that throttles), not as hoped.
//!
//! Two measurements, both without I/O here (the caller counts the parts):
//! - **from the last campaign** a gateway sent ([`measure_campaign`]): its parts over the
//!   time from its first to its last, for the confirm page of the next one;
//! - **over the last minute** of a running campaign ([`measure_recent`]), for its progress
//!   page: a path that stalls shows it at once.
//!
//! A measurement only ever lowers the estimate. The schedule of a campaign's deliveries
//! keeps the configured rates: scheduling at a measured rate would let each campaign
//! measure no more than the last one allowed, ratcheting a path down for good.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::campaign::ModemRate;

/// Fewer parts than this from one campaign say nothing about a path's rate (a handful of
/// sends finish in one batch).
pub const MIN_PARTS: u64 = 20;
/// The window of the running measurement.
pub const RECENT: TimeDelta = TimeDelta::seconds(60);

/// What one gateway sent for one campaign: `parts` SMS parts, the first at `first` and
/// the last at `last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentSpan {
    pub parts: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// A gateway's measured rate, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeasuredRate {
    pub gateway: String,
    /// SMS parts a minute.
    pub per_minute: u32,
    /// The campaign it was measured in.
    pub campaign_id: i64,
    /// When that campaign's last part went.
    pub at: DateTime<Utc>,
}

/// A finished campaign's rate on one path: parts after the first over the time from the
/// first to the last (the first part starts the clock). `None` when there were too few
/// parts, or they all went in one instant (a batch: no rate can be read from it).
pub fn measure_campaign(span: SentSpan) -> Option<u32> {
    if span.parts < MIN_PARTS {
        return None;
    }
    let ms = u64::try_from((span.last - span.first).num_milliseconds()).ok()?;
    if ms == 0 {
        return None;
    }
    let per_minute = (span.parts - 1).saturating_mul(60_000) / ms;
    Some(u32::try_from(per_minute).unwrap_or(u32::MAX))
}

/// A running campaign's rate on one path over the last minute: `span` holds the parts
/// sent within [`RECENT`] of `now` (none: `None`). A path that has sent for less than the
/// window is measured over the time since its first part; `campaign_started` bounds that
/// time from below, so a path whose every part went in its first second does not read as
/// sixty times faster than it is. Returns 0 for a path that sent nothing in the last
/// minute although the campaign has run that long: it has stalled.
pub fn measure_recent(
    span: Option<SentSpan>,
    campaign_started: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<u32> {
    let running = now - campaign_started;
    let Some(span) = span.filter(|s| s.parts > 0) else {
        return (running >= RECENT).then_some(0);
    };
    let window = if running >= RECENT {
        RECENT
    } else {
        running.max(now - span.first)
    };
    let ms = u64::try_from(window.num_milliseconds()).ok()?.max(1_000);
    let per_minute = span.parts.saturating_mul(60_000) / ms;
    Some(u32::try_from(per_minute).unwrap_or(u32::MAX))
}

/// The rates to estimate with: each configured rate, lowered where its gateway measured
/// less. A gateway with several modems in the plan shares its measured rate among them in
/// the proportion of their configured rates.
pub fn estimate_rates(
    configured: &[(String, ModemRate)],
    measured: &[(String, u32)],
) -> Vec<ModemRate> {
    configured
        .iter()
        .map(|(gateway, rate)| {
            let Some(&(_, measured)) = measured.iter().find(|(g, _)| g == gateway) else {
                return rate.clone();
            };
            let gateway_total: u64 = configured
                .iter()
                .filter(|(g, _)| g == gateway)
                .map(|(_, r)| u64::from(r.per_minute))
                .sum();
            if u64::from(measured) >= gateway_total || gateway_total == 0 {
                return rate.clone();
            }
            let share = u64::from(measured) * u64::from(rate.per_minute) / gateway_total;
            ModemRate {
                per_minute: u32::try_from(share).unwrap_or(u32::MAX).max(1),
                ..rate.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a valid time")
    }

    #[test]
    fn a_finished_campaign_is_measured_from_its_first_part_to_its_last() {
        let span = |parts, seconds| SentSpan {
            parts,
            first: at(0),
            last: at(seconds),
        };
        // 121 parts in ten minutes: 12 a minute.
        assert_eq!(measure_campaign(span(121, 600)), Some(12));
        // 10,000 parts through a message centre in 4 s.
        assert_eq!(measure_campaign(span(10_000, 4)), Some(149_985));
        assert_eq!(measure_campaign(span(MIN_PARTS - 1, 600)), None, "too few");
        assert_eq!(measure_campaign(span(500, 0)), None, "one instant");
    }

    #[test]
    fn a_running_campaign_is_measured_over_the_last_minute() {
        let recent = |parts, first| {
            Some(SentSpan {
                parts,
                first: at(first),
                last: at(299),
            })
        };
        // Running for five minutes: 15 parts in the last minute is 15 a minute.
        assert_eq!(measure_recent(recent(15, 241), at(0), at(300)), Some(15));
        // Running for 20 s, its first part at once: 10 parts in 20 s.
        assert_eq!(measure_recent(recent(10, 280), at(280), at(300)), Some(30));
        // A batch in the first instant does not read as a rate sixty times too high.
        assert_eq!(measure_recent(recent(50, 299), at(290), at(300)), Some(300));
        // Nothing in the last minute of a campaign running for longer: stalled.
        assert_eq!(measure_recent(None, at(0), at(300)), Some(0));
        // Nothing yet, a few seconds in: no measurement.
        assert_eq!(measure_recent(None, at(295), at(300)), None);
    }

    #[test]
    fn a_measurement_only_lowers_the_estimate_and_is_shared_among_a_gateways_modems() {
        let configured = vec![
            ("main".to_owned(), ModemRate::new("main/modem0", 20)),
            ("main".to_owned(), ModemRate::new("main/modem1", 40)),
            (
                "centre".to_owned(),
                ModemRate::message_centre("centre", 6_000),
            ),
            ("spare".to_owned(), ModemRate::new("spare", 20)),
        ];
        let measured = vec![("main".to_owned(), 30), ("centre".to_owned(), 9_000)];
        let rates: Vec<u32> = estimate_rates(&configured, &measured)
            .iter()
            .map(|r| r.per_minute)
            .collect();
        assert_eq!(rates, [10, 20, 6_000, 20]);
    }
}
