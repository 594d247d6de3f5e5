//! textgate's operational surface: what an operator sees of a running daemon.
//!
//! - [`logging`]: the tracing subscriber, human-readable on a terminal or JSON lines for a
//!   log collector (`[log] format` in the configuration).
//! - [`metrics`]: [`Metrics`], a cheap cloneable handle with one typed method per event the
//!   runtime reports (a text in, a text out, a send failure, the modem's signal...), and its
//!   Prometheus (OpenMetrics text) exposition.
//! - [`readiness`]: [`Readiness`], the handle the runtime updates as each gateway's XMPP
//!   component and modem come and go; `/readyz` and systemd's `READY=1` read it.
//! - [`http`]: the axum router serving `/metrics`, `/healthz` and `/readyz`.
//! - [`systemd`]: `READY=1`, `STATUS=` and watchdog pings for `Type=notify` units; it does
//!   nothing when the process was not started by systemd.
//!
//! This crate knows nothing of modems, XMPP or the store: the runtime tells it what
//! happened, in the runtime's own words, and it counts and reports.

#![forbid(unsafe_code)]

pub mod http;
pub mod logging;
pub mod metrics;
pub mod readiness;
pub mod systemd;

pub use http::router;
pub use logging::{init_logging, LogFormat, LoggingError};
pub use metrics::{Metrics, SendFailure};
pub use readiness::{ComponentState, GatewayReadiness, ModemState, Readiness};
pub use systemd::{SystemdNotifier, DEFAULT_READY_GRACE};
