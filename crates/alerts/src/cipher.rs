//! Phone numbers encrypted at rest, with rotating keys.
//!
//! A value is sealed with XChaCha20-Poly1305 under the key ring's *active* key, with a fresh
//! random 24-byte nonce (large enough that random nonces never collide in practice, which
//! is why the extended-nonce variant is used). The key id travels beside the ciphertext so
//! a row can always be opened by the key that sealed it, while older keys stay in the ring
//! as decrypt-only until every row has been re-encrypted ([`FieldCipher::reencrypt`]).
//!
//! The associated data binds each ciphertext to what it is and which row it belongs to
//! ([`FieldContext`]): a ciphertext copied into another member's row, or from the test log
//! into the member table, fails to open instead of silently showing someone else's number.
//!
//! The stored text form is `v1:<key id>:<base64url nonce ‖ ciphertext ‖ tag>`; see
//! [`EncryptedField`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::secret::{parse_key_bytes, SecretError, KEY_LEN};

/// Version tag of the stored form; a future format change gets `v2`.
const FORMAT_VERSION: &str = "v1";
/// Nonce length of XChaCha20-Poly1305.
pub const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Longest key id accepted, so a stored value's prefix stays short.
pub const MAX_KEY_ID_LEN: usize = 32;
/// Domain-separation prefix of the associated data.
const AD_PREFIX: &[u8] = b"textgate-alerts field v1";

/// The name of a key in the ring, stored beside every ciphertext (for example `2026-01`).
///
/// 1 to 32 characters from `A-Z a-z 0-9 . _ -`, so it can never contain the `:` that
/// separates the parts of the stored form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    /// Check and wrap a key id.
    pub fn new(id: &str) -> Result<Self, KeyRingError> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if id.is_empty() || id.len() > MAX_KEY_ID_LEN || !id.chars().all(valid_char) {
            return Err(KeyRingError::BadKeyId { id: id.to_owned() });
        }
        Ok(Self(id.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyId {
    type Error = KeyRingError;
    fn try_from(id: String) -> Result<Self, Self::Error> {
        Self::new(&id)
    }
}

impl From<KeyId> for String {
    fn from(id: KeyId) -> Self {
        id.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 256-bit field-encryption key. Its bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct FieldKey([u8; KEY_LEN]);

impl FieldKey {
    /// Load a key from configuration text: 64 hex digits or base64 of 32 bytes.
    pub fn from_encoded(text: &str) -> Result<Self, SecretError> {
        parse_key_bytes(text).map(Self)
    }

    /// Use raw bytes (for callers that already hold a decoded secret, and tests).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for FieldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldKey(<redacted>)")
    }
}

/// Problems building a key ring from configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// A key id with forbidden characters or length.
    #[error(
        "key id {id:?} is not valid: use 1 to 32 characters from A-Z, a-z, 0-9, '.', '_' and '-'"
    )]
    BadKeyId {
        /// The rejected id.
        id: String,
    },
    /// The same id was given twice.
    #[error("key id {id:?} appears twice in the key ring; every key needs its own id")]
    DuplicateKeyId {
        /// The repeated id.
        id: String,
    },
    /// A key's text could not be decoded.
    #[error("key {id:?}: {source}")]
    BadKey {
        /// Which key.
        id: String,
        /// What is wrong with it.
        source: SecretError,
    },
}

/// One active key that seals new values, plus older keys kept only to open old values.
#[derive(Clone, Debug)]
pub struct KeyRing {
    active: KeyId,
    keys: BTreeMap<KeyId, FieldKey>,
}

impl KeyRing {
    /// A ring whose only key is the active one.
    pub fn new(active_id: KeyId, active_key: FieldKey) -> Self {
        let mut keys = BTreeMap::new();
        keys.insert(active_id.clone(), active_key);
        Self {
            active: active_id,
            keys,
        }
    }

    /// Build a ring from configuration text: the active key, then the retired ones.
    /// Errors name the key id at fault.
    pub fn from_config<'a>(
        active: (&str, &str),
        retired: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, KeyRingError> {
        let load = |(id, text): (&str, &str)| -> Result<(KeyId, FieldKey), KeyRingError> {
            let key_id = KeyId::new(id)?;
            let key = FieldKey::from_encoded(text).map_err(|source| KeyRingError::BadKey {
                id: id.to_owned(),
                source,
            })?;
            Ok((key_id, key))
        };
        let (active_id, active_key) = load(active)?;
        let mut ring = Self::new(active_id, active_key);
        for entry in retired {
            let (id, key) = load(entry)?;
            ring = ring.with_retired(id, key)?;
        }
        Ok(ring)
    }

