//! A phone number a member typed on the registration page: validated, normalised to
//! E.164, and masked for display.
//!
//! textgate-core will own phone-number normalisation for the whole gateway; until it has
//! landed this module uses the `phonenumber` crate (libphonenumber's metadata) directly,
//! with the same rule: a number without a `+` is read in the configured default region.
//! Alerts go out as SMS, so only numbers that can receive texts are accepted: mobile
//! numbers, and the regions (such as the US and Canada) where mobile and fixed lines share
//! one numbering plan and cannot be told apart from the digits.

use std::fmt;

use phonenumber::{Mode, PhoneNumber, Type};
use serde::{Deserialize, Serialize};
use textgate_core::{PatronAddress, PhoneError};

/// The region national numbers are read in: the gateway-wide setting from textgate-core.
pub use textgate_core::Region;

/// Why a typed number cannot be registered. The messages are shown to the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Nothing was typed.
    #[error("please enter your mobile phone number")]
    Empty,
    /// Too long to be a phone number (protects the parser from pasted essays).
    #[error("that is too long to be a phone number")]
    TooLong,
    /// Not readable as a phone number (the gateway-wide rules of textgate-core).
    #[error("{0}")]
    Unreadable(PhoneError),
    /// A short code: only reachable inside one network, and not a member's phone.
    #[error("{input} is a short code, not a mobile phone number")]
    ShortCode {
        /// What was typed.
        input: String,
    },
    /// Looks like a number but does not exist in the numbering plan.
    #[error("{input} is not a valid phone number; check the digits and the area code")]
    Invalid {
        /// What was typed.
        input: String,
    },
    /// A real number, but of a kind that cannot receive text messages.
    #[error("{input} is {kind}, which cannot receive text messages; enter a mobile number")]
    CannotReceiveTexts {
        /// What was typed.
        input: String,
        /// Human description of the kind ("a landline number").
        kind: &'static str,
    },
}

/// Longest input the parser is given; E.164 numbers have at most 15 digits, so anything
/// much longer is not a phone number, whatever punctuation it has.
const MAX_INPUT_LEN: usize = 40;

/// A number that passed registration rules, held in E.164 form (`+15551234567`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberNumber {
    e164: String,
    country_code: u16,
}

impl MemberNumber {
    /// Validate and normalise what a member typed, reading national numbers in `region`.
    ///
    /// The text is first read with textgate-core's rules (the same as for a number an
    /// operator types), then held to the stricter standard of an alert subscription: the
    /// number must exist in the numbering plan (libphonenumber's validity check, which
    /// core relaxes for operators) and be of a kind that receives texts.
    pub fn parse(input: &str, region: Region) -> Result<Self, NumberError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(NumberError::Empty);
        }
        if input.chars().count() > MAX_INPUT_LEN {
            return Err(NumberError::TooLong);
        }
        let e164 = match PatronAddress::from_dialled(input, region) {
            Ok(PatronAddress::E164(e164)) => e164,
            Ok(PatronAddress::ShortCode(_)) => {
                return Err(NumberError::ShortCode {
                    input: input.to_owned(),
                })
            }
            Ok(PatronAddress::Alphanumeric(_)) => {
                return Err(NumberError::Invalid {
                    input: input.to_owned(),
                })
            }
            Err(PhoneError::Empty) => return Err(NumberError::Empty),
            Err(e) => return Err(NumberError::Unreadable(e)),
        };
        // Core has normalised it; read its E.164 form back for the strict checks.
        let number = phonenumber::parse(None, &e164).map_err(|_| NumberError::Invalid {
            input: input.to_owned(),
        })?;
        Self::from_phone_number(&number, input)
    }

    fn from_phone_number(number: &PhoneNumber, input: &str) -> Result<Self, NumberError> {
        if !number.is_valid() {
            return Err(NumberError::Invalid {
                input: input.to_owned(),
            });
        }
        let refuse = |kind| NumberError::CannotReceiveTexts {
            input: input.to_owned(),
            kind,
        };
        match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile | Type::PersonalNumber | Type::Voip => {}
            Type::FixedLine => return Err(refuse("a landline number")),
            Type::TollFree => return Err(refuse("a toll-free number")),
            Type::PremiumRate => return Err(refuse("a premium-rate number")),
            Type::SharedCost => return Err(refuse("a shared-cost number")),
            Type::Pager => return Err(refuse("a pager number")),
            Type::Voicemail => return Err(refuse("a voicemail access number")),
            Type::Emergency => return Err(refuse("an emergency services number")),
            Type::ShortCode => return Err(refuse("a short code")),
            Type::Uan
            | Type::StandardRate
            | Type::Carrier
            | Type::NoInternational
            | Type::Unknown => return Err(refuse("not a personal mobile number")),
        }
        Ok(Self {
            e164: number.format().mode(Mode::E164).to_string(),
            country_code: number.code().value(),
        })
    }

    /// The E.164 text, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// The country calling code (1 for North America, 44 for the UK).
    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// The digits after the country code (what carrier e-mail gateways expect).
    pub fn national_digits(&self) -> &str {
        let skip = 1 + self.country_code.to_string().len();
        self.e164.get(skip..).unwrap_or("")
    }

    /// The masked display form, `•••• 4567`.
    pub fn masked(&self) -> String {
        mask(&self.e164)
    }
}

