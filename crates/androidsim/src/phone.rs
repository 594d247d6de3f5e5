//! [`Phone`], the handle tests and the binary hold: start, steer, observe, wait.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{ControlApi, PhoneConfig};
use crate::faults::{FailingSends, Refusals};
use crate::state::{Registration, SentMessage, Shared, WebhookAttempt};
use crate::{api, control, health, inbox, radio, server, webhooks};

/// A running simulated phone. Cheap to clone; when the last clone is dropped the server
/// and every background task stop (the listening socket closes).
#[derive(Clone)]
pub struct Phone {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    address: SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Receivers also see the sender's drop; sending first makes the intent explicit.
        let _ = self.shutdown.send(true);
    }
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("address", &self.inner.address)
            .finish_non_exhaustive()
    }
}

impl Phone {
    /// Starts a phone on `127.0.0.1` with a port the system picks. The listener is kept
    /// from bind to shutdown, so no other process can take the port in between.
    pub async fn start(config: PhoneConfig) -> std::io::Result<Phone> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Phone::start_on(listener, config, ControlApi::Off).await
    }

    /// Starts a phone serving on `listener` (already bound), with or without the control
    /// API beside the app's.
    pub async fn start_on(
        listener: TcpListener,
        config: PhoneConfig,
        control: ControlApi,
    ) -> std::io::Result<Phone> {
        let address = listener.local_addr()?;
        let (shutdown, stopped) = watch::channel(false);
        let ping_interval = config.ping_interval;
        let shared = Shared::new(config, stopped);
        let mut router = api::router(shared.clone());
        if control == ControlApi::On {
            router = router.merge(control::router(shared.clone()));
        }
        tokio::spawn(server::serve(listener, router, shared.clone(), control));
        tokio::spawn(radio::run_sender(shared.clone()));
        tokio::spawn(webhooks::run_deliveries(shared.clone()));
        if let Some(interval) = ping_interval.filter(|i| !i.is_zero()) {
            tokio::spawn(health::run_pings(shared.clone(), interval));
        }
        Ok(Phone {
            inner: Arc::new(Inner {
                shared,
                address,
                shutdown,
            }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The address the phone serves on.
    pub fn address(&self) -> SocketAddr {
        self.inner.address
    }

    /// `http://ADDRESS:PORT`, the base of every API path.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.address)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &PhoneConfig {
        &self.shared().config
    }

    /// A text from `sender` arrives on SIM `sim` at `received_at`: posts `sms:received`
    /// to every URL registered for it (signed, retried). Returns the app's `messageId` for
    /// it, a 32-bit hash written in hex (see the `inbox` module): stable for the same
    /// sender, time, SIM and text, and not unique. Each call emits, even for a text
    /// received before (the app's own duplicate check is not simulated). `receivedAt` is
    /// written in the phone's zone ([`PhoneConfig::utc_offset`]).
    pub fn receive(
        &self,
        sender: &str,
        text: &str,
        received_at: DateTime<FixedOffset>,
        sim: u8,
    ) -> String {
        receive(self.shared(), sender, text, received_at, sim)
    }

    /// What the network accepted, in hand-off order, one entry per recipient (refused and
    /// failed sends are not listed).
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared().lock().sent.clone()
    }

    /// Waits until at least `count` messages were sent; returns them all.
    pub async fn wait_sent(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<SentMessage>, String> {
        self.shared()
            .wait_for(Some(timeout), |st| {
                (st.sent.len() >= count).then(|| st.sent.clone())
            })
            .await
            .ok_or_else(|| {
                format!(
                    "{} message(s) sent after {timeout:?}, waited for {count}",
                    self.shared().lock().sent.len()
                )
            })
    }

    /// Waits until the message `id` is in `state` (as `GET /messages/{id}` writes it:
    /// `Pending`, `Processed`, `Sent`, `Delivered` or `Failed`). For tests that must see a
    /// state by the API while its webhook is held back or not registered.
    pub async fn wait_message_state(
        &self,
        id: &str,
        state: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        self.shared()
            .wait_for(Some(timeout), |st| {
                st.messages
                    .get(id)
                    .is_some_and(|m| m.state().as_str() == state)
                    .then_some(())
            })
            .await
            .ok_or_else(|| {
                let now = self
                    .shared()
                    .lock()
                    .messages
                    .get(id)
                    .map(|m| m.state().as_str());
                format!("message {id:?} not {state} within {timeout:?}; it is {now:?}")
            })
    }

    /// The webhook registrations, in the order first made.
    pub fn registered_webhooks(&self) -> Vec<Registration> {
        self.shared().lock().registrations.all().to_vec()
    }

    /// Waits until at least `events` registrations exist.
    pub async fn wait_registered(&self, events: usize, timeout: Duration) -> Result<(), String> {
        self.shared()
            .wait_for(Some(timeout), |st| {
                (st.registrations.all().len() >= events).then_some(())
            })
            .await
            .ok_or_else(|| {
                let registered: Vec<String> = self
                    .registered_webhooks()
                    .into_iter()
                    .map(|r| format!("{} {}", r.event, r.url))
                    .collect();
                format!("{events} registration(s) awaited for {timeout:?}; have {registered:?}")
            })
    }

    /// Every webhook POST so far, in order.
    pub fn webhook_log(&self) -> Vec<WebhookAttempt> {
        self.shared().lock().webhook_log.clone()
    }

    /// Waits for a webhook POST matching `pred` (one already made counts); returns the
    /// first such.
    pub async fn wait_webhook(
        &self,
        pred: impl Fn(&WebhookAttempt) -> bool,
        timeout: Duration,
    ) -> Result<WebhookAttempt, String> {
        self.shared()
            .wait_for(Some(timeout), |st| {
                st.webhook_log.iter().find(|a| pred(a)).cloned()
            })
            .await
            .ok_or_else(|| {
                let log: Vec<String> = self
                    .webhook_log()
                    .iter()
                    .map(|a| format!("{} #{} {:?} {}", a.event, a.attempt, a.outcome, a.url))
                    .collect();
                format!("no matching webhook within {timeout:?}; posted so far: {log:?}")
            })
    }

    /// Offline: every API request gets its connection closed without an answer, nothing
    /// is handed to the network (accepted messages wait, and fail with `TTL expired` if
    /// their TTL passes meanwhile), no webhook or ping goes out. Back online, the queued
    /// webhooks and messages go. Texts already with the network still get their
    /// acknowledgement and delivery report (their webhooks queue).
    pub fn set_offline(&self, offline: bool) {
        set_offline(self.shared(), offline);
    }

    /// The next `count` `POST /messages` answer `status` and queue nothing; 429 comes
    /// with `Retry-After: 1`. Not something the app itself answers: it stands for a
    /// proxy or a cloud server in front of phones.
    pub fn fail_next_sends(&self, count: u32, status: u16) {
        self.shared().update(|st| {
            st.faults.failing_sends = (count > 0).then_some(FailingSends {
                remaining: count,
                status,
            });
        });
    }

    /// Every webhook is posted twice with the same envelope id, as after a lost 2xx.
    pub fn duplicate_webhooks(&self, on: bool) {
        self.shared().update(|st| st.faults.duplicate_webhooks = on);
    }

    /// While on, `sms:sent`, `sms:delivered` and `sms:failed` are kept back (the states
    /// still change, as `GET /messages/{id}` shows); turned off, they go out, late.
    pub fn hold_status_webhooks(&self, on: bool) {
        self.shared().update(|st| {
            st.faults.hold_status_webhooks = on;
            if !on {
                webhooks::release_held(st);
            }
        });
    }

    /// The network refuses the next `count` hand-offs: `Failed` with `reason` and an
    /// `sms:failed` webhook. The app's own reasons read like `Send result:
    /// RESULT_ERROR_GENERIC_FAILURE (Generic failure cause)`.
    pub fn refuse_next_sends(&self, count: u32, reason: &str) {
        self.shared().update(|st| {
            st.faults.refusals = (count > 0).then(|| Refusals {
                remaining: count,
                reason: reason.to_owned(),
            });
        });
    }

    /// How many SMS **parts** were sent beyond Android's default limit of 30 per rolling
    /// 60 s (per app). Android counts parts, not messages: its `SMSDispatcher` checks
    /// every part (see the `radio` module). On a phone each of these would have raised
    /// the "sending a large number of messages" dialog instead of going out.
    pub fn rate_violations(&self) -> u32 {
        self.shared().lock().usage.violations()
    }
}

pub(crate) fn receive(
    shared: &Shared,
    sender: &str,
    text: &str,
    received_at: DateTime<FixedOffset>,
    sim: u8,
) -> String {
    let config = &shared.config;
    let id = inbox::message_id(sender, text, received_at, sim);
    let own_number = usize::from(sim)
        .checked_sub(1)
        .and_then(|index| config.sim_phone_numbers.get(index))
        .map(String::as_str);
    let payload = inbox::received_payload(
        &id,
        sender,
        text,
        received_at,
        sim,
        own_number,
        config.utc_offset,
    );
    shared.update(|st| webhooks::emit(st, config, "sms:received", payload));
    id
}

pub(crate) fn set_offline(shared: &Shared, offline: bool) {
    shared.update(|st| st.faults.offline = offline);
}
