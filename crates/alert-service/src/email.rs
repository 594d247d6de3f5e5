//! E-mail copies of alerts (`[alerts.email]`): a member who asks for it on their page gets
//! every campaign they are sent also at their account's e-mail address, over the
//! institution's SMTP relay. A second channel for the minutes when the phone network is
//! jammed, and for members who are at a desk.
//!
//! Nothing is lost: the copies are rows of `alert_email_deliveries`, queued by the
//! campaign's enqueuer beside its texts (one per campaign and member, so a resumed enqueue
//! never doubles one), and the mail job ([`Emails::send_due`], every few seconds) pushes a
//! row's next attempt forward before it sends (two daemons never send one at once),
//! retries what the relay refused for now with backoff, and gives up on what it refused
//! for good, keeping the reason. The progress page counts them as their own channel.

use chrono::{DateTime, TimeDelta, Utc};
use textgate_modem::ErrorClass;
/// The relay's settings, as `[alerts.email]` gives them.
pub use textgate_modem::SmtpConfig;
use textgate_store::with_database;

use crate::channels::CopyTable;
use crate::{Account, AccountId, AlertError, AlertService};

/// How long a send may hold a copy before another daemon may try it.
const LEASE: TimeDelta = TimeDelta::seconds(120);
/// The first wait after a temporary refusal; it doubles each time.
const FIRST_BACKOFF: TimeDelta = TimeDelta::seconds(60);
/// Attempts before a copy is given up.
const ATTEMPTS: i64 = 6;
/// Copies sent in one pass.
const BATCH: i64 = 50;

pub use crate::channels::ChannelCounts;

/// The e-mail copies of one service; see [`AlertService::emails`].
#[derive(Debug, Clone, Copy)]
pub struct Emails<'a> {
    service: &'a AlertService,
}

impl AlertService {
    pub fn emails(&self) -> Emails<'_> {
        Emails { service: self }
    }
}

#[derive(sqlx::FromRow)]
struct DueCopy {
    id: i64,
    campaign_id: i64,
    address: String,
    attempts: i64,
    next_attempt_at: DateTime<Utc>,
}

