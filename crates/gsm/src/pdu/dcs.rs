//! TP-DCS, the data coding scheme (TS 23.038 §4): which alphabet the user data uses, the
//! message class, compression and message waiting indications.
//!
//! Reserved alphabet values and reserved coding groups are read as the GSM 7-bit default
//! alphabet, as TS 23.038 asks of a receiver.

use serde::Serialize;

/// How the user data is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    /// GSM 7-bit default alphabet (or national shift tables), packed septets.
    Gsm7,
    /// 8-bit data, shown as octets.
    EightBit,
    /// UCS-2, read as UTF-16 BE.
    Ucs2,
}

/// The message class (class 0 is shown and not stored: a "flash" SMS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageClass {
    Class0,
    Class1,
    Class2,
    Class3,
}

impl MessageClass {
    fn from_bits(bits: u8) -> MessageClass {
        match bits & 0x03 {
            0 => MessageClass::Class0,
            1 => MessageClass::Class1,
            2 => MessageClass::Class2,
            _ => MessageClass::Class3,
        }
    }

    fn bits(self) -> u8 {
        match self {
            MessageClass::Class0 => 0,
            MessageClass::Class1 => 1,
            MessageClass::Class2 => 2,
            MessageClass::Class3 => 3,
        }
    }
}

/// The coding group, bits 7..4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodingGroup {
    /// 00xx: general data coding.
    General,
    /// 01xx: general data coding, message marked for automatic deletion.
    AutomaticDeletion,
    /// 1000..1011: reserved.
    Reserved,
    /// 1100: message waiting indication, the message may be discarded.
    MessageWaitingDiscard,
    /// 1101 and 1110: message waiting indication, store the message.
    MessageWaitingStore,
    /// 1111: data coding and message class.
    DataCodingClass,
}

/// What kind of message is waiting (voicemail and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitingKind {
    Voicemail,
    Fax,
    Email,
    Other,
}

/// A message waiting indication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MessageWaiting {
    /// Whether the indication is being set (true) or cleared.
    pub active: bool,
    pub kind: WaitingKind,
}

/// A decoded data coding scheme. Built from its octet, so encoding it gives that octet back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct DataCoding {
    value: u8,
    group: CodingGroup,
    alphabet: Alphabet,
    class: Option<MessageClass>,
    compressed: bool,
    message_waiting: Option<MessageWaiting>,
}

impl Default for DataCoding {
    /// 0x00: GSM 7-bit, no class.
    fn default() -> Self {
        DataCoding::from_byte(0)
    }
}

impl DataCoding {
    /// Reads a DCS octet. Never fails: reserved values have a defined reading.
    pub fn from_byte(value: u8) -> DataCoding {
        let mut dcs = DataCoding {
            value,
            group: CodingGroup::General,
            alphabet: Alphabet::Gsm7,
            class: None,
            compressed: false,
            message_waiting: None,
        };
        let waiting = || MessageWaiting {
            active: value & 0x08 != 0,
            kind: match value & 0x03 {
                0 => WaitingKind::Voicemail,
                1 => WaitingKind::Fax,
                2 => WaitingKind::Email,
                _ => WaitingKind::Other,
            },
        };
        match value >> 4 {
            0x0..=0x7 => {
                dcs.group = if value & 0x40 == 0 {
                    CodingGroup::General
                } else {
                    CodingGroup::AutomaticDeletion
                };
                dcs.compressed = value & 0x20 != 0;
                if value & 0x10 != 0 {
                    dcs.class = Some(MessageClass::from_bits(value));
                }
                dcs.alphabet = match (value >> 2) & 0x03 {
                    1 => Alphabet::EightBit,
                    2 => Alphabet::Ucs2,
                    _ => Alphabet::Gsm7,
                };
            }
            0x8..=0xB => dcs.group = CodingGroup::Reserved,
            0xC => {
                dcs.group = CodingGroup::MessageWaitingDiscard;
                dcs.message_waiting = Some(waiting());
            }
            0xD => {
                dcs.group = CodingGroup::MessageWaitingStore;
                dcs.message_waiting = Some(waiting());
            }
            0xE => {
                dcs.group = CodingGroup::MessageWaitingStore;
                dcs.alphabet = Alphabet::Ucs2;
                dcs.message_waiting = Some(waiting());
            }
            _ => {
                dcs.group = CodingGroup::DataCodingClass;
                dcs.class = Some(MessageClass::from_bits(value));
                if value & 0x04 != 0 {
                    dcs.alphabet = Alphabet::EightBit;
                }
            }
        }
        dcs
    }

    /// The general data coding octet for `alphabet` and an optional class, uncompressed.
    pub fn general(alphabet: Alphabet, class: Option<MessageClass>) -> DataCoding {
        let alphabet_bits = match alphabet {
            Alphabet::Gsm7 => 0,
            Alphabet::EightBit => 1,
            Alphabet::Ucs2 => 2,
        };
        let class_bits = class.map_or(0, |c| 0x10 | c.bits());
        DataCoding::from_byte((alphabet_bits << 2) | class_bits)
    }

    pub fn to_byte(self) -> u8 {
        self.value
    }

    pub fn group(self) -> CodingGroup {
        self.group
    }

    pub fn alphabet(self) -> Alphabet {
        self.alphabet
    }

    pub fn class(self) -> Option<MessageClass> {
        self.class
    }

    pub fn compressed(self) -> bool {
        self.compressed
    }

    pub fn message_waiting(self) -> Option<MessageWaiting> {
        self.message_waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        let ucs2 = DataCoding::from_byte(0x08);
        assert_eq!(ucs2.alphabet(), Alphabet::Ucs2);
        assert_eq!(ucs2.class(), None);
        let flash = DataCoding::from_byte(0x10);
        assert_eq!(flash.class(), Some(MessageClass::Class0));
        let data_class1 = DataCoding::from_byte(0xF5);
        assert_eq!(data_class1.alphabet(), Alphabet::EightBit);
        assert_eq!(data_class1.class(), Some(MessageClass::Class1));
        assert!(DataCoding::from_byte(0x20).compressed());
        assert_eq!(DataCoding::from_byte(0x0C).alphabet(), Alphabet::Gsm7);
        let voicemail = DataCoding::from_byte(0xC8);
        assert_eq!(
            voicemail.message_waiting(),
            Some(MessageWaiting {
                active: true,
                kind: WaitingKind::Voicemail
            })
        );
        assert_eq!(DataCoding::from_byte(0xE2).alphabet(), Alphabet::Ucs2);
        assert_eq!(
            DataCoding::general(Alphabet::Ucs2, Some(MessageClass::Class0)).to_byte(),
            0x18
        );
    }
}
