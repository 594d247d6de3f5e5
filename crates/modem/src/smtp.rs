//! The legacy e-mail-to-SMS driver: a text becomes a plain-text e-mail to
//! `<national digits>@<carrier gateway domain>`, handed to an SMTP relay.
//!
//! This module owns the SMTP side only: building the message, talking to the relay
//! (through `lettre`), classifying its answers, and refusing carriers whose gateway is
//! gone. Which carriers exist and when their gateways closed is `textgate_alerts::carrier`
//! (one table, shared with the web page that offers carriers to members).
//!
//! Most carriers have shut their gateways down (docs/smtp-legacy.md has the dates), so
//! this is a legacy path kept for carriers that still run one; modems are the primary path.
//!
//! The e-mail address needs the recipient's carrier, and an [`OutgoingSms`] carries only
//! encoded SMS-SUBMIT PDUs (a number and user data, no carrier). Guessing a carrier from a
//! number is impossible (numbers are ported between carriers), so the driver is given a
//! [`CarrierDirectory`] (the members' registrations, looked up by keyed blind index): its
//! [`SmsDriver::send`] decodes the PDUs the outbox built, joins the parts' text, asks the
//! directory for the recipient's carrier and sends one e-mail. Behind the outbox it works
//! like any modem. A number nobody chose a carrier for is a final error; without a
//! directory every send is. Callers that already know the carrier may use
//! [`SmtpDriver::send_to`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use textgate_alerts::carrier::{CarrierError, CarrierTable, GatewayStatus};
use textgate_alerts::{ComposeLimits, MemberNumber};
use textgate_at::ErrorClass;
use textgate_gsm::pdu::{Pdu, SmscField, Tpdu};

use crate::driver::{
    HealthChange, MessageReference, ModemEvent, ModemEvents, OutgoingSms, SendError, SendFailure,
    SmsDriver, StatusError,
};
use crate::status::ModemStatus;

/// How often [`SmtpDriver::watch_relay`] asks the relay whether it answers.
pub const RELAY_CHECK_PERIOD: Duration = Duration::from_secs(60);

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS; the upgrade is required, never skipped.
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: only for a relay on the same host (`127.0.0.1:25`), the common
    /// deployment where the local MTA does the rest.
    Plain,
}

/// SMTP AUTH credentials, already read from wherever the configuration keeps them.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SmtpCredentials {
    // Never print the password (configuration dumps and logs show Debug output).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// What the driver needs; mirrors the daemon's `kind = "smtp"` driver section.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The relay's host name or address.
    pub relay: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Envelope and header sender address.
    pub from: String,
    pub credentials: Option<SmtpCredentials>,
    /// Carriers and their gateway status (see [`load_carrier_table`]).
    pub carriers: CarrierTable,
    /// Longest text accepted, in characters (the alerts' hard limit, 140 by default):
    /// gateways cut or split longer mail unpredictably.
    pub hard_limit: usize,
    /// Bound on connecting, on each SMTP command, and on a whole send.
    pub timeout: Duration,
}

impl SmtpConfig {
    /// A plain-SMTP configuration with the defaults: the built-in carrier table, the
    /// alerts' default hard limit, a 30 s timeout.
    pub fn new(relay: impl Into<String>, port: u16, from: impl Into<String>) -> SmtpConfig {
        SmtpConfig {
            relay: relay.into(),
            port,
            security: SmtpSecurity::Plain,
            from: from.into(),
            credentials: None,
            carriers: CarrierTable::builtin(),
            hard_limit: ComposeLimits::default().hard_limit,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why the driver could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("the sender address {address:?} is not a valid e-mail address: {reason}")]
    From { address: String, reason: String },
    #[error("cannot set up TLS towards {relay}: {reason}")]
    Tls { relay: String, reason: String },
    #[error("the hard limit must be at least 1 character")]
    HardLimit,
}

/// Why the carrier file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CarrierFileError {
    #[error("cannot read the carrier file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the carrier file {path} is not a valid carrier table: {reason}")]
    Parse { path: PathBuf, reason: String },
}