    /// Add an older, decrypt-only key.
    pub fn with_retired(mut self, id: KeyId, key: FieldKey) -> Result<Self, KeyRingError> {
        if self.keys.contains_key(&id) {
            return Err(KeyRingError::DuplicateKeyId { id: id.0 });
        }
        self.keys.insert(id, key);
        Ok(self)
    }

    /// The id new values are sealed with.
    pub fn active_id(&self) -> &KeyId {
        &self.active
    }

    /// Every id in the ring, active and retired, in sorted order.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }

    fn key(&self, id: &KeyId) -> Option<&FieldKey> {
        self.keys.get(id)
    }
}

/// What an encrypted value is. Part of the associated data, so a value sealed for one
/// purpose cannot be opened as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldPurpose {
    /// A member's registered alert number (record id: the member id).
    MemberNumber,
    /// A number waiting for its confirmation code (record id: the member id).
    PendingNumber,
    /// The number a test was sent to, in the test log (record id: the test id).
    TestLogNumber,
}

impl FieldPurpose {
    /// The stable name used in the associated data. Never change these strings: stored
    /// values would stop opening.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MemberNumber => "member-number",
            Self::PendingNumber => "pending-number",
            Self::TestLogNumber => "test-log-number",
        }
    }
}

/// The row a value belongs to: its purpose and the record's stable id. Becomes the
/// associated data of the AEAD, authenticated but not stored in the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldContext {
    /// What the value is.
    pub purpose: FieldPurpose,
    /// The owning record's id as text (a member id, a test id). Must never change for the
    /// life of the row.
    pub record_id: String,
}

impl FieldContext {
    /// A context for `purpose` in record `record_id`.
    pub fn new(purpose: FieldPurpose, record_id: impl Into<String>) -> Self {
        Self {
            purpose,
            record_id: record_id.into(),
        }
    }

    /// The associated data: prefix, version, key id, purpose and record id, each
    /// length-prefixed so no two different contexts produce the same bytes.
    fn associated_data(&self, key_id: &KeyId) -> Vec<u8> {
        let mut ad = Vec::with_capacity(64 + self.record_id.len());
        for part in [
            AD_PREFIX,
            key_id.as_str().as_bytes(),
            self.purpose.as_str().as_bytes(),
            self.record_id.as_bytes(),
        ] {
            ad.extend_from_slice(&(part.len() as u64).to_be_bytes());
            ad.extend_from_slice(part);
        }
        ad
    }
}

/// An encrypted value as stored: key id, nonce and ciphertext (with its tag).
///
/// Its text form (`Display` / `FromStr`, and serde) is
/// `v1:<key id>:<base64url without padding of nonce ‖ ciphertext ‖ tag>`, one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EncryptedField {
    key_id: KeyId,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl EncryptedField {
    /// The id of the key that sealed this value.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }
}

/// Why a stored value's text could not be read as an [`EncryptedField`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// Not of the form `version:key id:payload`.
    #[error("stored value is not of the form v1:<key id>:<data>")]
    Malformed,
    /// A version this code does not know.
    #[error("stored value has format version {version:?}, this build reads only v1")]
    UnsupportedVersion {
        /// The version found.
        version: String,
    },
    /// The key id part is not a valid key id.
    #[error("stored value has an invalid key id {id:?}")]
    BadKeyId {
        /// The id found.
        id: String,
    },
    /// The payload is not base64url.
    #[error("stored value's data is not base64url")]
    NotBase64,
    /// The payload is shorter than a nonce and a tag.
    #[error(
        "stored value's data is {found} bytes, shorter than the {min} bytes of a nonce and a tag"
    )]
    TooShort {
        /// Bytes present.
        found: usize,
        /// Minimum length.
        min: usize,
    },
}

