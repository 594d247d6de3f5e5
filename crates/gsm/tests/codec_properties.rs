//! Property tests for the codec: whatever is encoded decodes to the same value — alphabet
//! (every table pair), septet packing (any fill bits), UCS-2, user data headers, and whole
//! SMS-SUBMIT and SMS-DELIVER PDUs with and without the SMSC field.

use chrono::{DateTime, FixedOffset, NaiveDate};
use proptest::prelude::*;
use textgate_gsm::alphabet::{self, Language, Tables};
use textgate_gsm::pdu::{
    Address, Alphabet, DataCoding, Deliver, MessageClass, Pdu, SmscField, Submit, Tpdu, UserData,
    ValidityPeriod,
};
use textgate_gsm::udh::{InformationElement, UserDataHeader};
use textgate_gsm::{septet, ucs2};

const LANGUAGES: [Language; 4] = [
    Language::Default,
    Language::Turkish,
    Language::Spanish,
    Language::Portuguese,
];

fn tables() -> impl Strategy<Value = Tables> {
    (0usize..4, 0usize..4).prop_map(|(l, s)| Tables {
        locking: LANGUAGES[l],
        single: LANGUAGES[s],
    })
}

/// Every character `tables` can write, found through the decoder itself.
fn repertoire(tables: Tables) -> Vec<char> {
    let mut chars: Vec<char> = (0u8..128)
        .filter(|&c| c != alphabet::ESCAPE)
        .flat_map(|c| alphabet::decode(&[c], tables).chars().collect::<Vec<_>>())
        .collect();
    chars.extend((0u8..128).flat_map(|c| {
        alphabet::decode(&[alphabet::ESCAPE, c], tables)
            .chars()
            .collect::<Vec<_>>()
    }));
    chars.sort_unstable();
    chars.dedup();
    chars
}

fn text_in(tables: Tables, max: usize) -> impl Strategy<Value = String> {
    let chars = repertoire(tables);
    proptest::collection::vec(proptest::sample::select(chars), 0..max)
        .prop_map(|v| v.into_iter().collect())
}

fn timestamp() -> impl Strategy<Value = DateTime<FixedOffset>> {
    (
        2000i32..2100,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
        -79i32..80,
    )
        .prop_filter_map("valid time", |(y, mo, d, h, mi, s, q)| {
            let offset = FixedOffset::east_opt(q * 15 * 60)?;
            NaiveDate::from_ymd_opt(y, mo, d)?
                .and_hms_opt(h, mi, s)?
                .and_local_timezone(offset)
                .single()
        })
}

fn number() -> impl Strategy<Value = Address> {
    prop_oneof!["\\+[1-9][0-9]{0,14}", "[0-9*#]{1,20}",]
        .prop_filter_map("valid number", |s| Address::from_number(&s).ok())
}

fn sender() -> impl Strategy<Value = Address> {
    prop_oneof![
        number(),
        "[A-Za-z0-9 ]{1,11}".prop_filter_map("valid sender", |s| Address::alphanumeric(&s).ok()),
    ]
}

/// Elements whose identifiers textgate does not interpret, so they stay `Other`.
fn other_element() -> impl Strategy<Value = InformationElement> {
    (
        any::<u8>().prop_filter("unknown identifier", |i| {
            ![0x00, 0x04, 0x05, 0x08, 0x24, 0x25].contains(i)
        }),
        proptest::collection::vec(any::<u8>(), 0..6),
    )
        .prop_map(|(iei, data)| InformationElement::Other { iei, data })
}

fn element() -> impl Strategy<Value = InformationElement> {
    prop_oneof![
        (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(reference, total, sequence)| {
            InformationElement::Concatenation8 {
                reference,
                total,
                sequence,
            }
        }),
        (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(reference, total, sequence)| {
            InformationElement::Concatenation16 {
                reference,
                total,
                sequence,
            }
        }),
        (any::<u8>(), any::<u8>()).prop_map(|(destination, source)| InformationElement::Ports8 {
            destination,
            source
        }),
        (any::<u16>(), any::<u16>()).prop_map(|(destination, source)| {
            InformationElement::Ports16 {
                destination,
                source,
            }
        }),
        any::<u8>().prop_map(|language_id| InformationElement::SingleShift { language_id }),
        any::<u8>().prop_map(|language_id| InformationElement::LockingShift { language_id }),
        other_element(),
    ]
}

fn header() -> impl Strategy<Value = Option<UserDataHeader>> {
    proptest::option::of(proptest::collection::vec(element(), 0..3).prop_map(UserDataHeader::new))
}

fn class() -> impl Strategy<Value = Option<MessageClass>> {
    proptest::option::of(proptest::sample::select(vec![
        MessageClass::Class0,
        MessageClass::Class1,
        MessageClass::Class2,
        MessageClass::Class3,
    ]))
}

/// A data coding and user data that fit one PDU: at most 3 elements of at most 8 octets
/// (25 octets) leave room for 60 characters of 7-bit text, 30 of UCS-2 or 100 octets.
fn coded_user_data() -> impl Strategy<Value = (DataCoding, UserData)> {
    (header(), class()).prop_flat_map(|(header, class)| {
        let tables = header
            .as_ref()
            .map(UserDataHeader::tables)
            .unwrap_or_default();
        let gsm7 = text_in(tables, 60).prop_map(textgate_gsm::pdu::Content::Text);
        let ucs2 = proptest::collection::vec(any::<char>(), 0..30)
            .prop_map(|v| textgate_gsm::pdu::Content::Text(v.into_iter().collect()));
        let data = proptest::collection::vec(any::<u8>(), 0..100)
            .prop_map(textgate_gsm::pdu::Content::Data);
        prop_oneof![
            gsm7.prop_map(move |c| (DataCoding::general(Alphabet::Gsm7, class), c)),
            ucs2.prop_map(move |c| (DataCoding::general(Alphabet::Ucs2, class), c)),
            data.prop_map(move |c| (DataCoding::general(Alphabet::EightBit, class), c)),
        ]
        .prop_map(move |(dcs, content)| {
            (
                dcs,
                UserData {
                    header: header.clone(),
                    content,
                },
            )
        })
    })
}

