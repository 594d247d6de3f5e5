//! The scheduled tests' table (`alert_schedules`).

use chrono::{DateTime, Utc};
use textgate_store::{with_database, Database};

use super::Schedule;
use crate::{Account, AlertError};

const COLUMNS: &str =
    "id, account_id, account_email, body, next_at, repeat_days, state, last_campaign_id";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    account_id: i64,
    account_email: String,
    body: String,
    next_at: DateTime<Utc>,
    repeat_days: Option<i64>,
    state: String,
    last_campaign_id: Option<i64>,
}

impl From<Row> for Schedule {
    fn from(r: Row) -> Schedule {
        Schedule {
            id: r.id,
            account_id: r.account_id,
            account_email: r.account_email,
            body: r.body,
            next_at: r.next_at,
            repeat_days: r.repeat_days,
            state: r.state,
            last_campaign_id: r.last_campaign_id,
        }
    }
}

pub(super) async fn insert(
    database: &Database,
    account: &Account,
    body: &str,
    at: DateTime<Utc>,
    repeat_days: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, AlertError> {
    let id = with_database!(database, pool => {
        sqlx::query_scalar(
            "INSERT INTO alert_schedules (account_id, account_email, body, next_at, repeat_days,
               state, created_at)
             VALUES ($1, $2, $3, $4, $5, 'scheduled', $6) RETURNING id",
        )
        .bind(account.id)
        .bind(&account.email)
        .bind(body)
        .bind(at)
        .bind(repeat_days)
        .bind(now)
        .fetch_one(pool)
        .await?
    });
    Ok(id)
}

pub(super) async fn in_state(
    database: &Database,
    state: &str,
) -> Result<Vec<Schedule>, AlertError> {
    let sql =
        format!("SELECT {COLUMNS} FROM alert_schedules WHERE state = $1 ORDER BY next_at, id");
    let rows: Vec<Row> = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(state).fetch_all(pool).await?
    });
    Ok(rows.into_iter().map(Schedule::from).collect())
}

pub(super) async fn due(
    database: &Database,
    now: DateTime<Utc>,
) -> Result<Vec<Schedule>, AlertError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM alert_schedules WHERE state = 'scheduled' AND next_at <= $1
         ORDER BY next_at, id"
    );
    let rows: Vec<Row> = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(now).fetch_all(pool).await?
    });
    Ok(rows.into_iter().map(Schedule::from).collect())
}

/// Claims the occurrence `schedule` was read with, moving it to `next` (or `done`). False
/// when someone else claimed or cancelled it first.
pub(super) async fn claim(
    database: &Database,
    schedule: &Schedule,
    next: Option<DateTime<Utc>>,
) -> Result<bool, AlertError> {
    let changed = with_database!(database, pool => {
        sqlx::query(
            "UPDATE alert_schedules
             SET next_at = COALESCE($1, next_at),
                 state = CASE WHEN $1 IS NULL THEN 'done' ELSE 'scheduled' END
             WHERE id = $2 AND state = 'scheduled' AND next_at = $3",
        )
        .bind(next)
        .bind(schedule.id)
        .bind(schedule.next_at)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}

pub(super) async fn set_last_campaign(
    database: &Database,
    id: i64,
    campaign: i64,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query("UPDATE alert_schedules SET last_campaign_id = $1 WHERE id = $2")
            .bind(campaign)
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub(super) async fn cancel(database: &Database, id: i64) -> Result<bool, AlertError> {
    let changed = with_database!(database, pool => {
        sqlx::query(
            "UPDATE alert_schedules SET state = 'cancelled' WHERE id = $1 AND state = 'scheduled'",
        )
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}
