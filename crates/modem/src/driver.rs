//! The driver interface the rest of textgate uses: send a segmented message, receive a
//! stream of events, ask for the modem's status.
//!
//! [`SmsDriver`] is an object-safe trait (through `async-trait`) rather than an enum: one
//! daemon runs several gateways, each with its own driver (AT modems today, the SMTP
//! e-mail-to-SMS path, test doubles), held side by side as `Arc<dyn SmsDriver>`. A boxed
//! future per call costs nothing next to a network round trip of seconds. Events are not
//! part of the trait: a driver hands its [`ModemEvents`] receiver to exactly one consumer
//! when it is started.
//!
//! A long text is several SMS, and the network accepts them one by one. Callers that must
//! not send a part twice (the outbox, after a restart) use [`SmsDriver::send_reporting`]:
//! it reports each part's message reference the moment the network accepted it and lets
//! the caller stop the send between parts, while the driver still sends the parts as one
//! batch (the AT driver keeps the radio link open with `AT+CMMS` between them).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use textgate_gsm::error::GsmError;
use textgate_gsm::pdu::{Pdu, SmscField};
use tokio::sync::{mpsc, watch};

use crate::plain::PlainCause;
use crate::status::ModemStatus;

/// What every SMS driver offers.
#[async_trait]
pub trait SmsDriver: Send + Sync {
    /// Sends every part of one message, in order, and returns the message reference the
    /// network gave each part (to match status reports).
    async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError>;

    /// Sends like [`SmsDriver::send`], telling `progress` about each part the network
    /// accepted as soon as it did, and starting no further part once the caller asked to
    /// stop ([`SendMonitor::stop`]); a part already handed to the modem is finished. A send
    /// stopped before its last part fails with [`SendFailure::Stopped`].
    ///
    /// The default suits drivers that hand a message over as one unit (the SMTP path
    /// sends one e-mail): it cannot stop between parts, and reports the parts when the
    /// whole send has ended.
    async fn send_reporting(
        &self,
        message: OutgoingSms,
        progress: SendProgress,
    ) -> Result<Vec<MessageReference>, SendError> {
        if progress.stop_requested() {
            return Err(SendError::stopped(0, message.parts.len(), Vec::new()));
        }
        let result = self.send(message).await;
        let accepted = match &result {
            Ok(references) => references,
            Err(error) => &error.accepted,
        };
        for (index, reference) in accepted.iter().enumerate() {
            progress.part_accepted(index, reference.clone());
        }
        result
    }

    /// What the modem says about itself, its SIM and the network.
    async fn status(&self) -> Result<ModemStatus, StatusError>;

    /// How many sends this driver works on at once: a modem sends one text at a time, a
    /// message centre takes a window of them. The outbox runs as many workers.
    fn concurrency(&self) -> usize {
        1
    }

    /// Whether the network reports on the parts this driver sends (status reports or
    /// delivery receipts, each naming the phone). When a part's answer was lost, the
    /// outbox waits a little for such a report before sending it again; without reports
    /// there is nothing to wait for.
    fn reports_delivery(&self) -> bool {
        true
    }
}

/// How the network named one submitted part, so its status report can be matched to it:
/// a modem's TP-MR (`+CMGS: <mr>`, 0 to 255, reused every 256 sends) or a message centre's
/// `message_id` (SMPP `submit_sm_resp`, up to 64 characters, unique for days). Kept as the
/// text the store records; which kind it is follows from the gateway's driver.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageReference(String);

impl MessageReference {
    /// The longest message id an SMSC may give (SMPP 3.4 §5.2.23: 65 octets with the NUL).
    pub const MAX_LEN: usize = 64;

    /// A modem's TP-MR.
    pub fn tpmr(reference: u8) -> MessageReference {
        MessageReference(reference.to_string())
    }

    /// A message centre's id for the part, as it gave it; `None` when it is empty or longer
    /// than SMPP allows (nothing could match a receipt to it).
    pub fn smsc(id: &str) -> Option<MessageReference> {
        (!id.is_empty() && id.len() <= Self::MAX_LEN).then(|| MessageReference(id.to_owned()))
    }

