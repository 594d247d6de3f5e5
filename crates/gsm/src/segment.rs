//! Choosing an encoding for a text and splitting it into the parts of a concatenated SMS
//! (TS 23.040 §9.2.3.24.1, TS 23.038), and the character countdown shown while typing.
//!
//! The [`Segmenter`] picks GSM 7-bit with the default tables when every character is in
//! them, otherwise (only if configured) GSM 7-bit with a national language shift table,
//! otherwise UCS-2. A text that fits one SMS is sent without a header; a longer one is split
//! into parts that each carry a concatenation element, so every part holds less:
//!
//! | encoding | one SMS | per part, 8-bit reference | per part, 16-bit reference |
//! | --- | --- | --- | --- |
//! | GSM 7-bit | 160 septets | 153 | 152 |
//! | UCS-2 | 70 UTF-16 units | 67 | 66 |
//! | 8-bit data | 140 octets | 134 | 133 |
//!
//! All capacities are derived from the header size, so the national language elements
//! (3 octets each) shrink them the same way. A part never ends inside an escape sequence
//! (a character of the extension table costs two septets, both in the same part) or inside
//! a UTF-16 surrogate pair (an emoji costs two units, both in the same part).
//!
//! The concatenation reference is passed in by the caller, who owns the counter (and
//! persists it); this module has no state and no randomness.

use std::cmp::Reverse;

use serde::Serialize;
use thiserror::Error;

use crate::alphabet::{self, Language, Tables};
use crate::pdu::{
    Address, Alphabet, Content, DataCoding, Pdu, Submit, Tpdu, UserData, ValidityPeriod,
};
use crate::udh::{Concatenation, InformationElement, ReferenceWidth, UserDataHeader};

/// Octets of user data in one SMS.
const USER_DATA_OCTETS: usize = 140;

/// The encoding of a text's parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    /// GSM 7-bit with these tables (default tables unless national languages are allowed).
    Gsm7(Tables),
    /// UCS-2 (UTF-16, so characters outside the BMP are surrogate pairs).
    Ucs2,
}

impl TextEncoding {
    /// What the counts of this encoding count.
    pub fn unit(self) -> &'static str {
        match self {
            TextEncoding::Gsm7(_) => "septets",
            TextEncoding::Ucs2 => "UTF-16 units",
        }
    }

    /// The shift elements the header must carry for these tables (none for the defaults).
    fn shift_elements(self) -> Vec<InformationElement> {
        match self {
            TextEncoding::Gsm7(tables) => UserDataHeader::shift_elements(tables),
            TextEncoding::Ucs2 => Vec::new(),
        }
    }

    /// How many units fit in one SMS whose header takes `header_octets` (UDHL included,
    /// 0 without a header).
    fn capacity(self, header_octets: usize) -> usize {
        let octets = USER_DATA_OCTETS.saturating_sub(header_octets);
        match self {
            // The text starts on the septet boundary after the header.
            TextEncoding::Gsm7(_) => octets * 8 / 7,
            TextEncoding::Ucs2 => octets / 2,
        }
    }

    /// Units `c` costs, `None` if it cannot be encoded.
    fn cost(self, c: char) -> Option<usize> {
        match self {
            TextEncoding::Gsm7(tables) => alphabet::septet_cost(c, tables),
            TextEncoding::Ucs2 => Some(c.len_utf16()),
        }
    }
}

/// Segmentation settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmenterConfig {
    /// National languages whose shift tables may be used to keep a text in GSM 7-bit.
    ///
    /// Empty by default: a handset that does not implement TS 23.038's national language
    /// tables ignores the shift elements and shows the wrong letters (a Turkish `ş` comes
    /// out as whatever the default table has at that code), which is worse than the shorter
    /// UCS-2 parts. Enable a language only where the recipients' phones are known to
    /// support it.
    pub national_languages: Vec<Language>,
    /// The concatenation element used when a text needs several parts.
    pub reference_width: ReferenceWidth,
    /// The most parts one text may be split into (at least 1, at most 255).
    pub max_parts: u8,
}

impl Default for SegmenterConfig {
    /// No national tables, 8-bit references (what phones send), at most 10 parts.
    fn default() -> Self {
        SegmenterConfig {
            national_languages: Vec::new(),
            reference_width: ReferenceWidth::Bits8,
            max_parts: 10,
        }
    }
}

