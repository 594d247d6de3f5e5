//! `textgate pdu decode|encode`: the codec of `textgate-gsm` on the command line, for
//! looking at what a modem printed and for preparing `AT+CMGS` input by hand.

use anyhow::Context;
use clap::Subcommand;
use textgate_gsm::pdu::{self, Address, Pdu, SmscField};
use textgate_gsm::segment::{Segmenter, SegmenterConfig, StatusReportRequest, SubmitOptions};
use textgate_gsm::udh::ReferenceWidth;

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
    /// The alphabet is GSM 7-bit when every character has a code in it, UCS-2 otherwise; a
    /// text longer than one SMS is split into concatenated parts (at most 255).
    Encode {
        /// The recipient: `+` and digits for an international number, digits for a
        /// national number or short code.
        #[arg(long)]
        to: String,
        /// The SMS service centre number to put in the PDU.
        #[arg(long)]
        smsc: Option<String>,
        /// Ask the network for a status report for each part (TP-SRR).
        #[arg(long)]
        status_report: bool,
        /// The concatenation reference shared by the parts of a multipart text: 0-255 uses
        /// the 8-bit reference element, 256-65535 the 16-bit one. Ignored for a single part.
        #[arg(long, default_value_t = 0)]
        reference: u16,
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
                options: SubmitOptions {
                    smsc: smsc
                        .as_deref()
                        .map(Address::from_number)
                        .transpose()
                        .context("--smsc")?,
                    status_report: if status_report {
                        StatusReportRequest::Requested
                    } else {
                        StatusReportRequest::None
                    },
                    validity: None,
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

struct EncodeRequest {
    recipient: Address,
    options: SubmitOptions,
    reference: u16,
}

/// The `<tpdu-length> <HEX>` lines for `text`, one per part.
fn encode(request: &EncodeRequest, text: &str) -> anyhow::Result<Vec<String>> {
    let segmenter = Segmenter::new(SegmenterConfig {
        reference_width: if request.reference > 0xFF {
            ReferenceWidth::Bits16
        } else {
            ReferenceWidth::Bits8
        },
        max_parts: u8::MAX,
        ..SegmenterConfig::default()
    });
    let pdus = segmenter.submit_pdus(
        text,
        request.reference,
        &request.recipient,
        &request.options,
    )?;
    pdus.iter()
        .map(|pdu| {
            let bytes = pdu.encode(SmscField::Present)?;
            Ok(format!("{} {}", pdu.tpdu_len()?, pdu::to_hex(&bytes)))
        })
        .collect()
}
