//! The Android driver: a gateway whose modem is a phone running the SMSGate app ("SMS
//! Gateway for Android"), reached over the app's HTTP API, either on the phone itself
//! (local mode) or through the cloud or a private SMSGate server. Behind the
//! [`SmsDriver`] trait it works like a modem: the outbox hands it texts and learns when
//! they went to the network; texts from phones and delivery reports arrive as
//! [`ModemEvent`]s, through the webhook endpoint this crate serves ([`AndroidDriver::router`]).
//!
//! The protocol (request and webhook bodies, signatures) is `textgate-android`, which does
//! no I/O; this crate is its I/O:
//! - [`config`]: a `kind = "android"` gateway's settings and their defaults;
//! - `client`: HTTP requests to the phone or server (basic auth, timeouts, TLS);
//! - `sends`: one send (wait for the phone, pace, post under our id, wait for "sent");
//! - `pace`: Android's allowance of 30 SMS per 60 s per app;
//! - `tracker`: what webhooks and look-ups said of our messages;
//! - `webhooks`: the endpoint (signature, then the event, answered once stored);
//! - `incoming`: a received text as SMS-DELIVER PDUs, the same for every copy;
//! - `liveness`: registration of our webhooks, pings, and the phone's presence.
//!
//! Nothing is sent twice on a retry: every attempt at a text posts the same message id,
//! and the phone refuses a repeated id (`409`), which the driver answers by looking the
//! earlier message up.

#![forbid(unsafe_code)]

mod client;
pub mod config;
mod incoming;
mod liveness;
mod pace;
mod sends;
mod tracker;
mod webhooks;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use textgate_android::{ApiMode, ClientId, MessageState};
use textgate_modem::{
    AckHandle, AckToken, DeliveryReceipt, MessageReference, ModemEvent, ModemEvents, ModemStatus,
    Origin, OutgoingSms, ReceiptOutcome, SendError, SendProgress, SmsDriver, StatusError,
};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

pub use config::{webhook_path, AndroidConfig, ANDROID_LIMIT_PER_MINUTE};
pub use textgate_android::{ApiMode as AndroidApiMode, SimNumber};

use client::PhoneClient;
use liveness::{Liveness, PhoneState};
use pace::Pacer;
use tracker::{Phase, Tracker};

/// The handle to a running Android driver. Its tasks end when the gateway stops reading
/// its events.
#[derive(Debug, Clone)]
pub struct AndroidDriver {
    shared: Arc<Shared>,
}

/// What the sends, the webhook endpoint and the background tasks share.
#[derive(Debug)]
pub struct Shared {
    config: AndroidConfig,
    client: PhoneClient,
    pacer: Pacer,
    tracker: Tracker,
    liveness: Liveness,
    events: mpsc::Sender<ModemEvent>,
    acks: Acks,
}

impl Shared {
    /// An answer from the phone's own server proves it is there (local mode only: a
    /// server answers for itself).
    fn heard_answer(&self) {
        if self.config.mode == ApiMode::Local {
            self.liveness.heard();
        }
    }

    /// Records what a state answer says; returns the phase it stands for.
    fn observe_state(&self, state: &MessageState) -> Phase {
        let phase = sends::phase_of(state);
        self.tracker.observe(&state.id, phase.clone());
        phase
    }
}

/// Why [`check_access`] failed, and which setting to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessProblem {
    /// No answer, or not the API's: the `url` (or, on a private server, `api_path`).
    Url(String),
    /// The phone or server refused the credentials: `username` and `password`.
    Credentials(String),
}

/// Asks the phone (or the server) for its webhook registrations with the configured URL,
/// mode and credentials, as the driver's first request at start does, and registers
/// nothing: what `check-config --connect` runs, so a wrong address, path or password shows
/// before the daemon starts rather than as an unready gateway after.
pub async fn check_access(config: &AndroidConfig) -> Result<(), AccessProblem> {
    let client = PhoneClient::new(
        &config.api_url,
        &config.username,
        &config.password,
        config.request_timeout,
    );
    let path = config.mode.webhooks_path();
    let answer = client
        .get(&path)
        .await
        .map_err(|e| AccessProblem::Url(e.to_string()))?;
    match answer.status {
        200..=299 => Ok(()),
        401 | 403 => Err(AccessProblem::Credentials(format!(
            "the phone refused the username and password (HTTP {})",
            answer.status
        ))),
        404 => Err(AccessProblem::Url(format!(
            "{}{path} answered HTTP 404: not the SMSGate API there (check the url, the mode \
             and, for a private server, api_path)",
            config.api_url.trim_end_matches('/')
        ))),
        status => {
            let said = textgate_android::error_message(&answer.body).unwrap_or_default();
            Err(AccessProblem::Url(
                format!(
                    "{}{path} answered HTTP {status} {said}",
                    config.api_url.trim_end_matches('/')
                )
                .trim_end()
                .to_owned(),
            ))
        }
    }
}

