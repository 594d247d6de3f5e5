//! Members' tables: registrations (`alert_registrations`: the number encrypted and its
//! blind index, the carrier, the subscription state and a pending confirmation), the
//! opt-outs remembered for numbers nobody registered (`alert_opt_outs`), and the test log
//! (`alert_test_log`, which has no foreign key, so it survives a member's removal).

use chrono::{DateTime, Utc};
use textgate_store::{with_database, Database};

use crate::{AccountId, AlertError};

/// A member's registration as stored: the number only in encrypted form.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct Registration {
    pub account_id: AccountId,
    pub number_enc: String,
    pub number_index: String,
    pub carrier: Option<String>,
    /// `awaiting-confirmation`, `active` or `opted-out`.
    pub state: String,
    /// The pending confirmation code record (JSON of `PendingConfirmation`).
    pub confirmation: Option<String>,
    pub last_updated: DateTime<Utc>,
    pub last_tested: Option<DateTime<Utc>>,
}

/// One row of the test log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct TestLogRow {
    pub test_id: i64,
    pub account_id: AccountId,
    pub ip_address: String,
    pub gateway: String,
    pub number_enc: String,
    pub number_index: String,
    pub sent_at: DateTime<Utc>,
}

/// A confirmed registration whose details are getting old: a candidate for the review
/// reminder.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct StaleRegistration {
    pub account_id: AccountId,
    pub number_enc: String,
    pub last_updated: DateTime<Utc>,
    pub last_reminded: Option<DateTime<Utc>>,
}

const REGISTRATION_COLUMNS: &str = "account_id, number_enc, number_index, carrier, state, \
    confirmation, last_updated, last_tested";

pub(super) async fn registration(
    database: &Database,
    account_id: AccountId,
) -> Result<Option<Registration>, AlertError> {
    let sql =
        format!("SELECT {REGISTRATION_COLUMNS} FROM alert_registrations WHERE account_id = $1");
    let row = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(account_id).fetch_optional(pool).await?
    });
    Ok(row)
}

pub(super) async fn registration_by_index(
    database: &Database,
    number_index: &str,
) -> Result<Option<Registration>, AlertError> {
    let sql =
        format!("SELECT {REGISTRATION_COLUMNS} FROM alert_registrations WHERE number_index = $1");
    let row = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(number_index).fetch_optional(pool).await?
    });
    Ok(row)
}

/// Inserts or replaces the member's registration.
pub(super) async fn save_registration(
    database: &Database,
    r: &Registration,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query(
            "INSERT INTO alert_registrations
               (account_id, number_enc, number_index, carrier, state, confirmation,
                last_updated, last_tested)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (account_id) DO UPDATE SET
               number_enc = excluded.number_enc, number_index = excluded.number_index,
               carrier = excluded.carrier, state = excluded.state,
               confirmation = excluded.confirmation, last_updated = excluded.last_updated,
               last_tested = excluded.last_tested",
        )
        .bind(r.account_id)
        .bind(&r.number_enc)
        .bind(&r.number_index)
        .bind(&r.carrier)
        .bind(&r.state)
        .bind(&r.confirmation)
        .bind(r.last_updated)
        .bind(r.last_tested)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Confirmed registrations last updated before `before`, with when they were last
/// reminded.
pub(super) async fn stale_registrations(
    database: &Database,
    before: DateTime<Utc>,
) -> Result<Vec<StaleRegistration>, AlertError> {
    let rows = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT account_id, number_enc, last_updated, last_reminded FROM alert_registrations
             WHERE state = 'active' AND last_updated < $1 ORDER BY account_id",
        )
        .bind(before)
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}

pub(super) async fn set_last_reminded(
    database: &Database,
    account_id: AccountId,
    at: DateTime<Utc>,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query("UPDATE alert_registrations SET last_reminded = $1 WHERE account_id = $2")
            .bind(at)
            .bind(account_id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub(super) async fn delete_registration(
    database: &Database,
    account_id: AccountId,
) -> Result<bool, AlertError> {
    let n = with_database!(database, pool => {
        sqlx::query("DELETE FROM alert_registrations WHERE account_id = $1")
            .bind(account_id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(n == 1)
}

pub(super) async fn set_registration_state(
    database: &Database,
    number_index: &str,
    state: &str,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query("UPDATE alert_registrations SET state = $1 WHERE number_index = $2")
            .bind(state)
            .bind(number_index)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub(super) async fn remember_opt_out(
    database: &Database,
    number_index: &str,
    at: DateTime<Utc>,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query(
            "INSERT INTO alert_opt_outs (number_index, opted_out_at) VALUES ($1, $2)
             ON CONFLICT (number_index) DO UPDATE SET opted_out_at = excluded.opted_out_at",
        )
        .bind(number_index)
        .bind(at)
        .execute(pool)
        .await?;
    });
    Ok(())
}

pub(super) async fn forget_opt_out(
    database: &Database,
    number_index: &str,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query("DELETE FROM alert_opt_outs WHERE number_index = $1")
            .bind(number_index)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub(super) async fn is_opted_out(
    database: &Database,
    number_index: &str,
) -> Result<bool, AlertError> {
    let n: i64 = with_database!(database, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM alert_opt_outs WHERE number_index = $1")
            .bind(number_index)
            .fetch_one(pool)
            .await?
    });
    Ok(n > 0)
}

pub(super) async fn insert_test_log(
    database: &Database,
    row: &TestLogRow,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query(
            "INSERT INTO alert_test_log
               (test_id, account_id, ip_address, gateway, number_enc, number_index, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(row.test_id)
        .bind(row.account_id)
        .bind(&row.ip_address)
        .bind(&row.gateway)
        .bind(&row.number_enc)
        .bind(&row.number_index)
        .bind(row.sent_at)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Times of tests since `since` by this account and to this number.
pub(super) async fn test_times(
    database: &Database,
    account_id: AccountId,
    number_index: &str,
    since: DateTime<Utc>,
) -> Result<(Vec<DateTime<Utc>>, Vec<DateTime<Utc>>), AlertError> {
    let (by_account, to_number) = with_database!(database, pool => {
        let a: Vec<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT sent_at FROM alert_test_log WHERE account_id = $1 AND sent_at > $2",
        )
        .bind(account_id)
        .bind(since)
        .fetch_all(pool)
        .await?;
        let n: Vec<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT sent_at FROM alert_test_log WHERE number_index = $1 AND sent_at > $2",
        )
        .bind(number_index)
        .bind(since)
        .fetch_all(pool)
        .await?;
        (a, n)
    });
    Ok((by_account, to_number))
}

/// The latest `limit` tests, newest first.
pub(crate) async fn test_log(
    database: &Database,
    limit: i64,
) -> Result<Vec<TestLogRow>, AlertError> {
    let rows = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT test_id, account_id, ip_address, gateway, number_enc, number_index, sent_at
             FROM alert_test_log ORDER BY sent_at DESC, test_id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}
