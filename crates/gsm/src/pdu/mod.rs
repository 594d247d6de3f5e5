//! TS 23.040 transfer protocol data units as a modem shows them in PDU mode: SMS-DELIVER
//! (received texts), SMS-SUBMIT (texts to send, and sent texts stored on the SIM) and
//! SMS-STATUS-REPORT (delivery reports), each optionally preceded by the SMSC field.
//!
//! Decoding never panics; anything malformed is a [`GsmError`] that names the field.
//! Leniency is deliberate in two places only: octets after the end of the user data are
//! ignored (some modems pad), and the optional tail of a status report (TP-PI and what it
//! announces) is dropped when it is truncated or malformed, so the delivery status itself
//! is never lost to a broken extra field.
//!
//! TP-MTI is read in the mobile-terminated direction: 0 is SMS-DELIVER, 2 is
//! SMS-STATUS-REPORT; 1 is read as SMS-SUBMIT because modems list stored outgoing messages
//! that way. The report types a terminal sends (DELIVER-REPORT, SUBMIT-REPORT) and
//! SMS-COMMAND are out of scope.

mod address;
mod dcs;
mod reader;
mod status;
pub mod timestamp;
mod user_data;

use chrono::{DateTime, FixedOffset, TimeDelta};
use serde::Serialize;

pub use address::{Address, NumberingPlan, TypeOfNumber};
pub use dcs::{Alphabet, CodingGroup, DataCoding, MessageClass, MessageWaiting, WaitingKind};
pub use status::{Status, StatusClass};
pub use user_data::{Content, UserData, MAX_OCTETS, MAX_SEPTETS};

use crate::error::GsmError;
use reader::Reader;

/// Whether a PDU starts with the SMSC field. `AT+CMGR`/`+CMT`/`+CMGS` use it; some modems
/// print PDUs without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmscField {
    Present,
    Absent,
}

/// TP-VP of an SMS-SUBMIT.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityPeriod {
    /// A relative period code (TS 23.040 §9.2.3.12.1); see [`ValidityPeriod::relative_duration`].
    Relative(u8),
    /// An absolute expiry time.
    Absolute(DateTime<FixedOffset>),
    /// The enhanced format, kept as its seven octets.
    Enhanced([u8; 7]),
}

impl ValidityPeriod {
    /// How long a relative validity code lasts: 5-minute steps up to 12 hours, then
    /// 30-minute steps up to 24 hours, then days up to 30, then weeks up to 63.
    pub fn relative_duration(code: u8) -> TimeDelta {
        let code = i64::from(code);
        match code {
            0..=143 => TimeDelta::minutes((code + 1) * 5),
            144..=167 => TimeDelta::minutes(12 * 60 + (code - 143) * 30),
            168..=196 => TimeDelta::days(code - 166),
            _ => TimeDelta::weeks(code - 192),
        }
    }

    fn format_bits(validity: Option<&ValidityPeriod>) -> u8 {
        match validity {
            None => 0b00,
            Some(ValidityPeriod::Enhanced(_)) => 0b01,
            Some(ValidityPeriod::Relative(_)) => 0b10,
            Some(ValidityPeriod::Absolute(_)) => 0b11,
        }
    }
}

/// An SMS-DELIVER: a text the phone received.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Deliver {
    /// TP-MMS inverted: true when the service centre has more messages waiting.
    pub more_messages: bool,
    /// TP-LP.
    pub loop_prevention: bool,
    /// TP-RP.
    pub reply_path: bool,
    /// TP-SRI: the sender asked for a status report.
    pub status_report_indication: bool,
    /// TP-OA.
    pub sender: Address,
    /// TP-PID.
    pub protocol_identifier: u8,
    /// TP-DCS.
    pub data_coding: DataCoding,
    /// TP-SCTS.
    pub service_centre_timestamp: DateTime<FixedOffset>,
    /// TP-UDL, TP-UD (TP-UDHI is whether `user_data.header` is present).
    pub user_data: UserData,
}

impl Deliver {
    /// A DELIVER as a service centre sends it: no more messages waiting, no reply path,
    /// no status report indication, PID 0.
    pub fn new(
        sender: Address,
        service_centre_timestamp: DateTime<FixedOffset>,
        data_coding: DataCoding,
        user_data: UserData,
    ) -> Deliver {
        Deliver {
            more_messages: false,
            loop_prevention: false,
            reply_path: false,
            status_report_indication: false,
            sender,
            protocol_identifier: 0,
            data_coding,
            service_centre_timestamp,
            user_data,
        }
    }
}

