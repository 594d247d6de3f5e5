//! The scheduled review reminder: a text to every confirmed member whose details are more
//! than six months old (`ReviewPolicy::reminder_due`: once when review becomes due, then at
//! most every 30 days until they save). The service's jobs run it hourly
//! ([`crate::jobs`]).

use super::{data, open_number, Members};
use crate::accounts;
use crate::sends::SendKind;
use crate::AlertError;

impl Members<'_> {
    /// Enqueues the reminders that are due; how many.
    pub async fn send_review_reminders(&self) -> Result<u64, AlertError> {
        let service = self.service;
        let database = service.database();
        let settings = service.settings();
        let now = service.now();
        // Six calendar months are never shorter than 181 days; the exact rule is applied below.
        let candidates =
            data::stale_registrations(database, now - chrono::TimeDelta::days(181)).await?;
        let mut sent = 0;
        for candidate in candidates {
            if !settings
                .review
                .reminder_due(candidate.last_updated, candidate.last_reminded, now)
            {
                continue;
            }
            let number = match open_number(settings, candidate.account_id, &candidate.number_enc) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(account = candidate.account_id, error = %e, "a member's number does not open; no reminder");
                    continue;
                }
            };
            let Some(account) = accounts::account_row(database, candidate.account_id).await? else {
                continue;
            };
            service
                .send_single(
                    SendKind::ReviewReminder,
                    Some(&account),
                    &number,
                    &settings.review_reminder,
                )
                .await?;
            data::set_last_reminded(database, candidate.account_id, now).await?;
            sent += 1;
        }
        Ok(sent)
    }
}
