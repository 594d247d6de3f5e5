//! The simulated modem itself, without I/O: [`ModemState`] takes the bytes a host writes
//! (through a per-connection [`Line`]) and returns [`Step`]s: bytes for that host, bytes
//! for every attached host (unsolicited result codes), pauses (the radio is busy) and
//! [`Job`]s to run later (status reports, ringing, network retries). The runtime in
//! [`crate::sim`] carries the steps out; unit tests read them directly.
//!
//! The behaviour follows 3GPP TS 27.005 (SMS, PDU mode) and TS 27.007 (general commands)
//! as real modems implement them, including the parts hosts get wrong: the exact TPDU
//! length of `AT+CMGS`, `+CNMA` after `+CMT` when `AT+CSMS=1`, a SIM that fills up.
//!
//! [`ModemState`] is one struct whose `impl` is split by command group, each file owning
//! its commands and the modem's own doings that belong with them:
//! - this file: the state, the dispatch of a parsed command to its group
//!   (`CommandGroup`) and of a scheduled [`Job`] to the file that runs it, and the faults;
//! - `input`: the command line and the PDU prompt, byte by byte, and running a line;
//! - `results`: final result codes (`OK`, `ERROR`, `+CME ERROR`, `+CMS ERROR`);
//! - `general`: basic commands, S-registers, identity, `+CMEE`;
//! - `sim`: `+CPIN`, `+CIMI`; `network`: `+CSQ`, `+CREG`, `+CGREG`, `+COPS`, `+CFUN`,
//!   `+CBC`;
//! - `service`: `+CMGF`, `+CSCS`, `+CSMS`, `+CSCA`, `+CSMP`;
//! - `storage`: `+CPMS`, `+CMGL`, `+CMGR`, `+CMGW`, `+CMGD`;
//! - `receiving`: `+CNMI`, `+CNMA`, and what the network delivers;
//! - `sending`: `+CMGS`, `+CMMS`, the radio round trip and status reports;
//! - `calls`: `+CLIP`, `+CHUP`, ringing; `vendor`: `^CURC`, `^PORTSEL`, `+QURCCFG`,
//!   `+CATR` (which ports hear unsolicited reports) and periodic reports.

mod calls;
mod general;
mod input;
mod network;
mod receiving;
mod results;
mod sending;
mod service;
mod sim;
mod storage;
mod vendor;

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;

use crate::command::{Arg, Command};
use crate::config::{SimConfig, UsbPort};
use crate::faults::{FaultPatch, Faults};
use crate::pdu::CheckedSubmit;
use crate::personality::Profile;
use crate::store::{MessageStatus, SimStore};

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

/// Settings a host changes with commands; `ATZ`/`AT&F` and a reboot restore them, except
/// where a field says otherwise (see [`Reset`]).
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    pub echo: bool,
    pub cmee: u8,
    pub cnmi: Cnmi,
    pub csms: u8,
    pub cmms: u8,
    pub clip: bool,
    pub creg: u8,
    /// `AT+CGREG`: packet domain registration reports (27.007 §10.1.20).
    pub cgreg: u8,
    pub cfun: u8,
    /// `AT+CSCS`: the character set of the host's strings (27.007 §5.5).
    pub cscs: Charset,
    /// Huawei's `AT^CURC`: periodic unsolicited reports on (1) or off (0).
    pub curc: u8,
    /// Huawei's `AT^PORTSEL`: which port gets unsolicited reports, 0 the PCUI (control)
    /// port, 1 the modem (data) port.
    pub portsel: u8,
    /// Quectel's `AT+QURCCFG="urcport"`: the one port that gets unsolicited reports.
    pub urcport: UsbPort,
    /// SIMCom's `AT+CATR`: 0 all ports, otherwise the one port that gets unsolicited
    /// reports (1 UART, 2 modem port, 3 AT port, 4-7 CMUX channels); 0 at every power-up.
    pub catr: u8,
}

/// What brings the settings back to their defaults, and so which of them survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reset {
    /// `ATZ`/`AT&F`: the command profile. SIMCom's manual says only that `AT+CATR` is
    /// not saved ("NO_SAVE"); we take it to be outside the profile `AT&W` saves and `ATZ`
    /// restores, so it stays as it was and only a restart clears it.
    Profile,
    /// A restart (`AT+CFUN=1,1`): everything but what is kept in non-volatile memory
    /// (Quectel's `urcport`).
    Restart,
}

/// The character sets the simulated modems offer with `AT+CSCS` (27.007 §5.5): the three
/// Quectel's EC25/EC21 AT Commands Manual lists (§14.8, "SMS Character Sets
/// Conversions"). Some families offer more (HEX, PCCP437, 8859-1); those are not
/// simulated. A character set changes only strings in answers (`+CSCA`, `+COPS`), never
/// PDUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Charset {
    /// The GSM 7-bit default alphabet, one byte per character.
    Gsm,
    /// ITU-T T.50 (ASCII).
    Ira,
    /// UTF-16 code units written as four hex digits each.
    Ucs2,
}

