//! The compose and confirm pages' rules for an alert text: the counters, the real SMS part
//! count, the part past the safe length (shown in red), and the server-side checks.
//!
//! Lengths are counted in characters as the member sees them (Unicode scalar values), the
//! way the 2007 design counted them; the browser must count the same way
//! (`Array.from(text).length`, not `text.length`, which counts UTF-16 units). Line breaks
//! are normalised to `\n` first, because browsers submit a textarea's line breaks as
//! `\r\n` while their script sees `\n`.
//!
//! The part count is the SMS reality, and comes from the `gsm` crate's [`Segmenter`], the
//! same code that splits the alert when it is sent: GSM 7-bit when every character is in
//! the alphabet (160 septets in one SMS, 153 per part; `€` and `[` cost two), national
//! shift tables only where configured, otherwise UCS-2 (70 UTF-16 units, 67 per part),
//! never splitting an escape sequence or a surrogate pair.

use serde::{Deserialize, Serialize};
use textgate_gsm::alphabet::{septet_cost, Tables};
use textgate_gsm::segment::{Segmenter, TextEncoding};

/// Whether a text that needs UCS-2 may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ucs2Policy {
    /// Accept it (and show the part count it costs).
    #[default]
    Allow,
    /// Refuse it, naming the characters, so alerts stay in the alphabet every phone shows.
    Refuse,
}

/// Configurable lengths of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeLimits {
    /// Characters almost every recipient receives whole; the countdown starts here.
    pub safe_length: usize,
    /// Longest text accepted at all.
    pub hard_limit: usize,
    /// What to do with text outside the GSM 7-bit alphabet.
    pub ucs2: Ucs2Policy,
}

impl Default for ComposeLimits {
    /// 110 and 140, from the original design.
    fn default() -> Self {
        Self {
            safe_length: 110,
            hard_limit: 140,
            ucs2: Ucs2Policy::Allow,
        }
    }
}

/// A limits configuration that makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// Zero-length alerts are impossible.
    #[error("alerts.hard_limit must be at least 1")]
    ZeroHardLimit,
    /// The safe length must not exceed the hard limit.
    #[error("alerts.safe_length ({safe_length}) must not exceed alerts.hard_limit ({hard_limit})")]
    SafeAboveHard {
        /// Configured safe length.
        safe_length: usize,
        /// Configured hard limit.
        hard_limit: usize,
    },
}

impl ComposeLimits {
    /// Check a configured pair of lengths.
    pub fn validate(&self) -> Result<(), LimitsError> {
        if self.hard_limit == 0 {
            return Err(LimitsError::ZeroHardLimit);
        }
        if self.safe_length > self.hard_limit {
            return Err(LimitsError::SafeAboveHard {
                safe_length: self.safe_length,
                hard_limit: self.hard_limit,
            });
        }
        Ok(())
    }
}

/// The SMS encoding a text needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// GSM 7-bit default alphabet (with the extension table).
    Gsm7,
    /// UCS-2 (UTF-16 units on the air).
    Ucs2,
}

/// What the compose page shows under the text area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeReport {
    /// Characters typed.
    pub typed: usize,
    /// Characters left before the safe length (negative once past it).
    pub safe_left: i64,
    /// Characters left before the hard limit (negative once past it).
    pub hard_left: i64,
    /// The encoding the text needs.
    pub encoding: Encoding,
    /// Septets (GSM 7-bit) or UTF-16 units (UCS-2) on the air.
    pub units: usize,
    /// SMS parts the text is sent as (0 for an empty text).
    pub parts: usize,
}

/// Normalise line breaks the way the server stores the text: `\r\n` and lone `\r` become
/// `\n`.
pub fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn signed(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The confirm page's view of a text: the part within the safe length, and the part past
/// it (shown in red, because some recipients may not receive it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafeSplit {
    /// Characters up to the safe length.
    pub within: String,
    /// Characters past it (empty when the text is within the safe length).
    pub beyond: String,
}

