//! Persistence for textgate on PostgreSQL (production) and SQLite (embedded default):
//! conversations, inbound texts, the outbox with leases, transcripts and privacy operations.

#![forbid(unsafe_code)]
