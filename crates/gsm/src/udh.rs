//! The user data header (TS 23.040 §9.2.3.24): a list of information elements in front of
//! the text. textgate understands concatenation (8- and 16-bit references), application
//! port addressing (8- and 16-bit) and the national language shift elements; any other
//! element is kept as its identifier and raw octets and is written back byte for byte.

use serde::Serialize;

use crate::alphabet::{Language, Tables};
use crate::error::GsmError;

/// One information element.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InformationElement {
    /// IEI 0x00: concatenated message, 8-bit reference.
    Concatenation8 {
        reference: u8,
        total: u8,
        sequence: u8,
    },
    /// IEI 0x08: concatenated message, 16-bit reference.
    Concatenation16 {
        reference: u16,
        total: u8,
        sequence: u8,
    },
    /// IEI 0x04: application port addressing, 8-bit ports.
    Ports8 { destination: u8, source: u8 },
    /// IEI 0x05: application port addressing, 16-bit ports.
    Ports16 { destination: u16, source: u16 },
    /// IEI 0x24: national language single shift table.
    SingleShift { language_id: u8 },
    /// IEI 0x25: national language locking shift table.
    LockingShift { language_id: u8 },
    /// Any other element, or a known identifier with an unexpected length: kept intact.
    Other { iei: u8, data: Vec<u8> },
}

pub const IEI_CONCAT_8: u8 = 0x00;
pub const IEI_PORTS_8: u8 = 0x04;
pub const IEI_PORTS_16: u8 = 0x05;
pub const IEI_CONCAT_16: u8 = 0x08;
pub const IEI_SINGLE_SHIFT: u8 = 0x24;
pub const IEI_LOCKING_SHIFT: u8 = 0x25;

impl InformationElement {
    /// Reads one element from its identifier and data octets.
    pub fn from_parts(iei: u8, data: &[u8]) -> InformationElement {
        use InformationElement as Ie;
        match (iei, data) {
            (IEI_CONCAT_8, &[reference, total, sequence]) => Ie::Concatenation8 {
                reference,
                total,
                sequence,
            },
            (IEI_CONCAT_16, &[hi, lo, total, sequence]) => Ie::Concatenation16 {
                reference: u16::from_be_bytes([hi, lo]),
                total,
                sequence,
            },
            (IEI_PORTS_8, &[destination, source]) => Ie::Ports8 {
                destination,
                source,
            },
            (IEI_PORTS_16, &[d1, d2, s1, s2]) => Ie::Ports16 {
                destination: u16::from_be_bytes([d1, d2]),
                source: u16::from_be_bytes([s1, s2]),
            },
            (IEI_SINGLE_SHIFT, &[language_id]) => Ie::SingleShift { language_id },
            (IEI_LOCKING_SHIFT, &[language_id]) => Ie::LockingShift { language_id },
            _ => Ie::Other {
                iei,
                data: data.to_vec(),
            },
        }
    }

    /// The element identifier.
    pub fn iei(&self) -> u8 {
        use InformationElement as Ie;
        match self {
            Ie::Concatenation8 { .. } => IEI_CONCAT_8,
            Ie::Concatenation16 { .. } => IEI_CONCAT_16,
            Ie::Ports8 { .. } => IEI_PORTS_8,
            Ie::Ports16 { .. } => IEI_PORTS_16,
            Ie::SingleShift { .. } => IEI_SINGLE_SHIFT,
            Ie::LockingShift { .. } => IEI_LOCKING_SHIFT,
            Ie::Other { iei, .. } => *iei,
        }
    }

    /// The element's data octets (without identifier and length).
    pub fn data(&self) -> Vec<u8> {
        let mut data = Vec::with_capacity(self.data_len());
        self.write_data(&mut data);
        data
    }

    /// How many data octets the element has, without building them.
    pub fn data_len(&self) -> usize {
        use InformationElement as Ie;
        match self {
            Ie::Concatenation8 { .. } => 3,
            Ie::Concatenation16 { .. } | Ie::Ports16 { .. } => 4,
            Ie::Ports8 { .. } => 2,
            Ie::SingleShift { .. } | Ie::LockingShift { .. } => 1,
            Ie::Other { data, .. } => data.len(),
        }
    }

