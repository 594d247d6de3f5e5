//! The SIM message store: numbered slots holding PDUs with their 27.005 status. Slots are
//! numbered from 1 on most modems and from 0 on Huawei's (the personality says which). Its
//! capacity is small on purpose: real SIMs hold 10 to 50 messages, and a full SIM is one of
//! the failures textgate must survive.

use serde::Serialize;

/// The `<stat>` of a stored message in PDU mode (27.005 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    ReceivedUnread = 0,
    ReceivedRead = 1,
    StoredUnsent = 2,
    StoredSent = 3,
}

impl MessageStatus {
    pub fn code(self) -> u32 {
        self as u32
    }

    pub fn from_code(code: u32) -> Option<MessageStatus> {
        match code {
            0 => Some(MessageStatus::ReceivedUnread),
            1 => Some(MessageStatus::ReceivedRead),
            2 => Some(MessageStatus::StoredUnsent),
            3 => Some(MessageStatus::StoredSent),
            _ => None,
        }
    }
}

/// One stored message: the PDU as the modem prints it (SMSC field first) and the length of
/// its TPDU (what `+CMGR`/`+CMGL` announce).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredMessage {
    pub status: MessageStatus,
    #[serde(serialize_with = "as_hex")]
    pub pdu: Vec<u8>,
    pub tpdu_length: usize,
}

fn as_hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode_upper(bytes))
}

/// Which messages `AT+CMGD=<index>,<flag>` deletes (27.005 §3.5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteScope {
    Index,
    Read,
    ReadAndSent,
    ReadSentAndUnsent,
    All,
}

/// The slots of the SIM.
#[derive(Clone, Debug)]
pub struct SimStore {
    slots: Vec<Option<StoredMessage>>,
    /// The index the modem gives the first slot (`<index>` of `+CMTI`, `+CMGR`, `+CMGD`).
    first_index: usize,
}

impl SimStore {
    pub fn new(capacity: usize, first_index: usize) -> SimStore {
        SimStore {
            slots: vec![None; capacity],
            first_index,
        }
    }

    /// The position in `slots` of the slot the modem calls `index`.
    fn position(&self, index: usize) -> Option<usize> {
        index
            .checked_sub(self.first_index)
            .filter(|&i| i < self.slots.len())
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn used(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_full(&self) -> bool {
        self.used() >= self.capacity()
    }

    /// Stores a message in the lowest free slot and returns its index.
    pub fn insert(&mut self, message: StoredMessage) -> Option<usize> {
        let free = self.slots.iter().position(|s| s.is_none())?;
        let slot = self.slots.get_mut(free)?;
        *slot = Some(message);
        Some(free + self.first_index)
    }

    /// Whether `index` names a slot of this SIM (empty or not).
    pub fn in_range(&self, index: usize) -> bool {
        self.position(index).is_some()
    }

    pub fn get(&self, index: usize) -> Option<&StoredMessage> {
        self.slots.get(self.position(index)?)?.as_ref()
    }

    /// Reading a received message marks it read, as on a real SIM.
    pub fn read(&mut self, index: usize) -> Option<StoredMessage> {
        let position = self.position(index)?;
        let slot = self.slots.get_mut(position)?.as_mut()?;
        let before = slot.clone();
        if slot.status == MessageStatus::ReceivedUnread {
            slot.status = MessageStatus::ReceivedRead;
        }
        Some(before)
    }

    /// The indexes of the messages with `status` (or all of them).
    pub fn list(&self, status: Option<MessageStatus>) -> Vec<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Some(m) if status.is_none_or(|st| st == m.status) => Some(i + self.first_index),
                _ => None,
            })
            .collect()
    }

    /// Deletes per `scope`; returns how many messages went.
    pub fn delete(&mut self, index: usize, scope: DeleteScope) -> usize {
        let mut deleted = 0;
        let first_index = self.first_index;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(message) = slot else { continue };
            let hit = match scope {
                DeleteScope::Index => i + first_index == index,
                DeleteScope::Read => message.status == MessageStatus::ReceivedRead,
                DeleteScope::ReadAndSent => matches!(
                    message.status,
                    MessageStatus::ReceivedRead | MessageStatus::StoredSent
                ),
                DeleteScope::ReadSentAndUnsent => message.status != MessageStatus::ReceivedUnread,
                DeleteScope::All => true,
            };
            if hit {
                *slot = None;
                deleted += 1;
            }
        }
        deleted
    }

    /// Every stored message with its index, for the control API.
    pub fn snapshot(&self) -> Vec<(usize, StoredMessage)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.clone().map(|m| (i + self.first_index, m)))
            .collect()
    }
}