/// A text or data that cannot be segmented.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SegmentError {
    /// More parts would be needed than the configuration allows.
    #[error("{what} needs {needed} SMS parts, the limit is {limit}")]
    TooManyParts {
        /// "text" or "data".
        what: &'static str,
        needed: usize,
        limit: u8,
    },
}

/// One part of a segmented text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextPart {
    pub text: String,
    pub encoding: TextEncoding,
    /// Septets (escapes included) or UTF-16 units of `text`.
    pub units: usize,
    /// `None` for a text sent as one SMS.
    pub concatenation: Option<Concatenation>,
}

impl TextPart {
    /// The user data header this part needs (concatenation and shift elements), if any.
    pub fn header(&self) -> Option<UserDataHeader> {
        let mut elements: Vec<InformationElement> = self
            .concatenation
            .iter()
            .map(concatenation_element)
            .collect();
        elements.extend(self.encoding.shift_elements());
        (!elements.is_empty()).then(|| UserDataHeader::new(elements))
    }

    /// The part as TP-DCS and TP-UD for an SMS-SUBMIT.
    pub fn user_data(&self) -> (DataCoding, UserData) {
        self.clone().into_user_data()
    }

    /// [`TextPart::user_data`], moving the text instead of copying it.
    pub fn into_user_data(self) -> (DataCoding, UserData) {
        let alphabet = match self.encoding {
            TextEncoding::Gsm7(_) => Alphabet::Gsm7,
            TextEncoding::Ucs2 => Alphabet::Ucs2,
        };
        (
            DataCoding::general(alphabet, None),
            UserData {
                header: self.header(),
                content: Content::Text(self.text),
            },
        )
    }
}

/// A text split into parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentedText {
    pub encoding: TextEncoding,
    pub parts: Vec<TextPart>,
}

/// One part of segmented 8-bit data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataPart {
    pub data: Vec<u8>,
    pub concatenation: Option<Concatenation>,
}

impl DataPart {
    /// The part as TP-DCS and TP-UD for an SMS-SUBMIT.
    pub fn user_data(&self) -> (DataCoding, UserData) {
        let elements: Vec<InformationElement> = self
            .concatenation
            .iter()
            .map(concatenation_element)
            .collect();
        (
            DataCoding::general(Alphabet::EightBit, None),
            UserData {
                header: (!elements.is_empty()).then(|| UserDataHeader::new(elements)),
                content: Content::Data(self.data.clone()),
            },
        )
    }
}

/// Where a text stands while it is being typed: what the web console's countdown and the
/// XMPP "this reply needs N SMS" notice show.
///
/// A single character outside the current encoding (an emoji, a Cyrillic letter in a
/// Latin text) switches the whole text to UCS-2 and changes every figure at once: a user
/// interface should show the encoding next to the count so the jump makes sense.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Countdown {
    pub encoding: TextEncoding,
    /// Parts the text needs now (may exceed `max_parts`).
    pub parts: usize,
    /// Septets or UTF-16 units of the whole text.
    pub units: usize,
    /// Capacity of the current (last) part, in the same units.
    pub part_capacity: usize,
    /// Units left in the current part before another part is needed. An extension
    /// character takes 2 of them, an emoji 2, so a countdown at 1 may still need a new part
    /// for the next character.
    pub remaining_in_part: usize,
    pub max_parts: u8,
}

impl Countdown {
    pub fn within_limit(&self) -> bool {
        self.parts <= usize::from(self.max_parts)
    }
}

/// Options for the SMS-SUBMIT PDUs of a segmented text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubmitOptions {
    /// The SMSC to use; `None` for the SIM's default.
    pub smsc: Option<Address>,
    pub status_report: StatusReportRequest,
    pub validity: Option<ValidityPeriod>,
}

/// Whether the network should send a status report for each part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusReportRequest {
    #[default]
    None,
    Requested,
}

/// The plan for a text: its encoding, header octets and where each part starts.
struct Plan {
    encoding: TextEncoding,
    /// `(byte offset, units)` of each part.
    parts: Vec<(usize, usize)>,
    units: usize,
    capacity: usize,
}

impl Plan {
    fn remaining_in_last(&self) -> usize {
        let used = self.parts.last().map_or(0, |&(_, units)| units);
        self.capacity.saturating_sub(used)
    }
}

