//! The JSON API: the same operations as the pages, with the same role checks, for scripts
//! and the pages' JavaScript. Authentication is either a bearer token
//! (`Authorization: Bearer …`, made with `POST /api/v1/tokens`) or the session cookie;
//! with the cookie, requests that change anything must also send the session's CSRF token
//! in an `X-CSRF-Token` header (the pages carry it in `<meta name="csrf-token">`).
//! Described by `openapi.json`, served at `/api/openapi.json`.
//!
//! Handlers take [`Authorized<G>`] (the header's CSRF token, then the guard `G` of
//! [`crate::request`]) and call the alert service; by concern: [`access`] (tokens and
//! accounts), [`alerts`] (registration, compose, campaigns, logs), [`transcripts`] and
//! [`texts`] (the send API), [`webhooks`] (the webhook delivery log). Kannel's `/cgi-bin/sendsms` ([`crate::kannel`]) is described
//! here too, though it answers in Kannel's plain text.

pub(crate) mod access;
pub(crate) mod alerts;
pub(crate) mod texts;
pub(crate) mod transcripts;
pub(crate) mod webhooks;

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use textgate_alert_service::accounts::role_name;
use textgate_alert_service::{Account, Actor, AlertError};

use crate::request::{changes_state, Guard, SignedIn};
use crate::state::{Ctx, WebError, WebState};

/// The OpenAPI document (hand-written; a test checks it lists exactly [`API_ROUTES`]).
pub const OPENAPI: &str = include_str!("../../openapi.json");

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
    ("post", "/api/v1/registration/groups"),
    ("post", "/api/v1/compose/measure"),
    ("post", "/api/v1/campaigns"),
    ("post", "/api/v1/campaigns/{id}/decide"),
    ("get", "/api/v1/campaigns/{id}"),
    ("get", "/api/v1/templates"),
    ("get", "/api/v1/schedules"),
    ("post", "/api/v1/schedules"),
    ("post", "/api/v1/schedules/{id}/cancel"),
    ("get", "/api/v1/send-log"),
    ("get", "/api/v1/audit-log"),
    ("get", "/api/v1/transcripts/conversations"),
    ("get", "/api/v1/transcripts/stats"),
    ("get", "/api/v1/transcripts/export"),
    ("post", "/api/v1/transcripts/delete"),
    ("post", "/api/v1/texts"),
    ("get", "/api/v1/texts/{id}"),
    ("get", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/deliveries"),
    ("get", "/cgi-bin/sendsms"),
    ("post", "/cgi-bin/sendsms"),
];

/// An API error: JSON `{"error": "..."}` with the status (401 rather than a redirect).
pub struct ApiError(WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> ApiError {
        ApiError(e)
    }
}

impl From<AlertError> for ApiError {
    fn from(e: AlertError) -> ApiError {
        ApiError(e.into())
    }
}

impl From<textgate_alerts::Forbidden> for ApiError {
    fn from(e: textgate_alerts::Forbidden) -> ApiError {
        ApiError(e.into())
    }
}

impl From<textgate_store::StoreError> for ApiError {
    fn from(e: textgate_store::StoreError) -> ApiError {
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

pub(crate) type ApiResult = Result<Response, ApiError>;

/// A 400 with `message`.
pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(WebError::BadRequest(message.into()))
}

/// An API request admitted by `G`. A request that changes something and comes with the
/// session cookie must carry the session's CSRF token in `X-CSRF-Token`; it is checked
/// before the role.
pub struct Authorized<G: Guard> {
    pub ctx: Ctx,
    /// The caller `G` admitted.
    pub caller: G::Caller,
    guard: PhantomData<G>,
}

impl<G: Guard> FromRequestParts<WebState> for Authorized<G> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        if changes_state(&parts.method) {
            let presented = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            ctx.check_csrf(presented)?;
        }
        let caller = crate::request::admit::<G>(&ctx)?;
        Ok(Authorized {
            ctx,
            caller,
            guard: PhantomData,
        })
    }
}

impl<G: Guard<Caller = Account>> Authorized<G> {
    /// The signed-in account acting through this request, for the alert service.
    pub fn actor(&self) -> Actor<'_> {
        self.ctx.actor(&self.caller)
    }
}

/// A JSON body whose rejection is an API error rather than axum's plain text.
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<WebState> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &WebState) -> Result<Body<T>, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Body(v))
            .map_err(|e| bad_request(format!("The request body could not be read: {e}")))
    }
}

/// `{"message": ...}` for a service call that answers with a message for people.
pub(crate) fn message(result: Result<String, AlertError>) -> ApiResult {
    match result {
        Ok(m) => Ok(Json(json!({ "message": m })).into_response()),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn account_json(a: &Account) -> Value {
    json!({
        "id": a.id, "email": a.email, "tester": a.tester,
        "roles": a.roles.iter().map(role_name).collect::<Vec<_>>(),
    })
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub async fn me(request: Authorized<SignedIn>) -> ApiResult {
    Ok(Json(account_json(&request.caller)).into_response())
}
