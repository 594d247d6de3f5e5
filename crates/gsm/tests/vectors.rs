//! The PDU, UDH and time stamp vectors of the SMS fact sheet (python-gsmmodem and
//! ModemManager test suites, decoded independently): every field they state is asserted,
//! the SUBMIT vectors re-encode byte for byte, and the whole decoded structure is
//! snapshotted so any change in decoding shows up as a reviewed diff.

use expect_test::{expect, Expect};
use textgate_gsm::pdu::{
    self, Address, Alphabet, Content, Deliver, Pdu, SmscField, StatusClass, StatusReport, Submit,
    Tpdu, TypeOfNumber, ValidityPeriod,
};

fn decode(hex: &str, smsc: SmscField) -> Pdu {
    match Pdu::decode_hex(hex, smsc) {
        Ok(pdu) => pdu,
        Err(e) => panic!("{hex} does not decode: {e}"),
    }
}

fn deliver(pdu: &Pdu) -> &Deliver {
    match &pdu.tpdu {
        Tpdu::Deliver(d) => d,
        other => panic!("expected SMS-DELIVER, got {other:?}"),
    }
}

fn submit(pdu: &Pdu) -> &Submit {
    match &pdu.tpdu {
        Tpdu::Submit(s) => s,
        other => panic!("expected SMS-SUBMIT, got {other:?}"),
    }
}

fn report(pdu: &Pdu) -> &StatusReport {
    match &pdu.tpdu {
        Tpdu::StatusReport(s) => s,
        other => panic!("expected SMS-STATUS-REPORT, got {other:?}"),
    }
}

fn text(content: &Content) -> &str {
    match content {
        Content::Text(t) => t,
        Content::Data(d) => panic!("expected text, got data {d:?}"),
    }
}

fn smsc(pdu: &Pdu) -> &str {
    pdu.smsc.as_ref().map_or("", |a| a.number.as_str())
}

/// Re-encodes with the same SMSC convention and compares with the input.
fn assert_reencodes(hex: &str, pdu: &Pdu, smsc: SmscField) {
    let bytes = pdu.encode(smsc).unwrap_or_else(|e| panic!("{hex}: {e}"));
    assert_eq!(pdu::to_hex(&bytes), hex);
}

fn check(hex: &str, expect: Expect) {
    let pdu = decode(hex, SmscField::Present);
    let json = serde_json::to_string_pretty(&pdu).unwrap_or_else(|e| e.to_string());
    expect.assert_eq(&json);
}

const V1: &str = "06917228195339040B917228214365F700003130805120618005D4F29C2E03";
const V2: &str = "07915892000000F0040B915892214365F700007040213252242331493A283D0795C3F33C88FE06C9CB6132885EC6D341EDF27C1E3E97E7207B3A0C0A5241E377BB1D7693E72E";
const V3: &str = "06917228195339040B917228214365F70000313062315352800A800D8A5E98D337A910";
const V4: &str = "0001000B917228001011F100000CC8329BFD065DDF72363904";
const V5: &str = "07914400000000F01100099121436587F90008F40A4E16754C60A8597DFF01";
const V6: &str = "0006D60B911326880736F4111011719551401110117195714000";
const V7: &str = "07912143658709F1040B918100551512F20000111010214365000AE8329BFD4697D9EC37";
const V8: &str = "07919730071111F10414D04937BD2C7797E9D3E614000811309291024061080442043504410442";
const V9: &str = "0297F1061C0F910B487228297020F5317062419272803170624192138000";
const V10: &str = "0011000B915155661632F40000001954747A0E4ACF41F27298CDCE83C6EF371B0481402010";

#[test]
fn vector_1_deliver() {
    let pdu = decode(V1, SmscField::Present);
    let d = deliver(&pdu);
    assert_eq!(smsc(&pdu), "+2782913593");
    assert_eq!(d.sender.number, "+27821234567");
    assert_eq!(d.sender.type_of_number, TypeOfNumber::International);
    assert_eq!(
        d.service_centre_timestamp.to_rfc3339(),
        "2013-03-08T15:02:16+02:00"
    );
    assert_eq!(text(&d.user_data.content), "Test2");
    assert_reencodes(V1, &pdu, SmscField::Present);
}

#[test]
fn vector_2_deliver() {
    let pdu = decode(V2, SmscField::Present);
    let d = deliver(&pdu);
    assert_eq!(smsc(&pdu), "+85290000000");
    assert_eq!(d.sender.number, "+85291234567");
    assert_eq!(
        d.service_centre_timestamp.to_rfc3339(),
        "2007-04-12T23:25:42+08:00"
    );
    assert_eq!(
        text(&d.user_data.content),
        "It is easy to read text messages via AT commands."
    );
    assert_reencodes(V2, &pdu, SmscField::Present);
}

