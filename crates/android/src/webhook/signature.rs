//! Webhook signatures.
//!
//! The app signs each webhook request it sends (`modules/webhooks/plugins/
//! PayloadSingingPlugin.kt`, app v1.33.0 and later): it takes the Unix time in whole
//! seconds as a decimal string, computes HMAC-SHA256 keyed with the signing key's UTF-8
//! bytes over the body's bytes followed by that string, and sends the MAC as lower-case
//! hex in `X-Signature` and the time in `X-Timestamp`. The signing key is per phone
//! (Settings → Webhooks → Signing Key; 8 random characters until changed,
//! `WebhooksSettings.kt`), the same in every mode. The docs (features/webhooks) ask for a
//! constant-time comparison and suggest accepting timestamps within ±5 minutes.
//!
//! Checks run cheapest first: the headers' presence and form, then the time window, then
//! the MAC, compared in constant time by [`hmac::Mac::verify_slice`]. A stale or future
//! timestamp is refused before the MAC is computed: it says nothing secret and stops
//! replays early.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::json::shorten;

/// The header carrying the hex HMAC.
pub const SIGNATURE_HEADER: &str = "X-Signature";
/// The header carrying the Unix time, in seconds, that was signed with the body.
pub const TIMESTAMP_HEADER: &str = "X-Timestamp";
/// The window the docs suggest: ±5 minutes around our clock.
pub const RECOMMENDED_TOLERANCE: Duration = Duration::from_secs(5 * 60);

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook request's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Our configuration has no key: accepting anything then would let anyone sign.
    #[error("no webhook signing key is configured")]
    EmptySecret,
    #[error("the X-Timestamp header is missing")]
    MissingTimestamp,
    #[error("the X-Signature header is missing")]
    MissingSignature,
    #[error("the X-Timestamp header {0} is not a Unix time in seconds")]
    MalformedTimestamp(String),
    #[error("the X-Signature header is malformed: {0}")]
    MalformedSignature(String),
    /// Signed longer ago than the tolerance: a replay, or a request that waited in the
    /// app's retry queue (the app signs again on every attempt, so a retry is fresh).
    #[error("the X-Timestamp is {age_secs} s old, more than the {tolerance_secs} s allowed")]
    Stale { age_secs: u64, tolerance_secs: u64 },
    /// Signed further ahead than the tolerance: the phone's clock is wrong, or a forgery.
    #[error(
        "the X-Timestamp is {ahead_secs} s in the future, more than the {tolerance_secs} s allowed"
    )]
    FromFuture {
        ahead_secs: u64,
        tolerance_secs: u64,
    },
    /// The body, the timestamp or the key differ from what was signed.
    #[error("the signature does not match the body and timestamp")]
    Mismatch,
}

/// Checks a webhook request's signature.
///
/// `body` must be the body's bytes exactly as received, before any JSON parsing; the
/// headers are passed as received (`None` when absent). `now` is our clock, `tolerance`
/// how far the phone's clock may be from it either way ([`RECOMMENDED_TOLERANCE`]).
pub fn verify_signature(
    secret: &str,
    body: &[u8],
    timestamp_header: Option<&[u8]>,
    signature_header: Option<&[u8]>,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::EmptySecret);
    }
    let timestamp_header = timestamp_header.ok_or(SignatureError::MissingTimestamp)?;
    let signature_header = signature_header.ok_or(SignatureError::MissingSignature)?;

    let timestamp = timestamp_header.trim_ascii();
    let signed_at = parse_timestamp(timestamp).ok_or_else(|| {
        SignatureError::MalformedTimestamp(shorten(&String::from_utf8_lossy(timestamp_header)))
    })?;
    let signature = parse_signature(signature_header.trim_ascii())?;

    let tolerance_secs = tolerance.as_secs();
    let skew = i128::from(now.timestamp()) - i128::from(signed_at);
    if skew > i128::from(tolerance_secs) {
        return Err(SignatureError::Stale {
            age_secs: u64::try_from(skew).unwrap_or(u64::MAX),
            tolerance_secs,
        });
    }
    if -skew > i128::from(tolerance_secs) {
        return Err(SignatureError::FromFuture {
            ahead_secs: u64::try_from(-skew).unwrap_or(u64::MAX),
            tolerance_secs,
        });
    }

    mac(secret, body, timestamp)
        .verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// The `X-Signature` the app would send for `body` signed at `timestamp` (Unix seconds),
/// for a simulator or a test standing in for the phone.
pub fn sign(secret: &str, body: &[u8], timestamp: i64) -> String {
    hex::encode(
        mac(secret, body, timestamp.to_string().as_bytes())
            .finalize()
            .into_bytes(),
    )
}

fn mac(secret: &str, body: &[u8], timestamp: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length (RFC 2104 hashes a long one), so this cannot fail;
    // the fallback only exists to avoid a panic path.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    mac.update(body);
    mac.update(timestamp);
    mac
}

/// Digits only, as the app writes them: no sign, no fraction, no exponent. The signed
/// string is these exact bytes, so accepting anything looser would verify a different
/// message from the one the phone meant.
fn parse_timestamp(text: &[u8]) -> Option<i64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// 64 hex digits, either case (the app writes lower case; the docs' JavaScript example
/// lower-cases what it receives).
fn parse_signature(text: &[u8]) -> Result<[u8; 32], SignatureError> {
    if text.len() != 64 {
        return Err(SignatureError::MalformedSignature(format!(
            "{} characters, expected 64 hex digits",
            text.len()
        )));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| SignatureError::MalformedSignature("not hexadecimal".to_owned()))?;
    Ok(out)
}
