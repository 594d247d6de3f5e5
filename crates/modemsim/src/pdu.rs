//! The simulator's use of the SMS codec (`textgate-gsm`): checking what the host submits
//! exactly as strictly as a modem's firmware would, and building the SMS-DELIVER and
//! SMS-STATUS-REPORT PDUs the simulated network hands to the modem.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use textgate_gsm::error::GsmError;
use textgate_gsm::pdu::{
    self, Address, Deliver, Pdu, ReportQualifier, SmscField, Status, StatusReport, Submit, Tpdu,
};
use textgate_gsm::segment::{SegmentError, Segmenter, SegmenterConfig};
use textgate_gsm::udh::ReferenceWidth;

/// Why a submitted PDU was refused (the modem answers `+CMS ERROR: 304` for all of them).
#[derive(Debug, thiserror::Error)]
pub enum PduRejection {
    #[error("PDU is not valid hex: {0}")]
    Hex(GsmError),
    #[error("the SMSC field announces {announced} octets but only {present} follow")]
    SmscTruncated { announced: usize, present: usize },
    #[error("AT+CMGS announced {declared} TPDU octets but the PDU has {actual}")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("not an SMS-SUBMIT but an {0}")]
    NotSubmit(&'static str),
    #[error("malformed SMS-SUBMIT: {0}")]
    Malformed(GsmError),
}

/// A submitted PDU that passed the checks.
#[derive(Clone, Debug)]
pub struct CheckedSubmit {
    /// The whole PDU as sent (SMSC field first).
    pub bytes: Vec<u8>,
    /// Whether the host put an SMSC address in the PDU (otherwise the SIM's is used).
    pub smsc_given: bool,
    pub submit: Submit,
}

/// Checks a PDU typed after `AT+CMGS=<declared>`: valid hex, an SMSC field that fits, a
/// TPDU of exactly `declared` octets, and a well-formed SMS-SUBMIT.
pub fn check_submit(hex: &str, declared: usize) -> Result<CheckedSubmit, PduRejection> {
    let bytes = pdu::from_hex(hex).map_err(PduRejection::Hex)?;
    let actual = tpdu_length(&bytes)?;
    if actual != declared {
        return Err(PduRejection::LengthMismatch { declared, actual });
    }
    let decoded = Pdu::decode(&bytes, SmscField::Present).map_err(PduRejection::Malformed)?;
    match decoded.tpdu {
        Tpdu::Submit(submit) => Ok(CheckedSubmit {
            smsc_given: decoded.smsc.is_some(),
            bytes,
            submit,
        }),
        Tpdu::Deliver(_) => Err(PduRejection::NotSubmit("SMS-DELIVER")),
        Tpdu::StatusReport(_) => Err(PduRejection::NotSubmit("SMS-STATUS-REPORT")),
    }
}

/// Checks a PDU typed after `AT+CMGW=<declared>`: the same as for sending, except that a
/// SIM may hold any message type.
pub fn check_stored(hex: &str, declared: usize) -> Result<Vec<u8>, PduRejection> {
    let bytes = pdu::from_hex(hex).map_err(PduRejection::Hex)?;
    let actual = tpdu_length(&bytes)?;
    if actual != declared {
        return Err(PduRejection::LengthMismatch { declared, actual });
    }
    Pdu::decode(&bytes, SmscField::Present).map_err(PduRejection::Malformed)?;
    Ok(bytes)
}

/// The TPDU length of a PDU with its SMSC field: what `+CMGR`, `+CMGL` and `+CMT` announce.
pub fn tpdu_length(bytes: &[u8]) -> Result<usize, PduRejection> {
    let announced = usize::from(bytes.first().copied().unwrap_or(0));
    let present = bytes.len().saturating_sub(1);
    if bytes.is_empty() || announced > present {
        return Err(PduRejection::SmscTruncated { announced, present });
    }
    Ok(present - announced)
}

/// A sender or recipient: `+` and digits or digits alone are numbers, anything else is an
/// alphanumeric sender (as companies send from).
pub fn address(text: &str) -> Result<Address, GsmError> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        Address::from_number(text)
    } else {
        Address::alphanumeric(text)
    }
}

/// How wide the concatenation reference of an injected long text is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceBits {
    /// IEI 0x00, what most phones send.
    #[default]
    Bits8,
    /// IEI 0x08.
    Bits16,
}

/// Why an injected text could not become SMS-DELIVER PDUs.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error(transparent)]
    Codec(#[from] GsmError),
}