#[test]
fn vector_3_deliver_with_extension_characters() {
    let pdu = decode(V3, SmscField::Present);
    assert_eq!(text(&deliver(&pdu).user_data.content), "@{tést}!");
    assert_reencodes(V3, &pdu, SmscField::Present);
}

#[test]
fn vector_4_submit_without_smsc() {
    let pdu = decode(V4, SmscField::Present);
    let s = submit(&pdu);
    assert_eq!(pdu.smsc, None);
    assert_eq!(s.message_reference, 0);
    assert_eq!(s.recipient.number, "+27820001111");
    assert_eq!(s.validity, None);
    assert_eq!(text(&s.user_data.content), "Hello World!");
    assert_eq!(pdu.tpdu_len().ok(), Some(24));

    // Built from its fields, not from the decoded structure.
    let built = Pdu {
        smsc: None,
        tpdu: Tpdu::Submit(Submit::new(
            Address::from_number("+27820001111").unwrap_or_else(|e| panic!("{e}")),
            pdu::DataCoding::default(),
            pdu::UserData::text("Hello World!"),
        )),
    };
    assert_reencodes(V4, &built, SmscField::Present);
}

#[test]
fn vector_5_submit_ucs2_relative_validity() {
    let pdu = decode(V5, SmscField::Present);
    let s = submit(&pdu);
    assert_eq!(smsc(&pdu), "+44000000000");
    assert_eq!(s.recipient.number, "+123456789");
    assert_eq!(s.validity, Some(ValidityPeriod::Relative(0xF4)));
    assert_eq!(s.data_coding.alphabet(), Alphabet::Ucs2);
    assert_eq!(text(&s.user_data.content), "世界您好！");

    let mut fields = Submit::new(
        Address::from_number("+123456789").unwrap_or_else(|e| panic!("{e}")),
        pdu::DataCoding::general(Alphabet::Ucs2, None),
        pdu::UserData::text("世界您好！"),
    );
    fields.validity = Some(ValidityPeriod::Relative(0xF4));
    let built = Pdu {
        smsc: Some(Address::from_number("+44000000000").unwrap_or_else(|e| panic!("{e}"))),
        tpdu: Tpdu::Submit(fields),
    };
    assert_reencodes(V5, &built, SmscField::Present);
}

#[test]
fn vector_6_status_report_delivered() {
    let pdu = decode(V6, SmscField::Present);
    let r = report(&pdu);
    assert_eq!(pdu.smsc, None);
    assert_eq!(r.message_reference, 214);
    assert_eq!(r.recipient.number, "+31628870634");
    assert_eq!(r.status.code(), 0x00);
    assert_eq!(r.status.class(), StatusClass::Delivered);
    assert_eq!(r.status.meaning(), "short message received by the SME");
    assert_reencodes(V6, &pdu, SmscField::Present);
}

#[test]
fn vector_7_deliver() {
    let pdu = decode(V7, SmscField::Present);
    let d = deliver(&pdu);
    assert_eq!(smsc(&pdu), "+12345678901");
    assert_eq!(d.sender.number, "+18005551212");
    assert_eq!(
        d.service_centre_timestamp.to_rfc3339(),
        "2011-01-01T12:34:56+00:00"
    );
    assert_eq!(text(&d.user_data.content), "hellohello");
    assert_reencodes(V7, &pdu, SmscField::Present);
}

#[test]
fn vector_8_alphanumeric_sender_ucs2() {
    let pdu = decode(V8, SmscField::Present);
    let d = deliver(&pdu);
    assert_eq!(d.sender.number, "InternetSMS");
    assert_eq!(d.sender.type_of_number, TypeOfNumber::Alphanumeric);
    assert_eq!(text(&d.user_data.content), "тест");
    assert_eq!(
        d.service_centre_timestamp.offset().local_minus_utc(),
        4 * 3600
    );
    assert_reencodes(V8, &pdu, SmscField::Present);
}

/// The ZTE report decodes completely: the structure is well-formed, only the recipient's
/// digits are nonsense, and they are returned as read.
#[test]
fn vector_9_malformed_zte_status_report() {
    let pdu = decode(V9, SmscField::Present);
    let r = report(&pdu);
    assert_eq!(r.message_reference, 28);
    assert_eq!(r.recipient.number, "+#08427829207025");
    assert_eq!(r.status.class(), StatusClass::Delivered);
}

