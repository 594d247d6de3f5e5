use chrono::{DateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::*;
use crate::send::tests::XorShift;

// The payloads below are written as docs.sms-gate.app shows them (features/webhooks,
// "Step 5: Receive the Payload"; source android-sms-gateway/docs-web,
// docs/features/webhooks.md at af975373c77ceb9f5d1ad40db3d6c71c290293c1).

const DOC_RECEIVED: &str = r#"{
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "event": "sms:received",
  "id": "Ey6ECgOkVVFjz3CL48B8C",
  "payload": {
    "messageId": "abc123",
    "message": "Android is always a sweet treat!",
    "sender": "6505551212",
    "recipient": "+1234567890",
    "simNumber": 1,
    "receivedAt": "2024-06-22T15:46:11.000+07:00"
  },
  "webhookId": "LreFUt-Z3sSq0JufY9uWB"
}"#;

const DOC_DATA_RECEIVED: &str = r#"{
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "event": "sms:data-received",
  "id": "Ey6ECgOkVVFjz3CL48B8C",
  "payload": {
    "messageId": "abc123",
    "data": "SGVsbG8gRGF0YSBXb3JsZCE=",
    "sender": "6505551212",
    "recipient": "+1234567890",
    "simNumber": 1,
    "receivedAt": "2024-06-22T15:46:11.000+07:00"
  },
  "webhookId": "LreFUt-Z3sSq0JufY9uWB"
}"#;

const DOC_MMS_RECEIVED: &str = r#"{
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "event": "mms:received",
  "id": "Ey6ECgOkVVFjz3CL48B8C",
  "payload": {
    "messageId": "mms_12345abcde",
    "sender": "6505551212",
    "recipient": "+1234567890",
    "simNumber": 1,
    "transactionId": "T1234567890ABC",
    "subject": "Photo attachment",
    "size": 125684,
    "contentClass": "IMAGE_BASIC",
    "receivedAt": "2025-08-23T05:15:30.000+07:00"
  },
  "webhookId": "LreFUt-Z3sSq0JufY9uWB"
}"#;

const DOC_MMS_DOWNLOADED: &str = r#"{
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "event": "mms:downloaded",
  "id": "Ey6ECgOkVVFjz3CL48B8C",
  "payload": {
    "messageId": "mms_12345abcde",
    "sender": "6505551212",
    "recipient": "+1234567890",
    "simNumber": 1,
    "body": "Hello! Here is the photo.",
    "subject": "Photo attachment",
    "attachments": [
      {
        "partId": 1,
        "contentType": "image/jpeg",
        "name": "photo.jpg",
        "size": 125684,
        "data": "/9j/4AAQ..."
      }
    ],
    "receivedAt": "2025-08-23T05:15:35.000+07:00"
  },
  "webhookId": "LreFUt-Z3sSq0JufY9uWB"
}"#;

const DOC_SENT: &str = r#"{
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "event": "sms:sent",
  "id": "Ey6ECgOkVVFjz3CL48B8C",
  "payload": {
    "messageId": "msg-456",
    "sender": "+1234567890",
    "recipient": "+9998887777",
    "simNumber": 1,
    "partsCount": 1,
    "sentAt": "2026-02-18T02:05:00.000+07:00"
  },
  "webhookId": "LreFUt-Z3sSq0JufY9uWB"
}"#;

const DOC_DELIVERED: &str = r#"{
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "event": "sms:delivered",
  "id": "Ey6ECgOkVVFjz3CL48B8C",
  "payload": {
    "messageId": "msg-789",
    "sender": "+1234567890",
    "recipient": "+9998887777",
    "simNumber": 1,
    "deliveredAt": "2026-02-18T02:10:00.000+07:00"
  },
  "webhookId": "LreFUt-Z3sSq0JufY9uWB"
}"#;

const DOC_FAILED: &str = r#"{
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "event": "sms:failed",
  "id": "Ey6ECgOkVVFjz3CL48B8C",
  "payload": {
    "messageId": "msg-000",
    "sender": "+1234567890",
    "recipient": "+4445556666",
    "simNumber": 3,
    "failedAt": "2026-02-18T02:15:00.000+07:00",
    "reason": "Network error"
  },
  "webhookId": "LreFUt-Z3sSq0JufY9uWB"
}"#;

