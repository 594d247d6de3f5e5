//! Putting a campaign's deliveries in the outbox: one enqueuer per campaign
//! ([`EnqueueClaim`]), resumable after a stop at any point (see the module documentation
//! of [`crate::campaigns`]), and the sweep that resumes campaigns left half-way.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use textgate_alerts::{CampaignPlan, MemberNumber, Reach, ReachCounts};
use textgate_store::{Database, NewOutbound, OutboundOrigin, Priority};

use super::{data, Audience, Campaigns, Recipients};
use crate::members::open_number;
use crate::sends::{CampaignState, SendKind};
use crate::{AlertError, AlertService};

/// Deliveries handed to the store at once (it writes a thousand to a statement, each
/// statement its own transaction). Holding 5,000 of them costs well under a megabyte.
const ENQUEUE_BATCH: usize = 5_000;

/// First key of the PostgreSQL advisory locks that give one daemon the right to enqueue a
/// campaign (the second key is the campaign id). Arbitrary but fixed; the two-key form
/// never collides with the one-key locks used elsewhere.
const ENQUEUE_LOCK_SPACE: i32 = 0x7467_0103;

impl Campaigns<'_> {
    /// Resumes every campaign left in state `enqueueing` (by a daemon that stopped or died,
    /// or an enqueuer that met a database error) that nobody is enqueueing now. Returns how
    /// many were handed to an enqueuer; each finishes in the background.
    pub async fn resume_enqueueing(&self) -> Result<usize, AlertError> {
        let service = self.service;
        let waiting = data::campaigns_enqueueing(service.database()).await?;
        let mut resumed = 0;
        for id in waiting {
            if service.claimed_here(id) {
                continue;
            }
            // Debug only: the campaign may be another daemon's, which keeps it (the
            // enqueuer logs "campaign enqueueing resumed" when it really takes one up).
            tracing::debug!(
                campaign = id,
                "campaign left enqueueing; trying to take it up"
            );
            service.spawn_enqueue(id);
            resumed += 1;
        }
        Ok(resumed)
    }

    /// Enqueues campaign `id` if it is still `enqueueing` and no other enqueuer has it.
    /// Returns the number of deliveries in the outbox, or `None` when there was nothing to
    /// do.
    pub async fn enqueue_campaign(&self, id: i64) -> Result<Option<u64>, AlertError> {
        let service = self.service;
        let Some(claim) = EnqueueClaim::take(service, id).await? else {
            return Ok(None);
        };
        // Read after the claim: an enqueuer that just finished has marked it by now.
        let send = self.send(id).await?.ok_or(AlertError::NotFound)?;
        if send.campaign_state != Some(CampaignState::Enqueueing) {
            return Ok(None);
        }
        let recipients = match (send.kind, send.audience_group.as_deref()) {
            // A poll's reminder: whoever has not answered by now.
            (SendKind::Real, group) if send.poll_of.is_some() => Recipients::NonResponders {
                poll: send.poll_of.unwrap_or_default(),
                group,
            },
            (SendKind::Real, Some(group)) => Recipients::Group(group),
            (SendKind::Test, _) => Recipients::Testers,
            (SendKind::Real, None) => Recipients::Everyone,
            (other, _) => {
                return Err(AlertError::Internal(format!(
                    "send {id} is a {}, not a campaign",
                    other.as_str()
                )))
            }
        };
        let n = self.enqueue_to(id, recipients, &send.body).await?;
        drop(claim);
        Ok(Some(n))
    }

    /// Decrypts every recipient's number and puts one delivery per recipient without one
    /// in the outbox, each on the gateway of the modem the plan gives it and not before
    /// its planned slot; then marks the campaign enqueued. Returns how many deliveries the
    /// campaign has in the outbox. Safe to run again after an interruption (see the module
    /// documentation); public for the benchmark, which times it.
    pub async fn enqueue(
        &self,
        id: i64,
        audience: Audience,
        body: &str,
    ) -> Result<u64, AlertError> {
        let recipients = self.recipients(audience)?;
        self.enqueue_to(id, recipients, body).await
    }

    async fn enqueue_to(
        &self,
        id: i64,
        recipients: Recipients<'_>,
        body: &str,
    ) -> Result<u64, AlertError> {
        let service = self.service;
        let database = service.database();
        let now = service.now();
        let (mut pending, already) = self.pending_recipients(id, recipients).await?;
        if already > 0 {
            tracing::info!(
                campaign = id,
                in_outbox = already,
                remaining = pending.counts().total(),
                "campaign enqueueing resumed"
            );
        }
        // A resumed campaign plans the rest after the deliveries already waiting, so no
        // modem is given two schedules at once (nothing else limits its rate).
        let started: DateTime<Utc> = match data::last_planned(database, id).await? {
            Some(last) if last > now => last,
            _ => now,
        };
        let parts = self.composer().measure(body).parts;
        let plan = CampaignPlan::with_reach(
            pending.counts(),
            &service.rates(),
            u32::try_from(parts.max(1)).unwrap_or(u32::MAX),
        )
        .map_err(|e| AlertError::Internal(format!("cannot plan campaign {id}: {e}")))?;
        let modems = &service.settings().modems;
        let deliveries = plan.schedule().filter_map(|delivery| {
            let recipient = pending.take(delivery.reach, delivery.recipient)?;
            let modem = modems.get(delivery.modem)?;
            Some(NewOutbound {
                gateway: modem.gateway.clone(),
                recipient,
                origin: OutboundOrigin::Campaign { campaign_id: id },
                body: body.to_string(),
                priority: Priority::ALERT,
                not_before: Some(started + delivery.send_after),
            })
        });
        // Thousands of deliveries to a store call, which writes them a thousand to a
        // statement and transaction: one disk flush per thousand rather than per delivery.
        // What was committed before a stop stays; the resumed enqueue skips its recipients.
        let mut enqueued = 0u64;
        let mut batch = Vec::with_capacity(ENQUEUE_BATCH);
        let mut deliveries = deliveries.peekable();
        while let Some(outbound) = deliveries.next() {
            batch.push(outbound);
            if batch.len() == ENQUEUE_BATCH || deliveries.peek().is_none() {
                service.store().enqueue_campaign_outbound(&batch).await?;
                enqueued += batch.len() as u64;
                batch.clear();
            }
        }
        let in_outbox = enqueued + already as u64;
        // The e-mail copies, for the recipients who asked for them: queued before the
        // campaign is marked enqueued, so a resumed enqueue queues what is missing.
        // The same for the XMPP messages; staff hear of every campaign but a poll's
        // reminder (they saw the poll).
        if service.emails().configured() || service.xmpp().configured() {
            let staff = !matches!(recipients, Recipients::NonResponders { .. });
            let accounts: Vec<crate::AccountId> =
                data::recipients_with_carrier(database, recipients)
                    .await?
                    .into_iter()
                    .map(|(account, _, _)| account)
                    .collect();
            service.emails().queue_copies(id, &accounts).await?;
            service.xmpp().queue(id, &accounts, staff).await?;
        }
        if plan.unreachable() > 0 {
            tracing::warn!(
                campaign = id,
                unreachable = plan.unreachable(),
                "members without a carrier cannot be reached: the only gateways are the legacy e-mail path"
            );
        }
        data::mark_campaign_enqueued(
            database,
            id,
            i64::try_from(in_outbox).unwrap_or(i64::MAX),
            i64::try_from(plan.unreachable()).unwrap_or(i64::MAX),
            service.now(),
        )
        .await?;
        Ok(in_outbox)
    }

    /// Decrypts every recipient's number and keeps those without a delivery of campaign
    /// `id`; also returns how many have one already.
    async fn pending_recipients(
        &self,
        id: i64,
        recipients: Recipients<'_>,
    ) -> Result<(Pending, usize), AlertError> {
        let service = self.service;
        let database = service.database();
        let already = data::recipients_in_outbox(database, id).await?;
        let recipients = data::recipients_with_carrier(database, recipients).await?;
        let email_path = service.has_email_path();
        let today = service.now().date_naive();
        let mut pending = Pending::default();
        for (account_id, number_enc, carrier) in recipients {
            let number = match open_number(service.settings(), account_id, &number_enc) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(campaign = id, account = account_id, error = %e, "a member's number does not open; skipped");
                    continue;
                }
            };
            if already.contains(&number) {
                continue;
            }
            let reach = if email_path {
                reach_of(service, carrier.as_deref(), &number, today)
            } else {
                Reach::ModemsOnly
            };
            match reach {
                Reach::ModemsOnly => pending.modems_only.push(number),
                Reach::ModemsOrEmail => pending.modems_or_email.push(number),
            }
        }
        Ok((pending, already.len()))
    }
}

