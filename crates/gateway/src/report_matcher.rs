//! Status reports that arrive before the store can say what they are about, without I/O.
//!
//! The outbox worker records each part's message reference the moment the network accepts
//! it, and the runtime matches a status report to a part by that reference. On a fast
//! network the two race in two ways, and [`ReportMatcher`] remembers both until the next
//! send the worker records:
//!
//! - a report can overtake the record of its part, so the store matches it to nothing: it
//!   is kept as an unmatched report (a bounded number, for a bounded time) and tried again;
//! - a report can match a part of a reply that is still being sent: only the store's record
//!   of the whole send says whether the reply arrived, so the reply is remembered and its
//!   row read again, and the operator is told only once the row is final.
//!
//! What the operator is told comes from the reply's row alone (see
//! [`OperatorNotices`](crate::notices::OperatorNotices)); the matcher only decides when, so
//! a report matched by another daemon, or after a restart, needs nothing from here. The
//! runtime does the store calls and asks the matcher what follows from their answers.

use std::collections::VecDeque;
use std::time::Duration;

use textgate_modem::MessageReference;
use textgate_store::{OutboundState, PartOutcome};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How many unmatched reports, and replies reported while being sent, are kept: a reply
/// has at most a few parts, so this is far more than a burst of sends can leave waiting.
const KEPT: usize = 256;
/// How long an unmatched report is tried again before it is given up: a part's record
/// follows its acceptance by the network within moments, not minutes.
const UNMATCHED_REPORT_AGE: Duration = Duration::from_secs(300);

/// A status report the store matched to no sent part yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmatchedReport {
    /// The reference the report names its part by: a TP-MR, or a message centre's id.
    pub reference: MessageReference,
    pub outcome: PartOutcome,
    /// Its row in the store, kept so a restart does not lose it; `None` when the store
    /// could not keep it (it then lives in this daemon's memory only).
    pub kept: Option<i64>,
    received: Instant,
}

impl UnmatchedReport {
    /// Whether it waited too long for its part's record to be tried again at `now`.
    pub fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.received) > UNMATCHED_REPORT_AGE
    }
}

/// A reply a status report matched while it was still being sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedWhileSending {
    pub outbound: i64,
    /// The message reference and part number of the (first) report, for the log.
    pub mr: MessageReference,
    pub seq: u8,
    /// A report said a part failed: the network gave up on the reply.
    pub part_failed: bool,
}

/// What the operator who sent a reply is to be told after a report matched it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tell {
    /// The whole reply reached the phone: the receipt, if they asked for one.
    Receipt,
    /// The network gave up on the reply: an error on their message.
    DeliveryFailure,
    /// Nothing yet (other parts are outstanding, or the reply is still being sent).
    Nothing,
}

/// What follows from a reported-while-sending reply's row, read again after a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSend {
    /// The row is final: handle the report as if it matched now.
    Tell,
    /// Still queued or being sent: read it again after the next send.
    Wait,
    /// Nothing more to do here: the reply is sent and its other reports match by
    /// themselves, or the worker failed it and told the operator itself.
    Done,
}

/// Keeps unmatched and early status reports until a recorded send lets them match.
#[derive(Debug, Default)]
pub struct ReportMatcher {
    unmatched: VecDeque<UnmatchedReport>,
    while_sending: VecDeque<ReportedWhileSending>,
}

impl ReportMatcher {
    pub fn new() -> ReportMatcher {
        ReportMatcher::default()
    }

    /// Keeps a report the store matched to nothing, received at `received` (its row in the
    /// store is `kept`); beyond `KEPT` the oldest is dropped and returned, for its row to be
    /// forgotten.
    pub fn hold_unmatched(
        &mut self,
        reference: MessageReference,
        outcome: PartOutcome,
        kept: Option<i64>,
        received: Instant,
    ) -> Option<UnmatchedReport> {
        let dropped = if self.unmatched.len() >= KEPT {
            self.unmatched.pop_front()
        } else {
            None
        };
        self.unmatched.push_back(UnmatchedReport {
            reference,
            outcome,
            kept,
            received,
        });
        dropped
    }

    /// Takes every unmatched report, oldest first, to be tried again; the ones that still
    /// match nothing come back through [`ReportMatcher::still_unmatched`].
    pub fn take_unmatched(&mut self) -> VecDeque<UnmatchedReport> {
        std::mem::take(&mut self.unmatched)
    }

