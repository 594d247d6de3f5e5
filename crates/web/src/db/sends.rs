//! Sends: the send log of alert and test campaigns, and the single texts the console
//! sends (a member's test, a confirmation code, a keyword reply). A send's id is the
//! outbox's `campaign_id`, so progress is counted from the outbox itself.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{with_pool, AccountId, Db, DbError};

/// Who a campaign goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Members marked as testers (technical administrators' tests).
    Testers,
    /// Every confirmed member.
    Everyone,
}

/// What a send is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendKind {
    /// A test campaign to the testers.
    Test,
    /// A real alert to everyone.
    Real,
    /// A member's own test from the member page.
    MemberTest,
    /// A confirmation code for a new number.
    Confirmation,
    /// The answer to STOP, START or HELP.
    KeywordReply,
    /// The scheduled "please review your details" text.
    ReviewReminder,
}

impl SendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SendKind::Test => "test",
            SendKind::Real => "real",
            SendKind::MemberTest => "member-test",
            SendKind::Confirmation => "confirmation",
            SendKind::KeywordReply => "keyword-reply",
            SendKind::ReviewReminder => "review-reminder",
        }
    }

    fn parse(s: &str) -> Option<SendKind> {
        [
            SendKind::Test,
            SendKind::Real,
            SendKind::MemberTest,
            SendKind::Confirmation,
            SendKind::KeywordReply,
            SendKind::ReviewReminder,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// How far a campaign's deliveries got into the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CampaignState {
    /// Confirmed; deliveries are being put in the outbox (or will be, when a daemon
    /// resumes it after a stop).
    Enqueueing,
    /// Every delivery is in the outbox.
    Enqueued,
    /// Left unfinished by a version of textgate that could not resume it; not resumed.
    Interrupted,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Enqueueing => "enqueueing",
            CampaignState::Enqueued => "enqueued",
            CampaignState::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Option<CampaignState> {
        [
            CampaignState::Enqueueing,
            CampaignState::Enqueued,
            CampaignState::Interrupted,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The yearly-test record (Clery Act): description, date, time, announced or not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct YearlyTest {
    pub description: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`.
    pub time: String,
    pub announced: bool,
}

/// One send-log row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Send {
    pub id: i64,
    pub kind: SendKind,
    pub account_id: Option<AccountId>,
    pub account_email: String,
    pub body: String,
    pub recipients: i64,
    pub estimated_seconds: i64,
    pub confirmed_at: DateTime<Utc>,
    pub enqueued_at: Option<DateTime<Utc>>,
    pub yearly_test: Option<YearlyTest>,
    /// Campaigns (test and real) only.
    pub campaign_state: Option<CampaignState>,
    /// Recipients no gateway could reach (see `CampaignPlan::unreachable`).
    pub unreachable: i64,
}

type SendRow = (
    i64,
    String,
    Option<i64>,
    String,
    String,
    i64,
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<String>,
    i64,
);

const SEND_COLUMNS: &str = "id, kind, account_id, account_email, body, recipients, \
    estimated_seconds, confirmed_at, enqueued_at, yearly_description, yearly_date, \
    yearly_time, yearly_announced, campaign_state, unreachable";

fn send_from_row(r: SendRow) -> Result<Send, DbError> {
    let kind = SendKind::parse(&r.1).ok_or_else(|| DbError::Corrupt {
        what: "send",
        detail: format!("{}: unknown kind {:?}", r.0, r.1),
    })?;
    let yearly_test = match (r.9, r.10, r.11, r.12) {
        (Some(description), Some(date), Some(time), Some(announced)) => Some(YearlyTest {
            description,
            date,
            time,
            announced,
        }),
        _ => None,
    };
    let campaign_state = match r.13.as_deref() {
        None => None,
        Some(text) => Some(CampaignState::parse(text).ok_or_else(|| DbError::Corrupt {
            what: "send",
            detail: format!("{}: unknown campaign state {text:?}", r.0),
        })?),
    };
    Ok(Send {
        id: r.0,
        kind,
        account_id: r.2,
        account_email: r.3,
        body: r.4,
        recipients: r.5,
        estimated_seconds: r.6,
        confirmed_at: r.7,
        enqueued_at: r.8,
        yearly_test,
        campaign_state,
        unreachable: r.14,
    })
}

/// Counts of a campaign's deliveries in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CampaignCounts {
    pub queued: u64,
    pub sent: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// A send about to be recorded.
#[derive(Debug, Clone)]
pub struct NewSend<'a> {
    pub kind: SendKind,
    pub account_id: Option<AccountId>,
    pub account_email: &'a str,
    pub body: &'a str,
    pub recipients: i64,
    pub estimated_seconds: i64,
    pub confirmed_at: DateTime<Utc>,
    pub yearly_test: Option<&'a YearlyTest>,
}

impl Db {
    pub async fn insert_send(&self, s: &NewSend<'_>) -> Result<i64, DbError> {
        self.insert_send_row(s, None, 0).await
    }

    /// Records a confirmed campaign (test or real) in state `enqueueing`: from this commit
    /// on, a daemon that finds it unfinished resumes it.
    pub async fn insert_campaign(&self, s: &NewSend<'_>, unreachable: i64) -> Result<i64, DbError> {
        self.insert_send_row(s, Some(CampaignState::Enqueueing), unreachable)
            .await
    }

    async fn insert_send_row(
        &self,
        s: &NewSend<'_>,
        state: Option<CampaignState>,
        unreachable: i64,
    ) -> Result<i64, DbError> {
        let y = s.yearly_test;
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO alert_sends (kind, account_id, account_email, body, recipients,
                   estimated_seconds, confirmed_at, yearly_description, yearly_date, yearly_time,
                   yearly_announced, campaign_state, unreachable)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
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
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    /// Campaigns whose deliveries are not all in the outbox yet, oldest first.
    pub async fn campaigns_enqueueing(&self) -> Result<Vec<i64>, DbError> {
        let ids = with_pool!(self, pool => {
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
    pub async fn mark_campaign_enqueued(
        &self,
        id: i64,
        recipients: i64,
        unreachable: i64,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        with_pool!(self, pool => {
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

    /// The numbers that already have a delivery of this campaign (any gateway, any
    /// state): resuming skips them, so nobody gets the alert twice.
    pub async fn campaign_recipients_in_outbox(&self, id: i64) -> Result<HashSet<String>, DbError> {
        let numbers: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT recipient FROM outbound WHERE campaign_id = $1")
                .bind(id)
                .fetch_all(pool)
                .await?
        });
        Ok(numbers.into_iter().collect())
    }

    /// The latest planned send time among the campaign's waiting deliveries: a resumed
    /// campaign plans the rest after it, so the modems never get two schedules at once.
    pub async fn campaign_last_planned(&self, id: i64) -> Result<Option<DateTime<Utc>>, DbError> {
        let at = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT MAX(next_attempt_at) FROM outbound WHERE campaign_id = $1 AND state = 'queued'",
            )
            .bind(id)
            .fetch_one(pool)
            .await?
        });
        Ok(at)
    }

    pub async fn mark_send_enqueued(
        &self,
        id: i64,
        recipients: i64,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE alert_sends SET enqueued_at = $1, recipients = $2 WHERE id = $3")
                .bind(at)
                .bind(recipients)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn send(&self, id: i64) -> Result<Option<Send>, DbError> {
        let sql = format!("SELECT {SEND_COLUMNS} FROM alert_sends WHERE id = $1");
        let row: Option<SendRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(send_from_row).transpose()
    }

    /// The send log: campaigns (test and real), newest first.
    pub async fn send_log(&self, limit: i64) -> Result<Vec<Send>, DbError> {
        let sql = format!(
            "SELECT {SEND_COLUMNS} FROM alert_sends WHERE kind IN ('test', 'real')
             ORDER BY id DESC LIMIT $1"
        );
        let rows: Vec<SendRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(limit).fetch_all(pool).await?
        });
        rows.into_iter().map(send_from_row).collect()
    }

    /// Times of this account's sends of `kind` since `since` (rate limits).
    pub async fn send_times(
        &self,
        account_id: AccountId,
        kind: SendKind,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, DbError> {
        let times = with_pool!(self, pool => {
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

    /// Where the campaign's deliveries are, read from the store's outbox.
    pub async fn campaign_counts(&self, id: i64) -> Result<CampaignCounts, DbError> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT state, COUNT(*) FROM outbound WHERE campaign_id = $1 GROUP BY state",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        let mut counts = CampaignCounts::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match state.as_str() {
                "queued" | "sending" => counts.queued += n,
                "sent" => counts.sent += n,
                "delivered" => counts.delivered += n,
                "failed" => counts.failed += n,
                other => {
                    return Err(DbError::Corrupt {
                        what: "outbound state",
                        detail: other.to_string(),
                    })
                }
            }
        }
        Ok(counts)
    }
}