    /// Appends the element's data octets to `out` (the encoder writes them straight into
    /// the PDU, without a vector per element).
    pub fn write_data(&self, out: &mut Vec<u8>) {
        use InformationElement as Ie;
        match self {
            Ie::Concatenation8 {
                reference,
                total,
                sequence,
            } => out.extend([*reference, *total, *sequence]),
            Ie::Concatenation16 {
                reference,
                total,
                sequence,
            } => {
                out.extend(reference.to_be_bytes());
                out.extend([*total, *sequence]);
            }
            Ie::Ports8 {
                destination,
                source,
            } => out.extend([*destination, *source]),
            Ie::Ports16 {
                destination,
                source,
            } => {
                out.extend(destination.to_be_bytes());
                out.extend(source.to_be_bytes());
            }
            Ie::SingleShift { language_id } | Ie::LockingShift { language_id } => {
                out.push(*language_id)
            }
            Ie::Other { data, .. } => out.extend_from_slice(data),
        }
    }

    /// Octets this element takes in the header: identifier, length and data.
    pub fn encoded_len(&self) -> usize {
        2 + self.data_len()
    }
}

/// How wide a concatenation reference is (part of the key that joins parts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceWidth {
    Bits8,
    Bits16,
}

/// The concatenation information of one part, whichever element carried it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Concatenation {
    pub reference: u16,
    pub width: ReferenceWidth,
    pub total: u8,
    /// 1-based part number.
    pub sequence: u8,
}

/// A parsed user data header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UserDataHeader {
    pub elements: Vec<InformationElement>,
}

impl UserDataHeader {
    pub fn new(elements: Vec<InformationElement>) -> Self {
        UserDataHeader { elements }
    }

    /// Parses the elements of a header (the octets after UDHL). Fails if an element's
    /// length runs past the end.
    pub fn parse_elements(mut octets: &[u8]) -> Result<UserDataHeader, GsmError> {
        let mut elements = Vec::new();
        while let Some((&iei, rest)) = octets.split_first() {
            let Some((&len, rest)) = rest.split_first() else {
                return Err(GsmError::InvalidUdh(format!(
                    "element {iei:#04x} has no length octet"
                )));
            };
            let len = usize::from(len);
            let Some(data) = rest.get(..len) else {
                return Err(GsmError::InvalidUdh(format!(
                    "element {iei:#04x} declares {len} octets, {} remain",
                    rest.len()
                )));
            };
            elements.push(InformationElement::from_parts(iei, data));
            octets = rest.get(len..).unwrap_or_default();
        }
        Ok(UserDataHeader { elements })
    }

    /// Parses the header at the start of `user_data` (UDHL first). Returns the header and
    /// the number of octets it occupies, UDHL included.
    pub fn parse(user_data: &[u8]) -> Result<(UserDataHeader, usize), GsmError> {
        let Some((&udhl, rest)) = user_data.split_first() else {
            return Err(GsmError::InvalidUdh(
                "header indicated but user data is empty".into(),
            ));
        };
        let udhl = usize::from(udhl);
        let Some(body) = rest.get(..udhl) else {
            return Err(GsmError::InvalidUdh(format!(
                "header length {udhl} octets, {} present",
                rest.len()
            )));
        };
        Ok((UserDataHeader::parse_elements(body)?, 1 + udhl))
    }

    /// Octets of the header on the wire, UDHL included.
    pub fn encoded_len(&self) -> usize {
        1 + self
            .elements
            .iter()
            .map(InformationElement::encoded_len)
            .sum::<usize>()
    }

