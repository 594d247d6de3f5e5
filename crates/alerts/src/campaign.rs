//! Planning a campaign (one alert to many recipients) over the gateways' modems, and the
//! progress page's arithmetic.
//!
//! An ordinary SIM is person-to-person traffic to the carrier: roughly 15 to 60 messages a
//! minute and about a thousand a day before filtering starts (CTIA's "typical consumer
//! operation"). The default rate is a conservative 20 SMS a minute per modem; deployments
//! that have measured their SIMs configure their own. Rates count SMS *parts*: a
//! three-part UCS-2 alert costs three slots per recipient.
//!
//! Deliveries go to the modem that would finish them first (least-loaded by finishing
//! time), so a faster modem takes a proportionally larger share and every modem ends at
//! about the same moment. The estimate is honest arithmetic, not a promise: at 60 a minute
//! one SIM needs about 2.8 hours for 10,000 recipients, and the confirm page says so.
//!
//! Spreading one message over many SIMs *to dodge carrier filtering* ("snowshoeing") is a
//! named violation of carrier rules. Using the institution's few modems in parallel is
//! ordinary, but a large membership should use a registered messaging provider; the plan
//! warns when a modem's share exceeds the typical daily volume of a consumer SIM.
//!
//! A "modem" may also be the legacy e-mail-to-SMS path ([`SendPath::CarrierEmail`]), which
//! reaches only members who chose a carrier whose gateway still works. The plan gives it
//! only those members ([`Reach::ModemsOrEmail`]); everyone else goes to the real modems,
//! and when there are none, they are counted as unreachable instead of being planned onto a
//! path that would fail them.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Default SMS parts per minute for one modem.
pub const DEFAULT_PER_MINUTE: u32 = 20;
/// Messages a day an ordinary SIM sends before carriers treat it as bulk traffic.
pub const TYPICAL_DAILY_VOLUME: u64 = 1_000;

const MS_PER_MINUTE: u64 = 60_000;
const MS_PER_DAY: u64 = 86_400_000;

/// How a "modem" of the plan reaches people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendPath {
    /// A SIM: any mobile number.
    #[default]
    Radio,
    /// The legacy e-mail-to-SMS driver: only numbers whose carrier (chosen by the member)
    /// still runs a gateway. Not a SIM, so the daily-volume warning does not apply.
    CarrierEmail,
    /// A message centre over SMPP: any number, at the account's registered rate. Not a
    /// SIM either: the carriers' limits are the account's, set by its registration.
    MessageCentre,
}

/// The paths of a plan in words, for the confirm page: "2 modems and 1 message centre".
pub fn describe_paths(rates: &[ModemRate]) -> String {
    let mut parts = Vec::new();
    for (path, one, many) in [
        (SendPath::Radio, "modem", "modems"),
        (SendPath::MessageCentre, "message centre", "message centres"),
        (
            SendPath::CarrierEmail,
            "carrier e-mail path",
            "carrier e-mail paths",
        ),
    ] {
        match rates.iter().filter(|r| r.path == path).count() {
            0 => {}
            1 => parts.push(format!("1 {one}")),
            n => parts.push(format!("{n} {many}")),
        }
    }
    match parts.len() {
        0 => "no path".to_owned(),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    }
}

impl SendPath {
    /// What the console calls it.
    pub fn describe(self) -> &'static str {
        match self {
            SendPath::Radio => "modem",
            SendPath::CarrierEmail => "carrier e-mail",
            SendPath::MessageCentre => "message centre",
        }
    }

    /// Whether this path reaches any mobile number (not only members with a carrier).
    pub fn reaches_any_number(self) -> bool {
        matches!(self, SendPath::Radio | SendPath::MessageCentre)
    }
}

/// Which paths can reach a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// No carrier with a working e-mail gateway: only a modem ([`SendPath::Radio`]).
    ModemsOnly,
    /// A carrier with a working e-mail gateway: a modem or the e-mail path.
    ModemsOrEmail,
}

impl Reach {
    fn takes(self, path: SendPath) -> bool {
        match self {
            Reach::ModemsOnly => path.reaches_any_number(),
            Reach::ModemsOrEmail => true,
        }
    }
}

