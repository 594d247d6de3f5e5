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
use textgate_store::{DeliveryReceipt, NewOutbound, OutboundOrigin, Priority, SentPart, Store};

/// One librarian, one gateway whose network keeps status reports to itself (the test hands
/// each to the modem), and a reply of alice's with a receipt request that went out.
struct Desk {
    prosody: Prosody,
    db: Database,
    modem: Modem,
    daemon: Daemon,
    alice: support::xmpp::Librarian,
    smsc: String,
    /// The message reference of the reply's one part.
    reference: u8,
}

impl Desk {
    async fn with_a_sent_reply() -> Desk {
        let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
        prosody
            .register("alice", PASSWORD)
            .await
            .expect("registering alice");
        let db = Database::create().await;
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
        let reference = part.reference;
        Desk {
            prosody,
            db,
            modem,
            daemon,
            alice,
            smsc,
            reference,
        }
    }

    /// The network's status report for the reply reaches the modem: delivered.
    fn report_delivered(&self) {
        self.report_on(self.reference);
    }

    /// A status report (delivered) for the part sent with `reference`.
    fn report_on(&self, reference: u8) {
        let report = textgate_modemsim::pdu::address(PATRON)
            .and_then(|recipient| {
                let now = Utc::now().fixed_offset();
                textgate_modemsim::pdu::status_report(
                    &self.smsc, reference, &recipient, now, now, 0,
                )
            })
            .unwrap_or_else(|e| panic!("cannot build the status report: {e}"));
        self.modem
            .sim
            .inject_pdu(&hex(&report), IncomingKind::StatusReport)
            .unwrap_or_else(|e| panic!("the modem refused the status report: {e}"));
    }

    /// Waits for alice's receipt for r-1 and checks who it is from and to.
    async fn expect_receipt(&mut self, what: &str) {
        let patron = patron_jid(PATRON, GW);
        let receipt = self
            .alice
            .expect(what, |e| {
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_asked_for_before_a_crash_reaches_the_librarian_after_the_restart() {
    let mut desk = Desk::with_a_sent_reply().await;
    // A crash: nothing the daemon kept in memory survives.
    desk.daemon.kill();
    desk.daemon.restart();
    desk.daemon.expect_log(&["component connected"]).await;
    desk.report_delivered();
    desk.expect_receipt("the receipt for r-1 from the restarted daemon")
        .await;
}

/// The status report arrives while the XMPP server is down: the receipt is kept in the
/// store and reaches alice when she is back, not dropped with "receipt not sent".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_due_while_the_server_is_down_reaches_the_librarian_when_she_is_back() {
    let mut desk = Desk::with_a_sent_reply().await;
    desk.prosody.kill().await;
    desk.daemon.expect_log(&["component disconnected"]).await;
    desk.report_delivered();
    desk.daemon.expect_log(&["status report matched"]).await;

    desk.prosody.restart().await.expect("Prosody starts again");
    desk.alice = online(&desk.prosody, "alice", "desk").await;
    desk.expect_receipt("the kept receipt for r-1").await;
    desk.daemon
        .expect_log(&["kept until the component is back", "receipt"])
        .await;
    desk.daemon
        .expect_log(&["kept notice sent to the operator"])
        .await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A status report overtakes the record of its part, and the daemon is killed before the
/// record lets it match: the restarted daemon still matches it (it was kept in the store)
/// and alice gets her receipt, instead of the reply staying `sent` for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_overtook_its_part_still_matches_after_a_restart() {
    let mut desk = Desk::with_a_sent_reply().await;
    // The report for a part the store has no record of yet (reference 77).
    desk.report_on(77);
    desk.daemon
        .expect_log(&["status report for no known part yet"])
        .await;
    // Acknowledged: the modem no longer has it to hand over again.
    desk.modem.wait_sim_empty().await;
    desk.daemon.kill();

    // The record of that part committed just before the kill: a reply of alice's whose one
    // part went out with reference 77.
    let store = Store::open(&desk.db.url).await.expect("the store opens");
    let id = store
        .enqueue_outbound(&NewOutbound {
            gateway: "library".to_owned(),
            recipient: PATRON.to_owned(),
            origin: OutboundOrigin::Chat {
                sender_jid: "alice@library.test/desk".to_owned(),
                xmpp_id: "r-77".to_owned(),
                receipt: DeliveryReceipt::Requested,
            },
            body: "Your map is ready.".to_owned(),
            priority: Priority::CHAT,
            not_before: None,
        })
        .await
        .expect("enqueued")
        .id();
    let leased = store
        .lease_due(
            "library",
            "the-killed-daemon",
            5,
            chrono::Duration::seconds(30),
        )
        .await
        .expect("leased");
    let lease = &leased
        .iter()
        .find(|l| l.text.id == id)
        .expect("the reply is due")
        .lease;
    store
        .mark_sent(
            lease,
            &[SentPart {
                seq: 1,
                message_ref: "77".to_owned(),
            }],
        )
        .await
        .expect("the part is recorded");
    store.close().await;

    desk.daemon.restart();
    let patron = patron_jid(PATRON, GW);
    let receipt = desk
        .alice
        .expect("the receipt for r-77 after the restart", |e| {
            e.get_child("received", "urn:xmpp:receipts")
                .is_some_and(|r| r.attr("id") == Some("r-77"))
        })
        .await;
    assert_eq!(
        receipt.attr("from"),
        Some(patron.as_str()),
        "{}",
        to_xml(&receipt)
    );
}
