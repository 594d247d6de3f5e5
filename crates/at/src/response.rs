//! Parsers for the information responses of the commands the driver uses. Each takes the
//! response line as the framer delivered it (`+CSQ: 17,99`) and returns a typed value or
//! an error that says what was wrong.

use std::fmt;

use crate::fields::{self, Field};

/// A response line that did not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected {command} response {line:?}: {problem}")]
pub struct ParseError {
    pub command: &'static str,
    pub line: String,
    pub problem: String,
}

fn fail(command: &'static str, line: &str, problem: impl Into<String>) -> ParseError {
    ParseError {
        command,
        line: line.to_owned(),
        problem: problem.into(),
    }
}

/// Returns the fields after `prefix:`; the prefix is compared case-insensitively.
fn args(command: &'static str, prefix: &str, line: &str) -> Result<Vec<Field>, ParseError> {
    let (name, args) = fields::name_and_args(line);
    if !name.eq_ignore_ascii_case(prefix) || !line.contains(':') {
        return Err(fail(
            command,
            line,
            format!("expected a line starting with {prefix}:"),
        ));
    }
    Ok(fields::split(args))
}

fn number(
    command: &'static str,
    line: &str,
    fields: &[Field],
    position: usize,
    what: &str,
) -> Result<u32, ParseError> {
    fields.get(position).and_then(Field::number).ok_or_else(|| {
        fail(
            command,
            line,
            format!("field {} ({what}) is not a number", position + 1),
        )
    })
}

/// `+CPIN: <code>`: what the SIM waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimState {
    Ready,
    PinRequired,
    PukRequired,
    /// Any other code (`PH-SIM PIN`, `SIM PIN2`, ...), as reported.
    Other(String),
}

impl fmt::Display for SimState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimState::Ready => f.write_str("ready"),
            SimState::PinRequired => f.write_str("waiting for its PIN"),
            SimState::PukRequired => f.write_str("locked, waiting for its PUK"),
            SimState::Other(code) => write!(f, "waiting for {code}"),
        }
    }
}

pub fn parse_cpin(line: &str) -> Result<SimState, ParseError> {
    let (name, code) = fields::name_and_args(line);
    if !name.eq_ignore_ascii_case("+CPIN") {
        return Err(fail("+CPIN", line, "expected a line starting with +CPIN:"));
    }
    let code = code.trim_matches('"').trim();
    Ok(match code.to_ascii_uppercase().as_str() {
        "READY" => SimState::Ready,
        "SIM PIN" => SimState::PinRequired,
        "SIM PUK" => SimState::PukRequired,
        "" => return Err(fail("+CPIN", line, "no SIM state given")),
        _ => SimState::Other(code.to_owned()),
    })
}

/// `+CSQ: <rssi>,<ber>` (TS 27.007 §8.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalQuality {
    /// 0..=31, `None` for 99 (not known or not detectable).
    pub rssi: Option<u8>,
    /// 0..=7, `None` for 99.
    pub bit_error_rate: Option<u8>,
}

impl SignalQuality {
    /// The received signal strength in dBm: 0 is -113 dBm or less, 31 is -51 dBm or more.
    pub fn dbm(&self) -> Option<i32> {
        self.rssi.map(|rssi| -113 + 2 * i32::from(rssi))
    }
}

pub fn parse_csq(line: &str) -> Result<SignalQuality, ParseError> {
    let fields = args("+CSQ", "+CSQ", line)?;
    let rssi = number("+CSQ", line, &fields, 0, "rssi")?;
    let ber = number("+CSQ", line, &fields, 1, "bit error rate")?;
    let known = |value: u32, max: u32| {
        if value <= max {
            u8::try_from(value).ok()
        } else {
            None
        }
    };
    if rssi > 31 && rssi != 99 {
        return Err(fail(
            "+CSQ",
            line,
            format!("rssi {rssi} is outside 0..=31 and not 99"),
        ));
    }
    Ok(SignalQuality {
        rssi: known(rssi, 31),
        bit_error_rate: known(ber, 7),
    })
}

/// Network registration state (TS 27.007 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStatus {
    NotSearching,
    Home,
    Searching,
    Denied,
    Unknown,
    Roaming,
    /// 6..=10: SMS-only and emergency variants, reported as their number.
    Other(u8),
}

