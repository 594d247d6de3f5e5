//! CAP's code lists: the closed sets of words the standard allows in `<status>`,
//! `<msgType>`, `<scope>`, `<category>`, `<responseType>`, `<urgency>`, `<severity>` and
//! `<certainty>` (CAP 1.2 §3.2.1 and §3.2.2). Each type writes and reads the exact word.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A word that is not in the CAP code list it was read for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a CAP {kind} value")]
pub struct UnknownToken {
    /// Which list: "status", "msgType", ...
    pub kind: &'static str,
    /// The word that was read.
    pub value: String,
}

macro_rules! cap_tokens {
    (
        $(#[$meta:meta])*
        $name:ident ($kind:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in the order the standard lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word CAP writes for this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownToken;

            /// Reads the exact CAP word; CAP words are case-sensitive.
            fn from_str(text: &str) -> Result<Self, UnknownToken> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownToken { kind: $kind, value: text.to_owned() }),
                }
            }
        }
    };
}

cap_tokens! {
    /// `<status>`: how the message is to be handled.
    Status("status") {
        /// Actionable by all targeted recipients.
        Actual = "Actual",
        /// Actionable only by designated exercise participants.
        Exercise = "Exercise",
        /// For messages that support alert network internal functions.
        System = "System",
        /// Technical testing only; all recipients disregard it.
        Test = "Test",
        /// A preliminary template or draft, not actionable in its current form.
        Draft = "Draft",
    }
}

cap_tokens! {
    /// `<msgType>`: the nature of the message.
    MsgType("msgType") {
        /// Initial information requiring attention by targeted recipients.
        Alert = "Alert",
        /// Updates and supersedes the earlier message(s) in `references`.
        Update = "Update",
        /// Cancels the earlier message(s) in `references`.
        Cancel = "Cancel",
        /// Acknowledges receipt and acceptance of the message(s) in `references`.
        Ack = "Ack",
        /// Rejects the message(s) in `references`.
        Error = "Error",
    }
}

cap_tokens! {
    /// `<scope>`: who the message is meant for.
    Scope("scope") {
        /// For general dissemination to unrestricted audiences.
        Public = "Public",
        /// For users with a known operational requirement (see `restriction`).
        Restricted = "Restricted",
        /// For specified addresses (see `addresses`).
        Private = "Private",
    }
}

cap_tokens! {
    /// `<category>`: the category of the subject event.
    Category("category") {
        /// Geophysical (including landslide).
        Geo = "Geo",
        /// Meteorological (including flood).
        Met = "Met",
        /// General emergency and public safety.
        Safety = "Safety",
        /// Law enforcement, military, homeland and local/private security.
        Security = "Security",
        /// Rescue and recovery.
        Rescue = "Rescue",
        /// Fire suppression and rescue.
        Fire = "Fire",
        /// Medical and public health.
        Health = "Health",
        /// Pollution and other environmental.
        Env = "Env",
        /// Public and private transportation.
        Transport = "Transport",
        /// Utility, telecommunication, other non-transport infrastructure.
        Infra = "Infra",
        /// Chemical, biological, radiological, nuclear or high-yield explosive threat or
        /// attack. Spelled as the standard spells the word.
        #[allow(clippy::upper_case_acronyms)]
        CBRNE = "CBRNE",
        /// Other events.
        Other = "Other",
    }
}

cap_tokens! {
    /// `<responseType>`: the action recommended for the target audience.
    ResponseType("responseType") {
        /// Take shelter in place or per `instruction`.
        Shelter = "Shelter",
        /// Relocate as instructed in `instruction`.
        Evacuate = "Evacuate",
        /// Make preparations per `instruction`.
        Prepare = "Prepare",
        /// Execute a pre-planned activity identified in `instruction`.
        Execute = "Execute",
        /// Avoid the subject event as per `instruction`.
        Avoid = "Avoid",
        /// Attend to information sources as described in `instruction`.
        Monitor = "Monitor",
        /// Evaluate the information in this message (not for public warnings).
        Assess = "Assess",
        /// The subject event no longer poses a threat or concern.
        AllClear = "AllClear",
        /// No action recommended.
        None = "None",
    }
}

cap_tokens! {
    /// `<urgency>`: how soon responsive action should be taken.
    Urgency("urgency") {
        /// Responsive action should be taken immediately.
        Immediate = "Immediate",
        /// Responsive action should be taken soon (within the next hour).
        Expected = "Expected",
        /// Responsive action should be taken in the near future.
        Future = "Future",
        /// Responsive action is no longer required.
        Past = "Past",
        /// Urgency not known.
        Unknown = "Unknown",
    }
}

cap_tokens! {
    /// `<severity>`: how bad the subject event is.
    Severity("severity") {
        /// Extraordinary threat to life or property.
        Extreme = "Extreme",
        /// Significant threat to life or property.
        Severe = "Severe",
        /// Possible threat to life or property.
        Moderate = "Moderate",
        /// Minimal to no known threat to life or property.
        Minor = "Minor",
        /// Severity unknown.
        Unknown = "Unknown",
    }
}

cap_tokens! {
    /// `<certainty>`: how sure the sender is of the subject event.
    Certainty("certainty") {
        /// Determined to have occurred or to be ongoing.
        Observed = "Observed",
        /// Likely (p > ~50%).
        Likely = "Likely",
        /// Possible but not likely (p <= ~50%).
        Possible = "Possible",
        /// Not expected to occur (p ~ 0).
        Unlikely = "Unlikely",
        /// Certainty unknown.
        Unknown = "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(*c));
        }
        for r in ResponseType::ALL {
            assert_eq!(r.to_string().parse::<ResponseType>(), Ok(*r));
        }
        assert_eq!(Category::CBRNE.as_str(), "CBRNE");
        assert_eq!(ResponseType::AllClear.as_str(), "AllClear");
        assert_eq!(MsgType::Ack.as_str(), "Ack");
    }

    #[test]
    fn words_are_case_sensitive() {
        let err = "actual".parse::<Status>().unwrap_err();
        assert_eq!(err.to_string(), "\"actual\" is not a CAP status value");
    }

    #[test]
    fn serde_uses_the_cap_words() {
        assert_eq!(
            serde_json::to_string(&Category::CBRNE).unwrap(),
            "\"CBRNE\""
        );
        let s: Severity = serde_json::from_str("\"Extreme\"").unwrap();
        assert_eq!(s, Severity::Extreme);
    }
}
