//! The GSM 7-bit default alphabet, its extension table and the national language shift
//! tables of 3GPP TS 23.038 §6.2.1 (Turkish, Spanish, Portuguese).
//!
//! This module maps between text and *unpacked* septet values (one `u8` per septet, values
//! 0..=127). Packing septets into octets is [`crate::septet`]'s job.
//!
//! A message is decoded with two tables: the *locking-shift* table is the basic alphabet
//! (one septet per character), the *single-shift* table is reached through the escape
//! septet 0x1B (two septets per character). Without a national language shift element in
//! the user data header both are the default tables.
//!
//! TS 23.038 defines no Spanish locking-shift table. `Tables { locking: Language::Spanish, .. }`
//! behaves exactly like the default locking table (this is also what the specification asks
//! of a receiver that meets a locking-shift language it does not know).

use serde::Serialize;

use crate::error::GsmError;

/// The escape septet that introduces a character from the single-shift table.
pub const ESCAPE: u8 = 0x1B;

/// A national language of TS 23.038 §6.2.1.2.4 that textgate supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// The GSM 7-bit default alphabet and its extension table.
    Default,
    Turkish,
    Spanish,
    Portuguese,
}

impl Language {
    /// The national language identifier carried in the user data header (IEI 0x24/0x25).
    pub fn id(self) -> u8 {
        match self {
            Language::Default => 0,
            Language::Turkish => 1,
            Language::Spanish => 2,
            Language::Portuguese => 3,
        }
    }

    /// The language for an identifier from a user data header; `None` for languages
    /// textgate has no tables for (the caller falls back to the default tables).
    pub fn from_id(id: u8) -> Option<Language> {
        match id {
            0 => Some(Language::Default),
            1 => Some(Language::Turkish),
            2 => Some(Language::Spanish),
            3 => Some(Language::Portuguese),
            _ => None,
        }
    }

    fn locking_table(self) -> &'static [char; 128] {
        match self {
            // No Spanish locking-shift table exists: the default one applies.
            Language::Default | Language::Spanish => &DEFAULT_LOCKING,
            Language::Turkish => &TURKISH_LOCKING,
            Language::Portuguese => &PORTUGUESE_LOCKING,
        }
    }

    fn locking_reverse(self) -> &'static ReverseTable {
        match self {
            Language::Default | Language::Spanish => &DEFAULT_LOCKING_REVERSE,
            Language::Turkish => &TURKISH_LOCKING_REVERSE,
            Language::Portuguese => &PORTUGUESE_LOCKING_REVERSE,
        }
    }

    fn single_reverse(self) -> &'static ReverseTable {
        match self {
            Language::Default => &DEFAULT_SINGLE_REVERSE,
            Language::Turkish => &TURKISH_SINGLE_REVERSE,
            Language::Spanish => &SPANISH_SINGLE_REVERSE,
            Language::Portuguese => &PORTUGUESE_SINGLE_REVERSE,
        }
    }

    fn single_table(self) -> &'static [(u8, char)] {
        match self {
            Language::Default => DEFAULT_SINGLE,
            Language::Turkish => TURKISH_SINGLE,
            Language::Spanish => SPANISH_SINGLE,
            Language::Portuguese => PORTUGUESE_SINGLE,
        }
    }
}

/// Which locking-shift table (the basic alphabet) and which single-shift table (the escape
/// extension) apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Tables {
    pub locking: Language,
    pub single: Language,
}

impl Tables {
    pub const DEFAULT: Tables = Tables {
        locking: Language::Default,
        single: Language::Default,
    };
}

impl Default for Tables {
    fn default() -> Self {
        Tables::DEFAULT
    }
}

/// Marks the position of the escape code in the locking tables; never produced as text.
const ESC: char = '\u{1B}';

// The locking-shift tables, indexed by septet value, 16 per row (TS 23.038 §6.2.1 and
// annex A.3). Rows 0x20..0x3F and the Latin letters are shared by all of them.

#[rustfmt::skip]
const DEFAULT_LOCKING: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ESC, 'Æ', 'æ', 'ß', 'É',
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
];

