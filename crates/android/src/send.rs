//! Sending one text: where to send it ([`ApiMode`]), the JSON body ([`SendRequest`]), and
//! reading what comes back ([`MessageState`], from the send response and from a state
//! look-up alike), plus what an HTTP status means for the caller ([`SendStatusClass`]).
//!
//! The contract, as implemented by the app v1.68.0 (capcom6/android-sms-gateway, commit
//! 0cdc5d86c6f3cc24101f27feefd926e801e8b2c7) and the server v1.47.1
//! (android-sms-gateway/server, commit 22074dda6adc71414a00c3457ee057e4fdde510f):
//!
//! - Local mode: the phone's own server (port 8080 by default), basic auth only. The app
//!   mounts the same routes at `/message` and `/messages` (`modules/localserver/WebService.kt`;
//!   `/messages` exists since app v1.28.0). `POST /messages` answers `202 Accepted` with
//!   the message's state; `GET /messages/{id}` answers `200` with it
//!   (`routes/MessagesRoutes.kt`).
//! - Cloud and private-server mode: `POST {prefix}/3rdparty/v1/messages` and
//!   `GET {prefix}/3rdparty/v1/messages/{id}` (server `handlers/messages/3rdparty.go`),
//!   basic auth or a JWT. The prefix is empty on the cloud (`api.sms-gate.app` rewrites it)
//!   and `/api` on a private server by default (docs.sms-gate.app, getting-started/private-server).
//!   `/3rdparty/v1/message` is a deprecated alias.
//! - Body (`PostMessageRequest.kt`; server `smsgateway.Message`): `id` (ours, at most 36
//!   characters on the server), `textMessage.text` (since app v1.39.0; before it, the
//!   now-deprecated `message`), `phoneNumbers`, `simNumber` (1-based; the docs say 1–3),
//!   `withDeliveryReport` (default true), `ttl` seconds (server minimum 5) or `validUntil`
//!   (never both), `priority` (−128..=127; 100 and above skip the app's delays and limits),
//!   `deviceId` (which phone, server mode).
//! - A second `POST` with an id the phone already holds is refused with `409 Conflict` (a
//!   database constraint in `MessagesService.enqueueMessage`): that is what makes our id an
//!   idempotency key. The server answers `503` when a phone's queue is over its limits.
//! - Response (`domain/messages/Message.kt`; server `smsgateway.GetMessageResponse`): `id`,
//!   `deviceId`, `state`, `recipients[]` of `{phoneNumber, state, error}`, and `states`, a
//!   map from state to the time it was reached. States (`domain/ProcessingState.kt`):
//!   `Pending`, `Cancelling`, `Cancelled`, `Processed`, `Sent`, `Delivered`, `Failed`.

use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::json::{self, ParseError};

#[cfg(test)]
pub(crate) mod tests;

/// Why a request could not be built. Each names the value that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("id {0:?} must be 1 to 36 characters from A-Z, a-z, 0-9, '_' and '-'")]
    BadId(String),
    #[error("device id {0:?} must be 1 to 21 characters from A-Z, a-z, 0-9, '_' and '-'")]
    BadDeviceId(String),
    #[error("recipient {0:?} is not an E.164 number ('+' then 1 to 15 digits, the first not 0)")]
    NotE164(String),
    #[error("SIM number {0} is out of range: the API takes 1 to 3")]
    SimOutOfRange(u8),
    #[error("the text is empty; the app refuses empty texts")]
    EmptyText,
    #[error("the text has {0} characters; the API takes at most 65535")]
    TextTooLong(usize),
    #[error(
        "TTL of {0} s is out of range: the server takes at least 5 s, and we cap it at 10 years"
    )]
    TtlOutOfRange(u64),
    #[error("webhook URL {url:?} refused: {reason}")]
    BadWebhookUrl { url: String, reason: &'static str },
}

