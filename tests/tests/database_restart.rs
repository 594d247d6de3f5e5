//! The database restarted under a running daemon (issue 5): texts that arrive while
//! PostgreSQL is down stay on the SIM (nothing is deleted that the store did not commit)
//! and reach the librarian exactly once, in order, once it is back; a reply sent
//! meanwhile is refused with an error, so no librarian believes it went out.

mod support;

#[path = "support/private_postgres.rs"]
mod private_postgres;

use private_postgres::PrivatePostgres;
use support::daemon::{self, Daemon, GatewaySection};
use support::modem::Modem;
use support::prosody::Prosody;
use support::scene::{
    approve, body, error_text, next_message, online, operator, patron_jid, reply, text_from, GW,
    PASSWORD, PATRON,
};
use support::xmpp::to_xml;
use textgate_modemsim::IncomingText;

const DURING: [&str; 3] = [
    "first while the database is down",
    "second while the database is down",
    "third while the database is down",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn texts_survive_a_database_restart_exactly_once_and_a_reply_is_refused_not_lost() {
    let postgres = PrivatePostgres::start();
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    prosody
        .register("alice", PASSWORD)
        .await
        .expect("registering alice");
    let modem = Modem::start().await;
    let section = GatewaySection {
        name: "library".into(),
        domain: GW.into(),
        secret: prosody.secret(GW),
        server: prosody.component_addr(),
        operators: vec![operator("alice")],
        device: modem.path.clone(),
        extra: String::new(),
        driver_extra: String::new(),
        max_attempts: 3,
    };
    let mut daemon = Daemon::start(&daemon::config(&postgres.url, &[section]));
    let mut alice = online(&prosody, "alice", "desk").await;
    approve(&mut alice, GW).await;
    daemon
        .expect_log(&["operator presence", &operator("alice"), "Available"])
        .await;
    let patron = patron_jid(PATRON, GW);

    modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "before the restart"))
        .unwrap();
    assert_eq!(
        body(&text_from(&mut alice, &patron).await),
        "before the restart"
    );
    modem.wait_sim_empty().await;

    // The database goes away. Each text is handed to the daemon, which cannot store it and
    // so must not let the driver delete it; a reply sent meanwhile cannot be queued.
    postgres.stop();
    for text in DURING {
        modem
            .sim
            .inject_text(&IncomingText::new(PATRON, text))
            .unwrap();
    }
    reply(
        &mut alice,
        &patron,
        "down-1",
        "Sent while the database is down",
        false,
    )
    .await;
    // The store gives up on a connection only after its pool's acquire timeout.
    await_log(
        &daemon,
        "could not store a received text; left on the modem",
    )
    .await;
    assert_eq!(
        modem.sim.inspect(|m| m.sim().used()),
        DURING.len(),
        "every text of the outage is still on the SIM"
    );

    // Back again: every text of the outage arrives once, in order, and the SIM empties.
    // The reply is either refused (the librarian is told) or sent; never silently lost.
    postgres.resume();
    let mut arrived = Vec::new();
    let mut refused = None;
    while arrived.len() < DURING.len() {
        let message = alice
            .expect("a text from the patron or the refusal of down-1", |e| {
                e.name() == "message"
                    && (e.attr("type") == Some("error") && e.attr("id") == Some("down-1")
                        || e.attr("from") == Some(patron.as_str())
                            && e.get_child("body", "jabber:client").is_some())
            })
            .await;
        if message.attr("type") == Some("error") {
            assert!(refused.is_none(), "refused twice: {}", to_xml(&message));
            refused = Some(message);
        } else {
            arrived.push(body(&message));
        }
    }
    assert_eq!(arrived, DURING);
    modem.wait_sim_empty().await;

    // Nothing arrives twice: the next message alice sees is the next text.
    modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "after the restart"))
        .unwrap();
    let next = next_message(&mut alice).await;
    assert_eq!(body(&next), "after the restart", "{}", to_xml(&next));

    // A reply now goes out once; the one of the outage went out once or was refused.
    reply(&mut alice, &patron, "up-1", "Received all three.", false).await;
    let expected: Vec<&str> = match &refused {
        Some(refusal) => {
            assert_eq!(
                error_text(refusal),
                "Not sent: the gateway could not queue the reply. Please try again.",
                "{}",
                to_xml(refusal)
            );
            vec!["Received all three."]
        }
        None => vec!["Sent while the database is down", "Received all three."],
    };
    modem.wait_sent_parts(expected.len()).await;
    let sent: Vec<String> = modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(sent, expected);
}

/// Waits for a log line with `fragment`, for longer than [`support::daemon::WAIT`]: while
/// the database is down every store operation waits out the pool's acquire timeout.
async fn await_log(daemon: &Daemon, fragment: &str) {
    let outage = std::time::Duration::from_secs(120);
    let found = tokio::time::timeout(outage, async {
        loop {
            let mut logged = daemon.next_line();
            if daemon.log().contains(fragment) {
                return;
            }
            if logged.changed().await.is_err() {
                panic!("the daemon exited before logging {fragment:?}");
            }
        }
    })
    .await;
    if found.is_err() {
        panic!(
            "no log line with {fragment:?} within {outage:?}:\n{}",
            daemon.log()
        );
    }
}
