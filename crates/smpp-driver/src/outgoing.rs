//! From the outbox's message to `submit_sm`s: the segmenter already cut the text into
//! SMS-SUBMIT PDUs (so an SMPP text is split exactly as a modem's would be, and the
//! librarian's "sent as N SMS" counts the same), and each PDU becomes one `submit_sm`
//! carrying the same user data: GSM 7-bit as `data_coding` 0, UCS-2 as 8, 8-bit data as 4,
//! the concatenation in the user data header (UDHI) or in the `sar_*` parameters.

use textgate_gsm::alphabet;
use textgate_gsm::pdu::{Alphabet, Content, Pdu, SmscField, Tpdu};
use textgate_gsm::septet;
use textgate_gsm::ucs2;
use textgate_gsm::udh::{InformationElement, UserDataHeader};
use textgate_modem::OutgoingSms;
use textgate_smpp::tlv::{self, Tlv};
use textgate_smpp::{Address, ShortMessage};

use crate::config::{Gsm7Packing, Multipart, SmppConfig};

/// `data_coding` values (SMPP 3.4 §5.2.19).
const DATA_CODING_DEFAULT: u8 = 0x00;
const DATA_CODING_BINARY: u8 = 0x04;
const DATA_CODING_UCS2: u8 = 0x08;

/// Why a part cannot be submitted; the send fails for good (the same PDU fails again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsubmittable(String);

/// The `submit_sm` for each part of `message`, in order; with [`Multipart::Payload`] one
/// `submit_sm` for all of them.
pub fn submits(
    message: &OutgoingSms,
    config: &SmppConfig,
) -> Result<Vec<ShortMessage>, (usize, Unsubmittable)> {
    let destination = destination(&message.recipient).map_err(|e| (0, e))?;
    let parts = message
        .parts
        .iter()
        .enumerate()
        .map(|(index, part)| submit(&part.pdu, destination.clone(), config).map_err(|e| (index, e)))
        .collect::<Result<Vec<_>, _>>()?;
    if config.multipart == Multipart::Payload && parts.len() > 1 {
        return payload(message, parts, config).map(|one| vec![one]);
    }
    Ok(parts)
}

/// One `submit_sm` carrying the text of every part in `message_payload`, in the first
/// part's coding (the segmenter codes every part of a text alike).
fn payload(
    message: &OutgoingSms,
    parts: Vec<ShortMessage>,
    config: &SmppConfig,
) -> Result<ShortMessage, (usize, Unsubmittable)> {
    let mut text = String::new();
    let mut coding = None;
    for (index, part) in message.parts.iter().enumerate() {
        let decoded = Pdu::decode(&part.pdu, SmscField::Present).map_err(|e| {
            (
                index,
                Unsubmittable(format!("the part is not a valid SMS-SUBMIT: {e}")),
            )
        })?;
        let Tpdu::Submit(submit) = decoded.tpdu else {
            return Err((index, Unsubmittable("the part is not an SMS-SUBMIT".into())));
        };
        coding.get_or_insert(submit.data_coding.alphabet());
        match submit.user_data.content {
            Content::Text(part_text) => text.push_str(&part_text),
            Content::Data(_) => {
                return Err((
                    index,
                    Unsubmittable("8-bit data cannot go as one message_payload".into()),
                ))
            }
        }
    }
    let (data_coding, body) = match coding {
        Some(Alphabet::Ucs2) => (DATA_CODING_UCS2, ucs2::encode(&text)),
        _ => {
            let septets = alphabet::encode(&text, Default::default())
                .map_err(|e| (0, Unsubmittable(format!("the text: {e}"))))?;
            let body = match config.gsm7_packing {
                Gsm7Packing::Unpacked => septets,
                Gsm7Packing::Packed => septet::pack(&septets, 0),
            };
            (DATA_CODING_DEFAULT, body)
        }
    };
    let first = parts.into_iter().next().unwrap_or_default();
    Ok(ShortMessage {
        esm_class: 0,
        data_coding,
        short_message: Vec::new(),
        tlvs: vec![Tlv::new(tlv::MESSAGE_PAYLOAD, body)],
        ..first
    })
}

