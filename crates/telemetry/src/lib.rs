//! textgate's operational surface: what an operator sees of a running daemon.
//!
//! - [`logging`]: the tracing subscriber, human-readable on a terminal or JSON lines for a
//!   log collector (`[log] format` in the configuration); [`json_lines`] writes the JSON,
//!   with span fields flattened into each line so one text's id finds all its lines.
//! - [`metrics`]: [`Metrics`], a cheap cloneable handle with one typed method per event the
//!   runtime reports (a text in, a text out, a send failure, the modem's signal...), and its
//!   Prometheus (OpenMetrics text) exposition.
//! - [`readiness`]: [`Readiness`], the handle the runtime updates as each gateway's XMPP
//!   component and modem come and go; `/readyz` and systemd's `READY=1` read it.
//! - [`http`]: the axum router serving `/metrics`, `/healthz` and `/readyz`.
//! - [`systemd`]: `READY=1`, `STATUS=` and watchdog pings for `Type=notify` units; it does
//!   nothing when the process was not started by systemd.
//! - [`daemon`]: [`Telemetry`], all of the above started in one call.
//!
//! This crate knows nothing of modems, XMPP or the store: the runtime tells it what
//! happened, in the runtime's own words, and it counts and reports.
//!
//! # Wiring it into the daemon
//!
//! In `textgate run`, once per process:
//!
//! ```no_run
//! # async fn wiring(gateway_names: Vec<String>, listen: std::net::SocketAddr) -> Result<(), textgate_telemetry::ServeError> {
//! use textgate_telemetry::{init_logging, LogFormat, Telemetry, DEFAULT_READY_GRACE};
//! // From [log] format and level, before anything logs.
//! let _ = init_logging(LogFormat::Json, "info");
//! // Every configured gateway, before starting any, including one whose start then fails:
//! // it keeps /readyz at 503 and shows in systemd's status line. `listen` is [http] listen.
//! let mut telemetry = Telemetry::start(
//!     listen,
//!     gateway_names.iter().map(String::as_str),
//!     DEFAULT_READY_GRACE,
//! )
//! .await?;
//! // ... start each gateway with telemetry.metrics.clone() and telemetry.readiness.clone();
//! // on SIGTERM/SIGINT, before stopping the gateways:
//! telemetry.stopping();
//! // ... stop the gateways, then drop `telemetry`.
//! # Ok(()) }
//! ```
//!
//! The pieces can also be used one by one ([`router`] to merge into the web console's
//! router on the same address, [`serve`], [`SystemdNotifier::spawn`]).
//!
//! Then each gateway's runtime gets clones of `metrics` and `readiness` and reports, with
//! its `[[gateway]] name` as the `gateway` argument:
//!
//! | where in the runtime | call |
//! | --- | --- |
//! | XMPP `GatewayEvent::Connected` | `readiness.set_component(name, ComponentState::Connected)`; if it is not the first connection, also `metrics.xmpp_reconnected(name)` |
//! | XMPP `GatewayEvent::Disconnected` | `readiness.set_component(name, ComponentState::Disconnected)` |
//! | modem `HealthChange::Ready` | `readiness.set_modem(name, ModemState::Ready)` |
//! | any other modem `HealthChange` | `readiness.set_modem(name, ModemState::NotReady)`; on a reopen after a loss, `metrics.modem_restarted(name)` |
//! | a signal reading (`AT+CSQ`) | `metrics.set_modem_signal(name, Some(rssi))` |
//! | a text committed to the store (after reassembly, not per part; not for a re-read duplicate) | `metrics.text_in(name)` |
//! | a reply whose parts the modem all accepted | `metrics.text_out(name, parts)` |
//! | a reply failed for good (final error or last attempt) | `metrics.send_failed(name, SendFailure::…)` |
//! | after enqueueing/leasing/finishing outbox items | `metrics.set_outbox_depth(name, waiting)` |
//! | after storing an undeliverable text / flushing the backlog | `metrics.set_offline_backlog(name, waiting)` |
//!
//! Map send errors to [`SendFailure`]: `+CMS ERROR` 1–127 (RP causes from the network) to
//! `Network`; other `+CMS`/`+CME` errors and a bare `ERROR` to `Modem`; a missing `+CMGS`
//! to `Timeout`; "the modem is not available" to `ModemUnavailable`; more than
//! `max_parts` to `TooLong`; an unusable number to `BadRecipient`.

#![forbid(unsafe_code)]

pub mod daemon;
pub mod http;
pub mod json_lines;
pub mod logging;
pub mod metrics;
pub mod readiness;
pub mod systemd;

pub use daemon::Telemetry;
pub use http::{router, serve, ServeError, Serving};
pub use json_lines::JsonLines;
pub use logging::{init_logging, LogFormat, LoggingError};
pub use metrics::{Metrics, SendFailure};
pub use readiness::{ComponentState, GatewayReadiness, ModemState, Readiness};
pub use systemd::{SystemdNotifier, DEFAULT_READY_GRACE};
