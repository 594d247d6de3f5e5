//! The webhook delivery log over the JSON API, against a real PostgreSQL and SQLite:
//! administrators (by session or console token) read the configured webhooks and their
//! deliveries; other roles, send-scope tokens and visitors are refused; bad filters are
//! answered 400.

mod support;

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use serde_json::{json, Value};
use support::{both, App, Reply};
use textgate_alert_service::{ReceivedTexts, Webhook, WebhookEvent};
use textgate_alerts::Role;
use textgate_store::NewInbound;

/// `app` with one webhook (told about every received text) configured.
fn with_webhook(app: &App) -> App {
    app.with_settings(|s| {
        s.webhooks = vec![Webhook {
            name: "ils".into(),
            url: "https://ils.library.example/hook?token=receiver-secret".into(),
            secret: "webhook-secret".into(),
            events: vec![WebhookEvent::TextReceived],
            gateways: None,
            received: ReceivedTexts::All,
            unattended_after: TimeDelta::seconds(60),
        }];
    })
}

fn json_of(r: &Reply) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

async fn bearer(app: &App, token: &str, path: &str) -> Reply {
    let auth = format!("Bearer {token}");
    app.client()
        .send(
            Method::GET,
            path,
            None,
            Vec::new(),
            &[("authorization", &auth)],
        )
        .await
}

#[tokio::test]
async fn administrators_read_the_delivery_log_and_nobody_else_does() {
    both(|app: App| async move {
        let app = with_webhook(&app);
        let alerts = &app.state.alerts;
        alerts
            .webhooks()
            .enqueue()
            .await
            .expect("the webhook's mark");
        let now = app.state.alerts.now();
        let text = NewInbound {
            gateway: "main".into(),
            sender: "+12015550143".into(),
            smsc_time: now.fixed_offset(),
            received_at: now,
            body: "Is the library open?".into(),
            concatenation: None,
            parts_hex: vec!["00".into()],
            incomplete: false,
            consumed_pending_parts: Vec::new(),
        };
        app.state.store.insert_inbound(&text).await.expect("stored");
        assert_eq!(alerts.webhooks().enqueue().await.expect("enqueued"), 1);

        let mut admin = app
            .signed_in("admin@library.test", &[Role::TechnicalAdministrator])
            .await;
        let r = admin.get("/api/v1/webhooks").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let list = json_of(&r);
        assert_eq!(list["webhooks"][0]["name"], "ils");
        assert_eq!(
            list["webhooks"][0]["url"],
            "https://ils.library.example/hook?…"
        );
        assert_eq!(list["webhooks"][0]["events"], json!(["text.received"]));
        assert_eq!(
            (
                list["webhooks"][0]["pending"].as_i64(),
                list["webhooks"][0]["delivered"].as_i64()
            ),
            (Some(1), Some(0))
        );
        assert!(
            !r.body.contains("receiver-secret") && !r.body.contains("webhook-secret"),
            "{}",
            r.body
        );

        let r = admin
            .get("/api/v1/webhooks/deliveries?webhook=ils&state=pending&limit=5")
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let log = json_of(&r);
        let d = &log["deliveries"][0];
        assert_eq!(
            (
                d["event"].as_str(),
                d["state"].as_str(),
                d["attempts"].as_i64()
            ),
            (Some("text.received"), Some("pending"), Some(0))
        );
        assert!(
            !r.body.contains("library open"),
            "the log shows no patron's text: {}",
            r.body
        );
        let r = admin
            .get("/api/v1/webhooks/deliveries?state=delivered")
            .await;
        assert_eq!(json_of(&r)["deliveries"], json!([]));
        for bad in ["state=lost", "limit=0", "limit=1001"] {
            let r = admin
                .get(&format!("/api/v1/webhooks/deliveries?{bad}"))
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        }

        // A console token of an administrator reads it too.
        let r = admin
            .json(
                Method::POST,
                "/api/v1/tokens",
                json!({ "label": "monitor", "scope": "console" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let console_token = json_of(&r)["token"].as_str().expect("token").to_string();
        assert_eq!(
            bearer(&app, &console_token, "/api/v1/webhooks")
                .await
                .status,
            StatusCode::OK
        );

        // Other roles are refused, and so is a send-scope token.
        for (email, role) in [
            ("member@library.test", Role::Member),
            ("staff@library.test", Role::TranscriptAdministrator),
            ("ils@library.test", Role::TextSender),
        ] {
            let mut c = app.signed_in(email, &[role]).await;
            for path in ["/api/v1/webhooks", "/api/v1/webhooks/deliveries"] {
                let r = c.get(path).await;
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{email} {path}: {}",
                    r.body
                );
            }
        }
        let mut ils = app
            .signed_in(
                "ils2@library.test",
                &[Role::TextSender, Role::TechnicalAdministrator],
            )
            .await;
        let r = ils
            .json(
                Method::POST,
                "/api/v1/tokens",
                json!({ "label": "ils", "scope": "send" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let send_token = json_of(&r)["token"].as_str().expect("token").to_string();
        let r = bearer(&app, &send_token, "/api/v1/webhooks/deliveries").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

        let r = app.client().get("/api/v1/webhooks").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    })
    .await;
}
