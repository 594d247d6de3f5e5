//! The codec's error type. Every variant says what is wrong in the terms of the message
//! ("PDU too short: user data length 40 septets needs 35 octets, 12 present"), so it can
//! be logged or shown to an operator as is.

use thiserror::Error;

/// Everything that can go wrong while encoding or decoding SMS data.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum GsmError {
    /// A character has no code in the chosen GSM 7-bit tables.
    #[error("character {character:?} (U+{code:04X}) at position {position} is not in the GSM 7-bit alphabet", code = u32::from(*character))]
    UnrepresentableChar { character: char, position: usize },

    /// A fixed-size field runs past the end of the PDU.
    #[error("PDU too short: {field} at octet {offset} needs {needed} {unit}, {present} present", unit = octets(*needed))]
    Truncated {
        field: &'static str,
        offset: usize,
        needed: usize,
        present: usize,
    },

    /// The user data is shorter than its length field says.
    #[error(
        "PDU too short: user data length {length} {unit} needs {needed} octets, {present} present"
    )]
    UserDataTruncated {
        length: usize,
        unit: LengthUnit,
        needed: usize,
        present: usize,
    },

    /// The user data length field exceeds what one PDU can carry.
    #[error("user data length {length} {unit} exceeds the maximum of {max}")]
    UserDataLengthTooLarge {
        length: usize,
        unit: LengthUnit,
        max: usize,
    },

    /// Text or data to encode does not fit in one PDU.
    #[error("user data needs {needed} {unit}, one PDU holds at most {max}")]
    UserDataTooLong {
        needed: usize,
        unit: LengthUnit,
        max: usize,
    },

    /// The user data header is inconsistent with itself or with the user data.
    #[error("invalid user data header: {0}")]
    InvalidUdh(String),

    /// An address (originator, destination, recipient or SMSC) is malformed.
    #[error("invalid address: {0}")]
    InvalidAddress(String),

    /// A time stamp's semi-octets do not form a valid date, time or time zone.
    #[error("invalid {field}: {reason}")]
    InvalidTimestamp { field: &'static str, reason: String },

    /// TP-MTI 3 is reserved.
    #[error("unsupported message type: TP-MTI {0} is reserved")]
    ReservedMessageType(u8),

    /// The data coding scheme announces compressed text (TS 23.042), which textgate does not
    /// implement.
    #[error("unsupported: compressed text (data coding scheme {dcs:#04x})")]
    CompressedText { dcs: u8 },

    /// The user data does not match the data coding scheme it is encoded with.
    #[error("user data does not match the data coding scheme: {0}")]
    ContentMismatch(&'static str),

    /// A validity period or time stamp cannot be represented in a PDU.
    #[error("invalid validity period: {0}")]
    InvalidValidity(String),

    /// Hex input (as a modem prints PDUs) is malformed.
    #[error("invalid hex: {0}")]
    InvalidHex(String),
}

fn octets(n: usize) -> &'static str {
    if n == 1 {
        "octet"
    } else {
        "octets"
    }
}

/// What a user data length field counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthUnit {
    Septets,
    Octets,
}

impl std::fmt::Display for LengthUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LengthUnit::Septets => "septets",
            LengthUnit::Octets => "octets",
        })
    }
}