/// How many recipients of each [`Reach`] a campaign has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachCounts {
    /// Recipients only a modem can text.
    pub modems_only: u64,
    /// Recipients the e-mail path can reach as well.
    pub modems_or_email: u64,
}

impl ReachCounts {
    /// Every recipient, however reachable.
    pub fn total(&self) -> u64 {
        self.modems_only.saturating_add(self.modems_or_email)
    }

    fn of(&self, reach: Reach) -> u64 {
        match reach {
            Reach::ModemsOnly => self.modems_only,
            Reach::ModemsOrEmail => self.modems_or_email,
        }
    }
}

/// The sending capacity of one modem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModemRate {
    /// The modem's id (gateway and device), as the outbox knows it.
    pub modem: String,
    /// SMS parts per minute.
    pub per_minute: u32,
    /// SMS parts per day, counted from the start of the campaign, if the deployment wants
    /// the plan to respect a daily cap; `None` sends at `per_minute` until done.
    pub per_day: Option<u32>,
    /// A SIM, or the legacy e-mail path.
    #[serde(default)]
    pub path: SendPath,
}

impl ModemRate {
    /// A modem at `per_minute` with no daily cap.
    pub fn new(modem: impl Into<String>, per_minute: u32) -> Self {
        Self {
            modem: modem.into(),
            per_minute,
            per_day: None,
            path: SendPath::Radio,
        }
    }

    /// A message centre (SMPP) at `per_minute` SMS a minute (the account's rate).
    pub fn message_centre(modem: impl Into<String>, per_minute: u32) -> Self {
        Self {
            path: SendPath::MessageCentre,
            ..Self::new(modem, per_minute)
        }
    }

    /// The legacy e-mail-to-SMS path at `per_minute` mails a minute.
    pub fn carrier_email(modem: impl Into<String>, per_minute: u32) -> Self {
        Self {
            path: SendPath::CarrierEmail,
            ..Self::new(modem, per_minute)
        }
    }

    /// Start of the slot of this modem's `part`-th SMS (0-based), in ms from the start.
    fn slot_start_ms(&self, part: u64) -> u64 {
        let per_minute = u64::from(self.per_minute.max(1));
        match self.per_day.map(u64::from) {
            Some(cap) if cap > 0 => {
                // A day's quota may take longer than a day at this rate; then the next
                // day's quota starts when the previous one is done.
                let quota_ms = cap.saturating_mul(MS_PER_MINUTE) / per_minute;
                let day_ms = quota_ms.max(MS_PER_DAY);
                (part / cap).saturating_mul(day_ms)
                    + (part % cap).saturating_mul(MS_PER_MINUTE) / per_minute
            }
            _ => part.saturating_mul(MS_PER_MINUTE) / per_minute,
        }
    }

    /// Moment this modem is done with `recipients` recipients of `parts` parts each.
    fn finish_ms(&self, recipients: u64, parts: u64) -> u64 {
        if recipients == 0 {
            return 0;
        }
        let last_part = recipients.saturating_mul(parts) - 1;
        self.slot_start_ms(last_part) + MS_PER_MINUTE / u64::from(self.per_minute.max(1))
    }
}

/// A campaign that cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// No modem is available to send.
    #[error("no modem is available to send the campaign")]
    NoModems,
    /// A modem was configured with a rate of zero.
    #[error("modem {modem:?} has a sending rate of 0 messages a minute")]
    ZeroRate {
        /// The modem.
        modem: String,
    },
    /// A message of zero parts.
    #[error("a campaign message has at least one SMS part")]
    ZeroParts,
}

/// One modem's share of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModemShare {
    /// The modem.
    pub modem: String,
    /// Recipients it sends to.
    pub recipients: u64,
    /// SMS parts it sends.
    pub messages: u64,
    /// Time it needs.
    pub duration: TimeDelta,
}

/// Something the administrator should know before confirming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanWarning {
    /// A modem sends more in the campaign than an ordinary SIM sends in a day; carriers may
    /// filter part of it.
    AboveTypicalDailyVolume {
        /// The modem.
        modem: String,
        /// SMS parts it is planned to send.
        messages: u64,
    },
}

