//! The switches a test flips to make the phone misbehave. Each is read where its effect
//! happens: `offline` by the server (connections), the radio (hand-off) and the webhook
//! worker; the send faults by the send route and the radio; the webhook ones by emission
//! and delivery.

/// The faults in force.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// The phone is unreachable: API connections are closed without an answer, nothing is
    /// handed to the network, no webhook or ping goes out.
    pub offline: bool,
    /// The next sends answered with this status, queueing nothing.
    pub failing_sends: Option<FailingSends>,
    /// Every webhook posted twice.
    pub duplicate_webhooks: bool,
    /// `sms:sent`/`sms:delivered`/`sms:failed` kept back.
    pub hold_status_webhooks: bool,
    /// The network refuses the next hand-offs.
    pub refusals: Option<Refusals>,
}

#[derive(Debug)]
pub(crate) struct FailingSends {
    pub remaining: u32,
    pub status: u16,
}

#[derive(Debug)]
pub(crate) struct Refusals {
    pub remaining: u32,
    pub reason: String,
}

impl Faults {
    /// The status the next `POST /messages` must answer, if a failure is due; counts it.
    pub fn take_failing_send(&mut self) -> Option<u16> {
        let failing = self.failing_sends.as_mut()?;
        let status = failing.status;
        failing.remaining = failing.remaining.saturating_sub(1);
        if failing.remaining == 0 {
            self.failing_sends = None;
        }
        Some(status)
    }

    /// The reason the network refuses the next hand-off, if a refusal is due; counts it.
    pub fn take_refusal(&mut self) -> Option<String> {
        let refusals = self.refusals.as_mut()?;
        let reason = refusals.reason.clone();
        refusals.remaining = refusals.remaining.saturating_sub(1);
        if refusals.remaining == 0 {
            self.refusals = None;
        }
        Some(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_sends_count_down() {
        let mut faults = Faults {
            failing_sends: Some(FailingSends {
                remaining: 2,
                status: 503,
            }),
            ..Faults::default()
        };
        assert_eq!(faults.take_failing_send(), Some(503));
        assert_eq!(faults.take_failing_send(), Some(503));
        assert_eq!(faults.take_failing_send(), None);
    }

    #[test]
    fn refusals_count_down() {
        let mut faults = Faults {
            refusals: Some(Refusals {
                remaining: 1,
                reason: "no".into(),
            }),
            ..Faults::default()
        };
        assert_eq!(faults.take_refusal().as_deref(), Some("no"));
        assert_eq!(faults.take_refusal(), None);
    }
}
