//! The webhooks' tables (`webhook_deliveries`, `webhook_marks`) and the reads of the
//! store's `inbound`, `outbound` and `api_texts` the enqueuer judges events from.

use chrono::{DateTime, Utc};
use textgate_store::{with_database, BackendKind, Database};

use crate::AlertError;

/// Where a webhook's history starts and how far its enqueuer has judged.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub(super) struct Mark {
    pub inbound_cursor: i64,
    pub outbound_cursor: i64,
    pub alert_cursor: i64,
}

/// Records `webhook` the first time its name is seen, starting after the newest text in
/// each table; a mark already there stays (another daemon, or an earlier start, made it).
pub(super) async fn ensure_mark(
    database: &Database,
    webhook: &str,
    now: DateTime<Utc>,
) -> Result<Mark, AlertError> {
    with_database!(database, pool => {
        sqlx::query(
            "INSERT INTO webhook_marks (webhook, since_inbound_id, since_outbound_id,
                 inbound_cursor, outbound_cursor, alert_cursor, created_at)
             SELECT $1, i.newest, o.newest, i.newest, o.newest, a.newest, $2
             FROM (SELECT COALESCE(MAX(id), 0) AS newest FROM inbound) i,
                  (SELECT COALESCE(MAX(id), 0) AS newest FROM outbound) o,
                  (SELECT COALESCE(MAX(id), 0) AS newest FROM alert_sends) a
             WHERE true
             ON CONFLICT (webhook) DO NOTHING",
        )
        .bind(webhook)
        .bind(now)
        .execute(pool)
        .await?;
    });
    // `WHERE true`: SQLite otherwise reads the upsert's ON as a join's.
    let mark = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT inbound_cursor, outbound_cursor, alert_cursor FROM webhook_marks
             WHERE webhook = $1",
        )
        .bind(webhook)
        .fetch_one(pool)
        .await?
    });
    Ok(mark)
}

