//! Statistics from the records, which outlive transcripts: conversations and texts per
//! gateway per day (UTC).

use chrono::{Days, NaiveDate, NaiveTime};

use crate::backend::{with_pool, BackendKind};
use crate::{Store, StoreError};

/// One day of one gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyStats {
    pub day: NaiveDate,
    /// Conversations with at least one text that day.
    pub conversations: i64,
    pub texts_in: i64,
    pub texts_out: i64,
}

impl Store {
    /// Days from `first` to `last` inclusive that had any text, in order.
    pub async fn daily_stats(
        &self,
        gateway: &str,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<DailyStats>, StoreError> {
        let from = first.and_time(NaiveTime::MIN).and_utc();
        let until = last
            .checked_add_days(Days::new(1))
            .unwrap_or(NaiveDate::MAX)
            .and_time(NaiveTime::MIN)
            .and_utc();
        // SQLite keeps UTC RFC 3339 text, whose first ten characters are the day.
        let day = |column: &str| match self.kind() {
            BackendKind::Postgres => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
            BackendKind::Sqlite => format!("substr({column}, 1, 10)"),
        };
        let sql = format!(
            "SELECT day, COUNT(DISTINCT conversation_id) AS conversations,
                    CAST(SUM(texts_in) AS BIGINT) AS texts_in,
                    CAST(SUM(texts_out) AS BIGINT) AS texts_out
             FROM (
                 SELECT {} AS day, conversation_id, 1 AS texts_in, 0 AS texts_out
                 FROM inbound WHERE gateway = $1 AND received_at >= $2 AND received_at < $3
                 UNION ALL
                 SELECT {} AS day, conversation_id, 0 AS texts_in, 1 AS texts_out
                 FROM outbound WHERE gateway = $1 AND created_at >= $2 AND created_at < $3
             ) texts
             GROUP BY day ORDER BY day",
            day("received_at"),
            day("created_at"),
        );
        let rows: Vec<(String, i64, i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(gateway).bind(from).bind(until).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(day, conversations, texts_in, texts_out)| {
                let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                    .map_err(|e| StoreError::corrupt("statistics day", format!("{day:?}: {e}")))?;
                Ok(DailyStats {
                    day,
                    conversations,
                    texts_in,
                    texts_out,
                })
            })
            .collect()
    }
}
