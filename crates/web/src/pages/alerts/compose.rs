//! The compose form of either desk: the text as typed, started from a template (whose
//! gaps are filled in beside it) or as the update or all clear of an earlier campaign,
//! the yearly-test record, the group and the poll. The confirm step reads the same form
//! and shows this page again when the text is refused, so what reads the form is shared.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, NaiveTime};
use serde_json::{json, Value};
use textgate_alert_service::campaigns::polls::Poll;
use textgate_alert_service::campaigns::Audience;
use textgate_alert_service::sends::{MessageType, Thread, YearlyTest};

use super::{Desk, DeskGuard};
use crate::forms::Fields;
use crate::pages::{page, Message};
use crate::request::Authorized;
use crate::state::{Ctx, WebError, WebState};

pub(super) fn yearly_from(form: &Fields) -> Result<Option<YearlyTest>, WebError> {
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
pub(super) struct Draft<'a> {
    text: &'a str,
    yearly: Option<YearlyTest>,
    thread: Option<Thread>,
    template: Option<&'a str>,
    /// The optional group the alert desk sends to (`None`: everyone).
    group: Option<&'a str>,
}

impl<'a> Draft<'a> {
    pub(super) fn of(
        text: &'a str,
        yearly: Option<YearlyTest>,
        thread: Option<Thread>,
    ) -> Draft<'a> {
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
pub(super) fn audience_of(
    state: &WebState,
    desk: Desk,
    form: &Fields,
) -> Result<Audience, WebError> {
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
pub(super) fn poll_of_form(desk: Desk, form: &Fields) -> Result<Option<Poll>, WebError> {
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
pub(super) async fn group_choices(
    state: &WebState,
    chosen: Option<&str>,
) -> Result<Vec<Value>, WebError> {
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

pub(super) async fn compose_page(
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

pub(super) fn thread_from(form: &Fields) -> Option<Thread> {
    thread_of(form.text("follows").trim().parse().ok(), form.get("as"))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

pub(super) fn thread_heading(t: Thread) -> String {
    match t.msg_type {
        MessageType::Cancel => format!("All clear for campaign {}", t.refers_to),
        _ => format!("Update to campaign {}", t.refers_to),
    }
}

pub(super) fn thread_json(t: Thread) -> Value {
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
