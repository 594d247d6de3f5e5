//! The API tokens desk (every signed-in account): the account's tokens (and, for
//! administrators who manage accounts, everyone's), creating one (its secret shown once)
//! and revoking one behind a confirmation page. The rules and the audit records are the
//! alert service's ([`textgate_alert_service::tokens`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use textgate_alert_service::tokens::{
    manages_all_tokens, ApiToken, NewToken, TokenScope, MAX_LABEL_CHARS,
};
use textgate_alert_service::{format_time, Account};
use textgate_alerts::{authorize, Action};

use super::{confirm_page, page, split, Confirmation, Message};
use crate::request::{Authorized, SignedIn};
use crate::state::{Ctx, WebError, WebState};

/// A scope as the page names it.
fn scope_words(scope: TokenScope) -> &'static str {
    match scope {
        TokenScope::Console => "console",
        TokenScope::Send => "sending texts",
    }
}

fn token_rows(tokens: &[ApiToken]) -> Vec<Value> {
    tokens
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "label": t.label,
                "scope": scope_words(t.scope),
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
    let (own, others) = state.alerts.tokens().visible(account).await?;
    let extra = json!({
        "own": token_rows(&own),
        "others": token_rows(&others),
        "all": manages_all_tokens(account),
        "created": created.map(|(t, label)| json!({ "id": t.id, "secret": t.secret, "label": label })),
        "max_label": MAX_LABEL_CHARS,
        "may_send": authorize(&account.roles, Action::SendTexts).is_ok(),
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

pub async fn tokens_get(
    State(state): State<WebState>,
    request: Authorized<SignedIn>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, _) = request.into_parts();
    tokens_page(
        &state,
        &mut ctx,
        &caller,
        None,
        Message::None,
        StatusCode::OK,
    )
    .await
}

/// Creates a token and shows its secret, once.
pub async fn tokens_post(
    State(state): State<WebState>,
    request: Authorized<SignedIn>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, form) = request.into_parts();
    let label = form.text("label").trim().to_string();
    let scope = match form.get("scope") {
        None | Some("") => TokenScope::Console,
        Some(name) => TokenScope::parse(name)
            .ok_or_else(|| WebError::BadRequest(format!("There is no token scope {name:?}.")))?,
    };
    match state
        .alerts
        .tokens()
        .create(&ctx.actor(&caller), &label, scope)
        .await
    {
        Ok(token) => {
            let m = "Token created. Copy it now: it is not shown again.".to_string();
            tokens_page(
                &state,
                &mut ctx,
                &caller,
                Some((&token, &label)),
                Message::Info(m),
                StatusCode::CREATED,
            )
            .await
        }
        Err(e) => {
            let (message, status) = split(Err::<String, _>(e))?;
            tokens_page(&state, &mut ctx, &caller, None, message, status).await
        }
    }
}

pub async fn token_revoke_get(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<SignedIn>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, _) = request.into_parts();
    let token = state.alerts.tokens().revocable(&caller, id).await?;
    let whose = if token.account_id == caller.id {
        "your".to_string()
    } else {
        format!("{}'s", token.account_email)
    };
    confirm_page(
        &state,
        &mut ctx,
        Confirmation {
            title: "Revoke an API token",
            question: format!(
                "Revoke {whose} token \u{201c}{}\u{201d} (created {})?",
                token.label,
                format_time(token.created_at)
            ),
            consequence: "Scripts using it are refused from their next request on. This cannot be undone; a new token can be created instead.",
            action: format!("/tokens/{id}/revoke"),
            button: "Revoke the token",
            back: "/tokens",
        },
    )
    .await
}

pub async fn token_revoke_post(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<SignedIn>,
) -> Result<Response, WebError> {
    let (mut ctx, caller, _) = request.into_parts();
    let revoked = state.alerts.tokens().revoke(&ctx.actor(&caller), id).await;
    let (message, status) = split(revoked)?;
    tokens_page(&state, &mut ctx, &caller, None, message, status).await
}
