//! Waking the workers that drain the outbox without polling: PostgreSQL `LISTEN/NOTIFY`
//! (the `NOTIFY` is sent inside the enqueue transaction, so it is delivered exactly when
//! the row becomes visible, to every daemon sharing the database), and an in-process
//! watch channel per gateway on SQLite (one file, one daemon). The SQLite channels belong
//! to one [`Store`] and its clones: the daemon opens one store and lends it (and its pool)
//! to every part that enqueues work, so no registry of open files is needed.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::backend::Backend;
use crate::{Store, StoreError};

/// The PostgreSQL channel; the payload is the gateway name.
pub(crate) const OUTBOUND_CHANNEL: &str = "textgate_outbound";

/// In-process signals for SQLite, one watch channel per gateway.
#[derive(Default)]
pub(crate) struct SqliteSignals {
    outbound: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl SqliteSignals {
    fn sender(&self, gateway: &str) -> watch::Sender<u64> {
        let mut map = self.outbound.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(gateway.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .clone()
    }

    pub(crate) fn outbound_changed(&self, gateway: &str) {
        self.sender(gateway).send_modify(|n| *n = n.wrapping_add(1));
    }
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
