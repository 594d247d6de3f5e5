//! The admin home: what the desk has in hand before anything is composed (the scheduled
//! tests, with their scheduling and cancelling, and the real alerts awaiting a second
//! administrator) and how many testers and members an alert would reach.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use textgate_alert_service::campaigns::Audience;
use textgate_alert_service::{format_time, Account};
use textgate_alerts::Role;

use crate::pages::{page, split, Message};
use crate::request::{Authorized, TestDesk};
use crate::state::{Ctx, WebError, WebState};

pub async fn admin_home(
    State(state): State<WebState>,
    request: Authorized<TestDesk>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, _) = request.into_parts();
    admin_view(&state, &mut ctx, &caller, Message::None, StatusCode::OK).await
}

/// "Schedule" on the test confirm page: the text at a set time (UTC), maybe again.
pub async fn schedule_test(
    State(state): State<WebState>,
    request: Authorized<TestDesk>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, form) = request.into_parts();
    let at = chrono::NaiveDateTime::parse_from_str(form.text("at").trim(), "%Y-%m-%dT%H:%M")
        .map(|t| t.and_utc());
    let repeat = match form.text("repeat_days").trim() {
        "" | "0" => Ok(None),
        days => days.parse::<i64>().map(Some),
    };
    let scheduled = match (at, repeat) {
        (Ok(at), Ok(repeat)) => {
            let id = state
                .alerts
                .schedules()
                .create(&ctx.actor(&caller), form.text("text"), at, repeat)
                .await;
            id.map(|id| format!("Test scheduled (schedule {id}) for {}.", format_time(at)))
        }
        _ => Err(textgate_alert_service::AlertError::Refused(
            "Give the date and time (UTC) and how often to repeat it.".into(),
        )),
    };
    let (message, status) = split(scheduled)?;
    admin_view(&state, &mut ctx, &caller, message, status).await
}

pub async fn schedule_cancel(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<TestDesk>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, _) = request.into_parts();
    let cancelled = state
        .alerts
        .schedules()
        .cancel(&ctx.actor(&caller), id)
        .await;
    let (message, status) = split(cancelled)?;
    admin_view(&state, &mut ctx, &caller, message, status).await
}

async fn admin_view(
    state: &WebState,
    ctx: &mut Ctx,
    caller: &Account,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let scheduled: Vec<Value> = state
        .alerts
        .schedules()
        .upcoming()
        .await?
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "next_at": format_time(s.next_at),
                "repeat_days": s.repeat_days,
                "by": s.account_email,
                "body": s.body,
            })
        })
        .collect();
    let campaigns = state.alerts.campaigns();
    let awaiting: Vec<Value> = campaigns
        .awaiting_approval()
        .await?
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "drafter": s.account_email,
                "at": format_time(s.confirmed_at),
                "body": s.body,
                "until": campaigns.approval_deadline(s).map(format_time),
            })
        })
        .collect();
    let extra = json!({
        "scheduled": scheduled,
        "awaiting": awaiting,
        "emergency": caller.roles.has(Role::EmergencyAdministrator),
        "testers": campaigns.audience_size(Audience::Testers).await?,
        "members": campaigns.audience_size(Audience::Everyone).await?,
    });
    page(
        state,
        ctx,
        "admin.html",
        "Send alerts",
        extra,
        message,
        status,
    )
    .await
}
