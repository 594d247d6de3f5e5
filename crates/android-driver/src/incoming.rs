//! A text the phone received, as SMS-DELIVER PDUs: the gateway stores, de-duplicates,
//! reassembles and delivers texts as PDUs whatever the driver, so a text from the app goes
//! the same way as a modem's (and its PDUs are what the store keeps).
//!
//! The app hands over a long text already joined; it is cut again as the segmenter cuts
//! outgoing texts. Everything in the PDUs comes from the text itself (sender, the message
//! centre's time stamp, the text, a concatenation reference taken from its [`DedupKey`]),
//! so the app's repeated webhook for the same text makes the same PDUs, which the store
//! recognises as a text it has: one message for the librarian, however often the phone
//! posts it. The time stamp keeps whole seconds (a PDU has no more), so two identical
//! texts from one sender within the same second are one text to textgate; the app itself
//! cannot tell such texts apart either (its id hashes the same fields).

use chrono::{DateTime, FixedOffset, Timelike};
use textgate_android::{DedupKey, ReceivedSms};
use textgate_gsm::pdu::{Address, Deliver, Pdu, SmscField, Tpdu};
use textgate_gsm::segment::{Segmenter, SegmenterConfig};
use textgate_gsm::udh::ReferenceWidth;

/// The PDUs of a received text, in hexadecimal with an empty SMSC field first (as a modem
/// prints them), or why it cannot be kept.
pub fn deliver_pdus(sms: &ReceivedSms) -> Result<Vec<String>, String> {
    let sender = sender(&sms.sender)?;
    let time: DateTime<FixedOffset> = sms
        .received_at
        .with_nanosecond(0)
        .unwrap_or(sms.received_at);
    let key = DedupKey::for_received(sms);
    let reference = reference_of(&key);
    let segmenter = Segmenter::new(SegmenterConfig {
        max_parts: u8::MAX,
        reference_width: ReferenceWidth::Bits16,
        ..SegmenterConfig::default()
    });
    let text = if sms.text.is_empty() {
        // An empty SMS exists (a phone can send one); keep it as one empty part.
        " ".to_owned()
    } else {
        sms.text.clone()
    };
    segmenter
        .segment(&text, reference)
        .map_err(|e| format!("a text too long to keep: {e}"))?
        .parts
        .into_iter()
        .map(|part| {
            let (data_coding, user_data) = part.into_user_data();
            let pdu = Pdu {
                smsc: None,
                tpdu: Tpdu::Deliver(Deliver::new(sender.clone(), time, data_coding, user_data)),
            };
            pdu.encode(SmscField::Present)
                .map(|octets| textgate_gsm::pdu::to_hex(&octets))
                .map_err(|e| format!("a text that does not fit an SMS-DELIVER: {e}"))
        })
        .collect()
}

/// The sender as a PDU names it: a number (international with `+`), or a name.
fn sender(raw: &str) -> Result<Address, String> {
    let trimmed = raw.trim();
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let address = if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        Address::from_number(trimmed)
    } else {
        Address::alphanumeric(trimmed)
    };
    address.map_err(|e| format!("a text from {raw:?}, which is no usable sender: {e}"))
}

/// A concatenation reference from the text's key, the same for every copy of it.
fn reference_of(key: &DedupKey) -> u16 {
    let hex = key.as_str();
    hex.get(..4)
        .and_then(|head| u16::from_str_radix(head, 16).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use textgate_gsm::pdu::Content;

    fn received(sender: &str, text: &str) -> ReceivedSms {
        ReceivedSms {
            message_id: "1f2e3d4c".to_owned(),
            sender: sender.to_owned(),
            recipient: None,
            text: text.to_owned(),
            received_at: FixedOffset::east_opt(3600)
                .and_then(|zone| zone.with_ymd_and_hms(2026, 12, 4, 9, 30, 15).single())
                .expect("a time"),
            sim: None,
        }
    }

    fn delivers(pdus: &[String]) -> Vec<Deliver> {
        pdus.iter()
            .map(|hex| match Pdu::decode_hex(hex, SmscField::Present) {
                Ok(Pdu {
                    tpdu: Tpdu::Deliver(deliver),
                    ..
                }) => deliver,
                other => panic!("not an SMS-DELIVER: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_short_text_is_one_pdu_with_the_sender_and_time() {
        let pdus = deliver_pdus(&received("+15551234567", "Is the library open?")).unwrap();
        let delivers = delivers(&pdus);
        assert_eq!(delivers.len(), 1);
        assert_eq!(delivers[0].sender.number, "+15551234567");
        assert_eq!(
            delivers[0].service_centre_timestamp.to_rfc3339(),
            "2026-12-04T09:30:15+01:00"
        );
        assert_eq!(
            delivers[0].user_data.content,
            Content::Text("Is the library open?".to_owned())
        );
    }

    #[test]
    fn a_long_text_is_cut_the_same_way_every_time() {
        // Not in the GSM alphabet, so UCS-2: 67 characters a part.
        let text = "Ж".repeat(150);
        let first = deliver_pdus(&received("+15551234567", &text)).unwrap();
        let again = deliver_pdus(&received("+15551234567", &text)).unwrap();
        assert_eq!(first.len(), 3);
        assert_eq!(first, again);
        let other = deliver_pdus(&received("+15551234568", &text)).unwrap();
        assert_ne!(first, other);
    }

    #[test]
    fn a_named_sender_is_kept_as_a_name() {
        let pdus = deliver_pdus(&received("LIBRARY", "hello")).unwrap();
        assert_eq!(delivers(&pdus)[0].sender.number, "LIBRARY");
        assert!(deliver_pdus(&received("", "hello")).is_err());
    }
}
