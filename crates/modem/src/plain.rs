//! Why a text was not sent, in words a librarian can act on: what happened, what to do
//! about it, and the driver's own report after them for whoever has to dig deeper
//! ("The SIM card needs its PIN; ask your administrator to enter the PIN, then send the
//! text again (textgate gave up after 5 attempts). (technical: part 1 of 1 was refused:
//! +CMS ERROR 311 ((U)SIM PIN required))").
//!
//! A driver knows what its codes mean (a `+CMS ERROR`, an SMSC's `command_status`, the
//! Android app's send result) and puts that meaning on its [`Refusal`](crate::Refusal) as a
//! [`PlainCause`]. This module never reads a cause out of a bare number: the same number
//! means different things to different drivers (`1` is "unassigned number" from a modem
//! and "invalid message length" from an SMSC). What to do next follows from the failure's
//! [`ErrorClass`], the outbox's only guide, and from whether the outbox is still trying
//! ([`Outlook`]).
//!
//! The words never claim more than the failure says: a refusal without a known cause says
//! only who refused, never that the number is wrong.

use std::fmt;

use crate::driver::{ErrorClass, RefusedBy, SendError, SendFailure};

/// A cause in plain words, as the driver that understood it gives it on a
/// [`Refusal`](crate::Refusal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlainCause {
    /// What happened: a clause that starts with a capital and has no full stop ("The phone
    /// network is congested").
    pub what: &'static str,
    /// What a person can do about it ("check the number", "ask your administrator to enter
    /// the PIN"), without a full stop. Whether the text will be tried again is added from
    /// the failure's class, so an action must read well on its own, after "if this keeps
    /// happening, " and before ", then send the text again".
    pub action: Option<&'static str>,
}

impl PlainCause {
    /// A cause that asks nothing of anyone: retrying is all there is to do.
    pub const fn new(what: &'static str) -> PlainCause {
        PlainCause { what, action: None }
    }

    /// The same cause with what a person can do about it.
    pub const fn advise(self, action: &'static str) -> PlainCause {
        PlainCause {
            what: self.what,
            action: Some(action),
        }
    }
}

/// Where the outbox stands with the text, which decides whether "it will be tried again"
/// is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outlook {
    /// The outbox will try again (it keeps retryable failures and those that need an
    /// operator while attempts remain).
    Retrying,
    /// The outbox gave up after `attempts` attempts: these are the last words on the text.
    GaveUp { attempts: u32 },
}

/// A failed send explained: [`PlainWords::what`] happened, [`PlainWords::advice`] says
/// what to do, and [`PlainWords::technical`] keeps the driver's report. `Display` gives
/// all three: "what; advice. (technical: …)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainWords {
    /// One clause, starting with a capital, no full stop.
    pub what: String,
    /// What to do, starting in lower case, no full stop.
    pub advice: String,
    /// The failure as the driver reported it (the [`SendError`]'s own `Display`).
    pub technical: String,
}

impl PlainWords {
    /// "what; advice.", without the technical detail.
    pub fn summary(&self) -> String {
        format!("{}; {}.", self.what, self.advice)
    }
}

impl fmt::Display for PlainWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}.", self.what, self.advice)?;
        if !self.technical.is_empty() {
            write!(f, " (technical: {})", self.technical)?;
        }
        Ok(())
    }
}

impl SendError {
    /// This failure in words a librarian can act on, for a text the outbox is still
    /// trying to send or has given up on.
    ///
    /// Part numbers are taken as the error has them: the outbox renumbers a retry's error
    /// to the whole text's parts ([`SendError::renumbered`]) before it gets here, so
    /// "part 3 of 3" means the first two went out.
    pub fn in_plain_words(&self, outlook: Outlook) -> PlainWords {
        let cause = cause_of(&self.failure);
        let mut what = match self.failure {
            SendFailure::Stopped { sent, total } => stopped(sent, total),
            _ => cause.what.to_owned(),
        };
        if let Some((part, total)) = failed_part(&self.failure) {
            if part > 1 {
                what.push_str(&format!(
                    " ({} of the text's {total} parts went out)",
                    part - 1
                ));
            }
        }
        PlainWords {
            what,
            advice: advice(self.class(), self.outcome_unknown(), cause.action, outlook),
            technical: self.to_string(),
        }
    }
}

