//! `textgate pdu decode|encode`: the codec of `textgate-gsm` on the command line.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum PduCommand {
    /// Decode a hex PDU and print it as JSON.
    Decode {
        /// The PDU in hex, SMSC field first (as `AT+CMGR` shows it).
        hex: String,
        /// The PDU has no SMSC field (as some modems print it).
        #[arg(long)]
        no_smsc: bool,
    },
}

pub fn run(cmd: PduCommand) -> anyhow::Result<()> {
    match cmd {
        PduCommand::Decode { hex, no_smsc } => {
            let _ = (hex, no_smsc);
            anyhow::bail!("pdu decode is not implemented yet")
        }
    }
}
