//! A message centre's delivery receipts through the runtime, against a real SQLite store,
//! the outbox worker sending through a message-centre double, and no XMPP server (what the
//! operator is told is kept in the store for them, where the test reads it). Each receipt
//! is handed to the runtime as the driver would, and the test awaits the runtime's handling
//! of it, so nothing waits on time.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use textgate_core::BareJid;
use textgate_gsm::segment::{Segmenter, SegmenterConfig};
use textgate_modem::{
    AckHandle, AckToken, DeliveryReceipt, MessageReference, ModemEvent, ModemStatus, Origin,
    OutgoingSms, ReceiptOutcome, SendError, SendProgress, SmsDriver, StatusError,
};
use textgate_store::{
    DeliveryReceipt as ReceiptRequest, NewOutbound, OutboundOrigin, OutboundState, OutboundText,
    Priority, SentPart, Store,
};
use textgate_telemetry::Metrics;
use textgate_testkit::FreshSqlite;
use textgate_xmpp::{ComponentConfig, ComponentHandle, GatewayEvent};
use tokio::sync::{mpsc, watch};

use super::Runtime;
use crate::hooks::Hooks;
use crate::outbox::OutboxWorker;
use crate::report_matcher::RecordedSends;
use crate::settings::GatewaySettings;

const GATEWAY: &str = "library";
const ALICE: &str = "alice@library.test";
/// The id the double's message centre gives the part it takes.
const CENTRE_ID: &str = "4f1c0a9e-77";
/// The bound on every wait; generous for a debug build on busy cores.
const WAIT: Duration = Duration::from_secs(30);

/// A message centre that takes each part and names it by an id of its own, not a TP-MR.
struct MessageCentre;

#[async_trait]
impl SmsDriver for MessageCentre {
    async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError> {
        self.send_reporting(message, SendProgress::unobserved())
            .await
    }

    async fn send_reporting(
        &self,
        message: OutgoingSms,
        progress: SendProgress,
    ) -> Result<Vec<MessageReference>, SendError> {
        let mut accepted = Vec::new();
        for index in 0..message.parts.len() {
            let id = if index == 0 {
                CENTRE_ID.to_owned()
            } else {
                format!("{CENTRE_ID}-{index}")
            };
            let reference = MessageReference::smsc(&id).expect("a valid message id");
            progress.part_accepted(index, reference.clone());
            accepted.push(reference);
        }
        Ok(accepted)
    }

    async fn status(&self) -> Result<ModemStatus, StatusError> {
        Ok(ModemStatus::default())
    }
}

/// A store on a fresh SQLite file and a component that never connects, kept alive with
/// them; the acknowledgements the runtime gives come out of `acks`.
struct Rig {
    database: FreshSqlite,
    store: Store,
    xmpp: ComponentHandle,
    _xmpp_events: mpsc::Receiver<GatewayEvent>,
    settings: Arc<GatewaySettings>,
    acks: mpsc::UnboundedSender<AckToken>,
    acknowledged: mpsc::UnboundedReceiver<AckToken>,
}

impl Rig {
    async fn new() -> Rig {
        let database = FreshSqlite::create("runtime.db").expect("a temporary directory");
        let store = Store::open(database.url()).await.expect("the store opens");
        let region = "US".parse().expect("a region");
        let component = ComponentConfig::new(
            "sms.library.test",
            "secret",
            "127.0.0.1:1",
            vec![alice()],
            region,
        );
        let (xmpp, xmpp_events) = textgate_xmpp::spawn(component).expect("the component starts");
        let (acks, acknowledged) = mpsc::unbounded_channel();
        Rig {
            database,
            store,
            xmpp,
            _xmpp_events: xmpp_events,
            settings: Arc::new(GatewaySettings::new(GATEWAY, "sms.library.test", region)),
            acks,
            acknowledged,
        }
    }

    fn runtime(&self) -> Runtime {
        Runtime::new(
            self.settings.clone(),
            self.store.clone(),
            self.xmpp.clone().into(),
            Arc::new(MessageCentre),
            Hooks::default(),
            vec![alice()],
        )
    }

    /// A one-part reply from Alice, who asked for a receipt.
    async fn enqueue_reply(&self) -> i64 {
        let reply = NewOutbound {
            gateway: GATEWAY.to_owned(),
            recipient: "+15551234567".to_owned(),
            origin: OutboundOrigin::Chat {
                sender_jid: format!("{ALICE}/desk"),
                xmpp_id: "r-1".to_owned(),
                receipt: ReceiptRequest::Requested,
            },
            body: "The atlas is on hold for you.".to_owned(),
            priority: Priority::CHAT,
            not_before: None,
        };
        self.store
            .enqueue_outbound(&reply)
            .await
            .expect("the reply is enqueued")
            .id()
    }

