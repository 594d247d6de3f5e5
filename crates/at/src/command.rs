//! Typed builders for the commands the modem driver uses. Each command knows its text and
//! the shape of its answer (the [`Expectation`] the framer needs).

use std::fmt;

use crate::framer::{Expectation, PduLines, Prompt};

/// Ctrl-Z: ends the PDU written after the `> ` prompt of `AT+CMGS`.
pub const CTRL_Z: u8 = 0x1a;
/// ESC: abandons the PDU after the `> ` prompt instead of sending it.
pub const ESCAPE: u8 = 0x1b;

/// A command argument that was refused before anything reached the modem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("a SIM PIN is 4 to 8 digits, got {length} characters{}", if *.digits_only { "" } else { " with non-digits" })]
    InvalidPin { length: usize, digits_only: bool },
    #[error("an SMSC number is an optional '+' and 3 to 20 digits, got {0:?}")]
    InvalidSmsc(String),
    #[error("a PDU must be hex digits in pairs, got {0} characters that are not")]
    InvalidPduHex(usize),
    #[error("a TPDU is 1 to 164 octets, got {0}")]
    InvalidTpduLength(usize),
}

/// A SIM PIN, checked so it never carries quotes or line ends into a command.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    pub fn new(pin: &str) -> Result<Pin, CommandError> {
        let digits_only = pin.bytes().all(|b| b.is_ascii_digit());
        if !digits_only || !(4..=8).contains(&pin.len()) {
            return Err(CommandError::InvalidPin {
                length: pin.chars().count(),
                digits_only,
            });
        }
        Ok(Pin(pin.to_owned()))
    }
}

/// Never print a PIN, not even in a debug log.
impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// An SMSC number as given to `AT+CSCA`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmscNumber(String);

impl SmscNumber {
    pub fn new(number: &str) -> Result<SmscNumber, CommandError> {
        let digits = number.strip_prefix('+').unwrap_or(number);
        if !(3..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CommandError::InvalidSmsc(number.to_owned()));
        }
        Ok(SmscNumber(number.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `AT+CMEE`: how errors are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReporting {
    /// `+CME ERROR: 14`
    Numeric,
    /// `+CME ERROR: SIM busy`
    Verbose,
}

/// `AT+CMGL` status filter, PDU mode values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilter {
    ReceivedUnread = 0,
    ReceivedRead = 1,
    StoredUnsent = 2,
    StoredSent = 3,
    All = 4,
}

/// `AT+CMMS`: keep the relay link to the SMSC open between messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoreMessages {
    Disabled = 0,
    /// Open until the timeout after the last message (1–5 s), then closed.
    KeepOpenOnce = 1,
    /// Open until switched off with `AT+CMMS=0`.
    KeepOpen = 2,
}

/// `AT+CMGD` bulk deletion flags (TS 27.005 §3.5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteScope {
    /// Only the message at the index.
    Index = 0,
    /// All read messages. Unread ones (possibly not yet handed over) stay.
    AllRead = 1,
    /// All read and sent messages.
    ReadAndSent = 2,
    /// Read, sent and unsent messages.
    ReadSentUnsent = 3,
    /// Everything, unread included. Never used on received messages before they are stored.
    Everything = 4,
}

/// `AT+CFUN` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Functionality {
    Minimum = 0,
    Full = 1,
    /// Radio off (flight mode).
    RadioOff = 4,
}

/// `AT+CNMI=<mode>,<mt>,<bm>,<ds>,<bfr>` — how new messages and status reports are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessageIndication {
    pub mode: u8,
    /// 1: store and report `+CMTI`; 2: route directly as `+CMT` (needs `AT+CNMA`).
    pub mt: u8,
    pub bm: u8,
    /// 1: route status reports as `+CDS`; 2: store and report `+CDSI`.
    pub ds: u8,
    pub bfr: u8,
}

impl NewMessageIndication {
    /// `2,1,0,2,0`: store every message, report `+CMTI`/`+CDSI`. Works on every modem and
    /// loses nothing while the daemon is down.
    pub const STORE_AND_NOTIFY: NewMessageIndication = NewMessageIndication {
        mode: 2,
        mt: 1,
        bm: 0,
        ds: 2,
        bfr: 0,
    };
    /// `2,2,0,1,0`: route messages and status reports directly (`+CMT`/`+CDS`).
    pub const ROUTE_DIRECTLY: NewMessageIndication = NewMessageIndication {
        mode: 2,
        mt: 2,
        bm: 0,
        ds: 1,
        bfr: 0,
    };
}

