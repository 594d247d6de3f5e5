//! Test harness shared by the integration tests: a fresh database per test on either back
//! end (made by `textgate-testkit`: PostgreSQL from `DATABASE_URL`, default the local server
//! as user postgres, dropped afterwards; SQLite in a temporary directory), a migrated store
//! on it with a manual clock, and a macro that runs a test on both back ends.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use chrono::{DateTime, TimeZone, Utc};
use futures::FutureExt;
use textgate_store::{BackendKind, ManualClock, Store};
use textgate_testkit::{FreshPostgres, FreshSqlite};

/// The time behaviour tests start at.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
        .single()
        .expect("valid start time")
}

/// A database that exists for one test.
pub enum Database {
    Postgres(FreshPostgres),
    Sqlite(FreshSqlite),
}

impl Database {
    pub async fn create(kind: BackendKind) -> Database {
        match kind {
            BackendKind::Postgres => Database::Postgres(
                FreshPostgres::create("textgate_test")
                    .await
                    .expect("create test database"),
            ),
            BackendKind::Sqlite => {
                Database::Sqlite(FreshSqlite::create("textgate.db").expect("temporary directory"))
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Database::Postgres(db) => db.url(),
            Database::Sqlite(db) => db.url(),
        }
    }

    pub async fn drop_database(self) {
        if let Database::Postgres(db) = self {
            db.cleanup().await.expect("drop test database");
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
