//! Posting deliveries: lease the due ones, post each with its signature, record what the
//! receiver said, and schedule the next attempt or give up.
//!
//! The lease is the row's `next_attempt_at`, pushed past the attempt's timeout before the
//! post starts: another daemon's dispatcher does not see the row as due until then, and a
//! dispatcher that died mid-post leaves a row that becomes due again by itself. An
//! attempt records its outcome only if the lease is still its own.

use std::time::Duration;

use bytes::Bytes;
use chrono::TimeDelta;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;

use super::data::{self, Claimed, Outcome};
use super::{WebhookPolicy, Webhooks};
use crate::AlertError;

/// Deliveries leased at once; each is posted concurrently with the others.
const BATCH: i64 = 16;

/// Beyond the timeout, how long a lease lasts: the time to record the outcome.
const LEASE_MARGIN: TimeDelta = TimeDelta::seconds(20);

/// The headers every post carries besides `Content-Type`.
pub const EVENT_HEADER: &str = "x-textgate-event";
pub const DELIVERY_HEADER: &str = "x-textgate-delivery";
pub const TIMESTAMP_HEADER: &str = "x-textgate-timestamp";
pub const SIGNATURE_HEADER: &str = "x-textgate-signature";

/// The HTTPS (or loopback HTTP) client webhooks are posted with.
#[derive(Clone)]
pub struct WebhookClient {
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookClient").finish_non_exhaustive()
    }
}

