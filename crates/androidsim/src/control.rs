//! The control API of the binary, under `/control/` on the same listener as the app's
//! API and **without auth** (see [`crate::ControlApi`]): what a person or a script uses
//! to play the network. Thin calls into the phone, like the library's methods.
//!
//! - `POST /control/receive` `{"from": "+15550001", "text": "hi", "sim": 1}` (`sim`
//!   optional, default 1; `receivedAt` optional, RFC 3339, default now) → 200
//!   `{"messageId": "…"}`;
//! - `POST /control/offline` `{"offline": true}` → 204;
//! - `GET /control/sent` → 200 `[{"id", "phoneNumber", "text", "sim", "parts"}, …]`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::phone;
use crate::state::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/control/receive", post(receive))
        .route("/control/offline", post(offline))
        .route("/control/sent", get(sent))
        .with_state(shared)
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Incoming {
    from: String,
    text: String,
    #[serde(default)]
    sim: Option<u8>,
    #[serde(default)]
    received_at: Option<String>,
}

async fn receive(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let incoming: Incoming = match serde_json::from_slice(&body) {
        Ok(incoming) => incoming,
        Err(e) => return bad_request(format!("body: {e}")),
    };
    let received_at = match incoming.received_at.as_deref() {
        None => Utc::now().fixed_offset(),
        Some(raw) => match DateTime::parse_from_rfc3339(raw) {
            Ok(at) => at,
            Err(e) => return bad_request(format!("receivedAt {raw:?}: {e}")),
        },
    };
    let id = phone::receive(
        &shared,
        &incoming.from,
        &incoming.text,
        received_at,
        incoming.sim.unwrap_or(1),
    );
    Json(json!({ "messageId": id })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Offline {
    offline: bool,
}

async fn offline(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Offline>(&body) {
        Ok(Offline { offline }) => {
            phone::set_offline(&shared, offline);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_request(format!("body: {e}")),
    }
}

async fn sent(State(shared): State<Arc<Shared>>) -> Response {
    let sent: Vec<_> = shared
        .lock()
        .sent
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "phoneNumber": s.phone_number,
                "text": s.text,
                "sim": s.sim,
                "parts": s.parts,
            })
        })
        .collect();
    Json(sent).into_response()
}
