//! Campaigns' queries: recording one (a send-log row in state `enqueueing`), its recipients
//! (confirmed registrations, testers only for a test), what of it is already in the store's
//! outbox, and its progress counted from the outbox.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use textgate_store::{with_database, Database};

use textgate_alerts::throughput::SentSpan;

use super::{CampaignCounts, Recipients};
use crate::sends::{self, CampaignState, NewSend};
use crate::{AccountId, AlertError};

/// Records a confirmed campaign (test or real) in state `enqueueing`: from this commit on,
/// a daemon that finds it unfinished resumes it.
pub(super) async fn insert_campaign(
    database: &Database,
    s: &NewSend<'_>,
    state: CampaignState,
    unreachable: i64,
) -> Result<i64, AlertError> {
    sends::data::insert(database, s, Some(state), unreachable).await
}

/// Moves a real alert awaiting approval to `to`, recording who decided (none: it expired)
/// and when. False when it was no longer awaiting approval: someone decided first.
pub(super) async fn decide(
    database: &Database,
    id: i64,
    to: CampaignState,
    by: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, AlertError> {
    let changed = with_database!(database, pool => {
        sqlx::query(
            "UPDATE alert_sends SET campaign_state = $1, decided_by = $2, decided_at = $3
             WHERE id = $4 AND campaign_state = 'awaiting-approval'",
        )
        .bind(to.as_str())
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}

/// Real alerts awaiting a second administrator, oldest first.
pub(super) async fn awaiting_approval(database: &Database) -> Result<Vec<sends::Send>, AlertError> {
    sends::data::in_state(database, CampaignState::AwaitingApproval).await
}

/// Campaigns whose deliveries are not all in the outbox yet, oldest first.
pub(super) async fn campaigns_enqueueing(database: &Database) -> Result<Vec<i64>, AlertError> {
    let ids = with_database!(database, pool => {
        sqlx::query_scalar(
            "SELECT id FROM alert_sends WHERE campaign_state = 'enqueueing' ORDER BY id",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(ids)
}

/// Every delivery of the campaign is in the outbox: `recipients` of them, and
/// `unreachable` members no gateway could reach.
pub(super) async fn mark_campaign_enqueued(
    database: &Database,
    id: i64,
    recipients: i64,
    unreachable: i64,
    at: DateTime<Utc>,
) -> Result<(), AlertError> {
    with_database!(database, pool => {
        sqlx::query(
            "UPDATE alert_sends SET campaign_state = 'enqueued', enqueued_at = $1,
               recipients = $2, unreachable = $3
             WHERE id = $4",
        )
        .bind(at)
        .bind(recipients)
        .bind(unreachable)
        .bind(id)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The numbers that already have a delivery of this campaign (any gateway, any state):
/// resuming skips them, so nobody gets the alert twice.
pub(super) async fn recipients_in_outbox(
    database: &Database,
    id: i64,
) -> Result<HashSet<String>, AlertError> {
    let numbers: Vec<String> = with_database!(database, pool => {
        sqlx::query_scalar("SELECT recipient FROM outbound WHERE campaign_id = $1")
            .bind(id)
            .fetch_all(pool)
            .await?
    });
    Ok(numbers.into_iter().collect())
}

/// The latest planned send time among the campaign's waiting deliveries: a resumed
/// campaign plans the rest after it, so the modems never get two schedules at once.
pub(super) async fn last_planned(
    database: &Database,
    id: i64,
) -> Result<Option<DateTime<Utc>>, AlertError> {
    let at = with_database!(database, pool => {
        sqlx::query_scalar(
            "SELECT MAX(next_attempt_at) FROM outbound WHERE campaign_id = $1 AND state = 'queued'",
        )
        .bind(id)
        .fetch_one(pool)
        .await?
    });
    Ok(at)
}

/// Who `recipients` are, as SQL over `alert_registrations r` (what follows `FROM
/// alert_registrations r`), with what it binds: the poll's id first, then the group's name.
struct Filter<'a> {
    sql: String,
    poll: Option<i64>,
    group: Option<&'a str>,
}

fn filter(recipients: Recipients<'_>) -> Filter<'_> {
    match recipients {
        Recipients::Testers => Filter {
            sql: "JOIN web_accounts a ON a.id = r.account_id WHERE r.state = 'active' AND a.tester"
                .to_owned(),
            poll: None,
            group: None,
        },
        Recipients::Everyone => Filter {
            sql: "WHERE r.state = 'active'".to_owned(),
            poll: None,
            group: None,
        },
        Recipients::Group(name) => Filter {
            sql: "JOIN alert_group_members g ON g.account_id = r.account_id
                  WHERE r.state = 'active' AND g.group_name = $1"
                .to_owned(),
            poll: None,
            group: Some(name),
        },
        // The members of a poll's audience (everyone, or the group) who have not answered.
        Recipients::NonResponders { poll, group } => {
            let in_group = if group.is_some() {
                " AND r.account_id IN
                     (SELECT account_id FROM alert_group_members WHERE group_name = $2)"
            } else {
                ""
            };
            Filter {
                sql: format!(
                    "WHERE r.state = 'active'{in_group} AND NOT EXISTS
                         (SELECT 1 FROM alert_poll_answers p
                          WHERE p.campaign_id = $1 AND p.account_id = r.account_id)"
                ),
                poll: Some(poll),
                group,
            }
        }
    }
}

/// Active registrations that receive a campaign, with the carrier each member chose for
/// the legacy e-mail path: (account, encrypted number, carrier).
pub(super) async fn recipients_with_carrier(
    database: &Database,
    recipients: Recipients<'_>,
) -> Result<Vec<(AccountId, String, Option<String>)>, AlertError> {
    let f = filter(recipients);
    let sql = format!(
        "SELECT r.account_id, r.number_enc, r.carrier FROM alert_registrations r {}
         ORDER BY r.account_id",
        f.sql
    );
    let rows = with_database!(database, pool => {
        let mut query = sqlx::query_as(&sql);
        if let Some(poll) = f.poll {
            query = query.bind(poll);
        }
        if let Some(group) = f.group {
            query = query.bind(group);
        }
        query.fetch_all(pool).await?
    });
    Ok(rows)
}

/// How many recipients chose each carrier (`None`: no carrier).
pub(super) async fn count_recipients_by_carrier(
    database: &Database,
    recipients: Recipients<'_>,
) -> Result<Vec<(Option<String>, i64)>, AlertError> {
    let f = filter(recipients);
    let sql = format!(
        "SELECT r.carrier, COUNT(*) FROM alert_registrations r {} GROUP BY r.carrier",
        f.sql
    );
    let rows = with_database!(database, pool => {
        let mut query = sqlx::query_as(&sql);
        if let Some(poll) = f.poll {
            query = query.bind(poll);
        }
        if let Some(group) = f.group {
            query = query.bind(group);
        }
        query.fetch_all(pool).await?
    });
    Ok(rows)
}

pub(super) async fn count_recipients(
    database: &Database,
    recipients: Recipients<'_>,
) -> Result<i64, AlertError> {
    let f = filter(recipients);
    let sql = format!("SELECT COUNT(*) FROM alert_registrations r {}", f.sql);
    let n = with_database!(database, pool => {
        let mut query = sqlx::query_scalar(&sql);
        if let Some(poll) = f.poll {
            query = query.bind(poll);
        }
        if let Some(group) = f.group {
            query = query.bind(group);
        }
        query.fetch_one(pool).await?
    });
    Ok(n)
}

/// Where the campaign's deliveries are, for each gateway they went to, read from the
/// store's outbox.
pub(super) async fn campaign_counts_by_gateway(
    database: &Database,
    id: i64,
) -> Result<std::collections::BTreeMap<String, CampaignCounts>, AlertError> {
    let rows: Vec<(String, String, i64)> = with_database!(database, pool => {
        sqlx::query_as(
            "SELECT gateway, state, COUNT(*) FROM outbound WHERE campaign_id = $1
             GROUP BY gateway, state",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
    });
    let mut all = std::collections::BTreeMap::<String, CampaignCounts>::new();
    for (gateway, state, n) in rows {
        let n = u64::try_from(n).unwrap_or(0);
        let counts = all.entry(gateway).or_default();
        match state.as_str() {
            "queued" | "sending" => counts.queued += n,
            "sent" => counts.sent += n,
            "delivered" => counts.delivered += n,
            "failed" => counts.failed += n,
            other => {
                return Err(AlertError::Corrupt {
                    what: "outbound state",
                    detail: other.to_string(),
                })
            }
        }
    }
    Ok(all)
}

/// What each gateway sent for campaigns since `since`, by gateway and campaign (only
/// campaign `only`, when given): how many parts, the first and the last sent.
pub(super) async fn campaign_throughput(
    database: &Database,
    since: DateTime<Utc>,
    only: Option<i64>,
) -> Result<Vec<(String, i64, SentSpan)>, AlertError> {
    let filter = if only.is_some() {
        "AND o.campaign_id = $2"
    } else {
        ""
    };
    let sql = format!(
        "SELECT o.gateway, o.campaign_id, COUNT(*), MIN(p.sent_at), MAX(p.sent_at)
         FROM outbound_parts p JOIN outbound o ON o.id = p.outbound_id
         WHERE o.campaign_id IS NOT NULL AND p.sent_at >= $1 {filter}
         GROUP BY o.gateway, o.campaign_id"
    );
    type Row = (String, i64, i64, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = with_database!(database, pool => {
        let query = sqlx::query_as(&sql).bind(since);
        let query = match only {
            Some(campaign) => query.bind(campaign),
            None => query,
        };
        query.fetch_all(pool).await?
    });
    Ok(rows
        .into_iter()
        .map(|(gateway, campaign, parts, first, last)| {
            let parts = u64::try_from(parts).unwrap_or(0);
            (gateway, campaign, SentSpan { parts, first, last })
        })
        .collect())
}
