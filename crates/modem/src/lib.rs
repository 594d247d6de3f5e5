//! Modem drivers and their supervision: the [`SmsDriver`] interface the rest of textgate
//! uses, and the AT driver for USB modems and phones (serial) or network modems and the
//! simulator (TCP).
//!
//! - [`driver`]: the interface every driver implements and the rest of textgate uses:
//!   [`OutgoingSms`], [`ModemEvent`], [`AckHandle`], and driver-neutral errors
//!   ([`SendError`] with its [`ErrorClass`] and [`Refusal`]).
//! - [`refusal`]: how the AT driver's `+CMS`/`+CME` errors become those refusals.
//! - [`plain`]: a failed send in words a librarian can act on ([`SendError::in_plain_words`]).
//! - [`at_driver`]: [`AtModem`], one task owning the device, with timeouts, soft reset,
//!   reopen and backoff.
//! - [`quirks`]: per-family differences as data tables.
//! - [`port`]: serial and TCP devices, reopened on demand.
//! - [`mod@probe`]: what `textgate modem probe` prints.
//! - [`smtp`]: [`SmtpDriver`], the legacy e-mail-to-SMS path through an SMTP relay.
//!
//! The meaning of the bytes (framing, commands, responses) lives in `textgate_at`; this
//! crate adds I/O, time and policy.
//!
//! ```no_run
//! use textgate_modem::{opener_for, AtModem, ModemConfig, ModemEvent, OutgoingSms, SmsDriver};
//!
//! # async fn run(message: OutgoingSms) -> Result<(), Box<dyn std::error::Error>> {
//! // Prefer /dev/serial/by-id/...: ttyUSB numbers change after a USB reset.
//! let device = opener_for("/dev/serial/by-id/usb-Quectel_EC25-if02-port0", 115_200);
//! let (modem, mut events) = AtModem::spawn(ModemConfig::default(), device);
//! tokio::spawn(async move {
//!     while let Some(event) = events.recv().await {
//!         if let ModemEvent::IncomingPart(part) = event {
//!             // Store part.pdu_hex durably first; only then may the modem forget it.
//!             let _ = part.ack.acknowledge();
//!         }
//!     }
//! });
//! let references = modem.send(message).await?;
//! # let _ = references;
//! # Ok(())
//! # }
//! ```
//!
//! Two reception modes exist. The default stores each text on the SIM and announces it
//! with `+CMTI` (`AT+CNMI=2,1,0,2,0`): nothing is lost while the daemon is down, and a
//! slow store costs nothing. Direct routing (`+CMT`, [`ModemConfig::indication`]) must be
//! acknowledged with `AT+CNMA` within the network's timeout (some seconds), and the
//! acknowledgement waits behind a multipart send in progress; a late one makes the network
//! deliver the text again, so the store must tolerate duplicates there.

#![forbid(unsafe_code)]

pub mod at_driver;
pub mod config;
mod connection;
pub mod driver;
pub mod plain;
pub mod port;
pub mod probe;
pub mod quirks;
pub mod refusal;
pub mod smtp;
pub mod status;

pub use at_driver::AtModem;
pub use config::{Backoff, ModemConfig, Timeouts};
pub use driver::{
    AcceptedPart, AckHandle, AckToken, DeliveryReceipt, DriverStopped, ErrorClass, HealthChange,
    MessageReference, ModemEvent, ModemEvents, Origin, OutgoingSms, ReceiptOutcome, ReceivedPdu,
    Refusal, RefusedBy, SendError, SendFailure, SendMonitor, SendProgress, SmsDriver, StatusError,
    SubmitPart,
};
pub use plain::{Outlook, PlainCause, PlainWords};
pub use port::{opener_for, BoxPort, OpenWith, Port, PortOpener, SerialDevice, TcpAddress};
pub use probe::{probe, probe_device, ProbeError};
pub use smtp::{
    CarrierDirectory, DirectoryError, SmtpAccepted, SmtpConfig, SmtpConfigError, SmtpCredentials,
    SmtpDriver, SmtpSecurity, SmtpSendError, DEFAULT_HARD_LIMIT,
};
pub use status::ModemStatus;
