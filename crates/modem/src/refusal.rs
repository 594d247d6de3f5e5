//! How the AT driver's answers become driver-neutral failures: a `+CMS ERROR` or
//! `+CME ERROR` becomes a [`Refusal`] (who refused, the cause in words, the retry class),
//! and a final result that was not `OK` becomes a [`SendError`].
//!
//! The classes are the driver's retry policy, kept here rather than in `textgate_at`, whose
//! error tables only say what a code means: whether a code is worth another attempt, or
//! needs a person, is a decision about how textgate treats a modem.

use textgate_at::{CmeError, CmsError, FinalResult};

use crate::driver::{ErrorClass, MessageReference, Refusal, RefusedBy, SendError, SendFailure};

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

/// A `+CMS ERROR` as a refusal. RP causes from the network are 1 to 127 (TS 24.011);
/// higher codes are the modem's or the SIM's own.
pub fn cms_refusal(error: &CmsError) -> Refusal {
    Refusal {
        by: match error.code {
            Some(1..=127) => RefusedBy::Network,
            _ => RefusedBy::Device,
        },
        code: error.code,
        reason: error.to_string(),
        class: cms_class(error),
    }
}

/// A `+CME ERROR` as a refusal: always the device's.
pub fn cme_refusal(error: &CmeError) -> Refusal {
    Refusal {
        by: RefusedBy::Device,
        code: error.code,
        reason: error.to_string(),
        class: cme_class(error),
    }
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
    fn refusals_name_who_refused_and_keep_the_modems_words() {
        let shown = |r: Refusal| format!("{:?} {:?} {} ({})", r.by, r.code, r, r.class);
        assert_eq!(
            shown(cms_refusal(&CmsError::from_code(1))),
            "Network Some(1) +CMS ERROR 1 (unassigned (unallocated) number) (final)"
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
