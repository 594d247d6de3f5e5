//! Kannel's `sendsms` interface, so a system configured for Kannel (a library's ILS, for
//! example Koha through an SMS::Send driver for Kannel) sends through textgate unchanged:
//! `GET` or `POST /cgi-bin/sendsms?username=…&password=…&to=…&text=…` (POST may carry
//! the fields as a form body instead), answered in plain text as Kannel's smsbox answers
//! (gw/smsbox.c, `smsbox_req_sendsms` and `smsbox_req_handle`):
//!
//! - 202 `0: Accepted for delivery` when every recipient's text was queued; recipients
//!   that could not be (a number that is not one) are listed after it, as Kannel lists
//!   receivers its lists denied: ` Denied receivers are: …`;
//! - 403 `Authorization failed for sendsms` for a wrong user name or password;
//! - 400 `Missing receiver number, rejected` / `Empty receiver number not allowed,
//!   rejected` without `to`, and 400 with the reason when nothing could be queued;
//! - 500 `Sending failed.` when the database failed.
//!
//! The user name is a text sender account's e-mail address and the password one of its
//! API tokens whose scope is sending (`user`/`pass` work too, as in Kannel). `to` may list
//! several numbers separated by spaces, one text each. `smsc` names the gateway (as
//! Kannel's SMSC id); without it the default gateway sends. `from` is ignored (a modem
//! sends from its SIM's number), as are Kannel's `coding` (textgate chooses GSM 7-bit or
//! UCS-2 itself) and `dlr-url`/`dlr-mask` (read a text's status from the send API
//! instead). Texts are UTF-8; another `charset` is refused rather than garbled.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use textgate_alert_service::texts::TextRequest;
use textgate_alert_service::tokens::TokenScope;
use textgate_alert_service::{Actor, AlertError, Credential};
use textgate_alerts::{authorize, Action};

use crate::api::texts::too_many;
use crate::send_limit::Sender;
use crate::state::WebState;

/// Kannel's answer when the text was queued.
pub const ACCEPTED: &str = "0: Accepted for delivery";
/// Kannel's answer for a wrong user name or password.
pub const AUTHORIZATION_FAILED: &str = "Authorization failed for sendsms";

fn answer(status: StatusCode, text: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.into(),
    )
        .into_response()
}

/// The request's fields: the query string's, then (for a form POST) the body's.
async fn fields(req: Request, state: &WebState) -> Result<Vec<(String, String)>, Response> {
    let mut pairs = Query::<Vec<(String, String)>>::try_from_uri(req.uri())
        .map(|Query(p)| p)
        .map_err(|e| {
            answer(
                StatusCode::BAD_REQUEST,
                format!("The query could not be read: {e}"),
            )
        })?;
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if req.method() == Method::POST && is_form {
        let Form(body) = Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|e| {
                answer(
                    StatusCode::BAD_REQUEST,
                    format!("The form could not be read: {e}"),
                )
            })?;
        pairs.extend(body);
    }
    Ok(pairs)
}

fn first<'a>(pairs: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    })
}

/// `GET`/`POST /cgi-bin/sendsms`.
pub async fn sendsms(State(state): State<WebState>, req: Request) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
    let pairs = match fields(req, &state).await {
        Ok(pairs) => pairs,
        Err(refused) => return refused,
    };
    let user = first(&pairs, &["username", "user"]).unwrap_or("");
    let password = first(&pairs, &["password", "pass"]).unwrap_or("");
    let bearer = match state.alerts.tokens().bearer(password).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "sendsms: looking up the token failed");
            return answer(StatusCode::INTERNAL_SERVER_ERROR, "Sending failed.");
        }
    };
    // The token must be this user's, scoped for sending, and the account still allowed
    // to send: otherwise the answer is Kannel's, saying nothing about which part failed.
    let Some(bearer) = bearer.filter(|b| {
        !password.is_empty()
            && b.account.email.eq_ignore_ascii_case(user)
            && b.scope == TokenScope::Send
            && authorize(&b.account.roles, Action::SendTexts).is_ok()
    }) else {
        return answer(StatusCode::FORBIDDEN, AUTHORIZATION_FAILED);
    };
    let Some(to) = first(&pairs, &["to"]) else {
        return answer(StatusCode::BAD_REQUEST, "Missing receiver number, rejected");
    };
    let recipients: Vec<&str> = to.split_whitespace().collect();
    if recipients.is_empty() {
        return answer(
            StatusCode::BAD_REQUEST,
            "Empty receiver number not allowed, rejected",
        );
    }
    let text = first(&pairs, &["text"]).unwrap_or("");
    if let Some(charset) = first(&pairs, &["charset"]) {
        if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
            return answer(
                StatusCode::BAD_REQUEST,
                format!("Charset {charset:?} is not supported: send the text as UTF-8, rejected"),
            );
        }
    }
    let recipients_count = u32::try_from(recipients.len()).unwrap_or(u32::MAX);
    let who = Sender::Token(bearer.token_id);
    if let Err(wait) = state.send_limiter.take(who, recipients_count, state.now()) {
        let body = answer(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many texts: this user may send {} a minute. Try again in {wait} s.",
                state.settings.sends_per_minute
            ),
        );
        return too_many(wait, body);
    }
    let actor = Actor {
        account: &bearer.account,
        ip: &ip,
        credential: Credential::ApiToken,
    };
    let gateway = first(&pairs, &["smsc"]);
    let mut denied: Vec<(&str, String)> = Vec::new();
    for to in &recipients {
        let request = TextRequest {
            to,
            text,
            gateway,
            key: None,
        };
        match state.alerts.texts().send(&actor, &request).await {
            Ok(_) => {}
            Err(AlertError::Refused(reason)) => denied.push((to, reason)),
            Err(e) => {
                tracing::error!(error = %e, "sendsms: queueing a text failed");
                return answer(StatusCode::INTERNAL_SERVER_ERROR, "Sending failed.");
            }
        }
    }
    if denied.len() == recipients.len() {
        let mut reasons: Vec<&str> = denied.iter().map(|(_, r)| r.as_str()).collect();
        reasons.dedup();
        return answer(
            StatusCode::BAD_REQUEST,
            format!("{}, rejected", reasons.join(" ").trim_end_matches('.')),
        );
    }
    let mut body = ACCEPTED.to_string();
    if !denied.is_empty() {
        body.push_str(" Denied receivers are:");
        for (to, _) in &denied {
            body.push(' ');
            body.push_str(to);
        }
    }
    answer(StatusCode::ACCEPTED, body)
}