const DOC_CANCELLED: &str = r#"{
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "event": "sms:cancelled",
  "id": "Ey6ECgOkVVFjz3CL48B8C",
  "payload": {
    "messageId": "msg-456",
    "sender": "+1234567890",
    "recipient": "+9998887777",
    "simNumber": 1,
    "cancelledAt": "2026-06-22T10:00:00.000+07:00"
  },
  "webhookId": "LreFUt-Z3sSq0JufY9uWB"
}"#;

const DOC_APP_STARTED: &str = r#"{
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "event": "app:started",
  "id": "Ey6ECgOkVVFjz3CL48B8C",
  "payload": {
    "simCards": [
      {
        "slotIndex": 0,
        "simNumber": 1,
        "phoneNumber": "+79990001234",
        "carrierName": "MTS",
        "iccid": "897010112233445"
      }
    ]
  },
  "webhookId": "LreFUt-Z3sSq0JufY9uWB"
}"#;

/// docs.sms-gate.app, features/status-tracking ("Sample Webhook Payload"): abbreviated,
/// with no envelope `id`, and with both the new and the deprecated number fields.
const DOC_STATUS_TRACKING_FAILED: &str = r#"{
  "event": "sms:failed",
  "payload": {
    "messageId": "zXDYfTmTVf3iMd16zzdBj",
    "sender": "+1234567890",
    "recipient": "+9876543210",
    "phoneNumber": "+9876543210",
    "simNumber": 1,
    "failedAt": "2024-02-20T15:30:00Z",
    "reason": "Invalid number"
  }
}"#;

/// `system:ping` is documented only by its field (`health`, the health check's answer,
/// features/health); this body follows `EventsReceiver.kt` and that page.
const PING: &str = r#"{
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "event": "system:ping",
  "id": "Ey6ECgOkVVFjz3CL48B8C",
  "payload": {
    "health": {
      "status": "pass",
      "version": "1.68.0",
      "releaseId": 1,
      "checks": {
        "battery:level": {
          "description": "Battery level in percent",
          "observedUnit": "percent",
          "observedValue": 94,
          "status": "pass"
        }
      }
    }
  },
  "webhookId": "LreFUt-Z3sSq0JufY9uWB"
}"#;

const ALL_BODIES: [&str; 11] = [
    DOC_RECEIVED,
    DOC_DATA_RECEIVED,
    DOC_MMS_RECEIVED,
    DOC_MMS_DOWNLOADED,
    DOC_SENT,
    DOC_DELIVERED,
    DOC_FAILED,
    DOC_CANCELLED,
    DOC_APP_STARTED,
    DOC_STATUS_TRACKING_FAILED,
    PING,
];

fn time(text: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(text).expect("test time")
}

