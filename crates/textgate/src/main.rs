//! The `textgate` binary: command-line parsing, configuration, wiring and signals.
//! Logic lives in the library crates; this file only dispatches.

#![forbid(unsafe_code)]

mod demo_cmd;
mod pdu_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for bad input (a malformed PDU, an invalid number, a bad argument).
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(Parser)]
#[command(name = "textgate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode or encode SMS PDUs (TS 23.040), as a modem shows them in PDU mode.
    #[command(subcommand)]
    Pdu(pdu_cmd::PduCommand),
    /// Check the configuration file without side effects: print a summary, or every
    /// problem with the key it is about (exit status 2).
    CheckConfig(textgate::config::CheckConfigArgs),
    /// Run the gateway daemon until SIGTERM or SIGINT.
    Run(textgate::run_cmd::RunArgs),
    /// Run a whole demo gateway on this machine (a throw-away Prosody, the modem simulator,
    /// the daemon on SQLite) and print how to use it; Ctrl-C stops it all.
    Demo(demo_cmd::DemoArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with success; usage errors are bad input.
            let code = if e.use_stderr() { EXIT_BAD_INPUT } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Pdu(cmd) => pdu_cmd::run(cmd),
        Command::CheckConfig(args) => textgate::config::run_check_config(&args),
        Command::Run(args) => textgate::run_cmd::run(&args),
        Command::Demo(args) => demo_cmd::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("textgate: {e:#}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
