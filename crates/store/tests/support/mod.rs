//! Test harness shared by the integration tests: a fresh database per test on either back
//! end. PostgreSQL comes from `DATABASE_URL` (default: the local server, user postgres);
//! each test creates its own database and drops it afterwards. SQLite uses a file in a
//! temporary directory.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use futures::FutureExt;
use sqlx::{Connection, Executor, PgConnection};
use textgate_store::{BackendKind, ManualClock, Store};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string())
}

/// The time behaviour tests start at.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
        .single()
        .expect("valid start time")
}

/// A database that exists for one test.
pub enum Database {
    Postgres {
        name: String,
        url: String,
    },
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `base` with its database name replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let (without_query, query) = match base.split_once('?') {
        Some((a, q)) => (a, format!("?{q}")),
        None => (base, String::new()),
    };
    let authority_end = without_query
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| without_query[start..].find('/').map(|j| start + j));
    let prefix = match authority_end {
        Some(end) => &without_query[..end],
        None => without_query,
    };
    format!("{prefix}/{name}{query}")
}

impl Database {
    pub async fn create(kind: BackendKind) -> Database {
        match kind {
            BackendKind::Postgres => {
                let name = format!(
                    "textgate_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    rand::random::<u32>()
                );
                let mut admin = PgConnection::connect(&admin_url())
                    .await
                    .expect("connect to PostgreSQL at DATABASE_URL");
                admin
                    .execute(format!("CREATE DATABASE \"{name}\"").as_str())
                    .await
                    .expect("create test database");
                admin.close().await.expect("close admin connection");
                let url = with_database(&admin_url(), &name);
                Database::Postgres { name, url }
            }
            BackendKind::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("textgate.db").display()
                );
                Database::Sqlite { _dir: dir, url }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Database::Postgres { url, .. } | Database::Sqlite { url, .. } => url,
        }
    }

    pub async fn drop_database(self) {
        if let Database::Postgres { name, .. } = self {
            let mut admin = PgConnection::connect(&admin_url())
                .await
                .expect("connect admin");
            admin
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await
                .expect("drop test database");
            admin.close().await.expect("close admin connection");
        }
    }
}

/// What a behaviour test gets: a migrated store on a fresh database whose clock only
/// moves when the test says so.
#[derive(Clone)]
pub struct Ctx {
    pub store: Store,
    pub clock: ManualClock,
    pub url: String,
}

impl Ctx {
    /// A second store on the same database with its own connection pool (the same clock).
    pub async fn another_store(&self) -> Store {
        Store::open(&self.url)
            .await
            .expect("open second store")
            .with_clock(self.clock.clone())
    }
}

/// Runs `test` against a fresh database of `kind`, then drops the database (also when the
/// test panics, after which the panic continues).
pub async fn run<F, Fut>(kind: BackendKind, test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let database = Database::create(kind).await;
    let clock = ManualClock::new(start_time());
    let store = Store::open(database.url())
        .await
        .expect("open store")
        .with_clock(clock.clone());
    let ctx = Ctx {
        store: store.clone(),
        clock,
        url: database.url().to_string(),
    };
    let outcome = AssertUnwindSafe(test(ctx)).catch_unwind().await;
    store.close().await;
    database.drop_database().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Declares a test function once and runs it on both back ends, as
/// `<name>::postgres` and `<name>::sqlite`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn postgres() {
                $crate::support::run(textgate_store::BackendKind::Postgres, super::$name).await
            }
            #[tokio::test]
            async fn sqlite() {
                $crate::support::run(textgate_store::BackendKind::Sqlite, super::$name).await
            }
        }
    )*};
}
