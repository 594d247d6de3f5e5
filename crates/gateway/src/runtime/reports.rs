//! Status reports and what follows them: a report is recorded against the part it is about
//! (by its message reference), and the operator who sent the reply gets a receipt when the
//! whole text arrived and they asked for one, or an error when the network gave up on it.
//! Reports that overtook the outbox worker's record of the send are matched again after
//! each send the worker records.

use std::time::Duration;

use textgate_core::PatronAddress;
use textgate_store::{DeliveryReceipt, PartOutcome};
use textgate_xmpp::{ErrorCondition, Outgoing, ReplyError};
use tokio::time::Instant;

use super::Runtime;
use crate::outbox;

/// How many unmatched status reports are kept, and for how long.
pub(super) const UNMATCHED_REPORTS: usize = 256;
const UNMATCHED_REPORT_AGE: Duration = Duration::from_secs(300);

pub(super) struct ReportedWhileSending {
    outbound: i64,
    mr: u8,
    seq: u8,
    /// A report said a part failed: the network gave up on the reply.
    part_failed: bool,
}

pub(super) struct UnmatchedReport {
    pub(super) reference: u8,
    pub(super) outcome: PartOutcome,
    pub(super) received: Instant,
}

impl Runtime {
    /// Tries the status reports that matched nothing again, after a send was recorded.
    pub(super) async fn rematch_reports(&mut self) {
        self.complete_reported_while_sending().await;
        let window = chrono::Duration::from_std(self.settings.status_report_window)
            .unwrap_or(chrono::Duration::days(3));
        let name = self.settings.name.clone();
        let waiting = std::mem::take(&mut self.unmatched_reports);
        for report in waiting {
            if report.received.elapsed() > UNMATCHED_REPORT_AGE {
                tracing::info!(gateway = %name, mr = report.reference, "status report for no known part");
                continue;
            }
            match self
                .store
                .record_status_report(&name, report.reference, &report.outcome, window)
                .await
            {
                Ok(Some(matched)) => {
                    let failed = matches!(report.outcome, PartOutcome::Failed { .. });
                    self.on_report(matched, report.reference, failed).await;
                }
                Ok(None) => self.unmatched_reports.push_back(report),
                Err(e) => {
                    tracing::warn!(gateway = %name, mr = report.reference, error = %e, "could not record a status report");
                    self.unmatched_reports.push_back(report);
                }
            }
        }
    }

    /// Reads again the replies a report matched while they were being sent: one whose send
    /// is now recorded as delivered or failed gets its receipt or error; one still queued
    /// or being sent waits for the next send; one only sent waits for its other reports,
    /// which match by themselves.
    async fn complete_reported_while_sending(&mut self) {
        use textgate_store::OutboundState;
        for waiting in std::mem::take(&mut self.reported_while_sending) {
            match self.store.outbound(waiting.outbound).await {
                Ok(Some(text)) => match text.state {
                    // Failed with only good reports: the worker failed it and told the
                    // operator itself.
                    OutboundState::Failed if !waiting.part_failed => {}
                    OutboundState::Delivered | OutboundState::Failed => {
                        let matched = textgate_store::StatusReportMatch {
                            outbound_id: text.id,
                            seq: waiting.seq,
                            recipient: text.recipient,
                            sender_jid: text.sender_jid,
                            xmpp_id: text.xmpp_id,
                            receipt: text.receipt,
                            state: text.state,
                        };
                        self.on_report(matched, waiting.mr, waiting.part_failed)
                            .await;
                    }
                    OutboundState::Queued | OutboundState::Sending => {
                        self.reported_while_sending.push_back(waiting);
                    }
                    OutboundState::Sent => {}
                },
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(gateway = %self.name(), outbound = waiting.outbound, mr = waiting.mr, error = %e, "could not read a reply's state after its send");
                    self.reported_while_sending.push_back(waiting);
                }
            }
        }
    }

    /// A status report matched the part sent with reference `mr`: the operator gets a
    /// receipt when the whole text arrived and asked for one, or an error when it failed.
    pub(super) async fn on_report(
        &mut self,
        matched: textgate_store::StatusReportMatch,
        mr: u8,
        part_failed: bool,
    ) {
        use textgate_store::OutboundState;
        tracing::Span::current().record("outbound", matched.outbound_id);
        tracing::info!(
            gateway = %self.name(), mr, outbound = matched.outbound_id, seq = matched.seq,
            stanza = matched.xmpp_id.as_deref(), state = ?matched.state, "status report matched"
        );
        if matches!(
            matched.state,
            OutboundState::Delivered | OutboundState::Failed
        ) {
            // Its outcome is told now; nothing more to wait for.
            self.reported_while_sending
                .retain(|w| w.outbound != matched.outbound_id);
        }
        match matched.state {
            OutboundState::Delivered => self.send_receipt(matched).await,
            OutboundState::Sending => {
                let known = self
                    .reported_while_sending
                    .iter_mut()
                    .find(|w| w.outbound == matched.outbound_id);
                if let Some(known) = known {
                    known.part_failed |= part_failed;
                } else {
                    if self.reported_while_sending.len() >= UNMATCHED_REPORTS {
                        self.reported_while_sending.pop_front();
                    }
                    self.reported_while_sending.push_back(ReportedWhileSending {
                        outbound: matched.outbound_id,
                        mr,
                        seq: matched.seq,
                        part_failed,
                    });
                }
            }
            OutboundState::Failed => {
                let Some(sender) = matched.sender_jid.filter(|s| outbox::is_operator_jid(s)) else {
                    return;
                };
                let patron = PatronAddress::from_sender(&matched.recipient, self.settings.region);
                let stanza = matched.xmpp_id.clone();
                let error = ReplyError {
                    to: sender,
                    patron: patron.clone(),
                    id: matched.xmpp_id,
                    condition: ErrorCondition::RecipientUnavailable,
                    text: format!(
                        "The SMS to {} was not delivered: the network gave up.",
                        patron.as_str()
                    ),
                };
                match self.xmpp.send(Outgoing::Error(error)).await {
                    Ok(()) => {
                        tracing::info!(gateway = %self.name(), outbound = matched.outbound_id, stanza, "delivery failure reported to the operator");
                    }
                    Err(e) => {
                        tracing::warn!(gateway = %self.name(), outbound = matched.outbound_id, stanza, error = %e, "delivery failure not reported");
                    }
                }
            }
            _ => {}
        }
    }

    /// A reply reached the phone: the operator gets the receipt they asked for, from the
    /// patron's JID and on their message's id. Everything it needs comes from the store, so
    /// a reply queued before a restart, or by another daemon on the same database, gets
    /// its receipt as well.
    async fn send_receipt(&self, matched: textgate_store::StatusReportMatch) {
        if matched.receipt != DeliveryReceipt::Requested {
            return;
        }
        let (Some(to), Some(id)) = (
            matched.sender_jid.filter(|s| outbox::is_operator_jid(s)),
            matched.xmpp_id,
        ) else {
            return;
        };
        // The number was enqueued from the patron's address, so this gives it back as it was.
        let patron = PatronAddress::from_sender(&matched.recipient, self.settings.region);
        let stanza = id.clone();
        match self.xmpp.send(Outgoing::Receipt { to, patron, id }).await {
            Ok(()) => {
                tracing::info!(gateway = %self.name(), outbound = matched.outbound_id, stanza, "receipt sent to the operator");
            }
            Err(e) => {
                tracing::warn!(gateway = %self.name(), outbound = matched.outbound_id, stanza, error = %e, "receipt not sent");
            }
        }
    }
}
