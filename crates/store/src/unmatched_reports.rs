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
    pub received_at: DateTime<Utc>,
}

/// id, message_ref, status, reason, received_at.
type ReportRow = (i64, String, String, Option<String>, DateTime<Utc>);

impl Store {
    /// Keeps a report that matched nothing; returns its id.
    pub async fn keep_unmatched_report(
        &self,
        gateway: &str,
        message_ref: &str,
        outcome: &PartOutcome,
    ) -> Result<i64, StoreError> {
        let now = self.now();
        let (status, reason) = match outcome {
            PartOutcome::Delivered => ("delivered", None),
            PartOutcome::Failed { reason } => ("failed", Some(reason.as_str())),
        };
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO unmatched_reports (gateway, message_ref, status, reason, received_at)
                 VALUES ($1, $2, $3, $4, $5)
                 RETURNING id",
            )
            .bind(gateway)
            .bind(message_ref)
            .bind(status)
            .bind(reason)
            .bind(now)
            .fetch_one(pool)
            .await?
        }))
    }

    /// The reports of `gateway` kept unmatched, oldest first.
    pub async fn unmatched_reports(&self, gateway: &str) -> Result<Vec<KeptReport>, StoreError> {
        let rows: Vec<ReportRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, message_ref, status, reason, received_at
                 FROM unmatched_reports WHERE gateway = $1 ORDER BY id",
            )
            .bind(gateway)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, message_ref, status, reason, received_at)| {
                let corrupt = || {
                    StoreError::corrupt(
                        "unmatched status report",
                        format!("{id}: reference {message_ref:?}, status {status:?}"),
                    )
                };
                let outcome = match status.as_str() {
                    "delivered" => PartOutcome::Delivered,
                    "failed" => PartOutcome::Failed {
                        reason: reason.unwrap_or_default(),
                    },
                    _ => return Err(corrupt()),
                };
                Ok(KeptReport {
                    id,
                    message_ref,
                    outcome,
                    received_at,
                })
            })
            .collect()
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
