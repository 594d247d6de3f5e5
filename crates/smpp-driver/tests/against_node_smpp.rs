//! The SMPP driver against an SMSC nobody on the team wrote: node-smpp's server (npm `smpp`
//! 0.5.1, installed by scripts/test into crates/smpp/tests/peer), steered by
//! `crates/smpp/tests/peer/controlled.js`. Each test starts its own SMSC on a port the
//! kernel picks (the script prints it), so nothing can mistake another server for ours.
//!
//! What is checked: binding and readiness; texts out (GSM 7-bit, UCS-2, several parts with
//! their headers) with the SMSC's ids as references; receipts back, answered only once the
//! gateway acknowledged them; texts from phones handed over as SMS-DELIVER PDUs and
//! answered only after the acknowledgement; throttling; a final refusal; the connection
//! dropped with a submit outstanding (the at-least-once point) and the reconnect after it;
//! wrong credentials; the unbind when the driver is dropped.

use std::time::Duration;

use textgate_gsm::pdu::{Address as GsmAddress, Pdu, SmscField, Tpdu};
use textgate_gsm::segment::{Segmenter, SegmenterConfig, SubmitOptions};
use textgate_modem::{
    ErrorClass, HealthChange, ModemEvent, ModemEvents, OutgoingSms, ReceiptOutcome, SendFailure,
    SmsDriver,
};
use textgate_smpp_driver::{SmppConfig, SmppDriver};
use textgate_testkit::smsc::Smsc;
use tokio::time::timeout;

/// How long any one thing may take.
const WAIT: Duration = Duration::from_secs(20);

/// The driver's settings for `smsc`, with short pauses.
fn config(smsc: &Smsc) -> SmppConfig {
    let mut config = SmppConfig::new(format!("127.0.0.1:{}", smsc.port), "textgate", "secret");
    config.throttle_pause = Duration::from_millis(50);
    config.reconnect_initial = Duration::from_millis(100);
    config.reconnect_max = Duration::from_millis(400);
    config.response_timeout = Duration::from_secs(5);
    config
}

async fn start_smsc() -> Smsc {
    Smsc::start().await.expect("the SMSC starts")
}

fn message(to: &str, text: &str) -> OutgoingSms {
    let pdus = Segmenter::new(SegmenterConfig::default())
        .segment(text, 0x17)
        .expect("segments")
        .submit_pdus(
            &GsmAddress::from_number(to).expect("number"),
            &SubmitOptions::default(),
        );
    OutgoingSms::from_pdus(to, text, &pdus).expect("encodes")
}

/// Waits for the next event the test cares about (health changes are collected on the way).
async fn next_event(events: &mut ModemEvents, health: &mut Vec<HealthChange>) -> ModemEvent {
    loop {
        let event = timeout(WAIT, events.recv())
            .await
            .expect("an event in time")
            .expect("the driver runs");
        match event {
            ModemEvent::Health(change) => health.push(change),
            other => return other,
        }
    }
}

async fn until_health(
    events: &mut ModemEvents,
    health: &mut Vec<HealthChange>,
    wanted: impl Fn(&HealthChange) -> bool,
) {
    if health.iter().any(&wanted) {
        return;
    }
    loop {
        let event = timeout(WAIT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("health never came; seen {health:?}"))
            .expect("the driver runs");
        if let ModemEvent::Health(change) = event {
            let found = wanted(&change);
            health.push(change);
            if found {
                return;
            }
        }
    }
}

fn is_ready(change: &HealthChange) -> bool {
    matches!(change, HealthChange::Ready { profile: "smpp" })
}