/// An SMS-SUBMIT: a text to send.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Submit {
    /// TP-RD.
    pub reject_duplicates: bool,
    /// TP-SRR.
    pub status_report_request: bool,
    /// TP-RP.
    pub reply_path: bool,
    /// TP-MR (the modem usually replaces it with its own counter).
    pub message_reference: u8,
    /// TP-DA.
    pub recipient: Address,
    pub protocol_identifier: u8,
    pub data_coding: DataCoding,
    /// TP-VP (its format is TP-VPF).
    pub validity: Option<ValidityPeriod>,
    pub user_data: UserData,
}

impl Submit {
    /// A SUBMIT with the usual defaults: reference 0, no status report, no validity period,
    /// PID 0.
    pub fn new(recipient: Address, data_coding: DataCoding, user_data: UserData) -> Submit {
        Submit {
            reject_duplicates: false,
            status_report_request: false,
            reply_path: false,
            message_reference: 0,
            recipient,
            protocol_identifier: 0,
            data_coding,
            validity: None,
            user_data,
        }
    }
}

/// Whether a status report answers an SMS-SUBMIT or an SMS-COMMAND (TP-SRQ).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportQualifier {
    Submit,
    Command,
}

/// An SMS-STATUS-REPORT: what became of a message sent with TP-SRR.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct StatusReport {
    pub more_messages: bool,
    pub loop_prevention: bool,
    pub qualifier: ReportQualifier,
    /// TP-MR of the SUBMIT this reports on (what `+CMGS: <mr>` returned).
    pub message_reference: u8,
    /// TP-RA.
    pub recipient: Address,
    /// TP-SCTS: when the service centre received the SUBMIT.
    pub service_centre_timestamp: DateTime<FixedOffset>,
    /// TP-DT: when the status below was reached.
    pub discharge_time: DateTime<FixedOffset>,
    pub status: Status,
    /// Optional parameters announced by TP-PI.
    pub protocol_identifier: Option<u8>,
    pub data_coding: Option<DataCoding>,
    pub user_data: Option<UserData>,
}

impl StatusReport {
    /// A report on the SUBMIT with reference `message_reference`, without optional
    /// parameters.
    pub fn new(
        message_reference: u8,
        recipient: Address,
        service_centre_timestamp: DateTime<FixedOffset>,
        discharge_time: DateTime<FixedOffset>,
        status: Status,
    ) -> StatusReport {
        StatusReport {
            more_messages: false,
            loop_prevention: false,
            qualifier: ReportQualifier::Submit,
            message_reference,
            recipient,
            service_centre_timestamp,
            discharge_time,
            status,
            protocol_identifier: None,
            data_coding: None,
            user_data: None,
        }
    }
}

/// The TPDU: everything after the SMSC field.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Tpdu {
    Deliver(Deliver),
    Submit(Submit),
    StatusReport(StatusReport),
}

/// A PDU as a modem shows it: the optional SMSC field and the TPDU.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Pdu {
    /// `None` when the field is absent or empty (the modem's default SMSC).
    pub smsc: Option<Address>,
    #[serde(flatten)]
    pub tpdu: Tpdu,
}

const MTI_MASK: u8 = 0x03;
const MMS_OR_RD: u8 = 0x04;
const LP: u8 = 0x08;
const SRI_SRR_SRQ: u8 = 0x20;
const UDHI: u8 = 0x40;
const RP: u8 = 0x80;

fn flag(first: u8, bit: u8) -> bool {
    first & bit != 0
}

fn bit_if(condition: bool, bit: u8) -> u8 {
    if condition {
        bit
    } else {
        0
    }
}

impl Pdu {
    /// Decodes a PDU, with or without the SMSC field in front.
    pub fn decode(bytes: &[u8], smsc: SmscField) -> Result<Pdu, GsmError> {
        let mut r = Reader::new(bytes);
        let smsc = match smsc {
            SmscField::Present => Address::decode_smsc(&mut r)?,
            SmscField::Absent => None,
        };
        let tpdu = Tpdu::decode_from(&mut r)?;
        Ok(Pdu { smsc, tpdu })
    }

