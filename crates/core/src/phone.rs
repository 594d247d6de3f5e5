//! Patron addresses: E.164 numbers, short codes and alphanumeric senders.
//!
//! Two doors lead in, with different strictness on purpose:
//! - [`PatronAddress::from_dialled`] is for what an operator types (XEP-0100, the web console).
//!   Garbage gets a clear error, because a text to a wrong number must not be sent.
//! - [`PatronAddress::from_sender`] is for what the network says sent a text (TP-OA). It never
//!   fails: a sender that cannot be normalised is kept as received, because rejecting it would
//!   lose a patron's message.
//!
//! libphonenumber's strict validity check rejects numbers in unassigned ranges, such as the
//! fictional `555` area code. Both doors also accept a number whose *length* is possible for
//! its country, so a typo in the digits is the operator's business, not ours.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id as CountryId;
use phonenumber::Mode;
use serde::{Deserialize, Deserializer};

/// The shortest E.164 number textgate accepts (country code included); Niue and a few other
/// small numbering plans use seven digits.
const E164_MIN_DIGITS: usize = 7;
/// ITU-T E.164 allows at most fifteen digits.
const E164_MAX_DIGITS: usize = 15;
/// Short codes are 3 to 8 digits in the numbering plans we know of.
const SHORT_CODE_DIGITS: std::ops::RangeInclusive<usize> = 3..=8;

/// The default region used to read national numbers ("US", "DE", ...), a CLDR region code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region(CountryId);

impl Region {
    /// The two-letter code, as configured.
    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

impl FromStr for Region {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        CountryId::from_str(&upper)
            .map(Region)
            .map_err(|_| PhoneError::UnknownRegion(s.to_owned()))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Who a patron is, as far as the phone network is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PatronAddress {
    /// An international number in E.164 form: `+` and 7 to 15 digits, no leading zero.
    E164(String),
    /// A short code such as `72345`: 3 to 8 digits, only reachable inside one network.
    ShortCode(String),
    /// An alphanumeric sender (`InternetSMS`), or any sender kept exactly as received because
    /// it could not be normalised. Such senders usually cannot be answered.
    Alphanumeric(String),
}

/// What is wrong with a phone number or region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no phone number given")]
    Empty,
    #[error("unknown region {0:?}: expected a two-letter country code such as \"US\" or \"DE\"")]
    UnknownRegion(String),
    #[error("{input:?} is not a phone number: {reason}")]
    NotANumber { input: String, reason: String },
    #[error(
        "{input:?} is not a possible number for country code +{country_code}: \
         {digits} digits after the country code, expected {expected}"
    )]
    ImpossibleLength {
        input: String,
        country_code: u16,
        digits: usize,
        expected: String,
    },
}

impl PatronAddress {
    /// Reads a number an operator typed: national (read with `region`), international with
    /// `+` or an international prefix (`0049 ...`, `011 ...`), or a short code of 3 to 8 bare
    /// digits. Anything else is an error that says what is wrong.
    pub fn from_dialled(input: &str, region: Region) -> Result<Self, PhoneError> {
        let read = Self::from_dialled_in(input, region);
        // `00` is the international prefix in most of the world, so a number written
        // `0049 …` means Germany to whoever typed it, even in a region (the US, `011`)
        // where the prefix is another. Only a number valid in its country is taken this
        // way: a slip of the finger should not text a stranger abroad.
        match (&read, input.trim().strip_prefix("00")) {
            (Err(_), Some(rest)) if !rest.starts_with('0') => {
                match phonenumber::parse(None, format!("+{rest}")) {
                    Ok(number) if number.is_valid() => Ok(PatronAddress::E164(e164(&number))),
                    _ => read,
                }
            }
            _ => read,
        }
    }