/// Why the server refuses an alert text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// Nothing but white space.
    #[error("the message is empty")]
    Empty,
    /// Past the hard limit.
    #[error(
        "the message is {typed} characters; the limit is {limit}, please shorten it by {over}"
    )]
    TooLong {
        /// Characters typed.
        typed: usize,
        /// The hard limit.
        limit: usize,
        /// Characters to remove.
        over: usize,
    },
    /// Characters outside the GSM 7-bit alphabet, refused by configuration.
    #[error("the message contains characters that not every phone can show ({characters}); please replace them")]
    NeedsUcs2 {
        /// The offending characters, each once, in order of appearance.
        characters: String,
    },
}

/// A text that passed the server-side checks, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedAlert {
    /// The text to send.
    pub text: String,
    /// Its counters.
    pub report: ComposeReport,
}

/// The compose rules of one deployment: its limits, and the segmenter its gateways send
/// with (so the part count shown is the part count sent).
#[derive(Debug, Clone, Default)]
pub struct Composer {
    limits: ComposeLimits,
    segmenter: Segmenter,
}

impl Composer {
    /// Rules with `limits`, counting parts with `segmenter`.
    pub fn new(limits: ComposeLimits, segmenter: Segmenter) -> Self {
        Self { limits, segmenter }
    }

    /// The limits in force.
    pub fn limits(&self) -> &ComposeLimits {
        &self.limits
    }

    /// The counters for `text` (normalised first).
    pub fn measure(&self, text: &str) -> ComposeReport {
        let text = normalise(text);
        let typed = text.chars().count();
        let countdown = self.segmenter.countdown(&text);
        let encoding = match countdown.encoding {
            TextEncoding::Gsm7(_) => Encoding::Gsm7,
            TextEncoding::Ucs2 => Encoding::Ucs2,
        };
        ComposeReport {
            typed,
            safe_left: signed(self.limits.safe_length) - signed(typed),
            hard_left: signed(self.limits.hard_limit) - signed(typed),
            encoding,
            units: countdown.units,
            parts: countdown.parts,
        }
    }

    /// Split `text` (normalised first) at the safe length, on a character boundary.
    pub fn split_at_safe_length(&self, text: &str) -> SafeSplit {
        let text = normalise(text);
        let at = text
            .char_indices()
            .nth(self.limits.safe_length)
            .map_or(text.len(), |(i, _)| i);
        let (within, beyond) = text.split_at(at);
        SafeSplit {
            within: within.to_owned(),
            beyond: beyond.to_owned(),
        }
    }

    /// The server-side checks, repeated on the confirm step and again before sending.
    pub fn validate(&self, text: &str) -> Result<ValidatedAlert, ComposeError> {
        let text = normalise(text);
        if text.trim().is_empty() {
            return Err(ComposeError::Empty);
        }
        let report = self.measure(&text);
        if report.typed > self.limits.hard_limit {
            return Err(ComposeError::TooLong {
                typed: report.typed,
                limit: self.limits.hard_limit,
                over: report.typed - self.limits.hard_limit,
            });
        }
        if report.encoding == Encoding::Ucs2 && self.limits.ucs2 == Ucs2Policy::Refuse {
            let mut characters = String::new();
            for c in text
                .chars()
                .filter(|&c| septet_cost(c, Tables::DEFAULT).is_none())
            {
                if !characters.contains(c) {
                    characters.push(c);
                }
            }
            return Err(ComposeError::NeedsUcs2 { characters });
        }
        Ok(ValidatedAlert { text, report })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};
    use proptest::prelude::*;

    fn check(text: &str, expect: Expect) {
        let composer = Composer::default();
        let r = composer.measure(text);
        let split = composer.split_at_safe_length(text);
        let verdict = match composer.validate(text) {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("refused: {e}"),
        };
        let shown = format!(
            "typed {} | safe left {} | hard left {} | {:?} {} units, {} part(s) | red: {:?} | {}",
            r.typed, r.safe_left, r.hard_left, r.encoding, r.units, r.parts, split.beyond, verdict
        );
        expect.assert_eq(&shown);
    }

