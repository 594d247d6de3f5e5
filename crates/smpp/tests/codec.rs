//! The PDU codec against octets written out field by field from the SMPP 3.4
//! specification's tables (§4.1.1 bind, §4.4.1 submit_sm, §4.6.1 deliver_sm), and its
//! properties: whatever it decodes encodes and decodes to the same PDU, and no input makes
//! it panic.

use proptest::prelude::*;
use textgate_smpp::pdu::max;
use textgate_smpp::tlv::{self, Tlv};
use textgate_smpp::{
    Address, Bind, BindKind, Body, CommandId, CommandStatus, DecodeError, Framer, Pdu, ShortMessage,
};

/// A header: length, command id, status, sequence.
fn header(length: u32, command: u32, status: u32, sequence: u32) -> Vec<u8> {
    [length, command, status, sequence]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
}

#[test]
fn bind_transceiver_is_written_as_the_specification_lays_it_out() {
    let pdu = Pdu::new(
        1,
        Body::Bind(Bind {
            kind: BindKind::Transceiver,
            system_id: b"textgate".to_vec(),
            password: b"secret".to_vec(),
            system_type: Vec::new(),
            interface_version: 0x34,
            address_range: Address::default(),
        }),
    );
    let mut expected = header(37, 0x0000_0009, 0, 1);
    expected.extend_from_slice(b"textgate\0"); // system_id
    expected.extend_from_slice(b"secret\0"); // password
    expected.push(0); // system_type, empty
    expected.extend_from_slice(&[0x34, 0, 0]); // interface_version, addr_ton, addr_npi
    expected.push(0); // address_range, empty
    assert_eq!(pdu.encode(), expected);
    assert_eq!(Pdu::decode(&expected), Ok(pdu));
}

#[test]
fn a_deliver_sm_with_a_user_data_header_and_a_tlv_is_read_field_by_field() {
    let mut body = Vec::new();
    body.push(0); // service_type, empty
    body.extend_from_slice(&[1, 1]); // source TON international, NPI E.164
    body.extend_from_slice(b"15551234567\0");
    body.extend_from_slice(&[0, 0]); // destination TON, NPI
    body.extend_from_slice(b"12345\0");
    body.extend_from_slice(&[0x40, 0, 0]); // esm_class UDHI, protocol_id, priority_flag
    body.extend_from_slice(&[0, 0]); // schedule_delivery_time, validity_period: empty
    body.extend_from_slice(&[0, 0, 8, 0]); // registered_delivery, replace, data_coding UCS-2, default msg
    let user_data = [5, 0, 3, 0x2A, 2, 1, 0x00, 0x48, 0x00, 0x69]; // UDH part 1 of 2, then "Hi"
    body.push(user_data.len() as u8);
    body.extend_from_slice(&user_data);
    body.extend_from_slice(&[0x02, 0x04, 0, 2, 0x12, 0x34]); // user_message_reference 0x1234
    let mut frame = header(16 + body.len() as u32, 0x0000_0005, 0, 42);
    frame.extend_from_slice(&body);

    let pdu = Pdu::decode(&frame).expect("decodes");
    assert_eq!(pdu.sequence, 42);
    let Body::DeliverSm(sm) = &pdu.body else {
        panic!("not a deliver_sm: {pdu:?}");
    };
    assert_eq!(sm.source, Address::new(1, 1, b"15551234567".to_vec()));
    assert_eq!(sm.destination.address, b"12345");
    assert_eq!(sm.esm_class & ShortMessage::UDHI, ShortMessage::UDHI);
    assert_eq!(sm.data_coding, 8);
    assert_eq!(sm.short_message, user_data);
    assert_eq!(
        sm.tlv(tlv::USER_MESSAGE_REFERENCE).and_then(Tlv::as_u16),
        Some(0x1234)
    );
    assert_eq!(pdu.encode(), frame);
}

#[test]
fn a_refused_submit_may_come_without_a_body() {
    let frame = header(16, 0x8000_0004, 0x58, 9);
    let pdu = Pdu::decode(&frame).expect("decodes");
    assert_eq!(pdu.status, CommandStatus::THROTTLED);
    assert_eq!(
        pdu.body,
        Body::SubmitSmResp {
            message_id: Vec::new()
        }
    );
}

