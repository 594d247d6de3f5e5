//! The driver against the simulated SMSGate app (`textgate-androidsim`) over real HTTP on
//! loopback: the driver serves its webhook endpoint on a listener of its own, as the daemon
//! does, and the phone posts to it, signed.
//!
//! Each test drives one behaviour the issue asks for: a send under our id and its receipt,
//! a retry that must not send twice, a text in that is answered only once handed over, the
//! phone gone and back, late webhooks made up for by polling, and a forged signature.

use std::time::Duration;

use chrono::{FixedOffset, TimeZone};
use textgate_android_driver::{AndroidApiMode, AndroidConfig, AndroidDriver, SimNumber};
use textgate_androidsim::{AttemptOutcome, Phone, PhoneConfig};
use textgate_gsm::pdu::Address;
use textgate_gsm::segment::{Segmenter, SubmitOptions};
use textgate_modem::{
    DeliveryReceipt, ErrorClass, HealthChange, ModemEvent, ModemEvents, OutgoingSms,
    ReceiptOutcome, SmsDriver,
};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(20);
const GATEWAY: &str = "phone";

/// A driver for `phone`, its endpoint served on a listener kept from bind to the end.
async fn driver_for(
    phone: &Phone,
    tune: impl FnOnce(&mut AndroidConfig),
) -> (AndroidDriver, ModemEvents) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the endpoint");
    let address = listener.local_addr().expect("the endpoint's address");
    let phone_config = phone.config();
    let mut config = AndroidConfig::new(
        GATEWAY,
        &phone.base_url(),
        AndroidApiMode::Local,
        &phone_config.username,
        &phone_config.password,
        &phone_config.signing_key,
        &format!(
            "http://{address}{}",
            textgate_android_driver::webhook_path(GATEWAY)
        ),
    );
    config.request_timeout = Duration::from_secs(2);
    tune(&mut config);
    let (driver, events) = AndroidDriver::spawn(config);
    let router = driver.router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (driver, events)
}

fn quick_phone() -> PhoneConfig {
    PhoneConfig {
        send_delay: Duration::from_millis(20),
        delivery_delay: Duration::from_millis(20),
        webhook_retry_base: Duration::from_millis(100),
        ..PhoneConfig::default()
    }
}

fn outgoing(text: &str, recipient: &str, key: &str) -> OutgoingSms {
    let address = Address::from_number(recipient).expect("a valid test number");
    let pdus = Segmenter::default()
        .submit_pdus(text, 7, &address, &SubmitOptions::default())
        .expect("the test text segments");
    let mut sms = OutgoingSms::from_pdus(recipient, text, &pdus).expect("the test PDUs encode");
    sms.key = Some(key.to_owned());
    sms
}

/// The next event that `pick` takes, skipping others; fails after [`WAIT`].
async fn next_event<T>(
    events: &mut ModemEvents,
    mut pick: impl FnMut(ModemEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the awaited event came in time")
            .expect("the driver is running");
        if let Some(found) = pick(event) {
            return found;
        }
    }
}

async fn next_receipt(events: &mut ModemEvents) -> DeliveryReceipt {
    next_event(events, |event| match event {
        ModemEvent::Receipt(receipt) => Some(receipt),
        _ => None,
    })
    .await
}

