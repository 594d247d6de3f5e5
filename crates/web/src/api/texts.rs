//! The send API: other systems (a library's ILS) send a text to a number through a
//! gateway and read its status. `POST /api/v1/texts` with an `Idempotency-Key` header
//! (a retry with the same key finds the text the first call queued) answers 202 with the
//! text's id, or 200 when the key named an earlier text; `GET /api/v1/texts/{id}` says
//! where it is. Admitted by [`TextSender`]: the text sender role, with a session or a
//! token whose scope is sending. Each token (or signed-in account) may send
//! `[http] sends_per_minute` texts a minute; more are answered 429 with `Retry-After`.
//! The rules (checks, idempotency, audit) are the alert service's
//! (`textgate_alert_service::texts`).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use textgate_alert_service::texts::{QueuedText, TextRequest};

use super::{bad_request, ApiResult, Authorized, Body};
use crate::request::TextSender;
use crate::send_limit::Sender;
use crate::state::{Ctx, WebState};

/// The header that names a request's idempotency key (as in the IETF HTTPAPI working
/// group's draft "The Idempotency-Key HTTP Header Field").
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    to: String,
    text: String,
    gateway: Option<String>,
}

/// Who the send limiter counts for this request: its token, or its signed-in account.
pub(crate) fn sender_of(ctx: &Ctx, account_id: i64) -> Sender {
    match ctx.token {
        Some((id, _)) => Sender::Token(id),
        None => Sender::Account(account_id),
    }
}

/// A 429 naming how long to wait, with `Retry-After`.
pub(crate) fn too_many(wait_seconds: u64, body: Response) -> Response {
    let mut response = body;
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(value) = header::HeaderValue::from_str(&wait_seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn queued_json(text: &QueuedText) -> serde_json::Value {
    json!({
        "id": text.id,
        "gateway": text.gateway,
        "to": text.to,
        "parts": text.parts,
        "replayed": text.replayed,
        "status_url": format!("/api/v1/texts/{}", text.id),
    })
}

/// Queues a text.
pub async fn text_post(
    State(state): State<WebState>,
    headers: HeaderMap,
    request: Authorized<TextSender>,
    Body(b): Body<TextBody>,
) -> ApiResult {
    let key = match headers.get(IDEMPOTENCY_KEY) {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| bad_request("The Idempotency-Key header must be printable ASCII."))?,
        ),
        None => None,
    };
    let who = sender_of(&request.ctx, request.caller.id);
    if let Err(wait) = state.send_limiter.take(who, 1, state.now()) {
        let body = Json(json!({ "error": format!(
            "Too many texts: this token may send {} a minute. Try again in {wait} s.",
            state.settings.sends_per_minute
        ) }));
        return Ok(too_many(wait, body.into_response()));
    }
    let queued = state
        .alerts
        .texts()
        .send(
            &request.actor(),
            &TextRequest {
                to: &b.to,
                text: &b.text,
                gateway: b.gateway.as_deref(),
                key,
            },
        )
        .await?;
    let status = if queued.replayed {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let location = format!("/api/v1/texts/{}", queued.id);
    Ok((
        status,
        [(header::LOCATION, location)],
        Json(queued_json(&queued)),
    )
        .into_response())
}

/// Where a text is.
pub async fn text_get(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<TextSender>,
) -> ApiResult {
    let status = state.alerts.texts().status(&request.caller, id).await?;
    Ok(Json(status).into_response())
}
