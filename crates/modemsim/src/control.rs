//! The HTTP/JSON control API (documented with curl examples in `docs/modemsim.md`): what a
//! test or the demo uses from outside the process to play the network and the fault
//! injector. Every route is a thin call into [`SimHandle`].

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

use crate::faults::FaultPatch;
use crate::modem::IncomingKind;
use crate::sim::{IncomingText, SimHandle};

/// The routes, for embedding or testing.
pub fn router(handle: SimHandle) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/sms", post(inject_text))
        .route("/pdu", post(inject_pdu))
        .route("/call", post(inject_call))
        .route("/sent", get(sent).delete(clear_sent))
        .route("/sim", get(sim))
        .route("/counters", get(counters))
        .route("/faults", get(faults).post(set_faults).delete(clear_faults))
        .route("/disconnect", post(disconnect))
        .route("/reconnect", post(reconnect))
        .route("/garbage", post(garbage))
        .route("/signal", post(signal))
        .with_state(handle)
}

/// Serves the control API until the listener fails.
pub async fn serve_control(handle: SimHandle, listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(handle)).await
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

async fn status(State(h): State<SimHandle>) -> Response {
    let pty = h.pty_path().borrow().clone();
    let body = h.inspect(|m| {
        json!({
            "personality": m.config().personality,
            "pin": m.pin_state(),
            "settings": m.settings(),
            "sim": { "used": m.sim().used(), "capacity": m.sim().capacity() },
            "waiting_in_network": m.waiting_in_network(),
            "ringing": m.ringing(),
            "pty": pty,
        })
    });
    Json(body).into_response()
}

async fn inject_text(State(h): State<SimHandle>, Json(text): Json<IncomingText>) -> Response {
    match h.inject_text(&text) {
        Ok(report) => Json(report).into_response(),
        Err(e) => bad_request(e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPdu {
    pdu: String,
    #[serde(default)]
    kind: PduKind,
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PduKind {
    #[default]
    Deliver,
    MmsNotification,
    StatusReport,
}

async fn inject_pdu(State(h): State<SimHandle>, Json(raw): Json<RawPdu>) -> Response {
    let kind = match raw.kind {
        PduKind::Deliver => IncomingKind::Deliver,
        PduKind::MmsNotification => IncomingKind::MmsNotification,
        PduKind::StatusReport => IncomingKind::StatusReport,
    };
    match h.inject_pdu(&raw.pdu, kind) {
        Ok(()) => Json(json!({ "ok": true })).into_response(),
        Err(e) => bad_request(e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallRequest {
    from: String,
    #[serde(default = "default_rings")]
    rings: u32,
}

fn default_rings() -> u32 {
    4
}

async fn inject_call(State(h): State<SimHandle>, Json(call): Json<CallRequest>) -> Response {
    h.inject_call(&call.from, call.rings);
    Json(json!({ "ok": true })).into_response()
}

async fn sent(State(h): State<SimHandle>) -> Response {
    Json(json!({ "messages": h.sent_messages(), "parts": h.sent_parts() })).into_response()
}

async fn clear_sent(State(h): State<SimHandle>) -> Response {
    h.clear_sent();
    Json(json!({ "ok": true })).into_response()
}

async fn sim(State(h): State<SimHandle>) -> Response {
    Json(json!({ "messages": h.sim_messages() })).into_response()
}

async fn counters(State(h): State<SimHandle>) -> Response {
    Json(h.counters()).into_response()
}

async fn faults(State(h): State<SimHandle>) -> Response {
    Json(h.faults()).into_response()
}

async fn set_faults(State(h): State<SimHandle>, Json(patch): Json<FaultPatch>) -> Response {
    Json(h.set_faults(patch)).into_response()
}

async fn clear_faults(State(h): State<SimHandle>) -> Response {
    h.clear_faults();
    Json(h.faults()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisconnectRequest {
    /// How long the link stays down.
    #[serde(default = "default_outage_ms")]
    duration_ms: u64,
}

fn default_outage_ms() -> u64 {
    2000
}

async fn disconnect(
    State(h): State<SimHandle>,
    Json(request): Json<DisconnectRequest>,
) -> Response {
    h.disconnect(Duration::from_millis(request.duration_ms));
    Json(json!({ "ok": true })).into_response()
}

async fn reconnect(State(h): State<SimHandle>) -> Response {
    h.restore_link();
    Json(json!({ "ok": true })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GarbageRequest {
    /// Bytes as hex, or
    hex: Option<String>,
    /// bytes as text.
    text: Option<String>,
}

async fn garbage(State(h): State<SimHandle>, Json(request): Json<GarbageRequest>) -> Response {
    let bytes = match (request.hex, request.text) {
        (Some(hex), None) => match hex::decode(hex.trim()) {
            Ok(bytes) => bytes,
            Err(e) => return bad_request(format!("invalid hex: {e}")),
        },
        (None, Some(text)) => text.into_bytes(),
        _ => return bad_request("give exactly one of \"hex\" and \"text\"".to_owned()),
    };
    h.inject_garbage(bytes);
    Json(json!({ "ok": true })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalRequest {
    csq: u8,
}

async fn signal(State(h): State<SimHandle>, Json(request): Json<SignalRequest>) -> Response {
    h.set_signal(request.csq);
    Json(json!({ "ok": true })).into_response()
}
