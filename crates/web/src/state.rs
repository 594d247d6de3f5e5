//! The shared state of every request, the request context (who is asking, from where,
//! with which session) and the console's error type.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use textgate_alerts::{authorize, Action, Forbidden};
use textgate_store::{Clock, Store, StoreError, SystemClock};
use tokio::sync::watch;

use crate::auth::{self, create_session, session_cookie, token_hash};
use crate::db::{Account, Db, DbError, SessionRow};
use crate::settings::WebSettings;
use crate::templates::Templates;

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub db: Db,
    pub settings: Arc<WebSettings>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) templates: Arc<Templates>,
    /// Bumped each time a campaign has been fully enqueued (tests and tools await it).
    pub(crate) enqueued: Arc<watch::Sender<u64>>,
    /// Campaigns this process is enqueueing: one enqueuer per campaign (PostgreSQL
    /// advisory locks extend this to every daemon on the database).
    pub(crate) enqueueing: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
    /// A hash to check passwords of unknown accounts against, so that sign-in takes as
    /// long whether or not the account exists.
    pub(crate) dummy_hash: Arc<String>,
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl WebState {
    /// State over an opened store (migrations applied) and a console pool on the same
    /// database.
    pub fn new(store: Store, db: Db, settings: WebSettings) -> Result<WebState, WebError> {
        let dummy_hash = auth::hash_password(&auth::random_token(), settings.password_cost)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        Ok(WebState {
            dummy_hash: Arc::new(dummy_hash),
            store,
            db,
            settings: Arc::new(settings),
            clock: Arc::new(SystemClock),
            templates: Arc::new(Templates::new()?),
            enqueued: Arc::new(watch::channel(0).0),
            enqueueing: Arc::default(),
        })
    }

    /// Opens the store at `url` (applying every migration, the console's included) and
    /// the console's own pool.
    pub async fn open(url: &str, settings: WebSettings) -> Result<WebState, WebError> {
        let store = Store::open(url).await?;
        let db = Db::connect(url).await?;
        WebState::new(store, db, settings)
    }

    /// Uses `clock` for every time the console reads (the store keeps its own clock:
    /// give it the same one with `Store::with_clock`).
    pub fn with_clock(mut self, clock: impl Clock) -> WebState {
        self.clock = Arc::new(clock);
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A receiver that changes each time a campaign has been fully enqueued.
    pub fn enqueued_signal(&self) -> watch::Receiver<u64> {
        self.enqueued.subscribe()
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
    #[error(transparent)]
    Db(#[from] DbError),
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
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Error</title><link rel=\"stylesheet\" href=\"/static/site.css\"></head><body><main><h1>{}</h1><p role=\"alert\">{}</p><p><a href=\"/\">Back to the start page</a></p></main></body></html>",
            self.status().canonical_reason().unwrap_or("Error"),
            minijinja::HtmlEscape(&self.public_message())
        );
        (
            self.status(),
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response()
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
}

impl FromRequestParts<WebState> for Ctx {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Ctx, WebError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let now = state.now();
        if let Some(token) = auth::bearer_token(&parts.headers) {
            // A token that is present but unknown signs nobody in (it is not ignored in
            // favour of a cookie): the handler answers 401.
            let account = match state.db.api_token_account(&token_hash(&token), now).await? {
                Some(id) => state.db.account(id).await?,
                None => None,
            };
            return Ok(Ctx {
                session: None,
                account,
                ip,
                set_cookie: None,
                bearer: true,
            });
        }
        let mut session = None;
        if let Some(token) = auth::session_token(&parts.headers) {
            session = state.db.session(&token_hash(&token), now).await?;
        }
        let account = match session.as_ref().and_then(|s| s.account_id) {
            Some(id) => state.db.account(id).await?,
            None => None,
        };
        Ok(Ctx {
            session,
            account,
            ip,
            set_cookie: None,
            bearer: false,
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
        let lifetime = state.settings.session_lifetime;
        let created = create_session(&state.db, None, state.now(), lifetime).await?;
        self.set_cookie = Some(session_cookie(
            &created.token,
            state.settings.cookie,
            lifetime.num_seconds(),
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