#[test]
fn vector_10_submit_lone_last_septet() {
    let pdu = decode(V10, SmscField::Present);
    let s = submit(&pdu);
    assert_eq!(pdu.smsc, None);
    assert_eq!(s.message_reference, 0);
    assert_eq!(s.recipient.number, "+15556661234");
    assert_eq!(s.validity, Some(ValidityPeriod::Relative(0x00)));
    assert_eq!(text(&s.user_data.content), "This is really cool ΔΔΔΔΔ");

    let mut fields = Submit::new(
        Address::from_number("+15556661234").unwrap_or_else(|e| panic!("{e}")),
        pdu::DataCoding::default(),
        pdu::UserData::text("This is really cool ΔΔΔΔΔ"),
    );
    fields.validity = Some(ValidityPeriod::Relative(0x00));
    let built = Pdu {
        smsc: None,
        tpdu: Tpdu::Submit(fields),
    };
    assert_reencodes(V10, &built, SmscField::Present);
}

#[test]
fn without_smsc_field() {
    // Vector 4 after its SMSC field, read as a modem that omits it prints it.
    let pdu = decode(&V4[2..], SmscField::Absent);
    assert_eq!(submit(&pdu).recipient.number, "+27820001111");
    assert_reencodes(&V4[2..], &pdu, SmscField::Absent);
}

#[test]
fn snapshots() {
    check(
        V1,
        expect![[r#"
            {
              "smsc": {
                "number": "+2782913593",
                "type_of_number": "international",
                "numbering_plan": "isdn"
              },
              "type": "deliver",
              "more_messages": false,
              "loop_prevention": false,
              "reply_path": false,
              "status_report_indication": false,
              "sender": {
                "number": "+27821234567",
                "type_of_number": "international",
                "numbering_plan": "isdn"
              },
              "protocol_identifier": 0,
              "data_coding": {
                "value": 0,
                "group": "general",
                "alphabet": "gsm7",
                "class": null,
                "compressed": false,
                "message_waiting": null
              },
              "service_centre_timestamp": "2013-03-08T15:02:16+02:00",
              "user_data": {
                "header": null,
                "text": "Test2"
              }
            }"#]],
    );
    check(
        V6,
        expect![[r#"
            {
              "smsc": null,
              "type": "status_report",
              "more_messages": false,
              "loop_prevention": false,
              "qualifier": "submit",
              "message_reference": 214,
              "recipient": {
                "number": "+31628870634",
                "type_of_number": "international",
                "numbering_plan": "isdn"
              },
              "service_centre_timestamp": "2011-01-11T17:59:15+01:00",
              "discharge_time": "2011-01-11T17:59:17+01:00",
              "status": {
                "code": 0,
                "class": "delivered",
                "meaning": "short message received by the SME"
              },
              "protocol_identifier": null,
              "data_coding": null,
              "user_data": null
            }"#]],
    );
    check(
        V8,
        expect![[r#"
            {
              "smsc": {
                "number": "+79037011111",
                "type_of_number": "international",
                "numbering_plan": "isdn"
              },
              "type": "deliver",
              "more_messages": false,
              "loop_prevention": false,
              "reply_path": false,
              "status_report_indication": false,
              "sender": {
                "number": "InternetSMS",
                "type_of_number": "alphanumeric",
                "numbering_plan": "unknown"
              },
              "protocol_identifier": 0,
              "data_coding": {
                "value": 8,
                "group": "general",
                "alphabet": "ucs2",
                "class": null,
                "compressed": false,
                "message_waiting": null
              },
              "service_centre_timestamp": "2011-03-29T19:20:04+04:00",
              "user_data": {
                "header": null,
                "text": "тест"
              }
            }"#]],
    );
    check(
        V10,
        expect![[r#"
            {
              "smsc": null,
              "type": "submit",
              "reject_duplicates": false,
              "status_report_request": false,
              "reply_path": false,
              "message_reference": 0,
              "recipient": {
                "number": "+15556661234",
                "type_of_number": "international",
                "numbering_plan": "isdn"
              },
              "protocol_identifier": 0,
              "data_coding": {
                "value": 0,
                "group": "general",
                "alphabet": "gsm7",
                "class": null,
                "compressed": false,
                "message_waiting": null
              },
              "validity": {
                "relative": 0
              },
              "user_data": {
                "header": null,
                "text": "This is really cool ΔΔΔΔΔ"
              }
            }"#]],
    );
}
