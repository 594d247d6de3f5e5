//! The `+CME ERROR` (3GPP TS 27.007 §9.2) and `+CMS ERROR` (3GPP TS 27.005 §3.2.5) tables:
//! a readable reason for every standard code and the mapping from verbose texts back to
//! codes. What a code means for a retry is the driver's policy (`textgate_modem`'s
//! `refusal` module), not the protocol's.

use std::fmt;

/// A `+CME ERROR` (equipment error, 3GPP TS 27.007 §9.2).
///
/// Modems report either the number (`AT+CMEE=1`) or a text (`AT+CMEE=2`); a text we know
/// is mapped back to its number, an unknown text is kept as it came.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CmeError {
    pub code: Option<u16>,
    pub text: Option<String>,
}

/// A `+CMS ERROR` (message service failure, 3GPP TS 27.005 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CmsError {
    pub code: Option<u16>,
    pub text: Option<String>,
}

impl CmeError {
    pub fn from_code(code: u16) -> CmeError {
        CmeError {
            code: Some(code),
            text: None,
        }
    }

    /// Parses the argument of `+CME ERROR: <arg>`: a number or a verbose text.
    pub fn parse(argument: &str) -> CmeError {
        let argument = argument.trim();
        match argument.parse::<u16>() {
            Ok(code) => CmeError::from_code(code),
            Err(_) => CmeError {
                code: code_for_text(CME_TABLE, argument),
                text: (!argument.is_empty()).then(|| argument.to_owned()),
            },
        }
    }

    /// The reason in words: the standard text for a known code, else what the modem said.
    pub fn reason(&self) -> &str {
        reason(CME_TABLE, self.code, self.text.as_deref())
    }
}

impl CmsError {
    pub fn from_code(code: u16) -> CmsError {
        CmsError {
            code: Some(code),
            text: None,
        }
    }

    /// Parses the argument of `+CMS ERROR: <arg>`: a number or a verbose text.
    pub fn parse(argument: &str) -> CmsError {
        let argument = argument.trim();
        match argument.parse::<u16>() {
            Ok(code) => CmsError::from_code(code),
            Err(_) => CmsError {
                code: code_for_text(CMS_TABLE, argument),
                text: (!argument.is_empty()).then(|| argument.to_owned()),
            },
        }
    }

    pub fn reason(&self) -> &str {
        reason(CMS_TABLE, self.code, self.text.as_deref())
    }
}

impl fmt::Display for CmeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "+CME ERROR {code} ({})", self.reason()),
            None => write!(f, "+CME ERROR ({})", self.reason()),
        }
    }
}

impl fmt::Display for CmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "+CMS ERROR {code} ({})", self.reason()),
            None => write!(f, "+CMS ERROR ({})", self.reason()),
        }
    }
}

fn reason<'a>(
    table: &'static [(u16, &'static str)],
    code: Option<u16>,
    text: Option<&'a str>,
) -> &'a str {
    if let Some(reason) = code.and_then(|code| table.iter().find(|(c, _)| *c == code)) {
        return reason.1;
    }
    match (code, text) {
        (_, Some(text)) => text,
        (Some(512..=999), None) => "manufacturer specific error",
        _ => "unknown error code",
    }
}

fn code_for_text(table: &'static [(u16, &'static str)], text: &str) -> Option<u16> {
    let wanted = normalise(text);
    table
        .iter()
        .find(|(_, reason)| normalise(reason) == wanted)
        .map(|(code, _)| *code)
}

/// Verbose texts differ between modems in case, spacing and punctuation
/// ("SIM PIN required", "SIM PIN Required", "sim-pin required").
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// 3GPP TS 27.007 §9.2.1 and §9.2.2 (general and GPRS related codes).
const CME_TABLE: &[(u16, &str)] = &[
    (0, "phone failure"),
    (1, "no connection to phone"),
    (2, "phone-adaptor link reserved"),
    (3, "operation not allowed"),
    (4, "operation not supported"),
    (5, "PH-SIM PIN required"),
    (6, "PH-FSIM PIN required"),
    (7, "PH-FSIM PUK required"),
    (10, "SIM not inserted"),
    (11, "SIM PIN required"),
    (12, "SIM PUK required"),
    (13, "SIM failure"),
    (14, "SIM busy"),
    (15, "SIM wrong"),
    (16, "incorrect password"),
    (17, "SIM PIN2 required"),
    (18, "SIM PUK2 required"),
    (20, "memory full"),
    (21, "invalid index"),
    (22, "not found"),
    (23, "memory failure"),
    (24, "text string too long"),
    (25, "invalid characters in text string"),
    (26, "dial string too long"),
    (27, "invalid characters in dial string"),
    (30, "no network service"),
    (31, "network timeout"),
    (32, "network not allowed - emergency calls only"),
    (40, "network personalization PIN required"),
    (41, "network personalization PUK required"),
    (42, "network subset personalization PIN required"),
    (43, "network subset personalization PUK required"),
    (44, "service provider personalization PIN required"),
    (45, "service provider personalization PUK required"),
    (46, "corporate personalization PIN required"),
    (47, "corporate personalization PUK required"),
    (48, "hidden key required"),
    (49, "EAP method not supported"),
    (50, "incorrect parameters"),
    (100, "unknown"),
    (103, "illegal MS"),
    (106, "illegal ME"),
    (107, "GPRS services not allowed"),
    (111, "PLMN not allowed"),
    (112, "location area not allowed"),
    (113, "roaming not allowed in this location area"),
    (148, "unspecified GPRS error"),
    (149, "PDP authentication failure"),
    (150, "invalid mobile class"),
];

