//! The simulated modem itself, without I/O: [`ModemState`] takes the bytes a host writes
//! (through a per-connection [`Line`]) and returns [`Step`]s: bytes for that host, bytes
//! for every attached host (unsolicited result codes), pauses (the radio is busy) and
//! [`Job`]s to run later (status reports, ringing, network retries). The runtime in
//! [`crate::sim`] carries the steps out; unit tests read them directly.
//!
//! The behaviour follows 3GPP TS 27.005 (SMS, PDU mode) and TS 27.007 (general commands)
//! as real modems implement them, including the parts hosts get wrong: the exact TPDU
//! length of `AT+CMGS`, `+CNMA` after `+CMT` when `AT+CSMS=1`, a SIM that fills up.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use textgate_gsm::pdu::Content;

use crate::command::{self, Arg, Command, Form};
use crate::config::SimConfig;
use crate::faults::{FaultPatch, Faults};
use crate::pdu::{self, CheckedSubmit};
use crate::personality::Profile;
use crate::store::{DeleteScope, MessageStatus, SimStore, StoredMessage};

/// A command line longer than this is cut (real modems have small input buffers).
const MAX_LINE: usize = 1024;
/// The largest TPDU (SMS-SUBMIT with a full 140-octet user data and every field).
const MAX_TPDU: usize = 164;

/// What the runtime must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Bytes for the connection whose input produced this step.
    Reply(Vec<u8>),
    /// Bytes for every attached connection (an unsolicited result code).
    Unsolicited(Vec<u8>),
    /// A send is on the air for this long (the radio round trip); nothing more is written
    /// or read on this connection meanwhile. Afterwards call [`ModemState::radio_done`] and
    /// carry out its steps; if the link drops first, call [`ModemState::radio_aborted`]
    /// (the modem lost power or its USB link, and the message did not go out).
    Radio(Duration),
    /// The modem's USB link drops for this long (it reboots and re-enumerates).
    LinkDown(Duration),
    /// Run `job` with [`ModemState::run_job`] after `after`.
    Schedule { after: Duration, job: Job },
}

/// Work the modem or the simulated network does later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// The network reports on a sent message that asked for a status report.
    StatusReport {
        reference: u8,
        recipient: String,
        submitted: DateTime<Utc>,
    },
    /// The host did not acknowledge a `+CMT`/`+CDS` in time.
    AckTimeout { sequence: u64 },
    /// The network tries again to deliver what is waiting.
    NetworkRetry,
    /// The next ring of an incoming call.
    Ring { call: u64, remaining: u32 },
    /// The personality's periodic report (Huawei's `^RSSI`), rescheduling itself.
    PeriodicReport,
}

/// The per-connection input state: the command line being typed, or the PDU after `> `.
#[derive(Clone, Debug, Default)]
pub struct Line {
    buffer: Vec<u8>,
    prompt: Option<Prompt>,
    /// Bytes that arrived while a send was on the air, processed when it ends (the
    /// modem reads nothing during the radio round trip).
    held: Vec<u8>,
}

impl Line {
    /// Whether the modem is waiting for a PDU (after the `> ` prompt). Unsolicited codes
    /// are held back meanwhile, as modems do.
    pub fn awaiting_pdu(&self) -> bool {
        self.prompt.is_some()
    }
}

#[derive(Clone, Debug)]
struct Prompt {
    purpose: PromptPurpose,
    length: usize,
    hex: String,
    overflow: bool,
}

#[derive(Clone, Copy, Debug)]
enum PromptPurpose {
    Send,
    Write(MessageStatus),
}

/// `AT+CNMI` values (27.005 §3.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cnmi {
    pub mode: u32,
    pub mt: u32,
    pub bm: u32,
    pub ds: u32,
    pub bfr: u32,
}

/// Settings a host changes with commands; `ATZ`/`AT&F` and a reboot restore them.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    pub echo: bool,
    pub cmee: u8,
    pub cnmi: Cnmi,
    pub csms: u8,
    pub cmms: u8,
    pub clip: bool,
    pub creg: u8,
    pub cfun: u8,
    /// Huawei's `AT^CURC`: periodic unsolicited reports on (1) or off (0).
    pub curc: u8,
}

impl Settings {
    fn power_on(profile: &Profile) -> Settings {
        Settings {
            echo: true,
            cmee: profile.default_cmee,
            cnmi: Cnmi {
                mode: 0,
                mt: 0,
                bm: 0,
                ds: 0,
                bfr: 0,
            },
            csms: 0,
            cmms: 0,
            clip: false,
            creg: 0,
            cfun: 1,
            curc: 1,
        }
    }
}

