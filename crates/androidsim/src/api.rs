//! The app's local-server routes (`modules/localserver/WebService.kt`, v1.68.0): `/health`
//! without auth; behind basic auth, `/message` and `/messages` (send, state) and
//! `/webhook` and `/webhooks` (register, list, delete), each mounted under both names.
//! Handlers are thin: bodies are read by `messages` and `webhooks`, state lives in
//! `state`. Error answers are `{"message": …}` as the app's `StatusPages` writes them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use base64::Engine as _;
use chrono::Utc;
use serde_json::{json, Value};

use crate::health;
use crate::messages::{self, MessageRecord};
use crate::state::Shared;
use crate::{gson, webhooks};

/// The app's routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let protected = Router::new()
        .route("/message", post(send))
        .route("/messages", post(send))
        .route("/message/{id}", get(message_state))
        .route("/messages/{id}", get(message_state))
        .route("/webhook", get(list_webhooks).post(register_webhook))
        .route("/webhooks", get(list_webhooks).post(register_webhook))
        .route("/webhook/{id}", delete(delete_webhook))
        .route("/webhooks/{id}", delete(delete_webhook))
        .route_layer(middleware::from_fn_with_state(shared.clone(), basic_auth));
    Router::new()
        .route("/health", get(health))
        .merge(protected)
        .with_state(shared)
}

/// A JSON answer written as Gson writes it.
fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        )],
        gson::to_string(value),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "message": message }))
}

/// Ktor's `basic` provider: a missing or wrong `Authorization` gets 401 with a challenge
/// and no body.
async fn basic_auth(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(token.trim())
        })
        .and_then(|token| base64::engine::general_purpose::STANDARD.decode(token).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .is_some_and(|credentials| {
            credentials.split_once(':').is_some_and(|(user, password)| {
                user == shared.config.username && password == shared.config.password
            })
        });
    if authorized {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="Access to SMS Gateway", charset=UTF-8"#),
            )],
        )
            .into_response()
    }
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let (document, failing) = health::document(&shared.lock());
    let status = if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    json_response(status, &document)
}

/// Ktor's content negotiation takes a body only with a JSON content type.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn unsupported_media_type() -> Response {
    error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Content type must be application/json",
    )
}

async fn send(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The injected failure comes first: it stands for a phone (or proxy) that cannot
    // take the request at all, whatever it says.
    if let Some(status) = shared.update(|st| st.faults.take_failing_send()) {
        return failing_send(status);
    }
    if !is_json(&headers) {
        return unsupported_media_type();
    }
    let now = Utc::now();
    let request = match messages::parse_send(&body, now) {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    if request
        .device_id
        .as_deref()
        .is_some_and(|d| d != shared.config.device_id)
    {
        return error(StatusCode::BAD_REQUEST, "Invalid device ID");
    }
    // `toBooleanStrict()`: only `true` and `false`.
    let skip_phone_validation = match query
        .iter()
        .find(|(name, _)| name == "skipPhoneValidation")
        .map(|(_, value)| value.as_str())
    {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("The string doesn't represent a boolean value: {other}"),
            )
        }
    };
    let record = MessageRecord::new(request, skip_phone_validation, now);
    let config = &shared.config;
    let answer = shared.update(|st| {
        if st.messages.contains_key(&record.id) {
            return None;
        }
        let answer = record.to_json(&config.device_id, config.utc_offset, true);
        st.send_queue.push_back(record.id.clone());
        st.messages.insert(record.id.clone(), record);
        Some(answer)
    });
    match answer {
        Some(answer) => json_response(StatusCode::ACCEPTED, &answer),
        // `ConflictException` from the database's unique id.
        None => error(
            StatusCode::CONFLICT,
            "Message with the same ID already exists",
        ),
    }
}

fn failing_send(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut response = error(status, reason);
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

async fn message_state(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let config = &shared.config;
    let state = shared
        .lock()
        .messages
        .get(&id)
        .map(|m| m.to_json(&config.device_id, config.utc_offset, false));
    match state {
        Some(state) => json_response(StatusCode::OK, &state),
        // The app answers a bare 404.
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn list_webhooks(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<Value> = shared
        .lock()
        .registrations
        .all()
        .iter()
        .map(webhooks::registration_json)
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

async fn register_webhook(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return unsupported_media_type();
    }
    match webhooks::parse_registration(&body, &shared.config.device_id) {
        Ok(registration) => {
            let answer = webhooks::registration_json(&registration);
            shared.update(|st| st.registrations.upsert(registration));
            json_response(StatusCode::CREATED, &answer)
        }
        Err(message) => error(StatusCode::BAD_REQUEST, &message),
    }
}

async fn delete_webhook(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    shared.update(|st| st.registrations.delete(&id));
    StatusCode::NO_CONTENT.into_response()
}
