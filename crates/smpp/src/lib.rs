//! SMPP 3.4 (the protocol between an application and an operator's or aggregator's message
//! centre, SMSC) without I/O: bytes in, PDUs out, and back.
//!
//! - [`framer`]: cuts a byte stream into PDUs by their `command_length`, and says when the
//!   stream can no longer be trusted (a length no PDU can have).
//! - [`pdu`]: decodes one PDU's octets into a [`Pdu`] and encodes it again: the session
//!   commands (bind, unbind, enquire_link, generic_nack), `submit_sm` and `deliver_sm` with
//!   their optional parameters ([`tlv`]), and their responses.
//! - [`status`]: `command_status` values, named, and sorted into what is worth retrying.
//! - [`session`]: one session as a state machine: bind, keep-alive, the window of
//!   outstanding submits, responses paired with requests, `generic_nack` for what cannot be
//!   read, and the rule that a `deliver_sm` is answered only once it is stored.
//! - [`receipt`]: a delivery receipt read from a `deliver_sm`, from its optional parameters
//!   or from the text SMSCs write ("id:… stat:DELIVRD …").
//!
//! Invariant: nothing here panics on any input, and nothing does I/O. What an SMSC sends is
//! untrusted: every length is checked against what is left before it is used, and a
//! malformed PDU is an error that names the field, never a panic (fuzzed in
//! `crates/smpp/fuzz`). Numbers and field sizes are those of the SMPP v3.4 specification
//! (SMPP Developers Forum, issue 1.2, 1999), cited by section where they matter.

#![forbid(unsafe_code)]

pub mod framer;
pub mod pdu;
pub mod receipt;
pub mod session;
pub mod status;
pub mod tlv;
mod wire;

pub use framer::{Framer, FramingError};
pub use pdu::{
    Address, Bind, BindKind, Body, CommandId, DecodeError, EncodeError, Header, Pdu, ShortMessage,
    HEADER_LEN,
};
pub use receipt::{MessageState, Receipt};
pub use session::{Event, Session, SessionConfig, State, SubmitError};
pub use status::{CommandStatus, StatusClass};
pub use tlv::Tlv;
