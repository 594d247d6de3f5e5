//! The administrators' alert desks: the admin home, compose → confirm → send for tests to
//! the testers and for real alerts to everyone (separate URLs, forms and roles), a
//! campaign's progress page, and the logs page. Campaigns, their audit records and the
//! logs are the alert service's ([`textgate_alert_service::campaigns`]).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime};
use serde_json::{json, Value};
use textgate_alert_service::campaigns::polls::Poll;
use textgate_alert_service::campaigns::{Audience, Decision};
use textgate_alert_service::sends::{MessageType, SendKind, Thread, YearlyTest};
use textgate_alert_service::{format_time, Account, AlertError};
use textgate_alerts::{authorize, Role};

use super::{page, split, Message};
use crate::forms::Fields;
use crate::request::{AlertDesk, AuditLog, Authorized, Guard, SendLog, TestDesk};
use crate::state::{Ctx, WebError, WebState};

/// The two compose desks: separate URLs, forms and role checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desk {
    Test,
    Alert,
}

/// The guard of a desk's pages, which also names the desk.
pub trait DeskGuard: Guard<Caller = Account> {
    const DESK: Desk;
}

impl DeskGuard for TestDesk {
    const DESK: Desk = Desk::Test;
}

impl DeskGuard for AlertDesk {
    const DESK: Desk = Desk::Alert;
}

impl Desk {
    fn base(self) -> &'static str {
        match self {
            Desk::Test => "/admin/test",
            Desk::Alert => "/admin/alert",
        }
    }
    fn audience(self) -> Audience {
        match self {
            Desk::Test => Audience::Testers,
            Desk::Alert => Audience::Everyone,
        }
    }
    fn heading(self) -> &'static str {
        match self {
            Desk::Test => "Compose a test message",
            Desk::Alert => "Compose an emergency alert",
        }
    }
    fn instructions(self) -> &'static str {
        match self {
            Desk::Test => "This goes to the designated testers only. Say clearly that it is a test and not a real emergency.",
            Desk::Alert => "This goes to everyone. You can send more than one message, but a second or third may be delayed by the phone traffic the first one causes: put what matters most in this one.",
        }
    }
}

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

fn yearly_from(form: &Fields) -> Result<Option<YearlyTest>, WebError> {
    let description = form.text("yearly_description").trim().to_string();
    if description.is_empty() {
        return Ok(None);
    }
    let date = form.text("yearly_date").trim();
    let time = form.text("yearly_time").trim();
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| WebError::BadRequest("The yearly test needs a date (YYYY-MM-DD).".into()))?;
    let time = NaiveTime::parse_from_str(time, "%H:%M")
        .map_err(|_| WebError::BadRequest("The yearly test needs a time (HH:MM).".into()))?;
    if description.chars().count() > 500 {
        return Err(WebError::BadRequest(
            "The yearly test description is longer than 500 characters.".into(),
        ));
    }
    Ok(Some(YearlyTest {
        description,
        date: date.format("%Y-%m-%d").to_string(),
        time: time.format("%H:%M").to_string(),
        announced: form.get("yearly_announced") == Some("yes"),
    }))
}

/// What the compose form shows: the text, the yearly-test record, the alert it follows
/// and the template whose gaps are being filled in.
struct Draft<'a> {
    text: &'a str,
    yearly: Option<YearlyTest>,
    thread: Option<Thread>,
    template: Option<&'a str>,
    /// The optional group the alert desk sends to (`None`: everyone).
    group: Option<&'a str>,
}

