//! The real AT driver against the real simulator over a real pseudo-terminal: the driver
//! opens the simulator's `--link`-style symlink as a serial device (tokio-serial), exactly
//! as it opens `/dev/serial/by-id/...` in production, and the simulator's in-process
//! [`SimHandle`] plays the network (injects texts and faults, lists what was sent).
//!
//! Every wait is bounded: events are awaited through a `watch` of what the listener has
//! seen, and the simulator's state through [`SimHandle::wait_until`], each under a timeout.
//! Nothing sleeps to let time pass.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use textgate_gsm::pdu::{Address, Content};
use textgate_gsm::reassembly::{Outcome, Part, Payload, Reassembler, ReassemblyConfig};
use textgate_gsm::segment::{Segmenter, StatusReportRequest, SubmitOptions};
use textgate_gsm::Tpdu;
use textgate_modem::ErrorClass;
use textgate_modem::{
    AtModem, Backoff, HealthChange, MessageReference, ModemConfig, ModemEvent, ModemEvents,
    OutgoingSms, ReceivedPdu, SendFailure, SendProgress, SerialDevice, SmsDriver, Timeouts,
};
use textgate_modemsim::pty::serve_pty;
use textgate_modemsim::{FaultPatch, IncomingText, Personality, SimConfig, SimHandle, UsbPort};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

/// The bound on any single wait for progress. Generous: a debug build on two busy cores.
const PROGRESS: Duration = Duration::from_secs(60);

