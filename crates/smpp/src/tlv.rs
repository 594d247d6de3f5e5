//! Optional parameters (SMPP 3.4 §5.3): tag, length, value, after a PDU's mandatory
//! fields. Unknown tags are kept as they came, so a PDU decodes and encodes again unchanged
//! and a receiver may ignore what it does not know (§3.1's rule for optional parameters).

use crate::pdu::DecodeError;
use crate::wire::{Reader, Writer};

/// `receipted_message_id` (§5.3.2.12): the SMSC's id of the message a receipt is about.
pub const RECEIPTED_MESSAGE_ID: u16 = 0x001E;
/// `user_message_reference` (§5.3.2.17): the application's own reference.
pub const USER_MESSAGE_REFERENCE: u16 = 0x0204;
/// `sar_msg_ref_num` (§5.3.2.22): the reference shared by the parts of a long message.
pub const SAR_MSG_REF_NUM: u16 = 0x020C;
/// `sar_total_segments` (§5.3.2.23).
pub const SAR_TOTAL_SEGMENTS: u16 = 0x020E;
/// `sar_segment_seqnum` (§5.3.2.24), from 1.
pub const SAR_SEGMENT_SEQNUM: u16 = 0x020F;
/// `sc_interface_version` (§5.3.2.25), in a bind response.
pub const SC_INTERFACE_VERSION: u16 = 0x0210;
/// `network_error_code` (§5.3.2.31): type octet and a 2-octet code.
pub const NETWORK_ERROR_CODE: u16 = 0x0423;
/// `message_payload` (§5.3.2.32): the text when it does not fit `short_message`.
pub const MESSAGE_PAYLOAD: u16 = 0x0424;
/// `message_state` (§5.3.2.35), in a receipt.
pub const MESSAGE_STATE: u16 = 0x0427;

/// One optional parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    pub tag: u16,
    pub value: Vec<u8>,
}

impl Tlv {
    pub fn new(tag: u16, value: impl Into<Vec<u8>>) -> Tlv {
        Tlv {
            tag,
            value: value.into(),
        }
    }

    /// A one-octet parameter.
    pub fn u8(tag: u16, value: u8) -> Tlv {
        Tlv::new(tag, [value])
    }

    /// A two-octet parameter.
    pub fn u16(tag: u16, value: u16) -> Tlv {
        Tlv::new(tag, value.to_be_bytes())
    }

    /// The value as one octet, when it is exactly one.
    pub fn as_u8(&self) -> Option<u8> {
        match self.value.as_slice() {
            [b] => Some(*b),
            _ => None,
        }
    }

    /// The value as a two-octet integer, when it is exactly two.
    pub fn as_u16(&self) -> Option<u16> {
        match self.value.as_slice() {
            [a, b] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }

    /// The value as a C-Octet String: the octets before its NUL (or all, when an SMSC left
    /// the NUL out).
    pub fn as_c_string(&self) -> &[u8] {
        let end = self
            .value
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.value.len());
        self.value.get(..end).unwrap_or_default()
    }
}

/// Reads optional parameters until the body ends.
pub(crate) fn read_all(reader: &mut Reader<'_>) -> Result<Vec<Tlv>, DecodeError> {
    let mut tlvs = Vec::new();
    while !reader.is_empty() {
        let tag = reader.u16("optional parameter tag")?;
        let length = reader.u16("optional parameter length")?;
        let value = reader
            .take(usize::from(length), "optional parameter value")?
            .to_vec();
        tlvs.push(Tlv { tag, value });
    }
    Ok(tlvs)
}

/// Writes optional parameters. A value longer than a length field can say (65,535 octets)
/// is cut; [`crate::Pdu::check`] reports it first.
pub(crate) fn write_all(writer: &mut Writer, tlvs: &[Tlv]) {
    for tlv in tlvs {
        let length = u16::try_from(tlv.value.len()).unwrap_or(u16::MAX);
        writer.u16(tlv.tag);
        writer.u16(length);
        writer.raw(tlv.value.get(..usize::from(length)).unwrap_or_default());
    }
}

/// The first parameter with `tag`.
pub fn find(tlvs: &[Tlv], tag: u16) -> Option<&Tlv> {
    tlvs.iter().find(|t| t.tag == tag)
}
