//! What a running gateway shares with the rest of the daemon: [`Hooks`] carries the
//! telemetry handles (metrics and readiness) the runtime reports to, and optionally an
//! [`InboundScreen`] that sees every received text before the operators do (the alert
//! service's STOP/START/HELP keywords). The binary builds one per gateway; tests and tools
//! that serve no telemetry use [`Hooks::default`], whose handles count into a registry
//! nobody reads and which screens nothing.
//!
//! The screen is a trait object defined here so that dependencies point one way: the alert
//! service (`textgate-alert-service`) implements it and sits above this crate, and the
//! binary hands the service to each gateway it starts.

use std::sync::Arc;

use textgate_modem::{HealthChange, RefusedBy, SendError, SendFailure as DriverFailure};
use textgate_telemetry::{Metrics, Readiness, SendFailure};

/// The daemon-wide handles one gateway reports to.
#[derive(Clone)]
pub struct Hooks {
    pub metrics: Metrics,
    pub readiness: Readiness,
    /// Asked about each new text from a number before it is routed; `None` routes all.
    pub screen: Option<Arc<dyn InboundScreen>>,
}

impl Default for Hooks {
    fn default() -> Self {
        let metrics = Metrics::new();
        Hooks {
            readiness: Readiness::new(metrics.clone()),
            metrics,
            screen: None,
        }
    }
}

/// What the screen decided about a received text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screened {
    /// An ordinary text: route it to the operators.
    ForOperators,
    /// The screen answered it itself (a keyword); the text is not shown to operators as a
    /// patron's message. `notice`, if set, goes to the operators as a one-line notice
    /// from the patron instead.
    Answered { notice: Option<String> },
}

/// Sees every new text from a phone number (already committed to the store, E.164
/// `sender`) before the router does. A screen that fails should answer
/// [`Screened::ForOperators`]: a text must never vanish because a side service is down.
#[async_trait::async_trait]
pub trait InboundScreen: Send + Sync {
    async fn screen(&self, gateway: &str, sender: &str, body: &str) -> Screened;
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks").finish_non_exhaustive()
    }
}

/// Whether a modem health change means the modem can send now.
pub fn modem_ready(change: &HealthChange) -> bool {
    matches!(change, HealthChange::Ready { .. })
}

/// Whether a health change is the driver losing the modem (it reopens or resets it next),
/// counted as a restart.
pub fn modem_lost(change: &HealthChange) -> bool {
    matches!(
        change,
        HealthChange::Unresponsive { .. } | HealthChange::Disconnected { .. }
    )
}

/// The bounded `reason` label of a send that failed for good.
pub fn failure_reason(error: &SendError) -> SendFailure {
    match &error.failure {
        // The driver says who refused (for AT modems: an RP cause from the network, or
        // the modem's or the SIM's own code).
        DriverFailure::Refused { refusal, .. } => match refusal.by {
            RefusedBy::Network => SendFailure::Network,
            RefusedBy::Device => SendFailure::Modem,
        },
        DriverFailure::BareError { .. } => SendFailure::Modem,
        DriverFailure::Timeout { .. } => SendFailure::Timeout,
        DriverFailure::Unavailable(_) | DriverFailure::LinkLost { .. } => {
            SendFailure::ModemUnavailable
        }
        // A stopped send is given back to the queue, never failed for good.
        DriverFailure::Empty
        | DriverFailure::Invalid { .. }
        | DriverFailure::Unexpected { .. }
        | DriverFailure::Stopped { .. } => SendFailure::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use textgate_modem::{ErrorClass, Refusal};

    fn error(failure: DriverFailure) -> SendError {
        SendError {
            failure,
            accepted: Vec::new(),
        }
    }

    #[test]
    fn send_errors_map_to_bounded_reasons() {
        let cms = |code, by| DriverFailure::Refused {
            part: 1,
            total: 1,
            refusal: Refusal {
                by,
                code: Some(code),
                reason: format!("+CMS ERROR {code}"),
                class: ErrorClass::Final,
                plain: None,
            },
        };
        let reasons: Vec<&str> = [
            cms(21, RefusedBy::Network),
            cms(304, RefusedBy::Device),
            DriverFailure::BareError { part: 1, total: 1 },
            DriverFailure::Timeout {
                part: 1,
                total: 1,
                timeout: Duration::from_secs(60),
            },
            DriverFailure::Unavailable("unplugged".into()),
            DriverFailure::Empty,
        ]
        .into_iter()
        .map(|f| failure_reason(&error(f)).as_str())
        .collect();
        expect_test::expect![[
            r#"["network", "modem", "modem", "timeout", "modem_unavailable", "other"]"#
        ]]
        .assert_eq(&format!("{reasons:?}"));
    }

    #[test]
    fn only_ready_is_ready_and_losses_count_as_restarts() {
        let ready = HealthChange::Ready { profile: "generic" };
        let lost = HealthChange::Disconnected {
            reason: "unplugged".into(),
            retry_in: Duration::from_secs(1),
        };
        let connecting = HealthChange::Connecting { attempt: 1 };
        assert_eq!(
            [&ready, &lost, &connecting].map(|c| (modem_ready(c), modem_lost(c))),
            [(true, false), (false, true), (false, false)]
        );
    }
}
