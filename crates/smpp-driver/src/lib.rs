//! The SMPP driver: a gateway whose texts go through an operator's or aggregator's message
//! centre (SMSC) over SMPP 3.4, for alerts at carrier speed and for a library line that a
//! provider hosts. Behind the [`SmsDriver`] trait it works like a modem: the outbox hands
//! it segmented texts and learns each part's reference as the SMSC accepts it; texts from
//! phones and delivery receipts arrive as [`ModemEvent`]s and are answered only after the
//! gateway stored them.
//!
//! The protocol itself (PDUs, the session state machine) is `textgate-smpp`, which does no
//! I/O; this crate is its I/O and the translation both ways:
//! - [`config`]: the settings of a `kind = "smpp"` gateway and their defaults;
//! - `link`: one bind as a task (connect, TLS, bind, serve, reconnect with backoff and
//!   jitter, unbind at the end);
//! - `sends`: the window, the pace, throttling, and what each answer means for the outbox;
//! - `outgoing`: the segmenter's SMS-SUBMIT PDUs as `submit_sm`s;
//! - `incoming`: `deliver_sm`s as SMS-DELIVER PDUs or receipts;
//! - `tls`: the TLS client.
//!
//! The at-least-once point: a part whose `submit_sm` was outstanding when the connection
//! ended may or may not have been taken; it fails as "may or may not have been sent" and
//! the outbox sends it again. Nothing else is sent twice.

#![forbid(unsafe_code)]

mod check;
pub mod config;
mod incoming;
mod link;
mod outgoing;
mod sends;
mod tls;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use textgate_modem::{
    MessageReference, ModemEvents, ModemStatus, OutgoingSms, SendError, SendFailure, SendProgress,
    SmsDriver, StatusError,
};
use textgate_smpp::BindKind;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

pub use check::{check_bind, BindProblem};
pub use config::{BindMode, Gsm7Packing, Multipart, SmppConfig, TlsSettings};
pub use link::LinkState;
pub use textgate_smpp::Address;

use link::Link;
use sends::SendRequest;

/// The handle to a running SMPP driver. Dropping it (and every clone) unbinds.
#[derive(Debug, Clone)]
pub struct SmppDriver {
    requests: mpsc::Sender<SendRequest>,
    state: watch::Receiver<LinkState>,
    address: String,
    window: usize,
    registered_delivery: bool,
}

impl SmppDriver {
    /// Starts the driver's task(s) on the current tokio runtime: one transceiver bind, or a
    /// transmitter and a receiver. Fails only on settings that can never work (a CA file
    /// that cannot be read).
    pub fn spawn(config: SmppConfig) -> Result<(SmppDriver, ModemEvents), String> {
        if let Some(tls) = &config.tls {
            tls::client_config(tls)?;
        }
        let config = Arc::new(config);
        let (requests_tx, requests) = mpsc::channel(config.window.max(1) * 4);
        let (events, events_rx) = mpsc::channel(256);
        let (state_tx, state) = watch::channel(LinkState::Connecting);
        let link = |kind: BindKind,
                    requests: Option<mpsc::Receiver<SendRequest>>,
                    reports_health: bool,
                    state: watch::Sender<LinkState>| {
            let (acks_tx, acks) = mpsc::unbounded_channel();
            Link {
                config: Arc::clone(&config),
                kind,
                requests,
                events: events.clone(),
                reports_health,
                state,
                acks_tx,
                acks,
                connection: 0,
                unacknowledged: HashMap::new(),
            }
        };
        let span =
            |bind: &'static str| tracing::info_span!("smsc", address = %config.address, bind);
        match config.bind {
            BindMode::Transceiver => {
                let transceiver = link(BindKind::Transceiver, Some(requests), true, state_tx);
                tokio::spawn(transceiver.supervise().instrument(span("transceiver")));
            }
            BindMode::TransmitterReceiver => {
                let transmitter = link(BindKind::Transmitter, Some(requests), true, state_tx);
                tokio::spawn(transmitter.supervise().instrument(span("transmitter")));
                // The receiver's state is only logged: sending decides readiness.
                let (receiver_state, _) = watch::channel(LinkState::Connecting);
                let receiver = link(BindKind::Receiver, None, false, receiver_state);
                tokio::spawn(receiver.supervise().instrument(span("receiver")));
            }
        }
        Ok((
            SmppDriver {
                requests: requests_tx,
                state,
                address: config.address.clone(),
                window: config.window.max(1),
                registered_delivery: config.registered_delivery,
            },
            events_rx,
        ))
    }

    /// Where the sending bind is now.
    pub fn link_state(&self) -> LinkState {
        self.state.borrow().clone()
    }
}

#[async_trait]
impl SmsDriver for SmppDriver {
    async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError> {
        self.send_reporting(message, SendProgress::unobserved())
            .await
    }

    /// Each part is reported as the SMSC's `submit_sm_resp` accepts it, with the SMSC's
    /// message id as its reference; a stop request ends the send before its next part.
    async fn send_reporting(
        &self,
        message: OutgoingSms,
        progress: SendProgress,
    ) -> Result<Vec<MessageReference>, SendError> {
        let stopped = || SendError {
            failure: SendFailure::Unavailable("the SMPP driver has stopped".into()),
            accepted: Vec::new(),
        };
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(SendRequest {
                message,
                progress,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// The window: the outbox keeps that many texts in the SMSC's hands at once.
    fn concurrency(&self) -> usize {
        self.window
    }

    /// Receipts come when `registered_delivery` asks for them.
    fn reports_delivery(&self) -> bool {
        self.registered_delivery
    }

    /// A subset of [`ModemStatus`]: `model` names the SMSC's address, `operator` the
    /// system id it answered the bind with, `profile` is `smpp`. Not bound is
    /// [`StatusError::Unavailable`] with the reason.
    async fn status(&self) -> Result<ModemStatus, StatusError> {
        match self.link_state() {
            LinkState::Bound { smsc } => Ok(ModemStatus {
                model: Some(format!("SMSC {}", self.address)),
                operator: Some(smsc),
                profile: Some("smpp"),
                ..ModemStatus::default()
            }),
            LinkState::Connecting => Err(StatusError::Unavailable(format!(
                "binding to the SMSC at {}",
                self.address
            ))),
            LinkState::Down { reason } | LinkState::NeedsOperator { reason } => {
                Err(StatusError::Unavailable(reason))
            }
        }
    }
}
