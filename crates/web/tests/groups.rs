//! Optional groups on a real PostgreSQL and SQLite: members choose them on their page or by
//! texting JOIN and LEAVE, the alert desk sends to one group (the confirm page counts the
//! members of each), the deliveries reach only its members, an emergency alert still
//! reaches everyone, and a group's message is not published as a public alert.

mod support;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use support::{both, App};
use textgate_alert_service::AlertGroup;
use textgate_alerts::Role;

const ANN: &str = "+12025550101";
const BOB: &str = "+12025550102";
const CAT: &str = "+12025550103";

fn with_groups(app: &App) -> App {
    app.with_settings(|s| {
        s.groups = vec![
            AlertGroup {
                name: "closures".into(),
                title: "Library closures".into(),
            },
            AlertGroup {
                name: "weather".into(),
                title: "Severe weather".into(),
            },
        ];
    })
}

/// The recipients of campaign `id` once it is in the outbox.
async fn recipients(app: &App, id: i64) -> BTreeSet<String> {
    app.outbox_once_enqueued(id)
        .await
        .into_iter()
        .map(|(to, _)| to)
        .collect()
}

#[tokio::test]
async fn a_groups_message_reaches_only_those_who_joined_it() {
    both(|app: App| async move {
        let app = with_groups(&app);
        for (email, number) in [
            ("ann@example.org", ANN),
            ("bob@example.org", BOB),
            ("cat@example.org", CAT),
        ] {
            app.confirmed_member(email, number).await;
        }

        // Ann chooses closures on her page.
        let mut ann = app.client();
        ann.sign_in("ann@example.org", support::PASSWORD).await;
        let r = ann.get("/alerts").await;
        assert!(r.body.contains("id=\"group-closures\""), "{}", r.body);
        let r = ann
            .post(
                "/alerts/groups",
                &[("group", "closures"), ("group", "weather")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body
                .contains("emergency alerts and Library closures, Severe weather"),
            "{}",
            r.body
        );
        // A group that does not exist is refused.
        let r = ann.post("/alerts/groups", &[("group", "parking")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

        // Bob joins by text, Cat joins and leaves again; a question is not a command.
        let members = app.state.alerts.members();
        let joined = members
            .handle_group_sms("main", BOB, "JOIN Closures")
            .await
            .expect("handled")
            .expect("a group command");
        assert!(joined.contains("LEAVE CLOSURES"), "{joined}");
        members
            .handle_group_sms("main", CAT, "join closures")
            .await
            .expect("handled");
        members
            .handle_group_sms("main", CAT, "LEAVE closures.")
            .await
            .expect("handled");
        assert_eq!(
            members
                .handle_group_sms("main", CAT, "join the book club?")
                .await
                .expect("handled"),
            None
        );
        let stranger = members
            .handle_group_sms("main", "+12025550199", "JOIN closures")
            .await
            .expect("handled")
            .expect("answered");
        assert!(stranger.contains("not signed up"), "{stranger}");

        // The confirm page counts each group; the send reaches Ann and Bob only.
        let mut chief = app
            .signed_in(
                "chief@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        let r = chief.get("/admin/alert").await;
        assert!(
            r.body.contains("Library closures (2 members)"),
            "the compose page offers the group: {}",
            r.body
        );
        let text = "The library closes at 3pm today for a power cut.";
        let r = chief
            .post(
                "/admin/alert/confirm",
                &[("text", text), ("group", "closures")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("id=\"recipient-count\">2<"), "{}", r.body);
        assert!(r.body.contains("members of Library closures"), "{}", r.body);
        assert!(
            r.body.contains("<td>Severe weather</td><td>1</td>"),
            "{}",
            r.body
        );
        let r = chief
            .post(
                "/admin/alert/send",
                &[("action", "send"), ("text", text), ("group", "closures")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let closure = app.last_send("real").await;
        assert_eq!(
            recipients(&app, closure).await,
            BTreeSet::from([ANN.to_owned(), BOB.to_owned()])
        );
        // Not a public alert: no CAP document for it.
        let send = app
            .state
            .alerts
            .campaigns()
            .send(closure)
            .await
            .expect("read")
            .expect("the send");
        assert_eq!(send.audience_group.as_deref(), Some("closures"));

        // A forged group is refused, not sent to everyone.
        let r = chief
            .post(
                "/admin/alert/send",
                &[("action", "send"), ("text", text), ("group", "parking")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(app.last_send("real").await, closure);

        // An emergency alert reaches everyone, whatever they chose.
        let everyone = app
            .send_real(&mut chief, "Evacuate the building now.", None)
            .await;
        assert_eq!(
            recipients(&app, everyone).await,
            BTreeSet::from([ANN.to_owned(), BOB.to_owned(), CAT.to_owned()])
        );
    })
    .await;
}
