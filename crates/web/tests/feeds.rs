//! The public alert feeds through the console, on a real PostgreSQL and SQLite: a real
//! alert served as CAP 1.2 that the published OASIS schema accepts (checked by `xmllint`,
//! Debian's libxml2-utils), its update and all clear as CAP Update and Cancel referencing
//! what came before, the Atom, RSS and JSON feeds showing each thread by its latest
//! message, and nothing that did not go out (tests, alerts awaiting approval) ever shown.

mod support;

use std::path::PathBuf;

use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::Value;
use support::{both, App};
use textgate_alert_service::feeds::FeedSettings;
use textgate_alert_service::Approval;
use textgate_alerts::Role;

fn with_feed(app: &App, approval: Approval) -> App {
    app.with_settings(|s| {
        s.feed = Some(FeedSettings {
            url: "https://alerts.library.example".into(),
            sender: "alerts@library.example".into(),
            sender_name: "Library emergency alerts".into(),
            area: "Main library & campus".into(),
            language: "en-US".into(),
            event: "Campus emergency".into(),
            active_for: TimeDelta::hours(24),
        });
        s.approval = approval;
    })
}

/// Checks `xml` against the OASIS CAP 1.2 schema kept in crates/cap/schema.
fn assert_valid_cap(xml: &str) {
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cap/schema/CAP-v1.2.xsd");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("alert.xml");
    std::fs::write(&file, xml).expect("write the document");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint runs (scripts/lib/env.sh ensure_xmllint installs it)");
    assert!(
        out.status.success(),
        "the CAP schema refuses our document: {}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn real_alerts_are_published_as_cap_and_in_the_feeds_until_they_are_old() {
    both(|app: App| async move {
        let app = with_feed(&app, Approval::OnePerson);
        let mut chief = app
            .signed_in(
                "chief@example.org",
                &[
                    Role::EmergencyAdministrator,
                    Role::TechnicalAdministrator,
                    Role::Member,
                ],
            )
            .await;
        let mut public = app.client();
        // Nothing yet: an empty but valid feed.
        let r = public.get("/feeds/alerts.json").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            json(&r.body)["alerts"].as_array().map(Vec::len),
            Some(0),
            "{}",
            r.body
        );

        let first = app
            .send_real(
                &mut chief,
                "Gas leak in Hall B: leave the building <now> & wait outside.",
                None,
            )
            .await;
        let r = public.get(&format!("/feeds/alerts/{first}.xml")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_valid_cap(&r.body);
        assert!(
            r.body.contains("<msgType>Alert</msgType>")
                && r.body.contains("<status>Actual</status>"),
            "{}",
            r.body
        );
        assert!(r.body.contains("&lt;now&gt; &amp; wait"), "{}", r.body);

        let update = app
            .send_real(
                &mut chief,
                "UPDATE: crews on site, stay out.",
                Some((first, "update")),
            )
            .await;
        let clear = app
            .send_real(
                &mut chief,
                "ALL CLEAR: Hall B is safe again.",
                Some((first, "cancel")),
            )
            .await;
        let r = public.get(&format!("/feeds/alerts/{clear}.xml")).await;
        assert_valid_cap(&r.body);
        assert!(r.body.contains("<msgType>Cancel</msgType>"), "{}", r.body);
        assert!(
            r.body.contains("<responseType>AllClear</responseType>"),
            "{}",
            r.body
        );
        assert!(
            r.body
                .contains(&format!("alerts@library.example,textgate-alert-{first},"))
                && r.body
                    .contains(&format!("alerts@library.example,textgate-alert-{update},")),
            "the all clear references the alert and its update: {}",
            r.body
        );
        let r = public.get(&format!("/feeds/alerts/{update}.xml")).await;
        assert_valid_cap(&r.body);
        assert!(r.body.contains("<msgType>Update</msgType>"), "{}", r.body);

        // A test never appears, in the feeds or as CAP.
        let r = chief
            .post(
                "/admin/test/send",
                &[("action", "send"), ("text", "This is only a test.")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let test = app.last_send("test").await;
        assert_eq!(
            public
                .get(&format!("/feeds/alerts/{test}.xml"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        // The thread shows by its latest message, the all clear.
        let feed = json(&public.get("/feeds/alerts.json").await.body);
        let alerts = feed["alerts"].as_array().cloned().unwrap_or_default();
        assert_eq!(alerts.len(), 1, "{feed}");
        assert_eq!(alerts[0]["msgType"], "Cancel", "{feed}");
        let r = public.get("/feeds/alerts.atom").await;
        assert!(
            r.body.contains(&format!("/feeds/alerts/{clear}.xml")),
            "{}",
            r.body
        );
        assert!(well_formed(&r.body), "{}", r.body);
        let r = public.get("/feeds/alerts.rss").await;
        assert!(
            r.body.contains("<rss") && r.body.contains("ALL CLEAR"),
            "{}",
            r.body
        );

        // A day later the thread is no longer current.
        app.clock.advance(TimeDelta::hours(25));
        let feed = json(&public.get("/feeds/alerts.json").await.body);
        assert_eq!(feed["alerts"].as_array().map(Vec::len), Some(0), "{feed}");
        // Its CAP documents stay where they were.
        assert_eq!(
            public
                .get(&format!("/feeds/alerts/{first}.xml"))
                .await
                .status,
            StatusCode::OK
        );
    })
    .await;
}

#[tokio::test]
async fn an_alert_awaiting_approval_is_not_published() {
    both(|app: App| async move {
        let app = with_feed(
            &app,
            Approval::TwoPerson {
                expires_after: TimeDelta::minutes(30),
            },
        );
        let mut ann = app
            .signed_in(
                "ann@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        let id = app
            .send_real(&mut ann, "Lockdown: stay where you are.", None)
            .await;
        let mut public = app.client();
        assert_eq!(
            public.get(&format!("/feeds/alerts/{id}.xml")).await.status,
            StatusCode::NOT_FOUND
        );
        let feed = json(&public.get("/feeds/alerts.json").await.body);
        assert_eq!(feed["alerts"].as_array().map(Vec::len), Some(0), "{feed}");
    })
    .await;
}

#[tokio::test]
async fn without_a_feed_section_there_are_no_feeds() {
    both(|app: App| async move {
        let mut public = app.client();
        for path in [
            "/feeds/alerts.atom",
            "/feeds/alerts.rss",
            "/feeds/alerts.json",
            "/feeds/alerts/1.xml",
        ] {
            assert_eq!(
                public.get(path).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    })
    .await;
}

/// Whether `xml` is well-formed XML, as `xmllint` reads it.
fn well_formed(xml: &str) -> bool {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("feed.xml");
    std::fs::write(&file, xml).expect("write the feed");
    std::process::Command::new("xmllint")
        .arg("--noout")
        .arg(&file)
        .status()
        .expect("xmllint runs")
        .success()
}
