//! The network and the radio (3GPP TS 27.007 §7, §8, §10.1.20): signal quality (`+CSQ`),
//! registration (`+CREG`, and `+CGREG` for the packet domain), the operator (`+COPS`),
//! the phone's functionality (`+CFUN`, including the reboot of `AT+CFUN=1,1`) and its
//! power supply (`+CBC`, as the personality has it). The modem counts as registered, in
//! both domains, while the radio is on and the SIM unlocked; with the radio off the signal
//! reads 99 (unknown).

use super::{number_arg, Failure, ModemState, Outcome, PinState, Reset};
use crate::command::Form;
use crate::personality::Battery;

impl ModemState {
    /// Runs one of this file's commands; a form the modem does not have is `ERROR`.
    pub(super) fn network_command(
        &mut self,
        name: &str,
        form: Form,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match (name, form) {
            ("+CSQ", Form::Execute) => info.push(format!("+CSQ: {},99", self.signal_now())),
            ("+CSQ", Form::Test) => info.push("+CSQ: (0-31,99),(0-7,99)".to_owned()),
            ("+CREG", Form::Set(args)) => {
                self.settings.creg = match number_arg(&args, 0, 0)? {
                    n @ 0..=2 => n as u8,
                    _ => return Err(Failure::Cme(50)),
                }
            }
            ("+CREG", Form::Read) => {
                let stat = if self.registered() { 1 } else { 0 };
                info.push(format!("+CREG: {},{stat}", self.settings.creg));
            }
            ("+CREG", Form::Test) => info.push("+CREG: (0-2)".to_owned()),
            // 27.007 §10.1.20. The simulated network has no packet data, but a modem
            // attaches to the packet domain with the circuit one, and hosts (Gammu's
            // `networkinfo`, ModemManager) read both.
            ("+CGREG", Form::Set(args)) => {
                self.settings.cgreg = match number_arg(&args, 0, 0)? {
                    n @ 0..=2 => n as u8,
                    _ => return Err(Failure::Cme(50)),
                }
            }
            ("+CGREG", Form::Read) => {
                let stat = if self.registered() { 1 } else { 0 };
                info.push(format!("+CGREG: {},{stat}", self.settings.cgreg));
            }
            ("+CGREG", Form::Test) => info.push("+CGREG: (0-2)".to_owned()),
            ("+CBC", Form::Execute) => info.push(match self.profile.battery {
                Battery::External => "+CBC: 2,0".to_owned(),
                Battery::Cell { percent } => format!("+CBC: 0,{percent}"),
                Battery::WithVoltage {
                    percent,
                    millivolts,
                } => format!("+CBC: 0,{percent},{millivolts}"),
            }),
            ("+CBC", Form::Test) => info.push(match self.profile.battery {
                Battery::External | Battery::Cell { .. } => "+CBC: (0-3),(0-100)".to_owned(),
                Battery::WithVoltage { .. } => "+CBC: (0-2),(1-100),(voltage)".to_owned(),
            }),
            ("+COPS", Form::Read) => {
                if self.registered() {
                    let operator = self.host_string(&self.config.operator);
                    info.push(format!("+COPS: 0,0,\"{operator}\",0"));
                } else {
                    info.push("+COPS: 0".to_owned());
                }
            }
            ("+COPS", Form::Set(_)) => {}
            ("+COPS", Form::Test) => info.push(format!(
                "+COPS: (2,\"{}\",\"{}\",\"{}\",0),,(0-4),(0-2)",
                self.host_string(&self.config.operator),
                self.host_string("sim"),
                self.host_string("00101")
            )),
            ("+CFUN", Form::Read) => info.push(format!("+CFUN: {}", self.settings.cfun)),
            ("+CFUN", Form::Test) => info.push("+CFUN: (0,1,4),(0-1)".to_owned()),
            ("+CFUN", Form::Set(args)) => {
                let fun = number_arg(&args, 0, 1)?;
                let reset = number_arg(&args, 1, 0)?;
                if !matches!(fun, 0 | 1 | 4) || reset > 1 {
                    return Err(Failure::Cme(50));
                }
                if reset == 1 {
                    // A reboot: settings back to power-on, and the SIM asks for its PIN again.
                    self.reset_settings(Reset::Restart);
                    if self.config.pin.is_some() && self.pin == PinState::Ready {
                        self.pin = PinState::PinRequired { attempts_left: 3 };
                    }
                    self.rebooting = true;
                }
                self.settings.cfun = fun as u8;
                self.network_ready = true;
            }
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    pub(super) fn signal_now(&self) -> u8 {
        if self.settings.cfun == 1 {
            self.signal
        } else {
            99
        }
    }

    pub(super) fn registered(&self) -> bool {
        self.settings.cfun == 1 && self.pin == PinState::Ready
    }
}