/// Reads a carrier table from a TOML file (the format is in docs/smtp-legacy.md: one
/// `[[carriers]]` table per carrier, dates as quoted `"YYYY-MM-DD"` strings).
pub fn load_carrier_table(path: &Path) -> Result<CarrierTable, CarrierFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| CarrierFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_carrier_table(&text).map_err(|reason| CarrierFileError::Parse {
        path: path.to_owned(),
        reason,
    })
}

fn parse_carrier_table(text: &str) -> Result<CarrierTable, String> {
    toml::from_str(text).map_err(|error| error.message().to_owned())
}

/// Which carrier a member chose for a number, if any: the members' registrations, found by
/// the keyed blind index of the number (never by searching plaintext numbers).
#[async_trait]
pub trait CarrierDirectory: Send + Sync {
    /// The carrier id stored with the registration of `number` (E.164), or `None` when no
    /// member has the number or its member chose no carrier.
    async fn carrier_of(&self, number: &str) -> Result<Option<String>, DirectoryError>;
}

/// The directory could not answer (the database is unreachable, say); the text waits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DirectoryError(pub String);

/// Why one text was not handed to the relay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpSendError {
    /// [`SmsDriver::send`] on a driver without a [`CarrierDirectory`]: the e-mail path
    /// cannot work from a number alone.
    #[error("the e-mail-to-SMS path needs the recipient's carrier, which an encoded SMS does not carry, and this driver has no directory of the members' carriers (configure [alerts])")]
    NeedsCarrier,
    /// The directory knows no carrier for the recipient.
    #[error("no carrier is known for this number; the legacy e-mail path only reaches members who chose one")]
    NoCarrierKnown,
    #[error("cannot look up the recipient's carrier: {reason}")]
    Directory { reason: String },
    /// The parts handed to [`SmsDriver::send`] are not SMS-SUBMIT text to one number.
    #[error("the message cannot be sent as e-mail: {reason}")]
    NotAText { reason: String },
    #[error("{number} is not a mobile number in international form: {reason}")]
    BadNumber { number: String, reason: String },
    #[error("unknown carrier {id:?}: it is not in the carrier table")]
    UnknownCarrier { id: String },
    #[error("{carrier}'s e-mail-to-SMS gateway shut down on {since}; send to this number through a modem instead")]
    GatewayShutDown { carrier: String, since: NaiveDate },
    #[error("{carrier}'s e-mail-to-SMS gateway has shut down (date not published); send to this number through a modem instead")]
    GatewayGone { carrier: String },
    #[error("{carrier} serves numbers with country code +{expected}, this number has +{found}")]
    WrongCountry {
        carrier: String,
        expected: u16,
        found: u16,
    },
    #[error("the text has {chars} characters, more than the hard limit of {limit}")]
    TooLong { chars: usize, limit: usize },
    #[error("{address:?} is not a valid e-mail address: {reason}")]
    BadAddress { address: String, reason: String },
    /// The relay answered with an error code: 4xx is temporary, 5xx permanent.
    #[error("the relay refused mail to {address}: {reply}")]
    Refused {
        address: String,
        /// The three-digit SMTP reply code.
        code: u16,
        /// The relay's reply, as lettre reports it.
        reply: String,
    },
    /// No answer in time; the relay may or may not have taken the mail.
    #[error("no answer from the relay {relay} within {timeout:?}; the mail may or may not have been accepted")]
    Timeout { relay: String, timeout: Duration },
    #[error("cannot talk to the relay {relay}: {reason}")]
    Unreachable { relay: String, reason: String },
    #[error("TLS towards the relay {relay} failed: {reason}")]
    Tls { relay: String, reason: String },
    /// The relay lacks something the configuration asks for (STARTTLS, a login method).
    #[error("the relay {relay} does not offer what the configuration asks for: {reason}")]
    Mismatch { relay: String, reason: String },
}

