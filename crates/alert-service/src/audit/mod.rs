//! The audit log: every administrative action, with who, from where and when. The service
//! writes it itself, once per action, in the method that performs the action, so a page,
//! the JSON API and the command line leave the same record and no caller can forget it.

mod data;

use crate::{Actor, AlertError, AlertService};

pub(crate) use data::entries;

/// One audited action as it is read back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub account_id: Option<crate::AccountId>,
    pub account_email: String,
    pub ip_address: String,
    pub action: String,
    pub detail: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The actions the audit log records, by their stored names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// An administrator created from the command line.
    CreateAdmin,
    CreateAccount,
    ChangeRoles,
    RemoveAccount,
    DesignateTester,
    RemoveTester,
    CreateApiToken,
    RevokeApiToken,
    /// A test campaign to the testers.
    SendTest,
    /// A real alert to everyone.
    SendAlert,
    /// A real alert confirmed by one emergency administrator, awaiting a second.
    DraftAlert,
    /// A second emergency administrator approved a real alert.
    ApproveAlert,
    /// A second emergency administrator refused a real alert.
    RefuseAlert,
    /// A drafter tried to approve or refuse their own alert, and was refused.
    ApproveOwnAlertRefused,
    /// A real alert ran out of time unapproved.
    AlertExpired,
    /// A test scheduled for a set time (and maybe again).
    ScheduleTest,
    CancelScheduledTest,
    /// A scheduled test that was due could not start.
    ScheduledTestFailed,
    /// A poll's reminder went to those who had not answered.
    PollReminder,
    /// A poll's answers, with the members' numbers, were exported.
    ExportPoll,
    DeleteTranscripts,
    ExportTranscripts,
    /// A text sent through the send API (or a retry answered with it).
    SendText,
    /// A text the send API refused (a number that is not one, too long, a reused key).
    SendTextRefused,
}

impl AuditAction {
    /// The name stored in the log's `action` column.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::CreateAdmin => "create-admin",
            AuditAction::CreateAccount => "create-account",
            AuditAction::ChangeRoles => "change-roles",
            AuditAction::RemoveAccount => "remove-account",
            AuditAction::DesignateTester => "designate-tester",
            AuditAction::RemoveTester => "remove-tester",
            AuditAction::CreateApiToken => "create-api-token",
            AuditAction::RevokeApiToken => "revoke-api-token",
            AuditAction::SendTest => "send-test",
            AuditAction::SendAlert => "send-alert",
            AuditAction::DraftAlert => "draft-alert",
            AuditAction::ApproveAlert => "approve-alert",
            AuditAction::RefuseAlert => "refuse-alert",
            AuditAction::ApproveOwnAlertRefused => "approve-own-alert-refused",
            AuditAction::AlertExpired => "alert-expired",
            AuditAction::ScheduleTest => "schedule-test",
            AuditAction::CancelScheduledTest => "cancel-scheduled-test",
            AuditAction::ScheduledTestFailed => "scheduled-test-failed",
            AuditAction::PollReminder => "poll-reminder",
            AuditAction::ExportPoll => "export-poll",
            AuditAction::DeleteTranscripts => "delete-transcripts",
            AuditAction::ExportTranscripts => "export-transcripts",
            AuditAction::SendText => "send-text",
            AuditAction::SendTextRefused => "send-text-refused",
        }
    }
}

impl AlertService {
    /// Records `action` done by `actor`.
    pub(crate) async fn audit(
        &self,
        actor: &Actor<'_>,
        action: AuditAction,
        detail: &str,
    ) -> Result<(), AlertError> {
        data::insert(
            self.database(),
            Some(actor.account.id),
            &actor.account.email,
            actor.ip,
            action.as_str(),
            detail,
            self.now(),
        )
        .await
    }

    /// Records `action` done from the command line, where nobody is signed in.
    pub(crate) async fn audit_command_line(
        &self,
        action: AuditAction,
        detail: &str,
    ) -> Result<(), AlertError> {
        data::insert(
            self.database(),
            None,
            "(command line)",
            "local",
            action.as_str(),
            detail,
            self.now(),
        )
        .await
    }

    /// Records `action` done by the daemon itself (an alert expiring unapproved).
    pub(crate) async fn audit_daemon(
        &self,
        action: AuditAction,
        detail: &str,
    ) -> Result<(), AlertError> {
        data::insert(
            self.database(),
            None,
            "(textgate)",
            "local",
            action.as_str(),
            detail,
            self.now(),
        )
        .await
    }
}
