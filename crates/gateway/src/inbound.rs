//! What a received PDU means for the gateway, without I/O: a part of a patron's text (with
//! its concatenation, if it is one of several), a status report about a reply, or something
//! unusable that is only logged and acknowledged. Also the text a reassembled payload
//! becomes, and the stanza ids a delivered text carries.

use chrono::{DateTime, FixedOffset};
use textgate_core::{InboundTextId, PatronAddress, Region};
use textgate_gsm::error::GsmError;
use textgate_gsm::pdu::Content;
use textgate_gsm::pdu::StatusClass;
use textgate_gsm::pdu::{to_hex, Pdu, Tpdu};
use textgate_gsm::reassembly::Payload;
use textgate_gsm::udh::{Concatenation, ReferenceWidth};
use textgate_modem::MessageReference;
use textgate_store::PartOutcome;

/// One SMS-DELIVER as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPart {
    pub sender: PatronAddress,
    /// The service centre time stamp: the idempotency key and the delay stamp use it.
    pub smsc_time: DateTime<FixedOffset>,
    /// Set only for a valid part of a text of several parts; a lone part, or one whose
    /// concatenation element is invalid (TS 23.040 says to ignore it), is a whole text.
    pub concatenation: Option<Concatenation>,
    pub payload: Payload,
}

/// What a received PDU is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Part(ReceivedPart),
    /// A status report about the part sent with `reference` (a TP-MR from a PDU, or the
    /// message centre's id from a receipt). `None` outcome: the service centre is still
    /// trying, nothing to record yet.
    StatusReport {
        reference: MessageReference,
        outcome: Option<PartOutcome>,
        /// The number the part was sent to (TP-RA), when the report names one.
        recipient: Option<String>,
    },
    /// Nothing the gateway can deliver (undecodable, or a PDU type a modem never receives).
    Unusable(String),
}

/// Reads a decoded PDU (or the reason it could not be decoded).
pub fn classify(decoded: &Result<Pdu, GsmError>, region: Region) -> Received {
    let pdu = match decoded {
        Ok(pdu) => pdu,
        Err(e) => return Received::Unusable(format!("undecodable PDU: {e}")),
    };
    match &pdu.tpdu {
        Tpdu::Deliver(deliver) => {
            let concatenation = deliver
                .user_data
                .header
                .as_ref()
                .and_then(|h| h.concatenation())
                .filter(|c| c.total > 1 && (1..=c.total).contains(&c.sequence));
            let payload = match &deliver.user_data.content {
                Content::Text(text) => Payload::Text(text.clone()),
                Content::Data(data) => Payload::Data(data.clone()),
            };
            Received::Part(ReceivedPart {
                sender: PatronAddress::from_sender(&deliver.sender.number, region),
                smsc_time: deliver.service_centre_timestamp,
                concatenation,
                payload,
            })
        }
        Tpdu::StatusReport(report) => {
            let status = report.status;
            let outcome = match status.class() {
                StatusClass::Delivered => Some(PartOutcome::Delivered),
                StatusClass::StillTrying => None,
                StatusClass::PermanentFailure | StatusClass::TemporaryFailure => {
                    Some(PartOutcome::Failed {
                        reason: format!(
                            "the network could not deliver it: {} (status 0x{:02X})",
                            status.meaning(),
                            status.code()
                        ),
                    })
                }
            };
            Received::StatusReport {
                reference: MessageReference::tpmr(report.message_reference),
                outcome,
                recipient: Some(report.recipient.number.clone())
                    .filter(|number| !number.is_empty()),
            }
        }
        Tpdu::Submit(_) => Received::Unusable("an SMS-SUBMIT arrived as a received message".into()),
    }
}

/// The store's record of a concatenation element.
pub fn store_concatenation(c: Concatenation) -> textgate_store::Concatenation {
    textgate_store::Concatenation {
        reference: c.reference,
        reference_bits: match c.width {
            ReferenceWidth::Bits8 => 8,
            ReferenceWidth::Bits16 => 16,
        },
        total: c.total,
    }
}

/// What a patron's picture message becomes for the librarian: the network sends the
/// phone an MMS notification as a WAP push, which only a phone with mobile data can fetch
/// the picture from.
pub const PICTURE_MESSAGE: &str = "[The patron sent a picture message (MMS). It cannot be \
                                   shown here; ask them to text their question instead.]";

