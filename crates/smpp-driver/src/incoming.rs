//! What a message centre delivers (`deliver_sm`), read into what the gateway already
//! handles: a delivery receipt becomes a [`Received::Receipt`]; a text from a phone becomes
//! SMS-DELIVER PDUs, as a modem would have handed them over, so it goes through the same
//! store, reassembly and delivery as a modem's texts (and its PDUs are what the store keeps).
//!
//! A part that already carries a concatenation header (the SMSC passed a long text on part
//! by part) stays one PDU with that header. A text without one is cut by the segmenter as
//! an outgoing text would be: an SMSC may deliver up to 64 KiB in `message_payload`, and
//! even one Latin-1 `short_message` of 160 characters needs two UCS-2 PDUs. Those parts get
//! a concatenation reference made from the `deliver_sm`'s sequence number.
//!
//! The PDUs' time stamp is when the driver read the text: a `deliver_sm` from a phone
//! carries none (`schedule_delivery_time` is for submits).

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use textgate_gsm::alphabet::{self, Tables};
use textgate_gsm::pdu::{
    Address as GsmAddress, Alphabet, Content, DataCoding, Deliver, Pdu, SmscField, Tpdu, UserData,
};
use textgate_gsm::segment::{Segmenter, SegmenterConfig};
use textgate_gsm::udh::UserDataHeader;
use textgate_gsm::{septet, ucs2};
use textgate_smpp::tlv;
use textgate_smpp::{MessageState, Receipt, ShortMessage};

use crate::config::Gsm7Packing;
use textgate_modem::ReceiptOutcome;

/// A `deliver_sm`, read.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// A text from a phone, as SMS-DELIVER PDUs in hexadecimal (SMSC field first, empty).
    Text { pdus: Vec<String> },
    /// A delivery receipt for the part the SMSC accepted as `message_id`.
    Receipt {
        message_id: String,
        outcome: Option<ReceiptOutcome>,
        description: String,
        /// The phone the receipt is about (the receipt's source address).
        recipient: Option<String>,
    },
    /// Nothing that can be stored; answered at once (kept, the SMSC would send it forever).
    Unusable(String),
}

/// `esm_class` message types (bits 2–5) that are receipts or notifications.
const RECEIPT_TYPES: u8 = 0x3C;

/// Reads one `deliver_sm` numbered `sequence`.
pub fn read(
    message: &ShortMessage,
    sequence: u32,
    packing: Gsm7Packing,
    now: DateTime<Utc>,
) -> Received {
    if message.esm_class & RECEIPT_TYPES != 0 {
        return match Receipt::from_deliver_sm(message) {
            Some(receipt) => Received::Receipt {
                outcome: outcome(&receipt),
                description: describe(message, &receipt),
                message_id: receipt.message_id,
                recipient: Some(String::from_utf8_lossy(&message.source.address).into_owned())
                    .filter(|number| !number.is_empty()),
            },
            None => Received::Unusable(format!(
                "a receipt (esm_class 0x{:02X}) that names no message or state: {:?}",
                message.esm_class,
                String::from_utf8_lossy(&message.short_message)
            )),
        };
    }
    match text_pdus(message, sequence, packing, now) {
        Ok(pdus) => Received::Text { pdus },
        Err(reason) => Received::Unusable(reason),
    }
}

fn outcome(receipt: &Receipt) -> Option<ReceiptOutcome> {
    match receipt.state {
        MessageState::Delivered => Some(ReceiptOutcome::Delivered),
        MessageState::Enroute | MessageState::Accepted | MessageState::Unknown => None,
        state => Some(ReceiptOutcome::Failed {
            reason: match &receipt.error {
                Some(error) if error.trim_start_matches('0').is_empty() => {
                    format!("the message centre reports it {}", state_word(state))
                }
                Some(error) => format!(
                    "the message centre reports it {} (error {error})",
                    state_word(state)
                ),
                None => format!("the message centre reports it {}", state_word(state)),
            },
        }),
    }
}

fn state_word(state: MessageState) -> &'static str {
    match state {
        MessageState::Enroute => "en route",
        MessageState::Delivered => "delivered",
        MessageState::Expired => "expired",
        MessageState::Deleted => "deleted",
        MessageState::Undeliverable => "undeliverable",
        MessageState::Accepted => "accepted",
        MessageState::Unknown => "in an unknown state",
        MessageState::Rejected => "rejected",
    }
}

