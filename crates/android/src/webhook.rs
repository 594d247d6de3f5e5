//! What the phone tells us by itself: webhook requests, read into a [`Webhook`] holding a
//! [`WebhookEvent`]; their signature ([`verify_signature`]); the body that registers a
//! webhook ([`registration_body`]); and a [`DedupKey`] for received texts.
//!
//! The contract, as implemented by the app v1.68.0 (capcom6/android-sms-gateway, commit
//! 0cdc5d86c6f3cc24101f27feefd926e801e8b2c7, under `app/src/main/java/me/capcom/smsgateway/
//! modules/webhooks/`) and described at docs.sms-gate.app, features/webhooks:
//!
//! - The phone itself sends every webhook, in every mode: a `POST` of JSON to the
//!   registered URL, which must be `https://` or `http://127.0.0.1…`
//!   (`WebHooksService.replace`). A 2xx within 30 s is success; anything else is retried
//!   with exponential back-off, 14 retries by default (docs).
//! - Envelope (`domain/WebHookEventDTO.kt`): `id` (new for each event and webhook, the same
//!   on every retry), `webhookId`, `event`, `deviceId`, `payload`.
//! - Events (`domain/WebHookEvent.kt`): `sms:received`, `sms:data-received`, `sms:sent`,
//!   `sms:delivered`, `sms:failed`, `sms:cancelled`, `system:ping`, `mms:received`,
//!   `mms:downloaded`, `app:started`. The server also knows batch events
//!   (`sms:batch:received` …) that this app version does not send.
//! - Payloads (`payload/SmsEventPayload.kt`, `payload/MessageEventPayload.kt`): every SMS
//!   event has `messageId`, `sender`, `recipient`, `simNumber` (nullable) and the deprecated
//!   `phoneNumber` (the sender for received texts, the recipient for sent ones; the only
//!   number before app v1.54.0, so it is read when `sender`/`recipient` is absent). Then
//!   `sms:received` has `message`, `receivedAt`; `sms:sent` has `partsCount` (−1 when
//!   unknown), `sentAt`; `sms:delivered` `deliveredAt`; `sms:failed` `failedAt`, `reason`;
//!   `sms:cancelled` `cancelledAt`; `system:ping` has `health`.
//! - Times are written `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` in the phone's time zone.
//! - `sms:delivered` comes once per part of a long text; `sms:sent` once per message.
//! - The `messageId` of a received text is not an identity: see [`DedupKey`].

mod dedup;
mod signature;
#[cfg(test)]
mod tests;

use chrono::{DateTime, FixedOffset};

use crate::json::{self, ParseError};
use crate::send::{ClientId, RequestError, SimNumber};

pub use dedup::DedupKey;
pub use signature::{
    sign, verify_signature, SignatureError, RECOMMENDED_TOLERANCE, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};

/// One webhook request: the envelope and its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    Received(ReceivedSms),
    Sent(SentSms),
    Delivered(DeliveredSms),
    Failed(FailedSms),
    Cancelled(CancelledSms),
    /// `system:ping`: the phone is alive (sent every N seconds when Ping is on).
    Ping {
        health: Option<HealthStatus>,
    },
    /// An event this crate does not read (`sms:data-received`, `mms:*`, `app:started`, or
    /// one added later), kept by name so the caller can acknowledge and log it.
    Unknown(String),
}

/// A webhook request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// The envelope's `id`: one per event and registered webhook, unchanged across the
    /// app's retries, so it identifies a delivery (not a message). The app always sends
    /// it; it is optional here because the docs' abbreviated sample (features/
    /// status-tracking) leaves it out and nothing else depends on it.
    pub id: Option<String>,
    pub webhook_id: Option<String>,
    pub device_id: Option<String>,
    pub event: WebhookEvent,
}

/// `sms:received`: a text arrived on the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSms {
    /// The app's id for it: a 32-bit hash of its content, so not unique (see [`DedupKey`]).
    pub message_id: String,
    /// Who sent it, as the network gave it (not necessarily E.164: short codes, names).
    pub sender: String,
    /// The phone's own number on the receiving SIM, when Android knows it.
    pub recipient: Option<String>,
    pub text: String,
    /// When it was sent, by the message centre's time stamp, in the phone's time zone.
    pub received_at: DateTime<FixedOffset>,
    pub sim: Option<SimNumber>,
}

