//! The driver interface the rest of textgate uses: send a segmented message, receive a
//! stream of events, ask for the modem's status.
//!
//! [`SmsDriver`] is an object-safe trait (through `async-trait`) rather than an enum: one
//! daemon runs several gateways, each with its own driver (AT modems today, the SMTP
//! e-mail-to-SMS path, test doubles), held side by side as `Arc<dyn SmsDriver>`. A boxed
//! future per call costs nothing next to a network round trip of seconds. Events are not
//! part of the trait: a driver hands its [`ModemEvents`] receiver to exactly one consumer
//! when it is started.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use textgate_at::{CmeError, CmsError, ErrorClass, FinalResult};
use textgate_gsm::error::GsmError;
use textgate_gsm::pdu::{Pdu, SmscField};
use tokio::sync::mpsc;

use crate::status::ModemStatus;

/// What every SMS driver offers.
#[async_trait]
pub trait SmsDriver: Send + Sync {
    /// Sends every part of one message, in order, and returns the message reference the
    /// network gave each part (to match status reports).
    async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError>;

    /// What the modem says about itself, its SIM and the network.
    async fn status(&self) -> Result<ModemStatus, StatusError>;
}

/// TP-MR: the reference of one submitted part, as returned by `+CMGS: <mr>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageReference(pub u8);

impl fmt::Display for MessageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One SMS-SUBMIT ready for `AT+CMGS`: the PDU with its SMSC field in front (`00` means
/// "the SIM's SMSC"), and the TPDU length the command announces (without the SMSC field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitPart {
    pub pdu: Vec<u8>,
    pub tpdu_length: usize,
}

/// A message to send: its already-encoded parts (see `textgate_gsm::segment::Segmenter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    pub parts: Vec<SubmitPart>,
}

impl OutgoingSms {
    /// Encodes the SUBMIT PDUs the segmenter built.
    pub fn from_pdus(pdus: &[Pdu]) -> Result<OutgoingSms, GsmError> {
        let parts = pdus
            .iter()
            .map(|pdu| {
                Ok(SubmitPart {
                    pdu: pdu.encode(SmscField::Present)?,
                    tpdu_length: pdu.tpdu_len()?,
                })
            })
            .collect::<Result<Vec<_>, GsmError>>()?;
        Ok(OutgoingSms { parts })
    }
}

/// Why a message (or part of it) was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    #[error("the modem is not available: {0}")]
    Unavailable(String),
    #[error("the message has no parts")]
    Empty,
    #[error("part {part} of {total} is not a valid submission: {reason}")]
    Invalid {
        part: usize,
        total: usize,
        reason: String,
    },
    #[error("part {part} of {total} was refused: {error}")]
    RefusedMessage {
        part: usize,
        total: usize,
        error: CmsError,
    },
    #[error("part {part} of {total} was refused: {error}")]
    RefusedEquipment {
        part: usize,
        total: usize,
        error: CmeError,
    },
    /// A bare `ERROR` says nothing about the cause; seen both for transient trouble and
    /// for bad PDUs, so it is retried a bounded number of times by the outbox.
    #[error("part {part} of {total} was refused with a bare ERROR (no reason given)")]
    BareError { part: usize, total: usize },
    /// The part may or may not have reached the network: a retry can duplicate it, a
    /// give-up can lose it. textgate prefers the duplicate.
    #[error(
        "part {part} of {total}: no answer within {timeout:?}; it may or may not have been sent"
    )]
    Timeout {
        part: usize,
        total: usize,
        timeout: Duration,
    },
    #[error("part {part} of {total}: unexpected answer: {answer}")]
    Unexpected {
        part: usize,
        total: usize,
        answer: String,
    },
}

/// A failed send, with the references of the parts the network accepted before it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{failure}")]
pub struct SendError {
    pub failure: SendFailure,
    /// Parts sent before the failure (a retry of the whole message repeats them).
    pub accepted: Vec<MessageReference>,
}

impl SendError {
    /// Whether sending the same message again later may succeed.
    ///
    /// [`ErrorClass::NeedsOperator`] (a SIM problem) says nothing about the message; the
    /// caller keeps it queued and must not expect the modem to fix itself.
    pub fn class(&self) -> ErrorClass {
        match &self.failure {
            SendFailure::Unavailable(_)
            | SendFailure::BareError { .. }
            | SendFailure::Timeout { .. }
            | SendFailure::Unexpected { .. } => ErrorClass::Retryable,
            SendFailure::Empty | SendFailure::Invalid { .. } => ErrorClass::Final,
            SendFailure::RefusedMessage { error, .. } => error.class(),
            SendFailure::RefusedEquipment { error, .. } => error.class(),
        }
    }

    pub(crate) fn from_result(
        part: usize,
        total: usize,
        result: FinalResult,
        accepted: Vec<MessageReference>,
    ) -> SendError {
        let failure = match result {
            FinalResult::Cms(error) => SendFailure::RefusedMessage { part, total, error },
            FinalResult::Cme(error) => SendFailure::RefusedEquipment { part, total, error },
            FinalResult::Error => SendFailure::BareError { part, total },
            other => SendFailure::Unexpected {
                part,
                total,
                answer: other.to_string(),
            },
        };
        SendError { failure, accepted }
    }
}

