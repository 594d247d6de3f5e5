//! Polls on a real PostgreSQL and SQLite: an alert that asks "Reply 1 = Safe, 2 = Need
//! help", members' answers by SMS (the latest counts), the tallies and the lists of who
//! needs help or has not answered on the progress page, the export for emergency
//! administrators only, and one reminder to those who have not answered, whose answers
//! count for the poll.

mod support;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use support::{both, App};
use textgate_alerts::Role;

const ANN: &str = "+12025550101";
const BOB: &str = "+12025550102";
const CAT: &str = "+12025550103";

#[tokio::test]
async fn a_poll_is_tallied_listed_exported_and_reminds_the_silent_once() {
    both(|app: App| async move {
        for (email, number) in [
            ("ann@example.org", ANN),
            ("bob@example.org", BOB),
            ("cat@example.org", CAT),
        ] {
            app.confirmed_member(email, number).await;
        }
        let mut chief = app
            .signed_in(
                "chief@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        let r = chief.get("/admin/alert").await;
        assert!(r.body.contains("id=\"poll\""), "{}", r.body);

        let text = "Shelter in place in the nearest room.";
        let form = [("text", text), ("poll", "yes"), ("resend_after", "30")];
        let r = chief.post("/admin/alert/confirm", &form).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body
                .contains("Shelter in place in the nearest room. Reply 1 = Safe, 2 = Need help."),
            "the instruction is added before confirming: {}",
            r.body
        );
        assert!(r.body.contains("id=\"poll-note\""), "{}", r.body);
        let mut send = vec![("action", "send")];
        send.extend(form);
        let r = chief.post("/admin/alert/send", &send).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let poll = app.last_send("real").await;
        let sent = app.outbox_once_enqueued(poll).await;
        assert_eq!(sent.len(), 3);
        assert!(
            sent.iter()
                .all(|(_, body)| body.ends_with("Reply 1 = Safe, 2 = Need help.")),
            "{sent:?}"
        );

        // Answers by text; the latest counts.
        let members = app.state.alerts.members();
        let answer = |number: &'static str, body: &'static str| async move {
            members
                .handle_poll_answer("main", number, body)
                .await
                .expect("handled")
        };
        assert_eq!(
            answer(ANN, "1").await.as_deref(),
            Some("Thank you. We recorded your answer: Safe.")
        );
        answer(BOB, "1").await;
        assert_eq!(
            answer(BOB, " 2. ").await.as_deref(),
            Some("Thank you. We recorded your answer: Need help.")
        );
        // An answer that is not one is asked again, and not recorded.
        let again = answer(ANN, "7").await.expect("answered");
        assert!(again.contains("1 = Safe, 2 = Need help"), "{again}");
        // Not a member, or not a number: for the librarians.
        assert_eq!(answer("+12025550199", "1").await, None);
        assert_eq!(answer(CAT, "12").await, None);

        let r = chief.get(&format!("/admin/campaigns/{poll}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let page = r.body;
        assert!(page.contains("<td class=\"tally-1\">1</td>"), "{page}");
        assert!(page.contains("<td class=\"tally-2\">1</td>"), "{page}");
        assert!(page.contains("<td class=\"tally-none\">1</td>"), "{page}");
        let attention = &page[page.find("id=\"poll-attention\"").expect("the list")..];
        let attention = &attention[..attention.find("</ul>").unwrap_or(attention.len())];
        assert!(
            attention.contains("bob@example.org") && attention.contains(BOB),
            "{attention}"
        );
        assert!(!attention.contains("ann@example.org"), "{attention}");
        let silent = &page[page.find("id=\"poll-silent\"").expect("the list")..];
        assert!(silent.contains("cat@example.org"), "{silent}");

        // The API has the tallies, without anyone's number.
        let r = chief
            .json(
                Method::GET,
                &format!("/api/v1/campaigns/{poll}"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
        assert_eq!(v["poll"]["choices"][1]["count"], 1, "{v}");
        assert_eq!(v["poll"]["unanswered"], 1, "{v}");
        assert!(!r.body.contains(BOB), "{}", r.body);

        // The export, for emergency administrators.
        let r = chief
            .get(&format!("/admin/campaigns/{poll}/poll.csv"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let lines: Vec<&str> = r.body.lines().collect();
        assert_eq!(lines[0], "email,number,answer,answered_at");
        assert_eq!(lines.len(), 4, "{}", r.body);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("bob@example.org,{BOB},2 = Need help,"))),
            "{}",
            r.body
        );
        assert!(
            lines.contains(&format!("cat@example.org,{CAT},,").as_str()),
            "{}",
            r.body
        );
        let mut tech = app
            .signed_in("tech@example.org", &[Role::TechnicalAdministrator])
            .await;
        assert_eq!(
            tech.get(&format!("/admin/campaigns/{poll}/poll.csv"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );

        // The reminder: not before its time, then once, to Cat only.
        let campaigns = app.state.alerts.campaigns();
        assert_eq!(campaigns.send_poll_reminders().await.expect("job"), 0);
        app.clock.advance(TimeDelta::minutes(31));
        assert_eq!(campaigns.send_poll_reminders().await.expect("job"), 1);
        assert_eq!(campaigns.send_poll_reminders().await.expect("job"), 0);
        let reminder = app.last_send("real").await;
        assert_ne!(reminder, poll);
        let to: BTreeSet<String> = app
            .outbox_once_enqueued(reminder)
            .await
            .into_iter()
            .map(|(to, body)| {
                assert!(body.starts_with("REMINDER: Shelter in place"), "{body}");
                to
            })
            .collect();
        assert_eq!(to, BTreeSet::from([CAT.to_owned()]));
        // Her answer to the reminder counts for the poll.
        answer(CAT, "1").await;
        let r = chief.get(&format!("/admin/campaigns/{reminder}")).await;
        assert!(
            r.body.contains("<td class=\"tally-1\">2</td>"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("<td class=\"tally-none\">0</td>"),
            "{}",
            r.body
        );
    })
    .await;
}
