//! The accounts desk (administrators who manage accounts): the list with the form that
//! creates an account and the tester boxes, one account's page with its roles, and its
//! removal behind a confirmation page. The rules and the audit records are the alert
//! service's ([`textgate_alert_service::accounts`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use textgate_alert_service::accounts::{parse_role, role_label, role_name, roles_label};
use textgate_alert_service::{Account, AlertError};
use textgate_alerts::{authorize, Action, Role, Roles};

use super::{confirm_page, page, split, Confirmation, Message};
use crate::forms::Fields;
use crate::request::{AccountAdmin, Authorized, TesterAdmin};
use crate::state::{Ctx, WebError, WebState};

async fn accounts_page(
    state: &WebState,
    ctx: &mut Ctx,
    me: &Account,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let accounts: Vec<Value> = state
        .alerts
        .accounts()
        .list()
        .await?
        .into_iter()
        .map(|a| json!({ "id": a.id, "email": a.email, "tester": a.tester, "roles": roles_label(&a.roles), "yourself": a.id == me.id }))
        .collect();
    let grantable: Vec<Value> = Role::ALL
        .into_iter()
        .filter(|r| authorize(&me.roles, Action::GrantRole(*r)).is_ok())
        .map(|r| json!({ "name": role_name(r), "label": role_label(r) }))
        .collect();
    page(
        state,
        ctx,
        "accounts.html",
        "Accounts",
        json!({ "accounts": accounts, "grantable": grantable }),
        message,
        status,
    )
    .await
}

pub async fn accounts_get(
    State(state): State<WebState>,
    request: Authorized<AccountAdmin>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, _) = request.into_parts();
    accounts_page(&state, &mut ctx, &caller, Message::None, StatusCode::OK).await
}

/// The roles ticked in the form, each checked against the administrator's own.
fn ticked_roles(form: &Fields, me: &Account) -> Result<Roles, WebError> {
    let mut roles = Vec::new();
    for name in form.all("role") {
        let role = parse_role(name)
            .ok_or_else(|| WebError::BadRequest(format!("Unknown role {name:?}.")))?;
        authorize(&me.roles, Action::GrantRole(role))?;
        roles.push(role);
    }
    Ok(Roles::new(roles))
}

pub async fn accounts_post(
    State(state): State<WebState>,
    request: Authorized<AccountAdmin>,
) -> Result<Response, WebError> {
    let (mut ctx, me, form) = request.into_parts();
    let roles = ticked_roles(&form, &me)?;
    let email = form.text("email").trim().to_lowercase();
    let result = state
        .alerts
        .accounts()
        .create(&ctx.actor(&me), &email, form.text("password"), roles)
        .await
        .map(|account| format!("Account {email} created (id {}).", account.id));
    let (message, status) = split(result)?;
    accounts_page(&state, &mut ctx, &me, message, status).await
}

pub async fn tester_post(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<TesterAdmin>,
) -> Result<Response, WebError> {
    let (mut ctx, me, form) = request.into_parts();
    let tester = form.get("tester") == Some("yes");
    state
        .alerts
        .accounts()
        .set_tester(&ctx.actor(&me), id, tester)
        .await?;
    accounts_page(
        &state,
        &mut ctx,
        &me,
        Message::Info("Tester list updated.".into()),
        StatusCode::OK,
    )
    .await
}

async fn account_page(
    state: &WebState,
    ctx: &mut Ctx,
    me: &Account,
    target: &Account,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let roles: Vec<Value> = Role::ALL
        .into_iter()
        .map(|r| {
            json!({
                "name": role_name(r),
                "label": role_label(r),
                "held": target.roles.has(r),
                "grantable": authorize(&me.roles, Action::GrantRole(r)).is_ok(),
            })
        })
        .collect();
    let tokens = state.alerts.tokens().list(Some(target.id)).await?.len();
    let extra = json!({
        "target": {
            "id": target.id,
            "email": target.email,
            "roles": roles_label(&target.roles),
            "tester": target.tester,
            "tokens": tokens,
        },
        "roles": roles,
        "yourself": target.id == me.id,
    });
    page(
        state,
        ctx,
        "account.html",
        &format!("Account {}", target.email),
        extra,
        message,
        status,
    )
    .await
}

pub async fn account_get(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<AccountAdmin>,
) -> Result<Response, WebError> {
    let (mut ctx, me, _) = request.into_parts();
    let target = state.alerts.accounts().managed(&me, id).await?;
    account_page(
        &state,
        &mut ctx,
        &me,
        &target,
        Message::None,
        StatusCode::OK,
    )
    .await
}

/// The roles the form asks for: the ticked boxes among the roles `me` may grant, and the
/// target's current state of the others (their boxes are disabled, so never sent).
fn requested_roles(form: &Fields, me: &Account, target: &Account) -> Result<Roles, WebError> {
    let mut ticked = Vec::new();
    for name in form.all("role") {
        ticked.push(
            parse_role(name)
                .ok_or_else(|| WebError::BadRequest(format!("Unknown role {name:?}.")))?,
        );
    }
    let roles = Role::ALL.into_iter().filter(|&r| {
        if authorize(&me.roles, Action::GrantRole(r)).is_ok() {
            ticked.contains(&r)
        } else {
            // A forged form may tick a role the administrator cannot grant: it counts,
            // so that the server refuses it rather than silently ignoring it.
            target.roles.has(r) || ticked.contains(&r)
        }
    });
    Ok(Roles::new(roles))
}

pub async fn account_roles_post(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<AccountAdmin>,
) -> Result<Response, WebError> {
    let (mut ctx, me, form) = request.into_parts();
    let accounts = state.alerts.accounts();
    let target = accounts.managed(&me, id).await?;
    let roles = requested_roles(&form, &me, &target)?;
    let (message, status) = split(accounts.change_roles(&ctx.actor(&me), id, roles).await)?;
    // The page shows the roles as they are now.
    let target = accounts.managed(&me, id).await?;
    account_page(&state, &mut ctx, &me, &target, message, status).await
}

pub async fn account_remove_get(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<AccountAdmin>,
) -> Result<Response, WebError> {
    let (mut ctx, me, _) = request.into_parts();
    let target = state.alerts.accounts().managed(&me, id).await?;
    confirm_page(
        &state,
        &mut ctx,
        Confirmation {
            title: "Remove an account",
            question: format!(
                "Remove the account {} ({})?",
                target.email,
                roles_label(&target.roles)
            ),
            consequence: "Its sessions and API tokens stop working at once, and its alert registration is deleted. The logs keep what it did. This cannot be undone.",
            action: format!("/admin/accounts/{id}/remove"),
            button: "Remove the account",
            back: &format!("/admin/accounts/{id}"),
        },
    )
    .await
}

pub async fn account_remove_post(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<AccountAdmin>,
) -> Result<Response, WebError> {
    let (mut ctx, me, _) = request.into_parts();
    let accounts = state.alerts.accounts();
    match accounts.remove(&ctx.actor(&me), id).await {
        Ok(m) => accounts_page(&state, &mut ctx, &me, Message::Info(m), StatusCode::OK).await,
        Err(AlertError::Refused(m)) => {
            let target = accounts.managed(&me, id).await?;
            account_page(
                &state,
                &mut ctx,
                &me,
                &target,
                Message::Error(m),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