#[test]
fn an_unknown_command_is_kept_for_the_session_to_refuse() {
    let mut frame = header(19, 0x0000_0103, 0, 5);
    frame.extend_from_slice(&[1, 2, 3]);
    let pdu = Pdu::decode(&frame).expect("decodes");
    assert_eq!(pdu.command_id(), CommandId::DATA_SM);
    assert_eq!(pdu.encode(), frame);
}

#[test]
fn malformed_pdus_name_what_is_wrong() {
    // Shorter than a header.
    assert_eq!(Pdu::decode(&[0, 0, 0, 16]), Err(DecodeError::Short(4)));
    // The length field disagrees with the octets.
    let mut frame = header(17, 0x15, 0, 1);
    assert_eq!(
        Pdu::decode(&frame),
        Err(DecodeError::LengthMismatch {
            declared: 17,
            actual: 16
        })
    );
    // enquire_link has no body.
    frame.push(0);
    assert_eq!(
        Pdu::decode(&frame),
        Err(DecodeError::Trailing {
            command: CommandId::ENQUIRE_LINK,
            extra: 1
        })
    );
    // A system_id without its NUL.
    let mut bind = header(20, 0x2, 0, 1);
    bind.extend_from_slice(b"abcd");
    assert_eq!(
        Pdu::decode(&bind),
        Err(DecodeError::Unterminated { field: "system_id" })
    );
    // A password longer than its 9 octets.
    let mut bind = header(0, 0x2, 0, 1);
    bind.extend_from_slice(b"id\0longpassword\0\0\x34\0\0\0");
    let length = bind.len() as u32;
    bind[..4].copy_from_slice(&length.to_be_bytes());
    assert_eq!(
        Pdu::decode(&bind),
        Err(DecodeError::TooLong {
            field: "password",
            max: 9
        })
    );
    // sm_length beyond the end.
    let sm = Pdu::new(
        3,
        Body::SubmitSm(ShortMessage {
            short_message: b"hello".to_vec(),
            ..ShortMessage::default()
        }),
    );
    let mut frame = sm.encode();
    frame.truncate(frame.len() - 2);
    let length = frame.len() as u32;
    frame[..4].copy_from_slice(&length.to_be_bytes());
    assert_eq!(
        Pdu::decode(&frame),
        Err(DecodeError::Truncated {
            field: "short_message"
        })
    );
}

#[test]
fn check_says_what_encoding_would_cut() {
    let pdu = Pdu::new(
        1,
        Body::SubmitSm(ShortMessage {
            destination: Address::new(1, 1, vec![b'1'; max::ADDRESS]),
            ..ShortMessage::default()
        }),
    );
    let error = pdu.check().expect_err("too long");
    assert_eq!(
        error.to_string(),
        "destination_addr is longer than its 21 octets"
    );
}

fn c_string(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, 0..max)
}

fn address() -> impl Strategy<Value = Address> {
    (any::<u8>(), any::<u8>(), c_string(max::ADDRESS)).prop_map(|(ton, npi, address)| Address {
        ton,
        npi,
        address,
    })
}

fn tlvs() -> impl Strategy<Value = Vec<Tlv>> {
    proptest::collection::vec(
        (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(tag, value)| Tlv { tag, value }),
        0..4,
    )
}

fn short_message() -> impl Strategy<Value = ShortMessage> {
    (
        (
            c_string(max::SERVICE_TYPE),
            address(),
            address(),
            any::<[u8; 3]>(),
        ),
        (c_string(max::TIME), c_string(max::TIME), any::<[u8; 4]>()),
        (
            proptest::collection::vec(any::<u8>(), 0..=max::SHORT_MESSAGE),
            tlvs(),
        ),
    )
        .prop_map(
            |(
                (service_type, source, destination, [esm, pid, prio]),
                (schedule, validity, [reg, replace, dcs, default]),
                (text, tlvs),
            )| ShortMessage {
                service_type,
                source,
                destination,
                esm_class: esm,
                protocol_id: pid,
                priority_flag: prio,
                schedule_delivery_time: schedule,
                validity_period: validity,
                registered_delivery: reg,
                replace_if_present_flag: replace,
                data_coding: dcs,
                sm_default_msg_id: default,
                short_message: text,
                tlvs,
            },
        )
}