    /// Runs the outbox worker on the message-centre double until reply `id` is sent, then
    /// stops it.
    async fn send_through_the_centre(&self, id: i64) {
        let (sent, mut recorded) = RecordedSends::channel();
        let (stop, stopped) = watch::channel(false);
        let worker = OutboxWorker {
            settings: self.settings.clone(),
            store: self.store.clone(),
            driver: Arc::new(MessageCentre),
            notices: crate::notices::OperatorNotices::new(
                self.settings.clone(),
                self.xmpp.clone().into(),
                self.store.clone(),
            ),
            segmenter: Segmenter::new(SegmenterConfig::default()),
            worker_id: "runtime-test".to_owned(),
            sent,
            metrics: Metrics::new(),
            completions: crate::outbox::Completions::direct(self.store.clone()),
        };
        let task = tokio::spawn(worker.run(stopped));
        let until_sent = async {
            while self.state(id).await.state != OutboundState::Sent {
                if recorded.recv().await.is_none() {
                    panic!("the worker ended before the reply was sent");
                }
            }
        };
        tokio::time::timeout(WAIT, until_sent)
            .await
            .unwrap_or_else(|_| panic!("reply {id} was not sent within {WAIT:?}"));
        stop.send_replace(true);
        tokio::time::timeout(WAIT, task)
            .await
            .expect("the worker did not stop in time")
            .expect("the worker panicked");
    }

    /// A receipt from the centre in its `deliver_sm` numbered `sequence`.
    fn receipt(&self, sequence: u32, outcome: Option<ReceiptOutcome>) -> ModemEvent {
        let stat = match &outcome {
            None => "ENROUTE",
            Some(ReceiptOutcome::Delivered) => "DELIVRD",
            Some(ReceiptOutcome::Failed { .. }) => "EXPIRED",
        };
        let token = AckToken {
            origin: Origin::Smsc { sequence },
            connection: 1,
            handover: u64::from(sequence),
            span: tracing::Span::none(),
        };
        ModemEvent::Receipt(DeliveryReceipt {
            reference: MessageReference::smsc(CENTRE_ID).expect("a valid message id"),
            outcome,
            description: format!("id:{CENTRE_ID} sub:001 dlvrd:001 stat:{stat} err:000"),
            recipient: None,
            ack: AckHandle::new(token, self.acks.clone()),
        })
    }

    /// The `deliver_sm` sequence numbers acknowledged so far, in order.
    fn acknowledged(&mut self) -> Vec<u32> {
        let mut sequences = Vec::new();
        while let Ok(token) = self.acknowledged.try_recv() {
            match token.origin {
                Origin::Smsc { sequence } => sequences.push(sequence),
                other => panic!("acknowledged as {other:?}"),
            }
        }
        sequences
    }

    async fn state(&self, id: i64) -> OutboundText {
        self.store
            .outbound(id)
            .await
            .expect("the store answers")
            .expect("the reply exists")
    }

    /// What was kept for Alice while the component was away: (kind, stanza id, body).
    async fn told_alice(&self) -> Vec<(String, Option<String>, Option<String>)> {
        self.store
            .kept_notices(GATEWAY, ALICE)
            .await
            .expect("the store answers")
            .into_iter()
            .map(|kept| {
                let notice = kept.notice;
                (notice.kind, notice.stanza_id, notice.body)
            })
            .collect()
    }
}

fn alice() -> BareJid {
    BareJid::new(ALICE).expect("a bare JID")
}

/// The outbox worker records the part under the id the centre gave it; the centre's
/// receipts name the part by that id. An intermediate receipt records nothing and is
/// acknowledged; the final one matches the part, ends the reply `delivered`, is
/// acknowledged only then, and gives Alice the receipt she asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_from_the_centre_matches_the_part_sent_under_its_id() {
    let mut rig = Rig::new().await;
    let id = rig.enqueue_reply().await;
    rig.send_through_the_centre(id).await;
    let parts = rig.store.sent_parts(id).await.expect("the store answers");
    assert_eq!(
        parts,
        [SentPart {
            seq: 1,
            message_ref: CENTRE_ID.to_owned(),
        }]
    );

    let mut runtime = rig.runtime();
    runtime.on_modem_event(rig.receipt(7, None)).await;
    assert_eq!(rig.acknowledged(), [7]);
    assert_eq!(rig.state(id).await.state, OutboundState::Sent);
    assert!(rig.told_alice().await.is_empty());

    runtime
        .on_modem_event(rig.receipt(8, Some(ReceiptOutcome::Delivered)))
        .await;
    assert_eq!(rig.acknowledged(), [8]);
    assert_eq!(rig.state(id).await.state, OutboundState::Delivered);
    assert_eq!(
        rig.told_alice().await,
        [("receipt".to_owned(), Some("r-1".to_owned()), None)]
    );
}

