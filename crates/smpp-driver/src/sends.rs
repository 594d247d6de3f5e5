//! The sends a connection is working on: which part of which text goes next, the window,
//! the pace, throttling, and what each answer from the SMSC means for the outbox.
//!
//! The parts of one text go one after the other (part 2 only once the SMSC took part 1),
//! as a modem sends them, so a failure leaves exactly the first parts accepted and the
//! outbox resends only the rest; different texts share the window, which is where the
//! speed comes from. Each accepted part is reported to the outbox at once
//! ([`SendProgress::part_accepted`]), so a crash after it never sends that part again.

use std::collections::VecDeque;
use std::time::Duration;

use textgate_modem::{
    ErrorClass, MessageReference, OutgoingSms, PlainCause, Refusal, RefusedBy, SendError,
    SendFailure, SendProgress,
};
use textgate_smpp::{CommandStatus, ShortMessage, StatusClass};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Where the outbox waits for a send's result.
pub type Reply = oneshot::Sender<Result<Vec<MessageReference>, SendError>>;

/// A send as the handle passes it to the connection task.
#[derive(Debug)]
pub struct SendRequest {
    pub message: OutgoingSms,
    pub progress: SendProgress,
    pub reply: Reply,
}

/// The longest pause throttling leads to.
const MAX_THROTTLE_PAUSE: Duration = Duration::from_secs(30);

struct Active {
    id: u64,
    parts: Vec<ShortMessage>,
    /// How many of the outbox's parts each submit carries: 1, or all of them for a
    /// `message_payload` submit.
    fan_out: usize,
    next: usize,
    in_flight: bool,
    accepted: Vec<MessageReference>,
    progress: SendProgress,
    reply: Reply,
    /// When the SMSC first throttled the part now due.
    throttled_since: Option<Instant>,
}

impl Active {
    /// The outbox's parts in this send.
    fn total(&self) -> usize {
        self.parts.len() * self.fan_out
    }

    /// The outbox's number (from 1) of the first part the next submit carries.
    fn part_number(&self) -> usize {
        self.next * self.fan_out + 1
    }

    fn finish(self, result: Result<Vec<MessageReference>, SendFailure>) {
        let result = result.map_err(|failure| SendError {
            failure,
            accepted: self.accepted,
        });
        // An outbox that stopped waiting no longer needs the answer.
        let _ = self.reply.send(result);
    }
}

/// A part to submit now: its tag and the `submit_sm`.
pub struct Due {
    pub tag: u64,
    pub message: ShortMessage,
}

/// The connection's sends.
pub struct Sends {
    active: VecDeque<Active>,
    next_id: u64,
    /// No submit before this (throttling).
    paused_until: Option<Instant>,
    throttle_pause: Duration,
    initial_pause: Duration,
    give_up: Duration,
    /// The gap between submits that `max_per_second` asks for, and when the next may go.
    spacing: Option<Duration>,
    next_allowed: Option<Instant>,
}

impl Sends {
    pub fn new(max_per_second: Option<u32>, throttle_pause: Duration, give_up: Duration) -> Sends {
        Sends {
            active: VecDeque::new(),
            next_id: 1,
            paused_until: None,
            throttle_pause,
            initial_pause: throttle_pause,
            give_up,
            spacing: max_per_second
                .filter(|rate| *rate > 0)
                .map(|rate| Duration::from_secs(1) / rate),
            next_allowed: None,
        }
    }

    pub fn len(&self) -> usize {
        self.active.len()
    }

    /// Takes a send whose parts are already `submit_sm`s, each carrying `fan_out` of the
    /// outbox's parts.
    pub fn push(
        &mut self,
        parts: Vec<ShortMessage>,
        fan_out: usize,
        progress: SendProgress,
        reply: Reply,
    ) {
        let id = self.next_id;
        self.next_id += 1;
        self.active.push_back(Active {
            id,
            parts,
            fan_out: fan_out.max(1),
            next: 0,
            in_flight: false,
            accepted: Vec::new(),
            progress,
            reply,
            throttled_since: None,
        });
    }

