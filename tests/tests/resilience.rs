//! What must survive trouble: the daemon killed mid-conversation, Prosody restarted, a hung
//! modem, and two gateways in one daemon where one modem fails.

mod support;

use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::modem::Modem;
use support::prosody::Prosody;
use support::scene::{
    approve, body, next_message, online, operator, patron_jid, reply, text_from, Scene, GW,
    PASSWORD, PATRON,
};
use support::xmpp::to_xml;
use textgate_modemsim::{FaultPatch, IncomingKind, IncomingText};

/// A text of two parts, the same on both injections.
const TWO_PARTS: &str = "I returned three books through the night slot on Saturday evening, \
    but my account still shows them as overdue. Could you check that they were scanned in? \
    The titles were about sailing.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_daemon_loses_nothing_and_doubles_nothing() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "text A"))
        .unwrap();
    assert_eq!(body(&text_from(&mut alice, &patron).await), "text A");
    // Her client confirmed it: delivered, so the restart below does not offer it again.
    scene
        .daemon
        .expect_log(&["text confirmed by the operator's client"])
        .await;

    // Part 1 of 2 arrives and is stored as a pending part; then the daemon dies.
    let mut first = IncomingText::new(PATRON, TWO_PARTS);
    first.reference = Some(200);
    first.drop_parts = vec![2];
    scene.modem.sim.inject_text(&first).unwrap();
    scene.modem.wait_sim_empty().await;
    scene.daemon.kill();

    // While it is down, a text and the missing part wait on the SIM.
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "text B"))
        .unwrap();
    let mut second = IncomingText::new(PATRON, TWO_PARTS);
    second.reference = Some(200);
    second.drop_parts = vec![1];
    scene.modem.sim.inject_text(&second).unwrap();

    scene.daemon.restart();
    let mut bodies = vec![
        body(&text_from(&mut alice, &patron).await),
        body(&text_from(&mut alice, &patron).await),
    ];
    bodies.sort();
    assert_eq!(bodies, [TWO_PARTS, "text B"]);
    scene.modem.wait_sim_empty().await;

    // Nothing arrives twice: the next message alice sees is the next text.
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "text C"))
        .unwrap();
    let next = next_message(&mut alice).await;
    assert_eq!(body(&next), "text C", "{}", to_xml(&next));

    // A graceful stop ends with success.
    let status = scene.daemon.terminate().await;
    assert!(status.success(), "{status}");
}

/// The patron's next long text, reusing the reference of [`TWO_PARTS`].
const NEXT_TWO_PARTS: &str = "Thank you for checking. One more question while I have you: \
    can I renew the sailing books for another three weeks, or has someone placed a hold on \
    any of them since Saturday?";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_read_again_after_its_text_was_stored_is_not_joined_to_a_later_text() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);

    let mut first = IncomingText::new(PATRON, TWO_PARTS);
    first.reference = Some(77);
    let injected = scene.modem.sim.inject_text(&first).unwrap();
    assert_eq!(body(&text_from(&mut alice, &patron).await), TWO_PARTS);
    scene.modem.wait_sim_empty().await;

    // Part 2 of the stored text is on the SIM again, byte for byte: what a daemon killed
    // after the commit but before deleting the part finds when it restarts.
    scene
        .modem
        .sim
        .inject_pdu(&injected.pdus[1], IncomingKind::Deliver)
        .unwrap();
    scene.modem.wait_sim_empty().await;

    // The patron's next long text reuses the reference: it arrives whole, not joined to
    // the stale part.
    let mut next = IncomingText::new(PATRON, NEXT_TWO_PARTS);
    next.reference = Some(77);
    scene.modem.sim.inject_text(&next).unwrap();
    let message = next_message(&mut alice).await;
    assert_eq!(body(&message), NEXT_TWO_PARTS, "{}", to_xml(&message));
    scene
        .daemon
        .expect_log(&["part of a text already stored, read again; deleted"])
        .await;
}

/// A part stored 20 minutes ago by an earlier run (its sibling never came): the restarted
/// daemon delivers what it has at once, marked, rather than waiting another full timeout
/// (10 minutes) from the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_part_keeps_its_own_clock_across_a_restart() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);

    let received_at = chrono::Utc::now() - chrono::Duration::minutes(20);
    let pdus = textgate_modemsim::pdu::deliver_parts(&textgate_modemsim::pdu::DeliverRequest {
        sender: PATRON,
        text: TWO_PARTS,
        smsc: "+15550000000",
        timestamp: received_at.fixed_offset(),
        reference: 90,
        reference_bits: textgate_modemsim::pdu::ReferenceBits::Bits8,
    })
    .expect("the simulator builds the parts");
    let store = textgate_store::Store::open(&scene.db.url)
        .await
        .expect("the store opens");
    store
        .store_pending_part(&textgate_store::PendingPart {
            gateway: "library".to_owned(),
            sender: PATRON.to_owned(),
            concatenation: textgate_store::Concatenation {
                reference: 90,
                reference_bits: 8,
                total: 2,
            },
            seq: 1,
            pdu_hex: pdus[0].iter().map(|b| format!("{b:02X}")).collect(),
            received_at,
        })
        .await
        .expect("part 1 is stored");

    scene.daemon.restart();
    let text = text_from(&mut alice, &patron).await;
    let body = body(&text);
    assert!(body.ends_with("[part 2 of 2 missing]"), "{}", to_xml(&text));
}

