//! The AT driver: one task owns the device and runs one command at a time.
//!
//! Requests (send, status) wait in a queue; acknowledgements of received messages wait in
//! a second, unbounded queue that is served first, so storage frees up as soon as the
//! store has committed. The task's life is a loop of connections: open the device,
//! initialise it, serve until the link fails, then reopen with exponential backoff. A
//! command that goes unanswered first triggers a soft reset (re-initialisation on the same
//! device); only if that fails too is the device closed and reopened.
//!
//! Invariant: a stored message is deleted (`AT+CMGD`) and a routed one acknowledged
//! (`AT+CNMA`) only after the receiver acknowledged its
//! [`AckHandle`](crate::AckHandle): the store commits first. And only the message that
//! was acknowledged is deleted: the network reuses a freed slot at once, so a deletion
//! that is retried (refused, or its answer lost with the link) reads the slot first and
//! never deletes a message that replaced it.
//!
//! The task is one `Driver` whose `impl` is split by phase, each file owning one part of
//! the device's life:
//! - this file: the [`AtModem`] handle, the supervision loop (open, serve, soft reset,
//!   reopen with backoff), the serving loop that picks the next thing to do, and the
//!   command helpers every phase uses (busy retries, tolerable refusals, health reports);
//! - `startup`: synchronising, identifying the modem and its quirk profile, the SIM PIN,
//!   message mode, storage, new-message indications and the service centre;
//! - `receive`: unsolicited codes, reading stored messages and handing them over,
//!   storage checks, rejecting voice calls;
//! - `acknowledge`: deleting (`AT+CMGD`) or acknowledging (`AT+CNMA`) what the receiver
//!   stored, and retrying deletions without ever deleting a message that replaced one;
//! - `send`: `AT+CMGS` per part, `AT+CMMS` across parts, progress and stop requests;
//! - `status`: the status questions behind `SmsDriver::status` and `textgate modem probe`;
//! - `away`: what the task does while the device is away or needs a person.
//!
//! Everything the task logs happens in its `modem` span, which carries the gateway's name
//! and the device, so no line repeats them; an acknowledgement is handled in a `modem`
//! span under the receiver's span, whose fields (the text's ids) its lines carry too.

mod acknowledge;
mod away;
mod receive;
mod send;
mod startup;
mod status;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use textgate_at::command::Command;
use textgate_at::{FinalResult, Response};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};
use tracing::Instrument;

use crate::config::{deadline, ModemConfig};
use crate::connection::{CommandFailure, Connection};
use crate::driver::{
    AckToken, HealthChange, MessageReference, ModemEvent, ModemEvents, OutgoingSms, SendError,
    SendFailure, SendProgress, SmsDriver, StatusError,
};
use crate::port::PortOpener;
use crate::quirks::{self, ProfileChoice, QuirkProfile};
use crate::status::ModemStatus;

use receive::StorageCheck;
use startup::PinHistory;
pub(crate) use status::collect_status;

/// How long to wait for `+CLIP` after `RING` before rejecting a call of unknown number.
const CALLER_ID_WAIT: Duration = Duration::from_secs(2);
/// How often a command refused because the SIM or modem is busy is tried.
const BUSY_ATTEMPTS: u32 = 5;
const BUSY_PAUSE: Duration = Duration::from_secs(2);

/// What a handle asks of the task, answered on the request's own channel.
enum Request {
    Send {
        message: OutgoingSms,
        progress: SendProgress,
        reply: oneshot::Sender<Result<Vec<MessageReference>, SendError>>,
    },
    Status {
        reply: oneshot::Sender<Result<ModemStatus, StatusError>>,
    },
}

/// The handle to a running AT driver. Dropping it (and every clone) stops the driver.
#[derive(Debug, Clone)]
pub struct AtModem {
    requests: mpsc::Sender<Request>,
    device: String,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Send { message, .. } => write!(f, "Send({} parts)", message.parts.len()),
            Request::Status { .. } => f.write_str("Status"),
        }
    }
}

