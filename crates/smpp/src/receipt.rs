//! Delivery receipts (SMPP 3.4 §2.11, §5.2.12, Appendix B). An SMSC reports what became of
//! a submitted message with a `deliver_sm` whose `esm_class` says "SMSC delivery receipt"
//! (or "intermediate delivery notification"). SMPP 3.4 SMSCs give the message id and state
//! in optional parameters (`receipted_message_id`, `message_state`); many also, or only,
//! write them into the text in the form Appendix B suggests:
//!
//! ```text
//! id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:…
//! ```
//!
//! The parameters win where both exist. Ids are compared as [`Receipt::is_for`] says:
//! some SMSCs answer `submit_sm` with a hexadecimal id and write the same id in decimal
//! into the receipt (Kannel's `msg-id-type` option exists for this).

use crate::pdu::ShortMessage;
use crate::tlv;

/// `message_state` (§5.2.28), and the `stat:` words of Appendix B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    Enroute,
    Delivered,
    Expired,
    Deleted,
    Undeliverable,
    Accepted,
    Unknown,
    Rejected,
}

impl MessageState {
    fn from_code(code: u8) -> Option<MessageState> {
        Some(match code {
            1 => MessageState::Enroute,
            2 => MessageState::Delivered,
            3 => MessageState::Expired,
            4 => MessageState::Deleted,
            5 => MessageState::Undeliverable,
            6 => MessageState::Accepted,
            7 => MessageState::Unknown,
            8 => MessageState::Rejected,
            _ => return None,
        })
    }

    fn from_word(word: &str) -> Option<MessageState> {
        Some(match word.to_ascii_uppercase().as_str() {
            "ENROUTE" => MessageState::Enroute,
            "DELIVRD" | "DELIVERED" => MessageState::Delivered,
            "EXPIRED" => MessageState::Expired,
            "DELETED" => MessageState::Deleted,
            "UNDELIV" | "UNDELIVERABLE" => MessageState::Undeliverable,
            "ACCEPTD" | "ACCEPTED" => MessageState::Accepted,
            "UNKNOWN" => MessageState::Unknown,
            "REJECTD" | "REJECTED" => MessageState::Rejected,
            _ => return None,
        })
    }

    /// Whether nothing will change any more: delivered, or failed for good.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            MessageState::Enroute | MessageState::Accepted | MessageState::Unknown
        )
    }
}

/// What a receipt says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The SMSC's id of the message, as the receipt writes it.
    pub message_id: String,
    pub state: MessageState,
    /// The `err:` field of the text, when there is one ("000" for none).
    pub error: Option<String>,
}

/// `esm_class` message types (bits 2–5) that are receipts.
const SMSC_DELIVERY_RECEIPT: u8 = 0x04;
const INTERMEDIATE_NOTIFICATION: u8 = 0x20;

impl Receipt {
    /// The receipt a `deliver_sm` carries; `None` when it is a text from a phone, or a
    /// receipt that names no message or no state.
    pub fn from_deliver_sm(sm: &ShortMessage) -> Option<Receipt> {
        let kind = sm.esm_class & 0x3C;
        if kind != SMSC_DELIVERY_RECEIPT && kind != INTERMEDIATE_NOTIFICATION {
            return None;
        }
        let text = String::from_utf8_lossy(&sm.short_message);
        let fields = text_fields(&text);
        let message_id = sm
            .tlv(tlv::RECEIPTED_MESSAGE_ID)
            .map(|t| String::from_utf8_lossy(t.as_c_string()).into_owned())
            .filter(|id| !id.is_empty())
            .or_else(|| fields.id.map(str::to_owned))?;
        let state = sm
            .tlv(tlv::MESSAGE_STATE)
            .and_then(tlv::Tlv::as_u8)
            .and_then(MessageState::from_code)
            .or_else(|| fields.stat.and_then(MessageState::from_word))?;
        Some(Receipt {
            message_id,
            state,
            error: fields.err.map(str::to_owned),
        })
    }

    /// Whether this receipt is about the message the SMSC accepted as `submitted` (the id
    /// of its `submit_sm_resp`): the same text, or the same number written once in
    /// hexadecimal and once in decimal.
    pub fn is_for(&self, submitted: &str) -> bool {
        if self.message_id.eq_ignore_ascii_case(submitted) {
            return true;
        }
        let decimal = |s: &str| s.parse::<u128>().ok();
        let hex = |s: &str| u128::from_str_radix(s, 16).ok();
        let same =
            |a: Option<u128>, b: Option<u128>| matches!((a, b), (Some(a), Some(b)) if a == b);
        same(hex(submitted), decimal(&self.message_id))
            || same(decimal(submitted), hex(&self.message_id))
    }
}

/// The fields of a receipt's text that matter here.
#[derive(Default)]
struct TextFields<'a> {
    id: Option<&'a str>,
    stat: Option<&'a str>,
    err: Option<&'a str>,
}

/// Reads `key:value` words; "submit date" and "done date" contain a space, and everything
/// after `text:` is the message's beginning, so reading stops there.
fn text_fields(text: &str) -> TextFields<'_> {
    let mut fields = TextFields::default();
    for word in text.split_whitespace() {
        let Some((key, value)) = word.split_once(':') else {
            continue;
        };
        match key.to_ascii_lowercase().as_str() {
            "id" if fields.id.is_none() && !value.is_empty() => fields.id = Some(value),
            "stat" => fields.stat = Some(value),
            "err" => fields.err = Some(value),
            "text" => break,
            _ => {}
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlv::Tlv;

    fn receipt(text: &str, tlvs: Vec<Tlv>) -> ShortMessage {
        ShortMessage {
            esm_class: SMSC_DELIVERY_RECEIPT,
            short_message: text.as_bytes().to_vec(),
            tlvs,
            ..ShortMessage::default()
        }
    }

    #[test]
    fn the_text_form_is_read() {
        let sm = receipt(
            "id:0123456789 sub:001 dlvrd:001 submit date:2612031200 done date:2612031201 stat:DELIVRD err:000 text:Are you open",
            Vec::new(),
        );
        let r = Receipt::from_deliver_sm(&sm).expect("a receipt");
        assert_eq!(r.message_id, "0123456789");
        assert_eq!(r.state, MessageState::Delivered);
        assert_eq!(r.error.as_deref(), Some("000"));
    }

    #[test]
    fn parameters_win_over_the_text() {
        let sm = receipt(
            "id:1 stat:ENROUTE",
            vec![
                Tlv::new(tlv::RECEIPTED_MESSAGE_ID, b"ab12\0".to_vec()),
                Tlv::u8(tlv::MESSAGE_STATE, 5),
            ],
        );
        let r = Receipt::from_deliver_sm(&sm).expect("a receipt");
        assert_eq!(
            (r.message_id.as_str(), r.state),
            ("ab12", MessageState::Undeliverable)
        );
    }

    #[test]
    fn a_text_from_a_phone_is_no_receipt() {
        let mut sm = receipt("id:1 stat:DELIVRD", Vec::new());
        sm.esm_class = 0;
        assert_eq!(Receipt::from_deliver_sm(&sm), None);
        // A receipt that names no state is not understood either.
        assert_eq!(Receipt::from_deliver_sm(&receipt("id:1", Vec::new())), None);
    }

    #[test]
    fn ids_match_across_hexadecimal_and_decimal() {
        let r = Receipt {
            message_id: "3735928559".into(),
            state: MessageState::Delivered,
            error: None,
        };
        assert!(r.is_for("DEADBEEF"));
        assert!(r.is_for("3735928559"));
        assert!(!r.is_for("DEADBEEE"));
    }
}
