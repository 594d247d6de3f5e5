//! Confirm and send: the text checked again, with whom it reaches, how long it will take
//! and by which paths, then the campaign started (or, for a real alert under two-person
//! approval, put before a second administrator). Both steps go back to the compose form
//! when the text is refused.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use textgate_alert_service::campaigns::Audience;
use textgate_alert_service::AlertError;

use super::compose::{
    audience_of, compose_page, group_choices, poll_of_form, thread_from, thread_heading,
    thread_json, yearly_from, Draft,
};
use super::{Desk, DeskGuard};
use crate::pages::{page, Message};
use crate::request::Authorized;
use crate::state::{WebError, WebState};

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
