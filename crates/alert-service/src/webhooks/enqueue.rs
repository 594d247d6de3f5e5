//! Turning what happened into deliveries: each webhook reads the texts after its cursors,
//! judges each one ([`judge_received`], [`judge_api_text`], pure and unit-tested), inserts
//! a delivery per event with `ON CONFLICT DO NOTHING`, and moves its cursor over the texts
//! that are judged for good.
//!
//! Why the cursor lags: ids are handed out before their transaction commits, so a text
//! with a lower id can become visible after a higher one (two gateways storing at once,
//! or two daemons). The cursor therefore never passes a row younger than [`SETTLE`]; rows
//! behind it are read again on the next pass, which costs a conflicting insert and
//! nothing else. A text sent through the API is judged for good once it is delivered or
//! failed, or once it has stayed `sent` longer than [`SENT_HORIZON`] (its gateway gets no
//! status reports, or they were lost): no event will come for it.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::data::{self, ApiTextRow, Cursor, InboundRow};
use super::{ReceivedTexts, Webhook, WebhookEvent, Webhooks};
use crate::sends::CampaignState;
use crate::AlertError;

/// How old a row must be before a cursor may pass it (see the module's doc).
pub const SETTLE: TimeDelta = TimeDelta::seconds(30);

/// How long a text may stay `sent` before no delivered or failed event is expected for
/// it: past the longest status report window a gateway is likely to use (3 days by
/// default), with room to spare.
pub const SENT_HORIZON: TimeDelta = TimeDelta::days(7);

/// Rows read per webhook and table in one pass.
const BATCH: i64 = 500;

/// What the enqueuer makes of one text for one webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Post this event.
    Event(WebhookEvent),
    /// No event, ever.
    Nothing,
    /// Not yet known: look again on a later pass.
    Undecided,
}

