//! UCS-2 user data, read as UTF-16 big-endian so characters outside the basic
//! multilingual plane (emoji) travel as surrogate pairs, as phones send them.

/// Text to UTF-16 BE octets.
pub fn encode(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Number of UTF-16 code units `text` needs (two octets each).
pub fn unit_count(text: &str) -> usize {
    text.encode_utf16().count()
}

/// UTF-16 BE octets to text. Never fails: an unpaired surrogate and an odd trailing octet
/// each become U+FFFD, because a received message is better shown damaged than lost.
pub fn decode(octets: &[u8]) -> String {
    let chunks = octets.chunks_exact(2);
    let odd = !chunks.remainder().is_empty();
    let units = chunks.map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    let mut text: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    if odd {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogate_pairs() {
        assert_eq!(encode("a😀"), [0x00, 0x61, 0xD8, 0x3D, 0xDE, 0x00]);
        assert_eq!(decode(&[0x00, 0x61, 0xD8, 0x3D, 0xDE, 0x00]), "a😀");
        assert_eq!(unit_count("a😀"), 3);
    }

    #[test]
    fn damaged_input_is_replaced_not_rejected() {
        // A high surrogate cut off from its low half, then an odd octet.
        assert_eq!(decode(&[0xD8, 0x3D, 0x00, 0x61, 0x00]), "\u{FFFD}a\u{FFFD}");
        assert_eq!(decode(&[0xDE, 0x00]), "\u{FFFD}");
    }
}
