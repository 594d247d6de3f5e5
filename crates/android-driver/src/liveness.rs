//! Whether the phone is there, and our webhooks registered with it.
//!
//! The phone is heard when it posts a signed webhook (`system:ping` when Ping is on in the
//! app, or any other event) and, in local mode, when it answers a request at all (the
//! answer comes from the phone itself). In server mode an answer comes from the server,
//! which says nothing of the phone, so only webhooks count: turn on the app's ping.
//!
//! Silent for longer than `offline_after`, the phone is gone: the driver reports
//! [`HealthChange::Disconnected`] (the gateway turns unready and tells its operators) and
//! sends wait until it is heard again. In local mode a silent phone is asked (`GET` of the
//! webhook list) every quarter of `offline_after`; each time it answers after being gone,
//! the webhooks are registered again (the app may have been reinstalled or reset).

use std::sync::Arc;
use std::time::Duration;

use textgate_android::{registration_body, ApiMode, ClientId, WebhookKind};
use textgate_modem::{HealthChange, ModemEvent};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::client::RequestFailure;
use crate::Shared;

/// The phone's condition as the driver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneState {
    /// Not heard from yet since the driver started.
    Unknown,
    Present,
    /// Not heard from for too long, or unreachable; the reason says which.
    Gone(String),
    /// It refused our credentials: a person has to fix the configuration.
    Refused(String),
}

/// What the rest of the driver tells the liveness about the phone.
#[derive(Debug)]
pub struct Liveness {
    state: watch::Sender<PhoneState>,
    last_heard: std::sync::Mutex<Option<Instant>>,
}

impl Liveness {
    pub fn new() -> Liveness {
        Liveness {
            state: watch::channel(PhoneState::Unknown).0,
            last_heard: std::sync::Mutex::new(None),
        }
    }

