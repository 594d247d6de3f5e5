//! Alerts over XMPP (`[alerts.xmpp]`): the same campaign, as a chat message to every
//! recipient who registered a JID on their page, to the staff JIDs the configuration names,
//! and into a staff room (XEP-0045). It is sent by the alerts' own component
//! ([`textgate_xmpp::announcer`]), not by a gateway's: alerts are not a desk's conversation,
//! and a reply to them is answered with "nobody reads this".
//!
//! Nothing is lost, as with the e-mail copies ([`crate::email`]): each message is a row of
//! `alert_xmpp_deliveries`, queued by the campaign's enqueuer beside its texts (one per
//! campaign and address, so a resumed enqueue never doubles one). The XMPP job
//! ([`XmppCopies::send_due`]) pushes a row's next attempt forward before it sends (two
//! daemons never send one at once), waits while the server or the room is out of reach, and
//! gives up after about an hour and a quarter, when an alert is no longer news. A message
//! the server bounces is marked failed with the server's reason. The progress page counts
//! them as their own channel.
//!
//! Staff get every campaign except a poll's reminders (they saw the poll); members get what
//! their texts say, since the same recipient list is used.

use chrono::{DateTime, TimeDelta, Utc};
use textgate_core::BareJid;
use textgate_store::with_database;
use textgate_xmpp::announcer::{Announcement, AnnouncerConfig, AnnouncerHandle, Recipient};
use textgate_xmpp::SendError;

use crate::channels::{ChannelCounts, CopyTable};
use crate::{Account, AccountId, AlertError, AlertService};

/// How long a send may hold a message before another daemon may try it.
const LEASE: TimeDelta = TimeDelta::seconds(60);
/// The first wait after the server or the room was out of reach; it doubles up to
/// [`LONGEST_WAIT`].
const FIRST_BACKOFF: TimeDelta = TimeDelta::seconds(10);
const LONGEST_WAIT: TimeDelta = TimeDelta::seconds(300);
/// Attempts before a message is given up: about 75 minutes of waiting.
const ATTEMPTS: i64 = 20;
/// Messages sent in one pass.
const BATCH: i64 = 100;
/// The stanza id of a delivery starts with this, so a bounce finds its row.
const ID_PREFIX: &str = "alert-xmpp-";

/// `[alerts.xmpp]`: the component, and who besides members hears of every campaign.
#[derive(Clone)]
pub struct XmppChannel {
    pub announcer: AnnouncerConfig,
    /// Staff JIDs that get every campaign.
    pub staff: Vec<BareJid>,
}

impl std::fmt::Debug for XmppChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the component's secret.
        f.debug_struct("XmppChannel")
            .field("domain", &self.announcer.domain)
            .field("server", &self.announcer.server)
            .field("room", &self.announcer.room)
            .field("staff", &self.staff)
            .finish_non_exhaustive()
    }
}

/// The XMPP messages of one service; see [`AlertService::xmpp`].
#[derive(Debug, Clone, Copy)]
pub struct XmppCopies<'a> {
    service: &'a AlertService,
}

impl AlertService {
    pub fn xmpp(&self) -> XmppCopies<'_> {
        XmppCopies { service: self }
    }
}

#[derive(sqlx::FromRow)]
struct DueMessage {
    id: i64,
    campaign_id: i64,
    recipient: String,
    address: String,
    attempts: i64,
    next_attempt_at: DateTime<Utc>,
}

