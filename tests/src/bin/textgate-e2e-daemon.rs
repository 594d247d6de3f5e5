//! `textgate run` for the end-to-end tests: the same entry point as `textgate run`, built in
//! this package so the tests always start the current code.

#![forbid(unsafe_code)]

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: textgate::run_cmd::RunArgs,
}

fn main() -> anyhow::Result<()> {
    textgate::run_cmd::run(&Cli::parse().run)
}