    /// Decodes hex as a modem prints it (case and whitespace do not matter).
    pub fn decode_hex(hex: &str, smsc: SmscField) -> Result<Pdu, GsmError> {
        Pdu::decode(&from_hex(hex)?, smsc)
    }

    /// Encodes the PDU. With [`SmscField::Present`] the SMSC field comes first (a single
    /// 0x00 when `smsc` is `None`, meaning "the SIM's SMSC"), as `AT+CMGS` expects.
    pub fn encode(&self, smsc: SmscField) -> Result<Vec<u8>, GsmError> {
        let mut out = Vec::with_capacity(176);
        if smsc == SmscField::Present {
            match &self.smsc {
                Some(address) => address.encode_smsc(&mut out)?,
                None => out.push(0),
            }
        }
        self.tpdu.encode_into(&mut out)?;
        Ok(out)
    }

    /// The TPDU length in octets, without the SMSC field: the `<length>` of `AT+CMGS`.
    pub fn tpdu_len(&self) -> Result<usize, GsmError> {
        Ok(self.tpdu.encode()?.len())
    }
}

impl Tpdu {
    /// Decodes a TPDU (no SMSC field).
    pub fn decode(bytes: &[u8]) -> Result<Tpdu, GsmError> {
        Tpdu::decode_from(&mut Reader::new(bytes))
    }

    /// Decodes from the reader's position, so errors give offsets into the whole input.
    fn decode_from(r: &mut Reader<'_>) -> Result<Tpdu, GsmError> {
        let first = r.u8("first octet")?;
        match first & MTI_MASK {
            0 => decode_deliver(first, r).map(Tpdu::Deliver),
            1 => decode_submit(first, r).map(Tpdu::Submit),
            2 => decode_status_report(first, r).map(Tpdu::StatusReport),
            mti => Err(GsmError::ReservedMessageType(mti)),
        }
    }

    /// Encodes the TPDU (no SMSC field).
    pub fn encode(&self) -> Result<Vec<u8>, GsmError> {
        let mut out = Vec::with_capacity(175);
        self.encode_into(&mut out)?;
        Ok(out)
    }

    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), GsmError> {
        match self {
            Tpdu::Deliver(d) => encode_deliver(d, out),
            Tpdu::Submit(s) => encode_submit(s, out),
            Tpdu::StatusReport(s) => encode_status_report(s, out),
        }
    }
}

fn decode_deliver(first: u8, r: &mut Reader<'_>) -> Result<Deliver, GsmError> {
    let sender = Address::decode_tp(r, "originator address")?;
    let protocol_identifier = r.u8("protocol identifier")?;
    let data_coding = DataCoding::from_byte(r.u8("data coding scheme")?);
    let service_centre_timestamp = timestamp::decode(
        r.array7("service centre time stamp")?,
        "service centre time stamp",
    )?;
    let user_data = UserData::decode(r, data_coding, flag(first, UDHI))?;
    Ok(Deliver {
        more_messages: !flag(first, MMS_OR_RD),
        loop_prevention: flag(first, LP),
        reply_path: flag(first, RP),
        status_report_indication: flag(first, SRI_SRR_SRQ),
        sender,
        protocol_identifier,
        data_coding,
        service_centre_timestamp,
        user_data,
    })
}

fn encode_deliver(d: &Deliver, out: &mut Vec<u8>) -> Result<(), GsmError> {
    out.push(
        bit_if(!d.more_messages, MMS_OR_RD)
            | bit_if(d.loop_prevention, LP)
            | bit_if(d.status_report_indication, SRI_SRR_SRQ)
            | bit_if(d.user_data.header.is_some(), UDHI)
            | bit_if(d.reply_path, RP),
    );
    d.sender.encode_tp(out)?;
    out.push(d.protocol_identifier);
    out.push(d.data_coding.to_byte());
    out.extend(timestamp::encode(&d.service_centre_timestamp)?);
    d.user_data.encode(d.data_coding, out)
}