/// Message storage names for `AT+CPMS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSelection {
    pub read_delete: String,
    pub write_send: String,
    pub receive: String,
}

/// A command the driver sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `AT`: is anybody there.
    Attention,
    /// `ATE0`
    EchoOff,
    /// `AT+CMEE=1|2`
    ReportErrors(ErrorReporting),
    /// `AT+CPIN?`
    PinStatus,
    /// `AT+CPIN="1234"`
    EnterPin(Pin),
    /// `AT+CMGF=0`: PDU mode, the only mode textgate uses.
    PduMode,
    /// `AT+CSMS=1`: phase 2+ message service, needed for `AT+CNMA`.
    SelectMessageService(u8),
    /// `AT+CPMS?`
    StorageQuery,
    /// `AT+CPMS="SM","SM","SM"`
    SelectStorage(StorageSelection),
    /// `AT+CNMI=...`
    NewMessageIndication(NewMessageIndication),
    /// `AT+CSCA?`
    SmscQuery,
    /// `AT+CSCA="+4477...",145`
    SetSmsc(SmscNumber),
    /// `AT+CMGL=4`
    ListMessages(ListFilter),
    /// `AT+CMGR=3`
    ReadMessage(u32),
    /// `AT+CMGD=3` or `AT+CMGD=3,<flag>`
    DeleteMessage { index: u32, scope: DeleteScope },
    /// `AT+CMGS=<TPDU length>`; after the prompt the driver writes [`pdu_body`].
    SendPdu { tpdu_length: usize },
    /// `AT+CMMS=2`
    MoreMessages(MoreMessages),
    /// `AT+CNMA`: acknowledge a `+CMT`/`+CDS`.
    AcknowledgeMessage,
    /// `AT+CSQ`
    SignalQuality,
    /// `AT+CREG?`
    Registration,
    /// `AT+COPS?`
    Operator,
    /// `AT+CGMI`
    Manufacturer,
    /// `AT+CGMM`
    Model,
    /// `AT+CGMR`
    Revision,
    /// `AT+CGSN`
    SerialNumber,
    /// `ATI`
    Identify,
    /// `AT+CHUP`
    HangUp,
    /// `ATH`: the older way to reject a call, for modems without `+CHUP`.
    HangUpLegacy,
    /// `AT+CLIP=1|0`
    CallerIdPresentation(CallerId),
    /// `AT+CFUN=1`
    SetFunctionality(Functionality),
    /// A command from a quirk profile (`AT^CURC=0`), with no information response prefix.
    Raw(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerId {
    Hidden = 0,
    Shown = 1,
}

impl Command {
    /// The command line without its terminating `\r`.
    pub fn text(&self) -> String {
        match self {
            Command::Attention => "AT".into(),
            Command::EchoOff => "ATE0".into(),
            Command::ReportErrors(ErrorReporting::Numeric) => "AT+CMEE=1".into(),
            Command::ReportErrors(ErrorReporting::Verbose) => "AT+CMEE=2".into(),
            Command::PinStatus => "AT+CPIN?".into(),
            Command::EnterPin(pin) => format!("AT+CPIN=\"{}\"", pin.0),
            Command::PduMode => "AT+CMGF=0".into(),
            Command::SelectMessageService(service) => format!("AT+CSMS={service}"),
            Command::StorageQuery => "AT+CPMS?".into(),
            Command::SelectStorage(s) => {
                format!(
                    "AT+CPMS=\"{}\",\"{}\",\"{}\"",
                    s.read_delete, s.write_send, s.receive
                )
            }
            Command::NewMessageIndication(c) => {
                format!("AT+CNMI={},{},{},{},{}", c.mode, c.mt, c.bm, c.ds, c.bfr)
            }
            Command::SmscQuery => "AT+CSCA?".into(),
            Command::SetSmsc(number) => {
                let toa = if number.0.starts_with('+') { 145 } else { 129 };
                format!("AT+CSCA=\"{}\",{toa}", number.0)
            }
            Command::ListMessages(filter) => format!("AT+CMGL={}", *filter as u8),
            Command::ReadMessage(index) => format!("AT+CMGR={index}"),
            Command::DeleteMessage {
                index,
                scope: DeleteScope::Index,
            } => format!("AT+CMGD={index}"),
            Command::DeleteMessage { index, scope } => format!("AT+CMGD={index},{}", *scope as u8),
            Command::SendPdu { tpdu_length } => format!("AT+CMGS={tpdu_length}"),
            Command::MoreMessages(mode) => format!("AT+CMMS={}", *mode as u8),
            Command::AcknowledgeMessage => "AT+CNMA".into(),
            Command::SignalQuality => "AT+CSQ".into(),
            Command::Registration => "AT+CREG?".into(),
            Command::Operator => "AT+COPS?".into(),
            Command::Manufacturer => "AT+CGMI".into(),
            Command::Model => "AT+CGMM".into(),
            Command::Revision => "AT+CGMR".into(),
            Command::SerialNumber => "AT+CGSN".into(),
            Command::Identify => "ATI".into(),
            Command::HangUp => "AT+CHUP".into(),
            Command::HangUpLegacy => "ATH".into(),
            Command::CallerIdPresentation(mode) => format!("AT+CLIP={}", *mode as u8),
            Command::SetFunctionality(level) => format!("AT+CFUN={}", *level as u8),
            Command::Raw(text) => text.clone(),
        }
    }

    /// The bytes to write: the command line and `\r` (TS 27.007 §4.1, S3).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.text().into_bytes();
        bytes.push(b'\r');
        bytes
    }

    /// What the answer looks like, for [`crate::framer::Framer::expect`].
    pub fn expectation(&self) -> Expectation {
        let (prefix, pdu, prompt) = match self {
            Command::PinStatus => (Some("+CPIN"), PduLines::None, Prompt::NotExpected),
            Command::SelectMessageService(_) => {
                (Some("+CSMS"), PduLines::None, Prompt::NotExpected)
            }
            Command::StorageQuery | Command::SelectStorage(_) => {
                (Some("+CPMS"), PduLines::None, Prompt::NotExpected)
            }
            Command::SmscQuery => (Some("+CSCA"), PduLines::None, Prompt::NotExpected),
            Command::ListMessages(_) => (
                Some("+CMGL"),
                PduLines::AfterEachResponse,
                Prompt::NotExpected,
            ),
            Command::ReadMessage(_) => (
                Some("+CMGR"),
                PduLines::AfterEachResponse,
                Prompt::NotExpected,
            ),
            Command::SendPdu { .. } => (Some("+CMGS"), PduLines::None, Prompt::Expected),
            Command::SignalQuality => (Some("+CSQ"), PduLines::None, Prompt::NotExpected),
            Command::Registration => (Some("+CREG"), PduLines::None, Prompt::NotExpected),
            Command::Operator => (Some("+COPS"), PduLines::None, Prompt::NotExpected),
            // These answer in free text; some modems put their own prefix in front.
            Command::Manufacturer
            | Command::Model
            | Command::Revision
            | Command::SerialNumber
            | Command::Identify
            | Command::Raw(_) => (None, PduLines::None, Prompt::NotExpected),
            _ => (None, PduLines::None, Prompt::NotExpected),
        };
        Expectation {
            command: self.text(),
            prefix: prefix.map(str::to_owned),
            pdu,
            prompt,
        }
    }

    /// The per-command time budget class; the driver maps it to configured durations.
    pub fn duration_class(&self) -> DurationClass {
        match self {
            // The network round trip to the SMSC: seconds on GSM, tens under load.
            Command::SendPdu { .. } => DurationClass::Network,
            // Scanning the SIM, registering, entering a PIN: slow on old SIMs.
            Command::ListMessages(_)
            | Command::EnterPin(_)
            | Command::Operator
            | Command::SelectStorage(_)
            | Command::StorageQuery
            | Command::SetFunctionality(_) => DurationClass::Slow,
            _ => DurationClass::Quick,
        }
    }

    /// The text to log. A PIN is never logged.
    pub fn log_text(&self) -> String {
        match self {
            Command::EnterPin(_) => "AT+CPIN=\"****\"".into(),
            other => other.text(),
        }
    }
}

