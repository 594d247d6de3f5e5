//! The parts of a reply: the SMS-SUBMIT PDUs it is sent as, which of them the store has no
//! message reference for yet (the only ones an attempt sends), and the log of the parts the
//! network accepted during one attempt.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use textgate_gsm::pdu::Address;
use textgate_gsm::segment::{Segmenter, StatusReportRequest, SubmitOptions};
use textgate_modem::{MessageReference, OutgoingSms};
use textgate_store::{Lease, OutboundText, SentPart};

/// Builds the SMS-SUBMIT parts of a reply. The concatenation reference comes from the
/// outbound id, so a retry of the same text reuses it; so does its key (`text_key`).
pub fn build_sms(
    segmenter: &Segmenter,
    recipient: &str,
    body: &str,
    outbound_id: i64,
) -> Result<OutgoingSms, String> {
    let address = Address::from_number(recipient)
        .map_err(|e| format!("{recipient} cannot receive texts: {e}"))?;
    let options = SubmitOptions {
        status_report: StatusReportRequest::Requested,
        ..SubmitOptions::default()
    };
    let reference = (outbound_id & 0xFFFF) as u16;
    let pdus = segmenter
        .submit_pdus(body, reference, &address, &options)
        .map_err(|e| e.to_string())?;
    OutgoingSms::from_pdus(recipient, body, &pdus)
        .map_err(|e| format!("the text cannot be encoded: {e}"))
}

/// The key a text is sent under on every attempt ([`OutgoingSms::key`]): its outbound id
/// and the millisecond it was queued, so that a database started afresh, whose ids begin
/// again at 1, never names a new text as one the far end already took.
pub fn text_key(outbound_id: i64, created_at: DateTime<Utc>) -> String {
    format!("tg{outbound_id}-{}", created_at.timestamp_millis())
}

/// The parts of a text still to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsent {
    /// The parts without a recorded message reference, in order.
    pub sms: OutgoingSms,
    /// The part number (from 1) of each part in `sms`.
    pub numbers: Vec<u8>,
}

impl Unsent {
    /// The same without its first part (which turned out to be sent).
    pub fn without_first(self) -> Unsent {
        let Unsent {
            mut sms,
            mut numbers,
        } = self;
        if !numbers.is_empty() {
            numbers.remove(0);
            sms.parts.remove(0);
        }
        Unsent { sms, numbers }
    }
}

/// Leaves out of `sms` the parts the store already has a message reference for (the
/// network accepted them in an earlier attempt).
pub fn unsent_parts(sms: OutgoingSms, recorded: &[SentPart]) -> Unsent {
    let OutgoingSms {
        recipient,
        text,
        parts,
        key,
    } = sms;
    let (numbers, parts) = parts
        .into_iter()
        .zip(1..=u8::MAX)
        .filter(|(_, number)| !recorded.iter().any(|r| r.seq == *number))
        .map(|(part, number)| (number, part))
        .unzip();
    Unsent {
        sms: OutgoingSms {
            recipient,
            text,
            parts,
            key,
        },
        numbers,
    }
}