    #[test]
    fn compose_table() {
        check(
            "",
            expect![[
                r#"typed 0 | safe left 110 | hard left 140 | Gsm7 0 units, 1 part(s) | red: "" | refused: the message is empty"#
            ]],
        );
        check(
            "   \r\n ",
            expect![[
                r#"typed 5 | safe left 105 | hard left 135 | Gsm7 5 units, 1 part(s) | red: "" | refused: the message is empty"#
            ]],
        );
        check(
            "Test of the campus alert system. No action needed.",
            expect![[
                r#"typed 50 | safe left 60 | hard left 90 | Gsm7 50 units, 1 part(s) | red: "" | ok"#
            ]],
        );
        check(
            "Line one\r\nline two",
            expect![[
                r#"typed 17 | safe left 93 | hard left 123 | Gsm7 17 units, 1 part(s) | red: "" | ok"#
            ]],
        );
        check(
            "Cost: 5€ [room 2]",
            expect![[
                r#"typed 17 | safe left 93 | hard left 123 | Gsm7 20 units, 1 part(s) | red: "" | ok"#
            ]],
        );
        check(
            &"a".repeat(110),
            expect![[
                r#"typed 110 | safe left 0 | hard left 30 | Gsm7 110 units, 1 part(s) | red: "" | ok"#
            ]],
        );
        check(
            &"a".repeat(111),
            expect![[
                r#"typed 111 | safe left -1 | hard left 29 | Gsm7 111 units, 1 part(s) | red: "a" | ok"#
            ]],
        );
        check(
            &format!("{}DANGER ZONE", "a".repeat(108)),
            expect![[
                r#"typed 119 | safe left -9 | hard left 21 | Gsm7 119 units, 1 part(s) | red: "NGER ZONE" | ok"#
            ]],
        );
        check(
            &"a".repeat(140),
            expect![[
                r#"typed 140 | safe left -30 | hard left 0 | Gsm7 140 units, 1 part(s) | red: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | ok"#
            ]],
        );
        check(
            &"a".repeat(141),
            expect![[
                r#"typed 141 | safe left -31 | hard left -1 | Gsm7 141 units, 1 part(s) | red: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | refused: the message is 141 characters; the limit is 140, please shorten it by 1"#
            ]],
        );
        check(
            &"€".repeat(80),
            expect![[
                r#"typed 80 | safe left 30 | hard left 60 | Gsm7 160 units, 1 part(s) | red: "" | ok"#
            ]],
        );
        check(
            &"a".repeat(160),
            expect![[
                r#"typed 160 | safe left -50 | hard left -20 | Gsm7 160 units, 1 part(s) | red: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | refused: the message is 160 characters; the limit is 140, please shorten it by 20"#
            ]],
        );
        check(
            &"a".repeat(161),
            expect![[
                r#"typed 161 | safe left -51 | hard left -21 | Gsm7 161 units, 2 part(s) | red: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | refused: the message is 161 characters; the limit is 140, please shorten it by 21"#
            ]],
        );
        check(
            &format!("{}€", "a".repeat(152)),
            expect![[
                r#"typed 153 | safe left -43 | hard left -13 | Gsm7 154 units, 1 part(s) | red: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa€" | refused: the message is 153 characters; the limit is 140, please shorten it by 13"#
            ]],
        );
        check(
            "Évacuez le bâtiment",
            expect![[
                r#"typed 19 | safe left 91 | hard left 121 | Ucs2 19 units, 1 part(s) | red: "" | ok"#
            ]],
        );
        check(
            &"ä".repeat(70),
            expect![[
                r#"typed 70 | safe left 40 | hard left 70 | Gsm7 70 units, 1 part(s) | red: "" | ok"#
            ]],
        );
        check(
            &"ş".repeat(70),
            expect![[
                r#"typed 70 | safe left 40 | hard left 70 | Ucs2 70 units, 1 part(s) | red: "" | ok"#
            ]],
        );
        check(
            &"ş".repeat(71),
            expect![[
                r#"typed 71 | safe left 39 | hard left 69 | Ucs2 71 units, 2 part(s) | red: "" | ok"#
            ]],
        );
        check(
            &format!("{}🚨", "ş".repeat(66)),
            expect![[
                r#"typed 67 | safe left 43 | hard left 73 | Ucs2 68 units, 1 part(s) | red: "" | ok"#
            ]],
        );
        // 134 units would fit two parts of 67, but the emoji's surrogate pair cannot be
        // split after unit 66, so it opens the second part and the text needs three.
        check(
            &format!("{}🚨{}", "ş".repeat(66), "ş".repeat(66)),
            expect![[
                r#"typed 133 | safe left -23 | hard left 7 | Ucs2 134 units, 3 part(s) | red: "şşşşşşşşşşşşşşşşşşşşşşş" | ok"#
            ]],
        );
        check(
            "Shelter in place 🚨",
            expect![[
                r#"typed 18 | safe left 92 | hard left 122 | Ucs2 19 units, 1 part(s) | red: "" | ok"#
            ]],
        );
    }

