//! The textgate runtime: for each configured gateway it joins the modem driver, the store,
//! the queue router and the XMPP component into one running service.
//!
//! - [`settings`]: what one gateway needs to know (plain data the binary builds from its
//!   configuration).
//! - [`hooks`]: the telemetry handles a gateway reports to (metrics, readiness) and the
//!   screen that answers alert keywords before texts reach the operators.
//! - [`claims`]: who is answering whom, shared by the event loop with the reply intake.
//! - [`handoff`]: the note a desk gets with a conversation handed to it, with the
//!   conversation so far (no I/O).
//! - [`handles`]: privacy handles, and [`handles::Component`], the border every message to
//!   the librarians crosses (where numbers become handles on a gateway that hides them).
//! - [`inbound`]: turning received PDUs into parts and stored texts (no I/O).
//! - [`notices`]: everything the gateway itself tells operators (receipts, errors on
//!   failed or refused replies, one-line notices), composed in one place.
//! - [`outbox`]: the worker that leases due replies from the store and sends them through
//!   the driver, with retries and the XMPP consequences of success and failure.
//! - [`report_matcher`]: status reports that arrive before the store can match them, or
//!   while their reply is still being sent, and when they are looked at again (no I/O).
//! - [`runtime`]: the per-gateway event loop (modem events, XMPP events, reassembly
//!   deadlines), one struct split by phase, and [`Gateway`], the handle that starts and
//!   stops it.
//!
//! Each gateway runs in its own tasks and shares nothing with the others but the store's
//! connection pool, so one modem failing never stops another gateway. Nothing here polls:
//! the loops wait on the driver's events, the component's events, the store's outbound
//! signal, the reassembler's next deadline and the outbox's next due time.

#![forbid(unsafe_code)]

pub mod claims;
pub mod device_watch;
pub mod flood;
pub mod handles;
pub mod handoff;
pub mod hooks;
pub mod inbound;
pub mod intake;
pub mod notices;
pub mod outbox;
pub mod report_matcher;
pub mod runtime;
pub mod settings;

pub use hooks::{Hooks, InboundScreen, Screened};
pub use runtime::{Gateway, GatewayError};
pub use settings::{GatewaySettings, OutboxPolicy};
