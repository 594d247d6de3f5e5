//! How the AT driver's answers become driver-neutral failures: a `+CMS ERROR` or
//! `+CME ERROR` becomes a [`Refusal`] (who refused, the cause in words, the retry class),
//! and a final result that was not `OK` becomes a [`SendError`].
//!
//! The classes are the driver's retry policy, kept here rather than in `textgate_at`, whose
//! error tables only say what a code means: whether a code is worth another attempt, or
//! needs a person, is a decision about how textgate treats a modem.

use textgate_at::{CmeError, CmsError, FinalResult};

use crate::driver::{ErrorClass, MessageReference, Refusal, RefusedBy, SendError, SendFailure};
use crate::plain::PlainCause;

/// Whether a `+CME ERROR` (3GPP TS 27.007 §9.2) may pass, is final, or needs a person.
pub fn cme_class(error: &CmeError) -> ErrorClass {
    match error.code {
        // PIN, PUK, personalisation keys, a missing or wrong SIM.
        Some(5..=7 | 10..=12 | 15..=18 | 40..=48) => ErrorClass::NeedsOperator,
        // SIM busy, no network service, network timeout, memory full (drained by the
        // driver), unknown: conditions that pass.
        Some(13 | 14 | 20 | 30 | 31 | 100) => ErrorClass::Retryable,
        Some(_) => ErrorClass::Final,
        // A verbose text we could not map: do not retry blindly, do not lock anything.
        None => ErrorClass::Retryable,
    }
}

/// Whether a `+CMS ERROR` (3GPP TS 27.005 §3.2.5) may pass, is final, or needs a person.
pub fn cms_class(error: &CmsError) -> ErrorClass {
    match error.code {
        // SIM PIN/PUK problems and a missing SIM.
        Some(310 | 311 | 312 | 315 | 316 | 317 | 318) => ErrorClass::NeedsOperator,
        // RP causes of a transient nature (TS 24.011 annex E): network failure,
        // destination out of service, network out of order, temporary failure,
        // congestion, resources unavailable.
        Some(17 | 22 | 27 | 38 | 41 | 42 | 47) => ErrorClass::Retryable,
        // TP-FCS: SC busy, SC system failure, storage full, error in MS, SIM toolkit busy.
        Some(192 | 194 | 208 | 210 | 211 | 212) => ErrorClass::Retryable,
        // ME failure, SIM failure, SIM busy, memory failure, memory full, SMSC unknown
        // (it may be set again), no network service, network timeout, unknown.
        Some(300 | 313 | 314 | 320 | 322 | 330 | 331 | 332 | 500) => ErrorClass::Retryable,
        // Manufacturer specific codes; 515 ("please wait, init or command processing in
        // progress") and friends are busy conditions on every modem that uses them.
        Some(512..=999) => ErrorClass::Retryable,
        Some(_) => ErrorClass::Final,
        None => ErrorClass::Retryable,
    }
}

/// A `+CMS ERROR` as a refusal. The network's: RP causes 1 to 127 (TS 24.011) and the
/// SMS centre's TP-FCS values 128 to 207 (TS 23.040 §9.2.3.22: the TPDU's fields, SC busy,
/// no SC subscription, SME barred and the like); from 208 on (SIM storage, error in MS,
/// application errors, and 300 and up) the modem's or the SIM's own.
pub fn cms_refusal(error: &CmsError) -> Refusal {
    Refusal {
        by: match error.code {
            Some(1..=207) => RefusedBy::Network,
            _ => RefusedBy::Device,
        },
        code: error.code,
        reason: error.to_string(),
        class: cms_class(error),
        plain: cms_cause(error),
    }
}

/// A `+CME ERROR` as a refusal: always the device's.
pub fn cme_refusal(error: &CmeError) -> Refusal {
    Refusal {
        by: RefusedBy::Device,
        code: error.code,
        reason: error.to_string(),
        class: cme_class(error),
        plain: cme_cause(error),
    }
}

// The words for causes that both tables have. Each must be true of every code it is
// used for, and its action must fit the codes' class (see `PlainCause::action`).
const SIM_MISSING: PlainCause = PlainCause::new("The modem finds no SIM card")
    .advise("ask your administrator to check that the SIM card is inserted properly");
const SIM_PIN: PlainCause =
    PlainCause::new("The SIM card needs its PIN").advise("ask your administrator to enter the PIN");
const SIM_PUK: PlainCause = PlainCause::new("The SIM card is locked and needs its PUK code")
    .advise("ask your administrator to unlock it with the PUK from the mobile operator");
