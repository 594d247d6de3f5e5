//! The public alert feeds (`[alerts.feed]`): each real alert as a CAP 1.2 document and the
//! current ones in Atom, RSS and JSON for websites and signs. No sign-in: these are public
//! broadcasts by design. Not configured: 404.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::state::{WebError, WebState};

const ATOM: &str = "application/atom+xml; charset=utf-8";
const RSS: &str = "application/rss+xml; charset=utf-8";
const XML: &str = "application/xml; charset=utf-8";

/// Feeds cached for a minute at most: a sign polling every few seconds costs one query a
/// minute per cache, and an all clear is seen within the minute.
const CACHE: &str = "public, max-age=60";

fn answer(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
        .into_response()
}

pub async fn atom(State(state): State<WebState>) -> Result<Response, WebError> {
    let feeds = state.alerts.feeds().ok_or(WebError::NotFound)?;
    Ok(answer(ATOM, feeds.atom().await?))
}

pub async fn rss(State(state): State<WebState>) -> Result<Response, WebError> {
    let feeds = state.alerts.feeds().ok_or(WebError::NotFound)?;
    Ok(answer(RSS, feeds.rss().await?))
}

pub async fn json(State(state): State<WebState>) -> Result<Response, WebError> {
    let feeds = state.alerts.feeds().ok_or(WebError::NotFound)?;
    let body = serde_json::to_string(&feeds.json().await?)
        .map_err(|e| WebError::Internal(format!("feed as JSON: {e}")))?;
    Ok(answer("application/json", body))
}

/// `/feeds/alerts/{id}.xml`: one real alert as CAP 1.2.
pub async fn cap(
    State(state): State<WebState>,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    let feeds = state.alerts.feeds().ok_or(WebError::NotFound)?;
    let id: i64 = file
        .strip_suffix(".xml")
        .and_then(|id| id.parse().ok())
        .ok_or(WebError::NotFound)?;
    let alert = feeds.cap(id).await?.ok_or(WebError::NotFound)?;
    Ok(answer(XML, alert.to_xml()))
}
