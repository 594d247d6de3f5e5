//! STOP / START / HELP: the carrier keywords every text-message programme must honour, and
//! the answers it sends.
//!
//! The lists follow the CTIA Messaging Principles and Best Practices and the carriers'
//! codes of conduct: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END and QUIT opt a number out;
//! START and UNSTOP opt it back in; HELP and INFO get a short answer saying who is texting
//! and how to stop.
//!
//! Matching rules (decided here, documented in docs/alerts.md):
//! - the keyword must be the whole message: "stop" and " Stop. " match, "don't stop" and
//!   "stop sending me these" do not (those reach a person instead, who can remove the
//!   member by hand);
//! - letters are compared without regard to case, because phones capitalise the first word;
//! - surrounding white space and trailing `.` `!` `?` are ignored, because keyboards add a
//!   full stop after a double space and people add "!" when they are annoyed, and an
//!   unhonoured STOP is worse than a wrongly honoured one;
//! - YES is **not** a START word by default: alerts ask "reply YES if you are safe" style
//!   questions, and a poll answer must not re-subscribe a number that said STOP. A
//!   deployment can add it with [`KeywordTable::with_word`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// What an incoming text asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Keyword {
    /// Stop sending alerts to this number.
    Stop,
    /// Send alerts to this number again.
    Start,
    /// Say who this is and how to stop.
    Help,
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stop => "STOP",
            Self::Start => "START",
            Self::Help => "HELP",
        })
    }
}

/// A keyword table that would be ambiguous or could never match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeywordError {
    /// Keywords are single words of letters and digits.
    #[error("keyword {word:?} must be one word of letters or digits")]
    NotAWord {
        /// The rejected word.
        word: String,
    },
    /// A word cannot mean two things.
    #[error("keyword {word:?} already means {existing}, it cannot also mean {requested}")]
    Conflict {
        /// The word.
        word: String,
        /// What it already means.
        existing: Keyword,
        /// What it was asked to mean.
        requested: Keyword,
    },
}

/// The words recognised for each keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordTable {
    words: Vec<(String, Keyword)>,
}

impl Default for KeywordTable {
    /// The CTIA / carrier lists.
    fn default() -> Self {
        let mut words = Vec::new();
        for word in ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"] {
            words.push((word.to_owned(), Keyword::Stop));
        }
        for word in ["START", "UNSTOP"] {
            words.push((word.to_owned(), Keyword::Start));
        }
        for word in ["HELP", "INFO"] {
            words.push((word.to_owned(), Keyword::Help));
        }
        Self { words }
    }
}

impl KeywordTable {
    /// Add a word (for example `YES` for START, or a local-language `ARRET` for STOP).
    pub fn with_word(mut self, word: &str, keyword: Keyword) -> Result<Self, KeywordError> {
        let word = word.trim();
        if word.is_empty() || !word.chars().all(char::is_alphanumeric) {
            return Err(KeywordError::NotAWord {
                word: word.to_owned(),
            });
        }
        let upper = word.to_uppercase();
        if let Some((_, existing)) = self.words.iter().find(|(w, _)| *w == upper) {
            if *existing == keyword {
                return Ok(self);
            }
            return Err(KeywordError::Conflict {
                word: upper,
                existing: *existing,
                requested: keyword,
            });
        }
        self.words.push((upper, keyword));
        Ok(self)
    }

    /// The keyword an incoming text is, if it is one.
    pub fn classify(&self, body: &str) -> Option<Keyword> {
        let word = body
            .trim_start()
            .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '!' | '?'));
        let upper = word.to_uppercase();
        self.words
            .iter()
            .find(|(w, _)| *w == upper)
            .map(|(_, keyword)| *keyword)
    }
}

/// A reply template that would break carrier rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// Opt-out instructions are required in the confirmation and HELP texts.
    #[error("the {which} text must tell the reader to reply STOP to opt out")]
    MissingOptOut {
        /// Which template.
        which: &'static str,
    },
    /// The confirmation text must carry the code.
    #[error("the confirmation text must contain the {{code}} placeholder")]
    MissingCode,
    /// The test text must carry the test id.
    #[error("the test text must contain the {{test_id}} placeholder")]
    MissingTestId,
}

