//! Sent messages: the send request as the app reads it, the record of each message with
//! its recipients' states, and the state JSON the API answers.
//!
//! Sources (app v1.68.0): `modules/localserver/domain/messages/PostMessageRequest.kt`
//! (fields and `validate()`), `modules/localserver/routes/MessagesRoutes.kt` (the route,
//! `toDomain`), `data/entities/MessageWithRecipients.kt` (the message state from its
//! recipients'), `data/dao/MessagesDao.kt` (a failed recipient stays failed),
//! `modules/messages/MessagesService.kt` (TTL and SIM checks at send time).
//!
//! The app reads bodies with Gson, which is lenient where serde is not: a string field
//! takes a number or a boolean (written as text), a boolean takes the string `"true"`
//! (any other string is false), numbers take numeric strings, unknown fields are ignored.
//! The readers below do the same, so a body the phone takes is taken here.

use chrono::{DateTime, FixedOffset, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::time;

/// The states of `domain/ProcessingState.kt` the simulator reaches (`Cancelling` and
/// `Cancelled` need cancellation, which is not simulated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ProcessingState {
    Pending,
    Processed,
    Sent,
    Delivered,
    Failed,
}

impl ProcessingState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessingState::Pending => "Pending",
            ProcessingState::Processed => "Processed",
            ProcessingState::Sent => "Sent",
            ProcessingState::Delivered => "Delivered",
            ProcessingState::Failed => "Failed",
        }
    }
}

/// A send request after the app's checks.
#[derive(Debug)]
pub(crate) struct SendRequest {
    pub id: Option<String>,
    pub text: String,
    pub phone_numbers: Vec<String>,
    pub sim_number: Option<i32>,
    pub with_delivery_report: bool,
    pub is_encrypted: bool,
    pub priority: i8,
    pub valid_until: Option<DateTime<Utc>>,
    pub device_id: Option<String>,
}

const REQUEST_CLASS: &str =
    "me.capcom.smsgateway.modules.localserver.domain.messages.PostMessageRequest";

/// Reads a `POST /messages` body as the app does; `Err` is the 400 answer's `message`.
pub(crate) fn parse_send(body: &[u8], now: DateTime<Utc>) -> Result<SendRequest, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("Failed to convert request body to class {REQUEST_CLASS}: {e}"))?;
    let Value::Object(fields) = value else {
        return Err(format!(
            "Failed to convert request body to class {REQUEST_CLASS}: expected a JSON object"
        ));
    };
    let convert =
        |e: String| format!("Failed to convert request body to class {REQUEST_CLASS}: {e}");

    let id = string_field(&fields, "id").map_err(convert)?;
    let message = string_field(&fields, "message").map_err(convert)?;
    let text_message = match fields.get("textMessage") {
        None | Some(Value::Null) => None,
        Some(Value::Object(inner)) => Some(string_field(inner, "text").map_err(convert)?),
        Some(other) => {
            return Err(convert(format!(
                "textMessage: expected an object, found {}",
                kind(other)
            )))
        }
    };
    let data_message = !matches!(fields.get("dataMessage"), None | Some(Value::Null));
    let phone_numbers = match fields.get("phoneNumbers") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| lenient_string(item, "phoneNumbers[]"))
                .collect::<Result<Vec<_>, _>>()
                .map_err(convert)?,
        ),
        Some(other) => {
            return Err(convert(format!(
                "phoneNumbers: expected an array, found {}",
                kind(other)
            )))
        }
    };
    let sim_number = int_field(
        &fields,
        "simNumber",
        i64::from(i32::MIN),
        i64::from(i32::MAX),
    )
    .map_err(convert)?
    .map(|n| n as i32);
    let with_delivery_report = bool_field(&fields, "withDeliveryReport").map_err(convert)?;
    let is_encrypted = bool_field(&fields, "isEncrypted").map_err(convert)?;
    // Gson reads a Kotlin `Byte` through an int and, since Gson 2.10, accepts -128..255,
    // keeping the low byte: 200 becomes -56.
    let priority = int_field(&fields, "priority", -128, 255)
        .map_err(convert)?
        .map_or(0, |n| n as u8 as i8);
    let device_id = string_field(&fields, "deviceId").map_err(convert)?;
    let ttl = int_field(&fields, "ttl", i64::MIN, i64::MAX).map_err(convert)?;
    let valid_until = match fields.get("validUntil") {
        None | Some(Value::Null) => None,
        Some(value) => {
            let raw = lenient_string(value, "validUntil").map_err(convert)?;
            Some(
                DateTime::parse_from_rfc3339(&raw)
                    .map_err(|e| convert(format!("validUntil {raw:?}: {e}")))?
                    .with_timezone(&Utc),
            )
        }
    };
    let schedule_at = !matches!(fields.get("scheduleAt"), None | Some(Value::Null));

    // `validate()`, in the app's order and words.
    let kinds = [text_message.is_some(), data_message, message.is_some()];
    match kinds.iter().filter(|present| **present).count() {
        0 => {
            return Err("Must specify exactly one of: textMessage, dataMessage, or message".into())
        }
        1 => {}
        _ => return Err("Cannot specify multiple message types simultaneously".into()),
    }
    if message.as_deref() == Some("") {
        return Err("Text message is empty".into());
    }
    if data_message {
        return Err("dataMessage is not simulated by textgate-androidsim".into());
    }
    // A `textMessage` without `text` passes the app's check and fails later; here it is
    // refused at once.
    let text = match (message, text_message) {
        (Some(text), _) => text,
        (None, Some(Some(text))) if !text.is_empty() => text,
        _ => return Err("Text message is empty".into()),
    };
    // A missing list makes the app throw a NullPointerException (answered 500); an empty
    // one is refused with 400. Both are 400 here.
    let phone_numbers = match phone_numbers {
        Some(numbers) if !numbers.is_empty() => numbers,
        Some(_) => return Err("Empty phone numbers list".into()),
        None => return Err("Empty phone numbers list (phoneNumbers is missing)".into()),
    };
    if sim_number.is_some_and(|n| n < 1) {
        return Err("SIM number cannot be less than 1".into());
    }
    if schedule_at {
        return Err("scheduleAt is not simulated by textgate-androidsim".into());
    }
    // The `validUntil` getter, read when the send parameters are built.
    let valid_until = match (ttl, valid_until) {
        (Some(_), Some(_)) => return Err("fields conflict: ttl and validUntil".into()),
        (Some(ttl), None) => Some(
            now + chrono::Duration::milliseconds(
                ttl.saturating_mul(1000)
                    .clamp(-i64::from(i32::MAX) * 1000, i64::from(i32::MAX) * 1000),
            ),
        ),
        (None, until) => until,
    };
    if valid_until.is_some_and(|until| until < now) {
        return Err("message already expired".into());
    }

    Ok(SendRequest {
        id,
        text,
        phone_numbers,
        sim_number,
        with_delivery_report: with_delivery_report.unwrap_or(true),
        is_encrypted: is_encrypted.unwrap_or(false),
        priority,
        valid_until,
        device_id,
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Gson's `String` adapter: strings, and numbers or booleans as their text.
fn lenient_string(value: &Value, name: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("{name}: expected a string, found {}", kind(other))),
    }
}

