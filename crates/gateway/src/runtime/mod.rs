//! The event loop of one gateway, and [`Gateway`], the handle that starts and stops it.
//!
//! One task owns the queue router, the reassembler and the parts waiting for their
//! siblings; it reacts to the driver's events, the component's events and reassembly
//! deadlines. A second task, the [`OutboxWorker`], sends replies; a third, the
//! [`ReplyIntake`], commits operators' replies as the component reads them, before passing
//! the component's events on to the loop. The store is the source of
//! truth throughout: a received text is committed before the modem is told to forget it,
//! texts nobody has seen yet are read back at start-up, and the router only decides who
//! gets what.
//!
//! `Runtime` is one struct whose `impl` is split by phase, one file each: this file holds
//! the struct, the start and stop of a gateway, the read-back at start-up and the loop that
//! hands each event to its phase; `receive.rs` stores what the modem hands over before it is
//! acknowledged and reassembles long texts; `deliver.rs` routes texts to operators, including
//! held texts and bounces; `calls.rs` answers voice calls; `replies.rs` records claims once
//! the intake queued a reply, and announces a second librarian answering a claimed
//! conversation; `reports.rs` matches status reports to replies and tells the operators;
//! `desk.rs` carries out the desk's commands (a chat with the gateway's JID or an ad-hoc
//! command); `auto_replies.rs` is what the gateway answers patrons by itself (keywords,
//! the closed or unattended desk). `backlog.rs` is the queue of received messages the
//! store did not take yet.
//!
//! Logging follows one text by its ids: both tasks run in a `gateway` span; each message
//! from the modem gets a `received` span with its storage `slot`, to which the pending
//! `part`, the `inbound` text id or the status report's `mr` and `outbound` id are added as
//! they become known, so every line about it carries them (the driver deletes it from the
//! SIM inside the same span). A text that waited is delivered in a `held` span with its
//! `inbound` id. A reply from an operator gets a `reply` span with its `stanza` id and, once
//! queued, its `outbound` id. Lines inside a span do not repeat its fields, except warnings
//! and errors about one text or reply: those spans are at INFO level, off under a `warn`
//! filter, so such lines keep naming their `inbound`, `mr` or `stanza` themselves. The
//! `gateway` span is at ERROR level, so no line of the gateway's tasks lacks its name.

mod auto_replies;
mod backlog;
mod calls;
mod deliver;
mod desk;
mod receive;
mod replies;
mod reports;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use textgate_core::{BareJid, InboundTextId, PatronAddress, QueueRouter, ResourcePresence};
use textgate_gsm::reassembly::{Part, Reassembler};
use textgate_gsm::segment::{Segmenter, SegmenterConfig};
use textgate_gsm::Pdu;
use textgate_modem::{ModemEvents, SmsDriver};
use textgate_store::{Store, StoreError};
use textgate_xmpp::{ComponentConfig, GatewayEvent, XmppError};

use crate::handles::{Component, PatronHandles};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument;

use crate::claims::ClaimBoard;
use crate::device_watch::DeviceWatch;
use crate::flood::FloodGuard;
use crate::hooks::{self, Hooks};
use crate::inbound::{self, Received, StanzaIds};
use crate::intake::{ReplyIntake, Taken};
use crate::notices::OperatorNotices;
use crate::outbox::OutboxWorker;
use crate::report_matcher::{RecordedSends, ReportMatcher};
use crate::settings::GatewaySettings;

use backlog::Backlog;
use deliver::RecentText;
use receive::{PendingInfo, Unstored};

/// The runtime against a real store, an outbox worker and a driver double.
#[cfg(test)]
mod tests;