/// An id we choose: for a message (our idempotency key) or a webhook registration.
///
/// 1 to 36 characters (the server's limit) from the URL-safe alphabet the app's own ids
/// (NanoID) use, so that the id can go into a path (`/messages/{id}`) without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    pub const MAX_LEN: usize = 36;

    pub fn new(id: &str) -> Result<ClientId, RequestError> {
        if is_id(id, ClientId::MAX_LEN) {
            Ok(ClientId(id.to_owned()))
        } else {
            Err(RequestError::BadId(id.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_id(id: &str, max_len: usize) -> bool {
    !id.is_empty()
        && id.len() <= max_len
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A phone number in E.164 form: `+`, then 1 to 15 digits, the first not `0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    pub fn new(number: &str) -> Result<E164, RequestError> {
        let valid = match number.strip_prefix('+') {
            Some(digits) => {
                (1..=15).contains(&digits.len())
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && !digits.starts_with('0')
            }
            None => false,
        };
        if valid {
            Ok(E164(number.to_owned()))
        } else {
            Err(RequestError::NotE164(number.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A SIM slot as the app numbers them: 1 for the first slot (`simNumber`; the app itself
/// uses `slot index + 1`). Webhooks report whatever the phone has; requests are limited to
/// 1–3 when the request is built, as the docs and the server's schema say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SimNumber(std::num::NonZeroU8);

impl SimNumber {
    /// The highest `simNumber` the API documents for sending.
    pub const MAX_FOR_SENDING: u8 = 3;

    /// `None` for 0: the numbering starts at 1.
    pub fn new(number: u8) -> Option<SimNumber> {
        std::num::NonZeroU8::new(number).map(SimNumber)
    }

    pub fn get(self) -> u8 {
        self.0.get()
    }
}

/// Whether to ask the network for a delivery report (`withDeliveryReport`). Without one a
/// message ends at [`ProcessingState::Sent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryReport {
    #[default]
    Requested,
    NotRequested,
}

/// Which JSON field carries the text. `textMessage` is the current one (app v1.39.0 and
/// later); `message` is deprecated and kept only for older phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextField {
    #[default]
    TextMessage,
    LegacyMessage,
}

/// How long the phone may keep trying, in whole seconds (`ttl`). The app turns it into an
/// absolute `validUntil` on arrival; a message still unsent then ends `Failed` with the
/// error `TTL expired` (`MessagesService.sendMessage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ttl(u64);

impl Ttl {
    /// The server's minimum (`smsgateway.Message.ttl`, `minimum: 5`).
    pub const MIN_SECS: u64 = 5;
    /// Our own ceiling, far below where the app's `ttl * 1000` milliseconds would overflow.
    pub const MAX_SECS: u64 = 10 * 365 * 24 * 60 * 60;

    pub fn from_secs(secs: u64) -> Result<Ttl, RequestError> {
        if (Ttl::MIN_SECS..=Ttl::MAX_SECS).contains(&secs) {
            Ok(Ttl(secs))
        } else {
            Err(RequestError::TtlOutOfRange(secs))
        }
    }

    pub fn as_secs(self) -> u64 {
        self.0
    }
}

/// Where the API lives, which decides every path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiMode {
    /// The phone's own HTTP server ("Local Server" in the app), reached directly.
    Local,
    /// The cloud server or a private server: the phone pulls messages from it and the
    /// API is under `{prefix}/3rdparty/v1`.
    Server { prefix: String },
}

impl ApiMode {
    /// The public cloud (`https://api.sms-gate.app`), whose host already stands for `/api`.
    pub fn cloud() -> ApiMode {
        ApiMode::Server {
            prefix: String::new(),
        }
    }

    /// A private server at its default API path, `/api`.
    pub fn private_server() -> ApiMode {
        ApiMode::with_prefix("/api")
    }

    /// A server whose API is mounted at `prefix` (the server's `http.api.path`, or a
    /// reverse proxy's rewrite). A leading `/` is added and a trailing one dropped.
    pub fn with_prefix(prefix: &str) -> ApiMode {
        let trimmed = prefix.trim_matches('/');
        ApiMode::Server {
            prefix: if trimmed.is_empty() {
                String::new()
            } else {
                format!("/{trimmed}")
            },
        }
    }

    fn root(&self) -> String {
        match self {
            ApiMode::Local => String::new(),
            ApiMode::Server { prefix } => format!("{prefix}/3rdparty/v1"),
        }
    }

    /// Where to `POST` a [`SendRequest`].
    pub fn messages_path(&self) -> String {
        format!("{}/messages", self.root())
    }

    /// Where to `GET` the state of the message with our `id`.
    pub fn message_path(&self, id: &ClientId) -> String {
        format!("{}/messages/{id}", self.root())
    }

    /// Where to `POST` a webhook registration ([`crate::webhook::registration_body`]) and
    /// `GET` the list.
    pub fn webhooks_path(&self) -> String {
        format!("{}/webhooks", self.root())
    }

    /// Where to `DELETE` the webhook registered with `id`.
    pub fn webhook_path(&self, id: &ClientId) -> String {
        format!("{}/webhooks/{id}", self.root())
    }
}

/// One text to one recipient, built with [`SendRequest::builder`] and checked once, so
/// that [`SendRequest::body`] cannot fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    id: ClientId,
    recipient: E164,
    text: String,
    sim: Option<SimNumber>,
    delivery_report: DeliveryReport,
    ttl: Option<Ttl>,
    priority: Option<i8>,
    device_id: Option<String>,
    text_field: TextField,
}

/// Collects a [`SendRequest`]'s optional parts; [`SendRequestBuilder::build`] checks them.
#[derive(Debug, Clone)]
pub struct SendRequestBuilder {
    request: SendRequest,
}

impl SendRequest {
    /// The priority from which the app skips its delays and rate limits
    /// (`Message.PRIORITY_EXPEDITED`; docs, features/sending-messages).
    pub const PRIORITY_EXPEDITED: i8 = 100;

    pub fn builder(id: ClientId, recipient: E164, text: impl Into<String>) -> SendRequestBuilder {
        SendRequestBuilder {
            request: SendRequest {
                id,
                recipient,
                text: text.into(),
                sim: None,
                delivery_report: DeliveryReport::default(),
                ttl: None,
                priority: None,
                device_id: None,
                text_field: TextField::default(),
            },
        }
    }

    pub fn id(&self) -> &ClientId {
        &self.id
    }

    pub fn recipient(&self) -> &E164 {
        &self.recipient
    }

    /// The JSON body for [`ApiMode::messages_path`].
    pub fn body(&self) -> Vec<u8> {
        let text = self.text.as_str();
        let body = SendBody {
            id: self.id.as_str(),
            text_message: (self.text_field == TextField::TextMessage).then_some(TextBody { text }),
            message: (self.text_field == TextField::LegacyMessage).then_some(text),
            phone_numbers: [self.recipient.as_str()],
            sim_number: self.sim.map(SimNumber::get),
            with_delivery_report: self.delivery_report == DeliveryReport::Requested,
            ttl: self.ttl.map(Ttl::as_secs),
            priority: self.priority,
            device_id: self.device_id.as_deref(),
        };
        // Serialising a struct of strings, integers and booleans cannot fail; an empty body
        // would be refused by the phone rather than sent wrong.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl SendRequestBuilder {
    pub fn sim(mut self, sim: SimNumber) -> Self {
        self.request.sim = Some(sim);
        self
    }

    pub fn delivery_report(mut self, report: DeliveryReport) -> Self {
        self.request.delivery_report = report;
        self
    }

    pub fn ttl(mut self, ttl: Ttl) -> Self {
        self.request.ttl = Some(ttl);
        self
    }

    pub fn priority(mut self, priority: i8) -> Self {
        self.request.priority = Some(priority);
        self
    }

    /// Which phone should send it, in server mode with several phones on one account.
    pub fn device_id(mut self, device_id: &str) -> Self {
        self.request.device_id = Some(device_id.to_owned());
        self
    }

    pub fn text_field(mut self, field: TextField) -> Self {
        self.request.text_field = field;
        self
    }

    pub fn build(self) -> Result<SendRequest, RequestError> {
        let request = self.request;
        if request.text.is_empty() {
            return Err(RequestError::EmptyText);
        }
        let chars = request.text.chars().count();
        if chars > 65_535 {
            return Err(RequestError::TextTooLong(chars));
        }
        if let Some(sim) = request.sim {
            if sim.get() > SimNumber::MAX_FOR_SENDING {
                return Err(RequestError::SimOutOfRange(sim.get()));
            }
        }
        if let Some(device_id) = &request.device_id {
            if !is_id(device_id, 21) {
                return Err(RequestError::BadDeviceId(device_id.clone()));
            }
        }
        Ok(request)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SendBody<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text_message: Option<TextBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    phone_numbers: [&'a str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    sim_number: Option<u8>,
    with_delivery_report: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<i8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<&'a str>,
}

#[derive(Serialize)]
struct TextBody<'a> {
    text: &'a str,
}

/// A message's processing state, for the whole message and for each recipient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProcessingState {
    /// Queued; the phone has not taken it yet (server mode) or not sent it yet.
    Pending,
    /// Cancellation asked for (server mode), the phone has not confirmed.
    Cancelling,
    Cancelled,
    /// Handed to Android's SMS API.
    Processed,
    /// Accepted by the message centre.
    Sent,
    /// Delivery report received (only when one was asked for).
    Delivered,
    Failed,
    /// A state this crate does not know, kept as the app wrote it: the list has grown
    /// before (`Cancelling`, `Cancelled`), and one new word should not make a whole
    /// response unreadable.
    Other(String),
}

impl ProcessingState {
    pub fn from_name(name: &str) -> ProcessingState {
        match name {
            "Pending" => ProcessingState::Pending,
            "Cancelling" => ProcessingState::Cancelling,
            "Cancelled" => ProcessingState::Cancelled,
            "Processed" => ProcessingState::Processed,
            "Sent" => ProcessingState::Sent,
            "Delivered" => ProcessingState::Delivered,
            "Failed" => ProcessingState::Failed,
            other => ProcessingState::Other(other.to_owned()),
        }
    }

    /// Whether nothing more will happen. `Sent` is not final when a report was asked for,
    /// though the docs warn it can stay `Sent` for good after a temporary network error.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ProcessingState::Delivered | ProcessingState::Failed | ProcessingState::Cancelled
        )
    }
}

/// What became of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientState {
    /// The number as the phone holds it; for an encrypted message, the first 16
    /// characters of its SHA-256 hash instead (server `smsgateway.RecipientState`).
    pub phone_number: String,
    pub state: ProcessingState,
    /// Why it failed, in the app's words (for example `RESULT_ERROR_GENERIC_FAILURE …`).
    pub error: Option<String>,
}

