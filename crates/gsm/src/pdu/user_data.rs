//! TP-UDL and TP-UD: the optional user data header followed by text (7-bit or UCS-2) or
//! octets (8-bit). 7-bit text after a header starts on a septet boundary, and the national
//! language shift elements of the header choose the 7-bit tables.

use serde::{Serialize, Serializer};

use super::dcs::{Alphabet, DataCoding};
use super::reader::Reader;
use crate::alphabet;
use crate::error::{GsmError, LengthUnit};
use crate::septet;
use crate::ucs2;
use crate::udh::UserDataHeader;

/// The most septets one PDU carries.
pub const MAX_SEPTETS: usize = 160;
/// The most octets one PDU carries.
pub const MAX_OCTETS: usize = 140;

/// The body of the user data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// 7-bit or UCS-2 text.
    Text(String),
    /// 8-bit data (hex in JSON).
    Data(#[serde(serialize_with = "serialize_hex")] Vec<u8>),
}

fn serialize_hex<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&super::to_hex(data))
}

/// Decoded user data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct UserData {
    /// Present when TP-UDHI is set.
    pub header: Option<UserDataHeader>,
    #[serde(flatten)]
    pub content: Content,
}

impl UserData {
    /// Text without a header.
    pub fn text(text: impl Into<String>) -> UserData {
        UserData {
            header: None,
            content: Content::Text(text.into()),
        }
    }

    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match &self.content {
            Content::Text(t) => Some(t),
            Content::Data(_) => None,
        }
    }

    /// Reads TP-UDL and TP-UD. `has_header` is TP-UDHI.
    pub(crate) fn decode(
        r: &mut Reader<'_>,
        dcs: DataCoding,
        has_header: bool,
    ) -> Result<UserData, GsmError> {
        if dcs.compressed() {
            return Err(GsmError::CompressedText { dcs: dcs.to_byte() });
        }
        let udl = usize::from(r.u8("user data length")?);
        let (unit, max, octets) = match dcs.alphabet() {
            Alphabet::Gsm7 => (LengthUnit::Septets, MAX_SEPTETS, septet::packed_len(udl, 0)),
            Alphabet::EightBit | Alphabet::Ucs2 => (LengthUnit::Octets, MAX_OCTETS, udl),
        };
        if udl > max {
            return Err(GsmError::UserDataLengthTooLarge {
                length: udl,
                unit,
                max,
            });
        }
        let rest = r.rest();
        let Some(ud) = rest.get(..octets) else {
            return Err(GsmError::UserDataTruncated {
                length: udl,
                unit,
                needed: octets,
                present: rest.len(),
            });
        };
        r.advance(octets);
        let (header, header_octets) = if has_header {
            let (h, used) = UserDataHeader::parse(ud)?;
            (Some(h), used)
        } else {
            (None, 0)
        };
        let body = ud.get(header_octets..).unwrap_or_default();
        let content = match dcs.alphabet() {
            Alphabet::Gsm7 => {
                let header_septets = septet::header_septets(header_octets);
                let Some(text_septets) = udl.checked_sub(header_septets) else {
                    return Err(GsmError::InvalidUdh(format!(
                        "header of {header_octets} octets ({header_septets} septets) exceeds user data length {udl} septets"
                    )));
                };
                let fill = septet::fill_bits_after_header(header_octets);
                let septets = septet::unpack(body, text_septets, fill)?;
                let tables = header
                    .as_ref()
                    .map(UserDataHeader::tables)
                    .unwrap_or_default();
                Content::Text(alphabet::decode(&septets, tables))
            }
            Alphabet::Ucs2 => Content::Text(ucs2::decode(body)),
            Alphabet::EightBit => Content::Data(body.to_vec()),
        };
        Ok(UserData { header, content })
    }

    /// The header's octets (UDHL first), or none.
    fn header_bytes(&self) -> Result<Vec<u8>, GsmError> {
        match &self.header {
            Some(h) => h.to_bytes(),
            None => Ok(Vec::new()),
        }
    }

    /// Writes TP-UDL and TP-UD under `dcs`.
    pub(crate) fn encode(&self, dcs: DataCoding, out: &mut Vec<u8>) -> Result<(), GsmError> {
        if dcs.compressed() {
            return Err(GsmError::CompressedText { dcs: dcs.to_byte() });
        }
        match (dcs.alphabet(), &self.content) {
            (Alphabet::Gsm7, Content::Text(text)) => {
                let tables = self
                    .header
                    .as_ref()
                    .map(UserDataHeader::tables)
                    .unwrap_or_default();
                // TP-UDL goes first but is known only once the text is encoded (an
                // extension character takes two septets): its octet is kept and filled in
                // after the septets were packed straight onto `out`. On an error `out`
                // holds a partial encoding, which the caller discards.
                let udl_at = out.len();
                out.push(0);
                // The header straight onto `out` too.
                if let Some(header) = &self.header {
                    header.write_to(out)?;
                }
                let header_len = out.len() - udl_at - 1;
                let mut packer =
                    septet::Packer::new(out, septet::fill_bits_after_header(header_len));
                alphabet::encode_each(text, tables, |s| packer.push(s))?;
                let udl = septet::header_septets(header_len) + packer.finish();
                if udl > MAX_SEPTETS {
                    return Err(GsmError::UserDataTooLong {
                        needed: udl,
                        unit: LengthUnit::Septets,
                        max: MAX_SEPTETS,
                    });
                }
                if let Some(octet) = out.get_mut(udl_at) {
                    *octet = udl as u8;
                }
            }
            (Alphabet::Ucs2, Content::Text(text)) => {
                push_octets(out, &self.header_bytes()?, &ucs2::encode(text))?;
            }
            (Alphabet::EightBit, Content::Data(data)) => {
                push_octets(out, &self.header_bytes()?, data)?
            }
            (Alphabet::EightBit, Content::Text(_)) => {
                return Err(GsmError::ContentMismatch(
                    "the coding is 8-bit data but the user data is text",
                ))
            }
            (_, Content::Data(_)) => {
                return Err(GsmError::ContentMismatch(
                    "the coding is text but the user data is 8-bit data",
                ))
            }
        }
        Ok(())
    }
}

fn push_octets(out: &mut Vec<u8>, header: &[u8], body: &[u8]) -> Result<(), GsmError> {
    let udl = header.len() + body.len();
    if udl > MAX_OCTETS {
        return Err(GsmError::UserDataTooLong {
            needed: udl,
            unit: LengthUnit::Octets,
            max: MAX_OCTETS,
        });
    }
    out.push(udl as u8);
    out.extend(header);
    out.extend(body);
    Ok(())
}