fn describe(message: &ShortMessage, receipt: &Receipt) -> String {
    let text = String::from_utf8_lossy(&message.short_message);
    if text.trim().is_empty() {
        format!("id:{} state:{:?}", receipt.message_id, receipt.state)
    } else {
        text.into_owned()
    }
}

/// The sender as the gateway's PDUs name it.
fn sender(message: &ShortMessage) -> Result<GsmAddress, String> {
    let raw = String::from_utf8_lossy(&message.source.address).into_owned();
    let address = match message.source.ton {
        // International.
        1 => GsmAddress::from_number(&format!("+{}", raw.trim_start_matches('+'))),
        // Alphanumeric.
        5 => GsmAddress::alphanumeric(&raw),
        _ => GsmAddress::from_number(&raw),
    };
    address.map_err(|e| format!("a text from {raw:?}, which is no usable sender: {e}"))
}

/// The body octets: `short_message`, or `message_payload` when the SMSC used that.
fn body(message: &ShortMessage) -> &[u8] {
    if message.short_message.is_empty() {
        if let Some(payload) = message.tlv(tlv::MESSAGE_PAYLOAD) {
            return &payload.value;
        }
    }
    &message.short_message
}

/// What the body says: text or, for 8-bit data, octets.
enum Decoded {
    Text(String),
    Data(Vec<u8>),
}

fn decode(
    data_coding: u8,
    octets: &[u8],
    header_octets: usize,
    tables: Tables,
    packing: Gsm7Packing,
) -> Result<Decoded, String> {
    let gsm = |octets: &[u8]| -> Result<String, String> {
        let septets = match packing {
            Gsm7Packing::Unpacked => octets.iter().map(|o| o & 0x7F).collect(),
            Gsm7Packing::Packed => {
                let fill = septet::fill_bits_after_header(header_octets);
                let count = (octets.len() * 8).saturating_sub(usize::from(fill)) / 7;
                septet::unpack(octets, count, fill).map_err(|e| e.to_string())?
            }
        };
        Ok(alphabet::decode(&septets, tables))
    };
    Ok(match data_coding {
        // The SMSC's default alphabet: GSM 7-bit for the SMSCs textgate has met.
        0x00 => Decoded::Text(gsm(octets)?),
        // IA5 (ASCII).
        0x01 => Decoded::Text(octets.iter().map(|&o| char::from(o & 0x7F)).collect()),
        // Latin-1: each octet is its code point.
        0x03 => Decoded::Text(octets.iter().map(|&o| char::from(o)).collect()),
        0x02 | 0x04 => Decoded::Data(octets.to_vec()),
        0x08 => Decoded::Text(ucs2::decode(octets)),
        // Everything else reads as a GSM data coding scheme (the 0xF0 group with a class).
        other => match DataCoding::from_byte(other).alphabet() {
            Alphabet::Gsm7 => Decoded::Text(gsm(octets)?),
            Alphabet::Ucs2 => Decoded::Text(ucs2::decode(octets)),
            Alphabet::EightBit => Decoded::Data(octets.to_vec()),
        },
    })
}