    /// A reference as the store recorded it.
    pub fn from_stored(reference: impl Into<String>) -> MessageReference {
        MessageReference(reference.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The TP-MR this reference is, if it is one.
    pub fn as_tpmr(&self) -> Option<u8> {
        self.0.parse().ok()
    }
}

impl fmt::Display for MessageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One SMS-SUBMIT ready for `AT+CMGS`: the PDU with its SMSC field in front (`00` means
/// "the SIM's SMSC"), and the TPDU length the command announces (without the SMSC field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitPart {
    pub pdu: Vec<u8>,
    pub tpdu_length: usize,
}

/// A message to send: its already-encoded parts (see `textgate_gsm::segment::Segmenter`),
/// and beside them the recipient and the text they encode, for drivers that do not send
/// PDUs (the e-mail path sends the text; an SMSC protocol may take the number apart from
/// the PDU). The recipient and text are always the whole message's, also when `parts` holds
/// only the parts still to be sent after an earlier attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    /// The destination as the outbox has it: E.164 (`+15551234567`), or a short code.
    pub recipient: String,
    /// The text the parts encode, whole.
    pub text: String,
    pub parts: Vec<SubmitPart>,
    /// A name for this text that stays the same on every attempt to send it, for a far end
    /// that refuses a repeated name (the Android app answers a repeated message id with
    /// `409 Conflict`), so that a retry after a lost answer cannot send it twice. The outbox
    /// sets it; `None` for drivers and callers without such a far end.
    pub key: Option<String>,
}

impl OutgoingSms {
    /// The message the segmenter's SUBMIT PDUs for `text` to `recipient` make.
    pub fn from_pdus(
        recipient: impl Into<String>,
        text: impl Into<String>,
        pdus: &[Pdu],
    ) -> Result<OutgoingSms, GsmError> {
        let parts = pdus
            .iter()
            .map(|pdu| {
                Ok(SubmitPart {
                    pdu: pdu.encode(SmscField::Present)?,
                    tpdu_length: pdu.tpdu_len()?,
                })
            })
            .collect::<Result<Vec<_>, GsmError>>()?;
        Ok(OutgoingSms {
            recipient: recipient.into(),
            text: text.into(),
            parts,
            key: None,
        })
    }
}

/// One part the network accepted during [`SmsDriver::send_reporting`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedPart {
    /// The part's position in the [`OutgoingSms`] that was sent, from 0.
    pub index: usize,
    pub reference: MessageReference,
}

/// The driver's side of a send's progress: where accepted parts are reported, and whether
/// the caller wants no further part started. Made with [`SendProgress::channel`].
#[derive(Debug)]
pub struct SendProgress {
    accepted: mpsc::UnboundedSender<AcceptedPart>,
    stop: watch::Receiver<bool>,
}

/// The caller's side of a send's progress.
#[derive(Debug)]
pub struct SendMonitor {
    accepted: mpsc::UnboundedReceiver<AcceptedPart>,
    stop: watch::Sender<bool>,
}

impl SendProgress {
    /// A connected pair: the progress goes to the driver, the monitor stays with the caller.
    pub fn channel() -> (SendProgress, SendMonitor) {
        let (accepted_tx, accepted) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        (
            SendProgress {
                accepted: accepted_tx,
                stop: stop_rx,
            },
            SendMonitor { accepted, stop },
        )
    }

    /// Progress nobody watches and nobody stops: what a plain [`SmsDriver::send`] uses.
    pub fn unobserved() -> SendProgress {
        SendProgress::channel().0
    }

    /// Reports that the network accepted the part at `index`.
    pub fn part_accepted(&self, index: usize, reference: MessageReference) {
        // A caller that stopped listening no longer needs the news; the references are
        // also in the send's result.
        let _ = self.accepted.send(AcceptedPart { index, reference });
    }

