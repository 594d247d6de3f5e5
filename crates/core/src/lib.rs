//! The gateway's domain without I/O: phone numbers (E.164), patron JIDs, the message
//! lifecycle and queue routing as a state machine. Defines the traits the edges implement.

#![forbid(unsafe_code)]
