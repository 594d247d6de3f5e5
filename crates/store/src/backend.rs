//! The [`Store`] handle: which database it talks to, opening it, migrations, and the
//! macros that run one body of code against either back end.
//!
//! The store lends its pool ([`Store::database`]) to the daemon's other services, so that
//! one daemon has one pool per database and one set of in-process signals: the alert
//! service keeps its tables (accounts, registrations, the send log, ...) beside the
//! store's and queries them through [`with_database!`](crate::with_database) and
//! [`database_transaction!`](crate::database_transaction), the same way the store does.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::clock::{Clock, SystemClock};
use crate::model::TranscriptPolicy;
use crate::signal::SqliteSignals;
use crate::StoreError;

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an operation waits for a PostgreSQL connection before it fails. sqlx's default
/// (30 s) would let every store call stall that long while the server is down, and the
/// gateway's event loop (texts, replies, presence) waits on each in turn. Callers keep what
/// they could not store and try again, so failing sooner loses nothing.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database a [`Store`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Postgres,
    Sqlite,
}

/// The connection pool of a [`Store`], lent to the services that keep their own tables in
/// the same database ([`Store::database`]). Cheap to clone: clones share the pool.
#[derive(Clone, Debug)]
pub enum Database {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// The store's own name for its pool.
pub(crate) use Database as Backend;

impl Database {
    /// Which database this is.
    pub fn kind(&self) -> BackendKind {
        match self {
            Database::Postgres(_) => BackendKind::Postgres,
            Database::Sqlite(_) => BackendKind::Sqlite,
        }
    }
}

/// The store. Cheap to clone: clones share the connection pool, the clock and the
/// in-process signals. A daemon opens one store and hands clones to every part that needs
/// the database: on SQLite clones of one store wake each other's outbox workers at once,
/// and commits by other processes wake them within a fifth of a second (signal.rs).
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    clock: Arc<dyn Clock>,
    pub(crate) signals: Arc<SqliteSignals>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.kind())
            .finish_non_exhaustive()
    }
}

/// Runs `$body` with `$pool` bound to the pool of whichever back end the store uses. The
/// body is compiled once per back end, so it may only use what both share (SQL text with
/// `$n` placeholders works on both).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::backend::Backend::Postgres($pool) => $body,
            $crate::backend::Backend::Sqlite($pool) => $body,
        }
    };
}

