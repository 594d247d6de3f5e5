//! The console's behaviour through HTTP against a real PostgreSQL and SQLite: the member
//! page (Save, Save and Test, Remove, the code, the review banner), the compose desks and
//! campaigns through the outbox, STOP/START/HELP, transcripts, and the OpenAPI document.

mod support;

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use support::{both, App, GATEWAY};
use textgate_alerts::Role;
use textgate_store::{NewInbound, SentPart};
use textgate_web::api::{API_ROUTES, OPENAPI};

/// Saves a number for `c` and confirms it with the texted code.
async fn register(app: &App, c: &mut support::Client, number: &str) {
    let r = c
        .post("/alerts", &[("action", "save"), ("number", number)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let code = app.last_code().await;
    let r = c.post("/alerts/confirm", &[("code", &code)]).await;
    assert!(r.body.contains("Your number is confirmed"), "{}", r.body);
}

#[tokio::test]
async fn member_save_confirm_test_and_remove() {
    both(|app: App| async move {
        let mut c = app.signed_in("pat@example.org", &[Role::Member]).await;
        let r = c
            .post(
                "/alerts",
                &[
                    ("action", "save"),
                    ("number", "(201) 555-0123"),
                    ("carrier", ""),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body
                .contains("We have sent a confirmation code to •••• 0123"),
            "{}",
            r.body
        );
        assert!(r.body.contains("waiting for the confirmation code"));
        // The code went through the outbox to the number, with the opt-out instruction.
        let texts = app.outbox_bodies(app.last_send("confirmation").await).await;
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0].0, "+12015550123");
        assert!(texts[0].1.contains("STOP"), "{:?}", texts[0].1);
        // Testing before confirming is refused.
        let r = c
            .post("/alerts", &[("action", "save-and-test"), ("number", "")])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.body.contains("not confirmed yet"), "{}", r.body);
        // A wrong code counts down, the right one confirms.
        let r = c.post("/alerts/confirm", &[("code", "000000")]).await;
        let code = app.last_code().await;
        if code != "000000" {
            assert!(r.body.contains("4 attempt(s) left"), "{}", r.body);
        }
        let r = c.post("/alerts/confirm", &[("code", &code)]).await;
        assert!(r.body.contains("Your number is confirmed"), "{}", r.body);

        // Save and Test: a test with an id, in the outbox and the test log.
        let r = c
            .post("/alerts", &[("action", "save-and-test"), ("number", "")])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let test_id = app.last_send("member-test").await;
        assert!(
            r.body
                .contains(&format!("Test {test_id} is on its way to •••• 0123")),
            "{}",
            r.body
        );
        let texts = app.outbox_bodies(test_id).await;
        assert!(
            texts[0].1.starts_with(&format!("Test {test_id} ")),
            "{:?}",
            texts
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM alert_test_log WHERE ip_address = '192.0.2.10'")
                .await,
            1
        );

        // The next visit shows the saved details, masked.
        let page = c.get("/alerts").await;
        assert!(
            page.body.contains("•••• 0123") && page.body.contains("confirmed: you receive alerts")
        );
        assert!(!page.body.contains("2015550123"));
        assert!(!page.body.contains("review-banner"));

        // Tests are rate-limited: 3 in 10 minutes.
        for _ in 0..2 {
            let r = c
                .post("/alerts", &[("action", "save-and-test"), ("number", "")])
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let r = c
            .post("/alerts", &[("action", "save-and-test"), ("number", "")])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(
            r.body.contains("at most 3 tests in 10 minutes"),
            "{}",
            r.body
        );

        // Remove asks first; only the confirmed Remove removes.
        let r = c.post("/alerts", &[("action", "remove")]).await;
        assert!(
            r.body
                .contains("Remove your number from emergency text alerts?"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("action=\"&#x2f;alerts&#x2f;remove\""),
            "{}",
            r.body
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM alert_registrations").await,
            1
        );
        // Remove: the registration goes, the test log stays.
        let r = c.post("/alerts/remove", &[]).await;
        assert!(
            r.body.contains("Your number has been removed"),
            "{}",
            r.body
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM alert_registrations").await,
            0
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM alert_test_log").await, 3);
        let page = c.get("/alerts").await;
        assert!(!page.body.contains("•••• 0123"));
    })
    .await;
}

/// The first Save and Test on a new number saves it and sends the code (the number's
/// first text): a success that says what comes next, with the typed number gone from the
/// form; not an error.
#[tokio::test]
async fn save_and_test_on_a_new_number_saves_it_and_sends_the_code() {
    both(|app: App| async move {
        let mut c = app.signed_in("new@example.org", &[Role::Member]).await;
        let r = c
            .post(
                "/alerts",
                &[
                    ("action", "save-and-test"),
                    ("number", "(201) 555-0144"),
                    ("carrier", ""),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body
                .contains("We have sent a confirmation code to •••• 0144")
                && r.body.contains("press Save and Test for a test alert"),
            "{}",
            r.body
        );
        assert!(
            !r.body.contains("555-0144") && !r.body.contains("5550144"),
            "the typed number stays in clear: {}",
            r.body
        );
        assert_eq!(
            app.outbox_bodies(app.last_send("confirmation").await)
                .await
                .len(),
            1
        );
        // A test refused after a save (not confirmed yet) leaves the form empty too.
        let r = c
            .post(
                "/alerts",
                &[("action", "save-and-test"), ("number", "(201) 555-0144")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.body.contains("not confirmed yet"), "{}", r.body);
        assert!(!r.body.contains("555-0144"), "{}", r.body);
    })
    .await;
}

#[tokio::test]
async fn details_older_than_six_months_show_the_review_banner_until_saved() {
    both(|app: App| async move {
        let mut c = app.signed_in("old@example.org", &[Role::Member]).await;
        register(&app, &mut c, "+1 201 555 0177").await;
        app.clock
            .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2027, 5, 22, 8, 0, 0).unwrap());
        // The session has long expired; sign in again.
        assert_eq!(c.get("/alerts").await.location(), "/signin");
        c.sign_in("old@example.org", support::PASSWORD).await;
        let page = c.get("/alerts").await;
        assert!(
            !page.body.contains("review-banner"),
            "exactly six months is still current"
        );
        app.clock.advance(TimeDelta::hours(1));
        let page = c.get("/alerts").await;
        assert!(page.body.contains("id=\"review-banner\""), "{}", page.body);
        app.clock.advance(TimeDelta::days(1));
        c.sign_in("old@example.org", support::PASSWORD).await;
        let page = c.get("/alerts").await;
        assert!(page.body.contains("id=\"review-banner\""), "{}", page.body);
        let r = c
            .post("/alerts", &[("action", "save"), ("number", "")])
            .await;
        assert!(!r.body.contains("review-banner"), "{}", r.body);
    })
    .await;
}

#[tokio::test]
async fn emergency_alert_compose_confirm_cancel_send_and_progress() {
    both(|app: App| async move {
        let mut admin = app
            .signed_in(
                "chief@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        for (i, n) in ["+1 201 555 0101", "+1 201 555 0102", "+1 201 555 0103"]
            .iter()
            .enumerate()
        {
            let mut m = app
                .signed_in(&format!("m{i}@example.org"), &[Role::Member])
                .await;
            register(&app, &mut m, n).await;
        }
        // One member never confirms: they receive nothing.
        let mut unconfirmed = app.signed_in("late@example.org", &[Role::Member]).await;
        unconfirmed
            .post(
                "/alerts",
                &[("action", "save"), ("number", "+1 201 555 0104")],
            )
            .await;

        let page = admin.get("/admin/alert").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("0</span> characters typed") || page.body.contains(">0<"),
            "{}",
            page.body
        );
        let text = format!("Shelter in place now: {} end", "x".repeat(100));
        let r = admin.post("/admin/alert/confirm", &[("text", &text)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body.contains("<span class=\"beyond\" id=\"beyond\""),
            "{}",
            r.body
        );
        assert!(r.body.contains("id=\"recipient-count\">3<"), "{}", r.body);
        assert!(r.body.contains("Estimated time to reach everyone"));
        assert!(r.body.contains(" over 2 modems.</p>"), "{}", r.body);
        // Cancel returns to compose, at its own address, with the text kept.
        let r = admin
            .post("/admin/alert", &[("action", "cancel"), ("text", &text)])
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body.contains(&format!(">{text}</textarea>")),
            "{}",
            r.body
        );
        // Too long: refused on confirm and on send, whatever the page said.
        let long = "y".repeat(141);
        let r = admin.post("/admin/alert/confirm", &[("text", &long)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let r = admin
            .post("/admin/alert/send", &[("action", "send"), ("text", &long)])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(app.last_send("real").await, 0);

        let mut enqueued = app.state.alerts.campaigns().enqueued_signal();
        let r = admin
            .post("/admin/alert/send", &[("action", "send"), ("text", &text)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let id = app.last_send("real").await;
        assert_eq!(r.location(), format!("/admin/campaigns/{id}"));
        tokio::time::timeout(std::time::Duration::from_secs(30), enqueued.changed())
            .await
            .expect("enqueued in time")
            .expect("signal");
        let deliveries = app.outbox_bodies(id).await;
        let mut to: Vec<&str> = deliveries.iter().map(|(r, _)| r.as_str()).collect();
        to.sort();
        assert_eq!(to, ["+12015550101", "+12015550102", "+12015550103"]);
        assert!(deliveries.iter().all(|(_, b)| b == &text));
        // Alerts go ahead of chat replies.
        let priorities = app
            .count(&format!(
                "SELECT CAST(MIN(priority) AS BIGINT) FROM outbound WHERE campaign_id = {id}"
            ))
            .await;
        assert_eq!(priorities, i64::from(textgate_store::Priority::ALERT.0));

        let page = admin.get(&format!("/admin/campaigns/{id}")).await;
        assert!(
            page.body.contains("id=\"total\">3<") && page.body.contains("id=\"queued\">3<"),
            "{}",
            page.body
        );
        // Each path's share: the one gateway's two modems at 20 a minute each, three
        // one-part texts waiting (3 SMS at 40 a minute: 4.5 s); nothing measured yet.
        assert!(
            page.body.contains(r#"<tr><td>main</td><td>modem</td><td>40</td><td class="measured">–</td><td class="queued">3</td><td class="sent">0</td><td class="delivered">0</td><td class="failed">0</td><td class="left">4 s</td>"#),
            "{}",
            page.body
        );
        // Deliver through the store as the outbox worker would, after the planned slots.
        app.clock.advance(TimeDelta::minutes(5));
        let leased = app
            .state
            .store
            .lease_due(GATEWAY, "test-worker", 10, TimeDelta::minutes(1))
            .await
            .expect("lease");
        let mine: Vec<_> = leased
            .iter()
            .filter(|l| l.text.campaign_id == Some(id))
            .collect();
        assert_eq!(mine.len(), 3);
        for l in &mine {
            app.state
                .store
                .mark_sent(
                    &l.lease,
                    &[
                        SentPart {
                            seq: 1,
                            message_ref: "1".to_owned(),
                        },
                        SentPart {
                            seq: 2,
                            message_ref: "2".to_owned(),
                        },
                    ],
                )
                .await
                .expect("sent");
        }
        let progress = admin.get(&format!("/api/v1/campaigns/{id}")).await;
        let p: serde_json::Value = serde_json::from_str(&progress.body).unwrap();
        assert_eq!(p["percent"], 100, "{p}");
        assert_eq!(p["done"], true);
        assert_eq!(p["counts"]["sent"], 3);
        assert_eq!(p["paths"][0]["gateway"], "main", "{p}");
        assert_eq!(p["paths"][0]["path"], "modem", "{p}");
        assert_eq!(p["paths"][0]["counts"]["sent"], 3, "{p}");
        assert_eq!(p["paths"][0]["time_left"], "0 s", "{p}");
        // The send log and the audit log name the administrator.
        let log = admin.get("/admin/log").await;
        assert!(
            log.body.contains("chief@example.org") && log.body.contains("send-alert"),
            "{}",
            log.body
        );
    })
    .await;
}

#[tokio::test]
async fn technical_test_goes_to_testers_only_with_a_yearly_test_record() {
    both(|app: App| async move {
        let mut tech = app.signed_in("tech@example.org", &[Role::TechnicalAdministrator, Role::Member]).await;
        let mut tester = app.signed_in("tester@example.org", &[Role::Member]).await;
        register(&app, &mut tester, "+1 201 555 0111").await;
        let mut other = app.signed_in("other@example.org", &[Role::Member]).await;
        register(&app, &mut other, "+1 201 555 0112").await;
        let tester_id = app.count("SELECT id FROM web_accounts WHERE email = 'tester@example.org'").await;
        let r = tech.post(&format!("/admin/accounts/{tester_id}/tester"), &[("tester", "yes")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        let mut enqueued = app.state.alerts.campaigns().enqueued_signal();
        let fields = [("action", "send"), ("text", "TEST ONLY: yearly alert test, no action needed"), ("yearly_description", "Annual test of the alert system"), ("yearly_date", "2026-11-22"), ("yearly_time", "09:30"), ("yearly_announced", "yes")];
        let r = tech.post("/admin/test/send", &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        tokio::time::timeout(std::time::Duration::from_secs(30), enqueued.changed()).await.expect("in time").expect("signal");
        let id = app.last_send("test").await;
        let to: Vec<String> = app.outbox_bodies(id).await.into_iter().map(|(r, _)| r).collect();
        assert_eq!(to, ["+12015550111"]);
        let log = tech.get("/api/v1/send-log").await;
        let v: serde_json::Value = serde_json::from_str(&log.body).unwrap();
        expect_test::expect![[r#"{"announced":true,"date":"2026-11-22","description":"Annual test of the alert system","time":"09:30"}"#]]
            .assert_eq(&v["sends"][0]["yearly_test"].to_string());
    })
    .await;
}

#[tokio::test]
async fn stop_start_and_help_from_phones() {
    both(|app: App| async move {
        let mut c = app.signed_in("kw@example.org", &[Role::Member]).await;
        register(&app, &mut c, "+1 201 555 0150").await;
        let handled = app
            .state
            .alerts
            .members()
            .handle_incoming_sms(GATEWAY, "+12015550150", " Stop. ")
            .await
            .unwrap()
            .expect("a keyword");
        assert_eq!(handled.keyword, textgate_alerts::Keyword::Stop);
        assert!(c
            .get("/alerts")
            .await
            .body
            .contains("stopped by a STOP reply"));
        app.state
            .alerts
            .members()
            .handle_incoming_sms(GATEWAY, "+12015550150", "START")
            .await
            .unwrap()
            .expect("a keyword");
        assert!(c
            .get("/alerts")
            .await
            .body
            .contains("confirmed: you receive alerts"));
        let help = app
            .state
            .alerts
            .members()
            .handle_incoming_sms(GATEWAY, "+12015550150", "help")
            .await
            .unwrap()
            .expect("a keyword");
        assert!(help.reply.contains("STOP"), "{}", help.reply);
        assert_eq!(
            app.state
                .alerts
                .members()
                .handle_incoming_sms(GATEWAY, "+12015550150", "please stop sending")
                .await
                .unwrap(),
            None
        );
        // A STOP from an unregistered number is remembered: signing it up starts opted out.
        app.state
            .alerts
            .members()
            .handle_incoming_sms(GATEWAY, "+12015550160", "STOP")
            .await
            .unwrap()
            .expect("a keyword");
        let mut d = app.signed_in("stopped@example.org", &[Role::Member]).await;
        let r = d
            .post(
                "/alerts",
                &[("action", "save"), ("number", "+1 201 555 0160")],
            )
            .await;
        assert!(r.body.contains("replied STOP earlier"), "{}", r.body);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM alert_sends WHERE kind = 'keyword-reply'")
                .await,
            4
        );
    })
    .await;
}

#[tokio::test]
async fn transcripts_listing_statistics_deletion_and_zip() {
    both(|app: App| async move {
        let store = &app.state.store;
        store.set_transcript_policy(GATEWAY, textgate_store::TranscriptPolicy::Keep).await.unwrap();
        let now = app.state.now();
        for (i, patron) in ["+12015550170", "+12015550171"].iter().enumerate() {
            let id = store
                .insert_inbound(&NewInbound {
                    gateway: GATEWAY.into(),
                    sender: patron.to_string(),
                    smsc_time: now.fixed_offset(),
                    received_at: now,
                    body: format!("Is the library open today? <script>{i}</script>"),
                    concatenation: None,
                    parts_hex: vec!["00".into()],
                    incomplete: false,
                    consumed_pending_parts: vec![],
                })
                .await
                .unwrap()
                .id();
            store.mark_inbound_offered(&[id]).await.unwrap();
            store.mark_inbound_delivered(&[id], "librarian@example.org/desk").await.unwrap();
        }
        let first_day = now.date_naive();
        store.daily_stats(GATEWAY, first_day, first_day).await.expect("stats");
        store.conversations(GATEWAY).await.expect("conversations");
        let mut staff = app.signed_in("records@example.org", &[Role::TranscriptAdministrator, Role::Member]).await;
        let page = staff.get("/staff/transcripts").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("+12015550170") && page.body.contains("+12015550171"));
        assert!(page.body.contains("<td>2026-11-22</td><td>2</td><td>2</td>"), "{}", page.body);
        let zip = staff.get("/staff/transcripts/export?gateway=main").await;
        assert_eq!(zip.status, StatusCode::OK);
        assert_eq!(&zip.bytes[..2], b"PK");
        assert!(zip.headers.get("content-disposition").unwrap().to_str().unwrap().contains("transcripts-main-"));
        let first = app.count("SELECT MIN(id) FROM conversations").await.to_string();
        let r = staff.post("/staff/transcripts/delete", &[("gateway", "main"), ("id", &first), ("what", "transcripts"), ("scope", "selected")]).await;
        assert!(r.body.contains("Erased the text of 1 message(s)"), "{}", r.body);
        let r = staff.post("/staff/transcripts/delete", &[("gateway", "main"), ("what", "records"), ("scope", "period")]).await;
        assert!(r.body.contains("Deleted 2 message(s) and 2 conversation(s)"), "{}", r.body);
        let audit = app.count("SELECT COUNT(*) FROM web_audit_log WHERE action IN ('delete-transcripts', 'export-transcripts')").await;
        assert_eq!(audit, 3);
    })
    .await;
}

#[tokio::test]
async fn json_api_saves_and_reads_the_members_own_registration() {
    both(|app: App| async move {
        let mut c = app.signed_in("api@example.org", &[Role::Member]).await;
        let r = c
            .json(
                Method::POST,
                "/api/v1/registration",
                serde_json::json!({"number": "+1 201 555 0180"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let code = app.last_code().await;
        let r = c
            .json(
                Method::POST,
                "/api/v1/registration/confirm",
                serde_json::json!({"code": code}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = c.get("/api/v1/registration").await;
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["registration"]["masked"], "•••• 0180");
        assert_eq!(v["registration"]["state"], "active");
        let r = c
            .json(
                Method::POST,
                "/api/v1/registration",
                serde_json::json!({"number": "not a number"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.body.starts_with("{\"error\":"), "{}", r.body);
        let r = c
            .json(
                Method::DELETE,
                "/api/v1/registration",
                serde_json::json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    })
    .await;
}

#[tokio::test]
async fn compose_measure_endpoint_counts_like_the_server() {
    both(|app: App| async move {
        let mut c = app
            .signed_in("t@example.org", &[Role::TechnicalAdministrator])
            .await;
        c.get("/admin/test").await;
        let r = c
            .json(
                Method::POST,
                "/api/v1/compose/measure",
                serde_json::json!({"text": "Fire drill 😀 at noon"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        expect_test::expect![[
            r#"{"typed":20,"safe_left":90,"hard_left":120,"encoding":"ucs2","units":21,"parts":1}"#
        ]]
        .assert_eq(&r.body);
    })
    .await;
}

#[tokio::test]
async fn every_api_route_is_documented_and_answers() {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut routed: Vec<(String, String)> = API_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    routed.sort();
    assert_eq!(documented, routed);
    both(|app: App| async move {
        let mut anon = app.client();
        for (method, path) in API_ROUTES {
            let path = path.replace("{id}", "1");
            let method: Method = method.to_uppercase().parse().unwrap();
            let r = anon
                .send(
                    method.clone(),
                    &path,
                    Some("application/json"),
                    b"{}".to_vec(),
                    &[],
                )
                .await;
            assert!(
                r.status != StatusCode::NOT_FOUND && r.status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {}",
                r.status
            );
            if path != "/api/openapi.json" {
                assert!(
                    r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::FORBIDDEN,
                    "{method} {path} without a session: {}",
                    r.status
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn review_reminders_go_once_when_due_then_every_thirty_days() {
    both(|app: App| async move {
        let mut c = app.signed_in("remind@example.org", &[Role::Member]).await;
        register(&app, &mut c, "+1 201 555 0190").await;
        assert_eq!(
            app.state
                .alerts
                .members()
                .send_review_reminders()
                .await
                .unwrap(),
            0
        );
        app.clock.advance(TimeDelta::days(190));
        assert_eq!(
            app.state
                .alerts
                .members()
                .send_review_reminders()
                .await
                .unwrap(),
            1
        );
        let texts = app
            .outbox_bodies(app.last_send("review-reminder").await)
            .await;
        assert_eq!(texts[0].0, "+12015550190");
        assert!(texts[0].1.contains("over 6 months old"), "{:?}", texts[0]);
        assert_eq!(
            app.state
                .alerts
                .members()
                .send_review_reminders()
                .await
                .unwrap(),
            0,
            "not twice"
        );
        app.clock.advance(TimeDelta::days(30));
        assert_eq!(
            app.state
                .alerts
                .members()
                .send_review_reminders()
                .await
                .unwrap(),
            1,
            "again after 30 days"
        );
        // Saving stops them.
        c.sign_in("remind@example.org", support::PASSWORD).await;
        c.post("/alerts", &[("action", "save"), ("number", "")])
            .await;
        app.clock.advance(TimeDelta::days(31));
        assert_eq!(
            app.state
                .alerts
                .members()
                .send_review_reminders()
                .await
                .unwrap(),
            0
        );
    })
    .await;
}

#[tokio::test]
async fn confirmation_codes_are_rate_limited_like_tests() {
    both(|app: App| async move {
        let mut c = app.signed_in("codes@example.org", &[Role::Member]).await;
        for n in ["+1 201 555 0191", "+1 201 555 0192", "+1 201 555 0193"] {
            let r = c
                .post("/alerts", &[("action", "save"), ("number", n)])
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let r = c
            .post(
                "/alerts",
                &[("action", "save"), ("number", "+1 201 555 0194")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.body.contains("too many confirmation codes"), "{}", r.body);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM alert_sends WHERE kind = 'confirmation'")
                .await,
            3
        );
    })
    .await;
}
