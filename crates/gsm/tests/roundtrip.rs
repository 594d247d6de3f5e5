//! Round trip through the whole outgoing and incoming path, for any text:
//! `Segmenter` → SMS-SUBMIT PDUs → octets → decoded PDUs → `Reassembler` fed the parts in
//! any order → the original text. On the way, every part is checked against the limit of
//! one SMS, measured with the codec's own header and user data encoders rather than the
//! segmenter's arithmetic.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use textgate_gsm::alphabet::{self, Language};
use textgate_gsm::pdu::{Address, Content, Pdu, SmscField, Tpdu, UserData};
use textgate_gsm::reassembly::{Outcome, Part, Payload, Reassembler, ReassemblyConfig};
use textgate_gsm::segment::{
    Segmenter, SegmenterConfig, StatusReportRequest, SubmitOptions, TextEncoding,
};
use textgate_gsm::septet;
use textgate_gsm::udh::ReferenceWidth;

/// Texts that exercise the interesting cases: the basic GSM alphabet, the extension table
/// (two septets each), Turkish, Spanish and Portuguese letters of the national tables,
/// Cyrillic, emoji (surrogate pairs), and any Unicode scalar value at all. A third of the
/// texts stay in the default GSM alphabet and a third add national letters, so that long
/// 7-bit texts (which a single stray character would turn into UCS-2) are common.
fn text() -> impl Strategy<Value = String> {
    fn pick(chars: &str) -> impl Strategy<Value = char> {
        prop::sample::select(chars.chars().collect::<Vec<_>>())
    }
    let basic =
        || pick("abcXYZ 019@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\n\r");
    let extension = || pick("^{}\\[~]|€\u{0C}");
    let national = || pick("şŞğĞıİçÇáíóúÁÍÓÚêôãõÊÔÃÕ");
    let gsm = prop_oneof![4 => basic(), 1 => extension()];
    let gsm_national = prop_oneof![8 => basic(), 2 => extension(), 1 => national()];
    let anything = prop_oneof![
        8 => basic(),
        3 => extension(),
        2 => national(),
        1 => pick("абвгдЖЗИЙКЛ"),
        2 => pick("😀👍🎉📚🇺🇸❤️"),
        1 => any::<char>(),
    ];
    let string = |chars: BoxedStrategy<char>, max: usize| {
        prop::collection::vec(chars, 0..max).prop_map(|c| c.into_iter().collect::<String>())
    };
    prop_oneof![
        string(gsm.boxed(), 700),
        string(gsm_national.boxed(), 700),
        string(anything.boxed(), 350),
    ]
}

fn config() -> impl Strategy<Value = SegmenterConfig> {
    let languages = prop::sample::subsequence(
        vec![Language::Turkish, Language::Spanish, Language::Portuguese],
        0..=3,
    );
    let width = prop_oneof![Just(ReferenceWidth::Bits8), Just(ReferenceWidth::Bits16)];
    (languages, width).prop_map(|(national_languages, reference_width)| SegmenterConfig {
        national_languages,
        reference_width,
        max_parts: 255,
    })
}

/// Units of one part as the codec counts them, and whether they fit one SMS together with
/// the part's header.
fn fits_one_sms(user_data: &UserData, encoding: TextEncoding) -> Result<usize, String> {
    let header_octets = match &user_data.header {
        Some(h) => h.to_bytes().map_err(|e| e.to_string())?.len(),
        None => 0,
    };
    let Content::Text(text) = &user_data.content else {
        return Err("a text part carries data".into());
    };
    match encoding {
        TextEncoding::Gsm7(tables) => {
            let septets = alphabet::encode(text, tables)
                .map_err(|e| e.to_string())?
                .len();
            let total = septet::header_septets(header_octets) + septets;
            if total > 160 {
                return Err(format!("{total} septets with the header, 160 fit"));
            }
            Ok(septets)
        }
        TextEncoding::Ucs2 => {
            let units = text.encode_utf16().count();
            let total = header_octets + 2 * units;
            if total > 140 {
                return Err(format!("{total} octets with the header, 140 fit"));
            }
            Ok(units)
        }
    }
}

/// Decodes each PDU from its octets and turns it into a part for the reassembler.
fn received_parts(pdus: &[Pdu]) -> Vec<Part<usize>> {
    pdus.iter()
        .enumerate()
        .map(|(index, pdu)| {
            let octets = pdu.encode(SmscField::Present).expect("the PDU encodes");
            let decoded = Pdu::decode(&octets, SmscField::Present).expect("the PDU decodes");
            let Tpdu::Submit(submit) = decoded.tpdu else {
                panic!("expected an SMS-SUBMIT, got {:?}", decoded.tpdu);
            };
            let payload = match submit.user_data.content {
                Content::Text(t) => Payload::Text(t),
                Content::Data(d) => Payload::Data(d),
            };
            Part {
                sender: submit.recipient.number,
                concatenation: submit
                    .user_data
                    .header
                    .as_ref()
                    .and_then(|h| h.concatenation()),
                payload,
                token: index,
            }
        })
        .collect()
}