/// The SIM's lock state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PinState {
    Ready,
    PinRequired { attempts_left: u8 },
    PukRequired,
}

/// What the network has for the modem.
#[derive(Clone, Debug)]
struct Incoming {
    kind: IncomingKind,
    pdu: Vec<u8>,
    tpdu_length: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncomingKind {
    Deliver,
    /// An MMS notification (a WAP push SMS-DELIVER); SIMCom flags it on `+CMTI`.
    MmsNotification,
    StatusReport,
}

#[derive(Clone, Debug)]
struct AwaitingAck {
    sequence: u64,
    message: Incoming,
}

#[derive(Clone, Debug)]
struct Call {
    id: u64,
    number: String,
}

/// Counts of what happened, for tests, the control API and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Command lines executed.
    pub commands: u64,
    /// Command lines that ended in an error result.
    pub errors: u64,
    /// Messages accepted by `AT+CMGS` (`+CMGS: <mr>`).
    pub sends: u64,
    /// `AT+CMGS` that failed after the PDU was typed (invalid PDU or injected error).
    pub send_failures: u64,
    /// PDUs refused with `+CMS ERROR: 304`.
    pub invalid_pdus: u64,
    /// Incoming parts handed to the host directly with `+CMT`.
    pub direct_deliveries: u64,
    /// Incoming parts stored on the SIM.
    pub stored: u64,
    /// `AT+CNMA` acknowledgements.
    pub acknowledgements: u64,
    /// `+CMT`/`+CDS` the host did not acknowledge in time.
    pub ack_timeouts: u64,
    /// Status reports the network produced.
    pub status_reports: u64,
    /// Messages read with `AT+CMGR` or listed with `AT+CMGL`.
    pub reads: u64,
    /// Messages deleted with `AT+CMGD`.
    pub deletes: u64,
    /// Incoming calls.
    pub calls: u64,
    /// Bytes the modem swallowed while hung.
    pub swallowed_bytes: u64,
    /// Sends whose link dropped during the radio round trip (they did not go out).
    pub aborted_sends: u64,
}

/// One part the host sent, decoded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SentPart {
    /// The message reference the modem answered with (`+CMGS: <mr>`).
    pub reference: u8,
    pub recipient: String,
    /// The text, when the part is text (7-bit or UCS-2).
    pub text: Option<String>,
    /// The concatenation header, when the part is one of several.
    pub concatenation: Option<textgate_gsm::udh::Concatenation>,
    pub status_report_requested: bool,
    /// `AT+CMMS` was on when it was sent (the host asked to keep the link open).
    pub link_kept_open: bool,
    /// The PDU as the host typed it.
    pub pdu: String,
    pub sent_at: DateTime<Utc>,
}

enum Failure {
    Error,
    Cme(u16),
    Cms(u16),
}

enum Outcome {
    Done,
    Prompt(PromptPurpose, usize),
}

/// The whole simulated modem and its SIM and network.
pub struct ModemState {
    config: SimConfig,
    profile: Profile,
    settings: Settings,
    sim: SimStore,
    pin: PinState,
    network: VecDeque<Incoming>,
    awaiting_ack: Option<AwaitingAck>,
    sent: Vec<SentPart>,
    next_reference: u8,
    counters: Counters,
    faults: Faults,
    rng: StdRng,
    call: Option<Call>,
    memory_full_reported: bool,
    sequence: u64,
    recent_sends: VecDeque<DateTime<Utc>>,
    smsc: String,
    signal: u8,
    /// Set by commands that may let the network deliver (space freed, ack received).
    network_ready: bool,
    /// The send whose radio round trip is under way, with the network's answer.
    on_air: Option<Result<CheckedSubmit, u16>>,
    /// Set by `AT+CFUN=1,1`: the USB link drops after the answer.
    rebooting: bool,
}