impl AlertService {
    /// Enqueues campaign `id` in a task of its own; the enqueued signal changes when it
    /// has finished (or given up).
    pub(crate) fn spawn_enqueue(&self, id: i64) {
        let service = self.clone();
        tokio::spawn(async move {
            match service.campaigns().enqueue_campaign(id).await {
                Ok(Some(n)) => tracing::info!(campaign = id, deliveries = n, "campaign enqueued"),
                Ok(None) => {
                    tracing::debug!(
                        campaign = id,
                        "campaign enqueued already, or by another enqueuer"
                    )
                }
                Err(e) => tracing::error!(
                    campaign = id, error = %e,
                    "campaign enqueueing stopped; it is resumed within a minute"
                ),
            }
            service.enqueued.send_modify(|n| *n += 1);
        });
    }

    /// Whether this process is enqueueing campaign `id` right now.
    fn claimed_here(&self, id: i64) -> bool {
        self.enqueueing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&id)
    }
}

/// The right to enqueue one campaign, given up when dropped.
struct EnqueueClaim {
    id: i64,
    claimed: Arc<Mutex<HashSet<i64>>>,
    /// On PostgreSQL, the connection holding the advisory lock. It is closed when the
    /// claim is dropped (never returned to the pool still holding the lock), and the
    /// server releases the lock with it, also when the daemon dies.
    _lock: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

impl EnqueueClaim {
    async fn take(service: &AlertService, id: i64) -> Result<Option<EnqueueClaim>, AlertError> {
        if !service
            .enqueueing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id)
        {
            return Ok(None);
        }
        let mut claim = EnqueueClaim {
            id,
            claimed: service.enqueueing.clone(),
            _lock: None,
        };
        if let Database::Postgres(pool) = service.database() {
            let mut connection = pool.acquire().await?;
            connection.close_on_drop();
            let key = i32::try_from(id.rem_euclid(i64::from(i32::MAX))).unwrap_or(0);
            let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                .bind(ENQUEUE_LOCK_SPACE)
                .bind(key)
                .fetch_one(&mut *connection)
                .await?;
            if !locked {
                return Ok(None);
            }
            claim._lock = Some(connection);
        }
        Ok(Some(claim))
    }
}

