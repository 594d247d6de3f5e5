use serde_json::{json, Value};

use super::*;

fn id(text: &str) -> ClientId {
    ClientId::new(text).expect("test id is valid")
}

fn number(text: &str) -> E164 {
    E164::new(text).expect("test number is valid")
}

fn body_json(request: &SendRequest) -> Value {
    serde_json::from_slice(&request.body()).expect("body is JSON")
}

#[test]
fn client_ids_are_url_safe_and_at_most_36_characters() {
    for good in [
        "a",
        "order-1234",
        "zXDYfTmTVf3iMd16zzdBj",
        "123e4567-e89b-12d3-a456-426614174000",
    ] {
        assert_eq!(
            ClientId::new(good).map(|i| i.to_string()),
            Ok(good.to_owned())
        );
    }
    let too_long = "x".repeat(37);
    for bad in ["", "a/b", "a b", "é", "a?b", "..", too_long.as_str()] {
        assert_eq!(
            ClientId::new(bad),
            Err(RequestError::BadId(bad.to_owned())),
            "{bad:?}"
        );
    }
}

#[test]
fn recipients_must_be_e164() {
    for good in ["+1", "+79990001234", "+123456789012345"] {
        assert_eq!(
            E164::new(good).map(|n| n.as_str().to_owned()),
            Ok(good.to_owned())
        );
    }
    for bad in [
        "",
        "+",
        "79990001234",
        "+0123",
        "+1234567890123456",
        "+1 234",
        "+12a",
        "++12",
    ] {
        assert_eq!(
            E164::new(bad),
            Err(RequestError::NotE164(bad.to_owned())),
            "{bad:?}"
        );
    }
}

#[test]
fn sim_numbers_start_at_one() {
    assert_eq!(SimNumber::new(0), None);
    assert_eq!(SimNumber::new(1).map(SimNumber::get), Some(1));
    assert_eq!(SimNumber::new(255).map(SimNumber::get), Some(255));
}

#[test]
fn ttl_bounds() {
    assert_eq!(Ttl::from_secs(4), Err(RequestError::TtlOutOfRange(4)));
    assert_eq!(Ttl::from_secs(5).map(Ttl::as_secs), Ok(5));
    assert_eq!(
        Ttl::from_secs(Ttl::MAX_SECS).map(Ttl::as_secs),
        Ok(Ttl::MAX_SECS)
    );
    assert_eq!(
        Ttl::from_secs(Ttl::MAX_SECS + 1),
        Err(RequestError::TtlOutOfRange(Ttl::MAX_SECS + 1))
    );
}

#[test]
fn paths_by_mode() {
    let m = id("m1");
    let local = ApiMode::Local;
    assert_eq!(local.messages_path(), "/messages");
    assert_eq!(local.message_path(&m), "/messages/m1");
    assert_eq!(local.webhooks_path(), "/webhooks");
    assert_eq!(local.webhook_path(&m), "/webhooks/m1");

    let cloud = ApiMode::cloud();
    assert_eq!(cloud.messages_path(), "/3rdparty/v1/messages");
    assert_eq!(cloud.message_path(&m), "/3rdparty/v1/messages/m1");
    assert_eq!(cloud.webhooks_path(), "/3rdparty/v1/webhooks");

    let private = ApiMode::private_server();
    assert_eq!(private.messages_path(), "/api/3rdparty/v1/messages");
    assert_eq!(private.message_path(&m), "/api/3rdparty/v1/messages/m1");
    assert_eq!(private.webhook_path(&m), "/api/3rdparty/v1/webhooks/m1");

    assert_eq!(
        ApiMode::with_prefix("sms/api/").messages_path(),
        "/sms/api/3rdparty/v1/messages"
    );
    assert_eq!(ApiMode::with_prefix("/"), ApiMode::cloud());
}

#[test]
fn minimal_body_uses_text_message_and_asks_for_a_report() {
    let request = SendRequest::builder(id("tg-1"), number("+79990001234"), "Hello")
        .build()
        .expect("valid");
    assert_eq!(
        body_json(&request),
        json!({
            "id": "tg-1",
            "textMessage": { "text": "Hello" },
            "phoneNumbers": ["+79990001234"],
            "withDeliveryReport": true
        })
    );
}

