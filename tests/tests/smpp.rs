//! The daemon with an SMPP gateway, end to end: Prosody with alice at her desk, PostgreSQL,
//! and node-smpp's SMSC (`textgate_testkit::smsc`, written by nobody on the team) as the
//! operator's message centre. A patron's text arrives as a `deliver_sm` and reaches alice,
//! and the SMSC hears back only after the text was stored; alice's long reply goes out as
//! `submit_sm`s with user data headers; the SMSC's receipts become her XEP-0184 receipt.
//! Faults at the message centre (throttling, a refusal, the connection closed with a part
//! unanswered) reach alice as a delay, an error, or a reply sent once more, never as
//! silence.

mod support;

use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::prosody::Prosody;
use support::scene::{approve, body, online, operator, patron_jid, reply, text_from, GW, PASSWORD};
use textgate_testkit::smsc::Smsc;

const PATRON: &str = "+15551234567";

/// The gateway's TOML with an SMPP driver towards `smsc` instead of a modem.
fn smpp_config(db: &Database, prosody: &Prosody, smsc: &Smsc) -> String {
    let section = GatewaySection::for_alice(
        prosody.component_addr(),
        &prosody.secret(GW),
        "/dev/null".into(),
    );
    daemon::on_smsc(
        &daemon::config(&db.url, &[section]),
        smsc.port,
        "source_addr = \"12345\"\n",
    )
}

#[tokio::test]
async fn texts_in_and_replies_out_through_a_message_centre() {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    prosody
        .register("alice", PASSWORD)
        .await
        .expect("registering alice");
    let db = Database::create().await;
    let mut smsc = Smsc::start().await.expect("the SMSC starts");
    let mut daemon = Daemon::start(&smpp_config(&db, &prosody, &smsc));
    daemon.expect_log(&["bound to the SMSC"]).await;
    assert_eq!(smsc.next("bind").await["kind"], "transceiver");
    let mut alice = online(&prosody, "alice", "desk").await;
    approve(&mut alice, GW).await;
    daemon
        .expect_log(&["operator presence", &operator("alice"), "Available"])
        .await;

    // In: a GSM text from a phone.
    smsc.command(serde_json::json!({
        "cmd": "deliver", "tag": 1, "source": PATRON.trim_start_matches('+'),
        "data_coding": 0, "hex": hex("Is the library open on Sunday?")
    }))
    .await;
    let patron = patron_jid(PATRON, GW);
    let text = text_from(&mut alice, &patron).await;
    assert_eq!(body(&text), "Is the library open on Sunday?");
    let answered = smsc.next("deliver_sm_resp").await;
    assert_eq!(answered["command_status"], 0, "{answered}");

    // Out: a reply of two parts, with a receipt asked for.
    let long = "Yes, from noon to five. ".repeat(8);
    reply(&mut alice, &patron, "r-1", long.trim_end(), true).await;
    let first = smsc.next("submit_sm").await;
    let second = smsc.next("submit_sm").await;
    for part in [&first, &second] {
        assert_eq!(part["destination_addr"], "15551234567", "{part}");
        assert_eq!(part["esm_class"], 0x40, "{part}");
        assert_eq!(part["data_coding"], 0, "{part}");
        assert_eq!(part["registered_delivery"], 1, "{part}");
    }
    let joined = format!(
        "{}{}",
        first["message"].as_str().unwrap_or_default(),
        second["message"].as_str().unwrap_or_default()
    );
    assert_eq!(joined, long.trim_end());

    // Both parts' receipts arrive; alice gets one receipt for her message.
    let receipt = receipt_for(&mut alice, "r-1").await;
    assert_eq!(receipt.attr("from"), Some(patron.as_str()));
    // Part 1's receipt may have been answered before part 2 was submitted.
    smsc.until_count("receipt_resp", 2).await;
    daemon.expect_log(&["status report matched"]).await;
}

/// alice's receipt for her reply `id`.
async fn receipt_for(
    alice: &mut support::xmpp::Librarian,
    id: &'static str,
) -> support::xmpp::Element {
    alice
        .expect("a delivery receipt", move |e| {
            e.get_child("received", "urn:xmpp:receipts")
                .is_some_and(|r| r.attr("id") == Some(id))
        })
        .await
}

#[tokio::test]
async fn faults_at_the_message_centre_reach_the_librarian() {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    prosody
        .register("alice", PASSWORD)
        .await
        .expect("registering alice");
    let db = Database::create().await;
    let mut smsc = Smsc::start().await.expect("the SMSC starts");
    let config = smpp_config(&db, &prosody, &smsc).replace(
        "max_backoff = \"1s\"\n",
        "max_backoff = \"1s\"\nreport_wait = \"2s\"\n",
    );
    assert!(config.contains("report_wait"), "{config}");
    let mut daemon = Daemon::start(&config);
    daemon.expect_log(&["bound to the SMSC"]).await;
    let mut alice = online(&prosody, "alice", "desk").await;
    approve(&mut alice, GW).await;
    daemon
        .expect_log(&["operator presence", &operator("alice"), "Available"])
        .await;
    let patron = patron_jid(PATRON, GW);

    // Throttled twice: the same part is submitted again after the pause, and goes.
    smsc.command(serde_json::json!({ "cmd": "throttle", "count": 2 }))
        .await;
    reply(&mut alice, &patron, "r-1", "Your hold is ready.", true).await;
    receipt_for(&mut alice, "r-1").await;
    smsc.settle().await;
    assert_eq!(smsc.count("submit_sm"), 3, "two throttled, one taken");

    // Refused for good (invalid destination address): alice gets an error on her reply.
    smsc.command(serde_json::json!({ "cmd": "refuse", "status": 0x0B, "count": 1 }))
        .await;
    reply(&mut alice, &patron, "r-2", "This one cannot go.", true).await;
    let error = alice
        .expect("an error for r-2", |e| {
            e.name() == "message" && e.attr("id") == Some("r-2") && e.attr("type") == Some("error")
        })
        .await;
    assert_eq!(error.attr("from"), Some(patron.as_str()));
    smsc.settle().await;
    assert_eq!(smsc.count("submit_sm"), 4, "a final refusal is not retried");

    // The connection is closed with the part unanswered: its outcome is unknown, no
    // receipt shows it went, so it is submitted again after report_wait, and arrives.
    smsc.command(serde_json::json!({ "cmd": "hold", "on": true }))
        .await;
    reply(&mut alice, &patron, "r-3", "Closing at five today.", true).await;
    smsc.until_count("submit_sm", 5).await;
    // The held part is dropped with the connection; the SMSC answers again from now on.
    smsc.command(serde_json::json!({ "cmd": "close" })).await;
    smsc.command(serde_json::json!({ "cmd": "hold", "on": false }))
        .await;
    daemon
        .expect_log(&["sending again a part whose answer was lost"])
        .await;
    receipt_for(&mut alice, "r-3").await;
    smsc.settle().await;
    assert_eq!(smsc.count("submit_sm"), 6, "the unanswered part once more");
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}
