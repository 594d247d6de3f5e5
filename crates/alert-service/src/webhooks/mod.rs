//! Outbound webhooks: events other systems want, posted to the URLs the sysadmin
//! configured (`[[webhook]]`), signed, retried with backoff, with a delivery log.
//!
//! - Events: `text.received` (a patron's text stored on a gateway; by default only one no
//!   librarian received within `unattended_after`), `text.delivered` and `text.failed`
//!   (a text sent through the send API reaching that final state, as
//!   `GET /api/v1/texts/{id}` reports it).
//! - Nothing is lost: an event becomes a row of `webhook_deliveries` before anything is
//!   posted ([`enqueue`]), keyed by (webhook, event, subject), so the enqueuer can run
//!   every second in every daemon on the database, and again after a restart, without
//!   ever doubling a delivery. A webhook first seen starts from the texts stored after
//!   that moment (`webhook_marks`): configuring one does not replay history.
//! - The dispatcher ([`dispatch`]) leases due deliveries (pushing their next attempt
//!   forward) before posting, so two daemons never post one at the same time; a 2xx
//!   answer delivers, anything else retries with exponential backoff until the policy's
//!   attempts or age run out, and the delivery fails with the last error kept.
//! - Administrators read the log ([`log`]); subscribing is configuration, not an API,
//!   because the payloads carry patrons' texts.

mod data;
pub mod dispatch;
pub mod enqueue;
pub mod log;

use std::time::Duration;

use chrono::TimeDelta;

use crate::AlertService;

/// An event a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebhookEvent {
    /// A patron's text stored on a gateway.
    TextReceived,
    /// A text sent through the send API reached the phone.
    TextDelivered,
    /// A text sent through the send API failed for good.
    TextFailed,
    /// A real alert, update or all clear went out: its CAP 1.2 message (needs
    /// `[alerts.feed]`, which says who the messages are from).
    AlertPublished,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 4] = [
        WebhookEvent::TextReceived,
        WebhookEvent::TextDelivered,
        WebhookEvent::TextFailed,
        WebhookEvent::AlertPublished,
    ];

    /// The name in the configuration, the `X-Textgate-Event` header and the log.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::TextReceived => "text.received",
            WebhookEvent::TextDelivered => "text.delivered",
            WebhookEvent::TextFailed => "text.failed",
            WebhookEvent::AlertPublished => "alert.published",
        }
    }

    /// The media type of the event's body: CAP's own for alerts (as registered with
    /// IANA for CAP 1.2 messages), JSON for the rest.
    pub fn content_type(self) -> &'static str {
        match self {
            WebhookEvent::AlertPublished => "application/cap+xml",
            _ => "application/json",
        }
    }

    pub fn parse(name: &str) -> Option<WebhookEvent> {
        WebhookEvent::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl std::fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which received texts a webhook is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReceivedTexts {
    /// Only texts no librarian had received `unattended_after` after they were stored.
    #[default]
    Unattended,
    /// Every text, as soon as it is stored.
    All,
}

/// One configured webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Unique among the webhooks; the log and the marks are keyed by it, so renaming a
    /// webhook starts it afresh.
    pub name: String,
    /// `https://…`, or `http://` to this host only (the configuration checks it).
    pub url: String,
    /// The HMAC-SHA256 key of `X-Textgate-Signature`.
    pub secret: String,
    pub events: Vec<WebhookEvent>,
    /// The gateways whose texts it is told about; `None` for all.
    pub gateways: Option<Vec<String>>,
    pub received: ReceivedTexts,
    pub unattended_after: TimeDelta,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret signs every post; it never goes to a log.
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("gateways", &self.gateways)
            .field("received", &self.received)
            .field("unattended_after", &self.unattended_after)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    pub fn wants(&self, event: WebhookEvent) -> bool {
        self.events.contains(&event)
    }

    /// Whether texts of `gateway` concern this webhook.
    pub fn covers(&self, gateway: &str) -> bool {
        self.gateways
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == gateway))
    }
}

/// How deliveries are posted and retried: the defaults are the documented ones; tests
/// shrink them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// The wait before the second attempt; it doubles with each attempt after that.
    pub first_backoff: TimeDelta,
    pub max_backoff: TimeDelta,
    /// A delivery not delivered this long after it was enqueued fails.
    pub give_up_after: TimeDelta,
    /// A delivery fails after this many attempts.
    pub max_attempts: i32,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        WebhookPolicy {
            timeout: Duration::from_secs(10),
            first_backoff: TimeDelta::seconds(1),
            max_backoff: TimeDelta::minutes(10),
            give_up_after: TimeDelta::hours(24),
            max_attempts: 20,
        }
    }
}

/// The webhooks (a view of [`AlertService`]).
#[derive(Clone, Copy)]
pub struct Webhooks<'a> {
    pub(crate) service: &'a AlertService,
}

impl Webhooks<'_> {
    fn configured(&self) -> &[Webhook] {
        &self.service.settings().webhooks
    }

    fn policy(&self) -> WebhookPolicy {
        self.service.settings().webhook_policy
    }
}

#[cfg(test)]
mod tests;