fn decode_submit(first: u8, r: &mut Reader<'_>) -> Result<Submit, GsmError> {
    let message_reference = r.u8("message reference")?;
    let recipient = Address::decode_tp(r, "destination address")?;
    let protocol_identifier = r.u8("protocol identifier")?;
    let data_coding = DataCoding::from_byte(r.u8("data coding scheme")?);
    let validity = match (first >> 3) & 0x03 {
        0b00 => None,
        0b10 => Some(ValidityPeriod::Relative(r.u8("validity period")?)),
        0b01 => Some(ValidityPeriod::Enhanced(r.array7("validity period")?)),
        _ => Some(ValidityPeriod::Absolute(timestamp::decode(
            r.array7("validity period")?,
            "absolute validity period",
        )?)),
    };
    let user_data = UserData::decode(r, data_coding, flag(first, UDHI))?;
    Ok(Submit {
        reject_duplicates: flag(first, MMS_OR_RD),
        status_report_request: flag(first, SRI_SRR_SRQ),
        reply_path: flag(first, RP),
        message_reference,
        recipient,
        protocol_identifier,
        data_coding,
        validity,
        user_data,
    })
}

fn encode_submit(s: &Submit, out: &mut Vec<u8>) -> Result<(), GsmError> {
    out.push(
        0x01 | bit_if(s.reject_duplicates, MMS_OR_RD)
            | (ValidityPeriod::format_bits(s.validity.as_ref()) << 3)
            | bit_if(s.status_report_request, SRI_SRR_SRQ)
            | bit_if(s.user_data.header.is_some(), UDHI)
            | bit_if(s.reply_path, RP),
    );
    out.push(s.message_reference);
    s.recipient.encode_tp(out)?;
    out.push(s.protocol_identifier);
    out.push(s.data_coding.to_byte());
    match &s.validity {
        None => {}
        Some(ValidityPeriod::Relative(code)) => out.push(*code),
        Some(ValidityPeriod::Enhanced(octets)) => out.extend(octets),
        Some(ValidityPeriod::Absolute(time)) => out.extend(timestamp::encode(time)?),
    }
    s.user_data.encode(s.data_coding, out)
}

const PI_PID: u8 = 0x01;
const PI_DCS: u8 = 0x02;
const PI_UDL: u8 = 0x04;
const PI_EXTENSION: u8 = 0x80;

fn decode_status_report(first: u8, r: &mut Reader<'_>) -> Result<StatusReport, GsmError> {
    let message_reference = r.u8("message reference")?;
    let recipient = Address::decode_tp(r, "recipient address")?;
    let service_centre_timestamp = timestamp::decode(
        r.array7("service centre time stamp")?,
        "service centre time stamp",
    )?;
    let discharge_time = timestamp::decode(r.array7("discharge time")?, "discharge time")?;
    let status = Status(r.u8("status")?);
    let mut report = StatusReport {
        more_messages: !flag(first, MMS_OR_RD),
        loop_prevention: flag(first, LP),
        qualifier: if flag(first, SRI_SRR_SRQ) {
            ReportQualifier::Command
        } else {
            ReportQualifier::Submit
        },
        message_reference,
        recipient,
        service_centre_timestamp,
        discharge_time,
        status,
        protocol_identifier: None,
        data_coding: None,
        user_data: None,
    };
    // The optional tail: a broken one is dropped rather than losing the status.
    let Ok(pi) = r.u8("parameter indicator") else {
        return Ok(report);
    };
    let mut extension = pi;
    while flag(extension, PI_EXTENSION) {
        match r.u8("parameter indicator") {
            Ok(next) => extension = next,
            Err(_) => return Ok(report),
        }
    }
    if flag(pi, PI_PID) {
        report.protocol_identifier = r.u8("protocol identifier").ok();
    }
    if flag(pi, PI_DCS) {
        report.data_coding = r.u8("data coding scheme").ok().map(DataCoding::from_byte);
    }
    if flag(pi, PI_UDL) {
        let dcs = report.data_coding.unwrap_or_default();
        report.user_data = UserData::decode(r, dcs, flag(first, UDHI)).ok();
    }
    Ok(report)
}

