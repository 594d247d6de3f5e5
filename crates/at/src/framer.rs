//! The sans-I/O framer: bytes from the modem go in, [`Event`]s come out.
//!
//! The framer works one byte at a time, so the events it produces never depend on how the
//! byte stream was split into reads. It is told which command is running
//! ([`Framer::expect`]) because that decides what a line means: `+CMGR: 0,,23` followed by
//! a PDU line answers `AT+CMGR`, while `+CMTI: "SM",3` is always unsolicited, even when it
//! arrives in the middle of a `+CMGL` listing.

use std::collections::VecDeque;
use std::fmt;

use crate::error_code::{CmeError, CmsError};
use crate::fields::{self, Field};

/// Longest line kept. The longest legitimate line is a PDU: 12 octets of SMSC address and
/// 164 octets of TPDU, 352 hex digits. Beyond this the line is reported as noise and
/// dropped, so a modem spewing bytes without line ends cannot grow memory.
pub const MAX_LINE: usize = 1024;

/// What the running command's answer looks like, set by the driver before it writes the
/// command (see [`crate::command::Command::expectation`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The command line as written (without `\r`), to recognise its echo.
    pub command: String,
    /// The prefix of its information responses (`+CMGR`), if it has one.
    pub prefix: Option<String>,
    /// Whether each information response with the prefix is followed by a PDU line.
    pub pdu: PduLines,
    /// Whether the command waits for the `> ` prompt (`AT+CMGS`).
    pub prompt: Prompt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduLines {
    None,
    /// `+CMGR:` and `+CMGL:` headers are each followed by one line of hex.
    AfterEachResponse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    NotExpected,
    Expected,
}

/// The final result code that ends a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalResult {
    Ok,
    Error,
    Cme(CmeError),
    Cms(CmsError),
    NoCarrier,
    Busy,
    NoAnswer,
    NoDialtone,
}

impl FinalResult {
    pub fn is_ok(&self) -> bool {
        matches!(self, FinalResult::Ok)
    }
}

impl fmt::Display for FinalResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FinalResult::Ok => f.write_str("OK"),
            FinalResult::Error => f.write_str("ERROR"),
            FinalResult::Cme(e) => e.fmt(f),
            FinalResult::Cms(e) => e.fmt(f),
            FinalResult::NoCarrier => f.write_str("NO CARRIER"),
            FinalResult::Busy => f.write_str("BUSY"),
            FinalResult::NoAnswer => f.write_str("NO ANSWER"),
            FinalResult::NoDialtone => f.write_str("NO DIALTONE"),
        }
    }
}

/// An unsolicited result code: something the modem reports on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Urc {
    /// `+CMTI: "SM",3`: a message was stored. SIMCom adds fields for MMS notifications
    /// (`+CMTI: "SM",1,"MMS PUSH",2,1`); `kind` then holds `MMS PUSH`.
    MessageStored {
        storage: String,
        index: u32,
        kind: Option<String>,
    },
    /// `+CMT: [<alpha>],<length>` and its PDU line: a message routed directly to us, to be
    /// acknowledged with `AT+CNMA`. `pdu` is `None` when the line after the header was not
    /// hex (a lost line); the header is still reported so the driver can log it.
    Deliver {
        length: Option<u32>,
        pdu: Option<String>,
    },
    /// `+CDS: <length>` and its PDU line: a status report routed directly to us.
    StatusReport {
        length: Option<u32>,
        pdu: Option<String>,
    },
    /// `+CDSI: "SM",5`: a status report was stored.
    StatusReportStored { storage: String, index: u32 },
    /// `RING` or `+CRING: VOICE`.
    Ring,
    /// `+CLIP: "+15551234567",145,...`: the caller's number.
    CallerId {
        number: String,
        type_of_address: Option<u32>,
    },
    /// Huawei's `^SMMEMFULL: "SM"`: message storage is full (and `+CMTI` stops).
    MemoryFull { storage: Option<String> },
    /// `NO CARRIER`, `BUSY`, `NO ANSWER`, `NO DIALTONE` while no dial command runs: a
    /// call ended. Taking it for the running command's result would pair every later
    /// command with the previous one's answer.
    CallEnded(String),
    /// A known code whose arguments could not be read.
    Malformed { line: String, reason: &'static str },
    /// Anything else, passed through as the modem sent it.
    Other(String),
}