/// The store refuses the commit of a text whose parts it already holds: the text is
/// committed as soon as the store takes it again, while the daemon runs, not at the next
/// start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reassembled_text_whose_commit_failed_is_committed_once_the_store_is_back() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);

    let database = sqlx::PgPool::connect(&scene.db.url)
        .await
        .expect("the test's database");
    for statement in [
        "CREATE FUNCTION refuse_inbound() RETURNS trigger AS $$ \
         BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_inbound BEFORE INSERT ON inbound \
         FOR EACH ROW EXECUTE FUNCTION refuse_inbound()",
    ] {
        sqlx::query(statement)
            .execute(&database)
            .await
            .expect("the trigger is set");
    }
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, TWO_PARTS))
        .unwrap();
    scene
        .daemon
        .expect_log(&["could not store a received text"])
        .await;
    // Both parts are safe in the store, so the SIM is emptied.
    scene.modem.wait_sim_empty().await;

    sqlx::query("DROP TRIGGER refuse_inbound ON inbound")
        .execute(&database)
        .await
        .expect("the trigger is dropped");
    let text = text_from(&mut alice, &patron).await;
    assert_eq!(body(&text), TWO_PARTS, "{}", to_xml(&text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_reconnects_after_prosody_restarts() {
    let mut scene = Scene::start("").await;
    scene.daemon.expect_log(&["component connected"]).await;
    let alice = scene.first_login("alice", "desk").await;
    drop(alice);

    scene.prosody.restart().await.expect("Prosody restarts");
    scene.daemon.expect_log(&["component disconnected"]).await;
    scene.daemon.expect_log(&["component connected"]).await;

    let mut alice = scene.online("alice", "desk").await;
    scene.wait_available("alice").await;
    let patron = patron_jid(PATRON, GW);
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "after the restart"))
        .unwrap();
    assert_eq!(
        body(&text_from(&mut alice, &patron).await),
        "after the restart"
    );
    reply(&mut alice, &patron, "p-1", "Got it.", false).await;
    scene.modem.wait_sent_parts(1).await;
    assert_eq!(scene.modem.sim.sent_messages()[0].text, "Got it.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_waits_out_a_hung_modem() {
    let mut scene = Scene::start_with("", r#"send_timeout = "2s""#, 20).await;
    scene.daemon.expect_log(&["modem", "ready"]).await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);

    scene.modem.sim.set_faults(FaultPatch {
        hang: Some(true),
        ..FaultPatch::default()
    });
    reply(
        &mut alice,
        &patron,
        "h-1",
        "Sent through a hung modem",
        false,
    )
    .await;
    scene
        .daemon
        .expect_log(&["sending failed; will retry"])
        .await;
    scene.modem.sim.clear_faults();

    scene.modem.wait_sent_parts(1).await;
    let texts: Vec<String> = scene
        .modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["Sent through a hung modem"]);

    // Texts come in again after the recovery.
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Did you get my text?"))
        .unwrap();
    assert_eq!(
        body(&text_from(&mut alice, &patron).await),
        "Did you get my text?"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_run_side_by_side_and_one_failing_modem_stops_only_its_own() {
    const GW2: &str = "sms.branch.test";
    let prosody = Prosody::start(&[GW, GW2]).await.expect("Prosody starts");
    prosody
        .register("alice", PASSWORD)
        .await
        .expect("registering alice");
    let db = Database::create().await;
    let main_modem = Modem::start().await;
    let branch_modem = Modem::start().await;
    let section = |name: &str, domain: &str, modem: &Modem| GatewaySection {
        name: name.into(),
        domain: domain.into(),
        secret: prosody.secret(domain),
        server: prosody.component_addr(),
        operators: vec![operator("alice")],
        device: modem.path.clone(),
        extra: String::new(),
        driver_extra: r#"send_timeout = "2s""#.into(),
        max_attempts: 3,
    };
    let mut daemon = Daemon::start(&daemon::config(
        &db.url,
        &[
            section("main", GW, &main_modem),
            section("branch", GW2, &branch_modem),
        ],
    ));
    let mut alice = online(&prosody, "alice", "desk").await;
    approve(&mut alice, GW).await;
    approve(&mut alice, GW2).await;
    daemon
        .expect_log(&["operator presence", "\"gateway\":\"main\"", "Available"])
        .await;
    daemon
        .expect_log(&["operator presence", "\"gateway\":\"branch\"", "Available"])
        .await;

    let at_main = patron_jid(PATRON, GW);
    let at_branch = patron_jid(PATRON, GW2);
    main_modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "to the main library"))
        .unwrap();
    assert_eq!(
        body(&text_from(&mut alice, &at_main).await),
        "to the main library"
    );
    branch_modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "to the branch"))
        .unwrap();
    assert_eq!(
        body(&text_from(&mut alice, &at_branch).await),
        "to the branch"
    );

    // The main modem hangs; the branch goes on receiving and sending.
    main_modem.sim.set_faults(FaultPatch {
        hang: Some(true),
        ..FaultPatch::default()
    });
    reply(&mut alice, &at_main, "m-1", "via main", false).await;
    // The main driver finds its modem unresponsive: on the reply's AT+CMGS (send_timeout,
    // 2 s) or, when another command (a storage check, AT+CPMS?) went out first, on that
    // command (20 s), and the reply waits in the driver's queue until it is refused.
    // Either way the main gateway's modem is down, which the branch must not notice.
    daemon
        .expect_log(&["modem health", "\"modem\":\"main\"", "unresponsive"])
        .await;
    branch_modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "still there?"))
        .unwrap();
    assert_eq!(
        body(&text_from(&mut alice, &at_branch).await),
        "still there?"
    );
    reply(&mut alice, &at_branch, "b-1", "Yes, via the branch", false).await;
    branch_modem.wait_sent_parts(1).await;
    let texts: Vec<String> = branch_modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["Yes, via the branch"]);
    assert!(main_modem.sim.sent_messages().is_empty());
}
