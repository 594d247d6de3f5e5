//! The outbox worker of one gateway: leases due replies from the store, segments them, sends
//! them through the driver, and carries out what follows. A send the network accepted is
//! recorded with each part's message reference (status reports are matched to them) and,
//! when it took several SMS, the operator gets a one-line notice. A retryable failure goes
//! back to the queue with exponential backoff; a final failure, or the last allowed attempt,
//! becomes an XMPP error on the operator's original message, so a librarian never believes
//! a text was sent when it was not. What the operator is told is worded by
//! [`OperatorNotices`](crate::notices::OperatorNotices) from the reply's row; receipts and
//! the network's failures come later, from status reports, which the runtime matches (the
//! worker tells it, through [`RecordedSends`](crate::report_matcher::RecordedSends), each
//! time it recorded a send a waiting report may now match).
//!
//! The worker waits without polling: on the store's outbound signal (new work), until the
//! next due time (a retry or an expired lease), or for shutdown.
//!
//! Each part of a long text is sent once. The worker records every part's message
//! reference the moment the network accepted it (the driver reports parts one by one
//! while keeping the radio link open between them), and a text taken up again (after a
//! restart, a lost lease or a later part's retryable failure) sends only the parts the
//! store has no reference for, under the same concatenation reference, so the phone joins
//! old and new parts into one text. When the daemon stops mid-send, the part already
//! handed to the modem may finish (for `stop_grace`), no further part starts, and the text
//! goes back to the queue for the restarted daemon to finish. A part whose outcome is still
//! unknown when the grace runs out is given back unrecorded: that one part may reach the
//! phone twice, which textgate prefers to losing it.
//!
//! The worker is split in three files: `parts.rs` builds a reply's SMS parts and keeps the
//! log of those the network accepted (what makes each part go out once), `worker.rs` is the
//! task that leases, sends, records and retries, and `completions.rs` records finished
//! sends, those of workers side by side together in one transaction.

mod completions;
mod parts;
mod worker;

use std::time::Duration;

use textgate_modem::ErrorClass;

/// Where these lived before [`OperatorNotices`](crate::notices::OperatorNotices) composed
/// what operators are told.
pub use crate::notices::{bare_of, is_operator_jid};
pub use completions::Completions;
pub use parts::{build_sms, unsent_parts, Unsent};
pub use worker::OutboxWorker;

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

/// The worker against a real store and a modem double.
#[cfg(test)]
mod worker_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::OutboxPolicy;

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
}