impl ModemState {
    pub fn new(config: SimConfig) -> ModemState {
        let profile = config.personality.profile();
        let pin = match config.pin {
            Some(_) => PinState::PinRequired { attempts_left: 3 },
            None => PinState::Ready,
        };
        ModemState {
            settings: Settings::power_on(&profile),
            sim: SimStore::new(config.capacity),
            rng: StdRng::seed_from_u64(config.seed),
            smsc: config.smsc.clone(),
            signal: config.signal,
            profile,
            pin,
            network: VecDeque::new(),
            awaiting_ack: None,
            sent: Vec::new(),
            next_reference: 0,
            counters: Counters::default(),
            faults: Faults::default(),
            call: None,
            memory_full_reported: false,
            sequence: 0,
            recent_sends: VecDeque::new(),
            network_ready: false,
            on_air: None,
            rebooting: false,
            config,
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn pin_state(&self) -> PinState {
        self.pin
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn sent(&self) -> &[SentPart] {
        &self.sent
    }

    pub fn clear_sent(&mut self) {
        self.sent.clear();
    }

    pub fn sim(&self) -> &SimStore {
        &self.sim
    }

    /// Messages the network holds because the modem could not take them yet.
    pub fn waiting_in_network(&self) -> usize {
        self.network.len() + usize::from(self.awaiting_ack.is_some())
    }

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

    /// Checks a typed SUBMIT. `Err` is answered at once (the modem itself refuses);
    /// `Ok` goes on the air, and holds what the network will answer.
    fn check_send(
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

    fn finish_write(
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

    fn effective_smsc(&self) -> &str {
        if self.faults.smsc_lost {
            ""
        } else {
            &self.smsc
        }
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
            match self.execute(cmd, now, &mut info) {
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

    fn after_command(&mut self, now: DateTime<Utc>, steps: &mut Vec<Step>) {
        if std::mem::take(&mut self.rebooting) {
            if let Some(outage) = self.config.reboot_outage {
                steps.push(Step::LinkDown(outage));
            }
        }
        if std::mem::take(&mut self.network_ready) {
            steps.extend(self.deliver_pending(now));
        }
    }

    fn final_ok(&self, info: &[String]) -> Vec<u8> {
        let mut out = if info.is_empty() {
            Vec::new()
        } else {
            info_lines(info)
        };
        out.extend_from_slice(b"\r\nOK\r\n");
        out
    }

    fn final_error(&self, info: &[String], failure: Failure) -> Vec<u8> {
        let mut out = if info.is_empty() {
            Vec::new()
        } else {
            info_lines(info)
        };
        let text = match (failure, self.settings.cmee) {
            (Failure::Error, _) | (Failure::Cme(_), 0) => "ERROR".to_owned(),
            (Failure::Cme(code), 1) => format!("+CME ERROR: {code}"),
            (Failure::Cme(code), _) => format!("+CME ERROR: {}", cme_text(code)),
            // +CMS ERROR is reported whatever AT+CMEE says (27.005 §3.2.5); only the
            // verbose form depends on it.
            (Failure::Cms(code), 2) => format!("+CMS ERROR: {}", cms_text(code)),
            (Failure::Cms(code), _) => format!("+CMS ERROR: {code}"),
        };
        out.extend_from_slice(format!("\r\n{text}\r\n").as_bytes());
        out
    }

    fn sim_ready_cms(&self) -> Result<(), Failure> {
        match self.pin {
            PinState::Ready => Ok(()),
            PinState::PinRequired { .. } => Err(Failure::Cms(311)),
            PinState::PukRequired => Err(Failure::Cms(316)),
        }
    }

    fn registered(&self) -> bool {
        self.settings.cfun == 1 && self.pin == PinState::Ready
    }

    fn execute(
        &mut self,
        cmd: Command,
        now: DateTime<Utc>,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        match cmd {
            Command::Basic { name, value } => self.basic(&name, value, info),
            Command::Register { number, value } => {
                if value.is_none() {
                    let current = match number {
                        3 => 13,
                        4 => 10,
                        5 => 8,
                        _ => 0,
                    };
                    info.push(format!("{current:03}"));
                }
                Ok(Outcome::Done)
            }
            Command::Extended { name, form } => self.extended(&name, form, now, info),
        }
    }

    fn basic(
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
            ("Z" | "&F", 0) => self.reset_settings(),
            ("I", 0) => {
                for line in self.profile.identification {
                    info.push(line.replace("{imei}", &self.config.imei));
                }
            }
            ("H", 0) => {
                self.call = None;
            }
            ("&C" | "&D" | "&K" | "&W" | "X" | "L" | "M", _) => {}
            _ => return Err(Failure::Error),
        }
        Ok(Outcome::Done)
    }

    fn reset_settings(&mut self) {
        self.settings = Settings::power_on(&self.profile);
        // A message the host had not acknowledged is still the network's to deliver.
        if let Some(awaiting) = self.awaiting_ack.take() {
            self.network.push_front(awaiting.message);
        }
    }

    fn extended(
        &mut self,
        name: &str,
        form: Form,
        now: DateTime<Utc>,
        info: &mut Vec<String>,
    ) -> Result<Outcome, Failure> {
        let _ = now;
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
            ("+CIMI", Form::Execute) => match self.pin {
                PinState::Ready => info.push("001010123456789".to_owned()),
                PinState::PinRequired { .. } => return Err(Failure::Cme(11)),
                PinState::PukRequired => return Err(Failure::Cme(12)),
            },
            ("+CMEE", Form::Set(args)) => {
                self.settings.cmee = match number_arg(&args, 0, 0)? {
                    n @ 0..=2 => n as u8,
                    _ => return Err(Failure::Error),
                }
            }
            ("+CMEE", Form::Read) => info.push(format!("+CMEE: {}", self.settings.cmee)),
            ("+CMEE", Form::Test) => info.push("+CMEE: (0-2)".to_owned()),
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
            ("+CMGF", Form::Set(args)) => match number_arg(&args, 0, 0)? {
                0 => {}
                // The simulator speaks PDU mode only; text mode is refused as unsupported.
                1 => return Err(Failure::Cms(303)),
                _ => return Err(Failure::Error),
            },
            ("+CMGF", Form::Read) => info.push("+CMGF: 0".to_owned()),
            ("+CMGF", Form::Test) => info.push("+CMGF: (0)".to_owned()),
            ("+CSCS", Form::Set(_)) => {}
            ("+CSCS", Form::Read) => info.push("+CSCS: \"GSM\"".to_owned()),
            ("+CSMS", Form::Set(args)) => {
                self.settings.csms = match number_arg(&args, 0, 0)? {
                    n @ 0..=1 => n as u8,
                    _ => return Err(Failure::Cms(302)),
                };
                info.push("+CSMS: 1,1,1".to_owned());
            }
            ("+CSMS", Form::Read) => info.push(format!("+CSMS: {},1,1,1", self.settings.csms)),
            ("+CSMS", Form::Test) => info.push("+CSMS: (0,1)".to_owned()),
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
            ("+CSCA", Form::Read) => {
                self.sim_ready_cms()?;
                let smsc = self.effective_smsc();
                let toa = if smsc.starts_with('+') { 145 } else { 129 };
                info.push(format!("+CSCA: \"{smsc}\",{toa}"));
            }
            ("+CSCA", Form::Set(args)) => {
                self.sim_ready_cms()?;
                let number = args.first().map(Arg::as_string).unwrap_or_default();
                self.smsc = number;
                self.faults.smsc_lost = false;
            }
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
            ("+COPS", Form::Read) => {
                if self.registered() {
                    info.push(format!("+COPS: 0,0,\"{}\",0", self.config.operator));
                } else {
                    info.push("+COPS: 0".to_owned());
                }
            }
            ("+COPS", Form::Set(_)) => {}
            ("+COPS", Form::Test) => info.push(format!(
                "+COPS: (2,\"{}\",\"sim\",\"00101\",0),,(0-4),(0-2)",
                self.config.operator
            )),
            ("+CLIP", Form::Set(args)) => self.settings.clip = number_arg(&args, 0, 0)? == 1,
            ("+CLIP", Form::Read) => {
                info.push(format!("+CLIP: {},1", u8::from(self.settings.clip)))
            }
            ("+CHUP", Form::Execute) => self.call = None,
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
                    self.reset_settings();
                    if self.config.pin.is_some() && self.pin == PinState::Ready {
                        self.pin = PinState::PinRequired { attempts_left: 3 };
                    }
                    self.rebooting = true;
                }
                self.settings.cfun = fun as u8;
                self.network_ready = true;
            }
            ("+CMMS", _) if !self.profile.more_messages_command => return Err(Failure::Error),
            ("+CMMS", Form::Set(args)) => {
                self.settings.cmms = match number_arg(&args, 0, 0)? {
                    n @ 0..=2 => n as u8,
                    _ => return Err(Failure::Cms(302)),
                }
            }
            ("+CMMS", Form::Read) => info.push(format!("+CMMS: {}", self.settings.cmms)),
            ("+CMMS", Form::Test) => info.push("+CMMS: (0-2)".to_owned()),
            ("+CSMP", Form::Set(_)) => {}
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
            ("+CMGS", Form::Set(args)) => {
                self.sim_ready_cms()?;
                let length = number_arg(&args, 0, 0)? as usize;
                if length == 0 || length > MAX_TPDU {
                    return Err(Failure::Cms(304));
                }
                return Ok(Outcome::Prompt(PromptPurpose::Send, length));
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
            ("+CMGS" | "+CMGW", Form::Test) => {}
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

    fn signal_now(&self) -> u8 {
        if self.settings.cfun == 1 {
            self.signal
        } else {
            99
        }
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

    fn urc(&self, text: &str) -> Step {
        Step::Unsolicited(format!("\r\n{text}\r\n").into_bytes())
    }

    /// Hands what the network holds to the modem, as far as the modem can take it: direct
    /// to the host (`+CMT`/`+CDS`, one at a time when they must be acknowledged) or into
    /// the SIM (`+CMTI`/`+CDSI`, or silently), stopping when the SIM is full.
    fn deliver_pending(&mut self, _now: DateTime<Utc>) -> Vec<Step> {
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

    /// The network's SMSC (for building incoming PDUs).
    pub fn network_smsc(&self) -> &str {
        &self.config.smsc
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

    /// Whether a call is ringing.
    pub fn ringing(&self) -> bool {
        self.call.is_some()
    }

    /// Runs a job scheduled earlier.
    pub fn run_job(&mut self, job: Job, now: DateTime<Utc>) -> Vec<Step> {
        match job {
            Job::StatusReport {
                reference,
                recipient,
                submitted,
            } => {
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
            Job::AckTimeout { sequence } => {
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
            Job::NetworkRetry => self.deliver_pending(now),
            Job::PeriodicReport => {
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
            Job::Ring { call, remaining } => {
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
        }
    }

    /// Changes the faults in force.
    pub fn set_faults(&mut self, patch: FaultPatch, now: DateTime<Utc>) -> Vec<Step> {
        self.faults.apply(patch);
        self.deliver_pending(now)
    }

    /// Clears every fault.
    pub fn clear_faults(&mut self, now: DateTime<Utc>) -> Vec<Step> {
        self.faults = Faults::default();
        self.deliver_pending(now)
    }

    /// Line noise from the modem's side.
    pub fn garbage(&mut self, bytes: Vec<u8>) -> Vec<Step> {
        if self.faults.hang {
            return Vec::new();
        }
        vec![Step::Unsolicited(bytes)]
    }

    /// Sets the signal quality `AT+CSQ` reports.
    pub fn set_signal(&mut self, signal: u8) {
        self.signal = signal.min(31);
    }
}

fn number_arg(args: &[Arg], index: usize, default: u32) -> Result<u32, Failure> {
    match args.get(index) {
        None | Some(Arg::Empty) => Ok(default),
        Some(arg) => arg.number().ok_or(Failure::Error),
    }
}

fn info_lines(info: &[String]) -> Vec<u8> {
    format!("\r\n{}\r\n", info.join("\r\n")).into_bytes()
}

/// Joins consecutive replies (echo arrives byte by byte) so a transcript reads as lines.
fn merge_replies(steps: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    for step in steps {
        match (out.last_mut(), step) {
            (Some(Step::Reply(previous)), Step::Reply(bytes)) => previous.extend_from_slice(&bytes),
            (_, step) => out.push(step),
        }
    }
    out
}

fn cme_text(code: u16) -> &'static str {
    match code {
        3 => "operation not allowed",
        4 => "operation not supported",
        10 => "SIM not inserted",
        11 => "SIM PIN required",
        12 => "SIM PUK required",
        13 => "SIM failure",
        14 => "SIM busy",
        16 => "incorrect password",
        30 => "no network service",
        50 => "incorrect parameters",
        _ => "unknown",
    }
}

fn cms_text(code: u16) -> &'static str {
    match code {
        38 => "network out of order",
        300 => "ME failure",
        302 => "operation not allowed",
        303 => "operation not supported",
        304 => "invalid PDU mode parameter",
        311 => "SIM PIN required",
        316 => "SIM PUK required",
        321 => "invalid memory index",
        322 => "memory full",
        330 => "SMSC address unknown",
        331 => "no network service",
        340 => "no +CNMA acknowledgement expected",
        _ => "unknown error",
    }
}

#[cfg(test)]
mod tests;
