//! Vendor-specific behaviour that has its own commands: Huawei's periodic unsolicited
//! reports (`^RSSI` and the like), switched with `AT^CURC`, which only a personality with
//! such a report knows; and Huawei's `AT^PORTSEL`, which picks the port that gets
//! unsolicited reports.
//!
//! A Huawei stick has several AT ports (the PCUI control port and the modem port, among
//! others); the simulator serves one port that is both, so `^PORTSEL` is remembered and
//! answered but moves no report. What matters to hosts is that the command exists: Gammu
//! 1.42 sends `AT^CURC=0`, `AT+CFUN=1` and `AT^PORTSEL=1` when it connects to a Huawei
//! (libgammu/phone/at/atgen.c, `ATGEN_PostConnect`, for models with `F_HUAWEI_INIT`) and
//! fails every operation when one of them answers `ERROR`; ModemManager's Huawei plugin
//! sends `^PORTSEL=0` then `^CURC=1` to enable reports
//! (src/plugins/huawei/mm-broadband-modem-huawei.c, `unsolicited_enable_sequence`).
//!
//! Quectel's `AT+QURCCFG="urcport"` does for its modules what `^PORTSEL` does for
//! Huawei's: it names the one port ("usbat", "usbmodem" or "uart1") that gets unsolicited
//! reports, kept across restarts (EC25/EC21 AT Commands Manual, `AT+QURCCFG`). Here it is
//! not only remembered: a host on any other port hears no `+CMTI` or `RING`, as happens
//! with the real modules (zabsalahid/serialport-gsm issue #12: an EC25 host on the modem
//! port saw no `+CMTI` until the setting was changed).
//!
//! SIMCom's USB modules (SIM7600, A76xx) choose with `AT+CATR=<port>`: 0 all ports, 1 the
//! UART, 2 the modem port, 3 the AT port, 4-7 the CMUX channels. Unlike Quectel's, the
//! choice is not saved: every power-up starts at 0 (SIMCom A76XX Series AT Command Manual
//! V1.09, §10.2.9 `AT+CATR`, "Parameter Saving Mode: NO_SAVE", example `+CATR: 0`). Here
//! a restart (`AT+CFUN=1,1`) puts it back to 0; `ATZ` leaves it (see `Reset`). While it
//! names another port than the host's, the host hears no `+CMTI` or `RING`.

use super::{number_arg, Failure, Job, ModemState, Outcome, Step};
use crate::command::{Arg, Form};
use crate::config::UsbPort;
use crate::personality::UrcRouting;

/// `AT+CATR`'s ports: 0 all, 1-3 the UART, modem and AT ports, 4-7 CMUX channels.
const CATR_PORTS: std::ops::RangeInclusive<u32> = 0..=7;

impl ModemState {
    /// Runs one of this file's commands; a form the modem does not have is `ERROR`.
    pub(super) fn vendor_command(
        &mut self,
        name: &str,
        form: Form,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match (name, form) {
            ("^CURC", Form::Set(args)) if self.profile.periodic_report.is_some() => {
                self.settings.curc = match number_arg(&args, 0, 0)? {
                    n @ 0..=1 => n as u8,
                    _ => return Err(Failure::Error),
                }
            }
            ("^CURC", Form::Read) if self.profile.periodic_report.is_some() => {
                info.push(format!("^CURC: {}", self.settings.curc));
            }
            ("^PORTSEL", Form::Set(args)) if self.profile.port_select => {
                self.settings.portsel = match number_arg(&args, 0, 0)? {
                    n @ 0..=1 => n as u8,
                    _ => return Err(Failure::Error),
                }
            }
            ("^PORTSEL", Form::Read) if self.profile.port_select => {
                info.push(format!("^PORTSEL: {}", self.settings.portsel));
            }
            ("^PORTSEL", Form::Test) if self.profile.port_select => {
                info.push("^PORTSEL: (0,1)".to_owned());
            }
            ("+QURCCFG", Form::Test) if self.profile.urc_routing == UrcRouting::QuectelUrcPort => {
                let names: Vec<String> = UsbPort::ALL
                    .iter()
                    .map(|p| format!("\"{}\"", p.name()))
                    .collect();
                info.push(format!("+QURCCFG: \"urcport\",({})", names.join(",")));
            }
            ("+QURCCFG", Form::Set(args))
                if self.profile.urc_routing == UrcRouting::QuectelUrcPort =>
            {
                let setting = args.first().map(|a| a.as_string()).unwrap_or_default();
                if !setting.eq_ignore_ascii_case("urcport") {
                    return Err(Failure::Error);
                }
                match args.get(1).map(|a| a.as_string()) {
                    // Without a value: the current one.
                    None => info.push(format!(
                        "+QURCCFG: \"urcport\",\"{}\"",
                        self.settings.urcport.name()
                    )),
                    Some(value) => {
                        self.settings.urcport = UsbPort::ALL
                            .into_iter()
                            .find(|p| p.name().eq_ignore_ascii_case(&value))
                            .ok_or(Failure::Error)?;
                    }
                }
            }
            ("+CATR", Form::Set(args)) if self.profile.urc_routing == UrcRouting::SimcomCatr => {
                self.settings.catr = match args.first().and_then(Arg::number) {
                    Some(port) if CATR_PORTS.contains(&port) => port as u8,
                    _ => return Err(Failure::Cme(50)),
                };
            }
            ("+CATR", Form::Read) if self.profile.urc_routing == UrcRouting::SimcomCatr => {
                info.push(format!("+CATR: {}", self.settings.catr));
            }
            ("+CATR", Form::Test) if self.profile.urc_routing == UrcRouting::SimcomCatr => {
                info.push(format!(
                    "+CATR: ({}-{})",
                    CATR_PORTS.start(),
                    CATR_PORTS.end()
                ));
            }
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    /// Whether unsolicited reports reach the port the host is on.
    pub(super) fn reports_reach_host(&self) -> bool {
        match self.profile.urc_routing {
            UrcRouting::AllPorts => true,
            UrcRouting::QuectelUrcPort => self.settings.urcport == self.config.port,
            UrcRouting::SimcomCatr => {
                self.settings.catr == 0 || self.settings.catr == self.config.port.catr_number()
            }
        }
    }

    /// What the modem does on its own from power-on (the first periodic report).
    pub fn power_on_jobs(&self) -> Vec<Step> {
        match (
            self.profile.periodic_report,
            self.config.periodic_report_interval,
        ) {
            (Some(_), Some(interval)) => vec![Step::Schedule {
                after: interval,
                job: Job::PeriodicReport,
            }],
            _ => Vec::new(),
        }
    }

    /// The personality's periodic report (Huawei's `^RSSI`), rescheduling itself.
    pub(super) fn periodic_report(&mut self) -> Vec<Step> {
        let (Some(report), Some(interval)) = (
            self.profile.periodic_report,
            self.config.periodic_report_interval,
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if self.settings.curc == 1 && !self.faults.hang {
            out.push(self.urc(&report.replace("{signal}", &self.signal_now().to_string())));
        }
        out.push(Step::Schedule {
            after: interval,
            job: Job::PeriodicReport,
        });
        out
    }
}
