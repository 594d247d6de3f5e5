//! One bind to the SMSC as a task: connect (TCP, TLS when configured), bind, serve until the
//! connection ends, reconnect after a pause that doubles with each failure (with jitter),
//! unbind when the driver is dropped. Serving is one loop over what can happen next: an
//! acknowledgement from the gateway (answered first, so the SMSC forgets stored texts as
//! soon as possible), octets from the SMSC, a send from the outbox, a timer (keep-alive,
//! overdue answers, the pace).
//!
//! Invariant: a `deliver_sm` is answered only when the gateway acknowledged every PDU it
//! became (the store committed them), and only on the connection it came on; otherwise the
//! SMSC delivers it again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use textgate_modem::{
    AckHandle, AckToken, DeliveryReceipt, HealthChange, MessageReference, ModemEvent, Origin,
    ReceivedPdu, SendError, SendFailure,
};
use textgate_smpp::pdu::INTERFACE_VERSION_34;
use textgate_smpp::{Bind, BindKind, CommandStatus, Event, Session, SessionConfig, State};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout, Instant};

use crate::config::SmppConfig;
use crate::incoming::{self, Received};
use crate::outgoing;
use crate::sends::{SendRequest, Sends};

/// The largest PDU taken from the SMSC (a `deliver_sm` with a 64 KiB `message_payload`).
const MAX_PDU: u32 = 70_000;
/// How long an unbind may take at shutdown.
const UNBIND_GRACE: Duration = Duration::from_secs(5);

/// What the handle can see of the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Bound { smsc: String },
    Down { reason: String },
    NeedsOperator { reason: String },
}

/// A connection to the SMSC, whichever way it is protected.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Opens the connection to the SMSC: TCP, then TLS when configured.
pub(crate) async fn open(config: &SmppConfig) -> Result<Box<dyn Stream>, String> {
    let address = &config.address;
    let tcp = timeout(config.response_timeout, TcpStream::connect(address))
        .await
        .map_err(|_| {
            format!(
                "connecting to {address} took longer than {:?}",
                config.response_timeout
            )
        })?
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    // Small PDUs, answered one by one: Nagle's delay would cost every submit.
    let _ = tcp.set_nodelay(true);
    match &config.tls {
        None => Ok(Box::new(tcp)),
        Some(tls) => {
            let stream = crate::tls::wrap(tcp, config, tls, config.response_timeout).await?;
            Ok(Box::new(stream))
        }
    }
}

/// The session's settings for a bind of `kind` with the configured account.
pub(crate) fn session_config(config: &SmppConfig, kind: BindKind) -> SessionConfig {
    SessionConfig {
        bind: Bind {
            kind,
            system_id: config.system_id.as_bytes().to_vec(),
            password: config.password.as_bytes().to_vec(),
            system_type: config.system_type.as_bytes().to_vec(),
            interface_version: INTERFACE_VERSION_34,
            address_range: textgate_smpp::Address::default(),
        },
        window: config.window.max(1),
        enquire_link_interval: config.enquire_link_interval,
        response_timeout: config.response_timeout,
        max_pdu: MAX_PDU,
    }
}

/// How a connection ended.
enum Ended {
    /// Lost, refused or timed out: reconnect after a pause. `bound` says whether it had
    /// been bound (then the pauses start again from the first).
    Link { reason: String, bound: bool },
    /// The SMSC refused our credentials: a person must fix them.
    NeedsOperator(String),
    /// The driver was dropped and the session unbound.
    Shutdown,
}

pub struct Link {
    pub config: Arc<SmppConfig>,
    pub kind: BindKind,
    /// Sends from the handle; `None` for a receiver-only bind.
    pub requests: Option<mpsc::Receiver<SendRequest>>,
    pub events: mpsc::Sender<ModemEvent>,
    /// Whether this link reports health (one link per driver does).
    pub reports_health: bool,
    pub state: watch::Sender<LinkState>,
    pub acks_tx: mpsc::UnboundedSender<AckToken>,
    pub acks: mpsc::UnboundedReceiver<AckToken>,
    pub connection: u64,
    /// Per `deliver_sm` of the current connection: PDUs handed over and not yet
    /// acknowledged.
    pub unacknowledged: HashMap<u32, usize>,
}

