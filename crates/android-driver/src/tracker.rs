//! What the driver knows of its messages on the phone, from webhooks and from polling:
//! the phase of each message a send is waiting on, and the messages sent but not yet
//! delivered, whose delivery reports are looked up when their webhook is late.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Where one of our messages is on the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Queued on the phone (or the server), not yet handed to the network.
    Waiting,
    /// Every part went to the network.
    Sent,
    /// A delivery report came back.
    Delivered,
    /// The phone gave up, in its own words (`TTL expired`, `RESULT_ERROR_…`).
    Failed(String),
}

/// A message sent, whose delivery report has not come yet.
#[derive(Debug, Clone)]
pub struct Unsettled {
    pub recipient: String,
    /// When it was last heard of (sent, or last looked up).
    pub checked: Instant,
    /// When it was sent; after [`GIVE_UP_ON_REPORTS`] nobody looks any more.
    pub sent: Instant,
}

/// How long a delivery report is looked for: networks keep trying a phone that is off for
/// a day or two, and a report after that is of no use to anyone.
pub const GIVE_UP_ON_REPORTS: Duration = Duration::from_secs(48 * 60 * 60);

/// How many ids of messages already settled are remembered, to drop the app's repeated
/// webhooks (a retry after a lost answer) instead of reporting twice.
const SETTLED_MEMORY: usize = 4096;

#[derive(Debug, Default)]
struct State {
    waiting: HashMap<String, watch::Sender<Phase>>,
    unsettled: HashMap<String, Unsettled>,
    settled: VecDeque<String>,
}

/// Shared between the sends, the webhook endpoint and the poller.
#[derive(Debug, Default)]
pub struct Tracker {
    state: Mutex<State>,
}

impl Tracker {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain maps behind; keep using them.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts waiting on `id`; the receiver sees every phase the message reaches.
    pub fn wait_on(&self, id: &str) -> watch::Receiver<Phase> {
        let mut state = self.state();
        state
            .waiting
            .entry(id.to_owned())
            .or_insert_with(|| watch::channel(Phase::Waiting).0)
            .subscribe()
    }

    /// Stops waiting on `id` (the send ended, however).
    pub fn done_waiting(&self, id: &str) {
        self.state().waiting.remove(id);
    }

    /// Records a phase learned from a webhook or a look-up. Returns whether a send was
    /// waiting on the message (then the send reports a failure itself).
    pub fn observe(&self, id: &str, phase: Phase) -> bool {
        let state = self.state();
        match state.waiting.get(id) {
            Some(waiting) => {
                waiting.send_if_modified(|current| {
                    // Phases only move forward: a late `sms:sent` after the delivery
                    // report must not take it back.
                    let forward = matches!(
                        (&*current, &phase),
                        (Phase::Waiting, _) | (Phase::Sent, Phase::Delivered | Phase::Failed(_))
                    );
                    if forward {
                        *current = phase;
                    }
                    forward
                });
                true
            }
            None => false,
        }
    }

    /// A message went to the network: its delivery report is awaited (and looked up when
    /// late).
    pub fn sent(&self, id: &str, recipient: &str) {
        let now = Instant::now();
        self.state().unsettled.insert(
            id.to_owned(),
            Unsettled {
                recipient: recipient.to_owned(),
                checked: now,
                sent: now,
            },
        );
    }

    /// Its final outcome is known (and reported): no more look-ups, and a repeated webhook
    /// about it is dropped. Returns false when it was settled before.
    pub fn settle(&self, id: &str) -> bool {
        let mut state = self.state();
        state.unsettled.remove(id);
        if state.settled.iter().any(|settled| settled == id) {
            return false;
        }
        if state.settled.len() == SETTLED_MEMORY {
            state.settled.pop_front();
        }
        state.settled.push_back(id.to_owned());
        true
    }

    /// Takes back a [`Tracker::settle`] whose outcome could not be recorded, so the app's
    /// next post of it is taken.
    pub fn unsettle(&self, id: &str) {
        self.state().settled.retain(|settled| settled != id);
    }

    /// The messages whose report is late: sent or looked up more than `after` ago. Each is
    /// marked looked-up now; those past [`GIVE_UP_ON_REPORTS`] are forgotten.
    pub fn late(&self, after: Duration) -> Vec<(String, String)> {
        let now = Instant::now();
        let mut state = self.state();
        state
            .unsettled
            .retain(|_, u| now.duration_since(u.sent) < GIVE_UP_ON_REPORTS);
        state
            .unsettled
            .iter_mut()
            .filter(|(_, u)| now.duration_since(u.checked) >= after)
            .map(|(id, u)| {
                u.checked = now;
                (id.clone(), u.recipient.clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_late_sent_does_not_undo_a_delivery() {
        let tracker = Tracker::default();
        let phase = tracker.wait_on("a");
        assert!(tracker.observe("a", Phase::Delivered));
        assert!(tracker.observe("a", Phase::Sent));
        assert_eq!(*phase.borrow(), Phase::Delivered);
        tracker.done_waiting("a");
        assert!(!tracker.observe("a", Phase::Sent));
    }

    #[test]
    fn an_outcome_is_reported_once() {
        let tracker = Tracker::default();
        tracker.sent("a", "+15551230000");
        assert!(tracker.settle("a"));
        assert!(!tracker.settle("a"));
        assert!(tracker.late(Duration::ZERO).is_empty());
    }
}
