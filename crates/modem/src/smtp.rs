//! The legacy e-mail-to-SMS driver: a text becomes a plain-text e-mail to the recipient's
//! carrier gateway (`<national digits>@<carrier gateway domain>`), handed to an SMTP relay.
//!
//! This module owns the SMTP side only: building the message, talking to the relay
//! (through `lettre`), classifying its answers. Which address reaches a number is not its
//! business: guessing a carrier from a number is impossible (numbers are ported between
//! carriers), and which carriers exist and when their gateways closed is the alert
//! service's knowledge (the members' registrations and the carrier table). So the driver is
//! given a [`CarrierDirectory`] that answers with the e-mail address for a number, or why
//! there is none; its [`SmsDriver::send`] takes the recipient and the text an
//! [`OutgoingSms`] carries beside its PDUs, asks the directory and sends one e-mail. Behind
//! the outbox it works like any modem. A number the directory has no address for is a
//! final error; without a directory every send is. Callers that already know the address
//! may use [`SmtpDriver::send_email`].
//!
//! Most carriers have shut their gateways down (docs/smtp-legacy.md has the dates), so
//! this is a legacy path kept for carriers that still run one; modems are the primary path.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::driver::{
    ErrorClass, HealthChange, MessageReference, ModemEvent, ModemEvents, OutgoingSms, SendError,
    SendFailure, SmsDriver, StatusError,
};
use crate::status::ModemStatus;

/// The longest text accepted when the configuration names no other: the alerts' default
/// hard limit (`textgate_alerts::ComposeLimits`), which the daemon passes on when it differs.
pub const DEFAULT_HARD_LIMIT: usize = 140;

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
    /// Longest text accepted, in characters (the alerts' hard limit, 140 by default):
    /// gateways cut or split longer mail unpredictably.
    pub hard_limit: usize,
    /// Bound on connecting, on each SMTP command, and on a whole send.
    pub timeout: Duration,
}

impl SmtpConfig {
    /// A plain-SMTP configuration with the defaults: the alerts' default hard limit, a 30 s
    /// timeout.
    pub fn new(relay: impl Into<String>, port: u16, from: impl Into<String>) -> SmtpConfig {
        SmtpConfig {
            relay: relay.into(),
            port,
            security: SmtpSecurity::Plain,
            from: from.into(),
            credentials: None,
            hard_limit: DEFAULT_HARD_LIMIT,
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

/// Where the e-mail path sends a text for one number: the address of the number's carrier
/// gateway, or why there is none. The alert service answers from the members' registrations
/// (found by the keyed blind index of the number, never by searching plaintext numbers) and
/// its carrier table.
#[async_trait]
pub trait CarrierDirectory: Send + Sync {
    /// The e-mail address (`2015550123@vtext.com`) that reaches `number` (E.164) as a text.
    async fn email_address(&self, number: &str) -> Result<String, DirectoryError>;
}

/// Why the directory gave no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The directory could not answer (its database is unreachable, say); the text waits.
    #[error("cannot look up the recipient's carrier: {0}")]
    Unavailable(String),
    /// No e-mail address reaches the number (no member chose a carrier for it, the carrier's
    /// gateway has closed, ...): asking again gives the same answer. The text says why.
    #[error("{0}")]
    NoAddress(String),
}

/// Why one text was not handed to the relay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpSendError {
    /// [`SmsDriver::send`] on a driver without a [`CarrierDirectory`]: the e-mail path
    /// cannot work from a number alone.
    #[error("the e-mail-to-SMS path needs the recipient's carrier, which a phone number does not tell, and this driver has no directory of the members' carriers (configure [alerts])")]
    NeedsCarrier,
    /// The directory has no address for the recipient; the reason is its own.
    #[error("{reason}")]
    NoAddress { reason: String },
    #[error("cannot look up the recipient's carrier: {reason}")]
    Directory { reason: String },
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
            | Self::NoAddress { .. }
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
            hard_limit: config.hard_limit,
            relay,
            timeout: config.timeout,
        })
    }

    /// Lets [`SmsDriver::send`] work: it asks `directory` for each recipient's address.
    pub fn with_directory(mut self, directory: Arc<dyn CarrierDirectory>) -> SmtpDriver {
        self.directory = Some(directory);
        self
    }

    /// Sends a message as one e-mail: its recipient and text as the message carries them
    /// (never decoded from its PDUs), the address from the directory. See [`SmsDriver::send`].
    pub async fn send_sms(&self, message: &OutgoingSms) -> Result<SmtpAccepted, SmtpSendError> {
        let Some(directory) = &self.directory else {
            return Err(SmtpSendError::NeedsCarrier);
        };
        let address =
            directory
                .email_address(&message.recipient)
                .await
                .map_err(|error| match error {
                    DirectoryError::Unavailable(reason) => SmtpSendError::Directory { reason },
                    DirectoryError::NoAddress(reason) => SmtpSendError::NoAddress { reason },
                })?;
        self.send_email(address, &message.text).await
    }

    /// Sends `text` as a plain-text e-mail to `address` (a carrier gateway's address).
    pub async fn send_email(
        &self,
        address: String,
        text: &str,
    ) -> Result<SmtpAccepted, SmtpSendError> {
        let chars = text.chars().count();
        if chars > self.hard_limit {
            return Err(SmtpSendError::TooLong {
                chars,
                limit: self.hard_limit,
            });
        }
        // Gateways turn subject and body into one text; an empty subject keeps the whole
        // length for the body.
        self.send_mail(address, "", text).await
    }

    /// Sends an ordinary plain-text e-mail (an alert's e-mail copy to a member): no length
    /// limit, the subject given.
    pub async fn send_mail(
        &self,
        address: String,
        subject: &str,
        text: &str,
    ) -> Result<SmtpAccepted, SmtpSendError> {
        let to: Mailbox = address
            .parse()
            .map_err(
                |error: lettre::address::AddressError| SmtpSendError::BadAddress {
                    address: address.clone(),
                    reason: error.to_string(),
                },
            )?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
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
    /// One e-mail per message (all its parts), to the address the [`CarrierDirectory`]
    /// gives for the recipient. Without a directory, or for a number it has no address for,
    /// the error is final. An e-mail has no TP-MR, so no references are returned: no status
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

    /// An e-mail relay reports nothing about the phone.
    fn reports_delivery(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn send_errors_keep_their_class_for_the_outbox() {
        let cases = [
            SmtpSendError::NoAddress {
                reason: "no carrier is known for this number; the legacy e-mail path only reaches members who chose one".to_owned(),
            },
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
        assert_eq!(
            SmtpSendError::NoAddress {
                reason: String::new()
            }
            .class(),
            ErrorClass::Final
        );
    }
}