/// One recipient's place in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedDelivery {
    /// Which group of recipients it belongs to.
    pub reach: Reach,
    /// The recipient's position among the recipients of its `reach` (0-based); with
    /// [`CampaignPlan::new`], the position in the whole list.
    pub recipient: u64,
    /// Index of the modem in the planner's modem list.
    pub modem: usize,
    /// Earliest send time, from the start of the campaign.
    pub send_after: TimeDelta,
}

/// How a campaign is spread over modems, and how long it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignPlan {
    modems: Vec<ModemRate>,
    /// Recipients by reach, as handed to the planner.
    audience: ReachCounts,
    /// Recipients the plan sends to (the others have no path).
    recipients: u64,
    parts: u64,
    shares: Vec<u64>,
}

/// The groups in planning order: the recipients with fewer choices first, so the flexible
/// ones fill in around them and every path finishes at about the same time.
const PLANNING_ORDER: [Reach; 2] = [Reach::ModemsOnly, Reach::ModemsOrEmail];

impl CampaignPlan {
    /// Plan `recipients` deliveries of a `parts_per_message`-part message over `modems`,
    /// every one of which can reach every recipient.
    pub fn new(
        recipients: u64,
        modems: &[ModemRate],
        parts_per_message: u32,
    ) -> Result<Self, PlanError> {
        let audience = ReachCounts {
            modems_only: 0,
            modems_or_email: recipients,
        };
        Self::with_reach(audience, modems, parts_per_message)
    }

    /// Plan a campaign whose recipients differ in which paths reach them: the e-mail path
    /// takes only [`Reach::ModemsOrEmail`] recipients. Recipients no listed path can reach
    /// are left out of the schedule and counted by [`CampaignPlan::unreachable`].
    pub fn with_reach(
        audience: ReachCounts,
        modems: &[ModemRate],
        parts_per_message: u32,
    ) -> Result<Self, PlanError> {
        if modems.is_empty() {
            return Err(PlanError::NoModems);
        }
        if let Some(m) = modems.iter().find(|m| m.per_minute == 0) {
            return Err(PlanError::ZeroRate {
                modem: m.modem.clone(),
            });
        }
        if parts_per_message == 0 {
            return Err(PlanError::ZeroParts);
        }
        let reachable = PLANNING_ORDER
            .iter()
            .filter(|reach| modems.iter().any(|m| reach.takes(m.path)))
            .map(|&reach| audience.of(reach))
            .fold(0u64, u64::saturating_add);
        let mut plan = Self {
            modems: modems.to_vec(),
            audience,
            recipients: reachable,
            parts: u64::from(parts_per_message),
            shares: vec![0; modems.len()],
        };
        // Shares follow the same greedy choice as the schedule, so both always agree.
        let mut schedule = plan.schedule();
        for _ in 0..reachable {
            if schedule.next().is_none() {
                break;
            }
        }
        plan.shares = schedule.assigned;
        Ok(plan)
    }

    /// Recipients the plan sends to.
    pub fn recipients(&self) -> u64 {
        self.recipients
    }

    /// Recipients no path of the plan can reach: members without a carrier (or whose
    /// carrier's gateway is gone) when the only paths are e-mail. The confirm page names
    /// them rather than letting their deliveries fail.
    pub fn unreachable(&self) -> u64 {
        self.audience.total().saturating_sub(self.recipients)
    }

    /// Each modem's share.
    pub fn shares(&self) -> Vec<ModemShare> {
        self.modems
            .iter()
            .zip(&self.shares)
            .map(|(modem, &recipients)| ModemShare {
                modem: modem.modem.clone(),
                recipients,
                messages: recipients.saturating_mul(self.parts),
                duration: ms(modem.finish_ms(recipients, self.parts)),
            })
            .collect()
    }

    /// Time from start until the last recipient's message has been sent (not delivered:
    /// delivery depends on the network).
    pub fn estimated_duration(&self) -> TimeDelta {
        ms(self
            .modems
            .iter()
            .zip(&self.shares)
            .map(|(modem, &n)| modem.finish_ms(n, self.parts))
            .max()
            .unwrap_or(0))
    }