/// How many undelivered texts are read back at start-up.
const BACKLOG_LIMIT: u32 = 100_000;
/// Events the intake may pass on before the loop takes them (the component's own queue
/// before it is as long).
const INTAKE_QUEUE: usize = 256;

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("gateway {gateway}: the store failed while starting: {source}")]
    Store {
        gateway: String,
        #[source]
        source: StoreError,
    },
    #[error("gateway {gateway}: the XMPP component could not be set up: {source}")]
    Xmpp {
        gateway: String,
        #[source]
        source: XmppError,
    },
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    name: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Gateway {
    /// Starts the gateway: sets its transcript policy in the store, connects its component,
    /// reads back the parts and texts a previous run left, and runs until
    /// [`Gateway::shutdown`]. `modem_events` is the driver's event stream.
    pub async fn start(
        settings: GatewaySettings,
        store: Store,
        driver: Arc<dyn SmsDriver>,
        modem_events: ModemEvents,
        component: ComponentConfig,
    ) -> Result<Gateway, GatewayError> {
        Gateway::start_with(
            settings,
            store,
            driver,
            modem_events,
            component,
            Hooks::default(),
        )
        .await
    }

    /// Like [`Gateway::start`], reporting to the daemon's telemetry through `hooks`.
    pub async fn start_with(
        settings: GatewaySettings,
        store: Store,
        driver: Arc<dyn SmsDriver>,
        modem_events: ModemEvents,
        component: ComponentConfig,
        hooks: Hooks,
    ) -> Result<Gateway, GatewayError> {
        let name = settings.name.clone();
        let store_error = |source| GatewayError::Store {
            gateway: name.clone(),
            source,
        };
        store
            .set_transcript_policy(&name, settings.transcripts)
            .await
            .map_err(store_error)?;
        let operators = component.operators.clone();
        // The desks conversations may be handed to: their librarians are the component's
        // operators too (it asks for their presence and takes their replies), but only the
        // router and the intake decide what they may answer.
        let mut component = component;
        let mut everyone: HashSet<BareJid> = operators.iter().cloned().collect();
        for desk in &settings.transfer_desks {
            for jid in &desk.operators {
                if everyone.insert(jid.clone()) {
                    component.operators.push(jid.clone());
                }
            }
        }
        let (link, component_events) =
            textgate_xmpp::spawn(component).map_err(|source| GatewayError::Xmpp {
                gateway: name.clone(),
                source,
            })?;
        let handles = settings
            .privacy_handles
            .then(|| PatronHandles::new(&name, store.clone()));
        let xmpp = match &handles {
            Some(handles) => Component::with_handles(link, handles.clone()),
            None => Component::showing_numbers(link),
        };
        let settings = Arc::new(settings);
        let mut runtime = Runtime::new(
            settings.clone(),
            store.clone(),
            xmpp,
            driver.clone(),
            hooks.clone(),
            operators.clone(),
        );
        let span = runtime.span.clone();
        // Replies are committed from now on, while the loop is still reading back what the
        // previous run left.
        let (taken, xmpp_events) = mpsc::channel(INTAKE_QUEUE);
        let intake = ReplyIntake {
            settings: settings.clone(),
            store: store.clone(),
            segmenter: runtime.segmenter.clone(),
            notices: runtime.notices.clone(),
            home: operators.into_iter().collect(),
            operators: everyone,
            claims: runtime.claims.clone(),
            handles,
        };
        let intake = tokio::spawn(intake.run(component_events, taken).instrument(span.clone()));
        runtime
            .restore()
            .instrument(span.clone())
            .await
            .map_err(store_error)?;
        let (sent, recorded_sends) = RecordedSends::channel();
        let (stop, stopped) = watch::channel(false);
        // A message centre takes many sends at once; the store's connections bound how
        // many workers may record them side by side.
        let window = driver.concurrency().max(1);
        let copies = window.min(store.parallel_senders());
        let sends_each = window.div_ceil(copies);
        let worker = OutboxWorker {
            settings: settings.clone(),
            completions: crate::outbox::Completions::direct(store.clone()),
            store,
            driver,
            notices: runtime.notices.clone(),
            segmenter: runtime.segmenter.clone(),
            sent,
            metrics: hooks.metrics.clone(),
            worker_id: format!(
                "{name}-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ),
        };
        let tasks = vec![
            intake,
            tokio::spawn(
                runtime
                    .run(modem_events, xmpp_events, recorded_sends, stopped.clone())
                    .instrument(span.clone()),
            ),
            tokio::spawn(
                worker
                    .run_side_by_side(copies, sends_each, stopped)
                    .instrument(span),
            ),
        ];
        tracing::info!(gateway = %name, "gateway started");
        Ok(Gateway { name, stop, tasks })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops taking new work, gives back the reply being sent (if any), says goodbye on the
    /// component stream and returns when both tasks have ended.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(gateway = %self.name, error = %e, "gateway task failed");
            }
        }
        tracing::info!(gateway = %self.name, "gateway stopped");
    }
}

