//! The JSON API: the same operations as the pages, with the same role checks, for scripts
//! and the pages' JavaScript. Authentication is either a bearer token
//! (`Authorization: Bearer …`, made with `POST /api/v1/tokens`) or the session cookie;
//! with the cookie, requests that change anything must also send the session's CSRF token
//! in an `X-CSRF-Token` header (the pages carry it in `<meta name="csrf-token">`). Described by `openapi.json`, served at
//! `/api/openapi.json`.

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use textgate_alerts::{authorize, Action, Roles};
use textgate_store::{Conversation, Deletion, Selection};

use crate::accounts::{self, Actor};
use crate::campaigns::{self, composer};
use crate::db::accounts::{parse_role, role_name};
use crate::db::{Account, Audience, YearlyTest};
use crate::members::{self, MemberAction};
use crate::pages::{day_json, range, RangeQuery};
use crate::state::{Ctx, WebError, WebState};
use crate::tokens;

/// The OpenAPI document (hand-written; a test checks it lists exactly [`API_ROUTES`]).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every API route as (method, path in OpenAPI form).
pub const API_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/openapi.json"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{id}"),
    ("get", "/api/v1/accounts"),
    ("post", "/api/v1/accounts"),
    ("put", "/api/v1/accounts/{id}/roles"),
    ("delete", "/api/v1/accounts/{id}"),
    ("get", "/api/v1/registration"),
    ("post", "/api/v1/registration"),
    ("delete", "/api/v1/registration"),
    ("post", "/api/v1/registration/confirm"),
    ("post", "/api/v1/compose/measure"),
    ("post", "/api/v1/campaigns"),
    ("get", "/api/v1/campaigns/{id}"),
    ("get", "/api/v1/send-log"),
    ("get", "/api/v1/audit-log"),
    ("get", "/api/v1/transcripts/conversations"),
    ("get", "/api/v1/transcripts/stats"),
    ("get", "/api/v1/transcripts/export"),
    ("post", "/api/v1/transcripts/delete"),
];

/// An API error: JSON `{"error": "..."}` with the status (401 rather than a redirect).
pub struct ApiError(WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> ApiError {
        ApiError(e)
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> ApiError {
        ApiError(e.into())
    }
}

impl From<textgate_alerts::Forbidden> for ApiError {
    fn from(e: textgate_alerts::Forbidden) -> ApiError {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0, "API request failed");
        }
        (status, Json(json!({ "error": self.0.public_message() }))).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn csrf(ctx: &Ctx, headers: &HeaderMap) -> Result<(), WebError> {
    ctx.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
}

/// A JSON body whose rejection is an API error rather than axum's plain text.
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<WebState> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &WebState) -> Result<Body<T>, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Body(v))
            .map_err(|e| {
                ApiError(WebError::BadRequest(format!(
                    "The request body could not be read: {e}"
                )))
            })
    }
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub async fn me(ctx: Ctx) -> ApiResult {
    Ok(Json(account_json(ctx.signed_in()?)).into_response())
}

#[derive(Deserialize)]
pub struct TokenBody {
    #[serde(default)]
    label: String,
}

/// Creates a bearer token for the signed-in account; the token is shown only here.
pub async fn token_post(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
    Body(b): Body<TokenBody>,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    let created = tokens::create_token(&state, &ctx, &b.label).await?;
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
    ctx: Ctx,
    Query(q): Query<TokenQuery>,
) -> ApiResult {
    let a = ctx.signed_in()?;
    let owner = match q.scope.as_deref() {
        None | Some("own") => Some(a.id),
        Some("all") => {
            authorize(&a.roles, Action::ManageUsers)?;
            None
        }
        Some(_) => {
            return Err(ApiError(WebError::BadRequest(
                "scope must be \"own\" or \"all\"".into(),
            )))
        }
    };
    let list = state.db.api_tokens(owner).await?;
    Ok(Json(json!({ "tokens": list })).into_response())
}

pub async fn token_delete(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    let a = ctx.signed_in()?;
    message(tokens::revoke_token(&state, a, &ctx.ip, id).await)
}

fn account_json(a: &Account) -> Value {
    json!({
        "id": a.id, "email": a.email, "tester": a.tester,
        "roles": a.roles.iter().map(role_name).collect::<Vec<_>>(),
    })
}

/// Role names from a request body; an unknown one is a 400 naming it.
fn roles_from(names: &[String]) -> Result<Roles, ApiError> {
    let mut roles = Vec::new();
    for name in names {
        roles.push(parse_role(name).ok_or_else(|| {
            ApiError(WebError::BadRequest(format!(
                "unknown role {name:?}; the roles are member, technical-administrator, emergency-administrator and transcript-administrator"
            )))
        })?);
    }
    Ok(Roles::new(roles))
}

