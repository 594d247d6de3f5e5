//! Any octets as a webhook request from the phone: the signature check and the body's
//! parsing never panic, whatever the headers and the body hold, and a received text's
//! de-duplication key is the same when its webhook is read twice.
#![no_main]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use textgate_android::{verify_signature, DedupKey, Webhook, WebhookEvent};

fuzz_target!(|data: &[u8]| {
    // The first two octets say how long the timestamp and signature headers are; the
    // rest is the body.
    let (headers, body) = match data {
        [t, s, rest @ ..] => ((*t as usize, *s as usize), rest),
        _ => ((0, 0), data),
    };
    let (timestamp, rest) = body.split_at(headers.0.min(body.len()));
    let (signature, body) = rest.split_at(headers.1.min(rest.len()));
    let now = Utc.timestamp_opt(1_764_720_000, 0).single().expect("a time");
    let _ = verify_signature(
        "fuzzkey1",
        body,
        Some(timestamp),
        Some(signature),
        now,
        Duration::from_secs(300),
    );
    if let Ok(webhook) = Webhook::parse(body) {
        if let WebhookEvent::Received(sms) = &webhook.event {
            let again = Webhook::parse(body).expect("parses twice");
            let WebhookEvent::Received(same) = &again.event else {
                panic!("the same body parsed as another event")
            };
            assert_eq!(DedupKey::for_received(sms), DedupKey::for_received(same));
        }
    }
});