impl Link {
    pub async fn supervise(mut self) {
        let mut attempt: u32 = 0;
        loop {
            self.health(HealthChange::Connecting {
                attempt: attempt + 1,
            })
            .await;
            self.state.send_replace(LinkState::Connecting);
            let ended = match self.connect().await {
                Ok(stream) => self.serve(stream).await,
                Err(reason) => Ended::Link {
                    reason,
                    bound: false,
                },
            };
            let reason = match ended {
                Ended::Shutdown => return,
                Ended::NeedsOperator(reason) => {
                    self.state.send_replace(LinkState::NeedsOperator {
                        reason: reason.clone(),
                    });
                    self.health(HealthChange::NeedsOperator {
                        reason: reason.clone(),
                    })
                    .await;
                    // Binding again with the same credentials only risks locking the
                    // account; sends are refused until the daemon restarts with new ones.
                    self.refuse_until_dropped(&reason).await;
                    return;
                }
                Ended::Link { reason, bound } => {
                    attempt = if bound { 1 } else { attempt + 1 };
                    reason
                }
            };
            let pause = jitter(self.config.reconnect_delay(attempt));
            self.state.send_replace(LinkState::Down {
                reason: reason.clone(),
            });
            self.health(HealthChange::Disconnected {
                reason: reason.clone(),
                retry_in: pause,
            })
            .await;
            if !self.refuse_while(Instant::now() + pause, &reason).await {
                return;
            }
        }
    }

    async fn health(&self, change: HealthChange) {
        if self.reports_health {
            // A gateway that stopped listening is shutting down anyway.
            let _ = self.events.send(ModemEvent::Health(change)).await;
        } else {
            tracing::info!(health = %change, "receiver bind");
        }
    }

