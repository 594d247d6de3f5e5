//! The blind index: a keyed HMAC-SHA256 of a member's E.164 number, stored beside the
//! encrypted number so the number can be found without decrypting every row.
//!
//! It answers "which member has this number?" for STOP/START/HELP replies (the modem gives
//! us the sender's number), for refusing a duplicate sign-up, and for tracing abuse of the
//! test button from the test log.
//!
//! Why keyed: phone numbers have very little entropy. Every mobile number in a country
//! fits in a few billion candidates, which a laptop hashes in minutes, so a plain SHA-256
//! column would give every number back to anyone who copies the table. With HMAC the
//! attacker also needs the index key, which lives in the daemon's configuration and never
//! in the database. The key must differ from the encryption keys: the two serve different
//! purposes and are rotated differently (see docs/alerts.md).
//!
//! The input is always a [`MemberNumber`], i.e. already normalised to E.164, so
//! `0555 123 4567` and `+1 555-123-4567` index the same.

use std::fmt;

use hmac::Mac;
use serde::{Deserialize, Serialize};

use crate::number::MemberNumber;
use crate::secret::{keyed_mac, parse_key_bytes, SecretError, KEY_LEN};

/// Domain separation: the same key must never produce the same MAC for another use.
const DOMAIN: &[u8] = b"textgate-alerts blind-index v1";

/// The secret key of the blind index. Its bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct BlindIndexKey([u8; KEY_LEN]);

impl BlindIndexKey {
    /// Load the key from configuration text: 64 hex digits or base64 of 32 bytes.
    pub fn from_encoded(text: &str) -> Result<Self, SecretError> {
        parse_key_bytes(text).map(Self)
    }

    /// Use raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexKey(<redacted>)")
    }
}

/// The index value of one number: 32 bytes, stored as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlindIndexValue([u8; 32]);

impl BlindIndexValue {
    /// The raw bytes (for a `bytea`/`blob` column).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Read a stored value back from its 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, BlindIndexParseError> {
        let bytes = hex::decode(text).map_err(|_| BlindIndexParseError { length: text.len() })?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| BlindIndexParseError { length: text.len() })?;
        Ok(Self(bytes))
    }
}

/// A stored blind index that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a blind index is 64 hexadecimal digits; got {length} characters that are not")]
pub struct BlindIndexParseError {
    length: usize,
}

impl TryFrom<String> for BlindIndexValue {
    type Error = BlindIndexParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::from_hex(&text)
    }
}

impl From<BlindIndexValue> for String {
    fn from(value: BlindIndexValue) -> Self {
        value.to_string()
    }
}

impl fmt::Display for BlindIndexValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BlindIndexValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndexValue({self})")
    }
}

/// Computes blind-index values with one key.
#[derive(Clone, Debug)]
pub struct BlindIndex {
    key: BlindIndexKey,
}

impl BlindIndex {
    /// An index computed with `key`.
    pub fn new(key: BlindIndexKey) -> Self {
        Self { key }
    }

    /// The index value of `number`.
    pub fn index(&self, number: &MemberNumber) -> BlindIndexValue {
        self.index_e164_text(number.as_str())
    }

    /// The index value of a sender the network reported, already in E.164 form (textgate-core's
    /// `PatronAddress::E164`). Only the syntax is checked (`+` and 7 to 15 digits), not the
    /// numbering plan: a STOP must find its member even if libphonenumber's metadata has
    /// since changed its mind about the number. `None` for anything that is not E.164
    /// (short codes, alphanumeric senders), which can never be a registered member.
    pub fn index_sender(&self, e164: &str) -> Option<BlindIndexValue> {
        let digits = e164.strip_prefix('+')?;
        let plausible = (7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        plausible.then(|| self.index_e164_text(e164))
    }

    fn index_e164_text(&self, e164: &str) -> BlindIndexValue {
        let mut mac = keyed_mac(&self.key.0, DOMAIN);
        mac.update(e164.as_bytes());
        BlindIndexValue(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::Region;
    use proptest::prelude::*;

    fn index(key_byte: u8) -> BlindIndex {
        let mut bytes = [key_byte; KEY_LEN];
        bytes[1] = 0x5a;
        BlindIndex::new(BlindIndexKey::from_bytes(bytes))
    }

    fn us(text: &str) -> MemberNumber {
        MemberNumber::parse(text, "US".parse::<Region>().unwrap()).unwrap()
    }

    #[test]
    fn national_and_international_forms_share_an_index() {
        let i = index(1);
        assert_eq!(
            i.index(&us("(201) 555-0123")),
            i.index(&us("+1 201 555 0123"))
        );
        assert_ne!(i.index(&us("201 555 0123")), i.index(&us("201 555 0124")));
    }

    #[test]
    fn a_sender_finds_the_member_who_registered_it() {
        let i = index(1);
        let registered = i.index(&us("(201) 555-0123"));
        assert_eq!(i.index_sender("+12015550123"), Some(registered));
        assert_eq!(i.index_sender("72345"), None);
        assert_eq!(i.index_sender("InternetSMS"), None);
        assert_eq!(i.index_sender("+0123456789"), None);
        assert_eq!(i.index_sender("+1234"), None);
    }

    #[test]
    fn value_is_stable_and_stored_as_hex() {
        let value = index(1).index(&us("+12015550123"));
        let text = value.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(BlindIndexValue::from_hex(&text), Ok(value));
        assert!(BlindIndexValue::from_hex("abc").is_err());
        assert_eq!(
            format!("{:?}", BlindIndexKey::from_bytes([3; 32])),
            "BlindIndexKey(<redacted>)"
        );
        // Not the unkeyed SHA-256 of the number.
        use sha2::Digest;
        let plain: [u8; 32] = sha2::Sha256::digest(b"+12015550123").into();
        assert_ne!(value.as_bytes(), &plain);
    }

    proptest! {
        #[test]
        fn same_number_same_index_different_keys_differ(
            subscriber in 100u32..10_000,
            key_a in 0u8..255,
        ) {
            let number = us(&format!("+1201555{subscriber:04}"));
            let a = index(key_a);
            let b = index(key_a + 1);
            prop_assert_eq!(a.index(&number), a.index(&number.clone()));
            prop_assert_ne!(a.index(&number), b.index(&number));
        }
    }
}