impl RegistrationStatus {
    pub fn is_registered(self) -> bool {
        matches!(
            self,
            RegistrationStatus::Home
                | RegistrationStatus::Roaming
                | RegistrationStatus::Other(6 | 7 | 9 | 10)
        )
    }
}

impl fmt::Display for RegistrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistrationStatus::NotSearching => f.write_str("not registered, not searching"),
            RegistrationStatus::Home => f.write_str("registered on the home network"),
            RegistrationStatus::Searching => f.write_str("searching for a network"),
            RegistrationStatus::Denied => f.write_str("registration denied"),
            RegistrationStatus::Unknown => f.write_str("registration state unknown"),
            RegistrationStatus::Roaming => f.write_str("registered, roaming"),
            RegistrationStatus::Other(code) => write!(f, "registration state {code}"),
        }
    }
}

/// `+CREG: <n>,<stat>[,<lac>,<ci>[,<AcT>]]` in answer to `AT+CREG?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub status: RegistrationStatus,
    pub location_area: Option<String>,
    pub cell: Option<String>,
}

pub fn parse_creg(line: &str) -> Result<Registration, ParseError> {
    let fields = args("+CREG", "+CREG", line)?;
    let stat = number("+CREG", line, &fields, 1, "registration status")?;
    let status = match stat {
        0 => RegistrationStatus::NotSearching,
        1 => RegistrationStatus::Home,
        2 => RegistrationStatus::Searching,
        3 => RegistrationStatus::Denied,
        4 => RegistrationStatus::Unknown,
        5 => RegistrationStatus::Roaming,
        other => RegistrationStatus::Other(
            u8::try_from(other).map_err(|_| fail("+CREG", line, "status out of range"))?,
        ),
    };
    let text = |i: usize| fields.get(i).and_then(Field::text).map(str::to_owned);
    Ok(Registration {
        status,
        location_area: text(2),
        cell: text(3),
    })
}

/// `+COPS: <mode>[,<format>,<oper>[,<AcT>]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSelection {
    pub mode: u32,
    /// `None` when not registered.
    pub name: Option<String>,
    pub access_technology: Option<u32>,
}

pub fn parse_cops(line: &str) -> Result<OperatorSelection, ParseError> {
    let fields = args("+COPS", "+COPS", line)?;
    let mode = number("+COPS", line, &fields, 0, "mode")?;
    let name = fields.get(2).and_then(Field::text).map(str::to_owned);
    Ok(OperatorSelection {
        mode,
        name,
        access_technology: fields.get(3).and_then(Field::number),
    })
}

/// `+CSCA: "<number>",<type>`: the service centre address. An empty number is a real
/// failure seen in the field (messages then fail with `+CMS ERROR: 330`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCentre {
    pub number: Option<String>,
    pub type_of_address: Option<u32>,
}

pub fn parse_csca(line: &str) -> Result<ServiceCentre, ParseError> {
    let fields = args("+CSCA", "+CSCA", line)?;
    let number = fields
        .first()
        .and_then(Field::text)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    Ok(ServiceCentre {
        number,
        type_of_address: fields.get(1).and_then(Field::number),
    })
}

/// One message storage and how full it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageUsage {
    /// The storage name when the modem said it (`AT+CPMS?`), `None` after `AT+CPMS=...`.
    pub storage: Option<String>,
    pub used: u32,
    pub total: u32,
}

impl StorageUsage {
    pub fn is_full(&self) -> bool {
        self.total > 0 && self.used >= self.total
    }
}

/// `+CPMS: "SM",3,10,"SM",3,10,"SM",3,10` (query) or `+CPMS: 3,10,3,10,3,10` (set).
pub fn parse_cpms(line: &str) -> Result<Vec<StorageUsage>, ParseError> {
    let fields = args("+CPMS", "+CPMS", line)?;
    let named = matches!(fields.first(), Some(Field::Quoted(_)));
    let width = if named { 3 } else { 2 };
    if fields.len() < width || fields.len() % width != 0 {
        return Err(fail(
            "+CPMS",
            line,
            format!(
                "expected groups of {width} fields, got {} fields",
                fields.len()
            ),
        ));
    }
    fields
        .chunks(width)
        .enumerate()
        .map(|(i, group)| {
            let base = i * width;
            let storage = if named {
                group.first().and_then(Field::text).map(str::to_owned)
            } else {
                None
            };
            let used = number("+CPMS", line, &fields, base + width - 2, "used")?;
            let total = number("+CPMS", line, &fields, base + width - 1, "total")?;
            Ok(StorageUsage {
                storage,
                used,
                total,
            })
        })
        .collect()
}