    /// Whether the caller asked that no further part be started.
    pub fn stop_requested(&self) -> bool {
        *self.stop.borrow()
    }

    /// Waits until the caller asks to stop (forever if it never does); for drivers that
    /// wait between parts.
    pub async fn stopped(&mut self) {
        if self.stop.wait_for(|stop| *stop).await.is_err() {
            // The monitor is gone without asking: nobody will ask any more.
            std::future::pending::<()>().await;
        }
    }
}

impl SendMonitor {
    /// Asks the driver to start no further part of this send.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// The next part the network accepted; `None` once the send has ended and every
    /// accepted part was taken.
    pub async fn next_accepted(&mut self) -> Option<AcceptedPart> {
        self.accepted.recv().await
    }

    /// An accepted part already reported, without waiting.
    pub fn try_next_accepted(&mut self) -> Option<AcceptedPart> {
        self.accepted.try_recv().ok()
    }
}

/// What a caller may do after a send failed, whatever the driver: the outbox retries,
/// gives up, or waits for a person by this alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// A transient condition (busy SIM, network out of order, timeout, a relay's 4xx):
    /// trying the same operation again later may succeed.
    Retryable,
    /// The request itself is wrong or can never succeed (invalid PDU, barred number):
    /// retrying the same request gives the same answer.
    Final,
    /// The device or its configuration needs a person (PIN, PUK, missing SIM, a relay
    /// refusing our credentials). Never retried automatically: retrying a wrong PIN is how
    /// a SIM gets locked.
    NeedsOperator,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorClass::Retryable => "retryable",
            ErrorClass::Final => "final",
            ErrorClass::NeedsOperator => "needs an operator",
        })
    }
}

/// Who refused a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusedBy {
    /// The phone network (or message centre) gave a cause for this message.
    Network,
    /// The device in front of the network (the modem, its SIM) refused it.
    Device,
}

