//! The pages that manage access: API tokens (every signed-in account) and accounts
//! (administrators who manage accounts). Every POST checks the CSRF token before anything
//! else; the rules themselves live in [`crate::tokens`] and [`crate::accounts`], shared
//! with the JSON API. Destructive actions go through a confirmation page first.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use textgate_alerts::{authorize, Action, Role, Roles};

use crate::accounts::{
    change_roles, managed_account, remove_account, role_label, roles_label, Actor,
};
use crate::db::accounts::{parse_role, role_name};
use crate::db::{Account, ApiToken};
use crate::forms::Fields;
use crate::members::format_time;
use crate::pages::{accounts_page, page, split, Message};
use crate::state::{Ctx, WebError, WebState};
use crate::tokens::{self, NewToken, MAX_LABEL_CHARS};

fn token_rows(tokens: &[ApiToken]) -> Vec<Value> {
    tokens
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "label": t.label,
                "account_email": t.account_email,
                "created": format_time(t.created_at),
                "last_used": t.last_used_at.map(format_time).unwrap_or_else(|| "never".into()),
            })
        })
        .collect()
}

async fn tokens_page(
    state: &WebState,
    ctx: &mut Ctx,
    account: &Account,
    created: Option<(&NewToken, &str)>,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let (own, others) = tokens::visible_tokens(state, account).await?;
    let extra = json!({
        "own": token_rows(&own),
        "others": token_rows(&others),
        "all": tokens::manages_all_tokens(account),
        "created": created.map(|(t, label)| json!({ "id": t.id, "secret": t.secret, "label": label })),
        "max_label": MAX_LABEL_CHARS,
    });
    page(
        state,
        ctx,
        "tokens.html",
        "API tokens",
        extra,
        message,
        status,
    )
    .await
}

pub async fn tokens_get(State(state): State<WebState>, mut ctx: Ctx) -> Result<Response, WebError> {
    let account = ctx.signed_in()?.clone();
    tokens_page(
        &state,
        &mut ctx,
        &account,
        None,
        Message::None,
        StatusCode::OK,
    )
    .await
}

/// Creates a token and shows its secret, once.
pub async fn tokens_post(
    State(state): State<WebState>,
    mut ctx: Ctx,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let account = ctx.signed_in()?.clone();
    let label = form.text("label").trim().to_string();
    match tokens::create_token(&state, &ctx, &label).await {
        Ok(token) => {
            let m = "Token created. Copy it now: it is not shown again.".to_string();
            tokens_page(
                &state,
                &mut ctx,
                &account,
                Some((&token, &label)),
                Message::Info(m),
                StatusCode::CREATED,
            )
            .await
        }
        Err(e) => {
            let (message, status) = split(Err(e))?;
            tokens_page(&state, &mut ctx, &account, None, message, status).await
        }
    }
}

/// A confirmation page for a destructive action: `question`, a red button posting to
/// `action`, and a way back.
#[allow(clippy::too_many_arguments)]
async fn confirm_page(
    state: &WebState,
    ctx: &mut Ctx,
    title: &str,
    question: String,
    consequence: &str,
    action: String,
    button: &str,
    back: &str,
) -> Result<Response, WebError> {
    let extra = json!({
        "heading": title,
        "question": question,
        "consequence": consequence,
        "action": action,
        "button": button,
        "back": back,
    });
    page(
        state,
        ctx,
        "confirm_action.html",
        title,
        extra,
        Message::None,
        StatusCode::OK,
    )
    .await
}

pub async fn token_revoke_get(
    State(state): State<WebState>,
    mut ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let account = ctx.signed_in()?.clone();
    let token = tokens::revocable_token(&state, &account, id).await?;
    let whose = if token.account_id == account.id {
        "your".to_string()
    } else {
        format!("{}'s", token.account_email)
    };
    confirm_page(
        &state,
        &mut ctx,
        "Revoke an API token",
        format!(
            "Revoke {whose} token \u{201c}{}\u{201d} (created {})?",
            token.label,
            format_time(token.created_at)
        ),
        "Scripts using it are refused from their next request on. This cannot be undone; a new token can be created instead.",
        format!("/tokens/{id}/revoke"),
        "Revoke the token",
        "/tokens",
    )
    .await
}

pub async fn token_revoke_post(
    State(state): State<WebState>,
    mut ctx: Ctx,
    Path(id): Path<i64>,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let account = ctx.signed_in()?.clone();
    let (message, status) = split(tokens::revoke_token(&state, &account, &ctx.ip, id).await)?;
    tokens_page(&state, &mut ctx, &account, None, message, status).await
}

// ---- accounts --------------------------------------------------------------------------

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
    let tokens = state.db.api_tokens(Some(target.id)).await?.len();
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
    mut ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let me = ctx.require(Action::ManageUsers)?.clone();
    let target = managed_account(&state, &me, id).await?;
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
    mut ctx: Ctx,
    Path(id): Path<i64>,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let me = ctx.require(Action::ManageUsers)?.clone();
    let target = managed_account(&state, &me, id).await?;
    let roles = requested_roles(&form, &me, &target)?;
    let actor = Actor {
        account: &me,
        ip: &ctx.ip,
    };
    let (message, status) = split(change_roles(&state, actor, id, roles).await)?;
    // The page shows the roles as they are now.
    let target = managed_account(&state, &me, id).await?;
    account_page(&state, &mut ctx, &me, &target, message, status).await
}

pub async fn account_remove_get(
    State(state): State<WebState>,
    mut ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let me = ctx.require(Action::ManageUsers)?.clone();
    let target = managed_account(&state, &me, id).await?;
    confirm_page(
        &state,
        &mut ctx,
        "Remove an account",
        format!(
            "Remove the account {} ({})?",
            target.email,
            roles_label(&target.roles)
        ),
        "Its sessions and API tokens stop working at once, and its alert registration is deleted. The logs keep what it did. This cannot be undone.",
        format!("/admin/accounts/{id}/remove"),
        "Remove the account",
        &format!("/admin/accounts/{id}"),
    )
    .await
}

pub async fn account_remove_post(
    State(state): State<WebState>,
    mut ctx: Ctx,
    Path(id): Path<i64>,
    form: Fields,
) -> Result<Response, WebError> {
    ctx.check_csrf(form.get("csrf"))?;
    let me = ctx.require(Action::ManageUsers)?.clone();
    let actor = Actor {
        account: &me,
        ip: &ctx.ip,
    };
    match remove_account(&state, actor, id).await {
        Ok(m) => accounts_page(&state, &mut ctx, &me, Message::Info(m), StatusCode::OK).await,
        Err(WebError::BadRequest(m)) => {
            let target = managed_account(&state, &me, id).await?;
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
        Err(e) => Err(e),
    }
}