impl FromStr for EncryptedField {
    type Err = EncodingError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.splitn(3, ':');
        let (Some(version), Some(id), Some(payload)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(EncodingError::Malformed);
        };
        if version != FORMAT_VERSION {
            return Err(EncodingError::UnsupportedVersion {
                version: version.to_owned(),
            });
        }
        let key_id = KeyId::new(id).map_err(|_| EncodingError::BadKeyId { id: id.to_owned() })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| EncodingError::NotBase64)?;
        let min = NONCE_LEN + TAG_LEN;
        if bytes.len() < min {
            return Err(EncodingError::TooShort {
                found: bytes.len(),
                min,
            });
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| EncodingError::Malformed)?;
        Ok(Self {
            key_id,
            nonce,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

impl fmt::Display for EncryptedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload = Vec::with_capacity(NONCE_LEN + self.ciphertext.len());
        payload.extend_from_slice(&self.nonce);
        payload.extend_from_slice(&self.ciphertext);
        write!(
            f,
            "{FORMAT_VERSION}:{}:{}",
            self.key_id,
            URL_SAFE_NO_PAD.encode(payload)
        )
    }
}

impl TryFrom<String> for EncryptedField {
    type Error = EncodingError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<EncryptedField> for String {
    fn from(field: EncryptedField) -> Self {
        field.to_string()
    }
}

/// Why a value could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// The value names a key that is not in the ring (removed too early, or a
    /// configuration from another installation).
    #[error("the value was encrypted with key {key_id:?}, which is not in the key ring; keep retired keys until every value is re-encrypted")]
    UnknownKey {
        /// The key id the value names.
        key_id: String,
    },
    /// Authentication failed: the value was altered, moved to another row or purpose,
    /// or the key with that id is not the key that sealed it.
    #[error("the value under key {key_id:?} failed authentication: it was altered, belongs to another record, or the key with this id is not the one that sealed it")]
    Rejected {
        /// The key id the value names.
        key_id: String,
    },
    /// The value opened but is not UTF-8 text.
    #[error("the decrypted value is not UTF-8 text")]
    NotText,
    /// The cipher refused to seal (only possible for absurdly long plaintexts).
    #[error("the value could not be encrypted")]
    SealFailed,
}

/// Whether [`FieldCipher::reencrypt`] had to do anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reencryption {
    /// Already sealed with the active key; nothing to write back.
    AlreadyCurrent,
    /// Re-sealed with the active key; write this back to the row.
    Rotated(EncryptedField),
}

/// Seals and opens field values with a [`KeyRing`].
#[derive(Clone, Debug)]
pub struct FieldCipher {
    ring: KeyRing,
}

impl FieldCipher {
    /// A cipher over `ring`.
    pub fn new(ring: KeyRing) -> Self {
        Self { ring }
    }