impl SmtpSendError {
    /// Whether sending the same text again later may succeed.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Refused { code, .. } if (400..500).contains(code) => ErrorClass::Retryable,
            // 530 (login required), 534/538 (method too weak / needs TLS), 535 (wrong
            // credentials): about the configuration, not this text; failing the text
            // would lose it and every text after it the same way.
            Self::Refused {
                code: 530 | 534 | 535 | 538,
                ..
            } => ErrorClass::NeedsOperator,
            Self::Timeout { .. } | Self::Unreachable { .. } | Self::Directory { .. } => {
                ErrorClass::Retryable
            }
            // A certificate or protocol mismatch does not fix itself: a person must change
            // the relay or the configuration.
            Self::Tls { .. } | Self::Mismatch { .. } => ErrorClass::NeedsOperator,
            Self::NeedsCarrier
            | Self::NoCarrierKnown
            | Self::NotAText { .. }
            | Self::BadNumber { .. }
            | Self::UnknownCarrier { .. }
            | Self::GatewayShutDown { .. }
            | Self::GatewayGone { .. }
            | Self::WrongCountry { .. }
            | Self::TooLong { .. }
            | Self::BadAddress { .. }
            | Self::Refused { .. } => ErrorClass::Final,
        }
    }
}

/// A text the relay accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpAccepted {
    /// Where it was sent (`5551234567@vtext.com`).
    pub address: String,
    /// The relay's final reply (often carries its queue id).
    pub reply: String,
}

/// The e-mail-to-SMS driver. Cheap to share (`Arc<SmtpDriver>` or `Arc<dyn SmsDriver>`);
/// each send opens its own connection to the relay, so sends do not wait on each other.
///
/// It produces no events: carrier gateways send no replies or delivery reports back.
pub struct SmtpDriver {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// Where [`SmsDriver::send`] finds each recipient's carrier.
    directory: Option<Arc<dyn CarrierDirectory>>,
    from: Mailbox,
    carriers: CarrierTable,
    hard_limit: usize,
    relay: String,
    timeout: Duration,
}

