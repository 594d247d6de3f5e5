//! The event loop of one gateway, and [`Gateway`], the handle that starts and stops it.
//!
//! One task owns the queue router, the reassembler and the parts waiting for their
//! siblings; it reacts to the driver's events, the component's events and reassembly
//! deadlines. A second task, the [`OutboxWorker`], sends replies. The store is the source of
//! truth throughout: a received text is committed before the modem is told to forget it,
//! texts nobody has seen yet are read back at start-up, and the router only decides who
//! gets what.
//!
//! Logging follows one text by its ids: both tasks run in a `gateway` span; each message
//! from the modem gets a `received` span with its storage `slot`, to which the pending
//! `part`, the `inbound` text id or the status report's `mr` and `outbound` id are added as
//! they become known, so every line about it carries them (the driver deletes it from the
//! SIM inside the same span). A reply from an operator gets a `reply` span with its
//! `stanza` id and, once queued, its `outbound` id.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use textgate_core::{
    BareJid, InboundTextId, PatronAddress, PresenceOutcome, QueueRouter, ReplyOutcome, Routing,
};
use textgate_gsm::reassembly::{Complete, Incomplete, Outcome, Part, Payload, Reassembler};
use textgate_gsm::segment::{Segmenter, SegmenterConfig};
use textgate_gsm::Pdu;
use textgate_modem::{AckHandle, ModemEvent, ModemEvents, Origin, SmsDriver};
use textgate_store::{
    DeliveryReceipt, InboundState, NewInbound, NewOutbound, OutboundOrigin, PartOutcome,
    PendingPart, Priority, Store, StoreError,
};
use textgate_xmpp::{
    ComponentConfig, ComponentHandle, ErrorCondition, GatewayEvent, Notice, NoticeSender,
    OperatorReply, Outgoing, ReceiptRequest, ReplyError, TextToOperator, XmppError,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::field::Empty;
use tracing::Instrument;

use crate::hooks::{self, Hooks, Screened};
use crate::inbound::{self, Received, StanzaIds};
use crate::outbox::{self, OutboxWorker};
use crate::settings::GatewaySettings;

/// How many undelivered texts are read back at start-up.
const BACKLOG_LIMIT: u32 = 100_000;

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
        let (xmpp, xmpp_events) =
            textgate_xmpp::spawn(component).map_err(|source| GatewayError::Xmpp {
                gateway: name.clone(),
                source,
            })?;
        let settings = Arc::new(settings);
        let segmenter = Segmenter::new(SegmenterConfig {
            max_parts: settings.max_parts,
            ..SegmenterConfig::default()
        });
        let span = tracing::info_span!("gateway", gateway = %name);
        let mut runtime = Runtime {
            span: span.clone(),
            router: QueueRouter::new(operators, settings.availability.clone(), settings.routing),
            reassembler: Reassembler::new(settings.reassembly.clone()),
            pending: HashMap::new(),
            stranded: Vec::new(),
            unmatched_reports: VecDeque::new(),
            reported_while_sending: VecDeque::new(),
            recent: VecDeque::new(),
            bounced: Vec::new(),
            segmenter: segmenter.clone(),
            settings: settings.clone(),
            store: store.clone(),
            xmpp: xmpp.clone(),
            driver: driver.clone(),
            hooks: hooks.clone(),
            connections: 0,
            unstored: Backlog::new(),
            stanza_ids: StanzaIds::new(rand::random()),
        };
        runtime
            .restore()
            .instrument(span.clone())
            .await
            .map_err(store_error)?;
        let (sent, sent_rx) = mpsc::unbounded_channel();
        let (stop, stopped) = watch::channel(false);
        let worker = OutboxWorker {
            settings: settings.clone(),
            store,
            driver,
            xmpp: xmpp.clone(),
            segmenter,
            sent,
            metrics: hooks.metrics.clone(),
            worker_id: format!(
                "{name}-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ),
        };
        let tasks = vec![
            tokio::spawn(
                runtime
                    .run(modem_events, xmpp_events, sent_rx, stopped.clone())
                    .instrument(span.clone()),
            ),
            tokio::spawn(worker.run(stopped).instrument(span)),
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

/// How many unmatched status reports are kept, and for how long.
const UNMATCHED_REPORTS: usize = 256;
const UNMATCHED_REPORT_AGE: Duration = Duration::from_secs(300);

/// How many delivered texts are remembered for bounces.
const RECENT_TEXTS: usize = 1024;

struct RecentText {
    id: InboundTextId,
    patron: PatronAddress,
    body: String,
    delayed_since: Option<DateTime<Utc>>,
    /// Writes not bounced yet.
    outstanding: usize,
    /// Operators it was written to.
    tried: Vec<BareJid>,
}

struct ReportedWhileSending {
    outbound: i64,
    mr: u8,
    seq: u8,
    /// A report said a part failed: the network gave up on the reply.
    part_failed: bool,
}

struct UnmatchedReport {
    reference: u8,
    outcome: PartOutcome,
    received: Instant,
}

/// A part waiting for its siblings, as far as the runtime needs it.
struct PendingInfo {
    pdu_hex: String,
    smsc_time: DateTime<FixedOffset>,
    sender: PatronAddress,
    /// The modem storage slot it came from; `None` when routed (`+CMT`) or read back
    /// from the store after a restart.
    slot: Option<u32>,
}

struct Runtime {
    /// The span both tasks run in (its `gateway` field names the gateway).
    span: tracing::Span,
    settings: Arc<GatewaySettings>,
    store: Store,
    xmpp: ComponentHandle,
    router: QueueRouter,
    /// Tokens are the ids of the pending parts in the store.
    reassembler: Reassembler<i64, Instant>,
    pending: HashMap<i64, PendingInfo>,
    /// Texts whose delivery failed because the component was between connections; fed to
    /// the router again once it knows the connection's state.
    stranded: Vec<(InboundTextId, PatronAddress)>,
    /// Status reports that matched no sent part yet: with a fast network the report can
    /// overtake the outbox worker's record of the send. Matched again after each send.
    unmatched_reports: VecDeque<UnmatchedReport>,
    /// Replies a status report matched while they were still being sent: the worker records
    /// each part the moment the network accepts it, so a fast report can match before the
    /// send is complete, and only the store's record of the whole send says whether the
    /// reply arrived. Read again after each send.
    reported_while_sending: VecDeque<ReportedWhileSending>,
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
    /// [`AckHandle`] would lose the text until then.
    unstored: Backlog<Unstored>,
    /// The ids of the stanzas that carry texts to operators.
    stanza_ids: StanzaIds,
}

/// A received message the store has not taken yet. Its [`AckHandle`] is kept,
/// unacknowledged, so the modem keeps the message until it is committed.
struct Unstored {
    meaning: Received,
    pdu_hex: String,
    ack: AckHandle,
    slot: Option<u32>,
    /// Its [`received_span`], entered again for each attempt.
    span: tracing::Span,
}

/// The first wait before the store is tried again, and the longest (the wait doubles).
const STORE_RETRY_FIRST: Duration = Duration::from_secs(1);
const STORE_RETRY_LONGEST: Duration = Duration::from_secs(10);

/// Items waiting for the store, oldest first, with the time of the next attempt: whatever
/// arrives while one waits goes behind it, so texts reach the operators in the order they
/// came. The wait doubles after each failed attempt, up to [`STORE_RETRY_LONGEST`].
struct Backlog<T> {
    waiting: VecDeque<T>,
    delay: Duration,
    next_attempt: Option<Instant>,
}

impl<T> Backlog<T> {
    fn new() -> Backlog<T> {
        Backlog {
            waiting: VecDeque::new(),
            delay: STORE_RETRY_FIRST,
            next_attempt: None,
        }
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }

    fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// When the oldest item is due to be tried again; `None` when nothing waits.
    fn deadline(&self) -> Option<Instant> {
        self.next_attempt.filter(|_| !self.waiting.is_empty())
    }

    /// Puts an item behind the others; the first one starts the timer.
    fn hold(&mut self, item: T, now: Instant) {
        self.waiting.push_back(item);
        if self.next_attempt.is_none() {
            self.next_attempt = Some(now + self.delay);
        }
    }

    /// The oldest item, to be tried now; when the last one is taken the wait starts over.
    fn take_oldest(&mut self) -> Option<T> {
        let oldest = self.waiting.pop_front();
        if self.waiting.is_empty() {
            self.delay = STORE_RETRY_FIRST;
            self.next_attempt = None;
        }
        oldest
    }

    /// The item taken last failed again: it goes back in front and the wait doubles.
    fn failed_again(&mut self, item: T, now: Instant) -> Duration {
        self.waiting.push_front(item);
        self.delay = (self.delay * 2).min(STORE_RETRY_LONGEST);
        self.next_attempt = Some(now + self.delay);
        self.delay
    }
}

impl Runtime {
    fn name(&self) -> &str {
        &self.settings.name
    }

    /// A [`received_span`] for parts taken from the store rather than the modem (read back
    /// at start-up, timed out, or pushed out of the reassembler by another text): a child
    /// of the gateway's span, never of the part being handled when it happens.
    fn stored_parts_span(&self) -> tracing::Span {
        tracing::info_span!(
            parent: &self.span,
            "received",
            part = Empty,
            inbound = Empty,
        )
    }

    /// Reads back what a previous run left: parts waiting for siblings go into the
    /// reassembler (their timeout starts again), texts nobody has seen yet are held by the
    /// router until an operator is available, and claims are restored.
    async fn restore(&mut self) -> Result<(), StoreError> {
        let name = self.settings.name.clone();
        let now = Instant::now();
        let mut restored_parts = 0;
        for stored in self.store.pending_parts(&name).await? {
            let decoded = Pdu::decode_hex(&stored.part.pdu_hex, textgate_gsm::SmscField::Present);
            let Received::Part(part) = inbound::classify(&decoded, self.settings.region) else {
                tracing::warn!(gateway = %name, part = stored.id, "a stored pending part no longer decodes; skipped");
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
                now,
            );
            restored_parts += 1;
            let span = self.stored_parts_span();
            span.record("part", stored.id);
            self.after_push(pushed.outcome, pushed.evicted)
                .instrument(span)
                .await;
        }
        for conversation in self.store.conversations(&name).await? {
            if let Some(claimer) = conversation
                .claimed_by
                .as_deref()
                .and_then(|j| BareJid::new(j).ok())
            {
                let patron = PatronAddress::from_sender(&conversation.patron, self.settings.region);
                let _ = self.router.operator_replied(&claimer, &patron);
            }
        }
        let backlog = self.store.undelivered_inbound(&name, BACKLOG_LIMIT).await?;
        let texts = backlog.len();
        for text in backlog {
            let patron = PatronAddress::from_sender(&text.sender, self.settings.region);
            // Nobody's presence is known yet, so these are held until someone is available.
            let _ = self.router.inbound_text(InboundTextId(text.id), &patron);
        }
        tracing::info!(gateway = %name, restored_parts, texts, "state restored from the store");
        self.report_backlog();
        Ok(())
    }

    /// Texts stored but not yet with an operator: held by the router for want of one, or
    /// stranded between two component connections.
    fn report_backlog(&self) {
        let waiting = self.router.held().count() + self.stranded.len();
        self.hooks
            .metrics
            .set_offline_backlog(self.name(), u64::try_from(waiting).unwrap_or(u64::MAX));
    }

    fn on_health(&mut self, change: &textgate_modem::HealthChange) {
        use textgate_telemetry::ModemState;
        let name = self.settings.name.clone();
        if hooks::modem_ready(change) {
            self.hooks.readiness.set_modem(&name, ModemState::Ready);
            // The signal reading is a separate command; asked off the event loop so a slow
            // modem never delays texts.
            let driver = self.driver.clone();
            let metrics = self.hooks.metrics.clone();
            tokio::spawn(async move {
                match driver.status().await {
                    Ok(status) => {
                        let rssi = status.signal.and_then(|s| s.rssi);
                        metrics.set_modem_signal(&name, rssi);
                    }
                    Err(e) => tracing::debug!(gateway = %name, error = %e, "no signal reading"),
                }
            });
        } else {
            self.hooks.readiness.set_modem(&name, ModemState::NotReady);
            if hooks::modem_lost(change) {
                self.hooks.metrics.modem_restarted(&name);
            }
        }
    }

    async fn run(
        mut self,
        mut modem_events: ModemEvents,
        mut xmpp_events: mpsc::Receiver<GatewayEvent>,
        mut sent: mpsc::UnboundedReceiver<()>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut modem_open = true;
        loop {
            let deadline = self.reassembler.next_deadline();
            let store_retry = self.unstored.deadline();
            tokio::select! {
                _ = stop.changed() => break,
                event = modem_events.recv(), if modem_open => match event {
                    Some(event) => self.on_modem_event(event).await,
                    None => {
                        let name = self.settings.name.clone();
                        self.hooks.readiness.set_modem(&name, textgate_telemetry::ModemState::NotReady);
                        tracing::error!(gateway = %name, "the modem driver stopped; no more texts from it");
                        modem_open = false;
                    }
                },
                event = xmpp_events.recv() => match event {
                    Some(event) => self.on_xmpp_event(event).await,
                    None => {
                        tracing::error!(gateway = %self.name(), "the XMPP session ended");
                        break;
                    }
                },
                _ = sleep_until_some(deadline) => self.expire().await,
                _ = sleep_until_some(store_retry) => self.retry_unstored().await,
                Some(()) = sent.recv() => self.rematch_reports().await,
            }
            self.report_backlog();
        }
        if !self.unstored.is_empty() {
            // Dropped unacknowledged: they stay on the modem and the driver hands them over
            // again when it next starts.
            tracing::warn!(gateway = %self.name(), waiting = self.unstored.len(), "stopping with received texts the store did not take; they stay on the modem");
        }
        self.xmpp.shutdown().await;
    }

    // ---- the modem side ----

    async fn on_modem_event(&mut self, event: ModemEvent) {
        match event {
            ModemEvent::IncomingPart(received) | ModemEvent::StatusReport(received) => {
                let slot = match received.origin {
                    Origin::Stored { index } => Some(index),
                    Origin::Routed => None,
                };
                let span = received_span(slot);
                let meaning = inbound::classify(&received.decoded, self.settings.region);
                let received = Unstored {
                    meaning,
                    pdu_hex: received.pdu_hex,
                    ack: received.ack,
                    slot,
                    span: span.clone(),
                };
                self.on_received(received).instrument(span).await;
            }
            ModemEvent::IncomingCall { number } => self.on_call(number).await,
            ModemEvent::Health(change) => {
                // Readiness first, then the log line: a watcher of the log can then ask
                // /readyz and see the change.
                self.on_health(&change);
                tracing::info!(gateway = %self.name(), health = %change, "modem");
            }
        }
    }

    async fn on_received(&mut self, received: Unstored) {
        if !self.unstored.is_empty() {
            // Behind the ones already waiting, so texts keep the order they came in.
            tracing::info!(gateway = %self.name(), waiting = self.unstored.len(), "received; waits behind texts the store has not taken yet");
            self.unstored.hold(received, Instant::now());
            return;
        }
        if let Err(received) = self.store_received(received).await {
            self.unstored.hold(received, Instant::now());
        }
    }

    /// Tries the received messages the store did not take, oldest first, until one fails.
    async fn retry_unstored(&mut self) {
        while let Some(received) = self.unstored.take_oldest() {
            let span = received.span.clone();
            if let Err(received) = self.store_received(received).instrument(span).await {
                let retry_in = self.unstored.failed_again(received, Instant::now());
                tracing::warn!(gateway = %self.name(), waiting = self.unstored.len(), retry_in = ?retry_in, "the store still fails; received texts wait on the modem");
                return;
            }
        }
    }

    /// Stores what the modem handed over and acknowledges it; gives it back, not
    /// acknowledged, when the store failed.
    async fn store_received(&mut self, received: Unstored) -> Result<(), Unstored> {
        let Unstored {
            meaning,
            pdu_hex,
            ack,
            slot,
            span,
        } = received;
        let name = self.settings.name.clone();
        let unstored = |meaning: Received, pdu_hex: String, ack: AckHandle| Unstored {
            meaning,
            pdu_hex,
            ack,
            slot,
            span: span.clone(),
        };
        match meaning {
            Received::Part(part) => match part.concatenation {
                Some(concatenation) => {
                    let pending = PendingPart {
                        gateway: name.clone(),
                        sender: part.sender.as_str().to_owned(),
                        concatenation: inbound::store_concatenation(concatenation),
                        seq: concatenation.sequence,
                        pdu_hex: pdu_hex.clone(),
                        received_at: Utc::now(),
                    };
                    let id = match self.store.store_pending_part(&pending).await {
                        Ok(insertion) => insertion.id(),
                        Err(e) => {
                            tracing::error!(gateway = %name, error = %e, "could not store a part; left on the modem");
                            return Err(unstored(Received::Part(part), pdu_hex, ack));
                        }
                    };
                    span.record("part", id);
                    // The key the parts are joined on (with the sender), so the lines of
                    // the parts before the text exists can be found from the text's.
                    tracing::info!(
                        gateway = %name, part = id, reference = concatenation.reference,
                        seq = concatenation.sequence, total = concatenation.total,
                        "part of a longer text stored"
                    );
                    acknowledge(&name, ack);
                    self.pending.insert(
                        id,
                        PendingInfo {
                            pdu_hex,
                            smsc_time: part.smsc_time,
                            sender: part.sender.clone(),
                            slot,
                        },
                    );
                    let pushed = self.reassembler.push(
                        Part {
                            sender: part.sender.as_str().to_owned(),
                            concatenation: Some(concatenation),
                            payload: part.payload,
                            token: id,
                        },
                        Instant::now(),
                    );
                    self.after_push(pushed.outcome, pushed.evicted).await;
                }
                None => {
                    let text = NewInbound {
                        gateway: name.clone(),
                        sender: part.sender.as_str().to_owned(),
                        smsc_time: part.smsc_time,
                        received_at: Utc::now(),
                        body: inbound::body(&part.payload),
                        concatenation: None,
                        parts_hex: vec![pdu_hex.clone()],
                        incomplete: false,
                        consumed_pending_parts: Vec::new(),
                    };
                    match self.commit_text(&text).await {
                        Committed::New(id) => {
                            acknowledge(&name, ack);
                            self.route_new(id, &part.sender, &text.body, text.smsc_time)
                                .await;
                        }
                        Committed::Again => acknowledge(&name, ack),
                        Committed::Failed => {
                            return Err(unstored(Received::Part(part), pdu_hex, ack));
                        }
                    }
                }
            },
            Received::StatusReport { reference, outcome } => {
                span.record("mr", reference);
                if let Some(outcome) = outcome {
                    let window = chrono::Duration::from_std(self.settings.status_report_window)
                        .unwrap_or(chrono::Duration::days(3));
                    let recorded = self
                        .store
                        .record_status_report(&name, reference, &outcome, window)
                        .await;
                    match recorded {
                        Ok(Some(matched)) => {
                            let failed = matches!(outcome, PartOutcome::Failed { .. });
                            self.on_report(matched, reference, failed).await;
                        }
                        Ok(None) => {
                            tracing::debug!(gateway = %name, mr = reference, "status report for no known part yet");
                            if self.unmatched_reports.len() >= UNMATCHED_REPORTS {
                                self.unmatched_reports.pop_front();
                            }
                            self.unmatched_reports.push_back(UnmatchedReport {
                                reference,
                                outcome,
                                received: Instant::now(),
                            });
                        }
                        Err(e) => {
                            tracing::error!(gateway = %name, mr = reference, error = %e, "could not record a status report; left on the modem");
                            let meaning = Received::StatusReport {
                                reference,
                                outcome: Some(outcome),
                            };
                            return Err(unstored(meaning, pdu_hex, ack));
                        }
                    }
                }
                acknowledge(&name, ack);
            }
            Received::Unusable(reason) => {
                // Kept on the modem it would fill the storage for ever; the PDU is logged so
                // it can be examined.
                tracing::warn!(gateway = %name, reason, pdu = %pdu_hex, "received PDU dropped");
                acknowledge(&name, ack);
            }
        }
        Ok(())
    }

    /// Tries the status reports that matched nothing again, after a send was recorded.
    async fn rematch_reports(&mut self) {
        self.complete_reported_while_sending().await;
        let window = chrono::Duration::from_std(self.settings.status_report_window)
            .unwrap_or(chrono::Duration::days(3));
        let name = self.settings.name.clone();
        let waiting = std::mem::take(&mut self.unmatched_reports);
        for report in waiting {
            if report.received.elapsed() > UNMATCHED_REPORT_AGE {
                tracing::info!(gateway = %name, mr = report.reference, "status report for no known part");
                continue;
            }
            match self
                .store
                .record_status_report(&name, report.reference, &report.outcome, window)
                .await
            {
                Ok(Some(matched)) => {
                    let failed = matches!(report.outcome, PartOutcome::Failed { .. });
                    self.on_report(matched, report.reference, failed).await;
                }
                Ok(None) => self.unmatched_reports.push_back(report),
                Err(e) => {
                    tracing::warn!(gateway = %name, mr = report.reference, error = %e, "could not record a status report");
                    self.unmatched_reports.push_back(report);
                }
            }
        }
    }

    /// Reads again the replies a report matched while they were being sent: one whose send
    /// is now recorded as delivered or failed gets its receipt or error; one still queued
    /// or being sent waits for the next send; one only sent waits for its other reports,
    /// which match by themselves.
    async fn complete_reported_while_sending(&mut self) {
        use textgate_store::OutboundState;
        for waiting in std::mem::take(&mut self.reported_while_sending) {
            match self.store.outbound(waiting.outbound).await {
                Ok(Some(text)) => match text.state {
                    // Failed with only good reports: the worker failed it and told the
                    // operator itself.
                    OutboundState::Failed if !waiting.part_failed => {}
                    OutboundState::Delivered | OutboundState::Failed => {
                        let matched = textgate_store::StatusReportMatch {
                            outbound_id: text.id,
                            seq: waiting.seq,
                            recipient: text.recipient,
                            sender_jid: text.sender_jid,
                            xmpp_id: text.xmpp_id,
                            receipt: text.receipt,
                            state: text.state,
                        };
                        self.on_report(matched, waiting.mr, waiting.part_failed)
                            .await;
                    }
                    OutboundState::Queued | OutboundState::Sending => {
                        self.reported_while_sending.push_back(waiting);
                    }
                    OutboundState::Sent => {}
                },
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(gateway = %self.name(), outbound = waiting.outbound, mr = waiting.mr, error = %e, "could not read a reply's state after its send");
                    self.reported_while_sending.push_back(waiting);
                }
            }
        }
    }

    async fn after_push(&mut self, outcome: Outcome<i64>, evicted: Option<Incomplete<i64>>) {
        if let Some(incomplete) = evicted {
            // Another text, pushed out to make room: not in this part's span.
            let span = self.stored_parts_span();
            self.commit_incomplete(incomplete).instrument(span).await;
        }
        match outcome {
            Outcome::Complete(complete) => self.commit_complete(complete).await,
            Outcome::Stored { received, total } => {
                tracing::debug!(gateway = %self.name(), received, total, "part stored");
            }
            Outcome::AlreadyHeld | Outcome::Duplicate { .. } => {}
        }
    }

    async fn expire(&mut self) {
        for incomplete in self.reassembler.expire(Instant::now()) {
            let span = self.stored_parts_span();
            self.commit_incomplete(incomplete).instrument(span).await;
        }
    }

    async fn commit_complete(&mut self, complete: Complete<i64>) {
        let concatenation = complete
            .key
            .as_ref()
            .map(|k| textgate_store::Concatenation {
                reference: k.reference,
                reference_bits: match k.width {
                    textgate_gsm::udh::ReferenceWidth::Bits8 => 8,
                    textgate_gsm::udh::ReferenceWidth::Bits16 => 16,
                },
                total: k.total,
            });
        self.commit_parts(complete.tokens, &complete.payload, concatenation, false)
            .await;
    }

    async fn commit_incomplete(&mut self, incomplete: Incomplete<i64>) {
        tracing::warn!(gateway = %self.name(), missing = ?incomplete.missing, "delivering a text with parts missing");
        let key = &incomplete.key;
        let concatenation = Some(textgate_store::Concatenation {
            reference: key.reference,
            reference_bits: match key.width {
                textgate_gsm::udh::ReferenceWidth::Bits8 => 8,
                textgate_gsm::udh::ReferenceWidth::Bits16 => 16,
            },
            total: key.total,
        });
        self.commit_parts(incomplete.tokens, &incomplete.payload, concatenation, true)
            .await;
    }

    /// Stores a reassembled text and deletes its pending parts in one transaction.
    async fn commit_parts(
        &mut self,
        tokens: Vec<i64>,
        payload: &Payload,
        concatenation: Option<textgate_store::Concatenation>,
        incomplete: bool,
    ) {
        let infos: Vec<&PendingInfo> = tokens.iter().filter_map(|t| self.pending.get(t)).collect();
        let Some(first) = infos.first() else {
            tracing::error!(gateway = %self.name(), "reassembled text without its parts");
            return;
        };
        let sender = first.sender.clone();
        let text = NewInbound {
            gateway: self.settings.name.clone(),
            sender: sender.as_str().to_owned(),
            smsc_time: first.smsc_time,
            received_at: Utc::now(),
            body: inbound::body(payload),
            concatenation,
            parts_hex: infos.iter().map(|i| i.pdu_hex.clone()).collect(),
            incomplete,
            consumed_pending_parts: tokens.clone(),
        };
        let slots: Vec<Option<u32>> = tokens
            .iter()
            .map(|t| self.pending.get(t).and_then(|i| i.slot))
            .collect();
        match self.commit_text(&text).await {
            Committed::New(id) => {
                // Links the parts' earlier lines (stored, deleted from the SIM) to the text.
                for (token, slot) in tokens.iter().zip(slots) {
                    tracing::info!(gateway = %self.name(), inbound = id.0, part = token, slot, "part joined the text");
                }
                self.forget_parts(&tokens);
                self.route_new(id, &sender, &text.body, text.smsc_time)
                    .await;
            }
            Committed::Again => self.forget_parts(&tokens),
            // The parts stay where they are and are read again later.
            Committed::Failed => {}
        }
    }

    fn forget_parts(&mut self, tokens: &[i64]) {
        for token in tokens {
            self.pending.remove(token);
        }
    }

    /// Commits a received text. Logged with the text's new id, which is also added to the
    /// current [`received_span`] so the lines after it (the deletion from the SIM
    /// included) carry it.
    async fn commit_text(&mut self, text: &NewInbound) -> Committed {
        let name = self.settings.name.clone();
        match self.store.insert_inbound(text).await {
            Ok(insertion) if insertion.is_new() => {
                let id = InboundTextId(insertion.id());
                tracing::Span::current().record("inbound", id.0);
                tracing::info!(gateway = %name, inbound = id.0, "text received");
                self.hooks.metrics.text_in(&name);
                Committed::New(id)
            }
            Ok(insertion) => {
                tracing::Span::current().record("inbound", insertion.id());
                tracing::info!(gateway = %name, inbound = insertion.id(), "text read again after a restart; already stored");
                Committed::Again
            }
            Err(e) => {
                tracing::error!(gateway = %name, error = %e, "could not store a received text; left on the modem");
                Committed::Failed
            }
        }
    }

    /// Routes a text just committed: the screen first, then the operators, or it waits.
    async fn route_new(
        &mut self,
        id: InboundTextId,
        patron: &PatronAddress,
        body: &str,
        smsc_time: DateTime<FixedOffset>,
    ) {
        if self.screened_out(id, patron, body).await {
            return;
        }
        match self.router.inbound_text(id, patron) {
            Routing::Deliver(operators) => {
                self.deliver(id, patron, body, smsc_time, None, &operators)
                    .await;
            }
            Routing::Hold => {
                tracing::info!(gateway = %self.name(), inbound = id.0, "no operator available; the text waits");
            }
        }
    }

    /// Offers a new text to the screen (the alert keywords). True when the screen
    /// answered it, so it is not routed: it is marked delivered (to the gateway itself, so
    /// it never waits in the backlog) and the screen's notice, if any, goes to the
    /// operators who are available, or to all of them when nobody is (the server keeps it).
    async fn screened_out(
        &mut self,
        id: InboundTextId,
        patron: &PatronAddress,
        body: &str,
    ) -> bool {
        let Some(screen) = self.hooks.screen.clone() else {
            return false;
        };
        if !patron.is_reachable() {
            return false;
        }
        let name = self.settings.name.clone();
        let Screened::Answered { notice } = screen.screen(&name, patron.as_str(), body).await
        else {
            return false;
        };
        tracing::info!(gateway = %name, inbound = id.0, "text answered by the alert keywords");
        if let Err(e) = self
            .store
            .mark_inbound_delivered(&[id.0], &self.settings.domain)
            .await
        {
            tracing::error!(gateway = %name, inbound = id.0, error = %e, "could not mark a keyword text handled");
        }
        if let Some(body) = notice {
            let mut to = self.router.available();
            if to.is_empty() {
                to = self
                    .router
                    .operators()
                    .map(|(jid, _)| jid.clone())
                    .collect();
            }
            for operator in to {
                let notice = Notice {
                    from: NoticeSender::Patron(patron.clone()),
                    to: operator,
                    body: body.clone(),
                };
                if let Err(e) = self.xmpp.send(Outgoing::Notice(notice)).await {
                    tracing::warn!(gateway = %name, error = %e, "keyword notice not sent");
                }
            }
        }
        true
    }

    /// Sends a text to operators; marks it delivered once one of them has it.
    async fn deliver(
        &mut self,
        id: InboundTextId,
        patron: &PatronAddress,
        body: &str,
        smsc_time: DateTime<FixedOffset>,
        delayed_since: Option<DateTime<Utc>>,
        operators: &[BareJid],
    ) {
        let mut recent = RecentText {
            id,
            patron: patron.clone(),
            body: body.to_owned(),
            delayed_since: delayed_since.or(Some(smsc_time.with_timezone(&Utc))),
            outstanding: 0,
            tried: Vec::new(),
        };
        let delivered = self.send_text(&mut recent, operators, delayed_since).await;
        let first = delivered.then(|| recent.tried.first().cloned()).flatten();
        if delivered {
            if self.recent.len() >= RECENT_TEXTS {
                self.recent.pop_front();
            }
            self.recent.push_back(recent);
        }
        match first {
            Some(operator) => {
                if let Err(e) = self
                    .store
                    .mark_inbound_delivered(&[id.0], operator.as_str())
                    .await
                {
                    tracing::error!(gateway = %self.name(), inbound = id.0, error = %e, "could not mark a text delivered");
                }
            }
            None => {
                tracing::info!(gateway = %self.name(), inbound = id.0, "no operator got the text; it waits for the component");
                self.stranded.push((id, patron.clone()));
            }
        }
    }

    /// Sends a text to each operator; true when at least one write succeeded.
    async fn send_text(
        &mut self,
        recent: &mut RecentText,
        operators: &[BareJid],
        delayed_since: Option<DateTime<Utc>>,
    ) -> bool {
        for operator in operators {
            let stanza = self.stanza_ids.next(recent.id);
            let text = TextToOperator {
                patron: recent.patron.clone(),
                operator: operator.clone(),
                body: recent.body.clone(),
                id: stanza.clone(),
                delayed_since,
                receipt: ReceiptRequest::NotRequested,
            };
            match self.xmpp.send(Outgoing::Text(text)).await {
                Ok(()) => {
                    tracing::info!(gateway = %self.name(), inbound = recent.id.0, operator = %operator.as_str(), stanza, "text sent to an operator");
                    recent.outstanding += 1;
                    recent.tried.push(operator.clone());
                }
                Err(e) => {
                    tracing::warn!(gateway = %self.name(), inbound = recent.id.0, operator = %operator.as_str(), stanza, error = %e, "text not delivered");
                }
            }
        }
        recent.outstanding > 0
    }

    /// A text we sent came back as an error from the server. When every operator it went
    /// to bounced it, it goes to the other available operators, or waits for one.
    async fn on_bounce(&mut self, text: Option<InboundTextId>) {
        let Some(InboundTextId(id)) = text else {
            return;
        };
        let Some(at) = self.recent.iter().position(|r| r.id.0 == id) else {
            return;
        };
        let Some(text) = self.recent.get_mut(at) else {
            return;
        };
        text.outstanding = text.outstanding.saturating_sub(1);
        if text.outstanding > 0 {
            return;
        }
        if let Some(text) = self.recent.remove(at) {
            tracing::warn!(gateway = %self.name(), inbound = id, "every operator bounced a text; offering it again");
            self.bounced.push(text);
            self.retry_bounced().await;
        }
    }

    /// Offers bounced texts to available operators who have not had them yet.
    async fn retry_bounced(&mut self) {
        for mut text in std::mem::take(&mut self.bounced) {
            let to: Vec<BareJid> = self
                .router
                .available()
                .into_iter()
                .filter(|o| !text.tried.contains(o))
                .collect();
            let delayed_since = text.delayed_since;
            if !to.is_empty() && self.send_text(&mut text, &to, delayed_since).await {
                self.recent.push_back(text);
            } else {
                self.bounced.push(text);
            }
        }
    }

    async fn on_call(&mut self, number: Option<String>) {
        let caller = number
            .as_deref()
            .map(|n| PatronAddress::from_sender(n, self.settings.region));
        let who = caller.as_ref().map_or("a hidden number", |c| c.as_str());
        tracing::info!(gateway = %self.name(), caller = who, "voice call rejected");
        let mut to = self.router.available();
        if to.is_empty() {
            // Nobody is online: the server keeps the notice for them.
            to = self
                .router
                .operators()
                .map(|(jid, _)| jid.clone())
                .collect();
        }
        for operator in to {
            let notice = Notice {
                from: match &caller {
                    Some(c) => NoticeSender::Patron(c.clone()),
                    None => NoticeSender::Gateway,
                },
                to: operator,
                body: format!("Missed call from {who}"),
            };
            if let Err(e) = self.xmpp.send(Outgoing::Notice(notice)).await {
                tracing::warn!(gateway = %self.name(), error = %e, "missed call notice not sent");
            }
        }
        if let (Some(reply), Some(caller)) = (&self.settings.call_auto_reply, &caller) {
            if caller.is_reachable() {
                let text = NewOutbound {
                    gateway: self.settings.name.clone(),
                    recipient: caller.as_str().to_owned(),
                    origin: OutboundOrigin::Chat {
                        sender_jid: self.settings.domain.clone(),
                        xmpp_id: format!("call-{}", Utc::now().timestamp_millis()),
                        receipt: DeliveryReceipt::NotRequested,
                    },
                    body: reply.clone(),
                    priority: Priority::CHAT,
                    not_before: None,
                };
                if let Err(e) = self.store.enqueue_outbound(&text).await {
                    tracing::warn!(gateway = %self.name(), error = %e, "call auto-reply not queued");
                }
            }
        }
    }

    /// A status report matched the part sent with reference `mr`: the operator gets a
    /// receipt when the whole text arrived and asked for one, or an error when it failed.
    async fn on_report(
        &mut self,
        matched: textgate_store::StatusReportMatch,
        mr: u8,
        part_failed: bool,
    ) {
        use textgate_store::OutboundState;
        tracing::Span::current().record("outbound", matched.outbound_id);
        tracing::info!(
            gateway = %self.name(), mr, outbound = matched.outbound_id, seq = matched.seq,
            stanza = matched.xmpp_id.as_deref(), state = ?matched.state, "status report matched"
        );
        if matches!(
            matched.state,
            OutboundState::Delivered | OutboundState::Failed
        ) {
            // Its outcome is told now; nothing more to wait for.
            self.reported_while_sending
                .retain(|w| w.outbound != matched.outbound_id);
        }
        match matched.state {
            OutboundState::Delivered => self.send_receipt(matched).await,
            OutboundState::Sending => {
                let known = self
                    .reported_while_sending
                    .iter_mut()
                    .find(|w| w.outbound == matched.outbound_id);
                if let Some(known) = known {
                    known.part_failed |= part_failed;
                } else {
                    if self.reported_while_sending.len() >= UNMATCHED_REPORTS {
                        self.reported_while_sending.pop_front();
                    }
                    self.reported_while_sending.push_back(ReportedWhileSending {
                        outbound: matched.outbound_id,
                        mr,
                        seq: matched.seq,
                        part_failed,
                    });
                }
            }
            OutboundState::Failed => {
                let Some(sender) = matched.sender_jid.filter(|s| outbox::is_operator_jid(s)) else {
                    return;
                };
                let patron = PatronAddress::from_sender(&matched.recipient, self.settings.region);
                let stanza = matched.xmpp_id.clone();
                let error = ReplyError {
                    to: sender,
                    patron: patron.clone(),
                    id: matched.xmpp_id,
                    condition: ErrorCondition::RecipientUnavailable,
                    text: format!(
                        "The SMS to {} was not delivered: the network gave up.",
                        patron.as_str()
                    ),
                };
                match self.xmpp.send(Outgoing::Error(error)).await {
                    Ok(()) => {
                        tracing::info!(gateway = %self.name(), outbound = matched.outbound_id, stanza, "delivery failure reported to the operator");
                    }
                    Err(e) => {
                        tracing::warn!(gateway = %self.name(), outbound = matched.outbound_id, stanza, error = %e, "delivery failure not reported");
                    }
                }
            }
            _ => {}
        }
    }

    /// A reply reached the phone: the operator gets the receipt they asked for, from the
    /// patron's JID and on their message's id. Everything it needs comes from the store, so
    /// a reply queued before a restart, or by another daemon on the same database, gets
    /// its receipt as well.
    async fn send_receipt(&self, matched: textgate_store::StatusReportMatch) {
        if matched.receipt != DeliveryReceipt::Requested {
            return;
        }
        let (Some(to), Some(id)) = (
            matched.sender_jid.filter(|s| outbox::is_operator_jid(s)),
            matched.xmpp_id,
        ) else {
            return;
        };
        // The number was enqueued from the patron's address, so this gives it back as it was.
        let patron = PatronAddress::from_sender(&matched.recipient, self.settings.region);
        let stanza = id.clone();
        match self.xmpp.send(Outgoing::Receipt { to, patron, id }).await {
            Ok(()) => {
                tracing::info!(gateway = %self.name(), outbound = matched.outbound_id, stanza, "receipt sent to the operator");
            }
            Err(e) => {
                tracing::warn!(gateway = %self.name(), outbound = matched.outbound_id, stanza, error = %e, "receipt not sent");
            }
        }
    }

    // ---- the XMPP side ----

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
                tracing::info!(gateway = %self.name(), "component connected");
                self.requeue_stranded().await;
            }
            GatewayEvent::Disconnected { reason, retry_in } => {
                tracing::warn!(gateway = %self.name(), reason, retry_in = ?retry_in, "component disconnected");
                let name = self.settings.name.clone();
                self.hooks
                    .readiness
                    .set_component(&name, textgate_telemetry::ComponentState::Disconnected);
                self.router.forget_presence();
                self.requeue_stranded().await;
            }
            GatewayEvent::OperatorPresence {
                operator,
                resource,
                presence,
            } => {
                let outcome = self.router.presence_changed(&operator, &resource, presence);
                tracing::info!(
                    gateway = %self.name(), operator = %operator.as_str(), resource, presence = ?presence,
                    available = self.router.available().len(), "operator presence"
                );
                self.flush(outcome).await;
                if !self.bounced.is_empty() {
                    self.retry_bounced().await;
                }
            }
            GatewayEvent::OperatorReply(reply) => self.on_reply(reply).await,
            GatewayEvent::OperatorReceived { .. } => {}
            GatewayEvent::DeliveryFailed {
                operator,
                reason,
                id,
                ..
            } => {
                let text = id.as_deref().and_then(inbound::text_of_stanza);
                tracing::warn!(
                    gateway = %self.name(), operator = %operator.as_str(), reason,
                    stanza = id.as_deref(), inbound = text.map(|t| t.0),
                    "an operator did not get a message"
                );
                self.on_bounce(text).await;
            }
        }
    }

    async fn requeue_stranded(&mut self) {
        for (id, patron) in std::mem::take(&mut self.stranded) {
            if let Routing::Deliver(operators) = self.router.inbound_text(id, &patron) {
                self.deliver_stored(id, &patron, &operators).await;
            }
        }
    }

    /// Delivers held texts in the order they arrived, each stamped with its SMSC time.
    async fn flush(&mut self, outcome: PresenceOutcome) {
        for release in outcome.flush {
            self.deliver_stored(release.text, &release.patron, &release.to)
                .await;
        }
    }

    async fn deliver_stored(&mut self, id: InboundTextId, patron: &PatronAddress, to: &[BareJid]) {
        let span = tracing::info_span!("held", inbound = id.0);
        self.deliver_held(id, patron, to).instrument(span).await;
    }

    async fn deliver_held(&mut self, id: InboundTextId, patron: &PatronAddress, to: &[BareJid]) {
        let text = match self.store.inbound(id.0).await {
            Ok(Some(text)) => text,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(gateway = %self.name(), inbound = id.0, error = %e, "could not read a waiting text");
                self.stranded.push((id, patron.clone()));
                return;
            }
        };
        if text.state == InboundState::Delivered {
            return;
        }
        let Some(body) = text.body else {
            return;
        };
        let since = text.smsc_time.with_timezone(&Utc);
        tracing::info!(gateway = %self.name(), inbound = id.0, "delivering a text that waited");
        self.deliver(id, patron, &body, text.smsc_time, Some(since), to)
            .await;
    }

    /// A reply from an operator, logged in a `reply` span with its stanza id (one is made
    /// up when the client sent none) and, once queued, its outbound id.
    async fn on_reply(&mut self, reply: OperatorReply) {
        let stanza = reply
            .id
            .clone()
            .unwrap_or_else(|| format!("no-id-{:016x}", rand::random::<u64>()));
        let span = tracing::info_span!("reply", stanza = %stanza, outbound = Empty);
        self.queue_reply(reply, stanza).instrument(span).await;
    }

    async fn queue_reply(&mut self, reply: OperatorReply, xmpp_id: String) {
        tracing::info!(gateway = %self.name(), operator = %reply.operator.as_str(), stanza = %xmpp_id, "reply from an operator");
        let refuse = |condition: ErrorCondition, text: String| {
            Outgoing::Error(ReplyError {
                to: reply.from.clone(),
                patron: reply.patron.clone(),
                id: reply.id.clone(),
                condition,
                text,
            })
        };
        let refusal = if !self.router.is_operator(&reply.operator) {
            Some(refuse(
                ErrorCondition::Forbidden,
                "Only this gateway's operators may send texts through it.".into(),
            ))
        } else if !reply.patron.is_reachable() {
            Some(refuse(
                ErrorCondition::NotAcceptable,
                format!(
                    "{} is a name, not a number: it cannot receive texts.",
                    reply.patron.as_str()
                ),
            ))
        } else {
            let countdown = self.segmenter.countdown(&reply.body);
            (!countdown.within_limit()).then(|| {
                refuse(
                    ErrorCondition::PolicyViolation,
                    format!(
                        "Not sent: this reply needs {} SMS, and this gateway sends at most {}. Please shorten it.",
                        countdown.parts, self.settings.max_parts
                    ),
                )
            })
        };
        if let Some(refusal) = refusal {
            if let Outgoing::Error(error) = &refusal {
                tracing::info!(gateway = %self.name(), stanza = %xmpp_id, condition = ?error.condition, reason = %error.text, "reply refused");
            }
            if let Err(e) = self.xmpp.send(refusal).await {
                tracing::warn!(gateway = %self.name(), stanza = %xmpp_id, error = %e, "refusal not sent");
            }
            return;
        }
        let text = NewOutbound {
            gateway: self.settings.name.clone(),
            recipient: reply.patron.as_str().to_owned(),
            origin: OutboundOrigin::Chat {
                sender_jid: reply.from.clone(),
                xmpp_id: xmpp_id.clone(),
                receipt: wanted_receipt(&reply),
            },
            body: reply.body.clone(),
            priority: Priority::CHAT,
            not_before: None,
        };
        match self.store.enqueue_outbound(&text).await {
            Ok(insertion) => {
                tracing::Span::current().record("outbound", insertion.id());
                tracing::info!(gateway = %self.name(), outbound = insertion.id(), stanza = %xmpp_id, "reply queued");
            }
            Err(e) => {
                tracing::error!(gateway = %self.name(), stanza = %xmpp_id, error = %e, "could not queue a reply");
                let refusal = refuse(
                    ErrorCondition::UndefinedCondition,
                    "Not sent: the gateway could not queue the reply. Please try again.".into(),
                );
                let _ = self.xmpp.send(refusal).await;
                return;
            }
        }
        self.claim(&reply.operator, &reply.patron).await;
    }

    async fn claim(&mut self, operator: &BareJid, patron: &PatronAddress) {
        let ReplyOutcome::Claimed { notify } = self.router.operator_replied(operator, patron)
        else {
            return;
        };
        match self
            .store
            .find_conversation(&self.settings.name, patron.as_str())
            .await
        {
            Ok(Some(conversation)) => {
                if let Err(e) = self
                    .store
                    .set_claim(conversation.id, Some(operator.as_str()))
                    .await
                {
                    tracing::warn!(gateway = %self.name(), error = %e, "claim not stored");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(gateway = %self.name(), error = %e, "claim not stored"),
        }
        for other in notify {
            let notice = Notice {
                from: NoticeSender::Patron(patron.clone()),
                to: other,
                body: format!("(claimed by {})", operator.as_str()),
            };
            if let Err(e) = self.xmpp.send(Outgoing::Notice(notice)).await {
                tracing::warn!(gateway = %self.name(), error = %e, "claim notice not sent");
            }
        }
    }
}

/// What became of a received text at the store.
enum Committed {
    /// Stored now, under this id.
    New(InboundTextId),
    /// Stored before (read again after a restart): acknowledged, not routed again.
    Again,
    /// The store failed: not acknowledged, tried again later.
    Failed,
}

/// The span of one message from the modem: its storage `slot` (none for a routed `+CMT`),
/// and, recorded as they become known, the pending
/// `part` it was stored as, the `inbound` text it belongs to, or for a status report the
/// reference `mr` and the `outbound` text it is about.
fn received_span(slot: Option<u32>) -> tracing::Span {
    tracing::info_span!(
        "received",
        slot,
        part = Empty,
        inbound = Empty,
        mr = Empty,
        outbound = Empty
    )
}

fn acknowledge(gateway: &str, ack: AckHandle) {
    if ack.acknowledge().is_err() {
        tracing::warn!(
            gateway,
            "the driver stopped before the acknowledgement; it hands the message over again"
        );
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The receipt a reply asked for. A receipt names the message it confirms, so a reply
/// without a stanza id cannot have one (its stored id is made up).
fn wanted_receipt(reply: &OperatorReply) -> DeliveryReceipt {
    match (reply.receipt_requested, &reply.id) {
        (ReceiptRequest::Requested, Some(_)) => DeliveryReceipt::Requested,
        _ => DeliveryReceipt::NotRequested,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a backlog holds and when it tries next, as offsets from `start` in seconds.
    fn describe(backlog: &Backlog<&str>, start: Instant) -> String {
        let waiting: Vec<&str> = backlog.waiting.iter().copied().collect();
        let next = backlog
            .deadline()
            .map(|d| format!("{}s", (d - start).as_secs()));
        format!("{waiting:?} next={next:?}")
    }

    #[test]
    fn later_arrivals_wait_behind_a_failed_one_and_the_wait_doubles_up_to_the_longest() {
        let start = Instant::now();
        let mut backlog = Backlog::new();
        let mut log = Vec::new();
        backlog.hold("first", start);
        backlog.hold("second", start);
        backlog.hold("third", start);
        log.push(describe(&backlog, start));
        let mut now = start;
        for _ in 0..5 {
            let oldest = backlog.take_oldest();
            log.push(format!("tried {oldest:?}"));
            if let Some(oldest) = oldest {
                now += backlog.failed_again(oldest, now);
            }
            log.push(describe(&backlog, start));
        }
        while let Some(oldest) = backlog.take_oldest() {
            log.push(format!("stored {oldest}; {}", describe(&backlog, start)));
        }
        backlog.hold("fourth", now);
        log.push(describe(&backlog, start));
        expect_test::expect![[r#"
            [
                "[\"first\", \"second\", \"third\"] next=Some(\"1s\")",
                "tried Some(\"first\")",
                "[\"first\", \"second\", \"third\"] next=Some(\"2s\")",
                "tried Some(\"first\")",
                "[\"first\", \"second\", \"third\"] next=Some(\"6s\")",
                "tried Some(\"first\")",
                "[\"first\", \"second\", \"third\"] next=Some(\"14s\")",
                "tried Some(\"first\")",
                "[\"first\", \"second\", \"third\"] next=Some(\"24s\")",
                "tried Some(\"first\")",
                "[\"first\", \"second\", \"third\"] next=Some(\"34s\")",
                "stored first; [\"second\", \"third\"] next=Some(\"34s\")",
                "stored second; [\"third\"] next=Some(\"34s\")",
                "stored third; [] next=None",
                "[\"fourth\"] next=Some(\"35s\")",
            ]
        "#]]
        .assert_debug_eq(&log);
    }
}
