//! The evidence about one text that went wrong: its rows in the daemon's store (read
//! directly with SQL, every column as text, the same queries on both back ends) and the
//! daemon's log lines that name those rows or the reply's stanza id.

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, Row, SqlitePool};

use crate::daemon::DaemonLog;
use crate::error::ChaosError;
use crate::rig::StoreKind;

/// One row, each column as `name=value` (`NULL` for a null).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreRow {
    pub table: &'static str,
    pub columns: Vec<(String, Option<String>)>,
}

impl StoreRow {
    pub fn get(&self, column: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(name, _)| name == column)
            .and_then(|(_, value)| value.as_deref())
    }
}

impl std::fmt::Display for StoreRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:", self.table)?;
        for (name, value) in &self.columns {
            write!(f, " {name}={}", value.as_deref().unwrap_or("NULL"))?;
        }
        Ok(())
    }
}

/// Reads the daemon's store while it runs (and after).
pub enum StoreReader {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

const INBOUND: &str = "SELECT CAST(id AS TEXT) AS id, state, CAST(part_count AS TEXT) AS parts, \
     CAST(incomplete AS TEXT) AS incomplete, CAST(received_at AS TEXT) AS received_at, \
     CAST(delivered_at AS TEXT) AS delivered_at, delivered_to \
     FROM inbound WHERE sender = $1 ORDER BY id";
const PENDING: &str = "SELECT CAST(id AS TEXT) AS id, CAST(reference AS TEXT) AS reference, \
     CAST(seq AS TEXT) AS seq, CAST(total AS TEXT) AS total, \
     CAST(received_at AS TEXT) AS received_at \
     FROM pending_parts WHERE sender = $1 ORDER BY seq";
const OUTBOUND: &str = "SELECT CAST(id AS TEXT) AS id, state, CAST(attempts AS TEXT) AS attempts, \
     lease_owner, CAST(lease_until AS TEXT) AS lease_until, last_error, \
     CAST(created_at AS TEXT) AS created_at, CAST(sent_at AS TEXT) AS sent_at, \
     CAST(finished_at AS TEXT) AS finished_at \
     FROM outbound WHERE xmpp_id = $1 ORDER BY id";
const OUTBOUND_PARTS: &str = "SELECT CAST(p.seq AS TEXT) AS seq, \
     CAST(p.message_ref AS TEXT) AS message_ref, p.status, CAST(p.sent_at AS TEXT) AS sent_at \
     FROM outbound_parts p JOIN outbound o ON o.id = p.outbound_id \
     WHERE o.xmpp_id = $1 ORDER BY p.seq";

impl StoreReader {
    pub async fn connect(kind: StoreKind, url: &str) -> Result<StoreReader, ChaosError> {
        Ok(match kind {
            StoreKind::Postgres => {
                StoreReader::Postgres(PgPoolOptions::new().max_connections(1).connect(url).await?)
            }
            StoreKind::Sqlite => {
                // Read only: the daemon owns the file and its migrations.
                let options = url
                    .parse::<SqliteConnectOptions>()?
                    .read_only(true)
                    .create_if_missing(false);
                StoreReader::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(options)
                        .await?,
                )
            }
        })
    }

    /// The inbound rows of texts from `patron` (each planned text has a patron of its own).
    pub async fn inbound(&self, patron: &str) -> Result<Vec<StoreRow>, ChaosError> {
        self.rows("inbound", INBOUND, patron).await
    }

    /// Parts of `patron`'s concatenated texts still waiting for their other parts.
    pub async fn pending_parts(&self, patron: &str) -> Result<Vec<StoreRow>, ChaosError> {
        self.rows("pending_parts", PENDING, patron).await
    }

    /// The outbox rows of the reply with stanza id `id`.
    pub async fn outbound(&self, id: &str) -> Result<Vec<StoreRow>, ChaosError> {
        self.rows("outbound", OUTBOUND, id).await
    }

    /// The recorded parts of the reply with stanza id `id`.
    pub async fn outbound_parts(&self, id: &str) -> Result<Vec<StoreRow>, ChaosError> {
        self.rows("outbound_parts", OUTBOUND_PARTS, id).await
    }

    async fn rows(
        &self,
        table: &'static str,
        sql: &str,
        key: &str,
    ) -> Result<Vec<StoreRow>, ChaosError> {
        fn columns<R: Row>(row: &R) -> Vec<(String, Option<String>)>
        where
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            use sqlx::Column as _;
            row.columns()
                .iter()
                .enumerate()
                .map(|(i, column)| {
                    let value = row
                        .try_get::<Option<String>, _>(i)
                        .unwrap_or_else(|e| Some(format!("<unreadable: {e}>")));
                    (column.name().to_owned(), value)
                })
                .collect()
        }
        let rows = match self {
            StoreReader::Postgres(pool) => sqlx::query(sql)
                .bind(key)
                .fetch_all(pool)
                .await?
                .iter()
                .map(columns)
                .collect::<Vec<_>>(),
            StoreReader::Sqlite(pool) => sqlx::query(sql)
                .bind(key)
                .fetch_all(pool)
                .await?
                .iter()
                .map(columns)
                .collect(),
        };
        Ok(rows
            .into_iter()
            .map(|columns| StoreRow { table, columns })
            .collect())
    }

    pub async fn close(self) {
        match self {
            StoreReader::Postgres(pool) => pool.close().await,
            StoreReader::Sqlite(pool) => pool.close().await,
        }
    }
}

/// The daemon's log lines about a text: those naming one of its rows (`"inbound":7`, the
/// span field the daemon gives every line about a text, or `"outbound":7`) or its stanza id.
pub fn log_lines(
    log: &DaemonLog,
    field: &str,
    ids: &[String],
    stanza: Option<&str>,
) -> Vec<String> {
    let needles: Vec<(String, String)> = ids
        .iter()
        .map(|id| (format!("\"{field}\":{id},"), format!("\"{field}\":{id}}}")))
        .collect();
    let stanza = stanza.map(|s| format!("\"{s}\""));
    log.lines(|line| {
        needles
            .iter()
            .any(|(a, b)| line.text.contains(a.as_str()) || line.text.contains(b.as_str()))
            || stanza.as_deref().is_some_and(|s| line.text.contains(s))
    })
    .into_iter()
    .map(|l| format!("[life {} {:.1}s] {}", l.life, l.at.as_secs_f64(), l.text))
    .collect()
}
