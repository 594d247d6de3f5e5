//! The HTML pages and their forms, one file per desk: sign-in ([`signin`]), the member
//! page ([`member`]), the alert desks (compose, confirm, send, progress, logs:
//! [`alerts`]), accounts ([`accounts`]) and API tokens ([`tokens`]), and the staff's
//! transcripts ([`transcripts`]). Every handler takes [`Authorized`](crate::request) as
//! its last extractor, which checks the CSRF token of every POST and the role before the
//! handler runs; the handlers render, and call the alert service (or, for transcripts,
//! the store) for everything else.

pub(crate) mod accounts;
pub(crate) mod alerts;
pub(crate) mod error_frame;
pub(crate) mod member;
pub(crate) mod signin;
pub(crate) mod tokens;
pub(crate) mod transcripts;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Map, Value};
use textgate_alerts::{Action, Role};

use crate::state::{Ctx, WebError, WebState};

pub use alerts::Desk;

/// A message shown at the top of a page.
pub(crate) enum Message {
    None,
    Info(String),
    Error(String),
}

/// Renders `template` with the common context (account, navigation, CSRF token, message).
pub(crate) async fn page(
    state: &WebState,
    ctx: &mut Ctx,
    template: &str,
    title: &str,
    extra: Value,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    let csrf = ctx.csrf_token(state).await?;
    let mut map = Map::new();
    map.insert("title".into(), json!(title));
    map.insert("csrf".into(), json!(csrf));
    if let Some(a) = &ctx.account {
        map.insert("account".into(), json!({ "email": a.email }));
        map.insert(
            "nav".into(),
            json!({
                "admin": a.roles.has(Role::TechnicalAdministrator) || a.roles.has(Role::EmergencyAdministrator),
                "transcripts": a.roles.has(Role::TranscriptAdministrator),
                "accounts": textgate_alerts::authorize(&a.roles, Action::ManageUsers).is_ok(),
            }),
        );
    }
    match message {
        Message::None => {}
        Message::Info(m) => {
            map.insert("message".into(), json!(m));
            map.insert("message_kind".into(), json!("info"));
        }
        Message::Error(m) => {
            map.insert("message".into(), json!(m));
            map.insert("message_kind".into(), json!("error"));
        }
    }
    if let Value::Object(extra) = extra {
        map.extend(extra);
    }
    let html = state
        .templates
        .render(template, minijinja::Value::from_serialize(&map))?;
    Ok(ctx.finish((status, html)))
}

/// A user's mistake becomes an error message on the page; anything else propagates.
pub(crate) fn split<E: Into<WebError>>(
    result: Result<String, E>,
) -> Result<(Message, StatusCode), WebError> {
    match result.map_err(Into::into) {
        Ok(m) => Ok((Message::Info(m), StatusCode::OK)),
        Err(WebError::BadRequest(m)) => Ok((Message::Error(m), StatusCode::BAD_REQUEST)),
        Err(e) => Err(e),
    }
}

/// What a confirmation page for a destructive action asks.
pub(crate) struct Confirmation<'a> {
    pub title: &'a str,
    pub question: String,
    pub consequence: &'a str,
    /// Where the red button posts.
    pub action: String,
    pub button: &'a str,
    /// The way back.
    pub back: &'a str,
}

/// A confirmation page for a destructive action: the question, a red button posting to
/// the action, and a way back.
pub(crate) async fn confirm_page(
    state: &WebState,
    ctx: &mut Ctx,
    c: Confirmation<'_>,
) -> Result<Response, WebError> {
    let extra = json!({
        "heading": c.title,
        "question": c.question,
        "consequence": c.consequence,
        "action": c.action,
        "button": c.button,
        "back": c.back,
    });
    page(
        state,
        ctx,
        "confirm_action.html",
        c.title,
        extra,
        Message::None,
        StatusCode::OK,
    )
    .await
}

pub async fn root(ctx: Ctx) -> Response {
    match ctx.account {
        Some(_) => Redirect::to("/alerts").into_response(),
        None => Redirect::to("/signin").into_response(),
    }
}
