//! Privacy handles: on a gateway that hides phone numbers from its librarians, each patron
//! goes by a stable random handle such as `p-7kq2m9xd`, as the localpart of the patron's
//! JID (`p-7kq2m9xd@sms.library.example`), in notices, in desk commands, in transcripts and
//! in exports. The gateway makes one up the first time it shows a patron and the store
//! keeps the mapping; nothing here chooses or remembers, it only says what a handle looks
//! like.
//!
//! The shape is chosen so that a handle can never be read as a number (it starts with a
//! letter), survives the server's case-folding of localparts (lower case only), needs no
//! XEP-0106 escaping, and is easy to read aloud or retype: Crockford's base32 alphabet,
//! which leaves out `i`, `l`, `o` and `u`. Eight symbols are 40 bits, so even a gateway
//! with a million patrons makes up a handle that is taken about once in a million tries
//! (the store refuses a taken one and the gateway tries again).

use std::fmt;

const PREFIX: &str = "p-";
const SYMBOLS: usize = 8;
/// Crockford's base32, lower case.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A patron's privacy handle, e.g. `p-7kq2m9xd`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatronHandle(String);

impl PatronHandle {
    /// The handle spelled by the low 40 bits of `bits` (the caller draws them at random).
    pub fn from_bits(bits: u64) -> PatronHandle {
        let mut handle = String::with_capacity(PREFIX.len() + SYMBOLS);
        handle.push_str(PREFIX);
        for i in (0..SYMBOLS).rev() {
            let symbol = (bits >> (5 * i)) & 0x1f;
            handle.push(char::from(ALPHABET[symbol as usize]));
        }
        PatronHandle(handle)
    }

    /// Reads a handle as a librarian or a client may write it: any case, nothing around
    /// it. `None` for anything else, which is then a number or a sender's name.
    pub fn parse(text: &str) -> Option<PatronHandle> {
        let lower = text.to_ascii_lowercase();
        let symbols = lower.strip_prefix(PREFIX)?;
        let well_formed =
            symbols.len() == SYMBOLS && symbols.bytes().all(|b| ALPHABET.contains(&b));
        well_formed.then_some(PatronHandle(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PatronHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn handles_read_back_in_any_case() {
        let handle = PatronHandle::from_bits(0x12_3456_789a);
        // 00010 01000 11010 00101 01100 11110 00100 11010
        assert_eq!(handle.as_str(), "p-28t5cy4t");
        assert_eq!(
            PatronHandle::parse(&handle.as_str().to_uppercase()),
            Some(handle.clone())
        );
        assert_eq!(PatronHandle::parse(handle.as_str()), Some(handle));
    }

    #[test]
    fn numbers_and_names_are_not_handles() {
        for text in [
            "+15551239999",
            "5551239999",
            "p-1234567",
            "p-123456789",
            "p-1234567i",
            "p-1234567u",
            "q-12345678",
            " p-12345678",
            "LIBRARY",
            "",
        ] {
            assert_eq!(PatronHandle::parse(text), None, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn every_handle_parses_as_itself(bits in any::<u64>()) {
            let handle = PatronHandle::from_bits(bits);
            prop_assert_eq!(handle.as_str().len(), 10);
            prop_assert_eq!(PatronHandle::parse(handle.as_str()), Some(handle.clone()));
            // Only the low 40 bits count.
            prop_assert_eq!(PatronHandle::from_bits(bits & 0xff_ffff_ffff), handle);
        }
    }
}