/// The texts sent in answer to keywords, and the confirmation-code text.
///
/// `{code}` and `{minutes}` in the confirmation text are filled in when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeywordReplies {
    /// Sent once after STOP; nothing else is sent to the number afterwards.
    pub stop: String,
    /// Sent after START.
    pub start: String,
    /// Sent after HELP.
    pub help: String,
    /// Sent to a newly registered number with its confirmation code.
    pub confirmation: String,
    /// Sent by **Save and Test**; `{test_id}` is the test log's id, so a complaint about an
    /// unwanted test can be traced to the account that sent it.
    pub member_test: String,
    /// Sent by the scheduled job when a member's details are due for review.
    pub review_reminder: String,
}

impl KeywordReplies {
    /// The default texts, naming the programme (`Example University alerts`) and where to
    /// get help (a web address or a phone number). Each fits one GSM 7-bit SMS for
    /// reasonable names.
    pub fn defaults(programme: &str, help_contact: &str) -> Self {
        Self {
            stop: format!(
                "{programme}: you are unsubscribed and will receive no more messages. Reply START to resubscribe."
            ),
            start: format!(
                "{programme}: you are subscribed to emergency alerts again. Reply HELP for help, STOP to opt out."
            ),
            help: format!(
                "{programme}: emergency text alerts. Help: {help_contact}. Msg&data rates may apply. Reply STOP to opt out."
            ),
            confirmation: format!(
                "{programme}: your confirmation code is {{code}}. It expires in {{minutes}} min. Reply STOP to opt out."
            ),
            member_test: format!(
                "{programme}: TEST message {{test_id}}. This is how emergency alerts will reach you. Reply STOP to opt out."
            ),
            review_reminder: format!(
                "{programme}: your alert details are over 6 months old. Please review them at {help_contact}. Reply STOP to opt out."
            ),
        }
    }

    /// Check configured texts before use.
    pub fn validate(&self) -> Result<(), ReplyError> {
        let mentions_stop = |text: &str| text.to_uppercase().contains("STOP");
        if !self.confirmation.contains("{code}") {
            return Err(ReplyError::MissingCode);
        }
        if !mentions_stop(&self.confirmation) {
            return Err(ReplyError::MissingOptOut {
                which: "confirmation",
            });
        }
        if !mentions_stop(&self.help) {
            return Err(ReplyError::MissingOptOut { which: "HELP" });
        }
        if !self.member_test.contains("{test_id}") {
            return Err(ReplyError::MissingTestId);
        }
        if !mentions_stop(&self.member_test) {
            return Err(ReplyError::MissingOptOut { which: "test" });
        }
        if !mentions_stop(&self.review_reminder) {
            return Err(ReplyError::MissingOptOut {
                which: "review reminder",
            });
        }
        Ok(())
    }

    /// The answer to a keyword.
    pub fn reply(&self, keyword: Keyword) -> &str {
        match keyword {
            Keyword::Stop => &self.stop,
            Keyword::Start => &self.start,
            Keyword::Help => &self.help,
        }
    }

    /// The text of a member's self-test with test-log id `test_id`.
    pub fn member_test_text(&self, test_id: &str) -> String {
        self.member_test.replace("{test_id}", test_id)
    }

