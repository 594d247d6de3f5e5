//! Packing of 7-bit septets into octets and back (TS 23.038 §6.1.2.1).
//!
//! Septets are laid down least significant bit first. When a user data header precedes
//! the text, the text starts on a septet boundary: `fill_bits` zero bits (0..=6) come first.
//!
//! Spare bits after the last septet are always zero. TS 23.038 suggests a CR as padding
//! when exactly seven spare bits remain (8n−1 septets) so that a receiver counting octets
//! does not see a stray `@`. SMS user data does not need it: TP-UDL counts septets and
//! [`unpack`] takes that count, so textgate never adds CR padding and never strips a
//! trailing CR a sender may have added — a received CR is part of the text.

use crate::error::{GsmError, LengthUnit};

/// Octets needed for `septet_count` septets after `fill_bits` fill bits.
pub fn packed_len(septet_count: usize, fill_bits: u8) -> usize {
    (usize::from(fill_bits) + septet_count * 7).div_ceil(8)
}

/// Packs septets (only their low seven bits are used) after `fill_bits` zero bits. Every
/// septet is kept, including a last one that sits alone in its octet.
pub fn pack(septets: &[u8], fill_bits: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(packed_len(septets.len(), fill_bits % 7));
    let mut packer = Packer::new(&mut out, fill_bits);
    for &s in septets {
        packer.push(s);
    }
    packer.finish();
    out
}

/// Packs septets onto the end of an octet vector as they come, for encoders that produce
/// them one at a time (see [`pack`] for the layout).
pub struct Packer<'a> {
    out: &'a mut Vec<u8>,
    /// Bits not yet written, lowest first: never more than 7 + 7 of them.
    pending: u32,
    count: u32,
    septets: usize,
}

impl<'a> Packer<'a> {
    /// Starts after `fill_bits` zero bits (read modulo 7).
    pub fn new(out: &'a mut Vec<u8>, fill_bits: u8) -> Packer<'a> {
        Packer {
            out,
            pending: 0,
            count: u32::from(fill_bits % 7),
            septets: 0,
        }
    }

    /// Adds one septet (its low seven bits).
    pub fn push(&mut self, septet: u8) {
        self.pending |= u32::from(septet & 0x7F) << self.count;
        self.count += 7;
        self.septets += 1;
        while self.count >= 8 {
            self.out.push(self.pending as u8);
            self.pending >>= 8;
            self.count -= 8;
        }
    }

    /// Writes the last, partly filled octet; returns how many septets were packed.
    pub fn finish(self) -> usize {
        if self.count > 0 {
            self.out.push(self.pending as u8);
        }
        self.septets
    }
}

/// Unpacks `septet_count` septets that start after `fill_bits` bits of `octets`. Octets
/// after the last septet are ignored.
pub fn unpack(octets: &[u8], septet_count: usize, fill_bits: u8) -> Result<Vec<u8>, GsmError> {
    let fill = usize::from(fill_bits % 7);
    let needed = packed_len(septet_count, fill as u8);
    if octets.len() < needed {
        return Err(GsmError::UserDataTruncated {
            length: septet_count,
            unit: LengthUnit::Septets,
            needed,
            present: octets.len(),
        });
    }
    let mut out = Vec::with_capacity(septet_count);
    for n in 0..septet_count {
        let bit = fill + n * 7;
        let lo = octets.get(bit / 8).copied().unwrap_or(0);
        let hi = octets.get(bit / 8 + 1).copied().unwrap_or(0);
        let word = u16::from_le_bytes([lo, hi]);
        out.push(((word >> (bit % 8)) & 0x7F) as u8);
    }
    Ok(out)
}

/// Fill bits after a user data header of `udh_octets` octets (UDHL included), so that the
/// text starts on a septet boundary.
pub fn fill_bits_after_header(udh_octets: usize) -> u8 {
    ((7 - (udh_octets * 8) % 7) % 7) as u8
}

/// Septets a user data header of `udh_octets` octets (UDHL included) occupies, fill bits
/// included: what it takes away from the 160 septets of a 7-bit message.
pub fn header_septets(udh_octets: usize) -> usize {
    (udh_octets * 8).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_world_packs_like_vector_4() {
        let septets = crate::alphabet::encode("Hello World!", crate::alphabet::Tables::DEFAULT)
            .unwrap_or_default();
        assert_eq!(
            pack(&septets, 0),
            [0xC8, 0x32, 0x9B, 0xFD, 0x06, 0x5D, 0xDF, 0x72, 0x36, 0x39, 0x04]
        );
    }

    #[test]
    fn eight_septets_fill_seven_octets() {
        let packed = pack(&[0x7F; 8], 0);
        assert_eq!(packed, [0xFF; 7]);
        assert_eq!(unpack(&packed, 8, 0).unwrap_or_default(), [0x7F; 8]);
    }

    #[test]
    fn a_lone_last_septet_keeps_its_octet() {
        // 9 septets = 63 bits: the ninth septet occupies the eighth octet alone.
        let packed = pack(&[0x41; 9], 0);
        assert_eq!(packed.len(), 8);
        assert_eq!(packed.last(), Some(&0x41));
        assert_eq!(unpack(&packed, 9, 0).unwrap_or_default(), [0x41; 9]);
    }

    #[test]
    fn fill_bits_after_concatenation_header() {
        // A 6-octet header (UDHL 5) takes 7 septets: one fill bit.
        assert_eq!(fill_bits_after_header(6), 1);
        assert_eq!(header_septets(6), 7);
        assert_eq!(fill_bits_after_header(7), 0);
        assert_eq!(header_septets(7), 8);
        let packed = pack(&[0x7F], 1);
        assert_eq!(packed, [0xFE]);
        assert_eq!(unpack(&packed, 1, 1).unwrap_or_default(), [0x7F]);
    }

    #[test]
    fn short_input_is_an_error() {
        let err = unpack(&[0x00; 3], 5, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PDU too short: user data length 5 septets needs 5 octets, 3 present"
        );
    }
}
