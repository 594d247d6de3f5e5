//! The outbox worker of one gateway: leases due replies from the store, segments them, sends
//! them through the driver, and carries out what follows. A send the network accepted is
//! recorded with each part's message reference (status reports are matched to them) and,
//! when it took several SMS, the operator gets a one-line notice. A retryable failure goes
//! back to the queue with exponential backoff; a final failure, or the last allowed attempt,
//! becomes an XMPP error on the operator's original message, so a librarian never believes
//! a text was sent when it was not.
//!
//! The worker waits without polling: on the store's outbound signal (new work), until the
//! next due time (a retry or an expired lease), or for shutdown. A text being sent when the
//! daemon stops is given back to the queue at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use textgate_at::ErrorClass;
use textgate_core::{BareJid, PatronAddress};
use textgate_gsm::pdu::Address;
use textgate_gsm::segment::{Segmenter, StatusReportRequest, SubmitOptions};
use textgate_modem::{OutgoingSms, SendError, SmsDriver};
use textgate_store::{Lease, LeasedOutbound, SentPart, Store, StoreError};
use textgate_telemetry::{Metrics, SendFailure};
use textgate_xmpp::{
    ComponentHandle, ErrorCondition, Notice, NoticeSender, Outgoing, ReceiptRequest, ReplyError,
};
use tokio::sync::{mpsc, watch};

use crate::hooks;
use crate::settings::GatewaySettings;

/// How long to wait before trying again after the store itself failed.
const STORE_RETRY: Duration = Duration::from_secs(2);
/// A floor on the wait between looks at the outbox, so a due text that cannot be leased
/// (another daemon holds its row lock) does not spin the worker.
const MIN_WAIT: Duration = Duration::from_millis(50);

/// What the runtime remembers about an operator's reply until its status report arrives:
/// whether a receipt was asked for (the store does not keep that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyContext {
    /// The full JID the reply came from.
    pub from: String,
    pub patron: PatronAddress,
    pub id: Option<String>,
    pub receipt: ReceiptRequest,
}

/// Replies in flight, by outbound id, shared by the runtime (which adds them and answers
/// status reports) and the worker (which forgets failed ones).
pub type Replies = Arc<Mutex<HashMap<i64, ReplyContext>>>;

/// The `from` of texts the gateway itself sends (a missed call's auto-reply): no operator
/// hears about their fate.
pub fn is_operator_jid(sender_jid: &str) -> bool {
    sender_jid.contains('@')
}

/// The bare JID of a full JID as the store keeps it.
pub fn bare_of(full: &str) -> Option<BareJid> {
    let bare = full.split_once('/').map_or(full, |(bare, _)| bare);
    BareJid::new(bare).ok()
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryIn(Duration),
    GiveUp,
}

/// Decides between retrying and giving up after attempt number `attempts` failed.
pub fn after_failure(
    class: ErrorClass,
    attempts: u32,
    policy: &crate::settings::OutboxPolicy,
) -> AfterFailure {
    if attempts >= policy.max_attempts {
        return AfterFailure::GiveUp;
    }
    match class {
        ErrorClass::Retryable => AfterFailure::RetryIn(policy.retry_delay(attempts)),
        // The SIM needs a person; the text waits for them, as long as the attempts last.
        ErrorClass::NeedsOperator => AfterFailure::RetryIn(policy.max_backoff),
        ErrorClass::Final => AfterFailure::GiveUp,
    }
}

/// Builds the SMS-SUBMIT parts of a reply. The concatenation reference comes from the
/// outbound id, so a retry of the same text reuses it.
pub fn build_sms(
    segmenter: &Segmenter,
    recipient: &str,
    body: &str,
    outbound_id: i64,
) -> Result<OutgoingSms, String> {
    let address = Address::from_number(recipient)
        .map_err(|e| format!("{recipient} cannot receive texts: {e}"))?;
    let options = SubmitOptions {
        status_report: StatusReportRequest::Requested,
        ..SubmitOptions::default()
    };
    let reference = (outbound_id & 0xFFFF) as u16;
    let pdus = segmenter
        .submit_pdus(body, reference, &address, &options)
        .map_err(|e| e.to_string())?;
    OutgoingSms::from_pdus(&pdus).map_err(|e| format!("the text cannot be encoded: {e}"))
}

/// Whether the worker goes on.
enum Flow {
    Continue,
    Stopped,
}

/// The worker of one gateway's outbox.
pub struct OutboxWorker {
    pub settings: Arc<GatewaySettings>,
    pub store: Store,
    pub driver: Arc<dyn SmsDriver>,
    pub xmpp: ComponentHandle,
    pub replies: Replies,
    pub segmenter: Segmenter,
    /// The lease owner's name in the store (gateway, process and a random suffix).
    pub worker_id: String,
    /// Told after each send the store recorded, so status reports that overtook the
    /// record (a fast network answers before the commit) are matched again.
    pub sent: mpsc::UnboundedSender<()>,
    pub metrics: Metrics,
}

