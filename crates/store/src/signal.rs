//! Waking the workers that drain the outbox without polling the outbox: PostgreSQL
//! `LISTEN/NOTIFY` (the `NOTIFY` is sent inside the enqueue transaction, so it is delivered
//! exactly when the row becomes visible, to every daemon sharing the database), and on
//! SQLite an in-process watch channel per gateway plus a watcher for other processes.
//!
//! The SQLite channels belong to one [`Store`] and its clones: the daemon opens one store
//! and lends it (and its pool) to every part that enqueues work, so no registry of open
//! files is needed. Work queued by another process (`textgate send` beside a running
//! daemon) cannot reach those channels, and SQLite has no notifications between processes,
//! so each store on a database file keeps one connection of its own and asks it
//! `PRAGMA data_version` every [`FOREIGN_COMMIT_POLL`]. The number changes only when
//! another connection committed to the file, which includes the store's own pool; then
//! every gateway's channel fires. A wake-up means "look again", so the extra ones after
//! the store's own commits cost a query each and lose nothing. The question is a single
//! autocommit read of the file's header (in WAL mode it blocks no writer), and the
//! watcher stops when the last clone of the store is dropped or [`Store::close`] runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::backend::Backend;
use crate::{Store, StoreError};

/// The PostgreSQL channel; the payload is the gateway name.
pub(crate) const OUTBOUND_CHANNEL: &str = "textgate_outbound";

/// How often a store on a SQLite file asks whether another process committed: short
/// enough that `textgate send` is "at once" to a person, long enough to cost nothing.
const FOREIGN_COMMIT_POLL: Duration = Duration::from_millis(200);

/// How long the watcher's question waits for a lock. In WAL mode reading the header
/// waits only while the log is being recovered; the watcher asks again at the next tick
/// rather than queue behind that, so it never holds up [`Store::close`].
const WATCHER_BUSY_TIMEOUT: Duration = Duration::from_millis(100);

/// In-process signals for SQLite, one watch channel per gateway, and the watcher that
/// fires them for commits by other processes.
#[derive(Default)]
pub(crate) struct SqliteSignals {
    outbound: Mutex<HashMap<String, watch::Sender<u64>>>,
    /// Dropping it (with the last clone of the store, or in [`Store::close`]) stops the
    /// watcher.
    stop_watcher: Mutex<Option<oneshot::Sender<()>>>,
    /// The watcher task, awaited by [`Store::close`] so its connection is closed too.
    watcher: Mutex<Option<JoinHandle<()>>>,
}

impl SqliteSignals {
    fn sender(&self, gateway: &str) -> watch::Sender<u64> {
        let mut map = self.outbound.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(gateway.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .clone()
    }

    pub(crate) fn outbound_changed(&self, gateway: &str) {
        self.sender(gateway).send_modify(bump);
    }

    /// Fires every gateway's channel: something committed, and the watcher cannot tell
    /// what (nor for which gateway) without reading the tables.
    fn everything_may_have_changed(&self) {
        let map = self.outbound.lock().unwrap_or_else(PoisonError::into_inner);
        for sender in map.values() {
            sender.send_modify(bump);
        }
    }

    /// Starts the watcher for commits by other connections to the file `options` names.
    /// An in-memory database has no other process to watch for, and gets none.
    pub(crate) async fn watch_other_connections(
        self: &Arc<Self>,
        options: &SqliteConnectOptions,
    ) -> Result<(), sqlx::Error> {
        let mut connection = options
            .clone()
            .busy_timeout(WATCHER_BUSY_TIMEOUT)
            .connect()
            .await?;
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut connection)
            .await?;
        if journal.eq_ignore_ascii_case("memory") {
            connection.close().await?;
            return Ok(());
        }
        // Read before the store is handed out, so any commit after it is noticed.
        let seen = data_version(&mut connection).await?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(watch_commits(
            connection,
            Arc::downgrade(self),
            stopped,
            seen,
        ));
        *self
            .stop_watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(stop);
        *self.watcher.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        Ok(())
    }

    /// Stops the watcher and waits until its connection is closed.
    pub(crate) async fn stop_watching(&self) {
        drop(
            self.stop_watcher
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let task = self
            .watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            // The task only ends by returning; a panic in it has nothing to hand back here.
            let _ = task.await;
        }
    }
}