    /// Keeps a report taken with [`ReportMatcher::take_unmatched`] that matched nothing
    /// again (or could not be tried), behind the others.
    pub fn still_unmatched(&mut self, report: UnmatchedReport) {
        self.unmatched.push_back(report);
    }

    /// A report matched part `seq` of reply `outbound`, whose state after the report is
    /// `state`: says what the operator is told, and remembers a reply still being sent.
    /// Once a reply's state is final, it is no longer remembered: its outcome is told now.
    pub fn matched(
        &mut self,
        outbound: i64,
        state: OutboundState,
        mr: &MessageReference,
        seq: u8,
        part_failed: bool,
    ) -> Tell {
        if matches!(state, OutboundState::Delivered | OutboundState::Failed) {
            self.while_sending.retain(|w| w.outbound != outbound);
        }
        match state {
            OutboundState::Delivered => Tell::Receipt,
            OutboundState::Failed => Tell::DeliveryFailure,
            OutboundState::Sending => {
                let known = self
                    .while_sending
                    .iter_mut()
                    .find(|w| w.outbound == outbound);
                if let Some(known) = known {
                    known.part_failed |= part_failed;
                } else {
                    if self.while_sending.len() >= KEPT {
                        self.while_sending.pop_front();
                    }
                    self.while_sending.push_back(ReportedWhileSending {
                        outbound,
                        mr: mr.clone(),
                        seq,
                        part_failed,
                    });
                }
                Tell::Nothing
            }
            OutboundState::Queued | OutboundState::Sent => Tell::Nothing,
        }
    }

    /// Takes the replies reported while being sent, to read their rows again after a send.
    pub fn take_while_sending(&mut self) -> VecDeque<ReportedWhileSending> {
        std::mem::take(&mut self.while_sending)
    }

    /// What follows for `waiting` now that its row's state is `state`.
    pub fn after_send(waiting: &ReportedWhileSending, state: OutboundState) -> AfterSend {
        match state {
            // Failed with only good reports: the worker failed it and told the operator
            // itself.
            OutboundState::Failed if !waiting.part_failed => AfterSend::Done,
            OutboundState::Delivered | OutboundState::Failed => AfterSend::Tell,
            OutboundState::Queued | OutboundState::Sending => AfterSend::Wait,
            OutboundState::Sent => AfterSend::Done,
        }
    }

    /// Keeps a reply taken with [`ReportMatcher::take_while_sending`] for the next send.
    pub fn wait_again(&mut self, waiting: ReportedWhileSending) {
        self.while_sending.push_back(waiting);
    }
}

/// The outbox worker's word to the runtime that the store recorded a send (one part the
/// network accepted, or a whole reply), so the reports waiting in the [`ReportMatcher`] are
/// tried again.
///
/// A channel, rather than the worker matching the reports itself, because the reports come
/// in on the runtime's task and the matcher has that one owner: a report that matched
/// nothing is held by the same task that later hears of the send, in the order the two
/// happened, so no report can be held just after the rematch that would have found its part.
/// And the worker, which keeps the radio link open between the parts of a long reply, never
/// waits for report matching and the operators' receipts. What the operators are told is
/// composed in one place, [`OperatorNotices`](crate::notices::OperatorNotices), whichever
/// task tells it.
#[derive(Debug, Clone)]
pub struct RecordedSends(mpsc::UnboundedSender<()>);

impl RecordedSends {
    /// The worker's end, and the runtime's end that wakes its loop.
    pub fn channel() -> (RecordedSends, mpsc::UnboundedReceiver<()>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (RecordedSends(sender), receiver)
    }