fn text_pdus(
    message: &ShortMessage,
    sequence: u32,
    packing: Gsm7Packing,
    now: DateTime<Utc>,
) -> Result<Vec<String>, String> {
    let sender = sender(message)?;
    let octets = body(message);
    let (header, rest) = if message.esm_class & ShortMessage::UDHI != 0 {
        let (header, used) = UserDataHeader::parse(octets)
            .map_err(|e| format!("a text whose user data header cannot be read: {e}"))?;
        (Some(header), octets.get(used..).unwrap_or_default())
    } else {
        (None, octets)
    };
    let header_octets = octets.len() - rest.len();
    let tables = header
        .as_ref()
        .map(UserDataHeader::tables)
        .unwrap_or_default();
    let decoded = decode(message.data_coding, rest, header_octets, tables, packing)?;
    let time: DateTime<FixedOffset> = now.with_nanosecond(0).unwrap_or(now).fixed_offset();
    let deliver = |data_coding: DataCoding, user_data: UserData| -> Result<String, String> {
        let pdu = Pdu {
            smsc: None,
            tpdu: Tpdu::Deliver(Deliver::new(sender.clone(), time, data_coding, user_data)),
        };
        pdu.encode(SmscField::Present)
            .map(|octets| textgate_gsm::pdu::to_hex(&octets))
            .map_err(|e| format!("a text that does not fit an SMS-DELIVER: {e}"))
    };
    match header {
        // A part of a longer text: one PDU with its header, in the alphabet that holds it.
        Some(header) if header.concatenation().is_some() => {
            let (data_coding, content) = match decoded {
                Decoded::Text(text) => {
                    let alphabet = if alphabet::text_cost(&text, tables).is_some() {
                        Alphabet::Gsm7
                    } else {
                        Alphabet::Ucs2
                    };
                    (DataCoding::general(alphabet, None), Content::Text(text))
                }
                Decoded::Data(data) => (
                    DataCoding::general(Alphabet::EightBit, None),
                    Content::Data(data),
                ),
            };
            let user_data = UserData {
                header: Some(header),
                content,
            };
            Ok(vec![deliver(data_coding, user_data)?])
        }
        // A whole text: cut as the segmenter cuts outgoing ones.
        _ => {
            let segmenter = Segmenter::new(SegmenterConfig {
                max_parts: u8::MAX,
                ..SegmenterConfig::default()
            });
            // The reference only has to differ from the sender's other texts in flight.
            let reference = u16::try_from(sequence & 0xFF).unwrap_or_default();
            match decoded {
                Decoded::Text(text) => segmenter
                    .segment(&text, reference)
                    .map_err(|e| format!("a text too long to keep: {e}"))?
                    .parts
                    .into_iter()
                    .map(|part| {
                        let (data_coding, user_data) = part.into_user_data();
                        deliver(data_coding, user_data)
                    })
                    .collect(),
                Decoded::Data(data) => segmenter
                    .segment_data(&data, reference)
                    .map_err(|e| format!("data too long to keep: {e}"))?
                    .into_iter()
                    .map(|part| {
                        let (data_coding, user_data) = part.user_data();
                        deliver(data_coding, user_data)
                    })
                    .collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use textgate_gsm::pdu::Pdu;
    use textgate_smpp::tlv::Tlv;
    use textgate_smpp::Address;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0)
            .single()
            .expect("a time")
    }

    fn from_phone(data_coding: u8, esm_class: u8, short_message: &[u8]) -> ShortMessage {
        ShortMessage {
            source: Address::new(1, 1, b"15551234567".to_vec()),
            destination: Address::new(0, 0, b"12345".to_vec()),
            esm_class,
            data_coding,
            short_message: short_message.to_vec(),
            ..ShortMessage::default()
        }
    }

    fn delivers(received: Received) -> Vec<Deliver> {
        let Received::Text { pdus } = received else {
            panic!("not a text: {received:?}");
        };
        pdus.iter()
            .map(|hex| match Pdu::decode_hex(hex, SmscField::Present) {
                Ok(Pdu {
                    tpdu: Tpdu::Deliver(deliver),
                    ..
                }) => deliver,
                other => panic!("not a DELIVER: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_gsm_text_becomes_one_deliver_pdu() {
        let message = from_phone(0, 0, b"Is the library open?");
        let parts = delivers(read(&message, 7, Gsm7Packing::Unpacked, now()));
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].sender.number, "+15551234567");
        assert_eq!(parts[0].user_data.as_text(), Some("Is the library open?"));
        assert_eq!(parts[0].service_centre_timestamp, now());
    }

    #[test]
    fn a_part_with_a_header_keeps_it_and_its_text() {
        // node-smpp's peer sends this: concatenation 0x2A, part 1 of 2, "Hé €" in UCS-2.
        let octets = [
            0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x00, 0x48, 0x00, 0xE9, 0x00, 0x20, 0x20, 0xAC,
        ];
        let message = from_phone(8, ShortMessage::UDHI, &octets);
        let parts = delivers(read(&message, 7, Gsm7Packing::Unpacked, now()));
        assert_eq!(parts.len(), 1);
        let header = parts[0].user_data.header.as_ref().expect("header");
        let concatenation = header.concatenation().expect("concatenated");
        assert_eq!(
            (
                concatenation.reference,
                concatenation.total,
                concatenation.sequence
            ),
            (0x2A, 2, 1)
        );
        assert_eq!(parts[0].user_data.as_text(), Some("Hé €"));
        // Every character of it is in the GSM default alphabet: kept as GSM 7-bit.
        assert_eq!(parts[0].data_coding.alphabet(), Alphabet::Gsm7);
    }

    #[test]
    fn a_long_payload_is_cut_into_parts() {
        let text = "ж".repeat(100) + "😀";
        let mut message = from_phone(8, 0, &[]);
        message
            .tlvs
            .push(Tlv::new(tlv::MESSAGE_PAYLOAD, ucs2::encode(&text)));
        let parts = delivers(read(&message, 0x1234, Gsm7Packing::Unpacked, now()));
        assert!(parts.len() >= 2, "{} parts", parts.len());
        let joined: String = parts.iter().filter_map(|p| p.user_data.as_text()).collect();
        assert_eq!(joined, text);
        let references: Vec<u16> = parts
            .iter()
            .filter_map(|p| p.user_data.header.as_ref()?.concatenation())
            .map(|c| c.reference)
            .collect();
        assert_eq!(references, vec![0x34; parts.len()]);
    }

    #[test]
    fn latin1_reads_as_its_code_points() {
        let message = from_phone(3, 0, &[0x43, 0x61, 0x66, 0xE9]);
        let parts = delivers(read(&message, 1, Gsm7Packing::Unpacked, now()));
        assert_eq!(parts[0].user_data.as_text(), Some("Café"));
    }

    #[test]
    fn receipts_say_which_part_and_what_became_of_it() {
        let mut receipt = from_phone(0, 0x04, b"id:2748 sub:001 dlvrd:001 submit date:2612031200 done date:2612031201 stat:DELIVRD err:000 text:");
        receipt
            .tlvs
            .push(Tlv::new(tlv::RECEIPTED_MESSAGE_ID, b"ABC\0".to_vec()));
        receipt.tlvs.push(Tlv::u8(tlv::MESSAGE_STATE, 2));
        let Received::Receipt {
            message_id,
            outcome,
            ..
        } = read(&receipt, 1, Gsm7Packing::Unpacked, now())
        else {
            panic!("not a receipt");
        };
        assert_eq!(message_id, "ABC");
        assert_eq!(outcome, Some(ReceiptOutcome::Delivered));

        let failed = from_phone(0, 0x04, b"id:77 sub:001 dlvrd:000 submit date:2612031200 done date:2612031201 stat:UNDELIV err:034 text:");
        let Received::Receipt {
            message_id,
            outcome,
            ..
        } = read(&failed, 1, Gsm7Packing::Unpacked, now())
        else {
            panic!("not a receipt");
        };
        assert_eq!(message_id, "77");
        assert_eq!(
            outcome,
            Some(ReceiptOutcome::Failed {
                reason: "the message centre reports it undeliverable (error 034)".into()
            })
        );

        let enroute = from_phone(0, 0x20, b"id:78 stat:ENROUTE");
        let Received::Receipt { outcome, .. } = read(&enroute, 1, Gsm7Packing::Unpacked, now())
        else {
            panic!("not a receipt");
        };
        assert_eq!(outcome, None);
    }

    #[test]
    fn what_cannot_be_read_is_unusable_and_says_why() {
        let no_id = from_phone(0, 0x04, b"nothing useful");
        assert!(
            matches!(read(&no_id, 1, Gsm7Packing::Unpacked, now()), Received::Unusable(r) if r.contains("names no message"))
        );
        let bad_header = from_phone(0, ShortMessage::UDHI, &[0x09, 0x00]);
        assert!(
            matches!(read(&bad_header, 1, Gsm7Packing::Unpacked, now()), Received::Unusable(r) if r.contains("header"))
        );
        let mut nobody = from_phone(0, 0, b"hi");
        nobody.source = Address::new(1, 1, Vec::new());
        assert!(
            matches!(read(&nobody, 1, Gsm7Packing::Unpacked, now()), Received::Unusable(r) if r.contains("sender"))
        );
    }

    proptest::proptest! {
        /// Whatever an SMSC delivers, reading it never panics, and a text is PDUs the
        /// gateway can decode.
        #[test]
        fn any_deliver_sm_is_read_without_panicking(
            esm_class in proptest::prelude::any::<u8>(),
            data_coding in proptest::prelude::any::<u8>(),
            ton in 0u8..8,
            source in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
            short_message in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..255),
            payload in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)),
            packed in proptest::prelude::any::<bool>(),
        ) {
            let mut message = from_phone(data_coding, esm_class, &short_message);
            message.source = Address::new(ton, 1, source);
            if let Some(payload) = payload {
                message.tlvs.push(Tlv::new(tlv::MESSAGE_PAYLOAD, payload));
            }
            let packing = if packed { Gsm7Packing::Packed } else { Gsm7Packing::Unpacked };
            if let Received::Text { pdus } = read(&message, 7, packing, now()) {
                proptest::prop_assert!(!pdus.is_empty());
                for hex in pdus {
                    proptest::prop_assert!(Pdu::decode_hex(&hex, SmscField::Present).is_ok(), "{}", hex);
                }
            }
        }
    }
}