fn pdu() -> impl Strategy<Value = Pdu> {
    let kind = prop_oneof![
        Just(BindKind::Transmitter),
        Just(BindKind::Receiver),
        Just(BindKind::Transceiver)
    ];
    let body = prop_oneof![
        (
            kind.clone(),
            c_string(max::SYSTEM_ID),
            c_string(max::PASSWORD),
            c_string(max::SYSTEM_TYPE),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            c_string(max::ADDRESS_RANGE)
        )
            .prop_map(
                |(kind, system_id, password, system_type, interface_version, ton, npi, address)| {
                    Body::Bind(Bind {
                        kind,
                        system_id,
                        password,
                        system_type,
                        interface_version,
                        address_range: Address { ton, npi, address },
                    })
                }
            ),
        (kind, c_string(max::SYSTEM_ID), tlvs()).prop_map(|(kind, system_id, tlvs)| {
            Body::BindResp {
                kind,
                system_id,
                tlvs,
            }
        }),
        Just(Body::Unbind),
        Just(Body::UnbindResp),
        Just(Body::EnquireLink),
        Just(Body::EnquireLinkResp),
        Just(Body::GenericNack),
        short_message().prop_map(Body::SubmitSm),
        short_message().prop_map(Body::DeliverSm),
        c_string(max::MESSAGE_ID).prop_map(|message_id| Body::SubmitSmResp { message_id }),
        Just(Body::DeliverSmResp),
    ];
    (any::<u32>(), 1u32..0x7FFF_FFFF, body).prop_map(|(status, sequence, body)| Pdu {
        status: CommandStatus(status),
        sequence,
        body,
    })
}

proptest! {
    #[test]
    fn what_is_encoded_decodes_to_the_same_pdu(pdu in pdu()) {
        prop_assert_eq!(pdu.check(), Ok(()));
        let frame = pdu.encode();
        prop_assert_eq!(Pdu::decode(&frame), Ok(pdu));
    }

    #[test]
    fn no_input_makes_decoding_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(pdu) = Pdu::decode(&bytes) {
            prop_assert_eq!(Pdu::decode(&pdu.encode()), Ok(pdu));
        }
    }

    #[test]
    fn no_body_makes_decoding_panic(
        command in prop_oneof![
            Just(0x0000_0001u32), Just(0x8000_0001), Just(0x0000_0002), Just(0x8000_0002),
            Just(0x0000_0009), Just(0x8000_0009), Just(0x0000_0004), Just(0x8000_0004),
            Just(0x0000_0005), Just(0x8000_0005), Just(0x0000_0006), Just(0x0000_0015),
            Just(0x8000_0000), any::<u32>(),
        ],
        status in prop_oneof![Just(0u32), any::<u32>()],
        body in proptest::collection::vec(prop_oneof![3 => any::<u8>(), 1 => Just(0u8)], 0..300),
    ) {
        let mut frame = header(16 + body.len() as u32, command, status, 1);
        frame.extend_from_slice(&body);
        if let Ok(pdu) = Pdu::decode(&frame) {
            prop_assert_eq!(Pdu::decode(&pdu.encode()), Ok(pdu));
        }
    }

    #[test]
    fn a_stream_is_cut_the_same_however_it_is_read(
        pdus in proptest::collection::vec(pdu(), 1..5),
        cuts in proptest::collection::vec(1usize..64, 1..20),
    ) {
        let stream: Vec<u8> = pdus.iter().flat_map(Pdu::encode).collect();
        let mut framer = Framer::default();
        let mut decoded = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            if at >= stream.len() {
                break;
            }
            let end = (at + cut).min(stream.len());
            framer.push(&stream[at..end]);
            at = end;
            while let Some(frame) = framer.next_frame().expect("a valid stream") {
                decoded.push(Pdu::decode(&frame).expect("a valid PDU"));
            }
        }
        prop_assert_eq!(decoded, pdus);
    }
}