/// A receipt the store cannot record is not acknowledged (the centre keeps it and would
/// deliver it again); it waits with the other received messages and is recorded, then
/// acknowledged, when the store is back. A failed delivery fails the reply with the
/// centre's reason and tells Alice on her message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_the_store_cannot_record_waits_unacknowledged() {
    let mut rig = Rig::new().await;
    let id = rig.enqueue_reply().await;
    rig.send_through_the_centre(id).await;

    let mut runtime = rig.runtime();
    let away = Store::open(rig.database.url())
        .await
        .expect("a second store opens");
    away.close().await;
    runtime.store = away;
    let expired = ReceiptOutcome::Failed {
        reason: "the message centre gave up: validity period expired".to_owned(),
    };
    runtime.on_modem_event(rig.receipt(9, Some(expired))).await;
    assert_eq!(rig.acknowledged(), Vec::<u32>::new());
    assert_eq!(runtime.unstored.len(), 1);
    assert_eq!(rig.state(id).await.state, OutboundState::Sent);

    runtime.store = rig.store.clone();
    runtime.retry_unstored().await;
    assert_eq!(rig.acknowledged(), [9]);
    assert!(runtime.unstored.is_empty());
    let failed = rig.state(id).await;
    assert_eq!(
        (failed.state, failed.last_error.as_deref()),
        (
            OutboundState::Failed,
            Some("the message centre gave up: validity period expired")
        )
    );
    let told = rig.told_alice().await;
    let kinds: Vec<(&str, Option<&str>)> = told
        .iter()
        .map(|(kind, stanza, _)| (kind.as_str(), stanza.as_deref()))
        .collect();
    assert_eq!(kinds, [("error", Some("r-1"))]);
}

/// A conversation in which nothing happened for longer than `conversation_ends_after`
/// has ended: the patron's next text releases the claim (in the router and in the
/// store) and counts as a new conversation; a text within the time keeps the claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_conversation_ends_and_its_claim_is_released() {
    let rig = Rig::new().await;
    let metrics = Metrics::new();
    let mut runtime = Runtime::new(
        rig.settings.clone(),
        rig.store.clone(),
        rig.xmpp.clone().into(),
        Arc::new(MessageCentre),
        Hooks {
            metrics: metrics.clone(),
            ..Hooks::default()
        },
        vec![alice()],
    );
    let patron = textgate_core::PatronAddress::E164("+15551234567".to_owned());
    rig.enqueue_reply().await;
    let conversation = rig
        .store
        .find_conversation(GATEWAY, patron.as_str())
        .await
        .expect("the store answers")
        .expect("the reply made the conversation");
    rig.store
        .set_claim(conversation.id, Some(ALICE))
        .await
        .expect("the claim is stored");
    runtime.restore().await.expect("the runtime restores");
    assert_eq!(runtime.router.claimer(&patron), Some(&alice()));

    // Within the time: the conversation goes on, nothing is counted.
    runtime.patron_texted(&patron).await;
    assert_eq!(runtime.router.claimer(&patron), Some(&alice()));
    let conversations = |metrics: &Metrics| {
        metrics
            .encode()
            .lines()
            .find(|l| l.starts_with("textgate_conversations_total{gateway=\"library\"}"))
            .map(str::to_owned)
    };
    assert_eq!(
        conversations(&metrics).as_deref(),
        None,
        "no new conversation yet (the series appears with the first one)"
    );

    // Three hours of silence (the default end is two).
    let three_hours_ago = chrono::Utc::now() - chrono::Duration::hours(3);
    runtime.activity.insert(patron.clone(), three_hours_ago);
    runtime.patron_texted(&patron).await;
    assert_eq!(runtime.router.claimer(&patron), None);
    let stored = rig
        .store
        .find_conversation(GATEWAY, patron.as_str())
        .await
        .expect("the store answers")
        .expect("the conversation");
    assert_eq!(stored.claimed_by, None);
    assert_eq!(
        conversations(&metrics).as_deref(),
        Some("textgate_conversations_total{gateway=\"library\"} 1")
    );
}
