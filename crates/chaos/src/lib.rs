//! A chaos harness for textgate: the real daemon as a child process beside a throw-away
//! Prosody, a fresh PostgreSQL database or SQLite file and the modem simulator on a
//! pseudo-terminal; seeded streams of texts in (patron -> simulator -> daemon -> librarian)
//! and replies out (librarian -> daemon -> simulator's network), single-part, multipart and
//! UCS-2; faults at seeded moments (SIGKILL and SIGTERM of the daemon, Prosody restarts,
//! modem link drops and hangs); and a [`Report`] of what was sent, arrived, lost, stuck,
//! refused, duplicated, late or altered in each direction, with the evidence for each bad
//! case.
//!
//! The run is split by phase: [`plan`] decides everything from the seed without I/O;
//! [`rig`] starts what the faults strike ([`daemon`] is the child process and its log);
//! [`librarian`] is the librarian's desk, logging in again after every Prosody restart;
//! [`traffic`] sends the two streams and [`faults`] strikes; [`ledger`] records what
//! happened; [`report`] judges it and [`evidence`] reads the store and the log for the cases;
//! [`scenario`] runs the phases in order.
//!
//! `textgate-chaos` is the command for long runs; `tests/short_run.rs` is the short run in
//! the test suite. Used by tests and by hand, never by a library.

#![forbid(unsafe_code)]

pub mod clock;
pub mod daemon;
pub mod error;
pub mod evidence;
pub mod faults;
pub mod ledger;
pub mod librarian;
pub mod plan;
pub mod report;
pub mod rig;
pub mod scenario;
pub mod traffic;

pub use error::ChaosError;
pub use plan::{FaultKindName, PlanSettings};
pub use report::{DirectionReport, Problem, Report};
pub use rig::StoreKind;
pub use scenario::{run, RunSettings};
