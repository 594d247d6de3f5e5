//! The member page (`/alerts`): the member's number and carrier, Save, Save and Test,
//! Remove, the confirmation code form and the review banner. The rules are the alert
//! service's ([`textgate_alert_service::members`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use textgate_alert_service::members::MemberAction;
use textgate_alert_service::Account;

use super::{confirm_page, page, split, Confirmation, Message};
use crate::request::{Authorized, Member};
use crate::state::{Ctx, WebError, WebState};

async fn member_page(
    state: &WebState,
    ctx: &mut Ctx,
    account: &Account,
    number: &str,
    carrier: Option<&str>,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let saved = state.alerts.members().saved_view(account).await?;
    let today = state.now().date_naive();
    let carriers: Vec<Value> = state
        .alerts
        .settings()
        .carriers
        .offered_on(today)
        .map(|c| json!({ "id": c.id, "name": c.name }))
        .collect();
    let carrier = carrier
        .map(str::to_string)
        .or_else(|| saved.as_ref().and_then(|s| s.carrier.clone()))
        .unwrap_or_default();
    let joined = state.alerts.members().groups_of(account).await?;
    let groups: Vec<Value> = state
        .alerts
        .settings()
        .groups
        .iter()
        .map(|g| json!({ "name": g.name, "title": g.title, "joined": joined.contains(&g.name) }))
        .collect();
    let emails = state.alerts.emails();
    let email_copy = if emails.configured() {
        Some(json!({ "on": emails.wanted_by(account).await?, "address": account.email }))
    } else {
        None
    };
    let xmpp = state.alerts.xmpp();
    let xmpp_alerts = match xmpp.sender() {
        Some(sender) => Some(json!({
            "sender": sender,
            "jid": xmpp.address_of(account).await?.unwrap_or_default(),
        })),
        None => None,
    };
    let extra = json!({
        "email_copy": email_copy,
        "xmpp_alerts": xmpp_alerts,
        "groups": groups,
        "review_due": saved.as_ref().is_some_and(|s| s.review_due),
        "last_updated": saved.as_ref().map(|s| s.last_updated.clone()),
        "saved": saved,
        "number": number,
        "carrier": carrier,
        "carriers": carriers,
    });
    page(
        state,
        ctx,
        "member.html",
        "Emergency text alerts",
        extra,
        message,
        status,
    )
    .await
}

pub async fn member_get(
    State(state): State<WebState>,
    request: Authorized<Member>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, _) = request.into_parts();
    member_page(
        &state,
        &mut ctx,
        &caller,
        "",
        None,
        Message::None,
        StatusCode::OK,
    )
    .await
}

pub async fn member_post(
    State(state): State<WebState>,
    request: Authorized<Member>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, form) = request.into_parts();
    let Some(action) = MemberAction::parse(form.text("action")) else {
        return Err(WebError::BadRequest("Unknown button.".into()));
    };
    let number = form.text("number");
    let carrier = form.get("carrier");
    let members = state.alerts.members();
    let (result, saved) = match action {
        MemberAction::Remove => return confirm_remove(&state, &mut ctx).await,
        _ => match members
            .save(&ctx.actor(&caller), number, carrier, action)
            .await
        {
            Ok(saved) => (saved.into_result(), true),
            Err(e) => (Err(e), false),
        },
    };
    let (message, status) = split(result)?;
    // Once saved, the form shows the saved (masked) details, not the typed number, even
    // when the test that followed was refused.
    let keep = if saved || status == StatusCode::OK {
        ""
    } else {
        number
    };
    member_page(&state, &mut ctx, &caller, keep, carrier, message, status).await
}

/// Remove asks first: the member stops receiving emergency alerts, which they may not
/// have meant by one click.
async fn confirm_remove(state: &WebState, ctx: &mut Ctx) -> Result<Response, WebError> {
    confirm_page(
        state,
        ctx,
        Confirmation {
            title: "Remove your number",
            question: "Remove your number from emergency text alerts?".to_owned(),
            consequence: "We delete it and send it nothing more, emergency alerts included. You can register again at any time.",
            action: "/alerts/remove".to_owned(),
            button: "Remove my number",
            back: "/alerts",
        },
    )
    .await
}

/// The confirmed Remove.
pub async fn member_remove(
    State(state): State<WebState>,
    request: Authorized<Member>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, _) = request.into_parts();
    let removed = state.alerts.members().remove(&caller).await;
    let (message, status) = split(removed)?;
    member_page(&state, &mut ctx, &caller, "", None, message, status).await
}

pub async fn member_confirm(
    State(state): State<WebState>,
    request: Authorized<Member>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, form) = request.into_parts();
    let confirmed = state
        .alerts
        .members()
        .confirm_code(&caller, form.text("code"))
        .await;
    let (message, status) = split(confirmed)?;
    member_page(&state, &mut ctx, &caller, "", None, message, status).await
}

/// The member's choice of optional groups (emergency alerts always come).
pub async fn member_groups(
    State(state): State<WebState>,
    request: Authorized<Member>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, form) = request.into_parts();
    let chosen: Vec<String> = form.all("group").map(str::to_owned).collect();
    let saved = state.alerts.members().choose_groups(&caller, &chosen).await;
    let (message, status) = split(saved)?;
    member_page(&state, &mut ctx, &caller, "", None, message, status).await
}

/// The member's choice of an e-mail copy of each alert.
pub async fn member_email(
    State(state): State<WebState>,
    request: Authorized<Member>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, form) = request.into_parts();
    let on = form.get("email_copy") == Some("yes");
    let saved = state.alerts.emails().choose(&caller, on).await;
    let (message, status) = split(saved)?;
    member_page(&state, &mut ctx, &caller, "", None, message, status).await
}

/// The member's XMPP address for alerts (empty: none).
pub async fn member_xmpp(
    State(state): State<WebState>,
    request: Authorized<Member>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, form) = request.into_parts();
    let jid = form.get("jid").unwrap_or_default();
    let saved = state.alerts.xmpp().choose(&caller, jid).await;
    let (message, status) = split(saved)?;
    member_page(&state, &mut ctx, &caller, "", None, message, status).await
}
