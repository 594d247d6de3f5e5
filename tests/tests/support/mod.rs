//! What the end-to-end tests share: a throw-away Prosody (or ejabberd) and the librarian client (testkit's,
//! shared with the xmpp crate's tests and the demo), a fresh PostgreSQL database, the modem
//! simulator on a real pseudo-terminal, and the daemon as a child process.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub use textgate_testkit::{prosody, xmpp};

pub mod clients;
pub mod daemon;
pub mod database;
pub mod http;
pub mod members;
pub mod modem;
pub mod scene;

/// Measuring, for the benchmarks that share this harness.
pub mod measure {
    use std::time::Duration;

    /// The peak resident memory (VmHWM) of process `pid`, in KiB.
    pub fn peak_memory_kib(pid: u32) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The `p` quantile of sorted durations.
    pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index.min(sorted.len() - 1)]
    }
}
