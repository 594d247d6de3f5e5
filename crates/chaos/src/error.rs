//! What can stop a chaos run before it has a report: a part of the rig that does not
//! start, or the daemon not coming back at all. Faults the daemon survives badly are not
//! errors; they are what the report is for.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("cannot create the run's directory: {0}")]
    TempDir(std::io::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Prosody: {0}")]
    Prosody(#[from] textgate_testkit::prosody::ProsodyError),
    #[error("the database: {0}")]
    Database(#[from] textgate_testkit::FreshDatabaseError),
    #[error("reading the daemon's store: {0}")]
    Store(#[from] sqlx::Error),
    #[error("the simulator's pseudo-terminal did not appear within {0:?}")]
    NoPty(Duration),
    #[error("cannot start the daemon {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("the daemon did not log {what} within {within:?}; its last lines:\n{tail}")]
    NotReady {
        what: String,
        within: Duration,
        tail: String,
    },
    #[error("the plan made a text the simulator cannot send: {0}")]
    Plan(String),
    #[error("the librarian could not log in within {within:?}: {reason}")]
    Librarian { within: Duration, reason: String },
}