/// Whether 8-bit data is an MMS notification: a connectionless WSP Push PDU (WAP-230
/// §8.2.4: transaction id, PDU type 0x06, headers length) whose content type is
/// `application/vnd.wap.mms-message` (well-known 0x3E, sent as 0xBE, or as text), or the
/// MMS PDU itself (OMA-MMS-ENC: X-Mms-Message-Type 0x8C with m-notification-ind 0x82).
pub fn is_mms_notification(data: &[u8]) -> bool {
    let push = data.get(1) == Some(&0x06) && data.get(3) == Some(&0xBE);
    let textual = data
        .windows(b"application/vnd.wap.mms-message".len())
        .any(|w| w == b"application/vnd.wap.mms-message");
    let notification = data.windows(2).any(|w| w == [0x8C, 0x82]);
    (push || textual) && notification || data.starts_with(&[0x8C, 0x82])
}

/// The text an operator reads for a received payload. 8-bit data (ringtones, WAP push,
/// binary SMS) cannot be shown as text, so the operator sees what it was; a picture
/// message (MMS) says so in words.
pub fn body(payload: &Payload) -> String {
    match payload {
        Payload::Text(text) => text.clone(),
        Payload::Data(data) if is_mms_notification(data) => PICTURE_MESSAGE.to_owned(),
        Payload::Data(data) => format!(
            "[binary message of {} octets: {}]",
            data.len(),
            to_hex(data)
        ),
    }
}

/// The stanza ids of the texts delivered to operators: `tg-in-<inbound id>-<run>-<n>`.
///
/// The inbound id comes first so that a librarian's client log (which shows the stanza id)
/// and the daemon's log (which shows both) meet on one text; bounces find their text by
/// it. `<run>` is random per start of the gateway and `<n>` counts stanzas, so every
/// stanza has its own id: one text sent to three operators, offered again after a bounce,
/// or sent again after a restart never repeats an id.
#[derive(Debug)]
pub struct StanzaIds {
    run: u16,
    sent: u64,
}

const STANZA_PREFIX: &str = "tg-in-";

impl StanzaIds {
    pub fn new(run: u16) -> StanzaIds {
        StanzaIds { run, sent: 0 }
    }

    /// The id of the next stanza carrying text `text`.
    pub fn next(&mut self, text: InboundTextId) -> String {
        self.sent += 1;
        format!("{STANZA_PREFIX}{}-{:04x}-{}", text.0, self.run, self.sent)
    }
}

