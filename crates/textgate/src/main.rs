//! The `textgate` binary: command-line parsing, configuration, wiring and signals.
//! Logic lives in the library crates; this file only dispatches.

#![forbid(unsafe_code)]

mod demo_cmd;
mod migrate_cmd;
mod pdu_cmd;
mod probe_cmd;
mod send_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for bad input (a malformed PDU, an invalid number, a bad argument).
pub const EXIT_BAD_INPUT: u8 = 2;

/// The manual page's description, `textgate --help`.
const LONG_ABOUT: &str = "\
textgate connects SMS to XMPP: patrons text a phone number served by a USB modem, \
operators (librarians) answer from any XMPP client through an XEP-0114 component, and \
the same daemon sends emergency text alerts. One daemon serves several gateways, each \
a [[gateway]] section of the configuration file with its own modem and component.

Without a subcommand textgate runs the daemon, as `textgate run` does (with the same \
options). The configuration file is /etc/textgate/textgate.toml unless --config PATH or the \
TEXTGATE_CONFIG environment variable names another; TEXTGATE_... variables override its \
keys. The database is SQLite (the default) or PostgreSQL, from [database] url.";

/// Exit statuses and pointers, after the list of subcommands.
const AFTER_HELP: &str = "\
Exit status:
  0  success
  1  runtime failure: the database, a modem or the XMPP server could not be
     reached or refused; a modem did not answer in time
  2  bad input or configuration: a usage error; an invalid PDU, phone number or
     configuration file; a text needing more SMS than the gateway's max_parts

Examples:
  textgate check-config --config /etc/textgate/textgate.toml
  textgate migrate
  textgate modem probe /dev/serial/by-id/usb-Quectel_EC25-if02-port0
  textgate send --gateway library +447700900123 'Your books are ready'
  textgate run

See docs/cli.md and docs/operations.md; `textgate help SUBCOMMAND` for each subcommand.";

#[derive(Parser)]
#[command(
    name = "textgate",
    version,
    about,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// Without a subcommand, `textgate` is `textgate run` (and takes its options).
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: textgate::run_cmd::RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Decode or encode SMS PDUs (TS 23.040), as a modem shows them in PDU mode.
    #[command(subcommand)]
    Pdu(pdu_cmd::PduCommand),
    /// Check the configuration file without side effects: print a summary, or every
    /// problem with the key it is about (exit status 2).
    CheckConfig(textgate::config::CheckConfigArgs),
    /// Run the gateway daemon until SIGTERM or SIGINT (the default: `textgate` alone is
    /// `textgate run`).
    Run(textgate::run_cmd::RunArgs),
    /// Run a whole demo gateway on this machine (a throw-away Prosody, the modem simulator,
    /// the daemon on SQLite) and print how to use it; Ctrl-C stops it all. Runs the
    /// textgate-demo program installed beside textgate.
    Demo(demo_cmd::DemoArgs),
    /// Apply the database migrations this version carries to the configured database.
    Migrate(migrate_cmd::MigrateArgs),
    /// Talk to a modem directly (the daemon must not be using it).
    #[command(subcommand)]
    Modem(probe_cmd::ModemCommand),
    /// Put a text in a gateway's outbox for the running daemon to send.
    Send(send_cmd::SendArgs),
    /// Create a web console administrator (needs [alerts]); the password is read from
    /// TEXTGATE_ADMIN_PASSWORD or standard input, never from the command line.
    CreateAdmin(textgate::admin_cmd::CreateAdminArgs),
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
    let Some(command) = cli.command else {
        return finish(textgate::run_cmd::run(&cli.run));
    };
    let result = match command {
        Command::Pdu(cmd) => pdu_cmd::run(cmd),
        Command::CheckConfig(args) => textgate::config::run_check_config(&args),
        Command::Run(args) => textgate::run_cmd::run(&args),
        Command::Demo(args) => demo_cmd::run(&args),
        Command::Migrate(args) => migrate_cmd::run(&args),
        Command::Modem(cmd) => probe_cmd::run(cmd),
        Command::Send(args) => send_cmd::run(&args),
        Command::CreateAdmin(args) => textgate::admin_cmd::run(&args),
    };
    finish(result)
}

/// The exit status of a command's result, after printing its error.
fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("textgate: {e:#}");
            // Unmarked errors are bad input (2), as they always were here.
            textgate::exit::status_of(&e).into()
        }
    }
}