    /// When a part may go next, if one is waiting for the pace or a throttling pause.
    pub fn wake_at(&self) -> Option<Instant> {
        if !self.active.iter().any(|a| !a.in_flight) {
            return None;
        }
        [self.paused_until, self.next_allowed]
            .into_iter()
            .flatten()
            .max()
    }

    /// The next part to submit, if the pace and the SMSC allow one now. Sends whose caller
    /// asked to stop end here, before their next part.
    pub fn next_due(&mut self, now: Instant) -> Option<Due> {
        if self.paused_until.is_some_and(|until| now < until)
            || self.next_allowed.is_some_and(|at| now < at)
        {
            return None;
        }
        loop {
            let index = self.active.iter().position(|a| !a.in_flight)?;
            if self.active[index].progress.stop_requested() {
                let send = self.active.remove(index)?;
                let (sent, total) = (send.part_number() - 1, send.total());
                send.finish(Err(SendFailure::Stopped { sent, total }));
                continue;
            }
            let send = &mut self.active[index];
            send.in_flight = true;
            let tag = (send.id << 8) | u64::try_from(send.next).unwrap_or(u64::from(u8::MAX));
            let message = send.parts.get(send.next)?.clone();
            if let Some(spacing) = self.spacing {
                self.next_allowed = Some(now + spacing);
            }
            return Some(Due { tag, message });
        }
    }

    fn find(&mut self, tag: u64) -> Option<usize> {
        let id = tag >> 8;
        self.active.iter().position(|a| a.id == id && a.in_flight)
    }

    /// The SMSC took the part tagged `tag` as `message_id`.
    pub fn accepted(&mut self, tag: u64, message_id: &[u8]) {
        let Some(index) = self.find(tag) else {
            tracing::warn!(tag, "an answer for a send no longer waiting");
            return;
        };
        self.throttle_pause = self.initial_pause;
        let send = &mut self.active[index];
        let id = String::from_utf8_lossy(message_id);
        let reference = MessageReference::smsc(&id).unwrap_or_else(|| {
            tracing::warn!(message_id = %id, "the SMSC gave no usable message id; its receipt cannot be matched");
            MessageReference::from_stored(format!("unnamed-{tag}"))
        });
        // A message_payload submit carries every part: they all get its id.
        for index in send.next * send.fan_out..(send.next + 1) * send.fan_out {
            send.progress.part_accepted(index, reference.clone());
            send.accepted.push(reference.clone());
        }
        send.next += 1;
        send.in_flight = false;
        send.throttled_since = None;
        if send.next >= send.parts.len() {
            if let Some(send) = self.active.remove(index) {
                let accepted = send.accepted.clone();
                send.finish(Ok(accepted));
            }
        }
    }

    /// The SMSC refused the part tagged `tag`.
    pub fn refused(&mut self, tag: u64, status: CommandStatus, now: Instant) {
        let Some(index) = self.find(tag) else {
            tracing::warn!(tag, %status, "a refusal for a send no longer waiting");
            return;
        };
        let send = &mut self.active[index];
        let class = match status.class() {
            StatusClass::Throttled => {
                let since = *send.throttled_since.get_or_insert(now);
                if now.saturating_duration_since(since) < self.give_up {
                    send.in_flight = false;
                    self.paused_until = Some(now + self.throttle_pause);
                    tracing::info!(%status, pause = ?self.throttle_pause, "the SMSC asks to slow down");
                    self.throttle_pause = (self.throttle_pause * 2).min(MAX_THROTTLE_PAUSE);
                    return;
                }
                ErrorClass::Retryable
            }
            StatusClass::Retry | StatusClass::Ok => ErrorClass::Retryable,
            StatusClass::Final => ErrorClass::Final,
        };
        let Some(send) = self.active.remove(index) else {
            return;
        };
        let refusal = Refusal {
            by: RefusedBy::Network,
            code: u16::try_from(status.0).ok(),
            reason: format!("the message centre refused it: {status}"),
            class,
            plain: Some(plain_cause(status)),
        };
        let (part, total) = (send.part_number(), send.total());
        send.finish(Err(SendFailure::Refused {
            part,
            total,
            refusal,
        }));
    }

