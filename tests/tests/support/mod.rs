//! What the end-to-end tests share: a throw-away Prosody and the librarian client (the
//! xmpp crate's harness, included rather than copied), a fresh PostgreSQL database, the
//! modem simulator on a real pseudo-terminal, and the daemon as a child process.

#![allow(dead_code)] // each test binary uses a different part of the harness

#[path = "../../../crates/xmpp/tests/support/librarian.rs"]
pub mod librarian;
#[path = "../../../crates/xmpp/tests/support/prosody.rs"]
pub mod prosody;

pub mod daemon;
pub mod database;
pub mod http;
pub mod members;
pub mod modem;
pub mod scene;
