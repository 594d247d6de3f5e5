//! Confirmation codes: typing a number in is not consent, so a new number receives a
//! six-digit code and gets alerts only after the member types that code back.
//!
//! Only a keyed HMAC of the code is stored ([`PendingConfirmation`]): a million possible
//! codes are no obstacle to anyone holding an unkeyed hash, so the key lives in the
//! daemon's configuration, not the database. The MAC also covers the number the code was
//! sent to, so a code can only confirm the number it was sent to. Comparison is constant
//! time (HMAC verification), a code expires, and a few wrong attempts lock it.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::Mac;
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::number::MemberNumber;
use crate::secret::{keyed_mac, parse_key_bytes, SecretError, KEY_LEN};

const DOMAIN: &[u8] = b"textgate-alerts confirmation-code v1";
/// Number of digits in a code.
pub const CODE_DIGITS: usize = 6;

/// The secret key the code MACs are computed with. Never printed by `Debug`.
#[derive(Clone)]
pub struct ConfirmationKey([u8; KEY_LEN]);

impl ConfirmationKey {
    /// Load the key from configuration text: 64 hex digits or base64 of 32 bytes.
    pub fn from_encoded(text: &str) -> Result<Self, SecretError> {
        parse_key_bytes(text).map(Self)
    }

    /// Use raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    fn digest(&self, number: &MemberNumber, code: &str) -> hmac::Hmac<sha2::Sha256> {
        let mut mac = keyed_mac(&self.0, DOMAIN);
        let number = number.as_str().as_bytes();
        mac.update(&(number.len() as u64).to_be_bytes());
        mac.update(number);
        mac.update(code.as_bytes());
        mac
    }
}

impl fmt::Debug for ConfirmationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmationKey(<redacted>)")
    }
}

/// How long a code lives and how many tries it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmationPolicy {
    /// Time from sending until the code stops working.
    pub lifetime: TimeDelta,
    /// Wrong codes accepted before the code is locked.
    pub max_attempts: u8,
}

impl Default for ConfirmationPolicy {
    /// 15 minutes and 5 attempts: with a million codes, 5 guesses succeed with a
    /// probability of 1 in 200,000, and a new code needs a new text (which is rate-limited).
    fn default() -> Self {
        Self {
            lifetime: TimeDelta::minutes(15),
            max_attempts: 5,
        }
    }
}

/// A freshly generated code, to be put in the text to the member and then forgotten.
/// `Debug` hides the digits so the code does not end up in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfirmationCode(String);

impl ConfirmationCode {
    /// The six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConfirmationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmationCode(<redacted>)")
    }
}

/// What is stored while a number waits for its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingConfirmation {
    /// HMAC of number and code, hex.
    #[serde(with = "hex_digest")]
    digest: [u8; 32],
    /// When the code was sent.
    pub issued_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Wrong codes typed so far.
    pub attempts_used: u8,
    /// Wrong codes allowed.
    pub max_attempts: u8,
}

/// The result of typing a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum VerifyOutcome {
    /// The number is confirmed; delete the pending record and start sending alerts.
    Confirmed,
    /// Not the code. `attempts_left` more tries (0: the next try is refused).
    WrongCode {
        /// Tries left.
        attempts_left: u8,
    },
    /// The code's lifetime is over; send a new one.
    Expired,
    /// Too many wrong codes; send a new one.
    TooManyAttempts,
}

/// Generate a code for `number` from `rng` (a cryptographically secure generator in
/// production). Returns the code to send and the record to store.
pub fn issue(
    key: &ConfirmationKey,
    policy: &ConfirmationPolicy,
    number: &MemberNumber,
    now: DateTime<Utc>,
    rng: &mut (impl RngCore + ?Sized),
) -> (ConfirmationCode, PendingConfirmation) {
    // gen_range rejects out-of-range samples, so every code is equally likely.
    let value: u32 = rng.gen_range(0..1_000_000);
    let code = format!("{value:06}");
    let digest = key.digest(number, &code).finalize().into_bytes().into();
    let pending = PendingConfirmation {
        digest,
        issued_at: now,
        expires_at: now
            .checked_add_signed(policy.lifetime)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
        attempts_used: 0,
        max_attempts: policy.max_attempts,
    };
    (ConfirmationCode(code), pending)
}

impl PendingConfirmation {
    /// Tries left before the code locks.
    pub fn attempts_left(&self) -> u8 {
        self.max_attempts.saturating_sub(self.attempts_used)
    }

    /// Check a code the member typed at `now`. Spaces and hyphens are ignored ("123 456");
    /// anything else that is not six digits counts as a wrong code. Updates the attempt
    /// count, so store the record again afterwards.
    pub fn verify(
        &mut self,
        key: &ConfirmationKey,
        number: &MemberNumber,
        typed: &str,
        now: DateTime<Utc>,
    ) -> VerifyOutcome {
        if self.attempts_left() == 0 {
            return VerifyOutcome::TooManyAttempts;
        }
        if now >= self.expires_at {
            return VerifyOutcome::Expired;
        }
        let typed: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let well_formed = typed.len() == CODE_DIGITS && typed.bytes().all(|b| b.is_ascii_digit());
        // The MAC is computed and compared (in constant time) even for malformed input, so
        // the time taken says nothing about the stored code.
        let matches = key
            .digest(number, &typed)
            .verify_slice(&self.digest)
            .is_ok();
        if well_formed && matches {
            return VerifyOutcome::Confirmed;
        }
        self.attempts_used = self.attempts_used.saturating_add(1);
        VerifyOutcome::WrongCode {
            attempts_left: self.attempts_left(),
        }
    }
}

mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(digest: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(digest))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("a confirmation digest is 64 hexadecimal digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::Region;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn key() -> ConfirmationKey {
        ConfirmationKey::from_bytes(*b"confirmation-key-for-tests-only!")
    }

    fn number(text: &str) -> MemberNumber {
        MemberNumber::parse(text, "US".parse::<Region>().unwrap()).unwrap()
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    fn issued(seed: u64) -> (ConfirmationCode, PendingConfirmation) {
        let mut rng = StdRng::seed_from_u64(seed);
        issue(
            &key(),
            &ConfirmationPolicy::default(),
            &number("201 555 0123"),
            at(0),
            &mut rng,
        )
    }

    fn wrong(code: &ConfirmationCode) -> String {
        let value: u32 = code.as_str().parse().unwrap();
        format!("{:06}", (value + 1) % 1_000_000)
    }

    #[test]
    fn right_code_confirms_with_spaces_allowed() {
        let (code, mut pending) = issued(1);
        assert_eq!(code.as_str().len(), 6);
        let spaced = format!("{} {}", &code.as_str()[..3], &code.as_str()[3..]);
        assert_eq!(
            pending.verify(&key(), &number("201 555 0123"), &spaced, at(14)),
            VerifyOutcome::Confirmed
        );
        assert_eq!(format!("{code:?}"), "ConfirmationCode(<redacted>)");
    }

    #[test]
    fn attempts_count_down_then_lock_even_for_the_right_code() {
        let (code, mut pending) = issued(2);
        let n = number("201 555 0123");
        let outcomes: Vec<VerifyOutcome> = (0..5)
            .map(|_| pending.verify(&key(), &n, &wrong(&code), at(1)))
            .collect();
        assert_eq!(
            outcomes,
            [4, 3, 2, 1, 0].map(|left| VerifyOutcome::WrongCode {
                attempts_left: left
            })
        );
        assert_eq!(
            pending.verify(&key(), &n, code.as_str(), at(1)),
            VerifyOutcome::TooManyAttempts
        );
    }

    #[test]
    fn malformed_input_is_a_wrong_attempt() {
        let (_, mut pending) = issued(3);
        let n = number("201 555 0123");
        for typed in ["", "12345", "1234567", "abcdef", "１２３４５６"] {
            assert!(matches!(
                pending.verify(&key(), &n, typed, at(1)),
                VerifyOutcome::WrongCode { .. }
            ));
        }
        assert_eq!(pending.attempts_left(), 0);
    }

    #[test]
    fn expiry_is_at_the_lifetime() {
        let (code, pending) = issued(4);
        let n = number("201 555 0123");
        assert_eq!(
            pending.clone().verify(&key(), &n, code.as_str(), at(15)),
            VerifyOutcome::Expired
        );
        assert_eq!(
            pending
                .clone()
                .verify(&key(), &n, code.as_str(), at(15) - TimeDelta::seconds(1)),
            VerifyOutcome::Confirmed
        );
    }

    #[test]
    fn code_only_confirms_its_own_number_and_key() {
        let (code, pending) = issued(5);
        assert_eq!(
            pending
                .clone()
                .verify(&key(), &number("201 555 0124"), code.as_str(), at(1)),
            VerifyOutcome::WrongCode { attempts_left: 4 }
        );
        let other = ConfirmationKey::from_bytes(*b"another-key-for-tests-only-12345");
        assert_eq!(
            pending
                .clone()
                .verify(&other, &number("201 555 0123"), code.as_str(), at(1)),
            VerifyOutcome::WrongCode { attempts_left: 4 }
        );
    }

    #[test]
    fn stored_record_round_trips_and_holds_no_code() {
        let (code, pending) = issued(6);
        let json = serde_json::to_string(&pending).unwrap();
        assert!(!json.contains(code.as_str()), "{json}");
        assert_eq!(
            serde_json::from_str::<PendingConfirmation>(&json).unwrap(),
            pending
        );
    }

    #[test]
    fn codes_cover_the_whole_range_with_leading_zeroes() {
        let mut rng = StdRng::seed_from_u64(7);
        let n = number("201 555 0123");
        let codes: Vec<String> = (0..2000)
            .map(|_| {
                issue(&key(), &ConfirmationPolicy::default(), &n, at(0), &mut rng)
                    .0
                     .0
            })
            .collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
        assert!(codes.iter().any(|c| c.starts_with('0')));
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert!(
            distinct.len() > 1990,
            "{} distinct codes of 2000",
            distinct.len()
        );
    }

    proptest! {
        #[test]
        fn only_the_issued_code_confirms(seed: u64, guess in 0u32..1_000_000) {
            let (code, mut pending) = issued(seed);
            let guess = format!("{guess:06}");
            let outcome = pending.verify(&key(), &number("201 555 0123"), &guess, at(1));
            if guess == code.as_str() {
                prop_assert_eq!(outcome, VerifyOutcome::Confirmed);
            } else {
                prop_assert_eq!(outcome, VerifyOutcome::WrongCode { attempts_left: 4 });
            }
        }
    }
}
