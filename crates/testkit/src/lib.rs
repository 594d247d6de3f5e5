//! What textgate's integration tests, and the demo binary, start and drive instead of a
//! production deployment. Each part is a cargo feature (all on by default), so a crate takes
//! only what it needs:
//!
//! - `database`: a database that exists for one test, PostgreSQL or SQLite (the items at
//!   this crate's root, from [`database`]).
//! - `docker`: reading the Docker files the way Docker would ([`docker`]).
//! - `browser`: a headless Chromium driven over WebDriver ([`browser`]).
//! - `prosody`: a throw-away Prosody with its own configuration, ports and data
//!   ([`prosody`]), and Converse.js, the browser client, served for it ([`converse`]).
//! - `ejabberd`: a throw-away ejabberd with its own configuration, ports, accounts and data
//!   ([`ejabberd`]).
//! - `xmpp`: a librarian's XMPP client on a real c2s connection ([`xmpp`]).
//! - `smsc`: an SMPP message centre nobody on the team wrote, node-smpp's, steered by the
//!   test ([`smsc`]).
//!
//! [`process`] stops child processes the way an operator would; it is always there.
//!
//! This crate is used by tests and by the demo binary (`crates/demo`), never by a library.
//! Setting something up returns an error that says which step failed; tests report it with
//! `expect`, the demo with its own context.

#![forbid(unsafe_code)]

#[cfg(feature = "browser")]
pub mod browser;
#[cfg(feature = "prosody")]
pub mod converse;
#[cfg(feature = "database")]
pub mod database;
#[cfg(feature = "docker")]
pub mod docker;
#[cfg(feature = "ejabberd")]
pub mod ejabberd;
#[cfg(any(feature = "prosody", feature = "ejabberd"))]
mod ports;
pub mod process;
#[cfg(feature = "prosody")]
pub mod prosody;
#[cfg(feature = "smsc")]
pub mod smsc;
#[cfg(feature = "xmpp")]
pub mod xmpp;

// The database helpers were this crate's first job and are used from its root by every
// crate with a database test.
#[cfg(feature = "database")]
pub use database::{
    admin_url, fresh_postgres_database, with_database, FreshDatabaseError, FreshPostgres,
    FreshSqlite, DEFAULT_DATABASE_URL,
};