#[test]
fn full_body() {
    let request = SendRequest::builder(id("tg-2"), number("+4915112345678"), "Grüße 👋")
        .sim(SimNumber::new(2).expect("nonzero"))
        .delivery_report(DeliveryReport::NotRequested)
        .ttl(Ttl::from_secs(3600).expect("in range"))
        .priority(SendRequest::PRIORITY_EXPEDITED)
        .device_id("yVULogr4Y1ksRfnos1Dsw")
        .build()
        .expect("valid");
    assert_eq!(
        body_json(&request),
        json!({
            "id": "tg-2",
            "textMessage": { "text": "Grüße 👋" },
            "phoneNumbers": ["+4915112345678"],
            "simNumber": 2,
            "withDeliveryReport": false,
            "ttl": 3600,
            "priority": 100,
            "deviceId": "yVULogr4Y1ksRfnos1Dsw"
        })
    );
    assert_eq!(request.id().as_str(), "tg-2");
    assert_eq!(request.recipient().as_str(), "+4915112345678");
}

#[test]
fn legacy_body_uses_message() {
    let request = SendRequest::builder(id("tg-3"), number("+1234567890"), "Hi")
        .text_field(TextField::LegacyMessage)
        .priority(-128)
        .build()
        .expect("valid");
    assert_eq!(
        body_json(&request),
        json!({
            "id": "tg-3",
            "message": "Hi",
            "phoneNumbers": ["+1234567890"],
            "withDeliveryReport": true,
            "priority": -128
        })
    );
}

#[test]
fn builder_refusals_name_the_value() {
    let build = |text: &str| SendRequest::builder(id("x"), number("+1234567890"), text);
    assert_eq!(build("").build(), Err(RequestError::EmptyText));
    assert_eq!(build(&"é".repeat(65_535)).build().map(|_| ()), Ok(()));
    assert_eq!(
        build(&"é".repeat(65_536)).build(),
        Err(RequestError::TextTooLong(65_536))
    );
    let sim4 = SimNumber::new(4).expect("nonzero");
    assert_eq!(
        build("a").sim(sim4).build(),
        Err(RequestError::SimOutOfRange(4))
    );
    assert_eq!(
        build("a").device_id("dev/1").build(),
        Err(RequestError::BadDeviceId("dev/1".to_owned()))
    );
    assert_eq!(
        build("a").device_id(&"d".repeat(22)).build(),
        Err(RequestError::BadDeviceId("d".repeat(22)))
    );
    assert_eq!(
        RequestError::SimOutOfRange(4).to_string(),
        "SIM number 4 is out of range: the API takes 1 to 3"
    );
}

/// As the app writes it (Gson leaves nulls out): `domain/messages/Message.kt`.
const APP_ACCEPTED: &str = r#"{
  "id": "tg-1",
  "deviceId": "ffffffffceb0b1db0000018e937c815b",
  "state": "Pending",
  "isHashed": false,
  "isEncrypted": false,
  "textMessage": { "text": "Hello" },
  "recipients": [ { "phoneNumber": "+79990001234", "state": "Pending" } ],
  "states": { "Pending": "2026-07-01T10:00:00.123+07:00" }
}"#;

/// As the server writes it (Go writes nulls): `smsgateway.GetMessageResponse`.
const SERVER_FAILED: &str = r#"{
  "id": "tg-9",
  "deviceId": "PyDmBQZZXYmyxMwED8Fzy",
  "state": "Failed",
  "isHashed": false,
  "isEncrypted": false,
  "textMessage": null,
  "dataMessage": null,
  "hashedMessage": null,
  "recipients": [
    { "phoneNumber": "+79990001234", "state": "Failed", "error": "RESULT_ERROR_GENERIC_FAILURE" },
    { "phoneNumber": "+79995556677", "state": "Delivered", "error": null }
  ],
  "states": {
    "Failed": "2026-07-01T03:00:09Z",
    "Pending": "2026-07-01T03:00:00Z",
    "Processed": "2026-07-01T03:00:01Z"
  }
}"#;

