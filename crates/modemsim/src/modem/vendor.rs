//! Vendor-specific behaviour that has its own commands: Huawei's periodic unsolicited
//! reports (`^RSSI` and the like), switched with `AT^CURC`, which only a personality with
//! such a report knows.

use super::{number_arg, Failure, Job, ModemState, Outcome, Step};
use crate::command::Form;

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
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
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