/// Chooses encodings and splits texts and data into SMS parts. See the module
/// documentation.
#[derive(Clone, Debug, Default)]
pub struct Segmenter {
    config: SegmenterConfig,
}

impl Segmenter {
    pub fn new(config: SegmenterConfig) -> Self {
        Segmenter { config }
    }

    pub fn config(&self) -> &SegmenterConfig {
        &self.config
    }

    /// Splits `text` into parts. `reference` is the concatenation reference if several
    /// parts are needed; with 8-bit references only its low 8 bits are sent.
    pub fn segment(&self, text: &str, reference: u16) -> Result<SegmentedText, SegmentError> {
        let plan = self.plan(text);
        let total = self.check_limit("text", plan.parts.len())?;
        let reference = self.wire_reference(reference);
        let ends = plan
            .parts
            .iter()
            .skip(1)
            .map(|&(start, _)| start)
            .chain(std::iter::once(text.len()));
        let parts = plan
            .parts
            .iter()
            .zip(ends)
            .zip(1u8..)
            .map(|((&(start, units), end), sequence)| TextPart {
                text: text.get(start..end).unwrap_or_default().to_owned(),
                encoding: plan.encoding,
                units,
                concatenation: (total > 1).then_some(Concatenation {
                    reference,
                    width: self.config.reference_width,
                    total,
                    sequence,
                }),
            })
            .collect();
        Ok(SegmentedText {
            encoding: plan.encoding,
            parts,
        })
    }

    /// Splits 8-bit data into parts of 140 octets (one SMS) or 134/133 octets.
    pub fn segment_data(&self, data: &[u8], reference: u16) -> Result<Vec<DataPart>, SegmentError> {
        let chunks: Vec<&[u8]> = if data.len() <= USER_DATA_OCTETS {
            vec![data]
        } else {
            let capacity = USER_DATA_OCTETS - self.concatenation_octets() - 1;
            data.chunks(capacity).collect()
        };
        let total = self.check_limit("data", chunks.len())?;
        let reference = self.wire_reference(reference);
        Ok(chunks
            .into_iter()
            .zip(1u8..)
            .map(|(chunk, sequence)| DataPart {
                data: chunk.to_vec(),
                concatenation: (total > 1).then_some(Concatenation {
                    reference,
                    width: self.config.reference_width,
                    total,
                    sequence,
                }),
            })
            .collect())
    }

    /// The countdown for `text` as typed so far.
    pub fn countdown(&self, text: &str) -> Countdown {
        let plan = self.plan(text);
        Countdown {
            encoding: plan.encoding,
            parts: plan.parts.len(),
            units: plan.units,
            part_capacity: plan.capacity,
            remaining_in_part: plan.remaining_in_last(),
            max_parts: self.config.max_parts.max(1),
        }
    }

    /// Segments `text` and builds one SMS-SUBMIT per part for `recipient`.
    pub fn submit_pdus(
        &self,
        text: &str,
        reference: u16,
        recipient: &Address,
        options: &SubmitOptions,
    ) -> Result<Vec<Pdu>, SegmentError> {
        let segmented = self.segment(text, reference)?;
        Ok(segmented.into_submit_pdus(recipient, options))
    }

    fn check_limit(&self, what: &'static str, needed: usize) -> Result<u8, SegmentError> {
        let limit = self.config.max_parts.max(1);
        match u8::try_from(needed) {
            Ok(total) if total <= limit => Ok(total),
            _ => Err(SegmentError::TooManyParts {
                what,
                needed,
                limit,
            }),
        }
    }

    fn wire_reference(&self, reference: u16) -> u16 {
        match self.config.reference_width {
            ReferenceWidth::Bits8 => reference & 0xFF,
            ReferenceWidth::Bits16 => reference,
        }
    }

    /// Octets of the concatenation element (identifier and length included).
    fn concatenation_octets(&self) -> usize {
        match self.config.reference_width {
            ReferenceWidth::Bits8 => 5,
            ReferenceWidth::Bits16 => 6,
        }
    }

