//! Alert and test campaigns: the preview on the confirm page, starting a campaign (one
//! outbox delivery per recipient, spread over the modems by the alerts crate's plan) and
//! its progress.
//!
//! Enqueueing is resumable. A confirmed campaign is recorded in state `enqueueing` before
//! any delivery is queued; the enqueuer skips every recipient who already has a delivery
//! of the campaign (any gateway) and marks the campaign `enqueued` at the end. A daemon
//! stopped or killed half-way leaves the campaign `enqueueing`, and
//! [`resume_enqueueing`] (run by the daemon at start-up and every minute) finishes it.
//! One enqueuer per campaign: a set in the process, and on PostgreSQL an advisory lock
//! held on a connection of its own, which the server drops with the connection when a
//! daemon dies, so another daemon may take over at once.
//!
//! The legacy e-mail gateways ([`SendPath::CarrierEmail`]) get only members whose carrier
//! still runs a gateway; the others go to the modems, or, with no modem, are reported as
//! unreachable (on the confirm and progress pages) rather than failed one by one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use futures::StreamExt;
use textgate_alerts::campaign::{describe_duration, PlanWarning};
use textgate_alerts::cipher::{FieldContext, FieldPurpose};
use textgate_alerts::{
    CampaignPlan, CampaignProgress, Composer, EncryptedField, MemberNumber, ModemRate, Reach,
    ReachCounts, SendPath,
};
use textgate_store::{NewOutbound, OutboundOrigin, Priority};

use crate::db::{
    Account, Audience, CampaignCounts, CampaignState, Db, DbError, NewSend, Send, SendKind,
    YearlyTest,
};
use crate::state::{WebError, WebState};

/// Deliveries enqueued at the same time (each is one transaction).
const ENQUEUE_CONCURRENCY: usize = 8;

/// First key of the PostgreSQL advisory locks that give one daemon the right to enqueue a
/// campaign (the second key is the campaign id). Arbitrary but fixed; the two-key form
/// never collides with the one-key locks used elsewhere.
const ENQUEUE_LOCK_SPACE: i32 = 0x7467_0103;

/// What the confirm page shows before sending.
#[derive(Debug, Clone)]
pub struct Preview {
    /// Recipients some gateway can reach.
    pub recipients: u64,
    /// Recipients no gateway can reach: members without a carrier when the only gateways
    /// are the legacy e-mail path.
    pub unreachable: u64,
    pub plan: CampaignPlan,
    pub warnings: Vec<String>,
}

pub(crate) fn composer(state: &WebState) -> Composer {
    Composer::new(
        state.settings.compose_limits,
        state.settings.segmenter.clone(),
    )
}

fn rates(state: &WebState) -> Vec<ModemRate> {
    state
        .settings
        .modems
        .iter()
        .map(|m| m.rate.clone())
        .collect()
}

fn has_email_path(state: &WebState) -> bool {
    state
        .settings
        .modems
        .iter()
        .any(|m| m.rate.path == SendPath::CarrierEmail)
}

/// Counts `audience` by reach. The carrier's gateway is judged by today's date; whether
/// the number is from the carrier's country is only checked when the campaign is
/// enqueued (the numbers are encrypted).
async fn audience_reach(state: &WebState, audience: Audience) -> Result<ReachCounts, WebError> {
    let email_path = has_email_path(state);
    let today = state.now().date_naive();
    let mut counts = ReachCounts::default();
    for (carrier, n) in state.db.count_recipients_by_carrier(audience).await? {
        let n = u64::try_from(n).unwrap_or(0);
        let gateway_works = carrier
            .as_deref()
            .and_then(|id| state.settings.carriers.get(id))
            .is_some_and(|c| c.status.usable_on(today));
        if email_path && gateway_works {
            counts.modems_or_email += n;
        } else {
            counts.modems_only += n;
        }
    }
    Ok(counts)
}

