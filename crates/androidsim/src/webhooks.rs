//! Webhooks: registrations (`POST/GET/DELETE /webhooks`), the envelopes the app emits,
//! and their signed delivery with retries.
//!
//! Sources (app v1.68.0): `modules/localserver/routes/WebhooksRoutes.kt`,
//! `modules/webhooks/WebHooksService.kt` (URL rule, upsert by id, one envelope per event
//! and registration with a fresh NanoID), `domain/WebHookDTO.kt`, `domain/WebHookEvent.kt`,
//! `domain/WebHookEventDTO.kt`, `plugins/PayloadSingingPlugin.kt` (signature),
//! `workers/WebhookQueueProcessorWorker.kt` and `db/WebhookQueueRepository.kt` (one
//! envelope at a time in order of due time; a non-2xx answer or an error is retried after
//! `5 s · 2^(n-1)`; `retryCount`, 15 by default, retries; OkHttp timeouts 30 s for the
//! request, 5 s per read).

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, Request};
use bytes::Bytes;
use chrono::Utc;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::config::PhoneConfig;
use crate::messages::nano_id;
use crate::state::{AttemptOutcome, Registration, Shared, State, WebhookAttempt};
use crate::{gson, APP_VERSION};

/// The events of `WebHookEvent.kt` a registration may name.
const EVENTS: &[&str] = &[
    "sms:received",
    "sms:sent",
    "sms:delivered",
    "sms:failed",
    "system:ping",
    "sms:data-received",
    "mms:received",
    "mms:downloaded",
    "app:started",
    "sms:cancelled",
];

/// The events `hold_status_webhooks` keeps back.
const STATUS_EVENTS: &[&str] = &["sms:sent", "sms:delivered", "sms:failed"];

/// The registrations, in the order first made.
#[derive(Debug, Default)]
pub(crate) struct Registrations {
    list: Vec<Registration>,
}

impl Registrations {
    /// Adds or, for a known id, replaces (`WebHooksService.replace`).
    pub fn upsert(&mut self, registration: Registration) {
        match self.list.iter_mut().find(|r| r.id == registration.id) {
            Some(existing) => *existing = registration,
            None => self.list.push(registration),
        }
    }

    /// Removes one; removing an unknown id is not an error (`DELETE` answers 204 anyway).
    pub fn delete(&mut self, id: &str) {
        self.list.retain(|r| r.id != id);
    }

    pub fn all(&self) -> &[Registration] {
        &self.list
    }
}

/// A registration as the API writes it (`WebHookDTO`; its null `deviceId` left out).
pub(crate) fn registration_json(registration: &Registration) -> Value {
    json!({
        "id": registration.id,
        "url": registration.url,
        "event": registration.event,
        "source": "Local",
    })
}

/// Reads a `POST /webhooks` body; `Err` is the 400 answer's `message`.
pub(crate) fn parse_registration(body: &[u8], device_id: &str) -> Result<Registration, String> {
    const CLASS: &str = "me.capcom.smsgateway.modules.webhooks.domain.WebHookDTO";
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("Failed to convert request body to class {CLASS}: {e}"))?;
    let Value::Object(fields) = value else {
        return Err(format!(
            "Failed to convert request body to class {CLASS}: expected a JSON object"
        ));
    };
    let text = |name: &str| -> Result<Option<String>, String> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(format!(
                "Failed to convert request body to class {CLASS}: {name}: expected a string"
            )),
        }
    };
    let id = text("id")?;
    let url = text("url")?;
    let event = text("event")?;
    if text("deviceId")?.is_some_and(|d| d != device_id) {
        return Err("Device ID mismatch".into());
    }
    let url = url
        .filter(|u| url_allowed(u))
        .ok_or_else(|| "url must start with https:// or http://127.0.0.1".to_owned())?;
    // Gson turns an unknown enum name into null, which the service refuses.
    let event = event
        .filter(|e| EVENTS.contains(&e.as_str()))
        .ok_or_else(|| "Unsupported event".to_owned())?;
    Ok(Registration {
        id: id.unwrap_or_else(nano_id),
        url,
        event,
    })
}