    #[test]
    fn refusing_ucs2_names_the_characters() {
        let limits = ComposeLimits {
            ucs2: Ucs2Policy::Refuse,
            ..ComposeLimits::default()
        };
        let composer = Composer::new(limits, Segmenter::default());
        assert_eq!(
            composer.validate("Évacuez “now” — now!").unwrap_err().to_string(),
            "the message contains characters that not every phone can show (“”—); please replace them"
        );
        assert!(composer.validate("Évacuez now").is_ok());
    }

    #[test]
    fn limits_are_configurable_and_checked() {
        let limits = ComposeLimits {
            safe_length: 5,
            hard_limit: 8,
            ucs2: Ucs2Policy::Allow,
        };
        limits.validate().unwrap();
        let composer = Composer::new(limits, Segmenter::default());
        let r = composer.measure("abcdefg");
        assert_eq!((r.safe_left, r.hard_left), (-2, 1));
        assert_eq!(composer.split_at_safe_length("abcdefg").beyond, "fg");
        assert!(matches!(
            composer.validate("abcdefghi"),
            Err(ComposeError::TooLong { over: 1, .. })
        ));
        assert_eq!(
            ComposeLimits {
                safe_length: 150,
                ..ComposeLimits::default()
            }
            .validate()
            .unwrap_err()
            .to_string(),
            "alerts.safe_length (150) must not exceed alerts.hard_limit (140)"
        );
    }

    proptest! {
        #[test]
        fn split_rejoins_and_respects_the_safe_length(text in "\\PC{0,200}", safe in 0usize..200) {
            let limits = ComposeLimits { safe_length: safe, hard_limit: 200, ucs2: Ucs2Policy::Allow };
            let split = Composer::new(limits, Segmenter::default()).split_at_safe_length(&text);
            prop_assert_eq!(format!("{}{}", split.within, split.beyond), normalise(&text));
            prop_assert!(split.within.chars().count() <= safe);
            if !split.beyond.is_empty() {
                prop_assert_eq!(split.within.chars().count(), safe);
            }
        }

        /// The count shown is the count the sender will produce.
        #[test]
        fn parts_shown_are_the_parts_sent(text in "[a-z€\\[ şä🚨\r\n]{1,400}") {
            let report = Composer::default().measure(&text);
            let sent = Segmenter::default().segment(&normalise(&text), 0).unwrap();
            prop_assert_eq!(report.parts, sent.parts.len());
            prop_assert_eq!(report.units, sent.parts.iter().map(|p| p.units).sum::<usize>());
        }
    }
}
