//! API tokens and accounts through the JSON API; the rules, and the audit records, are the
//! alert service's, the same as for the pages.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use textgate_alert_service::accounts::parse_role;
use textgate_alert_service::tokens::TokenScope;
use textgate_alerts::{authorize, Action, Roles};

use super::{account_json, bad_request, message, ApiError, ApiResult, Authorized, Body};
use crate::request::{AccountAdmin, SignedIn};
use crate::state::WebState;

#[derive(Deserialize)]
pub struct TokenBody {
    #[serde(default)]
    label: String,
    /// `console` (the default) or `send`.
    #[serde(default)]
    scope: Option<TokenScope>,
}

/// Creates a bearer token for the signed-in account; the token is shown only here.
pub async fn token_post(
    State(state): State<WebState>,
    request: Authorized<SignedIn>,
    Body(b): Body<TokenBody>,
) -> ApiResult {
    let created = state
        .alerts
        .tokens()
        .create(
            &request.actor(),
            &b.label,
            b.scope.unwrap_or(TokenScope::Console),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": created.id, "token": created.secret })),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct TokenQuery {
    /// `own` (default) or `all` (administrators who manage accounts).
    scope: Option<String>,
}

/// The signed-in account's tokens, or with `?scope=all` every account's.
pub async fn tokens_get(
    State(state): State<WebState>,
    Query(q): Query<TokenQuery>,
    request: Authorized<SignedIn>,
) -> ApiResult {
    let a = &request.caller;
    let owner = match q.scope.as_deref() {
        None | Some("own") => Some(a.id),
        Some("all") => {
            authorize(&a.roles, Action::ManageUsers)?;
            None
        }
        Some(_) => return Err(bad_request("scope must be \"own\" or \"all\"")),
    };
    let list = state.alerts.tokens().list(owner).await?;
    Ok(Json(json!({ "tokens": list })).into_response())
}

pub async fn token_delete(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<SignedIn>,
) -> ApiResult {
    message(state.alerts.tokens().revoke(&request.actor(), id).await)
}

/// Role names from a request body; an unknown one is a 400 naming it.
fn roles_from(names: &[String]) -> Result<Roles, ApiError> {
    let mut roles = Vec::new();
    for name in names {
        roles.push(parse_role(name).ok_or_else(|| {
            bad_request(format!(
                "unknown role {name:?}; the roles are member, technical-administrator, emergency-administrator and transcript-administrator"
            ))
        })?);
    }
    Ok(Roles::new(roles))
}

pub async fn accounts_get(
    State(state): State<WebState>,
    _request: Authorized<AccountAdmin>,
) -> ApiResult {
    let list: Vec<Value> = state
        .alerts
        .accounts()
        .list()
        .await?
        .iter()
        .map(account_json)
        .collect();
    Ok(Json(json!({ "accounts": list })).into_response())
}

#[derive(Deserialize)]
pub struct NewAccountBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    roles: Vec<String>,
}

pub async fn account_post(
    State(state): State<WebState>,
    request: Authorized<AccountAdmin>,
    Body(b): Body<NewAccountBody>,
) -> ApiResult {
    let roles = roles_from(&b.roles)?;
    let account = state
        .alerts
        .accounts()
        .create(&request.actor(), &b.email, &b.password, roles)
        .await?;
    Ok((StatusCode::CREATED, Json(account_json(&account))).into_response())
}

#[derive(Deserialize)]
pub struct RolesBody {
    #[serde(default)]
    roles: Vec<String>,
}

pub async fn account_roles_put(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<AccountAdmin>,
    Body(b): Body<RolesBody>,
) -> ApiResult {
    let roles = roles_from(&b.roles)?;
    message(
        state
            .alerts
            .accounts()
            .change_roles(&request.actor(), id, roles)
            .await,
    )
}

pub async fn account_delete(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    request: Authorized<AccountAdmin>,
) -> ApiResult {
    message(state.alerts.accounts().remove(&request.actor(), id).await)
}
