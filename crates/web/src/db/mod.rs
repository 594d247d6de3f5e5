//! The web console's own tables (accounts, sessions, API tokens, sign-in failures,
//! registrations, sends, the test log and the audit log) on PostgreSQL or SQLite.
//!
//! The store crate does not lend out its connection pool, so the console opens its own
//! pool on the same database URL. The tables' migrations live beside the store's in
//! `migrations/` (numbered from 0100) and are applied by `Store::open`, which embeds the
//! whole directory: one migration history per database.

pub(crate) mod accounts;
mod audit;
mod registrations;
mod sends;
mod sessions;
mod tokens;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use accounts::{Account, AccountChange, AccountId, ChangeOutcome};
pub use audit::AuditEntry;
pub use registrations::{Registration, TestLogRow};
pub use sends::{Audience, CampaignCounts, CampaignState, NewSend, Send, SendKind, YearlyTest};
pub use sessions::SessionRow;
pub use tokens::ApiToken;

/// What went wrong talking to the console's tables.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL {scheme:?} is not supported: use postgres://… or sqlite://PATH")]
    UnsupportedUrl { scheme: String },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored {what} is damaged: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

/// The console's connection pool.
#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to whichever pool the handle holds; the SQL text must
/// work on both (`$n` placeholders do).
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Postgres($pool) => $body,
            $crate::db::Db::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

impl Db {
    /// Connects to `url` (the same URL the store uses). The schema is the store's
    /// business: open the store first, which applies every migration.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme {
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url).map_err(DbError::Connect)?;
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await
                    .map_err(DbError::Connect)?;
                Ok(Db::Postgres(pool))
            }
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(DbError::Connect)?
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .map_err(DbError::Connect)?;
                Ok(Db::Sqlite(pool))
            }
            other => Err(DbError::UnsupportedUrl {
                scheme: other.to_string(),
            }),
        }
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}
