//! A member's registration, the compose counter, campaigns and the logs through the JSON
//! API; the rules, and the audit records, are the alert service's, the same as for the
//! pages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use textgate_alert_service::campaigns::{Audience, Decision};
use textgate_alert_service::members::{MemberAction, Saved};
use textgate_alert_service::sends::{MessageType, Thread, YearlyTest};

use super::{bad_request, message, ApiResult, Authorized, Body};
use crate::request::{AlertDesk, AuditLog, Member, SendLog, TestDesk, Visitor};
use crate::state::{WebError, WebState};

pub async fn registration_get(
    State(state): State<WebState>,
    request: Authorized<Member>,
) -> ApiResult {
    let members = state.alerts.members();
    let saved = members.saved_view(&request.caller).await?;
    let groups = members.groups_of(&request.caller).await?;
    Ok(Json(json!({ "registration": saved, "groups": groups })).into_response())
}

#[derive(Deserialize)]
pub struct GroupsBody {
    #[serde(default)]
    groups: Vec<String>,
}

/// The member's optional groups, replaced by exactly the ones given.
pub async fn registration_groups(
    State(state): State<WebState>,
    request: Authorized<Member>,
    Body(b): Body<GroupsBody>,
) -> ApiResult {
    message(
        state
            .alerts
            .members()
            .choose_groups(&request.caller, &b.groups)
            .await,
    )
}

#[derive(Deserialize)]
pub struct RegistrationBody {
    #[serde(default)]
    number: String,
    carrier: Option<String>,
    #[serde(default)]
    test: bool,
}

pub async fn registration_post(
    State(state): State<WebState>,
    request: Authorized<Member>,
    Body(b): Body<RegistrationBody>,
) -> ApiResult {
    let action = if b.test {
        MemberAction::SaveAndTest
    } else {
        MemberAction::Save
    };
    message(
        state
            .alerts
            .members()
            .save(&request.actor(), &b.number, b.carrier.as_deref(), action)
            .await
            .and_then(Saved::into_result),
    )
}

pub async fn registration_delete(
    State(state): State<WebState>,
    request: Authorized<Member>,
) -> ApiResult {
    message(state.alerts.members().remove(&request.caller).await)
}

#[derive(Deserialize)]
pub struct CodeBody {
    #[serde(default)]
    code: String,
}

pub async fn registration_confirm(
    State(state): State<WebState>,
    request: Authorized<Member>,
    Body(b): Body<CodeBody>,
) -> ApiResult {
    message(
        state
            .alerts
            .members()
            .confirm_code(&request.caller, &b.code)
            .await,
    )
}

#[derive(Deserialize)]
pub struct TextBody {
    #[serde(default)]
    text: String,
}

pub async fn measure(
    State(state): State<WebState>,
    _request: Authorized<TestDesk>,
    Body(b): Body<TextBody>,
) -> ApiResult {
    Ok(Json(state.alerts.campaigns().composer().measure(&b.text)).into_response())
}

#[derive(Deserialize)]
pub struct CampaignBody {
    #[serde(default)]
    audience: String,
    #[serde(default)]
    text: String,
    yearly_test: Option<YearlyBody>,
    /// An update or all clear: the campaign it follows, and `"update"` or `"cancel"`.
    follows: Option<i64>,
    #[serde(rename = "as")]
    msg_type: Option<String>,
    /// With `"audience": "group"`: the configured group's name.
    group: Option<String>,
    /// Ask for a reply: "Reply 1 = Safe, 2 = Need help".
    poll: Option<PollBody>,
}

#[derive(Deserialize)]
pub struct PollBody {
    /// Remind those who have not answered after this many minutes (1 to 1440).
    resend_after_minutes: Option<i64>,
}

#[derive(Deserialize)]
pub struct DecideBody {
    #[serde(default)]
    decision: String,
}

/// A second emergency administrator approves or refuses a real alert awaiting approval;
/// the service refuses the drafter and anyone without the emergency role.
pub async fn campaign_decide(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<AlertDesk>,
    Body(b): Body<DecideBody>,
) -> ApiResult {
    let decision = match b.decision.as_str() {
        "approve" => Decision::Approve,
        "refuse" => Decision::Refuse,
        _ => return Err(bad_request("decision must be \"approve\" or \"refuse\"")),
    };
    message(
        state
            .alerts
            .campaigns()
            .decide(&request.actor(), id, decision)
            .await,
    )
}

#[derive(Deserialize)]
pub struct YearlyBody {
    description: String,
    date: String,
    time: String,
    announced: bool,
}

