//! Texts arriving at the phone: the `sms:received` payload and the app's id for it.
//!
//! The app's `messageId` for a received text is `hashCode().toUInt().toString(16)` of its
//! `InboxMessage.Text` (`modules/receiver/ReceiverService.kt`,
//! `modules/receiver/data/InboxMessage.kt`): Java's 32-bit hash of sender, date,
//! subscription id and text, written as lower-case hex without padding. It is not unique
//! (two texts can share it) and not random. The simulator computes the same function,
//! with the SIM number standing in for Android's subscription id (a row id the phone
//! assigns, which a simulator cannot know): `31·(31·(31·h(sender) + h(date)) + sim) +
//! h(text)`, where `h(string)` is `String.hashCode` over UTF-16 units and `h(date)` is
//! `Date.hashCode`, `(int)(ms ^ (ms >>> 32))`.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{json, Value};

use crate::time;

/// Java's `String.hashCode`.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Java's `Date.hashCode` for a time in milliseconds since the epoch.
fn java_date_hash(millis: i64) -> i32 {
    // Truncation to the low 32 bits is the definition.
    let bits = millis as u64;
    (bits ^ (bits >> 32)) as u32 as i32
}

/// The app's `messageId` for a text from `sender` at `received_at` on SIM `sim`.
pub(crate) fn message_id(
    sender: &str,
    text: &str,
    received_at: DateTime<FixedOffset>,
    sim: u8,
) -> String {
    let mut h = java_string_hash(sender);
    h = h
        .wrapping_mul(31)
        .wrapping_add(java_date_hash(received_at.timestamp_millis()));
    h = h.wrapping_mul(31).wrapping_add(i32::from(sim));
    h = h.wrapping_mul(31).wrapping_add(java_string_hash(text));
    format!("{:x}", h as u32)
}

/// The `sms:received` payload (null fields left out, as Gson does).
pub(crate) fn received_payload(
    message_id: &str,
    sender: &str,
    text: &str,
    received_at: DateTime<FixedOffset>,
    sim: u8,
    own_number: Option<&str>,
    zone: FixedOffset,
) -> Value {
    let mut payload = json!({
        "messageId": message_id,
        "message": text,
        "receivedAt": time::format(received_at.with_timezone(&Utc), zone),
        "sender": sender,
        "simNumber": sim,
        // Deprecated since v1.54.0 but still sent: the sender for received texts.
        "phoneNumber": sender,
    });
    if let (Some(number), Some(object)) = (own_number, payload.as_object_mut()) {
        object.insert("recipient".to_owned(), Value::from(number));
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hashes() {
        // Values Java prints for "hello".hashCode() and "".hashCode().
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash(""), 0);
        // Overflow wraps as in Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // new Date(1700000000000L).hashCode() == -1095011432 ^ 395 ...: check the formula.
        let ms: i64 = 1_700_000_000_000;
        assert_eq!(java_date_hash(ms), ((ms ^ (ms >> 32)) as i32));
    }

    #[test]
    fn id_is_stable_lower_hex_and_depends_on_time() {
        let t = DateTime::parse_from_rfc3339("2025-01-02T03:04:05.678+01:00").expect("valid");
        let a = message_id("+15550001", "hi", t, 1);
        assert_eq!(a, message_id("+15550001", "hi", t, 1));
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let later = t + chrono::Duration::seconds(1);
        assert_ne!(a, message_id("+15550001", "hi", later, 1));
    }
}
