//! A database that exists for one test. PostgreSQL comes from `DATABASE_URL` (default: the
//! local server as user `postgres`) and each test gets a newly created, uniquely named
//! database on it; SQLite gets a file in a temporary directory.
//!
//! It talks to a real server, so its errors say which step against which database failed,
//! for a test to report with `expect`.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection};

/// The server the tests use when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The first PostgreSQL version (as `server_version_num`) that knows
/// `DROP DATABASE ... WITH (FORCE)`.
const FORCE_DROP_SINCE: i64 = 130_000;

/// Distinguishes the databases one test process creates; the process id and a random
/// number distinguish them from other processes' (test binaries run in parallel).
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// What went wrong setting up or tearing down a test database.
#[derive(Debug, thiserror::Error)]
pub enum FreshDatabaseError {
    #[error("cannot connect to PostgreSQL at {url} (set DATABASE_URL): {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot create test database {name}: {source}")]
    Create { name: String, source: sqlx::Error },
    #[error("cannot read the PostgreSQL server version: {source}")]
    ServerVersion { source: sqlx::Error },
    #[error("cannot drop test database {name}: {source}")]
    Drop { name: String, source: sqlx::Error },
    #[error("cannot create a temporary directory for an SQLite database: {source}")]
    TempDir { source: std::io::Error },
}

/// The maintenance URL test databases are created from: `DATABASE_URL`, or
/// [`DEFAULT_DATABASE_URL`].
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string())
}

/// `base` (`postgres://user@host:port/db?query`) naming database `name` instead; the query
/// is kept. A URL without a path gets one.
pub fn with_database(base: &str, name: &str) -> String {
    let (without_query, query) = match base.split_once('?') {
        Some((url, query)) => (url, format!("?{query}")),
        None => (base, String::new()),
    };
    let after_scheme = without_query.find("://").map_or(0, |i| i + 3);
    let prefix = match without_query.get(after_scheme..).and_then(|s| s.find('/')) {
        Some(slash) => &without_query[..after_scheme + slash],
        None => without_query,
    };
    format!("{prefix}/{name}{query}")
}

/// A PostgreSQL database created for one test.
///
/// It is not dropped when the value goes out of scope (dropping needs an async round trip
/// to the server): call [`FreshPostgres::cleanup`] once the test's pools are closed, also
/// when the test failed.
#[derive(Debug)]
pub struct FreshPostgres {
    name: String,
    url: String,
}

impl FreshPostgres {
    /// Creates a database named `<prefix>_<pid>_<counter>_<random>` on the server at
    /// [`admin_url`].
    pub async fn create(prefix: &str) -> Result<FreshPostgres, FreshDatabaseError> {
        let name = format!(
            "{prefix}_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let mut admin = connect_admin().await?;
        let created = admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await;
        // Closing is a courtesy to the server; a failure to say goodbye changes nothing.
        let _ = admin.close().await;
        created.map_err(|source| FreshDatabaseError::Create {
            name: name.clone(),
            source,
        })?;
        let url = with_database(&admin_url(), &name);
        Ok(FreshPostgres { name, url })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL for the database, with the credentials and options of [`admin_url`].
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database, disconnecting whatever is still connected to it (a test that
    /// panicked may not have closed its pools).
    pub async fn cleanup(self) -> Result<(), FreshDatabaseError> {
        let mut admin = connect_admin().await?;
        let dropped = drop_database(&mut admin, &self.name).await;
        let _ = admin.close().await;
        dropped
    }
}

/// Creates a fresh PostgreSQL database; see [`FreshPostgres::create`].
pub async fn fresh_postgres_database(prefix: &str) -> Result<FreshPostgres, FreshDatabaseError> {
    FreshPostgres::create(prefix).await
}

async fn connect_admin() -> Result<PgConnection, FreshDatabaseError> {
    let url = admin_url();
    PgConnection::connect(&url)
        .await
        .map_err(|source| FreshDatabaseError::Connect { url, source })
}

/// `DROP DATABASE` refuses while anyone is connected. PostgreSQL 13 and later disconnect
/// them with `WITH (FORCE)`; before that the sessions are terminated first.
async fn drop_database(admin: &mut PgConnection, name: &str) -> Result<(), FreshDatabaseError> {
    let version: String = sqlx::query_scalar("SHOW server_version_num")
        .fetch_one(&mut *admin)
        .await
        .map_err(|source| FreshDatabaseError::ServerVersion { source })?;
    let drop_error = |source| FreshDatabaseError::Drop {
        name: name.to_string(),
        source,
    };
    // An unparsable version is treated as old: terminating sessions works everywhere.
    if version.trim().parse::<i64>().unwrap_or(0) >= FORCE_DROP_SINCE {
        admin
            .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
            .await
            .map_err(drop_error)?;
    } else {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(name)
        .execute(&mut *admin)
        .await
        .map_err(drop_error)?;
        admin
            .execute(format!("DROP DATABASE IF EXISTS \"{name}\"").as_str())
            .await
            .map_err(drop_error)?;
    }
    Ok(())
}

/// An SQLite database file in a temporary directory, for one test. The directory, and the
/// file with it, is removed when the value is dropped.
#[derive(Debug)]
pub struct FreshSqlite {
    dir: tempfile::TempDir,
    url: String,
}

impl FreshSqlite {
    /// A URL for `file_name` in a new temporary directory, with `mode=rwc` so the first
    /// connection creates the file.
    pub fn create(file_name: &str) -> Result<FreshSqlite, FreshDatabaseError> {
        let dir = tempfile::tempdir().map_err(|source| FreshDatabaseError::TempDir { source })?;
        let url = format!("sqlite://{}?mode=rwc", dir.path().join(file_name).display());
        Ok(FreshSqlite { dir, url })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The temporary directory the file lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