impl std::fmt::Debug for SmtpDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpDriver")
            .field("relay", &self.relay)
            .field("from", &self.from.email.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpDriver {
    /// Builds the driver; nothing is connected until the first send or status query.
    pub fn new(config: SmtpConfig) -> Result<SmtpDriver, SmtpConfigError> {
        if config.hard_limit == 0 {
            return Err(SmtpConfigError::HardLimit);
        }
        let from: Mailbox =
            config
                .from
                .parse()
                .map_err(
                    |error: lettre::address::AddressError| SmtpConfigError::From {
                        address: config.from.clone(),
                        reason: error.to_string(),
                    },
                )?;
        let relay = format!("{}:{}", config.relay, config.port);
        let tls = match config.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::Starttls | SmtpSecurity::Tls => {
                let parameters = TlsParameters::new(config.relay.clone()).map_err(|error| {
                    SmtpConfigError::Tls {
                        relay: relay.clone(),
                        reason: error.to_string(),
                    }
                })?;
                if config.security == SmtpSecurity::Tls {
                    Tls::Wrapper(parameters)
                } else {
                    Tls::Required(parameters)
                }
            }
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.relay.as_str())
                .port(config.port)
                .tls(tls)
                .timeout(Some(config.timeout));
        if let Some(credentials) = config.credentials {
            builder =
                builder.credentials(Credentials::new(credentials.username, credentials.password));
        }
        Ok(SmtpDriver {
            transport: builder.build(),
            directory: None,
            from,
            carriers: config.carriers,
            hard_limit: config.hard_limit,
            relay,
            timeout: config.timeout,
        })
    }

    /// Lets [`SmsDriver::send`] work: it finds each recipient's carrier in `directory`.
    pub fn with_directory(mut self, directory: Arc<dyn CarrierDirectory>) -> SmtpDriver {
        self.directory = Some(directory);
        self
    }

    /// The carriers this driver knows (the members' page should offer the same).
    pub fn carriers(&self) -> &CarrierTable {
        &self.carriers
    }

    /// Sends an encoded message as one e-mail: the recipient and the text come from its
    /// SMS-SUBMIT parts, the carrier from the directory. See [`SmsDriver::send`].
    pub async fn send_sms(&self, message: &OutgoingSms) -> Result<SmtpAccepted, SmtpSendError> {
        let Some(directory) = &self.directory else {
            return Err(SmtpSendError::NeedsCarrier);
        };
        let submission = read_submission(message)?;
        let number = MemberNumber::try_from(submission.recipient.clone()).map_err(|error| {
            SmtpSendError::BadNumber {
                number: submission.recipient.clone(),
                reason: error.to_string(),
            }
        })?;
        let carrier = directory
            .carrier_of(number.as_str())
            .await
            .map_err(|error| SmtpSendError::Directory {
                reason: error.to_string(),
            })?
            .ok_or(SmtpSendError::NoCarrierKnown)?;
        self.send_to(&number, &carrier, &submission.text).await
    }

    /// Sends `text` to `number` through `carrier`'s gateway, judging the gateway by
    /// today's date (UTC).
    pub async fn send_to(
        &self,
        number: &MemberNumber,
        carrier: &str,
        text: &str,
    ) -> Result<SmtpAccepted, SmtpSendError> {
        self.send_to_on(number, carrier, text, Utc::now().date_naive())
            .await
    }

    /// [`SmtpDriver::send_to`] with the day given: a gateway counts as gone from its
    /// shutdown date on.
    pub async fn send_to_on(
        &self,
        number: &MemberNumber,
        carrier: &str,
        text: &str,
        today: NaiveDate,
    ) -> Result<SmtpAccepted, SmtpSendError> {
        let address = self.address_for(number, carrier, today)?;
        let chars = text.chars().count();
        if chars > self.hard_limit {
            return Err(SmtpSendError::TooLong {
                chars,
                limit: self.hard_limit,
            });
        }
        let to: Mailbox = address
            .parse()
            .map_err(
                |error: lettre::address::AddressError| SmtpSendError::BadAddress {
                    address: address.clone(),
                    reason: error.to_string(),
                },
            )?;
        // Gateways turn subject and body into one text; an empty subject keeps the whole
        // length for the body.
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject("")
            .header(ContentType::TEXT_PLAIN)
            .body(text.to_owned())
            .map_err(|error| SmtpSendError::BadAddress {
                address: address.clone(),
                reason: error.to_string(),
            })?;
        // lettre bounds each command; this bounds the whole exchange.
        let sent = tokio::time::timeout(self.timeout, self.transport.send(message)).await;
        match sent {
            Err(_elapsed) => Err(self.timed_out()),
            Ok(Ok(response)) => Ok(SmtpAccepted {
                address,
                reply: format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            }),
            Ok(Err(error)) => Err(self.classify(&address, &error)),
        }
    }

    /// The gateway address for `number` at `carrier`, or why there is none.
    pub fn address_for(
        &self,
        number: &MemberNumber,
        carrier: &str,
        today: NaiveDate,
    ) -> Result<String, SmtpSendError> {
        let entry = self
            .carriers
            .get(carrier)
            .ok_or_else(|| SmtpSendError::UnknownCarrier {
                id: carrier.to_owned(),
            })?;
        // Checked here (before the table's own check) to name the shutdown date.
        if !entry.status.usable_on(today) {
            let name = entry.name.clone();
            return Err(match entry.status {
                GatewayStatus::ShutdownAnnounced { on } => SmtpSendError::GatewayShutDown {
                    carrier: name,
                    since: on,
                },
                GatewayStatus::ShutDown { since: Some(since) } => SmtpSendError::GatewayShutDown {
                    carrier: name,
                    since,
                },
                GatewayStatus::ShutDown { since: None } | GatewayStatus::Active => {
                    SmtpSendError::GatewayGone { carrier: name }
                }
            });
        }
        self.carriers
            .email_address(carrier, number, today)
            .map_err(|error| match error {
                CarrierError::Unknown { id } => SmtpSendError::UnknownCarrier { id },
                CarrierError::GatewayClosed { name } => {
                    SmtpSendError::GatewayGone { carrier: name }
                }
                CarrierError::WrongCountry {
                    name,
                    expected,
                    found,
                } => SmtpSendError::WrongCountry {
                    carrier: name,
                    expected,
                    found,
                },
            })
    }

    /// Reports the relay as the gateway's modem health, checked every
    /// [`RELAY_CHECK_PERIOD`]: ready while it answers, disconnected while not (so /readyz
    /// tells the truth). Runs until the returned stream is dropped.
    pub fn watch_relay(self: Arc<Self>) -> ModemEvents {
        let (events, stream) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut answering = None;
            loop {
                let now = self.check_relay().await.map_err(|e| e.to_string());
                if answering != Some(now.is_ok()) {
                    answering = Some(now.is_ok());
                    let change = match now {
                        Ok(()) => HealthChange::Ready { profile: "smtp" },
                        Err(reason) => HealthChange::Disconnected {
                            reason,
                            retry_in: RELAY_CHECK_PERIOD,
                        },
                    };
                    if events.send(ModemEvent::Health(change)).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(RELAY_CHECK_PERIOD) => {}
                    _ = events.closed() => return,
                }
            }
        });
        stream
    }

    /// Whether the relay answers: connects, greets and sends NOOP.
    pub async fn check_relay(&self) -> Result<(), SmtpSendError> {
        match tokio::time::timeout(self.timeout, self.transport.test_connection()).await {
            Err(_elapsed) => Err(self.timed_out()),
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(SmtpSendError::Unreachable {
                relay: self.relay.clone(),
                reason: "the relay did not accept NOOP".to_owned(),
            }),
            Ok(Err(error)) => Err(self.classify(&self.relay, &error)),
        }
    }

    fn timed_out(&self) -> SmtpSendError {
        SmtpSendError::Timeout {
            relay: self.relay.clone(),
            timeout: self.timeout,
        }
    }

    fn classify(&self, address: &str, error: &lettre::transport::smtp::Error) -> SmtpSendError {
        if error.is_timeout() {
            return self.timed_out();
        }
        if let Some(code) = error.status() {
            // Code's Display is the three digits ("451"); 0 (never seen) would count as final.
            let code = code.to_string().parse::<u16>().unwrap_or(0);
            return SmtpSendError::Refused {
                address: address.to_owned(),
                code,
                reply: error.to_string(),
            };
        }
        if error.is_client() {
            return SmtpSendError::Mismatch {
                relay: self.relay.clone(),
                reason: error.to_string(),
            };
        }
        if error.is_tls() {
            return SmtpSendError::Tls {
                relay: self.relay.clone(),
                reason: error.to_string(),
            };
        }
        SmtpSendError::Unreachable {
            relay: self.relay.clone(),
            reason: error.to_string(),
        }
    }
}