/// The message references of a text's parts in part order, for the `mr` log field.
pub(super) fn references(sent: &BTreeMap<u8, MessageReference>) -> String {
    sent.values()
        .map(MessageReference::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// The parts of one text the network accepted, as the worker records them.
pub(super) struct PartLog<'a> {
    pub(super) lease: &'a Lease,
    pub(super) text: &'a OutboundText,
    /// How many parts the text has.
    pub(super) total: usize,
    /// The part number of each part in the message handed to the driver.
    pub(super) numbers: Vec<u8>,
    /// Part number → message reference of every part sent, in this attempt or before.
    pub(super) sent: BTreeMap<u8, MessageReference>,
    /// Parts sent whose record the store refused (it is away, or the lease was lost).
    /// `mark_sent` records them with the rest; a retry would send them again.
    pub(super) unrecorded: BTreeSet<u8>,
    /// The last part of a send, accepted and left for the completion to record.
    pub(super) noted: Vec<(u8, MessageReference)>,
}

impl<'a> PartLog<'a> {
    pub(super) fn new(
        lease: &'a Lease,
        text: &'a OutboundText,
        total: usize,
        recorded: &[SentPart],
    ) -> Self {
        PartLog {
            lease,
            text,
            total,
            numbers: Vec::new(),
            sent: recorded
                .iter()
                .map(|p| (p.seq, MessageReference::from_stored(p.message_ref.as_str())))
                .collect(),
            unrecorded: BTreeSet::new(),
            noted: Vec::new(),
        }
    }

    /// Whether the part at `index` of the message sent is recorded with `reference`.
    pub(super) fn knows(&self, index: usize, reference: &MessageReference) -> bool {
        self.numbers
            .get(index)
            .is_some_and(|number| self.sent.get(number) == Some(reference))
    }

    pub(super) fn parts(&self) -> Vec<SentPart> {
        self.sent
            .iter()
            .map(|(&seq, reference)| SentPart {
                seq,
                message_ref: reference.as_str().to_owned(),
            })
            .collect()
    }

    pub(super) fn references(&self) -> String {
        references(&self.sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use textgate_gsm::pdu::{Pdu, SmscField, Tpdu};
    use textgate_gsm::segment::SegmenterConfig;

    #[test]
    fn sms_parts_ask_for_status_reports_and_share_a_reference() {
        let segmenter = Segmenter::new(SegmenterConfig::default());
        let sms = build_sms(&segmenter, "+15551234567", &"a".repeat(200), 0x1_0203).unwrap();
        let summary: Vec<String> = sms
            .parts
            .iter()
            .map(|part| {
                let pdu = Pdu::decode(&part.pdu, SmscField::Present).unwrap();
                let Tpdu::Submit(submit) = pdu.tpdu else {
                    panic!("not a SUBMIT")
                };
                let c = submit
                    .user_data
                    .header
                    .and_then(|h| h.concatenation())
                    .unwrap();
                format!(
                    "to {} report {} ref {} part {}/{}",
                    submit.recipient.number,
                    submit.status_report_request,
                    c.reference,
                    c.sequence,
                    c.total
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "to +15551234567 report true ref 3 part 1/2",
                "to +15551234567 report true ref 3 part 2/2",
            ]
        );
        assert!(build_sms(&segmenter, "InfoSMS", "hi", 1).is_err());
    }

    #[test]
    fn only_parts_without_a_recorded_reference_are_sent_again() {
        let segmenter = Segmenter::new(SegmenterConfig::default());
        let sms = build_sms(&segmenter, "+15551234567", &"a".repeat(400), 7).unwrap();
        assert_eq!(sms.parts.len(), 3);
        let recorded = [
            SentPart {
                seq: 1,
                message_ref: "30".to_owned(),
            },
            SentPart {
                seq: 3,
                message_ref: "32".to_owned(),
            },
        ];
        let unsent = unsent_parts(sms.clone(), &recorded);
        assert_eq!(unsent.numbers, [2]);
        assert_eq!(unsent.sms.parts, [sms.parts[1].clone()]);
        let everything = unsent_parts(sms.clone(), &[]);
        assert_eq!((everything.numbers, everything.sms), (vec![1, 2, 3], sms));
    }

    /// Drivers that do not send PDUs (the e-mail path) take the recipient and the whole
    /// text from the message, never decoded back from its parts; a retry that sends only
    /// some parts still carries the whole text.
    #[test]
    fn a_reply_carries_its_recipient_and_whole_text_beside_its_parts() {
        let segmenter = Segmenter::new(SegmenterConfig::default());
        let text = format!("Évacuez 🚒 {}", "b".repeat(150));
        let sms = build_sms(&segmenter, "+15551234567", &text, 9).unwrap();
        assert_eq!(sms.parts.len(), 3);
        assert_eq!(
            (sms.recipient.as_str(), sms.text.as_str()),
            ("+15551234567", text.as_str())
        );
        let recorded = [SentPart {
            seq: 1,
            message_ref: "4".to_owned(),
        }];
        let unsent = unsent_parts(sms, &recorded);
        assert_eq!(unsent.sms.parts.len(), 2);
        assert_eq!(
            (unsent.sms.recipient.as_str(), unsent.sms.text.as_str()),
            ("+15551234567", text.as_str())
        );
    }
}