/// What a refusal says without a cause from its driver: only who refused.
const NETWORK_REFUSED: PlainCause = PlainCause::new("The phone network refused the text");
const DEVICE_REFUSED: PlainCause = PlainCause::new("The gateway's modem or phone refused the text");

/// The words for what a driver reports without a code of its own. Each must hold for
/// every driver that uses the variant: the AT driver, the SMPP and Android drivers and the
/// e-mail path all report `Unavailable`, `Invalid`, `Timeout` and `Unexpected`.
fn cause_of(failure: &SendFailure) -> PlainCause {
    match failure {
        SendFailure::Refused { refusal, .. } => refusal.plain.unwrap_or(match refusal.by {
            RefusedBy::Network => NETWORK_REFUSED,
            RefusedBy::Device => DEVICE_REFUSED,
        }),
        SendFailure::Unavailable(_) => {
            PlainCause::new("The gateway's modem or SMS provider is not available right now")
                .advise("ask your administrator to check the gateway's modem or SMS provider")
        }
        SendFailure::Empty => PlainCause::new("There was nothing to send: the text made no SMS")
            .advise("check that the reply has text in it; if it does, ask your administrator"),
        SendFailure::Invalid { .. } => {
            PlainCause::new("The gateway could not send this text as it stands")
                .advise("check the number; if it is right, ask your administrator")
        }
        // Only a modem answers a bare `ERROR`.
        SendFailure::BareError { .. } => {
            PlainCause::new("The modem refused the text without giving a reason")
                .advise("ask your administrator to check the modem")
        }
        SendFailure::Timeout { .. } => PlainCause::new(
            "No answer came in time from the gateway's modem or SMS provider, so it is not \
             known whether the text went out",
        )
        .advise("ask your administrator to check the gateway's modem or SMS provider"),
        // Only the AT driver has a link that ends in the middle of a send.
        SendFailure::LinkLost { .. } => PlainCause::new(
            "The connection to the modem was lost while it was sending, so it is not known \
             whether the text went out",
        )
        .advise("ask your administrator to check the modem's cable or connection"),
        SendFailure::Unexpected { .. } => PlainCause::new(
            "The gateway's modem or SMS provider gave an answer textgate does not understand",
        )
        .advise("ask your administrator to check the gateway's modem or SMS provider"),
        // Worded from its counts by `stopped`.
        SendFailure::Stopped { .. } => PlainCause::new("Sending was interrupted"),
    }
}

/// A send the caller stopped: the outbox stops sends when the daemon shuts down, so
/// nothing here blames the network.
fn stopped(sent: usize, total: usize) -> String {
    match (sent, total) {
        (0, 1) => "Sending was interrupted before the text went out".to_owned(),
        (0, _) => "Sending was interrupted before any part of the text went out".to_owned(),
        _ => format!("Sending was interrupted after {sent} of the text's {total} parts"),
    }
}

/// The part a failure happened at, and how many the text has.
fn failed_part(failure: &SendFailure) -> Option<(usize, usize)> {
    match failure {
        SendFailure::Invalid { part, total, .. }
        | SendFailure::Refused { part, total, .. }
        | SendFailure::BareError { part, total }
        | SendFailure::Timeout { part, total, .. }
        | SendFailure::LinkLost { part, total, .. }
        | SendFailure::Unexpected { part, total, .. } => Some((*part, *total)),
        SendFailure::Unavailable(_) | SendFailure::Empty | SendFailure::Stopped { .. } => None,
    }
}