#[tokio::test]
async fn texts_go_out_with_the_smscs_ids_and_receipts_come_back_after_they_are_stored() {
    let mut smsc = start_smsc().await;
    let (driver, mut events) = SmppDriver::spawn(config(&smsc)).expect("starts");
    let mut health = Vec::new();
    until_health(&mut events, &mut health, is_ready).await;
    assert_eq!(smsc.next("bind").await["kind"], "transceiver");

    // One GSM text of two parts, then one UCS-2 text.
    let long = "The library closes early today at 5 pm because of the storm; the book drop stays open all night.".repeat(2);
    let references = driver
        .send(message("+15551234567", &long))
        .await
        .expect("sent");
    assert_eq!(references.len(), 2);
    let first = smsc.next("submit_sm").await;
    let second = smsc.next("submit_sm").await;
    for (i, part) in [&first, &second].into_iter().enumerate() {
        assert_eq!(part["destination_addr"], "15551234567");
        assert_eq!(part["dest_addr_ton"], 1);
        assert_eq!(part["data_coding"], 0);
        assert_eq!(part["esm_class"], 0x40);
        assert_eq!(part["registered_delivery"], 1);
        assert_eq!(part["udh"], format!("0003170{}{:02x}", 2, i + 1));
    }
    let joined = format!(
        "{}{}",
        first["message"].as_str().expect("text"),
        second["message"].as_str().expect("text")
    );
    assert_eq!(joined, long);
    let ucs2 = driver
        .send(message("+15551234567", "Привет ✓"))
        .await
        .expect("sent");
    let submitted = smsc.next("submit_sm").await;
    assert_eq!(submitted["data_coding"], 8);
    assert_eq!(submitted["message"], "Привет ✓");

    // The SMSC's ids are the references, and its receipts name them.
    smsc.settle().await;
    let answered: Vec<String> = smsc
        .seen
        .iter()
        .filter(|e| e["event"] == "answered")
        .filter_map(|e| e["message_id"].as_str().map(str::to_owned))
        .collect();
    let sent: Vec<String> = references
        .iter()
        .chain(&ucs2)
        .map(|r| r.to_string())
        .collect();
    assert_eq!(sent, answered);
    let mut receipts = Vec::new();
    for _ in 0..3 {
        match next_event(&mut events, &mut health).await {
            ModemEvent::Receipt(receipt) => receipts.push(receipt),
            other => panic!("expected a receipt, got {other:?}"),
        }
    }
    smsc.settle().await;
    assert_eq!(
        smsc.count("receipt_resp"),
        0,
        "answered before the gateway stored it"
    );
    for receipt in receipts {
        assert!(sent.contains(&receipt.reference.to_string()), "{receipt:?}");
        assert_eq!(receipt.outcome, Some(ReceiptOutcome::Delivered));
        receipt.ack.acknowledge().expect("driver runs");
    }
    for _ in 0..3 {
        assert_eq!(smsc.next("receipt_resp").await["command_status"], 0);
    }

    // An undeliverable receipt says why.
    smsc.command(serde_json::json!({"cmd": "receipts", "stat": "UNDELIV", "err": "034"}))
        .await;
    smsc.settle().await;
    driver
        .send(message("+15551234567", "hi"))
        .await
        .expect("sent");
    let ModemEvent::Receipt(receipt) = next_event(&mut events, &mut health).await else {
        panic!("expected a receipt");
    };
    assert_eq!(
        receipt.outcome,
        Some(ReceiptOutcome::Failed {
            reason: "the message centre reports it undeliverable (error 034)".into()
        })
    );
    receipt.ack.acknowledge().expect("driver runs");

    // Dropping the driver unbinds.
    drop(driver);
    smsc.next("unbind").await;
}