/// The state of one gateway's event loop, owned by its task. Its `impl` is split by phase
/// across this folder (see the module doc).
struct Runtime {
    /// The span both tasks run in (its `gateway` field names the gateway).
    span: tracing::Span,
    settings: Arc<GatewaySettings>,
    store: Store,
    xmpp: Component,
    /// Everything the gateway itself tells the operators.
    notices: OperatorNotices,
    router: QueueRouter,
    /// Tokens are the ids of the pending parts in the store.
    reassembler: Reassembler<i64, Instant>,
    pending: HashMap<i64, PendingInfo>,
    /// Texts whose delivery failed because the component was between connections; fed to
    /// the router again once it knows the connection's state.
    stranded: Vec<(InboundTextId, PatronAddress)>,
    /// Status reports that matched no sent part yet, and replies a report matched while
    /// they were still being sent; both are looked at again after each recorded send.
    reports: ReportMatcher,
    /// Texts recently written to operators, kept (bodies included, since the store may
    /// have erased them) in case the server bounces them.
    recent: VecDeque<RecentText>,
    /// Texts every recipient bounced, waiting for an operator who has not had them.
    bounced: Vec<RecentText>,
    segmenter: Segmenter,
    /// Asked for the signal strength when the modem becomes ready.
    driver: Arc<dyn SmsDriver>,
    hooks: Hooks,
    /// Times the component connected, so the second and later count as reconnections.
    connections: u64,
    /// Received messages the store could not take, oldest first, tried again on a timer.
    /// The driver hands a message over again only after it restarts, so dropping its
    /// [`AckHandle`](textgate_modem::AckHandle) would lose the text until then.
    unstored: Backlog<Unstored>,
    /// Texts reassembled from their parts whose commit failed: their parts are safe in the
    /// store (and off the SIM), and the commit is tried again while the daemon runs.
    unjoined: Backlog<receive::Unjoined>,
    /// The ids of the stanzas that carry texts to operators.
    stanza_ids: StanzaIds,
    /// What the operators were told about the driver's device.
    device_watch: DeviceWatch,
    /// The router's active claims, published for the reply intake.
    claims: ClaimBoard,
    /// Texts an operator's `resume` released, delivered once she has the answer.
    resumed: Option<textgate_core::PresenceOutcome>,
    /// Patrons sending too many texts, and the texts held back from them.
    flood: FloodGuard,
    /// When each patron's conversation last had a text either way, for its idle end.
    activity: HashMap<PatronAddress, chrono::DateTime<chrono::Utc>>,
    /// Signal readings (dBm) from tasks that asked the driver, for the health notices.
    signals: mpsc::UnboundedSender<i32>,
    signal_readings: Option<mpsc::UnboundedReceiver<i32>>,
}

impl Runtime {
    /// The loop's state before anything is read back from the store
    /// ([`Runtime::restore`]): `xmpp` is the gateway's component, `operators` its
    /// configured operators.
    fn new(
        settings: Arc<GatewaySettings>,
        store: Store,
        xmpp: Component,
        driver: Arc<dyn SmsDriver>,
        hooks: Hooks,
        operators: Vec<BareJid>,
    ) -> Runtime {
        let segmenter = Segmenter::new(SegmenterConfig {
            max_parts: settings.max_parts,
            ..SegmenterConfig::default()
        });
        let notices = OperatorNotices::new(settings.clone(), xmpp.clone(), store.clone());
        let settings_interval = settings.health_notice_interval;
        let settings_flood = (settings.desk.flood_limit, settings.desk.flood_window);
        // At ERROR level so that it is on whenever any of the gateway's lines is: the lines
        // inside it do not repeat the `gateway` field, and a filter such as `warn` must not
        // leave them without it.
        let span = tracing::error_span!("gateway", gateway = %settings.name);
        let (signals, signal_readings) = mpsc::unbounded_channel();
        let device_watch = DeviceWatch::new(settings_interval)
            .with_thresholds(settings.signal_below, settings.backlog_above);
        Runtime {
            span,
            router: settings.transfer_desks.iter().fold(
                QueueRouter::new(operators, settings.availability.clone(), settings.routing),
                |router, desk| router.with_queue(&desk.name, desk.operators.iter().cloned()),
            ),
            reassembler: Reassembler::new(settings.reassembly.clone()),
            pending: HashMap::new(),
            stranded: Vec::new(),
            reports: ReportMatcher::new(),
            recent: VecDeque::new(),
            bounced: Vec::new(),
            segmenter,
            settings,
            store,
            xmpp,
            notices,
            driver,
            hooks,
            connections: 0,
            unstored: Backlog::new(),
            unjoined: Backlog::new(),
            stanza_ids: StanzaIds::new(rand::random()),
            device_watch,
            claims: ClaimBoard::default(),
            resumed: None,
            activity: HashMap::new(),
            flood: FloodGuard::new(settings_flood.0, settings_flood.1),
            signals,
            signal_readings: Some(signal_readings),
        }
    }

