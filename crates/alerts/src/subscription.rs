//! Whether a number may receive alerts, and how confirmation codes and the STOP / START /
//! HELP keywords move it between states.
//!
//! A number typed on the web page starts [`SubscriptionState::AwaitingConfirmation`]; the
//! right code makes it [`SubscriptionState::Active`]; STOP from the phone makes it
//! [`SubscriptionState::OptedOut`], and only START from the phone brings it back (texting
//! START from the number proves the member holds it, so no new code is needed). An
//! opted-out number is never sent a confirmation code either: the page tells the member to
//! text START instead, because a code is a text and STOP means no more texts.
//!
//! A keyword from a number nobody registered still gets its answer, and a STOP from it
//! should be remembered (by blind index) so that a later sign-up of that number starts
//! opted out.

use serde::{Deserialize, Serialize};

use crate::keywords::Keyword;

/// Where a registered number stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionState {
    /// Typed in, code sent, not yet confirmed: receives nothing but its code.
    AwaitingConfirmation,
    /// Confirmed: receives alerts (and tests, if the member is a tester).
    Active,
    /// Said STOP: receives nothing until it says START.
    OptedOut,
}

/// What a keyword from a number does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeywordEffect {
    /// The state to store (`None`: the number is not registered and stays so).
    pub state: Option<SubscriptionState>,
    /// Which reply text to send (see `KeywordReplies::reply`).
    pub reply: Keyword,
    /// Whether to remember an opt-out for this number even though nobody registered it.
    pub remember_opt_out: bool,
}

impl SubscriptionState {
    /// Whether alerts and tests go to this number.
    pub fn receives_alerts(self) -> bool {
        self == Self::Active
    }

    /// Whether a confirmation code may be texted to this number.
    pub fn may_send_confirmation_code(self) -> bool {
        self != Self::OptedOut
    }

    /// The state after the member typed the right code on the web page.
    pub fn after_confirmation(self) -> Self {
        match self {
            Self::AwaitingConfirmation | Self::Active => Self::Active,
            // A code cannot have been sent to an opted-out number; if one is typed anyway
            // (sent before the STOP), STOP wins.
            Self::OptedOut => Self::OptedOut,
        }
    }
}

/// What a keyword does to a number in `state` (`None`: nobody registered it).
pub fn on_keyword(state: Option<SubscriptionState>, keyword: Keyword) -> KeywordEffect {
    match (state, keyword) {
        (Some(_), Keyword::Stop) => KeywordEffect {
            state: Some(SubscriptionState::OptedOut),
            reply: Keyword::Stop,
            remember_opt_out: false,
        },
        (None, Keyword::Stop) => KeywordEffect {
            state: None,
            reply: Keyword::Stop,
            remember_opt_out: true,
        },
        (Some(_), Keyword::Start) => KeywordEffect {
            state: Some(SubscriptionState::Active),
            reply: Keyword::Start,
            remember_opt_out: false,
        },
        // START from a stranger subscribes nothing: there is no member to attach it to.
        // Answer with the HELP text, which says where to sign up.
        (None, Keyword::Start) => KeywordEffect {
            state: None,
            reply: Keyword::Help,
            remember_opt_out: false,
        },
        (state, Keyword::Help) => KeywordEffect {
            state,
            reply: Keyword::Help,
            remember_opt_out: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn keyword_transitions() {
        let states = [
            None,
            Some(SubscriptionState::AwaitingConfirmation),
            Some(SubscriptionState::Active),
            Some(SubscriptionState::OptedOut),
        ];
        let mut shown = String::new();
        for state in states {
            for keyword in [Keyword::Stop, Keyword::Start, Keyword::Help] {
                let effect = on_keyword(state, keyword);
                shown.push_str(&format!(
                    "{state:?} + {keyword} -> {:?}, reply {}{}\n",
                    effect.state,
                    effect.reply,
                    if effect.remember_opt_out {
                        ", remember opt-out"
                    } else {
                        ""
                    }
                ));
            }
        }
        expect![[r#"
            None + STOP -> None, reply STOP, remember opt-out
            None + START -> None, reply HELP
            None + HELP -> None, reply HELP
            Some(AwaitingConfirmation) + STOP -> Some(OptedOut), reply STOP
            Some(AwaitingConfirmation) + START -> Some(Active), reply START
            Some(AwaitingConfirmation) + HELP -> Some(AwaitingConfirmation), reply HELP
            Some(Active) + STOP -> Some(OptedOut), reply STOP
            Some(Active) + START -> Some(Active), reply START
            Some(Active) + HELP -> Some(Active), reply HELP
            Some(OptedOut) + STOP -> Some(OptedOut), reply STOP
            Some(OptedOut) + START -> Some(Active), reply START
            Some(OptedOut) + HELP -> Some(OptedOut), reply HELP
        "#]]
        .assert_eq(&shown);
    }

    #[test]
    fn only_active_numbers_receive_alerts_and_stop_beats_a_late_code() {
        use SubscriptionState::*;
        assert!(Active.receives_alerts());
        assert!(!AwaitingConfirmation.receives_alerts());
        assert!(!OptedOut.receives_alerts());
        assert!(!OptedOut.may_send_confirmation_code());
        assert!(AwaitingConfirmation.may_send_confirmation_code());
        assert_eq!(AwaitingConfirmation.after_confirmation(), Active);
        assert_eq!(OptedOut.after_confirmation(), OptedOut);
    }
}
