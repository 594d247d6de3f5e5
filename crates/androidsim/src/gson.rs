//! JSON written as the app's Gson writes it. Two differences from `serde_json` matter to
//! a client: Gson leaves out fields whose value is null (no `serializeNulls()` in
//! `extensions/GsonBuilder.kt`; callers build objects without those keys), and Gson is
//! "HTML safe" by default, writing `<`, `>`, `&`, `=` and `'` as `\u003c`, `\u003e`,
//! `\u0026`, `\u003d`, `\u0027` (and U+2028/U+2029 escaped). So a text `a=b` is the bytes
//! `a\u003db` in a webhook body: a client must decode JSON, never match raw bytes.

use serde_json::Value;

/// `value` as Gson would write it (compact).
pub(crate) fn to_string(value: &Value) -> String {
    let plain = value.to_string();
    let mut out = String::with_capacity(plain.len() + 16);
    // These characters can only occur inside JSON strings (keys or values), never in the
    // structure or in numbers, so replacing them everywhere is exact.
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003d"),
            '\'' => out.push_str("\\u0027"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn html_characters_are_escaped_and_still_decode() {
        let value = json!({"message": "a=b <c> & 'd'"});
        let written = to_string(&value);
        assert_eq!(
            written,
            r#"{"message":"a\u003db \u003cc\u003e \u0026 \u0027d\u0027"}"#
        );
        let back: Value = serde_json::from_str(&written).expect("valid JSON");
        assert_eq!(back, value);
    }
}
