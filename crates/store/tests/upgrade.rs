//! Upgrades of a database that already holds rows, each test run on PostgreSQL and on
//! SQLite: the database is migrated the way the previous release left it, rows are written
//! the way that release wrote them, and the current store applies what is missing and
//! must still work with them.

mod support;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::Path;

use futures::FutureExt;
use sqlx::migrate::Migrator;
use support::{start_time, Database};
use textgate_store::{
    with_database, BackendKind, ManualClock, OutboundState, PartOutcome, SentPart, Store,
};

const GW: &str = "library";

/// Applies the migrations of `store`'s back end a release before `left_out` had: the
/// store's migrations before it, and the web console's `01xx` ones, which sort after it
/// (the missing store migrations are then applied out of order, as on a real upgrade).
async fn migrate_without(store: &Store, left_out: i64) {
    let flavour = match store.kind() {
        BackendKind::Postgres => "postgres",
        BackendKind::Sqlite => "sqlite",
    };
    let all = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(flavour);
    let earlier = tempfile::tempdir().expect("a temporary directory");
    for entry in std::fs::read_dir(&all).expect("the migrations directory") {
        let path = entry.expect("a migration file").path();
        let name = path.file_name().expect("a file name").to_string_lossy();
        let version: i64 = name
            .split('_')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("a migration named VERSION_name.sql");
        if version < left_out || version >= 100 {
            std::fs::copy(&path, earlier.path().join(name.as_ref())).expect("copied");
        }
    }
    let migrator = Migrator::new(earlier.path())
        .await
        .expect("the earlier migrations read");
    with_database!(store.database(), pool => migrator.run(pool).await)
        .expect("the earlier migrations apply");
}

/// Runs `test` on a store connected to a fresh database of `kind` whose schema it sets up
/// itself, then drops the database (also when the test panics, after which the panic
/// continues).
async fn run<F, Fut>(kind: BackendKind, test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let database = Database::create(kind).await;
    let store = Store::connect(database.url())
        .await
        .expect("the store connects")
        .with_clock(ManualClock::new(start_time()));
    let outcome = AssertUnwindSafe(test(store.clone())).catch_unwind().await;
    store.close().await;
    database.drop_database().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Before 0006 a part's message reference was the modem's TP-MR as an integer. The upgrade
/// keeps it as its decimal text, which is how the gateway now writes a TP-MR, so a status
/// report for a part sent before the upgrade matches it; a report kept unmatched keeps its
/// reference as well, and the reports kept afterwards do not take the ids of forgotten ones.
async fn tp_mrs_written_before_message_ids_still_match(store: Store) {
    migrate_without(&store, 6).await;

    let now = start_time();
    let outbound: i64 = with_database!(store.database(), pool => {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbound (gateway, recipient, idempotency_key, priority, state,
                 attempts, next_attempt_at, body_chars, created_at, sent_at)
             VALUES ($1, '+15551234567', 'before-0006', 10, 'sent', 1, $2, 5, $2, $2)
             RETURNING id",
        )
        .bind(GW)
        .bind(now)
        .fetch_one(pool)
        .await
        .expect("a reply sent before the upgrade");
        sqlx::query(
            "INSERT INTO outbound_parts (outbound_id, seq, gateway, message_ref, sent_at, status)
             VALUES ($1, 1, $2, 12, $3, 'pending')",
        )
        .bind(id)
        .bind(GW)
        .bind(now)
        .execute(pool)
        .await
        .expect("its part, under TP-MR 12");
        sqlx::query(
            "INSERT INTO unmatched_reports (gateway, message_ref, status, received_at)
             VALUES ($1, 7, 'delivered', $2), ($1, 8, 'delivered', $2)",
        )
        .bind(GW)
        .bind(now)
        .execute(pool)
        .await
        .expect("two reports kept unmatched");
        // The second one matched and was forgotten.
        sqlx::query("DELETE FROM unmatched_reports WHERE message_ref = 8")
            .execute(pool)
            .await
            .expect("a report forgotten");
        id
    });

    store.migrate().await.expect("the upgrade applies");

    assert_eq!(
        store.sent_parts(outbound).await.expect("the parts read"),
        [SentPart {
            seq: 1,
            message_ref: "12".to_owned(),
        }]
    );
    let kept = store.unmatched_reports(GW).await.expect("the reports read");
    let kept: Vec<(i64, &str)> = kept
        .iter()
        .map(|r| (r.id, r.message_ref.as_str()))
        .collect();
    assert_eq!(kept, [(1, "7")]);
    let matched = store
        .record_status_report(
            GW,
            "12",
            &PartOutcome::Delivered,
            chrono::Duration::hours(1),
        )
        .await
        .expect("the store answers")
        .expect("the report for TP-MR 12 matches the part written before the upgrade");
    assert_eq!(
        (matched.outbound_id, matched.seq, matched.state),
        (outbound, 1, OutboundState::Delivered)
    );
    let next = store
        .keep_unmatched_report(GW, "4f1c0a9e-77", &PartOutcome::Delivered, None)
        .await
        .expect("a report kept after the upgrade");
    assert_eq!(next, 3, "the ids go on past the forgotten report's");
}

mod tp_mrs_written_before_message_ids_still_match {
    use super::*;

    #[tokio::test]
    async fn postgres() {
        run(
            BackendKind::Postgres,
            tp_mrs_written_before_message_ids_still_match,
        )
        .await
    }

    #[tokio::test]
    async fn sqlite() {
        run(
            BackendKind::Sqlite,
            tp_mrs_written_before_message_ids_still_match,
        )
        .await
    }
}
