//! The run's clock: every time in the report is counted from the run's start, on the
//! monotonic clock, with the wall-clock start kept to place the simulator's timestamps.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

#[derive(Clone, Copy, Debug)]
pub struct RunClock {
    start: Instant,
    start_utc: DateTime<Utc>,
}

impl RunClock {
    pub fn start() -> RunClock {
        RunClock {
            start: Instant::now(),
            start_utc: Utc::now(),
        }
    }

    /// Time since the run started.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// A wall-clock time (the simulator stamps what the host sent) on the run's clock;
    /// times before the start count as the start.
    pub fn since_start(&self, at: DateTime<Utc>) -> Duration {
        (at - self.start_utc).to_std().unwrap_or_default()
    }

    /// The monotonic instant `offset` after the start.
    pub fn instant(&self, offset: Duration) -> Instant {
        self.start + offset
    }
}

/// Seconds with one decimal, as the report prints times.
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
