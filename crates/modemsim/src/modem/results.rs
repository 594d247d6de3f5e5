//! Final result codes (ITU-T V.250 §5.7, 3GPP TS 27.007 §9.2, TS 27.005 §3.2.5): `OK`
//! after the information lines, or `ERROR`, `+CME ERROR` and `+CMS ERROR` in the form
//! `AT+CMEE` asks for (numeric or verbose).

use super::{Failure, ModemState};

impl ModemState {
    pub(super) fn final_ok(&self, info: &[String]) -> Vec<u8> {
        let mut out = if info.is_empty() {
            Vec::new()
        } else {
            info_lines(info)
        };
        out.extend_from_slice(b"\r\nOK\r\n");
        out
    }

    pub(super) fn final_error(&self, info: &[String], failure: Failure) -> Vec<u8> {
        let mut out = if info.is_empty() {
            Vec::new()
        } else {
            info_lines(info)
        };
        let text = match (failure, self.settings.cmee) {
            (Failure::Error, _) | (Failure::Cme(_), 0) => "ERROR".to_owned(),
            (Failure::Cme(code), 1) => format!("+CME ERROR: {code}"),
            (Failure::Cme(code), _) => format!("+CME ERROR: {}", cme_text(code)),
            // +CMS ERROR is reported whatever AT+CMEE says (27.005 §3.2.5); only the
            // verbose form depends on it.
            (Failure::Cms(code), 2) => format!("+CMS ERROR: {}", cms_text(code)),
            (Failure::Cms(code), _) => format!("+CMS ERROR: {code}"),
        };
        out.extend_from_slice(format!("\r\n{text}\r\n").as_bytes());
        out
    }
}

pub(super) fn info_lines(info: &[String]) -> Vec<u8> {
    format!("\r\n{}\r\n", info.join("\r\n")).into_bytes()
}

fn cme_text(code: u16) -> &'static str {
    match code {
        3 => "operation not allowed",
        4 => "operation not supported",
        10 => "SIM not inserted",
        11 => "SIM PIN required",
        12 => "SIM PUK required",
        13 => "SIM failure",
        14 => "SIM busy",
        16 => "incorrect password",
        30 => "no network service",
        50 => "incorrect parameters",
        _ => "unknown",
    }
}

fn cms_text(code: u16) -> &'static str {
    match code {
        38 => "network out of order",
        300 => "ME failure",
        302 => "operation not allowed",
        303 => "operation not supported",
        304 => "invalid PDU mode parameter",
        311 => "SIM PIN required",
        316 => "SIM PUK required",
        321 => "invalid memory index",
        322 => "memory full",
        330 => "SMSC address unknown",
        331 => "no network service",
        340 => "no +CNMA acknowledgement expected",
        _ => "unknown error",
    }
}
