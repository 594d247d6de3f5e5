//! The send log's table (`alert_sends`): one row per campaign and per single text, with the
//! campaign's state and the yearly-test record.

use chrono::{DateTime, Utc};
use textgate_store::{with_database, Database};

use super::{CampaignState, MessageType, NewSend, Send, SendKind, YearlyTest};
use crate::{AccountId, AlertError};

#[derive(sqlx::FromRow)]
struct SendRow {
    id: i64,
    kind: String,
    account_id: Option<i64>,
    account_email: String,
    body: String,
    recipients: i64,
    estimated_seconds: i64,
    confirmed_at: DateTime<Utc>,
    enqueued_at: Option<DateTime<Utc>>,
    yearly_description: Option<String>,
    yearly_date: Option<String>,
    yearly_time: Option<String>,
    yearly_announced: Option<bool>,
    campaign_state: Option<String>,
    unreachable: i64,
    decided_by: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    msg_type: Option<String>,
    refers_to: Option<i64>,
    audience_group: Option<String>,
    poll_choices: Option<String>,
    poll_resend_after: Option<i64>,
    poll_resent_at: Option<DateTime<Utc>>,
    poll_of: Option<i64>,
}

const SEND_COLUMNS: &str = "id, kind, account_id, account_email, body, recipients, \
    estimated_seconds, confirmed_at, enqueued_at, yearly_description, yearly_date, \
    yearly_time, yearly_announced, campaign_state, unreachable, decided_by, decided_at, msg_type, refers_to, audience_group, \
    poll_choices, poll_resend_after, poll_resent_at, poll_of";

fn send_from_row(r: SendRow) -> Result<Send, AlertError> {
    let kind = SendKind::parse(&r.kind).ok_or_else(|| AlertError::Corrupt {
        what: "send",
        detail: format!("{}: unknown kind {:?}", r.id, r.kind),
    })?;
    let yearly_test = match (
        r.yearly_description,
        r.yearly_date,
        r.yearly_time,
        r.yearly_announced,
    ) {
        (Some(description), Some(date), Some(time), Some(announced)) => Some(YearlyTest {
            description,
            date,
            time,
            announced,
        }),
        _ => None,
    };
    let campaign_state = match r.campaign_state.as_deref() {
        None => None,
        Some(text) => Some(
            CampaignState::parse(text).ok_or_else(|| AlertError::Corrupt {
                what: "send",
                detail: format!("{}: unknown campaign state {text:?}", r.id),
            })?,
        ),
    };
    let msg_type = match r.msg_type.as_deref() {
        None => MessageType::Alert,
        Some(text) => MessageType::parse(text).ok_or_else(|| AlertError::Corrupt {
            what: "send",
            detail: format!("{}: unknown message type {text:?}", r.id),
        })?,
    };
    Ok(Send {
        id: r.id,
        kind,
        account_id: r.account_id,
        account_email: r.account_email,
        body: r.body,
        recipients: r.recipients,
        estimated_seconds: r.estimated_seconds,
        confirmed_at: r.confirmed_at,
        enqueued_at: r.enqueued_at,
        yearly_test,
        campaign_state,
        unreachable: r.unreachable,
        decided_by: r.decided_by,
        decided_at: r.decided_at,
        msg_type,
        refers_to: r.refers_to,
        audience_group: r.audience_group,
        poll_choices: r.poll_choices,
        poll_resend_after: r.poll_resend_after,
        poll_resent_at: r.poll_resent_at,
        poll_of: r.poll_of,
    })
}

