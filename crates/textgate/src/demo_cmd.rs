//! `textgate demo`: hands over to the `textgate-demo` program installed beside `textgate`
//! (crates/demo), which starts a throw-away Prosody, the modem simulator and this daemon.
//!
//! The demo is a program of its own so that the daemon does not link the simulator and its
//! HTTP control API. This command only replaces the process with it (exec), passing every
//! argument on, so Ctrl-C, the output and the exit status are the demo's own.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

use anyhow::{bail, Context};

/// The demo's program, looked for in the directory of the running `textgate`.
const DEMO_PROGRAM: &str = "textgate-demo";

/// Arguments of `textgate demo`: passed on to `textgate-demo` unread, so its own `--help`
/// answers `textgate demo --help`.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct DemoArgs {
    /// Arguments for textgate-demo: `--self-test` runs a text in and a reply out unattended
    /// and exits 0 when the whole path works; `--help` lists the others.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<OsString>,
}

/// Replaces this process with `textgate-demo ARGS...`; returns only when that fails.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let textgate = std::env::current_exe().context("finding the textgate executable")?;
    let demo = textgate.with_file_name(DEMO_PROGRAM);
    if !demo.is_file() {
        bail!(
            "{} is missing: `textgate demo` runs the textgate-demo program installed beside \
             textgate; build both with `cargo build --release -p textgate -p textgate-demo` \
             (scripts/demo builds them with `--profile demo` instead, into target/demo)",
            demo.display()
        );
    }
    let error = Command::new(&demo).args(&args.args).exec();
    Err(error).with_context(|| format!("starting {}", demo.display()))
}
