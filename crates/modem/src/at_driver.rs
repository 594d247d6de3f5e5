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
//! (`AT+CNMA`) only after the receiver acknowledged its [`AckHandle`]: the store commits
//! first. And only the message that was acknowledged is deleted: the network reuses a
//! freed slot at once, so a deletion that is retried (refused, or its answer lost with
//! the link) reads the slot first and never deletes a message that replaced it.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use textgate_at::command::{
    CallerId, Command, DeleteScope, ErrorReporting, ListFilter, MoreMessages, NewMessageIndication,
    Pin, SmscNumber, StorageSelection,
};
use textgate_at::response::{self, SimState, StorageUsage, StoredStatus};
use textgate_at::{ErrorClass, FinalResult, Response, Urc};
use textgate_gsm::pdu::{to_hex, Tpdu};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};
use tracing::Instrument;

use crate::config::{deadline, ModemConfig};
use crate::connection::{CommandFailure, Connection, Submission};
use crate::driver::{
    AckHandle, AckToken, HealthChange, MessageReference, ModemEvent, ModemEvents, Origin,
    OutgoingSms, ReceivedPdu, SendError, SendFailure, SendProgress, SmsDriver, StatusError,
};
use crate::port::PortOpener;
use crate::quirks::{self, CallReject, MoreMessagesSupport, ProfileChoice, QuirkProfile};
use crate::status::ModemStatus;

/// How long to wait for `+CLIP` after `RING` before rejecting a call of unknown number.
const CALLER_ID_WAIT: Duration = Duration::from_secs(2);
/// How often a command refused because the SIM or modem is busy is tried.
const BUSY_ATTEMPTS: u32 = 5;
const BUSY_PAUSE: Duration = Duration::from_secs(2);
/// After synchronising, output is discarded until the modem has been quiet this long...
const QUIET: Duration = Duration::from_millis(200);
/// ...or at most this long, for a modem that never stops talking.
const QUIET_LIMIT: Duration = Duration::from_secs(2);

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
        tokio::spawn(driver.supervise(opener));
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

/// Whether a refusal says the storage slot is empty (already deleted).
fn is_invalid_index(result: &FinalResult) -> bool {
    match result {
        FinalResult::Cme(error) => error.code == Some(21),
        FinalResult::Cms(error) => error.code == Some(321),
        _ => false,
    }
}

/// Whether a refusal means "busy, ask again shortly".
fn is_busy(result: &FinalResult) -> bool {
    match result {
        FinalResult::Cme(error) => matches!(error.code, Some(14 | 515)),
        FinalResult::Cms(error) => matches!(error.code, Some(314 | 515)),
        _ => false,
    }
}

