//! Test harness: a throw-away Prosody and a minimal librarian client.

pub mod librarian;
pub mod prosody;
