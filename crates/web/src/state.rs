//! The shared state of every request, the request context (who is asking, from where,
//! with which session) and the console's error type.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use textgate_alert_service::sessions::SessionRow;
use textgate_alert_service::tokens::TokenScope;
use textgate_alert_service::{Account, Actor, AlertError, AlertService, Credential};
use textgate_alerts::{authorize, Action, Forbidden};
use textgate_store::{Store, StoreError};

use crate::auth::{self, session_cookie};
use crate::send_limit::SendLimiter;
use crate::settings::WebSettings;
use crate::templates::Templates;

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct WebState {
    /// The alert service: every rule and every write of the console goes through it.
    pub alerts: AlertService,
    /// The store, for the transcript pages (the store is the transcripts' service).
    pub store: Store,
    pub settings: Arc<WebSettings>,
    pub(crate) templates: Arc<Templates>,
    /// Texts sent through the send API in the last minute, per caller.
    pub(crate) send_limiter: Arc<SendLimiter>,
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState")
            .field("alerts", &self.alerts)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl WebState {
    /// The console over the alert service (and the service's store).
    pub fn new(alerts: AlertService, settings: WebSettings) -> Result<WebState, WebError> {
        Ok(WebState {
            store: alerts.store().clone(),
            alerts,
            send_limiter: Arc::new(SendLimiter::new(settings.sends_per_minute)),
            settings: Arc::new(settings),
            templates: Arc::new(Templates::new()?),
        })
    }

    /// The time by the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.alerts.now()
    }

    /// How long a session (and its cookie) lasts, in seconds.
    pub(crate) fn session_seconds(&self) -> i64 {
        self.alerts.settings().session_lifetime.num_seconds()
    }
}

/// What can go wrong serving a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not signed in")]
    NotSignedIn,
    #[error("{0}")]
    Forbidden(String),
    #[error("the form has expired or did not come from this site; reload the page and try again")]
    Csrf,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    /// The alert service failed (its refusals become the variants above).
    #[error(transparent)]
    Alerts(AlertError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("{0}")]
    Internal(String),
}

impl From<Forbidden> for WebError {
    fn from(f: Forbidden) -> WebError {
        WebError::Forbidden(f.to_string())
    }
}

impl From<AlertError> for WebError {
    /// The service's refusals carry the message for the person; its failures are logged.
    fn from(e: AlertError) -> WebError {
        match e {
            AlertError::Refused(m) => WebError::BadRequest(m),
            AlertError::Forbidden(m) => WebError::Forbidden(m),
            AlertError::NotFound => WebError::NotFound,
            other => WebError::Alerts(other),
        }
    }
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotSignedIn => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The text a user may see: internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self.status() {
            StatusCode::INTERNAL_SERVER_ERROR => {
                "Something went wrong on the server; the error has been logged.".to_string()
            }
            _ => self.to_string(),
        }
    }
}

impl IntoResponse for WebError {
    /// Plain HTML for pages; the JSON API maps errors itself.
    fn into_response(self) -> Response {
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        }
        if let WebError::NotSignedIn = self {
            return Redirect::to("/signin").into_response();
        }
        let heading = self.status().canonical_reason().unwrap_or("Error");
        let message = self.public_message();
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Error</title><link rel=\"stylesheet\" href=\"/static/site.css\"></head><body><main><h1>{heading}</h1><p role=\"alert\">{}</p><p><a href=\"/\">Back to the start page</a></p></main></body></html>",
            minijinja::HtmlEscape(&message)
        );
        let mut response = (
            self.status(),
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response();
        // Signed-in visitors get it again in the site's frame (pages::error_frame).
        response
            .extensions_mut()
            .insert(crate::pages::error_frame::ErrorPage { heading, message });
        response
    }
}

/// Who is asking: the session (if the cookie names a live one), its account, the address.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub session: Option<SessionRow>,
    pub account: Option<Account>,
    pub ip: String,
    /// A `Set-Cookie` value to send back (a session was created for this request).
    pub set_cookie: Option<String>,
    /// The request authenticated with an API bearer token (no cookies, so no CSRF).
    pub bearer: bool,
    /// The bearer token's number and scope, when it is one this daemon knows.
    pub token: Option<(i64, TokenScope)>,
}

impl FromRequestParts<WebState> for Ctx {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Ctx, WebError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        if let Some(token) = auth::bearer_token(&parts.headers) {
            // A token that is present but unknown signs nobody in (it is not ignored in
            // favour of a cookie): the handler answers 401.
            let found = state.alerts.tokens().bearer(&token).await?;
            return Ok(Ctx {
                session: None,
                token: found.as_ref().map(|b| (b.token_id, b.scope)),
                account: found.map(|b| b.account),
                ip,
                set_cookie: None,
                bearer: true,
            });
        }
        let mut session = None;
        if let Some(token) = auth::session_token(&parts.headers) {
            session = state.alerts.sessions().find(&token).await?;
        }
        let account = match session.as_ref().and_then(|s| s.account_id) {
            Some(id) => state.alerts.accounts().get(id).await?,
            None => None,
        };
        Ok(Ctx {
            session,
            account,
            ip,
            set_cookie: None,
            bearer: false,
            token: None,
        })
    }
}

impl Ctx {
    /// The signed-in account, allowed to do `action`.
    pub fn require(&self, action: Action) -> Result<&Account, WebError> {
        let account = self.account.as_ref().ok_or(WebError::NotSignedIn)?;
        authorize(&account.roles, action)?;
        Ok(account)
    }

    /// The signed-in account.
    pub fn signed_in(&self) -> Result<&Account, WebError> {
        self.account.as_ref().ok_or(WebError::NotSignedIn)
    }

    /// `account` acting through this request, for the alert service.
    pub fn actor<'a>(&'a self, account: &'a Account) -> Actor<'a> {
        Actor {
            account,
            ip: &self.ip,
            credential: if self.bearer {
                Credential::ApiToken
            } else {
                Credential::Session
            },
        }
    }

    /// Refuses the request unless `presented` is this session's CSRF token.
    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), WebError> {
        if self.bearer {
            // Browsers never add an Authorization header on their own, so a request
            // carrying a token cannot be forged cross-site.
            return Ok(());
        }
        match (&self.session, presented) {
            (Some(s), Some(p)) if auth::tokens_match(&s.csrf_token, p) => Ok(()),
            _ => Err(WebError::Csrf),
        }
    }

    /// The session's CSRF token, creating an anonymous session if there is none.
    pub async fn csrf_token(&mut self, state: &WebState) -> Result<String, WebError> {
        if let Some(s) = &self.session {
            return Ok(s.csrf_token.clone());
        }
        let created = state.alerts.sessions().open_anonymous().await?;
        self.set_cookie = Some(session_cookie(
            &created.token,
            state.settings.cookie,
            state.session_seconds(),
        ));
        let csrf = created.row.csrf_token.clone();
        self.session = Some(created.row);
        Ok(csrf)
    }

    /// Adds the pending `Set-Cookie` to a response.
    pub fn finish(&self, response: impl IntoResponse) -> Response {
        let mut response = response.into_response();
        if let Some(cookie) = &self.set_cookie {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        response
    }
}