/// The recipient as SMPP addresses it: `+` and digits is international/ISDN, other digits
/// (a short code, a national number) go as they are with TON and NPI unknown.
fn destination(recipient: &str) -> Result<Address, Unsubmittable> {
    let (ton, npi, digits) = match recipient.strip_prefix('+') {
        Some(digits) => (1, 1, digits),
        None => (0, 0, recipient),
    };
    if digits.is_empty() || digits.len() > 20 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(Unsubmittable(format!(
            "{recipient:?} is not a number a message centre can send to"
        )));
    }
    Ok(Address::new(ton, npi, digits.as_bytes()))
}

fn submit(
    pdu: &[u8],
    destination: Address,
    config: &SmppConfig,
) -> Result<ShortMessage, Unsubmittable> {
    let decoded = Pdu::decode(pdu, SmscField::Present)
        .map_err(|e| Unsubmittable(format!("the part is not a valid SMS-SUBMIT: {e}")))?;
    let Tpdu::Submit(submit) = decoded.tpdu else {
        return Err(Unsubmittable("the part is not an SMS-SUBMIT".into()));
    };
    let user_data = submit.user_data;
    let (mut header, concatenation) = match user_data.header {
        Some(header) => {
            let concatenation = header.concatenation();
            (Some(header), concatenation)
        }
        None => (None, None),
    };
    let mut tlvs = Vec::new();
    if config.multipart == Multipart::Sar {
        if let (Some(c), Some(h)) = (concatenation, header.as_mut()) {
            tlvs.push(Tlv::u16(tlv::SAR_MSG_REF_NUM, c.reference));
            tlvs.push(Tlv::u8(tlv::SAR_TOTAL_SEGMENTS, c.total));
            tlvs.push(Tlv::u8(tlv::SAR_SEGMENT_SEQNUM, c.sequence));
            // What else the header held (national language shifts) stays in it.
            let rest: Vec<InformationElement> = h
                .elements
                .iter()
                .filter(|e| !is_concatenation(e))
                .cloned()
                .collect();
            header = (!rest.is_empty()).then(|| UserDataHeader::new(rest));
        }
    }
    let header_octets = match &header {
        Some(h) => h
            .to_bytes()
            .map_err(|e| Unsubmittable(format!("the part's header: {e}")))?,
        None => Vec::new(),
    };
    let tables = header
        .as_ref()
        .map(UserDataHeader::tables)
        .unwrap_or_default();
    let (data_coding, body) = match (submit.data_coding.alphabet(), user_data.content) {
        (Alphabet::Gsm7, Content::Text(text)) => {
            let septets = alphabet::encode(&text, tables)
                .map_err(|e| Unsubmittable(format!("the part's text: {e}")))?;
            let body = match config.gsm7_packing {
                Gsm7Packing::Unpacked => septets,
                Gsm7Packing::Packed => septet::pack(
                    &septets,
                    septet::fill_bits_after_header(header_octets.len()),
                ),
            };
            (DATA_CODING_DEFAULT, body)
        }
        (Alphabet::Ucs2, Content::Text(text)) => (DATA_CODING_UCS2, ucs2::encode(&text)),
        (_, Content::Data(data)) => (DATA_CODING_BINARY, data),
        (Alphabet::EightBit, Content::Text(text)) => (DATA_CODING_BINARY, text.into_bytes()),
    };
    let mut short_message = header_octets;
    let has_header = !short_message.is_empty();
    short_message.extend(body);
    Ok(ShortMessage {
        source: config.source.clone(),
        destination,
        esm_class: if has_header { ShortMessage::UDHI } else { 0 },
        registered_delivery: u8::from(config.registered_delivery),
        data_coding,
        short_message,
        tlvs,
        ..ShortMessage::default()
    })
}

