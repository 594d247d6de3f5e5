//! Malformed and unusual input: every error says what is wrong, no prefix of a valid PDU
//! decodes, and the corner cases of TS 23.040/23.038 behave as documented.

use expect_test::{expect, Expect};
use textgate_gsm::pdu::{
    self, Address, Alphabet, Content, DataCoding, Deliver, Pdu, SmscField, Status, StatusClass,
    StatusReport, Tpdu, UserData,
};
use textgate_gsm::udh::{InformationElement, UserDataHeader};

/// Decodes hex (SMSC field first) and shows the error, or the text/data on success.
fn check(hex: &str, expect: Expect) {
    let shown = match Pdu::decode_hex(hex, SmscField::Present) {
        Err(e) => format!("error: {e}"),
        Ok(pdu) => match &pdu.tpdu {
            Tpdu::Deliver(Deliver { user_data, .. }) => format!("ok: {:?}", user_data.content),
            other => format!("ok: {other:?}"),
        },
    };
    expect.assert_eq(&shown);
}

const VECTORS: [&str; 10] = [
    "06917228195339040B917228214365F700003130805120618005D4F29C2E03",
    "07915892000000F0040B915892214365F700007040213252242331493A283D0795C3F33C88FE06C9CB6132885EC6D341EDF27C1E3E97E7207B3A0C0A5241E377BB1D7693E72E",
    "06917228195339040B917228214365F70000313062315352800A800D8A5E98D337A910",
    "0001000B917228001011F100000CC8329BFD065DDF72363904",
    "07914400000000F01100099121436587F90008F40A4E16754C60A8597DFF01",
    "0006D60B911326880736F4111011719551401110117195714000",
    "07912143658709F1040B918100551512F20000111010214365000AE8329BFD4697D9EC37",
    "07919730071111F10414D04937BD2C7797E9D3E614000811309291024061080442043504410442",
    "0297F1061C0F910B487228297020F5317062419272803170624192138000",
    "0011000B915155661632F40000001954747A0E4ACF41F27298CDCE83C6EF371B0481402010",
];

#[test]
fn no_strict_prefix_of_a_vector_decodes() {
    for hex in VECTORS {
        let bytes = pdu::from_hex(hex).unwrap_or_default();
        assert!(Pdu::decode(&bytes, SmscField::Present).is_ok(), "{hex}");
        for end in 0..bytes.len() {
            let prefix = bytes.get(..end).unwrap_or_default();
            assert!(
                Pdu::decode(prefix, SmscField::Present).is_err(),
                "{hex} cut at {end} octets decodes"
            );
        }
    }
}

