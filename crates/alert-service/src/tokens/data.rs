//! The API tokens' table (`web_api_tokens`): only a SHA-256 of each token is stored; a
//! token is named by its number when it is listed or revoked, never by its secret.

use chrono::{DateTime, Utc};
use textgate_store::{with_database, Database};

use super::{ApiToken, TokenScope};
use crate::{AccountId, AlertError};

const TOKEN_COLUMNS: &str = "t.id, t.account_id, a.email AS account_email, t.label, \
    t.scope, t.created_at, t.last_used_at";

/// Stores a new token's hash; its number.
pub(super) async fn insert(
    database: &Database,
    token_hash: &str,
    account_id: AccountId,
    label: &str,
    scope: TokenScope,
    now: DateTime<Utc>,
) -> Result<i64, AlertError> {
    let id = with_database!(database, pool => {
        sqlx::query_scalar(
            "INSERT INTO web_api_tokens (token_hash, account_id, label, scope, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(label)
        .bind(scope.as_str())
        .bind(now)
        .fetch_one(pool)
        .await?
    });
    Ok(id)
}

/// A token's number, account and scope, noting its use.
pub(super) async fn bearer(
    database: &Database,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(i64, AccountId, TokenScope)>, AlertError> {
    let row: Option<(i64, AccountId, String)> = with_database!(database, pool => {
        sqlx::query_as(
            "UPDATE web_api_tokens SET last_used_at = $2 WHERE token_hash = $1
             RETURNING id, account_id, scope",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?
    });
    row.map(|(id, account, scope)| Ok((id, account, TokenScope::try_from(scope)?)))
        .transpose()
}

pub(super) async fn tokens(
    database: &Database,
    owner: Option<AccountId>,
) -> Result<Vec<ApiToken>, AlertError> {
    let filter = if owner.is_some() {
        "WHERE t.account_id = $1"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM web_api_tokens t
         JOIN web_accounts a ON a.id = t.account_id {filter}
         ORDER BY a.email, t.id"
    );
    let rows = with_database!(database, pool => {
        let mut query = sqlx::query_as(&sql);
        if let Some(owner) = owner {
            query = query.bind(owner);
        }
        query.fetch_all(pool).await?
    });
    Ok(rows)
}

pub(super) async fn token(database: &Database, id: i64) -> Result<Option<ApiToken>, AlertError> {
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM web_api_tokens t
         JOIN web_accounts a ON a.id = t.account_id WHERE t.id = $1"
    );
    let row = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
    });
    Ok(row)
}

/// Deletes a token; whether it existed.
pub(super) async fn delete(database: &Database, id: i64) -> Result<bool, AlertError> {
    let done = with_database!(database, pool => {
        sqlx::query("DELETE FROM web_api_tokens WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(done == 1)
}