    /// The confirmation text for `code`, valid for `minutes`.
    pub fn confirmation_text(&self, code: &str, minutes: i64) -> String {
        self.confirmation
            .replace("{code}", code)
            .replace("{minutes}", &minutes.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::Composer;
    use expect_test::expect;
    use proptest::prelude::*;

    #[test]
    fn classification_table() {
        let table = KeywordTable::default();
        let inputs = [
            "STOP",
            "stop",
            "Stop",
            " Stop. ",
            "STOP!!",
            "stop?",
            "StopAll",
            "unsubscribe",
            "Cancel",
            "end",
            "QUIT",
            "start",
            "Unstop",
            "yes",
            "help",
            "INFO",
            "info.",
            "don't stop",
            "stop sending",
            "stop stop",
            "s t o p",
            "STOP\n",
            "\tHELP ",
            "",
            ".",
            "STÖP",
            "stopp",
            "helpme",
        ];
        let shown: String = inputs
            .iter()
            .map(|input| {
                let result = table
                    .classify(input)
                    .map_or("-".to_owned(), |k| k.to_string());
                format!("{input:?} -> {result}\n")
            })
            .collect();
        expect![[r#"
            "STOP" -> STOP
            "stop" -> STOP
            "Stop" -> STOP
            " Stop. " -> STOP
            "STOP!!" -> STOP
            "stop?" -> STOP
            "StopAll" -> STOP
            "unsubscribe" -> STOP
            "Cancel" -> STOP
            "end" -> STOP
            "QUIT" -> STOP
            "start" -> START
            "Unstop" -> START
            "yes" -> -
            "help" -> HELP
            "INFO" -> HELP
            "info." -> HELP
            "don't stop" -> -
            "stop sending" -> -
            "stop stop" -> -
            "s t o p" -> -
            "STOP\n" -> STOP
            "\tHELP " -> HELP
            "" -> -
            "." -> -
            "STÖP" -> -
            "stopp" -> -
            "helpme" -> -
        "#]]
        .assert_eq(&shown);
    }

    #[test]
    fn adding_words() {
        let table = KeywordTable::default()
            .with_word("yes", Keyword::Start)
            .unwrap();
        assert_eq!(table.classify("Yes."), Some(Keyword::Start));
        let table = table.with_word("Arrêt", Keyword::Stop).unwrap();
        assert_eq!(table.classify("arrêt"), Some(Keyword::Stop));
        assert_eq!(
            table.clone().with_word("stop", Keyword::Stop),
            Ok(table.clone())
        );
        assert_eq!(
            table
                .clone()
                .with_word("end", Keyword::Help)
                .unwrap_err()
                .to_string(),
            "keyword \"END\" already means STOP, it cannot also mean HELP"
        );
        assert_eq!(
            table
                .with_word("stop it", Keyword::Stop)
                .unwrap_err()
                .to_string(),
            "keyword \"stop it\" must be one word of letters or digits"
        );
    }

    #[test]
    fn default_replies_fit_one_sms_and_carry_opt_out() {
        let replies = KeywordReplies::defaults("Example University alerts", "alerts.example.edu");
        replies.validate().unwrap();
        let composer = Composer::default();
        for text in [
            replies.stop.clone(),
            replies.start.clone(),
            replies.help.clone(),
            replies.confirmation_text("123456", 15),
            replies.member_test_text("T-123456"),
            replies.review_reminder.clone(),
        ] {
            let report = composer.measure(&text);
            assert_eq!(report.parts, 1, "{text} is {} characters", report.typed);
        }
        expect!["Example University alerts: your confirmation code is 123456. It expires in 15 min. Reply STOP to opt out."].assert_eq(&replies.confirmation_text("123456", 15));
        expect!["Example University alerts: TEST message T-123456. This is how emergency alerts will reach you. Reply STOP to opt out."].assert_eq(&replies.member_test_text("T-123456"));
    }

    #[test]
    fn configured_replies_are_checked() {
        let mut replies = KeywordReplies::defaults("X", "y");
        replies.confirmation = "Your code is {code}.".into();
        assert_eq!(
            replies.validate().unwrap_err().to_string(),
            "the confirmation text must tell the reader to reply STOP to opt out"
        );
        replies.confirmation = "Reply STOP to opt out.".into();
        assert_eq!(replies.validate(), Err(ReplyError::MissingCode));
        replies = KeywordReplies::defaults("X", "y");
        replies.help = "Call us.".into();
        assert_eq!(
            replies.validate(),
            Err(ReplyError::MissingOptOut { which: "HELP" })
        );
        replies = KeywordReplies::defaults("X", "y");
        replies.member_test = "Test. Reply STOP to opt out.".into();
        assert_eq!(replies.validate(), Err(ReplyError::MissingTestId));
        replies = KeywordReplies::defaults("X", "y");
        replies.review_reminder = "Please review your details.".into();
        assert_eq!(
            replies.validate().unwrap_err().to_string(),
            "the review reminder text must tell the reader to reply STOP to opt out"
        );
    }

    proptest! {
        /// Case, surrounding white space and trailing punctuation never change the answer.
        #[test]
        fn decoration_does_not_change_a_keyword(
            word in prop::sample::select(vec!["stop", "stopall", "unsubscribe", "cancel", "end", "quit", "start", "unstop", "help", "info"]),
            upper in prop::collection::vec(any::<bool>(), 11),
            before in "[ \t\n]{0,3}",
            after in "[.!? \t\n]{0,4}",
        ) {
            let table = KeywordTable::default();
            let cased: String = word
                .chars()
                .zip(&upper)
                .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
                .collect();
            let plain = table.classify(word);
            prop_assert!(plain.is_some());
            prop_assert_eq!(table.classify(&format!("{before}{cased}{after}")), plain);
        }

        /// Anything with another word in it is not a keyword, and nothing panics.
        #[test]
        fn extra_words_are_never_keywords(text in "\\PC{0,40}", word in "[a-z]{1,8}") {
            let table = KeywordTable::default();
            let _ = table.classify(&text);
            prop_assert_eq!(table.classify(&format!("stop {word}")), None);
            prop_assert_eq!(table.classify(&format!("{word} stop")), None);
        }
    }
}
