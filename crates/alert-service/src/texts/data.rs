//! The send API's table (`api_texts`): one row per text, naming its outbox row, the
//! account that sent it, the caller's key and what the request was.

use chrono::{DateTime, Utc};
use textgate_store::{with_database, Database};

use crate::{AccountId, AlertError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct ApiTextRow {
    pub outbound_id: i64,
    pub account_id: AccountId,
    pub request_hash: String,
    pub parts: i32,
}

const COLUMNS: &str = "outbound_id, account_id, request_hash, parts";

/// The text `account` sent with `key`.
pub(super) async fn by_key(
    database: &Database,
    account: AccountId,
    key: &str,
) -> Result<Option<ApiTextRow>, AlertError> {
    let sql = format!("SELECT {COLUMNS} FROM api_texts WHERE account_id = $1 AND client_key = $2");
    let row = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(account).bind(key).fetch_optional(pool).await?
    });
    Ok(row)
}

/// The record of outbox text `id`, if it came through the API.
pub(super) async fn by_id(database: &Database, id: i64) -> Result<Option<ApiTextRow>, AlertError> {
    let sql = format!("SELECT {COLUMNS} FROM api_texts WHERE outbound_id = $1");
    let row = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
    });
    Ok(row)
}

/// Records a queued text; a record already there (for this text or this key) stays.
pub(super) async fn insert(
    database: &Database,
    outbound_id: i64,
    account: AccountId,
    key: &str,
    request_hash: &str,
    parts: u32,
    now: DateTime<Utc>,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query(
            "INSERT INTO api_texts (outbound_id, account_id, client_key, request_hash, parts, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(outbound_id)
        .bind(account)
        .bind(key)
        .bind(request_hash)
        .bind(i32::try_from(parts).unwrap_or(i32::MAX))
        .bind(now)
        .execute(pool)
        .await?;
    });
    Ok(())
}
