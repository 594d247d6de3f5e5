//! Persistence for textgate on PostgreSQL (production) and SQLite (the embedded default):
//! conversations, inbound texts and their parts, the outbox with leases, transcripts and
//! the privacy operations on them, and daily statistics.
//!
//! One [`Store`] type serves both back ends with the same behaviour; the back end is chosen
//! from the URL (`postgres://…` or `sqlite://path?mode=rwc`). The store knows nothing of
//! XMPP or modems: JIDs, addresses, PDUs and the references sent parts are known by (a
//! modem's TP-MR, a message centre's id) are plain strings. It lends its pool
//! ([`Store::database`], [`Database`], [`with_database!`], [`database_transaction!`]) to the
//! alert service, whose tables live in the same database and migrations.
//!
//! The guarantees, and who keeps them:
//! - `insert_inbound` commits a text (and deletes the pending parts it consumed) before the
//!   caller may delete it from the SIM; the same SMS read again is a [`Insertion::Duplicate`].
//! - `enqueue_outbound` is idempotent on the stanza's sender and id (or campaign and
//!   recipient). Workers take texts with [`Store::lease_due`]; a lease that expired and was
//!   taken over can no longer complete ([`StoreError::LeaseLost`]).
//! - A text that was handed to the modem but whose completion was never recorded (the
//!   daemon died in between) is sent again after its lease expires: at-least-once at that
//!   single point, exactly-once everywhere else.
//! - With transcripts off (the default), bodies and PDUs are erased in the transaction
//!   that records delivery (inbound) or sending (outbound).
//!
//! A worker draining the outbox, without polling:
//!
//! ```no_run
//! # async fn worker(store: textgate_store::Store) -> Result<(), textgate_store::StoreError> {
//! use chrono::Duration;
//! use textgate_store::SentPart;
//!
//! // Subscribe first, then look: work enqueued in between still wakes us.
//! let mut signal = store.outbound_signal("library").await?;
//! loop {
//!     for item in store.lease_due("library", "worker-1", 10, Duration::seconds(120)).await? {
//!         // ... hand item.text to the modem, collect one message reference per part ...
//!         let part = SentPart { seq: 1, message_ref: "17".to_owned() };
//!         store.mark_sent(&item.lease, &[part]).await?;
//!     }
//!     // A real worker also wakes at `store.next_outbound_due("library")` (retries, expired
//!     // leases); `tokio::select!` on both.
//!     signal.notified().await?;
//! }
//! # }
//! ```

#![forbid(unsafe_code)]

mod backend;
mod campaign_outbox;
mod clock;
mod conversation;
mod desk;
mod error;
mod handles;
mod inbound;
mod kept_notices;
mod lost_answers;
mod model;
mod outbound;
mod privacy;
mod signal;
mod stats;
mod unmatched_reports;

pub use backend::{BackendKind, Database, Store};
pub use clock::{Clock, ManualClock, SystemClock};
pub use desk::{BlockedNumber, CannedReply, Saved};
pub use error::StoreError;
pub use kept_notices::{KeptNotice, StoredNotice};
pub use model::*;
pub use privacy::{Deletion, DeletionReport, Selection};
pub use signal::OutboundSignal;
pub use stats::DailyStats;
pub use unmatched_reports::KeptReport;