/// Moves a cursor forward (never back: another daemon may have gone further).
pub(super) async fn advance_cursor(
    database: &Database,
    webhook: &str,
    cursor: Cursor,
    to: i64,
) -> Result<(), AlertError> {
    let column = match cursor {
        Cursor::Inbound => "inbound_cursor",
        Cursor::Outbound => "outbound_cursor",
        Cursor::Alert => "alert_cursor",
    };
    let sql =
        format!("UPDATE webhook_marks SET {column} = $2 WHERE webhook = $1 AND {column} < $2");
    with_database!(database, pool => {
        sqlx::query(&sql).bind(webhook).bind(to).execute(pool).await?;
    });
    Ok(())
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Cursor {
    Inbound,
    Outbound,
    Alert,
}

/// Up to `limit` real alerts (alerts, updates and all clears) after `cursor`, oldest
/// first: the ones `alert.published` may be about.
pub(super) async fn real_alerts_after(
    database: &Database,
    cursor: i64,
    limit: i64,
) -> Result<Vec<i64>, AlertError> {
    let ids = with_database!(database, pool => {
        sqlx::query_scalar(
            "SELECT id FROM alert_sends WHERE id > $1 AND kind = 'real' ORDER BY id LIMIT $2",
        )
        .bind(cursor)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(ids)
}

/// A received text as the enqueuer judges it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct InboundRow {
    pub id: i64,
    pub gateway: String,
    pub sender: String,
    pub received_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub body: Option<String>,
    /// Set when the desk had blocked the sender: such a text reaches nobody.
    pub blocked_at: Option<DateTime<Utc>>,
}

/// Up to `limit` received texts after `cursor`, oldest id first.
pub(super) async fn inbound_after(
    database: &Database,
    cursor: i64,
    limit: i64,
) -> Result<Vec<InboundRow>, AlertError> {
    let rows = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT id, gateway, sender, received_at, delivered_at, body, blocked_at FROM inbound
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(cursor)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}

/// A text sent through the send API as the enqueuer judges it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct ApiTextRow {
    pub outbound_id: i64,
    pub client_key: String,
    pub parts: i32,
    pub recorded_at: DateTime<Utc>,
    pub gateway: String,
    pub state: String,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Up to `limit` texts sent through the API after `cursor`, oldest id first.
pub(super) async fn api_texts_after(
    database: &Database,
    cursor: i64,
    limit: i64,
) -> Result<Vec<ApiTextRow>, AlertError> {
    let rows = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT a.outbound_id, a.client_key, a.parts, a.created_at AS recorded_at,
                    o.gateway, o.state, o.sent_at
             FROM api_texts a JOIN outbound o ON o.id = a.outbound_id
             WHERE a.outbound_id > $1 ORDER BY a.outbound_id LIMIT $2",
        )
        .bind(cursor)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}

/// Enqueues one delivery unless the (webhook, event, subject) has one; whether it is new.
pub(super) async fn insert_delivery(
    database: &Database,
    webhook: &str,
    event: &str,
    subject_id: i64,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<bool, AlertError> {
    let inserted = with_database!(database, pool => {
        sqlx::query(
            "INSERT INTO webhook_deliveries (webhook, event, subject_id, payload, state,
                 attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)
             ON CONFLICT (webhook, event, subject_id) DO NOTHING",
        )
        .bind(webhook)
        .bind(event)
        .bind(subject_id)
        .bind(payload)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(inserted > 0)
}

/// A delivery leased for one attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct Claimed {
    pub id: i64,
    pub webhook: String,
    pub event: String,
    pub payload: Option<String>,
    /// Including this attempt.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    /// The lease: the row's `next_attempt_at` while this attempt runs. Recording the
    /// outcome checks it, so an attempt whose lease ran out and was taken over records
    /// nothing.
    pub next_attempt_at: DateTime<Utc>,
}

/// Leases up to `limit` due deliveries of the configured `webhooks` until `lease_until`,
/// counting an attempt each. PostgreSQL skips rows another daemon is leasing right now;
/// SQLite has one writer at a time.
pub(super) async fn claim_due(
    database: &Database,
    webhooks: &[String],
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Claimed>, AlertError> {
    if webhooks.is_empty() {
        return Ok(Vec::new());
    }
    let lock = match database.kind() {
        BackendKind::Postgres => "FOR UPDATE SKIP LOCKED",
        BackendKind::Sqlite => "",
    };
    let names = (0..webhooks.len())
        .map(|i| format!("${}", 4 + i))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE webhook_deliveries SET next_attempt_at = $2, attempts = attempts + 1
         WHERE id IN (
             SELECT id FROM webhook_deliveries
             WHERE state = 'pending' AND next_attempt_at <= $1 AND webhook IN ({names})
             ORDER BY next_attempt_at, id LIMIT $3 {lock})
         RETURNING id, webhook, event, payload, attempts, created_at, next_attempt_at"
    );
    let rows = with_database!(database, pool => {
        let mut query = sqlx::query_as(&sql).bind(now).bind(lease_until).bind(limit);
        for name in webhooks {
            query = query.bind(name);
        }
        query.fetch_all(pool).await?
    });
    Ok(rows)
}

/// How an attempt ended, for the row.
pub(super) enum Outcome<'a> {
    Delivered {
        status: i32,
    },
    Retry {
        status: Option<i32>,
        error: &'a str,
        at: DateTime<Utc>,
    },
    GaveUp {
        status: Option<i32>,
        error: &'a str,
    },
}

/// Records an attempt's outcome if the lease still holds. A final delivery drops its
/// payload: the row stays for the log, the patron's text does not.
pub(super) async fn record(
    database: &Database,
    claimed: &Claimed,
    outcome: Outcome<'_>,
    now: DateTime<Utc>,
) -> Result<bool, AlertError> {
    let (state, status, error, next, delivered_at) = match outcome {
        Outcome::Delivered { status } => ("delivered", Some(status), None, now, Some(now)),
        Outcome::Retry { status, error, at } => ("pending", status, Some(error), at, None),
        Outcome::GaveUp { status, error } => ("failed", status, Some(error), now, None),
    };
    let changed = with_database!(database, pool => {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $3, last_status = $4, last_error = $5,
                 next_attempt_at = $6, delivered_at = $7,
                 payload = CASE WHEN $3 = 'pending' THEN payload ELSE NULL END
             WHERE id = $1 AND state = 'pending' AND next_attempt_at = $2",
        )
        .bind(claimed.id)
        .bind(claimed.next_attempt_at)
        .bind(state)
        .bind(status)
        .bind(error)
        .bind(next)
        .bind(delivered_at)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(changed > 0)
}

/// How many deliveries of `webhook` are in each state: (pending, delivered, failed).
pub(super) async fn counts(
    database: &Database,
    webhook: &str,
) -> Result<(i64, i64, i64), AlertError> {
    let rows: Vec<(String, i64)> = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT state, COUNT(*) FROM webhook_deliveries WHERE webhook = $1 GROUP BY state",
        )
        .bind(webhook)
        .fetch_all(pool)
        .await?
    });
    let count = |state: &str| rows.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
    Ok((count("pending"), count("delivered"), count("failed")))
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub webhook: String,
    pub event: String,
    /// The inbound id (`text.received`) or the API text's id (`text.delivered`,
    /// `text.failed`).
    pub subject_id: i64,
    pub state: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
}

/// Deliveries, newest first, optionally of one webhook and in one state.
pub(super) async fn deliveries(
    database: &Database,
    webhook: Option<&str>,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<DeliveryRecord>, AlertError> {
    // `$1 IS NULL` with a typed NULL keeps one statement for every filter combination.
    let rows = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT id, webhook, event, subject_id, state, attempts, last_status, last_error,
                    created_at, delivered_at, next_attempt_at
             FROM webhook_deliveries
             WHERE ($1 IS NULL OR webhook = $1) AND ($2 IS NULL OR state = $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(webhook)
        .bind(state)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}