/// Starts a campaign. The role depends on the audience in the body, so the request is
/// admitted as a visitor (CSRF-checked) and the role checked once the audience is known.
pub async fn campaign_post(
    State(state): State<WebState>,
    request: Authorized<Visitor>,
    Body(b): Body<CampaignBody>,
) -> ApiResult {
    let audience = match b.audience.as_str() {
        "testers" => Audience::Testers,
        "everyone" => Audience::Everyone,
        "group" => {
            let name = b.group.as_deref().unwrap_or_default();
            let id = state.alerts.campaigns().group_named(name).ok_or_else(|| {
                bad_request("group must name a configured group ([[alerts.group]])")
            })?;
            Audience::Group(id)
        }
        _ => {
            return Err(bad_request(
                "audience must be \"testers\", \"everyone\" or \"group\"",
            ))
        }
    };
    let ctx = &request.ctx;
    let a = ctx.require(audience.action())?;
    let yearly = match b.yearly_test {
        Some(y) if audience == Audience::Testers => {
            let date = chrono::NaiveDate::parse_from_str(&y.date, "%Y-%m-%d")
                .map_err(|_| WebError::BadRequest("yearly_test.date must be YYYY-MM-DD".into()))?;
            let time = chrono::NaiveTime::parse_from_str(&y.time, "%H:%M")
                .map_err(|_| WebError::BadRequest("yearly_test.time must be HH:MM".into()))?;
            Some(YearlyTest {
                description: y.description,
                date: date.to_string(),
                time: time.format("%H:%M").to_string(),
                announced: y.announced,
            })
        }
        Some(_) => return Err(bad_request("a yearly test record belongs to a test send")),
        None => None,
    };
    let thread = match (b.follows, b.msg_type.as_deref()) {
        (None, None) => None,
        (Some(follows), Some(kind @ ("update" | "cancel"))) => Some(Thread {
            msg_type: MessageType::parse(kind).unwrap_or(MessageType::Update),
            refers_to: follows,
        }),
        _ => {
            return Err(bad_request(
                "follows and as go together: as is \"update\" or \"cancel\"",
            ))
        }
    };
    let poll = match b.poll {
        None => None,
        Some(p) => {
            let resend_after = match p.resend_after_minutes {
                None => None,
                Some(m) if (1..=24 * 60).contains(&m) => Some(chrono::TimeDelta::minutes(m)),
                Some(_) => {
                    return Err(bad_request(
                        "poll.resend_after_minutes must be between 1 and 1440",
                    ))
                }
            };
            Some(textgate_alert_service::campaigns::polls::Poll::safe_or_help(resend_after))
        }
    };
    let id = state
        .alerts
        .campaigns()
        .start_with(
            &ctx.actor(a),
            audience,
            &b.text,
            yearly.as_ref(),
            thread,
            poll.as_ref(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "progress": format!("/api/v1/campaigns/{id}") })),
    )
        .into_response())
}

pub async fn campaign_get(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    _request: Authorized<SendLog>,
) -> ApiResult {
    let campaigns = state.alerts.campaigns();
    let send = campaigns.send(id).await?.ok_or(WebError::NotFound)?;
    let mut progress = serde_json::to_value(campaigns.progress(&send).await?)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    progress["channels"] = serde_json::to_value(campaigns.channels(id).await?)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    // The tallies only: who needs help, with their numbers, is on the page and in the
    // export, for emergency administrators.
    if let Some(poll) = campaigns.poll_view(&send).await? {
        progress["poll"] = json!({
            "choices": poll.choices,
            "asked": poll.asked,
            "unanswered": poll.unanswered,
        });
    }
    Ok(Json(progress).into_response())
}

pub async fn send_log(State(state): State<WebState>, _request: Authorized<SendLog>) -> ApiResult {
    let sends = state.alerts.logs().send_log(1000).await?;
    Ok(Json(json!({ "sends": sends })).into_response())
}

pub async fn audit_log(State(state): State<WebState>, _request: Authorized<AuditLog>) -> ApiResult {
    let entries = state.alerts.logs().audit_log(1000).await?;
    Ok(Json(json!({ "entries": entries })).into_response())
}

/// The scenario templates the sysadmin configured (`[[alerts.template]]`), for a system
/// that composes alerts: each with its `{gaps}` to fill in.
pub async fn templates_get(
    State(state): State<WebState>,
    _request: Authorized<TestDesk>,
) -> ApiResult {
    let templates: Vec<serde_json::Value> = state
        .alerts
        .settings()
        .templates
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "title": t.title,
                "text": t.text,
                "gaps": t.placeholders(),
            })
        })
        .collect();
    Ok(Json(json!({ "templates": templates })).into_response())
}

/// Scheduled tests still to run, soonest first.
pub async fn schedules_get(
    State(state): State<WebState>,
    _request: Authorized<TestDesk>,
) -> ApiResult {
    let schedules = state.alerts.schedules().upcoming().await?;
    Ok(Json(json!({ "schedules": schedules })).into_response())
}

#[derive(Deserialize)]
pub struct ScheduleBody {
    #[serde(default)]
    text: String,
    /// RFC 3339, e.g. `2027-01-15T14:00:00Z`.
    #[serde(default)]
    at: String,
    repeat_days: Option<i64>,
}

/// Schedules a test to the testers at `at`, again every `repeat_days` days if given.
pub async fn schedules_post(
    State(state): State<WebState>,
    request: Authorized<TestDesk>,
    Body(b): Body<ScheduleBody>,
) -> ApiResult {
    let at = chrono::DateTime::parse_from_rfc3339(b.at.trim())
        .map_err(|_| bad_request("at must be a time in RFC 3339, e.g. 2027-01-15T14:00:00Z"))?
        .with_timezone(&chrono::Utc);
    let id = state
        .alerts
        .schedules()
        .create(&request.actor(), &b.text, at, b.repeat_days)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// Cancels a scheduled test; nothing more is sent by it.
pub async fn schedule_cancel(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<TestDesk>,
) -> ApiResult {
    message(state.alerts.schedules().cancel(&request.actor(), id).await)
}