fn string_field(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => lenient_string(value, name).map(Some),
    }
}

/// Gson's `Boolean` adapter: a boolean, or a string that is true when it says `true`.
fn bool_field(fields: &Map<String, Value>, name: &str) -> Result<Option<bool>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => Ok(Some(s.eq_ignore_ascii_case("true"))),
        Some(other) => Err(format!("{name}: expected a boolean, found {}", kind(other))),
    }
}

/// Gson's integer adapters: a whole number (or a numeric string) within `min..=max`.
fn int_field(
    fields: &Map<String, Value>,
    name: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, String> {
    let number = match fields.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Some(i),
            (None, Some(f)) if f.fract() == 0.0 && f >= min as f64 && f <= max as f64 => {
                Some(f as i64)
            }
            _ => None,
        },
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(other) => {
            return Err(format!("{name}: expected a number, found {}", kind(other)));
        }
    };
    match number {
        Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "{name}: expected a whole number from {min} to {max}"
        )),
    }
}

/// One recipient of a message.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    pub phone_number: String,
    pub state: ProcessingState,
    pub error: Option<String>,
}

/// A message the phone accepted.
#[derive(Debug, Clone)]
pub(crate) struct MessageRecord {
    pub id: String,
    pub text: String,
    pub recipients: Vec<Recipient>,
    /// The time each message state was (last) reached, as `GET` reports it.
    pub states: Vec<(ProcessingState, DateTime<Utc>)>,
    /// The state last recorded in `states`.
    pub recorded_state: ProcessingState,
    pub sim_number: Option<i32>,
    pub with_delivery_report: bool,
    pub is_encrypted: bool,
    pub priority: i8,
    pub valid_until: Option<DateTime<Utc>>,
    pub skip_phone_validation: bool,
    pub parts: Option<u32>,
    /// When the phone accepted it; the radio's latency is measured from here.
    pub accepted_at: std::time::Instant,
}

