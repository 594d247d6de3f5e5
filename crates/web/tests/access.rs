//! Managing access, against a real PostgreSQL and SQLite: API tokens are listed (never
//! their secrets) and revoked, and a revoked token is refused at once; administrators
//! change roles and remove accounts, with the guards (no granting a role one lacks, no
//! demoting or removing oneself, never the last holder of an administrator role), the
//! audit log, and sessions and tokens that lose their power the moment the account does.
//! The security side: forged POSTs without a CSRF token, wrong roles by URL, by forged
//! POST and by the API.

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::{both, App, Client, Reply};
use textgate_alerts::{Role, Roles};

/// A request authenticated with a bearer token only.
async fn with_token(
    app: &App,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut script = app.client();
    let auth = format!("Bearer {token}");
    let (content_type, bytes) = match body {
        Some(b) => (Some("application/json"), b.to_string().into_bytes()),
        None => (None, Vec::new()),
    };
    script
        .send(
            method,
            path,
            content_type,
            bytes,
            &[("authorization", &auth)],
        )
        .await
}

/// Creates a token through the API with `c`'s session; (number, secret).
async fn new_token(c: &mut Client, label: &str) -> (i64, String) {
    let r = c
        .json(Method::POST, "/api/v1/tokens", json!({ "label": label }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("JSON");
    (
        v["id"].as_i64().expect("token number"),
        v["token"].as_str().expect("token").to_string(),
    )
}

async fn audit_actions(app: &App) -> Vec<String> {
    app.state
        .alerts
        .logs()
        .audit_log(100)
        .await
        .expect("audit log")
        .into_iter()
        .map(|e| format!("{} {}: {}", e.account_email, e.action, e.detail))
        .collect()
}

#[tokio::test]
async fn tokens_are_listed_without_secrets_and_revoked_tokens_are_refused_at_once() {
    both(|app: App| async move {
        let mut pat = app.signed_in("pat@example.org", &[Role::Member]).await;
        // Created from the page: the secret is shown once.
        let r = pat.post("/tokens", &[("label", "nightly export")]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let at = r.body.find("id=\"new-token\"").expect("the new token");
        let secret: String = r.body[at..]
            .split("value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("token value")
            .to_string();
        assert_eq!(secret.len(), 64, "{secret}");
        let me = with_token(&app, &secret, Method::GET, "/api/v1/me", None).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        // Listed on the page and in the API with its use, never with the secret.
        let page = pat.get("/tokens").await;
        assert!(page.body.contains("nightly export"), "{}", page.body);
        assert!(!page.body.contains(&secret), "the secret is shown again");
        let list = pat.get("/api/v1/tokens").await;
        assert_eq!(list.status, StatusCode::OK);
        let v: Value = serde_json::from_str(&list.body).unwrap();
        let tokens = v["tokens"].as_array().expect("tokens");
        assert_eq!(tokens.len(), 1, "{}", list.body);
        assert_eq!(tokens[0]["label"], "nightly export");
        assert_eq!(tokens[0]["account_email"], "pat@example.org");
        assert!(tokens[0]["last_used_at"].is_string(), "{}", list.body);
        assert!(!list.body.contains(&secret) && !list.body.contains("hash"));
        let id = tokens[0]["id"].as_i64().unwrap();

        // A token cannot mint another one.
        let r = with_token(
            &app,
            &secret,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"label": "persistence"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        // Labels are checked.
        let r = pat.post("/tokens", &[("label", "  ")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);

        // Another member cannot see or revoke it: by page, by forged POST, by the API.
        let mut other = app.signed_in("other@example.org", &[Role::Member]).await;
        assert!(!other.get("/tokens").await.body.contains("nightly export"));
        assert_eq!(
            other.get(&format!("/tokens/{id}/revoke")).await.status,
            StatusCode::NOT_FOUND
        );
        let r = other.post(&format!("/tokens/{id}/revoke"), &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = other
            .json(Method::DELETE, &format!("/api/v1/tokens/{id}"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(
            other.get("/api/v1/tokens?scope=all").await.status,
            StatusCode::FORBIDDEN
        );
        // Without the CSRF token nothing happens either.
        let r = pat
            .post_raw(&format!("/tokens/{id}/revoke"), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = pat
            .send(Method::DELETE, &format!("/api/v1/tokens/{id}"), None, Vec::new(), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let me = with_token(&app, &secret, Method::GET, "/api/v1/me", None).await;
        assert_eq!(me.status, StatusCode::OK, "still valid");

        // The owner confirms and revokes it: refused from the next request on.
        let confirm = pat.get(&format!("/tokens/{id}/revoke")).await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(confirm.body.contains("nightly export"), "{}", confirm.body);
        let r = pat.post(&format!("/tokens/{id}/revoke"), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("has been revoked"), "{}", r.body);
        assert!(r.body.contains("You have no API tokens"), "{}", r.body);
        let me = with_token(&app, &secret, Method::GET, "/api/v1/me", None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        // Revoking twice is "not found".
        let r = pat.post(&format!("/tokens/{id}/revoke"), &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        // Administrators who manage accounts see every token and revoke any.
        let (second, second_secret) = new_token(&mut pat, "phone shortcut").await;
        let mut tech = app
            .signed_in(
                "tech@example.org",
                &[Role::TechnicalAdministrator, Role::Member],
            )
            .await;
        let all = tech.get("/api/v1/tokens?scope=all").await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.body);
        assert!(all.body.contains("phone shortcut"), "{}", all.body);
        assert!(tech.get("/tokens").await.body.contains("phone shortcut"));
        let own = tech.get("/api/v1/tokens").await;
        assert_eq!(own.body, r#"{"tokens":[]}"#);
        let r = tech
            .json(Method::DELETE, &format!("/api/v1/tokens/{second}"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let me = with_token(&app, &second_secret, Method::GET, "/api/v1/me", None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);

        let audit = audit_actions(&app).await;
        for expected in [
            format!("pat@example.org create-api-token: token {id} (console scope): nightly export"),
            format!("pat@example.org revoke-api-token: token {id} (nightly export) of pat@example.org"),
            format!("tech@example.org revoke-api-token: token {second} (phone shortcut) of pat@example.org"),
        ] {
            assert!(audit.contains(&expected), "{expected:?} not in {audit:#?}");
        }
    })
    .await;
}

#[tokio::test]
async fn roles_change_at_once_for_sessions_and_tokens_and_every_change_is_audited() {
    both(|app: App| async move {
        let mut tech = app
            .signed_in(
                "tech@example.org",
                &[Role::TechnicalAdministrator, Role::Member],
            )
            .await;
        let mut sam = app.signed_in("sam@example.org", &[Role::Member]).await;
        let sam_id = app.account_id("sam@example.org").await;
        let (_, sam_token) = new_token(&mut sam, "reports").await;
        assert_eq!(sam.get("/admin/accounts").await.status, StatusCode::FORBIDDEN);

        // Promote through the page: Sam's existing session and token have the role now.
        let page = tech.get(&format!("/admin/accounts/{sam_id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("sam@example.org"), "{}", page.body);
        let r = tech
            .post(
                &format!("/admin/accounts/{sam_id}/roles"),
                &[("role", "member"), ("role", "technical-administrator")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body
                .contains("sam@example.org now has the roles member, technical administrator"),
            "{}",
            r.body
        );
        assert_eq!(sam.get("/admin/accounts").await.status, StatusCode::OK);
        let log = with_token(&app, &sam_token, Method::GET, "/api/v1/send-log", None).await;
        assert_eq!(log.status, StatusCode::OK);

        // Demote through the API: refused at once on the session and the token.
        let r = tech
            .json(
                Method::PUT,
                &format!("/api/v1/accounts/{sam_id}/roles"),
                json!({"roles": ["member"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(sam.get("/admin/accounts").await.status, StatusCode::FORBIDDEN);
        let log = with_token(&app, &sam_token, Method::GET, "/api/v1/send-log", None).await;
        assert_eq!(log.status, StatusCode::FORBIDDEN);
        // Still a member: the session itself is fine.
        assert_eq!(sam.get("/alerts").await.status, StatusCode::OK);

        // Nobody grants a role they lack, by form or by API; nothing changes.
        let r = tech
            .post(
                &format!("/admin/accounts/{sam_id}/roles"),
                &[("role", "member"), ("role", "emergency-administrator")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = tech
            .json(
                Method::PUT,
                &format!("/api/v1/accounts/{sam_id}/roles"),
                json!({"roles": ["member", "transcript-administrator"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = tech
            .json(
                Method::PUT,
                &format!("/api/v1/accounts/{sam_id}/roles"),
                json!({"roles": ["member", "root"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        let r = tech
            .json(
                Method::PUT,
                &format!("/api/v1/accounts/{sam_id}/roles"),
                json!({"roles": []}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        let sam_now = app
            .state
            .alerts
            .accounts()
            .get(sam_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sam_now.roles, Roles::new([Role::Member]));

        // Nobody demotes or removes themselves.
        let tech_id = app.account_id("tech@example.org").await;
        let r = tech
            .post(&format!("/admin/accounts/{tech_id}/roles"), &[("role", "member")])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(
            r.body
                .contains("You cannot take a role away from your own account"),
            "{}",
            r.body
        );
        let r = tech.post(&format!("/admin/accounts/{tech_id}/remove"), &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.body.contains("You cannot remove your own account"), "{}", r.body);
        let r = tech
            .json(Method::DELETE, &format!("/api/v1/accounts/{tech_id}"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

        let audit = audit_actions(&app).await;
        for expected in [
            format!("tech@example.org change-roles: sam@example.org (account {sam_id}): member -> member,technical-administrator"),
            format!("tech@example.org change-roles: sam@example.org (account {sam_id}): member,technical-administrator -> member"),
        ] {
            assert!(audit.contains(&expected), "{expected:?} not in {audit:#?}");
        }
        assert_eq!(
            audit.iter().filter(|a| a.contains("change-roles")).count(),
            2,
            "refused changes are not recorded as changes: {audit:#?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_removed_accounts_sessions_and_tokens_stop_working_at_once() {
    both(|app: App| async move {
        let mut tech = app
            .signed_in(
                "tech@example.org",
                &[Role::TechnicalAdministrator, Role::Member],
            )
            .await;
        let mut leaver = app.signed_in("leaver@example.org", &[Role::Member]).await;
        let r = leaver
            .post(
                "/alerts",
                &[("action", "save"), ("number", "+1 201 555 0142")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let (_, token) = new_token(&mut leaver, "cron").await;
        let id = app.account_id("leaver@example.org").await;
        // A member cannot remove anyone: by URL, by forged POST, by the API.
        let mut member = app.signed_in("m@example.org", &[Role::Member]).await;
        for path in [
            format!("/admin/accounts/{id}"),
            format!("/admin/accounts/{id}/remove"),
            "/api/v1/accounts".to_string(),
        ] {
            assert_eq!(
                member.get(&path).await.status,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        let r = member
            .post(&format!("/admin/accounts/{id}/remove"), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = member
            .post(
                &format!("/admin/accounts/{id}/roles"),
                &[("role", "technical-administrator")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = member
            .json(Method::DELETE, &format!("/api/v1/accounts/{id}"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // The administrator's own forged POST without the CSRF token does nothing.
        let r = tech
            .post_raw(&format!("/admin/accounts/{id}/remove"), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = tech
            .post_raw(
                &format!("/admin/accounts/{id}/roles"),
                &[("role", "technical-administrator")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(leaver.get("/alerts").await.status, StatusCode::OK);

        // Confirm, then remove.
        let confirm = tech.get(&format!("/admin/accounts/{id}/remove")).await;
        assert_eq!(confirm.status, StatusCode::OK);
        assert!(confirm
            .body
            .contains("Remove the account leaver@example.org"));
        let r = tech
            .post(&format!("/admin/accounts/{id}/remove"), &[])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body
                .contains("The account leaver@example.org has been removed"),
            "{}",
            r.body
        );
        assert!(!r.body.contains("leaver@example.org</a>"), "still listed");
        // The session is gone, the token too, and the registration with them.
        assert_eq!(leaver.get("/alerts").await.location(), "/signin");
        assert_eq!(
            leaver.get("/api/v1/me").await.status,
            StatusCode::UNAUTHORIZED
        );
        let me = with_token(&app, &token, Method::GET, "/api/v1/me", None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM alert_registrations WHERE account_id = {id}"
            ))
            .await,
            0
        );
        // Signing in again is impossible.
        let mut again = app.client();
        assert_eq!(
            again
                .sign_in("leaver@example.org", support::PASSWORD)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        let audit = audit_actions(&app).await;
        let expected =
            format!("tech@example.org remove-account: leaver@example.org (account {id}): member");
        assert!(audit.contains(&expected), "{audit:#?}");
        // Removing it again: not found.
        let r = tech
            .json(Method::DELETE, &format!("/api/v1/accounts/{id}"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn an_account_holding_a_role_the_administrator_lacks_is_not_removed_by_them() {
    both(|app: App| async move {
        let mut tech = app
            .signed_in(
                "tech@example.org",
                &[Role::TechnicalAdministrator, Role::Member],
            )
            .await;
        let chief = app
            .account(
                "chief@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        let r = tech
            .post(&format!("/admin/accounts/{chief}/remove"), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains("emergency administrator"), "{}", r.body);
        assert!(app
            .state
            .alerts
            .accounts()
            .get(chief)
            .await
            .unwrap()
            .is_some());
        // The page shows that role's box disabled.
        let page = tech.get(&format!("/admin/accounts/{chief}")).await;
        assert!(
            page.body
                .contains("value=\"emergency-administrator\" checked disabled"),
            "{}",
            page.body
        );
        // Saving the form as shown keeps it.
        let r = tech
            .post(
                &format!("/admin/accounts/{chief}/roles"),
                &[("role", "member")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Nothing changed"), "{}", r.body);
    })
    .await;
}

/// The last holder of an administrator role keeps it even when two administrators take
/// it from each other at the same moment: the check and the change are one transaction
/// that other account changes wait for. (The guarded change itself, checked against
/// stale roles, is tested beside it in the alert service: `accounts/data_tests.rs`.)
#[tokio::test]
async fn the_last_technical_administrator_is_never_demoted_or_removed() {
    both(|app: App| async move {
        let a = app
            .account(
                "a@example.org",
                &[Role::TechnicalAdministrator, Role::Member],
            )
            .await;
        // Through HTTP, at the same moment: the only two technical administrators demote
        // each other.
        let c = app
            .account(
                "c@example.org",
                &[Role::TechnicalAdministrator, Role::Member],
            )
            .await;
        let mut ca = app.client();
        assert_eq!(
            ca.sign_in("a@example.org", support::PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        let mut cc = app.client();
        assert_eq!(
            cc.sign_in("c@example.org", support::PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        // Fetch the CSRF tokens first so that both requests are single round trips.
        ca.csrf().await;
        cc.csrf().await;
        let body = json!({"roles": ["member"]});
        let (demote_c, demote_a) = (
            format!("/api/v1/accounts/{c}/roles"),
            format!("/api/v1/accounts/{a}/roles"),
        );
        let (ra, rc) = tokio::join!(
            ca.json(Method::PUT, &demote_c, body.clone()),
            cc.json(Method::PUT, &demote_a, body.clone()),
        );
        let statuses = [ra.status, rc.status];
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            1,
            "exactly one demotion goes through: {} / {}",
            ra.body,
            rc.body
        );
        let technical = app
            .count("SELECT COUNT(*) FROM web_accounts WHERE roles LIKE '%technical-administrator%'")
            .await;
        assert_eq!(technical, 1);
        // The other was refused: either as the last technical administrator (both
        // passed the role check) or for lacking the role (it came second).
        let refused = if ra.status == StatusCode::OK {
            &rc
        } else {
            &ra
        };
        assert!(
            refused.body.contains("is the only technical administrator")
                || refused.status == StatusCode::FORBIDDEN,
            "{}",
            refused.body
        );
    })
    .await;
}