/// The app's rule (`WebHooksService.replace`): `URLUtil.isHttpsUrl`, or an `http://` URL
/// whose host is exactly `127.0.0.1` (not `localhost`, not `::1`). The app's "insecure"
/// build flavour also takes any `http://` URL; the release build, simulated here, does not.
fn url_allowed(url: &str) -> bool {
    let starts_with = |prefix: &str| {
        url.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if starts_with("https://") {
        return true;
    }
    if !starts_with("http://") {
        return false;
    }
    let rest = &url["http://".len()..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = host_port.split(':').next().unwrap_or_default();
    host == "127.0.0.1"
}

/// An envelope waiting to be posted.
#[derive(Debug, Clone)]
pub(crate) struct QueuedWebhook {
    pub envelope_id: String,
    pub webhook_id: String,
    pub event: String,
    pub url: String,
    /// The exact bytes posted on every attempt.
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    pub due: tokio::time::Instant,
}

/// Emits `event` with `payload` to every registration for it (`WebHooksService.emit`):
/// one envelope each, with its own id, queued (or held back, for status events while
/// `hold_status_webhooks` is on).
pub(crate) fn emit(st: &mut State, config: &PhoneConfig, event: &str, payload: Value) {
    let targets: Vec<Registration> = st
        .registrations
        .all()
        .iter()
        .filter(|r| r.event == event)
        .cloned()
        .collect();
    for registration in targets {
        let envelope_id = nano_id();
        let mut envelope = Map::new();
        envelope.insert("id".into(), Value::from(envelope_id.as_str()));
        envelope.insert("webhookId".into(), Value::from(registration.id.as_str()));
        envelope.insert("event".into(), Value::from(event));
        envelope.insert("deviceId".into(), Value::from(config.device_id.as_str()));
        envelope.insert("payload".into(), payload.clone());
        let queued = QueuedWebhook {
            envelope_id,
            webhook_id: registration.id,
            event: event.to_owned(),
            url: registration.url,
            body: gson::to_string(&Value::Object(envelope)),
            attempts: 0,
            due: tokio::time::Instant::now(),
        };
        if st.faults.hold_status_webhooks && STATUS_EVENTS.contains(&event) {
            st.held_webhooks.push(queued);
        } else {
            st.webhook_queue.push(queued);
        }
    }
}

/// Queues the held status envelopes, due now, in the order they were emitted.
pub(crate) fn release_held(st: &mut State) {
    let now = tokio::time::Instant::now();
    for mut held in st.held_webhooks.drain(..) {
        held.due = now;
        st.webhook_queue.push(held);
    }
}

/// `X-Signature`: lower-case hex HMAC-SHA256 of the body's bytes followed by the
/// `X-Timestamp` string, keyed with the signing key's UTF-8 bytes.
pub(crate) fn sign(key: &str, body: &[u8], timestamp: &str) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    mac.update(timestamp.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The longest wait between retries, so the arithmetic cannot overflow.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30 * 24 * 3600);

fn retry_delay(base: Duration, retry: u32) -> Duration {
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(MAX_RETRY_DELAY)
}

enum Step {
    Post(QueuedWebhook),
    Wait(tokio::time::Instant),
}

/// Posts queued envelopes one at a time, earliest due first, while online. Runs until
/// shutdown.
pub(crate) async fn run_deliveries(shared: Arc<Shared>) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        // A fresh connection per post: a receiver restarted between posts must not meet
        // a stale pooled connection.
        .pool_max_idle_per_host(0)
        .build_http();
    loop {
        let earliest = |st: &State| {
            (!st.faults.offline)
                .then(|| st.webhook_queue.iter().map(|w| w.due).min())
                .flatten()
        };
        if shared.wait_for(None, earliest).await.is_none() {
            return; // shut down
        }
        let step = shared.update(|st| {
            let now = tokio::time::Instant::now();
            match earliest(st) {
                Some(due) if due <= now => {
                    let index = st
                        .webhook_queue
                        .iter()
                        .position(|w| w.due == due)
                        .unwrap_or(0);
                    Some(Step::Post(st.webhook_queue.remove(index)))
                }
                Some(due) => Some(Step::Wait(due)),
                None => None,
            }
        });
        match step {
            None => continue,
            Some(Step::Wait(due)) => {
                // Until it is due, or something earlier is queued, or the phone goes offline.
                shared
                    .wait_until(due, |st| {
                        (st.faults.offline || earliest(st).is_some_and(|d| d < due)).then_some(())
                    })
                    .await;
                if shared.is_stopped() {
                    return;
                }
            }
            Some(Step::Post(webhook)) => {
                tokio::select! {
                    _ = deliver(&shared, &client, webhook) => {}
                    _ = shared.stopped() => return,
                }
            }
        }
    }
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn deliver(shared: &Shared, client: &HttpClient, mut webhook: QueuedWebhook) {
    let config = &shared.config;
    webhook.attempts = webhook.attempts.saturating_add(1);
    let outcome = post(client, config, &webhook).await;
    let success = outcome.is_success();
    tracing::debug!(
        envelope = %webhook.envelope_id,
        event = %webhook.event,
        url = %webhook.url,
        attempt = webhook.attempts,
        outcome = ?outcome,
        "webhook posted"
    );
    shared.update(|st| st.webhook_log.push(attempt_record(&webhook, outcome)));
    if success {
        if shared.lock().faults.duplicate_webhooks {
            // As if the 2xx had been lost: the same envelope once more.
            webhook.attempts = webhook.attempts.saturating_add(1);
            let outcome = post(client, config, &webhook).await;
            shared.update(|st| st.webhook_log.push(attempt_record(&webhook, outcome)));
        }
        return;
    }
    let retries_done = webhook.attempts - 1;
    if retries_done >= config.webhook_retries {
        tracing::warn!(
            envelope = %webhook.envelope_id,
            event = %webhook.event,
            url = %webhook.url,
            attempts = webhook.attempts,
            "webhook given up after its last retry"
        );
        return;
    }
    webhook.due =
        tokio::time::Instant::now() + retry_delay(config.webhook_retry_base, webhook.attempts);
    shared.update(|st| st.webhook_queue.push(webhook));
}

fn attempt_record(webhook: &QueuedWebhook, outcome: AttemptOutcome) -> WebhookAttempt {
    WebhookAttempt {
        envelope_id: webhook.envelope_id.clone(),
        webhook_id: webhook.webhook_id.clone(),
        event: webhook.event.clone(),
        url: webhook.url.clone(),
        attempt: webhook.attempts,
        outcome,
        body: webhook.body.clone(),
    }
}

async fn post(
    client: &HttpClient,
    config: &PhoneConfig,
    webhook: &QueuedWebhook,
) -> AttemptOutcome {
    // Signed afresh on each attempt, with the time of that attempt.
    let timestamp = Utc::now().timestamp().to_string();
    let signature = sign(&config.signing_key, webhook.body.as_bytes(), &timestamp);
    let request = Request::post(webhook.url.as_str())
        .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
        .header(
            header::USER_AGENT,
            format!("me.capcom.smsgateway/{APP_VERSION}"),
        )
        .header("X-Signature", signature)
        .header("X-Timestamp", timestamp)
        .body(Full::new(Bytes::from(webhook.body.clone())));
    let request = match request {
        Ok(request) => request,
        Err(e) => return AttemptOutcome::Error(format!("invalid request: {e}")),
    };
    match tokio::time::timeout(config.webhook_timeout, client.request(request)).await {
        Err(_) => AttemptOutcome::Error(format!("no answer within {:?}", config.webhook_timeout)),
        Ok(Err(e)) => AttemptOutcome::Error(error_chain(&e)),
        Ok(Ok(response)) => AttemptOutcome::Status(response.status().as_u16()),
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rule_is_the_apps() {
        assert!(url_allowed("https://example.com/hook"));
        assert!(url_allowed("HTTPS://example.com"));
        assert!(url_allowed("http://127.0.0.1:8080/hook"));
        assert!(url_allowed("http://127.0.0.1"));
        assert!(url_allowed("http://user:pw@127.0.0.1:1/x"));
        assert!(!url_allowed("http://localhost:8080/hook"));
        assert!(!url_allowed("http://127.0.0.10/hook"));
        assert!(!url_allowed("http://[::1]:8080/hook"));
        assert!(!url_allowed("http://example.com/hook"));
        assert!(!url_allowed("ftp://127.0.0.1/"));
        assert!(!url_allowed(""));
    }

    #[test]
    fn registration_body() {
        let r = parse_registration(
            br#"{"url":"http://127.0.0.1:9/h","event":"sms:received"}"#,
            "dev",
        )
        .expect("valid");
        assert_eq!(r.id.len(), 21);
        let r = parse_registration(
            br#"{"id":"w1","url":"https://x/h","event":"sms:sent","deviceId":"dev"}"#,
            "dev",
        )
        .expect("valid");
        assert_eq!(r.id, "w1");
        for (body, expected) in [
            (
                &br#"{"url":"https://x","event":"sms:nope"}"#[..],
                "Unsupported event",
            ),
            (
                br#"{"url":"http://localhost/","event":"sms:sent"}"#,
                "url must start",
            ),
            (br#"{"event":"sms:sent"}"#, "url must start"),
            (
                br#"{"url":"https://x","event":"sms:sent","deviceId":"other"}"#,
                "Device ID",
            ),
            (b"nope", "Failed to convert"),
        ] {
            let err = parse_registration(body, "dev").expect_err("refused");
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn signature_vector() {
        // RFC 4231-style check computed independently: HMAC-SHA256(key="key",
        // "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy ", "dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn retry_delays_double() {
        let base = Duration::from_secs(5);
        assert_eq!(retry_delay(base, 1), Duration::from_secs(5));
        assert_eq!(retry_delay(base, 2), Duration::from_secs(10));
        assert_eq!(retry_delay(base, 4), Duration::from_secs(40));
        assert_eq!(retry_delay(base, 60), MAX_RETRY_DELAY);
    }
}