/// The text a stanza id made by [`StanzaIds`] carried; `None` for any other id.
pub fn text_of_stanza(id: &str) -> Option<InboundTextId> {
    let rest = id.strip_prefix(STANZA_PREFIX)?;
    let (text, _) = rest.split_once('-')?;
    text.parse().ok().map(InboundTextId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use expect_test::{expect, Expect};
    use textgate_gsm::pdu::Address;
    use textgate_gsm::pdu::Status;
    use textgate_gsm::pdu::{Deliver, SmscField, StatusReport};
    use textgate_gsm::segment::{Segmenter, SegmenterConfig};

    fn smsc_time() -> DateTime<FixedOffset> {
        FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 22, 4, 30, 0)
            .unwrap()
    }

    /// Sends `text` from `sender` through the codec as a phone would (segmented, encoded as
    /// SMS-DELIVER PDUs, decoded again) and shows what the gateway makes of each part.
    fn check(sender: &str, text: &str, expect: Expect) {
        let segmenter = Segmenter::new(SegmenterConfig::default());
        let segmented = segmenter.segment(text, 42).unwrap();
        let mut out = String::new();
        for part in &segmented.parts {
            let (dcs, ud) = part.user_data();
            let address = Address::from_number(sender)
                .or_else(|_| Address::alphanumeric(sender))
                .unwrap();
            let pdu = Pdu {
                smsc: None,
                tpdu: Tpdu::Deliver(Deliver::new(address, smsc_time(), dcs, ud)),
            };
            let hex = to_hex(&pdu.encode(SmscField::Present).unwrap());
            let decoded = Pdu::decode_hex(&hex, SmscField::Present);
            match classify(&decoded, "US".parse().unwrap()) {
                Received::Part(p) => out.push_str(&format!(
                    "{:?} at {} {:?} {:?}\n",
                    p.sender,
                    p.smsc_time.to_rfc3339(),
                    p.concatenation.map(|c| (c.reference, c.sequence, c.total)),
                    body(&p.payload),
                )),
                other => out.push_str(&format!("{other:?}\n")),
            }
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn texts_become_parts() {
        check(
            "+15551234567",
            "Is the library open on Sunday?",
            expect![[r#"
                E164("+15551234567") at 2026-11-22T04:30:00+01:00 None "Is the library open on Sunday?"
            "#]],
        );
        check(
            "72345",
            "x".repeat(170).as_str(),
            expect![[r#"
                ShortCode("72345") at 2026-11-22T04:30:00+01:00 Some((42, 1, 2)) "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                ShortCode("72345") at 2026-11-22T04:30:00+01:00 Some((42, 2, 2)) "xxxxxxxxxxxxxxxxx"
            "#]],
        );
        check(
            "InfoSMS",
            "Ünïcödé 📚",
            expect![[r#"
                Alphanumeric("InfoSMS") at 2026-11-22T04:30:00+01:00 None "Ünïcödé 📚"
            "#]],
        );
    }

    fn check_report(status: u8, expect: Expect) {
        let pdu = Pdu {
            smsc: None,
            tpdu: Tpdu::StatusReport(StatusReport::new(
                17,
                Address::from_number("+15551234567").unwrap(),
                smsc_time(),
                smsc_time(),
                Status(status),
            )),
        };
        let hex = to_hex(&pdu.encode(SmscField::Present).unwrap());
        let decoded = Pdu::decode_hex(&hex, SmscField::Present);
        expect.assert_debug_eq(&classify(&decoded, "US".parse().unwrap()));
    }

    #[test]
    fn status_reports() {
        check_report(
            0x00,
            expect![[r#"
                StatusReport {
                    reference: MessageReference(
                        "17",
                    ),
                    outcome: Some(
                        Delivered,
                    ),
                    recipient: Some(
                        "+15551234567",
                    ),
                }
            "#]],
        );
        check_report(
            0x21,
            expect![[r#"
                StatusReport {
                    reference: MessageReference(
                        "17",
                    ),
                    outcome: None,
                    recipient: Some(
                        "+15551234567",
                    ),
                }
            "#]],
        );
        check_report(
            0x46,
            expect![[r#"
                StatusReport {
                    reference: MessageReference(
                        "17",
                    ),
                    outcome: Some(
                        Failed {
                            reason: "the network could not deliver it: validity period expired (status 0x46)",
                        },
                    ),
                    recipient: Some(
                        "+15551234567",
                    ),
                }
            "#]],
        );
    }

    #[test]
    fn garbage_is_unusable() {
        let decoded = Pdu::decode_hex("0004", SmscField::Present);
        expect![[r#"
            Unusable(
                "undecodable PDU: PDU too short: originator address at octet 2 needs 1 octet, 0 present",
            )
        "#]]
        .assert_debug_eq(&classify(&decoded, "US".parse().unwrap()));
    }

    #[test]
    fn binary_payload_is_described() {
        assert_eq!(
            body(&Payload::Data(vec![0xCA, 0xFE])),
            "[binary message of 2 octets: CAFE]"
        );
        assert_eq!(body(&Payload::Text("hello".into())), "hello");
    }

    /// An MMS notification as a phone receives it: SMS-DELIVER with 8-bit data, a port
    /// header for WAP push (destination 2948, source 9200) and a WSP Push PDU of content
    /// type application/vnd.wap.mms-message carrying an m-notification-ind.
    const MMS_PUSH: &str = "00440B915155214365F70004622140710300001606\
                                       05040B8423F0010603BEAF848C8298313233008D92";

    #[test]
    fn a_picture_message_says_so() {
        let decoded = Pdu::decode_hex(MMS_PUSH, SmscField::Present);
        let Received::Part(part) = classify(&decoded, "US".parse().unwrap()) else {
            panic!("an MMS notification is a part: {decoded:?}");
        };
        assert_eq!(part.sender, PatronAddress::E164("+15551234567".into()));
        assert_eq!(body(&part.payload), PICTURE_MESSAGE);
        // Other binary data stays described as such, and text that mentions MMS is text.
        assert!(!is_mms_notification(&[0x01, 0x06, 0x03, 0xBE]));
        assert!(!is_mms_notification(b"my mms"));
    }

    #[test]
    fn every_stanza_id_is_new_and_names_its_text() {
        let mut ids = StanzaIds::new(0x3fa2);
        let made = [
            ids.next(InboundTextId(7)),
            ids.next(InboundTextId(7)),
            ids.next(InboundTextId(12)),
        ];
        assert_eq!(
            made,
            ["tg-in-7-3fa2-1", "tg-in-7-3fa2-2", "tg-in-12-3fa2-3"]
        );
        let texts: Vec<Option<i64>> = made
            .iter()
            .map(|id| text_of_stanza(id).map(|t| t.0))
            .collect();
        assert_eq!(texts, [Some(7), Some(7), Some(12)]);
        for other in ["in-7", "tg-in-", "tg-in-x-1-1", "r-1", "tg-in-7"] {
            assert_eq!(text_of_stanza(other), None, "{other}");
        }
    }
}
