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

/// The caller's token in the reassembler property test: which generated message, which
/// part, which copy of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Token {
    message: usize,
    sequence: u8,
    copy: u8,
}

/// A generated message: sender, reference, width, number of parts.
type MessageSpec = (u8, u16, bool, u8);

fn message_specs() -> impl Strategy<Value = Vec<MessageSpec>> {
    // Few senders and references, so keys collide often on all but one field.
    prop::collection::vec((0..2u8, 0..2u16, any::<bool>(), 1..5u8), 1..7).prop_map(|mut specs| {
        // One generated message per key: the key includes the total, so dedupe on all four.
        specs.sort();
        specs.dedup();
        specs
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the order, duplicates, gaps and cap: every part pushed comes out exactly
    /// once (in a complete or released message, or handed back as a duplicate), no output
    /// mixes parts of different messages, and nothing is left pending after the deadline.
    #[test]
    fn the_reassembler_never_loses_or_mixes_parts(
        specs in message_specs(),
        copies in prop::collection::vec(0..3u8, 64),
        same_token in prop::collection::vec(any::<bool>(), 64),
        keys in prop::collection::vec(any::<u32>(), 64),
        gaps in prop::collection::vec(0..400u64, 64),
        max_pending in 1..5usize,
    ) {
        let mut parts = Vec::new();
        for (message, &(sender, reference, wide, total)) in specs.iter().enumerate() {
            for sequence in 1..=total {
                let n = parts.len();
                let extra = copies.get(n).copied().unwrap_or(0);
                for copy in 0..=extra {
                    // A re-pushed copy either reuses the token (a restore) or is a new one
                    // (the network delivered the part twice).
                    let copy = if copy > 0 && same_token.get(n).copied().unwrap_or(false) {
                        0
                    } else {
                        copy
                    };
                    parts.push(Part {
                        sender: format!("+1555000000{sender}"),
                        concatenation: Some(textgate_gsm::udh::Concatenation {
                            reference,
                            width: if wide { ReferenceWidth::Bits16 } else { ReferenceWidth::Bits8 },
                            total,
                            sequence,
                        }),
                        payload: Payload::Text(format!("<{message}.{sequence}>")),
                        token: Token { message, sequence, copy },
                    });
                }
            }
        }
        let mut order: Vec<(u32, usize)> =
            (0..parts.len()).map(|i| (keys.get(i).copied().unwrap_or(0), i)).collect();
        order.sort();

        let config = ReassemblyConfig {
            timeout: Duration::from_secs(600),
            max_pending,
            ..ReassemblyConfig::default()
        };
        let mut reassembler: Reassembler<Token> = Reassembler::new(config);
        let start = Instant::now();
        let mut now = start;
        let mut outputs: Vec<Vec<Token>> = Vec::new();
        let mut handed_back: Vec<Token> = Vec::new();
        let mut already_held = 0usize;
        for (step, &(_, index)) in order.iter().enumerate() {
            now += Duration::from_secs(gaps.get(step).copied().unwrap_or(0));
            if let Some(deadline) = reassembler.next_deadline() {
                if deadline <= now {
                    let released = reassembler.expire(now);
                    prop_assert!(!released.is_empty());
                    outputs.extend(released.into_iter().map(|i| i.tokens));
                }
            }
            prop_assert!(reassembler.next_deadline().is_none_or(|d| d > now));
            let pushed = reassembler.push(parts[index].clone(), now);
            prop_assert!(reassembler.pending_len() <= max_pending);
            outputs.extend(pushed.evicted.map(|i| i.tokens));
            match pushed.outcome {
                Outcome::Complete(done) => outputs.push(done.tokens),
                Outcome::Duplicate { token } => handed_back.push(token),
                Outcome::AlreadyHeld => already_held += 1,
                Outcome::Stored { .. } => {}
            }
        }
        let end = now + Duration::from_secs(601);
        outputs.extend(reassembler.expire(end).into_iter().map(|i| i.tokens));
        prop_assert_eq!(reassembler.pending_len(), 0);
        prop_assert_eq!(reassembler.next_deadline(), None);

        // No output mixes messages; parts come in sequence order, each at most once.
        for tokens in &outputs {
            prop_assert!(tokens.windows(2).all(|w| w[0].message == w[1].message && w[0].sequence < w[1].sequence), "{:?}", tokens);
        }
        // Every push is accounted for exactly once.
        let mut accounted: Vec<Token> = outputs.into_iter().flatten().chain(handed_back).collect();
        prop_assert_eq!(accounted.len() + already_held, parts.len());
        accounted.sort();
        let mut pushed: Vec<Token> = parts.iter().map(|p| p.token).collect();
        pushed.sort();
        pushed.dedup();
        accounted.dedup();
        prop_assert_eq!(accounted, pushed);
    }
}