#[tokio::test]
async fn a_text_from_a_phone_is_handed_over_and_answered_only_once_stored() {
    let mut smsc = start_smsc().await;
    let (driver, mut events) = SmppDriver::spawn(config(&smsc)).expect("starts");
    let mut health = Vec::new();
    until_health(&mut events, &mut health, is_ready).await;
    smsc.next("bind").await;
    // Part 1 of 2 with its header, UCS-2: "Hé €".
    smsc.command(serde_json::json!({
        "cmd": "deliver", "tag": 1, "source": "15551230000", "esm_class": 64, "data_coding": 8,
        "hex": "0500032a0201004800e9002020ac"
    }))
    .await;
    let ModemEvent::IncomingPart(part) = next_event(&mut events, &mut health).await else {
        panic!("expected a text");
    };
    let Ok(Pdu {
        tpdu: Tpdu::Deliver(deliver),
        ..
    }) = Pdu::decode_hex(&part.pdu_hex, SmscField::Present)
    else {
        panic!("not a DELIVER: {}", part.pdu_hex);
    };
    assert_eq!(deliver.sender.number, "+15551230000");
    assert_eq!(deliver.user_data.as_text(), Some("Hé €"));
    let concatenation = deliver
        .user_data
        .header
        .as_ref()
        .and_then(|h| h.concatenation())
        .expect("the header survives");
    assert_eq!(
        (
            concatenation.reference,
            concatenation.total,
            concatenation.sequence
        ),
        (0x2A, 2, 1)
    );
    // A full round trip through the SMSC: had the driver answered the deliver_sm, the
    // SMSC would have seen it before this submit.
    driver
        .send(message("+15551230000", "ok"))
        .await
        .expect("sent");
    smsc.next("submit_sm").await;
    smsc.settle().await;
    assert_eq!(
        smsc.count("deliver_sm_resp"),
        0,
        "answered before it was stored"
    );
    part.ack.acknowledge().expect("driver runs");
    assert_eq!(smsc.next("deliver_sm_resp").await["command_status"], 0);
}

#[tokio::test]
async fn throttling_slows_down_and_refusals_keep_their_meaning() {
    let mut smsc = start_smsc().await;
    let (driver, mut events) = SmppDriver::spawn(config(&smsc)).expect("starts");
    let mut health = Vec::new();
    until_health(&mut events, &mut health, is_ready).await;

    smsc.command(serde_json::json!({"cmd": "throttle", "count": 2}))
        .await;
    smsc.settle().await;
    let references = driver
        .send(message("+15551234567", "slowly"))
        .await
        .expect("sent after the throttling");
    assert_eq!(references.len(), 1);
    smsc.settle().await;
    assert_eq!(
        smsc.count("submit_sm"),
        3,
        "the same part twice throttled, then taken"
    );

    // ESME_RINVDSTADR: final, the outbox must not try again.
    smsc.command(serde_json::json!({"cmd": "refuse", "status": 0x0B, "count": 1}))
        .await;
    smsc.settle().await;
    let error = driver
        .send(message("+15551234567", "nowhere"))
        .await
        .expect_err("refused");
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(error.to_string().contains("ESME_RINVDSTADR"), "{error}");
    // ESME_RMSGQFUL: worth another try later.
    smsc.command(serde_json::json!({"cmd": "refuse", "status": 0x14, "count": 1}))
        .await;
    smsc.settle().await;
    let error = driver
        .send(message("+15551234567", "later"))
        .await
        .expect_err("refused");
    assert_eq!(error.class(), ErrorClass::Retryable);
}

#[tokio::test]
async fn a_connection_lost_mid_window_fails_the_unanswered_part_as_unknown_and_reconnects() {
    let mut smsc = start_smsc().await;
    let (driver, mut events) = SmppDriver::spawn(config(&smsc)).expect("starts");
    let mut health = Vec::new();
    until_health(&mut events, &mut health, is_ready).await;

    smsc.command(serde_json::json!({"cmd": "hold", "on": true}))
        .await;
    smsc.settle().await;
    let sending = {
        let driver = driver.clone();
        tokio::spawn(async move { driver.send(message("+15551234567", "in the air")).await })
    };
    smsc.next("submit_sm").await;
    smsc.command(serde_json::json!({"cmd": "hold", "on": false}))
        .await;
    smsc.command(serde_json::json!({"cmd": "close"})).await;
    // node-smpp may answer the held submit before the socket goes; either way the result
    // must be honest: accepted with an id, or "may or may not have been sent".
    let result = timeout(WAIT, sending)
        .await
        .expect("answered in time")
        .expect("joins");
    if let Err(error) = &result {
        assert!(
            matches!(error.failure, SendFailure::Timeout { .. }),
            "{error}"
        );
        assert_eq!(error.class(), ErrorClass::Retryable);
    }
    health.clear();
    until_health(&mut events, &mut health, |h| {
        matches!(h, HealthChange::Disconnected { .. })
    })
    .await;
    until_health(&mut events, &mut health, is_ready).await;
    driver
        .send(message("+15551234567", "after the reconnect"))
        .await
        .expect("sent again");
}