impl Default for WebhookClient {
    fn default() -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            // Plain HTTP only reaches loopback receivers: the configuration refuses other
            // http:// URLs.
            .https_or_http()
            .enable_http1()
            .build();
        WebhookClient {
            http: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `timestamp.body` under `secret`: what
/// `X-Textgate-Signature` carries. The timestamp is signed so that a captured post cannot
/// be replayed later under a fresh one.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length; the error type exists only for fixed-size MACs.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before attempt `attempts + 1`: the first backoff doubled per attempt made,
/// capped, then between half and all of it (jitter, so receivers coming back are not met
/// by every sender at once).
pub fn backoff(policy: &WebhookPolicy, attempts: i32, jitter: f64) -> TimeDelta {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let full = policy
        .first_backoff
        .checked_mul(1 << doublings)
        .unwrap_or(policy.max_backoff)
        .min(policy.max_backoff);
    let millis = full.num_milliseconds() as f64;
    TimeDelta::milliseconds((millis * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as i64)
}

/// What one post got.
struct Answer {
    status: Option<i32>,
    error: Option<String>,
}

impl Webhooks<'_> {
    /// Posts every due delivery (in batches until none is due); returns how many posts
    /// were made.
    pub async fn dispatch_due(&self) -> Result<usize, AlertError> {
        let names: Vec<String> = self.configured().iter().map(|w| w.name.clone()).collect();
        let mut posted = 0;
        loop {
            let now = self.service.now();
            let lease = self.lease();
            let claimed =
                data::claim_due(self.service.database(), &names, now, now + lease, BATCH).await?;
            let count = claimed.len();
            let attempts = claimed.iter().map(|c| self.attempt(c));
            for result in futures::future::join_all(attempts).await {
                result?;
            }
            posted += count;
            if i64::try_from(count).unwrap_or(0) < BATCH {
                return Ok(posted);
            }
        }
    }

    fn lease(&self) -> TimeDelta {
        TimeDelta::from_std(self.policy().timeout).unwrap_or(TimeDelta::seconds(10)) + LEASE_MARGIN
    }

    /// One attempt at one leased delivery.
    async fn attempt(&self, claimed: &Claimed) -> Result<(), AlertError> {
        let policy = self.policy();
        let webhook = self.configured().iter().find(|w| w.name == claimed.webhook);
        let answer = match (webhook, &claimed.payload) {
            (Some(webhook), Some(payload)) => {
                let timestamp = self.service.now().timestamp();
                let body = payload.as_bytes().to_vec();
                let signed = signature(&webhook.secret, timestamp, &body);
                let request = hyper::Request::post(&webhook.url)
                    .header(
                        hyper::header::CONTENT_TYPE,
                        super::WebhookEvent::parse(&claimed.event)
                            .map_or("application/json", super::WebhookEvent::content_type),
                    )
                    .header(hyper::header::USER_AGENT, "textgate-webhooks")
                    .header(EVENT_HEADER, &claimed.event)
                    .header(DELIVERY_HEADER, claimed.id.to_string())
                    .header(TIMESTAMP_HEADER, timestamp.to_string())
                    .header(SIGNATURE_HEADER, signed)
                    .body(Full::new(Bytes::from(body)));
                match request {
                    Ok(request) => {
                        post(&self.service.webhook_client, request, policy.timeout).await
                    }
                    Err(e) => Answer {
                        status: None,
                        error: Some(format!("the request could not be built: {e}")),
                    },
                }
            }
            // Claimed deliveries are pending, and pending ones keep their payload; the
            // arm is for a database edited by hand.
            (_, None) => Answer {
                status: None,
                error: Some("the delivery has no payload".into()),
            },
            (None, _) => return Ok(()),
        };
        let now = self.service.now();
        let outcome = match (&answer.status, &answer.error) {
            (Some(status), None) => Outcome::Delivered { status: *status },
            (status, error) => {
                let error = error
                    .as_deref()
                    .unwrap_or("the receiver did not answer 2xx");
                let out_of_attempts = claimed.attempts >= policy.max_attempts;
                let too_old = now - claimed.created_at >= policy.give_up_after;
                if out_of_attempts || too_old {
                    Outcome::GaveUp {
                        status: *status,
                        error,
                    }
                } else {
                    let wait = backoff(&policy, claimed.attempts, rand::random::<f64>());
                    Outcome::Retry {
                        status: *status,
                        error,
                        at: now + wait,
                    }
                }
            }
        };
        let log_error = answer.error.clone();
        let recorded = data::record(self.service.database(), claimed, outcome, now).await?;
        tracing::info!(
            webhook = %claimed.webhook,
            delivery = claimed.id,
            event = %claimed.event,
            attempt = claimed.attempts,
            status = answer.status,
            error = log_error.as_deref(),
            recorded,
            "webhook attempt"
        );
        Ok(())
    }
}

/// Posts `request` and waits at most `timeout` for the answer's head. `status` is set
/// and `error` is `None` only for a 2xx.
async fn post(
    client: &WebhookClient,
    request: hyper::Request<Full<Bytes>>,
    timeout: Duration,
) -> Answer {
    match tokio::time::timeout(timeout, client.http.request(request)).await {
        Err(_) => Answer {
            status: None,
            error: Some(format!("no answer within {} s", timeout.as_secs_f64())),
        },
        Ok(Err(e)) => Answer {
            status: None,
            error: Some(format!("the post failed: {}", describe(&e))),
        },
        Ok(Ok(response)) => {
            let status = response.status();
            let code = i32::from(status.as_u16());
            if status.is_success() {
                Answer {
                    status: Some(code),
                    error: None,
                }
            } else {
                Answer {
                    status: Some(code),
                    error: Some(format!("the receiver answered {status}")),
                }
            }
        }
    }
}

/// The client error with its causes, which say what actually went wrong (refused
/// connection, certificate, ...).
fn describe(error: &hyper_util::client::legacy::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
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
    fn backoff_doubles_up_to_the_cap_with_jitter_below_it() {
        let policy = WebhookPolicy::default();
        let full: Vec<i64> = (1..=12)
            .map(|a| backoff(&policy, a, 1.0).num_seconds())
            .collect();
        assert_eq!(full, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(backoff(&policy, 3, 0.0).num_milliseconds(), 2000);
        assert_eq!(backoff(&policy, 400, 1.0).num_seconds(), 600);
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 has no dotted inputs; this value is from Python's
        // hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest().
        expect_test::expect![
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        ]
        .assert_eq(&signature("key", 1_700_000_000, b"{}"));
    }
}
