//! A graceful stop while a multi-part reply is on the air: the daemon lets the part with
//! the modem finish, starts no further part, gives the reply back to the outbox and exits
//! on SIGTERM; after a restart it sends only the missing part, so every part reaches the
//! phone exactly once and the reports of the parts sent before the stop still count.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::{Connection, PgConnection};

use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::modem::{Modem, WAIT};
use support::prosody::Prosody;
use support::scene::{approve, online, operator, patron_jid, reply, GW, PASSWORD, PATRON};
use textgate_modemsim::SimConfig;

/// 400 GSM characters: three parts of at most 153.
fn three_parts() -> String {
    let sentence = "Your hold on the sailing atlas is ready at the front desk until Friday. ";
    sentence.repeat(6).chars().take(400).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_a_part_is_on_the_air_loses_nothing_and_sends_nothing_twice() {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    prosody
        .register("alice", PASSWORD)
        .await
        .expect("registering alice");
    let db = Database::create().await;
    // A radio round trip long enough to stop the daemon in the middle of one.
    let modem = Modem::start_with(SimConfig {
        send_latency: Duration::from_millis(1500),
        ..SimConfig::instant()
    })
    .await;
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
    let text = three_parts();
    reply(&mut alice, &patron, "r-1", &text, false).await;

    // The first part went out and the second is between the PDU and the network's answer.
    modem
        .sim
        .wait_until(WAIT, |m| m.sent().len() == 1 && m.sending())
        .await
        .unwrap_or_else(|e| panic!("the second part never went on the air: {e}"));
    let status = daemon.terminate().await;
    assert!(status.success(), "{status}\n{}", daemon.log());
    // The part on the air was allowed to finish and was recorded; the third never started.
    assert_eq!(
        sequences(&modem.sim.sent_parts()),
        [1, 2],
        "sent before the restart\n{}",
        daemon.log()
    );
    assert!(daemon.log().contains("given back"), "{}", daemon.log());

    daemon.restart();
    daemon.expect_log(&["component connected"]).await;
    // A later reply goes out after the first one is finished, so once it is on the SIM's
    // sent list nothing more of the first reply can follow.
    reply(&mut alice, &patron, "r-2", "See you Friday.", false).await;
    modem
        .sim
        .wait_until(WAIT, |m| {
            m.sent()
                .iter()
                .any(|p| p.text.as_deref() == Some("See you Friday."))
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the second reply was not sent ({:?}): {e}\n{}",
                modem.sim.sent_parts(),
                daemon.log()
            )
        });

    // Every part of the long reply went out exactly once, all under its one concatenation
    // reference (the restarted daemon sent only part 3, reusing it).
    let parts = modem.sim.sent_parts();
    let mut per_part: BTreeMap<(u16, u8), usize> = BTreeMap::new();
    for concatenation in parts.iter().filter_map(|p| p.concatenation) {
        *per_part
            .entry((concatenation.reference, concatenation.sequence))
            .or_default() += 1;
    }
    let counts: Vec<(u8, usize)> = per_part
        .iter()
        .map(|(&(_, sequence), &count)| (sequence, count))
        .collect();
    assert_eq!(
        counts,
        [(1, 1), (2, 1), (3, 1)],
        "{parts:?}\n{}",
        daemon.log()
    );
    assert_eq!(parts.len(), 4, "three parts and the short reply: {parts:?}");
    // The patron's phone shows the whole reply once, then the later one.
    let messages = modem.sim.sent_messages();
    let complete: Vec<&str> = messages
        .iter()
        .filter(|m| m.complete)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(complete, [text.as_str(), "See you Friday."], "{messages:?}");
    assert_eq!(messages.len(), 2, "{messages:?}");

    // The status reports of parts 1 and 2, sent before the restart, still match their
    // parts: with part 3's, the reply ends delivered.
    wait_for_state(&daemon, &db.url, "r-1", "delivered").await;
}

/// The concatenation sequence numbers of the parts sent, in order.
fn sequences(parts: &[textgate_modemsim::SentPart]) -> Vec<u8> {
    parts
        .iter()
        .filter_map(|p| p.concatenation.map(|c| c.sequence))
        .collect()
}

/// Waits until the reply with stanza id `xmpp_id` is in `state` in the daemon's database,
/// looking again after each line the daemon logs (it logs every status report it matches).
async fn wait_for_state(daemon: &Daemon, url: &str, xmpp_id: &str, state: &str) {
    let mut db = PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the daemon's database: {e}"));
    let mut lines = daemon.next_line();
    let mut last = None;
    let reached = tokio::time::timeout(WAIT, async {
        loop {
            last = sqlx::query_scalar::<_, String>("SELECT state FROM outbound WHERE xmpp_id = $1")
                .bind(xmpp_id)
                .fetch_optional(&mut db)
                .await
                .unwrap_or_else(|e| panic!("reading the reply's state: {e}"));
            if last.as_deref() == Some(state) {
                return;
            }
            if lines.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(
        reached.is_ok() && last.as_deref() == Some(state),
        "reply {xmpp_id} is {last:?}, not {state}\n{}",
        daemon.log()
    );
    let _ = db.close().await;
}