    /// Warnings for the confirm page.
    pub fn warnings(&self) -> Vec<PlanWarning> {
        self.shares()
            .into_iter()
            .zip(&self.modems)
            .filter(|(s, m)| m.path == SendPath::Radio && s.messages > TYPICAL_DAILY_VOLUME)
            .map(|(s, _)| s)
            .map(|s| PlanWarning::AboveTypicalDailyVolume {
                modem: s.modem,
                messages: s.messages,
            })
            .collect()
    }

    /// The deliveries in send order: which modem sends to which recipient, and when.
    pub fn schedule(&self) -> Schedule<'_> {
        Schedule {
            plan: self,
            group: 0,
            next_recipient: 0,
            assigned: vec![0; self.modems.len()],
        }
    }
}

/// Iterator over a plan's deliveries ([`CampaignPlan::schedule`]).
#[derive(Debug, Clone)]
pub struct Schedule<'a> {
    plan: &'a CampaignPlan,
    /// Index into [`PLANNING_ORDER`].
    group: usize,
    /// Next recipient within the group.
    next_recipient: u64,
    assigned: Vec<u64>,
}

impl Iterator for Schedule<'_> {
    type Item = PlannedDelivery;

    fn next(&mut self) -> Option<PlannedDelivery> {
        let reach = loop {
            let reach = *PLANNING_ORDER.get(self.group)?;
            let reachable = self.plan.modems.iter().any(|m| reach.takes(m.path));
            if reachable && self.next_recipient < self.plan.audience.of(reach) {
                break reach;
            }
            self.group += 1;
            self.next_recipient = 0;
        };
        let parts = self.plan.parts;
        // The modem that would finish this recipient first; on a tie the one that can start
        // it sooner (an idle modem), then the earlier modem in the list.
        let (modem, rate) = self
            .plan
            .modems
            .iter()
            .enumerate()
            .filter(|(_, m)| reach.takes(m.path))
            .min_by_key(|(i, m)| {
                let already = self.assigned[*i];
                (
                    m.finish_ms(already + 1, parts),
                    m.slot_start_ms(already.saturating_mul(parts)),
                    *i,
                )
            })?;
        let already = self.assigned[modem];
        let delivery = PlannedDelivery {
            reach,
            recipient: self.next_recipient,
            modem,
            send_after: ms(rate.slot_start_ms(already.saturating_mul(parts))),
        };
        self.assigned[modem] += 1;
        self.next_recipient += 1;
        Some(delivery)
    }
}

fn ms(value: u64) -> TimeDelta {
    TimeDelta::milliseconds(i64::try_from(value).unwrap_or(i64::MAX / 1_000_000))
}

/// Counts inconsistent with each other (a bug or a torn read upstream).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgressError {
    /// More delivered than sent.
    #[error("progress counts are inconsistent: {delivered} delivered but only {sent} sent")]
    DeliveredAboveSent {
        /// Delivered count.
        delivered: u64,
        /// Sent count.
        sent: u64,
    },
    /// More finished than planned.
    #[error(
        "progress counts are inconsistent: {sent} sent and {failed} failed of {total} recipients"
    )]
    AboveTotal {
        /// Sent count.
        sent: u64,
        /// Failed count.
        failed: u64,
        /// Recipients.
        total: u64,
    },
}

/// The live counts of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignProgress {
    total: u64,
    sent: u64,
    delivered: u64,
    failed: u64,
}

/// Where an estimate of time left comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EstimateBasis {
    /// From the plan's rates (too little has happened yet to measure).
    Planned,
    /// From the rate observed since the start.
    Observed,
}

/// The progress page's estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eta {
    /// Recipients not yet sent to (and not failed).
    pub remaining: u64,
    /// Estimated time until the last is sent.
    pub time_left: TimeDelta,
    /// When that will be.
    pub finish_at: DateTime<Utc>,
    /// How it was estimated.
    pub basis: EstimateBasis,
}

