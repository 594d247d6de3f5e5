//! The logs page: the sends, the test log and the audit trail, as the alert service keeps
//! them; read after the fact, apart from the steps of sending.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use textgate_alert_service::format_time;

use crate::pages::{page, Message};
use crate::request::{AuditLog, Authorized};
use crate::state::{WebError, WebState};

pub async fn logs_page(
    State(state): State<WebState>,
    request: Authorized<AuditLog>,
) -> Result<Response, WebError> {
    let mut ctx = request.ctx;
    let logs = state.alerts.logs();
    let sends: Vec<Value> = logs
        .send_log(200)
        .await?
        .into_iter()
        .map(|s| json!({ "id": s.id, "confirmed_at": format_time(s.confirmed_at), "kind": s.kind, "account_email": s.account_email, "body": s.body, "recipients": s.recipients, "yearly_test": s.yearly_test, "msg_type": s.msg_type, "refers_to": s.refers_to, "state": s.campaign_state }))
        .collect();
    let tests: Vec<Value> = logs
        .test_log(200)
        .await?
        .into_iter()
        .map(|t| json!({ "test_id": t.test_id, "sent_at": format_time(t.sent_at), "account_id": t.account_id, "ip_address": t.ip_address, "gateway": t.gateway, "masked": t.masked }))
        .collect();
    let audit: Vec<Value> = logs
        .audit_log(200)
        .await?
        .into_iter()
        .map(|a| json!({ "at": format_time(a.at), "account_email": a.account_email, "ip_address": a.ip_address, "action": a.action, "detail": a.detail }))
        .collect();
    page(
        &state,
        &mut ctx,
        "logs.html",
        "Logs",
        json!({ "sends": sends, "tests": tests, "audit": audit }),
        Message::None,
        StatusCode::OK,
    )
    .await
}