/// One information response line of the running command, with its PDU line if the
/// command has one per response (`+CMGR`, `+CMGL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub line: String,
    pub pdu: Option<String>,
}

/// What the framer found in the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The command's final result. The framer forgets the expectation afterwards.
    Final(FinalResult),
    /// An information response belonging to the running command.
    Response(Response),
    /// An unsolicited result code.
    Urc(Urc),
    /// The `> ` prompt of `AT+CMGS`: the modem waits for the PDU and Ctrl-Z.
    Prompt,
    /// The modem repeated a command (echo on, or doubled echo after `ATE0`).
    Echo(String),
    /// Bytes that are not a line of text (line noise, a spewing modem, non-UTF-8).
    Noise(Vec<u8>),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Final(result) => write!(f, "final {result}"),
            Event::Response(Response { line, pdu: None }) => write!(f, "response {line:?}"),
            Event::Response(Response {
                line,
                pdu: Some(pdu),
            }) => write!(f, "response {line:?} pdu {pdu}"),
            Event::Urc(urc) => write!(f, "urc {urc:?}"),
            Event::Prompt => f.write_str("prompt"),
            Event::Echo(line) => write!(f, "echo {line:?}"),
            Event::Noise(bytes) => write!(
                f,
                "noise {} bytes \"{}\"",
                bytes.len(),
                bytes.escape_ascii()
            ),
        }
    }
}

/// A two-line item whose header has been seen and whose PDU line is awaited.
#[derive(Debug, Clone)]
enum Pending {
    Response(String),
    Deliver(Option<u32>),
    StatusReport(Option<u32>),
}

/// The framer. See the module documentation.
#[derive(Debug, Default)]
pub struct Framer {
    line: Vec<u8>,
    /// True while dropping the rest of an over-long line.
    discarding: bool,
    expectation: Option<Expectation>,
    prompted: bool,
    /// The space after `>` is part of the prompt.
    skip_space: bool,
    pending: Option<Pending>,
    events: VecDeque<Event>,
}

impl Framer {
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Tells the framer which command runs now. Call it before writing the command.
    pub fn expect(&mut self, expectation: Expectation) {
        self.expectation = Some(expectation);
        self.prompted = false;
    }

    /// Forgets the running command (after a timeout, when the driver gives up on it).
    pub fn reset(&mut self) {
        *self = Framer::default();
    }

    /// The command the framer believes is running.
    pub fn expectation(&self) -> Option<&Expectation> {
        self.expectation.as_ref()
    }