/// Finished recipients needed before the observed rate replaces the planned one.
const MIN_OBSERVED: u64 = 20;

impl CampaignProgress {
    /// Counts of a campaign to `total` recipients: `sent` accepted by the network (of which
    /// `delivered` confirmed by a delivery report) and `failed` given up on.
    pub fn new(total: u64, sent: u64, delivered: u64, failed: u64) -> Result<Self, ProgressError> {
        if delivered > sent {
            return Err(ProgressError::DeliveredAboveSent { delivered, sent });
        }
        if sent.saturating_add(failed) > total {
            return Err(ProgressError::AboveTotal {
                sent,
                failed,
                total,
            });
        }
        Ok(Self {
            total,
            sent,
            delivered,
            failed,
        })
    }

    /// Recipients.
    pub fn total(&self) -> u64 {
        self.total
    }
    /// Sent (including delivered).
    pub fn sent(&self) -> u64 {
        self.sent
    }
    /// Delivered.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }
    /// Failed.
    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// Recipients still waiting.
    pub fn remaining(&self) -> u64 {
        self.total - self.sent - self.failed
    }

    /// Whole percent finished (sent or failed), rounded down so 100 means really done.
    pub fn percent_done(&self) -> u64 {
        if self.total == 0 {
            return 100;
        }
        (self.sent + self.failed) * 100 / self.total
    }

    /// Estimate the time left at `now` for a campaign started at `started_at`: from the
    /// observed rate once enough recipients are finished, before that from `plan`.
    pub fn eta(&self, plan: &CampaignPlan, started_at: DateTime<Utc>, now: DateTime<Utc>) -> Eta {
        let remaining = self.remaining();
        let done = self.sent + self.failed;
        let elapsed_ms = u64::try_from((now - started_at).num_milliseconds()).unwrap_or(0);
        // Integer proportions (time per recipient so far, or as planned), so the estimate
        // is exact for exact rates.
        let (per, over, basis) = if done >= MIN_OBSERVED && elapsed_ms > 0 {
            (elapsed_ms, done, EstimateBasis::Observed)
        } else {
            let planned_ms =
                u64::try_from(plan.estimated_duration().num_milliseconds()).unwrap_or(0);
            (planned_ms, plan.recipients.max(1), EstimateBasis::Planned)
        };
        let ms_left = u128::from(per) * u128::from(remaining) / u128::from(over);
        let time_left = ms(u64::try_from(ms_left).unwrap_or(u64::MAX));
        Eta {
            remaining,
            time_left,
            finish_at: now
                .checked_add_signed(time_left)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            basis,
        }
    }
}

