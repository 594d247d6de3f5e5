//! The one state every part of the phone shares, behind one mutex that is never held
//! across an `.await`, and the notification that wakes whoever waits for a change (the
//! workers and the tests' `wait_*`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::config::PhoneConfig;
use crate::faults::Faults;
use crate::messages::MessageRecord;
use crate::radio::UsageMonitor;
use crate::webhooks::{QueuedWebhook, Registrations};

/// A text the phone handed to the network and the network accepted, in hand-off order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The message id (the client's, or the one the app generated).
    pub id: String,
    /// The recipient as the network got it (separators removed).
    pub phone_number: String,
    /// The text.
    pub text: String,
    /// The SIM it went out on (1 when the request named none: the OS default SIM).
    pub sim: u8,
    /// How many SMS parts it took ([`crate::parts_count`]).
    pub parts: u32,
    /// Whether the send asked for a delivery report.
    pub with_delivery_report: bool,
    /// The request's priority (−128..127; the app reads 128..255 as negative bytes).
    pub priority: i8,
}

/// A webhook registration, as `GET /webhooks` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The registration's id (the client's, or one the app generated).
    pub id: String,
    /// Where the events go.
    pub url: String,
    /// The one event, e.g. `sms:received`.
    pub event: String,
}

/// One POST of one webhook envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    /// The envelope's `id`, the same on every attempt.
    pub envelope_id: String,
    /// The registration it was posted for (`webhookId`).
    pub webhook_id: String,
    /// The event, e.g. `sms:sent`.
    pub event: String,
    /// Where it was posted.
    pub url: String,
    /// 1 for the first attempt, 2 for the first retry (or the duplicate), and so on.
    pub attempt: u32,
    /// What came back.
    pub outcome: AttemptOutcome,
    /// The exact body posted (the same bytes on every attempt).
    pub body: String,
}

/// What a webhook POST got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// An HTTP answer with this status (2xx is success, anything else is retried).
    Status(u16),
    /// No answer: connection refused, reset, timeout, unsupported scheme; retried.
    Error(String),
}

impl AttemptOutcome {
    /// Whether the app counts this as delivered.
    pub fn is_success(&self) -> bool {
        matches!(self, AttemptOutcome::Status(s) if (200..300).contains(s))
    }
}

/// Everything that changes.
#[derive(Default)]
pub(crate) struct State {
    pub messages: HashMap<String, MessageRecord>,
    /// Accepted messages waiting for the radio, oldest first.
    pub send_queue: std::collections::VecDeque<String>,
    pub sent: Vec<SentMessage>,
    pub registrations: Registrations,
    /// Envelopes waiting to be posted (first attempts and retries).
    pub webhook_queue: Vec<QueuedWebhook>,
    /// Status envelopes kept back while `hold_status_webhooks` is on.
    pub held_webhooks: Vec<QueuedWebhook>,
    pub webhook_log: Vec<WebhookAttempt>,
    pub faults: Faults,
    pub usage: UsageMonitor,
}

/// What the handles, the server and the workers share.
pub(crate) struct Shared {
    pub config: PhoneConfig,
    state: Mutex<State>,
    /// Woken on every change of `state` (`notify_waiters`); waiters re-check their condition.
    changed: Notify,
    /// Turns true when the last [`crate::Phone`] handle is dropped.
    shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub fn new(config: PhoneConfig, shutdown: watch::Receiver<bool>) -> Arc<Shared> {
        Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            shutdown,
        })
    }

    /// The state. A panic elsewhere while holding the lock leaves consistent enough data
    /// for a simulator, so a poisoned lock is taken over rather than propagated.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the state and wakes every waiter.
    pub fn update<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let out = change(&mut self.lock());
        self.changed.notify_waiters();
        out
    }

    /// Resolves once the phone is shut down.
    pub async fn stopped(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the sender is gone, which is a shutdown too.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// Waits until `check` returns something, the timeout passes (`None`) or the phone
    /// shuts down (`None`). No polling: each change of the state wakes it once.
    pub async fn wait_for<T>(
        &self,
        timeout: Option<Duration>,
        mut check: impl FnMut(&State) -> Option<T>,
    ) -> Option<T> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before the check, so a change between check and await is not lost.
            notified.as_mut().enable();
            if let Some(found) = check(&self.lock()) {
                return Some(found);
            }
            match deadline {
                Some(deadline) => tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep_until(deadline) => return check(&self.lock()),
                    _ = self.stopped() => return None,
                },
                None => tokio::select! {
                    _ = notified => {}
                    _ = self.stopped() => return None,
                },
            }
        }
    }

    /// Like [`Shared::wait_for`] but also wakes at `until`, returning `None` then.
    pub async fn wait_until<T>(
        &self,
        until: tokio::time::Instant,
        check: impl FnMut(&State) -> Option<T>,
    ) -> Option<T> {
        let now = tokio::time::Instant::now();
        self.wait_for(Some(until.saturating_duration_since(now)), check)
            .await
    }

    pub fn is_stopped(&self) -> bool {
        *self.shutdown.borrow()
    }
}
