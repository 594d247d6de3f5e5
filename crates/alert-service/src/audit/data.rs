//! The audit log's table (`web_audit_log`). It has no foreign key to the accounts: an
//! account's actions stay on record after it is removed.

use chrono::{DateTime, Utc};
use textgate_store::{with_database, Database};

use super::AuditEntry;
use crate::{AccountId, AlertError};

pub(super) async fn insert(
    database: &Database,
    account_id: Option<AccountId>,
    account_email: &str,
    ip: &str,
    action: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query(
            "INSERT INTO web_audit_log (account_id, account_email, ip_address, action, detail, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(account_id)
        .bind(account_email)
        .bind(ip)
        .bind(action)
        .bind(detail)
        .bind(at)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The latest `limit` entries, newest first.
pub(crate) async fn entries(
    database: &Database,
    limit: i64,
) -> Result<Vec<AuditEntry>, AlertError> {
    let rows = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT id, account_id, account_email, ip_address, action, detail, at
             FROM web_audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}
