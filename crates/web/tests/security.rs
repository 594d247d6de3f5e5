//! Security behaviour of the console against a real PostgreSQL and SQLite: session
//! fixation, CSRF, brute-force sign-in, roles (pages, direct URLs, forged POSTs), members
//! reading each other's data, SQL and script injection in every field.

mod support;

use axum::http::{Method, StatusCode};
use support::{both, App, PASSWORD};
use textgate_alerts::Role;

#[tokio::test]
async fn signing_in_issues_a_new_session_id_with_strict_cookie_attributes() {
    both(|app: App| async move {
        app.account("reader@example.org", &[Role::Member]).await;
        let mut c = app.client();
        let page = c.get("/signin").await;
        assert_eq!(page.status, StatusCode::OK);
        let set = page
            .headers
            .get("set-cookie")
            .expect("anonymous session cookie")
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"),
            "{set}"
        );
        let before = c.cookie.clone().expect("cookie before sign-in");
        let r = c.sign_in("reader@example.org", PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let after = c.cookie.clone().expect("cookie after sign-in");
        assert_ne!(before, after, "the session id must change at sign-in");
        // The planted (pre-sign-in) id is worthless now.
        let mut attacker = app.client();
        attacker.cookie = Some(before);
        assert_eq!(attacker.get("/alerts").await.location(), "/signin");
        // The new one works.
        assert_eq!(c.get("/alerts").await.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn secure_attribute_is_set_unless_configured_off() {
    let cookie =
        textgate_web::auth::session_cookie("x", textgate_web::CookieSecurity::HttpsOnly, 10);
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn missing_or_wrong_csrf_tokens_are_refused() {
    both(|app: App| async move {
        app.account("m@example.org", &[Role::Member]).await;
        let mut anon = app.client();
        anon.get("/signin").await;
        for fields in [
            vec![("email", "m@example.org"), ("password", PASSWORD)],
            vec![
                ("csrf", "0000"),
                ("email", "m@example.org"),
                ("password", PASSWORD),
            ],
        ] {
            let r = anon.post_raw("/signin", &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        }
        let mut c = app
            .signed_in(
                "e@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        for path in [
            "/alerts",
            "/admin/alert/send",
            "/admin/test/confirm",
            "/signout",
            "/admin/accounts",
            "/tokens",
            "/tokens/1/revoke",
            "/admin/accounts/1/roles",
            "/admin/accounts/1/remove",
        ] {
            let missing = c
                .post_raw(
                    path,
                    &[
                        ("action", "save"),
                        ("number", "+12015550123"),
                        ("text", "hi"),
                    ],
                )
                .await;
            assert_eq!(
                missing.status,
                StatusCode::FORBIDDEN,
                "{path} without token"
            );
            let wrong = c
                .post_raw(
                    path,
                    &[
                        ("csrf", &"ab".repeat(32)),
                        ("action", "send"),
                        ("text", "hi"),
                    ],
                )
                .await;
            assert_eq!(
                wrong.status,
                StatusCode::FORBIDDEN,
                "{path} with a wrong token"
            );
        }
        // Another session's token does not count either.
        let mut other = app.signed_in("o@example.org", &[Role::Member]).await;
        let foreign = other.csrf().await;
        let r = c
            .post_raw("/alerts", &[("csrf", &foreign), ("action", "remove")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // The JSON API wants the header.
        let r = c
            .send(
                Method::DELETE,
                "/api/v1/registration",
                None,
                Vec::new(),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(app.last_send("real").await, 0, "nothing was sent");
        assert_eq!(app.count("SELECT COUNT(*) FROM web_api_tokens").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM web_accounts").await, 3);
    })
    .await;
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_sign_in_for_the_account_and_the_address() {
    both(|app: App| async move {
        app.account("target@example.org", &[Role::Member]).await;
        let mut c = app.client();
        for attempt in 0..5 {
            let r = c
                .sign_in("target@example.org", &format!("guess number {attempt}"))
                .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        }
        // Now even the right password is refused until the window passes.
        let r = c.sign_in("target@example.org", PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
        assert!(r.body.contains("Too many failed sign-ins"));
        // From another address too (limit per account).
        let mut elsewhere = app.client();
        elsewhere.ip = "198.51.100.7:4000".parse().unwrap();
        assert_eq!(
            elsewhere
                .sign_in("target@example.org", PASSWORD)
                .await
                .status,
            StatusCode::TOO_MANY_REQUESTS
        );
        app.clock.advance(chrono::TimeDelta::minutes(16));
        assert_eq!(
            c.sign_in("target@example.org", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );

        // Per address: many accounts guessed from one address.
        let mut sprayer = app.client();
        sprayer.ip = "203.0.113.9:1".parse().unwrap();
        for n in 0..20 {
            sprayer
                .sign_in(&format!("nobody{n}@example.org"), "wrong password")
                .await;
        }
        app.account("fresh@example.org", &[Role::Member]).await;
        assert_eq!(
            sprayer.sign_in("fresh@example.org", PASSWORD).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
    })
    .await;
}

#[tokio::test]
async fn every_page_and_action_checks_the_role_on_the_server() {
    both(|app: App| async move {
        let mut tech = app
            .signed_in(
                "tech@example.org",
                &[Role::TechnicalAdministrator, Role::Member],
            )
            .await;
        // The emergency desk, by direct URL and by forged POSTs with a valid CSRF token.
        assert_eq!(tech.get("/admin/alert").await.status, StatusCode::FORBIDDEN);
        let r = tech
            .post("/admin/alert/confirm", &[("text", "Real alert")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = tech
            .post(
                "/admin/alert/send",
                &[("action", "send"), ("text", "Real alert")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("emergency administrator"), "{}", r.body);
        let r = tech
            .json(
                Method::POST,
                "/api/v1/campaigns",
                serde_json::json!({"audience": "everyone", "text": "Real alert"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(app.last_send("real").await, 0, "no real alert was recorded");
        // The test desk is theirs.
        assert_eq!(tech.get("/admin/test").await.status, StatusCode::OK);
        assert_eq!(
            tech.get("/staff/transcripts").await.status,
            StatusCode::FORBIDDEN
        );

        let mut member = app.signed_in("member@example.org", &[Role::Member]).await;
        for path in [
            "/admin",
            "/admin/test",
            "/admin/alert",
            "/admin/log",
            "/admin/accounts",
            "/staff/transcripts",
            "/staff/transcripts/export",
            "/api/v1/send-log",
            "/api/v1/audit-log",
            "/api/v1/transcripts/conversations",
            "/api/v1/accounts",
            "/api/v1/tokens?scope=all",
            "/admin/accounts/1",
            "/admin/accounts/1/remove",
        ] {
            assert_eq!(
                member.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        let r = member
            .post("/admin/test/send", &[("action", "send"), ("text", "hi")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // A technical administrator cannot grant the emergency role.
        let r = tech
            .post(
                "/admin/accounts",
                &[
                    ("email", "new@example.org"),
                    ("password", PASSWORD),
                    ("role", "emergency-administrator"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Signed out: pages go to sign-in, the API says 401.
        let mut anon = app.client();
        assert_eq!(anon.get("/alerts").await.location(), "/signin");
        assert_eq!(
            anon.get("/api/v1/me").await.status,
            StatusCode::UNAUTHORIZED
        );
    })
    .await;
}

#[tokio::test]
async fn a_member_never_sees_another_members_number() {
    both(|app: App| async move {
        let mut alice = app.signed_in("alice@example.org", &[Role::Member]).await;
        let r = alice.post("/alerts", &[("action", "save"), ("number", "+1 201 555 0123")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let mut bob = app.signed_in("bob@example.org", &[Role::Member]).await;
        let page = bob.get("/alerts").await;
        assert!(!page.body.contains("0123"), "Bob's page shows Alice's number: {}", page.body);
        let api = bob.get("/api/v1/registration").await;
        assert_eq!(api.body, r#"{"groups":[],"registration":null}"#);
        // Registering Alice's number to Bob's account is refused without saying whose it is.
        let r = bob.post("/alerts", &[("action", "save"), ("number", "(201) 555-0123")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(!r.body.contains("alice"), "{}", r.body);
        // Bob's remove does not touch Alice's registration.
        bob.post("/alerts/remove", &[]).await;
        assert_eq!(app.count("SELECT COUNT(*) FROM alert_registrations").await, 1);
        // The number is not in the database in clear.
        assert_eq!(app.count("SELECT COUNT(*) FROM alert_registrations WHERE number_enc LIKE '%2015550123%' OR number_index LIKE '%2015550123%'").await, 0);
    })
    .await;
}

const SQL_INJECTIONS: &[&str] = &[
    "' OR '1'='1",
    "'; DROP TABLE web_accounts; --",
    "1); DELETE FROM alert_registrations; --",
    "\" OR \"\"=\"",
    "%27%20OR%201=1",
];
const SCRIPT: &str = "<script>alert('x')</script><img src=x onerror=alert(1)>";

#[tokio::test]
async fn injection_attempts_in_every_field_are_refused_or_stored_and_shown_escaped() {
    both(|app: App| async move {
        let mut admin = app
            .signed_in(
                "boss@example.org",
                &[
                    Role::EmergencyAdministrator,
                    Role::TechnicalAdministrator,
                    Role::TranscriptAdministrator,
                    Role::Member,
                ],
            )
            .await;
        let mut anon = app.client();
        for bad in SQL_INJECTIONS.iter().copied().chain([SCRIPT]) {
            // Sign-in fields.
            let r = anon.sign_in(bad, bad).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "sign-in with {bad:?}: {}",
                r.body
            );
            assert!(!r.body.contains("<script>alert"), "{}", r.body);
            // Member fields.
            for (number, carrier) in [(bad, ""), ("+1 201 555 0199", bad)] {
                let r = admin
                    .post(
                        "/alerts",
                        &[("action", "save"), ("number", number), ("carrier", carrier)],
                    )
                    .await;
                assert_eq!(
                    r.status,
                    StatusCode::BAD_REQUEST,
                    "number {number:?} carrier {carrier:?}: {}",
                    r.body
                );
                assert!(!r.body.contains("<script>alert"), "{}", r.body);
            }
            let r = admin.post("/alerts/confirm", &[("code", bad)]).await;
            assert!(r.status.is_client_error(), "{}", r.body);
            // Account creation.
            let r = admin
                .post(
                    "/admin/accounts",
                    &[("email", bad), ("password", bad), ("role", "member")],
                )
                .await;
            assert!(r.status.is_client_error(), "{}", r.body);
            assert!(!r.body.contains("<script>alert"), "{}", r.body);
            // A token label is free text: kept as typed, shown escaped.
            let r = admin.post("/tokens", &[("label", bad)]).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            assert!(!r.body.contains("<script>alert"), "{}", r.body);
            // Transcript parameters.
            let r = admin
                .get(&format!(
                    "/staff/transcripts?gateway={}&from={}",
                    urlencode(bad),
                    urlencode(bad)
                ))
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
            let r = admin
                .post(
                    "/staff/transcripts/delete",
                    &[("gateway", "main"), ("id", bad), ("what", "records")],
                )
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
            let r = admin
                .get(&format!("/admin/campaigns/{}", urlencode(bad)))
                .await;
            assert!(r.status.is_client_error(), "{}", r.status);
        }
        // Compose text and yearly-test fields are free text: stored as typed, shown escaped.
        let text = format!("{} {}", SQL_INJECTIONS[1], "<b>x</b>");
        let r = admin
            .post(
                "/admin/test/confirm",
                &[
                    ("text", &text),
                    ("yearly_description", SCRIPT),
                    ("yearly_date", "2026-11-22"),
                    ("yearly_time", "09:00"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body.contains("&lt;b&gt;x&lt;&#x2f;b&gt;") || r.body.contains("&lt;b&gt;x&lt;/b&gt;"),
            "{}",
            r.body
        );
        assert!(!r.body.contains("<script>alert"), "{}", r.body);
        let r = admin
            .post(
                "/admin/test/send",
                &[
                    ("action", "send"),
                    ("text", &text),
                    ("yearly_description", SCRIPT),
                    ("yearly_date", "2026-11-22"),
                    ("yearly_time", "09:00"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let log = admin.get("/admin/log").await;
        assert!(
            log.body.contains("DROP TABLE web_accounts"),
            "the text is logged as typed"
        );
        assert!(
            !log.body.contains("<script>alert") && !log.body.contains("<b>x</b>"),
            "{}",
            log.body
        );
        // Everything still exists.
        assert!(app.count("SELECT COUNT(*) FROM web_accounts").await >= 1);
        let r = admin.get("/alerts").await;
        assert_eq!(r.status, StatusCode::OK);
    })
    .await;
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)])
        .unwrap()
        .trim_start_matches("v=")
        .to_string()
}

#[tokio::test]
async fn api_bearer_tokens_authenticate_without_cookies() {
    both(|app: App| async move {
        let mut c = app.signed_in("script@example.org", &[Role::Member]).await;
        let r = c
            .json(
                Method::POST,
                "/api/v1/tokens",
                serde_json::json!({"label": "nightly export"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let token = v["token"].as_str().unwrap().to_string();
        let mut script = app.client();
        let auth = format!("Bearer {token}");
        let r = script
            .send(
                Method::GET,
                "/api/v1/me",
                None,
                Vec::new(),
                &[("authorization", &auth)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("script@example.org"));
        let body = serde_json::json!({"number": "+1 201 555 0199"})
            .to_string()
            .into_bytes();
        let r = script
            .send(
                Method::POST,
                "/api/v1/registration",
                Some("application/json"),
                body,
                &[("authorization", &auth)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            script.cookie.is_none(),
            "no session was created for the token"
        );
        // Role checks still apply, and an unknown token is refused.
        let r = script
            .send(
                Method::GET,
                "/api/v1/send-log",
                None,
                Vec::new(),
                &[("authorization", &auth)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let wrong = format!("Bearer {}", "0".repeat(64));
        let r = script
            .send(
                Method::GET,
                "/api/v1/me",
                None,
                Vec::new(),
                &[("authorization", &wrong)],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        // Only a hash is stored.
        let stored = app
            .count(&format!(
                "SELECT COUNT(*) FROM web_api_tokens WHERE token_hash = '{token}'"
            ))
            .await;
        assert_eq!(stored, 0);
    })
    .await;
}
