//! What the host types: the command line byte by byte (echo, backspace, CR ends it), then
//! its commands one after the other, answered with one final result; after `+CMGS` or
//! `+CMGW` the `> ` prompt takes a hex PDU until Ctrl-Z (ESC cancels). Bytes that arrive
//! while a send is on the air are held until the network has answered, since the modem
//! reads nothing during the radio round trip.

use chrono::{DateTime, Utc};

use super::results::info_lines;
use super::{Failure, Line, ModemState, Outcome, Prompt, PromptPurpose, Step, MAX_TPDU};
use crate::command;

/// A command line longer than this is cut (real modems have small input buffers).
const MAX_LINE: usize = 1024;

impl ModemState {
    /// Bytes the host wrote.
    pub fn input(&mut self, line: &mut Line, bytes: &[u8], now: DateTime<Utc>) -> Vec<Step> {
        let mut steps = Vec::new();
        if self.faults.hang {
            self.counters.swallowed_bytes += bytes.len() as u64;
            return steps;
        }
        if self.on_air.is_some() {
            line.held.extend_from_slice(bytes);
            return steps;
        }
        if !line.held.is_empty() {
            // Bytes this connection wrote while another one's send was on the air.
            let mut all = std::mem::take(&mut line.held);
            all.extend_from_slice(bytes);
            return self.input(line, &all, now);
        }
        for (i, &b) in bytes.iter().enumerate() {
            if self.on_air.is_some() {
                line.held.extend_from_slice(bytes.get(i..).unwrap_or(&[]));
                break;
            }
            if line.prompt.is_some() {
                self.prompt_byte(line, b, now, &mut steps);
                continue;
            }
            if self.settings.echo {
                steps.push(Step::Reply(vec![b]));
            }
            match b {
                b'\r' => {
                    let text = std::mem::take(&mut line.buffer);
                    if self.faults.double_echo {
                        let mut again = text.clone();
                        again.push(b'\r');
                        steps.push(Step::Reply(again));
                    }
                    self.command_line(line, &text, now, &mut steps);
                }
                // Hosts often end lines with CR LF; only CR (S3) ends a command.
                b'\n' => {}
                // Backspace (S5) edits the line, as on a terminal.
                0x08 => {
                    line.buffer.pop();
                }
                _ if line.buffer.len() < MAX_LINE => line.buffer.push(b),
                _ => {}
            }
        }
        merge_replies(steps)
    }

    fn prompt_byte(&mut self, line: &mut Line, b: u8, now: DateTime<Utc>, steps: &mut Vec<Step>) {
        let Some(prompt) = line.prompt.as_mut() else {
            return;
        };
        match b {
            // ESC cancels the message; the modem answers OK and sends nothing.
            0x1B => {
                line.prompt = None;
                steps.push(Step::Reply(b"\r\nOK\r\n".to_vec()));
            }
            // Ctrl-Z ends the PDU.
            0x1A => {
                let prompt = line.prompt.take();
                if let Some(prompt) = prompt {
                    self.finish_pdu(prompt, now, steps);
                }
            }
            b'\r' | b'\n' | b' ' => {}
            _ => {
                if self.settings.echo {
                    steps.push(Step::Reply(vec![b]));
                }
                if prompt.hex.len() < 4 * MAX_TPDU {
                    prompt.hex.push(char::from(b));
                } else {
                    prompt.overflow = true;
                }
            }
        }
    }

    fn finish_pdu(&mut self, prompt: Prompt, now: DateTime<Utc>, steps: &mut Vec<Step>) {
        let result = match prompt.purpose {
            PromptPurpose::Send => match self.check_send(&prompt, now) {
                Ok(outcome) => {
                    // The answer comes from the network, after the radio round trip.
                    self.on_air = Some(outcome);
                    steps.push(Step::Radio(self.config.send_latency));
                    return;
                }
                Err(failure) => {
                    self.counters.send_failures += 1;
                    Err(failure)
                }
            },
            PromptPurpose::Write(status) => self.finish_write(&prompt, status),
        };
        match result {
            Ok(lines) => {
                steps.push(Step::Reply(self.final_ok(&lines)));
            }
            Err(failure) => {
                self.counters.errors += 1;
                steps.push(Step::Reply(self.final_error(&[], failure)));
            }
        }
        self.after_command(now, steps);
    }

    fn command_line(
        &mut self,
        line: &mut Line,
        text: &[u8],
        now: DateTime<Utc>,
        steps: &mut Vec<Step>,
    ) {
        let text = String::from_utf8_lossy(text);
        let Some(parsed) = command::parse_line(&text) else {
            // No "AT": real modems ignore the line.
            return;
        };
        self.counters.commands += 1;
        let commands = match parsed {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(line = %text, error = %e, "command line refused");
                self.counters.errors += 1;
                steps.push(Step::Reply(self.final_error(&[], Failure::Error)));
                return;
            }
        };
        let mut info = Vec::new();
        for cmd in commands {
            match self.execute(cmd, &mut info) {
                Ok(Outcome::Done) => {}
                Ok(Outcome::Prompt(purpose, length)) => {
                    if !info.is_empty() {
                        steps.push(Step::Reply(info_lines(&info)));
                    }
                    line.prompt = Some(Prompt {
                        purpose,
                        length,
                        hex: String::new(),
                        overflow: false,
                    });
                    steps.push(Step::Reply(b"\r\n> ".to_vec()));
                    return;
                }
                Err(failure) => {
                    self.counters.errors += 1;
                    steps.push(Step::Reply(self.final_error(&info, failure)));
                    self.after_command(now, steps);
                    return;
                }
            }
        }
        steps.push(Step::Reply(self.final_ok(&info)));
        self.after_command(now, steps);
    }

    pub(super) fn after_command(&mut self, now: DateTime<Utc>, steps: &mut Vec<Step>) {
        if std::mem::take(&mut self.rebooting) {
            if let Some(outage) = self.config.reboot_outage {
                steps.push(Step::LinkDown(outage));
            }
        }
        if std::mem::take(&mut self.network_ready) {
            steps.extend(self.deliver_pending(now));
        }
    }
}

/// Joins consecutive replies (echo arrives byte by byte) so a transcript reads as lines.
pub(super) fn merge_replies(steps: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    for step in steps {
        match (out.last_mut(), step) {
            (Some(Step::Reply(previous)), Step::Reply(bytes)) => previous.extend_from_slice(&bytes),
            (_, step) => out.push(step),
        }
    }
    out
}