pub async fn accounts_get(State(state): State<WebState>, ctx: Ctx) -> ApiResult {
    ctx.require(Action::ManageUsers)?;
    let list: Vec<Value> = state
        .db
        .accounts()
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
    ctx: Ctx,
    headers: HeaderMap,
    Body(b): Body<NewAccountBody>,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    let me = ctx.require(Action::ManageUsers)?;
    let roles = roles_from(&b.roles)?;
    for role in roles.iter() {
        authorize(&me.roles, Action::GrantRole(role))?;
    }
    let id = accounts::create_account(&state, &b.email, &b.password, roles.clone()).await?;
    let account = state.db.account(id).await?.ok_or(WebError::NotFound)?;
    let names: Vec<&str> = roles.iter().map(role_name).collect();
    state
        .db
        .audit(
            Some(me.id),
            &me.email,
            &ctx.ip,
            "create-account",
            &format!("{}: {}", account.email, names.join(",")),
            state.now(),
        )
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
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Body(b): Body<RolesBody>,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    let me = ctx.require(Action::ManageUsers)?;
    let roles = roles_from(&b.roles)?;
    let actor = Actor {
        account: me,
        ip: &ctx.ip,
    };
    message(accounts::change_roles(&state, actor, id, roles).await)
}

pub async fn account_delete(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    let me = ctx.require(Action::ManageUsers)?;
    let actor = Actor {
        account: me,
        ip: &ctx.ip,
    };
    message(accounts::remove_account(&state, actor, id).await)
}

pub async fn registration_get(State(state): State<WebState>, ctx: Ctx) -> ApiResult {
    let a = ctx.require(Action::ManageOwnRegistration)?;
    let saved = members::saved_view(&state, a).await?;
    Ok(Json(json!({ "registration": saved })).into_response())
}

#[derive(Deserialize)]
pub struct RegistrationBody {
    #[serde(default)]
    number: String,
    carrier: Option<String>,
    #[serde(default)]
    test: bool,
}

fn message(result: Result<String, WebError>) -> ApiResult {
    match result {
        Ok(m) => Ok(Json(json!({ "message": m })).into_response()),
        Err(e) => Err(ApiError(e)),
    }
}

pub async fn registration_post(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
    Body(b): Body<RegistrationBody>,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    let a = ctx.require(Action::ManageOwnRegistration)?;
    let action = if b.test {
        MemberAction::SaveAndTest
    } else {
        MemberAction::Save
    };
    message(members::save(&state, a, &ctx.ip, &b.number, b.carrier.as_deref(), action).await)
}

pub async fn registration_delete(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    let a = ctx.require(Action::ManageOwnRegistration)?;
    message(members::remove(&state, a).await)
}

#[derive(Deserialize)]
pub struct CodeBody {
    #[serde(default)]
    code: String,
}

pub async fn registration_confirm(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
    Body(b): Body<CodeBody>,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    let a = ctx.require(Action::ManageOwnRegistration)?;
    message(members::confirm_code(&state, a, &b.code).await)
}

#[derive(Deserialize)]
pub struct TextBody {
    #[serde(default)]
    text: String,
}

pub async fn measure(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
    Body(b): Body<TextBody>,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    ctx.require(Action::SendTestToTesters)?;
    Ok(Json(composer(&state).measure(&b.text)).into_response())
}

#[derive(Deserialize)]
pub struct CampaignBody {
    #[serde(default)]
    audience: String,
    #[serde(default)]
    text: String,
    yearly_test: Option<YearlyBody>,
}

#[derive(Deserialize)]
pub struct YearlyBody {
    description: String,
    date: String,
    time: String,
    announced: bool,
}

pub async fn campaign_post(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
    Body(b): Body<CampaignBody>,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    let (audience, action, audit) = match b.audience.as_str() {
        "testers" => (Audience::Testers, Action::SendTestToTesters, "send-test"),
        "everyone" => (
            Audience::Everyone,
            Action::SendAlertToEveryone,
            "send-alert",
        ),
        _ => {
            return Err(ApiError(WebError::BadRequest(
                "audience must be \"testers\" or \"everyone\"".into(),
            )))
        }
    };
    let a = ctx.require(action)?;
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
        Some(_) => {
            return Err(ApiError(WebError::BadRequest(
                "a yearly test record belongs to a test send".into(),
            )))
        }
        None => None,
    };
    let id = campaigns::start(&state, a, audience, &b.text, yearly.as_ref()).await?;
    state
        .db
        .audit(
            Some(a.id),
            &a.email,
            &ctx.ip,
            audit,
            &format!("campaign {id}: {}", b.text),
            state.now(),
        )
        .await
        .map_err(WebError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "progress": format!("/api/v1/campaigns/{id}") })),
    )
        .into_response())
}