#[test]
fn parses_the_apps_accepted_answer() {
    let state = MessageState::parse(APP_ACCEPTED.as_bytes()).expect("valid");
    assert_eq!(state.id, "tg-1");
    assert_eq!(
        state.device_id.as_deref(),
        Some("ffffffffceb0b1db0000018e937c815b")
    );
    assert_eq!(state.state, ProcessingState::Pending);
    assert!(!state.state.is_final());
    assert_eq!(
        state.recipients,
        vec![RecipientState {
            phone_number: "+79990001234".to_owned(),
            state: ProcessingState::Pending,
            error: None,
        }]
    );
    assert_eq!(state.history.len(), 1);
    assert_eq!(
        state.history[0].1.to_rfc3339(),
        "2026-07-01T10:00:00.123+07:00"
    );
}

#[test]
fn parses_the_servers_state_with_errors_and_history() {
    let state = MessageState::parse(SERVER_FAILED.as_bytes()).expect("valid");
    assert_eq!(state.state, ProcessingState::Failed);
    assert!(state.state.is_final());
    let failed = state.recipient(&number("+79990001234")).expect("listed");
    assert_eq!(
        failed.error.as_deref(),
        Some("RESULT_ERROR_GENERIC_FAILURE")
    );
    let delivered = state.recipient(&number("+79995556677")).expect("listed");
    assert_eq!(delivered.state, ProcessingState::Delivered);
    assert_eq!(delivered.error, None);
    assert_eq!(state.recipient(&number("+1234")), None);
    let order: Vec<_> = state.history.iter().map(|(s, _)| s.clone()).collect();
    assert_eq!(
        order,
        [
            ProcessingState::Pending,
            ProcessingState::Processed,
            ProcessingState::Failed
        ]
    );
}

#[test]
fn every_documented_state_name() {
    for (name, state, is_final) in [
        ("Pending", ProcessingState::Pending, false),
        ("Cancelling", ProcessingState::Cancelling, false),
        ("Cancelled", ProcessingState::Cancelled, true),
        ("Processed", ProcessingState::Processed, false),
        ("Sent", ProcessingState::Sent, false),
        ("Delivered", ProcessingState::Delivered, true),
        ("Failed", ProcessingState::Failed, true),
    ] {
        let body = format!(
            r#"{{"id":"a","state":"{name}","recipients":[{{"phoneNumber":"+1","state":"{name}"}}]}}"#
        );
        let parsed = MessageState::parse(body.as_bytes()).expect("valid");
        assert_eq!(parsed.state, state);
        assert_eq!(parsed.recipients[0].state, state);
        assert_eq!(state.is_final(), is_final, "{name}");
    }
}

#[test]
fn an_unknown_state_is_kept_not_refused() {
    let body = br#"{"id":"a","state":"Scheduled","recipients":[]}"#;
    let parsed = MessageState::parse(body).expect("valid");
    assert_eq!(parsed.state, ProcessingState::Other("Scheduled".to_owned()));
    assert!(!parsed.state.is_final());
}

