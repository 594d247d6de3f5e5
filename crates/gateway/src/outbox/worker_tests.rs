//! The outbox worker against a real SQLite store and a modem double that plays the radio
//! part by part: a long text interrupted by a shutdown, by the grace running out, or left
//! half sent by an earlier run is finished by sending only the parts the network has not
//! accepted. Every wait is for an event, under a timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use textgate_gsm::pdu::{Pdu, SmscField, Tpdu};
use textgate_gsm::segment::{Segmenter, SegmenterConfig};
use textgate_modem::{
    MessageReference, ModemStatus, OutgoingSms, SendError, SendFailure as DriverFailure,
    SendProgress, SmsDriver, StatusError,
};
use textgate_store::{
    DeliveryReceipt, NewOutbound, OutboundOrigin, OutboundState, OutboundText, PartOutcome,
    Priority, SentPart, Store,
};
use textgate_telemetry::Metrics;
use textgate_testkit::FreshSqlite;
use textgate_xmpp::{ComponentConfig, ComponentHandle};
use tokio::sync::{mpsc, watch};

use super::OutboxWorker;
use crate::notices::OperatorNotices;
use crate::report_matcher::RecordedSends;
use crate::settings::GatewaySettings;

const GATEWAY: &str = "library";
const PATRON: &str = "+15551234567";
/// The bound on every wait; generous for a debug build on busy cores.
const WAIT: Duration = Duration::from_secs(30);

/// What the double does with one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Radio {
    /// Accepted at once.
    Prompt,
    /// On the air until the worker asks the send to stop (the daemon is stopping), then
    /// accepted: a part the modem had when SIGTERM came.
    UntilStopped,
    /// On the air for good: the network never answers.
    Silent,
    /// Refused with a bare `ERROR` (retryable) this many times, then accepted.
    Refused(u32),
}

/// What the double's radio did, for the test to await.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Air {
    /// Part numbers (from the concatenation header) the network accepted, in order.
    accepted: Vec<u8>,
    /// Part numbers handed to the radio, in order (refused ones too).
    handed: Vec<u8>,
    /// The part number on the air now.
    on_air: Option<u8>,
    /// Concatenation references of every part handed over.
    references: Vec<u16>,
}

/// A modem double that sends part by part, as the AT driver does.
struct PartByPart {
    /// How each part number goes; unlisted parts are `Prompt`.
    radio: Vec<(u8, Radio)>,
    /// How often each part number was refused so far.
    refusals: StdMutex<HashMap<u8, u32>>,
    next_reference: StdMutex<u8>,
    air: watch::Sender<Air>,
}

impl PartByPart {
    fn new(first_reference: u8, radio: Vec<(u8, Radio)>) -> Arc<PartByPart> {
        Arc::new(PartByPart {
            radio,
            refusals: StdMutex::new(HashMap::new()),
            next_reference: StdMutex::new(first_reference),
            air: watch::channel(Air::default()).0,
        })
    }

    fn radio_for(&self, number: u8) -> Radio {
        self.radio
            .iter()
            .find(|(n, _)| *n == number)
            .map_or(Radio::Prompt, |(_, radio)| *radio)
    }

    fn next_reference(&self) -> MessageReference {
        let mut next = self
            .next_reference
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let reference = MessageReference::tpmr(*next);
        *next = next.wrapping_add(1);
        reference
    }

    async fn until(&self, what: &str, done: impl FnMut(&Air) -> bool) {
        let mut air = self.air.subscribe();
        tokio::time::timeout(WAIT, air.wait_for(done))
            .await
            .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}: {:?}", self.air.borrow()))
            .unwrap_or_else(|_| panic!("the double went away waiting for {what}"));
    }

    /// Whether the part is refused this time (and counts the refusal).
    fn refuses(&self, number: u8, times: u32) -> bool {
        let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        let refused = refusals.entry(number).or_default();
        *refused += 1;
        *refused <= times
    }

    fn accepted(&self) -> Vec<u8> {
        self.air.borrow().accepted.clone()
    }
}

