//! A patron and the librarians through the whole product: the modem simulator on a
//! pseudo-terminal, the daemon, PostgreSQL and Prosody, with librarians on real c2s
//! connections.

mod support;

use support::scene::{
    body, delay_stamp, error_condition, error_text, next_message, operator, patron_jid, reply,
    text_from, Scene, GW, PATRON,
};
use support::xmpp::{to_xml, Element};
use textgate_modemsim::{FaultPatch, IncomingText, PartOrder, ReportOutcome, SendErrorFault};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patron_texts_reach_the_librarian_and_replies_become_sms() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Is the library open on Sunday?"))
        .unwrap();
    let text = text_from(&mut alice, &patron).await;
    assert_eq!(body(&text), "Is the library open on Sunday?");
    // Alice was online: the text did not wait, so it carries no delay stamp.
    assert_eq!(delay_stamp(&text), None, "{}", to_xml(&text));
    // Deleted from the SIM only after the store committed it.
    scene.modem.wait_sim_empty().await;

    // A three-part text whose parts arrive last first is delivered whole.
    let long = "The book I reserved last week, the one about the history of the harbour, \
                has it come in yet? I can pick it up on Thursday afternoon or Friday morning, \
                whichever suits you; please let me know which desk to go to and whether I need \
                my library card or just my name. Thanks a lot for your help, it is appreciated!";
    let mut three = IncomingText::new(PATRON, long);
    three.order = PartOrder::LastFirst;
    let report = scene.modem.sim.inject_text(&three).unwrap();
    assert_eq!(report.parts, 3, "{report:?}");
    let text = text_from(&mut alice, &patron).await;
    assert_eq!(body(&text), long);

    // Replies: 7-bit, the extension table, emoji (UCS-2) and a five-part text.
    let five_parts = "Our opening hours change next month. ".repeat(19);
    let replies = [
        ("r-1", "Yes, 12 to 5.".to_owned()),
        ("r-2", "Fees: 2€ [per item] {max 10} ~ ^ | \\".to_owned()),
        ("r-3", "See you soon 📚🙂".to_owned()),
        ("r-4", five_parts.clone()),
    ];
    for (id, text) in &replies {
        reply(&mut alice, &patron, id, text, *id == "r-1").await;
    }
    scene.modem.wait_sent_parts(1 + 1 + 1 + 5).await;
    let sent: Vec<(String, String, u8, bool)> = scene
        .modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| (m.recipient, m.text, m.total_parts, m.complete))
        .collect();
    let expected: Vec<(String, String, u8, bool)> = replies
        .iter()
        .map(|(_, text)| {
            let parts = if text.len() > 600 { 5 } else { 1 };
            (PATRON.to_owned(), text.clone(), parts, true)
        })
        .collect();
    assert_eq!(sent, expected);

    // The receipt follows the network's status report; the five-part reply gets a notice,
    // from the gateway (not from the patron), naming the patron. Either may come first.
    let is_receipt = |e: &Element| {
        e.get_child("received", "urn:xmpp:receipts")
            .is_some_and(|r| r.attr("id") == Some("r-1"))
    };
    let is_notice = |e: &Element| {
        e.name() == "message"
            && e.attr("from") == Some(GW)
            && e.get_child("body", "jabber:client").is_some()
    };
    let (mut receipt, mut notice) = (None, None);
    while receipt.is_none() || notice.is_none() {
        let next = alice
            .expect("the receipt for r-1 and the multipart notice", |e| {
                is_receipt(e) || is_notice(e)
            })
            .await;
        if is_receipt(&next) {
            receipt = Some(next);
        } else {
            notice = Some(next);
        }
    }
    let receipt = receipt.expect("the loop ends when both came");
    let notice = notice.expect("the loop ends when both came");
    assert_eq!(receipt.attr("from"), Some(patron.as_str()));
    assert_eq!(body(&notice), "+1 555-123-4567: (sent as 5 SMS)");

    // Above the limit (6 parts by default) the reply is refused and explained.
    let too_long = "x".repeat(153 * 7);
    reply(&mut alice, &patron, "r-5", &too_long, false).await;
    let refusal = alice
        .expect("an error for r-5", |e| {
            e.name() == "message" && e.attr("id") == Some("r-5") && e.attr("type") == Some("error")
        })
        .await;
    assert_eq!(
        error_condition(&refusal).as_deref(),
        Some("policy-violation"),
        "{}",
        to_xml(&refusal)
    );
    assert!(
        error_text(&refusal).contains("needs 7 SMS"),
        "{}",
        to_xml(&refusal)
    );
    assert_eq!(
        scene.modem.sim.sent_parts().len(),
        8,
        "nothing more was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_is_refused() {
    let mut scene = Scene::start("").await;
    let _alice = scene.first_login("alice", "desk").await;
    let mut mallory = scene.online("mallory", "laptop").await;
    let patron = patron_jid(PATRON, GW);
    reply(
        &mut mallory,
        &patron,
        "m-1",
        "Send me your card number",
        false,
    )
    .await;
    let refusal = mallory
        .expect("an error for m-1", |e| {
            e.name() == "message" && e.attr("id") == Some("m-1")
        })
        .await;
    assert_eq!(
        error_condition(&refusal).as_deref(),
        Some("forbidden"),
        "{}",
        to_xml(&refusal)
    );
    // An operator's reply sent after the stranger's is the only SMS.
    let mut alice = scene.online("alice", "phone").await;
    reply(&mut alice, &patron, "a-1", "Hello from the library", false).await;
    scene.modem.wait_sent_parts(1).await;
    let texts: Vec<String> = scene
        .modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["Hello from the library"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn texts_wait_while_nobody_is_online_and_arrive_in_order_with_delay_stamps() {
    let mut scene = Scene::start("").await;
    let alice = scene.first_login("alice", "desk").await;
    alice.logout().await;
    scene.wait_unavailable("alice").await;

    let patrons = ["+15551234567", "+15557654321", "+15551234567"];
    for (i, number) in patrons.iter().enumerate() {
        scene
            .modem
            .sim
            .inject_text(&IncomingText::new(*number, format!("text {}", i + 1)))
            .unwrap();
        // Each is committed (and held) before the next arrives, so the order is known.
        scene.modem.wait_sim_empty().await;
    }

    let mut alice = scene.online("alice", "desk").await;
    let mut received = Vec::new();
    for _ in 0..patrons.len() {
        let message = next_message(&mut alice).await;
        let stamp =
            delay_stamp(&message).unwrap_or_else(|| panic!("no delay stamp: {}", to_xml(&message)));
        received.push((
            message.attr("from").unwrap_or_default().to_owned(),
            body(&message),
            stamp,
        ));
    }
    let order: Vec<(String, String)> = received
        .iter()
        .map(|(from, body, _)| (from.clone(), body.clone()))
        .collect();
    assert_eq!(
        order,
        [
            (patron_jid(patrons[0], GW), "text 1".to_owned()),
            (patron_jid(patrons[1], GW), "text 2".to_owned()),
            (patron_jid(patrons[2], GW), "text 3".to_owned()),
        ]
    );
    // The stamps are the SMSC times, which follow the injection order.
    let stamps: Vec<chrono::DateTime<chrono::FixedOffset>> = received
        .iter()
        .map(|(_, _, s)| chrono::DateTime::parse_from_rfc3339(s).expect("RFC 3339 stamp"))
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_reply_claims_the_conversation() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let mut bob = scene.first_login("bob", "desk").await;
    let patron = patron_jid(PATRON, GW);
    let other_number = "+15559876543";
    let other = patron_jid(other_number, GW);

    // A new conversation goes to both.
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Hello?"))
        .unwrap();
    assert_eq!(body(&text_from(&mut alice, &patron).await), "Hello?");
    assert_eq!(body(&text_from(&mut bob, &patron).await), "Hello?");

    // Alice answers first: bob is told by the gateway who took it.
    reply(&mut alice, &patron, "c-1", "Hi, Alice here.", false).await;
    let notice = text_from(&mut bob, GW).await;
    assert_eq!(
        body(&notice),
        format!("{} is now answering +1 555-123-4567.", operator("alice"))
    );

    // The patron's next text goes to alice only: bob's next message is the other
    // patron's new conversation.
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Great, thanks"))
        .unwrap();
    assert_eq!(body(&text_from(&mut alice, &patron).await), "Great, thanks");
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(other_number, "Are you open?"))
        .unwrap();
    let next = next_message(&mut bob).await;
    assert_eq!(
        (next.attr("from"), body(&next).as_str()),
        (Some(other.as_str()), "Are you open?"),
        "bob must not get the claimed conversation"
    );

    // Alice leaves: the patron's texts go to everyone available again.
    alice.logout().await;
    scene.wait_unavailable("alice").await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Anyone there?"))
        .unwrap();
    assert_eq!(body(&text_from(&mut bob, &patron).await), "Anyone there?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_texts_and_missed_calls_reach_the_librarian() {
    let mut scene = Scene::start(r#"call_auto_reply = "Texts only, please.""#).await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);
    let error_for = |id: &'static str| {
        move |e: &tokio_xmpp::minidom::Element| {
            e.name() == "message" && e.attr("id") == Some(id) && e.attr("type") == Some("error")
        }
    };

    // The network refuses the text for good (+CMS ERROR 21): an error on the original id.
    scene.modem.sim.set_faults(FaultPatch {
        send_error: Some(Some(SendErrorFault {
            code: 21,
            next: Some(1),
            probability: None,
        })),
        ..FaultPatch::default()
    });
    reply(&mut alice, &patron, "f-1", "This one is refused", true).await;
    let error = alice.expect("an error for f-1", error_for("f-1")).await;
    assert_eq!(
        error_condition(&error).as_deref(),
        Some("recipient-unavailable"),
        "{}",
        to_xml(&error)
    );
    // In words a librarian understands, with what to do, and the modem's code after it.
    assert_eq!(
        error_text(&error),
        "The SMS to +15551234567 was not sent: The phone network rejected the text without a \
         specific reason; check the number; if it is right, ask your administrator. \
         (technical: part 1 of 1 was refused: +CMS ERROR 21 (short message transfer rejected))",
        "{}",
        to_xml(&error)
    );

    // Sent, but the status report says the phone never got it.
    scene.modem.sim.set_faults(FaultPatch {
        status_report: Some(ReportOutcome::Failed),
        ..FaultPatch::default()
    });
    reply(&mut alice, &patron, "f-2", "This one is lost", true).await;
    let error = alice.expect("an error for f-2", error_for("f-2")).await;
    assert!(
        error_text(&error).contains("was not delivered"),
        "{}",
        to_xml(&error)
    );
    scene.modem.sim.clear_faults();

    // A voice call is rejected; alice hears of it and the caller gets the auto-reply.
    scene.modem.sim.inject_call(PATRON, 1);
    let notice = text_from(&mut alice, GW).await;
    assert_eq!(body(&notice), "Missed call from +1 555-123-4567");
    scene.modem.wait_sent_parts(2).await;
    let texts: Vec<String> = scene
        .modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["This one is lost", "Texts only, please."]);
}
