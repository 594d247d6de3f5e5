//! Loading 32-byte secrets (cipher keys, blind-index keys, confirmation keys) from the text
//! form configuration gives them: 64 hexadecimal digits or base64 of 32 bytes.
//!
//! Every key type in this crate keeps its bytes private, never prints them in `Debug`,
//! and is built through [`parse_key_bytes`] so that all of them reject the same mistakes
//! with the same clear errors.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length of every secret key in this crate, in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// Why a configured secret could not be used as a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Nothing was configured (an empty string or only whitespace).
    #[error("the key is empty: expected 64 hexadecimal digits or base64 of 32 random bytes")]
    Empty,
    /// The text decoded, but to the wrong number of bytes.
    #[error("the key decodes to {found} bytes as {encoding}, but a key must be exactly 32 bytes (64 hexadecimal digits or 44 base64 characters)")]
    WrongLength {
        /// "hexadecimal" or "base64".
        encoding: &'static str,
        /// Number of bytes it decoded to.
        found: usize,
    },
    /// The text is neither hexadecimal nor base64.
    #[error("the key is neither hexadecimal nor base64 ({length} characters); generate one with `openssl rand -hex 32`")]
    NotHexOrBase64 {
        /// Length of the configured text, to help find a truncated copy/paste.
        length: usize,
    },
    /// Every byte is the same (for example all zeroes): a placeholder, not a key.
    #[error(
        "the key is {KEY_LEN} identical bytes, which looks like a placeholder, not a random key"
    )]
    Placeholder,
}

/// Decode a 32-byte key from hexadecimal (64 digits, either case) or base64 (standard or
/// URL-safe alphabet, padded or not). Surrounding whitespace is ignored, because secrets
/// read from files usually end with a newline.
pub(crate) fn parse_key_bytes(text: &str) -> Result<[u8; KEY_LEN], SecretError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SecretError::Empty);
    }
    let bytes = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|_| SecretError::NotHexOrBase64 { length: text.len() })?
    } else if text.bytes().all(|b| b.is_ascii_hexdigit()) && text.len() % 2 == 0 {
        // All-hex text of another even length: most likely a hex key that was truncated or
        // doubled, so report its hex length rather than a confusing base64 length.
        return Err(SecretError::WrongLength {
            encoding: "hexadecimal",
            found: text.len() / 2,
        });
    } else {
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or(SecretError::NotHexOrBase64 { length: text.len() })?
    };
    let key: [u8; KEY_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| SecretError::WrongLength {
            encoding: if text.len() == 2 * KEY_LEN {
                "hexadecimal"
            } else {
                "base64"
            },
            found: bytes.len(),
        })?;
    if key.iter().all(|&b| b == key[0]) {
        return Err(SecretError::Placeholder);
    }
    Ok(key)
}

/// An HMAC-SHA256 instance keyed with `key`, fed with `domain` first so that no two uses
/// of this crate's MACs can ever produce the same value for the same input.
pub(crate) fn keyed_mac(key: &[u8; KEY_LEN], domain: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of every length, so `new_from_slice` cannot fail; a key shorter
    // than the block is zero-padded by HMAC itself, which is what the fallback does too,
    // so both arms compute the same function.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => {
            let mut block = [0u8; 64];
            block[..KEY_LEN].copy_from_slice(key);
            <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into())
        }
    };
    mac.update(&(domain.len() as u64).to_be_bytes());
    mac.update(domain);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(input: &str, expect: Expect) {
        let shown = match parse_key_bytes(input) {
            Ok(key) => format!("ok {}", hex::encode(&key[..4])),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn key_text_forms() {
        check(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            expect![[r#"ok 00010203"#]],
        );
        check(
            "  000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n",
            expect![[r#"ok 00010203"#]],
        );
        check(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            expect![[r#"ok 00010203"#]],
        );
        check(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            expect![[r#"ok 00010203"#]],
        );
        check(
            "",
            expect![[
                r#"error: the key is empty: expected 64 hexadecimal digits or base64 of 32 random bytes"#
            ]],
        );
        check(
            "000102030405060708090a0b0c0d0e0f",
            expect![[
                r#"error: the key decodes to 16 bytes as hexadecimal, but a key must be exactly 32 bytes (64 hexadecimal digits or 44 base64 characters)"#
            ]],
        );
        check(
            "AAECAwQFBgcICQoLDA0ODw==",
            expect![[
                r#"error: the key decodes to 16 bytes as base64, but a key must be exactly 32 bytes (64 hexadecimal digits or 44 base64 characters)"#
            ]],
        );
        check(
            "not a key!",
            expect![[
                r#"error: the key is neither hexadecimal nor base64 (10 characters); generate one with `openssl rand -hex 32`"#
            ]],
        );
        check(
            "0000000000000000000000000000000000000000000000000000000000000000",
            expect![[
                r#"error: the key is 32 identical bytes, which looks like a placeholder, not a random key"#
            ]],
        );
    }
}