async fn ready(events: &mut ModemEvents) {
    next_event(events, |event| {
        matches!(event, ModemEvent::Health(HealthChange::Ready { .. })).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_reply_goes_out_under_our_id_and_its_delivery_becomes_a_receipt() {
    let phone = Phone::start(quick_phone()).await.expect("the phone starts");
    let (driver, mut events) = driver_for(&phone, |_| {}).await;
    ready(&mut events).await;
    // Our webhooks are registered under our own ids, one per event.
    let registered: Vec<String> = phone
        .registered_webhooks()
        .into_iter()
        .map(|r| r.event)
        .collect();
    for event in ["sms:received", "sms:sent", "sms:delivered", "sms:failed"] {
        assert!(
            registered.iter().any(|e| e == event),
            "{event} not in {registered:?}"
        );
    }

    let text = "Your hold is ready at the front desk. ".repeat(6);
    let references = tokio::time::timeout(
        WAIT,
        driver.send(outgoing(&text, "+15551230001", "tg1-1764800000000")),
    )
    .await
    .expect("the send ends")
    .expect("the phone sent it");
    let sent = phone.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].id, "tg1-1764800000000");
    assert_eq!(sent[0].phone_number, "+15551230001");
    assert_eq!(sent[0].text, text);
    assert!(sent[0].with_delivery_report);
    // Every part is reported, under the one message id the phone knows.
    assert_eq!(references.len(), usize::try_from(sent[0].parts).unwrap());

    let receipt = next_receipt(&mut events).await;
    assert_eq!(receipt.reference, references[0]);
    assert_eq!(receipt.outcome, Some(ReceiptOutcome::Delivered));
    assert_eq!(receipt.recipient.as_deref(), Some("+15551230001"));
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_does_not_send_twice() {
    let phone = Phone::start(quick_phone()).await.expect("the phone starts");
    let (driver, mut events) = driver_for(&phone, |_| {}).await;
    ready(&mut events).await;
    let sms = outgoing("See you at 5.", "+15551230002", "tg2-1764800000000");
    driver.send(sms.clone()).await.expect("the first attempt");
    // The outbox tries again (it never heard the first answer): same key, so the phone
    // answers 409 and the driver finds the earlier message already sent.
    let again = tokio::time::timeout(WAIT, driver.send(sms))
        .await
        .expect("the second attempt ends");
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(phone.sent().len(), 1, "{:?}", phone.sent());
}

#[tokio::test]
async fn a_busy_phone_is_retried_later_and_the_text_goes_once() {
    let phone = Phone::start(quick_phone()).await.expect("the phone starts");
    let (driver, mut events) = driver_for(&phone, |_| {}).await;
    ready(&mut events).await;
    phone.fail_next_sends(1, 429);
    let sms = outgoing("Renewed until Friday.", "+15551230003", "tg3-1764800000000");
    let first = driver
        .send(sms.clone())
        .await
        .expect_err("429 is not a send");
    assert_eq!(first.class(), ErrorClass::Retryable, "{first:?}");
    assert!(phone.sent().is_empty());
    phone.fail_next_sends(1, 503);
    let second = driver
        .send(sms.clone())
        .await
        .expect_err("503 is not a send");
    assert_eq!(second.class(), ErrorClass::Retryable, "{second:?}");
    driver.send(sms).await.expect("the third attempt goes");
    assert_eq!(phone.sent().len(), 1);
}

#[tokio::test]
async fn a_text_in_is_answered_only_once_handed_over_and_a_repeat_gives_the_same_pdus() {
    let phone = Phone::start(quick_phone()).await.expect("the phone starts");
    let (_driver, mut events) = driver_for(&phone, |_| {}).await;
    ready(&mut events).await;
    phone.duplicate_webhooks(true);
    let at = FixedOffset::east_opt(0)
        .and_then(|zone| zone.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).single())
        .expect("a time");
    phone.receive("+15551239999", "Is the library open today?", at, 1);
    let mut copies = Vec::new();
    for _ in 0..2 {
        let part = next_event(&mut events, |event| match event {
            ModemEvent::IncomingPart(part) => Some(part),
            _ => None,
        })
        .await;
        copies.push(part.pdu_hex.clone());
        // Not yet handed over: the phone's POST still waits for its answer.
        let answered = phone
            .webhook_log()
            .iter()
            .filter(|a| a.event == "sms:received" && a.outcome.is_success())
            .count();
        assert_eq!(answered, copies.len() - 1);
        part.ack
            .acknowledge()
            .expect("the driver takes the acknowledgement");
    }
    // Both copies are the same text, to the byte: the store keeps one.
    assert_eq!(copies[0], copies[1]);
    phone
        .wait_webhook(
            |a| a.event == "sms:received" && a.attempt == 2 && a.outcome.is_success(),
            WAIT,
        )
        .await
        .expect("the repeat is answered 2xx too");
}

#[tokio::test]
async fn a_forged_webhook_is_refused_and_hands_nothing_over() {
    let phone = Phone::start(quick_phone()).await.expect("the phone starts");
    // The driver holds another key than the phone signs with.
    let (_driver, mut events) = driver_for(&phone, |config| {
        config.signing_key = "not-the-phones-key".to_owned();
    })
    .await;
    ready(&mut events).await;
    let at = FixedOffset::east_opt(0)
        .and_then(|zone| zone.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).single())
        .expect("a time");
    phone.receive("+15551239999", "forged?", at, 1);
    let attempt = phone
        .wait_webhook(|a| a.event == "sms:received", WAIT)
        .await
        .expect("the phone posted");
    assert_eq!(attempt.outcome, AttemptOutcome::Status(401));
    // Nothing came out of the driver for it (the next event, if any, is not a text).
    let nothing = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            match events.recv().await {
                Some(ModemEvent::IncomingPart(part)) => return Some(part),
                Some(_) => {}
                None => return None,
            }
        }
    })
    .await;
    assert!(
        !matches!(nothing, Ok(Some(_))),
        "a forged text was handed over"
    );
}

