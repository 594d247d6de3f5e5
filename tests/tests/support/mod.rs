//! What the end-to-end tests share: a throw-away Prosody (or ejabberd) and the librarian client (testkit's,
//! shared with the xmpp crate's tests and the demo), a fresh PostgreSQL database, the modem
//! simulator on a real pseudo-terminal, and the daemon as a child process.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub use textgate_testkit::{prosody, xmpp};

pub mod daemon;
pub mod database;
pub mod http;
pub mod members;
pub mod modem;
pub mod scene;