/// What to do, from the class (what the outbox does with the failure) and where the
/// outbox stands. A final failure is never said to be retried, whatever `outlook` says:
/// the outbox gives up on it at once.
fn advice(
    class: ErrorClass,
    outcome_unknown: bool,
    action: Option<&'static str>,
    outlook: Outlook,
) -> String {
    match class {
        ErrorClass::Final => action
            .unwrap_or(
                "sending it again unchanged will not help; ask your administrator if this keeps \
                 happening",
            )
            .to_owned(),
        ErrorClass::Retryable => {
            // A part whose answer was lost may have reached the patron: a retry can
            // deliver it twice, a give-up may not have lost it.
            let next = match (outlook, outcome_unknown) {
                (Outlook::Retrying, false) => "textgate will try again".to_owned(),
                (Outlook::Retrying, true) => {
                    "textgate will try again, so the patron may get it twice".to_owned()
                }
                (Outlook::GaveUp { attempts }, false) => format!(
                    "textgate gave up after {}; send it again later",
                    attempts_in_words(attempts)
                ),
                (Outlook::GaveUp { attempts }, true) => format!(
                    "textgate gave up after {}; it may still have reached the patron, so send \
                     it again only if they did not get it",
                    attempts_in_words(attempts)
                ),
            };
            match action {
                Some(action) => format!("{next}; if this keeps happening, {action}"),
                None => next,
            }
        }
        ErrorClass::NeedsOperator => {
            let action =
                action.unwrap_or("ask your administrator to check the modem and its SIM card");
            match outlook {
                Outlook::Retrying => {
                    format!("{action}; textgate keeps the text and tries again meanwhile")
                }
                Outlook::GaveUp { attempts } => format!(
                    "{action}, then send the text again (textgate gave up after {})",
                    attempts_in_words(attempts)
                ),
            }
        }
    }
}