/// What an encoded message says, read back for the e-mail path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Submission {
    /// The destination address as encoded (`+` and digits for an international number).
    recipient: String,
    /// The parts' text joined in sequence order.
    text: String,
}

/// Decodes the SMS-SUBMIT parts of a message: one recipient, text (7-bit or UCS-2), parts
/// joined by their concatenation sequence number.
fn read_submission(message: &OutgoingSms) -> Result<Submission, SmtpSendError> {
    let not_a_text = |reason: String| SmtpSendError::NotAText { reason };
    let total = message.parts.len();
    if total == 0 {
        return Err(not_a_text("it has no parts".to_owned()));
    }
    let mut recipient: Option<String> = None;
    let mut parts: Vec<(u8, String)> = Vec::with_capacity(total);
    for (index, part) in message.parts.iter().enumerate() {
        let at = index + 1;
        let pdu = Pdu::decode(&part.pdu, SmscField::Present)
            .map_err(|error| not_a_text(format!("part {at} of {total}: {error}")))?;
        let Tpdu::Submit(submit) = pdu.tpdu else {
            return Err(not_a_text(format!(
                "part {at} of {total} is not an SMS-SUBMIT"
            )));
        };
        match &recipient {
            None => recipient = Some(submit.recipient.number.clone()),
            Some(first) if *first != submit.recipient.number => {
                return Err(not_a_text(format!(
                    "part {at} of {total} is addressed to another number"
                )))
            }
            Some(_) => {}
        }
        let sequence = submit
            .user_data
            .header
            .as_ref()
            .and_then(|header| header.concatenation())
            .map_or(1, |c| c.sequence);
        let text = submit
            .user_data
            .as_text()
            .ok_or_else(|| not_a_text(format!("part {at} of {total} is 8-bit data, not text")))?;
        parts.push((sequence, text.to_owned()));
    }
    parts.sort_by_key(|(sequence, _)| *sequence);
    Ok(Submission {
        recipient: recipient.unwrap_or_default(),
        text: parts.into_iter().map(|(_, text)| text).collect(),
    })
}

