//! The audit log: every administrative action, with who, from where and when.

use chrono::{DateTime, Utc};

use super::{with_pool, AccountId, Db, DbError};

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub account_id: Option<AccountId>,
    pub account_email: String,
    pub ip_address: String,
    pub action: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

impl Db {
    pub async fn audit(
        &self,
        account_id: Option<AccountId>,
        account_email: &str,
        ip: &str,
        action: &str,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        with_pool!(self, pool => {
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
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, DbError> {
        let rows = with_pool!(self, pool => {
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
}