const SIM_PIN2: PlainCause = PlainCause::new("The SIM card needs its second PIN (PIN2)")
    .advise("ask your administrator to enter the PIN2");
const SIM_PUK2: PlainCause =
    PlainCause::new("The SIM card is locked and needs its second PUK code (PUK2)")
        .advise("ask your administrator to unlock it with the PUK2 from the mobile operator");
const SIM_LOCK: PlainCause = PlainCause::new("The modem is locked and needs an unlock code")
    .advise("ask your administrator to unlock the modem");
const SIM_WRONG: PlainCause = PlainCause::new("The modem does not accept this SIM card")
    .advise("ask your administrator to check the SIM card");
const SIM_FAILURE: PlainCause = PlainCause::new("The SIM card reported a failure")
    .advise("ask your administrator to check the SIM card");
const SIM_BUSY: PlainCause = PlainCause::new("The SIM card is busy");
const MODEM_FAILURE: PlainCause = PlainCause::new("The modem reported a failure of its own")
    .advise("ask your administrator to check the modem");
const NOT_ALLOWED: PlainCause = PlainCause::new("The modem would not carry out the send command")
    .advise("ask your administrator to check the modem");
const MEMORY_FULL: PlainCause = PlainCause::new("The modem's message memory is full");
const MEMORY_FAILURE: PlainCause = PlainCause::new("The modem's message memory failed")
    .advise("ask your administrator to check the modem");
const NO_SERVICE: PlainCause =
    PlainCause::new("The modem has no connection to the phone network (no service)")
        .advise("ask your administrator to check the modem's signal and antenna");
const NETWORK_TIMEOUT: PlainCause =
    PlainCause::new("The phone network did not answer the modem in time");
const SUBSCRIPTION: &str =
    "ask your administrator to check the SIM card's subscription with the mobile operator";
const UNKNOWN: PlainCause = PlainCause::new("The modem reported an error without saying which");