#[tokio::test]
async fn wrong_credentials_need_a_person_and_sends_are_refused() {
    let smsc = start_smsc().await;
    let mut config = config(&smsc);
    config.password = "wrong".into();
    let (driver, mut events) = SmppDriver::spawn(config).expect("starts");
    let mut health = Vec::new();
    until_health(&mut events, &mut health, |h| {
        matches!(h, HealthChange::NeedsOperator { .. })
    })
    .await;
    let Some(HealthChange::NeedsOperator { reason }) = health.last() else {
        panic!("{health:?}");
    };
    assert!(
        reason.contains("ESME_RINVPASWD") && reason.contains("password"),
        "{reason}"
    );
    let error = driver
        .send(message("+15551234567", "hi"))
        .await
        .expect_err("refused");
    assert!(
        matches!(error.failure, SendFailure::Unavailable(_)),
        "{error}"
    );
    assert!(driver.status().await.is_err());
}

/// A certificate authority and a certificate for "localhost" it signed, made with the
/// openssl command in `dir`: returns (CA, server key, server certificate).
fn certificates(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let run = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs (scripts/test installs it)");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=textgate test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("writes");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.key"),
        dir.join("server.pem"),
    )
}

#[tokio::test]
async fn over_tls_the_certificate_is_checked_and_texts_go_out() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (ca, key, cert) = certificates(dir.path());
    let mut smsc = Smsc::start_tls(&key, &cert)
        .await
        .expect("the TLS SMSC starts");

    // Without the private CA the certificate is refused: no bind, and the reason says TLS.
    let mut untrusted = config(&smsc);
    untrusted.tls = Some(textgate_smpp_driver::TlsSettings {
        server_name: Some("localhost".into()),
        ca_file: None,
    });
    let (refused, mut refused_events) = SmppDriver::spawn(untrusted).expect("starts");
    let mut health = Vec::new();
    until_health(
        &mut refused_events,
        &mut health,
        |h| matches!(h, HealthChange::Disconnected { reason, .. } if reason.contains("TLS")),
    )
    .await;
    drop(refused);

    // With it, the bind and a text go through.
    let mut trusted = config(&smsc);
    trusted.tls = Some(textgate_smpp_driver::TlsSettings {
        server_name: Some("localhost".into()),
        ca_file: Some(ca),
    });
    let (driver, mut events) = SmppDriver::spawn(trusted).expect("starts");
    let mut health = Vec::new();
    until_health(&mut events, &mut health, is_ready).await;
    assert_eq!(smsc.next("bind").await["ok"], true);
    let references = driver
        .send(message("+15551234567", "over TLS"))
        .await
        .expect("sent");
    assert_eq!(references.len(), 1);
    assert_eq!(smsc.next("submit_sm").await["message"], "over TLS");
}

