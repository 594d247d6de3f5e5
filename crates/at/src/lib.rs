//! AT command framing for modems (3GPP TS 27.005 / 27.007): feed bytes, get events.
//! No I/O and no async runtime: the modem driver buffers bytes and calls this crate.
//!
//! - [`framer`]: bytes in, [`Event`]s out (final results, information responses,
//!   unsolicited result codes, the `> ` prompt, echo and noise).
//! - [`command`]: typed builders for the commands the driver sends.
//! - [`response`]: typed parsers for their information responses.
//! - [`error_code`]: the `+CME`/`+CMS` error tables (codes, texts, reasons in words).

#![forbid(unsafe_code)]

pub mod command;
pub mod error_code;
pub mod fields;
pub mod framer;
pub mod response;

pub use command::{Command, CommandError};
pub use error_code::{CmeError, CmsError};
pub use framer::{Event, Expectation, FinalResult, Framer, Response, Urc};
