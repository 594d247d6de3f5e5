//! Status reports and what follows them: a report is recorded against the part it is about
//! (by its message reference), and the operator who sent the reply gets a receipt when the
//! whole text arrived and they asked for one, or an error when the network gave up on it
//! (worded by [`OperatorNotices`](crate::notices::OperatorNotices) from the reply's row).
//! Reports that overtook the outbox worker's record of the send wait in the
//! [`ReportMatcher`], which decides what follows; they are matched again after each send the
//! worker records.

use textgate_modem::MessageReference;
use textgate_store::{PartOutcome, StatusReportMatch, StoreError};
use tokio::time::Instant;

use super::Runtime;
use crate::report_matcher::{AfterSend, ReportMatcher, Tell, UnmatchedReport};

impl Runtime {
    /// How long after a send a status report can still be matched to it.
    fn report_window(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.status_report_window)
            .unwrap_or(chrono::Duration::days(3))
    }

    /// Records a status report from the modem (or a message centre's receipt) against the
    /// part sent with `reference`. The outcome comes back as the error when the store
    /// failed: the report then stays with the driver, unacknowledged, and is tried again.
    pub(super) async fn record_report(
        &mut self,
        reference: &MessageReference,
        outcome: PartOutcome,
        recipient: Option<&str>,
    ) -> Result<(), PartOutcome> {
        let name = self.settings.name.clone();
        let window = self.report_window();
        let recorded = self
            .store
            .record_status_report(&name, reference.as_str(), &outcome, window)
            .await;
        match recorded {
            Ok(Some(matched)) => {
                let failed = matches!(outcome, PartOutcome::Failed { .. });
                self.on_report(matched, reference, failed).await;
            }
            Ok(None) => {
                tracing::info!("status report for no known part yet");
                // Kept in the store too: should the daemon stop before the part's record
                // lets it match, the next one still matches it.
                let kept = match self
                    .store
                    .keep_unmatched_report(&name, reference.as_str(), &outcome, recipient)
                    .await
                {
                    Ok(id) => Some(id),
                    Err(e) => {
                        tracing::warn!(mr = %reference, error = %e, "could not keep an unmatched status report; it lives in memory only");
                        None
                    }
                };
                let received = Instant::now();
                let dropped =
                    self.reports
                        .hold_unmatched(reference.clone(), outcome, kept, received);
                if let Some(dropped) = dropped {
                    self.forget_report(&dropped).await;
                }
            }
            Err(e) => {
                tracing::error!(mr = %reference, error = %e, "could not record a status report; not acknowledged, tried again");
                return Err(outcome);
            }
        }
        Ok(())
    }

    /// Tries the status reports that matched nothing again, after a send was recorded.
    pub(super) async fn rematch_reports(&mut self) {
        self.complete_reported_while_sending().await;
        let window = self.report_window();
        let name = self.settings.name.clone();
        for report in self.reports.take_unmatched() {
            if report.expired(Instant::now()) {
                tracing::info!(mr = %report.reference, "status report for no known part");
                self.forget_report(&report).await;
                continue;
            }
            match self
                .store
                .record_status_report(&name, report.reference.as_str(), &report.outcome, window)
                .await
            {
                Ok(Some(matched)) => {
                    self.forget_report(&report).await;
                    let failed = matches!(report.outcome, PartOutcome::Failed { .. });
                    self.on_report(matched, &report.reference, failed).await;
                }
                Ok(None) => self.reports.still_unmatched(report),
                Err(e) => {
                    tracing::warn!(mr = %report.reference, error = %e, "could not record a status report");
                    self.reports.still_unmatched(report);
                }
            }
        }
    }

    /// Reads back the reports a previous run kept unmatched, each on its own clock, and
    /// tries them at once: their parts may have been recorded since.
    pub(super) async fn restore_unmatched_reports(&mut self) -> Result<(), StoreError> {
        let name = self.settings.name.clone();
        let now = Instant::now();
        let kept = self.store.unmatched_reports(&name).await?;
        if kept.is_empty() {
            return Ok(());
        }
        tracing::info!(
            reports = kept.len(),
            "status reports a previous run could not match yet"
        );
        for report in kept {
            let received = super::received_instant(now, report.received_at);
            let dropped = self.reports.hold_unmatched(
                MessageReference::from_stored(report.message_ref),
                report.outcome,
                Some(report.id),
                received,
            );
            if let Some(dropped) = dropped {
                self.forget_report(&dropped).await;
            }
        }
        self.rematch_reports().await;
        Ok(())
    }

    /// Forgets the store's row of a report that matched or aged out. A failure leaves the
    /// row; the next start tries it again and lets it age out.
    async fn forget_report(&self, report: &UnmatchedReport) {
        let Some(id) = report.kept else {
            return;
        };
        if let Err(e) = self.store.forget_unmatched_report(id).await {
            tracing::warn!(mr = %report.reference, error = %e, "could not forget a kept status report");
        }
    }

    /// Reads again the replies a report matched while they were being sent: one whose send
    /// is now recorded as delivered or failed gets its receipt or error; one still queued
    /// or being sent waits for the next send; one only sent waits for its other reports,
    /// which match by themselves.
    async fn complete_reported_while_sending(&mut self) {
        for waiting in self.reports.take_while_sending() {
            match self.store.outbound(waiting.outbound).await {
                Ok(Some(text)) => match ReportMatcher::after_send(&waiting, text.state) {
                    AfterSend::Tell => {
                        let matched = StatusReportMatch {
                            outbound_id: text.id,
                            seq: waiting.seq,
                            recipient: text.recipient,
                            sender_jid: text.sender_jid,
                            xmpp_id: text.xmpp_id,
                            receipt: text.receipt,
                            state: text.state,
                        };
                        self.on_report(matched, &waiting.mr, waiting.part_failed)
                            .await;
                    }
                    AfterSend::Wait => self.reports.wait_again(waiting),
                    AfterSend::Done => {}
                },
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(outbound = waiting.outbound, mr = %waiting.mr, error = %e, "could not read a reply's state after its send");
                    self.reports.wait_again(waiting);
                }
            }
        }
    }

    /// A status report matched the part sent with reference `mr`: the operator gets a
    /// receipt when the whole text arrived and asked for one, or an error when it failed.
    pub(super) async fn on_report(
        &mut self,
        matched: StatusReportMatch,
        mr: &MessageReference,
        part_failed: bool,
    ) {
        tracing::Span::current().record("outbound", matched.outbound_id);
        tracing::info!(
            mr = %mr, outbound = matched.outbound_id, seq = matched.seq,
            stanza = matched.xmpp_id.as_deref(), state = ?matched.state, "status report matched"
        );
        let tell = self.reports.matched(
            matched.outbound_id,
            matched.state,
            mr,
            matched.seq,
            part_failed,
        );
        match tell {
            Tell::Receipt => self.notices.delivered((&matched).into()).await,
            Tell::DeliveryFailure => self.notices.not_delivered((&matched).into()).await,
            Tell::Nothing => {}
        }
    }
}
