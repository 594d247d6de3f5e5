//! Signing in and out. The rules (failure limits, the dummy hash for unknown accounts, a
//! new session at every sign-in) are the alert service's; this desk renders the form and
//! sets or clears the cookie.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use textgate_alert_service::sessions::SignIn;

use super::{page, Message};
use crate::auth::{clear_cookie, session_cookie};
use crate::request::{Authorized, Visitor};
use crate::state::{Ctx, WebError, WebState};

async fn signin_form(
    state: &WebState,
    ctx: &mut Ctx,
    email: &str,
    message: Message,
    status: StatusCode,
) -> Result<Response, WebError> {
    page(
        state,
        ctx,
        "signin.html",
        "Sign in",
        json!({ "email": email }),
        message,
        status,
    )
    .await
}

pub async fn signin_page(
    State(state): State<WebState>,
    mut ctx: Ctx,
) -> Result<Response, WebError> {
    if ctx.account.is_some() {
        return Ok(Redirect::to("/alerts").into_response());
    }
    signin_form(&state, &mut ctx, "", Message::None, StatusCode::OK).await
}

pub async fn signin(
    State(state): State<WebState>,
    request: Authorized<Visitor>,
) -> Result<Response, WebError> {
    let (mut ctx, _, form) = request.into_parts();
    let email = form.text("email").trim().to_lowercase();
    let signed_in = state
        .alerts
        .sessions()
        .sign_in(&email, form.text("password"), &ctx.ip, ctx.session.as_ref())
        .await?;
    let session = match signed_in {
        SignIn::SignedIn { session, .. } => session,
        SignIn::Locked { window } => {
            let m = format!(
                "Too many failed sign-ins. Wait {} minutes and try again.",
                window.num_minutes()
            );
            return signin_form(
                &state,
                &mut ctx,
                &email,
                Message::Error(m),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
        }
        SignIn::WrongCredentials => {
            return signin_form(
                &state,
                &mut ctx,
                &email,
                Message::Error("The e-mail address or the password is wrong.".into()),
                StatusCode::UNAUTHORIZED,
            )
            .await;
        }
    };
    let cookie = session_cookie(
        &session.token,
        state.settings.cookie,
        state.session_seconds(),
    );
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/alerts".to_string()),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response())
}

pub async fn signout(
    State(state): State<WebState>,
    request: Authorized<Visitor>,
) -> Result<Response, WebError> {
    if let Some(s) = &request.ctx.session {
        state.alerts.sessions().end(s).await?;
    }
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/signin".to_string()),
            (header::SET_COOKIE, clear_cookie(state.settings.cookie)),
        ],
    )
        .into_response())
}