impl<'a> Draft<'a> {
    fn of(text: &'a str, yearly: Option<YearlyTest>, thread: Option<Thread>) -> Draft<'a> {
        Draft {
            text,
            yearly,
            thread,
            template: None,
            group: None,
        }
    }

    fn for_group(self, group: Option<&'a str>) -> Draft<'a> {
        Draft { group, ..self }
    }
}

/// Who a desk's form sends to: the testers from the test desk; from the alert desk
/// everyone, or the members of the group in its `group` field. A group that is not
/// configured (a stale or forged form) is refused rather than sent to everyone.
fn audience_of(state: &WebState, desk: Desk, form: &Fields) -> Result<Audience, WebError> {
    let name = form.text("group").trim();
    match desk {
        Desk::Alert if !name.is_empty() => state
            .alerts
            .campaigns()
            .group_named(name)
            .map(Audience::Group)
            .ok_or_else(|| WebError::BadRequest(format!("There is no group {name:?}."))),
        _ => Ok(desk.audience()),
    }
}

/// The poll a form asks for: `poll=yes` from the alert desk, with the reminder after
/// `resend_after` minutes (empty or 0: none).
fn poll_of_form(desk: Desk, form: &Fields) -> Result<Option<Poll>, WebError> {
    if desk != Desk::Alert || form.get("poll") != Some("yes") {
        return Ok(None);
    }
    let resend_after = match form.text("resend_after").trim() {
        "" | "0" => None,
        minutes => match minutes.parse::<i64>() {
            Ok(m) if (1..=24 * 60).contains(&m) => Some(chrono::TimeDelta::minutes(m)),
            _ => {
                return Err(WebError::BadRequest(
                    "The reminder goes 1 minute to 24 hours after the poll.".into(),
                ))
            }
        },
    };
    Ok(Some(Poll::safe_or_help(resend_after)))
}

/// The groups the alert desk may send to, each with how many confirmed members joined.
async fn group_choices(state: &WebState, chosen: Option<&str>) -> Result<Vec<Value>, WebError> {
    let campaigns = state.alerts.campaigns();
    let mut choices = Vec::new();
    for group in campaigns.groups() {
        let members = match campaigns.group_named(&group.name) {
            Some(id) => campaigns.audience_size(Audience::Group(id)).await?,
            None => 0,
        };
        choices.push(json!({
            "name": group.name,
            "title": group.title,
            "members": members,
            "chosen": chosen == Some(group.name.as_str()),
        }));
    }
    Ok(choices)
}

async fn compose_page(
    state: &WebState,
    ctx: &mut Ctx,
    desk: Desk,
    draft: Draft<'_>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let Draft {
        text,
        yearly,
        thread,
        template: chosen,
        group,
    } = draft;
    // Updates and all clears go to whoever the thread went to.
    let groups = if desk == Desk::Alert && thread.is_none() {
        group_choices(state, group).await?
    } else {
        Vec::new()
    };
    let report = state.alerts.campaigns().composer().measure(text);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let heading = match thread {
        Some(t) => thread_heading(t),
        None => desk.heading().to_owned(),
    };
    let templates = &state.alerts.settings().templates;
    let chosen = chosen.and_then(|name| templates.iter().find(|t| t.name == name));
    let extra = json!({
        "heading": heading,
        "pollable": desk == Desk::Alert && thread.is_none(),
        "poll_instruction": Poll::safe_or_help(None).instruction(),
        "groups": groups,
        "thread": thread.map(thread_json),
        "templates": templates.iter().map(|t| json!({ "name": t.name, "title": t.title })).collect::<Vec<_>>(),
        "template": chosen.map(|t| json!({ "name": t.name, "title": t.title, "text": t.text, "placeholders": t.placeholders() })),
        "instructions": desk.instructions(),
        "base": desk.base(),
        "text": text,
        "report": report,
        "limits": state.alerts.settings().compose_limits,
        "errors": errors,
        "yearly": if desk == Desk::Test { Some(yearly.unwrap_or(YearlyTest { description: String::new(), date: String::new(), time: String::new(), announced: false })) } else { None },
    });
    page(
        state,
        ctx,
        "compose.html",
        desk.heading(),
        extra,
        Message::None,
        status,
    )
    .await
}

/// `?follows=N&as=update` or `as=cancel`: the compose form for an update to, or the all
/// clear of, campaign N (links on its progress page).
#[derive(Debug, serde::Deserialize)]
pub struct ComposeQuery {
    follows: Option<i64>,
    #[serde(rename = "as")]
    msg_type: Option<String>,
    /// `?template=lockdown`: start from that scenario's text.
    template: Option<String>,
}

pub async fn compose_get<D: DeskGuard>(
    State(state): State<WebState>,
    Query(query): Query<ComposeQuery>,
    request: Authorized<D>,
) -> Result<Response, WebError> {
    let mut ctx = request.ctx;
    let thread = thread_of(query.follows, query.msg_type.as_deref());
    let text = match thread {
        Some(t) if t.msg_type == MessageType::Cancel => "ALL CLEAR: ",
        Some(_) => "UPDATE: ",
        None => "",
    };
    let chosen = query.template.as_deref();
    let text = chosen
        .and_then(|name| {
            state
                .alerts
                .settings()
                .templates
                .iter()
                .find(|t| t.name == name)
        })
        .map_or(text, |t| t.text.as_str());
    compose_page(
        &state,
        &mut ctx,
        D::DESK,
        Draft {
            text,
            yearly: None,
            thread,
            template: chosen,
            group: None,
        },
        Vec::new(),
    )
    .await
}

/// The thread named by a form's or query's `follows` and `as`.
fn thread_of(follows: Option<i64>, msg_type: Option<&str>) -> Option<Thread> {
    let msg_type = MessageType::parse(msg_type?)?;
    (msg_type != MessageType::Alert).then_some(Thread {
        msg_type,
        refers_to: follows?,
    })
}

fn thread_from(form: &Fields) -> Option<Thread> {
    thread_of(form.text("follows").trim().parse().ok(), form.get("as"))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn thread_heading(t: Thread) -> String {
    match t.msg_type {
        MessageType::Cancel => format!("All clear for campaign {}", t.refers_to),
        _ => format!("Update to campaign {}", t.refers_to),
    }
}

fn thread_json(t: Thread) -> Value {
    json!({ "follows": t.refers_to, "as": t.msg_type.as_str(), "heading": thread_heading(t) })
}

/// Cancel on the confirm page: back to the form at its own address, the text kept for
/// editing.
pub async fn compose_back<D: DeskGuard>(
    State(state): State<WebState>,
    request: Authorized<D>,
) -> Result<Response, WebError> {
    let (mut ctx, _, form) = request.into_parts();
    let yearly = yearly_from(&form).ok().flatten();
    let thread = thread_from(&form);
    let chosen = form.get("template").and_then(|name| {
        state
            .alerts
            .settings()
            .templates
            .iter()
            .find(|t| t.name == name)
    });
    if let Some(template) = chosen {
        // "Fill in" on a template: its gaps, typed beside it, go into its text.
        let values = template
            .placeholders()
            .into_iter()
            .map(|name| {
                let value = form.text(&format!("fill_{name}")).to_owned();
                (name, value)
            })
            .collect();
        return match template.fill(&values) {
            Ok(text) => {
                compose_page(
                    &state,
                    &mut ctx,
                    D::DESK,
                    Draft::of(&text, yearly, thread).for_group(form.get("group")),
                    Vec::new(),
                )
                .await
            }
            Err(e) => {
                let errors = vec![format!("{}.", capitalized(&e.to_string()))];
                let name = Some(template.name.as_str());
                compose_page(
                    &state,
                    &mut ctx,
                    D::DESK,
                    Draft {
                        text: &template.text,
                        yearly,
                        thread,
                        template: name,
                        group: form.get("group"),
                    },
                    errors,
                )
                .await
            }
        };
    }
    let draft = Draft::of(form.text("text"), yearly, thread).for_group(form.get("group"));
    compose_page(&state, &mut ctx, D::DESK, draft, Vec::new()).await
}

pub async fn compose_confirm<D: DeskGuard>(
    State(state): State<WebState>,
    request: Authorized<D>,
) -> Result<Response, WebError> {
    let (mut ctx, _, form) = request.into_parts();
    let desk = D::DESK;
    let text = form.text("text");
    let thread = thread_from(&form);
    let yearly = match yearly_from(&form) {
        Ok(y) => y,
        Err(e) => {
            let errors = vec![e.public_message()];
            return compose_page(
                &state,
                &mut ctx,
                desk,
                Draft::of(text, None, thread),
                errors,
            )
            .await;
        }
    };
    let poll = poll_of_form(desk, &form)?;
    let asked;
    let text = match &poll {
        Some(poll) => {
            asked = poll.with_instruction(text);
            asked.as_str()
        }
        None => text,
    };
    let campaigns = state.alerts.campaigns();
    if let Err(AlertError::Refused(gap)) = campaigns.check_no_gap(text) {
        let errors = vec![gap];
        return compose_page(
            &state,
            &mut ctx,
            desk,
            Draft::of(text, yearly, thread),
            errors,
        )
        .await;
    }
    let validated = match campaigns.composer().validate(text) {
        Ok(v) => v,
        Err(e) => {
            let errors = vec![format!("{e}.")];
            return compose_page(
                &state,
                &mut ctx,
                desk,
                Draft::of(text, yearly, thread),
                errors,
            )
            .await;
        }
    };
    let audience = audience_of(&state, desk, &form)?;
    let group = match audience {
        Audience::Group(id) => campaigns.group(id),
        _ => None,
    };
    let preview = campaigns.preview(audience, validated.report.parts).await?;
    let group_counts = if desk == Desk::Alert && thread.is_none() {
        group_choices(&state, group.map(|g| g.name.as_str())).await?
    } else {
        Vec::new()
    };
    let split = campaigns.composer().split_at_safe_length(&validated.text);
    let settings = state.alerts.settings();
    let extra = json!({
        "heading": match (thread, desk) {
            (Some(t), _) => format!("Confirm: {}", thread_heading(t)),
            (None, Desk::Test) => "Confirm the test message".to_owned(),
            (None, Desk::Alert) => "Confirm the emergency alert".to_owned(),
        },
        "thread": thread.map(thread_json),
        "schedulable": desk == Desk::Test && thread.is_none(),
        "base": desk.base(),
        "text": validated.text,
        "within": split.within,
        "beyond": split.beyond,
        "safe_length": settings.compose_limits.safe_length,
        "report": validated.report,
        "recipients": preview.recipients,
        "unreachable": preview.unreachable,
        "audience": match (desk, group) {
            (Desk::Test, _) => "testers".to_owned(),
            (Desk::Alert, None) => "members".to_owned(),
            (Desk::Alert, Some(g)) => format!("members of {}", g.title),
        },
        "group": group.map(|g| json!({ "name": g.name, "title": g.title })),
        "group_counts": group_counts,
        "poll": poll.as_ref().map(|p| json!({
            "instruction": p.instruction(),
            "resend_after": p.resend_after.map(|d| d.num_minutes()),
        })),
        "eta": textgate_alerts::campaign::describe_duration(preview.plan.estimated_duration()),
        "paths": textgate_alerts::campaign::describe_paths(
            &settings.modems.iter().map(|m| m.rate.clone()).collect::<Vec<_>>(),
        ),
        "warnings": preview.warnings,
        "measured": preview.measured.iter().map(|m| json!({
            "gateway": m.gateway,
            "per_minute": m.per_minute,
            "campaign_id": m.campaign_id,
            "at": m.at.format("%-d %b %Y %H:%M UTC").to_string(),
            "configured": settings.gateway_rate(&m.gateway),
        })).collect::<Vec<_>>(),
        "yearly": yearly,
    });
    page(
        &state,
        &mut ctx,
        "confirm.html",
        "Confirm",
        extra,
        Message::None,
        StatusCode::OK,
    )
    .await
}

pub async fn compose_send<D: DeskGuard>(
    State(state): State<WebState>,
    request: Authorized<D>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, form) = request.into_parts();
    let desk = D::DESK;
    let text = form.text("text");
    let yearly = yearly_from(&form).ok().flatten();
    let thread = thread_from(&form);
    if form.get("action") != Some("send") {
        return compose_page(
            &state,
            &mut ctx,
            desk,
            Draft::of(text, yearly, thread),
            Vec::new(),
        )
        .await;
    }
    let campaigns = state.alerts.campaigns();
    // Checked again: the confirm page's hidden field is as untrusted as the textarea.
    if let Err(e) = campaigns.composer().validate(text) {
        let errors = vec![format!("{e}.")];
        return compose_page(
            &state,
            &mut ctx,
            desk,
            Draft::of(text, yearly, thread),
            errors,
        )
        .await;
    }
    let audience = audience_of(&state, desk, &form)?;
    let poll = poll_of_form(desk, &form)?;
    let started = campaigns
        .start_with(
            &ctx.actor(&caller),
            audience,
            text,
            yearly.as_ref(),
            thread,
            poll.as_ref(),
        )
        .await;
    match started {
        Ok(id) => Ok(Redirect::to(&format!("/admin/campaigns/{id}")).into_response()),
        Err(AlertError::Refused(m)) => {
            compose_page(
                &state,
                &mut ctx,
                desk,
                Draft::of(text, yearly, thread),
                vec![m],
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

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
