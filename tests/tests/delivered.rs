//! Delivered means delivered: a patron's text written to a librarian is only `offered`
//! until her client confirms it (XEP-0184) or nothing bounced it within the grace. A daemon
//! that dies in between offers it again after its restart, with its original time stamp,
//! instead of having recorded as delivered a text nobody may have seen.

mod support;

use std::time::Duration;
use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::modem::Modem;
use support::prosody::ProsodySetup;
use support::scene::{
    body, delay_stamp, next_message, online, patron_jid, phone_that_vanishes, text_from, Scene, GW,
    PASSWORD, PATRON,
};
use support::xmpp::to_xml;

use textgate_modemsim::IncomingText;
use textgate_store::{InboundState, InboundText, Store};

/// The first text of the test's database once the daemon has handled it (no longer
/// `stored`); the store has no signal for this, so it is looked at every 50 ms for at most
/// 30 s.
async fn until_handled(store: &Store) -> InboundText {
    let look = async {
        loop {
            if let Some(text) = store.inbound(1).await.expect("the store answers") {
                if text.state != InboundState::Stored {
                    return text;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), look)
        .await
        .expect("the daemon did not handle the text within 30 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_no_client_confirmed_is_offered_again_after_a_restart() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    // A client that says nothing about what it received (or a phone whose session the
    // server holds for resumption): the gateway cannot know she saw the text.
    alice.answers_receipts = false;
    let patron = patron_jid(PATRON, GW);

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Is the atlas in?"))
        .unwrap();
    let first = text_from(&mut alice, &patron).await;
    assert_eq!(body(&first), "Is the atlas in?");
    assert!(
        first.get_child("request", "urn:xmpp:receipts").is_some(),
        "the gateway asks her client to confirm: {}",
        to_xml(&first)
    );
    scene.modem.wait_sim_empty().await;
    // The store says what the gateway knows: offered, with the body kept.
    let store = Store::open(&scene.db.url).await.expect("the store opens");
    let text = until_handled(&store).await;
    assert_eq!(
        (text.state, text.body.as_deref()),
        (InboundState::Offered, Some("Is the atlas in?"))
    );

    scene.daemon.kill();
    scene.daemon.restart();
    let again = text_from(&mut alice, &patron).await;
    assert_eq!(body(&again), "Is the atlas in?", "{}", to_xml(&again));
    assert!(
        delay_stamp(&again).is_some(),
        "offered again with its original time: {}",
        to_xml(&again)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_her_client_confirmed_is_delivered_and_not_offered_again() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "text A"))
        .unwrap();
    assert_eq!(body(&text_from(&mut alice, &patron).await), "text A");
    scene
        .daemon
        .expect_log(&[
            "text confirmed by the operator's client",
            "alice@library.test",
        ])
        .await;

    scene.daemon.kill();
    scene.daemon.restart();
    scene.daemon.expect_log(&["component connected"]).await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "text B"))
        .unwrap();
    let next = next_message(&mut alice).await;
    assert_eq!(body(&next), "text B", "{}", to_xml(&next));
}

/// The case ejabberd and phone clients showed: alice's phone (stream management on) drops
/// off without closing its stream; the server keeps its session for resumption, so the
/// gateway's text goes into it; she opens her desk client; when the phone's session times
/// out the server bounces the text. It must reach her desk, with its original time, not
/// wait in memory while the store says delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_bounced_by_a_phone_session_that_timed_out_reaches_her_desk() {
    let prosody = ProsodySetup::new()
        .component(GW, "smacks-secret")
        .stream_management(Duration::from_secs(3))
        .start()
        .await
        .expect("Prosody starts");
    prosody
        .register("alice", PASSWORD)
        .await
        .expect("registering alice");
    let db = Database::create().await;
    let modem = Modem::start().await;
    let section = GatewaySection::for_alice(
        prosody.component_addr(),
        "smacks-secret",
        modem.path.clone(),
    );
    let mut daemon = Daemon::start(&daemon::config(&db.url, &[section]));
    phone_that_vanishes(&prosody.c2s_addr(), &mut daemon).await;

    let patron = patron_jid(PATRON, GW);
    modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Are you open on Sunday?"))
        .unwrap();
    daemon.expect_log(&["text sent to an operator"]).await;
    let mut desk = online(&prosody, "alice", "desk").await;
    daemon
        .expect_log(&["operator presence", "desk", "Available"])
        .await;

    // The phone's session times out; the server bounces the text it held. Prosody may
    // also announce the phone's session gone before the bounce arrives, and the gateway
    // then offers the text again at once: either way it reaches her desk.
    let text = text_from(&mut desk, &patron).await;
    assert_eq!(body(&text), "Are you open on Sunday?", "{}", to_xml(&text));
    assert!(delay_stamp(&text).is_some(), "{}", to_xml(&text));
    // Her desk confirmed it: delivered now, to her.
    daemon
        .expect_log(&["text confirmed by the operator's client"])
        .await;
}
