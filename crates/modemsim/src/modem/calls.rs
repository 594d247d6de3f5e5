//! Voice calls, as far as an SMS gateway meets them (3GPP TS 27.007 §6, §7.6): an
//! incoming call rings (`RING`, with `+CLIP` when the host turned caller identification
//! on) until the caller gives up or the host hangs up (`ATH`, `AT+CHUP`). Calls are never
//! answered.

use chrono::{DateTime, Utc};

use super::{number_arg, Call, Failure, Job, ModemState, Outcome, Step};
use crate::command::Form;

impl ModemState {
    /// Runs one of this file's commands; a form the modem does not have is `ERROR`.
    pub(super) fn call_command(
        &mut self,
        name: &str,
        form: Form,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match (name, form) {
            ("+CLIP", Form::Set(args)) => self.settings.clip = number_arg(&args, 0, 0)? == 1,
            ("+CLIP", Form::Read) => {
                info.push(format!("+CLIP: {},1", u8::from(self.settings.clip)))
            }
            ("+CHUP", Form::Execute) => self.hang_up(),
            // 27.007 §6.5: the test form answers OK where the command exists. Gammu 1.42
            // asks it at connect to decide how to hang up (libgammu/phone/at/atgen.c,
            // `ATGEN_ReplyCheckCHUP` via "AT+CHUP=?").
            ("+CHUP", Form::Test) => {}
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    /// A phone calls the modem's number.
    pub fn incoming_call(&mut self, number: &str, rings: u32, now: DateTime<Utc>) -> Vec<Step> {
        self.sequence += 1;
        self.counters.calls += 1;
        self.call = Some(Call {
            id: self.sequence,
            number: number.to_owned(),
        });
        self.run_job(
            Job::Ring {
                call: self.sequence,
                remaining: rings.max(1),
            },
            now,
        )
    }

    /// Whether a call is ringing.
    pub fn ringing(&self) -> bool {
        self.call.is_some()
    }

    /// One ring of an incoming call: `RING`, and `+CLIP` when the host asked for the
    /// caller's number; the next ring is scheduled until the caller gives up.
    pub(super) fn ring(&mut self, call: u64, remaining: u32) -> Vec<Step> {
        let Some(current) = self.call.as_ref().filter(|c| c.id == call) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if !self.faults.hang {
            out.push(self.urc("RING"));
            if self.settings.clip {
                let toa = if current.number.starts_with('+') {
                    145
                } else {
                    129
                };
                out.push(self.urc(&format!("+CLIP: \"{}\",{toa},,,,0", current.number)));
            }
        }
        if remaining > 1 {
            out.push(Step::Schedule {
                after: self.config.ring_interval,
                job: Job::Ring {
                    call,
                    remaining: remaining - 1,
                },
            });
        } else {
            // The caller gives up.
            self.call = None;
        }
        out
    }

    /// `ATH` or `AT+CHUP`: the call ends (rejected, as the simulator never answers).
    pub(super) fn hang_up(&mut self) {
        self.call = None;
    }
}