/// Plans `audience` for a message of `parts` parts.
pub async fn preview(
    state: &WebState,
    audience: Audience,
    parts: usize,
) -> Result<Preview, WebError> {
    let reach = audience_reach(state, audience).await?;
    let parts = u32::try_from(parts.max(1)).unwrap_or(u32::MAX);
    let plan = CampaignPlan::with_reach(reach, &rates(state), parts)
        .map_err(|e| WebError::BadRequest(format!("Cannot plan the campaign: {e}.")))?;
    let warnings = plan
        .warnings()
        .into_iter()
        .map(|w| match w {
            PlanWarning::AboveTypicalDailyVolume { modem, messages } => format!(
                "Modem {modem} would send {messages} texts, more than an ordinary SIM sends in a day; carriers may filter part of them. A membership this large needs a registered messaging provider."
            ),
        })
        .collect();
    Ok(Preview {
        recipients: plan.recipients(),
        unreachable: plan.unreachable(),
        plan,
        warnings,
    })
}

/// Records a campaign in the send log (state `enqueueing`) and enqueues it in the
/// background; returns the send id at once (the progress page shows the enqueueing too).
pub async fn start(
    state: &WebState,
    account: &Account,
    audience: Audience,
    text: &str,
    yearly_test: Option<&YearlyTest>,
) -> Result<i64, WebError> {
    let validated = composer(state)
        .validate(text)
        .map_err(|e| WebError::BadRequest(format!("{e}.")))?;
    let preview = preview(state, audience, validated.report.parts).await?;
    let kind = match audience {
        Audience::Testers => SendKind::Test,
        Audience::Everyone => SendKind::Real,
    };
    let id = state
        .db
        .insert_campaign(
            &NewSend {
                kind,
                account_id: Some(account.id),
                account_email: &account.email,
                body: &validated.text,
                recipients: i64::try_from(preview.recipients).unwrap_or(i64::MAX),
                estimated_seconds: preview.plan.estimated_duration().num_seconds(),
                confirmed_at: state.now(),
                yearly_test,
            },
            i64::try_from(preview.unreachable).unwrap_or(i64::MAX),
        )
        .await?;
    spawn_enqueue(state, id);
    Ok(id)
}

/// Resumes every campaign left in state `enqueueing` (by a daemon that stopped or died,
/// or an enqueuer that met a database error) that nobody is enqueueing now. Returns how
/// many were handed to an enqueuer; each finishes in the background.
pub async fn resume_enqueueing(state: &WebState) -> Result<usize, WebError> {
    let waiting = state.db.campaigns_enqueueing().await?;
    let mut resumed = 0;
    for id in waiting {
        if claimed_here(state, id) {
            continue;
        }
        // Debug only: the campaign may be another daemon's, which keeps it (the enqueuer
        // logs "campaign enqueueing resumed" when it really takes one up).
        tracing::debug!(
            campaign = id,
            "campaign left enqueueing; trying to take it up"
        );
        spawn_enqueue(state, id);
        resumed += 1;
    }
    Ok(resumed)
}