/// Reading a stored E.164 number back (for example a decrypted column). The stored form is
/// trusted to be E.164 only as far as it parses and validates again, so this can fail for a
/// number registered before libphonenumber's metadata changed. To *send* to a registered
/// number, use the decrypted text as it is; to find a member from a sender, use
/// `BlindIndex::index_sender`, which does not re-validate.
impl TryFrom<String> for MemberNumber {
    type Error = NumberError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        if !text.starts_with('+') {
            return Err(NumberError::Invalid { input: text });
        }
        let number = phonenumber::parse(None, &text).map_err(|_| NumberError::Invalid {
            input: text.clone(),
        })?;
        Self::from_phone_number(&number, &text)
    }
}

impl From<MemberNumber> for String {
    fn from(number: MemberNumber) -> Self {
        number.e164
    }
}

/// Debug shows the masked form, so a number never lands in a log by accident.
impl fmt::Debug for MemberNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberNumber({})", self.masked())
    }
}

/// Mask a phone number for display: only its last four digits, as `•••• 4567`.
/// Numbers with four digits or fewer are masked entirely, since four digits would be the
/// whole number.
pub fn mask(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() <= 4 {
        return "••••".to_owned();
    }
    let last_four: String = digits.iter().skip(digits.len() - 4).collect();
    format!("•••• {last_four}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(region: &str, input: &str, expect: Expect) {
        let region: Region = region.parse().unwrap();
        let shown = match MemberNumber::parse(input, region) {
            Ok(n) => format!(
                "{} (country {}, national {}, shown {})",
                n.as_str(),
                n.country_code(),
                n.national_digits(),
                n.masked()
            ),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn typed_numbers() {
        check(
            "US",
            "(201) 555-0123",
            expect!["+12015550123 (country 1, national 2015550123, shown •••• 0123)"],
        );
        check(
            "us",
            "+1 201 555 0123",
            expect!["+12015550123 (country 1, national 2015550123, shown •••• 0123)"],
        );
        check(
            "US",
            "1-201-555-0123",
            expect!["+12015550123 (country 1, national 2015550123, shown •••• 0123)"],
        );
        check("GB", "07700 900123", expect!["error: 07700 900123 is not a valid phone number; check the digits and the area code"]);
        check(
            "GB",
            "07911 123456",
            expect!["+447911123456 (country 44, national 7911123456, shown •••• 3456)"],
        );
        check(
            "US",
            "+44 7911 123456",
            expect!["+447911123456 (country 44, national 7911123456, shown •••• 3456)"],
        );
        check("GB", "020 7946 0018", expect!["error: 020 7946 0018 is a landline number, which cannot receive text messages; enter a mobile number"]);
        check("US", "1-800-555-0199", expect!["error: 1-800-555-0199 is a toll-free number, which cannot receive text messages; enter a mobile number"]);
        check(
            "US",
            "   ",
            expect!["error: please enter your mobile phone number"],
        );
        check(
            "US",
            "call me maybe",
            expect![[r#"error: "call me maybe" is not a phone number: it contains letters"#]],
        );
        check(
            "US",
            "123",
            expect!["error: 123 is a short code, not a mobile phone number"],
        );
        check(
            "US",
            "+1 201 555 0123 0123 0123 0123 0123 0123 0123 0123",
            expect!["error: that is too long to be a phone number"],
        );
    }

    #[test]
    fn short_codes_and_unreadable() {
        check(
            "US",
            "72345",
            expect!["error: 72345 is a short code, not a mobile phone number"],
        );
        check(
            "US",
            "+1 201 555 01",
            expect![[
                r#"error: "+1 201 555 01" is not a possible number for country code +1: 8 digits after the country code, expected 10"#
            ]],
        );
        check(
            "US",
            "201#555#0123",
            expect![[
                r#"error: "201#555#0123" is not a phone number: only digits, spaces, '+', '-', '.', '/' and parentheses are allowed"#
            ]],
        );
    }

    #[test]
    fn stored_form_round_trips_and_debug_is_masked() {
        let n = MemberNumber::parse("201 555 0123", "US".parse().unwrap()).unwrap();
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"+12015550123\"");
        let back: MemberNumber = serde_json::from_str(&json).unwrap();
        assert_eq!(back, n);
        assert_eq!(format!("{n:?}"), "MemberNumber(•••• 0123)");
        assert!(serde_json::from_str::<MemberNumber>("\"2015550123\"").is_err());
    }

    #[test]
    fn masking() {
        assert_eq!(mask("+15551234567"), "•••• 4567");
        assert_eq!(mask("+1 (555) 123-4567"), "•••• 4567");
        assert_eq!(mask("1234"), "••••");
        assert_eq!(mask(""), "••••");
    }
}
