//! Session rows (`web_sessions`, keyed by a hash of the cookie's token) and failed
//! sign-ins (`web_signin_failures`).

use chrono::{DateTime, Utc};
use textgate_store::{with_database, Database};

use super::SessionRow;
use crate::{AccountId, AlertError};

pub(super) async fn insert(
    database: &Database,
    token_hash: &str,
    account_id: Option<AccountId>,
    csrf_token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
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
pub(super) async fn session(
    database: &Database,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<SessionRow>, AlertError> {
    let row = with_database!(database, pool => {
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

pub(super) async fn delete(database: &Database, token_hash: &str) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Drops expired sessions (done now and then, at sign-in).
pub(super) async fn delete_expired(
    database: &Database,
    now: DateTime<Utc>,
) -> Result<u64, AlertError> {
    let n = with_database!(database, pool => {
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(n)
}

/// Records a failed sign-in.
pub(super) async fn record_signin_failure(
    database: &Database,
    email: &str,
    ip: &str,
    at: DateTime<Utc>,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query(
            "INSERT INTO web_signin_failures (email, ip_address, failed_at) VALUES ($1, $2, $3)",
        )
        .bind(email)
        .bind(ip)
        .bind(at)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Failed sign-ins since `since` for this account name and for this address.
pub(super) async fn signin_failures_since(
    database: &Database,
    email: &str,
    ip: &str,
    since: DateTime<Utc>,
) -> Result<(i64, i64), AlertError> {
    let counts: (i64, i64) = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT
               (SELECT COUNT(*) FROM web_signin_failures WHERE email = $1 AND failed_at > $3),
               (SELECT COUNT(*) FROM web_signin_failures WHERE ip_address = $2 AND failed_at > $3)",
        )
        .bind(email)
        .bind(ip)
        .bind(since)
        .fetch_one(pool)
        .await?
    });
    Ok(counts)
}