impl XmppCopies<'_> {
    fn channel(&self) -> Option<&XmppChannel> {
        self.service.settings().xmpp.as_ref()
    }

    /// Whether `[alerts.xmpp]` is configured.
    pub fn configured(&self) -> bool {
        self.channel().is_some()
    }

    /// The component members add to their contacts, e.g. `alerts.library.example`.
    pub fn sender(&self) -> Option<&str> {
        self.channel().map(|c| c.announcer.domain.as_str())
    }

    /// The JID `account` registered for alerts, if any.
    pub async fn address_of(&self, account: &Account) -> Result<Option<String>, AlertError> {
        Ok(with_database!(self.service.database(), pool => {
            sqlx::query_scalar("SELECT jid FROM alert_xmpp_addresses WHERE account_id = $1")
                .bind(account.id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Registers `jid` for `account`'s alerts, or removes it when `jid` is empty; the
    /// message for the page.
    pub async fn choose(&self, account: &Account, jid: &str) -> Result<String, AlertError> {
        let Some(channel) = self.channel() else {
            return Err(AlertError::refused("Alerts are not sent over XMPP here."));
        };
        let jid = jid.trim();
        let database = self.service.database();
        if jid.is_empty() {
            with_database!(database, pool => {
                sqlx::query("DELETE FROM alert_xmpp_addresses WHERE account_id = $1")
                    .bind(account.id)
                    .execute(pool)
                    .await?;
            });
            return Ok("Saved: alerts no longer come over XMPP.".to_owned());
        }
        let jid = BareJid::new(jid).map_err(|e| {
            AlertError::refused(format!(
                "{jid:?} is not an XMPP address ({e}); write it as name@server, like an \
                 e-mail address."
            ))
        })?;
        if !jid.as_str().contains('@') {
            return Err(AlertError::refused(format!(
                "{} is a server, not a person's address; write it as name@server.",
                jid.as_str()
            )));
        }
        if jid.domain() == channel.announcer.domain {
            return Err(AlertError::refused(
                "That is the alerts' own address; give your personal XMPP address.",
            ));
        }
        let now = self.service.now();
        with_database!(database, pool => {
            sqlx::query(
                "INSERT INTO alert_xmpp_addresses (account_id, jid, since) VALUES ($1, $2, $3)
                 ON CONFLICT (account_id) DO UPDATE SET jid = excluded.jid, since = excluded.since",
            )
            .bind(account.id)
            .bind(jid.as_str())
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(format!(
            "Saved: alerts also come over XMPP to {}, from {}. Add {} to your contacts so \
             your client shows them.",
            jid.as_str(),
            channel.announcer.domain,
            channel.announcer.domain
        ))
    }

    /// Queues campaign `id`'s messages: one to each of `recipients` who registered a JID,
    /// and, with `staff`, one to each staff JID and one into the room. How many are queued
    /// now; safe to run again (a resumed enqueue).
    pub(crate) async fn queue(
        &self,
        id: i64,
        recipients: &[AccountId],
        staff: bool,
    ) -> Result<u64, AlertError> {
        let Some(channel) = self.channel() else {
            return Ok(0);
        };
        let database = self.service.database();
        let now = self.service.now();
        let mut queued = 0;
        for account in recipients {
            queued += with_database!(database, pool => {
                sqlx::query(
                    "INSERT INTO alert_xmpp_deliveries
                         (campaign_id, recipient, address, state, next_attempt_at)
                     SELECT $1, 'member', jid, 'pending', $3
                     FROM alert_xmpp_addresses WHERE account_id = $2
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(*account)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
            });
        }
        if staff {
            let mut addresses: Vec<(&str, &str)> = channel
                .staff
                .iter()
                .map(|jid| ("staff", jid.as_str()))
                .collect();
            if let Some(room) = &channel.announcer.room {
                addresses.push(("room", room.room.as_str()));
            }
            for (recipient, address) in addresses {
                queued += with_database!(database, pool => {
                    sqlx::query(
                        "INSERT INTO alert_xmpp_deliveries
                             (campaign_id, recipient, address, state, next_attempt_at)
                         VALUES ($1, $2, $3, 'pending', $4)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(recipient)
                    .bind(address)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
                });
            }
        }
        if queued > 0 {
            self.service.xmpp_wake.notify_one();
        }
        Ok(queued)
    }

    /// Sends every message that is due through `announcer` (in batches until none is); how
    /// many were tried.
    pub async fn send_due(&self, announcer: &AnnouncerHandle) -> Result<usize, AlertError> {
        let database = self.service.database();
        let mut tried = 0;
        loop {
            let now = self.service.now();
            let due: Vec<DueMessage> = with_database!(database, pool => {
                sqlx::query_as(
                    "SELECT id, campaign_id, recipient, address, attempts, next_attempt_at
                     FROM alert_xmpp_deliveries
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
            for message in due {
                if !CopyTable::Xmpp
                    .lease(database, message.id, message.next_attempt_at, now + LEASE)
                    .await?
                {
                    continue;
                }
                tried += 1;
                self.send_one(announcer, &message, now).await?;
            }
        }
    }

    async fn send_one(
        &self,
        announcer: &AnnouncerHandle,
        message: &DueMessage,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        let database = self.service.database();
        let Some(send) = self.service.campaigns().send(message.campaign_id).await? else {
            return Ok(());
        };
        let to = if message.recipient == "room" {
            Recipient::Room
        } else {
            match BareJid::new(&message.address) {
                Ok(jid) => Recipient::Person(jid),
                Err(e) => {
                    return self
                        .finish(
                            message.id,
                            "failed",
                            message.attempts + 1,
                            Some(&e.to_string()),
                            now,
                        )
                        .await
                }
            }
        };
        let announcement = Announcement {
            id: format!("{ID_PREFIX}{}", message.id),
            to,
            body: format!("{}: {}", send.label(), send.body),
        };
        let attempts = message.attempts + 1;
        match announcer.send(announcement).await {
            Ok(()) => self.finish(message.id, "sent", attempts, None, now).await,
            Err(e) => {
                let give_up = attempts >= ATTEMPTS || matches!(e, SendError::Invalid(_));
                let wait = FIRST_BACKOFF
                    .checked_mul(1 << u32::try_from(attempts - 1).unwrap_or(0).min(5))
                    .unwrap_or(LONGEST_WAIT)
                    .min(LONGEST_WAIT);
                tracing::warn!(message = message.id, error = %e, give_up, "an alert's XMPP message was not sent");
                let state = if give_up { "failed" } else { "pending" };
                with_database!(database, pool => {
                    sqlx::query(
                        "UPDATE alert_xmpp_deliveries
                         SET state = $2, attempts = $3, last_error = $4, next_attempt_at = $5
                         WHERE id = $1",
                    )
                    .bind(message.id)
                    .bind(state)
                    .bind(attempts)
                    .bind(e.to_string())
                    .bind(now + wait)
                    .execute(pool)
                    .await?;
                });
                Ok(())
            }
        }
    }

    async fn finish(
        &self,
        id: i64,
        state: &str,
        attempts: i64,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        with_database!(self.service.database(), pool => {
            sqlx::query(
                "UPDATE alert_xmpp_deliveries
                 SET state = $2, attempts = $3, last_error = $4,
                     sent_at = CASE WHEN $2 = 'sent' THEN $5 ELSE sent_at END
                 WHERE id = $1",
            )
            .bind(id)
            .bind(state)
            .bind(attempts)
            .bind(error)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The server bounced the message with stanza id `stanza_id`: it is marked failed with
    /// `reason`. `false` when the id is not one of ours.
    pub async fn bounced(&self, stanza_id: &str, reason: &str) -> Result<bool, AlertError> {
        let Some(id) = stanza_id
            .strip_prefix(ID_PREFIX)
            .and_then(|id| id.parse::<i64>().ok())
        else {
            return Ok(false);
        };
        tracing::warn!(message = id, %reason, "an alert's XMPP message was bounced");
        let changed = with_database!(self.service.database(), pool => {
            sqlx::query(
                "UPDATE alert_xmpp_deliveries SET state = 'failed', last_error = $2
                 WHERE id = $1 AND state = 'sent'",
            )
            .bind(id)
            .bind(format!("the XMPP server refused it: {reason}"))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Campaign `id`'s messages by state; `None` when it has none.
    pub async fn counts(&self, id: i64) -> Result<Option<ChannelCounts>, AlertError> {
        CopyTable::Xmpp.counts(self.service.database(), id).await
    }

    /// Campaign `id`'s messages that failed, with the reason: `(address, reason)`.
    pub async fn failures(&self, id: i64) -> Result<Vec<(String, String)>, AlertError> {
        Ok(with_database!(self.service.database(), pool => {
            sqlx::query_as(
                "SELECT address, COALESCE(last_error, '') FROM alert_xmpp_deliveries
                 WHERE campaign_id = $1 AND state = 'failed' ORDER BY id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        }))
    }
}