fn spawn_enqueue(state: &WebState, id: i64) {
    let state = state.clone();
    tokio::spawn(async move {
        match enqueue_campaign(&state, id).await {
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
        state.enqueued.send_modify(|n| *n += 1);
    });
}

/// Enqueues campaign `id` if it is still `enqueueing` and no other enqueuer has it.
/// Returns the number of deliveries in the outbox, or `None` when there was nothing to do.
pub async fn enqueue_campaign(state: &WebState, id: i64) -> Result<Option<u64>, WebError> {
    let Some(claim) = EnqueueClaim::take(state, id).await? else {
        return Ok(None);
    };
    // Read after the claim: an enqueuer that just finished has marked it by now.
    let send = state.db.send(id).await?.ok_or(WebError::NotFound)?;
    if send.campaign_state != Some(CampaignState::Enqueueing) {
        return Ok(None);
    }
    let audience = match send.kind {
        SendKind::Test => Audience::Testers,
        SendKind::Real => Audience::Everyone,
        other => {
            return Err(WebError::Internal(format!(
                "send {id} is a {}, not a campaign",
                other.as_str()
            )))
        }
    };
    let n = enqueue(state, id, audience, &send.body).await?;
    drop(claim);
    Ok(Some(n))
}

/// Whether this process is enqueueing campaign `id` right now.
fn claimed_here(state: &WebState, id: i64) -> bool {
    state
        .enqueueing
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&id)
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
    async fn take(state: &WebState, id: i64) -> Result<Option<EnqueueClaim>, WebError> {
        if !state
            .enqueueing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id)
        {
            return Ok(None);
        }
        let mut claim = EnqueueClaim {
            id,
            claimed: state.enqueueing.clone(),
            _lock: None,
        };
        if let Db::Postgres(pool) = &state.db {
            let mut connection = pool.acquire().await.map_err(DbError::from)?;
            connection.close_on_drop();
            let key = i32::try_from(id.rem_euclid(i64::from(i32::MAX))).unwrap_or(0);
            let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                .bind(ENQUEUE_LOCK_SPACE)
                .bind(key)
                .fetch_one(&mut *connection)
                .await
                .map_err(DbError::from)?;
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
fn reach_of(state: &WebState, carrier: Option<&str>, number: &str, today: NaiveDate) -> Reach {
    let Some(carrier) = carrier else {
        return Reach::ModemsOnly;
    };
    let Ok(member) = MemberNumber::try_from(number.to_owned()) else {
        return Reach::ModemsOnly;
    };
    match state
        .settings
        .carriers
        .email_address(carrier, &member, today)
    {
        Ok(_) => Reach::ModemsOrEmail,
        Err(_) => Reach::ModemsOnly,
    }
}

/// Decrypts every recipient's number and keeps those without a delivery of campaign `id`.
async fn pending_recipients(
    state: &WebState,
    id: i64,
    audience: Audience,
) -> Result<(Pending, usize), WebError> {
    let already = state.db.campaign_recipients_in_outbox(id).await?;
    let recipients = state.db.recipients_with_carrier(audience).await?;
    let email_path = has_email_path(state);
    let today = state.now().date_naive();
    let mut pending = Pending::default();
    for (account_id, number_enc, carrier) in recipients {
        let context = FieldContext::new(FieldPurpose::MemberNumber, account_id.to_string());
        let number = match number_enc
            .parse::<EncryptedField>()
            .map_err(|e| e.to_string())
            .and_then(|f| {
                state
                    .settings
                    .cipher
                    .decrypt(&f, &context)
                    .map_err(|e| e.to_string())
            }) {
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
            reach_of(state, carrier.as_deref(), &number, today)
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

/// Decrypts every recipient's number and puts one delivery per recipient without one in
/// the outbox, each on the gateway of the modem the plan gives it and not before its
/// planned slot; then marks the campaign enqueued. Returns how many deliveries the
/// campaign has in the outbox. Safe to run again after an interruption (see the module
/// documentation); public for the benchmark.
pub async fn enqueue(
    state: &WebState,
    id: i64,
    audience: Audience,
    body: &str,
) -> Result<u64, WebError> {
    let now = state.now();
    let (mut pending, already) = pending_recipients(state, id, audience).await?;
    if already > 0 {
        tracing::info!(
            campaign = id,
            in_outbox = already,
            remaining = pending.counts().total(),
            "campaign enqueueing resumed"
        );
    }
    // A resumed campaign plans the rest after the deliveries already waiting, so no modem
    // is given two schedules at once (nothing else limits its rate).
    let started: DateTime<Utc> = match state.db.campaign_last_planned(id).await? {
        Some(last) if last > now => last,
        _ => now,
    };
    let parts = composer(state).measure(body).parts;
    let plan = CampaignPlan::with_reach(
        pending.counts(),
        &rates(state),
        u32::try_from(parts.max(1)).unwrap_or(u32::MAX),
    )
    .map_err(|e| WebError::Internal(format!("cannot plan campaign {id}: {e}")))?;
    let modems = &state.settings.modems;
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
    // Each enqueue is its own transaction; a few in flight at once let the database
    // group their commits instead of waiting for one disk flush per delivery.
    let mut results = futures::stream::iter(deliveries)
        .map(|outbound| {
            let store = state.store.clone();
            async move { store.enqueue_outbound(&outbound).await }
        })
        .buffer_unordered(ENQUEUE_CONCURRENCY);
    let mut enqueued = 0u64;
    while let Some(result) = results.next().await {
        result?;
        enqueued += 1;
    }
    drop(results);
    let in_outbox = enqueued + already as u64;
    if plan.unreachable() > 0 {
        tracing::warn!(
            campaign = id,
            unreachable = plan.unreachable(),
            "members without a carrier cannot be reached: the only gateways are the legacy e-mail path"
        );
    }
    state
        .db
        .mark_campaign_enqueued(
            id,
            i64::try_from(in_outbox).unwrap_or(i64::MAX),
            i64::try_from(plan.unreachable()).unwrap_or(i64::MAX),
            state.now(),
        )
        .await?;
    Ok(in_outbox)
}

/// A campaign's progress as the page and the API show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProgressView {
    pub id: i64,
    pub total: u64,
    pub counts: CampaignCounts,
    pub percent: u64,
    pub eta: String,
    /// `enqueueing`, `enqueued` or `interrupted`.
    pub state: &'static str,
    /// Deliveries in the outbox so far (every state): while enqueueing, how far it got.
    pub in_outbox: u64,
    /// Members no gateway could reach.
    pub unreachable: u64,
    pub enqueued: bool,
    pub done: bool,
}

pub async fn progress(state: &WebState, send: &Send) -> Result<ProgressView, WebError> {
    let counts = state.db.campaign_counts(send.id).await?;
    let in_outbox = counts.queued + counts.sent + counts.delivered + counts.failed;
    // Members who registered after the confirmation are included when a campaign is
    // resumed, so the outbox may hold more than the confirm page counted.
    let total = u64::try_from(send.recipients).unwrap_or(0).max(in_outbox);
    let finished_sent = counts.sent + counts.delivered;
    let progress = CampaignProgress::new(total, finished_sent, counts.delivered, counts.failed)
        .map_err(|e| WebError::Internal(format!("campaign {}: {e}", send.id)))?;
    let campaign_state = match (send.campaign_state, send.enqueued_at) {
        (Some(s), _) => s,
        (None, Some(_)) => CampaignState::Enqueued,
        (None, None) => CampaignState::Enqueueing,
    };
    let enqueued = campaign_state == CampaignState::Enqueued;
    let done = enqueued && progress.remaining() == 0;
    let eta = if done {
        "done".to_string()
    } else {
        let parts = u32::try_from(composer(state).measure(&send.body).parts.max(1)).unwrap_or(1);
        let plan = CampaignPlan::new(total, &rates(state), parts)
            .map_err(|e| WebError::Internal(format!("campaign {}: {e}", send.id)))?;
        let started: DateTime<Utc> = send.confirmed_at;
        let eta = progress.eta(&plan, started, state.now());
        describe_duration(eta.time_left.max(TimeDelta::zero()))
    };
    Ok(ProgressView {
        id: send.id,
        total,
        counts,
        percent: if enqueued { progress.percent_done() } else { 0 },
        eta,
        state: campaign_state.as_str(),
        in_outbox,
        unreachable: u64::try_from(send.unreachable).unwrap_or(0),
        enqueued,
        done,
    })
}

/// The carrier the member registered with `e164` chose for the legacy e-mail path, found
/// by the number's keyed blind index (never by decrypting or searching numbers). Any
/// registration counts, confirmed or not: a confirmation code goes the same way.
pub async fn member_carrier(state: &WebState, e164: &str) -> Result<Option<String>, WebError> {
    let Some(index) = state.settings.blind_index.index_sender(e164) else {
        return Ok(None);
    };
    let registration = state.db.registration_by_index(&index.to_string()).await?;
    Ok(registration.and_then(|r| r.carrier))
}
