//! The staff's transcript actions that the audit log records: deleting transcripts or
//! whole records, and downloading them. The store does the work (it is the transcripts'
//! service, and the pages read conversations and statistics from it directly); these
//! methods pass through here because the audit log is this service's, so a page and the
//! JSON API leave the same record.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use textgate_alerts::{authorize, Action};
use textgate_store::{Deletion, DeletionReport, Selection};

use crate::audit::AuditAction;
use crate::{Actor, AlertError, AlertService};

/// One gateway's texts over whole days, `from` to `until` inclusive (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptPeriod {
    pub gateway: String,
    pub from: NaiveDate,
    pub until: NaiveDate,
}

impl TranscriptPeriod {
    /// The first instant of the period.
    pub fn start(&self) -> DateTime<Utc> {
        self.from.and_time(NaiveTime::MIN).and_utc()
    }

    /// The first instant after the period.
    pub fn end(&self) -> DateTime<Utc> {
        self.until
            .checked_add_days(Days::new(1))
            .unwrap_or(NaiveDate::MAX)
            .and_time(NaiveTime::MIN)
            .and_utc()
    }

    /// Every conversation of the gateway in the period, as the store selects them.
    pub fn selection(&self) -> Selection {
        Selection::Period {
            gateway: self.gateway.clone(),
            from: self.start(),
            until: self.end(),
        }
    }
}

/// Transcript actions (a view of [`AlertService`]).
#[derive(Clone, Copy)]
pub struct Transcripts<'a> {
    pub(crate) service: &'a AlertService,
}

impl Transcripts<'_> {
    /// Deletes the transcripts (or whole records) of `selection`.
    pub async fn delete(
        &self,
        actor: &Actor<'_>,
        selection: &Selection,
        deletion: Deletion,
    ) -> Result<DeletionReport, AlertError> {
        authorize(&actor.account.roles, Action::ManageTranscripts)?;
        let report = self.service.store().delete(selection, deletion).await?;
        let what = match deletion {
            Deletion::Transcripts => "transcripts",
            Deletion::Records => "records",
        };
        self.service
            .audit(
                actor,
                AuditAction::DeleteTranscripts,
                &format!(
                    "{what} of {selection:?}: {} texts, {} conversations",
                    report.texts, report.conversations
                ),
            )
            .await?;
        Ok(report)
    }

    /// The transcripts of `period` as a zip of text files.
    pub async fn export(
        &self,
        actor: &Actor<'_>,
        period: &TranscriptPeriod,
    ) -> Result<Vec<u8>, AlertError> {
        authorize(&actor.account.roles, Action::ManageTranscripts)?;
        let zip = self
            .service
            .store()
            .export_transcripts(&period.selection())
            .await?;
        self.service
            .audit(
                actor,
                AuditAction::ExportTranscripts,
                &format!("{} {}..{}", period.gateway, period.from, period.until),
            )
            .await?;
        Ok(zip)
    }
}
