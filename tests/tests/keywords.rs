//! The alert keywords through the whole product: with `[alerts]` configured, a patron's
//! STOP or HELP is answered by SMS from the alert service and is not shown to the
//! librarians as a message (a STOP gives them a one-line notice); other texts still reach
//! them.

mod support;

use support::scene::{body, patron_jid, text_from, Scene, GW, PATRON};
use textgate_modemsim::IncomingText;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_help_are_answered_by_sms_and_not_shown_as_texts() {
    let mut scene = Scene::start_with_alerts().await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);

    for keyword in ["STOP", "help"] {
        scene
            .modem
            .sim
            .inject_text(&IncomingText::new(PATRON, keyword))
            .unwrap();
    }
    scene.modem.wait_sent_parts(2).await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Thanks. When do you open?"))
        .unwrap();

    // Alice hears of the STOP from the gateway, gets nothing for the HELP, then the
    // ordinary text from the patron.
    assert_eq!(
        body(&text_from(&mut alice, GW).await),
        format!("+1 555-123-4567: {}", textgate_alert_service::STOP_NOTICE)
    );
    assert_eq!(
        body(&text_from(&mut alice, &patron).await),
        "Thanks. When do you open?"
    );
    let replies: Vec<(String, String)> = scene
        .modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| (m.recipient, m.text))
        .collect();
    expect_test::expect![[r#"
        [
            (
                "+15551234567",
                "textgate alerts: you are unsubscribed and will receive no more messages. Reply START to resubscribe.",
            ),
            (
                "+15551234567",
                "textgate alerts: emergency text alerts. Help: the library. Msg&data rates may apply. Reply STOP to opt out.",
            ),
        ]
    "#]]
    .assert_debug_eq(&replies);
}
