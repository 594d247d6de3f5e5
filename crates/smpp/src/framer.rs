//! Cutting a TCP byte stream into PDUs. Each PDU starts with its own length
//! (`command_length`, 4 octets, the header included), so a frame is complete once that many
//! octets are buffered.
//!
//! A length below the header's 16 octets or above the configured maximum cannot be a PDU
//! we will read: the stream has lost its framing (or the peer is hostile), nothing after
//! it can be trusted, and the session must close the connection and bind again. The error
//! is sticky: once the framer refused a length it refuses everything.

use crate::pdu::HEADER_LEN;

/// The largest PDU accepted unless configured otherwise. A `submit_sm` or `deliver_sm`
/// with a `message_payload` of a long text stays far below it; SMPP itself sets no limit.
pub const DEFAULT_MAX_PDU: u32 = 64 * 1024;

/// Why the stream cannot be read further.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("a PDU says it is {0} octets long, fewer than its own 16-octet header")]
    TooShort(u32),
    #[error("a PDU says it is {length} octets long, more than the {max} accepted")]
    TooLong { length: u32, max: u32 },
}

/// Buffers octets as they arrive and hands out whole PDUs.
#[derive(Debug)]
pub struct Framer {
    buffer: Vec<u8>,
    max: u32,
    broken: Option<FramingError>,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(DEFAULT_MAX_PDU)
    }
}

impl Framer {
    /// A framer that accepts PDUs of up to `max` octets.
    pub fn new(max: u32) -> Framer {
        Framer {
            buffer: Vec::new(),
            max,
            broken: None,
        }
    }

    /// Adds octets read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.broken.is_none() {
            self.buffer.extend_from_slice(bytes);
        }
    }

    /// How many octets wait for the rest of their PDU.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next whole PDU's octets, `None` while it is incomplete, or the error that ends
    /// the stream.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        if let Some(error) = self.broken {
            return Err(error);
        }
        let Some(prefix) = self.buffer.get(..4) else {
            return Ok(None);
        };
        let length = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let error = if (length as usize) < HEADER_LEN {
            Some(FramingError::TooShort(length))
        } else if length > self.max {
            Some(FramingError::TooLong {
                length,
                max: self.max,
            })
        } else {
            None
        };
        if let Some(error) = error {
            self.broken = Some(error);
            self.buffer.clear();
            return Err(error);
        }
        let length = length as usize;
        if self.buffer.len() < length {
            return Ok(None);
        }
        let rest = self.buffer.split_off(length);
        Ok(Some(std::mem::replace(&mut self.buffer, rest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENQUIRE_LINK: [u8; 16] = [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 7];

    #[test]
    fn pdus_are_cut_whatever_the_reads() {
        let mut stream = ENQUIRE_LINK.to_vec();
        stream.extend_from_slice(&ENQUIRE_LINK);
        for split in 0..stream.len() {
            let mut framer = Framer::default();
            let mut frames = Vec::new();
            for chunk in [&stream[..split], &stream[split..]] {
                framer.push(chunk);
                while let Some(frame) = framer.next_frame().expect("valid stream") {
                    frames.push(frame);
                }
            }
            assert_eq!(
                frames,
                vec![ENQUIRE_LINK.to_vec(), ENQUIRE_LINK.to_vec()],
                "split at {split}"
            );
            assert_eq!(framer.buffered(), 0);
        }
    }

    #[test]
    fn an_impossible_length_ends_the_stream_for_good() {
        let mut framer = Framer::new(1024);
        framer.push(&[0, 0, 0, 15]);
        assert_eq!(framer.next_frame(), Err(FramingError::TooShort(15)));
        framer.push(&ENQUIRE_LINK);
        assert_eq!(framer.next_frame(), Err(FramingError::TooShort(15)));

        let mut framer = Framer::new(1024);
        framer.push(&[0, 0, 4, 1]);
        assert_eq!(
            framer.next_frame(),
            Err(FramingError::TooLong {
                length: 1025,
                max: 1024
            })
        );
    }
}