/// Judges a received text for `webhook` at `now`. In `unattended` mode a text is
/// attended when a librarian's client received it (`delivered_at`) no later than
/// `unattended_after` after it was stored (`received_at`); it is unattended when that
/// moment has passed without one.
pub fn judge_received(
    webhook: &Webhook,
    gateway: &str,
    received_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Judgement {
    if !webhook.wants(WebhookEvent::TextReceived) || !webhook.covers(gateway) {
        return Judgement::Nothing;
    }
    match webhook.received {
        ReceivedTexts::All => Judgement::Event(WebhookEvent::TextReceived),
        ReceivedTexts::Unattended => {
            let deadline = received_at + webhook.unattended_after;
            if delivered_at.is_some_and(|at| at <= deadline) {
                Judgement::Nothing
            } else if now >= deadline {
                Judgement::Event(WebhookEvent::TextReceived)
            } else {
                Judgement::Undecided
            }
        }
    }
}

/// Judges a text sent through the API for `webhook` at `now` from its outbox state (the
/// same column `GET /api/v1/texts/{id}` reports).
pub fn judge_api_text(
    webhook: &Webhook,
    gateway: &str,
    state: &str,
    sent_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Judgement {
    let event = match state {
        "delivered" => WebhookEvent::TextDelivered,
        "failed" => WebhookEvent::TextFailed,
        "sent" if sent_at.is_some_and(|at| now - at > SENT_HORIZON) => return Judgement::Nothing,
        _ => return Judgement::Undecided,
    };
    if webhook.wants(event) && webhook.covers(gateway) {
        Judgement::Event(event)
    } else {
        Judgement::Nothing
    }
}

/// Judges a real alert (`kind = 'real'`) for `webhook`: published once it went out; a
/// draft awaiting its second administrator may still go out; refused, expired or
/// interrupted ones never will.
pub fn judge_alert(webhook: &Webhook, state: Option<CampaignState>) -> Judgement {
    if !webhook.wants(WebhookEvent::AlertPublished) {
        return Judgement::Nothing;
    }
    match state {
        Some(CampaignState::Enqueueing | CampaignState::Enqueued) => {
            Judgement::Event(WebhookEvent::AlertPublished)
        }
        Some(CampaignState::AwaitingApproval) => Judgement::Undecided,
        Some(CampaignState::Refused | CampaignState::Expired | CampaignState::Interrupted)
        | None => Judgement::Nothing,
    }
}

/// Where a cursor may move after a pass: past every leading row that is judged for good
/// and older than [`SETTLE`]; `None` when it stays.
fn new_cursor(rows: impl IntoIterator<Item = (i64, bool)>) -> Option<i64> {
    rows.into_iter()
        .take_while(|(_, final_and_settled)| *final_and_settled)
        .map(|(id, _)| id)
        .last()
}

impl Webhooks<'_> {
    /// One pass of the enqueuer over every configured webhook; returns how many
    /// deliveries it added. Safe to run at any time, in any number of daemons.
    pub async fn enqueue(&self) -> Result<usize, AlertError> {
        let mut added = 0;
        for webhook in self.configured() {
            added += self.enqueue_for(webhook).await?;
        }
        Ok(added)
    }

    async fn enqueue_for(&self, webhook: &Webhook) -> Result<usize, AlertError> {
        let database = self.service.database();
        let now = self.service.now();
        let mark = data::ensure_mark(database, &webhook.name, now).await?;
        let mut added = 0;

        if webhook.wants(WebhookEvent::TextReceived) {
            let rows = data::inbound_after(database, mark.inbound_cursor, BATCH).await?;
            let mut judged = Vec::with_capacity(rows.len());
            for row in &rows {
                // A blocked sender's text reaches nobody, other systems included.
                let judgement = if row.blocked_at.is_some() {
                    Judgement::Nothing
                } else {
                    judge_received(
                        webhook,
                        &row.gateway,
                        row.received_at,
                        row.delivered_at,
                        now,
                    )
                };
                if let Judgement::Event(event) = judgement {
                    let payload = received_payload(row).to_string();
                    if data::insert_delivery(
                        database,
                        &webhook.name,
                        event.as_str(),
                        row.id,
                        &payload,
                        now,
                    )
                    .await?
                    {
                        added += 1;
                    }
                }
                let settled = now - row.received_at >= SETTLE;
                judged.push((row.id, judgement != Judgement::Undecided && settled));
            }
            if let Some(to) = new_cursor(judged) {
                data::advance_cursor(database, &webhook.name, Cursor::Inbound, to).await?;
            }
        }

        if webhook.wants(WebhookEvent::TextDelivered) || webhook.wants(WebhookEvent::TextFailed) {
            let rows = data::api_texts_after(database, mark.outbound_cursor, BATCH).await?;
            let mut judged = Vec::with_capacity(rows.len());
            for row in &rows {
                let judgement = judge_api_text(webhook, &row.gateway, &row.state, row.sent_at, now);
                if let Judgement::Event(event) = judgement {
                    let payload = self.api_text_payload(event, row).await?;
                    if data::insert_delivery(
                        database,
                        &webhook.name,
                        event.as_str(),
                        row.outbound_id,
                        &payload.to_string(),
                        now,
                    )
                    .await?
                    {
                        added += 1;
                    }
                }
                let settled = now - row.recorded_at >= SETTLE;
                judged.push((
                    row.outbound_id,
                    judgement != Judgement::Undecided && settled,
                ));
            }
            if let Some(to) = new_cursor(judged) {
                data::advance_cursor(database, &webhook.name, Cursor::Outbound, to).await?;
            }
        }
        if webhook.wants(WebhookEvent::AlertPublished) {
            added += self.enqueue_alerts(webhook, mark.alert_cursor).await?;
        }
        if added > 0 {
            self.service.webhook_wake.notify_one();
        }
        Ok(added)
    }

    /// `alert.published` deliveries for the real alerts after `cursor`. The body is the
    /// alert's CAP message as it was when it went out (a later update is its own message).
    /// An alert that went out is final, so the cursor passes it at once; one awaiting
    /// approval holds the cursor until it is decided.
    async fn enqueue_alerts(&self, webhook: &Webhook, cursor: i64) -> Result<usize, AlertError> {
        let database = self.service.database();
        let now = self.service.now();
        let Some(feeds) = self.service.feeds() else {
            // Checked with the configuration; a feedless service has no sender to name.
            tracing::warn!(webhook = %webhook.name, "alert.published needs [alerts.feed]");
            return Ok(0);
        };
        let mut added = 0;
        let mut judged = Vec::new();
        for id in data::real_alerts_after(database, cursor, BATCH).await? {
            let Some(send) = self.service.campaigns().send(id).await? else {
                continue;
            };
            // A group's message (a closure, the weather) is not a public alert.
            let judgement = if send.audience_group.is_some() {
                Judgement::Nothing
            } else {
                judge_alert(webhook, send.campaign_state)
            };
            if let Judgement::Event(event) = judgement {
                let Some(cap) = feeds.cap(id).await? else {
                    continue;
                };
                let payload = cap.to_xml();
                if data::insert_delivery(database, &webhook.name, event.as_str(), id, &payload, now)
                    .await?
                {
                    added += 1;
                }
            }
            let settled = now - send.confirmed_at >= SETTLE;
            judged.push((id, judgement != Judgement::Undecided && settled));
        }
        if let Some(to) = new_cursor(judged) {
            data::advance_cursor(database, &webhook.name, Cursor::Alert, to).await?;
        }
        Ok(added)
    }

    /// The body of a `text.delivered` or `text.failed` post: what the status endpoint
    /// says, with the caller's idempotency key.
    async fn api_text_payload(
        &self,
        event: WebhookEvent,
        row: &ApiTextRow,
    ) -> Result<serde_json::Value, AlertError> {
        let store = self.service.store();
        let text = store
            .outbound(row.outbound_id)
            .await?
            .ok_or_else(|| AlertError::Internal(format!("text {} vanished", row.outbound_id)))?;
        let parts_sent = store.sent_parts(row.outbound_id).await?.len();
        Ok(json!({
            "event": event.as_str(),
            "id": text.id,
            "key": row.client_key,
            "gateway": text.gateway,
            "to": text.recipient,
            "state": text.state.as_str(),
            "parts": row.parts,
            "parts_sent": parts_sent,
            "attempts": text.attempts,
            "error": text.last_error,
            "created_at": text.created_at,
            "sent_at": text.sent_at,
            "finished_at": text.finished_at,
        }))
    }
}

/// Says why a received text's body is missing, when it is.
pub const TEXT_ERASED: &str = "The store no longer has this text's body: the gateway keeps no transcripts and a librarian received it, or staff deleted the transcript.";

/// The body of a `text.received` post. The body is copied now because the store erases
/// it once a librarian receives the text (unless the gateway keeps transcripts).
fn received_payload(row: &InboundRow) -> serde_json::Value {
    let mut payload = json!({
        "event": WebhookEvent::TextReceived.as_str(),
        "inbound_id": row.id,
        "gateway": row.gateway,
        "from": row.sender,
        "text": row.body,
        "received_at": row.received_at,
        "delivered_to_librarian_at": row.delivered_at,
    });
    if row.body.is_none() {
        payload["text_missing"] = json!(TEXT_ERASED);
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_alerts_that_went_out_are_published_and_a_draft_waits() {
        let mut hook = webhook(ReceivedTexts::All);
        let published = Judgement::Event(WebhookEvent::AlertPublished);
        assert_eq!(
            judge_alert(&hook, Some(CampaignState::Enqueueing)),
            published
        );
        assert_eq!(judge_alert(&hook, Some(CampaignState::Enqueued)), published);
        assert_eq!(
            judge_alert(&hook, Some(CampaignState::AwaitingApproval)),
            Judgement::Undecided
        );
        for never in [
            CampaignState::Refused,
            CampaignState::Expired,
            CampaignState::Interrupted,
        ] {
            assert_eq!(judge_alert(&hook, Some(never)), Judgement::Nothing);
        }
        hook.events = vec![WebhookEvent::TextReceived];
        assert_eq!(
            judge_alert(&hook, Some(CampaignState::Enqueued)),
            Judgement::Nothing
        );
    }

    fn webhook(received: ReceivedTexts) -> Webhook {
        Webhook {
            name: "ils".into(),
            url: "https://ils.example/hook".into(),
            secret: "s".into(),
            events: WebhookEvent::ALL.to_vec(),
            gateways: Some(vec!["main".into()]),
            received,
            unattended_after: TimeDelta::seconds(60),
        }
    }

    #[test]
    fn received_texts_are_judged_at_their_deadline() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let at = |s: i64| t0 + TimeDelta::seconds(s);
        let w = webhook(ReceivedTexts::Unattended);
        let cases = [
            ("waiting", judge_received(&w, "main", t0, None, at(59))),
            ("unattended", judge_received(&w, "main", t0, None, at(60))),
            (
                "attended in time",
                judge_received(&w, "main", t0, Some(at(60)), at(61)),
            ),
            (
                "attended before the deadline",
                judge_received(&w, "main", t0, Some(at(5)), at(6)),
            ),
            (
                "attended late",
                judge_received(&w, "main", t0, Some(at(61)), at(90)),
            ),
            (
                "other gateway",
                judge_received(&w, "other", t0, None, at(90)),
            ),
            (
                "all",
                judge_received(&webhook(ReceivedTexts::All), "main", t0, Some(at(1)), at(1)),
            ),
        ];
        let shown: Vec<String> = cases.iter().map(|(n, j)| format!("{n}: {j:?}")).collect();
        expect_test::expect![[r#"
            waiting: Undecided
            unattended: Event(TextReceived)
            attended in time: Nothing
            attended before the deadline: Nothing
            attended late: Event(TextReceived)
            other gateway: Nothing
            all: Event(TextReceived)"#]]
        .assert_eq(&shown.join("\n"));
    }

    #[test]
    fn api_texts_are_judged_by_their_final_state() {
        let now = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(30);
        let w = webhook(ReceivedTexts::Unattended);
        let mut only_failed = w.clone();
        only_failed.events = vec![WebhookEvent::TextFailed];
        let cases = [
            ("queued", judge_api_text(&w, "main", "queued", None, now)),
            (
                "sent now",
                judge_api_text(&w, "main", "sent", Some(now), now),
            ),
            (
                "sent long ago",
                judge_api_text(&w, "main", "sent", Some(now - TimeDelta::days(8)), now),
            ),
            (
                "delivered",
                judge_api_text(&w, "main", "delivered", Some(now), now),
            ),
            ("failed", judge_api_text(&w, "main", "failed", None, now)),
            (
                "delivered, unwanted",
                judge_api_text(&only_failed, "main", "delivered", None, now),
            ),
            (
                "failed, other gateway",
                judge_api_text(&w, "other", "failed", None, now),
            ),
        ];
        let shown: Vec<String> = cases.iter().map(|(n, j)| format!("{n}: {j:?}")).collect();
        expect_test::expect![[r#"
            queued: Undecided
            sent now: Undecided
            sent long ago: Nothing
            delivered: Event(TextDelivered)
            failed: Event(TextFailed)
            delivered, unwanted: Nothing
            failed, other gateway: Nothing"#]]
        .assert_eq(&shown.join("\n"));
    }

    #[test]
    fn a_cursor_stops_at_the_first_open_row() {
        assert_eq!(
            new_cursor([(3, true), (5, true), (6, false), (7, true)]),
            Some(5)
        );
        assert_eq!(new_cursor([(3, false), (5, true)]), None);
        assert_eq!(new_cursor([]), None);
    }
}