/// Format a duration for people: `2 h 47 min`, `12 min`, `40 s`.
pub fn describe_duration(duration: TimeDelta) -> String {
    let seconds = duration.num_seconds().max(0);
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, m) => format!("{} min", m + i64::from(s >= 30)),
        (h, m) => {
            let m = m + i64::from(s >= 30);
            if m == 60 {
                format!("{} h 0 min", h + 1)
            } else {
                format!("{h} h {m} min")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_confirm_page_names_the_paths() {
        assert_eq!(describe_paths(&[]), "no path");
        assert_eq!(describe_paths(&[ModemRate::new("a", 20)]), "1 modem");
        assert_eq!(
            describe_paths(&[
                ModemRate::new("a", 20),
                ModemRate::new("b", 20),
                ModemRate::message_centre("c", 600),
                ModemRate::carrier_email("d", 60),
            ]),
            "2 modems, 1 message centre and 1 carrier e-mail path"
        );
    }

    #[test]
    fn a_message_centre_reaches_everyone_at_its_rate_without_the_sim_warning() {
        // 10,000 members, one part each, a 50/s account beside one modem at 20 a minute.
        let paths = [
            ModemRate::new("modem", 20),
            ModemRate::message_centre("smsc", 50 * 60),
        ];
        let audience = ReachCounts {
            modems_only: 10_000,
            modems_or_email: 0,
        };
        let plan = CampaignPlan::with_reach(audience, &paths, 1).expect("plans");
        assert_eq!(plan.unreachable(), 0);
        let shares = plan.shares();
        assert!(shares[1].recipients > 9_900, "{shares:?}");
        // 10,000 at 3,000 + 20 a minute: a little under 3 min 20 s.
        let secs = plan.estimated_duration().num_seconds();
        assert!((195..=200).contains(&secs), "{secs} s");
        assert!(plan.warnings().is_empty(), "{:?}", plan.warnings());
    }

    use super::*;
    use expect_test::{expect, Expect};
    use proptest::prelude::*;

    fn check(recipients: u64, modems: &[ModemRate], parts: u32, expect: Expect) {
        let shown = match CampaignPlan::new(recipients, modems, parts) {
            Ok(plan) => {
                let shares: Vec<String> = plan
                    .shares()
                    .iter()
                    .map(|s| {
                        format!(
                            "{}={} ({})",
                            s.modem,
                            s.recipients,
                            describe_duration(s.duration)
                        )
                    })
                    .collect();
                format!(
                    "{} | {} | warnings: {}",
                    describe_duration(plan.estimated_duration()),
                    shares.join(", "),
                    plan.warnings().len()
                )
            }
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn ten_thousand_at_sixty_a_minute_on_one_sim_is_about_2_8_hours() {
        let plan = CampaignPlan::new(10_000, &[ModemRate::new("sim1", 60)], 1).unwrap();
        let hours = plan.estimated_duration().num_seconds() as f64 / 3600.0;
        assert!((hours - 2.78).abs() < 0.01, "{hours} h");
        assert_eq!(plan.estimated_duration(), TimeDelta::seconds(10_000));
    }

    #[test]
    fn plan_table() {
        let one = [ModemRate::new("a", DEFAULT_PER_MINUTE)];
        let mixed = [
            ModemRate::new("a", 60),
            ModemRate::new("b", 20),
            ModemRate::new("c", 20),
        ];
        check(0, &one, 1, expect!["0 s | a=0 (0 s) | warnings: 0"]);
        check(1, &one, 1, expect!["3 s | a=1 (3 s) | warnings: 0"]);
        check(
            500,
            &one,
            1,
            expect!["25 min | a=500 (25 min) | warnings: 0"],
        );
        check(
            500,
            &one,
            3,
            expect!["1 h 15 min | a=500 (1 h 15 min) | warnings: 1"],
        );
        check(10_000, &mixed, 1, expect!["1 h 40 min | a=6000 (1 h 40 min), b=2000 (1 h 40 min), c=2000 (1 h 40 min) | warnings: 3"]);
        check(
            3_000,
            &[
                ModemRate::new("a", 60),
                ModemRate::new("b", 60),
                ModemRate::new("c", 60),
            ],
            1,
            expect!["17 min | a=1000 (17 min), b=1000 (17 min), c=1000 (17 min) | warnings: 0"],
        );
        check(
            1,
            &mixed,
            1,
            expect!["1 s | a=1 (1 s), b=0 (0 s), c=0 (0 s) | warnings: 0"],
        );
        check(
            2_500,
            &[ModemRate {
                per_day: Some(1_000),
                ..ModemRate::new("capped", 60)
            }],
            1,
            expect!["48 h 8 min | capped=2500 (48 h 8 min) | warnings: 1"],
        );
        check(
            10,
            &[],
            1,
            expect!["error: no modem is available to send the campaign"],
        );
        check(
            10,
            &[ModemRate::new("dead", 0)],
            1,
            expect![[r#"error: modem "dead" has a sending rate of 0 messages a minute"#]],
        );
        check(
            10,
            &one,
            0,
            expect!["error: a campaign message has at least one SMS part"],
        );
    }

    #[test]
    fn schedule_spreads_by_rate_and_spaces_sends() {
        let modems = [ModemRate::new("fast", 60), ModemRate::new("slow", 30)];
        let plan = CampaignPlan::new(6, &modems, 1).unwrap();
        let shown: Vec<String> = plan
            .schedule()
            .map(|d| {
                format!(
                    "#{} -> {} at {}s",
                    d.recipient,
                    modems[d.modem].modem,
                    d.send_after.num_seconds()
                )
            })
            .collect();
        expect![[r#"
            #0 -> fast at 0s
            #1 -> slow at 0s
            #2 -> fast at 1s
            #3 -> fast at 2s
            #4 -> slow at 2s
            #5 -> fast at 3s"#]]
        .assert_eq(&shown.join("\n"));
    }

    fn show_reach_plan(audience: ReachCounts, modems: &[ModemRate]) -> String {
        let plan = match CampaignPlan::with_reach(audience, modems, 1) {
            Ok(plan) => plan,
            Err(e) => return format!("error: {e}"),
        };
        let deliveries: Vec<String> = plan
            .schedule()
            .map(|d| {
                format!(
                    "{:?}#{} -> {} at {}s",
                    d.reach,
                    d.recipient,
                    modems[d.modem].modem,
                    d.send_after.num_seconds()
                )
            })
            .collect();
        format!(
            "planned {}, unreachable {}, {} | warnings {}\n{}",
            plan.recipients(),
            plan.unreachable(),
            describe_duration(plan.estimated_duration()),
            plan.warnings().len(),
            deliveries.join("\n")
        )
    }

    #[test]
    fn the_email_path_takes_only_members_with_a_carrier() {
        let audience = ReachCounts {
            modems_only: 3,
            modems_or_email: 2,
        };
        // A modem and the e-mail path: the carrier members may go either way, the others
        // only to the modem, which takes them first.
        expect![[r#"
            planned 5, unreachable 0, 3 s | warnings 0
            ModemsOnly#0 -> sim at 0s
            ModemsOnly#1 -> sim at 1s
            ModemsOnly#2 -> sim at 2s
            ModemsOrEmail#0 -> mail at 0s
            ModemsOrEmail#1 -> mail at 1s"#]]
        .assert_eq(&show_reach_plan(
            audience,
            &[
                ModemRate::new("sim", 60),
                ModemRate::carrier_email("mail", 60),
            ],
        ));
        // Only the e-mail path: members without a carrier cannot be reached, and say so.
        expect![[r#"
            planned 2, unreachable 3, 2 s | warnings 0
            ModemsOrEmail#0 -> mail at 0s
            ModemsOrEmail#1 -> mail at 1s"#]]
        .assert_eq(&show_reach_plan(
            audience,
            &[ModemRate::carrier_email("mail", 60)],
        ));
        // The e-mail path is no SIM: no daily-volume warning for it.
        let big = ReachCounts {
            modems_only: 0,
            modems_or_email: 5_000,
        };
        let plan =
            CampaignPlan::with_reach(big, &[ModemRate::carrier_email("mail", 600)], 1).unwrap();
        assert_eq!(plan.warnings(), Vec::new());
        let plan = CampaignPlan::with_reach(big, &[ModemRate::new("sim", 600)], 1).unwrap();
        assert_eq!(plan.warnings().len(), 1);
    }

    #[test]
    fn progress_and_eta() {
        let plan = CampaignPlan::new(1_000, &[ModemRate::new("a", 60)], 1).unwrap();
        let start: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();

        let fresh = CampaignProgress::new(1_000, 0, 0, 0).unwrap();
        let eta = fresh.eta(&plan, start, start);
        assert_eq!(
            (eta.basis, eta.remaining, eta.time_left),
            (EstimateBasis::Planned, 1_000, TimeDelta::seconds(1_000))
        );

        // Half done in 10 minutes (slower than planned): the observed rate wins.
        let half = CampaignProgress::new(1_000, 480, 450, 20).unwrap();
        let eta = half.eta(&plan, start, start + TimeDelta::minutes(10));
        assert_eq!(eta.basis, EstimateBasis::Observed);
        assert_eq!(eta.remaining, 500);
        assert_eq!(eta.time_left, TimeDelta::minutes(10));
        assert_eq!(eta.finish_at, start + TimeDelta::minutes(20));
        assert_eq!(half.percent_done(), 50);

        let done = CampaignProgress::new(1_000, 990, 980, 10).unwrap();
        assert_eq!(
            done.eta(&plan, start, start + TimeDelta::minutes(17))
                .time_left,
            TimeDelta::zero()
        );
        assert_eq!(done.percent_done(), 100);

        assert_eq!(
            CampaignProgress::new(10, 5, 6, 0).unwrap_err().to_string(),
            "progress counts are inconsistent: 6 delivered but only 5 sent"
        );
        assert_eq!(
            CampaignProgress::new(10, 8, 0, 3).unwrap_err().to_string(),
            "progress counts are inconsistent: 8 sent and 3 failed of 10 recipients"
        );
    }

    #[test]
    fn durations_for_people() {
        let shown: Vec<String> = [0, 40, 90, 719, 3600, 10_000, 7_199]
            .map(|s| describe_duration(TimeDelta::seconds(s)))
            .to_vec();
        expect!["0 s | 40 s | 2 min | 12 min | 1 h 0 min | 2 h 47 min | 2 h 0 min"]
            .assert_eq(&shown.join(" | "));
    }

    proptest! {
        #[test]
        fn schedule_matches_shares_and_never_exceeds_a_modem_rate(
            recipients in 0u64..400,
            rates in prop::collection::vec(1u32..90, 1..5),
            parts in 1u32..4,
        ) {
            let modems: Vec<ModemRate> = rates.iter().enumerate().map(|(i, &r)| ModemRate::new(format!("m{i}"), r)).collect();
            let plan = CampaignPlan::new(recipients, &modems, parts).unwrap();
            prop_assert_eq!(plan.unreachable(), 0);
            let deliveries: Vec<PlannedDelivery> = plan.schedule().collect();
            prop_assert_eq!(deliveries.len() as u64, recipients);
            let shares = plan.shares();
            prop_assert_eq!(shares.iter().map(|s| s.recipients).sum::<u64>(), recipients);
            for (i, modem) in modems.iter().enumerate() {
                let times: Vec<i64> = deliveries.iter().filter(|d| d.modem == i).map(|d| d.send_after.num_milliseconds()).collect();
                prop_assert_eq!(times.len() as u64, shares[i].recipients);
                // Consecutive sends on one modem are at least a recipient's slots apart
                // (within a millisecond of rounding).
                let gap = i64::from(parts) * 60_000 / i64::from(modem.per_minute);
                for pair in times.windows(2) {
                    prop_assert!(pair[1] - pair[0] >= gap - 1, "{:?}", pair);
                }
            }
            // Least-loaded: no modem could take one more and finish earlier than the plan.
            let total = plan.estimated_duration();
            prop_assert!(shares.iter().all(|s| s.duration <= total));
        }

        #[test]
        fn mixed_reach_plans_every_reachable_recipient_once_on_a_path_that_reaches_them(
            modems_only in 0u64..200,
            modems_or_email in 0u64..200,
            paths in prop::collection::vec((1u32..90, any::<bool>()), 1..5),
        ) {
            let modems: Vec<ModemRate> = paths.iter().enumerate().map(|(i, &(r, email))| {
                if email { ModemRate::carrier_email(format!("m{i}"), r) } else { ModemRate::new(format!("m{i}"), r) }
            }).collect();
            let audience = ReachCounts { modems_only, modems_or_email };
            let plan = CampaignPlan::with_reach(audience, &modems, 1).unwrap();
            let deliveries: Vec<PlannedDelivery> = plan.schedule().collect();
            let any_radio = modems.iter().any(|m| m.path.reaches_any_number());
            let expected_only = if any_radio { modems_only } else { 0 };
            prop_assert_eq!(plan.unreachable(), modems_only - expected_only);
            prop_assert_eq!(deliveries.len() as u64, expected_only + modems_or_email);
            for reach in [Reach::ModemsOnly, Reach::ModemsOrEmail] {
                let mut seen: Vec<u64> = deliveries.iter().filter(|d| d.reach == reach).map(|d| d.recipient).collect();
                seen.sort_unstable();
                let want: Vec<u64> = (0..if reach == Reach::ModemsOnly { expected_only } else { modems_or_email }).collect();
                prop_assert_eq!(seen, want);
            }
            for d in &deliveries {
                prop_assert!(d.reach.takes(modems[d.modem].path));
            }
        }
    }
}
