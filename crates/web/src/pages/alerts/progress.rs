//! A campaign once sent: its progress page (the count by outcome, the channels, the
//! thread of updates and all clear), the second administrator's decision on a real alert
//! awaiting approval, and its poll's answers as CSV.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use textgate_alert_service::campaigns::{Audience, Decision};
use textgate_alert_service::sends::SendKind;
use textgate_alert_service::{format_time, Account};
use textgate_alerts::{authorize, Role};

use crate::pages::{page, split, Message};
use crate::request::{AlertDesk, Authorized, SendLog};
use crate::state::{Ctx, WebError, WebState};

pub async fn campaign_page(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<SendLog>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, _) = request.into_parts();
    campaign_view(&state, &mut ctx, &caller, id, Message::None, StatusCode::OK).await
}

/// Approve or Refuse on a real alert awaiting a second administrator. The alert service
/// refuses the drafter (a forged POST included) and anyone without the emergency role.
pub async fn campaign_decide(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<AlertDesk>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, form) = request.into_parts();
    let decision = match form.text("decision") {
        "approve" => Decision::Approve,
        "refuse" => Decision::Refuse,
        _ => return Err(WebError::BadRequest("Unknown button.".into())),
    };
    let decided = state
        .alerts
        .campaigns()
        .decide(&ctx.actor(&caller), id, decision)
        .await;
    let (message, status) = split(decided)?;
    campaign_view(&state, &mut ctx, &caller, id, message, status).await
}

async fn campaign_view(
    state: &WebState,
    ctx: &mut Ctx,
    caller: &Account,
    id: i64,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let campaigns = state.alerts.campaigns();
    let send = campaigns.send(id).await?.ok_or(WebError::NotFound)?;
    let p = campaigns.progress(&send).await?;
    let thread = campaigns.thread(id).await?;
    let cleared = textgate_alert_service::sends::all_clear_of(&thread).is_some();
    let went_out = send.went_out();
    let (desk, audience) = match send.kind {
        SendKind::Real => ("/admin/alert", Audience::Everyone),
        _ => ("/admin/test", Audience::Testers),
    };
    let follow_up = (went_out && !cleared && authorize(&caller.roles, audience.action()).is_ok())
        .then(|| format!("{desk}?follows={}", send.refers_to.unwrap_or(send.id)));
    let thread: Vec<Value> = thread
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "msg_type": s.msg_type,
                "at": format_time(s.confirmed_at),
                "body": s.body,
                "state": s.campaign_state,
                "current": s.id == id,
            })
        })
        .collect();
    let approval = json!({
        "deadline": campaigns.approval_deadline(&send).map(format_time),
        "may_decide": campaigns.may_decide(&ctx.actor(caller), &send),
        "drafter": send.account_id == Some(caller.id),
        "decided_by": send.decided_by,
        "decided_at": send.decided_at.map(format_time),
    });
    // Who needs help, with their numbers, is for the emergency administrators.
    let poll = campaigns.poll_view(&send).await?;
    let channels = campaigns.channels(id).await?;
    let xmpp_failures = state.alerts.xmpp().failures(id).await?;
    let may_see_people = caller.roles.has(Role::EmergencyAdministrator);
    let extra = json!({
        "poll": poll,
        "poll_people": may_see_people,
        "channels": channels,
        "xmpp_failures": xmpp_failures,
        "heading": format!("Campaign {id}: {}", if send.kind == SendKind::Real { "emergency alert" } else { "test" }),
        "send": send,
        "percent": p.percent,
        "total": p.total,
        "counts": p.counts,
        "eta": p.eta,
        "enqueued": p.enqueued,
        "state": p.state,
        "in_outbox": p.in_outbox,
        "unreachable": p.unreachable,
        "paths": p.paths,
        "confirmed_at": format_time(send.confirmed_at),
        "approval": approval,
        "thread": if thread.len() > 1 { thread } else { Vec::new() },
        "follow_up": follow_up,
        "cleared": cleared,
    });
    page(
        state,
        ctx,
        "progress.html",
        "Campaign progress",
        extra,
        message,
        status,
    )
    .await
}

/// The poll's export: every member asked, with their number and latest answer, as CSV.
pub async fn poll_export(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<AlertDesk>,
) -> Result<Response, WebError> {
    let (ctx, caller, _) = request.into_parts();
    let campaigns = state.alerts.campaigns();
    let send = campaigns.send(id).await?.ok_or(WebError::NotFound)?;
    let rows = campaigns.poll_export(&ctx.actor(&caller), &send).await?;
    let mut csv = String::from("email,number,answer,answered_at\r\n");
    for row in rows {
        let answered = row.answered_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        csv.push_str(&format!(
            "{},{},{},{}\r\n",
            csv_field(&row.email),
            csv_field(&row.number),
            csv_field(row.answer.as_deref().unwrap_or("")),
            answered
        ));
    }
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"poll-{id}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

/// One CSV field (RFC 4180), with a leading formula character neutralised so a
/// spreadsheet never runs what a member typed as their e-mail.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) && !value.starts_with('+') {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}
