//! The SIM message store: numbered slots (1-based, as on SIM cards) holding PDUs with their
//! 27.005 status. Its capacity is small on purpose: real SIMs hold 10 to 50 messages, and a
//! full SIM is one of the failures textgate must survive.

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
}

impl SimStore {
    pub fn new(capacity: usize) -> SimStore {
        SimStore {
            slots: vec![None; capacity],
        }
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
        Some(free + 1)
    }

    /// Whether `index` names a slot of this SIM (empty or not).
    pub fn in_range(&self, index: usize) -> bool {
        index >= 1 && index <= self.slots.len()
    }

    pub fn get(&self, index: usize) -> Option<&StoredMessage> {
        self.slots.get(index.checked_sub(1)?)?.as_ref()
    }

    /// Reading a received message marks it read, as on a real SIM.
    pub fn read(&mut self, index: usize) -> Option<StoredMessage> {
        let slot = self.slots.get_mut(index.checked_sub(1)?)?.as_mut()?;
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
                Some(m) if status.is_none_or(|st| st == m.status) => Some(i + 1),
                _ => None,
            })
            .collect()
    }

    /// Deletes per `scope`; returns how many messages went.
    pub fn delete(&mut self, index: usize, scope: DeleteScope) -> usize {
        let mut deleted = 0;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(message) = slot else { continue };
            let hit = match scope {
                DeleteScope::Index => i + 1 == index,
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
            .filter_map(|(i, s)| s.clone().map(|m| (i + 1, m)))
            .collect()
    }
}