    /// Feeds bytes and returns the events they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        for &byte in bytes {
            self.push_byte(byte);
        }
        self.events.drain(..).collect()
    }

    fn push_byte(&mut self, byte: u8) {
        if std::mem::take(&mut self.skip_space) && byte == b' ' {
            return;
        }
        match byte {
            b'\r' | b'\n' => {
                if std::mem::take(&mut self.discarding) {
                    return;
                }
                let line = std::mem::take(&mut self.line);
                if !line.is_empty() {
                    self.on_line(&line);
                }
            }
            b'>' if self.line.is_empty() && !self.discarding && self.wants_prompt() => {
                self.prompted = true;
                self.skip_space = true;
                self.flush_pending();
                self.events.push_back(Event::Prompt);
            }
            _ if self.discarding => {}
            _ => {
                self.line.push(byte);
                if self.line.len() >= MAX_LINE {
                    let line = std::mem::take(&mut self.line);
                    self.events.push_back(Event::Noise(line));
                    self.discarding = true;
                }
            }
        }
    }

    fn wants_prompt(&self) -> bool {
        !self.prompted
            && self
                .expectation
                .as_ref()
                .is_some_and(|e| e.prompt == Prompt::Expected)
    }

    fn on_line(&mut self, raw: &[u8]) {
        // Ctrl-Z only ever appears in the echo of a PDU we sent.
        if raw.contains(&0x1a) {
            self.events
                .push_back(Event::Echo(String::from_utf8_lossy(raw).into_owned()));
            return;
        }
        // Line noise tends to come before a line (a glitch, a reset): strip it and keep
        // the line, so an `OK` behind a burst of garbage still ends its command.
        let start = raw
            .iter()
            .position(|b| (0x20..0x7f).contains(b))
            .unwrap_or(raw.len());
        let (noise, rest) = raw.split_at(start);
        if !noise.is_empty() {
            self.events.push_back(Event::Noise(noise.to_vec()));
        }
        let text = match std::str::from_utf8(rest) {
            Ok(text) if text.chars().all(|c| !c.is_control() || c == '\t') => text.trim(),
            _ => {
                self.events.push_back(Event::Noise(rest.to_vec()));
                return;
            }
        };
        if text.is_empty() {
            return;
        }
        if let Some(pending) = self.pending.take() {
            if is_hex(text) {
                self.complete(pending, Some(text.to_owned()));
                return;
            }
            self.complete(pending, None);
        }
        self.classify(text);
    }

    fn classify(&mut self, text: &str) {
        if self.is_echo(text) {
            self.events.push_back(Event::Echo(text.to_owned()));
            return;
        }
        if let Some(result) = parse_final(text) {
            if is_call_progress(&result) && !self.dialling() {
                self.events
                    .push_back(Event::Urc(Urc::CallEnded(text.to_owned())));
                return;
            }
            self.expectation = None;
            self.events.push_back(Event::Final(result));
            return;
        }
        let (name, args) = fields::name_and_args(text);
        let has_colon = text.contains(':');
        let expected_prefix = self.expectation.as_ref().and_then(|e| e.prefix.clone());
        let matches_prefix = expected_prefix
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(name))
            && has_colon;

        if !matches_prefix {
            if let Some(urc) = self.known_urc(name, args, text) {
                if let Some(urc) = urc {
                    self.events.push_back(Event::Urc(urc));
                }
                return;
            }
        }
        let Some(expectation) = self.expectation.as_ref() else {
            self.events
                .push_back(Event::Urc(Urc::Other(text.to_owned())));
            return;
        };
        if matches_prefix {
            if expectation.pdu == PduLines::AfterEachResponse {
                self.pending = Some(Pending::Response(text.to_owned()));
            } else {
                self.push_response(text.to_owned(), None);
            }
            return;
        }
        // A prefixed line that is not the command's: somebody else's unsolicited code.
        // `^` codes are Huawei's unsolicited reports; `+NAME:` lines only count as foreign
        // when the command has a prefix of its own (ATI and AT+CGMI answer in free text,
        // which some modems prefix with `+CGMI:`).
        let caret = name.starts_with('^');
        let foreign_plus = name.starts_with('+') && has_colon && expected_prefix.is_some();
        if caret || foreign_plus {
            self.events
                .push_back(Event::Urc(Urc::Other(text.to_owned())));
            return;
        }
        // After the prompt, a line of hex is the modem echoing the PDU we wrote.
        if self.prompted && is_hex(text) {
            self.events.push_back(Event::Echo(text.to_owned()));
            return;
        }
        self.push_response(text.to_owned(), None);
    }

    /// `Some(Some(urc))`: a known unsolicited code, complete. `Some(None)`: a two-line code
    /// whose PDU line is awaited. `None`: not a known code.
    fn known_urc(&mut self, name: &str, args: &str, text: &str) -> Option<Option<Urc>> {
        let upper = name.to_ascii_uppercase();
        let urc = match upper.as_str() {
            "+CMTI" => parse_stored(args, text, StoredKind::Message),
            "+CDSI" => parse_stored(args, text, StoredKind::StatusReport),
            "+CMT" => {
                let length = fields::split(args).last().and_then(Field::number);
                self.pending = Some(Pending::Deliver(length));
                return Some(None);
            }
            "+CDS" => {
                let split = fields::split(args);
                // PDU mode gives `+CDS: <length>` and a PDU line; text mode gives the whole
                // report on one line.
                if let [only] = split.as_slice() {
                    self.pending = Some(Pending::StatusReport(only.number()));
                    return Some(None);
                }
                Urc::Other(text.to_owned())
            }
            "RING" if args.is_empty() => Urc::Ring,
            "+CRING" => Urc::Ring,
            "+CLIP" => parse_clip(args, text),
            "^SMMEMFULL" => Urc::MemoryFull {
                storage: fields::split(args)
                    .first()
                    .and_then(|f| f.text())
                    .map(str::to_owned),
            },
            _ => return None,
        };
        Some(Some(urc))
    }

    /// Whether the running command dials or answers (`ATD...`, `ATA`): only then are
    /// `NO CARRIER` and friends its final result.
    fn dialling(&self) -> bool {
        self.expectation.as_ref().is_some_and(|e| {
            let command = e.command.trim().to_ascii_uppercase();
            command.starts_with("ATD") || command == "ATA"
        })
    }

    fn is_echo(&self, text: &str) -> bool {
        // Besides the running command's own echo, a command line can come back late: the
        // doubled echo of the previous command.
        let running = self
            .expectation
            .as_ref()
            .is_some_and(|e| text.eq_ignore_ascii_case(e.command.trim()));
        running || looks_like_command(text)
    }

    fn complete(&mut self, pending: Pending, pdu: Option<String>) {
        match pending {
            Pending::Response(line) => self.push_response(line, pdu),
            Pending::Deliver(length) => self
                .events
                .push_back(Event::Urc(Urc::Deliver { length, pdu })),
            Pending::StatusReport(length) => self
                .events
                .push_back(Event::Urc(Urc::StatusReport { length, pdu })),
        }
    }

    fn flush_pending(&mut self) {
        if let Some(pending) = self.pending.take() {
            self.complete(pending, None);
        }
    }

    fn push_response(&mut self, line: String, pdu: Option<String>) {
        self.events
            .push_back(Event::Response(Response { line, pdu }));
    }
}