/// Runs `$body` inside a write transaction bound to `$tx` and commits it if the body
/// finishes (an early `return` or `?` rolls back). SQLite transactions start with
/// `BEGIN IMMEDIATE` so that two writers queue on the busy timeout instead of failing
/// when a read lock cannot be upgraded.
macro_rules! in_transaction {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.backend {
            $crate::backend::Backend::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::backend::Backend::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

pub(crate) use {in_transaction, with_pool};

/// Runs `$body` with `$pool` bound to the pool of a [`Database`] (`&Database`). The body is
/// compiled once per back end, so it may only use what both share (SQL text with `$n`
/// placeholders works on both). The store's own `with_pool!`, for services that borrow its
/// pool.
#[macro_export]
macro_rules! with_database {
    ($database:expr, $pool:ident => $body:expr) => {
        match $database {
            $crate::Database::Postgres($pool) => $body,
            $crate::Database::Sqlite($pool) => $body,
        }
    };
}

/// Runs `$body` inside a write transaction on a [`Database`] (`&Database`), bound to `$tx`,
/// and commits it if the body finishes (an early `return` or `?` rolls back); SQLite
/// transactions start with `BEGIN IMMEDIATE`, as the store's own do. The caller's error
/// type must convert from `sqlx::Error`.
#[macro_export]
macro_rules! database_transaction {
    ($database:expr, $tx:ident => $body:expr) => {
        match $database {
            $crate::Database::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Database::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

impl Store {
    /// Opens the database named by `url` and applies pending migrations.
    /// `postgres://…` (or `postgresql://…`) selects PostgreSQL; `sqlite://PATH` selects
    /// SQLite, creating the file if it does not exist.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database named by `url` without touching its schema.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme {
            "postgres" | "postgresql" => {
                let options =
                    PgConnectOptions::from_str(url).map_err(|source| StoreError::Connect {
                        backend: "PostgreSQL",
                        source,
                    })?;
                Store::connect_postgres(options).await
            }
            "sqlite" => {
                let options =
                    SqliteConnectOptions::from_str(url).map_err(|source| StoreError::Connect {
                        backend: "SQLite",
                        source,
                    })?;
                Store::connect_sqlite(options).await
            }
            other => Err(StoreError::UnsupportedUrl {
                scheme: other.to_string(),
            }),
        }
    }

    pub async fn connect_postgres(options: PgConnectOptions) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                backend: "PostgreSQL",
                source,
            })?;
        Ok(Store::from_backend(Backend::Postgres(pool)))
    }

    pub async fn connect_sqlite(options: SqliteConnectOptions) -> Result<Store, StoreError> {
        // WAL lets readers work beside the one writer; FULL makes every commit durable
        // across a power cut, not only across a process crash.
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .map_err(|source| StoreError::Connect {
                backend: "SQLite",
                source,
            })?;
        let store = Store::from_backend(Backend::Sqlite(pool));
        // Another process (`textgate send`) may queue work in the same file; see signal.rs.
        store
            .signals
            .watch_other_connections(&options)
            .await
            .map_err(|source| StoreError::Connect {
                backend: "SQLite",
                source,
            })?;
        Ok(store)
    }

    fn from_backend(backend: Backend) -> Store {
        Store {
            backend,
            clock: Arc::new(SystemClock),
            signals: Arc::default(),
        }
    }

    /// Uses `clock` for every timestamp this handle writes or compares.
    pub fn with_clock(mut self, clock: impl Clock) -> Store {
        self.clock = Arc::new(clock);
        self
    }

    /// Applies the migrations this build carries that the database lacks.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
            Backend::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    pub fn kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// How many outbox workers of one gateway may write side by side without starving the
    /// rest of the daemon (texts coming in, the console) of connections: half of
    /// PostgreSQL's pool of eight; one on SQLite, whose writes take turns anyway.
    pub fn parallel_senders(&self) -> usize {
        match self.kind() {
            BackendKind::Postgres => 4,
            BackendKind::Sqlite => 1,
        }
    }

    /// The store's connection pool, for services that keep their own tables in the same
    /// database (the store applies their migrations with its own). Queries through it
    /// share the store's connections, and work they enqueue through the store wakes the
    /// store's workers.
    pub fn database(&self) -> &Database {
        &self.backend
    }

    /// Closes every connection, the SQLite watcher's for other processes' commits
    /// included; pending operations finish first.
    pub async fn close(&self) {
        self.signals.stop_watching().await;
        with_pool!(self, pool => pool.close().await)
    }

    /// The current time, truncated to microseconds: PostgreSQL keeps no more, and a
    /// timestamp must read back equal to what was written on both back ends.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let now = self.clock.now();
        now.duration_trunc(TimeDelta::microseconds(1))
            .unwrap_or(now)
    }

    pub async fn set_transcript_policy(
        &self,
        gateway: &str,
        policy: TranscriptPolicy,
    ) -> Result<(), StoreError> {
        let keep = policy == TranscriptPolicy::Keep;
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO gateway_settings (gateway, transcripts) VALUES ($1, $2)
                 ON CONFLICT (gateway) DO UPDATE SET transcripts = excluded.transcripts",
            )
            .bind(gateway)
            .bind(keep)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn transcript_policy(&self, gateway: &str) -> Result<TranscriptPolicy, StoreError> {
        let keep: Option<bool> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT transcripts FROM gateway_settings WHERE gateway = $1")
                .bind(gateway)
                .fetch_optional(pool)
                .await?
        });
        Ok(match keep {
            Some(true) => TranscriptPolicy::Keep,
            _ => TranscriptPolicy::EraseOnDelivery,
        })
    }
}

/// SQL that is true when the gateway of the row in `table` keeps transcripts.
pub(crate) fn keeps_transcripts(table: &str) -> String {
    format!(
        "COALESCE((SELECT s.transcripts FROM gateway_settings s WHERE s.gateway = {table}.gateway), FALSE)"
    )
}

/// `$first, $first+1, …` for `count` bound values.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
