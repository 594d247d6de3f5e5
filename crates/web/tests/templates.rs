//! Alert templates on the compose pages, on a real PostgreSQL and SQLite: the desk offers
//! the scenarios, a template's gaps are asked for and filled into its text, and a text
//! with a gap left is refused on the confirm page and by the service, whatever posts it.

mod support;

use axum::http::StatusCode;
use support::{both, App};
use textgate_alerts::{Role, Template};

const LOCKDOWN: &str = "LOCKDOWN at {place}: lock the doors, keep away from windows.";

fn with_templates(app: &App) -> App {
    app.with_settings(|s| {
        s.templates = vec![
            Template {
                name: "lockdown".into(),
                title: "Lockdown".into(),
                text: LOCKDOWN.into(),
            },
            Template {
                name: "test".into(),
                title: "Monthly test".into(),
                text: "This is a test of the library's alert system. No action needed.".into(),
            },
        ];
    })
}

#[tokio::test]
async fn a_template_is_chosen_filled_in_and_its_gaps_never_go_out() {
    both(|app: App| async move {
        let app = with_templates(&app);
        let mut chief = app
            .signed_in(
                "chief@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        let page = chief.get("/admin/alert").await;
        assert!(
            page.body.contains("id=\"template-lockdown\""),
            "{}",
            page.body
        );

        // Chosen: its text in the box, and a field for its gap.
        let page = chief.get("/admin/alert?template=lockdown").await;
        assert!(page.body.contains("id=\"fill_place\""), "{}", page.body);
        assert!(
            page.body.contains(">LOCKDOWN at {place}: lock"),
            "{}",
            page.body
        );
        // A template without gaps goes straight into the box.
        let page = chief.get("/admin/alert?template=test").await;
        assert!(!page.body.contains("id=\"fill-form\""), "{}", page.body);
        assert!(
            page.body.contains(">This is a test of the library"),
            "{}",
            page.body
        );

        // Filled in: the text with the place.
        let r = chief
            .post(
                "/admin/alert",
                &[("template", "lockdown"), ("fill_place", "Hall B")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body.contains(
                ">LOCKDOWN at Hall B: lock the doors, keep away from windows.</textarea>"
            ),
            "{}",
            r.body
        );
        // Left empty: asked again.
        let r = chief
            .post(
                "/admin/alert",
                &[("template", "lockdown"), ("fill_place", " ")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("Fill in {place} first."), "{}", r.body);

        // A gap left in the text: refused on the confirm page and on send.
        let r = chief
            .post("/admin/alert/confirm", &[("text", LOCKDOWN)])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(
            r.body.contains("Fill in {place} before sending"),
            "{}",
            r.body
        );
        let r = chief
            .post(
                "/admin/alert/send",
                &[("action", "send"), ("text", LOCKDOWN)],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(
            r.body.contains("Fill in {place} before sending"),
            "{}",
            r.body
        );
        assert_eq!(app.last_send("real").await, 0);
    })
    .await;
}

#[tokio::test]
async fn the_api_lists_the_templates_with_their_gaps_to_the_desks_only() {
    both(|app: App| async move {
        let app = with_templates(&app);
        let mut tech = app
            .signed_in("tech@example.org", &[Role::TechnicalAdministrator])
            .await;
        let r = tech.get("/api/v1/templates").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let list: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
        assert_eq!(list["templates"][0]["name"], "lockdown", "{list}");
        assert_eq!(list["templates"][0]["gaps"], serde_json::json!(["place"]));
        assert_eq!(list["templates"][1]["gaps"], serde_json::json!([]));

        let mut member = app.signed_in("m@example.org", &[Role::Member]).await;
        assert_eq!(
            member.get("/api/v1/templates").await.status,
            StatusCode::FORBIDDEN
        );
    })
    .await;
}