    fn name(&self) -> &str {
        &self.settings.name
    }

    /// Reads back what a previous run left: parts waiting for siblings go into the
    /// reassembler on their own clock (a part stored 8 minutes ago has 2 of its 10 left;
    /// restarts never prolong a wait), texts nobody has seen yet are held by the router
    /// until an operator is available, and claims are restored.
    async fn restore(&mut self) -> Result<(), StoreError> {
        let name = self.settings.name.clone();
        let now = Instant::now();
        let mut restored_parts = 0;
        for stored in self.store.pending_parts(&name).await? {
            let decoded = Pdu::decode_hex(&stored.part.pdu_hex, textgate_gsm::SmscField::Present);
            let Received::Part(part) = inbound::classify(&decoded, self.settings.region) else {
                tracing::warn!(
                    part = stored.id,
                    "a stored pending part no longer decodes; skipped"
                );
                continue;
            };
            let Some(concatenation) = part.concatenation else {
                continue;
            };
            self.pending.insert(
                stored.id,
                PendingInfo {
                    pdu_hex: stored.part.pdu_hex.clone(),
                    smsc_time: part.smsc_time,
                    sender: part.sender.clone(),
                    slot: None,
                },
            );
            let pushed = self.reassembler.push(
                Part {
                    sender: part.sender.as_str().to_owned(),
                    concatenation: Some(concatenation),
                    payload: part.payload,
                    token: stored.id,
                },
                received_instant(now, stored.part.received_at),
            );
            restored_parts += 1;
            let span = self.stored_parts_span();
            span.record("part", stored.id);
            self.after_push(pushed.outcome, pushed.evicted)
                .instrument(span)
                .await;
        }
        for conversation in self.store.conversations(&name).await? {
            let patron = PatronAddress::from_sender(&conversation.patron, self.settings.region);
            self.activity.insert(patron, conversation.last_activity);
            if let Some(record) = conversation.claimed_by.as_deref() {
                let patron = PatronAddress::from_sender(&conversation.patron, self.settings.region);
                let (desk, claimer) = replies::read_claim(record);
                if let Some(desk) = desk {
                    self.router.restore_handoff(patron.clone(), desk);
                }
                if let Some(claimer) = claimer {
                    let _ = self.router.operator_replied(&claimer, &patron);
                }
            }
        }
        let backlog = self.store.undelivered_inbound(&name, BACKLOG_LIMIT).await?;
        let texts = backlog.len();
        for text in backlog {
            let patron = PatronAddress::from_sender(&text.sender, self.settings.region);
            // Nobody's presence is known yet, so these are held until someone is available.
            let _ = self.router.inbound_text(InboundTextId(text.id), &patron);
        }
        self.claims.publish(&self.router);
        self.restore_unmatched_reports().await?;
        tracing::info!(restored_parts, texts, "state restored from the store");
        self.report_backlog();
        Ok(())
    }

    /// Texts stored but not yet with an operator: held by the router for want of one, or
    /// stranded between two component connections.
    fn report_backlog(&self) {
        let flooded: usize = self.flood.holding().iter().map(|(_, n)| n).sum();
        let waiting = self.router.held().count() + self.stranded.len() + flooded;
        self.hooks
            .metrics
            .set_offline_backlog(self.name(), u64::try_from(waiting).unwrap_or(u64::MAX));
    }