impl MessageRecord {
    pub fn new(
        request: SendRequest,
        skip_phone_validation: bool,
        now: DateTime<Utc>,
    ) -> MessageRecord {
        let id = request.id.unwrap_or_else(nano_id);
        MessageRecord {
            id,
            text: request.text,
            recipients: request
                .phone_numbers
                .into_iter()
                .map(|phone_number| Recipient {
                    phone_number,
                    state: ProcessingState::Pending,
                    error: None,
                })
                .collect(),
            states: vec![(ProcessingState::Pending, now)],
            recorded_state: ProcessingState::Pending,
            sim_number: request.sim_number,
            with_delivery_report: request.with_delivery_report,
            is_encrypted: request.is_encrypted,
            priority: request.priority,
            valid_until: request.valid_until,
            skip_phone_validation,
            parts: None,
            accepted_at: std::time::Instant::now(),
        }
    }

    /// The message's state from its recipients', by the rules of
    /// `MessageWithRecipients.state`.
    pub fn state(&self) -> ProcessingState {
        let any = |s| self.recipients.iter().any(|r| r.state == s);
        let all = |s| self.recipients.iter().all(|r| r.state == s);
        if any(ProcessingState::Pending) {
            ProcessingState::Pending
        } else if any(ProcessingState::Processed) {
            ProcessingState::Processed
        } else if all(ProcessingState::Failed) {
            ProcessingState::Failed
        } else if all(ProcessingState::Delivered) {
            ProcessingState::Delivered
        } else {
            ProcessingState::Sent
        }
    }