/// A refusal in driver-neutral terms: who said no, the cause as the driver reported it,
/// and what it means for a retry. Each driver maps its own answers (`+CMS ERROR`, an SMSC's
/// command status) to one; the rest of textgate reads only this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub by: RefusedBy,
    /// The numeric cause, when the driver reported one.
    pub code: Option<u16>,
    /// The refusal as the driver reported it, for people (`+CMS ERROR 1 (unassigned number)`).
    pub reason: String,
    pub class: ErrorClass,
    /// The cause in words a librarian understands, when the driver knows what its code
    /// means; `None` leaves only who refused to say ([`SendError::in_plain_words`]).
    pub plain: Option<PlainCause>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
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
    #[error("part {part} of {total} was refused: {refusal}")]
    Refused {
        part: usize,
        total: usize,
        refusal: Refusal,
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
    /// The link to the modem ended while the part was with it (after `AT+CMGS`, before its
    /// answer): like [`SendFailure::Timeout`], it may or may not have been sent.
    #[error("part {part} of {total}: the link to the modem ended before its answer ({reason}); it may or may not have been sent")]
    LinkLost {
        part: usize,
        total: usize,
        reason: String,
    },
    #[error("part {part} of {total}: unexpected answer: {answer}")]
    Unexpected {
        part: usize,
        total: usize,
        answer: String,
    },
    /// The caller asked to stop ([`SendMonitor::stop`]) before every part was sent; the
    /// first `sent` parts went out.
    #[error("stopped on request after {sent} of {total} part(s)")]
    Stopped { sent: usize, total: usize },
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
    /// Whether the part the send stopped at may have reached the network although no
    /// answer said so (no answer came in time, or the link ended first): sending it again
    /// may deliver it twice.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self.failure,
            SendFailure::Timeout { .. } | SendFailure::LinkLost { .. }
        )
    }

    pub fn class(&self) -> ErrorClass {
        match &self.failure {
            SendFailure::Unavailable(_)
            | SendFailure::BareError { .. }
            | SendFailure::Timeout { .. }
            | SendFailure::LinkLost { .. }
            | SendFailure::Unexpected { .. }
            | SendFailure::Stopped { .. } => ErrorClass::Retryable,
            SendFailure::Empty | SendFailure::Invalid { .. } => ErrorClass::Final,
            SendFailure::Refused { refusal, .. } => refusal.class,
        }
    }

    /// The same error for a text of `total` parts of which only the parts numbered
    /// `numbers` (from 1, in order) were in the message sent: a retry sends only the parts
    /// still missing, and "part 1 of 1" would hide that it was part 3 of 3.
    pub fn renumbered(mut self, numbers: &[u8], total: usize) -> SendError {
        let renumber = |part: &mut usize, of: &mut usize| {
            if let Some(number) = part.checked_sub(1).and_then(|i| numbers.get(i)) {
                *part = usize::from(*number);
            }
            *of = total;
        };
        match &mut self.failure {
            SendFailure::Invalid {
                part, total: of, ..
            }
            | SendFailure::Refused {
                part, total: of, ..
            }
            | SendFailure::BareError { part, total: of }
            | SendFailure::Timeout {
                part, total: of, ..
            }
            | SendFailure::LinkLost {
                part, total: of, ..
            }
            | SendFailure::Unexpected {
                part, total: of, ..
            } => renumber(part, of),
            SendFailure::Stopped { sent, total: of } => {
                // Parts sent before this message count as sent.
                *sent += total.saturating_sub(numbers.len());
                *of = total;
            }
            SendFailure::Unavailable(_) | SendFailure::Empty => {}
        }
        self
    }

    /// A send stopped on request after `sent` of `total` parts.
    pub fn stopped(sent: usize, total: usize, accepted: Vec<MessageReference>) -> SendError {
        SendError {
            failure: SendFailure::Stopped { sent, total },
            accepted,
        }
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
    /// A message centre's `deliver_sm` numbered `sequence` (SMPP); answered with
    /// `deliver_sm_resp` after the ack, on the connection it came on.
    Smsc { sequence: u32 },
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
    /// A PDU as the device (or, for a message centre, the driver) wrote it out, decoded.
    pub fn new(pdu_hex: String, origin: Origin, ack: AckHandle) -> ReceivedPdu {
        let decoded = Pdu::decode_hex(&pdu_hex, SmscField::Present);
        ReceivedPdu {
            pdu_hex,
            decoded,
            origin,
            ack,
        }
    }
}

/// A delivery receipt from a message centre, for the part sent with `reference`.
#[derive(Debug)]
pub struct DeliveryReceipt {
    pub reference: MessageReference,
    /// `None` while the centre is still trying (an intermediate receipt): nothing to record.
    pub outcome: Option<ReceiptOutcome>,
    /// The receipt as it came, for the log (`id:… stat:DELIVRD err:000`).
    pub description: String,
    /// The phone the part was for, when the receipt says: it ties a receipt to a part
    /// whose record was lost with the daemon that sent it.
    pub recipient: Option<String>,
    /// Acknowledge after the outcome is durably recorded; until then the centre keeps it.
    pub ack: AckHandle,
}

/// What became of a part, by its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptOutcome {
    Delivered,
    /// The centre gave up; `reason` says why, for people.
    Failed {
        reason: String,
    },
}

/// What a driver reports.
#[derive(Debug)]
pub enum ModemEvent {
    /// One SMS-DELIVER (one part of a possibly concatenated text).
    IncomingPart(ReceivedPdu),
    /// An SMS-STATUS-REPORT for a message we sent (match its reference).
    StatusReport(ReceivedPdu),
    /// A delivery receipt that is not a GSM PDU (an SMSC's receipt over SMPP), already
    /// read: which part it is about and what became of it.
    Receipt(DeliveryReceipt),
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

/// What the driver must do once a received PDU is stored. Public for drivers in other
/// crates (the SMPP driver), which make their own [`AckHandle`]s.
#[derive(Debug, Clone)]
pub struct AckToken {
    pub origin: Origin,
    /// The connection the PDU arrived on: a `+CNMA` is meaningless on a newer one.
    pub connection: u64,
    /// Which hand-over of a stored message this acknowledges: a storage slot is reused
    /// once freed, so the index alone does not say which message may be deleted.
    pub handover: u64,
    /// The span the receiver acknowledged in (its text's ids), so the driver's lines about
    /// deleting or acknowledging the message carry them.
    pub span: tracing::Span,
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
    /// An acknowledgement that hands `token` back to its driver on `acks`.
    pub fn new(token: AckToken, acks: mpsc::UnboundedSender<AckToken>) -> AckHandle {
        AckHandle { token, acks }
    }