impl AndroidDriver {
    /// Starts the driver's tasks on the current tokio runtime: the registration of its
    /// webhooks and the phone's liveness, and the look-ups of late delivery reports.
    pub fn spawn(config: AndroidConfig) -> (AndroidDriver, ModemEvents) {
        let (events, events_rx) = mpsc::channel(256);
        let (acks_tx, acks_rx) = mpsc::unbounded_channel();
        let client = PhoneClient::new(
            &config.api_url,
            &config.username,
            &config.password,
            config.request_timeout,
        );
        let shared = Arc::new(Shared {
            pacer: Pacer::new(config.per_minute),
            client,
            tracker: Tracker::default(),
            liveness: Liveness::new(),
            events,
            acks: Acks {
                next: AtomicU64::new(1),
                waiting: Mutex::new(HashMap::new()),
                tx: acks_tx,
            },
            config,
        });
        let span = tracing::info_span!("phone", gateway = %shared.config.gateway, api = %shared.config.api_url);
        tokio::spawn(liveness::run(shared.clone()).instrument(span.clone()));
        tokio::spawn(Acks::serve(shared.clone(), acks_rx).instrument(span.clone()));
        tokio::spawn(look_up_late_reports(shared.clone()).instrument(span));
        (AndroidDriver { shared }, events_rx)
    }

    /// The webhook endpoint, to be served on the daemon's HTTP listener.
    pub fn router(&self) -> axum::Router {
        webhooks::router(self.shared.clone())
    }
}

#[async_trait]
impl SmsDriver for AndroidDriver {
    async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError> {
        self.send_reporting(message, SendProgress::unobserved())
            .await
    }

    /// The parts are reported together, under the message's id, once the phone says the
    /// text went to the network.
    async fn send_reporting(
        &self,
        message: OutgoingSms,
        progress: SendProgress,
    ) -> Result<Vec<MessageReference>, SendError> {
        sends::send(&self.shared, message, progress).await
    }

    fn reports_delivery(&self) -> bool {
        self.shared.config.delivery_reports
    }

    /// `model` names the phone's address, `profile` is `android`; a phone that is gone is
    /// [`StatusError::Unavailable`] with the reason.
    async fn status(&self) -> Result<ModemStatus, StatusError> {
        match self.shared.liveness.state() {
            PhoneState::Present => Ok(ModemStatus {
                model: Some(format!("Android phone at {}", self.shared.config.api_url)),
                profile: Some("android"),
                ..ModemStatus::default()
            }),
            PhoneState::Unknown => Err(StatusError::Unavailable(format!(
                "not heard from the phone at {} yet",
                self.shared.config.api_url
            ))),
            PhoneState::Gone(reason) | PhoneState::Refused(reason) => {
                Err(StatusError::Unavailable(reason))
            }
        }
    }
}

/// The acknowledgements of what the endpoint handed to the gateway: each [`AckHandle`]
/// comes back here, and the request waiting on it is answered.
#[derive(Debug)]
struct Acks {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    tx: mpsc::UnboundedSender<AckToken>,
}

impl Acks {
    /// An acknowledgement for one event, and the receiver that learns of it.
    fn expect(&self) -> (AckHandle, oneshot::Receiver<()>) {
        let handover = self.next.fetch_add(1, Ordering::Relaxed);
        let (done, wait) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(handover, done);
        let token = AckToken {
            origin: Origin::Routed,
            connection: 0,
            handover,
            span: tracing::Span::none(),
        };
        (AckHandle::new(token, self.tx.clone()), wait)
    }

    async fn serve(shared: Arc<Shared>, mut tokens: mpsc::UnboundedReceiver<AckToken>) {
        // The sender half lives in `shared`, so this ends only with the runtime.
        while let Some(token) = tokens.recv().await {
            let done = shared
                .acks
                .waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&token.handover);
            if let Some(done) = done {
                // The request may have given up waiting; the phone posts again then.
                let _ = done.send(());
            }
        }
    }
}

/// Looks up the messages whose delivery report is late (the app retries webhooks, but a
/// phone that was off the network may send them hours later) and records what the phone
/// says. A report found this way and then posted by the app is recorded once.
async fn look_up_late_reports(shared: Arc<Shared>) {
    let interval = shared
        .config
        .poll_interval
        .max(std::time::Duration::from_millis(100));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if shared.events.is_closed() {
            return;
        }
        if shared.liveness.state() != PhoneState::Present {
            continue;
        }
        for (id, recipient) in shared.tracker.late(interval) {
            let Ok(client_id) = ClientId::new(&id) else {
                continue;
            };
            let outcome = match sends::look_up(&shared, &client_id).await {
                Ok(Some(Phase::Delivered)) => ReceiptOutcome::Delivered,
                Ok(Some(Phase::Failed(reason))) => ReceiptOutcome::Failed {
                    reason: sends::phone_refusal(&reason).reason,
                },
                Ok(_) => continue,
                Err(e) => {
                    tracing::debug!(id, error = %e, "cannot look up a delivery report");
                    continue;
                }
            };
            if !shared.tracker.settle(&id) {
                continue;
            }
            let Some(reference) = MessageReference::smsc(&id) else {
                continue;
            };
            tracing::info!(
                id,
                ?outcome,
                "delivery report looked up (its webhook is late)"
            );
            // Nobody waits on this acknowledgement: what is not recorded now is looked up
            // again after the next restart's send, or never, as with a lost report.
            let (ack, _done) = shared.acks.expect();
            let receipt = DeliveryReceipt {
                reference,
                outcome: Some(outcome),
                description: "looked up on the phone".to_owned(),
                recipient: Some(recipient),
                ack,
            };
            if shared
                .events
                .send(ModemEvent::Receipt(receipt))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}