    /// The header as it goes on the wire, UDHL first. Fails if an element's data exceeds
    /// 255 octets or the whole header exceeds 255 octets.
    pub fn to_bytes(&self) -> Result<Vec<u8>, GsmError> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// Appends the header as it goes on the wire (UDHL first) to `out`; on an error `out`
    /// holds a partial header, which the caller discards.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), GsmError> {
        let start = out.len();
        out.push(0);
        for element in &self.elements {
            let len = u8::try_from(element.data_len()).map_err(|_| {
                GsmError::InvalidUdh(format!(
                    "element {:#04x} has {} octets of data, at most 255 fit",
                    element.iei(),
                    element.data_len()
                ))
            })?;
            out.push(element.iei());
            out.push(len);
            element.write_data(out);
        }
        let udhl = u8::try_from(out.len() - start - 1).map_err(|_| {
            GsmError::InvalidUdh(format!(
                "header has {} octets, at most 255 fit",
                out.len() - start - 1
            ))
        })?;
        if let Some(first) = out.get_mut(start) {
            *first = udhl;
        }
        Ok(())
    }

    /// The concatenation element, if any (the first one wins).
    pub fn concatenation(&self) -> Option<Concatenation> {
        self.elements.iter().find_map(|e| match *e {
            InformationElement::Concatenation8 {
                reference,
                total,
                sequence,
            } => Some(Concatenation {
                reference: u16::from(reference),
                width: ReferenceWidth::Bits8,
                total,
                sequence,
            }),
            InformationElement::Concatenation16 {
                reference,
                total,
                sequence,
            } => Some(Concatenation {
                reference,
                width: ReferenceWidth::Bits16,
                total,
                sequence,
            }),
            _ => None,
        })
    }

    /// The 7-bit tables the national language shift elements select. Unknown languages
    /// fall back to the default tables (TS 23.038 §6.2.1.2.4).
    pub fn tables(&self) -> Tables {
        let mut tables = Tables::DEFAULT;
        for e in &self.elements {
            match *e {
                InformationElement::SingleShift { language_id } => {
                    tables.single = Language::from_id(language_id).unwrap_or(Language::Default);
                }
                InformationElement::LockingShift { language_id } => {
                    tables.locking = Language::from_id(language_id).unwrap_or(Language::Default);
                }
                _ => {}
            }
        }
        tables
    }

    /// The elements that select `tables` (none for the default tables).
    pub fn shift_elements(tables: Tables) -> Vec<InformationElement> {
        let mut out = Vec::new();
        if tables.locking != Language::Default {
            out.push(InformationElement::LockingShift {
                language_id: tables.locking.id(),
            });
        }
        if tables.single != Language::Default {
            out.push(InformationElement::SingleShift {
                language_id: tables.single.id(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .filter_map(|i| s.get(i..i + 2))
            .filter_map(|h| u8::from_str_radix(h, 16).ok())
            .collect()
    }

    #[test]
    fn vectors() {
        let cases = [
            (
                "0003170301",
                InformationElement::Concatenation8 {
                    reference: 23,
                    total: 3,
                    sequence: 1,
                },
            ),
            (
                "080401800402",
                InformationElement::Concatenation16 {
                    reference: 384,
                    total: 4,
                    sequence: 2,
                },
            ),
            (
                "04026432",
                InformationElement::Ports8 {
                    destination: 100,
                    source: 50,
                },
            ),
            (
                "050404D21466",
                InformationElement::Ports16 {
                    destination: 1234,
                    source: 5222,
                },
            ),
        ];
        for (input, element) in cases {
            let octets = hex(input);
            let udh = UserDataHeader::parse_elements(&octets).unwrap_or_default();
            assert_eq!(udh.elements, [element], "{input}");
            let bytes = udh.to_bytes().unwrap_or_default();
            assert_eq!(bytes.first().copied(), u8::try_from(octets.len()).ok());
            assert_eq!(bytes.get(1..), Some(&octets[..]));
        }
    }

    #[test]
    fn concatenation_view() {
        let (udh, used) = UserDataHeader::parse(&hex("06080401800402")).unwrap_or_default();
        assert_eq!(used, 7);
        assert_eq!(
            udh.concatenation(),
            Some(Concatenation {
                reference: 384,
                width: ReferenceWidth::Bits16,
                total: 4,
                sequence: 2
            })
        );
    }

    #[test]
    fn unknown_and_odd_length_elements_are_kept() {
        let octets = hex("0A0202000401FF25020103");
        let udh = UserDataHeader::parse_elements(&octets).unwrap_or_default();
        assert_eq!(
            udh.elements,
            [
                InformationElement::Other {
                    iei: 0x0A,
                    data: vec![0x02, 0x00]
                },
                InformationElement::Other {
                    iei: 0x04,
                    data: vec![0xFF]
                },
                InformationElement::Other {
                    iei: 0x25,
                    data: vec![0x01, 0x03]
                },
            ]
        );
        assert_eq!(
            udh.to_bytes().unwrap_or_default().get(1..),
            Some(&octets[..])
        );
    }

    #[test]
    fn malformed_headers() {
        assert_eq!(
            UserDataHeader::parse_elements(&hex("000301"))
                .unwrap_err()
                .to_string(),
            "invalid user data header: element 0x00 declares 3 octets, 1 remain"
        );
        assert_eq!(
            UserDataHeader::parse(&hex("0500")).unwrap_err().to_string(),
            "invalid user data header: header length 5 octets, 1 present"
        );
        assert!(UserDataHeader::parse_elements(&hex("00")).is_err());
    }

    #[test]
    fn language_shift() {
        let udh = UserDataHeader::parse_elements(&hex("250101240102")).unwrap_or_default();
        assert_eq!(
            udh.tables(),
            Tables {
                locking: Language::Turkish,
                single: Language::Spanish
            }
        );
        assert_eq!(UserDataHeader::shift_elements(udh.tables()), udh.elements);
    }
}
