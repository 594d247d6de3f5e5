//! How many SMS parts a text takes, computed simply (as Android's `divideMessage` does in
//! the common case, without national language tables): GSM 03.38 7-bit when every
//! character is in the default alphabet or its extension table (extension characters take
//! two septets), 160 septets in one part or 153 per part when split; otherwise UCS-2, 70
//! UTF-16 units in one part or 67 per part.

/// The GSM 03.38 default alphabet (without the escape itself).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table, reached by an escape: two septets each.
const GSM_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// The number of SMS parts `text` takes (at least 1).
pub fn parts_count(text: &str) -> u32 {
    match gsm_septets(text) {
        Some(septets) => split(septets, 160, 153),
        None => split(text.encode_utf16().count(), 70, 67),
    }
}

fn gsm_septets(text: &str) -> Option<usize> {
    text.chars().try_fold(0usize, |count, c| {
        if GSM_BASIC.contains(c) {
            Some(count + 1)
        } else if GSM_EXTENSION.contains(c) {
            Some(count + 2)
        } else {
            None
        }
    })
}

fn split(units: usize, single: usize, per_part: usize) -> u32 {
    let parts = if units <= single {
        1
    } else {
        units.div_ceil(per_part)
    };
    u32::try_from(parts).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm_limits() {
        assert_eq!(parts_count(""), 1);
        assert_eq!(parts_count(&"a".repeat(160)), 1);
        assert_eq!(parts_count(&"a".repeat(161)), 2);
        assert_eq!(parts_count(&"a".repeat(306)), 2);
        assert_eq!(parts_count(&"a".repeat(307)), 3);
        // Extension characters take two septets.
        assert_eq!(parts_count(&"€".repeat(80)), 1);
        assert_eq!(parts_count(&"€".repeat(81)), 2);
    }

    #[test]
    fn ucs2_limits() {
        assert_eq!(parts_count(&"ж".repeat(70)), 1);
        assert_eq!(parts_count(&"ж".repeat(71)), 2);
        assert_eq!(parts_count(&"ж".repeat(134)), 2);
        assert_eq!(parts_count(&"ж".repeat(135)), 3);
        // An emoji is two UTF-16 units.
        assert_eq!(parts_count(&"😀".repeat(35)), 1);
        assert_eq!(parts_count(&"😀".repeat(36)), 2);
    }
}