/// Records a send; a campaign with its `state` (`None` for a single text). Its id.
pub(crate) async fn insert(
    database: &Database,
    s: &NewSend<'_>,
    state: Option<CampaignState>,
    unreachable: i64,
) -> Result<i64, AlertError> {
    let y = s.yearly_test;
    let id: i64 = with_database!(database, pool => {
        sqlx::query_scalar(
            "INSERT INTO alert_sends (kind, account_id, account_email, body, recipients,
               estimated_seconds, confirmed_at, yearly_description, yearly_date, yearly_time,
               yearly_announced, campaign_state, unreachable, msg_type, refers_to,
               audience_group, poll_choices, poll_resend_after, poll_of)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, $18, $19)
             RETURNING id",
        )
        .bind(s.kind.as_str())
        .bind(s.account_id)
        .bind(s.account_email)
        .bind(s.body)
        .bind(s.recipients)
        .bind(s.estimated_seconds)
        .bind(s.confirmed_at)
        .bind(y.map(|y| y.description.clone()))
        .bind(y.map(|y| y.date.clone()))
        .bind(y.map(|y| y.time.clone()))
        .bind(y.map(|y| y.announced))
        .bind(state.map(CampaignState::as_str))
        .bind(unreachable)
        .bind(s.thread.map(|t| t.msg_type.as_str()))
        .bind(s.thread.map(|t| t.refers_to))
        .bind(s.group)
        .bind(s.poll.map(|p| p.poll.encoded()))
        .bind(
            s.poll
                .and_then(|p| p.poll.resend_after)
                .map(|d| d.num_seconds()),
        )
        .bind(s.poll.and_then(|p| p.reminder_of))
        .fetch_one(pool)
        .await?
    });
    Ok(id)
}

/// A single send's text is in the outbox.
pub(super) async fn mark_enqueued(
    database: &Database,
    id: i64,
    recipients: i64,
    at: DateTime<Utc>,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query("UPDATE alert_sends SET enqueued_at = $1, recipients = $2 WHERE id = $3")
            .bind(at)
            .bind(recipients)
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub(crate) async fn send(database: &Database, id: i64) -> Result<Option<Send>, AlertError> {
    let sql = format!("SELECT {SEND_COLUMNS} FROM alert_sends WHERE id = $1");
    let row: Option<SendRow> = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
    });
    row.map(send_from_row).transpose()
}

/// Campaigns in `state`, oldest first.
pub(crate) async fn in_state(
    database: &Database,
    state: CampaignState,
) -> Result<Vec<Send>, AlertError> {
    let sql =
        format!("SELECT {SEND_COLUMNS} FROM alert_sends WHERE campaign_state = $1 ORDER BY id");
    let rows: Vec<SendRow> = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(state.as_str()).fetch_all(pool).await?
    });
    rows.into_iter().map(send_from_row).collect()
}

/// Campaign `root` and every update and all clear that follows it, oldest first.
pub(crate) async fn thread(database: &Database, root: i64) -> Result<Vec<Send>, AlertError> {
    let sql = format!(
        "SELECT {SEND_COLUMNS} FROM alert_sends WHERE id = $1 OR refers_to = $1 ORDER BY id"
    );
    let rows: Vec<SendRow> = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(root).fetch_all(pool).await?
    });
    rows.into_iter().map(send_from_row).collect()
}

/// The send log: campaigns (test and real), newest first, each alert followed by its
/// updates and all clear.
pub(crate) async fn send_log(database: &Database, limit: i64) -> Result<Vec<Send>, AlertError> {
    let sql = format!(
        "SELECT {SEND_COLUMNS} FROM alert_sends WHERE kind IN ('test', 'real')
         ORDER BY COALESCE(refers_to, id) DESC, id LIMIT $1"
    );
    let rows: Vec<SendRow> = with_database!(database, pool => {
        sqlx::query_as(&sql).bind(limit).fetch_all(pool).await?
    });
    rows.into_iter().map(send_from_row).collect()
}

/// Times of this account's sends of `kind` since `since` (rate limits).
pub(crate) async fn send_times(
    database: &Database,
    account_id: AccountId,
    kind: SendKind,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, AlertError> {
    let times = with_database!(database, pool => {
        sqlx::query_scalar(
            "SELECT confirmed_at FROM alert_sends
             WHERE account_id = $1 AND kind = $2 AND confirmed_at > $3",
        )
        .bind(account_id)
        .bind(kind.as_str())
        .bind(since)
        .fetch_all(pool)
        .await?
    });
    Ok(times)
}