    /// The connection ended before the SMSC answered the part tagged `tag`: it may have
    /// taken it or not. The outbox sends it again (textgate prefers a duplicate to a loss).
    pub fn unanswered(&mut self, tag: u64, waited: Duration) {
        let Some(index) = self.find(tag) else {
            return;
        };
        if let Some(send) = self.active.remove(index) {
            let (part, total) = (send.part_number(), send.total());
            send.finish(Err(SendFailure::Timeout {
                part,
                total,
                timeout: waited,
            }));
        }
    }

    /// The part tagged `tag` could not be submitted at all (the session refused it): it
    /// never left, so its send fails as unavailable and may simply be tried again.
    pub fn not_submitted(&mut self, tag: u64, reason: &str) {
        let Some(index) = self.find(tag) else {
            return;
        };
        if let Some(send) = self.active.remove(index) {
            send.finish(Err(SendFailure::Unavailable(format!(
                "the part was not submitted: {reason}"
            ))));
        }
    }

    /// The connection ended: every send not waiting for an answer fails as unavailable,
    /// keeping the parts already accepted.
    pub fn connection_ended(&mut self, reason: &str) {
        for send in self.active.drain(..) {
            send.finish(Err(SendFailure::Unavailable(format!(
                "the connection to the message centre ended: {reason}"
            ))));
        }
        self.paused_until = None;
        self.next_allowed = None;
    }
}

const LOGIN: PlainCause = PlainCause::new("The SMS provider refused the gateway's login").advise(
    "ask your administrator to check the SMPP system id and password in the gateway's settings",
);
const PROTOCOL: PlainCause =
    PlainCause::new("The SMS provider did not accept the request in the form the gateway sent it")
        .advise("ask your administrator to check the gateway's SMPP settings");
const SENDER: PlainCause = PlainCause::new(
    "The SMS provider refused the gateway's sender number or name",
)
.advise("ask your administrator to check the sender address (source) in the gateway's settings");