    fn from_dialled_in(input: &str, region: Region) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let not_a_number = |reason: &str| PhoneError::NotANumber {
            input: trimmed.to_owned(),
            reason: reason.to_owned(),
        };
        if trimmed.chars().any(|c| c.is_alphabetic()) {
            return Err(not_a_number("it contains letters"));
        }
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().\u{a0}/".contains(c))
        {
            return Err(not_a_number(
                "only digits, spaces, '+', '-', '.', '/' and parentheses are allowed",
            ));
        }
        // "+49 (0)30 ..." marks the trunk prefix dialled only from inside the country; it is
        // not part of the international number.
        let without_trunk;
        let digits_part = if trimmed.starts_with('+') || trimmed.starts_with("00") {
            without_trunk = trimmed.replacen("(0)", "", 1);
            without_trunk.as_str()
        } else {
            trimmed
        };
        let number = match phonenumber::parse(Some(region.0), digits_part) {
            Ok(number) => number,
            Err(e) => {
                if let Some(code) = short_code(trimmed) {
                    return Ok(PatronAddress::ShortCode(code));
                }
                return Err(not_a_number(&e.to_string()));
            }
        };
        if number.is_valid() {
            return Ok(PatronAddress::E164(e164(&number)));
        }
        // Bare digits short enough to be a short code are one, unless libphonenumber found a
        // valid number in them (handled above).
        if let Some(code) = short_code(trimmed) {
            return Ok(PatronAddress::ShortCode(code));
        }
        check_possible_length(trimmed, &number)?;
        Ok(PatronAddress::E164(e164(&number)))
    }

    /// Reads a sender as the network reported it. Never fails: what cannot be normalised is
    /// kept as received, except that control characters and surrounding spaces are removed
    /// and other spaces (such as U+00A0) become plain spaces, since JID localparts may only
    /// hold the plain one (escaped as `\20`). Callers pass an international number (TP-OA
    /// type of number "international") with its leading `+`.
    pub fn from_sender(raw: &str, region: Region) -> Self {
        let cleaned: String = raw
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        let cleaned = cleaned.trim();
        if let Some(number) = cleaned.strip_prefix('+') {
            if is_e164_digits(number) {
                return PatronAddress::E164(cleaned.to_owned());
            }
            return PatronAddress::Alphanumeric(cleaned.to_owned());
        }
        if let Some(code) = short_code(cleaned) {
            return PatronAddress::ShortCode(code);
        }
        if !cleaned.is_empty() && cleaned.chars().all(|c| c.is_ascii_digit()) {
            if let Ok(number) = phonenumber::parse(Some(region.0), cleaned) {
                if number.is_valid() || check_possible_length(cleaned, &number).is_ok() {
                    return PatronAddress::E164(e164(&number));
                }
            }
        }
        PatronAddress::Alphanumeric(cleaned.to_owned())
    }

    /// The address as text: `+15551234567`, `72345` or `InternetSMS`.
    pub fn as_str(&self) -> &str {
        match self {
            PatronAddress::E164(s)
            | PatronAddress::ShortCode(s)
            | PatronAddress::Alphanumeric(s) => s,
        }
    }

    /// The address as a person reads it: an E.164 number grouped the way its country
    /// writes it (`+1 555-123-4567`, `+49 30 901820`), anything else as it is. Clients show
    /// this as the patron's name (the vCard's `FN`).
    pub fn formatted(&self) -> String {
        match self {
            PatronAddress::E164(number) => phonenumber::parse(None, number)
                .map(|parsed| parsed.format().mode(Mode::International).to_string())
                .unwrap_or_else(|_| number.clone()),
            PatronAddress::ShortCode(s) | PatronAddress::Alphanumeric(s) => s.clone(),
        }
    }

    /// Whether an SMS can be sent to this address (alphanumeric senders cannot be answered).
    pub fn is_reachable(&self) -> bool {
        !matches!(self, PatronAddress::Alphanumeric(_))
    }
}