impl AtModem {
    /// Starts the driver task on the current tokio runtime.
    pub fn spawn(config: ModemConfig, opener: Box<dyn PortOpener>) -> (AtModem, ModemEvents) {
        let (requests_tx, requests) = mpsc::channel(64);
        let (events, events_rx) = mpsc::channel(256);
        let (acks_tx, acks) = mpsc::unbounded_channel();
        let device = opener.describe();
        let driver = Driver {
            profile: match &config.profile {
                ProfileChoice::Fixed(profile) => profile,
                ProfileChoice::Detect => &quirks::GENERIC,
            },
            config,
            device: device.clone(),
            requests,
            events,
            acks_tx,
            acks,
            in_flight: HashMap::new(),
            pending_deletes: Vec::new(),
            handovers: 0,
            connection_id: 0,
            storage_full: false,
            sweep_needed: false,
            routing_supported: false,
            pin: PinHistory::NotEntered,
            ringing_since: None,
        };
        let span = driver.span(tracing::Span::current().id());
        tokio::spawn(driver.supervise(opener).instrument(span));
        (
            AtModem {
                requests: requests_tx,
                device,
            },
            events_rx,
        )
    }

    /// The device this driver talks to, for logs.
    pub fn device(&self) -> &str {
        &self.device
    }
}

#[async_trait]
impl SmsDriver for AtModem {
    async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError> {
        self.send_reporting(message, SendProgress::unobserved())
            .await
    }

