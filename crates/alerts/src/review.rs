//! The "please review your details" rule: a member's alert details more than six months
//! old get a banner on their page and, once, a reminder message.
//!
//! Months are calendar months (chrono's month arithmetic, which clamps to the end of a
//! shorter month: details saved on 31 August are due for review after 28 or 29 February).

use chrono::{DateTime, Months, TimeDelta, Utc};

/// When review is due and how often to remind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewPolicy {
    /// Age after which the details should be reviewed.
    pub after_months: u32,
    /// Minimum time between two reminder messages to the same member.
    pub remind_every: TimeDelta,
}

impl Default for ReviewPolicy {
    /// Six months, as in the original design; a reminder at most every 30 days.
    fn default() -> Self {
        Self {
            after_months: 6,
            remind_every: TimeDelta::days(30),
        }
    }
}

/// Whether a member's details need a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStatus {
    /// Recent enough; review becomes due after `due_after`.
    Current {
        /// The moment after which the banner shows.
        due_after: DateTime<Utc>,
    },
    /// Older than the policy allows: show the banner.
    Due {
        /// The moment the details became due.
        since: DateTime<Utc>,
    },
}

impl ReviewPolicy {
    /// The moment after which details saved at `last_updated` are due for review.
    pub fn due_after(&self, last_updated: DateTime<Utc>) -> DateTime<Utc> {
        // Only overflows near the end of chrono's range, long after anyone cares.
        last_updated
            .checked_add_months(Months::new(self.after_months))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Whether details saved at `last_updated` need a review at `now` ("more than six
    /// months old", so exactly six months is still current).
    pub fn status(&self, last_updated: DateTime<Utc>, now: DateTime<Utc>) -> ReviewStatus {
        let due_after = self.due_after(last_updated);
        if now > due_after {
            ReviewStatus::Due { since: due_after }
        } else {
            ReviewStatus::Current { due_after }
        }
    }

    /// Whether the scheduled job should send a reminder now: review is due, and no
    /// reminder went out since the details became due, or the last one is older than
    /// `remind_every`. Saving the details resets `last_updated` and so stops reminders.
    pub fn reminder_due(
        &self,
        last_updated: DateTime<Utc>,
        last_reminded: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> bool {
        let ReviewStatus::Due { since } = self.status(last_updated, now) else {
            return false;
        };
        match last_reminded {
            None => true,
            Some(reminded) if reminded <= since => true,
            Some(reminded) => now - reminded >= self.remind_every,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use proptest::prelude::*;

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn status_table() {
        let policy = ReviewPolicy::default();
        let cases = [
            ("2026-01-15T10:00:00Z", "2026-07-15T10:00:00Z"),
            ("2026-01-15T10:00:00Z", "2026-07-15T10:00:01Z"),
            ("2026-01-15T10:00:00Z", "2026-03-01T00:00:00Z"),
            ("2025-08-31T12:00:00Z", "2026-02-28T12:00:00Z"),
            ("2025-08-31T12:00:00Z", "2026-02-28T12:00:01Z"),
            ("2023-08-31T12:00:00Z", "2024-02-29T12:00:01Z"),
            ("2026-05-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ];
        let shown: String = cases
            .iter()
            .map(|(updated, now)| {
                let status = match policy.status(t(updated), t(now)) {
                    ReviewStatus::Current { due_after } => {
                        format!("current, due after {due_after}")
                    }
                    ReviewStatus::Due { since } => format!("DUE since {since}"),
                };
                format!("updated {updated}, now {now}: {status}\n")
            })
            .collect();
        expect![[r#"
            updated 2026-01-15T10:00:00Z, now 2026-07-15T10:00:00Z: current, due after 2026-07-15 10:00:00 UTC
            updated 2026-01-15T10:00:00Z, now 2026-07-15T10:00:01Z: DUE since 2026-07-15 10:00:00 UTC
            updated 2026-01-15T10:00:00Z, now 2026-03-01T00:00:00Z: current, due after 2026-07-15 10:00:00 UTC
            updated 2025-08-31T12:00:00Z, now 2026-02-28T12:00:00Z: current, due after 2026-02-28 12:00:00 UTC
            updated 2025-08-31T12:00:00Z, now 2026-02-28T12:00:01Z: DUE since 2026-02-28 12:00:00 UTC
            updated 2023-08-31T12:00:00Z, now 2024-02-29T12:00:01Z: DUE since 2024-02-29 12:00:00 UTC
            updated 2026-05-01T00:00:00Z, now 2026-01-01T00:00:00Z: current, due after 2026-11-01 00:00:00 UTC
        "#]].assert_eq(&shown);
    }

    #[test]
    fn reminders_once_then_every_thirty_days_until_saved() {
        let policy = ReviewPolicy::default();
        let updated = t("2026-01-01T00:00:00Z");
        assert!(!policy.reminder_due(updated, None, t("2026-06-30T00:00:00Z")));
        assert!(policy.reminder_due(updated, None, t("2026-07-02T00:00:00Z")));
        // A reminder sent before the details became due (for an earlier cycle) does not count.
        assert!(policy.reminder_due(
            updated,
            Some(t("2026-01-01T00:00:00Z")),
            t("2026-07-02T00:00:00Z")
        ));
        let reminded = Some(t("2026-07-02T00:00:00Z"));
        assert!(!policy.reminder_due(updated, reminded, t("2026-07-31T23:59:59Z")));
        assert!(policy.reminder_due(updated, reminded, t("2026-08-01T00:00:00Z")));
        // Saving resets the clock.
        assert!(!policy.reminder_due(
            t("2026-07-10T00:00:00Z"),
            reminded,
            t("2026-08-01T00:00:00Z")
        ));
    }

    proptest! {
        /// Due exactly when more than six calendar months have passed, and once due, due
        /// for every later moment until the details are saved again.
        #[test]
        fn due_is_monotonic_and_agrees_with_calendar_months(
            updated in 0i64..2_000_000_000,
            elapsed in 0i64..100_000_000,
            later in 0i64..100_000_000,
        ) {
            let policy = ReviewPolicy::default();
            let updated = DateTime::from_timestamp(updated, 0).unwrap();
            let now = updated + TimeDelta::seconds(elapsed);
            let due = matches!(policy.status(updated, now), ReviewStatus::Due { .. });
            let six_months_on = updated.checked_add_months(Months::new(6)).unwrap();
            prop_assert_eq!(due, now > six_months_on);
            if due {
                let much_later = now + TimeDelta::seconds(later);
                let still_due = matches!(policy.status(updated, much_later), ReviewStatus::Due { .. });
                prop_assert!(still_due);
            }
        }
    }
}
