//! Addresses (TS 23.040 §9.1.2.5): the SMSC field, TP-OA, TP-DA and TP-RA. Numbers are
//! semi-octets with a type-of-address octet; alphanumeric senders are packed 7-bit text
//! whose length counts semi-octets.

use serde::Serialize;

use super::reader::Reader;
use crate::alphabet::{self, Tables};
use crate::error::GsmError;
use crate::septet;

/// The longest address in digits (or semi-octets for alphanumeric ones): ten octets.
pub const MAX_DIGITS: usize = 20;
/// The longest alphanumeric address in septets (ten octets hold eleven septets).
pub const MAX_ALPHANUMERIC_SEPTETS: usize = 11;

/// TON, bits 6..4 of the type-of-address octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeOfNumber {
    Unknown,
    International,
    National,
    NetworkSpecific,
    Subscriber,
    Alphanumeric,
    Abbreviated,
    Reserved,
}

impl TypeOfNumber {
    fn from_bits(bits: u8) -> TypeOfNumber {
        match bits & 0x07 {
            0 => TypeOfNumber::Unknown,
            1 => TypeOfNumber::International,
            2 => TypeOfNumber::National,
            3 => TypeOfNumber::NetworkSpecific,
            4 => TypeOfNumber::Subscriber,
            5 => TypeOfNumber::Alphanumeric,
            6 => TypeOfNumber::Abbreviated,
            _ => TypeOfNumber::Reserved,
        }
    }

    fn bits(self) -> u8 {
        match self {
            TypeOfNumber::Unknown => 0,
            TypeOfNumber::International => 1,
            TypeOfNumber::National => 2,
            TypeOfNumber::NetworkSpecific => 3,
            TypeOfNumber::Subscriber => 4,
            TypeOfNumber::Alphanumeric => 5,
            TypeOfNumber::Abbreviated => 6,
            TypeOfNumber::Reserved => 7,
        }
    }
}

/// NPI, bits 3..0 of the type-of-address octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberingPlan {
    Unknown,
    /// ISDN/telephone (E.164): what phone numbers use.
    Isdn,
    Data,
    Telex,
    National,
    Private,
    Ermes,
    /// A reserved or service-centre specific value, kept as is.
    Other(u8),
}

impl NumberingPlan {
    fn from_bits(bits: u8) -> NumberingPlan {
        match bits & 0x0F {
            0 => NumberingPlan::Unknown,
            1 => NumberingPlan::Isdn,
            3 => NumberingPlan::Data,
            4 => NumberingPlan::Telex,
            8 => NumberingPlan::National,
            9 => NumberingPlan::Private,
            10 => NumberingPlan::Ermes,
            other => NumberingPlan::Other(other),
        }
    }

    fn bits(self) -> u8 {
        match self {
            NumberingPlan::Unknown => 0,
            NumberingPlan::Isdn => 1,
            NumberingPlan::Data => 3,
            NumberingPlan::Telex => 4,
            NumberingPlan::National => 8,
            NumberingPlan::Private => 9,
            NumberingPlan::Ermes => 10,
            NumberingPlan::Other(bits) => bits & 0x0F,
        }
    }
}

/// A decoded address. `number` is `+` and digits for international numbers, the digits
/// (and `*`, `#`, `a`, `b`, `c`) for other numbers, or the text of an alphanumeric sender.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Address {
    pub number: String,
    pub type_of_number: TypeOfNumber,
    pub numbering_plan: NumberingPlan,
}

impl Address {
    /// A phone number or short code: `+` and 1..=20 digits is international, 1..=20 digits
    /// (or `*`, `#`) without `+` is of unknown type (national numbers and short codes).
    pub fn from_number(number: &str) -> Result<Address, GsmError> {
        let (digits, type_of_number) = match number.strip_prefix('+') {
            Some(rest) => (rest, TypeOfNumber::International),
            None => (number, TypeOfNumber::Unknown),
        };
        let address = Address {
            number: number.to_owned(),
            type_of_number,
            numbering_plan: NumberingPlan::Isdn,
        };
        if digits.is_empty() {
            return Err(GsmError::InvalidAddress(format!(
                "{number:?} has no digits"
            )));
        }
        if type_of_number == TypeOfNumber::International
            && !digits.chars().all(|c| c.is_ascii_digit())
        {
            return Err(GsmError::InvalidAddress(format!(
                "{number:?}: an international number has only digits after the +"
            )));
        }
        // Checks the characters and the length.
        address.semi_octets()?;
        Ok(address)
    }

