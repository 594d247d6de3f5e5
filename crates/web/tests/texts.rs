//! The send API and Kannel's `sendsms`, against a real PostgreSQL and SQLite: a library
//! system's account sends with a token whose scope is sending, a retried request finds
//! the text it queued, a key reused for another text is refused, the status is the
//! sender's alone, scopes keep send tokens and console tokens apart, Kannel-style requests
//! get Kannel's answers, and each token's minute allowance is enforced. Nothing refused is
//! queued; every accepted call is in the audit log.

mod support;

use chrono::TimeDelta;

use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};
use support::{both, App, Client, Reply};
use textgate_alerts::Role;

const ILS: &str = "koha@library.test";

/// Creates a token with `scope` through the API with `c`'s session; its secret.
async fn token(c: &mut Client, scope: &str) -> String {
    let r = c
        .json(
            Method::POST,
            "/api/v1/tokens",
            json!({ "label": format!("the ILS ({scope})"), "scope": scope }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("JSON");
    v["token"].as_str().expect("token").to_string()
}

/// A request with a bearer token (and `extra` headers) only.
async fn bearer(
    app: &App,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Reply {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str())];
    headers.extend_from_slice(extra);
    let (content_type, bytes) = match body {
        Some(b) => (Some("application/json"), b.to_string().into_bytes()),
        None => (None, Vec::new()),
    };
    app.client()
        .send(method, path, content_type, bytes, &headers)
        .await
}

fn json_of(r: &Reply) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

async fn outbox(app: &App) -> i64 {
    app.count("SELECT COUNT(*) FROM outbound").await
}

async fn send_texts_audited(app: &App) -> i64 {
    app.count("SELECT COUNT(*) FROM web_audit_log WHERE action = 'send-text'")
        .await
}

#[tokio::test]
async fn a_library_system_sends_with_a_send_token_and_a_retry_finds_the_same_text() {
    both(|app: App| async move {
        let mut ils = app.signed_in(ILS, &[Role::TextSender]).await;
        let send = token(&mut ils, "send").await;
        let hold = json!({ "to": "(201) 555-0143", "text": "Your hold is ready." });

        let first = bearer(&app, &send, Method::POST, "/api/v1/texts", Some(hold.clone()), &[("idempotency-key", "hold-81")]).await;
        assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
        let queued = json_of(&first);
        let id = queued["id"].as_i64().expect("an id");
        assert_eq!(queued["to"], "+12015550143");
        assert_eq!(queued["parts"], 1);
        assert_eq!(queued["replayed"], false);
        assert_eq!(first.location(), format!("/api/v1/texts/{id}"));

        // The ILS timed out and sends the same request again: the same text, no second SMS.
        let retry = bearer(&app, &send, Method::POST, "/api/v1/texts", Some(hold), &[("idempotency-key", "hold-81")]).await;
        assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
        assert_eq!(json_of(&retry)["id"], id);
        assert_eq!(json_of(&retry)["replayed"], true);
        assert_eq!(outbox(&app).await, 1);

        let reused = bearer(&app, &send, Method::POST, "/api/v1/texts", Some(json!({ "to": "+12015550143", "text": "Overdue." })), &[("idempotency-key", "hold-81")]).await;
        assert_eq!(reused.status, StatusCode::BAD_REQUEST, "{}", reused.body);
        assert!(json_of(&reused)["error"].as_str().unwrap_or("").contains("different text"));
        let bad = bearer(&app, &send, Method::POST, "/api/v1/texts", Some(json!({ "to": "12", "text": "Hi" })), &[]).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(json_of(&bad)["error"].as_str().unwrap_or("").contains("cannot be texted"), "{}", bad.body);
        assert_eq!(outbox(&app).await, 1, "nothing refused is queued");

        let status = bearer(&app, &send, Method::GET, &format!("/api/v1/texts/{id}"), None, &[]).await;
        assert_eq!(status.status, StatusCode::OK, "{}", status.body);
        let status = json_of(&status);
        assert_eq!((status["state"].as_str(), status["parts"].as_i64(), status["parts_sent"].as_i64()), (Some("queued"), Some(1), Some(0)));
        assert_eq!(status["gateway"], "main");

        // The text went into the gateway's outbox after librarians' replies, with no
        // operator to tell.
        let row = app.count(&format!("SELECT CAST(priority AS BIGINT) FROM outbound WHERE id = {id} AND sender_jid IS NULL AND recipient = '+12015550143'")).await;
        assert_eq!(row, -10);
        assert_eq!(send_texts_audited(&app).await, 2, "the send and its retry");
    })
    .await;
}

#[tokio::test]
async fn scopes_keep_send_tokens_and_console_tokens_apart() {
    both(|app: App| async move {
        let mut ils = app
            .signed_in(ILS, &[Role::TextSender, Role::TechnicalAdministrator])
            .await;
        let send = token(&mut ils, "send").await;
        let console = token(&mut ils, "console").await;
        let text = json!({ "to": "+12015550143", "text": "Hi" });

        // A send token does nothing but send and read status.
        for path in ["/api/v1/me", "/api/v1/tokens", "/api/v1/accounts"] {
            let r = bearer(&app, &send, Method::GET, path, None, &[]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
            assert!(
                r.body.contains("scope is sending texts"),
                "{path}: {}",
                r.body
            );
        }
        // A console token of the same account does not send.
        let r = bearer(
            &app,
            &console,
            Method::POST,
            "/api/v1/texts",
            Some(text.clone()),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains("scope is send"), "{}", r.body);
        let r = bearer(&app, &console, Method::GET, "/api/v1/me", None, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        // The tokens list shows each token's scope.
        let list = ils.get("/api/v1/tokens").await;
        let scopes: Vec<String> = json_of(&list)["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .map(|t| t["scope"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(scopes, ["send", "console"]);

        // Without the text sender role there is no send token, and no sending by session.
        let mut member = app
            .signed_in(
                "pat@library.test",
                &[Role::Member, Role::EmergencyAdministrator],
            )
            .await;
        let r = member
            .json(
                Method::POST,
                "/api/v1/tokens",
                json!({ "label": "x", "scope": "send" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = member
            .json(Method::POST, "/api/v1/texts", text.clone())
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        // A text sender's own session sends (with its CSRF token).
        let r = ils.json(Method::POST, "/api/v1/texts", text).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        let id = json_of(&r)["id"].as_i64().expect("id");

        // Another text sender cannot read it.
        let mut other = app
            .signed_in("evergreen@library.test", &[Role::TextSender])
            .await;
        let other_send = token(&mut other, "send").await;
        let r = bearer(
            &app,
            &other_send,
            Method::GET,
            &format!("/api/v1/texts/{id}"),
            None,
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert_eq!(outbox(&app).await, 1);
    })
    .await;
}

/// A Kannel-style request: the fields in the query string.
async fn sendsms(app: &App, fields: &[(&str, &str)]) -> Reply {
    let query = serde_urlencoded::to_string(fields).expect("query");
    app.client()
        .send(
            Method::GET,
            &format!("/cgi-bin/sendsms?{query}"),
            None,
            Vec::new(),
            &[],
        )
        .await
}

#[tokio::test]
async fn the_kannel_sendsms_interface_answers_as_kannel_does() {
    both(|app: App| async move {
        let mut ils = app.signed_in(ILS, &[Role::TextSender]).await;
        let send = token(&mut ils, "send").await;
        let console = token(&mut ils, "console").await;

        let r = sendsms(&app, &[("username", ILS), ("password", &send), ("to", "+12015550143"), ("text", "Your hold is ready: Dune."), ("from", "LIBRARY")]).await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::ACCEPTED, "0: Accepted for delivery"));
        assert_eq!(r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("text/plain; charset=utf-8"));
        assert_eq!(app.count("SELECT COUNT(*) FROM outbound WHERE recipient = '+12015550143' AND body = 'Your hold is ready: Dune.'").await, 1);

        for (user, password) in [(ILS, "wrong"), (ILS, console.as_str()), ("other@library.test", send.as_str()), (ILS, "")] {
            let r = sendsms(&app, &[("username", user), ("password", password), ("to", "+12015550144"), ("text", "x")]).await;
            assert_eq!((r.status, r.body.as_str()), (StatusCode::FORBIDDEN, "Authorization failed for sendsms"), "{user} / {password}");
        }
        let r = sendsms(&app, &[("user", ILS), ("pass", &send), ("text", "x")]).await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::BAD_REQUEST, "Missing receiver number, rejected"));
        let r = sendsms(&app, &[("user", ILS), ("pass", &send), ("to", ""), ("text", "x")]).await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::BAD_REQUEST, "Empty receiver number not allowed, rejected"));
        let r = sendsms(&app, &[("user", ILS), ("pass", &send), ("to", "+12015550145"), ("text", "x"), ("smsc", "nowhere")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.starts_with("No gateway named \"nowhere\"") && r.body.ends_with(", rejected"), "{}", r.body);
        assert_eq!(outbox(&app).await, 1, "nothing refused is queued");

        // Several receivers: those that are numbers get a text; the rest are named.
        let r = sendsms(&app, &[("username", ILS), ("password", &send), ("to", "+12015550146 notanumber 2015550147"), ("text", "Closed today"), ("smsc", "main")]).await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::ACCEPTED, "0: Accepted for delivery Denied receivers are: notanumber"));
        assert_eq!(app.count("SELECT COUNT(*) FROM outbound WHERE body = 'Closed today'").await, 2);

        // POST with the fields in a form body.
        let form = serde_urlencoded::to_string([("username", ILS), ("password", send.as_str()), ("to", "+12015550148"), ("text", "Überfällig")]).expect("form");
        let r = app.client().send(Method::POST, "/cgi-bin/sendsms", Some("application/x-www-form-urlencoded"), form.into_bytes(), &[]).await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::ACCEPTED, "0: Accepted for delivery"));
        assert_eq!(app.count("SELECT COUNT(*) FROM outbound WHERE body = 'Überfällig'").await, 1);
        assert_eq!(send_texts_audited(&app).await, 4);
    })
    .await;
}