/// A `+CMS ERROR` in words a librarian can act on, for the codes whose meaning says more
/// than who refused; other codes are left to the refusal's class.
///
/// The codes (3GPP TS 27.005 §3.2.5) are RP causes of the network (TS 24.011 annex E.2;
/// 17 is a CP cause, annex E.1), TP-FCS values of the operator's SMS centre (TS 23.040
/// §9.2.3.22) and failures of the modem itself (300 and up).
pub fn cms_cause(error: &CmsError) -> Option<PlainCause> {
    let cause = match error.code? {
        // "Although the number is in a valid format, it is not currently assigned". On a
        // sent text the RP destination address is the SMS centre's (TS 24.011 §7.3.1.2),
        // and TS 23.540 (SMS over IP) sends this cause for an unknown SMS centre address:
        // the words must name both numbers.
        1 => PlainCause::new(
            "The phone network says a number it was given is not in use (the patron's number \
             or the gateway's SMS centre number)",
        )
        .advise(
            "check the patron's number; if it is right, ask your administrator to check the \
             gateway's SMS centre number",
        ),
        // The operator forbids the SIM's sending.
        8 => PlainCause::new("The mobile operator has barred the gateway's SIM card from texting")
            .advise("ask your administrator to contact the mobile operator"),
        // "The outgoing call barred service applies to the short message service for the
        // called destination."
        10 => PlainCause::new(
            "The phone network bars the gateway's SIM card from texting this number (call \
             barring)",
        )
        .advise(
            "check the number; if it is right, ask your administrator to ask the mobile \
             operator about the barring",
        ),
        17 => PlainCause::new("The phone network reported a failure"),
        // The network does not want this text and gives no other cause; TS 23.540 sends
        // it for an invalid destination (SME) address, among others.
        21 => PlainCause::new("The phone network rejected the text without a specific reason")
            .advise("check the number; if it is right, ask your administrator"),
        // "The interface to the destination is not functioning correctly (… user
        // equipment off-line, etc.)".
        27 => PlainCause::new(
            "The phone network cannot get the text through to its destination right now",
        ),
        // The subscriber "is not registered in the PLMN": on a sent text, the gateway's own
        // SIM (TS 23.540 sends it for a sender the SMS centre does not serve).
        28 => PlainCause::new("The phone network does not recognise the gateway's SIM card")
            .advise(SUBSCRIPTION),
        29 => PlainCause::new(
            "The phone network does not offer this service to the gateway's SIM card",
        )
        .advise(SUBSCRIPTION),
        // "Not registered in the HLR": the gateway's SIM, or the destination when the
        // SMS centre passes the answer on.
        30 => PlainCause::new(
            "The phone network does not know a subscriber involved (the patron's number or \
             the gateway's own SIM card)",
        )
        .advise(
            "check the number; if it is right, ask your administrator to check the SIM \
             card's subscription with the mobile operator",
        ),
        38 => PlainCause::new("The phone network is out of order"),
        41 => PlainCause::new("The phone network has a temporary failure"),
        42 => PlainCause::new("The phone network is congested"),
        47 => PlainCause::new("The phone network has no capacity free right now"),
        // TS 23.040 maps a SIM without the SMS teleservice (TeleserviceNotProvisioned) to
        // this cause.
        50 => PlainCause::new("The gateway's SIM card subscription does not include sending texts")
            .advise(SUBSCRIPTION),
        69 => {
            PlainCause::new("The phone network does not provide this service").advise(SUBSCRIPTION)
        }
        // An unknown message reference and the invalid message class (95 to 111): the
        // network could not follow what the modem sent.
        81 | 95..=111 => PlainCause::new(
            "The phone network could not make sense of what the modem sent (a protocol error)",
        )
        .advise("ask your administrator to check the modem"),
        // TP-PID, TP-DCS and TP-Command errors, an unsupported TPDU or validity period.
        128..=176 | 198 | 199 => PlainCause::new(
            "The operator's SMS centre does not accept the text in the form it was sent",
        )
        .advise("ask your administrator to check the modem's settings"),
        192 => PlainCause::new("The operator's SMS centre is busy"),
        193 => PlainCause::new("The gateway's SIM card has no subscription with this SMS centre")
            .advise(
                "ask your administrator to check the gateway's SMS centre number and the SIM \
                 card's subscription",
            ),
        194 => PlainCause::new("The operator's SMS centre has a failure"),
        // An SMS-SUBMIT names only the destination (TP-DA).
        195 => PlainCause::new("The operator's SMS centre says the number is not valid")
            .advise("check the number"),
        196 => PlainCause::new("The operator's SMS centre refuses texts to this number (barred)")
            .advise("check the number; if it is right, ask your administrator"),
        197 => PlainCause::new(
            "The operator's SMS centre refused the text as a copy of one it already has",
        )
        .advise("the patron may have received it already; send it again only if they did not"),
        // The receiving side's failures (TS 23.040 §9.2.3.22, 0xD0 to 0xD4), which modems
        // also give for their own trouble when sending.
        208 => PlainCause::new("The SIM card's message storage is full"),
        210 => MODEM_FAILURE,
        211 => MEMORY_FULL,
        212 => SIM_BUSY,
        255 => PlainCause::new("The text was refused with an unspecified error"),
        300 => MODEM_FAILURE,
        302 | 303 => NOT_ALLOWED,
        304 | 305 => PlainCause::new("The modem did not accept the text as textgate prepared it")
            .advise("ask your administrator to check the modem's settings"),
        310 => SIM_MISSING,
        311 => SIM_PIN,
        312 => SIM_LOCK,
        313 => SIM_FAILURE,
        314 => SIM_BUSY,
        315 => SIM_WRONG,
        316 => SIM_PUK,
        317 => SIM_PIN2,
        318 => SIM_PUK2,
        320 => MEMORY_FAILURE,
        322 => MEMORY_FULL,
        330 => PlainCause::new("The modem does not know the operator's SMS centre number").advise(
            "ask your administrator to set the SMS centre number in the gateway's settings",
        ),
        331 => NO_SERVICE,
        332 => NETWORK_TIMEOUT,
        500 => UNKNOWN,
        512..=999 => PlainCause::new("The modem reported an error specific to its make"),
        _ => return None,
    };
    Some(cause)
}

