//! `GET /health` and the `system:ping` webhook that carries the same document.
//!
//! Sources (app v1.68.0): `domain/HealthResponse.kt`, `modules/health/HealthService.kt`,
//! `modules/health/domain/CheckResult.kt`, `Status.kt` (`pass`/`warn`/`fail`),
//! `modules/messages/MessagesService.kt` (`messages:failed`), `modules/connection/
//! ConnectionService.kt`, `modules/health/monitors/BatteryMonitor.kt`,
//! `modules/webhooks/EventsReceiver.kt` (ping payload `{"health": …}`). `/health` needs
//! no auth and answers 500 when the status is `fail`, 200 otherwise.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::messages::ProcessingState;
use crate::state::{Shared, State};
use crate::{webhooks, APP_VERSION};

/// The health document and whether it is `fail`.
pub(crate) fn document(st: &State) -> (Value, bool) {
    // The app counts failed and processed messages of the last hour; the simulator's
    // messages are all recent enough.
    let failed = st
        .messages
        .values()
        .filter(|m| m.state() == ProcessingState::Failed)
        .count();
    let processed = st
        .messages
        .values()
        .filter(|m| m.state() != ProcessingState::Pending)
        .count()
        - failed;
    let messages_status = match (failed, processed) {
        (0, _) => "pass",
        (_, 0) => "fail",
        _ => "warn",
    };
    let check = |status: &str, value: u64, unit: &str, description: &str| {
        json!({
            "status": status,
            "observedValue": value,
            "observedUnit": unit,
            "description": description,
        })
    };
    let checks = json!({
        "messages:failed": check(messages_status, failed as u64, "messages", "Failed messages for last hour"),
        "connection:status": check("pass", 1, "boolean", "Internet connection status"),
        "connection:transport": check("pass", 1, "flags", "Network transport type"),
        "connection:cellular": check("pass", 0, "index", "Cellular network type"),
        "battery:level": check("pass", 90, "percent", "Battery level in percent"),
        "battery:charging": check("pass", 0, "flags", "Is the phone charging?"),
    });
    // The other checks always pass here, so the messages check decides.
    let status = messages_status;
    (
        json!({
            "version": APP_VERSION,
            // The build's version code; the app's build.gradle leaves it to the release
            // pipeline, so the simulator reports a placeholder.
            "releaseId": 1,
            "status": status,
            "checks": checks,
        }),
        status == "fail",
    )
}

/// Emits `system:ping` every `interval` while online. Runs until shutdown.
pub(crate) async fn run_pings(shared: Arc<Shared>, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    // The first tick of `interval` is immediate; the app's first ping comes one period in.
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shared.stopped() => return,
        }
        shared.update(|st| {
            if !st.faults.offline {
                let (health, _) = document(st);
                webhooks::emit(
                    st,
                    &shared.config,
                    "system:ping",
                    json!({ "health": health }),
                );
            }
        });
    }
}