/// `+CMGS: <mr>[,<scts>]`: the message reference of a sent message.
pub fn parse_cmgs(line: &str) -> Result<u8, ParseError> {
    let fields = args("+CMGS", "+CMGS", line)?;
    let mr = number("+CMGS", line, &fields, 0, "message reference")?;
    u8::try_from(mr).map_err(|_| {
        fail(
            "+CMGS",
            line,
            format!("message reference {mr} is above 255"),
        )
    })
}

/// `<stat>` of a stored message (PDU mode numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredStatus {
    ReceivedUnread,
    ReceivedRead,
    StoredUnsent,
    StoredSent,
    Other(u32),
}

impl From<u32> for StoredStatus {
    fn from(value: u32) -> StoredStatus {
        match value {
            0 => StoredStatus::ReceivedUnread,
            1 => StoredStatus::ReceivedRead,
            2 => StoredStatus::StoredUnsent,
            3 => StoredStatus::StoredSent,
            other => StoredStatus::Other(other),
        }
    }
}

/// `+CMGL: <index>,<stat>,[<alpha>],<length>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedMessage {
    pub index: u32,
    pub status: StoredStatus,
    pub length: u32,
}

pub fn parse_cmgl(line: &str) -> Result<ListedMessage, ParseError> {
    let fields = args("+CMGL", "+CMGL", line)?;
    let index = number("+CMGL", line, &fields, 0, "index")?;
    let status = number("+CMGL", line, &fields, 1, "status")?.into();
    let last = fields.len().saturating_sub(1).max(2);
    let length = number("+CMGL", line, &fields, last, "length")?;
    Ok(ListedMessage {
        index,
        status,
        length,
    })
}

/// `+CMGR: <stat>,[<alpha>],<length>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMessage {
    pub status: StoredStatus,
    pub length: u32,
}

pub fn parse_cmgr(line: &str) -> Result<ReadMessage, ParseError> {
    let fields = args("+CMGR", "+CMGR", line)?;
    let status = number("+CMGR", line, &fields, 0, "status")?.into();
    let last = fields.len().saturating_sub(1).max(1);
    let length = number("+CMGR", line, &fields, last, "length")?;
    Ok(ReadMessage { status, length })
}

/// `+CSMS: <mt>,<mo>,<bm>`: which message services the modem supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageServiceSupport {
    pub mobile_terminated: bool,
    pub mobile_originated: bool,
    pub broadcast: bool,
}

pub fn parse_csms(line: &str) -> Result<MessageServiceSupport, ParseError> {
    let fields = args("+CSMS", "+CSMS", line)?;
    let flag = |i: usize, what: &str| number("+CSMS", line, &fields, i, what).map(|n| n == 1);
    Ok(MessageServiceSupport {
        mobile_terminated: flag(0, "mobile terminated")?,
        mobile_originated: flag(1, "mobile originated")?,
        broadcast: flag(2, "broadcast")?,
    })
}