    /// Sets the state of one recipient (`Some`) or all (`None`), except those already
    /// failed (the app's update has `AND state <> 'Failed'`); returns the numbers changed.
    pub fn set_state(
        &mut self,
        phone_number: Option<&str>,
        state: ProcessingState,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Vec<String> {
        let mut changed = Vec::new();
        for recipient in &mut self.recipients {
            if phone_number.is_some_and(|p| p != recipient.phone_number)
                || recipient.state == ProcessingState::Failed
            {
                continue;
            }
            recipient.state = state;
            recipient.error = error.map(str::to_owned);
            changed.push(recipient.phone_number.clone());
        }
        let message_state = self.state();
        if message_state != self.recorded_state {
            self.recorded_state = message_state;
            self.states.retain(|(s, _)| *s != message_state);
            self.states.push((message_state, now));
        }
        changed
    }

    /// The message state JSON of `MessagesRoutes.toDomain` with its content. `fresh` is
    /// the answer to the send itself, built by the app from the object it just inserted,
    /// whose state history is still empty (`"states": {}`).
    pub fn to_json(&self, device_id: &str, zone: FixedOffset, fresh: bool) -> Value {
        let recipients: Vec<Value> = self
            .recipients
            .iter()
            .map(|r| {
                let mut recipient = json!({
                    "phoneNumber": r.phone_number,
                    "state": r.state.as_str(),
                });
                if let (Some(error), Some(object)) = (&r.error, recipient.as_object_mut()) {
                    object.insert("error".to_owned(), Value::from(error.as_str()));
                }
                recipient
            })
            .collect();
        let mut states = Map::new();
        if !fresh {
            for (state, at) in &self.states {
                states.insert(
                    state.as_str().to_owned(),
                    Value::from(time::format(*at, zone)),
                );
            }
        }
        json!({
            "id": self.id,
            "deviceId": device_id,
            "state": self.state().as_str(),
            "isHashed": false,
            "isEncrypted": self.is_encrypted,
            "textMessage": { "text": self.text },
            "recipients": recipients,
            "states": states,
        })
    }
}

/// A NanoID as the app makes one (`NanoIdUtils.randomNanoId()`: 21 characters of
/// `_-0-9a-zA-Z`), for message ids, webhook ids and envelope ids.
pub(crate) fn nano_id() -> String {
    const ALPHABET: &[u8] = b"_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    (0..21)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Whether a number would pass the app's phone validation; an approximation of
/// libphonenumber's "valid mobile number" (`helpers/PhoneHelper.kt`): an optional `+`
/// and 5 to 15 digits, with spaces, dashes, dots and parentheses ignored.
pub(crate) fn plausible_number(number: &str) -> bool {
    let cleaned: String = number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    (5..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
}

/// The number as handed to the network: with validation, `+` and digits (the app writes
/// E.164); without (`skipPhoneValidation=true`), digits and `+*#`, as the app filters.
pub(crate) fn network_number(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<SendRequest, String> {
        parse_send(body.as_bytes(), Utc::now())
    }

    #[test]
    fn reads_the_documented_body() {
        let r = parse(
            r#"{"id":"m1","textMessage":{"text":"hi"},"phoneNumbers":["+15550001"],
                "simNumber":2,"withDeliveryReport":false,"ttl":60,"priority":100}"#,
        )
        .expect("valid");
        assert_eq!(r.id.as_deref(), Some("m1"));
        assert_eq!(r.text, "hi");
        assert_eq!(r.phone_numbers, ["+15550001"]);
        assert_eq!(r.sim_number, Some(2));
        assert!(!r.with_delivery_report);
        assert_eq!(r.priority, 100);
        assert!(r.valid_until.is_some());
    }

    #[test]
    fn legacy_message_field_and_defaults() {
        let r = parse(r#"{"message":"hi","phoneNumbers":["+15550001"]}"#).expect("valid");
        assert_eq!(r.text, "hi");
        assert!(r.with_delivery_report);
        assert_eq!(r.id, None);
        assert_eq!(r.priority, 0);
    }

    #[test]
    fn gson_leniency() {
        let r = parse(
            r#"{"message":"hi","phoneNumbers":[15550001],"withDeliveryReport":"no",
                "simNumber":"1","priority":200}"#,
        )
        .expect("valid");
        assert_eq!(r.phone_numbers, ["15550001"]);
        assert!(!r.with_delivery_report);
        assert_eq!(r.sim_number, Some(1));
        assert_eq!(r.priority, -56);
    }

    #[test]
    fn refusals_in_the_apps_words() {
        let cases = [
            ("", "Failed to convert"),
            ("[]", "Failed to convert"),
            (
                r#"{"phoneNumbers":["+1555"]}"#,
                "Must specify exactly one of",
            ),
            (
                r#"{"message":"a","textMessage":{"text":"b"},"phoneNumbers":["1"]}"#,
                "Cannot specify multiple",
            ),
            (
                r#"{"message":"","phoneNumbers":["1"]}"#,
                "Text message is empty",
            ),
            (
                r#"{"textMessage":{"text":""},"phoneNumbers":["1"]}"#,
                "Text message is empty",
            ),
            (
                r#"{"message":"a","phoneNumbers":[]}"#,
                "Empty phone numbers list",
            ),
            (
                r#"{"message":"a","phoneNumbers":["1"],"simNumber":0}"#,
                "SIM number cannot",
            ),
            (
                r#"{"message":"a","phoneNumbers":["1"],"ttl":5,"validUntil":"2099-01-01T00:00:00Z"}"#,
                "fields conflict",
            ),
            (
                r#"{"message":"a","phoneNumbers":["1"],"ttl":-5}"#,
                "message already expired",
            ),
            (
                r#"{"message":"a","phoneNumbers":["1"],"priority":256}"#,
                "priority",
            ),
            (
                r#"{"message":"a","phoneNumbers":["1"],"simNumber":1.5}"#,
                "simNumber",
            ),
            (r#"{"message":{"x":1},"phoneNumbers":["1"]}"#, "message"),
        ];
        for (body, expected) in cases {
            let err = parse(body).expect_err(body);
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn message_state_follows_the_apps_rules() {
        let request = parse(r#"{"message":"a","phoneNumbers":["1","2"]}"#).expect("valid");
        let now = Utc::now();
        let mut m = MessageRecord::new(request, false, now);
        assert_eq!(m.state(), ProcessingState::Pending);
        m.set_state(Some("1"), ProcessingState::Failed, Some("x"), now);
        assert_eq!(m.state(), ProcessingState::Pending);
        m.set_state(Some("2"), ProcessingState::Processed, None, now);
        assert_eq!(m.state(), ProcessingState::Processed);
        m.set_state(Some("2"), ProcessingState::Delivered, None, now);
        // One failed, one delivered: neither all failed nor all delivered.
        assert_eq!(m.state(), ProcessingState::Sent);
        // A failed recipient stays failed.
        assert!(m.set_state(None, ProcessingState::Sent, None, now) == ["2"]);
        let json = m.to_json("dev", chrono::Utc.fix(), false);
        assert_eq!(json["recipients"][0]["error"], "x");
        assert!(json["recipients"][1].get("error").is_none());
        assert!(json["states"].get("Pending").is_some());
        assert!(m.to_json("dev", chrono::Utc.fix(), true)["states"]
            .as_object()
            .is_some_and(|s| s.is_empty()));
    }

    #[test]
    fn nano_ids() {
        let id = nano_id();
        assert_eq!(id.len(), 21);
        assert_ne!(id, nano_id());
    }

    #[test]
    fn numbers() {
        assert!(plausible_number("+1 (555) 000-1234"));
        assert!(!plausible_number("abc"));
        assert!(!plausible_number("+12"));
        assert_eq!(network_number("+1 (555) 000-1234"), "+15550001234");
    }

    use chrono::Offset;
}
