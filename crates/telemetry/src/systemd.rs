//! Notification for systemd `Type=notify` units: `READY=1`, a `STATUS=` line that
//! `systemctl status` shows, and `WATCHDOG=1` pings.
//!
//! Everything here does nothing when `NOTIFY_SOCKET` is unset (not started by systemd, or
//! in Docker), so the daemon calls it unconditionally.
//!
//! When is the daemon ready? When every gateway is ([`Readiness::is_ready`]). But a modem
//! left unplugged must not make systemd kill the whole daemon at `TimeoutStartSec`, with
//! the other gateways, so after a grace period `READY=1` is sent anyway, and the status
//! line says which gateway is still waiting. `/readyz` keeps telling the truth.
//!
//! The watchdog pings come from a task on the daemon's async runtime, at half the
//! `WatchdogSec` interval: if the runtime wedges, the pings stop and systemd restarts it.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::Readiness;

/// How long [`SystemdNotifier::spawn`] waits for every gateway before declaring the
/// daemon started anyway. The unit's `TimeoutStartSec` must be longer.
pub const DEFAULT_READY_GRACE: Duration = Duration::from_secs(30);

/// The running notifier: its tasks stop when this is dropped or [`stop`](Self::stop)ped.
#[derive(Debug)]
pub struct SystemdNotifier {
    tasks: Vec<JoinHandle<()>>,
}

impl SystemdNotifier {
    /// Starts the readiness and watchdog tasks (on the current tokio runtime). Without
    /// `NOTIFY_SOCKET` nothing is started.
    pub fn spawn(readiness: Readiness, grace: Duration) -> Self {
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return Self { tasks: Vec::new() };
        }
        let mut tasks = vec![tokio::spawn(report_readiness(readiness, grace))];
        if let Some(interval) = sd_notify::watchdog_enabled() {
            tasks.push(tokio::spawn(ping_watchdog(interval / 2)));
        }
        Self { tasks }
    }

    /// Tells systemd the daemon is stopping (`STOPPING=1`) and ends the readiness task, so
    /// a gateway going down no longer changes the status line. Watchdog pings continue
    /// until this value is dropped: draining the gateways may take a while.
    pub fn stopping(&mut self) {
        if self.tasks.is_empty() {
            return;
        }
        if let Some(readiness_task) = self.tasks.first() {
            readiness_task.abort();
        }
        notify(&[
            sd_notify::NotifyState::Stopping,
            sd_notify::NotifyState::Status("stopping"),
        ]);
    }

    /// [`stopping`](Self::stopping), then ends every task.
    pub fn stop(mut self) {
        self.stopping();
        // Drop aborts the tasks.
    }
}

impl Drop for SystemdNotifier {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn report_readiness(readiness: Readiness, grace: Duration) {
    let mut changes = readiness.subscribe();
    let deadline = tokio::time::Instant::now() + grace;
    let mut sent_ready = false;
    loop {
        let status = status_line(&readiness);
        if !sent_ready && (readiness.is_ready() || tokio::time::Instant::now() >= deadline) {
            notify(&[
                sd_notify::NotifyState::Ready,
                sd_notify::NotifyState::Status(&status),
            ]);
            sent_ready = true;
        } else {
            notify(&[sd_notify::NotifyState::Status(&status)]);
        }
        let changed = changes.changed();
        if sent_ready {
            if changed.await.is_err() {
                return;
            }
        } else {
            tokio::select! {
                result = changed => if result.is_err() { return },
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }
}

fn status_line(readiness: &Readiness) -> String {
    let gateways = readiness.snapshot();
    let waiting: Vec<String> = gateways
        .iter()
        .filter(|(_, g)| !g.is_ready())
        .map(|(name, g)| format!("{name} ({g})"))
        .collect();
    if gateways.is_empty() {
        "starting".to_owned()
    } else if waiting.is_empty() {
        format!("ready: {} gateway(s) serving", gateways.len())
    } else {
        format!("waiting for {}", waiting.join("; "))
    }
}

async fn ping_watchdog(every: Duration) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(100)));
    loop {
        ticks.tick().await;
        notify(&[sd_notify::NotifyState::Watchdog]);
    }
}

fn notify(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ComponentState, Metrics, ModemState};

    #[test]
    fn the_status_line_names_what_is_waiting() {
        let readiness = Readiness::new(Metrics::new());
        let mut lines = vec![status_line(&readiness)];
        readiness.register_gateway("library");
        readiness.register_gateway("campus");
        readiness.set_component("library", ComponentState::Connected);
        lines.push(status_line(&readiness));
        for name in ["library", "campus"] {
            readiness.set_component(name, ComponentState::Connected);
            readiness.set_modem(name, ModemState::Ready);
        }
        lines.push(status_line(&readiness));
        expect_test::expect![[r#"
            starting
            waiting for campus (component disconnected, modem not ready); library (component connected, modem not ready)
            ready: 2 gateway(s) serving"#]]
        .assert_eq(&lines.join("\n"));
    }
}