/// A `+CME ERROR` (3GPP TS 27.007 §9.2.1) in words a librarian can act on, for the codes
/// whose meaning says more than who refused. An unknown verbose text has no code and is
/// left to the class.
pub fn cme_cause(error: &CmeError) -> Option<PlainCause> {
    let cause = match error.code? {
        0 => MODEM_FAILURE,
        3 | 4 => NOT_ALLOWED,
        // PH-SIM and PH-FSIM locks, and the network, network subset, service provider and
        // corporate personalisation of TS 22.022.
        5..=7 | 40..=47 => SIM_LOCK,
        10 => SIM_MISSING,
        11 => SIM_PIN,
        12 => SIM_PUK,
        13 => SIM_FAILURE,
        14 => SIM_BUSY,
        15 => SIM_WRONG,
        16 => PlainCause::new("The SIM card refused the PIN or password it was given").advise(
            "ask your administrator to check the PIN in the gateway's settings (entering a wrong \
             PIN again can lock the SIM card)",
        ),
        17 => SIM_PIN2,
        18 => SIM_PUK2,
        20 => MEMORY_FULL,
        23 => MEMORY_FAILURE,
        30 => NO_SERVICE,
        31 => NETWORK_TIMEOUT,
        32 => PlainCause::new(
            "The phone network allows only emergency calls from the gateway's SIM card",
        )
        .advise(SUBSCRIPTION),
        // A password the SIM keeps for hidden phonebook entries.
        48 => PlainCause::new("The SIM card needs its password for hidden entries")
            .advise("ask your administrator to enter it"),
        100 => UNKNOWN,
        _ => return None,
    };
    Some(cause)
}

impl SendError {
    /// The failure of part `part` of `total` whose command ended with `result`.
    pub(crate) fn from_result(
        part: usize,
        total: usize,
        result: FinalResult,
        accepted: Vec<MessageReference>,
    ) -> SendError {
        let failure = match result {
            FinalResult::Cms(error) => SendFailure::Refused {
                part,
                total,
                refusal: cms_refusal(&error),
            },
            FinalResult::Cme(error) => SendFailure::Refused {
                part,
                total,
                refusal: cme_refusal(&error),
            },
            FinalResult::Error => SendFailure::BareError { part, total },
            other => SendFailure::Unexpected {
                part,
                total,
                answer: other.to_string(),
            },
        };
        SendError { failure, accepted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_of_field_errors() {
        let cms = |code| cms_class(&CmsError::from_code(code));
        let cme = |code| cme_class(&CmeError::from_code(code));
        assert_eq!(
            [
                cms(500),
                cms(38),
                cms(515),
                cms(331),
                cms(332),
                cms(322),
                cme(14)
            ],
            [ErrorClass::Retryable; 7]
        );
        assert_eq!(
            [cms(304), cms(305), cms(1), cms(196)],
            [ErrorClass::Final; 4]
        );
        assert_eq!(
            [cms(310), cms(311), cme(10), cme(11), cme(12), cme(16)],
            [ErrorClass::NeedsOperator; 6]
        );
        assert_eq!(
            cme_class(&CmeError::parse("Incorrect password")),
            ErrorClass::NeedsOperator
        );
    }

    #[test]
    fn codes_that_need_a_person_say_what_to_do() {
        for code in 0..=1000 {
            let cms = CmsError::from_code(code);
            if cms_class(&cms) == ErrorClass::NeedsOperator {
                assert!(
                    cms_cause(&cms).and_then(|c| c.action).is_some(),
                    "CMS {code}"
                );
            }
            let cme = CmeError::from_code(code);
            if cme_class(&cme) == ErrorClass::NeedsOperator {
                assert!(
                    cme_cause(&cme).and_then(|c| c.action).is_some(),
                    "CME {code}"
                );
            }
        }
    }

    #[test]
    fn refusals_name_who_refused_and_keep_the_modems_words() {
        let shown = |r: Refusal| format!("{:?} {:?} {} ({})", r.by, r.code, r, r.class);
        assert_eq!(
            shown(cms_refusal(&CmsError::from_code(1))),
            "Network Some(1) +CMS ERROR 1 (unassigned (unallocated) number) (final)"
        );
        // The SMS centre's refusals are the network's, the SIM's and the modem's are not.
        let by = |code| cms_refusal(&CmsError::from_code(code)).by;
        assert_eq!(
            [by(127), by(128), by(192), by(196), by(207)],
            [RefusedBy::Network; 5]
        );
        assert_eq!(
            [by(208), by(210), by(255), by(300), by(0)],
            [RefusedBy::Device; 5]
        );
        assert_eq!(
            shown(cms_refusal(&CmsError::from_code(500))),
            "Device Some(500) +CMS ERROR 500 (unknown error) (retryable)"
        );
        assert_eq!(
            shown(cme_refusal(&CmeError::from_code(11))),
            "Device Some(11) +CME ERROR 11 (SIM PIN required) (needs an operator)"
        );
        let error = SendError::from_result(2, 3, FinalResult::Cms(CmsError::from_code(1)), vec![]);
        assert_eq!(
            error.to_string(),
            "part 2 of 3 was refused: +CMS ERROR 1 (unassigned (unallocated) number)"
        );
    }
}
