//! What the campaigns' other channels (e-mail copies, XMPP messages) share: each keeps one
//! row per copy in its own table (`alert_email_deliveries`, `alert_xmpp_deliveries`) with a
//! `state` (`pending`, `sent`, `failed`) and a `next_attempt_at`, leased before it is sent
//! and counted the same way on the progress page.

use chrono::{DateTime, Utc};
use textgate_store::{with_database, Database};

use crate::AlertError;

/// Where a channel's copies of a campaign are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChannelCounts {
    pub waiting: u64,
    pub sent: u64,
    pub failed: u64,
}

/// A channel's table of copies.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CopyTable {
    Email,
    Xmpp,
}

impl CopyTable {
    fn name(self) -> &'static str {
        match self {
            CopyTable::Email => "alert_email_deliveries",
            CopyTable::Xmpp => "alert_xmpp_deliveries",
        }
    }

    /// Takes row `id` for a send until `until`, if it is still pending and due at `seen`
    /// (nobody took it meanwhile): only the daemon whose update moved the row sends it.
    pub(crate) async fn lease(
        self,
        database: &Database,
        id: i64,
        seen: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, AlertError> {
        let sql = format!(
            "UPDATE {} SET next_attempt_at = $3
             WHERE id = $1 AND state = 'pending' AND next_attempt_at = $2",
            self.name()
        );
        let claimed = with_database!(database, pool => {
            sqlx::query(&sql)
                .bind(id)
                .bind(seen)
                .bind(until)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(claimed == 1)
    }

    /// Campaign `id`'s copies by state; `None` when it has none.
    pub(crate) async fn counts(
        self,
        database: &Database,
        id: i64,
    ) -> Result<Option<ChannelCounts>, AlertError> {
        let sql = format!(
            "SELECT state, COUNT(*) FROM {} WHERE campaign_id = $1 GROUP BY state",
            self.name()
        );
        let rows: Vec<(String, i64)> = with_database!(database, pool => {
            sqlx::query_as(&sql).bind(id).fetch_all(pool).await?
        });
        if rows.is_empty() {
            return Ok(None);
        }
        let mut counts = ChannelCounts::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match state.as_str() {
                "sent" => counts.sent += n,
                "failed" => counts.failed += n,
                _ => counts.waiting += n,
            }
        }
        Ok(Some(counts))
    }
}
