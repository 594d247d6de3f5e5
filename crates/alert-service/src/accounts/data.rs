//! The accounts table (`web_accounts`): e-mail, argon2id password hash, roles (a
//! comma-separated list of role names) and whether the account is a designated tester.

use chrono::{DateTime, Utc};
use textgate_alerts::{Role, Roles};
use textgate_store::{with_database, Database};

use super::{role_name, Account, AccountChange, AccountId, ChangeOutcome};
use crate::AlertError;

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    email: String,
    roles: String,
    tester: bool,
}

pub(super) fn roles_text(roles: &Roles) -> String {
    roles.iter().map(role_name).collect::<Vec<_>>().join(",")
}

fn parse_roles(text: &str) -> Result<Roles, AlertError> {
    let mut roles = Vec::new();
    for name in text.split(',').filter(|n| !n.is_empty()) {
        roles.push(super::parse_role(name).ok_or_else(|| AlertError::Corrupt {
            what: "account roles",
            detail: format!("unknown role {name:?}"),
        })?);
    }
    Ok(Roles::new(roles))
}

impl TryFrom<AccountRow> for Account {
    type Error = AlertError;
    fn try_from(row: AccountRow) -> Result<Account, AlertError> {
        Ok(Account {
            id: row.id,
            email: row.email,
            roles: parse_roles(&row.roles)?,
            tester: row.tester,
        })
    }
}

/// Serialises account changes on PostgreSQL, so that two administrators demoting each
/// other at once cannot both pass the "someone else still holds the role" check. (On
/// SQLite `BEGIN IMMEDIATE` does the same.) The value is arbitrary but fixed.
const ACCOUNT_CHANGE_LOCK: i64 = 0x7465_7874_0104;

/// Runs `$body` in a transaction bound to `$tx` that no other account change runs
/// beside; commits when the body finishes (`?` or `return` rolls back).
macro_rules! account_change_transaction {
    ($database:expr, $tx:ident => $body:expr) => {
        match $database {
            Database::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(ACCOUNT_CHANGE_LOCK)
                    .execute(&mut *$tx)
                    .await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            Database::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// `LIKE` pattern matching a role in the comma-separated `roles` column wrapped in commas.
fn role_pattern(role: Role) -> String {
    format!("%,{},%", role_name(role))
}

/// Inserts an account; `None` when the e-mail address is taken.
pub(super) async fn insert(
    database: &Database,
    email: &str,
    password_hash: &str,
    roles: &Roles,
    now: DateTime<Utc>,
) -> Result<Option<AccountId>, AlertError> {
    let id: Option<i64> = with_database!(database, pool => {
        sqlx::query_scalar(
            "INSERT INTO web_accounts (email, password_hash, roles, tester, created_at)
             VALUES ($1, $2, $3, FALSE, $4) ON CONFLICT (email) DO NOTHING RETURNING id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(roles_text(roles))
        .bind(now)
        .fetch_optional(pool)
        .await?
    });
    Ok(id)
}

pub(crate) async fn account(
    database: &Database,
    id: AccountId,
) -> Result<Option<Account>, AlertError> {
    let row: Option<AccountRow> = with_database!(database, pool => {
        sqlx::query_as("SELECT id, email, roles, tester FROM web_accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    row.map(Account::try_from).transpose()
}

/// The account and its password hash, for sign-in.
pub(crate) async fn account_for_signin(
    database: &Database,
    email: &str,
) -> Result<Option<(Account, String)>, AlertError> {
    let row: Option<(i64, String, String, bool, String)> = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT id, email, roles, tester, password_hash FROM web_accounts WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(pool)
        .await?
    });
    row.map(|(id, email, roles, tester, hash)| {
        Account::try_from(AccountRow {
            id,
            email,
            roles,
            tester,
        })
        .map(|a| (a, hash))
    })
    .transpose()
}

pub(super) async fn accounts(database: &Database) -> Result<Vec<Account>, AlertError> {
    let rows: Vec<AccountRow> = with_database!(database, pool => {
        sqlx::query_as("SELECT id, email, roles, tester FROM web_accounts ORDER BY email")
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(Account::try_from).collect()
}

/// Applies `change` to account `id` if its roles are still `expected`, unless that would
/// leave one of the `protected` roles without a holder. The check and the change happen in
/// one transaction that other account changes wait for.
pub(super) async fn change_account(
    database: &Database,
    id: AccountId,
    expected: &Roles,
    change: &AccountChange,
    protected: &[Role],
) -> Result<ChangeOutcome, AlertError> {
    let outcome = account_change_transaction!(database, tx => {
        let current: Option<String> =
            sqlx::query_scalar("SELECT roles FROM web_accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(current) = current else {
            return Ok(ChangeOutcome::NotFound);
        };
        if parse_roles(&current)? != *expected {
            return Ok(ChangeOutcome::RolesChanged);
        }
        for &role in protected {
            let keeps = match change {
                AccountChange::SetRoles(roles) => roles.has(role),
                AccountChange::Remove => false,
            };
            if !expected.has(role) || keeps {
                continue;
            }
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM web_accounts
                 WHERE id <> $1 AND (',' || roles || ',') LIKE $2",
            )
            .bind(id)
            .bind(role_pattern(role))
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Ok(ChangeOutcome::LastHolder(role));
            }
        }
        match change {
            AccountChange::SetRoles(roles) => {
                sqlx::query("UPDATE web_accounts SET roles = $1 WHERE id = $2")
                    .bind(roles_text(roles))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            AccountChange::Remove => {
                sqlx::query("DELETE FROM web_accounts WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        ChangeOutcome::Done
    });
    Ok(outcome)
}

/// Marks account `id` as a designated tester or not; whether the account exists.
pub(super) async fn set_tester(
    database: &Database,
    id: AccountId,
    tester: bool,
) -> Result<bool, AlertError> {
    let done = with_database!(database, pool => {
        sqlx::query("UPDATE web_accounts SET tester = $1 WHERE id = $2")
            .bind(tester)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(done == 1)
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