/// What happened to the SIM PIN in this process. A PIN that was not accepted is never
/// entered again: three wrong PINs lock the SIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PinHistory {
    NotEntered,
    Accepted,
    NotAccepted,
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
                    let mut connection =
                        Connection::new(port, self.config.timeouts, self.device.clone());
                    match self.serve(&mut connection, &mut failures).await {
                        Stop::Shutdown => {
                            tracing::info!(device = %self.device, "modem driver stopped");
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
                    self.health(HealthChange::Unresponsive { reason }).await;
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
                tracing::debug!(device = %self.device, result = %reply.result, "keepalive answered");
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(failure) => Err(Stop::Link(failure)),
        }
    }

    // ---- start-up ----

    async fn initialise(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        self.synchronise(connection).await?;
        connection.ok(&Command::EchoOff).await.map_err(required)?;
        self.best_effort(connection, &Command::ReportErrors(ErrorReporting::Numeric))
            .await?;
        let manufacturer = self
            .identity_line(connection, &Command::Manufacturer)
            .await?;
        let model = self.identity_line(connection, &Command::Model).await?;
        if self.config.profile == ProfileChoice::Detect {
            self.profile = quirks::detect(manufacturer.as_deref(), model.as_deref());
        }
        tracing::info!(
            device = %self.device,
            manufacturer = manufacturer.as_deref().unwrap_or("unknown"),
            model = model.as_deref().unwrap_or("unknown"),
            profile = self.profile.name,
            "modem identified"
        );
        self.unlock_sim(connection).await?;
        self.patiently(connection, &Command::PduMode)
            .await
            .map_err(required)?;
        self.routing_supported = match self
            .patiently(connection, &Command::SelectMessageService(1))
            .await
        {
            Ok(_) => true,
            Err(failure) if failure.is_link_failure() => return Err(Stop::Link(failure)),
            Err(failure) => {
                tracing::warn!(device = %self.device, error = %failure, "no phase 2+ message service; using stored notifications only");
                false
            }
        };
        let storage = self.profile.storage.to_owned();
        let selection = StorageSelection {
            read_delete: storage.clone(),
            write_send: storage.clone(),
            receive: storage,
        };
        let responses = self
            .patiently(connection, &Command::SelectStorage(selection))
            .await
            .map_err(required)?;
        if let Some(usage) = responses
            .first()
            .and_then(|r| response::parse_cpms(&r.line).ok())
        {
            // The last pair is the receive storage.
            if let Some(receive) = usage.into_iter().last() {
                self.note_storage(receive).await;
            }
        }
        self.select_indications(connection).await?;
        self.check_service_centre(connection).await?;
        for extra in self.profile.init_extras {
            self.best_effort(connection, &Command::Raw((*extra).to_owned()))
                .await?;
        }
        self.best_effort(connection, &Command::CallerIdPresentation(CallerId::Shown))
            .await?;
        self.delete_pending(connection).await?;
        self.sweep(connection).await?;
        self.health(HealthChange::Ready {
            profile: self.profile.name,
        })
        .await;
        Ok(())
    }

    /// `AT` until the modem answers `OK` (the first attempts may meet leftover input).
    async fn synchronise(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let mut last = None;
        for _ in 0..3 {
            match connection.ok(&Command::Attention).await {
                Ok(_) => {
                    // A late answer to a command that timed out may still be on its way;
                    // taken for the next command's answer it would pair every later
                    // command with the previous one's result.
                    connection
                        .discard_until_quiet(QUIET, QUIET_LIMIT)
                        .await
                        .map_err(Stop::Link)?;
                    return Ok(());
                }
                Err(failure @ (CommandFailure::Closed | CommandFailure::Io(_))) => {
                    return Err(Stop::Link(failure))
                }
                Err(failure) => {
                    tracing::debug!(device = %self.device, error = %failure, "modem not in sync yet");
                    connection.resynchronise().await.map_err(Stop::Link)?;
                    last = Some(failure);
                }
            }
        }
        Err(Stop::Link(last.unwrap_or(CommandFailure::Closed)))
    }

    async fn identity_line(
        &mut self,
        connection: &mut Connection,
        command: &Command,
    ) -> Result<Option<String>, Stop> {
        Ok(self.optional(connection, command).await?.and_then(|lines| {
            let lines: Vec<String> = lines.into_iter().map(|r| r.line).collect();
            response::identity_text(&lines)
        }))
    }

    async fn unlock_sim(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let state = self.sim_state(connection).await?;
        let needs_operator = |reason: String| Err(Stop::NeedsOperator(reason));
        match state {
            SimState::Ready => Ok(()),
            SimState::PukRequired => needs_operator(
                "the SIM is blocked and asks for its PUK; unblock it in a phone, then restart"
                    .into(),
            ),
            SimState::Other(code) => needs_operator(format!(
                "the SIM asks for {code}; textgate only enters a SIM PIN"
            )),
            SimState::PinRequired => {
                let Some(configured) = self.config.pin.clone() else {
                    return needs_operator(
                        "the SIM asks for its PIN and none is configured".into(),
                    );
                };
                if self.pin == PinHistory::NotAccepted {
                    return needs_operator("the SIM asks for its PIN again, but it did not accept it before; not retrying".into());
                }
                let pin = match Pin::new(&configured) {
                    Ok(pin) => pin,
                    Err(error) => {
                        return needs_operator(format!("the configured PIN is unusable: {error}"))
                    }
                };
                // Counted as refused until the modem says OK: a PIN whose answer was lost
                // may have been counted by the SIM.
                self.pin = PinHistory::NotAccepted;
                match connection.run(&Command::EnterPin(pin)).await {
                    Ok(reply) if reply.result.is_ok() => {
                        self.pin = PinHistory::Accepted;
                        tracing::info!(device = %self.device, "SIM PIN accepted");
                    }
                    Ok(reply) => {
                        return needs_operator(format!(
                            "the SIM refused the configured PIN ({}); not trying again, as three wrong PINs lock the SIM",
                            reply.result
                        ))
                    }
                    Err(failure) => {
                        return needs_operator(format!(
                            "no answer after entering the PIN ({failure}); not entering it again, as three wrong PINs lock the SIM"
                        ));
                    }
                }
                // The SIM is busy for a moment after unlocking.
                match self.sim_state(connection).await? {
                    SimState::Ready => Ok(()),
                    other => needs_operator(format!("the SIM accepted the PIN but is {other}")),
                }
            }
        }
    }

    async fn sim_state(&mut self, connection: &mut Connection) -> Result<SimState, Stop> {
        let responses = match self.patiently(connection, &Command::PinStatus).await {
            Ok(responses) => responses,
            // A definite SIM condition (not inserted, PIN, PUK, wrong SIM) needs a person.
            Err(CommandFailure::Rejected {
                command,
                result: FinalResult::Cme(error),
            }) if error.class() == ErrorClass::NeedsOperator => {
                let failure = CommandFailure::Rejected {
                    command,
                    result: FinalResult::Cme(error),
                };
                return Err(Stop::NeedsOperator(format!(
                    "the SIM cannot be used: {failure}"
                )));
            }
            // Anything vaguer (a bare ERROR, a SIM failure) may pass: reopen and ask again.
            Err(failure) => return Err(Stop::Link(failure)),
        };
        let line = responses.first().map(|r| r.line.as_str()).unwrap_or("");
        response::parse_cpin(line).map_err(|e| Stop::Link(CommandFailure::Parse(e)))
    }

    async fn select_indications(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let mut indication = self
            .config
            .indication
            .clone()
            .unwrap_or_else(|| self.profile.indication.clone());
        if indication.mt == 2 && !self.routing_supported {
            indication = NewMessageIndication::STORE_AND_NOTIFY;
        }
        let fallback = NewMessageIndication {
            ds: 0,
            ..NewMessageIndication::STORE_AND_NOTIFY
        };
        for candidate in [indication, fallback] {
            match connection
                .run(&Command::NewMessageIndication(candidate.clone()))
                .await
            {
                Ok(reply) if reply.result.is_ok() => return Ok(()),
                Ok(reply) => {
                    tracing::warn!(device = %self.device, result = %reply.result, "new message indication refused")
                }
                Err(failure) => return Err(required(failure)),
            }
        }
        tracing::warn!(device = %self.device, "no new message indications; relying on the periodic storage check");
        Ok(())
    }

    async fn check_service_centre(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let current = self
            .optional(connection, &Command::SmscQuery)
            .await?
            .and_then(|r| r.first().and_then(|r| response::parse_csca(&r.line).ok()))
            .and_then(|centre| centre.number);
        if current.is_some() {
            return Ok(());
        }
        let configured = self.config.smsc.as_deref().map(SmscNumber::new);
        match configured {
            Some(Ok(number)) => {
                tracing::warn!(device = %self.device, smsc = number.as_str(), "SIM has no SMSC address; setting the configured one");
                if self
                    .best_effort(connection, &Command::SetSmsc(number))
                    .await?
                {
                    return Ok(());
                }
            }
            Some(Err(error)) => {
                tracing::error!(device = %self.device, %error, "the configured SMSC is unusable")
            }
            None => {}
        }
        self.health(HealthChange::NoServiceCentre).await;
        Ok(())
    }

    // ---- receiving ----

    async fn handle_urc(&mut self, connection: &mut Connection, urc: Urc) -> Result<(), Stop> {
        match urc {
            Urc::MessageStored {
                storage,
                index,
                kind,
            } => {
                if let Some(kind) = kind {
                    tracing::info!(device = %self.device, %storage, slot = index, %kind, "stored message with a kind (MMS notification)");
                }
                self.read_stored(connection, index).await
            }
            Urc::StatusReportStored { index, .. } => self.read_stored(connection, index).await,
            Urc::Deliver { pdu: Some(pdu), .. } => {
                self.hand_over_routed(pdu, Routed::Message).await
            }
            Urc::StatusReport { pdu: Some(pdu), .. } => {
                self.hand_over_routed(pdu, Routed::StatusReport).await
            }
            Urc::Deliver { pdu: None, .. } | Urc::StatusReport { pdu: None, .. } => {
                tracing::warn!(device = %self.device, "routed message without its PDU line; not acknowledged, the network delivers it again");
                Ok(())
            }
            Urc::Ring => {
                if self.ringing_since.is_none() {
                    self.ringing_since = Some(Instant::now());
                }
                Ok(())
            }
            Urc::CallerId { number, .. } => {
                self.ringing_since = None;
                self.answer_call(connection, Some(number)).await
            }
            Urc::MemoryFull { storage } => {
                tracing::warn!(device = %self.device, storage = storage.as_deref().unwrap_or("?"), "modem reports message storage full");
                self.check_storage(connection, StorageCheck::Drain).await
            }
            Urc::CallEnded(code) => {
                tracing::debug!(device = %self.device, %code, "call ended");
                Ok(())
            }
            Urc::Malformed { line, reason } => {
                tracing::warn!(device = %self.device, %line, reason, "malformed unsolicited code");
                Ok(())
            }
            Urc::Other(line) => {
                tracing::debug!(device = %self.device, %line, "unsolicited code ignored");
                Ok(())
            }
        }
    }

    async fn read_stored(&mut self, connection: &mut Connection, index: u32) -> Result<(), Stop> {
        if self.in_flight.contains_key(&index) {
            // A notification for a slot whose deletion is pending may announce a new
            // message stored after an unconfirmed deletion freed it: look now rather
            // than at the next storage check. Otherwise it is a repeated notification.
            if self.pending_deletes.contains(&index) {
                self.pending_deletes.retain(|&pending| pending != index);
                return self.delete_if_unchanged(connection, index).await;
            }
            return Ok(());
        }
        let Some(responses) = self
            .optional(connection, &Command::ReadMessage(index))
            .await?
        else {
            return Ok(());
        };
        match responses.into_iter().find_map(|r| r.pdu) {
            Some(pdu) => self.hand_over_stored(index, pdu).await,
            None => {
                tracing::debug!(device = %self.device, slot = index, "storage slot empty");
                Ok(())
            }
        }
    }

    /// `AT+CMGL=4`: hands over everything stored that is not already with the receiver.
    async fn sweep(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let Some(responses) = self
            .optional(connection, &Command::ListMessages(ListFilter::All))
            .await?
        else {
            return Ok(());
        };
        for Response { line, pdu } in responses {
            let listed = match response::parse_cmgl(&line) {
                Ok(listed) => listed,
                Err(error) => {
                    tracing::warn!(device = %self.device, %error, "unreadable message list entry");
                    continue;
                }
            };
            if matches!(
                listed.status,
                StoredStatus::StoredSent | StoredStatus::StoredUnsent
            ) {
                continue;
            }
            let Some(pdu) = pdu else { continue };
            let index = listed.index;
            match self.in_flight.get(&index) {
                None => self.hand_over_stored(index, pdu).await?,
                Some(handed) if same_pdu(&handed.pdu, &pdu) => {}
                Some(_) => {
                    // The message handed over from this slot is gone (a deletion whose
                    // answer was lost, or someone else's) and the network stored a new
                    // one there. The new one is handed over; its predecessor's
                    // acknowledgement no longer matches and deletes nothing.
                    tracing::info!(device = %self.device, slot = index, "storage slot reused by a new message");
                    self.pending_deletes.retain(|&pending| pending != index);
                    self.hand_over_stored(index, pdu).await?;
                }
            }
        }
        Ok(())
    }

    async fn hand_over_stored(&mut self, index: u32, pdu: String) -> Result<(), Stop> {
        self.handovers += 1;
        let handover = self.handovers;
        self.in_flight.insert(
            index,
            HandedOver {
                pdu: pdu.clone(),
                handover,
            },
        );
        let token = AckToken {
            origin: Origin::Stored { index },
            connection: self.connection_id,
            handover,
            span: tracing::Span::none(),
        };
        let received = ReceivedPdu::new(
            pdu,
            Origin::Stored { index },
            AckHandle::new(token, self.acks_tx.clone()),
        );
        let event = match &received.decoded {
            Ok(pdu) if matches!(pdu.tpdu, Tpdu::StatusReport(_)) => {
                ModemEvent::StatusReport(received)
            }
            _ => ModemEvent::IncomingPart(received),
        };
        tracing::info!(device = %self.device, gateway = %self.config.name, slot = index, "received message handed over");
        self.deliver(event).await;
        Ok(())
    }

    async fn hand_over_routed(&mut self, pdu: String, kind: Routed) -> Result<(), Stop> {
        let token = AckToken {
            origin: Origin::Routed,
            connection: self.connection_id,
            handover: 0,
            span: tracing::Span::none(),
        };
        let received = ReceivedPdu::new(
            pdu,
            Origin::Routed,
            AckHandle::new(token, self.acks_tx.clone()),
        );
        let event = match kind {
            Routed::Message => ModemEvent::IncomingPart(received),
            Routed::StatusReport => ModemEvent::StatusReport(received),
        };
        tracing::info!(device = %self.device, gateway = %self.config.name, "routed message handed over");
        self.deliver(event).await;
        Ok(())
    }

    /// Deletes or acknowledges a message the receiver stored, in the span the receiver
    /// acknowledged it in.
    async fn acknowledge(
        &mut self,
        connection: &mut Connection,
        token: AckToken,
    ) -> Result<(), Stop> {
        let span = token.span.clone();
        self.acknowledge_in_span(connection, token)
            .instrument(span)
            .await
    }

    async fn acknowledge_in_span(
        &mut self,
        connection: &mut Connection,
        token: AckToken,
    ) -> Result<(), Stop> {
        match token.origin {
            Origin::Stored { index } => {
                if !self.acknowledges_current(&token) {
                    tracing::debug!(device = %self.device, slot = index, "acknowledgement for a message no longer in its slot; nothing deleted");
                    return Ok(());
                }
                // Nothing but this acknowledgement deletes the message, so its slot still
                // holds it: deleted without reading it again.
                self.delete_stored(connection, index).await?;
                if self.storage_full {
                    self.check_storage(connection, StorageCheck::Drain).await?;
                }
                Ok(())
            }
            Origin::Routed if token.connection != self.connection_id => {
                tracing::debug!(device = %self.device, "acknowledgement for a previous connection; the network delivers again");
                Ok(())
            }
            Origin::Routed => {
                self.best_effort(connection, &Command::AcknowledgeMessage)
                    .await?;
                tracing::info!(device = %self.device, "routed message acknowledged (AT+CNMA)");
                Ok(())
            }
        }
    }

    /// Whether an acknowledgement is for the message its slot holds now (and not for one
    /// whose slot was freed and reused since).
    fn acknowledges_current(&self, token: &AckToken) -> bool {
        match token.origin {
            Origin::Stored { index } => self
                .in_flight
                .get(&index)
                .is_some_and(|handed| handed.handover == token.handover),
            Origin::Routed => false,
        }
    }

    /// Retries every pending deletion, each only after reading its slot again.
    async fn delete_pending(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let mut pending = std::mem::take(&mut self.pending_deletes).into_iter();
        while let Some(index) = pending.next() {
            if let Err(stop) = self.delete_if_unchanged(connection, index).await {
                // Those not tried yet stay pending for the next connection.
                for index in pending {
                    self.retry_delete(index);
                }
                return Err(stop);
            }
        }
        Ok(())
    }

    /// Retries the deletion of an acknowledged message whose earlier deletion was refused
    /// or lost its answer. That deletion may have happened after all, and the network
    /// stores a new message in the lowest free slot: deleting the index blindly could
    /// delete a message never handed over. So the slot is read first: still the same
    /// PDU, it is deleted; empty, the earlier deletion worked; another PDU, that is a new
    /// message and is handed over.
    async fn delete_if_unchanged(
        &mut self,
        connection: &mut Connection,
        index: u32,
    ) -> Result<(), Stop> {
        let Some(expected) = self.in_flight.get(&index).map(|handed| handed.pdu.clone()) else {
            return Ok(());
        };
        match self
            .patiently(connection, &Command::ReadMessage(index))
            .await
        {
            Ok(responses) => match responses.into_iter().find_map(|r| r.pdu) {
                Some(pdu) if same_pdu(&pdu, &expected) => {
                    self.delete_stored(connection, index).await?
                }
                Some(pdu) => {
                    tracing::info!(device = %self.device, slot = index, "the earlier deletion worked and a new message is in its slot");
                    self.in_flight.remove(&index);
                    self.hand_over_stored(index, pdu).await?;
                }
                None => {
                    self.in_flight.remove(&index);
                    tracing::debug!(device = %self.device, slot = index, "stored message already gone");
                }
            },
            Err(CommandFailure::Rejected { result, .. }) if is_invalid_index(&result) => {
                self.in_flight.remove(&index);
                tracing::debug!(device = %self.device, slot = index, "stored message already gone");
            }
            Err(failure) if failure.is_link_failure() => {
                self.retry_delete(index);
                return Err(Stop::Link(failure));
            }
            Err(failure) => {
                tracing::warn!(device = %self.device, slot = index, error = %failure, "cannot read a slot before deleting; retried at the next storage check");
                self.retry_delete(index);
            }
        }
        Ok(())
    }

    /// Deletes an acknowledged message whose slot is known to hold it. A refused deletion
    /// keeps the message counted as handed over (so no sweep hands it over again: the
    /// endless re-reads of the field) and is retried at the next storage check; one lost
    /// to the link is retried after reconnecting. Both retries read the slot first.
    async fn delete_stored(&mut self, connection: &mut Connection, index: u32) -> Result<(), Stop> {
        let command = Command::DeleteMessage {
            index,
            scope: DeleteScope::Index,
        };
        match self.patiently(connection, &command).await {
            Ok(_) => {
                self.in_flight.remove(&index);
                tracing::info!(device = %self.device, slot = index, "stored message deleted after acknowledgement");
            }
            Err(CommandFailure::Rejected { result, .. }) if is_invalid_index(&result) => {
                self.in_flight.remove(&index);
                tracing::debug!(device = %self.device, slot = index, "stored message already gone");
            }
            Err(failure) if failure.is_link_failure() => {
                self.retry_delete(index);
                return Err(Stop::Link(failure));
            }
            Err(failure) => {
                tracing::warn!(device = %self.device, slot = index, error = %failure, "deletion refused; retried at the next storage check");
                self.retry_delete(index);
            }
        }
        Ok(())
    }

    fn retry_delete(&mut self, index: u32) {
        if !self.pending_deletes.contains(&index) {
            self.pending_deletes.push(index);
        }
    }

    async fn check_storage(
        &mut self,
        connection: &mut Connection,
        check: StorageCheck,
    ) -> Result<(), Stop> {
        self.delete_pending(connection).await?;
        let usage = self
            .optional(connection, &Command::StorageQuery)
            .await?
            .and_then(|r| r.first().and_then(|r| response::parse_cpms(&r.line).ok()))
            .and_then(|usage| usage.into_iter().last());
        let Some(usage) = usage else { return Ok(()) };
        let stragglers = usage.used as usize > self.in_flight.len();
        let full = usage.is_full();
        self.note_storage(usage).await;
        // Drain a full storage, and collect messages whose notification was lost (Huawei
        // stops sending +CMTI once full).
        if (full && check == StorageCheck::Drain) || stragglers {
            self.sweep_needed = true;
        }
        Ok(())
    }

    async fn note_storage(&mut self, usage: StorageUsage) {
        let full = usage.is_full();
        let (used, total) = (usage.used, usage.total);
        if full != self.storage_full {
            self.storage_full = full;
            let change = if full {
                HealthChange::StorageFull { used, total }
            } else {
                HealthChange::StorageAvailable { used, total }
            };
            self.health(change).await;
        }
        if full {
            self.sweep_needed = true;
        }
    }

    async fn answer_call(
        &mut self,
        connection: &mut Connection,
        number: Option<String>,
    ) -> Result<(), Stop> {
        tracing::info!(device = %self.device, number = number.as_deref().unwrap_or("hidden"), "rejecting a voice call");
        let (first, second) = match self.profile.call_reject {
            CallReject::HangUp => (Command::HangUp, Command::HangUpLegacy),
            CallReject::LegacyHangUp => (Command::HangUpLegacy, Command::HangUp),
        };
        if !self.best_effort(connection, &first).await? {
            self.best_effort(connection, &second).await?;
        }
        self.deliver(ModemEvent::IncomingCall { number }).await;
        Ok(())
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
                        tracing::info!(device = %self.device, %error, "send stopped between parts");
                    }
                    Err(error) => {
                        tracing::warn!(device = %self.device, %error, class = %error.class(), "send failed");
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

    /// Sends every part, or the parts up to a stop the caller asked for (a part already
    /// submitted is finished: its outcome must be known, or it would be sent again);
    /// returns the result for the caller and, separately, whether the link failed (which
    /// ends serving after the caller has its answer).
    async fn send(
        &mut self,
        connection: &mut Connection,
        message: &OutgoingSms,
        progress: &SendProgress,
    ) -> (Result<Vec<MessageReference>, SendError>, Option<Stop>) {
        let total = message.parts.len();
        if total == 0 {
            return (
                Err(SendError {
                    failure: SendFailure::Empty,
                    accepted: Vec::new(),
                }),
                None,
            );
        }
        for (i, part) in message.parts.iter().enumerate() {
            if let Err(reason) = check_part(&part.pdu, part.tpdu_length) {
                let failure = SendFailure::Invalid {
                    part: i + 1,
                    total,
                    reason,
                };
                return (
                    Err(SendError {
                        failure,
                        accepted: Vec::new(),
                    }),
                    None,
                );
            }
        }
        if progress.stop_requested() {
            return (Err(SendError::stopped(0, total, Vec::new())), None);
        }
        let keep_open = total > 1 && self.profile.more_messages == MoreMessagesSupport::Use;
        if keep_open {
            if let Err(stop) = self
                .best_effort(connection, &Command::MoreMessages(MoreMessages::KeepOpen))
                .await
            {
                let failure = SendFailure::Unavailable(stop.to_string());
                return (
                    Err(SendError {
                        failure,
                        accepted: Vec::new(),
                    }),
                    Some(stop),
                );
            }
        }
        let mut accepted = Vec::new();
        let mut outcome = Ok(());
        for (i, part) in message.parts.iter().enumerate() {
            if progress.stop_requested() {
                outcome = Err((SendFailure::Stopped { sent: i, total }, None));
                break;
            }
            let (part_number, hex) = (i + 1, to_hex(&part.pdu));
            match connection.submit(&hex, part.tpdu_length).await {
                Ok(Submission::Answered(reply)) if reply.result.is_ok() => {
                    let reference = reply
                        .responses
                        .iter()
                        .find_map(|r| response::parse_cmgs(&r.line).ok());
                    match reference {
                        Some(mr) => {
                            // The caller logs the part with its text's ids.
                            tracing::debug!(device = %self.device, part = part_number, total, mr, "part accepted");
                            progress.part_accepted(i, MessageReference(mr));
                            accepted.push(MessageReference(mr));
                        }
                        None => {
                            let answer = reply
                                .responses
                                .first()
                                .map(|r| r.line.clone())
                                .unwrap_or_else(|| "OK without +CMGS".into());
                            outcome = Err((
                                SendFailure::Unexpected {
                                    part: part_number,
                                    total,
                                    answer,
                                },
                                None,
                            ));
                            break;
                        }
                    }
                }
                Ok(Submission::Answered(reply)) => {
                    if let FinalResult::Cms(error) = &reply.result {
                        if error.code == Some(322) {
                            self.sweep_needed = true;
                        }
                    }
                    let failure =
                        SendError::from_result(part_number, total, reply.result, Vec::new())
                            .failure;
                    outcome = Err((failure, None));
                    break;
                }
                Ok(Submission::TimedOut { timeout }) => {
                    let failure = SendFailure::Timeout {
                        part: part_number,
                        total,
                        timeout,
                    };
                    let stop = Stop::Link(CommandFailure::Timeout {
                        command: "AT+CMGS".into(),
                        timeout,
                    });
                    outcome = Err((failure, Some(stop)));
                    break;
                }
                Err(link) => {
                    let failure = SendFailure::Unavailable(link.to_string());
                    outcome = Err((failure, Some(Stop::Link(link))));
                    break;
                }
            }
        }
        let mut stop = None;
        if let Err((_, link_stop)) = &mut outcome {
            stop = link_stop.take();
        }
        if keep_open && stop.is_none() {
            if let Err(link) = self
                .best_effort(connection, &Command::MoreMessages(MoreMessages::Disabled))
                .await
            {
                stop = Some(link);
            }
        }
        match outcome {
            Ok(()) => (Ok(accepted), stop),
            Err((failure, _)) => (Err(SendError { failure, accepted }), stop),
        }
    }

    async fn status(&mut self, connection: &mut Connection) -> Result<ModemStatus, Stop> {
        let mut status = collect_status(connection).await.map_err(Stop::Link)?;
        status.profile = Some(self.profile.name);
        if let Some(storage) = &status.storage {
            self.note_storage(storage.clone()).await;
        }
        Ok(status)
    }

    // ---- while the device is away ----

    /// Waits out a backoff delay, answering requests that they cannot be served now.
    /// Returns false when the driver should stop.
    async fn wait_disconnected(&mut self, delay: Duration, reason: &str) -> bool {
        let until = deadline(Instant::now(), delay);
        loop {
            tokio::select! {
                _ = sleep_until(until) => return true,
                token = self.acks.recv() => match token {
                    Some(token) => self.defer(token),
                    None => return false,
                },
                request = self.requests.recv() => match request {
                    Some(request) => refuse(request, reason),
                    None => return false,
                },
            }
        }
    }

    /// After a refused PIN: answer every request with the reason, until shut down.
    async fn refuse_until_shutdown(&mut self, reason: &str) {
        let reason = format!("stopped until a person acts: {reason}");
        loop {
            tokio::select! {
                token = self.acks.recv() => match token {
                    Some(token) => self.defer(token),
                    None => return,
                },
                request = self.requests.recv() => match request {
                    Some(request) => refuse(request, &reason),
                    None => return,
                },
            }
        }
    }

    fn defer(&mut self, token: AckToken) {
        match token.origin {
            Origin::Stored { index } if self.acknowledges_current(&token) => {
                self.retry_delete(index)
            }
            Origin::Stored { index } => {
                tracing::debug!(device = %self.device, slot = index, "acknowledgement for a message no longer in its slot; nothing deleted")
            }
            Origin::Routed => {
                tracing::debug!(device = %self.device, "acknowledgement after the connection was lost; the network delivers again")
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
                    tracing::debug!(device = %self.device, command = %command.log_text(), %result, attempt, "busy; asking again");
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
                tracing::warn!(device = %self.device, error = %failure, "command refused");
                Ok(None)
            }
        }
    }

    /// Hands an event to the receiver. Without a receiver (a send-only user) nothing is
    /// acknowledged, so received messages stay on the modem for the next one.
    async fn deliver(&self, event: ModemEvent) {
        if self.events.send(event).await.is_err() {
            tracing::warn!(device = %self.device, "no receiver for modem events; received messages stay on the modem");
        }
    }

    async fn health(&self, change: HealthChange) {
        match &change {
            HealthChange::Ready { .. }
            | HealthChange::Connecting { .. }
            | HealthChange::StorageAvailable { .. } => {
                tracing::info!(device = %self.device, modem = %self.config.name, health = %change, "modem health")
            }
            HealthChange::NeedsOperator { .. } => {
                tracing::error!(device = %self.device, modem = %self.config.name, health = %change, "modem health")
            }
            _ => {
                tracing::warn!(device = %self.device, modem = %self.config.name, health = %change, "modem health")
            }
        }
        // A consumer that went away does not stop the driver from serving sends.
        let _ = self.events.send(ModemEvent::Health(change)).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StorageCheck {
    /// Only look for messages whose notification was lost.
    CollectStragglers,
    /// Storage is (reported) full: hand over everything so it can be deleted.
    Drain,
}

#[derive(Debug, Clone, Copy)]
enum Routed {
    Message,
    StatusReport,
}

fn refuse(request: Request, reason: &str) {
    match request {
        Request::Send { reply, .. } => {
            let _ = reply.send(Err(SendError {
                failure: SendFailure::Unavailable(reason.to_owned()),
                accepted: Vec::new(),
            }));
        }
        Request::Status { reply } => {
            let _ = reply.send(Err(StatusError::Unavailable(reason.to_owned())));
        }
    }
}

/// Checks that the announced TPDU length matches the PDU: a wrong length is the classic
/// cause of `+CMS ERROR: 304`, and better caught here with a clear reason.
fn check_part(pdu: &[u8], tpdu_length: usize) -> Result<(), String> {
    let Some(&smsc_length) = pdu.first() else {
        return Err("the PDU is empty".into());
    };
    let tpdu_octets = pdu.len().saturating_sub(usize::from(smsc_length) + 1);
    if tpdu_octets != tpdu_length {
        return Err(format!(
            "TPDU length {tpdu_length} announced, but the PDU has {tpdu_octets} octets after its {}-octet SMSC field",
            usize::from(smsc_length) + 1
        ));
    }
    textgate_at::command::send_pdu(tpdu_length)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Asks everything the status shows. A refused question leaves its field empty.
pub(crate) async fn collect_status(
    connection: &mut Connection,
) -> Result<ModemStatus, CommandFailure> {
    async fn ask(
        connection: &mut Connection,
        command: Command,
    ) -> Result<Vec<Response>, CommandFailure> {
        match connection.ok(&command).await {
            Ok(responses) => Ok(responses),
            Err(failure) if failure.is_link_failure() => Err(failure),
            Err(_) => Ok(Vec::new()),
        }
    }
    fn text(responses: &[Response]) -> Option<String> {
        let lines: Vec<String> = responses.iter().map(|r| r.line.clone()).collect();
        response::identity_text(&lines)
    }
    fn first<T, E>(responses: &[Response], parse: impl Fn(&str) -> Result<T, E>) -> Option<T> {
        responses.iter().find_map(|r| parse(&r.line).ok())
    }
    let manufacturer = text(&ask(connection, Command::Manufacturer).await?);
    let model = text(&ask(connection, Command::Model).await?);
    let revision = text(&ask(connection, Command::Revision).await?);
    let imei = text(&ask(connection, Command::SerialNumber).await?);
    let sim = first(
        &ask(connection, Command::PinStatus).await?,
        response::parse_cpin,
    );
    let signal = first(
        &ask(connection, Command::SignalQuality).await?,
        response::parse_csq,
    );
    let registration = first(
        &ask(connection, Command::Registration).await?,
        response::parse_creg,
    );
    let operator = first(
        &ask(connection, Command::Operator).await?,
        response::parse_cops,
    )
    .and_then(|o| o.name);
    let smsc = first(
        &ask(connection, Command::SmscQuery).await?,
        response::parse_csca,
    )
    .and_then(|c| c.number);
    let storage = first(
        &ask(connection, Command::StorageQuery).await?,
        response::parse_cpms,
    )
    .and_then(|u| u.into_iter().last());
    let profile = Some(quirks::detect(manufacturer.as_deref(), model.as_deref()).name);
    Ok(ModemStatus {
        manufacturer,
        model,
        revision,
        imei,
        sim,
        signal,
        registration,
        operator,
        smsc,
        storage,
        profile,
    })
}
