//! A modem simulator that speaks AT on a pseudo-terminal or TCP port, for the demo and tests.
//!
//! The simulated modem is a sans-I/O core ([`ModemState`]) that takes the bytes a host
//! writes and answers with the bytes a 3GPP TS 27.005/27.007 modem in PDU mode would send,
//! plus timed effects (send latency, status reports, ringing) that the runtime carries out.
//! Around it: [`SimHandle`] runs the core on tokio and serves it on any byte stream, a real
//! pseudo-terminal ([`pty`]) or TCP ([`tcp`]); tests and the HTTP control API
//! ([`control`]) use it to inject texts, calls and faults and to read what was sent.

#![forbid(unsafe_code)]

pub mod command;
pub mod config;
pub mod control;
pub mod faults;
pub mod modem;
pub mod pdu;
pub mod personality;
pub mod pty;
pub mod sim;
pub mod store;
pub mod tcp;

pub use config::{SimConfig, UsbPort};
pub use faults::{FaultPatch, Faults, ReportOutcome, SendErrorFault};
pub use modem::{Counters, IncomingKind, Job, Line, ModemState, SentPart, Step};
pub use personality::Personality;
pub use sim::{
    IncomingText, InjectError, InjectReport, PartOrder, SentMessage, SimHandle, WaitTimeout,
};
