//! The phone's SMS stack: the app's send worker taking accepted messages one at a time
//! (`MessagesService.sendPendingMessages`), the hand-off to the network, the network's
//! acknowledgement and delivery reports, and Android's outgoing-SMS rate monitor.
//!
//! Timeline of one message, with `d = send_delay`:
//! - accepted, `Pending`;
//! - after `d/2` (and only while online), the checks the app makes at send time: TTL
//!   (`Failed`, `TTL expired`), SIM (`Failed`, `Can't send message: SIM n not found`),
//!   each number (`Failed`, `sendSMS: Invalid phone number`); then handed to the network:
//!   `Processed`, counted by the rate monitor, listed by `Phone::sent`;
//! - after `d`, the network's answer: `Sent` and `sms:sent`, or, for a refusal,
//!   `Failed` with the refusal's reason and `sms:failed`;
//! - after `d + delivery_delay`, when a report was asked for: `Delivered` and one
//!   `sms:delivered` per part (the app gets one delivery intent per part).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Value};

use crate::messages::{network_number, plausible_number, MessageRecord, ProcessingState};
use crate::state::{SentMessage, Shared, State};
use crate::{time, webhooks};

/// Android's default limit (AOSP `SmsUsageMonitor`: `DEFAULT_SMS_MAX_COUNT = 30`,
/// `DEFAULT_SMS_CHECK_PERIOD = 60000`).
const LIMIT: usize = 30;
const PERIOD: Duration = Duration::from_secs(60);

/// Android's per-app outgoing SMS check, counting **parts**: `SMSDispatcher` checks each
/// part's PDU (`sendRawPdu` → `SmsUsageMonitor.check(package, SINGLE_PART_SMS)`; newer
/// versions check a multipart text once with its part count), and a part over the limit
/// is not recorded (Android asks the user instead of sending it). A violation is a part
/// for which Android would have shown its "app is sending a large number of messages"
/// dialog; the simulator sends it anyway and counts it.
#[derive(Debug, Default)]
pub(crate) struct UsageMonitor {
    recent: VecDeque<Instant>,
    violations: u32,
}

impl UsageMonitor {
    fn check(&mut self, parts: u32, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= PERIOD)
        {
            self.recent.pop_front();
        }
        for _ in 0..parts {
            if self.recent.len() < LIMIT {
                self.recent.push_back(now);
            } else {
                self.violations = self.violations.saturating_add(1);
            }
        }
    }

    pub fn violations(&self) -> u32 {
        self.violations
    }
}

/// Takes accepted messages in order and hands each to the network after `send_delay / 2`,
/// waiting while the phone is offline. Runs until shutdown.
pub(crate) async fn run_sender(shared: Arc<Shared>) {
    let half = shared.config.send_delay / 2;
    loop {
        // The next message, once the phone is online and something is queued.
        let Some(next) = shared
            .wait_for(None, |st| {
                (!st.faults.offline).then(|| st.send_queue.front().cloned())?
            })
            .await
        else {
            return; // shut down
        };
        // The app's worker takes the next message at once; the radio's latency is
        // simulated here, measured from acceptance so queued messages do not add up.
        let due = shared
            .lock()
            .messages
            .get(&next)
            .map(|m| m.accepted_at + half);
        if let Some(due) = due {
            let due = tokio::time::Instant::from_std(due);
            if tokio::time::Instant::now() < due {
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => {}
                    _ = shared.stopped() => return,
                }
            }
        }
        // Offline may have begun during the wait; then the message waits too.
        let handed = shared.update(|st| {
            if st.faults.offline {
                return None;
            }
            st.send_queue.pop_front();
            Some(hand_off(st, &shared, &next))
        });
        if let Some(handed) = handed.flatten() {
            let shared = shared.clone();
            tokio::spawn(async move { network_answers(shared, handed).await });
        }
    }
}

/// What the network was given for one message.
struct Handed {
    id: String,
    /// Numbers handed over, with the refusal the network will answer, if any.
    recipients: Vec<(String, Option<String>)>,
    parts: u32,
    with_delivery_report: bool,
}

/// The app's send-time checks and the hand-off; `None` when nothing reached the network.
fn hand_off(st: &mut State, shared: &Shared, id: &str) -> Option<Handed> {
    let now = Utc::now();
    let config = &shared.config;
    let message = st.messages.get(id)?.clone();

    if message.valid_until.is_some_and(|until| until < now) {
        fail_all(st, shared, &message, "TTL expired");
        return None;
    }
    let sim = match message.sim_number {
        Some(n) if n > i32::from(config.sim_count) => {
            fail_all(
                st,
                shared,
                &message,
                &format!("Can't send message: SIM {n} not found"),
            );
            return None;
        }
        Some(n) => u8::try_from(n).unwrap_or(1),
        None => 1,
    };
    let parts = crate::text::parts_count(&message.text);
    if let Some(record) = st.messages.get_mut(id) {
        record.parts = Some(parts);
    }

    let mut handed = Vec::new();
    for recipient in &message.recipients {
        if recipient.state != ProcessingState::Pending {
            continue;
        }
        let number = &recipient.phone_number;
        if !message.skip_phone_validation && !plausible_number(number) {
            let reason = "sendSMS: Invalid phone number";
            set_and_emit(
                st,
                shared,
                id,
                Some(number),
                ProcessingState::Failed,
                Some(reason),
            );
            continue;
        }
        st.usage.check(parts, Instant::now());
        let refusal = st.faults.take_refusal();
        if refusal.is_none() {
            st.sent.push(SentMessage {
                id: id.to_owned(),
                phone_number: network_number(number),
                text: message.text.clone(),
                sim,
                parts,
                with_delivery_report: message.with_delivery_report,
                priority: message.priority,
            });
        }
        set_and_emit(
            st,
            shared,
            id,
            Some(number),
            ProcessingState::Processed,
            None,
        );
        handed.push((number.clone(), refusal));
    }
    (!handed.is_empty()).then(|| Handed {
        id: id.to_owned(),
        recipients: handed,
        parts,
        with_delivery_report: message.with_delivery_report,
    })
}

