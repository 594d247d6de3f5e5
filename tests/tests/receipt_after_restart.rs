//! A librarian asks for a delivery receipt (XEP-0184) on a reply; the reply goes out, and
//! the daemon is killed before the network's status report arrives. The daemon started
//! again matches the report and sends the receipt, from the patron's JID and on the
//! reply's id, exactly as the first one would have: whether a receipt was asked for is
//! kept with the reply in the store, not in the memory of the daemon that queued it.

mod support;

use std::time::Duration;

use chrono::Utc;
use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::modem::Modem;
use support::prosody::Prosody;
use support::scene::{approve, online, operator, patron_jid, reply, GW, PASSWORD, PATRON};
use support::xmpp::to_xml;
use textgate_modemsim::{IncomingKind, SimConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_asked_for_before_a_crash_reaches_the_librarian_after_the_restart() {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    prosody
        .register("alice", PASSWORD)
        .await
        .expect("registering alice");
    let db = Database::create().await;
    // The network keeps the status report to itself for the whole test: the test hands
    // it to the modem itself once the daemon has been restarted.
    let config = SimConfig {
        status_report_delay: Duration::from_secs(24 * 3600),
        ..SimConfig::instant()
    };
    let smsc = config.smsc.clone();
    let modem = Modem::start_with(config).await;
    let section = GatewaySection {
        name: "library".into(),
        domain: GW.into(),
        secret: prosody.secret(GW),
        server: prosody.component_addr(),
        operators: vec![operator("alice")],
        device: modem.path.clone(),
        extra: String::new(),
        driver_extra: String::new(),
        max_attempts: 5,
    };
    let mut daemon = Daemon::start(&daemon::config(&db.url, &[section]));
    let mut alice = online(&prosody, "alice", "desk").await;
    approve(&mut alice, GW).await;
    daemon
        .expect_log(&["operator presence", &operator("alice"), "Available"])
        .await;

    let patron = patron_jid(PATRON, GW);
    reply(&mut alice, &patron, "r-1", "Your atlas is ready.", true).await;
    daemon.expect_log(&["reply sent"]).await;
    let sent = modem.sim.sent_parts();
    let [part] = sent.as_slice() else {
        panic!("one part expected: {sent:?}\n{}", daemon.log());
    };
    assert!(part.status_report_requested, "{part:?}");

    // A crash: nothing the daemon kept in memory survives.
    daemon.kill();
    daemon.restart();
    daemon.expect_log(&["component connected"]).await;

    let report = textgate_modemsim::pdu::address(PATRON)
        .and_then(|recipient| {
            let now = Utc::now().fixed_offset();
            textgate_modemsim::pdu::status_report(&smsc, part.reference, &recipient, now, now, 0)
        })
        .unwrap_or_else(|e| panic!("cannot build the status report: {e}"));
    modem
        .sim
        .inject_pdu(&hex(&report), IncomingKind::StatusReport)
        .unwrap_or_else(|e| panic!("the modem refused the status report: {e}"));

    let receipt = alice
        .expect("the receipt for r-1 from the restarted daemon", |e| {
            e.get_child("received", "urn:xmpp:receipts")
                .is_some_and(|r| r.attr("id") == Some("r-1"))
        })
        .await;
    assert_eq!(
        (receipt.attr("from"), receipt.attr("to")),
        (Some(patron.as_str()), Some("alice@library.test/desk")),
        "{}",
        to_xml(&receipt)
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
