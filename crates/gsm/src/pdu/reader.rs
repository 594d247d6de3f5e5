//! A cursor over PDU octets whose every read is checked, so a decoder built on it cannot
//! index out of bounds and its errors name the field and the octet offset.

use crate::error::GsmError;

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, GsmError> {
        let [b] = *self.take(1, field)? else {
            return Err(self.truncated(field, 1));
        };
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], GsmError> {
        let slice = self
            .bytes
            .get(self.pos..)
            .and_then(|rest| rest.get(..n))
            .ok_or_else(|| self.truncated(field, n))?;
        self.pos += n;
        Ok(slice)
    }

    pub(crate) fn array7(&mut self, field: &'static str) -> Result<[u8; 7], GsmError> {
        let slice = self.take(7, field)?;
        let mut out = [0u8; 7];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// Skips what has been read so far into the rest (used after the user data).
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.bytes.len());
    }

    fn truncated(&self, field: &'static str, needed: usize) -> GsmError {
        GsmError::Truncated {
            field,
            offset: self.pos,
            needed,
            present: self.remaining(),
        }
    }
}