/// A message as the phone or server reports it: the answer to a send and to a state look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageState {
    pub id: String,
    pub device_id: Option<String>,
    pub state: ProcessingState,
    pub recipients: Vec<RecipientState>,
    /// When each state was reached (`states`), oldest first.
    pub history: Vec<(ProcessingState, DateTime<FixedOffset>)>,
}

impl MessageState {
    /// Reads a `202` answer to a send, or a `200` answer to a state look-up.
    pub fn parse(body: &[u8]) -> Result<MessageState, ParseError> {
        let document = json::document(body)?;
        let root = json::object(&document, "")?;
        let id = root.str("id")?.to_owned();
        let device_id = root.opt_str("deviceId")?.map(str::to_owned);
        let state = ProcessingState::from_name(root.str("state")?);

        let mut recipients = Vec::new();
        for (index, item) in root.array("recipients")?.iter().enumerate() {
            let path = format!("recipients[{index}]");
            let recipient = json::object(item, &path)?;
            recipients.push(RecipientState {
                phone_number: recipient.str("phoneNumber")?.to_owned(),
                state: ProcessingState::from_name(recipient.str("state")?),
                error: recipient.opt_str("error")?.map(str::to_owned),
            });
        }

        let mut history = Vec::new();
        if let Some(states) = root.opt_object("states", "states")? {
            for (name, value) in states.members() {
                let at = match value {
                    serde_json::Value::String(text) => {
                        json::parse_time(text).map_err(|reason| ParseError::Invalid {
                            field: states.path_of(name),
                            reason,
                        })?
                    }
                    other => {
                        return Err(ParseError::WrongType {
                            field: states.path_of(name),
                            expected: "a string",
                            found: json::kind(other),
                        })
                    }
                };
                history.push((ProcessingState::from_name(name), at));
            }
        }
        history.sort_by_key(|(_, at)| *at);

        Ok(MessageState {
            id,
            device_id,
            state,
            recipients,
            history,
        })
    }