impl fmt::Display for PatronAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `+` already stripped: 7 to 15 digits, the first not zero (no country code starts with 0).
pub(crate) fn is_e164_digits(digits: &str) -> bool {
    (E164_MIN_DIGITS..=E164_MAX_DIGITS).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Bare digits of short-code length, or `None`.
pub(crate) fn short_code(s: &str) -> Option<String> {
    (SHORT_CODE_DIGITS.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.to_owned())
}

fn e164(number: &phonenumber::PhoneNumber) -> String {
    number.format().mode(Mode::E164).to_string()
}

/// Accepts a number libphonenumber considers invalid (an unassigned range) when its length
/// is one its country uses, which keeps fictional and brand-new ranges usable.
fn check_possible_length(input: &str, number: &phonenumber::PhoneNumber) -> Result<(), PhoneError> {
    let country_code = number.code().value();
    let formatted = e164(number);
    let total_digits = formatted.len().saturating_sub(1);
    let digits = total_digits.saturating_sub(country_code.to_string().len());
    let lengths: Vec<u16> = phonenumber::metadata::DATABASE
        .by_code(&country_code)
        .and_then(|all| all.into_iter().next())
        .map(possible_lengths)
        .unwrap_or_default();
    let fits_e164 = (E164_MIN_DIGITS..=E164_MAX_DIGITS).contains(&total_digits);
    if fits_e164 && lengths.iter().any(|&l| usize::from(l) == digits) {
        return Ok(());
    }
    let expected = if lengths.is_empty() {
        format!("{E164_MIN_DIGITS} to {E164_MAX_DIGITS} digits in all")
    } else {
        lengths
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" or ")
    };
    Err(PhoneError::ImpossibleLength {
        input: input.to_owned(),
        country_code,
        digits,
        expected,
    })
}

