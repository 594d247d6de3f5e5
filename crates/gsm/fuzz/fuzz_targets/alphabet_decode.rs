//! Any septets under any pair of tables decode to text without panicking, and that text
//! encodes again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use textgate_gsm::alphabet::{decode, encode, Language, Tables};

const LANGUAGES: [Language; 4] = [
    Language::Default,
    Language::Turkish,
    Language::Spanish,
    Language::Portuguese,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, septets)) = data.split_first() else {
        return;
    };
    let tables = Tables {
        locking: LANGUAGES[usize::from(selector & 0x03)],
        single: LANGUAGES[usize::from((selector >> 2) & 0x03)],
    };
    let text = decode(septets, tables);
    assert!(encode(&text, tables).is_ok(), "decoded text {text:?} does not encode");
});