impl Drop for EnqueueClaim {
    fn drop(&mut self) {
        self.claimed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// The recipients still to enqueue, by reach, as decrypted numbers.
#[derive(Default)]
struct Pending {
    modems_only: Vec<String>,
    modems_or_email: Vec<String>,
}

impl Pending {
    fn counts(&self) -> ReachCounts {
        ReachCounts {
            modems_only: self.modems_only.len() as u64,
            modems_or_email: self.modems_or_email.len() as u64,
        }
    }

    /// Moves the number of the `index`-th recipient of `reach` out (each is asked once).
    fn take(&mut self, reach: Reach, index: u64) -> Option<String> {
        let list = match reach {
            Reach::ModemsOnly => &mut self.modems_only,
            Reach::ModemsOrEmail => &mut self.modems_or_email,
        };
        let slot = list.get_mut(usize::try_from(index).ok()?)?;
        Some(std::mem::take(slot))
    }
}

/// Which paths reach a member: the e-mail path only with a carrier whose gateway works
/// today for a number of its country.
fn reach_of(
    service: &AlertService,
    carrier: Option<&str>,
    number: &str,
    today: NaiveDate,
) -> Reach {
    let Some(carrier) = carrier else {
        return Reach::ModemsOnly;
    };
    let Ok(member) = MemberNumber::try_from(number.to_owned()) else {
        return Reach::ModemsOnly;
    };
    match service
        .settings()
        .carriers
        .email_address(carrier, &member, today)
    {
        Ok(_) => Reach::ModemsOrEmail,
        Err(_) => Reach::ModemsOnly,
    }
}
