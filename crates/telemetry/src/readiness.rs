//! Whether the daemon is ready: every gateway's XMPP component is connected and its modem
//! is ready to send.
//!
//! The runtime owns the truth and reports each change here; `/readyz`, the systemd
//! notifier and the `textgate_xmpp_connected` / `textgate_modem_ready` gauges read it. A
//! gateway counts from the moment it is [registered](Readiness::register_gateway), so a
//! configured gateway that failed to start keeps the daemon "not ready" instead of
//! silently disappearing from the answer.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::Metrics;

/// The XMPP component session of one gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentState {
    /// Authenticated to the XMPP server (the handshake succeeded).
    Connected,
    /// Not connected: connecting, reconnecting after a loss, or refused.
    Disconnected,
}

/// The modem of one gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModemState {
    /// Open, answering, SIM unlocked and registered: a send can go out now.
    Ready,
    /// Anything else: opening, resetting, unplugged, waiting for a PIN, no network.
    NotReady,
}

/// One gateway's part of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatewayReadiness {
    /// Its XMPP component.
    pub component: ComponentState,
    /// Its modem.
    pub modem: ModemState,
}

impl GatewayReadiness {
    /// Both sides are up.
    pub fn is_ready(&self) -> bool {
        self.component == ComponentState::Connected && self.modem == ModemState::Ready
    }
}

impl fmt::Display for GatewayReadiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let component = match self.component {
            ComponentState::Connected => "component connected",
            ComponentState::Disconnected => "component disconnected",
        };
        let modem = match self.modem {
            ModemState::Ready => "modem ready",
            ModemState::NotReady => "modem not ready",
        };
        write!(f, "{component}, {modem}")
    }
}

/// The readiness of every gateway. Cheap to clone; all clones share the state.
#[derive(Clone)]
pub struct Readiness {
    gateways: Arc<Mutex<BTreeMap<String, GatewayReadiness>>>,
    changed: watch::Sender<u64>,
    metrics: Metrics,
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.snapshot()).finish()
    }
}

impl Readiness {
    /// No gateways yet (so not ready). State changes are mirrored into `metrics`' gauges.
    pub fn new(metrics: Metrics) -> Self {
        Self {
            gateways: Arc::default(),
            changed: watch::Sender::new(0),
            metrics,
        }
    }

    /// Adds a configured gateway, disconnected and not ready. Call it for every configured
    /// gateway before starting any, including those whose start fails.
    pub fn register_gateway(&self, gateway: &str) {
        self.update(gateway, |_| {});
    }

    /// The gateway's XMPP component connected or lost its connection.
    pub fn set_component(&self, gateway: &str, state: ComponentState) {
        self.metrics
            .set_xmpp_connected(gateway, state == ComponentState::Connected);
        self.update(gateway, |g| g.component = state);
    }

    /// The gateway's modem became ready or stopped being ready.
    pub fn set_modem(&self, gateway: &str, state: ModemState) {
        self.metrics
            .set_modem_ready(gateway, state == ModemState::Ready);
        self.update(gateway, |g| g.modem = state);
    }

    /// Every gateway, by name.
    pub fn snapshot(&self) -> BTreeMap<String, GatewayReadiness> {
        self.lock().clone()
    }

    /// At least one gateway is registered and every gateway is ready.
    pub fn is_ready(&self) -> bool {
        let gateways = self.lock();
        !gateways.is_empty() && gateways.values().all(GatewayReadiness::is_ready)
    }

    /// Waits until the state changes (any gateway, any side) after this call.
    pub async fn changed(&self) {
        let mut receiver = self.changed.subscribe();
        // The sender lives in `self`, so this cannot fail while we wait.
        let _ = receiver.changed().await;
    }

    /// A receiver that sees a new value on every change; for loops that must not miss a
    /// change between two waits.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn update(&self, gateway: &str, change: impl FnOnce(&mut GatewayReadiness)) {
        {
            let mut gateways = self.lock();
            let entry = gateways
                .entry(gateway.to_owned())
                .or_insert(GatewayReadiness {
                    component: ComponentState::Disconnected,
                    modem: ModemState::NotReady,
                });
            change(entry);
        }
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, GatewayReadiness>> {
        // A panic while holding this lock cannot leave the map half-updated (each update
        // is one assignment), so a poisoned lock is still good to read.
        self.gateways.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_registered_gateway_has_both_sides_up() {
        let readiness = Readiness::new(Metrics::new());
        assert!(!readiness.is_ready(), "no gateway is not ready");
        readiness.register_gateway("library");
        readiness.register_gateway("campus");
        readiness.set_component("library", ComponentState::Connected);
        readiness.set_modem("library", ModemState::Ready);
        assert!(!readiness.is_ready(), "campus is still down");
        readiness.set_component("campus", ComponentState::Connected);
        readiness.set_modem("campus", ModemState::Ready);
        assert!(readiness.is_ready());
        readiness.set_modem("library", ModemState::NotReady);
        assert!(!readiness.is_ready());
        expect_test::expect![[r#"
            {"campus": GatewayReadiness { component: Connected, modem: Ready }, "library": GatewayReadiness { component: Connected, modem: NotReady }}"#]]
        .assert_eq(&format!("{readiness:?}"));
    }

    #[tokio::test]
    async fn a_change_wakes_a_waiter() {
        let readiness = Readiness::new(Metrics::new());
        let mut changes = readiness.subscribe();
        let writer = readiness.clone();
        tokio::spawn(async move { writer.set_modem("library", ModemState::Ready) });
        tokio::time::timeout(std::time::Duration::from_secs(10), changes.changed())
            .await
            .expect("a change within 10 s")
            .expect("sender alive");
        assert_eq!(readiness.snapshot()["library"].modem, ModemState::Ready);
    }
}
