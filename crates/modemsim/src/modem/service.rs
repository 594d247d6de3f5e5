//! Message service settings (3GPP TS 27.005 §3.2, §3.3): message format (`+CMGF`, PDU
//! mode only), character set (`+CSCS`), the message service (`+CSMS`, whose phase 2+
//! setting makes routed messages wait for `AT+CNMA`), the service centre address
//! (`+CSCA`, which a fault can make the SIM forget) and text mode parameters (`+CSMP`,
//! accepted and ignored).

use super::{number_arg, Failure, ModemState, Outcome};
use crate::command::{Arg, Form};

impl ModemState {
    /// Runs one of this file's commands; a form the modem does not have is `ERROR`.
    pub(super) fn service_command(
        &mut self,
        name: &str,
        form: Form,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match (name, form) {
            ("+CMGF", Form::Set(args)) => match number_arg(&args, 0, 0)? {
                0 => {}
                // The simulator speaks PDU mode only; text mode is refused as unsupported.
                1 => return Err(Failure::Cms(303)),
                _ => return Err(Failure::Error),
            },
            ("+CMGF", Form::Read) => info.push("+CMGF: 0".to_owned()),
            ("+CMGF", Form::Test) => info.push("+CMGF: (0)".to_owned()),
            ("+CSCS", Form::Set(_)) => {}
            ("+CSCS", Form::Read) => info.push("+CSCS: \"GSM\"".to_owned()),
            ("+CSMS", Form::Set(args)) => {
                self.settings.csms = match number_arg(&args, 0, 0)? {
                    n @ 0..=1 => n as u8,
                    _ => return Err(Failure::Cms(302)),
                };
                info.push("+CSMS: 1,1,1".to_owned());
            }
            ("+CSMS", Form::Read) => info.push(format!("+CSMS: {},1,1,1", self.settings.csms)),
            ("+CSMS", Form::Test) => info.push("+CSMS: (0,1)".to_owned()),
            ("+CSCA", Form::Read) => {
                self.sim_ready_cms()?;
                let smsc = self.effective_smsc();
                let toa = if smsc.starts_with('+') { 145 } else { 129 };
                info.push(format!("+CSCA: \"{smsc}\",{toa}"));
            }
            ("+CSCA", Form::Set(args)) => {
                self.sim_ready_cms()?;
                let number = args.first().map(Arg::as_string).unwrap_or_default();
                self.smsc = number;
                self.faults.smsc_lost = false;
            }
            ("+CSMP", Form::Set(_)) => {}
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    pub(super) fn effective_smsc(&self) -> &str {
        if self.faults.smsc_lost {
            ""
        } else {
            &self.smsc
        }
    }
}
