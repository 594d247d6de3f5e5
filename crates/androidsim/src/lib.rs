//! A simulated Android phone running SMSGate ("SMS Gateway for Android",
//! `capcom6/android-sms-gateway`, app v1.68.0) in its **local server** mode: the HTTP API
//! the app serves on the phone (basic auth, `/message(s)`, `/webhook(s)`, `/health`), the
//! life of a sent text (Pending → Processed → Sent → Delivered, or Failed), and the signed
//! webhooks the app posts (with its retries). Used by tests in-process ([`Phone`]) and by
//! hand (the `textgate-androidsim` binary with its control API, [`ControlApi`]).
//!
//! It is written from the app's sources and docs, not from our own protocol core
//! (`crates/android`), so a misreading of the contract in one cannot hide in the other.
//! `README.md` beside this crate lists what is simulated, what is not, and the sources.
//!
//! Layout: [`config`] the knobs; `state` the one mutex-guarded state every part shares;
//! `api` the app's routes; `messages` the send request and the message records;
//! `radio` the phone's SMS stack (hand-off, sent and delivery reports, Android's rate
//! monitor); `webhooks` registrations and signed delivery with retries; `inbox` texts
//! arriving; `faults` the switches tests flip; `control` the control API; `server` the
//! listener and connections.

#![forbid(unsafe_code)]

mod api;
pub mod config;
mod control;
mod faults;
mod gson;
mod health;
mod inbox;
mod messages;
mod phone;
mod radio;
mod server;
mod state;
mod text;
mod time;
mod webhooks;

/// The app version whose behaviour is simulated (reported by `/health` and in the
/// webhooks' `User-Agent`).
pub(crate) const APP_VERSION: &str = "1.68.0";

pub use config::{ControlApi, PhoneConfig};
pub use phone::Phone;
pub use state::{AttemptOutcome, Registration, SentMessage, WebhookAttempt};
pub use text::parts_count;
