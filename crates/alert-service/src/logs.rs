//! The three logs as administrators read them: the send log (campaigns), the test log
//! (members' own tests, numbers masked) and the audit log. Each is written where its
//! action happens ([`crate::sends`], [`crate::members`], [`crate::audit`]); this view only
//! reads.

use chrono::{DateTime, Utc};
use textgate_alerts::cipher::{FieldContext, FieldPurpose};
use textgate_alerts::EncryptedField;

use crate::audit::{self, AuditEntry};
use crate::members::data as members_data;
use crate::sends::{data as sends_data, Send};
use crate::{AccountId, AlertError, AlertService};

/// A member's test as the log shows it: the number masked (`•••• 0123`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestRecord {
    pub test_id: i64,
    pub account_id: AccountId,
    pub ip_address: String,
    pub gateway: String,
    /// The tested number, masked, or `(unreadable)` if it no longer opens.
    pub masked: String,
    pub sent_at: DateTime<Utc>,
}

/// The logs (a view of [`AlertService`]).
#[derive(Clone, Copy)]
pub struct Logs<'a> {
    pub(crate) service: &'a AlertService,
}

impl Logs<'_> {
    /// The send log: campaigns (test and real), newest first, at most `limit`.
    pub async fn send_log(&self, limit: i64) -> Result<Vec<Send>, AlertError> {
        sends_data::send_log(self.service.database(), limit).await
    }

    /// The test log, newest first, at most `limit`.
    pub async fn test_log(&self, limit: i64) -> Result<Vec<TestRecord>, AlertError> {
        let rows = members_data::test_log(self.service.database(), limit).await?;
        let cipher = &self.service.settings().cipher;
        Ok(rows
            .into_iter()
            .map(|t| {
                // The log's copy of the number is encrypted for the test, not the member,
                // so it outlives the member's registration.
                let context = FieldContext::new(FieldPurpose::TestLogNumber, t.test_id.to_string());
                let masked = t
                    .number_enc
                    .parse::<EncryptedField>()
                    .ok()
                    .and_then(|f| cipher.decrypt(&f, &context).ok())
                    .map(|n| textgate_alerts::mask(&n))
                    .unwrap_or_else(|| "(unreadable)".to_string());
                TestRecord {
                    test_id: t.test_id,
                    account_id: t.account_id,
                    ip_address: t.ip_address,
                    gateway: t.gateway,
                    masked,
                    sent_at: t.sent_at,
                }
            })
            .collect())
    }

    /// The audit log, newest first, at most `limit`.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, AlertError> {
        audit::entries(self.service.database(), limit).await
    }
}
