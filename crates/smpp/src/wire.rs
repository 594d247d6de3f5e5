//! Reading and writing the octets of a PDU body: big-endian integers and NUL-terminated
//! strings (the specification's "C-Octet String") with their maximum sizes. Reading never
//! goes past the end: running short is [`DecodeError::Truncated`] naming the field.

use crate::pdu::DecodeError;

/// Reads fields from a PDU body, front to back.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.at >= self.bytes.len()
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        self.at = self.bytes.len();
        rest
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(DecodeError::Truncated { field })?;
        let taken = self
            .bytes
            .get(self.at..end)
            .ok_or(DecodeError::Truncated { field })?;
        self.at = end;
        Ok(taken)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?.first().copied().unwrap_or_default())
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A C-Octet String of at most `max` octets including its NUL. Its octets are kept as
    /// they are (the specification says ASCII; SMSCs send what they like).
    pub(crate) fn c_string(
        &mut self,
        max: usize,
        field: &'static str,
    ) -> Result<Vec<u8>, DecodeError> {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return Err(DecodeError::Unterminated { field });
        };
        if nul + 1 > max {
            return Err(DecodeError::TooLong { field, max });
        }
        let value = rest.get(..nul).unwrap_or_default().to_vec();
        self.at += nul + 1;
        Ok(value)
    }
}

/// Writes fields of a PDU body.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub(crate) fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    /// A C-Octet String: the octets up to any NUL in them, cut to `max - 1`, then a NUL.
    /// Encoding never fails; [`crate::Pdu::check`] says beforehand what would be cut.
    pub(crate) fn c_string(&mut self, value: &[u8], max: usize) {
        let end = value
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(value.len())
            .min(max.saturating_sub(1));
        self.bytes
            .extend_from_slice(value.get(..end).unwrap_or_default());
        self.bytes.push(0);
    }

    pub(crate) fn raw(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
    }
}
