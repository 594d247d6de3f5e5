//! Text that goes into XML. SMS bodies can hold characters XML 1.0 forbids (C0 controls
//! other than tab, line feed and carriage return; U+FFFE and U+FFFF), for instance from a
//! UCS-2 message or a broken phone. Writing one would make the server close the stream, so
//! each is replaced with U+FFFD, which shows the reader that something was there.

/// Whether XML 1.0 allows `c` in character data (surrogates cannot occur in a Rust `char`).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `text` with every character XML forbids replaced by U+FFFD.
pub fn xml_safe(text: &str) -> String {
    text.chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn forbidden_characters_are_replaced() {
        let text = "a\u{0}b\u{1b}c\td\ne\r\u{7f}\u{FFFE}\u{FFFF}😀";
        expect![[r#""a�b�c\td\ne\r\u{7f}��😀""#]].assert_eq(&format!("{:?}", xml_safe(text)));
    }
}
