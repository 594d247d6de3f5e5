//! Scheduled tests through the console on a real PostgreSQL and SQLite: scheduled from the
//! test confirm page, listed on the desk, started by the minute job when due (also by a
//! service started afresh over the same database, as after a daemon restart), once per
//! occurrence however many daemons look, repeated, and cancelled.

mod support;

use axum::http::StatusCode;
use chrono::TimeDelta;
use support::{both, console, settings, App, PASSWORD};
use textgate_alerts::Role;

const TEXT: &str = "TEST ONLY: monthly test of the alert system, no action needed";

#[tokio::test]
async fn a_scheduled_test_runs_when_due_even_after_a_restart_and_stops_when_cancelled() {
    both(|app: App| async move {
        let mut tech = app
            .signed_in("tech@example.org", &[Role::TechnicalAdministrator, Role::Member])
            .await;
        // The confirm page offers it.
        let r = tech.post("/admin/test/confirm", &[("text", TEXT)]).await;
        assert!(r.body.contains("id=\"schedule-form\""), "{}", r.body);

        let at = app.state.alerts.now() + TimeDelta::hours(1);
        let at_text = at.format("%Y-%m-%dT%H:%M").to_string();
        let r = tech
            .post(
                "/admin/test/schedule",
                &[("text", TEXT), ("at", &at_text), ("repeat_days", "30")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Test scheduled (schedule 1)"), "{}", r.body);
        assert!(r.body.contains("then every 30 days"), "the desk lists it: {}", r.body);
        // In the past: refused.
        let past = (app.state.alerts.now() - TimeDelta::hours(1))
            .format("%Y-%m-%dT%H:%M")
            .to_string();
        let r = tech
            .post("/admin/test/schedule", &[("text", TEXT), ("at", &past)])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

        // Not due yet: nothing.
        assert_eq!(app.state.alerts.schedules().run_due().await.expect("run"), 0);
        assert_eq!(app.last_send("test").await, 0);

        // Due, and the daemon restarted meanwhile: a service started afresh over the same
        // database starts it, once, however many look.
        app.clock.advance(TimeDelta::minutes(61));
        let restarted = console(app.state.store.clone(), settings(), &app.clock);
        assert_eq!(restarted.alerts.schedules().run_due().await.expect("run"), 1);
        assert_eq!(app.state.alerts.schedules().run_due().await.expect("run"), 0);
        let first = app.last_send("test").await;
        assert!(first > 0);
        let send = app.state.alerts.campaigns().send(first).await.expect("log").expect("send");
        assert_eq!(send.body, TEXT);
        assert_eq!(send.account_email, "tech@example.org");

        // The next occurrence is 30 days on; a daemon down for 70 days sends one late test.
        let upcoming = app.state.alerts.schedules().upcoming().await.expect("list");
        assert_eq!(upcoming[0].next_at, at + TimeDelta::days(30));
        app.clock.advance(TimeDelta::days(70));
        assert_eq!(app.state.alerts.schedules().run_due().await.expect("run"), 1);
        assert_eq!(app.state.alerts.schedules().run_due().await.expect("run"), 0);
        let upcoming = app.state.alerts.schedules().upcoming().await.expect("list");
        assert_eq!(upcoming[0].next_at, at + TimeDelta::days(90));

        // Cancelled from the desk (signed in again: the session ran out meanwhile).
        let mut tech = app.client();
        tech.sign_in("tech@example.org", PASSWORD).await;
        let r = tech.post("/admin/schedules/1/cancel", &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Schedule 1 is cancelled"), "{}", r.body);
        app.clock.advance(TimeDelta::days(60));
        let before = app.last_send("test").await;
        assert_eq!(app.state.alerts.schedules().run_due().await.expect("run"), 0);
        assert_eq!(app.last_send("test").await, before);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM web_audit_log WHERE action IN ('schedule-test', 'cancel-scheduled-test')")
                .await,
            2
        );

        // A member cannot schedule, even by a forged POST.
        let mut member = app.signed_in("m@example.org", &[Role::Member]).await;
        let r = member
            .post("/admin/test/schedule", &[("text", TEXT), ("at", &at_text)])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    })
    .await;
}

#[tokio::test]
async fn the_api_schedules_lists_and_cancels_tests() {
    use axum::http::Method;
    use serde_json::{json, Value};

    both(|app: App| async move {
        let mut tech = app
            .signed_in("tech@example.org", &[Role::TechnicalAdministrator])
            .await;
        let at = (app.state.alerts.now() + TimeDelta::hours(2)).to_rfc3339();
        let r = tech
            .json(
                Method::POST,
                "/api/v1/schedules",
                json!({ "text": TEXT, "at": at, "repeat_days": 7 }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = serde_json::from_str::<Value>(&r.body).expect("JSON")["id"]
            .as_i64()
            .expect("an id");

        let r = tech.get("/api/v1/schedules").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let list: Value = serde_json::from_str(&r.body).expect("JSON");
        assert_eq!(list["schedules"][0]["id"], id, "{list}");
        assert_eq!(list["schedules"][0]["repeat_days"], 7, "{list}");
        assert_eq!(list["schedules"][0]["body"], TEXT, "{list}");

        // Bad times are refused in words.
        for bad in ["tomorrow", "2020-01-01T00:00:00Z"] {
            let r = tech
                .json(
                    Method::POST,
                    "/api/v1/schedules",
                    json!({ "text": TEXT, "at": bad }),
                )
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        }

        let r = tech
            .json(
                Method::POST,
                &format!("/api/v1/schedules/{id}/cancel"),
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = tech.get("/api/v1/schedules").await;
        let list: Value = serde_json::from_str(&r.body).expect("JSON");
        assert_eq!(list["schedules"], json!([]), "{list}");
        // Cancelling again says why not.
        let r = tech
            .json(
                Method::POST,
                &format!("/api/v1/schedules/{id}/cancel"),
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

        // Members may not.
        let mut member = app.signed_in("m@example.org", &[Role::Member]).await;
        assert_eq!(
            member.get("/api/v1/schedules").await.status,
            StatusCode::FORBIDDEN
        );
    })
    .await;
}
