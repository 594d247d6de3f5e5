//! `textgate pdu decode|encode`: the codec of `textgate-gsm` on the command line, for
//! looking at what a modem printed and for preparing `AT+CMGS` input by hand.

use anyhow::Context;
use clap::Subcommand;
use textgate_gsm::alphabet::{self, Tables};
use textgate_gsm::pdu::{self, Address, Alphabet, DataCoding, Pdu, SmscField, Submit, Tpdu};
use textgate_gsm::pdu::{UserData, MAX_OCTETS, MAX_SEPTETS};
use textgate_gsm::ucs2;

#[derive(Subcommand)]
pub enum PduCommand {
    /// Decode a hex PDU and print it as JSON.
    ///
    /// Prints the message type, the SMSC, the sender or recipient, time stamps (RFC 3339),
    /// the protocol identifier, the data coding scheme, user data header elements and the
    /// text (or the 8-bit data in hex); for a status report also the message reference and
    /// the status with its meaning.
    Decode {
        /// The PDU in hex, SMSC field first (as `AT+CMGR` shows it). Spaces and lower case
        /// are accepted.
        hex: String,
        /// The PDU has no SMSC field (as some modems print it).
        #[arg(long)]
        no_smsc: bool,
    },
    /// Encode a text as SMS-SUBMIT PDUs ready for `AT+CMGS`.
    ///
    /// Prints one line per part: `<tpdu-length> <HEX>`, where `<tpdu-length>` is the
    /// length in octets without the SMSC field (the argument of `AT+CMGS=`) and `<HEX>` is
    /// the whole PDU, SMSC field first (`00`, "use the SIM's SMSC", unless --smsc is given).
    /// The alphabet is GSM 7-bit when every character has a code in it, UCS-2 otherwise.
    Encode {
        /// The recipient: `+` and digits for an international number, digits for a
        /// national number or short code.
        #[arg(long)]
        to: String,
        /// The SMS service centre number to put in the PDU.
        #[arg(long)]
        smsc: Option<String>,
        /// Ask the network for a status report (TP-SRR).
        #[arg(long)]
        status_report: bool,
        /// The message reference TP-MR (0-255; most modems replace it with their own).
        #[arg(long, default_value_t = 0)]
        reference: u8,
        /// The text to send.
        text: String,
    },
}

pub fn run(cmd: PduCommand) -> anyhow::Result<()> {
    match cmd {
        PduCommand::Decode { hex, no_smsc } => {
            let field = if no_smsc {
                SmscField::Absent
            } else {
                SmscField::Present
            };
            let pdu = Pdu::decode_hex(&hex, field).context("cannot decode the PDU")?;
            println!("{}", serde_json::to_string_pretty(&pdu)?);
            Ok(())
        }
        PduCommand::Encode {
            to,
            smsc,
            status_report,
            reference,
            text,
        } => {
            let request = EncodeRequest {
                recipient: Address::from_number(&to).context("--to")?,
                smsc: smsc
                    .as_deref()
                    .map(Address::from_number)
                    .transpose()
                    .context("--smsc")?,
                status_report: if status_report {
                    StatusReport::Requested
                } else {
                    StatusReport::NotRequested
                },
                reference,
            };
            for line in encode(&request, &text)? {
                println!("{line}");
            }
            Ok(())
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StatusReport {
    Requested,
    NotRequested,
}

struct EncodeRequest {
    recipient: Address,
    smsc: Option<Address>,
    status_report: StatusReport,
    reference: u8,
}

/// The `<tpdu-length> <HEX>` lines for `text`.
fn encode(request: &EncodeRequest, text: &str) -> anyhow::Result<Vec<String>> {
    let (alphabet, fits) = match alphabet::text_cost(text, Tables::DEFAULT) {
        Some(septets) => (Alphabet::Gsm7, septets <= MAX_SEPTETS),
        None => (Alphabet::Ucs2, ucs2::unit_count(text) * 2 <= MAX_OCTETS),
    };
    if !fits {
        anyhow::bail!("the text needs more than one SMS; multipart encoding is not available yet");
    }
    let mut submit = Submit::new(
        request.recipient.clone(),
        DataCoding::general(alphabet, None),
        UserData::text(text),
    );
    submit.status_report_request = request.status_report == StatusReport::Requested;
    submit.message_reference = request.reference;
    let pdu = Pdu {
        smsc: request.smsc.clone(),
        tpdu: Tpdu::Submit(submit),
    };
    let bytes = pdu.encode(SmscField::Present)?;
    Ok(vec![format!("{} {}", pdu.tpdu_len()?, pdu::to_hex(&bytes))])
}