    /// Call this after the PDU is durably stored: the driver then deletes it from the
    /// modem (`AT+CMGD`) or acknowledges it to the network (`AT+CNMA`), logging that in
    /// the caller's current span.
    pub fn acknowledge(mut self) -> Result<(), DriverStopped> {
        self.token.span = tracing::Span::current();
        self.acks.send(self.token).map_err(|_| DriverStopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A driver that sends a message as one unit and counts what it was given.
    struct WholeMessages {
        parts_sent: Mutex<usize>,
    }

    #[async_trait]
    impl SmsDriver for WholeMessages {
        async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError> {
            let mut sent = self.parts_sent.lock().unwrap_or_else(|e| e.into_inner());
            let first = u8::try_from(*sent).unwrap_or(u8::MAX);
            *sent += message.parts.len();
            Ok((first..)
                .take(message.parts.len())
                .map(MessageReference::tpmr)
                .collect())
        }

        async fn status(&self) -> Result<ModemStatus, StatusError> {
            Ok(ModemStatus::default())
        }
    }

    fn two_parts() -> OutgoingSms {
        let part = SubmitPart {
            pdu: vec![0],
            tpdu_length: 0,
        };
        OutgoingSms {
            recipient: "+15551234567".to_owned(),
            text: "two parts".to_owned(),
            parts: vec![part.clone(), part],
            key: None,
        }
    }

    #[tokio::test]
    async fn the_default_progress_reports_every_part_when_the_send_ends() {
        let driver = WholeMessages {
            parts_sent: Mutex::new(5),
        };
        let (progress, mut monitor) = SendProgress::channel();
        let references = driver.send_reporting(two_parts(), progress).await;
        assert_eq!(
            references,
            Ok(vec![MessageReference::tpmr(5), MessageReference::tpmr(6)])
        );
        let mut reported = Vec::new();
        while let Some(part) = monitor.next_accepted().await {
            reported.push((part.index, part.reference.to_string()));
        }
        assert_eq!(reported, [(0, "5".to_owned()), (1, "6".to_owned())]);
    }

    #[test]
    fn errors_of_a_retry_name_the_parts_of_the_whole_text() {
        let refused = SendError {
            failure: SendFailure::BareError { part: 2, total: 2 },
            accepted: vec![MessageReference::tpmr(9)],
        };
        assert_eq!(
            refused.renumbered(&[3, 4], 4).to_string(),
            "part 4 of 4 was refused with a bare ERROR (no reason given)"
        );
        let stopped = SendError::stopped(1, 2, vec![MessageReference::tpmr(9)]);
        assert_eq!(
            stopped.renumbered(&[3, 4], 4).to_string(),
            "stopped on request after 3 of 4 part(s)"
        );
    }

    #[tokio::test]
    async fn the_default_progress_sends_nothing_once_stopped() {
        let driver = WholeMessages {
            parts_sent: Mutex::new(0),
        };
        let (progress, mut monitor) = SendProgress::channel();
        monitor.stop();
        let result = driver.send_reporting(two_parts(), progress).await;
        assert_eq!(result, Err(SendError::stopped(0, 2, Vec::new())));
        assert_eq!(monitor.next_accepted().await, None);
        assert_eq!(*driver.parts_sent.lock().unwrap(), 0);
    }
}