impl Emails<'_> {
    /// Whether `[alerts.email]` is configured.
    pub fn configured(&self) -> bool {
        self.service.mailer.is_some()
    }

    /// Whether `account` asked for e-mail copies.
    pub async fn wanted_by(&self, account: &Account) -> Result<bool, AlertError> {
        let n: i64 = with_database!(self.service.database(), pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM alert_email_copies WHERE account_id = $1")
                .bind(account.id)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }

    /// Turns `account`'s e-mail copies on or off; the message for the page.
    pub async fn choose(&self, account: &Account, on: bool) -> Result<String, AlertError> {
        if !self.configured() {
            return Err(AlertError::refused("Alerts are not sent by e-mail here."));
        }
        let now = self.service.now();
        with_database!(self.service.database(), pool => {
            if on {
                sqlx::query(
                    "INSERT INTO alert_email_copies (account_id, since) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                )
                .bind(account.id)
                .bind(now)
                .execute(pool)
                .await?;
            } else {
                sqlx::query("DELETE FROM alert_email_copies WHERE account_id = $1")
                    .bind(account.id)
                    .execute(pool)
                    .await?;
            }
        });
        Ok(if on {
            format!("Saved: alerts also come by e-mail to {}.", account.email)
        } else {
            "Saved: alerts come by text only.".to_owned()
        })
    }

    /// Queues campaign `id`'s copies for its recipients who asked for them; how many are
    /// queued now. Safe to run again (a resumed enqueue).
    pub(crate) async fn queue_copies(
        &self,
        id: i64,
        recipients: &[AccountId],
    ) -> Result<u64, AlertError> {
        if !self.configured() || recipients.is_empty() {
            return Ok(0);
        }
        let database = self.service.database();
        let now = self.service.now();
        let mut queued = 0;
        for account in recipients {
            let inserted = with_database!(database, pool => {
                sqlx::query(
                    "INSERT INTO alert_email_deliveries
                         (campaign_id, account_id, address, state, next_attempt_at)
                     SELECT $1, a.id, a.email, 'pending', $3
                     FROM alert_email_copies c JOIN web_accounts a ON a.id = c.account_id
                     WHERE c.account_id = $2
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(*account)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
            });
            queued += inserted;
        }
        if queued > 0 {
            self.service.mail_wake.notify_one();
        }
        Ok(queued)
    }

    /// Sends every copy that is due (in batches until none is); how many were tried.
    pub async fn send_due(&self) -> Result<usize, AlertError> {
        let Some(mailer) = self.service.mailer.clone() else {
            return Ok(0);
        };
        let database = self.service.database();
        let mut tried = 0;
        loop {
            let now = self.service.now();
            let due: Vec<DueCopy> = with_database!(database, pool => {
                sqlx::query_as(
                    "SELECT id, campaign_id, address, attempts, next_attempt_at
                     FROM alert_email_deliveries
                     WHERE state = 'pending' AND next_attempt_at <= $1
                     ORDER BY next_attempt_at, id LIMIT $2",
                )
                .bind(now)
                .bind(BATCH)
                .fetch_all(pool)
                .await?
            });
            if due.is_empty() {
                return Ok(tried);
            }
            for copy in due {
                if !CopyTable::Email
                    .lease(database, copy.id, copy.next_attempt_at, now + LEASE)
                    .await?
                {
                    continue;
                }
                tried += 1;
                self.send_one(&mailer, &copy, now).await?;
            }
        }
    }

    async fn send_one(
        &self,
        mailer: &textgate_modem::SmtpDriver,
        copy: &DueCopy,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        let database = self.service.database();
        let send = self.service.campaigns().send(copy.campaign_id).await?;
        let Some(send) = send else {
            return Ok(());
        };
        let subject = subject(&send);
        let body = format!(
            "{}\n\n-- \nA copy of the text sent to your phone. You asked for alerts by e-mail \
             on your alert page, where you can also turn this off.\n",
            send.body
        );
        let result = mailer
            .send_mail(copy.address.clone(), &subject, &body)
            .await;
        let attempts = copy.attempts + 1;
        match result {
            Ok(_) => {
                with_database!(database, pool => {
                    sqlx::query(
                        "UPDATE alert_email_deliveries
                         SET state = 'sent', attempts = $2, sent_at = $3, last_error = NULL
                         WHERE id = $1",
                    )
                    .bind(copy.id)
                    .bind(attempts)
                    .bind(now)
                    .execute(pool)
                    .await?;
                });
            }
            Err(e) => {
                let give_up = e.class() == ErrorClass::Final || attempts >= ATTEMPTS;
                let backoff =
                    FIRST_BACKOFF * 2_i32.pow(u32::try_from(attempts - 1).unwrap_or(0).min(6));
                tracing::warn!(copy = copy.id, error = %e, give_up, "an alert's e-mail copy was not sent");
                with_database!(database, pool => {
                    sqlx::query(
                        "UPDATE alert_email_deliveries
                         SET state = $2, attempts = $3, last_error = $4, next_attempt_at = $5
                         WHERE id = $1",
                    )
                    .bind(copy.id)
                    .bind(if give_up { "failed" } else { "pending" })
                    .bind(attempts)
                    .bind(e.to_string())
                    .bind(now + backoff)
                    .execute(pool)
                    .await?;
                });
            }
        }
        Ok(())
    }

    /// Campaign `id`'s copies by state; `None` when it has none.
    pub async fn counts(&self, id: i64) -> Result<Option<ChannelCounts>, AlertError> {
        CopyTable::Email.counts(self.service.database(), id).await
    }
}

/// "Emergency alert: Gas leak in Hall B …", "Test: …", "Update: …", "All clear: …".
fn subject(send: &crate::sends::Send) -> String {
    let what = send.label();
    let first = send.body.lines().next().unwrap_or_default().trim();
    let headline: String = first.chars().take(70).collect();
    let cut = if first.chars().count() > 70 {
        "…"
    } else {
        ""
    };
    format!("{what}: {headline}{cut}")
}