/// How long a command may reasonably take; see [`Command::duration_class`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationClass {
    Quick,
    Slow,
    Network,
}

/// The bytes written after the `> ` prompt: the PDU in hex (SMSC field included, `00`
/// for "use the SIM's SMSC") followed by Ctrl-Z.
pub fn pdu_body(pdu_hex: &str) -> Result<Vec<u8>, CommandError> {
    if pdu_hex.len() % 2 != 0
        || !pdu_hex.bytes().all(|b| b.is_ascii_hexdigit())
        || pdu_hex.is_empty()
    {
        return Err(CommandError::InvalidPduHex(pdu_hex.len()));
    }
    let mut body = pdu_hex.to_ascii_uppercase().into_bytes();
    body.push(CTRL_Z);
    Ok(body)
}

/// Checks a TPDU length for `AT+CMGS` (TS 23.040: at most 164 octets with a UDH).
pub fn send_pdu(tpdu_length: usize) -> Result<Command, CommandError> {
    if !(1..=164).contains(&tpdu_length) {
        return Err(CommandError::InvalidTpduLength(tpdu_length));
    }
    Ok(Command::SendPdu { tpdu_length })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_texts() {
        let commands = [
            Command::EchoOff,
            Command::ReportErrors(ErrorReporting::Numeric),
            Command::EnterPin(Pin::new("1234").unwrap()),
            Command::NewMessageIndication(NewMessageIndication::STORE_AND_NOTIFY),
            Command::NewMessageIndication(NewMessageIndication::ROUTE_DIRECTLY),
            Command::SelectStorage(StorageSelection {
                read_delete: "SM".into(),
                write_send: "SM".into(),
                receive: "SM".into(),
            }),
            Command::SetSmsc(SmscNumber::new("+447785016005").unwrap()),
            Command::ListMessages(ListFilter::All),
            Command::DeleteMessage {
                index: 3,
                scope: DeleteScope::Index,
            },
            Command::DeleteMessage {
                index: 0,
                scope: DeleteScope::AllRead,
            },
            Command::SendPdu { tpdu_length: 23 },
            Command::MoreMessages(MoreMessages::KeepOpen),
            Command::CallerIdPresentation(CallerId::Shown),
            Command::SetFunctionality(Functionality::Full),
        ];
        let texts: Vec<String> = commands.iter().map(Command::text).collect();
        expect_test::expect![[r#"
            [
                "ATE0",
                "AT+CMEE=1",
                "AT+CPIN=\"1234\"",
                "AT+CNMI=2,1,0,2,0",
                "AT+CNMI=2,2,0,1,0",
                "AT+CPMS=\"SM\",\"SM\",\"SM\"",
                "AT+CSCA=\"+447785016005\",145",
                "AT+CMGL=4",
                "AT+CMGD=3",
                "AT+CMGD=0,1",
                "AT+CMGS=23",
                "AT+CMMS=2",
                "AT+CLIP=1",
                "AT+CFUN=1",
            ]
        "#]]
        .assert_debug_eq(&texts);
    }

    #[test]
    fn arguments_are_checked() {
        assert_eq!(
            Pin::new("12a4").unwrap_err().to_string(),
            "a SIM PIN is 4 to 8 digits, got 4 characters with non-digits"
        );
        assert_eq!(
            Pin::new("123").unwrap_err().to_string(),
            "a SIM PIN is 4 to 8 digits, got 3 characters"
        );
        assert!(SmscNumber::new("+44\",1\r").is_err());
        assert_eq!(pdu_body("00ab").unwrap(), b"00AB\x1a");
        assert!(pdu_body("0").is_err());
        assert_eq!(
            send_pdu(165).unwrap_err().to_string(),
            "a TPDU is 1 to 164 octets, got 165"
        );
        assert_eq!(format!("{:?}", Pin::new("1234").unwrap()), "Pin(****)");
        assert_eq!(
            Command::EnterPin(Pin::new("1234").unwrap()).log_text(),
            "AT+CPIN=\"****\""
        );
    }
}
