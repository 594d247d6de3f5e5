//! Two-person approval of real alerts (`[alerts] approval = "two-person"`), through the
//! console against a real PostgreSQL and SQLite: the drafter's alert waits with nothing in
//! the outbox (also across a resumption pass, as after a restart); the drafter cannot
//! approve it, not even by a forged POST with a valid CSRF token; a second emergency
//! administrator approves it and it goes out, or refuses it; an alert nobody approves in
//! time expires unsent; every step is in the audit log.

mod support;

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use support::{both, App, Client};
use textgate_alert_service::Approval;
use textgate_alerts::Role;

const EXPIRES: TimeDelta = TimeDelta::minutes(30);

async fn emergency_admin(app: &App, email: &str) -> Client {
    app.signed_in(email, &[Role::EmergencyAdministrator, Role::Member])
        .await
}

async fn deliveries(app: &App, id: i64) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM outbound WHERE campaign_id = {id}"
    ))
    .await
}

async fn audited(app: &App, action: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM web_audit_log WHERE action = '{action}'"
    ))
    .await
}

#[tokio::test]
async fn a_real_alert_goes_out_only_when_a_second_administrator_approves_it() {
    both(|app: App| async move {
        let app = app.with_settings(|s| {
            s.approval = Approval::TwoPerson {
                expires_after: EXPIRES,
            }
        });
        app.confirmed_member("m@example.org", "+1 201 555 0101")
            .await;
        let mut ann = emergency_admin(&app, "ann@example.org").await;
        let mut bob = emergency_admin(&app, "bob@example.org").await;
        let id = app
            .send_real(&mut ann, "Campus closed today: snow. Stay home.", None)
            .await;

        // Waiting: nothing in the outbox, the drafter is told, and has no buttons.
        let page = ann.get(&format!("/admin/campaigns/{id}")).await;
        assert!(
            page.body
                .contains("Waiting for a second emergency administrator"),
            "{}",
            page.body
        );
        assert!(page.body.contains("id=\"drafter-waits\""), "{}", page.body);
        assert!(!page.body.contains("id=\"approve\""), "{}", page.body);
        assert_eq!(audited(&app, "draft-alert").await, 1);
        // A resumption pass (what a restarted daemon runs) leaves it alone.
        app.state
            .alerts
            .campaigns()
            .resume_enqueueing()
            .await
            .expect("resume");
        assert_eq!(deliveries(&app, id).await, 0);

        // The drafter's own approval, forged with a valid CSRF token: refused.
        let r = ann
            .post(
                &format!("/admin/campaigns/{id}/decide"),
                &[("decision", "approve")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("You drafted this alert"), "{}", r.body);
        assert_eq!(deliveries(&app, id).await, 0);
        // The same through the JSON API: refused for the drafter too.
        let r = ann
            .json(
                Method::POST,
                &format!("/api/v1/campaigns/{id}/decide"),
                serde_json::json!({ "decision": "approve" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("You drafted this alert"), "{}", r.body);
        assert_eq!(deliveries(&app, id).await, 0);
        assert_eq!(audited(&app, "approve-own-alert-refused").await, 2);
        // A member without the emergency role is refused before the service is asked.
        let mut member = app.signed_in("x@example.org", &[Role::Member]).await;
        let r = member
            .post(
                &format!("/admin/campaigns/{id}/decide"),
                &[("decision", "approve")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

        // The second administrator sees the buttons and approves: it goes out.
        let page = bob.get(&format!("/admin/campaigns/{id}")).await;
        assert!(page.body.contains("id=\"approve\""), "{}", page.body);
        let mut enqueued = app.state.alerts.campaigns().enqueued_signal();
        let r = bob
            .post(
                &format!("/admin/campaigns/{id}/decide"),
                &[("decision", "approve")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body
                .contains("Approved: the alert drafted by ann@example.org is going out now."),
            "{}",
            r.body
        );
        tokio::time::timeout(std::time::Duration::from_secs(30), enqueued.changed())
            .await
            .expect("enqueued in time")
            .expect("signal");
        assert_eq!(deliveries(&app, id).await, 1);
        assert_eq!(audited(&app, "approve-alert").await, 1);
        let page = ann.get(&format!("/admin/campaigns/{id}")).await;
        assert!(
            page.body
                .contains("approved by <span id=\"approved-by\">bob@example.org</span>"),
            "{}",
            page.body
        );
        // Deciding twice: refused, and says who decided.
        let r = bob
            .post(
                &format!("/admin/campaigns/{id}/decide"),
                &[("decision", "refuse")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.body.contains("approved by bob@example.org"), "{}", r.body);
    })
    .await;
}

#[tokio::test]
async fn a_refused_or_expired_alert_is_never_sent() {
    both(|app: App| async move {
        let app = app.with_settings(|s| {
            s.approval = Approval::TwoPerson {
                expires_after: EXPIRES,
            }
        });
        app.confirmed_member("m@example.org", "+1 201 555 0101")
            .await;
        let mut ann = emergency_admin(&app, "ann@example.org").await;
        let mut bob = emergency_admin(&app, "bob@example.org").await;

        let refused = app
            .send_real(&mut ann, "Lockdown in Hall B. Stay where you are.", None)
            .await;
        let r = bob
            .post(
                &format!("/admin/campaigns/{refused}/decide"),
                &[("decision", "refuse")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("will not be sent"), "{}", r.body);
        assert!(r.body.contains("id=\"refused\""), "{}", r.body);
        assert_eq!(audited(&app, "refuse-alert").await, 1);

        let late = app
            .send_real(&mut ann, "Fire drill at noon, not a real fire.", None)
            .await;
        app.clock.advance(EXPIRES + TimeDelta::minutes(1));
        // The minute job marks it expired even if nobody looks.
        let expired = app
            .state
            .alerts
            .campaigns()
            .expire_unapproved()
            .await
            .expect("expire");
        assert_eq!(expired, 1);
        assert_eq!(audited(&app, "alert-expired").await, 1);
        let r = bob
            .post(
                &format!("/admin/campaigns/{late}/decide"),
                &[("decision", "approve")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("expired unapproved"), "{}", r.body);
        app.state
            .alerts
            .campaigns()
            .resume_enqueueing()
            .await
            .expect("resume");
        assert_eq!(
            deliveries(&app, refused).await + deliveries(&app, late).await,
            0
        );
    })
    .await;
}
