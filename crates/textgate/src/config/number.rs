//! Whole numbers with messages for people: serde's own say "expected u8", which a
//! sysadmin should not have to decode.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// Accepts an integer from 0 to `max`.
struct WholeNumber {
    max: u64,
}

impl Visitor<'_> for WholeNumber {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.max >= u32::MAX.into() {
            // Nobody needs to read four billion as a limit.
            f.write_str("a whole number")
        } else {
            write!(f, "a whole number from 0 to {}", self.max)
        }
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        match u64::try_from(value) {
            Ok(value) => self.visit_u64(value),
            Err(_) => Err(E::custom(format!(
                "{value} is negative; expected {}",
                Expected(&self)
            ))),
        }
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        if value > self.max {
            return Err(E::custom(format!(
                "{value} is too large; expected {}",
                Expected(&self)
            )));
        }
        Ok(value)
    }
}

/// Displays what a visitor expects.
struct Expected<'a>(&'a WholeNumber);

impl fmt::Display for Expected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }
}

fn whole<'de, D: Deserializer<'de>>(deserializer: D, max: u64) -> Result<u64, D::Error> {
    deserializer.deserialize_any(WholeNumber { max })
}

pub(crate) fn u8<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u8, D::Error> {
    let value = whole(deserializer, u8::MAX.into())?;
    u8::try_from(value).map_err(de::Error::custom)
}

pub(crate) fn u16<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    let value = whole(deserializer, u16::MAX.into())?;
    u16::try_from(value).map_err(de::Error::custom)
}

pub(crate) fn u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let value = whole(deserializer, u32::MAX.into())?;
    u32::try_from(value).map_err(de::Error::custom)
}
