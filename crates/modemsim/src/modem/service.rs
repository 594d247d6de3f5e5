//! Message service settings (3GPP TS 27.005 §3.2, §3.3): message format (`+CMGF`, PDU
//! mode only), character set (`+CSCS`, 27.007 §5.5, which decides how strings in
//! answers and arguments are written), the message service (`+CSMS`, whose phase 2+
//! setting makes routed messages wait for `AT+CNMA`), the service centre address
//! (`+CSCA`, which a fault can make the SIM forget) and text mode parameters (`+CSMP`,
//! accepted and ignored).

use super::{number_arg, Charset, Failure, ModemState, Outcome};
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
            // 27.007 §5.5. Gammu 1.42 asks the list at connect and picks its character
            // sets from it (libgammu/phone/at/atgen.c, `ATGEN_ReplyGetCharsets`).
            ("+CSCS", Form::Test) => {
                let names: Vec<String> = Charset::ALL
                    .iter()
                    .map(|c| format!("\"{}\"", c.name()))
                    .collect();
                info.push(format!("+CSCS: ({})", names.join(",")));
            }
            ("+CSCS", Form::Set(args)) => {
                // The name itself is written in the character set in force, so a host in
                // UCS2 switches back with `AT+CSCS="00470053004D"` (as Gammu does).
                let name = args
                    .first()
                    .map(|arg| self.read_host_string(&arg.as_string()))
                    .unwrap_or(Some(String::new()));
                self.settings.cscs = match name {
                    // Not valid in the character set in force.
                    None => return Err(Failure::Cme(4)),
                    // No name restores the default.
                    Some(name) if name.is_empty() => Charset::Gsm,
                    Some(name) => Charset::ALL
                        .into_iter()
                        .find(|c| c.name().eq_ignore_ascii_case(&name))
                        .ok_or(Failure::Cme(4))?,
                };
            }
            ("+CSCS", Form::Read) => info.push(format!(
                "+CSCS: \"{}\"",
                self.host_string(self.settings.cscs.name())
            )),
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
                info.push(format!("+CSCA: \"{}\",{toa}", self.host_string(smsc)));
            }
            ("+CSCA", Form::Set(args)) => {
                self.sim_ready_cms()?;
                let number = args.first().map(Arg::as_string).unwrap_or_default();
                self.smsc = self.read_host_string(&number).ok_or(Failure::Cms(304))?;
                self.faults.smsc_lost = false;
            }
            ("+CSMP", Form::Set(_)) => {}
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    /// A string as the modem writes it to the host in the character set in force.
    pub(super) fn host_string(&self, text: &str) -> String {
        match self.settings.cscs {
            // The simulator's strings (numbers, the operator's name) are ASCII, which
            // reads the same in both.
            Charset::Gsm | Charset::Ira => text.to_owned(),
            Charset::Ucs2 => text.encode_utf16().map(|u| format!("{u:04X}")).collect(),
        }
    }

    /// A string the host wrote in the character set in force; `None` when it is not
    /// valid there (odd UCS2 hex).
    pub(super) fn read_host_string(&self, text: &str) -> Option<String> {
        match self.settings.cscs {
            Charset::Gsm | Charset::Ira => Some(text.to_owned()),
            Charset::Ucs2 => {
                let bytes = hex::decode(text).ok()?;
                let units: Vec<u16> = bytes
                    .chunks(2)
                    .map(|pair| match pair {
                        [high, low] => Some(u16::from_be_bytes([*high, *low])),
                        _ => None,
                    })
                    .collect::<Option<_>>()?;
                String::from_utf16(&units).ok()
            }
        }
    }

    pub(super) fn effective_smsc(&self) -> &str {
        if self.faults.smsc_lost {
            ""
        } else {
            &self.smsc
        }
    }
}