fn parse_error(body: &str) -> String {
    match MessageState::parse(body.as_bytes()) {
        Ok(state) => panic!("parsed {state:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_answers_name_what_was_wrong() {
    assert!(parse_error("").starts_with("body is not JSON: "));
    assert!(parse_error("{\"id\":").starts_with("body is not JSON: "));
    assert_eq!(
        parse_error("[]"),
        "`(body)` should be an object, found an array"
    );
    assert_eq!(
        parse_error(r#"{"state":"Sent","recipients":[]}"#),
        "`id` is missing"
    );
    assert_eq!(
        parse_error(r#"{"id":null,"state":"Sent","recipients":[]}"#),
        "`id` is missing"
    );
    assert_eq!(
        parse_error(r#"{"id":7,"state":"Sent","recipients":[]}"#),
        "`id` should be a string, found a number"
    );
    assert_eq!(
        parse_error(r#"{"id":"a","recipients":[]}"#),
        "`state` is missing"
    );
    assert_eq!(
        parse_error(r#"{"id":"a","state":"Sent"}"#),
        "`recipients` is missing"
    );
    assert_eq!(
        parse_error(r#"{"id":"a","state":"Sent","recipients":{}}"#),
        "`recipients` should be an array, found an object"
    );
    assert_eq!(
        parse_error(
            r#"{"id":"a","state":"Sent","recipients":[{"phoneNumber":"+1","state":"Sent"},"x"]}"#
        ),
        "`recipients[1]` should be an object, found a string"
    );
    assert_eq!(
        parse_error(r#"{"id":"a","state":"Sent","recipients":[{"phoneNumber":"+1","state":3}]}"#),
        "`recipients[0].state` should be a string, found a number"
    );
    assert_eq!(
        parse_error(r#"{"id":"a","state":"Sent","recipients":[{"state":"Sent"}]}"#),
        "`recipients[0].phoneNumber` is missing"
    );
    assert_eq!(
        parse_error(
            r#"{"id":"a","state":"Sent","recipients":[{"phoneNumber":"+1","state":"Sent","error":false}]}"#
        ),
        "`recipients[0].error` should be a string, found a boolean"
    );
    assert_eq!(
        parse_error(r#"{"id":"a","state":"Sent","recipients":[],"states":[]}"#),
        "`states` should be an object, found an array"
    );
    assert_eq!(
        parse_error(r#"{"id":"a","state":"Sent","recipients":[],"states":{"Sent":1}}"#),
        "`states.Sent` should be a string, found a number"
    );
    let bad_time =
        parse_error(r#"{"id":"a","state":"Sent","recipients":[],"states":{"Sent":"yesterday"}}"#);
    assert!(
        bad_time.starts_with("`states.Sent` is invalid: \"yesterday\" is not an RFC 3339 time"),
        "{bad_time}"
    );
}

#[test]
fn status_classes() {
    for (status, class) in [
        (202, SendStatusClass::Accepted),
        (200, SendStatusClass::Accepted),
        (409, SendStatusClass::DuplicateId),
        (400, SendStatusClass::Rejected),
        (401, SendStatusClass::Unauthorized),
        (403, SendStatusClass::Unauthorized),
        (503, SendStatusClass::QueueFull),
        (500, SendStatusClass::RetryLater),
        (502, SendStatusClass::RetryLater),
        (429, SendStatusClass::RetryLater),
        (404, SendStatusClass::Unexpected),
        (302, SendStatusClass::Unexpected),
    ] {
        assert_eq!(SendStatusClass::of(status), class, "{status}");
    }
}

#[test]
fn error_messages_from_app_and_server() {
    assert_eq!(
        error_message(br#"{"message":"Invalid device ID"}"#).as_deref(),
        Some("Invalid device ID")
    );
    assert_eq!(
        error_message(br#"{"error":"QueueLimitExceeded","message":"queue limits exceeded: too many pending messages: 10 / 10"}"#)
            .as_deref(),
        Some("queue limits exceeded: too many pending messages: 10 / 10")
    );
    assert_eq!(error_message(b"Internal Server Error"), None);
    assert_eq!(error_message(br#"{"message":3}"#), None);
    assert_eq!(error_message(b""), None);
}

/// A small deterministic generator, so the mutation test needs no extra dependency and
/// every failure reproduces.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every prefix, and thousands of byte-level mutations, of valid answers: parsing returns
/// `Ok` or `Err`, never panics.
#[test]
fn parsing_never_panics_on_cut_or_mutated_answers() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for valid in [APP_ACCEPTED, SERVER_FAILED] {
        let bytes = valid.as_bytes();
        for end in 0..=bytes.len() {
            let _ = MessageState::parse(&bytes[..end]);
        }
        for _ in 0..3_000 {
            let mut mutated = bytes.to_vec();
            for _ in 0..=rng.below(4) {
                let at = rng.below(mutated.len());
                match rng.below(3) {
                    0 => mutated[at] = rng.next() as u8,
                    1 => {
                        mutated.remove(at);
                    }
                    _ => mutated.insert(at, b"{}[]\",:0-e.\\n"[rng.below(13)]),
                }
                if mutated.is_empty() {
                    break;
                }
            }
            let _ = MessageState::parse(&mutated);
            let _ = error_message(&mutated);
        }
    }
}