    fn plan(&self, text: &str) -> Plan {
        let default = TextEncoding::Gsm7(Tables::DEFAULT);
        if let Some(plan) = self.split_text(default, text) {
            return plan;
        }
        let ucs2 = match self.split_text(TextEncoding::Ucs2, text) {
            Some(plan) => plan,
            // Every character has a UTF-16 form; this arm is never taken.
            None => Plan {
                encoding: TextEncoding::Ucs2,
                parts: vec![(0, 0)],
                units: 0,
                capacity: TextEncoding::Ucs2.capacity(0),
            },
        };
        // One UCS-2 SMS: no national table can do with fewer parts, and UCS-2 wins ties.
        if ucs2.parts.len() == 1 {
            return ucs2;
        }
        let national = self
            .national_tables()
            .filter_map(|tables| self.split_text(TextEncoding::Gsm7(tables), text))
            // The fewest parts; among equals the most room left in the last part (the first
            // in configured order, single shift before locking shift, on a tie).
            .min_by_key(|plan| (plan.parts.len(), Reverse(plan.remaining_in_last())));
        match national {
            Some(national) if national.parts.len() < ucs2.parts.len() => national,
            _ => ucs2,
        }
    }

    /// The table pairs tried for a text the default tables cannot write, in order: for each
    /// configured language, its single shift table, its locking shift table, then both.
    fn national_tables(&self) -> impl Iterator<Item = Tables> + '_ {
        self.config
            .national_languages
            .iter()
            .filter(|&&language| language != Language::Default)
            .flat_map(|&language| {
                [
                    Tables {
                        locking: Language::Default,
                        single: language,
                    },
                    Tables {
                        locking: language,
                        single: Language::Default,
                    },
                    Tables {
                        locking: language,
                        single: language,
                    },
                ]
            })
    }

    /// Splits `text` under `encoding` in one pass over its characters, keeping no cost per
    /// character; `None` when one cannot be encoded. The same plan as [`Segmenter::split`]
    /// of the text's costs (a property test holds them together).
    fn split_text(&self, encoding: TextEncoding, text: &str) -> Option<Plan> {
        let (single_capacity, capacity) = self.capacities(encoding);
        let mut parts = vec![(0, 0)];
        let mut units = 0;
        for (at, c) in text.char_indices() {
            let cost = encoding.cost(c)?;
            units += cost;
            match parts.last_mut() {
                Some((_, used)) if *used + cost <= capacity => *used += cost,
                // The character (escape sequence or surrogate pair) starts the next part
                // whole.
                _ => parts.push((at, cost)),
            }
        }
        Some(if units <= single_capacity {
            Plan {
                encoding,
                parts: vec![(0, units)],
                units,
                capacity: single_capacity,
            }
        } else {
            Plan {
                encoding,
                parts,
                units,
                capacity,
            }
        })
    }

    /// What one SMS holds under `encoding` without concatenation, and what one part of a
    /// concatenated text holds.
    fn capacities(&self, encoding: TextEncoding) -> (usize, usize) {
        let shift_octets: usize = encoding
            .shift_elements()
            .iter()
            .map(InformationElement::encoded_len)
            .sum();
        let single_header = if shift_octets == 0 {
            0
        } else {
            1 + shift_octets
        };
        let header_octets = 1 + self.concatenation_octets() + shift_octets;
        (
            encoding.capacity(single_header),
            encoding.capacity(header_octets),
        )
    }
}

impl SegmentedText {
    /// One SMS-SUBMIT per part for `recipient`, in part order.
    pub fn submit_pdus(&self, recipient: &Address, options: &SubmitOptions) -> Vec<Pdu> {
        self.clone().into_submit_pdus(recipient, options)
    }

    /// [`SegmentedText::submit_pdus`], moving each part's text into its PDU.
    pub fn into_submit_pdus(self, recipient: &Address, options: &SubmitOptions) -> Vec<Pdu> {
        self.parts
            .into_iter()
            .map(|part| {
                let (data_coding, user_data) = part.into_user_data();
                let mut submit = Submit::new(recipient.clone(), data_coding, user_data);
                submit.status_report_request =
                    options.status_report == StatusReportRequest::Requested;
                submit.validity = options.validity.clone();
                Pdu {
                    smsc: options.smsc.clone(),
                    tpdu: Tpdu::Submit(submit),
                }
            })
            .collect()
    }
}