#[test]
fn errors_name_the_problem() {
    check(
        "00040B917228214365F7000031308051206180",
        expect!["error: PDU too short: user data length at octet 19 needs 1 octet, 0 present"],
    );
    check(
        "00040B917228214365F7000031308051206180 28 D4F29C",
        expect![[
            r#"error: PDU too short: user data length 40 septets needs 35 octets, 3 present"#
        ]],
    );
    check(
        "00040B917228214365F7000831308051206180 05 00410042",
        expect![[r#"error: PDU too short: user data length 5 octets needs 5 octets, 4 present"#]],
    );
    check(
        "00040B917228214365F7000031308051206180 A1 00",
        expect![[r#"error: user data length 161 septets exceeds the maximum of 160"#]],
    );
    check(
        "00040B917228214365F7002031308051206180 01 00",
        expect![[r#"error: unsupported: compressed text (data coding scheme 0x20)"#]],
    );
    check(
        "00030B917228214365F7000031308051206180 00",
        expect![[r#"error: unsupported message type: TP-MTI 3 is reserved"#]],
    );
    check(
        "00040B917228214365F7000031318051206180 00",
        expect![[r#"error: invalid service centre time stamp: 2013-13-08 is not a date"#]],
    );
    check(
        "00440B917228214365F7000031308051206180 02 0500",
        expect![[r#"error: invalid user data header: header length 5 octets, 1 present"#]],
    );
    check(
        "00440B917228214365F7000031308051206180 03 060504",
        expect!["error: invalid user data header: header length 6 octets, 2 present"],
    );
    check(
        "00440B917228214365F7000031308051206180 07 06 0504 0B84 23F0",
        expect!["error: invalid user data header: header of 7 octets (8 septets) exceeds user data length 7 septets"],
    );
    check(
        "0C91",
        expect![[r#"error: invalid address: SMSC length 12 octets exceeds the maximum of 11"#]],
    );
    check(
        "00 04 15 91",
        expect![[
            r#"error: invalid address: originator address length 21 semi-octets exceeds the maximum of 20"#
        ]],
    );
    check(
        "0G",
        expect![[r#"error: invalid hex: 'G' at position 1 is not a hex digit"#]],
    );
    check(
        "000",
        expect![[r#"error: invalid hex: 3 hex digits is not a whole number of octets"#]],
    );
    check("", expect![[r#"error: invalid hex: no hex digits"#]]);
}

#[test]
fn unusual_but_valid_input() {
    // Trailing octets after the user data are ignored.
    check(
        "00040B917228214365F7000031308051206180 05 D4F29C2E03 FFFF",
        expect![[r#"ok: Text("Test2")"#]],
    );
    // An unpaired surrogate in UCS-2 becomes U+FFFD.
    check(
        "00040B917228214365F7000831308051206180 04 D83D0041",
        expect![[r#"ok: Text("�A")"#]],
    );
    // Turkish locking and single shift from the header: 0x07 is ı, escape 0x47 is Ğ.
    check(
        "00440B917228214365F7000031308051206180 0B 06 250101 240101 87 CD 11",
        expect![[r#"ok: Text("ıĞ")"#]],
    );
    // A concatenated part: 8-bit reference header, then text after one fill bit.
    check(
        "00440B917228214365F7000031308051206180 09 0500031703 01 90 61",
        expect![[r#"ok: Text("Ha")"#]],
    );
}

#[test]
fn status_report_encoder_and_optional_tail() {
    let time = pdu::timestamp::decode([0x11, 0x10, 0x11, 0x71, 0x95, 0x51, 0x40], "time")
        .unwrap_or_default();
    let report = StatusReport {
        more_messages: false,
        loop_prevention: false,
        qualifier: pdu::ReportQualifier::Submit,
        message_reference: 42,
        recipient: Address::from_number("+31628870634").unwrap_or_else(|e| panic!("{e}")),
        service_centre_timestamp: time,
        discharge_time: time,
        status: Status(0x46),
        protocol_identifier: Some(0),
        data_coding: Some(DataCoding::general(Alphabet::Gsm7, None)),
        user_data: Some(UserData::text("gone")),
    };
    let pdu = Pdu {
        smsc: None,
        tpdu: Tpdu::StatusReport(report.clone()),
    };
    let bytes = pdu.encode(SmscField::Absent).unwrap_or_default();
    assert_eq!(
        pdu::to_hex(&bytes),
        "062A0B911326880736F411101171955140111011719551404607000004E7B7BB0C"
    );
    let decoded = Pdu::decode(&bytes, SmscField::Absent).map(|p| p.tpdu);
    assert_eq!(decoded, Ok(Tpdu::StatusReport(report.clone())));
    assert_eq!(report.status.class(), StatusClass::PermanentFailure);
    assert_eq!(report.status.meaning(), "validity period expired");

    // A tail cut short keeps the report and drops the broken parameters.
    let cut = bytes.get(..bytes.len() - 2).unwrap_or_default();
    let Ok(Pdu {
        tpdu: Tpdu::StatusReport(partial),
        ..
    }) = Pdu::decode(cut, SmscField::Absent)
    else {
        panic!("a report with a cut tail does not decode");
    };
    assert_eq!(partial.status, Status(0x46));
    assert_eq!(partial.protocol_identifier, Some(0));
    assert_eq!(partial.user_data, None);
}

#[test]
fn status_classes() {
    let cases = [
        (0x00, StatusClass::Delivered),
        (0x21, StatusClass::StillTrying),
        (0x41, StatusClass::PermanentFailure),
        (0x62, StatusClass::TemporaryFailure),
        (0x80, StatusClass::PermanentFailure),
    ];
    for (code, class) in cases {
        assert_eq!(Status(code).class(), class, "{code:#04x}");
    }
}

#[test]
fn encoder_refuses_what_does_not_fit() {
    let recipient = Address::from_number("+15556661234").unwrap_or_else(|e| panic!("{e}"));
    let too_long = pdu::Submit::new(
        recipient.clone(),
        DataCoding::default(),
        UserData::text("x".repeat(161)),
    );
    let err = Tpdu::Submit(too_long).encode().unwrap_err();
    assert_eq!(
        err.to_string(),
        "user data needs 161 septets, one PDU holds at most 160"
    );
    let with_header = pdu::Submit::new(
        recipient.clone(),
        DataCoding::default(),
        UserData {
            header: Some(UserDataHeader::new(vec![
                InformationElement::Concatenation8 {
                    reference: 1,
                    total: 2,
                    sequence: 1,
                },
            ])),
            content: Content::Text("x".repeat(154)),
        },
    );
    assert_eq!(
        Tpdu::Submit(with_header).encode().unwrap_err().to_string(),
        "user data needs 161 septets, one PDU holds at most 160"
    );
    let not_gsm = pdu::Submit::new(
        recipient.clone(),
        DataCoding::default(),
        UserData::text("€😀"),
    );
    assert_eq!(
        Tpdu::Submit(not_gsm).encode().unwrap_err().to_string(),
        "character '😀' (U+1F600) at position 1 is not in the GSM 7-bit alphabet"
    );
    let mismatch = pdu::Submit::new(
        recipient,
        DataCoding::general(Alphabet::EightBit, None),
        UserData::text("hi"),
    );
    assert_eq!(
        Tpdu::Submit(mismatch).encode().unwrap_err().to_string(),
        "user data does not match the data coding scheme: the coding is 8-bit data but the user data is text"
    );
}