fn validity() -> impl Strategy<Value = Option<ValidityPeriod>> {
    prop_oneof![
        Just(None),
        any::<u8>().prop_map(|v| Some(ValidityPeriod::Relative(v))),
        timestamp().prop_map(|t| Some(ValidityPeriod::Absolute(t))),
        any::<[u8; 7]>().prop_map(|o| Some(ValidityPeriod::Enhanced(o))),
    ]
}

fn submit() -> impl Strategy<Value = Submit> {
    (
        any::<(bool, bool, bool, u8, u8)>(),
        number(),
        coded_user_data(),
        validity(),
    )
        .prop_map(
            |((rd, srr, rp, mr, pid), recipient, (data_coding, user_data), validity)| Submit {
                reject_duplicates: rd,
                status_report_request: srr,
                reply_path: rp,
                message_reference: mr,
                recipient,
                protocol_identifier: pid,
                data_coding,
                validity,
                user_data,
            },
        )
}

fn deliver() -> impl Strategy<Value = Deliver> {
    (
        any::<(bool, bool, bool, bool, u8)>(),
        sender(),
        coded_user_data(),
        timestamp(),
    )
        .prop_map(
            |((mms, lp, rp, sri, pid), sender, (data_coding, user_data), scts)| Deliver {
                more_messages: mms,
                loop_prevention: lp,
                reply_path: rp,
                status_report_indication: sri,
                sender,
                protocol_identifier: pid,
                data_coding,
                service_centre_timestamp: scts,
                user_data,
            },
        )
}

fn smsc() -> impl Strategy<Value = Option<Address>> {
    proptest::option::of(number())
}

fn assert_pdu_round_trip(pdu: &Pdu) -> Result<(), TestCaseError> {
    for field in [SmscField::Present, SmscField::Absent] {
        let bytes = pdu
            .encode(field)
            .map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
        let decoded =
            Pdu::decode(&bytes, field).map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
        let expected_smsc = match field {
            SmscField::Present => pdu.smsc.clone(),
            SmscField::Absent => None,
        };
        prop_assert_eq!(&decoded.smsc, &expected_smsc);
        prop_assert_eq!(&decoded.tpdu, &pdu.tpdu);
        let tpdu_len = pdu
            .tpdu_len()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let smsc_len = bytes.len() - tpdu_len;
        prop_assert!(field == SmscField::Present || smsc_len == 0);
    }
    Ok(())
}

proptest! {
    #[test]
    fn alphabet_round_trips((tables, text) in tables().prop_flat_map(|t| (Just(t), text_in(t, 200)))) {
        let septets = alphabet::encode(&text, tables).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(Some(septets.len()), alphabet::text_cost(&text, tables));
        prop_assert!(septets.iter().all(|&s| s < 128));
        prop_assert_eq!(alphabet::decode(&septets, tables), text);
    }

    #[test]
    fn alphabet_decode_never_fails_and_reencodes(septets in proptest::collection::vec(any::<u8>(), 0..300), tables in tables()) {
        let text = alphabet::decode(&septets, tables);
        prop_assert!(alphabet::encode(&text, tables).is_ok());
    }

    #[test]
    fn septets_round_trip(septets in proptest::collection::vec(0u8..128, 0..200), fill in 0u8..7) {
        let packed = septet::pack(&septets, fill);
        prop_assert_eq!(packed.len(), septet::packed_len(septets.len(), fill));
        let unpacked = septet::unpack(&packed, septets.len(), fill)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(unpacked, septets);
    }

    #[test]
    fn ucs2_round_trips(text in any::<String>()) {
        let octets = ucs2::encode(&text);
        prop_assert_eq!(octets.len(), 2 * ucs2::unit_count(&text));
        prop_assert_eq!(ucs2::decode(&octets), text);
    }

    #[test]
    fn ucs2_decode_never_fails(octets in proptest::collection::vec(any::<u8>(), 0..200)) {
        let text = ucs2::decode(&octets);
        prop_assert!(text.encode_utf16().count() <= octets.len().div_ceil(2));
    }

    #[test]
    fn udh_round_trips(elements in proptest::collection::vec(element(), 0..8)) {
        let header = UserDataHeader::new(elements);
        let bytes = header.to_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(bytes.len(), header.encoded_len());
        let (parsed, used) = UserDataHeader::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(parsed, header);
    }

    #[test]
    fn submit_round_trips(submit in submit(), smsc in smsc()) {
        assert_pdu_round_trip(&Pdu { smsc, tpdu: Tpdu::Submit(submit) })?;
    }

    #[test]
    fn deliver_round_trips(deliver in deliver(), smsc in smsc()) {
        assert_pdu_round_trip(&Pdu { smsc, tpdu: Tpdu::Deliver(deliver) })?;
    }

    #[test]
    fn any_octets_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for field in [SmscField::Present, SmscField::Absent] {
            if let Ok(pdu) = Pdu::decode(&bytes, field) {
                // What decodes serialises, and re-encodes or says why not.
                prop_assert!(serde_json::to_string(&pdu).is_ok());
                let _ = pdu.encode(field);
            }
        }
    }
}
