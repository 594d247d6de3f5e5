//! Error pages in the site's frame. [`WebError`] answers with a bare page (it cannot know
//! who asked); for a signed-in visitor this layer draws the same error again with the
//! header and navigation, so a 403 is a page to move on from, not a dead end.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use super::{page, Message};
use crate::state::{Ctx, WebState};

/// What a bare error page said, kept on the response for this layer.
#[derive(Debug, Clone)]
pub(crate) struct ErrorPage {
    pub heading: &'static str,
    pub message: String,
}

/// Redraws an error page in the frame when the visitor is signed in. Anonymous visitors
/// keep the bare page: drawing the frame would open a session for them.
pub(crate) async fn framed_errors(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers().clone();
    let connect = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .cloned();
    let response = next.run(request).await;
    let Some(error) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.headers = headers;
    if let Some(connect) = connect {
        parts.extensions.insert(connect);
    }
    let mut ctx = match Ctx::from_request_parts(&mut parts, &state).await {
        Ok(ctx) if ctx.account.is_some() && !ctx.bearer => ctx,
        _ => return response,
    };
    let extra = json!({ "heading": error.heading, "text": error.message });
    let status = response.status();
    page(
        &state,
        &mut ctx,
        "error.html",
        error.heading,
        extra,
        Message::None,
        status,
    )
    .await
    .unwrap_or(response)
}