fn parse(body: &str) -> Webhook {
    Webhook::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn parse_error(body: &str) -> String {
    match Webhook::parse(body.as_bytes()) {
        Ok(webhook) => panic!("parsed {webhook:?}"),
        Err(e) => e.to_string(),
    }
}

fn sim(n: u8) -> Option<SimNumber> {
    SimNumber::new(n)
}

#[test]
fn documented_sms_received() {
    let webhook = parse(DOC_RECEIVED);
    assert_eq!(webhook.id.as_deref(), Some("Ey6ECgOkVVFjz3CL48B8C"));
    assert_eq!(webhook.webhook_id.as_deref(), Some("LreFUt-Z3sSq0JufY9uWB"));
    assert_eq!(
        webhook.device_id.as_deref(),
        Some("ffffffffceb0b1db0000018e937c815b")
    );
    assert_eq!(
        webhook.event,
        WebhookEvent::Received(ReceivedSms {
            message_id: "abc123".to_owned(),
            sender: "6505551212".to_owned(),
            recipient: Some("+1234567890".to_owned()),
            text: "Android is always a sweet treat!".to_owned(),
            received_at: time("2024-06-22T15:46:11+07:00"),
            sim: sim(1),
        })
    );
}

#[test]
fn documented_sms_sent() {
    assert_eq!(
        parse(DOC_SENT).event,
        WebhookEvent::Sent(SentSms {
            message_id: "msg-456".to_owned(),
            recipient: "+9998887777".to_owned(),
            sender: Some("+1234567890".to_owned()),
            sim: sim(1),
            parts_count: Some(1),
            sent_at: time("2026-02-18T02:05:00+07:00"),
        })
    );
}

#[test]
fn documented_sms_delivered() {
    assert_eq!(
        parse(DOC_DELIVERED).event,
        WebhookEvent::Delivered(DeliveredSms {
            message_id: "msg-789".to_owned(),
            recipient: "+9998887777".to_owned(),
            sender: Some("+1234567890".to_owned()),
            sim: sim(1),
            delivered_at: time("2026-02-18T02:10:00+07:00"),
        })
    );
}

#[test]
fn documented_sms_failed() {
    assert_eq!(
        parse(DOC_FAILED).event,
        WebhookEvent::Failed(FailedSms {
            message_id: "msg-000".to_owned(),
            recipient: "+4445556666".to_owned(),
            sender: Some("+1234567890".to_owned()),
            sim: sim(3),
            failed_at: time("2026-02-18T02:15:00+07:00"),
            reason: "Network error".to_owned(),
        })
    );
}

#[test]
fn documented_status_tracking_sample_without_envelope_id() {
    let webhook = parse(DOC_STATUS_TRACKING_FAILED);
    assert_eq!(webhook.id, None);
    assert_eq!(webhook.webhook_id, None);
    assert_eq!(
        webhook.event,
        WebhookEvent::Failed(FailedSms {
            message_id: "zXDYfTmTVf3iMd16zzdBj".to_owned(),
            recipient: "+9876543210".to_owned(),
            sender: Some("+1234567890".to_owned()),
            sim: sim(1),
            failed_at: time("2024-02-20T15:30:00Z"),
            reason: "Invalid number".to_owned(),
        })
    );
}

#[test]
fn documented_sms_cancelled() {
    assert_eq!(
        parse(DOC_CANCELLED).event,
        WebhookEvent::Cancelled(CancelledSms {
            message_id: "msg-456".to_owned(),
            recipient: "+9998887777".to_owned(),
            sender: Some("+1234567890".to_owned()),
            sim: sim(1),
            cancelled_at: time("2026-06-22T10:00:00+07:00"),
        })
    );
}

#[test]
fn documented_events_we_do_not_read_are_kept_by_name() {
    for (body, name) in [
        (DOC_DATA_RECEIVED, "sms:data-received"),
        (DOC_MMS_RECEIVED, "mms:received"),
        (DOC_MMS_DOWNLOADED, "mms:downloaded"),
        (DOC_APP_STARTED, "app:started"),
    ] {
        let webhook = parse(body);
        assert_eq!(webhook.event, WebhookEvent::Unknown(name.to_owned()));
        assert_eq!(webhook.id.as_deref(), Some("Ey6ECgOkVVFjz3CL48B8C"));
    }
    // The server's batch events, and anything later, likewise; their payload is not read.
    let batch = r#"{"id":"x","event":"sms:batch:received","payload":[1,2]}"#;
    assert_eq!(
        parse(batch).event,
        WebhookEvent::Unknown("sms:batch:received".to_owned())
    );
}

#[test]
fn ping() {
    assert_eq!(
        parse(PING).event,
        WebhookEvent::Ping {
            health: Some(HealthStatus::Pass)
        }
    );
    let bare = r#"{"id":"p","event":"system:ping"}"#;
    assert_eq!(parse(bare).event, WebhookEvent::Ping { health: None });
    let odd = r#"{"id":"p","event":"system:ping","payload":{"health":{"status":"degraded"}}}"#;
    assert_eq!(parse(odd).event, WebhookEvent::Ping { health: None });
    let fail = r#"{"id":"p","event":"system:ping","payload":{"health":{"status":"fail"}}}"#;
    assert_eq!(
        parse(fail).event,
        WebhookEvent::Ping {
            health: Some(HealthStatus::Fail)
        }
    );
    assert_eq!(
        parse_error(r#"{"id":"p","event":"system:ping","payload":{"health":3}}"#),
        "`payload.health` should be an object, found a number"
    );
}

/// Before app v1.54.0 the payloads had only `phoneNumber` (docs blog, 2026-02-17,
/// "Webhook Payload Enhancement"); `partsCount` is −1 when the app does not know it
/// (`webhooks/EventsReceiver.kt`); `simNumber` is nullable.
#[test]
fn older_apps_and_unknown_values() {
    let received = r#"{"id":"i","event":"sms:received","payload":{"messageId":"a80532bb",
        "phoneNumber":"+4915112345678","message":"123","receivedAt":"2025-11-14T04:39:53.000+03:00"}}"#;
    match parse(received).event {
        WebhookEvent::Received(sms) => {
            assert_eq!(sms.sender, "+4915112345678");
            assert_eq!(sms.recipient, None);
            assert_eq!(sms.sim, None);
        }
        other => panic!("{other:?}"),
    }
    let sent = r#"{"id":"i","event":"sms:sent","payload":{"messageId":"m","phoneNumber":"+1",
        "simNumber":null,"partsCount":-1,"sentAt":"2026-02-18T02:05:00.000+07:00"}}"#;
    match parse(sent).event {
        WebhookEvent::Sent(sms) => {
            assert_eq!(sms.recipient, "+1");
            assert_eq!(sms.sender, None);
            assert_eq!(sms.sim, None);
            assert_eq!(sms.parts_count, None);
        }
        other => panic!("{other:?}"),
    }
    // When both are there, the explicit field wins over the deprecated one.
    let both = r#"{"id":"i","event":"sms:delivered","payload":{"messageId":"m","recipient":"+2",
        "phoneNumber":"+3","deliveredAt":"2026-02-18T02:05:00Z"}}"#;
    match parse(both).event {
        WebhookEvent::Delivered(sms) => assert_eq!(sms.recipient, "+2"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_webhooks_name_what_was_wrong() {
    assert!(parse_error("").starts_with("body is not JSON: "));
    assert!(parse_error("\u{feff}{}").starts_with("body is not JSON: "));
    assert_eq!(
        parse_error("\"sms:received\""),
        "`(body)` should be an object, found a string"
    );
    assert_eq!(parse_error(r#"{"id":"i"}"#), "`event` is missing");
    assert_eq!(
        parse_error(r#"{"id":"i","event":1}"#),
        "`event` should be a string, found a number"
    );
    assert_eq!(
        parse_error(r#"{"id":2,"event":"sms:sent"}"#),
        "`id` should be a string, found a number"
    );
    assert_eq!(
        parse_error(r#"{"id":"i","event":"sms:received"}"#),
        "`payload` is missing"
    );
    assert_eq!(
        parse_error(r#"{"id":"i","event":"sms:received","payload":[]}"#),
        "`payload` should be an object, found an array"
    );
    let received =
        |payload: &str| format!(r#"{{"id":"i","event":"sms:received","payload":{payload}}}"#);
    assert_eq!(
        parse_error(&received(
            r#"{"messageId":"a","sender":"+1","receivedAt":"2024-06-22T15:46:11Z"}"#
        )),
        "`payload.message` is missing"
    );
    assert_eq!(
        parse_error(&received(
            r#"{"messageId":"a","message":"x","receivedAt":"2024-06-22T15:46:11Z"}"#
        )),
        "`payload.sender` is missing"
    );
    assert_eq!(
        parse_error(&received(
            r#"{"messageId":"a","sender":5,"message":"x","receivedAt":"2024-06-22T15:46:11Z"}"#
        )),
        "`payload.sender` should be a string, found a number"
    );
    let bad_time = parse_error(&received(
        r#"{"messageId":"a","sender":"+1","message":"x","receivedAt":1719045971}"#,
    ));
    assert_eq!(
        bad_time,
        "`payload.receivedAt` should be a string, found a number"
    );
    // Android before 7 wrote negative offsets as "+-5:00" (extensions/GsonBuilder.kt).
    let old_offset = parse_error(&received(
        r#"{"messageId":"a","sender":"+1","message":"x","receivedAt":"2024-06-22T15:46:11.000+-5:00"}"#,
    ));
    assert!(
        old_offset.starts_with("`payload.receivedAt` is invalid: \"2024-06-22T15:46:11.000+-5:00\" is not an RFC 3339 time"),
        "{old_offset}"
    );
    for (value, found) in [
        ("0", "0 is not a SIM number"),
        ("-1", "-1 is not a SIM number"),
        ("300", "300 is not a SIM number"),
    ] {
        let body = received(&format!(
            r#"{{"messageId":"a","sender":"+1","message":"x","simNumber":{value},"receivedAt":"2024-06-22T15:46:11Z"}}"#
        ));
        assert_eq!(
            parse_error(&body),
            format!("`payload.simNumber` is invalid: {found} (they start at 1)")
        );
    }
    assert_eq!(
        parse_error(&received(
            r#"{"messageId":"a","sender":"+1","message":"x","simNumber":"1","receivedAt":"2024-06-22T15:46:11Z"}"#
        )),
        "`payload.simNumber` should be an integer, found a string"
    );
    assert_eq!(
        parse_error(&received(
            r#"{"messageId":"a","sender":"+1","message":"x","simNumber":1.5,"receivedAt":"2024-06-22T15:46:11Z"}"#
        )),
        "`payload.simNumber` should be an integer, found a number"
    );
    let sent = |parts: &str| {
        format!(
            r#"{{"id":"i","event":"sms:sent","payload":{{"messageId":"m","recipient":"+1","partsCount":{parts},"sentAt":"2026-02-18T02:05:00Z"}}}}"#
        )
    };
    assert_eq!(
        parse_error(&sent("0")),
        "`payload.partsCount` is invalid: 0 parts"
    );
    assert_eq!(
        parse_error(&sent("-2")),
        "`payload.partsCount` is invalid: -2 parts"
    );
    match parse(&sent("3")).event {
        WebhookEvent::Sent(sms) => assert_eq!(sms.parts_count, Some(3)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_error(
            r#"{"id":"i","event":"sms:failed","payload":{"messageId":"m","recipient":"+1","failedAt":"2026-02-18T02:05:00Z"}}"#
        ),
        "`payload.reason` is missing"
    );
}

// Signatures. The expected value was computed outside this crate, with Python's `hmac`
// module and with `openssl dgst -sha256 -hmac Xq8aPzQ1` (both gave the same digest), over
// the compact form of the documented `sms:received` body followed by "1719045971"
// (2024-06-22T08:46:11Z, the payload's receivedAt). The docs give no example signature.

const SIGNED_BODY: &str = r#"{"deviceId":"ffffffffceb0b1db0000018e937c815b","event":"sms:received","id":"Ey6ECgOkVVFjz3CL48B8C","payload":{"messageId":"abc123","message":"Android is always a sweet treat!","sender":"6505551212","recipient":"+1234567890","simNumber":1,"receivedAt":"2024-06-22T15:46:11.000+07:00"},"webhookId":"LreFUt-Z3sSq0JufY9uWB"}"#;
const SIGNED_KEY: &str = "Xq8aPzQ1";
const SIGNED_AT: i64 = 1_719_045_971;
const SIGNATURE: &str = "703211d6a2ac0a1fd57492225f07cf3c0732a3fd3ab1d0da4165ac23c425fe09";

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().expect("valid time")
}

fn verify(
    body: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    now: i64,
) -> Result<(), SignatureError> {
    verify_signature(
        SIGNED_KEY,
        body.as_bytes(),
        timestamp.map(str::as_bytes),
        signature.map(str::as_bytes),
        at(now),
        RECOMMENDED_TOLERANCE,
    )
}

#[test]
fn signature_matches_the_independent_vector() {
    assert_eq!(
        sign(SIGNED_KEY, SIGNED_BODY.as_bytes(), SIGNED_AT),
        SIGNATURE
    );
    assert_eq!(
        verify(SIGNED_BODY, Some("1719045971"), Some(SIGNATURE), SIGNED_AT),
        Ok(())
    );
    // Upper-case hex and surrounding whitespace are the same signature.
    let upper = SIGNATURE.to_ascii_uppercase();
    assert_eq!(
        verify(
            SIGNED_BODY,
            Some(" 1719045971 "),
            Some(&upper),
            SIGNED_AT + 10
        ),
        Ok(())
    );
    // The body parses as the documented event too.
    assert!(matches!(
        parse(SIGNED_BODY).event,
        WebhookEvent::Received(_)
    ));
}

/// HMAC-SHA256 written out from RFC 2104 over `sha2` alone, to check [`sign`] against
/// something that does not use the `hmac` crate, including keys longer than a block.
fn rfc2104(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let inner_hash = Sha256::digest(&inner);
    let outer: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner_hash.iter().copied())
        .collect();
    hex::encode(Sha256::digest(&outer))
}

#[test]
fn sign_agrees_with_rfc_2104_written_out() {
    let mut rng = XorShift(42);
    for round in 0..200 {
        let key: String = (0..1 + rng.below(100))
            .map(|_| char::from(b'!' + rng.below(90) as u8))
            .collect();
        let body: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
        let timestamp = (rng.next() >> 1) as i64;
        let mut message = body.clone();
        message.extend_from_slice(timestamp.to_string().as_bytes());
        assert_eq!(
            sign(&key, &body, timestamp),
            rfc2104(key.as_bytes(), &message),
            "round {round}"
        );
    }
}

#[test]
fn tampering_is_a_mismatch() {
    let tampered = SIGNED_BODY.replace("sweet", "sour!");
    assert_eq!(
        verify(&tampered, Some("1719045971"), Some(SIGNATURE), SIGNED_AT),
        Err(SignatureError::Mismatch)
    );
    // One second later, inside the window, but not what was signed.
    assert_eq!(
        verify(SIGNED_BODY, Some("1719045972"), Some(SIGNATURE), SIGNED_AT),
        Err(SignatureError::Mismatch)
    );
    // Leading zeros change the signed string.
    assert_eq!(
        verify(SIGNED_BODY, Some("01719045971"), Some(SIGNATURE), SIGNED_AT),
        Err(SignatureError::Mismatch)
    );
    let mut flipped = SIGNATURE.to_owned();
    flipped.replace_range(0..1, "8");
    assert_eq!(
        verify(SIGNED_BODY, Some("1719045971"), Some(&flipped), SIGNED_AT),
        Err(SignatureError::Mismatch)
    );
    let other_key = verify_signature(
        "Xq8aPzQ2",
        SIGNED_BODY.as_bytes(),
        Some(b"1719045971"),
        Some(SIGNATURE.as_bytes()),
        at(SIGNED_AT),
        RECOMMENDED_TOLERANCE,
    );
    assert_eq!(other_key, Err(SignatureError::Mismatch));
    // Re-serialised JSON (what a framework's parsed-then-printed body would be) fails.
    let reprinted = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(SIGNED_BODY).expect("json"),
    )
    .expect("print");
    assert_eq!(
        verify(&reprinted, Some("1719045971"), Some(SIGNATURE), SIGNED_AT),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn stale_and_future_timestamps_are_refused() {
    let ts = Some("1719045971");
    let sig = Some(SIGNATURE);
    assert_eq!(verify(SIGNED_BODY, ts, sig, SIGNED_AT + 300), Ok(()));
    assert_eq!(verify(SIGNED_BODY, ts, sig, SIGNED_AT - 300), Ok(()));
    assert_eq!(
        verify(SIGNED_BODY, ts, sig, SIGNED_AT + 301),
        Err(SignatureError::Stale {
            age_secs: 301,
            tolerance_secs: 300
        })
    );
    assert_eq!(
        verify(SIGNED_BODY, ts, sig, SIGNED_AT - 301),
        Err(SignatureError::FromFuture {
            ahead_secs: 301,
            tolerance_secs: 300
        })
    );
    // A far-off time, either way, is refused without overflow.
    assert!(matches!(
        verify(SIGNED_BODY, Some("9223372036854775807"), sig, SIGNED_AT),
        Err(SignatureError::FromFuture { .. })
    ));
    assert!(matches!(
        verify(SIGNED_BODY, Some("0"), sig, SIGNED_AT),
        Err(SignatureError::Stale { .. })
    ));
    // A zero tolerance accepts only the same second.
    let exact = |now| {
        verify_signature(
            SIGNED_KEY,
            SIGNED_BODY.as_bytes(),
            Some(b"1719045971"),
            Some(SIGNATURE.as_bytes()),
            at(now),
            std::time::Duration::ZERO,
        )
    };
    assert_eq!(exact(SIGNED_AT), Ok(()));
    assert_eq!(
        exact(SIGNED_AT + 1),
        Err(SignatureError::Stale {
            age_secs: 1,
            tolerance_secs: 0
        })
    );
}

#[test]
fn missing_and_malformed_headers() {
    let ts = Some("1719045971");
    let sig = Some(SIGNATURE);
    assert_eq!(
        verify(SIGNED_BODY, None, sig, SIGNED_AT),
        Err(SignatureError::MissingTimestamp)
    );
    assert_eq!(
        verify(SIGNED_BODY, ts, None, SIGNED_AT),
        Err(SignatureError::MissingSignature)
    );
    assert_eq!(
        verify(SIGNED_BODY, None, None, SIGNED_AT),
        Err(SignatureError::MissingTimestamp)
    );
    for bad in [
        "",
        " ",
        "-5",
        "+1719045971",
        "1719045971.0",
        "1e9",
        "abc",
        "99999999999999999999",
    ] {
        assert!(
            matches!(
                verify(SIGNED_BODY, Some(bad), sig, SIGNED_AT),
                Err(SignatureError::MalformedTimestamp(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        verify(SIGNED_BODY, Some("12x"), sig, SIGNED_AT).map_err(|e| e.to_string()),
        Err("the X-Timestamp header \"12x\" is not a Unix time in seconds".to_owned())
    );
    assert_eq!(
        verify(SIGNED_BODY, ts, Some(&SIGNATURE[1..]), SIGNED_AT),
        Err(SignatureError::MalformedSignature(
            "63 characters, expected 64 hex digits".to_owned()
        ))
    );
    assert_eq!(
        verify(SIGNED_BODY, ts, Some(""), SIGNED_AT),
        Err(SignatureError::MalformedSignature(
            "0 characters, expected 64 hex digits".to_owned()
        ))
    );
    let not_hex = format!("zz{}", &SIGNATURE[2..]);
    assert_eq!(
        verify(SIGNED_BODY, ts, Some(&not_hex), SIGNED_AT),
        Err(SignatureError::MalformedSignature(
            "not hexadecimal".to_owned()
        ))
    );
    let non_utf8 = verify_signature(
        SIGNED_KEY,
        b"{}",
        Some(b"\xff\xfe"),
        Some(SIGNATURE.as_bytes()),
        at(0),
        RECOMMENDED_TOLERANCE,
    );
    assert!(matches!(
        non_utf8,
        Err(SignatureError::MalformedTimestamp(_))
    ));
    let no_key = verify_signature(
        "",
        SIGNED_BODY.as_bytes(),
        Some(b"1719045971"),
        Some(SIGNATURE.as_bytes()),
        at(SIGNED_AT),
        RECOMMENDED_TOLERANCE,
    );
    assert_eq!(no_key, Err(SignatureError::EmptySecret));
}

#[test]
fn registration_bodies() {
    let id = ClientId::new("textgate-received").expect("valid");
    let body = registration_body(
        &id,
        "https://gw.example.org/android/webhook",
        WebhookKind::SmsReceived,
    )
    .expect("valid");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).expect("json"),
        serde_json::json!({
            "id": "textgate-received",
            "url": "https://gw.example.org/android/webhook",
            "event": "sms:received"
        })
    );
    for url in [
        "http://127.0.0.1:9876/webhook",
        "http://127.0.0.1/hook",
        "https://10.0.0.2:8443/x",
    ] {
        assert!(
            registration_body(&id, url, WebhookKind::SystemPing).is_ok(),
            "{url}"
        );
    }
    for (url, reason) in [
        (
            "http://192.168.1.10/webhook",
            "plain http is accepted only to 127.0.0.1; use https",
        ),
        (
            "http://127.0.0.1.evil.example/",
            "plain http is accepted only to 127.0.0.1; use https",
        ),
        ("ftp://example.org/", "must start with https://"),
        ("HTTPS://example.org/", "must start with https://"),
        ("https://", "has no host"),
        ("https:///path", "has no host"),
        (
            "https://example.org/a b",
            "contains spaces or control characters",
        ),
    ] {
        assert_eq!(
            registration_body(&id, url, WebhookKind::SmsSent),
            Err(RequestError::BadWebhookUrl {
                url: url.to_owned(),
                reason
            }),
            "{url}"
        );
    }
    let names: Vec<_> = WebhookKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "sms:received",
            "sms:sent",
            "sms:delivered",
            "sms:failed",
            "sms:cancelled",
            "system:ping"
        ]
    );
}

fn received(body: &str) -> ReceivedSms {
    match parse(body).event {
        WebhookEvent::Received(sms) => sms,
        other => panic!("{other:?}"),
    }
}

#[test]
fn dedup_key_is_stable_and_independent_of_time_zone() {
    let sms = received(DOC_RECEIVED);
    // Computed outside this crate (Python's hashlib) from the layout in `dedup.rs`: the
    // tag, then each field as a big-endian u64 length and its bytes.
    assert_eq!(
        DedupKey::for_received(&sms).as_str(),
        "58d6a21a31407a0501d0681fb44e9af9eec36724a1086af67db1a36d9966c42e"
    );
    // The same instant written in UTC (the phone changed time zone) is the same text;
    // another envelope, webhook id, recipient or SIM field does not change it either.
    let elsewhere = DOC_RECEIVED
        .replace("2024-06-22T15:46:11.000+07:00", "2024-06-22T08:46:11Z")
        .replace("Ey6ECgOkVVFjz3CL48B8C", "another-delivery")
        .replace("\"recipient\": \"+1234567890\",", "");
    assert_eq!(
        DedupKey::for_received(&received(&elsewhere)),
        DedupKey::for_received(&sms)
    );
}

#[test]
fn dedup_key_separates_what_differs() {
    let base = received(DOC_RECEIVED);
    let key = DedupKey::for_received(&base);
    let mut variants = Vec::new();
    let mut later = base.clone();
    later.received_at += chrono::Duration::milliseconds(1);
    variants.push(later);
    let mut other_text = base.clone();
    other_text.text.push('!');
    variants.push(other_text);
    let mut other_sender = base.clone();
    other_sender.sender = "6505551213".to_owned();
    variants.push(other_sender);
    let mut other_id = base.clone();
    other_id.message_id = "abc124".to_owned();
    variants.push(other_id);
    // Length prefixes keep field boundaries: moving a character across them changes the key.
    let mut shifted = base.clone();
    shifted.sender = "650555121".to_owned();
    shifted.text = format!("2{}", base.text);
    variants.push(shifted);
    for variant in &variants {
        assert_ne!(DedupKey::for_received(variant), key, "{variant:?}");
    }
    assert_eq!(key.to_string().len(), 64);
}

/// Every prefix, and thousands of byte-level mutations, of every documented body: parsing
/// and verifying return `Ok` or `Err`, never panic.
#[test]
fn parsing_and_verifying_never_panic_on_cut_or_mutated_bodies() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let now = at(SIGNED_AT);
    for valid in ALL_BODIES.iter().chain([&SIGNED_BODY]) {
        let bytes = valid.as_bytes();
        for end in 0..=bytes.len() {
            let _ = Webhook::parse(&bytes[..end]);
        }
        for _ in 0..2_000 {
            let mut mutated = bytes.to_vec();
            for _ in 0..=rng.below(4) {
                let at = rng.below(mutated.len());
                match rng.below(3) {
                    0 => mutated[at] = rng.next() as u8,
                    1 => {
                        mutated.remove(at);
                    }
                    _ => mutated.insert(at, b"{}[]\",:0-e.\\nu"[rng.below(14)]),
                }
                if mutated.is_empty() {
                    break;
                }
            }
            if let Ok(Webhook {
                event: WebhookEvent::Received(sms),
                ..
            }) = Webhook::parse(&mutated)
            {
                let _ = DedupKey::for_received(&sms);
            }
            let cut = rng.below(mutated.len() + 1);
            let _ = verify_signature(
                SIGNED_KEY,
                &mutated,
                Some(&mutated[..cut.min(12)]),
                Some(&mutated[cut..]),
                now,
                RECOMMENDED_TOLERANCE,
            );
        }
    }
    // Deep nesting is refused by serde_json's recursion limit, not by a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(Webhook::parse(deep.as_bytes()).is_err());
}