/// The free-text answer of `AT+CGMI`, `AT+CGMM`, `AT+CGMR`, `AT+CGSN`: the lines joined,
/// with a `+CGMI:` style prefix removed where a modem adds one.
pub fn identity_text(lines: &[String]) -> Option<String> {
    let parts: Vec<&str> = lines
        .iter()
        .map(|line| {
            let trimmed = line.trim();
            match trimmed.split_once(':') {
                Some((name, value)) if name.starts_with('+') && !name.contains(' ') => {
                    value.trim().trim_matches('"')
                }
                _ => trimmed,
            }
        })
        .filter(|part| !part.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(results: Vec<String>, expected: Expect) {
        expected.assert_eq(&results.join("\n"));
    }

    #[test]
    fn parses_status_responses() {
        check(
            vec![
                format!("{:?}", parse_cpin("+CPIN: READY")),
                format!("{:?}", parse_cpin("+CPIN: SIM PIN")),
                format!("{:?}", parse_cpin("+CPIN: \"SIM PUK\"")),
                format!("{:?}", parse_cpin("+CPIN: PH-SIM PIN")),
                format!("{:?}", parse_csq("+CSQ: 17,99").map(|q| (q, q.dbm()))),
                format!("{:?}", parse_csq("+CSQ: 99,99").map(|q| q.dbm())),
                format!("{:?}", parse_csq("+CSQ: 45,0")),
                format!("{:?}", parse_creg("+CREG: 0,1")),
                format!("{:?}", parse_creg("+CREG: 2,5,\"1A2B\",\"01C3F00D\"")),
                format!("{:?}", parse_cops("+COPS: 0,0,\"Vodafone UK\",7")),
                format!("{:?}", parse_cops("+COPS: 0")),
                format!("{:?}", parse_csca("+CSCA: \"+447785016005\",145")),
                format!("{:?}", parse_csca("+CSCA: \"\",129")),
                format!(
                    "{:?}",
                    parse_cpms("+CPMS: \"SM\",3,10,\"SM\",3,10,\"SM\",3,10")
                ),
                format!(
                    "{:?}",
                    parse_cpms("+CPMS: 10,10,10,10,10,10").map(|u| u[0].is_full())
                ),
                format!("{:?}", parse_cpms("+CPMS: 1,2,3")),
                format!("{:?}", parse_cmgs("+CMGS: 214")),
                format!("{:?}", parse_cmgs("+CMGS: 300")),
                format!("{:?}", parse_cmgl("+CMGL: 3,0,,23")),
                format!("{:?}", parse_cmgr("+CMGR: 1,\"Bob\",40")),
                format!("{:?}", parse_cmgr("+CMGR: x")),
                format!("{:?}", parse_csms("+CSMS: 1,1,1")),
                format!("{:?}", identity_text(&["+CGMI: \"Quectel\"".into()])),
                format!(
                    "{:?}",
                    identity_text(&["Huawei Technologies Co., Ltd.".into()])
                ),
            ],
            expect![[r#"
                Ok(Ready)
                Ok(PinRequired)
                Ok(PukRequired)
                Ok(Other("PH-SIM PIN"))
                Ok((SignalQuality { rssi: Some(17), bit_error_rate: None }, Some(-79)))
                Ok(None)
                Err(ParseError { command: "+CSQ", line: "+CSQ: 45,0", problem: "rssi 45 is outside 0..=31 and not 99" })
                Ok(Registration { status: Home, location_area: None, cell: None })
                Ok(Registration { status: Roaming, location_area: Some("1A2B"), cell: Some("01C3F00D") })
                Ok(OperatorSelection { mode: 0, name: Some("Vodafone UK"), access_technology: Some(7) })
                Ok(OperatorSelection { mode: 0, name: None, access_technology: None })
                Ok(ServiceCentre { number: Some("+447785016005"), type_of_address: Some(145) })
                Ok(ServiceCentre { number: None, type_of_address: Some(129) })
                Ok([StorageUsage { storage: Some("SM"), used: 3, total: 10 }, StorageUsage { storage: Some("SM"), used: 3, total: 10 }, StorageUsage { storage: Some("SM"), used: 3, total: 10 }])
                Ok(true)
                Err(ParseError { command: "+CPMS", line: "+CPMS: 1,2,3", problem: "expected groups of 2 fields, got 3 fields" })
                Ok(214)
                Err(ParseError { command: "+CMGS", line: "+CMGS: 300", problem: "message reference 300 is above 255" })
                Ok(ListedMessage { index: 3, status: ReceivedUnread, length: 23 })
                Ok(ReadMessage { status: ReceivedRead, length: 40 })
                Err(ParseError { command: "+CMGR", line: "+CMGR: x", problem: "field 1 (status) is not a number" })
                Ok(MessageServiceSupport { mobile_terminated: true, mobile_originated: true, broadcast: true })
                Some("Quectel")
                Some("Huawei Technologies Co., Ltd.")"#]],
        );
    }

    #[test]
    fn error_messages_read_well() {
        assert_eq!(
            parse_csq("OK").unwrap_err().to_string(),
            "unexpected +CSQ response \"OK\": expected a line starting with +CSQ:"
        );
    }
}
