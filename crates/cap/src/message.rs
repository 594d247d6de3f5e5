//! The CAP 1.2 message: an `<alert>` (§3.2.1) with zero or more `<info>` blocks (§3.2.2),
//! each naming the `<area>`s it concerns (§3.2.4).
//!
//! Field names follow the standard's element names in Rust spelling; documentation quotes
//! what the standard asks of each.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::time::cap_time;
use crate::token::{Category, Certainty, MsgType, ResponseType, Scope, Severity, Status, Urgency};

/// A CAP `<alert>` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique for this sender; no spaces, commas or restricted characters (`<`, `&`).
    pub identifier: String,
    /// Globally unique originator, e.g. an e-mail address or domain; same character rules.
    pub sender: String,
    /// When the message originated.
    pub sent: DateTime<FixedOffset>,
    /// How the message is to be handled.
    pub status: Status,
    /// The nature of the message.
    pub msg_type: MsgType,
    /// Who the message is meant for.
    pub scope: Scope,
    /// Rule for limiting distribution; required when, and only when, `scope` is Restricted.
    pub restriction: Option<String>,
    /// The intended recipients; required when `scope` is Private. Written space-separated,
    /// an address containing whitespace in double quotes.
    pub addresses: Vec<String>,
    /// The purpose or significance of the message (e.g. the reason for a Cancel).
    pub note: Option<String>,
    /// Earlier messages this one refers to (required for Update and Cancel).
    pub references: Vec<Reference>,
    /// Space-separated names of incidents this message belongs to.
    pub incidents: Option<String>,
    /// The information blocks, typically one per language.
    pub info: Vec<Info>,
}

impl Alert {
    /// A Public, Actual alert with no info blocks yet.
    pub fn new(
        identifier: impl Into<String>,
        sender: impl Into<String>,
        sent: DateTime<FixedOffset>,
    ) -> Self {
        Self {
            identifier: identifier.into(),
            sender: sender.into(),
            sent,
            status: Status::Actual,
            msg_type: MsgType::Alert,
            scope: Scope::Public,
            restriction: None,
            addresses: Vec::new(),
            note: None,
            references: Vec::new(),
            incidents: None,
            info: Vec::new(),
        }
    }

    /// The `<references>` text: space-separated `sender,identifier,sent` triples.
    pub fn references_text(&self) -> String {
        self.references
            .iter()
            .map(Reference::to_cap_string)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `<addresses>` text: space-separated, an address containing whitespace enclosed
    /// in double quotes (CAP 1.2 §3.2.1).
    pub fn addresses_text(&self) -> String {
        self.addresses
            .iter()
            .map(|a| {
                if a.chars().any(char::is_whitespace) {
                    format!("\"{a}\"")
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The info block feeds and summaries are made from: the first (primary language).
    pub fn primary_info(&self) -> Option<&Info> {
        self.info.first()
    }
}

/// An earlier message, as `<references>` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// The `sender` of the earlier message.
    pub sender: String,
    /// The `identifier` of the earlier message.
    pub identifier: String,
    /// The `sent` time of the earlier message.
    pub sent: DateTime<FixedOffset>,
}

impl Reference {
    /// The reference to an earlier message, e.g. for an Update or Cancel of it.
    pub fn of(alert: &Alert) -> Self {
        Self {
            sender: alert.sender.clone(),
            identifier: alert.identifier.clone(),
            sent: alert.sent,
        }
    }

    /// The CAP triple `sender,identifier,sent`.
    pub fn to_cap_string(&self) -> String {
        format!(
            "{},{},{}",
            self.sender,
            self.identifier,
            cap_time(&self.sent)
        )
    }
}

/// A CAP `<info>` block: the event and what to do about it, in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// RFC 3066 language tag, e.g. `en-US` (CAP's default when absent).
    pub language: String,
    /// At least one category of the subject event.
    pub categories: Vec<Category>,
    /// The type of the subject event, e.g. "Winter storm".
    pub event: String,
    /// Recommended actions.
    pub response_types: Vec<ResponseType>,
    /// How soon to act.
    pub urgency: Urgency,
    /// How bad it is.
    pub severity: Severity,
    /// How sure the sender is.
    pub certainty: Certainty,
    /// Human-readable name of the agency or authority issuing the alert.
    pub sender_name: Option<String>,
    /// A brief headline (the standard suggests under 160 characters).
    pub headline: Option<String>,
    /// An extended description of the hazard or event.
    pub description: Option<String>,
    /// The recommended action, in words.
    pub instruction: Option<String>,
    /// A full URI for more information.
    pub web: Option<String>,
    /// How to follow up and confirm the alert.
    pub contact: Option<String>,
    /// When the information becomes effective (defaults to `sent`).
    pub effective: Option<DateTime<FixedOffset>>,
    /// Expected time of the beginning of the subject event.
    pub onset: Option<DateTime<FixedOffset>>,
    /// When the information is no longer in effect.
    pub expires: Option<DateTime<FixedOffset>>,
    /// The areas concerned (CAP allows none).
    pub areas: Vec<Area>,
}

impl Info {
    /// An info block with one category and nothing optional filled in.
    pub fn new(
        language: impl Into<String>,
        category: Category,
        event: impl Into<String>,
        urgency: Urgency,
        severity: Severity,
        certainty: Certainty,
    ) -> Self {
        Self {
            language: language.into(),
            categories: vec![category],
            event: event.into(),
            response_types: Vec::new(),
            urgency,
            severity,
            certainty,
            sender_name: None,
            headline: None,
            description: None,
            instruction: None,
            web: None,
            contact: None,
            effective: None,
            onset: None,
            expires: None,
            areas: Vec::new(),
        }
    }

    /// The title a feed shows: the headline, or else the event.
    pub fn title(&self) -> &str {
        self.headline.as_deref().unwrap_or(&self.event)
    }
}

/// A CAP `<area>`: a place the info block concerns, described in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    /// A text description of the affected area.
    pub area_desc: String,
}

impl Area {
    /// An area described in words.
    pub fn new(area_desc: impl Into<String>) -> Self {
        Self {
            area_desc: area_desc.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<FixedOffset> {
        FixedOffset::west_opt(5 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 12, 5, h, 30, 0)
            .unwrap()
    }

    #[test]
    fn reference_triples() {
        let first = Alert::new("a-1", "alerts@example.edu", t(6));
        let second = Alert::new("a-2", "alerts@example.edu", t(8));
        let mut update = Alert::new("a-3", "alerts@example.edu", t(10));
        update.references = vec![Reference::of(&first), Reference::of(&second)];
        assert_eq!(
            update.references[0].to_cap_string(),
            "alerts@example.edu,a-1,2026-12-05T06:30:00-05:00"
        );
        assert_eq!(
            update.references_text(),
            "alerts@example.edu,a-1,2026-12-05T06:30:00-05:00 \
             alerts@example.edu,a-2,2026-12-05T08:30:00-05:00"
        );
    }

    #[test]
    fn addresses_with_spaces_are_quoted() {
        let mut a = Alert::new("a-1", "s", t(6));
        a.addresses = vec!["ops@example.edu".into(), "Campus Police".into()];
        assert_eq!(a.addresses_text(), "ops@example.edu \"Campus Police\"");
    }

    #[test]
    fn title_falls_back_to_event() {
        let mut info = Info::new(
            "en-US",
            Category::Met,
            "Winter storm",
            Urgency::Expected,
            Severity::Severe,
            Certainty::Likely,
        );
        assert_eq!(info.title(), "Winter storm");
        info.headline = Some("Campus closed".into());
        assert_eq!(info.title(), "Campus closed");
    }
}
