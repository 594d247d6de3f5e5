//! What happened during the run, as it happened: when each text was sent, what reached the
//! librarian, which of her replies came back as errors, and her logins. The simulator keeps
//! its own record of what the daemon sent to the network; the report joins the two.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

/// A message with a body that reached the librarian from a patron's JID.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// The patron's number (the local part of the JID it came from).
    pub patron: String,
    pub body: String,
    pub at: Duration,
    /// Whether it carried a delay stamp (it waited in the store).
    pub delayed: bool,
}

/// An error stanza the librarian received.
#[derive(Clone, Debug)]
pub struct Bounce {
    /// The id of the message it is about (a reply's tag, for errors about replies).
    pub id: String,
    pub at: Duration,
    pub stanza: String,
}

#[derive(Default)]
struct Entries {
    /// Tag -> when the patron's text went to the simulator.
    injected: BTreeMap<String, Duration>,
    /// Tag -> when the librarian wrote the reply.
    written: BTreeMap<String, Duration>,
    arrivals: Vec<Arrival>,
    bounces: Vec<Bounce>,
    desk: Vec<(Duration, String)>,
    resent: usize,
}

/// Shared by the traffic, the librarian's desk and the report; cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    entries: Arc<Mutex<Entries>>,
    /// Bumped on every arrival or bounce, so the wait for quiescence wakes on progress.
    progress: Arc<watch::Sender<u64>>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            entries: Arc::default(),
            progress: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.progress.send_modify(|n| *n += 1);
    }

    pub fn injected(&self, tag: &str, at: Duration) {
        self.lock().injected.insert(tag.to_owned(), at);
    }

    pub fn reply_written(&self, tag: &str, at: Duration) {
        self.lock().written.entry(tag.to_owned()).or_insert(at);
    }

    pub fn arrival(&self, arrival: Arrival) {
        self.lock().arrivals.push(arrival);
        self.bump();
    }

    pub fn bounce(&self, bounce: Bounce) {
        self.lock().bounces.push(bounce);
        self.bump();
    }

    /// The librarian sent a refused reply again.
    pub fn resent(&self) {
        self.lock().resent += 1;
    }

    pub fn resends(&self) -> usize {
        self.lock().resent
    }

    pub fn note_desk(&self, at: Duration, what: String) {
        self.lock().desk.push((at, what));
    }

    /// Wakes on every arrival or bounce.
    pub fn progress(&self) -> watch::Receiver<u64> {
        self.progress.subscribe()
    }

    pub fn injected_at(&self, tag: &str) -> Option<Duration> {
        self.lock().injected.get(tag).copied()
    }

    pub fn written_at(&self, tag: &str) -> Option<Duration> {
        self.lock().written.get(tag).copied()
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        self.lock().arrivals.clone()
    }

    pub fn bounces(&self) -> Vec<Bounce> {
        self.lock().bounces.clone()
    }

    /// The librarian's logins and losses of connection.
    pub fn desk_notes(&self) -> Vec<(Duration, String)> {
        self.lock().desk.clone()
    }
}