/// `sms:sent`: every part of one of our messages was accepted by the message centre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// Our id (the `id` of the [`crate::send::SendRequest`]).
    pub message_id: String,
    pub recipient: String,
    /// The phone's own number, when Android knows it.
    pub sender: Option<String>,
    pub sim: Option<SimNumber>,
    /// How many parts the text took; `None` when the app did not know (it writes −1).
    pub parts_count: Option<u32>,
    pub sent_at: DateTime<FixedOffset>,
}

/// `sms:delivered`: a delivery report for one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredSms {
    pub message_id: String,
    pub recipient: String,
    pub sender: Option<String>,
    pub sim: Option<SimNumber>,
    pub delivered_at: DateTime<FixedOffset>,
}

/// `sms:failed`: sending or delivery failed, for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSms {
    pub message_id: String,
    pub recipient: String,
    pub sender: Option<String>,
    pub sim: Option<SimNumber>,
    pub failed_at: DateTime<FixedOffset>,
    /// The app's words (`TTL expired`, `RESULT_ERROR_GENERIC_FAILURE …`, or `Unknown`).
    pub reason: String,
}

/// `sms:cancelled`: a pending message was cancelled before any part was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelledSms {
    pub message_id: String,
    pub recipient: String,
    pub sender: Option<String>,
    pub sim: Option<SimNumber>,
    pub cancelled_at: DateTime<FixedOffset>,
}

/// The overall `status` of a ping's `health` (docs, features/health).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    Pass,
    Warn,
    Fail,
}

/// The events a webhook can be registered for that this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookKind {
    SmsReceived,
    SmsSent,
    SmsDelivered,
    SmsFailed,
    SmsCancelled,
    SystemPing,
}

impl WebhookKind {
    pub const ALL: [WebhookKind; 6] = [
        WebhookKind::SmsReceived,
        WebhookKind::SmsSent,
        WebhookKind::SmsDelivered,
        WebhookKind::SmsFailed,
        WebhookKind::SmsCancelled,
        WebhookKind::SystemPing,
    ];

    /// The event's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::SmsReceived => "sms:received",
            WebhookKind::SmsSent => "sms:sent",
            WebhookKind::SmsDelivered => "sms:delivered",
            WebhookKind::SmsFailed => "sms:failed",
            WebhookKind::SmsCancelled => "sms:cancelled",
            WebhookKind::SystemPing => "system:ping",
        }
    }
}

/// The body that registers `url` for `event` under our `id` (`POST` to
/// [`crate::send::ApiMode::webhooks_path`]; answered `201`). Registering the same id
/// again replaces the registration, so this is safe to repeat at every start. One
/// registration covers one event.
///
/// The URL is checked as the app checks it: `https://`, or plain `http://` only to
/// `127.0.0.1` (the app's "insecure" build allows any `http://`; not supported here).
pub fn registration_body(
    id: &ClientId,
    url: &str,
    event: WebhookKind,
) -> Result<Vec<u8>, RequestError> {
    let refuse = |reason| RequestError::BadWebhookUrl {
        url: url.to_owned(),
        reason,
    };
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(host, _port)| host);
        if host != "127.0.0.1" {
            return Err(refuse(
                "plain http is accepted only to 127.0.0.1; use https",
            ));
        }
        rest
    } else {
        return Err(refuse("must start with https://"));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(refuse("has no host"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("contains spaces or control characters"));
    }
    let body = serde_json::json!({
        "id": id.as_str(),
        "url": url,
        "event": event.as_str(),
    });
    Ok(serde_json::to_vec(&body).unwrap_or_default())
}

