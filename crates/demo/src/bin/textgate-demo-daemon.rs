//! `textgate run` for the demo's tests: the same command line and entry point as
//! `textgate run`, built in this package so `cargo test -p textgate-demo` always runs the demo
//! against the current daemon (through `textgate-demo --daemon`).

#![forbid(unsafe_code)]

use clap::Parser;

#[derive(Parser)]
enum Cli {
    /// Run the gateway daemon, as `textgate run` does.
    Run(textgate::run_cmd::RunArgs),
}

fn main() -> anyhow::Result<()> {
    let Cli::Run(args) = Cli::parse();
    textgate::run_cmd::run(&args)
}
