//! De-duplication keys for received texts.
//!
//! The app's `messageId` for a received text is not an identity. It is
//! `hashCode().toUInt().toString(16)` of the inbox entry (`modules/receiver/
//! ReceiverService.kt`): a 32-bit Java hash of sender, time stamp, subscription and text
//! (`modules/receiver/data/InboxMessage.kt`). Before app v1.66.2 (commit 64ce33b, pull
//! request #393 "include date in message ID") the time stamp was not part of it, so two
//! identical texts from one sender had the same id; since then they differ only if their
//! time stamps do, and 32 bits collide among enough messages anyway. The same text can also
//! reach us more than once: webhook retries, an inbox export (`POST /messages/inbox/export`)
//! that fires the webhooks again, and the app's two receiving paths (broadcast and content
//! observer; issue #288 shows a text delivered twice).
//!
//! A [`DedupKey`] is therefore built from what the text is: sender, the instant in
//! `receivedAt` (normalised to UTC milliseconds, so a phone that changed time zone gives
//! the same key), the text, and the app's id, which adds the SIM subscription the payload
//! does not otherwise carry. It is the SHA-256 of those fields, each preceded by its
//! length, under a versioned domain tag, written as 64 lower-case hex digits: stable across
//! processes and releases, and safe to store as a unique column.
//!
//! What it cannot tell apart: two genuinely distinct texts, same sender, same text, same
//! SIM, with the same message-centre time stamp to the millisecond. The app's own
//! duplicate check cannot either (issue #394: a GPS tracker's identical texts).
//! Including the app's id has one cost: if a later app version derives it differently
//! again, a text exported by the new version would not match the key stored from the old.

use std::fmt;

use sha2::{Digest, Sha256};

use super::ReceivedSms;

/// A stable key that identifies one received text, for refusing duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupKey(String);

impl DedupKey {
    /// The domain tag; a change to the fields hashed must change its version.
    const TAG: &'static [u8] = b"textgate-android/received-sms/v1";

    pub fn for_received(sms: &ReceivedSms) -> DedupKey {
        let millis = sms.received_at.timestamp_millis().to_string();
        let mut hasher = Sha256::new();
        hasher.update(DedupKey::TAG);
        for field in [
            sms.sender.as_bytes(),
            millis.as_bytes(),
            sms.text.as_bytes(),
            sms.message_id.as_bytes(),
        ] {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field);
        }
        DedupKey(hex::encode(hasher.finalize()))
    }

    /// The key as 64 lower-case hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