/// The concatenation header of a part the worker handed over.
fn concatenation(part: &textgate_modem::SubmitPart) -> (u16, u8) {
    let pdu = Pdu::decode(&part.pdu, SmscField::Present).expect("the worker built a valid PDU");
    let Tpdu::Submit(submit) = pdu.tpdu else {
        panic!("the worker built something else than a SUBMIT")
    };
    let c = submit
        .user_data
        .header
        .and_then(|h| h.concatenation())
        .expect("a part of a long text has a concatenation header");
    (c.reference, c.sequence)
}

#[async_trait]
impl SmsDriver for PartByPart {
    async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError> {
        self.send_reporting(message, SendProgress::unobserved())
            .await
    }

    async fn send_reporting(
        &self,
        message: OutgoingSms,
        mut progress: SendProgress,
    ) -> Result<Vec<MessageReference>, SendError> {
        let total = message.parts.len();
        let mut accepted = Vec::new();
        for (index, part) in message.parts.iter().enumerate() {
            if progress.stop_requested() {
                return Err(SendError::stopped(index, total, accepted));
            }
            let (reference, number) = concatenation(part);
            self.air.send_modify(|air| {
                air.on_air = Some(number);
                air.handed.push(number);
                air.references.push(reference);
            });
            match self.radio_for(number) {
                Radio::Prompt => {}
                Radio::UntilStopped => progress.stopped().await,
                Radio::Silent => std::future::pending::<()>().await,
                Radio::Refused(times) => {
                    if self.refuses(number, times) {
                        self.air.send_modify(|air| air.on_air = None);
                        return Err(SendError {
                            failure: DriverFailure::BareError {
                                part: index + 1,
                                total,
                            },
                            accepted,
                        });
                    }
                }
            }
            let mr = self.next_reference();
            self.air.send_modify(|air| {
                air.on_air = None;
                air.accepted.push(number);
            });
            progress.part_accepted(index, mr.clone());
            accepted.push(mr);
        }
        Ok(accepted)
    }

    async fn status(&self) -> Result<ModemStatus, StatusError> {
        Ok(ModemStatus::default())
    }
}

/// A store on a fresh SQLite file, kept alive with it.
struct Rig {
    database: FreshSqlite,
    store: Store,
    xmpp: ComponentHandle,
    settings: Arc<GatewaySettings>,
}

impl Rig {
    async fn new() -> Rig {
        Rig::with_policy(|_| {}).await
    }

    async fn with_policy(adjust: impl FnOnce(&mut crate::settings::OutboxPolicy)) -> Rig {
        let database = FreshSqlite::create("outbox.db").expect("a temporary directory");
        let store = Store::open(database.url()).await.expect("the store opens");
        let region = "US".parse().expect("a region");
        // No XMPP server: the worker's notices find the component disconnected, which it
        // must take in its stride anyway.
        let component = ComponentConfig::new(
            "sms.library.test",
            "secret",
            "127.0.0.1:1",
            Vec::new(),
            region,
        );
        let (xmpp, _events) = textgate_xmpp::spawn(component).expect("the component starts");
        let mut settings = GatewaySettings::new(GATEWAY, "sms.library.test", region);
        // Short, so the silent-part test does not wait long; no assertion depends on it.
        settings.outbox.stop_grace = Duration::from_millis(200);
        // Short, so a part whose answer was lost and that nothing reports is sent again
        // soon; the tests that do report it keep the report before the worker starts.
        settings.outbox.report_wait = Duration::from_millis(300);
        adjust(&mut settings.outbox);
        Rig {
            database,
            store,
            xmpp,
            settings: Arc::new(settings),
        }
    }

    /// A reply of three 7-bit parts.
    async fn enqueue_three_parts(&self) -> i64 {
        self.enqueue_three_parts_as("r-1").await
    }