#[tokio::test]
async fn a_transmitter_and_a_receiver_share_the_work() {
    let mut smsc = start_smsc().await;
    let mut config = config(&smsc);
    config.bind = textgate_smpp_driver::BindMode::TransmitterReceiver;
    let (driver, mut events) = SmppDriver::spawn(config).expect("starts");
    let mut health = Vec::new();
    until_health(&mut events, &mut health, is_ready).await;
    let mut kinds = vec![
        smsc.next("bind").await["kind"].clone(),
        smsc.next("bind").await["kind"].clone(),
    ];
    kinds.sort_by_key(|k| k.to_string());
    assert_eq!(kinds, ["receiver", "transmitter"]);

    // Out on the transmitter; its receipt comes back on the receiver.
    let references = driver
        .send(message("+15551234567", "two binds"))
        .await
        .expect("sent");
    assert_eq!(smsc.next("submit_sm").await["message"], "two binds");
    smsc.command(serde_json::json!({
        "cmd": "deliver", "tag": 9, "source": "15557654321", "data_coding": 0,
        "hex": "68656c6c6f"
    }))
    .await;
    // The receipt for the text sent and the text from the phone, in either order.
    let mut receipts = 0;
    let part = loop {
        match next_event(&mut events, &mut health).await {
            ModemEvent::IncomingPart(part) => break part,
            ModemEvent::Receipt(receipt) => {
                assert_eq!(receipt.reference, references[0]);
                receipt.ack.acknowledge().expect("driver runs");
                receipts += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let Ok(Pdu {
        tpdu: Tpdu::Deliver(deliver),
        ..
    }) = Pdu::decode_hex(&part.pdu_hex, SmscField::Present)
    else {
        panic!("not a DELIVER");
    };
    assert_eq!(deliver.user_data.as_text(), Some("hello"));
    part.ack.acknowledge().expect("driver runs");
    assert_eq!(smsc.next("deliver_sm_resp").await["command_status"], 0);
    if receipts == 0 {
        let ModemEvent::Receipt(receipt) = next_event(&mut events, &mut health).await else {
            panic!("expected the receipt");
        };
        assert_eq!(receipt.reference, references[0]);
        receipt.ack.acknowledge().expect("driver runs");
    }
    // The receipt's answer may have passed while waiting for the text's.
    smsc.until_count("receipt_resp", 1).await;
}

#[tokio::test]
async fn slow_answers_fill_the_window_and_nothing_is_lost_or_doubled() {
    let mut smsc = start_smsc().await;
    let mut config = config(&smsc);
    config.window = 3;
    config.registered_delivery = false;
    let (driver, mut events) = SmppDriver::spawn(config).expect("starts");
    let mut health = Vec::new();
    until_health(&mut events, &mut health, is_ready).await;
    smsc.command(serde_json::json!({"cmd": "hold", "on": true}))
        .await;
    smsc.settle().await;
    // Five texts at once; the SMSC answers none of them for now.
    let sends: Vec<_> = (0..5)
        .map(|n| {
            let driver = driver.clone();
            tokio::spawn(async move {
                driver
                    .send(message("+15551234567", &format!("slow {n}")))
                    .await
            })
        })
        .collect();
    smsc.until_count("submit_sm", 3).await;
    smsc.settle().await;
    assert_eq!(
        smsc.count("submit_sm"),
        3,
        "the window holds three unanswered"
    );
    // The answers come late: every text goes, each once.
    smsc.command(serde_json::json!({"cmd": "hold", "on": false}))
        .await;
    let mut ids = std::collections::BTreeSet::new();
    for send in sends {
        let references = timeout(WAIT, send)
            .await
            .expect("answered")
            .expect("joins")
            .expect("sent");
        ids.extend(references.into_iter().map(|r| r.to_string()));
    }
    assert_eq!(ids.len(), 5, "five texts, five ids");
    smsc.settle().await;
    assert_eq!(smsc.count("submit_sm"), 5, "nothing sent twice");
}

#[tokio::test]
async fn a_long_text_as_one_message_payload_is_one_submit_with_one_receipt() {
    let mut smsc = start_smsc().await;
    let mut config = config(&smsc);
    config.multipart = textgate_smpp_driver::Multipart::Payload;
    let (driver, mut events) = SmppDriver::spawn(config).expect("starts");
    let mut health = Vec::new();
    until_health(&mut events, &mut health, is_ready).await;
    let long = "Кнігі можна вярнуць да пятніцы. ".repeat(4);
    let references = driver
        .send(message("+15551234567", &long))
        .await
        .expect("sent");
    assert!(references.len() >= 2, "{references:?}");
    assert!(
        references.iter().all(|r| r == &references[0]),
        "one id for every part"
    );
    let submit = smsc.next("submit_sm").await;
    assert_eq!(submit["data_coding"], 8, "{submit}");
    assert_eq!(submit["esm_class"], 0, "{submit}");
    assert_eq!(submit["payload"], long.as_str(), "{submit}");
    smsc.settle().await;
    assert_eq!(smsc.count("submit_sm"), 1, "one submit for the whole text");
    let ModemEvent::Receipt(receipt) = next_event(&mut events, &mut health).await else {
        panic!("expected the receipt");
    };
    assert_eq!(receipt.reference, references[0]);
    receipt.ack.acknowledge().expect("driver runs");
}