    /// The state of `recipient`, found by its number.
    pub fn recipient(&self, recipient: &E164) -> Option<&RecipientState> {
        self.recipients
            .iter()
            .find(|r| r.phone_number == recipient.as_str())
    }
}

/// What an HTTP status from a send means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatusClass {
    /// `202`: queued; the body is a [`MessageState`].
    Accepted,
    /// `409`: a message with our id is already there: an earlier attempt got through, so
    /// look its state up instead of sending again.
    DuplicateId,
    /// `400`: the request was refused as it stands; sending it again will not help.
    Rejected,
    /// `401` or `403`: credentials or scope; an operator has to act.
    Unauthorized,
    /// `503`: the server's queue for the phone is over its limits (server mode); retry later.
    QueueFull,
    /// Another `5xx`, or `408`/`429`: worth retrying later with the same id.
    RetryLater,
    /// Anything else.
    Unexpected,
}

impl SendStatusClass {
    pub fn of(status: u16) -> SendStatusClass {
        match status {
            200..=202 => SendStatusClass::Accepted,
            409 => SendStatusClass::DuplicateId,
            400 => SendStatusClass::Rejected,
            401 | 403 => SendStatusClass::Unauthorized,
            503 => SendStatusClass::QueueFull,
            408 | 429 | 500..=599 => SendStatusClass::RetryLater,
            _ => SendStatusClass::Unexpected,
        }
    }
}

/// The human-readable `message` of an error answer, which both the app
/// (`{"message": …}`) and the server (`smsgateway.ErrorResponse`) write; `None` when the
/// body has none.
pub fn error_message(body: &[u8]) -> Option<String> {
    let document = json::document(body).ok()?;
    let root = json::object(&document, "").ok()?;
    root.opt_str("message").ok().flatten().map(str::to_owned)
}
