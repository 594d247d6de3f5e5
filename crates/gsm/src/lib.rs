//! GSM SMS codec: the GSM 03.38 alphabet, UCS-2, TS 23.040 PDUs, user data headers,
//! segmentation and reassembly. Pure functions and small state machines: this crate never
//! performs I/O and never reads the clock (time is passed in).

#![forbid(unsafe_code)]

// Owned by the codec work: alphabets, packing, PDUs.
pub mod alphabet;
pub mod error;
pub mod pdu;
pub mod septet;
pub mod ucs2;
pub mod udh;

pub use error::GsmError;
pub use pdu::{Pdu, SmscField, Tpdu};

// Owned by the segmentation work: splitting texts into parts and joining them again.
pub mod reassembly;
pub mod segment;
