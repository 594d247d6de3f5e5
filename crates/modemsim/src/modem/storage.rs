//! Message storage (3GPP TS 27.005 §3.2.2, §3.4.2, §3.4.3, §3.5.3, §3.5.4): storage
//! selection and usage (`+CPMS`, the SIM's `"SM"` only), listing (`+CMGL`), reading
//! (`+CMGR`), writing (`+CMGW`, with its PDU after the `> ` prompt) and deleting
//! (`+CMGD`). Freeing a slot lets the network deliver what it holds.

use super::{number_arg, Failure, ModemState, Outcome, Prompt, PromptPurpose, MAX_TPDU};
use crate::command::Form;
use crate::pdu;
use crate::store::{DeleteScope, MessageStatus, StoredMessage};

impl ModemState {
    /// Runs one of this file's commands; a form the modem does not have is `ERROR`.
    pub(super) fn storage_command(
        &mut self,
        name: &str,
        form: Form,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match (name, form) {
            ("+CPMS", form) => {
                self.sim_ready_cms()?;
                let (used, total) = (self.sim.used(), self.sim.capacity());
                match form {
                    Form::Read => info.push(format!(
                        "+CPMS: \"SM\",{used},{total},\"SM\",{used},{total},\"SM\",{used},{total}"
                    )),
                    Form::Test => info.push("+CPMS: (\"SM\"),(\"SM\"),(\"SM\")".to_owned()),
                    Form::Set(args) => {
                        if args.is_empty() || args.len() > 3 {
                            return Err(Failure::Cms(302));
                        }
                        for arg in &args {
                            if !arg.as_string().eq_ignore_ascii_case("SM") {
                                return Err(Failure::Cms(302));
                            }
                        }
                        let pairs = vec![format!("{used},{total}"); args.len()];
                        info.push(format!("+CPMS: {}", pairs.join(",")));
                    }
                    Form::Execute => return Err(Failure::Error),
                }
            }
            ("+CMGL", Form::Test) => info.push("+CMGL: (0-4)".to_owned()),
            ("+CMGL", form) => {
                self.sim_ready_cms()?;
                let stat = match form {
                    Form::Set(args) => number_arg(&args, 0, 0)?,
                    _ => 0,
                };
                let filter = match stat {
                    4 => None,
                    s => Some(MessageStatus::from_code(s).ok_or(Failure::Cms(302))?),
                };
                for index in self.sim.list(filter) {
                    if let Some(m) = self.sim.read(index) {
                        self.counters.reads += 1;
                        info.push(format!(
                            "+CMGL: {index},{},,{}",
                            m.status.code(),
                            m.tpdu_length
                        ));
                        info.push(hex::encode_upper(&m.pdu));
                    }
                }
            }
            ("+CMGR", Form::Set(args)) => {
                self.sim_ready_cms()?;
                let index = number_arg(&args, 0, 0)? as usize;
                if !self.sim.in_range(index) {
                    return Err(Failure::Cms(321));
                }
                // An empty slot answers OK with nothing, as most modems do.
                if let Some(m) = self.sim.read(index) {
                    self.counters.reads += 1;
                    info.push(format!("+CMGR: {},,{}", m.status.code(), m.tpdu_length));
                    info.push(hex::encode_upper(&m.pdu));
                }
            }
            ("+CMGD", Form::Set(args)) => {
                self.sim_ready_cms()?;
                let index = number_arg(&args, 0, 0)? as usize;
                let scope = match number_arg(&args, 1, 0)? {
                    0 => DeleteScope::Index,
                    1 => DeleteScope::Read,
                    2 => DeleteScope::ReadAndSent,
                    3 => DeleteScope::ReadSentAndUnsent,
                    4 => DeleteScope::All,
                    _ => return Err(Failure::Cms(302)),
                };
                if scope == DeleteScope::Index && !self.sim.in_range(index) {
                    return Err(Failure::Cms(321));
                }
                self.counters.deletes += self.sim.delete(index, scope) as u64;
                self.network_ready = true;
            }
            ("+CMGD", Form::Test) => {
                let used: Vec<String> = self.sim.list(None).iter().map(usize::to_string).collect();
                info.push(format!("+CMGD: ({}),(0-4)", used.join(",")));
            }
            ("+CMGW", Form::Set(args)) => {
                self.sim_ready_cms()?;
                let length = number_arg(&args, 0, 0)? as usize;
                let status =
                    MessageStatus::from_code(number_arg(&args, 1, 2)?).ok_or(Failure::Cms(302))?;
                if length == 0 || length > MAX_TPDU {
                    return Err(Failure::Cms(304));
                }
                return Ok(Outcome::Prompt(PromptPurpose::Write(status), length));
            }
            ("+CMGW", Form::Test) => {}
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    pub(super) fn finish_write(
        &mut self,
        prompt: &Prompt,
        status: MessageStatus,
    ) -> Result<Vec<String>, Failure> {
        if prompt.overflow {
            return Err(Failure::Cms(304));
        }
        let bytes = pdu::check_stored(&prompt.hex, prompt.length).map_err(|_| Failure::Cms(304))?;
        if self.faults.sim_full || self.sim.is_full() {
            return Err(Failure::Cms(322));
        }
        let index = self
            .sim
            .insert(StoredMessage {
                status,
                pdu: bytes,
                tpdu_length: prompt.length,
            })
            .ok_or(Failure::Cms(322))?;
        Ok(vec![format!("+CMGW: {index}")])
    }
}
