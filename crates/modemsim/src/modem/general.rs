//! General commands (ITU-T V.250 and 3GPP TS 27.007 §5): the basic commands (`E`, `V`,
//! `Q`, `Z`, `&F`, `I`, `H` and the ignored `&C`, `&D`, `&K`, `&W`, `X`, `L`, `M`), the
//! S-registers, the identity commands (`+CGMI`, `+CGMM`, `+CGMR`, `+CGSN` and their `+G`
//! forms, `+GCAP`) and error reporting (`+CMEE`).

use super::{number_arg, Failure, ModemState, Outcome, Reset, Settings};
use crate::command::Form;

impl ModemState {
    /// Runs a basic command (`ATE0`, `ATI`, `ATH`, ...); one the modem lacks is `ERROR`.
    pub(super) fn basic(
        &mut self,
        name: &str,
        value: Option<u32>,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match (name, value.unwrap_or(0)) {
            ("E", 0) => self.settings.echo = false,
            ("E", 1) => self.settings.echo = true,
            // Numeric result codes (V0) and quiet mode (Q1) are not simulated.
            ("V", 1) | ("Q", 0) => {}
            ("Z" | "&F", 0) => self.reset_settings(Reset::Profile),
            ("I", 0) => {
                for line in self.profile.identification {
                    info.push(line.replace("{imei}", &self.config.imei));
                }
            }
            ("H", 0) => self.hang_up(),
            ("&C" | "&D" | "&K" | "&W" | "X" | "L" | "M", _) => {}
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    /// `S3?`, `S7=60`: the S-registers hosts read are answered with their usual values;
    /// setting one changes nothing.
    pub(super) fn register(&self, number: u32, value: Option<u32>, info: &mut Vec<String>) {
        if value.is_none() {
            let current = match number {
                3 => 13,
                4 => 10,
                5 => 8,
                _ => 0,
            };
            info.push(format!("{current:03}"));
        }
    }

    pub(super) fn reset_settings(&mut self, reset: Reset) {
        let catr = self.settings.catr;
        self.settings = Settings::power_on(&self.profile, self.settings.urcport);
        if reset == Reset::Profile {
            self.settings.catr = catr;
        }
        // A message the host had not acknowledged is still the network's to deliver.
        if let Some(awaiting) = self.awaiting_ack.take() {
            self.network.push_front(awaiting.message);
        }
    }

    /// Runs one of this file's commands; a form the modem does not have is `ERROR`.
    pub(super) fn general_command(
        &mut self,
        name: &str,
        form: Form,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match (name, form) {
            ("+CGMI" | "+GMI", Form::Execute) => info.push(self.profile.manufacturer.to_owned()),
            ("+CGMM" | "+GMM", Form::Execute) => info.push(self.profile.model.to_owned()),
            ("+CGMR" | "+GMR", Form::Execute) => info.push(self.profile.revision.to_owned()),
            ("+CGSN" | "+GSN", Form::Execute) => info.push(self.config.imei.clone()),
            (
                "+CGMI" | "+GMI" | "+CGMM" | "+GMM" | "+CGMR" | "+GMR" | "+CGSN" | "+GSN",
                Form::Test,
            ) => {}
            ("+GCAP", Form::Execute) => info.push("+GCAP: +CGSM".to_owned()),
            ("+CMEE", Form::Set(args)) => {
                self.settings.cmee = match number_arg(&args, 0, 0)? {
                    n @ 0..=2 => n as u8,
                    _ => return Err(Failure::Error),
                }
            }
            ("+CMEE", Form::Read) => info.push(format!("+CMEE: {}", self.settings.cmee)),
            ("+CMEE", Form::Test) => info.push("+CMEE: (0-2)".to_owned()),
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }
}
