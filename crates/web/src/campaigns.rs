//! Alert and test campaigns: the preview on the confirm page, starting a campaign (one
//! outbox delivery per recipient, spread over the modems by the alerts crate's plan) and
//! its progress.

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use textgate_alerts::campaign::{describe_duration, PlanWarning};
use textgate_alerts::cipher::{FieldContext, FieldPurpose};
use textgate_alerts::{
    CampaignPlan, CampaignProgress, Composer, EncryptedField, ModemRate, PlannedDelivery,
};
use textgate_store::{NewOutbound, OutboundOrigin, Priority};

use crate::db::{Account, Audience, CampaignCounts, NewSend, Send, SendKind, YearlyTest};
use crate::state::{WebError, WebState};

/// Deliveries enqueued at the same time (each is one transaction).
const ENQUEUE_CONCURRENCY: usize = 8;

/// What the confirm page shows before sending.
#[derive(Debug, Clone)]
pub struct Preview {
    pub recipients: u64,
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

/// Plans `audience` for a message of `parts` parts.
pub async fn preview(
    state: &WebState,
    audience: Audience,
    parts: usize,
) -> Result<Preview, WebError> {
    let recipients = u64::try_from(state.db.count_recipients(audience).await?).unwrap_or(0);
    let parts = u32::try_from(parts.max(1)).unwrap_or(u32::MAX);
    let plan = CampaignPlan::new(recipients, &rates(state), parts)
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
        recipients,
        plan,
        warnings,
    })
}

/// Records a campaign in the send log and enqueues it in the background; returns the
/// send id at once (the progress page shows the enqueueing too).
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
        .insert_send(&NewSend {
            kind,
            account_id: Some(account.id),
            account_email: &account.email,
            body: &validated.text,
            recipients: i64::try_from(preview.recipients).unwrap_or(i64::MAX),
            estimated_seconds: preview.plan.estimated_duration().num_seconds(),
            confirmed_at: state.now(),
            yearly_test,
        })
        .await?;
    let task_state = state.clone();
    let body = validated.text.clone();
    tokio::spawn(async move {
        match enqueue(&task_state, id, audience, &body).await {
            Ok(n) => tracing::info!(campaign = id, recipients = n, "campaign enqueued"),
            Err(e) => tracing::error!(campaign = id, error = %e, "campaign enqueueing failed"),
        }
        task_state.enqueued.send_modify(|n| *n += 1);
    });
    Ok(id)
}

/// Decrypts every recipient's number and puts one delivery per recipient in the outbox,
/// each on the gateway of the modem the plan gives it and not before its planned slot.
/// Returns how many deliveries were enqueued. Public for the benchmark.
pub async fn enqueue(
    state: &WebState,
    id: i64,
    audience: Audience,
    body: &str,
) -> Result<u64, WebError> {
    let started = state.now();
    let recipients = state.db.recipients(audience).await?;
    let parts = composer(state).measure(body).parts;
    let plan = CampaignPlan::new(
        recipients.len() as u64,
        &rates(state),
        u32::try_from(parts.max(1)).unwrap_or(u32::MAX),
    )
    .map_err(|e| WebError::Internal(format!("cannot plan campaign {id}: {e}")))?;
    // Each enqueue is its own transaction; a few in flight at once let the database
    // group their commits instead of waiting for one disk flush per delivery.
    let cipher = state.settings.cipher.clone();
    let modems = state.settings.modems.clone();
    let body = body.to_string();
    let deliveries: Vec<PlannedDelivery> = plan.schedule().collect();
    let deliveries = deliveries.into_iter().zip(recipients).filter_map(move |(delivery, (account_id, number_enc))| {
        let context = FieldContext::new(FieldPurpose::MemberNumber, account_id.to_string());
        let number = match number_enc
            .parse::<EncryptedField>()
            .map_err(|e| e.to_string())
            .and_then(|f| cipher.decrypt(&f, &context).map_err(|e| e.to_string()))
        {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(campaign = id, account = account_id, error = %e, "a member's number does not open; skipped");
                return None;
            }
        };
        let modem = modems.get(delivery.modem)?;
        Some(NewOutbound {
            gateway: modem.gateway.clone(),
            recipient: number,
            origin: OutboundOrigin::Campaign { campaign_id: id },
            body: body.clone(),
            priority: Priority::ALERT,
            not_before: Some(started + delivery.send_after),
        })
    });
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
    state
        .db
        .mark_send_enqueued(id, i64::try_from(enqueued).unwrap_or(i64::MAX), state.now())
        .await?;
    Ok(enqueued)
}

/// A campaign's progress as the page and the API show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProgressView {
    pub id: i64,
    pub total: u64,
    pub counts: CampaignCounts,
    pub percent: u64,
    pub eta: String,
    pub enqueued: bool,
    pub done: bool,
}

pub async fn progress(state: &WebState, send: &Send) -> Result<ProgressView, WebError> {
    let counts = state.db.campaign_counts(send.id).await?;
    let total = u64::try_from(send.recipients).unwrap_or(0);
    let finished_sent = counts.sent + counts.delivered;
    let progress = CampaignProgress::new(total, finished_sent, counts.delivered, counts.failed)
        .map_err(|e| WebError::Internal(format!("campaign {}: {e}", send.id)))?;
    let enqueued = send.enqueued_at.is_some();
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
        enqueued,
        done,
    })
}