    /// An alphanumeric sender (at most 11 GSM 7-bit septets), as networks show company names.
    pub fn alphanumeric(text: &str) -> Result<Address, GsmError> {
        let address = Address {
            number: text.to_owned(),
            type_of_number: TypeOfNumber::Alphanumeric,
            numbering_plan: NumberingPlan::Unknown,
        };
        address.alphanumeric_septets()?;
        Ok(address)
    }

    fn type_octet(&self) -> u8 {
        0x80 | (self.type_of_number.bits() << 4) | self.numbering_plan.bits()
    }

    fn digits(&self) -> &str {
        match self.type_of_number {
            TypeOfNumber::International => self.number.strip_prefix('+').unwrap_or(&self.number),
            _ => &self.number,
        }
    }

    /// The number's digits as semi-octet values.
    fn semi_octets(&self) -> Result<Vec<u8>, GsmError> {
        let nibbles = self
            .digits()
            .chars()
            .map(|c| match c {
                '0'..='9' => Ok(c as u8 - b'0'),
                '*' => Ok(0x0A),
                '#' => Ok(0x0B),
                'a' => Ok(0x0C),
                'b' => Ok(0x0D),
                'c' => Ok(0x0E),
                _ => Err(GsmError::InvalidAddress(format!(
                    "{:?}: {c:?} is not a digit",
                    self.number
                ))),
            })
            .collect::<Result<Vec<u8>, GsmError>>()?;
        if nibbles.len() > MAX_DIGITS {
            return Err(GsmError::InvalidAddress(format!(
                "{:?} has {} digits, at most {MAX_DIGITS} fit",
                self.number,
                nibbles.len()
            )));
        }
        Ok(nibbles)
    }

    fn alphanumeric_septets(&self) -> Result<Vec<u8>, GsmError> {
        let septets = alphabet::encode(&self.number, Tables::DEFAULT)?;
        if septets.len() > MAX_ALPHANUMERIC_SEPTETS || septets.is_empty() {
            return Err(GsmError::InvalidAddress(format!(
                "alphanumeric address {:?} needs {} septets, 1 to {MAX_ALPHANUMERIC_SEPTETS} fit",
                self.number,
                septets.len()
            )));
        }
        Ok(septets)
    }

    /// Writes TP-OA/TP-DA/TP-RA: length in semi-octets, type, value.
    pub(crate) fn encode_tp(&self, out: &mut Vec<u8>) -> Result<(), GsmError> {
        if self.type_of_number == TypeOfNumber::Alphanumeric {
            let septets = self.alphanumeric_septets()?;
            let semi_octets = (septets.len() * 7).div_ceil(4);
            out.push(semi_octets as u8);
            out.push(self.type_octet());
            out.extend(septet::pack(&septets, 0));
        } else {
            let nibbles = self.semi_octets()?;
            out.push(nibbles.len() as u8);
            out.push(self.type_octet());
            out.extend(pack_semi_octets(&nibbles));
        }
        Ok(())
    }

    /// Writes the SMSC field: length in octets (type included), type, value.
    pub(crate) fn encode_smsc(&self, out: &mut Vec<u8>) -> Result<(), GsmError> {
        if self.type_of_number == TypeOfNumber::Alphanumeric {
            return Err(GsmError::InvalidAddress(format!(
                "the SMSC address {:?} cannot be alphanumeric",
                self.number
            )));
        }
        let packed = pack_semi_octets(&self.semi_octets()?);
        out.push(1 + packed.len() as u8);
        out.push(self.type_octet());
        out.extend(packed);
        Ok(())
    }

    /// Reads TP-OA/TP-DA/TP-RA.
    pub(crate) fn decode_tp(r: &mut Reader<'_>, field: &'static str) -> Result<Address, GsmError> {
        let length = usize::from(r.u8(field)?);
        if length > MAX_DIGITS {
            return Err(GsmError::InvalidAddress(format!(
                "{field} length {length} semi-octets exceeds the maximum of {MAX_DIGITS}"
            )));
        }
        let toa = r.u8(field)?;
        let value = r.take(length.div_ceil(2), field)?;
        let type_of_number = TypeOfNumber::from_bits(toa >> 4);
        let number = if type_of_number == TypeOfNumber::Alphanumeric {
            let septets = septet::unpack(value, length * 4 / 7, 0)?;
            alphabet::decode(&septets, Tables::DEFAULT)
        } else {
            semi_octet_digits(value, length, type_of_number)
        };
        Ok(Address {
            number,
            type_of_number,
            numbering_plan: NumberingPlan::from_bits(toa),
        })
    }