/// Pushes `parts` in the order given by sorting on `keys`, and returns the complete
/// message the last push produced.
fn reassemble(parts: Vec<Part<usize>>, keys: &[u32]) -> (Payload, Vec<usize>) {
    let count = parts.len();
    let mut ordered: Vec<(u32, Part<usize>)> = keys.iter().copied().zip(parts).collect();
    ordered.sort_by_key(|&(key, _)| key);
    assert_eq!(ordered.len(), count, "not enough shuffle keys");
    let mut reassembler: Reassembler<usize> = Reassembler::new(ReassemblyConfig::default());
    let now = Instant::now();
    let mut result = None;
    for (i, (_, part)) in ordered.into_iter().enumerate() {
        let pushed = reassembler.push(part, now + Duration::from_secs(i as u64));
        assert_eq!(pushed.evicted, None);
        match pushed.outcome {
            Outcome::Complete(done) => {
                assert_eq!(i + 1, count, "completed before the last part");
                assert_eq!(done.ignored_concatenation, None);
                result = Some((done.payload, done.tokens));
            }
            Outcome::Stored { .. } => assert!(i + 1 < count, "the last part did not complete"),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(reassembler.pending_len(), 0);
    result.expect("the message completed")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_survives_segmentation_pdus_and_reassembly_in_any_order(
        text in text(),
        config in config(),
        reference in any::<u16>(),
        keys in prop::collection::vec(any::<u32>(), 255),
    ) {
        let segmenter = Segmenter::new(config);
        let segmented = segmenter.segment(&text, reference).expect("255 parts are allowed");

        // Every part fits one SMS, and the segmenter's counts are the codec's.
        for part in &segmented.parts {
            let (_, user_data) = part.user_data();
            let units = fits_one_sms(&user_data, part.encoding).map_err(TestCaseError::fail)?;
            prop_assert_eq!(units, part.units);
        }
        let joined: String = segmented.parts.iter().map(|p| p.text.as_str()).collect();
        prop_assert_eq!(&joined, &text);

        // The countdown agrees with the segmentation.
        let countdown = segmenter.countdown(&text);
        prop_assert_eq!(countdown.parts, segmented.parts.len());
        prop_assert_eq!(countdown.encoding, segmented.encoding);
        let last = segmented.parts.last().map_or(0, |p| p.units);
        prop_assert_eq!(countdown.remaining_in_part + last, countdown.part_capacity);

        let recipient = Address::from_number("+15551234567").expect("a valid number");
        let options = SubmitOptions {
            status_report: StatusReportRequest::Requested,
            ..SubmitOptions::default()
        };
        let pdus = segmented.submit_pdus(&recipient, &options);
        let parts = received_parts(&pdus);
        let (payload, tokens) = reassemble(parts, &keys);
        prop_assert_eq!(payload, Payload::Text(text));
        prop_assert_eq!(tokens, (0..pdus.len()).collect::<Vec<_>>());
    }

    #[test]
    fn any_data_survives_segmentation_pdus_and_reassembly_in_any_order(
        data in prop::collection::vec(any::<u8>(), 0..1200),
        width in prop_oneof![Just(ReferenceWidth::Bits8), Just(ReferenceWidth::Bits16)],
        reference in any::<u16>(),
        keys in prop::collection::vec(any::<u32>(), 255),
    ) {
        let segmenter = Segmenter::new(SegmenterConfig {
            reference_width: width,
            ..SegmenterConfig::default()
        });
        let parts = segmenter.segment_data(&data, reference).expect("within 10 parts");
        let recipient = Address::from_number("+15551234567").expect("a valid number");
        let pdus: Vec<Pdu> = parts
            .iter()
            .map(|part| {
                let (data_coding, user_data) = part.user_data();
                Pdu {
                    smsc: None,
                    tpdu: Tpdu::Submit(textgate_gsm::pdu::Submit::new(
                        recipient.clone(),
                        data_coding,
                        user_data,
                    )),
                }
            })
            .collect();
        for pdu in &pdus {
            // The encoder refuses user data beyond 140 octets.
            prop_assert!(pdu.encode(SmscField::Present).is_ok());
        }
        let (payload, _) = reassemble(received_parts(&pdus), &keys);
        prop_assert_eq!(payload, Payload::Data(data));
    }
}
