//! Status reports that matched no sent part yet, kept so that a restart does not lose them:
//! the gateway tries them again after each recorded send, and at start.

use chrono::{DateTime, Utc};

use crate::backend::with_pool;
use crate::{PartOutcome, Store, StoreError};

/// A kept status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptReport {
    pub id: i64,
    /// The reference the report named its part by (see [`crate::SentPart::message_ref`]).
    pub message_ref: String,
    pub outcome: PartOutcome,
    /// The number the report is about, as the network wrote it, when it said.
    pub recipient: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// id, message_ref, status, reason, recipient, received_at.
type ReportRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
);

const REPORT_COLUMNS: &str = "id, message_ref, status, reason, recipient, received_at";

impl Store {
    /// Keeps a report that matched nothing, about a part sent to `recipient` (when the
    /// report said); returns its id.
    pub async fn keep_unmatched_report(
        &self,
        gateway: &str,
        message_ref: &str,
        outcome: &PartOutcome,
        recipient: Option<&str>,
    ) -> Result<i64, StoreError> {
        let now = self.now();
        let (status, reason) = match outcome {
            PartOutcome::Delivered => ("delivered", None),
            PartOutcome::Failed { reason } => ("failed", Some(reason.as_str())),
        };
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO unmatched_reports
                     (gateway, message_ref, status, reason, received_at, recipient)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING id",
            )
            .bind(gateway)
            .bind(message_ref)
            .bind(status)
            .bind(reason)
            .bind(now)
            .bind(recipient)
            .fetch_one(pool)
            .await?
        }))
    }

    /// The reports of `gateway` kept unmatched, oldest first.
    pub async fn unmatched_reports(&self, gateway: &str) -> Result<Vec<KeptReport>, StoreError> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM unmatched_reports WHERE gateway = $1 ORDER BY id"
        );
        let rows: Vec<ReportRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(gateway).fetch_all(pool).await?
        });
        reports(rows)
    }

    /// The kept reports of `gateway` about `recipient` received at `since` or later whose
    /// reference names no part recorded since then, oldest first: the candidates for a
    /// part whose outcome an attempt lost ([`crate::OutboundText::unsure_since`]). Numbers
    /// are compared by their digits, so `+15551234567` and `15551234567` are one.
    pub async fn unmatched_reports_about(
        &self,
        gateway: &str,
        recipient: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<KeptReport>, StoreError> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM unmatched_reports r
             WHERE gateway = $1 AND received_at >= $2 AND recipient IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM outbound_parts p
                               WHERE p.gateway = r.gateway AND p.message_ref = r.message_ref
                                 AND p.sent_at >= $2)
             ORDER BY id"
        );
        let rows: Vec<ReportRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(gateway).bind(since).fetch_all(pool).await?
        });
        let digits = |n: &str| n.chars().filter(char::is_ascii_digit).collect::<String>();
        let wanted = digits(recipient);
        Ok(reports(rows)?
            .into_iter()
            .filter(|r| r.recipient.as_deref().map(digits).as_deref() == Some(wanted.as_str()))
            .collect())
    }

    /// Forgets a kept report once it matched, or aged out.
    pub async fn forget_unmatched_report(&self, id: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM unmatched_reports WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

fn reports(rows: Vec<ReportRow>) -> Result<Vec<KeptReport>, StoreError> {
    rows.into_iter()
        .map(
            |(id, message_ref, status, reason, recipient, received_at)| {
                let outcome = match status.as_str() {
                    "delivered" => PartOutcome::Delivered,
                    "failed" => PartOutcome::Failed {
                        reason: reason.unwrap_or_default(),
                    },
                    _ => {
                        return Err(StoreError::corrupt(
                            "unmatched status report",
                            format!("{id}: reference {message_ref:?}, status {status:?}"),
                        ))
                    }
                };
                Ok(KeptReport {
                    id,
                    message_ref,
                    outcome,
                    recipient,
                    received_at,
                })
            },
        )
        .collect()
}
