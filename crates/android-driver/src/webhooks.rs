//! The endpoint the phone posts its webhooks to, served on the daemon's HTTP listener at
//! [`crate::webhook_path`].
//!
//! Every request is checked before anything is read from it: the `X-Signature` over the
//! body and `X-Timestamp`, with the gateway's signing key, the time within five minutes of
//! ours (an old request replayed is refused). A request that fails gets `401` and nothing
//! is stored. The answer to a signed request is `2xx` only once what it says is safe: a
//! received text committed to the store (every part of it), a delivery report recorded.
//! Otherwise it is `503` and the app posts it again later, with back-off; the same text
//! posted twice makes the same PDUs, which the store recognises (see `incoming`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use textgate_android::{
    verify_signature, Webhook, WebhookEvent, RECOMMENDED_TOLERANCE, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};
use textgate_modem::{
    DeliveryReceipt, MessageReference, ModemEvent, Origin, ReceiptOutcome, ReceivedPdu,
};
use tracing::Instrument;

use crate::incoming;
use crate::sends::phone_refusal;
use crate::tracker::Phase;
use crate::Shared;

/// How long the endpoint waits for the gateway to store what a webhook says. The app
/// gives up on a request after 30 s (and posts it again later); answering before that
/// keeps its retry count honest.
const STORE_WAIT: Duration = Duration::from_secs(20);

/// The routes of one Android gateway's webhook endpoint.
pub fn router(shared: Arc<Shared>) -> Router {
    let path = crate::webhook_path(&shared.config.gateway);
    Router::new().route(&path, post(receive)).with_state(shared)
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let span = tracing::info_span!("android", gateway = %shared.config.gateway, event = tracing::field::Empty);
    handle(&shared, &headers, &body).instrument(span).await
}

async fn handle(shared: &Arc<Shared>, headers: &HeaderMap, body: &[u8]) -> (StatusCode, String) {
    let header = |name: &str| headers.get(name).map(|v| v.as_bytes());
    if let Err(e) = verify_signature(
        &shared.config.signing_key,
        body,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        Utc::now(),
        RECOMMENDED_TOLERANCE,
    ) {
        tracing::warn!(error = %e, "webhook refused: its signature does not hold");
        return (StatusCode::UNAUTHORIZED, format!("{e}\n"));
    }
    let webhook = match Webhook::parse(body) {
        Ok(webhook) => webhook,
        Err(e) => {
            // Signed by the phone, so not a forgery: an app version that writes something
            // we do not read. Posting it again will not help; it is logged to be looked at.
            tracing::error!(error = %e, body = %String::from_utf8_lossy(body), "a signed webhook that cannot be read; dropped");
            return (StatusCode::BAD_REQUEST, format!("{e}\n"));
        }
    };
    // Anything signed comes from the phone: it is alive.
    shared.liveness.heard();
    match webhook.event {
        WebhookEvent::Received(sms) => {
            tracing::Span::current().record("event", "sms:received");
            let pdus = match incoming::deliver_pdus(&sms) {
                Ok(pdus) => pdus,
                Err(reason) => {
                    tracing::warn!(%reason, sender = %sms.sender, "a received text that cannot be kept; dropped");
                    return (StatusCode::OK, "dropped\n".to_owned());
                }
            };
            let events = pdus
                .into_iter()
                .map(|hex| {
                    let (ack, done) = shared.acks.expect();
                    (
                        ModemEvent::IncomingPart(ReceivedPdu::new(hex, Origin::Routed, ack)),
                        done,
                    )
                })
                .collect();
            stored(shared, events).await
        }
        WebhookEvent::Sent(sent) => {
            tracing::Span::current().record("event", "sms:sent");
            shared.tracker.observe(&sent.message_id, Phase::Sent);
            (StatusCode::OK, "ok\n".to_owned())
        }
        WebhookEvent::Delivered(delivered) => {
            tracing::Span::current().record("event", "sms:delivered");
            shared
                .tracker
                .observe(&delivered.message_id, Phase::Delivered);
            receipt(
                shared,
                &delivered.message_id,
                &delivered.recipient,
                ReceiptOutcome::Delivered,
                "sms:delivered".to_owned(),
            )
            .await
        }
        WebhookEvent::Failed(failed) => {
            tracing::Span::current().record("event", "sms:failed");
            let phase = Phase::Failed(failed.reason.clone());
            if shared.tracker.observe(&failed.message_id, phase) {
                // A send is waiting on it and reports the failure itself.
                return (StatusCode::OK, "ok\n".to_owned());
            }
            let reason = phone_refusal(&failed.reason).reason;
            receipt(
                shared,
                &failed.message_id,
                &failed.recipient,
                ReceiptOutcome::Failed { reason },
                format!("sms:failed {}", failed.reason),
            )
            .await
        }
        WebhookEvent::Cancelled(cancelled) => {
            tracing::Span::current().record("event", "sms:cancelled");
            let phase = Phase::Failed("cancelled on the phone".to_owned());
            shared.tracker.observe(&cancelled.message_id, phase);
            (StatusCode::OK, "ok\n".to_owned())
        }
        WebhookEvent::Ping { health } => {
            tracing::debug!(?health, "ping from the phone");
            (StatusCode::OK, "ok\n".to_owned())
        }
        WebhookEvent::Unknown(name) => {
            tracing::debug!(event = %name, "a webhook this gateway does not read");
            (StatusCode::OK, "ignored\n".to_owned())
        }
    }
}

/// A delivery report for one of our messages, recorded before the answer. A report
/// about a message already settled (the app's retry) is answered without a second record.
async fn receipt(
    shared: &Arc<Shared>,
    id: &str,
    recipient: &str,
    outcome: ReceiptOutcome,
    description: String,
) -> (StatusCode, String) {
    if !shared.tracker.settle(id) {
        return (StatusCode::OK, "already recorded\n".to_owned());
    }
    let Some(reference) = MessageReference::smsc(id) else {
        return (StatusCode::OK, "not ours\n".to_owned());
    };
    let (ack, done) = shared.acks.expect();
    let event = ModemEvent::Receipt(DeliveryReceipt {
        reference,
        outcome: Some(outcome),
        description,
        recipient: Some(recipient.to_owned()).filter(|r| !r.is_empty()),
        ack,
    });
    let answer = stored(shared, vec![(event, done)]).await;
    if answer.0 != StatusCode::OK {
        // Not recorded: the app's retry must be taken.
        shared.tracker.unsettle(id);
    }
    answer
}

/// Hands `events` to the gateway and waits until it acknowledged each (stored it).
async fn stored(
    shared: &Arc<Shared>,
    events: Vec<(ModemEvent, tokio::sync::oneshot::Receiver<()>)>,
) -> (StatusCode, String) {
    let mut waits = Vec::with_capacity(events.len());
    for (event, done) in events {
        if shared.events.send(event).await.is_err() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the gateway is stopping; post again later\n".to_owned(),
            );
        }
        waits.push(done);
    }
    let all = async {
        for done in waits {
            if done.await.is_err() {
                return false;
            }
        }
        true
    };
    match tokio::time::timeout(STORE_WAIT, all).await {
        Ok(true) => (StatusCode::OK, "stored\n".to_owned()),
        Ok(false) | Err(_) => {
            tracing::warn!("the gateway has not stored it yet; the phone will post it again");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not stored yet; post again later\n".to_owned(),
            )
        }
    }
}