/// Why a status query failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("the modem is not available: {0}")]
    Unavailable(String),
}

/// Where a received PDU came from, which decides how it is acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Stored in the modem's message storage; deleted with `AT+CMGD` after the ack.
    Stored { index: u32 },
    /// Routed directly (`+CMT`/`+CDS`); acknowledged with `AT+CNMA` after the ack.
    Routed,
}

/// A PDU received from the network.
#[derive(Debug)]
pub struct ReceivedPdu {
    /// The PDU as the modem printed it (SMSC field first); store this, it is the truth.
    pub pdu_hex: String,
    /// The decoded PDU, or why it could not be decoded. An undecodable PDU is still handed
    /// over (and must still be acknowledged), or it would fill the SIM forever.
    pub decoded: Result<Pdu, GsmError>,
    pub origin: Origin,
    /// Acknowledge after the PDU is durably stored; only then the modem forgets it.
    pub ack: AckHandle,
}

impl ReceivedPdu {
    pub(crate) fn new(pdu_hex: String, origin: Origin, ack: AckHandle) -> ReceivedPdu {
        let decoded = Pdu::decode_hex(&pdu_hex, SmscField::Present);
        ReceivedPdu {
            pdu_hex,
            decoded,
            origin,
            ack,
        }
    }
}

/// What a driver reports.
#[derive(Debug)]
pub enum ModemEvent {
    /// One SMS-DELIVER (one part of a possibly concatenated text).
    IncomingPart(ReceivedPdu),
    /// An SMS-STATUS-REPORT for a message we sent (match its reference).
    StatusReport(ReceivedPdu),
    /// A voice call, already rejected. `number` is `None` when the caller hid it.
    IncomingCall {
        number: Option<String>,
    },
    Health(HealthChange),
}

/// The receiving end of a driver's events.
pub type ModemEvents = mpsc::Receiver<ModemEvent>;

/// A change in the modem's condition. Each is also logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthChange {
    /// Opening the device (attempt 1 is the first).
    Connecting { attempt: u32 },
    /// Initialised and serving.
    Ready { profile: &'static str },
    /// A command went unanswered; the driver re-initialises the modem.
    Unresponsive { reason: String },
    /// The device was lost or could not be opened; it is reopened after `retry_in`.
    Disconnected { reason: String, retry_in: Duration },
    /// Stopped until a person acts (PIN, PUK, missing SIM). Never retried automatically.
    NeedsOperator { reason: String },
    /// The SMSC address is empty and none is configured: sending will fail.
    NoServiceCentre,
    /// Message storage is full: new texts cannot arrive until stored ones are removed.
    StorageFull { used: u32, total: u32 },
    /// Message storage has room again.
    StorageAvailable { used: u32, total: u32 },
}

impl fmt::Display for HealthChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HealthChange::Connecting { attempt } => write!(f, "connecting (attempt {attempt})"),
            HealthChange::Ready { profile } => write!(f, "ready ({profile} profile)"),
            HealthChange::Unresponsive { reason } => write!(f, "unresponsive: {reason}"),
            HealthChange::Disconnected { reason, retry_in } => {
                write!(f, "disconnected: {reason}; reopening in {retry_in:?}")
            }
            HealthChange::NeedsOperator { reason } => write!(f, "needs an operator: {reason}"),
            HealthChange::NoServiceCentre => {
                f.write_str("no SMS service centre address; sending will fail")
            }
            HealthChange::StorageFull { used, total } => {
                write!(f, "message storage full ({used} of {total})")
            }
            HealthChange::StorageAvailable { used, total } => {
                write!(f, "message storage has room ({used} of {total})")
            }
        }
    }
}

/// What the driver must do once a received PDU is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AckToken {
    pub origin: Origin,
    /// The connection the PDU arrived on: a `+CNMA` is meaningless on a newer one.
    pub connection: u64,
    /// Which hand-over of a stored message this acknowledges: a storage slot is reused
    /// once freed, so the index alone does not say which message may be deleted.
    pub handover: u64,
}

/// The driver stopped; nothing can be acknowledged any more (the message stays on the
/// modem and is handed over again by the next driver).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the modem driver has stopped")]
pub struct DriverStopped;

/// Acknowledges one received PDU. Dropping it without acknowledging leaves the message on
/// the modem; it is handed over again after the driver restarts.
#[derive(Debug)]
#[must_use = "an unacknowledged message stays on the modem and is handed over again"]
pub struct AckHandle {
    token: AckToken,
    acks: mpsc::UnboundedSender<AckToken>,
}

impl AckHandle {
    pub(crate) fn new(token: AckToken, acks: mpsc::UnboundedSender<AckToken>) -> AckHandle {
        AckHandle { token, acks }
    }

    /// Call this after the PDU is durably stored: the driver then deletes it from the
    /// modem (`AT+CMGD`) or acknowledges it to the network (`AT+CNMA`).
    pub fn acknowledge(self) -> Result<(), DriverStopped> {
        self.acks.send(self.token).map_err(|_| DriverStopped)
    }
}