/// A simulator serving a fresh pty behind a symlink, and the directory holding the link.
struct Bench {
    sim: SimHandle,
    link: PathBuf,
    dir: PathBuf,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static RIGS: AtomicUsize = AtomicUsize::new(0);

/// Starts the simulator on a pseudo-terminal with a symlink to it (the link follows the
/// pty across simulated disconnects, as `/dev/serial/by-id/...` follows a USB modem).
async fn simulator(config: SimConfig) -> Bench {
    let dir = std::env::temp_dir().join(format!(
        "textgate-modem-sim-{}-{}",
        std::process::id(),
        RIGS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {dir:?}: {e}"));
    let link = dir.join("modem");
    let sim = SimHandle::new(config);
    let mut paths = sim.pty_path();
    tokio::spawn(serve_pty(sim.clone(), Some(link.clone())));
    tokio::time::timeout(PROGRESS, paths.wait_for(Option::is_some))
        .await
        .expect("the simulator's pty did not appear in time")
        .expect("the simulator stopped before its pty appeared");
    Bench { sim, link, dir }
}

/// Driver settings for tests: the defaults, with short reopen backoff so a recovery after
/// a disconnect does not wait seconds.
fn driver_config() -> ModemConfig {
    ModemConfig {
        name: "against-simulator".into(),
        backoff: Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(400),
        },
        ..ModemConfig::default()
    }
}

/// Everything the listener has seen, published through a `watch` so tests can await it.
#[derive(Debug, Default, Clone)]
struct Seen {
    health: Vec<HealthChange>,
    /// Complete texts: sender and text, in the order they completed.
    texts: Vec<(String, String)>,
    /// Status reports: the message reference they report on and TP-ST.
    reports: Vec<(u8, u8)>,
    /// Problems the listener found (described, so an assertion shows them).
    problems: Vec<String>,
}

impl Seen {
    fn ready_count(&self) -> usize {
        self.health
            .iter()
            .filter(|h| matches!(h, HealthChange::Ready { .. }))
            .count()
    }

    fn saw(&self, wanted: impl Fn(&HealthChange) -> bool) -> bool {
        self.health.iter().any(wanted)
    }
}

/// Plays textgate's receiving side: reassembles parts with the gsm `Reassembler`, "stores"
/// each part (keeps it in memory) and only then acknowledges it. Before acknowledging it
/// checks the simulated SIM still holds the part: nothing may be deleted before the ack.
async fn listen(mut events: ModemEvents, sim: SimHandle, seen: watch::Sender<Seen>) {
    let mut reassembler: Reassembler<u64> = Reassembler::new(ReassemblyConfig::default());
    let mut token = 0u64;
    while let Some(event) = events.recv().await {
        match event {
            ModemEvent::Health(change) => seen.send_modify(|s| s.health.push(change)),
            ModemEvent::IncomingPart(part) => {
                token += 1;
                let problem = still_stored(&sim, &part).err();
                let outcome = match &part.decoded {
                    Ok(pdu) => match &pdu.tpdu {
                        Tpdu::Deliver(deliver) => {
                            let payload = match &deliver.user_data.content {
                                Content::Text(t) => Payload::Text(t.clone()),
                                Content::Data(d) => Payload::Data(d.clone()),
                            };
                            let pushed = reassembler.push(
                                Part {
                                    sender: deliver.sender.number.clone(),
                                    concatenation: deliver
                                        .user_data
                                        .header
                                        .as_ref()
                                        .and_then(|h| h.concatenation()),
                                    payload,
                                    token,
                                },
                                std::time::Instant::now(),
                            );
                            Ok((deliver.sender.number.clone(), pushed.outcome))
                        }
                        other => Err(format!("not a DELIVER: {other:?}")),
                    },
                    Err(e) => Err(format!("undecodable PDU {}: {e}", part.pdu_hex)),
                };
                let _ = part.ack.acknowledge();
                seen.send_modify(|s| {
                    s.problems.extend(problem);
                    match outcome {
                        Ok((sender, Outcome::Complete(done))) => match done.payload {
                            Payload::Text(text) => s.texts.push((sender, text)),
                            Payload::Data(_) => s.problems.push("8-bit data arrived".into()),
                        },
                        Ok((_, Outcome::Stored { .. })) => {}
                        Ok((sender, other)) => s
                            .problems
                            .push(format!("part from {sender} twice: {other:?}")),
                        Err(problem) => s.problems.push(problem),
                    }
                });
            }
            ModemEvent::StatusReport(report) => {
                let problem = still_stored(&sim, &report).err();
                let reported = match &report.decoded {
                    Ok(pdu) => match &pdu.tpdu {
                        Tpdu::StatusReport(r) => Ok((r.message_reference, r.status.code())),
                        other => Err(format!("not a STATUS-REPORT: {other:?}")),
                    },
                    Err(e) => Err(format!("undecodable report {}: {e}", report.pdu_hex)),
                };
                let _ = report.ack.acknowledge();
                seen.send_modify(|s| {
                    s.problems.extend(problem);
                    match reported {
                        Ok(pair) => s.reports.push(pair),
                        Err(problem) => s.problems.push(problem),
                    }
                });
            }
            ModemEvent::IncomingCall { number } => {
                seen.send_modify(|s| s.problems.push(format!("unexpected call from {number:?}")))
            }
            ModemEvent::Receipt(receipt) => seen.send_modify(|s| {
                s.problems.push(format!(
                    "a message centre's receipt from a modem: {receipt:?}"
                ))
            }),
        }
    }
}

/// A stored part must still be on the SIM, with the same PDU, when it is handed over.
fn still_stored(sim: &SimHandle, part: &ReceivedPdu) -> Result<(), String> {
    let textgate_modem::Origin::Stored { index } = part.origin else {
        return Ok(());
    };
    let on_sim = sim
        .sim_messages()
        .into_iter()
        .find(|entry| entry.index == index as usize)
        .map(|entry| textgate_gsm::pdu::to_hex(&entry.message.pdu));
    match on_sim {
        Some(hex) if hex.eq_ignore_ascii_case(&part.pdu_hex) => Ok(()),
        Some(hex) => Err(format!(
            "index {index} holds {hex}, the driver handed over {}",
            part.pdu_hex
        )),
        None => Err(format!(
            "index {index} was handed over but is no longer on the SIM"
        )),
    }
}

/// The driver on the simulator's pty link, with its events consumed by [`listen`].
struct Rig {
    modem: AtModem,
    seen: watch::Receiver<Seen>,
}

fn start_driver(bench: &Bench, config: ModemConfig) -> Rig {
    let device = SerialDevice {
        path: bench.link.to_string_lossy().into_owned(),
        baud_rate: 115_200,
    };
    let (modem, events) = AtModem::spawn(config, Box::new(device));
    let (seen_tx, seen) = watch::channel(Seen::default());
    tokio::spawn(listen(events, bench.sim.clone(), seen_tx));
    Rig { modem, seen }
}

impl Rig {
    /// Waits until what the listener saw satisfies `done`.
    async fn until(&mut self, what: &str, done: impl FnMut(&Seen) -> bool) -> Seen {
        let waited = tokio::time::timeout(PROGRESS, self.seen.wait_for(done))
            .await
            .map(|seen| seen.map(|s| s.clone()));
        match waited {
            Ok(Ok(seen)) => seen,
            Ok(Err(_)) => panic!("the driver stopped while waiting for {what}"),
            Err(_) => panic!(
                "no {what} within {PROGRESS:?}; seen so far: {}",
                summary(&self.seen.borrow())
            ),
        }
    }

    async fn ready(&mut self) {
        self.until("ready modem", |s| s.ready_count() >= 1).await;
    }
}

fn summary(seen: &Seen) -> String {
    format!(
        "{} texts, {} reports, health {:?}, problems {:?}",
        seen.texts.len(),
        seen.reports.len(),
        seen.health,
        seen.problems
    )
}

/// A text of one of five kinds, with the number of parts it takes: GSM 7-bit single,
/// GSM 7-bit in 3 parts, UCS-2 single with an emoji, UCS-2 in 3 parts (CJK and emoji, so
/// surrogate pairs sit near part boundaries), GSM 7-bit with escaped characters in 2 parts.
fn text_of_kind(i: usize) -> (String, usize) {
    match i % 5 {
        0 => (format!("#{i} Is the library open on Sunday?"), 1),
        1 => (format!("#{i} {}", "Overdue notice: ".repeat(25)), 3),
        2 => (format!("#{i} Können Sie mir helfen? 你好 📚"), 1),
        3 => (format!("#{i} {}", "书📚 ".repeat(40)), 3),
        _ => (format!("#{i} {}", "Fine: €2 {late} ".repeat(10)), 2),
    }
}

fn outgoing(
    text: &str,
    reference: u16,
    recipient: &str,
    report: StatusReportRequest,
) -> OutgoingSms {
    let address = Address::from_number(recipient).expect("a valid test number");
    let options = SubmitOptions {
        status_report: report,
        ..SubmitOptions::default()
    };
    let pdus = Segmenter::default()
        .submit_pdus(text, reference, &address, &options)
        .expect("the test text segments");
    OutgoingSms::from_pdus(recipient, text, &pdus).expect("the test PDUs encode")
}

/// Injects `count` texts of every kind from distinct senders; returns sender → text.
fn inject_texts(sim: &SimHandle, count: usize, first: usize) -> BTreeMap<String, String> {
    let mut expected = BTreeMap::new();
    for i in first..first + count {
        let (text, parts) = text_of_kind(i);
        let sender = format!("+4477009{i:05}");
        let report = sim
            .inject_text(&IncomingText::new(&sender, &text))
            .unwrap_or_else(|e| panic!("injecting text {i}: {e}"));
        assert_eq!(report.parts, parts, "text {i} should take {parts} parts");
        expected.insert(sender, text);
    }
    expected
}

/// Checks every expected text arrived exactly once and nothing else did.
fn assert_received_once(seen: &Seen, expected: &BTreeMap<String, String>) {
    assert_eq!(seen.problems, Vec::<String>::new());
    let mut received: HashMap<&str, Vec<&str>> = HashMap::new();
    for (sender, text) in &seen.texts {
        received.entry(sender).or_default().push(text);
    }
    let twice: Vec<_> = received.iter().filter(|(_, t)| t.len() > 1).collect();
    assert!(twice.is_empty(), "texts received more than once: {twice:?}");
    for (sender, text) in expected {
        assert_eq!(
            received.get(sender.as_str()).map(Vec::as_slice),
            Some(&[text.as_str()][..]),
            "the text from {sender}"
        );
    }
    assert_eq!(seen.texts.len(), expected.len());
}

async fn sim_drained(sim: &SimHandle) {
    sim.wait_until(PROGRESS, |m| {
        m.sim().used() == 0 && m.waiting_in_network() == 0
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "{e}: SIM holds {:?}, network holds {}",
            sim.sim_messages()
                .iter()
                .map(|entry| entry.index)
                .collect::<Vec<_>>(),
            sim.inspect(|m| m.waiting_in_network())
        )
    });
}

/// Checks the simulator's sent list holds each expected message exactly once, complete,
/// with the references the driver returned.
fn assert_sent_once(sim: &SimHandle, expected: &BTreeMap<String, (String, Vec<MessageReference>)>) {
    let sent = sim.sent_messages();
    let mut by_recipient: HashMap<&str, Vec<_>> = HashMap::new();
    for message in &sent {
        by_recipient
            .entry(message.recipient.as_str())
            .or_default()
            .push(message);
    }
    for (recipient, (text, references)) in expected {
        let messages = by_recipient.remove(recipient.as_str()).unwrap_or_default();
        assert_eq!(
            messages.len(),
            1,
            "messages sent to {recipient}: {messages:?}"
        );
        let message = messages[0];
        assert!(message.complete, "incomplete: {message:?}");
        assert_eq!(&message.text, text, "text sent to {recipient}");
        let returned: Vec<u8> = references.iter().filter_map(|r| r.as_tpmr()).collect();
        assert_eq!(message.references, returned, "references for {recipient}");
    }
    assert!(
        by_recipient.is_empty(),
        "unexpected sends: {by_recipient:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receives_a_thousand_texts_exactly_once() {
    let bench = simulator(SimConfig::instant()).await;
    let mut rig = start_driver(&bench, driver_config());
    rig.ready().await;

    let expected = inject_texts(&bench.sim, 1000, 0);
    let seen = rig
        .until("all 1000 texts", |s| {
            s.texts.len() >= expected.len() || !s.problems.is_empty()
        })
        .await;
    assert_received_once(&seen, &expected);
    // Acknowledged parts are deleted: the SIM and the network end empty.
    sim_drained(&bench.sim).await;
    let counters = bench.sim.counters();
    assert_eq!(counters.stored, counters.deletes, "{counters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_a_thousand_texts_exactly_once() {
    let bench = simulator(SimConfig::instant()).await;
    let mut rig = start_driver(&bench, driver_config());
    rig.ready().await;

    let messages: Vec<(String, String, OutgoingSms)> = (0..1000)
        .map(|i| {
            let (text, _) = text_of_kind(i);
            let recipient = format!("+1555{i:07}");
            let sms = outgoing(&text, i as u16, &recipient, StatusReportRequest::None);
            (recipient, text, sms)
        })
        .collect();
    let total_parts: usize = messages.iter().map(|(_, _, m)| m.parts.len()).sum();
    // Several callers at once, as the outbox workers are: the driver queues them.
    let modem = &rig.modem;
    let results: Vec<_> = stream::iter(messages)
        .map(|(recipient, text, sms)| async move {
            let result = tokio::time::timeout(PROGRESS, modem.send(sms)).await;
            (recipient, text, result)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut expected = BTreeMap::new();
    for (recipient, text, result) in results {
        let references = result
            .unwrap_or_else(|_| panic!("sending to {recipient} took longer than {PROGRESS:?}"))
            .unwrap_or_else(|e| panic!("sending to {recipient}: {e}"));
        expected.insert(recipient, (text, references));
    }
    assert_sent_once(&bench.sim, &expected);
    assert_eq!(bench.sim.sent_parts().len(), total_parts);
    assert_eq!(rig.seen.borrow().problems, Vec::<String>::new());
}

/// Sends `sms`, retrying what the driver reports retryable once the driver is ready again
/// (a real outbox backs off instead): only the parts the network has not accepted are sent
/// again, so an accepted part is never repeated. Returns the references and the failures.
async fn send_with_retries(
    modem: &AtModem,
    mut seen: watch::Receiver<Seen>,
    sms: OutgoingSms,
) -> (Vec<MessageReference>, usize) {
    let mut references = Vec::new();
    let mut remaining = sms.parts;
    let mut failures = 0;
    loop {
        let ready_before = seen.borrow().ready_count();
        let attempt = OutgoingSms {
            recipient: sms.recipient.clone(),
            text: sms.text.clone(),
            parts: remaining.clone(),
            key: None,
        };
        let result = tokio::time::timeout(PROGRESS, modem.send(attempt))
            .await
            .unwrap_or_else(|_| panic!("a send took longer than {PROGRESS:?}"));
        match result {
            Ok(accepted) => {
                references.extend(accepted);
                return (references, failures);
            }
            Err(error) => {
                assert_eq!(error.class(), ErrorClass::Retryable, "{error}");
                failures += 1;
                assert!(
                    failures < 20,
                    "still failing after {failures} attempts: {error}"
                );
                references.extend(error.accepted.iter().cloned());
                remaining.drain(..error.accepted.len());
                // Every failure here comes from the lost link: retry once the driver has
                // reconnected.
                tokio::time::timeout(PROGRESS, seen.wait_for(|s| s.ready_count() > ready_before))
                    .await
                    .unwrap_or_else(|_| panic!("no reconnection after: {error}"))
                    .unwrap_or_else(|_| panic!("the driver stopped after: {error}"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_lost_mid_send_loses_nothing_and_sends_nothing_twice() {
    // A send stays on the air for 200 ms, so the disconnect surely lands inside one.
    let bench = simulator(SimConfig {
        send_latency: Duration::from_millis(200),
        ..SimConfig::instant()
    })
    .await;
    let mut rig = start_driver(&bench, driver_config());
    rig.ready().await;

    let messages: Vec<(String, String, OutgoingSms)> = (0..10)
        .map(|i| {
            let (text, _) = text_of_kind(i);
            let recipient = format!("+1555{i:07}");
            let sms = outgoing(&text, i as u16, &recipient, StatusReportRequest::None);
            (recipient, text, sms)
        })
        .collect();
    let modem = rig.modem.clone();
    let seen = rig.seen.clone();
    let sending = tokio::spawn(async move {
        let sends = messages.into_iter().map(|(recipient, text, sms)| {
            let (modem, seen) = (modem.clone(), seen.clone());
            async move {
                let (references, failures) = send_with_retries(&modem, seen, sms).await;
                (recipient, text, references, failures)
            }
        });
        futures::future::join_all(sends).await
    });

    // Pull the plug while the fourth part is on the air.
    bench
        .sim
        .wait_until(PROGRESS, |m| m.sending() && m.sent().len() >= 3)
        .await
        .expect("the sends did not start");
    let generation_ready = rig.seen.borrow().ready_count();
    bench.sim.disconnect(Duration::from_millis(300));

    let results = tokio::time::timeout(PROGRESS, sending)
        .await
        .expect("the sends did not finish")
        .expect("the sending task panicked");
    let failures: usize = results.iter().map(|(_, _, _, f)| f).sum();
    assert!(failures >= 1, "no send noticed the lost link");
    assert_eq!(bench.sim.counters().aborted_sends, 1);
    let expected = results
        .into_iter()
        .map(|(recipient, text, references, _)| (recipient, (text, references)))
        .collect();
    assert_sent_once(&bench.sim, &expected);

    let seen = rig
        .until("a reopened, ready modem", |s| {
            s.ready_count() > generation_ready
        })
        .await;
    assert!(seen.saw(|h| matches!(h, HealthChange::Disconnected { .. })));
    assert_eq!(seen.problems, Vec::<String>::new());
}

/// A stop asked for while a part of a long text is on the air (the daemon is shutting
/// down): the driver finishes that part and reports it, starts no further part, and the
/// rest, sent later on its own, completes the text with every part sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_between_parts_finishes_the_part_on_the_air_and_starts_no_other() {
    // Each part stays on the air for a second, so the stop surely lands inside part 2.
    let bench = simulator(SimConfig {
        send_latency: Duration::from_secs(1),
        ..SimConfig::instant()
    })
    .await;
    let mut rig = start_driver(&bench, driver_config());
    rig.ready().await;
    let text: String = "Your interlibrary loan has arrived. "
        .repeat(12)
        .chars()
        .take(400)
        .collect();
    let sms = outgoing(&text, 0x4321, "+15550001111", StatusReportRequest::None);
    assert_eq!(sms.parts.len(), 3);

    let (progress, mut monitor) = SendProgress::channel();
    let sending = {
        let (modem, sms) = (rig.modem.clone(), sms.clone());
        tokio::spawn(async move { modem.send_reporting(sms, progress).await })
    };
    let first = tokio::time::timeout(PROGRESS, monitor.next_accepted())
        .await
        .expect("part 1 was not reported in time")
        .expect("the send ended before reporting part 1");
    assert_eq!(first.index, 0);
    bench
        .sim
        .wait_until(PROGRESS, |m| m.sending() && m.sent().len() == 1)
        .await
        .expect("part 2 never went on the air");
    monitor.stop();
    let error = tokio::time::timeout(PROGRESS, sending)
        .await
        .expect("the stopped send did not end")
        .expect("the sending task panicked")
        .expect_err("a send stopped before its last part is an error");
    assert_eq!(error.failure, SendFailure::Stopped { sent: 2, total: 3 });
    assert_eq!(error.class(), ErrorClass::Retryable);
    let second = monitor.try_next_accepted().expect("part 2 was reported");
    assert_eq!(second.index, 1);
    assert_eq!(error.accepted, [first.reference, second.reference]);
    assert_eq!(
        monitor.next_accepted().await,
        None,
        "nothing else was reported"
    );
    let sequences = |sim: &SimHandle| -> Vec<u8> {
        sim.sent_parts()
            .iter()
            .filter_map(|p| p.concatenation.map(|c| c.sequence))
            .collect()
    };
    assert_eq!(sequences(&bench.sim), [1, 2]);

    let rest = OutgoingSms {
        parts: sms.parts[2..].to_vec(),
        ..sms.clone()
    };
    let last = tokio::time::timeout(PROGRESS, rig.modem.send(rest))
        .await
        .expect("the rest was not sent in time")
        .unwrap_or_else(|e| panic!("sending the rest: {e}"));
    assert_eq!(last.len(), 1);
    assert_eq!(sequences(&bench.sim), [1, 2, 3]);
    let messages = bench.sim.sent_messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].complete, "{messages:?}");
    assert_eq!(messages[0].text, text);
    assert_eq!(rig.seen.borrow().problems, Vec::<String>::new());
}

/// A stop asked for before the driver took the send up sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_stopped_before_it_starts_sends_nothing() {
    let bench = simulator(SimConfig::instant()).await;
    let mut rig = start_driver(&bench, driver_config());
    rig.ready().await;
    let sms = outgoing(
        &"a".repeat(200),
        9,
        "+15550002222",
        StatusReportRequest::None,
    );
    let (progress, mut monitor) = SendProgress::channel();
    monitor.stop();
    let error = tokio::time::timeout(PROGRESS, rig.modem.send_reporting(sms, progress))
        .await
        .expect("the stopped send did not end")
        .expect_err("nothing was sent");
    assert_eq!(error.failure, SendFailure::Stopped { sent: 0, total: 2 });
    assert_eq!(monitor.next_accepted().await, None);
    assert_eq!(bench.sim.sent_parts(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sim_is_drained_and_every_text_arrives() {
    let bench = simulator(SimConfig {
        capacity: 5,
        ..SimConfig::instant()
    })
    .await;
    // Forty texts (80 parts) arrive while no driver runs: 5 fill the SIM, the rest wait
    // in the network until slots are freed.
    let expected = inject_texts(&bench.sim, 40, 0);
    bench
        .sim
        .wait_until(PROGRESS, |m| m.sim().is_full())
        .await
        .expect("the SIM did not fill");

    let mut rig = start_driver(&bench, driver_config());
    let seen = rig
        .until("all 40 texts", |s| {
            s.texts.len() >= expected.len() || !s.problems.is_empty()
        })
        .await;
    assert_received_once(&seen, &expected);
    assert!(
        seen.saw(|h| matches!(h, HealthChange::StorageFull { used: 5, total: 5 })),
        "{:?}",
        seen.health
    );
    sim_drained(&bench.sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_modem_is_noticed_and_recovers() {
    let bench = simulator(SimConfig::instant()).await;
    let config = ModemConfig {
        timeouts: Timeouts {
            quick: Duration::from_millis(500),
            slow: Duration::from_secs(2),
            network: Duration::from_secs(5),
        },
        keepalive: Duration::from_millis(300),
        ..driver_config()
    };
    let mut rig = start_driver(&bench, config);
    rig.ready().await;

    bench.sim.set_faults(FaultPatch {
        hang: Some(true),
        ..FaultPatch::default()
    });
    // The keepalive goes unanswered; the soft reset too; the device is reopened.
    rig.until("the hang noticed", |s| {
        s.saw(|h| matches!(h, HealthChange::Unresponsive { .. }))
            && s.saw(|h| matches!(h, HealthChange::Disconnected { .. }))
    })
    .await;
    let ready_before = rig.seen.borrow().ready_count();

    bench.sim.set_faults(FaultPatch {
        hang: Some(false),
        ..FaultPatch::default()
    });
    rig.until("recovery after the hang", |s| {
        s.ready_count() > ready_before
    })
    .await;
    // And it works again.
    let sms = outgoing(
        "after the hang",
        1,
        "+15550000001",
        StatusReportRequest::None,
    );
    let references = tokio::time::timeout(
        PROGRESS,
        send_with_retries(&rig.modem, rig.seen.clone(), sms),
    )
    .await
    .expect("the send after recovery did not finish")
    .0;
    assert_eq!(references.len(), 1);
    assert_eq!(bench.sim.sent_messages().len(), 1);
    assert_eq!(rig.seen.borrow().problems, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_match_the_message_references() {
    let bench = simulator(SimConfig::instant()).await;
    let mut rig = start_driver(&bench, driver_config());
    rig.ready().await;

    let mut sent = Vec::new();
    for i in 0..4 {
        let (text, parts) = text_of_kind(i);
        let recipient = format!("+1555{i:07}");
        let sms = outgoing(&text, i as u16, &recipient, StatusReportRequest::Requested);
        let references = tokio::time::timeout(PROGRESS, rig.modem.send(sms))
            .await
            .expect("the send did not finish")
            .unwrap_or_else(|e| panic!("sending text {i}: {e}"));
        assert_eq!(references.len(), parts);
        sent.extend(references.iter().filter_map(|r| r.as_tpmr()));
    }
    let seen = rig
        .until("a status report for every part", |s| {
            s.reports.len() >= sent.len() || !s.problems.is_empty()
        })
        .await;
    assert_eq!(seen.problems, Vec::<String>::new());
    let mut reported: Vec<(u8, u8)> = seen.reports.clone();
    reported.sort_unstable();
    let mut wanted: Vec<(u8, u8)> = sent.iter().map(|&mr| (mr, 0x00)).collect();
    wanted.sort_unstable();
    // Each part's reference exactly once, each "delivered" (TP-ST 0).
    assert_eq!(reported, wanted);
    sim_drained(&bench.sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directly_routed_texts_are_acknowledged_once_each() {
    let bench = simulator(SimConfig::instant()).await;
    let config = ModemConfig {
        indication: Some(textgate_at::command::NewMessageIndication::ROUTE_DIRECTLY),
        ..driver_config()
    };
    let mut rig = start_driver(&bench, config);
    rig.ready().await;

    let expected = inject_texts(&bench.sim, 200, 0);
    let seen = rig
        .until("all 200 texts", |s| {
            s.texts.len() >= expected.len() || !s.problems.is_empty()
        })
        .await;
    assert_received_once(&seen, &expected);
    sim_drained(&bench.sim).await;
    let parts: u64 = (0..200).map(|i| text_of_kind(i).1 as u64).sum();
    bench
        .sim
        .wait_until(PROGRESS, |m| m.counters().acknowledgements == parts)
        .await
        .unwrap_or_else(|e| panic!("{e}: {:?}", bench.sim.counters()));
    let counters = bench.sim.counters();
    assert_eq!(
        (
            counters.direct_deliveries,
            counters.stored,
            counters.ack_timeouts
        ),
        (parts, 0, 0),
        "{counters:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_into_a_hang_is_retryable_and_goes_out_once() {
    let bench = simulator(SimConfig::instant()).await;
    let config = ModemConfig {
        timeouts: Timeouts {
            quick: Duration::from_millis(500),
            slow: Duration::from_secs(2),
            network: Duration::from_secs(5),
        },
        ..driver_config()
    };
    let mut rig = start_driver(&bench, config);
    rig.ready().await;

    bench.sim.set_faults(FaultPatch {
        hang: Some(true),
        ..FaultPatch::default()
    });
    let sms = outgoing(
        "into the hang",
        1,
        "+15550000001",
        StatusReportRequest::None,
    );
    let error = tokio::time::timeout(PROGRESS, rig.modem.send(sms.clone()))
        .await
        .expect("the send into the hang did not end")
        .expect_err("a hung modem cannot have sent it");
    assert_eq!(error.class(), ErrorClass::Retryable, "{error}");
    let seen = rig
        .until("the hang noticed", |s| {
            s.saw(|h| matches!(h, HealthChange::Unresponsive { .. }))
        })
        .await;
    let ready_before = seen.ready_count();
    bench.sim.set_faults(FaultPatch {
        hang: Some(false),
        ..FaultPatch::default()
    });
    rig.until("recovery after the hang", |s| {
        s.ready_count() > ready_before
    })
    .await;
    let references = tokio::time::timeout(PROGRESS, rig.modem.send(sms))
        .await
        .expect("the retry did not end")
        .unwrap_or_else(|e| panic!("the retry after recovery: {e}"));
    let expected = BTreeMap::from([(
        "+15550000001".to_owned(),
        ("into the hang".to_owned(), references),
    )]);
    assert_sent_once(&bench.sim, &expected);
}

/// A send queued behind a command the modem never answers is given back as soon as the
/// modem is declared unresponsive, before the driver's resynchronisation (which fails too
/// while the hang lasts) and its reconnection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_queued_behind_a_hung_command_is_given_back_when_the_hang_is_noticed() {
    let bench = simulator(SimConfig::instant()).await;
    let config = ModemConfig {
        timeouts: Timeouts {
            quick: Duration::from_millis(500),
            slow: Duration::from_secs(2),
            network: Duration::from_secs(5),
        },
        ..driver_config()
    };
    let mut rig = start_driver(&bench, config);
    rig.ready().await;

    bench.sim.set_faults(FaultPatch {
        hang: Some(true),
        ..FaultPatch::default()
    });
    // First in the driver's queue: a status query, which the hung modem never answers.
    // Polled once here, so its request is queued before the send's.
    let modem = rig.modem.clone();
    let mut status = Box::pin(async move { modem.status().await });
    assert!(futures::poll!(&mut status).is_pending());
    let sms = outgoing(
        "behind the hang",
        1,
        "+15550000002",
        StatusReportRequest::None,
    );
    let error = tokio::time::timeout(PROGRESS, rig.modem.send(sms))
        .await
        .expect("the queued send did not end")
        .expect_err("a hung modem cannot have sent it");
    assert_eq!(error.class(), ErrorClass::Retryable, "{error}");
    assert!(
        error.to_string().contains("queued sends are given back"),
        "{error}"
    );
    let seen = rig
        .until("the hang noticed", |s| {
            s.saw(|h| matches!(h, HealthChange::Unresponsive { .. }))
        })
        .await;
    assert!(
        !seen.saw(|h| matches!(h, HealthChange::Disconnected { .. })),
        "given back when the hang was noticed, not after the reconnection: {}",
        summary(&seen)
    );
    let _ = tokio::time::timeout(PROGRESS, status).await;
    assert!(bench.sim.sent_messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_personality_is_detected_and_serves_texts_both_ways() {
    for personality in Personality::ALL {
        let bench = simulator(SimConfig {
            personality,
            capacity: 10,
            ..SimConfig::instant()
        })
        .await;
        let mut rig = start_driver(&bench, driver_config());
        let seen = rig.until("a ready modem", |s| s.ready_count() >= 1).await;
        let profile = seen.health.iter().find_map(|h| match h {
            HealthChange::Ready { profile } => Some(*profile),
            _ => None,
        });
        let wanted = format!("{personality:?}").to_lowercase();
        assert_eq!(profile, Some(wanted.as_str()), "detected profile");

        // Twenty texts (40 parts) through a 10-slot SIM, and ten sent with status reports
        // where the personality routes them.
        let expected = inject_texts(&bench.sim, 20, 0);
        let seen = rig
            .until("all 20 texts", |s| {
                s.texts.len() >= expected.len() || !s.problems.is_empty()
            })
            .await;
        assert_received_once(&seen, &expected);
        let mut sent = BTreeMap::new();
        for i in 0..10 {
            let (text, _) = text_of_kind(i);
            let recipient = format!("+1555{i:07}");
            let sms = outgoing(&text, i as u16, &recipient, StatusReportRequest::None);
            let references = tokio::time::timeout(PROGRESS, rig.modem.send(sms))
                .await
                .expect("the send did not end")
                .unwrap_or_else(|e| panic!("{personality:?}: sending text {i}: {e}"));
            sent.insert(recipient, (text, references));
        }
        assert_sent_once(&bench.sim, &sent);
        sim_drained(&bench.sim).await;
    }
}

/// A Quectel whose unsolicited reports were sent to its modem port by earlier software
/// (`AT+QURCCFG="urcport","usbmodem"`, kept across restarts), with textgate on its AT
/// port: the driver points the reports back at the AT port at start, so a text arriving
/// after start is announced and read at once, not only at the next storage check (five
/// minutes by default, far beyond this test's wait).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quectel_reporting_to_another_port_is_pointed_back_at_ours() {
    let bench = simulator(SimConfig {
        personality: Personality::Quectel,
        urc_port: UsbPort::Modem,
        ..SimConfig::instant()
    })
    .await;
    let mut rig = start_driver(&bench, driver_config());
    rig.ready().await;
    assert_eq!(bench.sim.inspect(|m| m.settings().urcport), UsbPort::At);
    let expected = inject_texts(&bench.sim, 3, 0);
    let seen = rig
        .until("three texts", |s| {
            s.texts.len() >= expected.len() || !s.problems.is_empty()
        })
        .await;
    assert_received_once(&seen, &expected);
}

/// A SIMCom whose unsolicited reports were sent to its modem port by earlier software
/// (`AT+CATR=2`), then restarted before textgate starts: the choice is not saved (SIMCom
/// A76XX Series AT Command Manual V1.09, §10.2.9 `AT+CATR`), so the reports go to every
/// port again and textgate, which does not send `AT+CATR`, hears of a text at once, not
/// only at the next storage check (five minutes by default, far beyond this test's wait).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simcom_left_reporting_to_another_port_is_heard_after_a_restart() {
    let bench = simulator(SimConfig {
        personality: Personality::Simcom,
        ..SimConfig::instant()
    })
    .await;
    earlier_software(&bench.sim, &["AT+CATR=2"]).await;
    assert_eq!(bench.sim.inspect(|m| m.settings().catr), 2);
    earlier_software(&bench.sim, &["AT+CFUN=1,1"]).await;
    assert_eq!(bench.sim.inspect(|m| m.settings().catr), 0);
    let mut rig = start_driver(&bench, driver_config());
    rig.ready().await;
    let expected = inject_texts(&bench.sim, 3, 0);
    let seen = rig
        .until("three texts", |s| {
            s.texts.len() >= expected.len() || !s.problems.is_empty()
        })
        .await;
    assert_received_once(&seen, &expected);
}

/// Another program's session with the modem, before textgate's: each command on a
/// connection of its own to the simulator, and each must answer `OK`.
async fn earlier_software(sim: &SimHandle, commands: &[&str]) {
    let mut port = sim.connect_in_memory();
    for command in commands {
        port.write_all(format!("{command}\r").as_bytes())
            .await
            .expect("writing to the simulator");
        let mut answer = Vec::new();
        let read_answer = async {
            let mut buf = [0u8; 256];
            while !answer.ends_with(b"OK\r\n") && !answer.windows(5).any(|w| w == b"ERROR") {
                let n = port
                    .read(&mut buf)
                    .await
                    .expect("reading from the simulator");
                assert!(n > 0, "the simulator closed the connection after {command}");
                answer.extend_from_slice(buf.get(..n).unwrap_or_default());
            }
        };
        tokio::time::timeout(PROGRESS, read_answer)
            .await
            .unwrap_or_else(|_| panic!("no answer to {command} within {PROGRESS:?}"));
        assert!(
            answer.ends_with(b"\r\nOK\r\n"),
            "{command} answered {:?}",
            String::from_utf8_lossy(&answer)
        );
    }
}

/// The link drops while texts arrive, likely between a deletion and its `OK`. The slot
/// the lost `OK` freed is reused by the network at once; the driver must read it again
/// rather than repeat the deletion, or it deletes a text never handed over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_lost_while_receiving_loses_and_repeats_nothing() {
    let bench = simulator(SimConfig::instant()).await;
    let mut rig = start_driver(&bench, driver_config());
    rig.ready().await;
    let expected = inject_texts(&bench.sim, 200, 0);
    bench
        .sim
        .wait_until(PROGRESS, |m| m.counters().deletes >= 50)
        .await
        .expect("reception did not start");
    let ready_before = rig.seen.borrow().ready_count();
    bench.sim.disconnect(Duration::from_millis(300));
    let seen = rig
        .until("all 200 texts after the link came back", |s| {
            (s.texts.len() >= expected.len() && s.ready_count() > ready_before)
                || !s.problems.is_empty()
        })
        .await;
    assert_received_once(&seen, &expected);
    sim_drained(&bench.sim).await;
}
