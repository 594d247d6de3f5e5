//! `textgate run` for the chaos harness: the same command line and entry point as
//! `textgate run`, built in this package so the harness always puts the current daemon
//! under chaos (`textgate-chaos` runs the one beside it, or what `--daemon` names).

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