    /// Refuses sends until `until`; false once the handle is gone.
    async fn refuse_while(&mut self, until: Instant, reason: &str) -> bool {
        let Some(requests) = self.requests.as_mut() else {
            sleep_until(until).await;
            return !self.events.is_closed();
        };
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(request) => refuse(request, reason),
                    None => return false,
                },
                () = sleep_until(until) => return true,
            }
        }
    }

    async fn refuse_until_dropped(&mut self, reason: &str) {
        if let Some(requests) = self.requests.as_mut() {
            while let Some(request) = requests.recv().await {
                refuse(request, reason);
            }
        }
    }

    async fn connect(&self) -> Result<Box<dyn Stream>, String> {
        open(&self.config).await
    }

    fn session_config(&self) -> SessionConfig {
        session_config(&self.config, self.kind)
    }

    async fn serve(&mut self, stream: Box<dyn Stream>) -> Ended {
        self.connection += 1;
        self.unacknowledged.clear();
        let (mut reader, mut writer) = tokio::io::split(stream);
        let (mut session, bind) =
            Session::connect(self.session_config(), Instant::now().into_std());
        let mut sends = Sends::new(
            self.config.max_per_second,
            self.config.throttle_pause,
            self.config.throttle_give_up,
        );
        let mut bound = false;
        let mut unbind_by: Option<Instant> = None;
        let mut buffer = vec![0u8; 16 * 1024];
        let mut outgoing: Vec<Vec<u8>> = vec![bind];
        let ended = loop {
            // Submit what is due while the window has room.
            if session.state() == State::Bound {
                let now = Instant::now();
                while session.can_submit() {
                    let Some(due) = sends.next_due(now) else {
                        break;
                    };
                    match session.submit(due.tag, due.message, now.into_std()) {
                        Ok(bytes) => outgoing.push(bytes),
                        Err(e) => {
                            tracing::warn!(error = %e, "a submit the session did not take");
                            sends.not_submitted(due.tag, &e.to_string());
                        }
                    }
                }
            }
            let mut write_failed = None;
            for bytes in outgoing.drain(..) {
                if let Err(e) = writer.write_all(&bytes).await {
                    write_failed = Some(e);
                    break;
                }
            }
            if let Some(error) = write_failed {
                let events = session.connection_lost(&format!("writing to the SMSC: {error}"));
                let mut unsendable = Vec::new();
                if let Some(ended) = self
                    .on_events(
                        events,
                        &mut session,
                        &mut sends,
                        &mut bound,
                        &mut unsendable,
                    )
                    .await
                {
                    break ended;
                }
            }
            if session.state() == State::Closed {
                break self.closed_reason(bound, unbind_by.is_some());
            }
            let timer = [
                session.next_deadline().map(Instant::from_std),
                sends.wake_at(),
                unbind_by,
            ]
            .into_iter()
            .flatten()
            .min();
            let accepting =
                bound && unbind_by.is_none() && sends.len() < self.config.window.max(1) * 4;
            let mut events = Vec::new();
            tokio::select! {
                biased;
                Some(token) = self.acks.recv() => {
                    if let Some(bytes) = self.acknowledged(&token, &session) {
                        outgoing.push(bytes);
                    }
                }
                read = reader.read(&mut buffer) => {
                    let now = Instant::now().into_std();
                    match read {
                        Ok(0) => events = session.connection_lost("the SMSC closed the connection"),
                        Ok(n) => {
                            let (out, happened) = session.received(&buffer[..n], now);
                            outgoing.extend(out);
                            events = happened;
                        }
                        Err(e) => events = session.connection_lost(&format!("reading from the SMSC: {e}")),
                    }
                }
                request = recv_if(self.requests.as_mut(), accepting) => match request {
                    Some(request) => self.take(request, &mut sends),
                    None => unbind(&mut session, &mut unbind_by, &mut outgoing),
                },
                () = self.events.closed(), if unbind_by.is_none() => {
                    unbind(&mut session, &mut unbind_by, &mut outgoing);
                }
                () = sleep_until_or_never(timer) => {
                    if unbind_by.is_some_and(|by| Instant::now() >= by) {
                        break Ended::Shutdown;
                    }
                    let (out, happened) = session.tick(Instant::now().into_std());
                    outgoing.extend(out);
                    events = happened;
                }
            }
            if let Some(ended) = self
                .on_events(events, &mut session, &mut sends, &mut bound, &mut outgoing)
                .await
            {
                // Flush what the events asked to send (answers) before going.
                for bytes in outgoing.drain(..) {
                    let _ = writer.write_all(&bytes).await;
                }
                break ended;
            }
        };
        let reason = match &ended {
            Ended::Link { reason, .. } | Ended::NeedsOperator(reason) => reason.clone(),
            Ended::Shutdown => "the driver stopped".to_owned(),
        };
        sends.connection_ended(&reason);
        let _ = writer.shutdown().await;
        if unbind_by.is_some() {
            return Ended::Shutdown;
        }
        ended
    }

    fn closed_reason(&self, bound: bool, unbinding: bool) -> Ended {
        if unbinding {
            Ended::Shutdown
        } else {
            Ended::Link {
                reason: "the session closed".into(),
                bound,
            }
        }
    }

    /// A send from the outbox: its parts become `submit_sm`s, or it fails at once.
    fn take(&self, request: SendRequest, sends: &mut Sends) {
        let SendRequest {
            message,
            progress,
            reply,
        } = request;
        match outgoing::submits(&message, &self.config) {
            Ok(parts) if parts.is_empty() => {
                let _ = reply.send(Err(SendError {
                    failure: SendFailure::Empty,
                    accepted: Vec::new(),
                }));
            }
            Ok(parts) => {
                // One message_payload submit for several parts carries them all.
                let fan_out = message.parts.len() / parts.len();
                sends.push(parts, fan_out, progress, reply);
            }
            Err((index, error)) => {
                let _ = reply.send(Err(SendError {
                    failure: SendFailure::Invalid {
                        part: index + 1,
                        total: message.parts.len(),
                        reason: error.to_string(),
                    },
                    accepted: Vec::new(),
                }));
            }
        }
    }

    /// The gateway stored (all of) what a `deliver_sm` became: the answer to send, once
    /// the last of its PDUs is acknowledged on the connection it came on.
    fn acknowledged(&mut self, token: &AckToken, session: &Session) -> Option<Vec<u8>> {
        let Origin::Smsc { sequence } = token.origin else {
            return None;
        };
        let _entered = token.span.enter();
        if token.connection != self.connection {
            tracing::debug!(
                sequence,
                "acknowledgement for an earlier connection; the SMSC delivers it again"
            );
            return None;
        }
        let remaining = self.unacknowledged.get_mut(&sequence)?;
        *remaining = remaining.saturating_sub(1);
        if *remaining > 0 {
            return None;
        }
        self.unacknowledged.remove(&sequence);
        tracing::debug!(sequence, "deliver_sm answered after it was stored");
        Some(session.acknowledge(sequence))
    }

    /// What the session reported; `Some` when the connection is over.
    async fn on_events(
        &mut self,
        events: Vec<Event>,
        session: &mut Session,
        sends: &mut Sends,
        bound: &mut bool,
        outgoing: &mut Vec<Vec<u8>>,
    ) -> Option<Ended> {
        let mut refused_credentials = None;
        for event in events {
            match event {
                Event::Bound { system_id } => {
                    *bound = true;
                    let smsc = String::from_utf8_lossy(&system_id).into_owned();
                    tracing::info!(smsc = %smsc, kind = ?self.kind, "bound to the SMSC");
                    self.state.send_replace(LinkState::Bound { smsc });
                    self.health(HealthChange::Ready { profile: "smpp" }).await;
                }
                Event::BindRefused { status } => {
                    if matches!(
                        status,
                        CommandStatus::INVALID_PASSWORD | CommandStatus::INVALID_SYSTEM_ID
                    ) {
                        refused_credentials = Some(format!(
                            "the SMSC refused the bind as system id {:?}: {status}; check system_id and password",
                            self.config.system_id
                        ));
                    }
                }
                Event::Accepted { tag, message_id } => sends.accepted(tag, &message_id),
                Event::Refused { tag, status } => {
                    tracing::info!(%status, "the SMSC refused a part");
                    sends.refused(tag, status, Instant::now());
                }
                Event::Unknown { tag } => sends.unanswered(tag, self.config.response_timeout),
                Event::Deliver { sequence, message } => {
                    let received = incoming::read(
                        &message,
                        sequence,
                        self.config.gsm7_packing,
                        chrono::Utc::now(),
                    );
                    self.hand_over(sequence, received, session, outgoing).await;
                }
                Event::Rejected { what } => tracing::warn!(what, "from the SMSC"),
                Event::Disconnect { reason } => {
                    if let Some(reason) = refused_credentials.take() {
                        return Some(Ended::NeedsOperator(reason));
                    }
                    return Some(Ended::Link {
                        reason,
                        bound: *bound,
                    });
                }
            }
        }
        None
    }

    /// Hands a `deliver_sm` over to the gateway, or answers it at once when nothing in it
    /// can be stored.
    async fn hand_over(
        &mut self,
        sequence: u32,
        received: Received,
        session: &Session,
        outgoing: &mut Vec<Vec<u8>>,
    ) {
        let ack = |link: &Link| {
            AckHandle::new(
                AckToken {
                    origin: Origin::Smsc { sequence },
                    connection: link.connection,
                    handover: u64::from(sequence),
                    span: tracing::Span::none(),
                },
                link.acks_tx.clone(),
            )
        };
        match received {
            Received::Text { pdus } => {
                self.unacknowledged.insert(sequence, pdus.len());
                for pdu in pdus {
                    let handed = ReceivedPdu::new(pdu, Origin::Smsc { sequence }, ack(self));
                    if self
                        .events
                        .send(ModemEvent::IncomingPart(handed))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            Received::Receipt {
                message_id,
                outcome,
                description,
                recipient,
            } => {
                self.unacknowledged.insert(sequence, 1);
                let reference = MessageReference::smsc(&message_id)
                    .unwrap_or_else(|| MessageReference::from_stored(message_id));
                let receipt = DeliveryReceipt {
                    reference,
                    outcome,
                    description,
                    recipient,
                    ack: ack(self),
                };
                let _ = self.events.send(ModemEvent::Receipt(receipt)).await;
            }
            Received::Unusable(reason) => {
                tracing::warn!(sequence, reason, "deliver_sm answered without storing it");
                outgoing.push(session.acknowledge(sequence));
            }
        }
    }
}

/// The driver was dropped (or the gateway stopped listening): unbind, and wait a little
/// for the SMSC's answer.
fn unbind(session: &mut Session, unbind_by: &mut Option<Instant>, outgoing: &mut Vec<Vec<u8>>) {
    *unbind_by = Some(Instant::now() + UNBIND_GRACE);
    if let Some(bytes) = session.unbind(Instant::now().into_std()) {
        tracing::info!("unbinding from the SMSC");
        outgoing.push(bytes);
    }
}

fn refuse(request: SendRequest, reason: &str) {
    let _ = request.reply.send(Err(SendError {
        failure: SendFailure::Unavailable(format!("not bound to the message centre: {reason}")),
        accepted: Vec::new(),
    }));
}

/// The next send, when taking one now; otherwise never.
async fn recv_if(
    requests: Option<&mut mpsc::Receiver<SendRequest>>,
    accepting: bool,
) -> Option<SendRequest> {
    match requests {
        Some(requests) if accepting => requests.recv().await,
        _ => std::future::pending().await,
    }
}

async fn sleep_until_or_never(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `pause` less up to a quarter at random, so gateways that lost the SMSC together do not
/// all come back in the same second.
fn jitter(pause: Duration) -> Duration {
    let quarter = pause / 4;
    if quarter.is_zero() {
        return pause;
    }
    let off = rand::thread_rng().gen_range(Duration::ZERO..=quarter);
    pause - off
}
