//! AT command framing for modems (3GPP TS 27.005 / 27.007): feed bytes, get events.
//! No I/O and no async runtime: the modem driver buffers bytes and calls this crate.

#![forbid(unsafe_code)]
