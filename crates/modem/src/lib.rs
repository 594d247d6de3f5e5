//! Modem drivers and their supervision: the [`SmsDriver`] interface the rest of textgate
//! uses, and the AT driver for USB modems and phones (serial) or network modems and the
//! simulator (TCP).
//!
//! - [`driver`]: the interface: [`OutgoingSms`], [`ModemEvent`], [`AckHandle`], errors.
//! - [`at_driver`]: [`AtModem`], one task owning the device, with timeouts, soft reset,
//!   reopen and backoff.
//! - [`quirks`]: per-family differences as data tables.
//! - [`port`]: serial and TCP devices, reopened on demand.
//! - [`probe`]: what `textgate modem probe` prints.
//!
//! The meaning of the bytes (framing, commands, responses) lives in `textgate_at`; this
//! crate adds I/O, time and policy.

#![forbid(unsafe_code)]

pub mod at_driver;
pub mod config;
mod connection;
pub mod driver;
pub mod port;
pub mod probe;
pub mod quirks;
pub mod status;

pub use at_driver::AtModem;
pub use config::{Backoff, ModemConfig, Timeouts};
pub use driver::{
    AckHandle, DriverStopped, HealthChange, MessageReference, ModemEvent, ModemEvents, Origin,
    OutgoingSms, ReceivedPdu, SendError, SendFailure, SmsDriver, StatusError, SubmitPart,
};
pub use port::{opener_for, BoxPort, Port, PortOpener, SerialDevice, TcpAddress};
pub use probe::{probe, probe_device, ProbeError};
pub use status::ModemStatus;
