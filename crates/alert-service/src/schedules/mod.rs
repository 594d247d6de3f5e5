//! Scheduled tests: a test message to the testers at a set time, once or again every N
//! days (each month, each semester). A schedule is a row, so it survives restarts; the
//! service's minute job ([`Schedules::run_due`]) starts each due one as a test campaign in
//! the name of the administrator who scheduled it, after claiming it with one conditional
//! update that also moves it on, so two daemons on one database, or a restart in the
//! middle, never start it twice. A daemon that was down through several occurrences sends
//! one late test, not a burst. Only tests: a real alert is never sent by a clock.

mod data;

use chrono::{DateTime, TimeDelta, Utc};
use textgate_alerts::{authorize, Action};

use crate::audit::AuditAction;
use crate::campaigns::Audience;
use crate::{format_time, AccountId, Actor, AlertError, AlertService, Credential};

/// One scheduled test as the desk shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Schedule {
    pub id: i64,
    pub account_id: AccountId,
    pub account_email: String,
    pub body: String,
    pub next_at: DateTime<Utc>,
    /// `None`: once.
    pub repeat_days: Option<i64>,
    /// `scheduled`, `done` or `cancelled`.
    pub state: String,
    pub last_campaign_id: Option<i64>,
}

/// The longest repeat accepted: a year.
const MAX_REPEAT_DAYS: i64 = 366;

/// The scheduled tests of one service; see [`AlertService::schedules`].
#[derive(Debug, Clone, Copy)]
pub struct Schedules<'a> {
    service: &'a AlertService,
}

impl AlertService {
    pub fn schedules(&self) -> Schedules<'_> {
        Schedules { service: self }
    }
}

impl Schedules<'_> {
    /// Schedules `text` to the testers at `at`, again every `repeat_days` days if given.
    pub async fn create(
        &self,
        actor: &Actor<'_>,
        text: &str,
        at: DateTime<Utc>,
        repeat_days: Option<i64>,
    ) -> Result<i64, AlertError> {
        authorize(&actor.account.roles, Action::SendTestToTesters)?;
        let service = self.service;
        let now = service.now();
        if at <= now {
            return Err(AlertError::refused(format!(
                "Choose a time after now ({}).",
                format_time(now)
            )));
        }
        if let Some(days) = repeat_days {
            if !(1..=MAX_REPEAT_DAYS).contains(&days) {
                return Err(AlertError::refused(format!(
                    "Repeat every 1 to {MAX_REPEAT_DAYS} days."
                )));
            }
        }
        if let Some(gap) = textgate_alerts::template::unfilled(text) {
            return Err(AlertError::refused(format!(
                "Fill in {{{gap}}} before scheduling."
            )));
        }
        let validated = service
            .campaigns()
            .composer()
            .validate(text)
            .map_err(|e| AlertError::refused(format!("{e}.")))?;
        let id = data::insert(
            service.database(),
            actor.account,
            &validated.text,
            at,
            repeat_days,
            now,
        )
        .await?;
        let repeat = repeat_days.map_or(String::new(), |d| format!(", every {d} days"));
        service
            .audit(
                actor,
                AuditAction::ScheduleTest,
                &format!(
                    "schedule {id} at {}{repeat}: {}",
                    format_time(at),
                    validated.text
                ),
            )
            .await?;
        Ok(id)
    }

    /// Schedules still to run, soonest first.
    pub async fn upcoming(&self) -> Result<Vec<Schedule>, AlertError> {
        data::in_state(self.service.database(), "scheduled").await
    }

    /// Cancels schedule `id`; returns the message for the page.
    pub async fn cancel(&self, actor: &Actor<'_>, id: i64) -> Result<String, AlertError> {
        authorize(&actor.account.roles, Action::SendTestToTesters)?;
        let service = self.service;
        if !data::cancel(service.database(), id).await? {
            return Err(AlertError::refused(format!(
                "Schedule {id} is not waiting to run (it ran for the last time, or was cancelled)."
            )));
        }
        service
            .audit(
                actor,
                AuditAction::CancelScheduledTest,
                &format!("schedule {id}"),
            )
            .await?;
        Ok(format!(
            "Schedule {id} is cancelled; nothing more will be sent by it."
        ))
    }

    /// Starts every due schedule's test; how many started. Run every minute by the jobs.
    pub async fn run_due(&self) -> Result<u64, AlertError> {
        let service = self.service;
        let now = service.now();
        let mut started = 0;
        for schedule in data::due(service.database(), now).await? {
            let next = next_after(&schedule, now);
            if !data::claim(service.database(), &schedule, next).await? {
                continue; // another daemon took it
            }
            match self.start(&schedule).await {
                Ok(campaign) => {
                    data::set_last_campaign(service.database(), schedule.id, campaign).await?;
                    tracing::info!(schedule = schedule.id, campaign, "scheduled test started");
                    started += 1;
                }
                Err(e) => {
                    // Claimed but not started: said loudly; the next occurrence still comes.
                    tracing::error!(schedule = schedule.id, error = %e, "a scheduled test could not start");
                    service
                        .audit_daemon(
                            AuditAction::ScheduledTestFailed,
                            &format!("schedule {}: {e}", schedule.id),
                        )
                        .await?;
                }
            }
        }
        Ok(started)
    }

    /// The test campaign of `schedule`, in the name of whoever scheduled it, if they still
    /// may send tests.
    async fn start(&self, schedule: &Schedule) -> Result<i64, AlertError> {
        let service = self.service;
        let account = service
            .accounts()
            .get(schedule.account_id)
            .await?
            .ok_or_else(|| {
                AlertError::refused(format!(
                    "{} no longer has an account",
                    schedule.account_email
                ))
            })?;
        let actor = Actor {
            account: &account,
            ip: "scheduled",
            credential: Credential::Session,
        };
        service
            .campaigns()
            .start(&actor, Audience::Testers, &schedule.body, None, None)
            .await
    }
}

/// When `schedule` runs next after an occurrence due at or before `now`: the first of its
/// repeats after now (so a long outage sends one late test, not a burst), or never.
fn next_after(schedule: &Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let every = TimeDelta::days(schedule.repeat_days?);
    let mut next = schedule.next_at + every;
    while next <= now {
        next += every;
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_after_an_outage_is_the_next_one_in_the_future() {
        let at = DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z")
            .expect("a time")
            .to_utc();
        let schedule = Schedule {
            id: 1,
            account_id: 1,
            account_email: "a@example.org".into(),
            body: "test".into(),
            next_at: at,
            repeat_days: Some(7),
            state: "scheduled".into(),
            last_campaign_id: None,
        };
        assert_eq!(next_after(&schedule, at), Some(at + TimeDelta::days(7)));
        let late = at + TimeDelta::days(20);
        assert_eq!(next_after(&schedule, late), Some(at + TimeDelta::days(21)));
        let once = Schedule {
            repeat_days: None,
            ..schedule
        };
        assert_eq!(next_after(&once, late), None);
    }
}
