//! The SIM (3GPP TS 27.007 §8.3, §5.6): its lock state (`+CPIN`), the subscriber identity
//! (`+CIMI`), and the check message commands make before touching the SIM (`+CMS ERROR:
//! 311`/`316` while it asks for its PIN or PUK). Three wrong PINs block it; the PUK and a
//! new PIN unblock it.

use super::{Failure, ModemState, Outcome, PinState};
use crate::command::{Arg, Form};

impl ModemState {
    /// Runs one of this file's commands; a form the modem does not have is `ERROR`.
    pub(super) fn sim_command(
        &mut self,
        name: &str,
        form: Form,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match (name, form) {
            ("+CIMI", Form::Execute) => match self.pin {
                PinState::Ready => info.push("001010123456789".to_owned()),
                PinState::PinRequired { .. } => return Err(Failure::Cme(11)),
                PinState::PukRequired => return Err(Failure::Cme(12)),
            },
            ("+CPIN", Form::Read) => info.push(
                match self.pin {
                    PinState::Ready => "+CPIN: READY",
                    PinState::PinRequired { .. } => "+CPIN: SIM PIN",
                    PinState::PukRequired => "+CPIN: SIM PUK",
                }
                .to_owned(),
            ),
            ("+CPIN", Form::Set(args)) => self.enter_pin(&args)?,
            ("+CPIN", Form::Test) => {}
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    fn enter_pin(&mut self, args: &[Arg]) -> Result<(), Failure> {
        let first = args.first().map(Arg::as_string).unwrap_or_default();
        match self.pin {
            PinState::Ready => Ok(()),
            PinState::PinRequired { attempts_left } => {
                if self.config.pin.as_deref() == Some(first.as_str()) {
                    self.pin = PinState::Ready;
                    self.network_ready = true;
                    return Ok(());
                }
                let left = attempts_left.saturating_sub(1);
                self.pin = if left == 0 {
                    PinState::PukRequired
                } else {
                    PinState::PinRequired {
                        attempts_left: left,
                    }
                };
                Err(Failure::Cme(16))
            }
            PinState::PukRequired => {
                let new_pin = args.get(1).map(Arg::as_string);
                match new_pin {
                    Some(pin) if first == self.config.puk && !pin.is_empty() => {
                        self.config.pin = Some(pin);
                        self.pin = PinState::Ready;
                        self.network_ready = true;
                        Ok(())
                    }
                    _ => Err(Failure::Cme(16)),
                }
            }
        }
    }

    pub(super) fn sim_ready_cms(&self) -> Result<(), Failure> {
        match self.pin {
            PinState::Ready => Ok(()),
            PinState::PinRequired { .. } => Err(Failure::Cms(311)),
            PinState::PukRequired => Err(Failure::Cms(316)),
        }
    }
}
