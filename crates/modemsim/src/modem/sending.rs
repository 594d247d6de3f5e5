//! Sending (3GPP TS 27.005 §3.5.1, §3.5.6): `+CMGS` takes a PDU of the announced TPDU
//! length after the `> ` prompt, checks it as a real modem would (`+CMS ERROR: 304` for a
//! wrong length or an undecodable PDU, 330 without a service centre, 331 with the radio
//! off), puts it on the air for the configured latency and answers `+CMGS: <mr>`, or an
//! injected or rate-limit error. `+CMMS` keeps the link open across parts, where the
//! personality has the command. A part that asked for one gets a status report later.

use chrono::{DateTime, Utc};
use rand::Rng;
use textgate_gsm::pdu::Content;

use super::input::merge_replies;
use super::{
    number_arg, Failure, Incoming, IncomingKind, Job, Line, ModemState, Outcome, Prompt,
    PromptPurpose, SentPart, Step, MAX_TPDU,
};
use crate::command::Form;
use crate::pdu::{self, CheckedSubmit};

impl ModemState {
    /// Runs one of this file's commands; a form the modem does not have is `ERROR`.
    pub(super) fn sending_command(
        &mut self,
        name: &str,
        form: Form,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match (name, form) {
            ("+CMMS", _) if !self.profile.more_messages_command => return Err(Failure::Error),
            ("+CMMS", Form::Set(args)) => {
                self.settings.cmms = match number_arg(&args, 0, 0)? {
                    n @ 0..=2 => n as u8,
                    _ => return Err(Failure::Cms(302)),
                }
            }
            ("+CMMS", Form::Read) => info.push(format!("+CMMS: {}", self.settings.cmms)),
            ("+CMMS", Form::Test) => info.push("+CMMS: (0-2)".to_owned()),
            ("+CMGS", Form::Set(args)) => {
                self.sim_ready_cms()?;
                let length = number_arg(&args, 0, 0)? as usize;
                if length == 0 || length > MAX_TPDU {
                    return Err(Failure::Cms(304));
                }
                return Ok(Outcome::Prompt(PromptPurpose::Send, length));
            }
            ("+CMGS", Form::Test) => {}
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    /// Checks a typed SUBMIT. `Err` is answered at once (the modem itself refuses);
    /// `Ok` goes on the air, and holds what the network will answer.
    pub(super) fn check_send(
        &mut self,
        prompt: &Prompt,
        now: DateTime<Utc>,
    ) -> Result<Result<CheckedSubmit, u16>, Failure> {
        let checked = if prompt.overflow {
            None
        } else {
            pdu::check_submit(&prompt.hex, prompt.length)
                .inspect_err(|e| tracing::debug!(error = %e, "submitted PDU refused"))
                .ok()
        };
        let Some(checked) = checked else {
            self.counters.invalid_pdus += 1;
            return Err(Failure::Cms(304));
        };
        if self.settings.cfun != 1 {
            return Err(Failure::Cms(331));
        }
        if !checked.smsc_given && self.effective_smsc().is_empty() {
            return Err(Failure::Cms(330));
        }
        if let Some(code) = self.injected_send_error() {
            return Ok(Err(code));
        }
        if let Some(limit) = self.profile.sends_per_minute {
            while self
                .recent_sends
                .front()
                .is_some_and(|t| now.signed_duration_since(*t) >= chrono::TimeDelta::seconds(60))
            {
                self.recent_sends.pop_front();
            }
            if self.recent_sends.len() >= limit {
                return Ok(Err(500));
            }
            self.recent_sends.push_back(now);
        }
        Ok(Ok(checked))
    }

    /// The radio round trip of the send on the air is over: the network's answer, then
    /// whatever the host wrote meanwhile.
    pub fn radio_done(&mut self, line: &mut Line, now: DateTime<Utc>) -> Vec<Step> {
        let Some(outcome) = self.on_air.take() else {
            return Vec::new();
        };
        let mut steps = Vec::new();
        match outcome {
            Ok(checked) => {
                let reference = self.record_send(checked, now, &mut steps);
                let answer = self.final_ok(&[format!("+CMGS: {reference}")]);
                // The answer goes before the status report is even scheduled.
                steps.insert(0, Step::Reply(answer));
            }
            Err(code) => {
                self.counters.send_failures += 1;
                self.counters.errors += 1;
                steps.push(Step::Reply(self.final_error(&[], Failure::Cms(code))));
            }
        }
        self.after_command(now, &mut steps);
        let held = std::mem::take(&mut line.held);
        if !held.is_empty() {
            steps.extend(self.input(line, &held, now));
        }
        merge_replies(steps)
    }

    /// Whether a send is on the air (between the PDU and the network's answer).
    pub fn sending(&self) -> bool {
        self.on_air.is_some()
    }

    /// The link dropped while a send was on the air: it never went out.
    pub fn radio_aborted(&mut self) {
        if self.on_air.take().is_some() {
            self.counters.aborted_sends += 1;
        }
    }

    fn record_send(
        &mut self,
        checked: CheckedSubmit,
        now: DateTime<Utc>,
        steps: &mut Vec<Step>,
    ) -> u8 {
        let reference = self.next_reference;
        self.next_reference = self.next_reference.wrapping_add(1);
        self.counters.sends += 1;
        let submit = &checked.submit;
        let recipient = submit.recipient.number.clone();
        if submit.status_report_request {
            steps.push(Step::Schedule {
                after: self.config.status_report_delay,
                job: Job::StatusReport {
                    reference,
                    recipient: recipient.clone(),
                    submitted: now,
                },
            });
        }
        self.sent.push(SentPart {
            reference,
            recipient,
            text: match &submit.user_data.content {
                Content::Text(t) => Some(t.clone()),
                Content::Data(_) => None,
            },
            concatenation: submit
                .user_data
                .header
                .as_ref()
                .and_then(|h| h.concatenation()),
            status_report_requested: submit.status_report_request,
            link_kept_open: self.settings.cmms != 0,
            pdu: hex::encode_upper(&checked.bytes),
            sent_at: now,
        });
        reference
    }

    fn injected_send_error(&mut self) -> Option<u16> {
        let fault = self.faults.send_error.as_mut()?;
        let code = fault.code;
        if let Some(next) = fault.next.as_mut() {
            if *next > 0 {
                *next -= 1;
                if *next == 0 && fault.probability.is_none() {
                    self.faults.send_error = None;
                }
                return Some(code);
            }
        }
        // NaN or infinite probabilities (possible from Rust callers) count as never.
        let p = fault.probability.filter(|p| p.is_finite())?;
        self.rng.gen_bool(p.clamp(0.0, 1.0)).then_some(code)
    }

    /// The network's status report on a sent message that asked for one.
    pub(super) fn status_report(
        &mut self,
        reference: u8,
        recipient: String,
        submitted: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<Step> {
        let smsc = self.config.smsc.clone();
        let built = pdu::address(&recipient).and_then(|address| {
            pdu::status_report(
                &smsc,
                reference,
                &address,
                submitted.fixed_offset(),
                now.fixed_offset(),
                self.faults.status_report.tp_status(),
            )
        });
        match built {
            Ok(report) => {
                self.counters.status_reports += 1;
                let tpdu_length = pdu::tpdu_length(&report).unwrap_or(0);
                self.network.push_back(Incoming {
                    kind: IncomingKind::StatusReport,
                    pdu: report,
                    tpdu_length,
                });
                self.deliver_pending(now)
            }
            Err(e) => {
                tracing::warn!(error = %e, recipient, "cannot build status report");
                Vec::new()
            }
        }
    }
}