    /// A reply of three 7-bit parts with stanza id `xmpp_id` (one id, one reply).
    async fn enqueue_three_parts_as(&self, xmpp_id: &str) -> i64 {
        let text = NewOutbound {
            gateway: GATEWAY.to_owned(),
            recipient: PATRON.to_owned(),
            origin: OutboundOrigin::Chat {
                sender_jid: "alice@library.test/desk".to_owned(),
                xmpp_id: xmpp_id.to_owned(),
                receipt: DeliveryReceipt::NotRequested,
            },
            body: "The atlas is on hold for you. ".repeat(14),
            priority: Priority::CHAT,
            not_before: None,
        };
        self.store
            .enqueue_outbound(&text)
            .await
            .expect("the reply is enqueued")
            .id()
    }

    /// Starts a worker (one daemon run) on `driver`; returns its shutdown switch, its
    /// task and the channel it reports recorded sends on.
    fn start(&self, driver: Arc<PartByPart>) -> Run {
        let (sent, recorded) = RecordedSends::channel();
        let (stop, stopped) = watch::channel(false);
        let worker = OutboxWorker {
            settings: self.settings.clone(),
            store: self.store.clone(),
            driver,
            notices: OperatorNotices::new(
                self.settings.clone(),
                self.xmpp.clone().into(),
                self.store.clone(),
            ),
            segmenter: Segmenter::new(SegmenterConfig::default()),
            worker_id: format!("test-{:08x}", rand::random::<u32>()),
            sent,
            metrics: Metrics::new(),
            completions: super::Completions::direct(self.store.clone()),
        };
        Run {
            stop,
            task: tokio::spawn(worker.run(stopped)),
            recorded,
        }
    }

    async fn state(&self, id: i64) -> OutboundText {
        self.store
            .outbound(id)
            .await
            .expect("the store answers")
            .expect("the text exists")
    }

    async fn parts(&self, id: i64) -> Vec<(u8, u8)> {
        self.store
            .sent_parts(id)
            .await
            .expect("the store answers")
            .into_iter()
            .map(|p| {
                let mr = MessageReference::from_stored(p.message_ref).as_tpmr();
                (p.seq, mr.expect("the double and the tests give TP-MRs"))
            })
            .collect()
    }

    /// One run that sends the first waiting text until part 2 is with the modem, which
    /// never answers, and is then stopped: part 1 is recorded (TP-MR 40), part 2's answer
    /// is lost.
    async fn stop_with_part_2_unanswered(&self) {
        let modem = PartByPart::new(40, vec![(2, Radio::Silent)]);
        let run = self.start(modem.clone());
        modem
            .until("part 2 on the air", |air| air.on_air == Some(2))
            .await;
        run.shut_down().await;
    }

    /// The first waiting text as a run named `worker` left it: leased for ten minutes, its
    /// part 1 recorded as sent with TP-MR 200, the rest not.
    async fn leased_with_part_1_sent(&self, worker: &str) -> textgate_store::LeasedOutbound {
        let leased = self
            .store
            .lease_due(GATEWAY, worker, 1, chrono::Duration::minutes(10))
            .await
            .expect("the store answers")
            .remove(0);
        self.store
            .record_sent_part(
                &leased.lease,
                SentPart {
                    seq: 1,
                    message_ref: "200".to_owned(),
                },
            )
            .await
            .expect("part 1 is recorded");
        leased
    }