impl OutboxWorker {
    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let name = self.settings.name.clone();
        while !*shutdown.borrow() {
            // Subscribe before looking for work, so work enqueued in between wakes us.
            let mut signal = match self.store.outbound_signal(&name).await {
                Ok(signal) => signal,
                Err(e) => {
                    tracing::warn!(gateway = %name, error = %e, "cannot listen for outbound work");
                    if wait_or_stop(STORE_RETRY, &mut shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            loop {
                // Every change to the outbox passes through here: an enqueue wakes this
                // loop, and each send, retry or failure comes back to it.
                self.report_depth().await;
                match self.take_one(&mut shutdown).await {
                    Ok(Some(Flow::Continue)) => continue,
                    Ok(Some(Flow::Stopped)) => return,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(gateway = %name, error = %e, "outbox: store failed");
                        if wait_or_stop(STORE_RETRY, &mut shutdown).await {
                            return;
                        }
                        break;
                    }
                }
                let wait = match self.store.next_outbound_due(&name).await {
                    Ok(Some(due)) => (due - Utc::now())
                        .to_std()
                        .unwrap_or_default()
                        .max(MIN_WAIT),
                    Ok(None) => Duration::from_secs(24 * 3600),
                    Err(e) => {
                        tracing::warn!(gateway = %name, error = %e, "outbox: store failed");
                        STORE_RETRY
                    }
                };
                tokio::select! {
                    woke = signal.notified() => {
                        if let Err(e) = woke {
                            tracing::warn!(gateway = %name, error = %e, "outbound signal lost; listening again");
                            break;
                        }
                    }
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }

    /// Sets the `textgate_outbox_depth` gauge from the store. A failed count leaves the
    /// gauge as it was: the next pass through the loop tries again.
    async fn report_depth(&self) {
        let gateway = &self.settings.name;
        match self.store.outbox_depth(gateway).await {
            Ok(depth) => self.metrics.set_outbox_depth(gateway, depth),
            Err(e) => tracing::debug!(gateway = %gateway, error = %e, "cannot count the outbox"),
        }
    }

    /// Leases and sends one due text. `None` when nothing is due.
    async fn take_one(
        &self,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<Flow>, StoreError> {
        let mut leased = self
            .store
            .lease_due(
                &self.settings.name,
                &self.worker_id,
                1,
                chrono::Duration::from_std(self.settings.outbox.lease)
                    .unwrap_or(chrono::Duration::minutes(10)),
            )
            .await?;
        let Some(one) = leased.pop() else {
            return Ok(None);
        };
        self.send(one, shutdown).await.map(Some)
    }

    async fn send(
        &self,
        leased: LeasedOutbound,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Flow, StoreError> {
        let LeasedOutbound { lease, text } = leased;
        let gateway = &self.settings.name;
        let Some(body) = text.body.clone() else {
            self.fail(&lease, &text, "the text was erased before it could be sent")
                .await?;
            self.metrics.send_failed(gateway, SendFailure::Other);
            return Ok(Flow::Continue);
        };
        let sms = match build_sms(&self.segmenter, &text.recipient, &body, text.id) {
            Ok(sms) => sms,
            Err(reason) => {
                self.fail(&lease, &text, &reason).await?;
                // The number or the text is unusable (the segmenter refuses what exceeds
                // max_parts, which the runtime already refused before queueing).
                let failure = if Address::from_number(&text.recipient).is_err() {
                    SendFailure::BadRecipient
                } else {
                    SendFailure::TooLong
                };
                self.metrics.send_failed(gateway, failure);
                return Ok(Flow::Continue);
            }
        };
        let parts = sms.parts.len();
        let result = tokio::select! {
            result = self.driver.send(sms) => result,
            _ = shutdown.changed() => {
                // The modem may or may not have sent it; giving it back means a possible
                // duplicate after the restart rather than a lost reply.
                self.store
                    .mark_retry(&lease, "the daemon stopped while sending", Utc::now())
                    .await?;
                return Ok(Flow::Stopped);
            }
        };
        match result {
            Ok(references) => {
                let sent: Vec<SentPart> = references
                    .iter()
                    .zip(1u8..)
                    .map(|(r, seq)| SentPart {
                        seq,
                        message_ref: r.0,
                    })
                    .collect();
                self.store.mark_sent(&lease, &sent).await?;
                let _ = self.sent.send(());
                tracing::info!(gateway = %gateway, outbound = text.id, parts, "reply sent");
                self.metrics
                    .text_out(gateway, u32::try_from(parts).unwrap_or(u32::MAX));
                if parts > 1 {
                    self.notify_multipart(&text, parts).await;
                }
            }
            Err(error) => self.failed_attempt(&lease, &text, &error).await?,
        }
        Ok(Flow::Continue)
    }

    async fn failed_attempt(
        &self,
        lease: &Lease,
        text: &textgate_store::OutboundText,
        error: &SendError,
    ) -> Result<(), StoreError> {
        let attempts = u32::try_from(text.attempts).unwrap_or(u32::MAX);
        match after_failure(error.class(), attempts, &self.settings.outbox) {
            AfterFailure::RetryIn(delay) => {
                tracing::warn!(
                    gateway = %self.settings.name, outbound = text.id, attempts,
                    error = %error, retry_in = ?delay, "sending failed; will retry"
                );
                let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                self.store.mark_retry(lease, &error.to_string(), at).await
            }
            AfterFailure::GiveUp => {
                self.metrics
                    .send_failed(&self.settings.name, hooks::failure_reason(error));
                let reason = format!("after {attempts} attempt(s): {error}");
                self.fail(lease, text, &reason).await
            }
        }
    }

    /// Gives up on a text and tells the operator on their original message.
    async fn fail(
        &self,
        lease: &Lease,
        text: &textgate_store::OutboundText,
        reason: &str,
    ) -> Result<(), StoreError> {
        tracing::warn!(gateway = %self.settings.name, outbound = text.id, reason, "reply failed");
        self.store.mark_failed(lease, reason).await?;
        let context = self.forget(text.id);
        let Some(sender) = text.sender_jid.clone().filter(|s| is_operator_jid(s)) else {
            return Ok(());
        };
        let patron = context
            .as_ref()
            .map(|c| c.patron.clone())
            .unwrap_or_else(|| PatronAddress::from_sender(&text.recipient, self.settings.region));
        let error = ReplyError {
            to: sender,
            patron: patron.clone(),
            id: text.xmpp_id.clone(),
            condition: ErrorCondition::RecipientUnavailable,
            text: format!("The SMS to {} was not sent: {reason}", patron.as_str()),
        };
        if let Err(e) = self.xmpp.send(Outgoing::Error(error)).await {
            tracing::warn!(gateway = %self.settings.name, error = %e, "could not report a failed reply");
        }
        Ok(())
    }

    async fn notify_multipart(&self, text: &textgate_store::OutboundText, parts: usize) {
        let Some(body) = self.settings.multipart_notice(parts) else {
            return;
        };
        let Some(operator) = text.sender_jid.as_deref().and_then(bare_of) else {
            return;
        };
        let patron = PatronAddress::from_sender(&text.recipient, self.settings.region);
        let notice = Notice {
            from: NoticeSender::Patron(patron),
            to: operator,
            body,
        };
        if let Err(e) = self.xmpp.send(Outgoing::Notice(notice)).await {
            tracing::debug!(gateway = %self.settings.name, error = %e, "multipart notice not sent");
        }
    }

    fn forget(&self, id: i64) -> Option<ReplyContext> {
        self.replies.lock().ok().and_then(|mut map| map.remove(&id))
    }
}

/// Waits `duration`; true when shutdown was asked for meanwhile.
async fn wait_or_stop(duration: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::OutboxPolicy;
    use textgate_gsm::pdu::{Pdu, SmscField, Tpdu};
    use textgate_gsm::segment::SegmenterConfig;

    #[test]
    fn failures_retry_until_the_attempts_run_out() {
        let policy = OutboxPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(600),
            ..OutboxPolicy::default()
        };
        let decisions: Vec<AfterFailure> = [
            (ErrorClass::Retryable, 1),
            (ErrorClass::Retryable, 2),
            (ErrorClass::Retryable, 3),
            (ErrorClass::Final, 1),
            (ErrorClass::NeedsOperator, 1),
        ]
        .into_iter()
        .map(|(class, attempts)| after_failure(class, attempts, &policy))
        .collect();
        assert_eq!(
            decisions,
            [
                AfterFailure::RetryIn(Duration::from_secs(10)),
                AfterFailure::RetryIn(Duration::from_secs(20)),
                AfterFailure::GiveUp,
                AfterFailure::GiveUp,
                AfterFailure::RetryIn(Duration::from_secs(600)),
            ]
        );
    }

    #[test]
    fn sms_parts_ask_for_status_reports_and_share_a_reference() {
        let segmenter = Segmenter::new(SegmenterConfig::default());
        let sms = build_sms(&segmenter, "+15551234567", &"a".repeat(200), 0x1_0203).unwrap();
        let summary: Vec<String> = sms
            .parts
            .iter()
            .map(|part| {
                let pdu = Pdu::decode(&part.pdu, SmscField::Present).unwrap();
                let Tpdu::Submit(submit) = pdu.tpdu else {
                    panic!("not a SUBMIT")
                };
                let c = submit
                    .user_data
                    .header
                    .and_then(|h| h.concatenation())
                    .unwrap();
                format!(
                    "to {} report {} ref {} part {}/{}",
                    submit.recipient.number,
                    submit.status_report_request,
                    c.reference,
                    c.sequence,
                    c.total
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "to +15551234567 report true ref 3 part 1/2",
                "to +15551234567 report true ref 3 part 2/2",
            ]
        );
        assert!(build_sms(&segmenter, "InfoSMS", "hi", 1).is_err());
    }

    #[test]
    fn bare_jids_of_senders() {
        assert_eq!(
            bare_of("alice@library.test/phone").map(|j| j.as_str().to_owned()),
            Some("alice@library.test".to_owned())
        );
        assert!(is_operator_jid("alice@library.test/phone"));
        assert!(!is_operator_jid("sms.library.test"));
    }
}