/// A `command_status` (SMPP 3.4 §5.1.3) in words a librarian can act on. A librarian
/// knows the message centre as the SMS provider; a status without words of its own (the
/// vendor range among them) says only that the provider refused.
fn plain_cause(status: CommandStatus) -> PlainCause {
    match status.0 {
        // ESME_RINVDSTADR.
        0x0B => PlainCause::new("The SMS provider says the number is not valid")
            .advise("check the number"),
        // ESME_RINVDSTTON, ESME_RINVDSTNPI: the number's type or numbering plan.
        0x50 | 0x51 => {
            PlainCause::new("The SMS provider does not accept the number in the form it was given")
                .advise("check the number; if it is right, ask your administrator")
        }
        // ESME_RINVSRCADR, ESME_RINVSRCTON, ESME_RINVSRCNPI.
        0x0A | 0x48 | 0x49 => SENDER,
        // ESME_RTHROTTLED: only once throttling outlasted the driver's patience.
        0x58 => PlainCause::new("The SMS provider asked the gateway to send more slowly")
            .advise("ask your administrator to lower the gateway's sending rate"),
        // ESME_RMSGQFUL.
        0x14 => PlainCause::new("The SMS provider's message queue is full"),
        // ESME_RSUBMITFAIL: "submit_sm or submit_multi failed", which SMSCs use for
        // passing trouble.
        0x45 => PlainCause::new("The SMS provider failed to take the text"),
        // ESME_RSYSERR.
        0x08 => PlainCause::new("The SMS provider had a system error"),
        // ESME_RX_T_APPN.
        0x64 => PlainCause::new("The SMS provider had a temporary problem"),
        // ESME_RX_P_APPN, ESME_RX_R_APPN: the provider's application refused it for good.
        0x65 | 0x66 => PlainCause::new("The SMS provider rejected the text")
            .advise("check the number; if it is right, ask your administrator"),
        // ESME_RDELIVERYFAILURE.
        0xFE => PlainCause::new("The SMS provider reported a delivery failure"),
        // ESME_RINVBNDSTS: the session is not bound as a transmitter.
        0x04 => PlainCause::new("The SMS provider says the gateway is not logged in for sending")
            .advise("ask your administrator to check the gateway's SMPP bind mode"),
        // ESME_RBINDFAIL, ESME_RINVPASWD, ESME_RINVSYSID, ESME_RINVSYSTYP.
        0x0D | 0x0E | 0x0F | 0x53 => LOGIN,
        // ESME_RINVMSGLEN.
        0x01 => PlainCause::new("The SMS provider refused the text's length")
            .advise("ask your administrator to check the gateway's multipart settings"),
        // Malformed commands, ESM class, scheduling, expiry and optional parameters.
        0x02 | 0x03 | 0x43 | 0x61 | 0x62 | 0xC0..=0xC4 => PROTOCOL,
        _ => PlainCause::new("The SMS provider refused the text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use textgate_smpp::Address;

    fn part(n: u8) -> ShortMessage {
        ShortMessage {
            destination: Address::new(1, 1, b"15551234567".to_vec()),
            short_message: vec![n],
            ..ShortMessage::default()
        }
    }

    fn send(
        sends: &mut Sends,
        parts: u8,
    ) -> (
        oneshot::Receiver<Result<Vec<MessageReference>, SendError>>,
        textgate_modem::SendMonitor,
    ) {
        let (progress, monitor) = SendProgress::channel();
        let (reply, answer) = oneshot::channel();
        sends.push((1..=parts).map(part).collect(), 1, progress, reply);
        (answer, monitor)
    }

    #[tokio::test]
    async fn parts_of_one_text_go_in_order_and_texts_share_the_window() {
        let mut sends = Sends::new(None, Duration::from_secs(1), Duration::from_secs(60));
        let now = Instant::now();
        let (mut first, mut monitor) = send(&mut sends, 2);
        let (mut second, _m) = send(&mut sends, 1);
        let a = sends.next_due(now).expect("first text, part 1");
        let b = sends.next_due(now).expect("second text");
        assert!(
            sends.next_due(now).is_none(),
            "part 2 waits for part 1's answer"
        );
        assert_eq!(
            (a.message.short_message[0], b.message.short_message[0]),
            (1, 1)
        );
        sends.accepted(b.tag, b"B1");
        assert_eq!(
            second.try_recv().expect("answered").expect("sent"),
            [MessageReference::from_stored("B1")]
        );
        sends.accepted(a.tag, b"A1");
        assert_eq!(monitor.try_next_accepted().map(|p| p.index), Some(0));
        let c = sends.next_due(now).expect("first text, part 2");
        assert_eq!(c.message.short_message[0], 2);
        sends.accepted(c.tag, b"A2");
        assert_eq!(
            first.try_recv().expect("answered").expect("sent"),
            [
                MessageReference::from_stored("A1"),
                MessageReference::from_stored("A2")
            ]
        );
    }

    #[tokio::test]
    async fn throttling_pauses_and_retries_the_same_part_then_gives_up() {
        let mut sends = Sends::new(None, Duration::from_secs(1), Duration::from_secs(5));
        let start = Instant::now();
        let (mut answer, _m) = send(&mut sends, 1);
        let due = sends.next_due(start).expect("due");
        sends.refused(due.tag, CommandStatus::THROTTLED, start);
        assert!(sends.next_due(start).is_none(), "paused");
        assert_eq!(sends.wake_at(), Some(start + Duration::from_secs(1)));
        let later = start + Duration::from_secs(1);
        let again = sends.next_due(later).expect("the same part again");
        assert_eq!(again.message, due.message);
        sends.refused(again.tag, CommandStatus::THROTTLED, later);
        assert_eq!(
            sends.wake_at(),
            Some(later + Duration::from_secs(2)),
            "the pause doubles"
        );
        let last = start + Duration::from_secs(6);
        let third = sends.next_due(last).expect("due again");
        sends.refused(third.tag, CommandStatus::THROTTLED, last);
        let error = answer.try_recv().expect("answered").expect_err("failed");
        assert_eq!(error.class(), ErrorClass::Retryable);
    }

    #[tokio::test]
    async fn refusals_keep_the_accepted_parts_and_their_class() {
        let mut sends = Sends::new(None, Duration::from_secs(1), Duration::from_secs(60));
        let now = Instant::now();
        let (mut answer, _m) = send(&mut sends, 2);
        let first = sends.next_due(now).expect("due");
        sends.accepted(first.tag, b"X1");
        let second = sends.next_due(now).expect("due");
        sends.refused(second.tag, CommandStatus::INVALID_DESTINATION_ADDRESS, now);
        let error = answer.try_recv().expect("answered").expect_err("refused");
        assert_eq!(error.class(), ErrorClass::Final);
        assert_eq!(error.accepted, [MessageReference::from_stored("X1")]);
        assert!(
            error.to_string().starts_with(
                "part 2 of 2 was refused: the message centre refused it: ESME_RINVDSTADR"
            ),
            "{error}"
        );
        assert_eq!(
            error
                .in_plain_words(textgate_modem::Outlook::GaveUp { attempts: 1 })
                .summary(),
            "The SMS provider says the number is not valid (1 of the text's 2 parts went out); \
             check the number."
        );
    }

    #[test]
    fn statuses_in_plain_words() {
        let words = |status| {
            let cause = plain_cause(status);
            (cause.what, cause.action)
        };
        assert_eq!(
            words(CommandStatus::THROTTLED),
            (
                "The SMS provider asked the gateway to send more slowly",
                Some("ask your administrator to lower the gateway's sending rate")
            )
        );
        assert_eq!(
            words(CommandStatus::INVALID_PASSWORD),
            (LOGIN.what, LOGIN.action)
        );
        assert_eq!(
            words(CommandStatus::MESSAGE_QUEUE_FULL),
            ("The SMS provider's message queue is full", None)
        );
        // SMPP's 0x01 is a message length, not a modem's "unassigned number".
        assert_eq!(
            words(CommandStatus::INVALID_MESSAGE_LENGTH).0,
            "The SMS provider refused the text's length"
        );
        assert_eq!(
            words(CommandStatus(0x0400)),
            ("The SMS provider refused the text", None)
        );
    }

    #[tokio::test]
    async fn one_payload_submit_answers_for_every_part() {
        let mut sends = Sends::new(None, Duration::from_secs(1), Duration::from_secs(60));
        let (progress, mut monitor) = SendProgress::channel();
        let (reply, mut answer) = oneshot::channel();
        sends.push(vec![part(1)], 3, progress, reply);
        let due = sends.next_due(Instant::now()).expect("due");
        sends.accepted(due.tag, b"P1");
        let one = MessageReference::from_stored("P1");
        assert_eq!(
            answer.try_recv().expect("answered").expect("sent"),
            [one.clone(), one.clone(), one]
        );
        let indices: Vec<usize> =
            std::iter::from_fn(|| monitor.try_next_accepted().map(|p| p.index)).collect();
        assert_eq!(indices, [0, 1, 2]);
    }

    #[tokio::test]
    async fn the_pace_spaces_submits() {
        let mut sends = Sends::new(Some(4), Duration::from_secs(1), Duration::from_secs(60));
        let now = Instant::now();
        let _a = send(&mut sends, 1);
        let _b = send(&mut sends, 1);
        assert!(sends.next_due(now).is_some());
        assert!(sends.next_due(now).is_none());
        assert_eq!(sends.wake_at(), Some(now + Duration::from_millis(250)));
        assert!(sends.next_due(now + Duration::from_millis(250)).is_some());
    }

    #[tokio::test]
    async fn a_stop_ends_a_send_before_its_next_part() {
        let mut sends = Sends::new(None, Duration::from_secs(1), Duration::from_secs(60));
        let now = Instant::now();
        let (mut answer, monitor) = send(&mut sends, 2);
        let first = sends.next_due(now).expect("due");
        sends.accepted(first.tag, b"S1");
        monitor.stop();
        assert!(sends.next_due(now).is_none());
        let error = answer.try_recv().expect("answered").expect_err("stopped");
        assert_eq!(error.failure, SendFailure::Stopped { sent: 1, total: 2 });
    }
}