/// `AT`, `AT+CMGF=0`, `AT^CURC=0`, `ATE0`, `ATI`, `ATH`: a command line, not a response
/// (answers never start like that; a manufacturer called "ATMEL" still passes).
fn looks_like_command(text: &str) -> bool {
    let bytes = text.as_bytes();
    match bytes {
        [a, t, rest @ ..] if a.eq_ignore_ascii_case(&b'A') && t.eq_ignore_ascii_case(&b'T') => {
            match rest.first() {
                None => true,
                Some(next) => b"+^&EHIZQVD".contains(&next.to_ascii_uppercase()),
            }
        }
        _ => false,
    }
}

fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_call_progress(result: &FinalResult) -> bool {
    matches!(
        result,
        FinalResult::NoCarrier
            | FinalResult::Busy
            | FinalResult::NoAnswer
            | FinalResult::NoDialtone
    )
}

/// Recognises a final result code.
pub fn parse_final(text: &str) -> Option<FinalResult> {
    let upper = text.to_ascii_uppercase();
    let result = match upper.as_str() {
        "OK" => FinalResult::Ok,
        "ERROR" => FinalResult::Error,
        // Some Huawei and ZTE firmware answer unknown commands with this instead of ERROR.
        "COMMAND NOT SUPPORT" => FinalResult::Error,
        "NO CARRIER" => FinalResult::NoCarrier,
        "BUSY" => FinalResult::Busy,
        "NO ANSWER" => FinalResult::NoAnswer,
        "NO DIALTONE" | "NO DIAL TONE" => FinalResult::NoDialtone,
        _ => {
            let (name, args) = text.split_once(':')?;
            match name.trim().to_ascii_uppercase().as_str() {
                "+CME ERROR" => FinalResult::Cme(CmeError::parse(args)),
                "+CMS ERROR" => FinalResult::Cms(CmsError::parse(args)),
                _ => return None,
            }
        }
    };
    Some(result)
}

enum StoredKind {
    Message,
    StatusReport,
}

fn parse_stored(args: &str, text: &str, kind: StoredKind) -> Urc {
    let split = fields::split(args);
    let storage = split.first().and_then(Field::text).map(str::to_owned);
    let index = split.get(1).and_then(Field::number);
    let (Some(storage), Some(index)) = (storage, index) else {
        return Urc::Malformed {
            line: text.to_owned(),
            reason: "expected a storage name and an index",
        };
    };
    match kind {
        StoredKind::Message => {
            let kind = split.get(2).and_then(Field::text).map(str::to_owned);
            Urc::MessageStored {
                storage,
                index,
                kind,
            }
        }
        StoredKind::StatusReport => Urc::StatusReportStored { storage, index },
    }
}

fn parse_clip(args: &str, text: &str) -> Urc {
    let split = fields::split(args);
    match split.first() {
        Some(Field::Quoted(number)) => Urc::CallerId {
            number: number.clone(),
            type_of_address: split.get(1).and_then(Field::number),
        },
        _ => Urc::Malformed {
            line: text.to_owned(),
            reason: "expected a quoted caller number",
        },
    }
}