fn concatenation_element(c: &Concatenation) -> InformationElement {
    match c.width {
        ReferenceWidth::Bits8 => InformationElement::Concatenation8 {
            reference: (c.reference & 0xFF) as u8,
            total: c.total,
            sequence: c.sequence,
        },
        ReferenceWidth::Bits16 => InformationElement::Concatenation16 {
            reference: c.reference,
            total: c.total,
            sequence: c.sequence,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use expect_test::{expect, Expect};

    use super::*;
    use crate::pdu::{self, SmscField};

    const REFERENCE: u16 = 0x1234;

    /// Shows a part's text whole when short, else its first and last six characters, so
    /// the boundaries are visible in the snapshot.
    fn excerpt(text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        if chars.len() <= 14 {
            return format!("{text:?}");
        }
        let head: String = chars[..6].iter().collect();
        let tail: String = chars[chars.len() - 6..].iter().collect();
        format!("{head:?}…{tail:?}")
    }

    fn render_countdown(out: &mut String, c: Countdown) {
        writeln!(
            out,
            "countdown: {} part(s), {} {} left of {} in the current part{}",
            c.parts,
            c.remaining_in_part,
            c.encoding.unit(),
            c.part_capacity,
            if c.within_limit() {
                ""
            } else {
                ", over the limit"
            }
        )
        .unwrap();
    }

    fn check_with(config: SegmenterConfig, text: &str, expect: Expect) {
        let segmenter = Segmenter::new(config);
        let mut out = String::new();
        match segmenter.segment(text, REFERENCE) {
            Ok(segmented) => {
                writeln!(out, "{:?}", segmented.encoding).unwrap();
                for part in &segmented.parts {
                    assert_eq!(part.encoding, segmented.encoding);
                    match part.concatenation {
                        Some(c) => write!(
                            out,
                            "{}/{} ref {:#x} {:?}: ",
                            c.sequence, c.total, c.reference, c.width
                        ),
                        None => write!(out, "single: "),
                    }
                    .unwrap();
                    writeln!(
                        out,
                        "{} {} {}",
                        part.units,
                        part.encoding.unit(),
                        excerpt(&part.text)
                    )
                    .unwrap();
                }
                let joined: String = segmented.parts.iter().map(|p| p.text.as_str()).collect();
                assert_eq!(joined, text);
            }
            Err(e) => writeln!(out, "error: {e}").unwrap(),
        }
        render_countdown(&mut out, segmenter.countdown(text));
        expect.assert_eq(&out);
    }

    fn check(text: &str, expect: Expect) {
        check_with(SegmenterConfig::default(), text, expect);
    }

    fn turkish() -> SegmenterConfig {
        SegmenterConfig {
            national_languages: vec![Language::Turkish],
            ..SegmenterConfig::default()
        }
    }

    #[test]
    fn empty_text_is_one_empty_part() {
        check(
            "",
            expect![[r#"
                Gsm7(Tables { locking: Default, single: Default })
                single: 0 septets ""
                countdown: 1 part(s), 160 septets left of 160 in the current part
            "#]],
        );
    }

    #[test]
    fn ascii_160_fits_one_sms() {
        check(
            &"a".repeat(160),
            expect![[r#"
                Gsm7(Tables { locking: Default, single: Default })
                single: 160 septets "aaaaaa"…"aaaaaa"
                countdown: 1 part(s), 0 septets left of 160 in the current part
            "#]],
        );
    }

    #[test]
    fn ascii_161_needs_two_parts() {
        check(
            &"a".repeat(161),
            expect![[r#"
                Gsm7(Tables { locking: Default, single: Default })
                1/2 ref 0x34 Bits8: 153 septets "aaaaaa"…"aaaaaa"
                2/2 ref 0x34 Bits8: 8 septets "aaaaaaaa"
                countdown: 2 part(s), 145 septets left of 153 in the current part
            "#]],
        );
    }

    #[test]
    fn sixteen_bit_references_leave_152_septets() {
        check_with(
            SegmenterConfig {
                reference_width: ReferenceWidth::Bits16,
                ..SegmenterConfig::default()
            },
            &"a".repeat(161),
            expect![[r#"
                Gsm7(Tables { locking: Default, single: Default })
                1/2 ref 0x1234 Bits16: 152 septets "aaaaaa"…"aaaaaa"
                2/2 ref 0x1234 Bits16: 9 septets "aaaaaaaaa"
                countdown: 2 part(s), 143 septets left of 152 in the current part
            "#]],
        );
    }

    #[test]
    fn an_escape_sequence_is_never_split() {
        // 152 septets, then `€` (escape + code) would straddle the boundary.
        check(
            &format!("{}€{}", "a".repeat(152), "b".repeat(10)),
            expect![[r#"
                Gsm7(Tables { locking: Default, single: Default })
                1/2 ref 0x34 Bits8: 152 septets "aaaaaa"…"aaaaaa"
                2/2 ref 0x34 Bits8: 12 septets "€bbbbbbbbbb"
                countdown: 2 part(s), 141 septets left of 153 in the current part
            "#]],
        );
        // `[` as the 153rd and 154th septets of a 2-part text: it moves whole.
        check(
            &format!("{}[{}", "x".repeat(152), "y".repeat(40)),
            expect![[r#"
                Gsm7(Tables { locking: Default, single: Default })
                1/2 ref 0x34 Bits8: 152 septets "xxxxxx"…"xxxxxx"
                2/2 ref 0x34 Bits8: 42 septets "[yyyyy"…"yyyyyy"
                countdown: 2 part(s), 111 septets left of 153 in the current part
            "#]],
        );
    }

    #[test]
    fn euro_runs() {
        check(
            &"€".repeat(80),
            expect![[r#"
                Gsm7(Tables { locking: Default, single: Default })
                single: 160 septets "€€€€€€"…"€€€€€€"
                countdown: 1 part(s), 0 septets left of 160 in the current part
            "#]],
        );
        check(
            &"€".repeat(81),
            expect![[r#"
                Gsm7(Tables { locking: Default, single: Default })
                1/2 ref 0x34 Bits8: 152 septets "€€€€€€"…"€€€€€€"
                2/2 ref 0x34 Bits8: 10 septets "€€€€€"
                countdown: 2 part(s), 143 septets left of 153 in the current part
            "#]],
        );
    }

    #[test]
    fn a_surrogate_pair_is_never_split() {
        check(
            &format!("{}😀{}", "a".repeat(66), "b".repeat(5)),
            expect![[r#"
                Ucs2
                1/2 ref 0x34 Bits8: 66 UTF-16 units "aaaaaa"…"aaaaaa"
                2/2 ref 0x34 Bits8: 7 UTF-16 units "😀bbbbb"
                countdown: 2 part(s), 60 UTF-16 units left of 67 in the current part
            "#]],
        );
        check(
            &"😀".repeat(36),
            expect![[r#"
                Ucs2
                1/2 ref 0x34 Bits8: 66 UTF-16 units "😀😀😀😀😀😀"…"😀😀😀😀😀😀"
                2/2 ref 0x34 Bits8: 6 UTF-16 units "😀😀😀"
                countdown: 2 part(s), 61 UTF-16 units left of 67 in the current part
            "#]],
        );
    }

    #[test]
    fn cyrillic_is_ucs2() {
        check(
            "Привет, как дела?",
            expect![[r#"
                Ucs2
                single: 17 UTF-16 units "Привет"…" дела?"
                countdown: 1 part(s), 53 UTF-16 units left of 70 in the current part
            "#]],
        );
        check(
            &"Библиотека открыта до шести. ".repeat(4),
            expect![[r#"
                Ucs2
                1/2 ref 0x34 Bits8: 67 UTF-16 units "Библио"…"лиотек"
                2/2 ref 0x34 Bits8: 49 UTF-16 units "а откр"…"ести. "
                countdown: 2 part(s), 18 UTF-16 units left of 67 in the current part
            "#]],
        );
    }

    #[test]
    fn one_character_outside_gsm_makes_the_whole_text_ucs2() {
        check(
            &format!("{}ж", "a".repeat(100)),
            expect![[r#"
                Ucs2
                1/2 ref 0x34 Bits8: 67 UTF-16 units "aaaaaa"…"aaaaaa"
                2/2 ref 0x34 Bits8: 34 UTF-16 units "aaaaaa"…"aaaaaж"
                countdown: 2 part(s), 33 UTF-16 units left of 67 in the current part
            "#]],
        );
    }

    const TURKISH: &str = "Kütüphanemiz pazartesi günü saat dokuzda açılıyor; ödünç aldığınız kitapları iade etmeyi unutmayınız. Teşekkürler!";

    #[test]
    fn turkish_without_national_tables_is_ucs2() {
        check(
            TURKISH,
            expect![[r#"
                Ucs2
                1/2 ref 0x34 Bits8: 67 UTF-16 units "Kütüph"…"ğınız "
                2/2 ref 0x34 Bits8: 47 UTF-16 units "kitapl"…"ürler!"
                countdown: 2 part(s), 20 UTF-16 units left of 67 in the current part
            "#]],
        );
    }

    #[test]
    fn turkish_with_national_tables_stays_7_bit() {
        check_with(
            turkish(),
            TURKISH,
            expect![[r#"
                Gsm7(Tables { locking: Turkish, single: Default })
                single: 114 septets "Kütüph"…"ürler!"
                countdown: 1 part(s), 41 septets left of 155 in the current part
            "#]],
        );
    }

    #[test]
    fn national_tables_are_not_used_when_they_save_no_part() {
        // Short enough for one UCS-2 SMS: the shift tables would save nothing.
        check_with(
            turkish(),
            "Teşekkürler, iyi günler!",
            expect![[r#"
                Ucs2
                single: 24 UTF-16 units "Teşekk"…"ünler!"
                countdown: 1 part(s), 46 UTF-16 units left of 70 in the current part
            "#]],
        );
    }

    #[test]
    fn too_many_parts() {
        check_with(
            SegmenterConfig {
                max_parts: 5,
                ..SegmenterConfig::default()
            },
            &"a".repeat(153 * 6 + 1),
            expect![[r#"
                error: text needs 7 SMS parts, the limit is 5
                countdown: 7 part(s), 152 septets left of 153 in the current part, over the limit
            "#]],
        );
    }

    #[test]
    fn data_parts() {
        let segmenter = Segmenter::default();
        let data: Vec<u8> = (0..=255u8).chain(0..44).collect();
        let parts = segmenter.segment_data(&data, 7).unwrap();
        let sizes: Vec<_> = parts.iter().map(|p| p.data.len()).collect();
        assert_eq!(sizes, [134, 134, 32]);
        assert_eq!(
            parts[2].concatenation,
            Some(Concatenation {
                reference: 7,
                width: ReferenceWidth::Bits8,
                total: 3,
                sequence: 3
            })
        );
        assert_eq!(
            parts
                .iter()
                .flat_map(|p| p.data.clone())
                .collect::<Vec<_>>(),
            data
        );
        let one = segmenter.segment_data(&[0; 140], 7).unwrap();
        assert_eq!((one.len(), one[0].concatenation), (1, None));
    }

    #[test]
    fn the_limit_error_says_how_many_parts_were_needed() {
        let segmenter = Segmenter::new(SegmenterConfig {
            max_parts: 5,
            ..SegmenterConfig::default()
        });
        let e = segmenter.segment(&"Ж".repeat(67 * 6 + 1), 1).unwrap_err();
        assert_eq!(e.to_string(), "text needs 7 SMS parts, the limit is 5");
    }

    /// Fact sheet vector 4: the SUBMIT for "Hello World!" re-encodes byte for byte.
    #[test]
    fn submit_pdu_of_a_single_part_matches_vector_4() {
        let segmenter = Segmenter::default();
        let recipient = Address::from_number("+27820001111").unwrap();
        let pdus = segmenter
            .submit_pdus("Hello World!", 0, &recipient, &SubmitOptions::default())
            .unwrap();
        let hex: Vec<String> = pdus
            .iter()
            .map(|p| pdu::to_hex(&p.encode(SmscField::Present).unwrap()))
            .collect();
        assert_eq!(hex, ["0001000B917228001011F100000CC8329BFD065DDF72363904"]);
    }

    #[test]
    fn submit_pdus_of_a_multipart_text() {
        let segmenter = Segmenter::default();
        let recipient = Address::from_number("+15551234567").unwrap();
        let options = SubmitOptions {
            smsc: Some(Address::from_number("+15550000000").unwrap()),
            status_report: StatusReportRequest::Requested,
            validity: Some(ValidityPeriod::Relative(0xA7)),
        };
        let pdus = segmenter
            .submit_pdus(
                &format!("{}{{end}}", "b".repeat(160)),
                0x2A,
                &recipient,
                &options,
            )
            .unwrap();
        let hex: Vec<String> = pdus
            .iter()
            .map(|p| pdu::to_hex(&p.encode(SmscField::Present).unwrap()))
            .collect();
        expect![[r#"
            [
                "07915155000000F071000B915155214365F70000A7A00500032A0201C462B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC562B1582C168BC5",
                "07915155000000F071000B915155214365F70000A7150500032A0202C462B1582C166F506537799302",
            ]
        "#]]
        .assert_debug_eq(&hex);
        for pdu in &pdus {
            let encoded = pdu.encode(SmscField::Present).unwrap();
            assert_eq!(Pdu::decode(&encoded, SmscField::Present).unwrap(), *pdu);
        }
    }

    /// The plan as it was made before the one-pass splitter: every text costed character by
    /// character, then split.
    fn plan_in_two_passes(
        segmenter: &Segmenter,
        text: &str,
    ) -> (TextEncoding, Vec<(usize, usize)>, usize, usize) {
        let default = TextEncoding::Gsm7(Tables::DEFAULT);
        let plan = match costs(text, default) {
            Some(costs) => split(segmenter, default, costs),
            None => {
                let ucs2 = split(
                    segmenter,
                    TextEncoding::Ucs2,
                    text.char_indices()
                        .map(|(at, c)| (at, c.len_utf16()))
                        .collect(),
                );
                let national = segmenter
                    .national_tables()
                    .filter_map(|tables| {
                        let encoding = TextEncoding::Gsm7(tables);
                        costs(text, encoding).map(|costs| split(segmenter, encoding, costs))
                    })
                    .min_by_key(|plan| (plan.parts.len(), Reverse(plan.remaining_in_last())));
                match national {
                    Some(national) if national.parts.len() < ucs2.parts.len() => national,
                    _ => ucs2,
                }
            }
        };
        (plan.encoding, plan.parts, plan.units, plan.capacity)
    }

    /// The two-pass splitter the one-pass one replaced: a text whose characters cost
    /// `costs` (`(byte offset, units)` each) under `encoding`, split.
    fn split(segmenter: &Segmenter, encoding: TextEncoding, costs: Vec<(usize, usize)>) -> Plan {
        let units: usize = costs.iter().map(|&(_, cost)| cost).sum();
        let (single_capacity, capacity) = segmenter.capacities(encoding);
        if units <= single_capacity {
            return Plan {
                encoding,
                parts: vec![(0, units)],
                units,
                capacity: single_capacity,
            };
        }
        let mut parts = vec![(0, 0)];
        for (at, cost) in costs {
            let fits = parts
                .last()
                .is_some_and(|&(_, used)| used + cost <= capacity);
            if !fits {
                // The character (escape sequence or surrogate pair) starts the next part
                // whole.
                parts.push((at, 0));
            }
            if let Some((_, used)) = parts.last_mut() {
                *used += cost;
            }
        }
        Plan {
            encoding,
            parts,
            units,
            capacity,
        }
    }

    /// What each character of `text` costs under `encoding` (`(byte offset, units)`), or `None`
    /// if one cannot be encoded.
    fn costs(text: &str, encoding: TextEncoding) -> Option<Vec<(usize, usize)>> {
        // A plain loop into a vector sized once: collecting into `Option<Vec<_>>` grows the
        // vector step by step (the adapter cannot tell the length in advance).
        let mut costs = Vec::with_capacity(text.len());
        for (at, c) in text.char_indices() {
            costs.push((at, encoding.cost(c)?));
        }
        Some(costs)
    }

    proptest::proptest! {
        /// The one-pass splitter changes nothing: texts of one to several parts, of GSM,
        /// extension, Turkish and emoji characters, plan as before, with and without a
        /// national table.
        #[test]
        fn the_one_pass_splitter_plans_as_before(
            chars in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::char::range('a', 'z'),
                    2 => proptest::prop_oneof![proptest::strategy::Just('€'), proptest::strategy::Just('['), proptest::strategy::Just('ş'), proptest::strategy::Just('😀'), proptest::strategy::Just('Ж')],
                ],
                60..420,
            ),
            turkish in proptest::bool::ANY,
        ) {
            let text: String = chars.into_iter().collect();
            let segmenter = Segmenter::new(SegmenterConfig {
                national_languages: if turkish { vec![Language::Turkish] } else { Vec::new() },
                ..SegmenterConfig::default()
            });
            let plan = segmenter.plan(&text);
            proptest::prop_assert_eq!(
                (plan.encoding, plan.parts, plan.units, plan.capacity),
                plan_in_two_passes(&segmenter, &text)
            );
        }
    }
}