#[tokio::test]
async fn a_late_status_webhook_is_made_up_for_by_asking_the_phone() {
    let phone = Phone::start(quick_phone()).await.expect("the phone starts");
    let (driver, mut events) = driver_for(&phone, |config| {
        config.poll_interval = Duration::from_millis(200);
    })
    .await;
    ready(&mut events).await;
    phone.hold_status_webhooks(true);
    let references = tokio::time::timeout(
        WAIT,
        driver.send(outgoing("Late news.", "+15551230004", "tg4-1764800000000")),
    )
    .await
    .expect("the send ends without its webhook")
    .expect("the phone sent it");
    let receipt = next_receipt(&mut events).await;
    assert_eq!(receipt.reference, references[0]);
    assert_eq!(receipt.outcome, Some(ReceiptOutcome::Delivered));
    assert_eq!(receipt.description, "looked up on the phone");
    // The held webhooks arrive after all: the receipt is not given twice.
    phone.hold_status_webhooks(false);
    phone
        .wait_webhook(
            |a| a.event == "sms:delivered" && a.outcome.is_success(),
            WAIT,
        )
        .await
        .expect("the late webhook is answered");
    let again = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            if let Some(ModemEvent::Receipt(receipt)) = events.recv().await {
                return receipt;
            }
        }
    })
    .await;
    assert!(again.is_err(), "a second receipt: {again:?}");
}

#[tokio::test]
async fn a_phone_gone_makes_the_driver_unready_and_the_reply_waits_for_it() {
    let phone = Phone::start(quick_phone()).await.expect("the phone starts");
    let (driver, mut events) = driver_for(&phone, |config| {
        config.offline_after = Duration::from_secs(1);
        config.request_timeout = Duration::from_millis(500);
    })
    .await;
    ready(&mut events).await;
    phone.set_offline(true);
    next_event(&mut events, |event| {
        matches!(event, ModemEvent::Health(HealthChange::Disconnected { .. })).then_some(())
    })
    .await;
    assert!(driver.status().await.is_err());
    // A reply while the phone is gone waits (it does not use up its attempts).
    let mut send = tokio::spawn({
        let driver = driver.clone();
        async move {
            driver
                .send(outgoing(
                    "We open at 9.",
                    "+15551230005",
                    "tg5-1764800000000",
                ))
                .await
        }
    });
    let early = tokio::time::timeout(Duration::from_millis(500), &mut send).await;
    assert!(
        early.is_err(),
        "the send ended while the phone was gone: {early:?}"
    );
    assert!(phone.sent().is_empty());
    phone.set_offline(false);
    ready(&mut events).await;
    let sent = tokio::time::timeout(WAIT, send)
        .await
        .expect("the waiting reply goes once the phone is back")
        .expect("the send task");
    assert!(sent.is_ok(), "{sent:?}");
    assert_eq!(phone.sent().len(), 1);
    assert!(driver.status().await.is_ok());
}

#[tokio::test]
async fn a_text_the_network_refuses_is_a_refusal_with_the_phones_reason() {
    let phone = Phone::start(quick_phone()).await.expect("the phone starts");
    let (driver, mut events) = driver_for(&phone, |_| {}).await;
    ready(&mut events).await;
    phone.refuse_next_sends(1, "Send result: RESULT_INVALID_SMS_FORMAT (invalid format)");
    let refused = tokio::time::timeout(
        WAIT,
        driver.send(outgoing("x", "+15551230006", "tg6-1764800000000")),
    )
    .await
    .expect("the send ends")
    .expect_err("the network refused it");
    let message = refused.to_string();
    assert!(message.contains("RESULT_INVALID_SMS_FORMAT"), "{message}");
    assert_eq!(refused.class(), ErrorClass::Final, "{refused:?}");
    assert!(phone.sent().is_empty());
}

#[tokio::test]
async fn the_configured_sim_sends() {
    let phone = Phone::start(PhoneConfig {
        sim_count: 2,
        ..quick_phone()
    })
    .await
    .expect("the phone starts");
    let (driver, mut events) = driver_for(&phone, |config| {
        config.sim = SimNumber::new(2);
    })
    .await;
    ready(&mut events).await;
    driver
        .send(outgoing(
            "From the second SIM.",
            "+15551230007",
            "tg7-1764800000000",
        ))
        .await
        .expect("the phone sent it");
    let sent = phone.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].sim, 2, "{sent:?}");
}
