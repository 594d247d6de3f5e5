//! A campaign's progress as the progress page and the API show it: counted from the
//! store's outbox, with an honest estimate of the time left.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use textgate_alerts::campaign::describe_duration;
use textgate_alerts::throughput::{measure_recent, SentSpan, RECENT};
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
    /// `enqueueing`, `enqueued`, `interrupted`, or under two-person approval
    /// `awaiting-approval`, `refused` or `expired`.
    pub state: &'static str,
    /// Deliveries in the outbox so far (every state): while enqueueing, how far it got.
    pub in_outbox: u64,
    /// Members no gateway could reach.
    pub unreachable: u64,
    pub enqueued: bool,
    pub done: bool,
    /// Each gateway's share: its path, its rate and what waits on it.
    pub paths: Vec<PathProgress>,
}

/// A campaign's copies on a channel other than SMS: e-mail, XMPP.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelProgress {
    /// `email` or `xmpp`.
    pub id: &'static str,
    /// What the page calls it.
    pub name: &'static str,
    pub counts: crate::channels::ChannelCounts,
}

/// One gateway's part of a campaign.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PathProgress {
    pub gateway: String,
    /// `modem`, `message centre` or `carrier e-mail`; `not configured` for a gateway the
    /// configuration no longer has.
    pub path: &'static str,
    /// SMS parts a minute, as the plan counts them.
    pub per_minute: u32,
    /// SMS parts a minute this path sent for the campaign over the last minute, while
    /// deliveries wait on it (0: it has stalled); `None` before there is anything to
    /// measure.
    pub measured_per_minute: Option<u32>,
    pub counts: CampaignCounts,
    /// What waits on this path, at the lower of its two rates.
    pub time_left: String,
    /// The same, for the overall estimate; `None` when the path has stalled.
    #[serde(skip)]
    left: Option<TimeDelta>,
}

impl Campaigns<'_> {
    /// Campaign `id`'s other channels, those it has copies on.
    pub async fn channels(&self, id: i64) -> Result<Vec<ChannelProgress>, AlertError> {
        let service = self.service;
        let mut channels = Vec::new();
        if let Some(counts) = service.emails().counts(id).await? {
            channels.push(ChannelProgress {
                id: "email",
                name: "E-mail copies",
                counts,
            });
        }
        if let Some(counts) = service.xmpp().counts(id).await? {
            channels.push(ChannelProgress {
                id: "xmpp",
                name: "XMPP messages",
                counts,
            });
        }
        Ok(channels)
    }

    /// The progress of campaign `send`.
    pub async fn progress(&self, send: &Send) -> Result<ProgressView, AlertError> {
        let service = self.service;
        let by_gateway = data::campaign_counts_by_gateway(service.database(), send.id).await?;
        let mut counts = CampaignCounts::default();
        for c in by_gateway.values() {
            counts.queued += c.queued;
            counts.sent += c.sent;
            counts.delivered += c.delivered;
            counts.failed += c.failed;
        }
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
        let parts = u32::try_from(self.composer().measure(&send.body).parts.max(1)).unwrap_or(1);
        let now = service.now();
        let recent: BTreeMap<String, SentSpan> = if done {
            BTreeMap::new()
        } else {
            data::campaign_throughput(service.database(), now - RECENT, Some(send.id))
                .await?
                .into_iter()
                .map(|(gateway, _, span)| (gateway, span))
                .collect()
        };
        let measure =
            |gateway: &str| measure_recent(recent.get(gateway).copied(), send.confirmed_at, now);
        let paths = paths(service.settings(), &by_gateway, parts, measure);
        let waiting: Vec<&PathProgress> = paths.iter().filter(|p| p.counts.queued > 0).collect();
        let eta = if done {
            "done".to_string()
        } else if let Some(stalled) = waiting.iter().find(|p| p.left.is_none()) {
            format!(
                "unknown: {} sent nothing in the last minute",
                stalled.gateway
            )
        } else if waiting.iter().any(|p| p.measured_per_minute.is_some()) {
            // The paths work through their queues side by side: everyone has heard when
            // the slowest is done, at the rates measured now.
            let left = waiting
                .iter()
                .filter_map(|p| p.left)
                .max()
                .unwrap_or_default();
            describe_duration(left)
        } else {
            let plan = CampaignPlan::new(total, &service.rates(), parts)
                .map_err(|e| AlertError::Internal(format!("campaign {}: {e}", send.id)))?;
            // An approved alert started when the second administrator approved it.
            let started: DateTime<Utc> = send.decided_at.unwrap_or(send.confirmed_at);
            let eta = progress.eta(&plan, started, now);
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
            paths,
        })
    }
}

/// Each configured gateway's share of the campaign, in configuration order, then any
/// gateway the deliveries went to that the configuration no longer has.
fn paths(
    settings: &crate::AlertSettings,
    by_gateway: &BTreeMap<String, CampaignCounts>,
    parts: u32,
    measure: impl Fn(&str) -> Option<u32>,
) -> Vec<PathProgress> {
    let mut shown = Vec::new();
    for modem in &settings.modems {
        if shown
            .iter()
            .any(|p: &PathProgress| p.gateway == modem.gateway)
        {
            continue;
        }
        let counts = by_gateway.get(&modem.gateway).copied().unwrap_or_default();
        let rate = settings.gateway_rate(&modem.gateway);
        let measured = if counts.queued > 0 {
            measure(&modem.gateway)
        } else {
            None
        };
        let per_minute = measured.map_or(rate.max(1), |m| m.min(rate.max(1)));
        let left = (per_minute > 0).then(|| {
            let ms = counts
                .queued
                .saturating_mul(u64::from(parts))
                .saturating_mul(60_000)
                / u64::from(per_minute);
            TimeDelta::try_milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
                .unwrap_or(TimeDelta::MAX)
        });
        let time_left = match left {
            Some(left) => describe_duration(left),
            None => "stalled: nothing sent in the last minute".to_owned(),
        };
        shown.push(PathProgress {
            gateway: modem.gateway.clone(),
            path: modem.rate.path.describe(),
            per_minute: rate,
            measured_per_minute: measured,
            counts,
            time_left,
            left,
        });
    }
    for (gateway, counts) in by_gateway {
        if !shown.iter().any(|p| &p.gateway == gateway) {
            shown.push(PathProgress {
                gateway: gateway.clone(),
                path: "not configured",
                per_minute: 0,
                measured_per_minute: None,
                counts: *counts,
                time_left: "unknown".to_owned(),
                left: Some(TimeDelta::zero()),
            });
        }
    }
    shown
}
