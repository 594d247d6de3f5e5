//! The `textgate` binary's own library: the parts of the binary that tests (and later the
//! daemon wiring) need to reach without going through a process, starting with the
//! configuration. Protocol and domain logic live in the other crates, not here.

#![forbid(unsafe_code)]

pub mod admin_cmd;
pub mod config;
pub mod exit;
pub mod run_cmd;