#[tokio::test]
async fn each_token_sends_its_minutes_allowance_and_is_told_when_to_come_back() {
    both(|app: App| async move {
        let mut ils = app.signed_in(ILS, &[Role::TextSender]).await;
        let send = token(&mut ils, "send").await;
        let other = token(&mut ils, "send").await;
        let allowance = app.state.settings.sends_per_minute;
        let numbers: Vec<String> = (0..allowance)
            .map(|i| format!("+1201555{:04}", 1000 + i))
            .collect();
        let r = sendsms(
            &app,
            &[
                ("username", ILS),
                ("password", &send),
                ("to", &numbers.join(" ")),
                ("text", "Renewal due"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);

        app.clock.advance(TimeDelta::seconds(20));
        let r = bearer(
            &app,
            &send,
            Method::POST,
            "/api/v1/texts",
            Some(json!({ "to": "+12015550999", "text": "One more" })),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
        assert_eq!(
            r.headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("40")
        );
        let r = sendsms(
            &app,
            &[
                ("username", ILS),
                ("password", &send),
                ("to", "+12015550999"),
                ("text", "One more"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
        // Another token has its own minute.
        let r = bearer(
            &app,
            &other,
            Method::POST,
            "/api/v1/texts",
            Some(json!({ "to": "+12015550998", "text": "Other" })),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);

        app.clock.advance(TimeDelta::seconds(41));
        let r = bearer(
            &app,
            &send,
            Method::POST,
            "/api/v1/texts",
            Some(json!({ "to": "+12015550999", "text": "One more" })),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(
            outbox(&app).await,
            i64::from(allowance) + 2,
            "nothing refused was queued"
        );
    })
    .await;
}
