//! The webhook delivery log: `GET /api/v1/webhooks` (the configured webhooks, counted by
//! state) and `GET /api/v1/webhooks/deliveries` (newest first, filtered by webhook and
//! state). Admitted by [`WebhookLog`]: technical and emergency administrators, with a
//! session or a console token. Subscribing is not here: webhooks are the sysadmin's
//! configuration. The rules are the alert service's (`textgate_alert_service::webhooks`).

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{ApiResult, Authorized};
use crate::request::WebhookLog;
use crate::state::WebState;

/// How many deliveries a read without `limit` returns.
const DEFAULT_LIMIT: i64 = 100;

/// The configured webhooks.
pub async fn list(State(state): State<WebState>, request: Authorized<WebhookLog>) -> ApiResult {
    let webhooks = state.alerts.webhooks().list(&request.caller).await?;
    Ok(Json(json!({ "webhooks": webhooks })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    webhook: Option<String>,
    state: Option<String>,
    limit: Option<i64>,
}

/// The delivery log.
pub async fn deliveries(
    State(state): State<WebState>,
    request: Authorized<WebhookLog>,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult {
    let deliveries = state
        .alerts
        .webhooks()
        .deliveries(
            &request.caller,
            q.webhook.as_deref().filter(|w| !w.is_empty()),
            q.state.as_deref().filter(|s| !s.is_empty()),
            q.limit.unwrap_or(DEFAULT_LIMIT),
        )
        .await?;
    Ok(Json(json!({ "deliveries": deliveries })).into_response())
}