/// The outbox's view of an e-mail that was not sent, with the same retry class.
fn as_send_error(error: &SmtpSendError, total: usize) -> SendError {
    let failure = match (error, error.class()) {
        (SmtpSendError::Timeout { timeout, .. }, _) => SendFailure::Timeout {
            part: 1,
            total,
            timeout: *timeout,
        },
        (_, ErrorClass::Final) => SendFailure::Invalid {
            part: 1,
            total,
            reason: error.to_string(),
        },
        // A relay that refuses logins or TLS needs a person; the text must wait for them,
        // not fail, which is what the outbox does with a path that is unavailable.
        (_, ErrorClass::Retryable | ErrorClass::NeedsOperator) => {
            SendFailure::Unavailable(error.to_string())
        }
    };
    SendError {
        failure,
        accepted: Vec::new(),
    }
}

#[async_trait]
impl SmsDriver for SmtpDriver {
    /// One e-mail per message (all its parts), to the recipient's carrier gateway found in
    /// the [`CarrierDirectory`]. Without a directory, or for a number with no carrier, the
    /// error is final. An e-mail has no TP-MR, so no references are returned: no status
    /// report ever comes back through this path.
    async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError> {
        match self.send_sms(&message).await {
            Ok(accepted) => {
                // Not the address: it holds the member's number, which stays out of logs.
                tracing::debug!(reply = %accepted.reply, "the relay took the mail");
                Ok(Vec::new())
            }
            Err(error) => Err(as_send_error(&error, message.parts.len())),
        }
    }