    /// The ring in use.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// Seal `plaintext` for `context` with the active key and a fresh nonce from `rng`
    /// (which must be a cryptographically secure generator in production).
    pub fn encrypt(
        &self,
        plaintext: &str,
        context: &FieldContext,
        rng: &mut (impl RngCore + ?Sized),
    ) -> Result<EncryptedField, CipherError> {
        let key_id = self.ring.active_id().clone();
        let key = self
            .ring
            .key(&key_id)
            .ok_or_else(|| CipherError::UnknownKey {
                key_id: key_id.0.clone(),
            })?;
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let aead = XChaCha20Poly1305::new((&key.0).into());
        let ad = context.associated_data(&key_id);
        let ciphertext = aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &ad,
                },
            )
            .map_err(|_| CipherError::SealFailed)?;
        Ok(EncryptedField {
            key_id,
            nonce,
            ciphertext,
        })
    }

    /// Open a value sealed for `context`.
    pub fn decrypt(
        &self,
        field: &EncryptedField,
        context: &FieldContext,
    ) -> Result<String, CipherError> {
        let key = self
            .ring
            .key(&field.key_id)
            .ok_or_else(|| CipherError::UnknownKey {
                key_id: field.key_id.0.clone(),
            })?;
        let aead = XChaCha20Poly1305::new((&key.0).into());
        let ad = context.associated_data(&field.key_id);
        let plaintext = aead
            .decrypt(
                XNonce::from_slice(&field.nonce),
                Payload {
                    msg: &field.ciphertext,
                    aad: &ad,
                },
            )
            .map_err(|_| CipherError::Rejected {
                key_id: field.key_id.0.clone(),
            })?;
        String::from_utf8(plaintext).map_err(|_| CipherError::NotText)
    }

    /// Whether `field` is sealed with a key other than the active one.
    pub fn needs_rotation(&self, field: &EncryptedField) -> bool {
        field.key_id != *self.ring.active_id()
    }

    /// Re-seal a value under the active key (rotation). Values already under the active
    /// key are left alone, so a rotation job can be re-run safely after an interruption.
    pub fn reencrypt(
        &self,
        field: &EncryptedField,
        context: &FieldContext,
        rng: &mut (impl RngCore + ?Sized),
    ) -> Result<Reencryption, CipherError> {
        if !self.needs_rotation(field) {
            // Still authenticate it, so a rotation pass also finds damaged rows.
            self.decrypt(field, context)?;
            return Ok(Reencryption::AlreadyCurrent);
        }
        let plaintext = self.decrypt(field, context)?;
        self.encrypt(&plaintext, context, rng)
            .map(Reencryption::Rotated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn key(byte: u8) -> FieldKey {
        let mut bytes = [byte; KEY_LEN];
        bytes[0] = byte.wrapping_add(1);
        FieldKey::from_bytes(bytes)
    }

    fn id(text: &str) -> KeyId {
        KeyId::new(text).unwrap()
    }

    fn cipher() -> FieldCipher {
        FieldCipher::new(KeyRing::new(id("k1"), key(1)))
    }

    fn member(record: &str) -> FieldContext {
        FieldContext::new(FieldPurpose::MemberNumber, record)
    }

    #[test]
    fn stored_form_round_trips_and_has_the_documented_shape() {
        let mut rng = StdRng::seed_from_u64(7);
        let sealed = cipher()
            .encrypt("+15551234567", &member("42"), &mut rng)
            .unwrap();
        let text = sealed.to_string();
        assert!(text.starts_with("v1:k1:"), "{text}");
        // 24 nonce + 12 plaintext + 16 tag = 52 bytes = 70 base64url characters.
        assert_eq!(text.len(), "v1:k1:".len() + 70);
        let parsed: EncryptedField = text.parse().unwrap();
        assert_eq!(parsed, sealed);
        let json = serde_json::to_string(&sealed).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        let back: EncryptedField = serde_json::from_str(&json).unwrap();
        assert_eq!(
            cipher().decrypt(&back, &member("42")).unwrap(),
            "+15551234567"
        );
    }

    #[test]
    fn same_plaintext_gets_different_ciphertexts() {
        let mut rng = StdRng::seed_from_u64(1);
        let a = cipher()
            .encrypt("+15551234567", &member("1"), &mut rng)
            .unwrap();
        let b = cipher()
            .encrypt("+15551234567", &member("1"), &mut rng)
            .unwrap();
        assert_ne!(a.to_string(), b.to_string());
    }

    #[test]
    fn value_moved_to_another_row_or_purpose_is_rejected() {
        let mut rng = StdRng::seed_from_u64(2);
        let c = cipher();
        let sealed = c.encrypt("+15551234567", &member("1"), &mut rng).unwrap();
        assert_eq!(
            c.decrypt(&sealed, &member("2")),
            Err(CipherError::Rejected {
                key_id: "k1".into()
            })
        );
        let log = FieldContext::new(FieldPurpose::TestLogNumber, "1");
        assert_eq!(
            c.decrypt(&sealed, &log),
            Err(CipherError::Rejected {
                key_id: "k1".into()
            })
        );
    }

    #[test]
    fn relabelled_key_id_is_rejected_even_when_that_key_exists() {
        let mut rng = StdRng::seed_from_u64(3);
        let ring = KeyRing::new(id("new"), key(2))
            .with_retired(id("old"), key(1))
            .unwrap();
        let c = FieldCipher::new(ring);
        let sealed = c.encrypt("+15551234567", &member("1"), &mut rng).unwrap();
        let relabelled: EncryptedField = sealed
            .to_string()
            .replacen(":new:", ":old:", 1)
            .parse()
            .unwrap();
        assert_eq!(
            c.decrypt(&relabelled, &member("1")),
            Err(CipherError::Rejected {
                key_id: "old".into()
            })
        );
    }

    #[test]
    fn unknown_key_is_a_typed_error() {
        let mut rng = StdRng::seed_from_u64(4);
        let sealed = cipher()
            .encrypt("+15551234567", &member("1"), &mut rng)
            .unwrap();
        let other = FieldCipher::new(KeyRing::new(id("k9"), key(9)));
        let err = other.decrypt(&sealed, &member("1")).unwrap_err();
        assert_eq!(
            err,
            CipherError::UnknownKey {
                key_id: "k1".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "the value was encrypted with key \"k1\", which is not in the key ring; keep retired keys until every value is re-encrypted"
        );
    }

    #[test]
    fn rotation_reseals_old_values_and_leaves_current_ones() {
        let mut rng = StdRng::seed_from_u64(5);
        let old = cipher();
        let sealed_old = old
            .encrypt("+447700900123", &member("9"), &mut rng)
            .unwrap();

        let ring = KeyRing::new(id("k2"), key(2))
            .with_retired(id("k1"), key(1))
            .unwrap();
        let rotated = FieldCipher::new(ring);
        assert!(rotated.needs_rotation(&sealed_old));
        // Old values still open before the rotation pass.
        assert_eq!(
            rotated.decrypt(&sealed_old, &member("9")).unwrap(),
            "+447700900123"
        );

        let Reencryption::Rotated(sealed_new) = rotated
            .reencrypt(&sealed_old, &member("9"), &mut rng)
            .unwrap()
        else {
            panic!("an old value must be rotated");
        };
        assert_eq!(sealed_new.key_id().as_str(), "k2");
        assert!(!rotated.needs_rotation(&sealed_new));
        assert_eq!(
            rotated
                .reencrypt(&sealed_new, &member("9"), &mut rng)
                .unwrap(),
            Reencryption::AlreadyCurrent
        );

        // After the pass the retired key can leave the ring and the new value still opens.
        let only_new = FieldCipher::new(KeyRing::new(id("k2"), key(2)));
        assert_eq!(
            only_new.decrypt(&sealed_new, &member("9")).unwrap(),
            "+447700900123"
        );
        assert!(matches!(
            only_new.decrypt(&sealed_old, &member("9")),
            Err(CipherError::UnknownKey { .. })
        ));
    }

    #[test]
    fn key_ring_configuration_errors_name_the_key() {
        let good = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let ring = KeyRing::from_config(("2026-01", good), [("2025-01", good)]).unwrap();
        assert_eq!(ring.active_id().as_str(), "2026-01");
        assert_eq!(ring.key_ids().count(), 2);

        let shown = |r: Result<KeyRing, KeyRingError>| r.unwrap_err().to_string();
        assert_eq!(
            shown(KeyRing::from_config(("2026-01", good), [("2025-01", "not-a-key!")])),
            "key \"2025-01\": the key is neither hexadecimal nor base64 (10 characters); generate one with `openssl rand -hex 32`"
        );
        assert_eq!(
            shown(KeyRing::from_config(("a:b", good), [])),
            "key id \"a:b\" is not valid: use 1 to 32 characters from A-Z, a-z, 0-9, '.', '_' and '-'"
        );
        assert_eq!(
            shown(KeyRing::from_config(("k", good), [("k", good)])),
            "key id \"k\" appears twice in the key ring; every key needs its own id"
        );
        assert_eq!(format!("{:?}", key(1)), "FieldKey(<redacted>)");
    }

    #[test]
    fn malformed_stored_values_are_typed_errors() {
        let cases = [
            ("", EncodingError::Malformed),
            ("v1:k1", EncodingError::Malformed),
            (
                "v2:k1:AAAA",
                EncodingError::UnsupportedVersion {
                    version: "v2".into(),
                },
            ),
            ("v1:k/1:AAAA", EncodingError::BadKeyId { id: "k/1".into() }),
            ("v1:k1:***", EncodingError::NotBase64),
            ("v1:k1:AAAA", EncodingError::TooShort { found: 3, min: 40 }),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<EncryptedField>(), Err(expected), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn encrypt_then_decrypt_returns_the_plaintext(
            plaintext in "\\PC{0,40}",
            record in "[0-9a-f-]{1,36}",
            seed: u64,
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let c = cipher();
            let sealed = c.encrypt(&plaintext, &member(&record), &mut rng).unwrap();
            let reparsed: EncryptedField = sealed.to_string().parse().unwrap();
            prop_assert_eq!(c.decrypt(&reparsed, &member(&record)).unwrap(), plaintext);
        }

        #[test]
        fn any_flipped_bit_is_rejected(
            plaintext in "[+0-9]{1,16}",
            seed: u64,
            position: prop::sample::Index,
            bit in 0u8..8,
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let c = cipher();
            let mut sealed = c.encrypt(&plaintext, &member("1"), &mut rng).unwrap();
            let total = NONCE_LEN + sealed.ciphertext.len();
            let at = position.index(total);
            if at < NONCE_LEN {
                sealed.nonce[at] ^= 1 << bit;
            } else {
                sealed.ciphertext[at - NONCE_LEN] ^= 1 << bit;
            }
            prop_assert_eq!(
                c.decrypt(&sealed, &member("1")),
                Err(CipherError::Rejected { key_id: "k1".into() })
            );
        }

        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,80}") {
            let _ = text.parse::<EncryptedField>();
        }
    }
}