fn encode_status_report(s: &StatusReport, out: &mut Vec<u8>) -> Result<(), GsmError> {
    let has_header = s.user_data.as_ref().is_some_and(|u| u.header.is_some());
    out.push(
        0x02 | bit_if(!s.more_messages, MMS_OR_RD)
            | bit_if(s.loop_prevention, LP)
            | bit_if(s.qualifier == ReportQualifier::Command, SRI_SRR_SRQ)
            | bit_if(has_header, UDHI),
    );
    out.push(s.message_reference);
    s.recipient.encode_tp(out)?;
    out.extend(timestamp::encode(&s.service_centre_timestamp)?);
    out.extend(timestamp::encode(&s.discharge_time)?);
    out.push(s.status.code());
    let pi = bit_if(s.protocol_identifier.is_some(), PI_PID)
        | bit_if(s.data_coding.is_some(), PI_DCS)
        | bit_if(s.user_data.is_some(), PI_UDL);
    if pi == 0 {
        return Ok(());
    }
    out.push(pi);
    if let Some(pid) = s.protocol_identifier {
        out.push(pid);
    }
    if let Some(dcs) = s.data_coding {
        out.push(dcs.to_byte());
    }
    if let Some(ud) = &s.user_data {
        ud.encode(s.data_coding.unwrap_or_default(), out)?;
    }
    Ok(())
}

/// Parses hex as modems print it: upper or lower case, whitespace anywhere ignored.
pub fn from_hex(hex: &str) -> Result<Vec<u8>, GsmError> {
    let mut digits = Vec::with_capacity(hex.len());
    for (position, c) in hex.chars().enumerate() {
        if c.is_whitespace() {
            continue;
        }
        let Some(d) = c.to_digit(16) else {
            return Err(GsmError::InvalidHex(format!(
                "{c:?} at position {position} is not a hex digit"
            )));
        };
        digits.push(d as u8);
    }
    if digits.is_empty() {
        return Err(GsmError::InvalidHex("no hex digits".into()));
    }
    if digits.len() % 2 != 0 {
        return Err(GsmError::InvalidHex(format!(
            "{} hex digits is not a whole number of octets",
            digits.len()
        )));
    }
    Ok(digits
        .chunks_exact(2)
        .map(|pair| match *pair {
            [hi, lo] => (hi << 4) | lo,
            _ => 0,
        })
        .collect())
}

/// Upper-case hex, as modems expect it after `AT+CMGS`.
pub fn to_hex(octets: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(octets.len() * 2);
    for &o in octets {
        s.push(char::from(DIGITS[usize::from(o >> 4)]));
        s.push(char::from(DIGITS[usize::from(o & 0x0F)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_validity_steps() {
        let minutes = |code| ValidityPeriod::relative_duration(code).num_minutes();
        assert_eq!(minutes(0), 5);
        assert_eq!(minutes(143), 12 * 60);
        assert_eq!(minutes(144), 12 * 60 + 30);
        assert_eq!(minutes(167), 24 * 60);
        assert_eq!(minutes(168), 2 * 24 * 60);
        assert_eq!(minutes(196), 30 * 24 * 60);
        assert_eq!(minutes(197), 5 * 7 * 24 * 60);
        assert_eq!(minutes(255), 63 * 7 * 24 * 60);
    }

    #[test]
    fn constructors_encode_like_the_vectors() {
        // Vector 6 built from its fields.
        let time = |o| timestamp::decode(o, "time").unwrap_or_default();
        let report = StatusReport::new(
            214,
            Address::from_number("+31628870634").unwrap_or_else(|e| panic!("{e}")),
            time([0x11, 0x10, 0x11, 0x71, 0x95, 0x51, 0x40]),
            time([0x11, 0x10, 0x11, 0x71, 0x95, 0x71, 0x40]),
            Status(0),
        );
        let bytes = Tpdu::StatusReport(report).encode().unwrap_or_default();
        assert_eq!(
            to_hex(&bytes),
            "06D60B911326880736F4111011719551401110117195714000"
        );
        // Vector 1 built from its fields.
        let deliver = Deliver::new(
            Address::from_number("+27821234567").unwrap_or_else(|e| panic!("{e}")),
            time([0x31, 0x30, 0x80, 0x51, 0x20, 0x61, 0x80]),
            DataCoding::default(),
            UserData::text("Test2"),
        );
        let pdu = Pdu {
            smsc: Some(Address::from_number("+2782913593").unwrap_or_else(|e| panic!("{e}"))),
            tpdu: Tpdu::Deliver(deliver),
        };
        assert_eq!(
            pdu.encode(SmscField::Present).map(|b| to_hex(&b)),
            Ok("06917228195339040B917228214365F700003130805120618005D4F29C2E03".to_owned())
        );
    }
}
