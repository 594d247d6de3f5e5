//! Persistence for textgate on PostgreSQL (production) and SQLite (the embedded default):
//! conversations, inbound texts and their parts, the outbox with leases, transcripts and
//! the privacy operations on them, and daily statistics.
//!
//! One [`Store`] type serves both back ends with the same behaviour; the back end is chosen
//! from the URL (`postgres://…` or `sqlite://path?mode=rwc`). The store knows nothing of
//! XMPP or modems: JIDs, addresses and PDUs are plain strings.

#![forbid(unsafe_code)]

mod backend;
mod clock;
mod conversation;
mod error;
mod inbound;
mod model;
mod outbound;
mod privacy;
mod signal;
mod stats;

pub use backend::{BackendKind, Store};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::StoreError;
pub use model::*;
pub use privacy::{Deletion, DeletionReport, Selection};
pub use signal::OutboundSignal;
pub use stats::DailyStats;