    /// A subset of [`ModemStatus`]: `model` names the path (`SMTP relay host:port`),
    /// `operator` the relay's reply, `profile` is `smtp`; an unreachable relay is
    /// [`StatusError::Unavailable`]. SIM, signal and storage do not apply and stay `None`.
    async fn status(&self) -> Result<ModemStatus, StatusError> {
        self.check_relay()
            .await
            .map_err(|error| StatusError::Unavailable(error.to_string()))?;
        Ok(ModemStatus {
            model: Some(format!("SMTP relay {}", self.relay)),
            operator: Some("relay answers NOOP".to_owned()),
            profile: Some("smtp"),
            ..ModemStatus::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    use crate::driver::SubmitPart;
    use textgate_gsm::pdu::Address;
    use textgate_gsm::segment::{Segmenter, SubmitOptions};

    fn encoded(to: &str, text: &str) -> OutgoingSms {
        let address = Address::from_number(to).unwrap();
        let pdus = Segmenter::default()
            .submit_pdus(text, 0x42, &address, &SubmitOptions::default())
            .unwrap();
        OutgoingSms::from_pdus(&pdus).unwrap()
    }

    fn show(result: Result<Submission, SmtpSendError>) -> String {
        match result {
            Ok(s) => format!("{} {:?}", s.recipient, s.text),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn submissions_are_read_back_from_their_parts() {
        let long = "Shelter in place. ".repeat(12);
        expect![[r#"+12015550123 "Library closed today.""#]].assert_eq(&show(read_submission(
            &encoded("+12015550123", "Library closed today."),
        )));
        let mut message = encoded("+12015550123", &long);
        assert!(message.parts.len() > 1);
        // Parts in any order come out in sequence; UCS-2 text too.
        message.parts.reverse();
        assert_eq!(read_submission(&message).map(|s| s.text), Ok(long.clone()));
        expect![[r#"+12015550123 "Évacuez 🚒""#]].assert_eq(&show(read_submission(&encoded(
            "+12015550123",
            "Évacuez 🚒",
        ))));
        let mut mixed = encoded("+12015550123", &long);
        mixed.parts[1] = encoded("+12015550199", &long).parts[1].clone();
        expect!["the message cannot be sent as e-mail: part 2 of 2 is addressed to another number"]
            .assert_eq(&show(read_submission(&mixed)));
        expect!["the message cannot be sent as e-mail: it has no parts"]
            .assert_eq(&show(read_submission(&OutgoingSms { parts: Vec::new() })));
        let garbage = OutgoingSms {
            parts: vec![SubmitPart {
                pdu: vec![0x00, 0x01],
                tpdu_length: 1,
            }],
        };
        assert!(matches!(
            read_submission(&garbage),
            Err(SmtpSendError::NotAText { .. })
        ));
    }

    #[test]
    fn send_errors_keep_their_class_for_the_outbox() {
        let cases = [
            SmtpSendError::NoCarrierKnown,
            SmtpSendError::Directory {
                reason: "database down".to_owned(),
            },
            SmtpSendError::Refused {
                address: "a@b".to_owned(),
                code: 535,
                reply: "535 bad credentials".to_owned(),
            },
            SmtpSendError::Timeout {
                relay: "r:25".to_owned(),
                timeout: Duration::from_secs(30),
            },
        ];
        let shown: Vec<String> = cases
            .iter()
            .map(|e| {
                let outbox = as_send_error(e, 2);
                assert_ne!(
                    (e.class() == ErrorClass::Final),
                    (outbox.class() != ErrorClass::Final),
                    "{e}"
                );
                format!("{:?}: {}", outbox.class(), outbox)
            })
            .collect();
        expect![[r#"
            Final: part 1 of 2 is not a valid submission: no carrier is known for this number; the legacy e-mail path only reaches members who chose one
            Retryable: the modem is not available: cannot look up the recipient's carrier: database down
            Retryable: the modem is not available: the relay refused mail to a@b: 535 bad credentials
            Retryable: part 1 of 2: no answer within 30s; it may or may not have been sent"#]]
        .assert_eq(&shown.join("\n"));
    }

    #[test]
    fn error_classes() {
        let refused = |code| SmtpSendError::Refused {
            address: "a@b".to_owned(),
            code,
            reply: String::new(),
        };
        assert_eq!(refused(451).class(), ErrorClass::Retryable);
        assert_eq!(refused(421).class(), ErrorClass::Retryable);
        assert_eq!(refused(550).class(), ErrorClass::Final);
        assert_eq!(refused(554).class(), ErrorClass::Final);
        assert_eq!(refused(535).class(), ErrorClass::NeedsOperator);
        assert_eq!(SmtpSendError::NeedsCarrier.class(), ErrorClass::Final);
    }

    /// The carrier file example in docs/smtp-legacy.md must stay loadable.
    #[test]
    fn documented_carrier_file_parses() {
        let doc = include_str!("../../../docs/smtp-legacy.md");
        let example = doc
            .split("```toml")
            .filter_map(|block| block.split("```").next())
            .find(|block| block.contains("[[carriers]]"))
            .unwrap_or_default();
        let shown = match parse_carrier_table(example) {
            Ok(table) => table
                .all()
                .iter()
                .map(|c| format!("{} {} {:?}", c.id, c.sms_domain, c.status))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(reason) => reason,
        };
        expect![[r#"
            verizon vtext.com ShutdownAnnounced { on: 2027-03-31 }
            att txt.att.net ShutDown { since: Some(2025-06-17) }
            campus sms.campus.example Active"#]]
        .assert_eq(&shown);
    }

    #[test]
    fn carrier_file_parses() {
        let table = parse_carrier_table(
            r#"
[[carriers]]
id = "campus"
name = "Campus Mobile"
country_code = 1
sms_domain = "sms.campus.example"
status = "active"
note = "our own gateway"

[[carriers]]
id = "verizon"
name = "Verizon"
country_code = 1
sms_domain = "vtext.com"
status = "shutdown-announced"
on = "2027-03-31"
note = "full shutdown announced for 31 March 2027"
"#,
        );
        let shown = match table {
            Ok(table) => table
                .all()
                .iter()
                .map(|c| format!("{} {} {:?}", c.id, c.sms_domain, c.status))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(reason) => reason,
        };
        expect![[r#"
            campus sms.campus.example Active
            verizon vtext.com ShutdownAnnounced { on: 2027-03-31 }"#]]
        .assert_eq(&shown);
        let broken = parse_carrier_table("[[carriers]]\nid = \"x\"\n");
        expect![[r#"Err("missing field `name`")"#]].assert_eq(&format!("{broken:?}"));
    }
}