fn is_concatenation(element: &InformationElement) -> bool {
    matches!(
        element,
        InformationElement::Concatenation8 { .. } | InformationElement::Concatenation16 { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use textgate_gsm::pdu::Address as GsmAddress;
    use textgate_gsm::segment::{Segmenter, SegmenterConfig, SubmitOptions};

    fn message(text: &str) -> OutgoingSms {
        let segmenter = Segmenter::new(SegmenterConfig::default());
        let pdus = segmenter
            .segment(text, 0x2A)
            .expect("segments")
            .submit_pdus(
                &GsmAddress::from_number("+15551234567").expect("number"),
                &SubmitOptions::default(),
            );
        OutgoingSms::from_pdus("+15551234567", text, &pdus).expect("encodes")
    }

    fn config() -> SmppConfig {
        SmppConfig::new("127.0.0.1:2775", "textgate", "secret")
    }

    #[test]
    fn a_gsm_text_goes_unpacked_with_data_coding_zero() {
        let parts = submits(&message("Hello {you}"), &config()).expect("submits");
        assert_eq!(parts.len(), 1);
        let part = &parts[0];
        assert_eq!(part.data_coding, 0);
        assert_eq!(part.esm_class, 0);
        assert_eq!(part.registered_delivery, 1);
        assert_eq!(
            part.destination,
            Address::new(1, 1, b"15551234567".to_vec())
        );
        // The braces are escape + septet in the GSM default alphabet.
        assert_eq!(
            part.short_message,
            [0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x20, 0x1B, 0x28, 0x79, 0x6F, 0x75, 0x1B, 0x29]
        );
    }

    #[test]
    fn a_long_text_keeps_its_header_and_udhi() {
        let text = "x".repeat(200);
        let parts = submits(&message(&text), &config()).expect("submits");
        assert_eq!(parts.len(), 2);
        for (i, part) in parts.iter().enumerate() {
            assert_eq!(part.esm_class, ShortMessage::UDHI);
            let seq = u8::try_from(i + 1).expect("small");
            assert_eq!(&part.short_message[..6], &[5, 0, 3, 0x2A, 2, seq]);
        }
        assert_eq!(parts[0].short_message.len(), 6 + 153);
    }

    #[test]
    fn sar_moves_the_concatenation_into_parameters() {
        let mut config = config();
        config.multipart = Multipart::Sar;
        let text = "жё".repeat(40);
        let parts = submits(&message(&text), &config).expect("submits");
        assert_eq!(parts.len(), 2);
        let part = &parts[1];
        assert_eq!(part.esm_class, 0);
        assert_eq!(part.data_coding, 8);
        assert_eq!(
            part.tlv(tlv::SAR_MSG_REF_NUM).and_then(Tlv::as_u16),
            Some(0x2A)
        );
        assert_eq!(
            part.tlv(tlv::SAR_TOTAL_SEGMENTS).and_then(Tlv::as_u8),
            Some(2)
        );
        assert_eq!(
            part.tlv(tlv::SAR_SEGMENT_SEQNUM).and_then(Tlv::as_u8),
            Some(2)
        );
        assert_eq!(ucs2::decode(&part.short_message), "жё".repeat(40)[67 * 2..]);
    }

    #[test]
    fn payload_puts_the_whole_text_in_one_submit() {
        let mut config = config();
        config.multipart = Multipart::Payload;
        let text = "The library closes at 5 pm today; the book drop stays open. ".repeat(4);
        let parts = submits(&message(&text), &config).expect("submits");
        assert_eq!(parts.len(), 1);
        let part = &parts[0];
        assert_eq!(part.esm_class, 0);
        assert!(part.short_message.is_empty());
        let payload = part.tlv(tlv::MESSAGE_PAYLOAD).expect("a payload");
        assert_eq!(
            payload.value,
            text.as_bytes(),
            "unpacked GSM of plain ASCII letters"
        );
        // A single-part text stays an ordinary submit.
        let one = submits(&message("short"), &config).expect("submits");
        assert_eq!(one[0].short_message, b"short");
    }

    #[test]
    fn packed_gsm_starts_after_the_header_on_a_septet_boundary() {
        let mut config = config();
        config.gsm7_packing = Gsm7Packing::Packed;
        let text = "y".repeat(170);
        let parts = submits(&message(&text), &config).expect("submits");
        let part = &parts[1];
        let body = &part.short_message[6..];
        let septets = septet::unpack(body, 17, septet::fill_bits_after_header(6)).expect("unpacks");
        assert_eq!(septets, vec![b'y'; 17]);
    }

    #[test]
    fn a_recipient_that_is_no_number_is_refused() {
        let mut message = message("hi");
        message.recipient = "library".into();
        let error = submits(&message, &config()).expect_err("refused");
        assert_eq!(error.0, 0);
        assert!(error.1.to_string().contains("not a number"), "{}", error.1);
    }
}