    /// Reads the SMSC field; `None` when its length is 0 (the modem's default SMSC).
    pub(crate) fn decode_smsc(r: &mut Reader<'_>) -> Result<Option<Address>, GsmError> {
        const FIELD: &str = "SMSC address";
        let length = usize::from(r.u8(FIELD)?);
        if length == 0 {
            return Ok(None);
        }
        if length > 1 + MAX_DIGITS / 2 {
            return Err(GsmError::InvalidAddress(format!(
                "SMSC length {length} octets exceeds the maximum of {}",
                1 + MAX_DIGITS / 2
            )));
        }
        let toa = r.u8(FIELD)?;
        let value = r.take(length - 1, FIELD)?;
        let type_of_number = TypeOfNumber::from_bits(toa >> 4);
        Ok(Some(Address {
            number: semi_octet_digits(value, value.len() * 2, type_of_number),
            type_of_number,
            numbering_plan: NumberingPlan::from_bits(toa),
        }))
    }
}

/// Packs digit values two per octet, first digit in the low nibble, 0xF filler at the end.
fn pack_semi_octets(nibbles: &[u8]) -> Vec<u8> {
    nibbles
        .chunks(2)
        .map(|pair| match *pair {
            [lo, hi] => (hi << 4) | lo,
            [lo] => 0xF0 | lo,
            _ => 0xFF,
        })
        .collect()
}

/// Reads up to `count` digits. The 0xF filler (and any 0xF within the count, which only
/// broken senders write) is skipped.
fn semi_octet_digits(octets: &[u8], count: usize, type_of_number: TypeOfNumber) -> String {
    let mut out = String::with_capacity(count + 1);
    if type_of_number == TypeOfNumber::International {
        out.push('+');
    }
    let nibbles = octets.iter().flat_map(|o| [o & 0x0F, o >> 4]).take(count);
    for n in nibbles {
        match n {
            0..=9 => out.push(char::from(b'0' + n)),
            0x0A => out.push('*'),
            0x0B => out.push('#'),
            0x0C => out.push('a'),
            0x0D => out.push('b'),
            0x0E => out.push('c'),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_tp(octets: &[u8]) -> Result<Address, GsmError> {
        Address::decode_tp(&mut Reader::new(octets), "originator address")
    }

    #[test]
    fn numbers_round_trip() {
        for number in ["+27821234567", "+123456789", "12345", "*100#", "+1"] {
            let address = Address::from_number(number).unwrap();
            let mut out = Vec::new();
            address.encode_tp(&mut out).unwrap();
            assert_eq!(decode_tp(&out).unwrap(), address, "{number}");
        }
    }

    #[test]
    fn alphanumeric_sender() {
        let octets = [
            0x14, 0xD0, 0x49, 0x37, 0xBD, 0x2C, 0x77, 0x97, 0xE9, 0xD3, 0xE6, 0x14,
        ];
        let address = decode_tp(&octets).unwrap();
        assert_eq!(address.number, "InternetSMS");
        assert_eq!(address.type_of_number, TypeOfNumber::Alphanumeric);
        let mut out = Vec::new();
        address.encode_tp(&mut out).unwrap();
        assert_eq!(out, octets);
        // Seven septets leave seven spare bits; the semi-octet count keeps them out.
        let seven = Address::alphanumeric("Library").unwrap();
        let mut out = Vec::new();
        seven.encode_tp(&mut out).unwrap();
        assert_eq!(decode_tp(&out).unwrap(), seven);
    }

    #[test]
    fn bad_numbers() {
        assert_eq!(
            Address::from_number("+12a4").unwrap_err().to_string(),
            "invalid address: \"+12a4\": an international number has only digits after the +"
        );
        assert!(Address::from_number("").is_err());
        assert!(Address::from_number("123456789012345678901").is_err());
        assert!(Address::alphanumeric("ThisIsTooLong").is_err());
        assert_eq!(
            decode_tp(&[0x1E, 0x91]).unwrap_err().to_string(),
            "invalid address: originator address length 30 semi-octets exceeds the maximum of 20"
        );
        assert_eq!(
            decode_tp(&[0x0B, 0x91, 0x72]).unwrap_err().to_string(),
            "PDU too short: originator address at octet 2 needs 6 octets, 1 present"
        );
    }
}