    /// Waits (on the worker's reports of what it recorded) until text `id` is sent.
    async fn until_sent(&self, run: &mut Run, id: i64) {
        let wait = async {
            while self.state(id).await.state != OutboundState::Sent {
                if run.recorded.recv().await.is_none() {
                    panic!("the worker ended before the text was sent");
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .unwrap_or_else(|_| panic!("text {id} was not sent within {WAIT:?}"));
    }
}

struct Run {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    recorded: mpsc::UnboundedReceiver<()>,
}

impl Run {
    /// Asks the worker to stop, as the daemon does on SIGTERM, and waits until it ended.
    async fn shut_down(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the worker did not stop in time")
            .expect("the worker panicked");
    }
}

/// `textgate send` beside a running daemon on SQLite (docs/cli.md: "at once"): a text
/// queued by another process, here another store on the file, is sent although nothing in
/// the daemon's process enqueued anything. The worker first sends a text of its own, so
/// that it is idle in its wait (up to a day) when the other store's text arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_queued_by_another_process_is_sent_at_once() {
    let rig = Rig::new().await;
    let modem = PartByPart::new(10, Vec::new());
    let mut run = rig.start(modem.clone());
    let own = rig.enqueue_three_parts().await;
    rig.until_sent(&mut run, own).await;

    let other = Store::open(rig.database.url())
        .await
        .expect("the other process's store opens");
    let queued = other
        .enqueue_outbound(&NewOutbound {
            gateway: GATEWAY.to_owned(),
            recipient: PATRON.to_owned(),
            origin: OutboundOrigin::Chat {
                sender_jid: "cli@localhost".to_owned(),
                xmpp_id: "send-1".to_owned(),
                receipt: DeliveryReceipt::NotRequested,
            },
            // Long, as the double plays only concatenated parts.
            body: "Your books are ready at the front desk. ".repeat(10),
            priority: Priority::CHAT,
            not_before: None,
        })
        .await
        .expect("the other process queues a text")
        .id();
    other.close().await;
    rig.until_sent(&mut run, queued).await;
    run.shut_down().await;
    assert_eq!(modem.accepted(), [1, 2, 3, 1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_half_sent_by_an_earlier_run_is_finished_with_the_missing_parts_only() {
    let rig = Rig::new().await;
    let id = rig.enqueue_three_parts().await;
    // An earlier run recorded part 1, then lost the text (crashed, or its lease ran out).
    let earlier = rig.leased_with_part_1_sent("earlier-run").await;
    rig.store
        .mark_retry(&earlier.lease, "lost", Utc::now())
        .await
        .expect("the text is given back");

    let modem = PartByPart::new(10, Vec::new());
    let mut run = rig.start(modem.clone());
    rig.until_sent(&mut run, id).await;
    run.shut_down().await;

    assert_eq!(modem.accepted(), [2, 3]);
    // The same concatenation reference as part 1 had: the phone joins them.
    let reference = (id & 0xFFFF) as u16;
    assert_eq!(modem.air.borrow().references, [reference, reference]);
    assert_eq!(rig.parts(id).await, [(1, 200), (2, 10), (3, 11)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_mid_text_finishes_the_part_on_the_air_and_the_next_run_sends_the_rest() {
    let rig = Rig::new().await;
    let id = rig.enqueue_three_parts().await;

    let modem = PartByPart::new(20, vec![(2, Radio::UntilStopped)]);
    let run = rig.start(modem.clone());
    modem
        .until("part 2 on the air", |air| air.on_air == Some(2))
        .await;
    run.shut_down().await;

    assert_eq!(modem.accepted(), [1, 2], "part 3 must not start");
    let given_back = rig.state(id).await;
    assert_eq!(given_back.state, OutboundState::Queued);
    assert_eq!(rig.parts(id).await, [(1, 20), (2, 21)]);

    // The restarted daemon.
    let modem = PartByPart::new(90, Vec::new());
    let mut run = rig.start(modem.clone());
    rig.until_sent(&mut run, id).await;
    run.shut_down().await;
    assert_eq!(modem.accepted(), [3]);
    assert_eq!(rig.parts(id).await, [(1, 20), (2, 21), (3, 90)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_still_unanswered_when_the_grace_runs_out_is_given_back_unrecorded() {
    let rig = Rig::new().await;
    let id = rig.enqueue_three_parts().await;

    rig.stop_with_part_2_unanswered().await;

    let given_back = rig.state(id).await;
    assert_eq!(given_back.state, OutboundState::Queued);
    let reason = given_back.last_error.unwrap_or_default();
    assert!(reason.contains("no answer came"), "{reason}");
    assert!(
        given_back.unsure_since.is_some(),
        "part 2's answer was lost"
    );
    // Part 2's fate is unknown and no status report says it arrived: it is sent again (a
    // possible duplicate of that one part rather than a loss); part 1 is not.
    assert_eq!(rig.parts(id).await, [(1, 40)]);
    let modem = PartByPart::new(60, Vec::new());
    let mut run = rig.start(modem.clone());
    rig.until_sent(&mut run, id).await;
    run.shut_down().await;
    assert_eq!(modem.accepted(), [2, 3]);
    assert_eq!(rig.parts(id).await, [(1, 40), (2, 60), (3, 61)]);
}

/// The same stop, but the network's status report on part 2 came (stored on the SIM and
/// read by the next run before its worker looked): part 2 reached the phone, so the next
/// run records it with the report's reference and sends only part 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_whose_answer_was_lost_is_not_sent_again_when_the_network_reported_it() {
    let rig = Rig::new().await;
    let id = rig.enqueue_three_parts().await;

    rig.stop_with_part_2_unanswered().await;
    assert_eq!(rig.parts(id).await, [(1, 40)]);
    rig.store
        .keep_unmatched_report(GATEWAY, "41", &PartOutcome::Delivered, Some(PATRON))
        .await
        .expect("the report is kept");

    let modem = PartByPart::new(60, Vec::new());
    let mut run = rig.start(modem.clone());
    rig.until_sent(&mut run, id).await;
    run.shut_down().await;
    assert_eq!(modem.accepted(), [3], "part 2 must not go again");
    assert_eq!(rig.parts(id).await, [(1, 40), (2, 41), (3, 60)]);
    assert_eq!(rig.state(id).await.unsure_since, None);
}

/// Killed between part 2's answer and its record, with part 3 already on the air: both
/// went, and both reports came. The next run records both and sends nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_part_the_reports_show_sent_is_recorded_not_only_the_first() {
    let rig = Rig::new().await;
    let id = rig.enqueue_three_parts().await;
    rig.leased_with_part_1_sent("killed-run").await;
    for reference in ["201", "202"] {
        rig.store
            .keep_unmatched_report(GATEWAY, reference, &PartOutcome::Delivered, Some(PATRON))
            .await
            .expect("the report is kept");
    }

    let modem = PartByPart::new(10, Vec::new());
    let mut run = rig.start(modem.clone());
    rig.until_sent(&mut run, id).await;
    run.shut_down().await;
    assert_eq!(modem.accepted(), Vec::<u8>::new(), "nothing goes twice");
    assert_eq!(rig.parts(id).await, [(1, 200), (2, 201), (3, 202)]);
}

/// A text waiting for the report on its lost part does not hold the worker up: a reply
/// queued behind it goes out first, the waiting one after `report_wait` (its wait not
/// counted as an attempt).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_waiting_for_a_report_lets_the_others_go_first() {
    let rig = Rig::with_policy(|policy| policy.report_wait = Duration::from_secs(2)).await;
    let waiting = rig.enqueue_three_parts().await;
    rig.stop_with_part_2_unanswered().await;
    let behind = rig.enqueue_three_parts_as("r-2").await;

    let modem = PartByPart::new(60, Vec::new());
    let mut run = rig.start(modem.clone());
    rig.until_sent(&mut run, behind).await;
    let held = rig.state(waiting).await;
    assert_eq!(
        (held.state, held.attempts, held.unsure_since.is_some()),
        (OutboundState::Queued, 1, true),
        "put back, its wait not counted, still unsure"
    );
    rig.until_sent(&mut run, waiting).await;
    run.shut_down().await;
    assert_eq!(modem.accepted(), [1, 2, 3, 2, 3]);
    assert_eq!(rig.state(waiting).await.attempts, 2);
}

/// A daemon killed mid-text leaves no give-back, only its lease: the next run (on SQLite,
/// the database's only daemon) takes the text up at start as unsure, and a status report
/// about the patron (its number written without the `+`, as some networks do) received
/// since the dead run leased the text shows the part it had on the air went out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_on_the_air_when_the_daemon_died_is_recorded_from_its_status_report() {
    let rig = Rig::new().await;
    let id = rig.enqueue_three_parts().await;
    rig.leased_with_part_1_sent("killed-run").await;
    // Part 2 was accepted as the daemon died; its report names TP-MR 201.
    rig.store
        .keep_unmatched_report(GATEWAY, "201", &PartOutcome::Delivered, Some("15551234567"))
        .await
        .expect("the report is kept");
    // A report about another phone is not taken for it.
    rig.store
        .keep_unmatched_report(GATEWAY, "9", &PartOutcome::Delivered, Some("+15559870000"))
        .await
        .expect("the report is kept");

    let modem = PartByPart::new(10, Vec::new());
    let mut run = rig.start(modem.clone());
    rig.until_sent(&mut run, id).await;
    run.shut_down().await;
    assert_eq!(modem.accepted(), [3]);
    assert_eq!(rig.parts(id).await, [(1, 200), (2, 201), (3, 10)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_later_part_failed_sends_only_that_part_and_what_follows() {
    // Retries come at once, so the test need not wait for a backoff.
    let rig = Rig::with_policy(|policy| policy.initial_backoff = Duration::ZERO).await;
    let id = rig.enqueue_three_parts().await;

    let modem = PartByPart::new(70, vec![(3, Radio::Refused(2))]);
    let mut run = rig.start(modem.clone());
    rig.until_sent(&mut run, id).await;
    run.shut_down().await;

    assert_eq!(modem.air.borrow().handed, [1, 2, 3, 3, 3]);
    assert_eq!(rig.parts(id).await, [(1, 70), (2, 71), (3, 72)]);
    let sent = rig.state(id).await;
    assert_eq!(sent.attempts, 3);
    // The second attempt sent part 3 alone; its error still names it as part 3 of 3.
    let reason = sent.last_error.unwrap_or_default();
    assert!(reason.contains("part 3 of 3"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_a_killed_run_was_sending_is_taken_up_at_start_not_when_its_lease_ends() {
    let rig = Rig::new().await;
    let id = rig.enqueue_three_parts().await;
    // An earlier run leased the text for ten minutes, recorded part 1 and was killed: no
    // give-back, the row stays `sending` under the dead worker's lease.
    let killed = rig
        .store
        .lease_due(GATEWAY, "killed-run", 1, chrono::Duration::minutes(10))
        .await
        .expect("the store answers")
        .remove(0);
    rig.store
        .record_sent_part(
            &killed.lease,
            SentPart {
                seq: 1,
                message_ref: "30".to_owned(),
            },
        )
        .await
        .expect("part 1 is recorded");

    // The restarted daemon owns the SQLite file: it sends the rest now.
    let modem = PartByPart::new(50, Vec::new());
    let mut run = rig.start(modem.clone());
    rig.until_sent(&mut run, id).await;
    run.shut_down().await;
    assert_eq!(modem.accepted(), [2, 3]);
    assert_eq!(rig.parts(id).await, [(1, 30), (2, 50), (3, 51)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_longer_than_the_lease_keeps_the_text_from_other_workers() {
    let lease = Duration::from_millis(600);
    let rig = Rig::with_policy(|policy| policy.lease = lease).await;
    let id = rig.enqueue_three_parts().await;

    let modem = PartByPart::new(40, vec![(2, Radio::Silent)]);
    let run = rig.start(modem.clone());
    modem
        .until("part 2 on the air", |air| air.on_air == Some(2))
        .await;
    let first = rig
        .store
        .next_outbound_due(GATEWAY)
        .await
        .expect("the store answers")
        .expect("the text is leased");
    // The worker renews while the modem holds part 2: the lease's end moves past where
    // the first lease ended plus a whole lease.
    let later = first + chrono::Duration::from_std(lease).expect("a short lease");
    let renewed = async {
        loop {
            let until = rig.store.next_outbound_due(GATEWAY).await.expect("store");
            if until.is_some_and(|until| until > later) {
                break;
            }
            tokio::time::sleep(lease / 6).await;
        }
    };
    tokio::time::timeout(WAIT, renewed)
        .await
        .expect("the lease was not renewed");
    // Time has passed beyond the first lease; another daemon still finds nothing due.
    assert!(Utc::now() > first);
    let other = rig
        .store
        .lease_due(GATEWAY, "another-daemon", 1, chrono::Duration::minutes(1))
        .await
        .expect("the store answers");
    assert!(other.is_empty(), "a renewed lease is still held: {other:?}");
    run.shut_down().await;
    assert_eq!(rig.state(id).await.state, OutboundState::Queued);
    assert_eq!(rig.parts(id).await, [(1, 40)]);
}

/// A driver that works on several sends at once (a message centre's window): each send
/// waits until the test opens the gate, and the double counts how many it holds.
struct Window {
    held: watch::Sender<usize>,
    gate: watch::Receiver<bool>,
    next: StdMutex<u8>,
}

#[async_trait]
impl SmsDriver for Window {
    async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError> {
        self.held.send_modify(|held| *held += 1);
        let mut gate = self.gate.clone();
        // The test opens the gate; it never closes it again.
        let _ = gate.wait_for(|open| *open).await;
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let references = message
            .parts
            .iter()
            .map(|_| {
                *next = next.wrapping_add(1);
                MessageReference::tpmr(*next)
            })
            .collect();
        Ok(references)
    }

    async fn status(&self) -> Result<ModemStatus, StatusError> {
        Ok(ModemStatus::default())
    }

    fn concurrency(&self) -> usize {
        3
    }
}

/// A driver with a window of three gets three texts at once from three workers side by
/// side, each text once; with one worker (a modem) it would hold one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_side_by_side_fill_a_drivers_window() {
    fill_the_window(3, 1).await;
}

/// The same window filled by one worker that leases three texts and sends them together
/// (what a gateway on SQLite, with one writer, does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_sends_a_leased_batch_together() {
    fill_the_window(1, 3).await;
}

async fn fill_the_window(copies: usize, sends_each: usize) {
    let rig = Rig::new().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let text = NewOutbound {
            gateway: GATEWAY.to_owned(),
            recipient: format!("+1555123456{n}"),
            origin: OutboundOrigin::Chat {
                sender_jid: "alice@library.test/desk".to_owned(),
                xmpp_id: format!("w-{n}"),
                receipt: DeliveryReceipt::NotRequested,
            },
            body: format!("Reply {n}"),
            priority: Priority::CHAT,
            not_before: None,
        };
        ids.push(
            rig.store
                .enqueue_outbound(&text)
                .await
                .expect("enqueued")
                .id(),
        );
    }
    let (held, mut holding) = watch::channel(0usize);
    let (open, gate) = watch::channel(false);
    let driver = Arc::new(Window {
        held,
        gate,
        next: StdMutex::new(0),
    });
    let (sent, mut recorded) = RecordedSends::channel();
    let (stop, stopped) = watch::channel(false);
    let worker = OutboxWorker {
        settings: rig.settings.clone(),
        store: rig.store.clone(),
        driver: driver.clone(),
        notices: OperatorNotices::new(
            rig.settings.clone(),
            rig.xmpp.clone().into(),
            rig.store.clone(),
        ),
        segmenter: Segmenter::new(SegmenterConfig::default()),
        worker_id: format!("test-{:08x}", rand::random::<u32>()),
        sent,
        metrics: Metrics::new(),
        completions: super::Completions::direct(rig.store.clone()),
    };
    assert_eq!(driver.concurrency(), copies * sends_each);
    let task = tokio::spawn(worker.run_side_by_side(copies, sends_each, stopped));
    tokio::time::timeout(WAIT, holding.wait_for(|held| *held == 3))
        .await
        .expect("the driver holds three sends at once")
        .expect("the double is alive");
    open.send_replace(true);
    let all_sent = async {
        loop {
            let mut done = 0;
            for id in &ids {
                if rig.state(*id).await.state == OutboundState::Sent {
                    done += 1;
                }
            }
            if done == ids.len() {
                return;
            }
            if recorded.recv().await.is_none() {
                panic!("the workers ended early");
            }
        }
    };
    tokio::time::timeout(WAIT, all_sent)
        .await
        .expect("every text sent in time");
    assert_eq!(*holding.borrow(), 3, "a text was sent twice");
    stop.send_replace(true);
    tokio::time::timeout(WAIT, task)
        .await
        .expect("the workers stop")
        .expect("no panic");
}