fn bump(n: &mut u64) {
    *n = n.wrapping_add(1);
}

async fn data_version(connection: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(connection)
        .await
}

/// The watcher's loop: ask, compare, fire. It holds the signals weakly, so it never keeps
/// a dropped store alive.
async fn watch_commits(
    mut connection: SqliteConnection,
    signals: Weak<SqliteSignals>,
    mut stopped: oneshot::Receiver<()>,
    mut seen: i64,
) {
    let mut ticks = tokio::time::interval(FOREIGN_COMMIT_POLL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // Sent never; the sender is dropped when the store goes or is closed.
            _ = &mut stopped => break,
            _ = ticks.tick() => {}
        }
        // A failed question (the file busy past the short timeout) is asked again at the
        // next tick; the commit it would have seen still shows then.
        let Ok(version) = data_version(&mut connection).await else {
            continue;
        };
        if version == seen {
            continue;
        }
        seen = version;
        let Some(signals) = signals.upgrade() else {
            break;
        };
        signals.everything_may_have_changed();
    }
    // Closing is best effort: the connection is dropped either way.
    let _ = connection.close().await;
}

/// A subscription to "new outbound work for this gateway". Subscribe first, then look for
/// due work, then await [`OutboundSignal::notified`]: work enqueued in between is not
/// missed. A wake-up means "look again", never "there is certainly work".
pub struct OutboundSignal {
    gateway: String,
    inner: SignalInner,
}

enum SignalInner {
    Postgres(Box<PgListener>),
    Sqlite(watch::Receiver<u64>),
}

impl std::fmt::Debug for OutboundSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundSignal")
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

impl OutboundSignal {
    /// Returns when outbound work may have appeared for the gateway.
    pub async fn notified(&mut self) -> Result<(), StoreError> {
        match &mut self.inner {
            SignalInner::Postgres(listener) => loop {
                // `try_recv` returns `None` when the connection dropped; notifications sent
                // meanwhile are lost, so the caller is told to look again.
                match listener.try_recv().await? {
                    None => return Ok(()),
                    Some(n) if n.payload() == self.gateway => return Ok(()),
                    Some(_) => continue,
                }
            },
            SignalInner::Sqlite(receiver) => {
                // The sender lives in the store's signal map for as long as the store, so
                // an error means the store is gone; report it as a wake-up.
                let _ = receiver.changed().await;
                Ok(())
            }
        }
    }
}

impl Store {
    /// Subscribes to new outbound work for `gateway`. On PostgreSQL the subscription keeps
    /// one connection of the store's pool (8 connections) for itself while it lives.
    pub async fn outbound_signal(&self, gateway: &str) -> Result<OutboundSignal, StoreError> {
        let inner = match &self.backend {
            Backend::Postgres(pool) => {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen(OUTBOUND_CHANNEL).await?;
                SignalInner::Postgres(Box::new(listener))
            }
            Backend::Sqlite(_) => {
                let receiver = self.signals.sender(gateway).subscribe();
                SignalInner::Sqlite(receiver)
            }
        };
        Ok(OutboundSignal {
            gateway: gateway.to_string(),
            inner,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::Store;

    async fn store_on_a_file(dir: &tempfile::TempDir) -> Store {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        Store::open(&url).await.expect("open store")
    }

    #[tokio::test]
    async fn the_watcher_stops_when_the_last_clone_of_its_store_is_dropped() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = store_on_a_file(&dir).await;
        let clone = store.clone();
        let task = store
            .signals
            .watcher
            .lock()
            .expect("lock")
            .take()
            .expect("a store on a file has a watcher");
        drop(store);
        drop(clone);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the watcher ends with its store")
            .expect("the watcher did not panic");
    }

    #[tokio::test]
    async fn closing_the_store_ends_the_watcher_before_it_returns() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = store_on_a_file(&dir).await;
        let watcher = store
            .signals
            .watcher
            .lock()
            .expect("lock")
            .as_ref()
            .map(|task| task.abort_handle())
            .expect("a store on a file has a watcher");
        store.close().await;
        assert!(watcher.is_finished());
    }

    #[tokio::test]
    async fn an_in_memory_store_has_no_watcher() {
        let store = Store::open("sqlite::memory:").await.expect("open store");
        assert!(store.signals.watcher.lock().expect("lock").is_none());
        store.close().await;
    }
}
