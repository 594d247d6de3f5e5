//! Session rows, keyed by a hash of the cookie value.

use chrono::{DateTime, Utc};

use super::{with_pool, AccountId, Db, DbError};

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: String,
    pub account_id: Option<AccountId>,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl Db {
    pub async fn insert_session(
        &self,
        token_hash: &str,
        account_id: Option<AccountId>,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO web_sessions (token_hash, account_id, csrf_token, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The session with this hash if it has not expired.
    pub async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, DbError> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT token_hash, account_id, csrf_token, expires_at FROM web_sessions
                 WHERE token_hash = $1 AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), DbError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Drops expired sessions (called now and then at sign-in).
    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, DbError> {
        let n = with_pool!(self, pool => {
            sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }
}
