//! Updates and the all clear, linked to the alert they follow (CAP 1.2's Update and
//! Cancel), through the console on a real PostgreSQL and SQLite: from the alert's page to
//! the compose form, recorded against the thread's first alert, listed together on the
//! page and in the send log, and nothing after the all clear.

mod support;

use axum::http::{Method, StatusCode};
use support::{both, App};
use textgate_alerts::Role;

async fn thread_of(app: &App, id: i64) -> (Option<String>, Option<i64>) {
    let send = app
        .state
        .alerts
        .campaigns()
        .send(id)
        .await
        .expect("the send log answers")
        .expect("the campaign");
    let kind = match send.refers_to {
        Some(_) => Some(format!("{:?}", send.msg_type)),
        None => None,
    };
    (kind, send.refers_to)
}

#[tokio::test]
async fn an_alert_gets_updates_and_one_all_clear_listed_together() {
    both(|app: App| async move {
        app.confirmed_member("m@example.org", "+1 201 555 0101").await;
        let mut chief = app
            .signed_in("chief@example.org", &[Role::EmergencyAdministrator, Role::Member])
            .await;
        let first = app.send_real(&mut chief, "Gas leak in Hall B: leave the building.", None).await;
        let page = chief.get(&format!("/admin/campaigns/{first}")).await;
        let update_link = format!("alert?follows={first}&amp;as=update\" id=\"send-update\"");
        assert!(page.body.contains(&update_link), "{}", page.body);

        // The link's form: headed as an update, carrying the thread in hidden fields.
        let form = chief
            .get(&format!("/admin/alert?follows={first}&as=update"))
            .await;
        assert!(form.body.contains(&format!("Update to campaign {first}")), "{}", form.body);
        assert!(form.body.contains(&format!("name=\"follows\" value=\"{first}\"")), "{}", form.body);
        let confirm = chief
            .post(
                "/admin/alert/confirm",
                &[("text", "UPDATE: crews on site"), ("follows", &first.to_string()), ("as", "update")],
            )
            .await;
        assert!(confirm.body.contains(&format!("Confirm: Update to campaign {first}")), "{}", confirm.body);

        let update = app.send_real(&mut chief, "UPDATE: crews on site, stay out.", Some((first, "update"))).await;
        assert_eq!(thread_of(&app, update).await, (Some("Update".into()), Some(first)));
        // The all clear names the update; it is recorded against the first alert.
        let clear = app.send_real(&mut chief, "ALL CLEAR: Hall B is safe again.", Some((update, "cancel"))).await;
        assert_eq!(thread_of(&app, clear).await, (Some("Cancel".into()), Some(first)));

        let page = chief.get(&format!("/admin/campaigns/{first}")).await;
        assert!(page.body.contains("id=\"all-clear-sent\""), "{}", page.body);
        assert!(!page.body.contains("id=\"send-update\""), "{}", page.body);
        for id in [first, update, clear] {
            assert!(page.body.contains(&format!("Campaign {id}</a>")), "{}", page.body);
        }
        // The JSON API takes the same link, and keeps the same rule.
        let r = chief
            .json(
                Method::POST,
                "/api/v1/campaigns",
                serde_json::json!({ "audience": "everyone", "text": "UPDATE: again", "follows": first, "as": "update" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("already had its all clear"), "{}", r.body);
        // Nothing follows an all clear.
        let r = chief
            .post(
                "/admin/alert/send",
                &[("action", "send"), ("text", "UPDATE: again"), ("follows", &first.to_string()), ("as", "update")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("already had its all clear"), "{}", r.body);
        assert_eq!(app.last_send("real").await, clear);

        // The send log lists the thread together, in order.
        let log = chief.get("/admin/log").await;
        let at = |needle: String| log.body.find(&needle).unwrap_or_else(|| panic!("{needle}: {}", log.body));
        let (a, b, c) = (
            at(format!("/admin/campaigns/{first}\"")),
            at(format!("/admin/campaigns/{update}\"")),
            at(format!("/admin/campaigns/{clear}\"")),
        );
        assert!(a < b && b < c, "{}", log.body);
        assert!(log.body.contains(&format!("all clear for {first}")), "{}", log.body);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM web_audit_log WHERE detail LIKE 'campaign {clear} (all clear for campaign {first})%'"
            ))
            .await,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn a_test_cannot_follow_a_real_alert() {
    both(|app: App| async move {
        app.confirmed_member("m@example.org", "+1 201 555 0101")
            .await;
        let mut chief = app
            .signed_in(
                "chief@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        let real = app
            .send_real(&mut chief, "Lockdown: stay where you are.", None)
            .await;
        let r = chief
            .post(
                "/admin/test/send",
                &[
                    ("action", "send"),
                    ("text", "test"),
                    ("follows", &real.to_string()),
                    ("as", "cancel"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("is not one this desk sent"), "{}", r.body);
        assert_eq!(app.last_send("test").await, 0);
    })
    .await;
}
