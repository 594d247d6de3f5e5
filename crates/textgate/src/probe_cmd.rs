//! `textgate modem probe`: asks a modem (a serial device, a network modem or the simulator)
//! what it is and how it is doing, and prints the answer in plain words. It changes none of
//! the modem's settings, so it is safe beside a stopped daemon; it must not share a serial
//! device with a running one.

use std::time::Duration;

use anyhow::Context;
use textgate::exit::{mark, ExitStatusExt, Status};
use textgate_modem::{probe_device, Timeouts};

/// `textgate modem ...`
#[derive(Debug, clap::Subcommand)]
pub enum ModemCommand {
    /// Ask a modem what it is: manufacturer and model, SIM state, signal in dBm, network
    /// registration, operator, SMS centre and storage use. Changes no setting and enters no
    /// PIN.
    Probe(ProbeArgs),
}

/// Arguments of `textgate modem probe`.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// A serial device (prefer the stable /dev/serial/by-id/... path; /dev/ttyUSB2 or a
    /// pseudo-terminal path work too), or HOST:PORT (tcp://HOST:PORT) for a network modem
    /// or the simulator.
    #[arg(value_name = "DEVICE_OR_ADDRESS")]
    pub device: String,
    /// Serial line speed; USB modems ignore it.
    #[arg(long, value_name = "N", default_value_t = 115_200)]
    pub baud: u32,
    /// Give up after this many seconds if the modem does not answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
}

pub fn run(command: ModemCommand) -> anyhow::Result<()> {
    match command {
        ModemCommand::Probe(args) => probe(&args),
    }
}

fn probe(args: &ProbeArgs) -> anyhow::Result<()> {
    let limit = Duration::from_secs(args.timeout);
    // Each question gets at most the whole limit, and the whole probe is cut off at it too.
    let timeouts = Timeouts {
        quick: Timeouts::default().quick.min(limit),
        slow: limit,
        network: limit,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .or_exit(Status::Failure)?;
    let answer = runtime.block_on(async {
        tokio::time::timeout(limit, probe_device(&args.device, args.baud, timeouts)).await
    });
    match answer {
        Ok(Ok(status)) => {
            println!("{status}");
            Ok(())
        }
        // The probe's message already ends with its cause; print it once.
        Ok(Err(error)) => Err(mark(Status::Failure, anyhow::anyhow!("{error}"))),
        Err(_elapsed) => Err(mark(
            Status::Failure,
            anyhow::anyhow!(
                "no modem answered on {} within {} s (is it the AT port, and is another \
                 program such as the daemon or ModemManager using it?)",
                args.device,
                args.timeout
            ),
        )),
    }
}
