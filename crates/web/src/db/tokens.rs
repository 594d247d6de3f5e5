//! API bearer tokens: only a SHA-256 of each token is stored; a token is named by its
//! number when it is listed or revoked, never by its secret.

use chrono::{DateTime, Utc};

use super::{with_pool, AccountId, Db, DbError};

/// A token as it is listed: what it is for, whose it is and when it was made and last
/// used. Never the secret or its hash.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub account_id: AccountId,
    pub account_email: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

const TOKEN_COLUMNS: &str = "t.id, t.account_id, a.email AS account_email, t.label, \
    t.created_at, t.last_used_at";

impl Db {
    /// Stores a new token's hash; its number.
    pub async fn insert_api_token(
        &self,
        token_hash: &str,
        account_id: AccountId,
        label: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, DbError> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO web_api_tokens (token_hash, account_id, label, created_at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(label)
            .bind(now)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    /// The account a bearer token belongs to (and notes its use). A revoked token is
    /// gone from the table, so it finds nobody from the next request on.
    pub async fn api_token_account(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountId>, DbError> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "UPDATE web_api_tokens SET last_used_at = $2 WHERE token_hash = $1 RETURNING account_id",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(id)
    }

    /// The tokens of one account, or of every account when `owner` is `None`, by owner
    /// and then oldest first.
    pub async fn api_tokens(&self, owner: Option<AccountId>) -> Result<Vec<ApiToken>, DbError> {
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
        let rows = with_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            if let Some(owner) = owner {
                query = query.bind(owner);
            }
            query.fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn api_token(&self, id: i64) -> Result<Option<ApiToken>, DbError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM web_api_tokens t
             JOIN web_accounts a ON a.id = t.account_id WHERE t.id = $1"
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Deletes a token; whether it existed.
    pub async fn delete_api_token(&self, id: i64) -> Result<bool, DbError> {
        let done = with_pool!(self, pool => {
            sqlx::query("DELETE FROM web_api_tokens WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }
}