pub async fn campaign_get(
    State(state): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> ApiResult {
    ctx.require(Action::ViewSendLog)?;
    let send = state
        .db
        .send(id)
        .await
        .map_err(WebError::from)?
        .ok_or(WebError::NotFound)?;
    Ok(Json(campaigns::progress(&state, &send).await?).into_response())
}

pub async fn send_log(State(state): State<WebState>, ctx: Ctx) -> ApiResult {
    ctx.require(Action::ViewSendLog)?;
    Ok(
        Json(json!({ "sends": state.db.send_log(1000).await.map_err(WebError::from)? }))
            .into_response(),
    )
}

pub async fn audit_log(State(state): State<WebState>, ctx: Ctx) -> ApiResult {
    ctx.require(Action::ViewAuditLog)?;
    Ok(
        Json(json!({ "entries": state.db.audit_log(1000).await.map_err(WebError::from)? }))
            .into_response(),
    )
}

pub async fn conversations(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<RangeQuery>,
) -> ApiResult {
    ctx.require(Action::ManageTranscripts)?;
    let r = q.resolve(&state)?;
    let list: Vec<Value> = r
        .conversations(&state)
        .await?
        .iter()
        .map(conversation_json)
        .collect();
    Ok(Json(json!({ "gateway": r.gateway, "conversations": list })).into_response())
}

pub async fn stats(
    State(state): State<WebState>,
    ctx: Ctx,
    Query(q): Query<RangeQuery>,
) -> ApiResult {
    ctx.require(Action::ManageTranscripts)?;
    let r = q.resolve(&state)?;
    let days: Vec<Value> = r.daily_stats(&state).await?.iter().map(day_json).collect();
    Ok(Json(json!({ "gateway": r.gateway, "days": days })).into_response())
}

/// A conversation in the API (times in RFC 3339).
fn conversation_json(c: &Conversation) -> Value {
    json!({ "id": c.id, "patron": c.patron, "first_activity": c.first_activity, "last_activity": c.last_activity, "texts_in": c.texts_in, "texts_out": c.texts_out })
}

pub async fn export(state: State<WebState>, ctx: Ctx, q: Query<RangeQuery>) -> ApiResult {
    crate::pages::transcripts_export(state, ctx, q)
        .await
        .map_err(ApiError)
}

#[derive(Deserialize)]
pub struct DeleteBody {
    // Not a flattened `RangeQuery`: serde's flatten would drop the field's name from the
    // error for a wrongly typed value.
    gateway: Option<String>,
    from: Option<String>,
    until: Option<String>,
    /// Conversation ids; without them the whole date range.
    ids: Option<Vec<i64>>,
    /// `transcripts` (default) or `records`.
    what: Option<String>,
}

pub async fn delete(
    State(state): State<WebState>,
    ctx: Ctx,
    headers: HeaderMap,
    Body(b): Body<DeleteBody>,
) -> ApiResult {
    csrf(&ctx, &headers)?;
    let me = ctx.require(Action::ManageTranscripts)?;
    let r = range(
        &state,
        b.gateway.as_deref(),
        b.from.as_deref(),
        b.until.as_deref(),
    )?;
    let deletion = match b.what.as_deref() {
        None | Some("transcripts") => Deletion::Transcripts,
        Some("records") => Deletion::Records,
        Some(_) => {
            return Err(ApiError(WebError::BadRequest(
                "what must be \"transcripts\" or \"records\"".into(),
            )))
        }
    };
    let selection = match b.ids {
        Some(ids) => Selection::Conversations {
            gateway: r.gateway.clone(),
            ids,
        },
        None => r.selection(),
    };
    let report = state
        .store
        .delete(&selection, deletion)
        .await
        .map_err(WebError::from)?;
    state
        .db
        .audit(
            Some(me.id),
            &me.email,
            &ctx.ip,
            "delete-transcripts",
            &format!(
                "{deletion:?} of {selection:?}: {} texts, {} conversations",
                report.texts, report.conversations
            ),
            state.now(),
        )
        .await
        .map_err(WebError::from)?;
    Ok(
        Json(json!({ "texts": report.texts, "conversations": report.conversations }))
            .into_response(),
    )
}