/// 3GPP TS 27.005 §3.2.5: RP causes (TS 24.011 annex E.2), TP-FCS values (TS 23.040
/// §9.2.3.22) and the codes of the AT interface itself (300 and up).
const CMS_TABLE: &[(u16, &str)] = &[
    (1, "unassigned (unallocated) number"),
    (8, "operator determined barring"),
    (10, "call barred"),
    (17, "network failure"),
    (21, "short message transfer rejected"),
    (22, "memory capacity exceeded"),
    (27, "destination out of service"),
    (28, "unidentified subscriber"),
    (29, "facility rejected"),
    (30, "unknown subscriber"),
    (38, "network out of order"),
    (41, "temporary failure"),
    (42, "congestion"),
    (47, "resources unavailable, unspecified"),
    (50, "requested facility not subscribed"),
    (69, "requested facility not implemented"),
    (81, "invalid short message transfer reference value"),
    (95, "invalid message, unspecified"),
    (96, "invalid mandatory information"),
    (97, "message type non-existent or not implemented"),
    (
        98,
        "message not compatible with short message protocol state",
    ),
    (99, "information element non-existent or not implemented"),
    (111, "protocol error, unspecified"),
    (127, "interworking, unspecified"),
    (128, "telematic interworking not supported"),
    (129, "short message type 0 not supported"),
    (130, "cannot replace short message"),
    (143, "unspecified TP-PID error"),
    (144, "data coding scheme (alphabet) not supported"),
    (145, "message class not supported"),
    (159, "unspecified TP-DCS error"),
    (160, "command cannot be actioned"),
    (161, "command unsupported"),
    (175, "unspecified TP-Command error"),
    (176, "TPDU not supported"),
    (192, "SC busy"),
    (193, "no SC subscription"),
    (194, "SC system failure"),
    (195, "invalid SME address"),
    (196, "destination SME barred"),
    (197, "SM rejected - duplicate SM"),
    (198, "TP-VPF not supported"),
    (199, "TP-VP not supported"),
    (208, "(U)SIM SMS storage full"),
    (209, "no SMS storage capability in (U)SIM"),
    (210, "error in MS"),
    (211, "memory capacity exceeded"),
    (212, "(U)SIM application toolkit busy"),
    (213, "(U)SIM data download error"),
    (255, "unspecified error cause"),
    (300, "ME failure"),
    (301, "SMS service of ME reserved"),
    (302, "operation not allowed"),
    (303, "operation not supported"),
    (304, "invalid PDU mode parameter"),
    (305, "invalid text mode parameter"),
    (310, "(U)SIM not inserted"),
    (311, "(U)SIM PIN required"),
    (312, "PH-(U)SIM PIN required"),
    (313, "(U)SIM failure"),
    (314, "(U)SIM busy"),
    (315, "(U)SIM wrong"),
    (316, "(U)SIM PUK required"),
    (317, "(U)SIM PIN2 required"),
    (318, "(U)SIM PUK2 required"),
    (320, "memory failure"),
    (321, "invalid memory index"),
    (322, "memory full"),
    (330, "SMSC address unknown"),
    (331, "no network service"),
    (332, "network timeout"),
    (340, "no +CNMA acknowledgement expected"),
    (500, "unknown error"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_forms_map_back_to_codes() {
        assert_eq!(CmeError::parse("SIM busy").code, Some(14));
        assert_eq!(CmeError::parse(" sim pin required ").code, Some(11));
        assert_eq!(CmeError::parse("Incorrect password").code, Some(16));
        assert_eq!(
            CmsError::parse("invalid PDU mode parameter").code,
            Some(304)
        );
        assert_eq!(CmsError::parse("(U)SIM PIN required").code, Some(311));
        let unknown = CmeError::parse("modem on fire");
        assert_eq!((unknown.code, unknown.reason()), (None, "modem on fire"));
    }

    #[test]
    fn display_reads_in_words() {
        assert_eq!(
            CmsError::from_code(304).to_string(),
            "+CMS ERROR 304 (invalid PDU mode parameter)"
        );
        assert_eq!(
            CmsError::from_code(531).to_string(),
            "+CMS ERROR 531 (manufacturer specific error)"
        );
        assert_eq!(
            CmeError::parse("SIM busy").to_string(),
            "+CME ERROR 14 (SIM busy)"
        );
    }
}
