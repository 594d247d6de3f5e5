//! Receiving from the network (3GPP TS 27.005 §3.4.1, §3.4.4): new message indications
//! (`+CNMI`) decide whether what the network holds is routed to the host (`+CMT`, `+CDS`)
//! or stored on the SIM and announced (`+CMTI`, `+CDSI`) or stored silently; with
//! `AT+CSMS=1` a routed message waits for `AT+CNMA`, and one not acknowledged in time
//! turns direct routing off and goes back to the network. A full SIM leaves messages with
//! the network and says so once (the personality's memory-full code).

use chrono::{DateTime, Utc};

use super::{
    number_arg, AwaitingAck, Cnmi, Failure, Incoming, IncomingKind, Job, ModemState, Outcome, Step,
};
use crate::command::Form;
use crate::pdu;
use crate::store::{MessageStatus, StoredMessage};

impl ModemState {
    /// Runs one of this file's commands; a form the modem does not have is `ERROR`.
    pub(super) fn receiving_command(
        &mut self,
        name: &str,
        form: Form,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match (name, form) {
            ("+CNMI", Form::Set(args)) => {
                let current = self.settings.cnmi;
                let cnmi = Cnmi {
                    mode: number_arg(&args, 0, current.mode)?,
                    mt: number_arg(&args, 1, current.mt)?,
                    bm: number_arg(&args, 2, current.bm)?,
                    ds: number_arg(&args, 3, current.ds)?,
                    bfr: number_arg(&args, 4, current.bfr)?,
                };
                if cnmi.mode > 3 || cnmi.mt > 3 || cnmi.bm > 3 || cnmi.ds > 2 || cnmi.bfr > 1 {
                    return Err(Failure::Cms(303));
                }
                if cnmi.ds != 0 && !self.profile.status_report_routing {
                    return Err(Failure::Cms(303));
                }
                self.settings.cnmi = cnmi;
                self.network_ready = true;
            }
            ("+CNMI", Form::Read) => {
                let c = self.settings.cnmi;
                info.push(format!(
                    "+CNMI: {},{},{},{},{}",
                    c.mode, c.mt, c.bm, c.ds, c.bfr
                ));
            }
            ("+CNMI", Form::Test) => info.push("+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)".to_owned()),
            ("+CNMA", form) => {
                let negative = match form {
                    Form::Execute => false,
                    Form::Set(args) => match number_arg(&args, 0, 0)? {
                        0 | 1 => false,
                        2 => true,
                        _ => return Err(Failure::Cms(302)),
                    },
                    Form::Test => {
                        info.push("+CNMA: (0-2)".to_owned());
                        return Ok(Outcome::Done);
                    }
                    Form::Read => return Err(Failure::Error),
                };
                let Some(awaiting) = self.awaiting_ack.take() else {
                    return Err(Failure::Cms(340));
                };
                if negative {
                    // RP-ERROR: the network keeps the message and tries again later.
                    self.network.push_front(awaiting.message);
                } else {
                    self.counters.acknowledgements += 1;
                    self.network_ready = true;
                }
            }
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    /// Hands what the network holds to the modem, as far as the modem can take it: direct
    /// to the host (`+CMT`/`+CDS`, one at a time when they must be acknowledged) or into
    /// the SIM (`+CMTI`/`+CDSI`, or silently), stopping when the SIM is full.
    pub(super) fn deliver_pending(&mut self, _now: DateTime<Utc>) -> Vec<Step> {
        let mut out = Vec::new();
        while self.awaiting_ack.is_none() && self.registered() {
            let Some(front) = self.network.front() else {
                break;
            };
            let cnmi = self.settings.cnmi;
            let routed = cnmi.mode != 0;
            let direct = match front.kind {
                IncomingKind::Deliver | IncomingKind::MmsNotification => routed && cnmi.mt == 2,
                IncomingKind::StatusReport => routed && cnmi.ds == 1,
            };
            if direct {
                // A hung modem has no link to the host; the network waits.
                if self.faults.hang {
                    break;
                }
                let Some(message) = self.network.pop_front() else {
                    break;
                };
                let hex = hex::encode_upper(&message.pdu);
                let text = match message.kind {
                    IncomingKind::StatusReport => {
                        format!("+CDS: {}\r\n{hex}", message.tpdu_length)
                    }
                    _ => format!("+CMT: ,{}\r\n{hex}", message.tpdu_length),
                };
                out.push(self.urc(&text));
                self.counters.direct_deliveries += 1;
                if self.settings.csms == 1 {
                    self.sequence += 1;
                    let sequence = self.sequence;
                    self.awaiting_ack = Some(AwaitingAck { sequence, message });
                    out.push(Step::Schedule {
                        after: self.config.ack_timeout,
                        job: Job::AckTimeout { sequence },
                    });
                }
                continue;
            }
            if front.kind == IncomingKind::StatusReport && cnmi.ds == 0 {
                // Not routed to the host and not stored: the report is dropped.
                self.network.pop_front();
                continue;
            }
            if self.faults.sim_full || self.sim.is_full() {
                if !self.memory_full_reported {
                    self.memory_full_reported = true;
                    if let (Some(urc), false) = (self.profile.memory_full_urc, self.faults.hang) {
                        out.push(self.urc(urc));
                    }
                }
                break;
            }
            let Some(message) = self.network.pop_front() else {
                break;
            };
            let kind = message.kind;
            let Some(index) = self.sim.insert(StoredMessage {
                status: MessageStatus::ReceivedUnread,
                pdu: message.pdu,
                tpdu_length: message.tpdu_length,
            }) else {
                break;
            };
            self.counters.stored += 1;
            if !routed || self.faults.hang {
                continue;
            }
            match kind {
                IncomingKind::Deliver if matches!(cnmi.mt, 1 | 3) => {
                    out.push(self.urc(&format!("+CMTI: \"SM\",{index}")));
                }
                IncomingKind::MmsNotification if matches!(cnmi.mt, 1 | 3) => {
                    let text = match self.profile.mms_cmti_fields {
                        Some(extra) => format!("+CMTI: \"SM\",{index},{extra}"),
                        None => format!("+CMTI: \"SM\",{index}"),
                    };
                    out.push(self.urc(&text));
                }
                IncomingKind::StatusReport if cnmi.ds == 2 => {
                    out.push(self.urc(&format!("+CDSI: \"SM\",{index}")));
                }
                _ => {}
            }
        }
        if !(self.faults.sim_full || self.sim.is_full()) {
            self.memory_full_reported = false;
        }
        out
    }

    /// The network has messages for the modem (PDUs with their SMSC field).
    pub fn receive(
        &mut self,
        kind: IncomingKind,
        pdus: Vec<Vec<u8>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Step>, pdu::PduRejection> {
        let mut checked = Vec::with_capacity(pdus.len());
        for p in pdus {
            let tpdu_length = pdu::tpdu_length(&p)?;
            checked.push(Incoming {
                kind,
                pdu: p,
                tpdu_length,
            });
        }
        self.network.extend(checked);
        Ok(self.deliver_pending(now))
    }

    /// The host did not acknowledge a `+CMT`/`+CDS` in time.
    pub(super) fn ack_timeout(&mut self, sequence: u64) -> Vec<Step> {
        let Some(awaiting) = self.awaiting_ack.take_if(|a| a.sequence == sequence) else {
            return Vec::new();
        };
        // 27.005 §3.4.1: without the acknowledgement the modem turns direct routing
        // off (<mt> and <ds> to 0) and the network keeps the message for later.
        self.counters.ack_timeouts += 1;
        self.settings.cnmi.mt = 0;
        self.settings.cnmi.ds = 0;
        self.network.push_front(awaiting.message);
        vec![Step::Schedule {
            after: self.config.network_retry_delay,
            job: Job::NetworkRetry,
        }]
    }
}
