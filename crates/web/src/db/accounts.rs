//! Accounts: e-mail, argon2id password hash, roles, and whether the account is a
//! designated tester (receives technical administrators' test sends).

use chrono::{DateTime, Utc};
use textgate_alerts::{Role, Roles};

use super::{with_pool, Db, DbError};

/// An account's primary key.
pub type AccountId = i64;

/// A stored account (never the password hash outside this module's callers in `auth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub roles: Roles,
    pub tester: bool,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    email: String,
    roles: String,
    tester: bool,
}

/// The stable name of a role in the database and the JSON API.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::TechnicalAdministrator => "technical-administrator",
        Role::EmergencyAdministrator => "emergency-administrator",
        Role::TranscriptAdministrator => "transcript-administrator",
    }
}

pub fn parse_role(name: &str) -> Option<Role> {
    Role::ALL.into_iter().find(|r| role_name(*r) == name)
}

pub(crate) fn roles_text(roles: &Roles) -> String {
    roles.iter().map(role_name).collect::<Vec<_>>().join(",")
}

fn parse_roles(text: &str) -> Result<Roles, DbError> {
    let mut roles = Vec::new();
    for name in text.split(',').filter(|n| !n.is_empty()) {
        roles.push(parse_role(name).ok_or_else(|| DbError::Corrupt {
            what: "account roles",
            detail: format!("unknown role {name:?}"),
        })?);
    }
    Ok(Roles::new(roles))
}

impl TryFrom<AccountRow> for Account {
    type Error = DbError;
    fn try_from(row: AccountRow) -> Result<Account, DbError> {
        Ok(Account {
            id: row.id,
            email: row.email,
            roles: parse_roles(&row.roles)?,
            tester: row.tester,
        })
    }
}

/// What to do to an account whose roles are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Give it exactly these roles.
    SetRoles(Roles),
    /// Delete it; its sessions, API tokens and registration go with it.
    Remove,
}

/// How a guarded account change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOutcome {
    Done,
    /// No such account (any more).
    NotFound,
    /// Its roles are no longer the ones the change was checked against.
    RolesChanged,
    /// The change would leave nobody holding this role.
    LastHolder(Role),
}

/// Serialises account changes on PostgreSQL, so that two administrators demoting each
/// other at once cannot both pass the "someone else still holds the role" check. (On
/// SQLite `BEGIN IMMEDIATE` does the same.) The value is arbitrary but fixed.
const ACCOUNT_CHANGE_LOCK: i64 = 0x7465_7874_0104;

/// Runs `$body` in a transaction bound to `$tx` that no other account change runs
/// beside; commits when the body finishes (`?` or `return` rolls back).
macro_rules! account_change_transaction {
    ($db:expr, $tx:ident => $body:expr) => {
        match $db {
            Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(ACCOUNT_CHANGE_LOCK)
                    .execute(&mut *$tx)
                    .await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            Db::Sqlite(pool) => {
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

impl Db {
    /// Inserts an account; `None` when the e-mail address is taken.
    pub async fn insert_account(
        &self,
        email: &str,
        password_hash: &str,
        roles: &Roles,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountId>, DbError> {
        let id: Option<i64> = with_pool!(self, pool => {
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

    pub async fn account(&self, id: AccountId) -> Result<Option<Account>, DbError> {
        let row: Option<AccountRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, email, roles, tester FROM web_accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Account::try_from).transpose()
    }

    /// The account and its password hash, for sign-in.
    pub async fn account_for_signin(
        &self,
        email: &str,
    ) -> Result<Option<(Account, String)>, DbError> {
        let row: Option<(i64, String, String, bool, String)> = with_pool!(self, pool => {
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

    pub async fn accounts(&self) -> Result<Vec<Account>, DbError> {
        let rows: Vec<AccountRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, email, roles, tester FROM web_accounts ORDER BY email")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Account::try_from).collect()
    }

    /// Applies `change` to account `id` if its roles are still `expected`, unless that
    /// would leave one of the `protected` roles without a holder. The check and the
    /// change happen in one transaction that other account changes wait for.
    pub async fn change_account(
        &self,
        id: AccountId,
        expected: &Roles,
        change: &AccountChange,
        protected: &[Role],
    ) -> Result<ChangeOutcome, DbError> {
        let outcome = account_change_transaction!(self, tx => {
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

    pub async fn set_tester(&self, id: AccountId, tester: bool) -> Result<bool, DbError> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE web_accounts SET tester = $1 WHERE id = $2")
                .bind(tester)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Records a failed sign-in.
    pub async fn record_signin_failure(
        &self,
        email: &str,
        ip: &str,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        with_pool!(self, pool => {
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
    pub async fn signin_failures_since(
        &self,
        email: &str,
        ip: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, i64), DbError> {
        let counts: (i64, i64) = with_pool!(self, pool => {
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
}