#[rustfmt::skip]
const TURKISH_LOCKING: [char; 128] = [
    '@', '£', '$', '¥', '€', 'é', 'ù', 'ı', 'ò', 'Ç', '\n', 'Ğ', 'ğ', '\r', 'Å', 'å',
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ESC, 'Ş', 'ş', 'ß', 'É',
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
    'İ', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
    'ç', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
];

#[rustfmt::skip]
const PORTUGUESE_LOCKING: [char; 128] = [
    '@', '£', '$', '¥', 'ê', 'é', 'ú', 'í', 'ó', 'ç', '\n', 'Ô', 'ô', '\r', 'Á', 'á',
    'Δ', '_', 'ª', 'Ç', 'À', '∞', '^', '\\', '€', 'Ó', '|', ESC, 'Â', 'â', 'Ê', 'É',
    ' ', '!', '"', '#', 'º', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
    'Í', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ã', 'Õ', 'Ú', 'Ü', '§',
    '~', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ã', 'õ', '`', 'ü', 'à',
];

// The single-shift tables: (code after the escape, character). Codes not listed are
// undefined; 0x0D and 0x1B are reserved in every table.

#[rustfmt::skip]
const DEFAULT_SINGLE: &[(u8, char)] = &[
    (0x0A, '\u{0C}'), (0x14, '^'), (0x28, '{'), (0x29, '}'), (0x2F, '\\'),
    (0x3C, '['), (0x3D, '~'), (0x3E, ']'), (0x40, '|'), (0x65, '€'),
];

#[rustfmt::skip]
const TURKISH_SINGLE: &[(u8, char)] = &[
    (0x0A, '\u{0C}'), (0x14, '^'), (0x28, '{'), (0x29, '}'), (0x2F, '\\'),
    (0x3C, '['), (0x3D, '~'), (0x3E, ']'), (0x40, '|'),
    (0x47, 'Ğ'), (0x49, 'İ'), (0x53, 'Ş'), (0x63, 'ç'), (0x65, '€'), (0x67, 'ğ'),
    (0x69, 'ı'), (0x73, 'ş'),
];

#[rustfmt::skip]
const SPANISH_SINGLE: &[(u8, char)] = &[
    (0x09, 'ç'), (0x0A, '\u{0C}'), (0x14, '^'), (0x28, '{'), (0x29, '}'), (0x2F, '\\'),
    (0x3C, '['), (0x3D, '~'), (0x3E, ']'), (0x40, '|'),
    (0x41, 'Á'), (0x49, 'Í'), (0x4F, 'Ó'), (0x55, 'Ú'),
    (0x61, 'á'), (0x65, '€'), (0x69, 'í'), (0x6F, 'ó'), (0x75, 'ú'),
];

#[rustfmt::skip]
const PORTUGUESE_SINGLE: &[(u8, char)] = &[
    (0x05, 'ê'), (0x09, 'ç'), (0x0A, '\u{0C}'), (0x0B, 'Ô'), (0x0C, 'ô'), (0x0E, 'Á'),
    (0x0F, 'á'), (0x12, 'Φ'), (0x13, 'Γ'), (0x14, '^'), (0x15, 'Ω'), (0x16, 'Π'),
    (0x17, 'Ψ'), (0x18, 'Σ'), (0x19, 'Θ'), (0x1F, 'Ê'),
    (0x28, '{'), (0x29, '}'), (0x2F, '\\'), (0x3C, '['), (0x3D, '~'), (0x3E, ']'),
    (0x40, '|'), (0x41, 'À'), (0x49, 'Í'), (0x4F, 'Ó'), (0x55, 'Ú'), (0x5B, 'Ã'),
    (0x5C, 'Õ'), (0x61, 'Â'), (0x65, '€'), (0x69, 'í'), (0x6F, 'ó'), (0x75, 'ú'),
    (0x7B, 'ã'), (0x7C, 'õ'), (0x7F, 'â'),
];

// Reverse tables, built at compile time from the tables above, so that encoding a
// character is an array access (code points below 256) or a binary search over a few dozen
// entries (Greek letters, €, Turkish letters ...) instead of a scan of the whole table.

/// Marks "no code" in a reverse table (septet codes are 0..=127).
const NO_CODE: u8 = 0xFF;

/// Room for the characters at or above U+0100 of one table; checked at compile time.
const WIDE_CAPACITY: usize = 32;

/// Character-to-code map of one locking or single-shift table.
struct ReverseTable {
    /// Code for each code point below 256, [`NO_CODE`] if absent.
    narrow: [u8; 256],
    /// The characters at or above U+0100 with their codes, sorted by character in
    /// `wide[..wide_len]`.
    wide: [(char, u8); WIDE_CAPACITY],
    wide_len: usize,
}

impl ReverseTable {
    const EMPTY: ReverseTable = ReverseTable {
        narrow: [NO_CODE; 256],
        wide: [('\0', NO_CODE); WIDE_CAPACITY],
        wide_len: 0,
    };

    /// Records `c` → `code` unless `c` already has a code: the first entry wins, as a
    /// forward scan of the table would find it first.
    const fn insert(mut self, c: char, code: u8) -> ReverseTable {
        let point = c as u32;
        if point < 256 {
            if self.narrow[point as usize] == NO_CODE {
                self.narrow[point as usize] = code;
            }
            return self;
        }
        // Insertion into the sorted prefix; tables are tiny and this runs at compile time.
        let mut i = 0;
        while i < self.wide_len {
            if self.wide[i].0 as u32 == point {
                return self;
            }
            if self.wide[i].0 as u32 > point {
                break;
            }
            i += 1;
        }
        assert!(self.wide_len < WIDE_CAPACITY, "raise WIDE_CAPACITY");
        let mut j = self.wide_len;
        while j > i {
            self.wide[j] = self.wide[j - 1];
            j -= 1;
        }
        self.wide[i] = (c, code);
        self.wide_len += 1;
        self
    }

    /// The reverse of a locking table. The escape position is left out: ESC is not text,
    /// and a U+001B in the input is unrepresentable.
    const fn of_locking(table: &[char; 128]) -> ReverseTable {
        let mut reverse = ReverseTable::EMPTY;
        let mut code = 0;
        while code < 128 {
            if table[code] != ESC {
                reverse = reverse.insert(table[code], code as u8);
            }
            code += 1;
        }
        reverse
    }

    const fn of_single(table: &[(u8, char)]) -> ReverseTable {
        let mut reverse = ReverseTable::EMPTY;
        let mut i = 0;
        while i < table.len() {
            reverse = reverse.insert(table[i].1, table[i].0);
            i += 1;
        }
        reverse
    }

    fn code(&self, c: char) -> Option<u8> {
        let code = match usize::try_from(u32::from(c)) {
            Ok(point) if point < 256 => self.narrow.get(point).copied(),
            _ => {
                let wide = self.wide.get(..self.wide_len)?;
                wide.binary_search_by_key(&c, |&(t, _)| t)
                    .ok()
                    .and_then(|i| wide.get(i))
                    .map(|&(_, code)| code)
            }
        };
        code.filter(|&code| code != NO_CODE)
    }
}

static DEFAULT_LOCKING_REVERSE: ReverseTable = ReverseTable::of_locking(&DEFAULT_LOCKING);
static TURKISH_LOCKING_REVERSE: ReverseTable = ReverseTable::of_locking(&TURKISH_LOCKING);
static PORTUGUESE_LOCKING_REVERSE: ReverseTable = ReverseTable::of_locking(&PORTUGUESE_LOCKING);
static DEFAULT_SINGLE_REVERSE: ReverseTable = ReverseTable::of_single(DEFAULT_SINGLE);
static TURKISH_SINGLE_REVERSE: ReverseTable = ReverseTable::of_single(TURKISH_SINGLE);
static SPANISH_SINGLE_REVERSE: ReverseTable = ReverseTable::of_single(SPANISH_SINGLE);
static PORTUGUESE_SINGLE_REVERSE: ReverseTable = ReverseTable::of_single(PORTUGUESE_SINGLE);

/// How `c` is written under `tables`.
enum Septets {
    One(u8),
    Escaped(u8),
}

fn lookup(c: char, tables: Tables) -> Option<Septets> {
    // The locking table wins: a character present in both costs one septet.
    if let Some(code) = tables.locking.locking_reverse().code(c) {
        return Some(Septets::One(code));
    }
    tables.single.single_reverse().code(c).map(Septets::Escaped)
}

/// Septets `c` costs under `tables`: `Some(1)` in the locking table, `Some(2)` via escape
/// 0x1B + single-shift code, `None` if not representable.
pub fn septet_cost(c: char, tables: Tables) -> Option<usize> {
    match lookup(c, tables)? {
        Septets::One(_) => Some(1),
        Septets::Escaped(_) => Some(2),
    }
}

/// Total septets `text` needs under `tables`, or `None` if any character is not
/// representable.
pub fn text_cost(text: &str, tables: Tables) -> Option<usize> {
    text.chars().map(|c| septet_cost(c, tables)).sum()
}

/// Text to unpacked septet values (escape sequences included). The error names the first
/// unrepresentable character and its position (in characters, from 0).
pub fn encode(text: &str, tables: Tables) -> Result<Vec<u8>, GsmError> {
    let mut out = Vec::with_capacity(text.len());
    encode_each(text, tables, |septet| out.push(septet))?;
    Ok(out)
}

/// Hands each septet of `text` (escape sequences included) to `septet`, in order, without
/// collecting them: what the PDU encoder packs as they come. Fails as [`encode`] does, after
/// handing over the septets before the unrepresentable character.
pub fn encode_each(text: &str, tables: Tables, mut septet: impl FnMut(u8)) -> Result<(), GsmError> {
    for (position, c) in text.chars().enumerate() {
        match lookup(c, tables) {
            Some(Septets::One(code)) => septet(code),
            Some(Septets::Escaped(code)) => {
                septet(ESCAPE);
                septet(code);
            }
            None => {
                return Err(GsmError::UnrepresentableChar {
                    character: c,
                    position,
                })
            }
        }
    }
    Ok(())
}

/// Unpacked septets to text. Never fails. Values above 127 are read modulo 128 (only their
/// low seven bits can have come from a packed message). An escape followed by a code the
/// single-shift table does not define decodes as the locking-table character for that code
/// (TS 23.038 §6.2.1.1); an escape followed by another escape (reserved for a future
/// extension table) decodes as a space, as the specification asks; a trailing lone escape
/// is dropped.
pub fn decode(septets: &[u8], tables: Tables) -> String {
    let locking = tables.locking.locking_table();
    let single = tables.single.single_table();
    let locking_char = |code: u8| locking[usize::from(code & 0x7F)];
    let mut out = String::with_capacity(septets.len());
    let mut iter = septets.iter().map(|&s| s & 0x7F);
    while let Some(code) = iter.next() {
        if code != ESCAPE {
            out.push(locking_char(code));
            continue;
        }
        let Some(next) = iter.next() else {
            break;
        };
        if next == ESCAPE {
            out.push(' ');
        } else if let Some(&(_, c)) = single.iter().find(|&&(code, _)| code == next) {
            out.push(c);
        } else {
            out.push(locking_char(next));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Language; 4] = [
        Language::Default,
        Language::Turkish,
        Language::Spanish,
        Language::Portuguese,
    ];

    #[test]
    fn default_table_landmarks() {
        let d = Tables::DEFAULT;
        assert_eq!(encode("@", d).unwrap(), [0x00]);
        assert_eq!(encode("Δ_", d).unwrap(), [0x10, 0x11]);
        assert_eq!(encode("¡¿äà", d).unwrap(), [0x40, 0x60, 0x7B, 0x7F]);
        assert_eq!(encode("\n\r", d).unwrap(), [0x0A, 0x0D]);
        let ext = [
            ('\u{0C}', 0x0A),
            ('^', 0x14),
            ('{', 0x28),
            ('}', 0x29),
            ('\\', 0x2F),
            ('[', 0x3C),
            ('~', 0x3D),
            (']', 0x3E),
            ('|', 0x40),
            ('€', 0x65),
        ];
        for (c, code) in ext {
            assert_eq!(encode(&c.to_string(), d).unwrap(), [0x1B, code], "{c:?}");
            assert_eq!(septet_cost(c, d), Some(2));
        }
        assert_eq!(septet_cost('a', d), Some(1));
        assert_eq!(septet_cost('ç', d), None);
        assert_eq!(septet_cost('\u{1B}', d), None);
    }

    #[test]
    fn unrepresentable_is_named_with_its_position() {
        let err = encode("ab😀c", Tables::DEFAULT).unwrap_err();
        assert_eq!(
            err,
            GsmError::UnrepresentableChar {
                character: '😀',
                position: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "character '😀' (U+1F600) at position 2 is not in the GSM 7-bit alphabet"
        );
    }

    #[test]
    fn decode_quirks() {
        let d = Tables::DEFAULT;
        // Escape + undefined code: the locking-table character for that code.
        assert_eq!(decode(&[0x1B, 0x41], d), "A");
        assert_eq!(decode(&[0x1B, 0x1B], d), " ");
        assert_eq!(decode(&[0x41, 0x1B], d), "A");
        assert_eq!(decode(&[0xC1], d), "A");
    }

    #[test]
    fn national_tables() {
        let tr = Tables {
            locking: Language::Turkish,
            single: Language::Turkish,
        };
        assert_eq!(encode("ış", tr).unwrap(), [0x07, 0x1D]);
        assert_eq!(encode("€", tr).unwrap(), [0x04]);
        let es = Tables {
            locking: Language::Default,
            single: Language::Spanish,
        };
        assert_eq!(encode("ñá", es).unwrap(), [0x7D, 0x1B, 0x61]);
        // No Spanish locking table: it behaves as the default one.
        let es_locking = Tables {
            locking: Language::Spanish,
            single: Language::Spanish,
        };
        assert_eq!(encode("ñá", es_locking).unwrap(), [0x7D, 0x1B, 0x61]);
        let pt = Tables {
            locking: Language::Portuguese,
            single: Language::Portuguese,
        };
        assert_eq!(encode("ã^Φ", pt).unwrap(), [0x7B, 0x16, 0x1B, 0x12]);
        assert_eq!(decode(&[0x60, 0x7D], pt), "~`");
    }

    /// The compile-time reverse tables answer exactly what a scan of the forward tables
    /// answers (first match wins, escape never matches), for every character of every table
    /// and for a range of characters in none.
    #[test]
    fn reverse_tables_agree_with_a_table_scan() {
        for language in ALL {
            let locking = language.locking_table();
            let single = language.single_table();
            let candidates = (0u32..0x2400)
                .filter_map(char::from_u32)
                .chain(locking.iter().copied())
                .chain(single.iter().map(|&(_, c)| c));
            for c in candidates {
                let scanned = locking
                    .iter()
                    .position(|&t| t == c && t != ESC)
                    .map(|i| i as u8);
                assert_eq!(
                    language.locking_reverse().code(c),
                    scanned,
                    "{language:?} {c:?}"
                );
                let scanned = single.iter().find(|&&(_, t)| t == c).map(|&(code, _)| code);
                assert_eq!(
                    language.single_reverse().code(c),
                    scanned,
                    "{language:?} {c:?}"
                );
            }
        }
    }

    #[test]
    fn every_table_round_trips_every_code() {
        for locking in ALL {
            for single in ALL {
                let tables = Tables { locking, single };
                for code in (0u8..128).filter(|&c| c != ESCAPE) {
                    let text = decode(&[code], tables);
                    let back = encode(&text, tables).unwrap();
                    assert_eq!(decode(&back, tables), text, "{tables:?} {code:#04x}");
                }
                for &(code, c) in single.single_table() {
                    assert_eq!(decode(&[ESCAPE, code], tables), c.to_string());
                    assert!(septet_cost(c, tables).is_some());
                }
            }
        }
    }

    #[test]
    fn language_ids_round_trip() {
        for l in ALL {
            assert_eq!(Language::from_id(l.id()), Some(l));
        }
        assert_eq!(Language::from_id(4), None);
    }
}