impl Webhook {
    /// Reads a webhook request's body. Verify its signature first ([`verify_signature`]),
    /// over these same bytes.
    pub fn parse(body: &[u8]) -> Result<Webhook, ParseError> {
        let document = json::document(body)?;
        let root = json::object(&document, "")?;
        let id = root.opt_str("id")?.map(str::to_owned);
        let webhook_id = root.opt_str("webhookId")?.map(str::to_owned);
        let device_id = root.opt_str("deviceId")?.map(str::to_owned);
        let name = root.str("event")?;

        let event = match name {
            "sms:received" => WebhookEvent::Received(received(payload(root)?)?),
            "sms:sent" => WebhookEvent::Sent(sent(payload(root)?)?),
            "sms:delivered" => {
                let p = payload(root)?;
                let common = Outbound::read(p)?;
                WebhookEvent::Delivered(DeliveredSms {
                    message_id: common.message_id,
                    recipient: common.recipient,
                    sender: common.sender,
                    sim: common.sim,
                    delivered_at: p.time("deliveredAt")?,
                })
            }
            "sms:failed" => {
                let p = payload(root)?;
                let common = Outbound::read(p)?;
                WebhookEvent::Failed(FailedSms {
                    message_id: common.message_id,
                    recipient: common.recipient,
                    sender: common.sender,
                    sim: common.sim,
                    failed_at: p.time("failedAt")?,
                    reason: p.str("reason")?.to_owned(),
                })
            }
            "sms:cancelled" => {
                let p = payload(root)?;
                let common = Outbound::read(p)?;
                WebhookEvent::Cancelled(CancelledSms {
                    message_id: common.message_id,
                    recipient: common.recipient,
                    sender: common.sender,
                    sim: common.sim,
                    cancelled_at: p.time("cancelledAt")?,
                })
            }
            "system:ping" => WebhookEvent::Ping {
                health: ping_health(root)?,
            },
            other => WebhookEvent::Unknown(other.to_owned()),
        };

        Ok(Webhook {
            id,
            webhook_id,
            device_id,
            event,
        })
    }
}

fn payload<'a>(root: json::Obj<'a>) -> Result<json::Obj<'a>, ParseError> {
    json::object(root.required("payload")?, "payload")
}

fn sim(p: json::Obj<'_>) -> Result<Option<SimNumber>, ParseError> {
    match p.opt_i64("simNumber")? {
        None => Ok(None),
        Some(n) => u8::try_from(n)
            .ok()
            .and_then(SimNumber::new)
            .map(Some)
            .ok_or_else(|| ParseError::Invalid {
                field: p.path_of("simNumber"),
                reason: format!("{n} is not a SIM number (they start at 1)"),
            }),
    }
}

fn received(p: json::Obj<'_>) -> Result<ReceivedSms, ParseError> {
    Ok(ReceivedSms {
        message_id: p.str("messageId")?.to_owned(),
        sender: p.str_or(&["sender", "phoneNumber"])?.to_owned(),
        recipient: p.opt_str("recipient")?.map(str::to_owned),
        text: p.str("message")?.to_owned(),
        received_at: p.time("receivedAt")?,
        sim: sim(p)?,
    })
}

fn sent(p: json::Obj<'_>) -> Result<SentSms, ParseError> {
    let common = Outbound::read(p)?;
    let parts_count =
        match p.opt_i64("partsCount")? {
            None | Some(-1) => None,
            Some(n) => Some(u32::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                ParseError::Invalid {
                    field: p.path_of("partsCount"),
                    reason: format!("{n} parts"),
                }
            })?),
        };
    Ok(SentSms {
        message_id: common.message_id,
        recipient: common.recipient,
        sender: common.sender,
        sim: common.sim,
        parts_count,
        sent_at: p.time("sentAt")?,
    })
}

/// What every event about one of our messages carries.
struct Outbound {
    message_id: String,
    recipient: String,
    sender: Option<String>,
    sim: Option<SimNumber>,
}

impl Outbound {
    fn read(p: json::Obj<'_>) -> Result<Outbound, ParseError> {
        Ok(Outbound {
            message_id: p.str("messageId")?.to_owned(),
            recipient: p.str_or(&["recipient", "phoneNumber"])?.to_owned(),
            sender: p.opt_str("sender")?.map(str::to_owned),
            sim: sim(p)?,
        })
    }
}

/// A ping's health is informative only: an unknown status word reads as `None`, but a
/// value of the wrong JSON type is still an error, as everywhere else.
fn ping_health(root: json::Obj<'_>) -> Result<Option<HealthStatus>, ParseError> {
    let Some(p) = root.opt_object("payload", "payload")? else {
        return Ok(None);
    };
    let Some(health) = p.opt_object("health", "payload.health")? else {
        return Ok(None);
    };
    Ok(match health.opt_str("status")? {
        Some("pass") => Some(HealthStatus::Pass),
        Some("warn") => Some(HealthStatus::Warn),
        Some("fail") => Some(HealthStatus::Fail),
        _ => None,
    })
}