/// What the network needs to build the SMS-DELIVER parts of one text.
#[derive(Clone, Debug)]
pub struct DeliverRequest<'a> {
    pub sender: &'a str,
    pub text: &'a str,
    pub smsc: &'a str,
    pub timestamp: DateTime<FixedOffset>,
    /// The concatenation reference, used when the text needs several parts.
    pub reference: u16,
    pub reference_bits: ReferenceBits,
}

/// Splits a text into SMS-DELIVER PDUs (with SMSC field) the way a sending phone would,
/// with the codec's [`Segmenter`]: GSM 7-bit when every character has a code, UCS-2
/// otherwise; one part when it fits, concatenated parts otherwise.
pub fn deliver_parts(request: &DeliverRequest<'_>) -> Result<Vec<Vec<u8>>, DeliverError> {
    let sender = address(request.sender)?;
    let smsc = Address::from_number(request.smsc)?;
    let segmenter = Segmenter::new(SegmenterConfig {
        national_languages: Vec::new(),
        reference_width: match request.reference_bits {
            ReferenceBits::Bits8 => ReferenceWidth::Bits8,
            ReferenceBits::Bits16 => ReferenceWidth::Bits16,
        },
        max_parts: u8::MAX,
    });
    let segmented = segmenter.segment(request.text, request.reference)?;
    let mut pdus = Vec::with_capacity(segmented.parts.len());
    for part in &segmented.parts {
        let (data_coding, user_data) = part.user_data();
        let deliver = Deliver {
            more_messages: false,
            loop_prevention: false,
            reply_path: false,
            status_report_indication: false,
            sender: sender.clone(),
            protocol_identifier: 0,
            data_coding,
            service_centre_timestamp: request.timestamp,
            user_data,
        };
        let pdu = Pdu {
            smsc: Some(smsc.clone()),
            tpdu: Tpdu::Deliver(deliver),
        };
        pdus.push(pdu.encode(SmscField::Present)?);
    }
    Ok(pdus)
}

/// The SMS-STATUS-REPORT the network sends for a message that asked for one.
pub fn status_report(
    smsc: &str,
    reference: u8,
    recipient: &Address,
    submitted: DateTime<FixedOffset>,
    discharged: DateTime<FixedOffset>,
    status: u8,
) -> Result<Vec<u8>, GsmError> {
    let report = StatusReport {
        more_messages: false,
        loop_prevention: false,
        qualifier: ReportQualifier::Submit,
        message_reference: reference,
        recipient: recipient.clone(),
        service_centre_timestamp: submitted,
        discharge_time: discharged,
        status: Status(status),
        protocol_identifier: None,
        data_coding: None,
        user_data: None,
    };
    Pdu {
        smsc: Some(Address::from_number(smsc)?),
        tpdu: Tpdu::StatusReport(report),
    }
    .encode(SmscField::Present)
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    fn check(hex: &str, declared: usize, expected: Expect) {
        let actual = match check_submit(hex, declared) {
            Ok(c) => format!(
                "ok: to {} srr={} text={:?}",
                c.submit.recipient.number,
                c.submit.status_report_request,
                c.submit.user_data.as_text()
            ),
            Err(e) => format!("rejected: {e}"),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn submitted_pdus_are_checked_like_a_modem() {
        // Vector 4 of the SMS fact sheet: 24 TPDU octets after an empty SMSC field.
        let hello = "0001000B917228001011F100000CC8329BFD065DDF72363904";
        check(
            hello,
            24,
            expect![[r#"ok: to +27820001111 srr=false text=Some("Hello World!")"#]],
        );
        check(
            hello,
            25,
            expect!["rejected: AT+CMGS announced 25 TPDU octets but the PDU has 24"],
        );
        check(&hello[..hello.len() - 1], 24, expect!["rejected: PDU is not valid hex: invalid hex: 49 hex digits is not a whole number of octets"]);
        check(
            "0001000B91ZZ",
            5,
            expect![[
                r#"rejected: PDU is not valid hex: invalid hex: 'Z' at position 10 is not a hex digit"#
            ]],
        );
        check(
            "09",
            0,
            expect!["rejected: the SMSC field announces 9 octets but only 0 follow"],
        );
        // Vector 1 is an SMS-DELIVER: a modem will not send it.
        check(
            "06917228195339040B917228214365F700003130805120618005D4F29C2E03",
            24,
            expect!["rejected: not an SMS-SUBMIT but an SMS-DELIVER"],
        );
        // The length is right but the user data is cut short.
        check(
            "0001000B917228001011F100000CC8",
            13,
            expect!["rejected: AT+CMGS announced 13 TPDU octets but the PDU has 14"],
        );
    }
}