impl Charset {
    pub const ALL: [Charset; 3] = [Charset::Gsm, Charset::Ira, Charset::Ucs2];

    pub fn name(self) -> &'static str {
        match self {
            Charset::Gsm => "GSM",
            Charset::Ira => "IRA",
            Charset::Ucs2 => "UCS2",
        }
    }
}

impl Settings {
    /// The settings at power-on; `urcport` is kept in non-volatile memory, `catr` is not.
    fn power_on(profile: &Profile, urcport: UsbPort) -> Settings {
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
            cgreg: 0,
            cfun: 1,
            cscs: Charset::Gsm,
            curc: 1,
            portsel: 0,
            urcport,
            catr: 0,
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

/// Why a command failed, before it is worded as a final result code.
enum Failure {
    Error,
    Cme(u16),
    Cms(u16),
}

/// How a command ended: done, or waiting for a PDU after the `> ` prompt.
enum Outcome {
    Done,
    Prompt(PromptPurpose, usize),
}

/// The groups an extended command belongs to, each handled in its own file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CommandGroup {
    General,
    Sim,
    Network,
    MessageService,
    Storage,
    Receiving,
    Sending,
    Calls,
    Vendor,
}

impl CommandGroup {
    /// The group of an extended command by its upper-cased name, `None` for a command the
    /// simulator does not know (answered `ERROR`, as modems do).
    fn of(name: &str) -> Option<CommandGroup> {
        Some(match name {
            "+CGMI" | "+GMI" | "+CGMM" | "+GMM" | "+CGMR" | "+GMR" | "+CGSN" | "+GSN" | "+GCAP"
            | "+CMEE" => CommandGroup::General,
            "+CPIN" | "+CIMI" => CommandGroup::Sim,
            "+CSQ" | "+CREG" | "+CGREG" | "+COPS" | "+CFUN" | "+CBC" => CommandGroup::Network,
            "+CMGF" | "+CSCS" | "+CSMS" | "+CSCA" | "+CSMP" => CommandGroup::MessageService,
            "+CPMS" | "+CMGL" | "+CMGR" | "+CMGW" | "+CMGD" => CommandGroup::Storage,
            "+CNMI" | "+CNMA" => CommandGroup::Receiving,
            "+CMGS" | "+CMMS" => CommandGroup::Sending,
            "+CLIP" | "+CHUP" => CommandGroup::Calls,
            "^CURC" | "^PORTSEL" | "+QURCCFG" | "+CATR" => CommandGroup::Vendor,
            _ => return None,
        })
    }
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
            settings: Settings::power_on(&profile, config.urc_port),
            sim: SimStore::new(config.capacity, profile.first_storage_index),
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

    /// Runs one command of a command line, adding its information lines to `info`.
    fn execute(&mut self, cmd: Command, info: &mut Vec<String>) -> Result<Outcome, Failure> {
        match cmd {
            Command::Basic { name, value } => self.basic(&name, value, info),
            Command::Register { number, value } => {
                self.register(number, value, info);
                Ok(Outcome::Done)
            }
            Command::Extended { name, form } => {
                let Some(group) = CommandGroup::of(&name) else {
                    return Err(Failure::Error);
                };
                match group {
                    CommandGroup::General => self.general_command(&name, form, info),
                    CommandGroup::Sim => self.sim_command(&name, form, info),
                    CommandGroup::Network => self.network_command(&name, form, info),
                    CommandGroup::MessageService => self.service_command(&name, form, info),
                    CommandGroup::Storage => self.storage_command(&name, form, info),
                    CommandGroup::Receiving => self.receiving_command(&name, form, info),
                    CommandGroup::Sending => self.sending_command(&name, form, info),
                    CommandGroup::Calls => self.call_command(&name, form, info),
                    CommandGroup::Vendor => self.vendor_command(&name, form, info),
                }
            }
        }
    }

    /// An unsolicited report, on the host's port, unless the modem sends its reports to
    /// another port (Quectel's `AT+QURCCFG`, SIMCom's `AT+CATR`): then the host hears
    /// nothing.
    fn urc(&self, text: &str) -> Step {
        if !self.reports_reach_host() {
            return Step::Unsolicited(Vec::new());
        }
        Step::Unsolicited(format!("\r\n{text}\r\n").into_bytes())
    }

    /// The network's SMSC (for building incoming PDUs).
    pub fn network_smsc(&self) -> &str {
        &self.config.smsc
    }

    /// Runs a job scheduled earlier.
    pub fn run_job(&mut self, job: Job, now: DateTime<Utc>) -> Vec<Step> {
        match job {
            Job::StatusReport {
                reference,
                recipient,
                submitted,
            } => self.status_report(reference, recipient, submitted, now),
            Job::AckTimeout { sequence } => self.ack_timeout(sequence),
            Job::NetworkRetry => self.deliver_pending(now),
            Job::PeriodicReport => self.periodic_report(),
            Job::Ring { call, remaining } => self.ring(call, remaining),
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

#[cfg(test)]
mod tests;