    fn on_health(&mut self, change: &textgate_modem::HealthChange) {
        use textgate_telemetry::ModemState;
        let name = self.settings.name.clone();
        let notice = self.device_watch.on(change, Instant::now());
        self.tell_health(notice);
        if hooks::modem_ready(change) {
            self.hooks.readiness.set_modem(&name, ModemState::Ready);
            // The signal reading is a separate command; asked off the event loop so a slow
            // modem never delays texts.
            let driver = self.driver.clone();
            let metrics = self.hooks.metrics.clone();
            let signals = self.signals.clone();
            let reading = async move {
                match driver.status().await {
                    Ok(status) => {
                        let rssi = status.signal.as_ref().and_then(|s| s.rssi);
                        metrics.set_modem_signal(&name, rssi);
                        if let Some(dbm) = status.signal.as_ref().and_then(|s| s.dbm()) {
                            // Back to the loop, which keeps the notices' story.
                            let _ = signals.send(dbm);
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "no signal reading"),
                }
            };
            tokio::spawn(reading.instrument(self.span.clone()));
        } else {
            self.hooks.readiness.set_modem(&name, ModemState::NotReady);
            if hooks::modem_lost(change) {
                self.hooks.metrics.modem_restarted(&name);
            }
        }
    }

    /// Tells the operators (and the watchers) about the gateway's health, off the event
    /// loop (a slow server must not delay texts), if notices are on.
    fn tell_health(&self, notice: Option<crate::device_watch::DeviceNotice>) {
        let Some(notice) = notice.filter(|_| self.settings.health_notices) else {
            return;
        };
        let notices = self.notices.clone();
        let mut to = self.notice_recipients();
        for watcher in &self.settings.health_watchers {
            if !to.contains(watcher) {
                to.push(watcher.clone());
            }
        }
        tracing::info!(
            ?notice,
            recipients = to.len(),
            "telling the operators about the gateway's health"
        );
        let body = notice.body(&self.settings.health_device);
        let say = async move { notices.device(&body, to).await };
        tokio::spawn(say.instrument(self.span.clone()));
    }

    /// A signal reading came back from the driver.
    fn on_signal(&mut self, dbm: i32) {
        let notice = self.device_watch.on_signal(dbm, Instant::now());
        self.tell_health(notice);
    }

    /// After a reply was queued: too many waiting is worth a notice.
    async fn check_backlog(&mut self) {
        if !self.device_watch.watches_backlog() || !self.settings.health_notices {
            return;
        }
        match self.store.outbox_depth(&self.settings.name).await {
            Ok(waiting) => {
                let notice = self.device_watch.on_backlog(waiting, Instant::now());
                self.tell_health(notice);
            }
            Err(e) => tracing::debug!(error = %e, "no outbox depth for the backlog notice"),
        }
    }

    /// The loop: hands each event (from the modem, the component, the outbox worker's
    /// [`RecordedSends`], or a deadline) to its phase, until `stop` turns true or the XMPP
    /// session ends.
    async fn run(
        mut self,
        mut modem_events: ModemEvents,
        mut xmpp_events: mpsc::Receiver<Taken>,
        mut recorded_sends: mpsc::UnboundedReceiver<()>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut modem_open = true;
        let mut signal_readings = self
            .signal_readings
            .take()
            .unwrap_or_else(|| mpsc::unbounded_channel().1);
        loop {
            let deadline = self.reassembler.next_deadline();
            let store_retry = self.unstored.deadline();
            let join_retry = self.unjoined.deadline();
            let unconfirmed = self.next_unconfirmed_deadline();
            let flood_end = self.flood.next_end();
            tokio::select! {
                _ = stop.changed() => break,
                event = modem_events.recv(), if modem_open => match event {
                    Some(event) => self.on_modem_event(event).await,
                    None => {
                        let name = self.settings.name.clone();
                        self.hooks.readiness.set_modem(&name, textgate_telemetry::ModemState::NotReady);
                        tracing::error!("the modem driver stopped; no more texts from it");
                        modem_open = false;
                    }
                },
                event = xmpp_events.recv() => match event {
                    Some(Taken::Event(event)) => self.on_xmpp_event(event).await,
                    Some(Taken::Queued { reply, stanza, outbound }) => {
                        self.on_queued(reply, &stanza, outbound).await;
                    }
                    None => {
                        tracing::error!("the XMPP session ended");
                        break;
                    }
                },
                _ = sleep_until_some(deadline) => self.expire().await,
                _ = sleep_until_some(store_retry) => self.retry_unstored().await,
                _ = sleep_until_some(join_retry) => self.retry_unjoined().await,
                _ = sleep_until_some(unconfirmed) => self.end_grace().await,
                _ = sleep_until_some(flood_end) => self.end_floods().await,
                Some(()) = recorded_sends.recv() => {
                    self.rematch_reports().await;
                    self.check_backlog().await;
                }
                Some(dbm) = signal_readings.recv() => self.on_signal(dbm),
            }
            self.report_backlog();
        }
        if !self.unstored.is_empty() {
            // Dropped unacknowledged: they stay on the modem and the driver hands them over
            // again when it next starts.
            tracing::warn!(
                waiting = self.unstored.len(),
                "stopping with received texts the store did not take; they stay on the modem"
            );
        }
        self.xmpp.shutdown().await;
    }

    /// One event from the component: its connection (readiness, and texts stranded while it
    /// was away), an operator's presence (held and bounced texts may now go out), a reply,
    /// or a bounce.
    async fn on_xmpp_event(&mut self, event: GatewayEvent) {
        match event {
            GatewayEvent::Connected => {
                let name = self.settings.name.clone();
                self.hooks
                    .readiness
                    .set_component(&name, textgate_telemetry::ComponentState::Connected);
                if self.connections > 0 {
                    self.hooks.metrics.xmpp_reconnected(&name);
                }
                self.connections += 1;
                tracing::info!("component connected");
                self.requeue_stranded().await;
            }
            GatewayEvent::Disconnected { reason, retry_in } => {
                tracing::warn!(reason, retry_in = ?retry_in, "component disconnected");
                let name = self.settings.name.clone();
                self.hooks
                    .readiness
                    .set_component(&name, textgate_telemetry::ComponentState::Disconnected);
                self.router.forget_presence();
                self.claims.publish(&self.router);
                self.requeue_stranded().await;
            }
            GatewayEvent::OperatorPresence {
                operator,
                resource,
                presence,
            } => {
                let outcome = self.router.presence_changed(&operator, &resource, presence);
                self.claims.publish(&self.router);
                tracing::info!(
                    operator = %operator.as_str(), resource, presence = ?presence,
                    available = self.router.available().len(), "operator presence"
                );
                if presence == ResourcePresence::Unavailable {
                    self.on_session_gone(&operator, &resource);
                }
                self.flush(outcome).await;
                if !self.bounced.is_empty() {
                    self.retry_bounced(deliver::Retry::PresenceChanged).await;
                }
                // What could not be said while the component was away (receipts, errors,
                // notices) goes out as soon as its operator is there to hear it.
                if self.router.available().contains(&operator) {
                    self.notices.send_kept(&operator).await;
                }
            }
            // The intake takes replies; none come this way.
            GatewayEvent::OperatorReply(_) => {}
            GatewayEvent::Command(request) => self.on_desk_request(request).await,
            GatewayEvent::OperatorReceived { operator, id, .. } => {
                self.on_confirmed(&operator, &id).await;
            }
            GatewayEvent::DeliveryFailed {
                operator,
                reason,
                id,
                ..
            } => {
                let text = id.as_deref().and_then(inbound::text_of_stanza);
                tracing::warn!(
                    operator = %operator.as_str(), reason,
                    stanza = id.as_deref(), inbound = text.map(|t| t.0),
                    "an operator did not get a message"
                );
                if let Some(stanza) = id.as_deref() {
                    self.on_bounce(stanza).await;
                }
            }
        }
    }
}

/// The monotonic instant a part stored at `received_at` (wall clock) arrived, as seen from
/// `now`. A time stamp from the future counts as now, and so does one older than the
/// monotonic clock reaches back (before the machine booted): that part waits one timeout.
pub(super) fn received_instant(
    now: Instant,
    received_at: chrono::DateTime<chrono::Utc>,
) -> Instant {
    let age = (chrono::Utc::now() - received_at)
        .to_std()
        .unwrap_or_default();
    now.checked_sub(age).unwrap_or(now)
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