    /// Tells the runtime a send was recorded.
    pub fn recorded(&self) {
        // The runtime has stopped when nobody listens: then no report waits either.
        let _ = self.0.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpmr(reference: u8) -> MessageReference {
        MessageReference::tpmr(reference)
    }

    fn failed() -> PartOutcome {
        PartOutcome::Failed {
            reason: "the network could not deliver it".into(),
        }
    }

    #[test]
    fn unmatched_reports_are_kept_in_order_bounded_in_number_and_in_age() {
        let start = Instant::now();
        let mut matcher = ReportMatcher::new();
        for reference in 0..=u8::MAX {
            matcher.hold_unmatched(tpmr(reference), PartOutcome::Delivered, None, start);
        }
        let late = start + Duration::from_secs(200);
        matcher.hold_unmatched(tpmr(0), failed(), None, late);
        let waiting = matcher.take_unmatched();
        assert_eq!(waiting.len(), KEPT);
        // The oldest, reference 0, made room for the newest.
        let references: Vec<&str> = waiting.iter().map(|r| r.reference.as_str()).collect();
        assert_eq!(references.first(), Some(&"1"));
        assert_eq!(references.last(), Some(&"0"));
        assert!(matcher.take_unmatched().is_empty());

        let later = start + UNMATCHED_REPORT_AGE + Duration::from_secs(1);
        let expired: Vec<bool> = [waiting.front(), waiting.back()]
            .into_iter()
            .flatten()
            .map(|r| r.expired(later))
            .collect();
        assert_eq!(expired, [true, false]);

        for report in waiting {
            matcher.still_unmatched(report);
        }
        assert_eq!(matcher.take_unmatched().len(), KEPT);
    }

    #[test]
    fn a_report_on_a_reply_being_sent_is_remembered_once_and_forgotten_when_final() {
        let mut matcher = ReportMatcher::new();
        let told = [
            matcher.matched(7, OutboundState::Sending, &tpmr(30), 1, false),
            // A second report on the same reply, a failed part: one entry, and the failure
            // sticks.
            matcher.matched(7, OutboundState::Sending, &tpmr(31), 2, true),
            matcher.matched(7, OutboundState::Sending, &tpmr(32), 3, false),
            matcher.matched(8, OutboundState::Sending, &tpmr(40), 1, false),
            matcher.matched(9, OutboundState::Sent, &tpmr(50), 1, false),
            matcher.matched(10, OutboundState::Queued, &tpmr(60), 1, false),
        ];
        let waiting = matcher.take_while_sending();
        expect_test::expect![[r#"
            [Nothing, Nothing, Nothing, Nothing, Nothing, Nothing]
            [ReportedWhileSending { outbound: 7, mr: MessageReference("30"), seq: 1, part_failed: true }, ReportedWhileSending { outbound: 8, mr: MessageReference("40"), seq: 1, part_failed: false }]"#]]
        .assert_eq(&format!("{told:?}\n{waiting:?}"));

        for reply in waiting {
            matcher.wait_again(reply);
        }
        // Reply 7's row became final (another report made it delivered), reply 8's failed.
        let told = [
            matcher.matched(7, OutboundState::Delivered, &tpmr(33), 3, false),
            matcher.matched(8, OutboundState::Failed, &tpmr(41), 2, true),
        ];
        assert_eq!(told, [Tell::Receipt, Tell::DeliveryFailure]);
        assert!(matcher.take_while_sending().is_empty());
    }

    #[test]
    fn replies_reported_while_sending_are_bounded_in_number() {
        let mut matcher = ReportMatcher::new();
        for outbound in 0..=i64::try_from(KEPT).unwrap_or(i64::MAX) {
            matcher.matched(outbound, OutboundState::Sending, &tpmr(1), 1, false);
        }
        let waiting = matcher.take_while_sending();
        assert_eq!(waiting.len(), KEPT);
        assert_eq!(waiting.front().map(|w| w.outbound), Some(1));
    }

    #[test]
    fn a_reply_read_again_after_a_send_is_told_only_once_its_row_is_final() {
        let states = [
            OutboundState::Queued,
            OutboundState::Sending,
            OutboundState::Sent,
            OutboundState::Delivered,
            OutboundState::Failed,
        ];
        let table: Vec<String> = [false, true]
            .into_iter()
            .flat_map(|part_failed| {
                let waiting = ReportedWhileSending {
                    outbound: 1,
                    mr: tpmr(2),
                    seq: 1,
                    part_failed,
                };
                states.map(|state| {
                    let after = ReportMatcher::after_send(&waiting, state);
                    format!("part_failed={part_failed} {}: {after:?}", state.as_str())
                })
            })
            .collect();
        expect_test::expect![[r#"
            [
                "part_failed=false queued: Wait",
                "part_failed=false sending: Wait",
                "part_failed=false sent: Done",
                "part_failed=false delivered: Tell",
                "part_failed=false failed: Done",
                "part_failed=true queued: Wait",
                "part_failed=true sending: Wait",
                "part_failed=true sent: Done",
                "part_failed=true delivered: Tell",
                "part_failed=true failed: Tell",
            ]
        "#]]
        .assert_debug_eq(&table);
    }
}