fn attempts_in_words(attempts: u32) -> String {
    match attempts {
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use expect_test::{expect, Expect};
    use textgate_at::{CmeError, CmsError, FinalResult};

    use super::*;
    use crate::driver::{MessageReference, Refusal};
    use crate::refusal::{cme_refusal, cms_refusal};

    fn check(error: SendError, outlook: Outlook, expected: Expect) {
        expected.assert_eq(&error.in_plain_words(outlook).to_string());
    }

    fn cms(code: u16) -> SendError {
        SendError::from_result(1, 1, FinalResult::Cms(CmsError::from_code(code)), vec![])
    }

    fn cme(code: u16) -> SendError {
        SendError::from_result(1, 1, FinalResult::Cme(CmeError::from_code(code)), vec![])
    }

    fn error(failure: SendFailure) -> SendError {
        SendError {
            failure,
            accepted: Vec::new(),
        }
    }

    /// A refusal whose driver gave no cause in plain words.
    fn unexplained(by: RefusedBy, class: ErrorClass) -> SendError {
        error(SendFailure::Refused {
            part: 1,
            total: 1,
            refusal: Refusal {
                by,
                code: Some(1),
                reason: "refused, code 1".into(),
                class,
                plain: None,
            },
        })
    }

    const GAVE_UP: Outlook = Outlook::GaveUp { attempts: 5 };

    #[test]
    fn a_number_the_network_does_not_know() {
        check(
            cms(1),
            Outlook::GaveUp { attempts: 1 },
            expect![[
                r#"The phone network says a number it was given is not in use (the patron's number or the gateway's SMS centre number); check the patron's number; if it is right, ask your administrator to check the gateway's SMS centre number. (technical: part 1 of 1 was refused: +CMS ERROR 1 (unassigned (unallocated) number))"#
            ]],
        );
    }

    #[test]
    fn a_passing_network_condition_is_retried_then_given_up() {
        check(
            cms(42),
            Outlook::Retrying,
            expect![[
                r#"The phone network is congested; textgate will try again. (technical: part 1 of 1 was refused: +CMS ERROR 42 (congestion))"#
            ]],
        );
        check(
            cms(42),
            GAVE_UP,
            expect![[
                r#"The phone network is congested; textgate gave up after 5 attempts; send it again later. (technical: part 1 of 1 was refused: +CMS ERROR 42 (congestion))"#
            ]],
        );
        check(
            cms(331),
            GAVE_UP,
            expect![[
                r#"The modem has no connection to the phone network (no service); textgate gave up after 5 attempts; send it again later; if this keeps happening, ask your administrator to check the modem's signal and antenna. (technical: part 1 of 1 was refused: +CMS ERROR 331 (no network service))"#
            ]],
        );
    }

    #[test]
    fn a_sim_that_needs_a_person() {
        check(
            cms(311),
            Outlook::Retrying,
            expect![[
                r#"The SIM card needs its PIN; ask your administrator to enter the PIN; textgate keeps the text and tries again meanwhile. (technical: part 1 of 1 was refused: +CMS ERROR 311 ((U)SIM PIN required))"#
            ]],
        );
        check(
            cme(11),
            GAVE_UP,
            expect![[
                r#"The SIM card needs its PIN; ask your administrator to enter the PIN, then send the text again (textgate gave up after 5 attempts). (technical: part 1 of 1 was refused: +CME ERROR 11 (SIM PIN required))"#
            ]],
        );
        check(
            cme(16),
            GAVE_UP,
            expect![[
                r#"The SIM card refused the PIN or password it was given; ask your administrator to check the PIN in the gateway's settings (entering a wrong PIN again can lock the SIM card), then send the text again (textgate gave up after 5 attempts). (technical: part 1 of 1 was refused: +CME ERROR 16 (incorrect password))"#
            ]],
        );
    }

    #[test]
    fn a_refusal_without_a_known_cause_says_only_who_refused() {
        check(
            unexplained(RefusedBy::Network, ErrorClass::Final),
            Outlook::GaveUp { attempts: 1 },
            expect![[
                r#"The phone network refused the text; sending it again unchanged will not help; ask your administrator if this keeps happening. (technical: part 1 of 1 was refused: refused, code 1)"#
            ]],
        );
        check(
            unexplained(RefusedBy::Device, ErrorClass::Retryable),
            Outlook::Retrying,
            expect![[
                r#"The gateway's modem or phone refused the text; textgate will try again. (technical: part 1 of 1 was refused: refused, code 1)"#
            ]],
        );
        // An unassigned code of the modem's: the class speaks, not a guess.
        check(
            cms(127),
            Outlook::GaveUp { attempts: 1 },
            expect![[
                r#"The phone network refused the text; sending it again unchanged will not help; ask your administrator if this keeps happening. (technical: part 1 of 1 was refused: +CMS ERROR 127 (interworking, unspecified))"#
            ]],
        );
    }

    #[test]
    fn a_final_failure_is_never_said_to_be_retried() {
        let words = cms(1).in_plain_words(Outlook::Retrying);
        assert!(!words.advice.contains("try again"), "{words}");
        let words = cms(304).in_plain_words(Outlook::Retrying);
        assert_eq!(
            words.advice,
            "ask your administrator to check the modem's settings"
        );
    }

    #[test]
    fn a_lost_answer_may_have_gone_out() {
        let timeout = error(SendFailure::Timeout {
            part: 1,
            total: 1,
            timeout: Duration::from_secs(60),
        });
        check(
            timeout.clone(),
            Outlook::Retrying,
            expect![[
                r#"No answer came in time from the gateway's modem or SMS provider, so it is not known whether the text went out; textgate will try again, so the patron may get it twice; if this keeps happening, ask your administrator to check the gateway's modem or SMS provider. (technical: part 1 of 1: no answer within 60s; it may or may not have been sent)"#
            ]],
        );
        check(
            timeout,
            GAVE_UP,
            expect![[
                r#"No answer came in time from the gateway's modem or SMS provider, so it is not known whether the text went out; textgate gave up after 5 attempts; it may still have reached the patron, so send it again only if they did not get it; if this keeps happening, ask your administrator to check the gateway's modem or SMS provider. (technical: part 1 of 1: no answer within 60s; it may or may not have been sent)"#
            ]],
        );
    }

    #[test]
    fn an_unavailable_modem_and_a_partly_sent_text() {
        check(
            error(SendFailure::Unavailable("the device is gone".into())),
            Outlook::Retrying,
            expect![[
                r#"The gateway's modem or SMS provider is not available right now; textgate will try again; if this keeps happening, ask your administrator to check the gateway's modem or SMS provider. (technical: the modem is not available: the device is gone)"#
            ]],
        );
        let second_of_three = SendError {
            failure: SendFailure::Refused {
                part: 3,
                total: 3,
                refusal: cms_refusal(&CmsError::from_code(38)),
            },
            accepted: vec![MessageReference::tpmr(7)],
        };
        check(
            second_of_three,
            GAVE_UP,
            expect![[
                r#"The phone network is out of order (2 of the text's 3 parts went out); textgate gave up after 5 attempts; send it again later. (technical: part 3 of 3 was refused: +CMS ERROR 38 (network out of order))"#
            ]],
        );
        check(
            SendError::stopped(1, 2, vec![MessageReference::tpmr(7)]),
            Outlook::Retrying,
            expect![[
                r#"Sending was interrupted after 1 of the text's 2 parts; textgate will try again. (technical: stopped on request after 1 of 2 part(s))"#
            ]],
        );
    }

    #[test]
    fn the_summary_leaves_the_technical_detail_out() {
        let words = cms(42).in_plain_words(Outlook::Retrying);
        assert_eq!(
            words.summary(),
            "The phone network is congested; textgate will try again."
        );
    }

    /// One failure of every kind, with a part count where the kind has one.
    fn every_failure() -> Vec<SendFailure> {
        let refused = |refusal| SendFailure::Refused {
            part: 2,
            total: 2,
            refusal,
        };
        vec![
            SendFailure::Unavailable("unplugged".into()),
            SendFailure::Empty,
            SendFailure::Invalid {
                part: 1,
                total: 1,
                reason: "bad PDU".into(),
            },
            refused(cms_refusal(&CmsError::from_code(1))),
            refused(cme_refusal(&CmeError::from_code(11))),
            SendFailure::BareError { part: 1, total: 1 },
            SendFailure::Timeout {
                part: 1,
                total: 1,
                timeout: Duration::from_secs(60),
            },
            SendFailure::LinkLost {
                part: 1,
                total: 1,
                reason: "EOF".into(),
            },
            SendFailure::Unexpected {
                part: 1,
                total: 1,
                answer: "NO CARRIER".into(),
            },
            SendFailure::Stopped { sent: 0, total: 1 },
        ]
    }

    #[test]
    fn every_failure_gets_words() {
        for failure in every_failure() {
            // A new variant must be added to `every_failure` (and worded in `cause_of`).
            match &failure {
                SendFailure::Unavailable(_)
                | SendFailure::Empty
                | SendFailure::Invalid { .. }
                | SendFailure::Refused { .. }
                | SendFailure::BareError { .. }
                | SendFailure::Timeout { .. }
                | SendFailure::LinkLost { .. }
                | SendFailure::Unexpected { .. }
                | SendFailure::Stopped { .. } => {}
            }
            for outlook in [Outlook::Retrying, Outlook::GaveUp { attempts: 1 }, GAVE_UP] {
                let words = error(failure.clone()).in_plain_words(outlook);
                assert_well_formed(&words);
            }
        }
    }

    #[test]
    fn every_modem_code_gets_well_formed_words() {
        for code in 0..=1000 {
            for error in [cms(code), cme(code)] {
                for outlook in [Outlook::Retrying, GAVE_UP] {
                    let words = error.in_plain_words(outlook);
                    assert_well_formed(&words);
                    if error.class() == ErrorClass::Final {
                        assert!(!words.advice.contains("try again"), "{words}");
                    }
                }
            }
        }
    }

    #[test]
    fn only_a_known_cause_blames_the_number() {
        for by in [RefusedBy::Network, RefusedBy::Device] {
            for class in [
                ErrorClass::Final,
                ErrorClass::Retryable,
                ErrorClass::NeedsOperator,
            ] {
                for outlook in [Outlook::Retrying, GAVE_UP] {
                    let words = unexplained(by, class).in_plain_words(outlook);
                    assert_well_formed(&words);
                    assert!(!words.summary().contains("number"), "{words}");
                }
            }
        }
    }

    fn assert_well_formed(words: &PlainWords) {
        let first = words.what.chars().next();
        assert!(first.is_some_and(char::is_uppercase), "{words}");
        assert!(!words.advice.is_empty(), "{words}");
        assert!(
            !words.what.ends_with('.') && !words.advice.ends_with('.'),
            "{words}"
        );
        assert!(!words.technical.is_empty(), "{words}");
    }
}