    pub fn state(&self) -> PhoneState {
        self.state.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<PhoneState> {
        self.state.subscribe()
    }

    fn last_heard(&self) -> Option<Instant> {
        *self.last_heard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The phone spoke. Returns true when that makes it present again.
    pub fn heard(&self) -> bool {
        *self.last_heard.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        self.state.send_if_modified(|state| {
            let changed = *state != PhoneState::Present;
            *state = PhoneState::Present;
            changed
        })
    }

    /// The phone could not be reached, or refused us. Returns true when that is news.
    pub fn lost(&self, state: PhoneState) -> bool {
        self.state.send_if_modified(|current| {
            let changed = std::mem::discriminant(current) != std::mem::discriminant(&state);
            *current = state;
            changed
        })
    }
}

/// The liveness task: registers the webhooks, asks a silent phone, and reports changes
/// as health events. Ends when the gateway stops listening to the driver's events.
pub async fn run(shared: Arc<Shared>) {
    let config = &shared.config;
    let tick =
        (config.offline_after / 4).clamp(Duration::from_millis(200), Duration::from_secs(30));
    let mut changes = shared.liveness.watch();
    let mut registered = false;
    let mut reported = PhoneState::Unknown;
    let mut attempt = 1;
    if !report(&shared, HealthChange::Connecting { attempt }).await {
        return;
    }
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
        let silent_for = shared
            .liveness
            .last_heard()
            .map(|at| Instant::now().duration_since(at));
        let state = shared.liveness.state();
        // Ask the phone when it has been quiet (local mode), and register when not yet.
        let quiet = silent_for.is_none_or(|silent| silent >= config.offline_after / 2);
        if !registered || (config.mode == ApiMode::Local && quiet) {
            match register(&shared).await {
                Ok(()) => {
                    if !registered {
                        tracing::info!(url = %config.webhook_url, "webhooks registered with the phone");
                    }
                    registered = true;
                    if config.mode == ApiMode::Local {
                        shared.liveness.heard();
                    }
                }
                Err(Registration::Refused(reason)) => {
                    shared.liveness.lost(PhoneState::Refused(reason));
                }
                Err(Registration::Failed(reason)) => {
                    registered = false;
                    if state == PhoneState::Unknown {
                        attempt += 1;
                        tracing::warn!(%reason, "the phone cannot be reached yet");
                        if !report(&shared, HealthChange::Connecting { attempt }).await {
                            return;
                        }
                    } else {
                        shared.liveness.lost(PhoneState::Gone(reason));
                    }
                }
            }
        } else if silent_for.is_some_and(|silent| silent >= config.offline_after)
            && state == PhoneState::Present
        {
            shared.liveness.lost(PhoneState::Gone(format!(
                "the phone has not been heard from for {} s",
                config.offline_after.as_secs()
            )));
        }
        if let Some(change) = health_of(&shared, &mut reported, &mut registered) {
            if !report(&shared, change).await {
                return;
            }
        }
    }
}

/// The health event for the phone's state, when it differs from the last one reported
/// (by kind: a second reason for being gone is no news).
fn health_of(
    shared: &Shared,
    reported: &mut PhoneState,
    registered: &mut bool,
) -> Option<HealthChange> {
    let state = shared.liveness.state();
    if std::mem::discriminant(&state) == std::mem::discriminant(reported) {
        return None;
    }
    *reported = state.clone();
    match state {
        PhoneState::Unknown => None,
        PhoneState::Present => Some(HealthChange::Ready { profile: "android" }),
        PhoneState::Gone(reason) => {
            // It may come back reset: register again then.
            *registered = false;
            Some(HealthChange::Disconnected {
                reason,
                retry_in: (shared.config.offline_after / 4).max(Duration::from_millis(200)),
            })
        }
        PhoneState::Refused(reason) => Some(HealthChange::NeedsOperator { reason }),
    }
}

async fn report(shared: &Shared, change: HealthChange) -> bool {
    tracing::info!(health = %change, "phone");
    shared.events.send(ModemEvent::Health(change)).await.is_ok()
}

enum Registration {
    /// The phone (or server) would not take our credentials.
    Refused(String),
    Failed(String),
}

/// Registers (again: the same ids replace) our webhook for every event the driver reads.
async fn register(shared: &Shared) -> Result<(), Registration> {
    let config = &shared.config;
    for kind in [
        WebhookKind::SmsReceived,
        WebhookKind::SmsSent,
        WebhookKind::SmsDelivered,
        WebhookKind::SmsFailed,
        WebhookKind::SystemPing,
    ] {
        let id = registration_id(&config.gateway, kind)?;
        let body = registration_body(&id, &config.webhook_url, kind)
            .map_err(|e| Registration::Refused(e.to_string()))?;
        let answer = shared
            .client
            .post(&config.mode.webhooks_path(), body)
            .await
            .map_err(|e| match e {
                RequestFailure::BadUrl(url) => {
                    Registration::Refused(format!("{url} is not a URL textgate can request"))
                }
                other => Registration::Failed(other.to_string()),
            })?;
        match answer.status {
            200..=299 => {}
            401 | 403 => {
                return Err(Registration::Refused(format!(
                    "the phone refused the username and password (HTTP {})",
                    answer.status
                )))
            }
            status => {
                let said = textgate_android::error_message(&answer.body).unwrap_or_default();
                return Err(Registration::Failed(format!(
                    "registering the {} webhook: HTTP {status} {said}",
                    kind.as_str()
                )));
            }
        }
    }
    Ok(())
}

/// Our registration's id for one event: `textgate-{gateway}-{event}`, so that each start
/// replaces the last one's instead of adding to it.
fn registration_id(gateway: &str, kind: WebhookKind) -> Result<ClientId, Registration> {
    let event = kind.as_str().replace(':', "-");
    let full = format!("textgate-{gateway}-{event}");
    // A long gateway name is cut; the event stays, so the ids stay distinct per event.
    let id = if full.len() > ClientId::MAX_LEN {
        let keep = ClientId::MAX_LEN - event.len() - 1;
        format!("{}-{event}", &full[..keep])
    } else {
        full
    };
    ClientId::new(&id).map_err(|e| Registration::Refused(e.to_string()))
}
