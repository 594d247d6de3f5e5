//! The records an alert service must keep, as plain serialisable types the store persists:
//! the send log (every test and alert an administrator sends), the test log (every test a
//! member sends themselves, kept after they leave), and the Clery Act yearly-test record.
//!
//! The US Clery Act (34 CFR 668.46) requires the emergency notification system to be tested
//! at least once a year and each test documented with a description, the date, the time,
//! and whether it was announced; [`YearlyTestRecord`] holds exactly that, and can be
//! attached to the send-log entry of the test that exercised the system.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::blind_index::BlindIndexValue;
use crate::cipher::EncryptedField;

/// Whether a send was a test or a real alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendKind {
    /// Sent to the designated testers only.
    Test,
    /// Sent to everyone registered.
    Real,
}

/// Whether a yearly test was announced to the campus beforehand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Announcement {
    /// People were told in advance.
    Announced,
    /// A surprise exercise.
    Unannounced,
}

/// The documentation of one yearly test of the emergency notification system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearlyTestRecord {
    /// What was tested and how (for example "Campus-wide SMS test, shelter-in-place drill").
    pub description: String,
    /// The local date of the test.
    pub date: NaiveDate,
    /// The local time of the test.
    pub time: NaiveTime,
    /// Whether it was announced.
    pub announcement: Announcement,
}

/// Why a yearly-test record cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The Clery Act wants a description.
    #[error("a yearly test record needs a description of the test")]
    MissingDescription,
}

impl YearlyTestRecord {
    /// Check a record typed by an administrator.
    pub fn validate(&self) -> Result<(), RecordError> {
        if self.description.trim().is_empty() {
            return Err(RecordError::MissingDescription);
        }
        Ok(())
    }
}

/// How a campaign ended up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    /// Recipients the campaign was planned for.
    pub recipients: u64,
    /// Accepted by the network.
    pub sent: u64,
    /// Confirmed by a delivery report.
    pub delivered: u64,
    /// Given up on.
    pub failed: u64,
}

/// One line of the send log: who sent what, when, to whom, with what result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendLogEntry {
    /// The campaign's id.
    pub campaign_id: String,
    /// The administrator's account id.
    pub administrator: String,
    /// The text exactly as sent.
    pub text: String,
    /// Test or real.
    pub kind: SendKind,
    /// When the administrator confirmed the send.
    pub confirmed_at: DateTime<Utc>,
    /// When the last message was sent, once finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Counts, updated as the campaign runs.
    pub counts: DeliveryCounts,
    /// The yearly-test documentation, when this test was the yearly test.
    pub yearly_test: Option<YearlyTestRecord>,
}

/// One line of the test log: a member sent a test to a number. Kept when the member
/// removes their registration, so misuse of the test button can still be traced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestLogEntry {
    /// The test id, also printed in the test text.
    pub test_id: String,
    /// The member's account id.
    pub member: String,
    /// The address the request came from.
    pub ip_address: std::net::IpAddr,
    /// The gateway (or legacy carrier) the test went through.
    pub gateway: String,
    /// The destination number, encrypted for [`crate::FieldPurpose::TestLogNumber`] with the
    /// test id as record id.
    pub number: EncryptedField,
    /// The destination's blind index, to find every test sent to one number.
    pub number_index: BlindIndexValue,
    /// When the test was sent.
    pub sent_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn send_log_entry_serialises_with_its_yearly_test() {
        let entry = SendLogEntry {
            campaign_id: "c-17".into(),
            administrator: "acct-3".into(),
            text: "TEST of the campus alert system. No action needed.".into(),
            kind: SendKind::Test,
            confirmed_at: "2026-09-15T14:00:00Z".parse().unwrap(),
            finished_at: None,
            counts: DeliveryCounts {
                recipients: 12,
                sent: 12,
                delivered: 11,
                failed: 0,
            },
            yearly_test: Some(YearlyTestRecord {
                description: "Annual test, testers only".into(),
                date: "2026-09-15".parse().unwrap(),
                time: "10:00:00".parse().unwrap(),
                announcement: Announcement::Announced,
            }),
        };
        let json = serde_json::to_string_pretty(&entry).unwrap();
        expect![[r#"
            {
              "campaign_id": "c-17",
              "administrator": "acct-3",
              "text": "TEST of the campus alert system. No action needed.",
              "kind": "test",
              "confirmed_at": "2026-09-15T14:00:00Z",
              "finished_at": null,
              "counts": {
                "recipients": 12,
                "sent": 12,
                "delivered": 11,
                "failed": 0
              },
              "yearly_test": {
                "description": "Annual test, testers only",
                "date": "2026-09-15",
                "time": "10:00:00",
                "announcement": "announced"
              }
            }"#]]
        .assert_eq(&json);
        assert_eq!(serde_json::from_str::<SendLogEntry>(&json).unwrap(), entry);
    }

    #[test]
    fn yearly_test_needs_a_description() {
        let record = YearlyTestRecord {
            description: "  ".into(),
            date: "2026-09-15".parse().unwrap(),
            time: "10:00:00".parse().unwrap(),
            announcement: Announcement::Unannounced,
        };
        assert_eq!(record.validate(), Err(RecordError::MissingDescription));
    }
}