    /// The parts go out in one batch with the link kept open (`AT+CMMS`) as with
    /// [`SmsDriver::send`]; the driver reports each `+CMGS` reference as it arrives and
    /// looks at the stop request before each part. A send still waiting in the queue when
    /// the stop comes sends nothing.
    async fn send_reporting(
        &self,
        message: OutgoingSms,
        progress: SendProgress,
    ) -> Result<Vec<MessageReference>, SendError> {
        let stopped = || SendError {
            failure: SendFailure::Unavailable("the driver has stopped".into()),
            accepted: Vec::new(),
        };
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Send {
                message,
                progress,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn status(&self) -> Result<ModemStatus, StatusError> {
        let stopped = || StatusError::Unavailable("the driver has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Status { reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Why serving a connection stopped.
#[derive(Debug)]
enum Stop {
    /// The modem did not answer, the device went away, or the modem refused a command it
    /// must accept: close, back off, reopen.
    Link(CommandFailure),
    /// A person must act (PIN, PUK, SIM); never retried.
    NeedsOperator(String),
    /// The handle was dropped.
    Shutdown,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Link(failure) => failure.fmt(f),
            Stop::NeedsOperator(reason) => f.write_str(reason),
            Stop::Shutdown => f.write_str("the driver is stopping"),
        }
    }
}

/// A command the driver cannot do without (PDU mode, storage selection) failed. A refusal
/// is treated like a lost link: the device is reopened with backoff, since a modem in a
/// bad state often recovers after a reopen; only SIM problems stop the driver for good.
fn required(failure: CommandFailure) -> Stop {
    Stop::Link(failure)
}

/// Whether a refusal means "busy, ask again shortly".
fn is_busy(result: &FinalResult) -> bool {
    match result {
        FinalResult::Cme(error) => matches!(error.code, Some(14 | 515)),
        FinalResult::Cms(error) => matches!(error.code, Some(314 | 515)),
        _ => false,
    }
}

/// A stored message with the receiver, as its slot held it when it was handed over.
#[derive(Debug)]
struct HandedOver {
    pdu: String,
    handover: u64,
}

/// Whether two PDUs read from a slot are the same message (modems differ in hex case).
fn same_pdu(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The driver task's state: everything the device's one owner remembers across
/// connections. Its `impl` is split by phase across this folder's files.
struct Driver {
    config: ModemConfig,
    device: String,
    profile: &'static QuirkProfile,
    requests: mpsc::Receiver<Request>,
    events: mpsc::Sender<ModemEvent>,
    acks_tx: mpsc::UnboundedSender<AckToken>,
    acks: mpsc::UnboundedReceiver<AckToken>,
    /// Stored messages handed over and not yet deleted, by storage index: never handed
    /// over twice, and deleted only while their slot still holds what was handed over.
    in_flight: HashMap<u32, HandedOver>,
    /// Acknowledged messages whose deletion is still to do: acknowledged while the device
    /// was away, refused by the modem, or interrupted by the link. They stay in
    /// `in_flight` meanwhile, and their slot is read again before the deletion is retried.
    pending_deletes: Vec<u32>,
    /// Hand-overs of stored messages so far; numbers each one for its acknowledgement.
    handovers: u64,
    connection_id: u64,
    storage_full: bool,
    sweep_needed: bool,
    /// `AT+CSMS=1` accepted: `+CMT`/`+CDS` routing and `AT+CNMA` are possible.
    routing_supported: bool,
    pin: PinHistory,
    ringing_since: Option<Instant>,
}

impl Driver {
    /// The span of everything the task logs: the gateway the modem serves and its device,
    /// so the lines inside need not repeat them. `parent` is the caller's span when the
    /// task starts, and the receiver's span while an acknowledgement is handled.
    fn span(&self, parent: Option<tracing::Id>) -> tracing::Span {
        tracing::info_span!(
            parent: parent,
            "modem",
            gateway = %self.config.name,
            device = %self.device
        )
    }

    async fn supervise(mut self, opener: Box<dyn PortOpener>) {
        // Consecutive failures to get a working connection; the backoff grows with it.
        let mut failures: u32 = 0;
        loop {
            self.health(HealthChange::Connecting {
                attempt: failures.saturating_add(1),
            })
            .await;
            let reason = match opener.open().await {
                Ok(port) => {
                    self.connection_id += 1;
                    let mut connection = Connection::new(port, self.config.timeouts);
                    match self.serve(&mut connection, &mut failures).await {
                        Stop::Shutdown => {
                            tracing::info!("modem driver stopped");
                            return;
                        }
                        Stop::NeedsOperator(reason) => {
                            self.health(HealthChange::NeedsOperator {
                                reason: reason.clone(),
                            })
                            .await;
                            drop(connection);
                            self.refuse_until_shutdown(&reason).await;
                            return;
                        }
                        Stop::Link(failure) => failure.to_string(),
                    }
                }
                Err(error) => format!("cannot open {}: {error}", self.device),
            };
            failures = failures.saturating_add(1);
            let retry_in = self.config.backoff.delay(failures);
            self.health(HealthChange::Disconnected {
                reason: reason.clone(),
                retry_in,
            })
            .await;
            if !self.wait_disconnected(retry_in, &reason).await {
                return;
            }
        }
    }

    /// Initialises the modem and serves until the link fails. `failures` is reset once the
    /// modem is ready, so backoff only grows while the device keeps failing.
    async fn serve(&mut self, connection: &mut Connection, failures: &mut u32) -> Stop {
        if let Err(stop) = self.initialise(connection).await {
            return stop;
        }
        *failures = 0;
        let mut storage_check_at = deadline(Instant::now(), self.config.storage_check);
        loop {
            let outcome = self.serve_once(connection, &mut storage_check_at).await;
            match outcome {
                Ok(()) => {}
                Err(Stop::Link(CommandFailure::Timeout { command, timeout })) => {
                    let reason = format!("no answer to {command} within {timeout:?}");
                    self.health(HealthChange::Unresponsive {
                        reason: reason.clone(),
                    })
                    .await;
                    // What waited behind the hung command goes back now, not after the
                    // resynchronisation (which may take as long again, and fail): the
                    // outbox retries the sends, or another gateway's daemon takes them.
                    self.refuse_queued(&format!(
                        "the modem stopped answering ({reason}); queued sends are given back"
                    ));
                    // Soft reset: leave any half-finished input and initialise again on
                    // the same device. If that fails too, the device is reopened.
                    let reset = match connection.resynchronise().await {
                        Ok(()) => self.initialise(connection).await,
                        Err(failure) => Err(Stop::Link(failure)),
                    };
                    if let Err(stop) = reset {
                        return stop;
                    }
                }
                Err(stop) => return stop,
            }
        }
    }

    /// One turn of the serving loop: handle what is pending, else wait for something.
    async fn serve_once(
        &mut self,
        connection: &mut Connection,
        storage_check_at: &mut Instant,
    ) -> Result<(), Stop> {
        if let Some(urc) = connection.urcs.pop_front() {
            return self.handle_urc(connection, urc).await;
        }
        if let Ok(token) = self.acks.try_recv() {
            return self.acknowledge(connection, token).await;
        }
        if std::mem::take(&mut self.sweep_needed) {
            return self.sweep(connection).await;
        }
        let keepalive_at = deadline(connection.last_heard, self.config.keepalive);
        let call_deadline = self.ringing_since.map(|since| since + CALLER_ID_WAIT);
        tokio::select! {
            biased;
            token = self.acks.recv() => match token {
                Some(token) => self.acknowledge(connection, token).await,
                None => Err(Stop::Shutdown),
            },
            read = connection.read_idle() => read.map_err(Stop::Link),
            request = self.requests.recv() => match request {
                Some(request) => self.serve_request(connection, request).await,
                None => Err(Stop::Shutdown),
            },
            _ = sleep_until(call_deadline.unwrap_or(keepalive_at)), if call_deadline.is_some() => {
                self.ringing_since = None;
                self.answer_call(connection, None).await
            }
            _ = sleep_until(keepalive_at) => self.keepalive(connection).await,
            _ = sleep_until(*storage_check_at) => {
                *storage_check_at = deadline(Instant::now(), self.config.storage_check);
                self.check_storage(connection, StorageCheck::CollectStragglers).await
            }
        }
    }

    /// `AT` after a silence: any answer, even `ERROR`, shows the modem is alive.
    async fn keepalive(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        match connection.run(&Command::Attention).await {
            Ok(reply) if !reply.result.is_ok() => {
                tracing::debug!(result = %reply.result, "keepalive answered");
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(failure) => Err(Stop::Link(failure)),
        }
    }

    // ---- requests ----

    async fn serve_request(
        &mut self,
        connection: &mut Connection,
        request: Request,
    ) -> Result<(), Stop> {
        match request {
            Request::Send {
                message,
                progress,
                reply,
            } => {
                let (result, stop) = self.send(connection, &message, &progress).await;
                match &result {
                    Err(error) if matches!(error.failure, SendFailure::Stopped { .. }) => {
                        tracing::info!(%error, "send stopped between parts");
                    }
                    Err(error) => {
                        tracing::warn!(%error, class = %error.class(), "send failed");
                    }
                    Ok(_) => {}
                }
                let _ = reply.send(result);
                stop.map_or(Ok(()), Err)
            }
            Request::Status { reply } => {
                let status = self.status(connection).await;
                match status {
                    Ok(status) => {
                        let _ = reply.send(Ok(status));
                        Ok(())
                    }
                    Err(stop) => {
                        let _ = reply.send(Err(StatusError::Unavailable(stop.to_string())));
                        Err(stop)
                    }
                }
            }
        }
    }

    // ---- helpers ----

    /// Runs a command, retrying while the SIM or modem says it is busy.
    async fn patiently(
        &mut self,
        connection: &mut Connection,
        command: &Command,
    ) -> Result<Vec<Response>, CommandFailure> {
        let mut attempt = 1;
        loop {
            match connection.ok(command).await {
                Err(CommandFailure::Rejected { result, .. })
                    if is_busy(&result) && attempt < BUSY_ATTEMPTS =>
                {
                    tracing::debug!(command = %command.log_text(), %result, attempt, "busy; asking again");
                    attempt += 1;
                    tokio::time::sleep(BUSY_PAUSE).await;
                }
                other => return other,
            }
        }
    }

    /// Runs a command whose refusal is tolerable; returns whether it succeeded.
    async fn best_effort(
        &mut self,
        connection: &mut Connection,
        command: &Command,
    ) -> Result<bool, Stop> {
        Ok(self.optional(connection, command).await?.is_some())
    }

    /// Runs a command; a refusal is logged and gives `None`, a lost link stops serving.
    async fn optional(
        &mut self,
        connection: &mut Connection,
        command: &Command,
    ) -> Result<Option<Vec<Response>>, Stop> {
        match self.patiently(connection, command).await {
            Ok(responses) => Ok(Some(responses)),
            Err(failure) if failure.is_link_failure() => Err(Stop::Link(failure)),
            Err(failure) => {
                tracing::warn!(error = %failure, "command refused");
                Ok(None)
            }
        }
    }

    /// Hands an event to the receiver. Without a receiver (a send-only user) nothing is
    /// acknowledged, so received messages stay on the modem for the next one.
    async fn deliver(&self, event: ModemEvent) {
        if self.events.send(event).await.is_err() {
            tracing::warn!("no receiver for modem events; received messages stay on the modem");
        }
    }

    async fn health(&self, change: HealthChange) {
        // `modem` names the gateway again, as health lines always have: they are selected
        // by it (`"modem":"main"`) apart from the driver's other lines.
        match &change {
            HealthChange::Ready { .. }
            | HealthChange::Connecting { .. }
            | HealthChange::StorageAvailable { .. } => {
                tracing::info!(modem = %self.config.name, health = %change, "modem health")
            }
            HealthChange::NeedsOperator { .. } => {
                tracing::error!(modem = %self.config.name, health = %change, "modem health")
            }
            _ => {
                tracing::warn!(modem = %self.config.name, health = %change, "modem health")
            }
        }
        // A consumer that went away does not stop the driver from serving sends.
        let _ = self.events.send(ModemEvent::Health(change)).await;
    }
}