fn fail_all(st: &mut State, shared: &Shared, message: &MessageRecord, reason: &str) {
    set_and_emit(
        st,
        shared,
        &message.id,
        None,
        ProcessingState::Failed,
        Some(reason),
    );
}

/// The network's acknowledgements, then the delivery reports.
async fn network_answers(shared: Arc<Shared>, handed: Handed) {
    let rest = shared.config.send_delay - shared.config.send_delay / 2;
    tokio::select! {
        _ = tokio::time::sleep(rest) => {}
        _ = shared.stopped() => return,
    }
    let mut accepted = Vec::new();
    shared.update(|st| {
        for (number, refusal) in &handed.recipients {
            match refusal {
                Some(reason) => set_and_emit(
                    st,
                    &shared,
                    &handed.id,
                    Some(number),
                    ProcessingState::Failed,
                    Some(reason),
                ),
                None => {
                    set_and_emit(
                        st,
                        &shared,
                        &handed.id,
                        Some(number),
                        ProcessingState::Sent,
                        None,
                    );
                    accepted.push(number.clone());
                }
            }
        }
    });
    if !handed.with_delivery_report || accepted.is_empty() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(shared.config.delivery_delay) => {}
        _ = shared.stopped() => return,
    }
    shared.update(|st| {
        for number in &accepted {
            for _ in 0..handed.parts {
                set_and_emit(
                    st,
                    &shared,
                    &handed.id,
                    Some(number),
                    ProcessingState::Delivered,
                    None,
                );
            }
        }
    });
}

/// Sets a state as `MessagesService.updateState` does and emits the webhook the app's
/// `EventsReceiver` makes of it, one per recipient changed.
pub(crate) fn set_and_emit(
    st: &mut State,
    shared: &Shared,
    id: &str,
    number: Option<&str>,
    state: ProcessingState,
    error: Option<&str>,
) {
    let now = Utc::now();
    let Some(record) = st.messages.get_mut(id) else {
        return;
    };
    let changed = record.set_state(number, state, error, now);
    let sim_number = record.sim_number;
    let parts = record.parts;
    let event = match state {
        ProcessingState::Sent => "sms:sent",
        ProcessingState::Delivered => "sms:delivered",
        ProcessingState::Failed => "sms:failed",
        ProcessingState::Pending | ProcessingState::Processed => return,
    };
    let config = &shared.config;
    let at = time::format(now, config.utc_offset);
    // The SIM's own number, when the request named a SIM and the phone knows its number.
    let sender = sim_number
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| n.checked_sub(1))
        .and_then(|index| config.sim_phone_numbers.get(index));
    for recipient in changed {
        let mut payload = json!({
            "messageId": id,
            "recipient": recipient,
            // Deprecated since v1.54.0 but still sent: the recipient for status events.
            "phoneNumber": recipient,
        });
        let Some(object) = payload.as_object_mut() else {
            continue;
        };
        if let Some(sender) = sender {
            object.insert("sender".into(), Value::from(sender.as_str()));
        }
        // Without a SIM in the request the app (SIM selection "OS default") has none to
        // report, and Gson leaves the null out.
        if let Some(sim) = sim_number {
            object.insert("simNumber".into(), Value::from(sim));
        }
        match state {
            ProcessingState::Sent => {
                object.insert(
                    "partsCount".into(),
                    Value::from(parts.map_or(-1, i64::from)),
                );
                object.insert("sentAt".into(), Value::from(at.clone()));
            }
            ProcessingState::Delivered => {
                object.insert("deliveredAt".into(), Value::from(at.clone()));
            }
            _ => {
                object.insert("failedAt".into(), Value::from(at.clone()));
                object.insert("reason".into(), Value::from(error.unwrap_or("Unknown")));
            }
        }
        webhooks::emit(st, config, event, payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_parts_a_minute_then_violations() {
        let mut monitor = UsageMonitor::default();
        let start = Instant::now();
        for _ in 0..30 {
            monitor.check(1, start);
        }
        assert_eq!(monitor.violations(), 0);
        monitor.check(3, start + Duration::from_secs(10));
        assert_eq!(monitor.violations(), 3);
        // A minute after the first ones, the window has room again.
        monitor.check(2, start + Duration::from_secs(60));
        assert_eq!(monitor.violations(), 3);
    }
}
