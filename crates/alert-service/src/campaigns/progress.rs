//! A campaign's progress as the progress page and the API show it: counted from the
//! store's outbox, with an honest estimate of the time left.

use chrono::{DateTime, TimeDelta, Utc};
use textgate_alerts::campaign::describe_duration;
use textgate_alerts::{CampaignPlan, CampaignProgress};

use super::{data, CampaignCounts, Campaigns};
use crate::sends::{CampaignState, Send};
use crate::AlertError;

/// A campaign's progress.
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

impl Campaigns<'_> {
    /// The progress of campaign `send`.
    pub async fn progress(&self, send: &Send) -> Result<ProgressView, AlertError> {
        let service = self.service;
        let counts = data::campaign_counts(service.database(), send.id).await?;
        let in_outbox = counts.queued + counts.sent + counts.delivered + counts.failed;
        // Members who registered after the confirmation are included when a campaign is
        // resumed, so the outbox may hold more than the confirm page counted.
        let total = u64::try_from(send.recipients).unwrap_or(0).max(in_outbox);
        let finished_sent = counts.sent + counts.delivered;
        let progress = CampaignProgress::new(total, finished_sent, counts.delivered, counts.failed)
            .map_err(|e| AlertError::Internal(format!("campaign {}: {e}", send.id)))?;
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
            let parts =
                u32::try_from(self.composer().measure(&send.body).parts.max(1)).unwrap_or(1);
            let plan = CampaignPlan::new(total, &service.rates(), parts)
                .map_err(|e| AlertError::Internal(format!("campaign {}: {e}", send.id)))?;
            let started: DateTime<Utc> = send.confirmed_at;
            let eta = progress.eta(&plan, started, service.now());
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
}