/// The national number lengths of every kind of number in a country, sorted. The metadata
/// keeps them per kind (fixed line, mobile, ...); the general descriptor is often empty.
fn possible_lengths(meta: &phonenumber::Metadata) -> Vec<u16> {
    let d = meta.descriptors();
    let kinds = [
        Some(d.general()),
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ];
    let mut lengths: Vec<u16> = kinds
        .into_iter()
        .flatten()
        .flat_map(|desc| desc.possible_length().iter().copied())
        .collect();
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn region(code: &str) -> Region {
        code.parse().unwrap()
    }

    fn check_dialled(input: &str, region_code: &str, expect: Expect) {
        let actual = match PatronAddress::from_dialled(input, region(region_code)) {
            Ok(address) => format!("{address:?}"),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&actual);
    }

    fn check_sender(input: &str, region_code: &str, expect: Expect) {
        let address = PatronAddress::from_sender(input, region(region_code));
        expect.assert_eq(&format!("{address:?}"));
    }

    #[test]
    fn formatted_for_people() {
        let formatted = |a: PatronAddress| a.formatted();
        assert_eq!(
            formatted(PatronAddress::E164("+4930901820".into())),
            "+49 30 901820"
        );
        assert_eq!(
            formatted(PatronAddress::E164("+442079460018".into())),
            "+44 20 7946 0018"
        );
        assert_eq!(formatted(PatronAddress::ShortCode("72345".into())), "72345");
        assert_eq!(
            formatted(PatronAddress::Alphanumeric("InternetSMS".into())),
            "InternetSMS"
        );
    }

    #[test]
    fn dialled_numbers() {
        check_dialled("(555) 123-4567", "US", expect![[r#"E164("+15551234567")"#]]);
        check_dialled("555.123.4567", "US", expect![[r#"E164("+15551234567")"#]]);
        check_dialled(
            "+1 555 123 4567",
            "DE",
            expect![[r#"E164("+15551234567")"#]],
        );
        check_dialled(
            "011 44 20 7946 0018",
            "US",
            expect![[r#"E164("+442079460018")"#]],
        );
        check_dialled("0049 30 901820", "DE", expect![[r#"E164("+4930901820")"#]]);
        check_dialled("0049 30 901820", "US", expect![[r#"E164("+4930901820")"#]]);
        check_dialled(
            "00 555 123 4567",
            "US",
            expect![[
                r#"error: "00 555 123 4567" is not a possible number for country code +1: 12 digits after the country code, expected 10"#
            ]],
        );
        check_dialled("030 901820", "DE", expect![[r#"E164("+4930901820")"#]]);
        check_dialled(
            "+44 7911 123456",
            "US",
            expect![[r#"E164("+447911123456")"#]],
        );
        check_dialled(
            "0151 12345678",
            "DE",
            expect![[r#"E164("+4915112345678")"#]],
        );
        check_dialled(
            "+49 (0)30 901820",
            "US",
            expect![[r#"E164("+4930901820")"#]],
        );
        check_dialled(
            "+1-555-123-4567",
            "GB",
            expect![[r#"E164("+15551234567")"#]],
        );
        check_dialled("07911 123456", "GB", expect![[r#"E164("+447911123456")"#]]);
        check_dialled("72345", "US", expect![[r#"ShortCode("72345")"#]]);
        check_dialled("  ", "US", expect!["error: no phone number given"]);
        check_dialled(
            "call me",
            "US",
            expect![[r#"error: "call me" is not a phone number: it contains letters"#]],
        );
        check_dialled(
            "555#1234",
            "US",
            expect![[
                r#"error: "555#1234" is not a phone number: only digits, spaces, '+', '-', '.', '/' and parentheses are allowed"#
            ]],
        );
        check_dialled(
            "(555) 123-45",
            "US",
            expect![[
                r#"error: "(555) 123-45" is not a possible number for country code +1: 8 digits after the country code, expected 10"#
            ]],
        );
        check_dialled(
            "+1 555 123 4567 8901 234",
            "US",
            expect![[
                r#"error: "+1 555 123 4567 8901 234" is not a possible number for country code +1: 17 digits after the country code, expected 10"#
            ]],
        );
        check_dialled(
            "+",
            "US",
            expect![[r#"error: "+" is not a phone number: not a number"#]],
        );
    }

    #[test]
    fn senders_are_never_rejected() {
        check_sender("+15551234567", "DE", expect![[r#"E164("+15551234567")"#]]);
        check_sender("015112345678", "DE", expect![[r#"E164("+4915112345678")"#]]);
        check_sender("72345", "US", expect![[r#"ShortCode("72345")"#]]);
        check_sender(
            "InternetSMS",
            "US",
            expect![[r#"Alphanumeric("InternetSMS")"#]],
        );
        check_sender(
            " My Bank\u{1b} ",
            "US",
            expect![[r#"Alphanumeric("My Bank")"#]],
        );
        check_sender("+12", "US", expect![[r#"Alphanumeric("+12")"#]]);
        check_sender(
            "My\u{a0}Bank\u{2003}",
            "US",
            expect![[r#"Alphanumeric("My Bank")"#]],
        );
        check_sender(
            "99999999999999999",
            "US",
            expect![[r#"Alphanumeric("99999999999999999")"#]],
        );
        check_sender("", "US", expect![[r#"Alphanumeric("")"#]]);
    }

    proptest::proptest! {
        /// Whatever is typed or received, reading it never panics; what is accepted maps to
        /// a JID and back to the same address.
        #[test]
        fn any_input_is_read_without_panicking(input in "\\PC{0,24}|[0-9 +()./-]{0,24}") {
            let region = region("US");
            let sender = PatronAddress::from_sender(&input, region);
            if let Ok(jid) = sender.to_jid("sms.library.test") {
                let back = PatronAddress::from_jid(jid.as_str(), "sms.library.test");
                proptest::prop_assert_eq!(back, Ok(sender));
            }
            if let Ok(dialled) = PatronAddress::from_dialled(&input, region) {
                proptest::prop_assert!(dialled.is_reachable());
                let jid = dialled.to_jid("sms.library.test").unwrap();
                let back = PatronAddress::from_jid(jid.as_str(), "sms.library.test");
                proptest::prop_assert_eq!(back, Ok(dialled));
            }
        }
    }

    #[test]
    fn regions() {
        assert_eq!(region("de").code(), "DE");
        let err = "XX".parse::<Region>().unwrap_err();
        expect![[
            r#"unknown region "XX": expected a two-letter country code such as "US" or "DE""#
        ]]
        .assert_eq(&err.to_string());
        let parsed: std::collections::BTreeMap<String, Region> =
            toml::from_str("region = \"GB\"").unwrap();
        assert_eq!(parsed["region"].code(), "GB");
    }
}
