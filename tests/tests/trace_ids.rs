//! One text followed through the daemon's JSON logs by its ids, as a sysadmin would with
//! `jq 'select(.inbound == N)'` (docs/operations.md, "Following one text through the
//! logs"): a text in, a three-part text in, a text that waits for a librarian, and a reply
//! out. The ids the test compares come from outside the log: the stanza id the librarian's
//! client received, the SIM slot the simulator stored each part in, the stanza id the
//! librarian sent and the message reference the simulator gave the reply.

mod support;

use serde_json::Value;
use support::daemon::{Daemon, WAIT};
use support::scene::{body, operator, patron_jid, reply, text_from, Scene, GW, PATRON};
use support::xmpp::to_xml;
use textgate_modemsim::{IncomingText, PartOrder};
use tokio_xmpp::minidom::Element;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_about_one_text_carries_its_id_from_the_sim_slot_to_the_librarian() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);

    // A single text. The SIM is empty, so the simulator stores it in its lowest slot, 1.
    scene.modem.wait_sim_empty().await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Trace me, please"))
        .unwrap();
    let delivered = text_from(&mut alice, &patron).await;
    assert_eq!(body(&delivered), "Trace me, please");
    let stanza = stanza_id(&delivered);
    let inbound = inbound_delivered_as(&scene.daemon, &stanza).await;
    let deleted = await_line(&scene.daemon, "the SIM deletion of the single text", |l| {
        l.message() == "stored message deleted after acknowledgement"
            && l.int("inbound") == Some(inbound)
    })
    .await;
    assert_eq!(deleted.int("slot"), Some(1), "{}", deleted.0);
    let trail = lines_with(&scene.daemon, "inbound", inbound);
    assert_has(&trail, "text received", &[("slot", 1.into())]);
    assert_has(
        &trail,
        "text sent to an operator",
        &[
            ("stanza", stanza.as_str().into()),
            ("operator", operator("alice").into()),
        ],
    );

    // Three parts, the last first: slots 1, 2 and 3 hold parts 3, 1 and 2. Each part's
    // lines before the text exists carry its pending `part` id; the text's lines name
    // each part with its slot.
    scene.modem.wait_sim_empty().await;
    let long = "A three-part text to follow through the logs: ".repeat(8);
    let mut three = IncomingText::new(PATRON, long.trim_end());
    three.order = PartOrder::LastFirst;
    let injected = scene.modem.sim.inject_text(&three).unwrap();
    assert_eq!(injected.delivered, [3, 1, 2], "{injected:?}");
    let delivered = text_from(&mut alice, &patron).await;
    assert_eq!(body(&delivered), long.trim_end());
    let stanza = stanza_id(&delivered);
    let inbound = inbound_delivered_as(&scene.daemon, &stanza).await;
    let trail = lines_with(&scene.daemon, "inbound", inbound);
    assert_has(&trail, "text received", &[]);
    assert_has(
        &trail,
        "text sent to an operator",
        &[("stanza", stanza.as_str().into())],
    );
    let joined: Vec<&Line> = trail
        .iter()
        .filter(|l| l.message() == "part joined the text")
        .collect();
    let mut slots: Vec<i64> = joined.iter().filter_map(|l| l.int("slot")).collect();
    slots.sort_unstable();
    assert_eq!(slots, [1, 2, 3], "{trail:#?}");
    for part in joined {
        let (Some(id), Some(slot)) = (part.int("part"), part.int("slot")) else {
            panic!("a joined part without its id or slot: {}", part.0);
        };
        let stored = await_line(&scene.daemon, "the part stored before the text", |l| {
            l.message() == "part of a longer text stored" && l.int("part") == Some(id)
        })
        .await;
        assert_eq!(stored.int("slot"), Some(slot), "{}", stored.0);
        assert_eq!(
            stored.int("reference"),
            Some(i64::from(injected.reference)),
            "{}",
            stored.0
        );
        let deleted = await_line(&scene.daemon, "the part's SIM deletion", |l| {
            l.message() == "stored message deleted after acknowledgement"
                && l.int("part") == Some(id)
        })
        .await;
        assert_eq!(deleted.int("slot"), Some(slot), "{}", deleted.0);
    }

    // A text nobody is online for waits, and is delivered under a new stanza id when
    // alice comes back.
    alice.logout().await;
    scene.wait_unavailable("alice").await;
    scene.modem.wait_sim_empty().await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Anyone there?"))
        .unwrap();
    let held = await_line(
        &scene.daemon,
        "the text held for want of a librarian",
        |l| l.message() == "no operator available; the text waits",
    )
    .await;
    let Some(waiting) = held.int("inbound") else {
        panic!("the held text has no inbound id: {}", held.0);
    };
    assert_eq!(held.int("slot"), Some(1), "{}", held.0);
    let mut alice = scene.online("alice", "desk").await;
    let delivered = text_from(&mut alice, &patron).await;
    assert_eq!(body(&delivered), "Anyone there?");
    let stanza = stanza_id(&delivered);
    assert_eq!(inbound_delivered_as(&scene.daemon, &stanza).await, waiting);
    assert_has(
        &lines_with(&scene.daemon, "inbound", waiting),
        "delivering a text that waited",
        &[],
    );

    // A reply: queued under the librarian's stanza id, matched to its status report by the
    // message reference the modem gave it, and acknowledged with a receipt for that id.
    reply(&mut alice, &patron, "trace-reply-1", "We are here.", true).await;
    let receipt = alice
        .expect("the receipt for trace-reply-1", |e| {
            e.get_child("received", "urn:xmpp:receipts")
                .is_some_and(|r| r.attr("id") == Some("trace-reply-1"))
        })
        .await;
    assert_eq!(
        receipt.attr("from"),
        Some(patron.as_str()),
        "{}",
        to_xml(&receipt)
    );
    let sent = scene.modem.sim.sent_messages();
    let [message] = sent.as_slice() else {
        panic!("one reply expected, the modem sent {sent:?}");
    };
    let [mr] = message.references.as_slice() else {
        panic!("one part expected: {message:?}");
    };
    let queued = await_line(&scene.daemon, "the reply queued", |l| {
        l.message() == "reply queued" && l.str("stanza") == Some("trace-reply-1")
    })
    .await;
    let Some(outbound) = queued.int("outbound") else {
        panic!("the queued reply has no outbound id: {}", queued.0);
    };
    let matched = await_line(
        &scene.daemon,
        "the status report matched to the reply",
        |l| l.message() == "status report matched" && l.int("outbound") == Some(outbound),
    )
    .await;
    // Logged as text, as every driver's references are (a message centre's are ids).
    assert_eq!(
        matched.str("mr"),
        Some(mr.to_string().as_str()),
        "{}",
        matched.0
    );
    assert_eq!(
        matched.str("stanza"),
        Some("trace-reply-1"),
        "{}",
        matched.0
    );
    let receipt_line = await_line(&scene.daemon, "the receipt sent for the reply", |l| {
        l.message() == "receipt sent to the operator" && l.int("outbound") == Some(outbound)
    })
    .await;
    assert_eq!(
        receipt_line.str("stanza"),
        Some("trace-reply-1"),
        "{}",
        receipt_line.0
    );

    // Everything the daemon wrote was JSON, one object per line.
    for line in scene.daemon.log().lines() {
        let parsed: Result<serde_json::Map<String, Value>, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not a JSON object: {line}");
    }
}

/// One JSON log line.
#[derive(Debug)]
struct Line(Value);

impl Line {
    fn message(&self) -> &str {
        self.str("message").unwrap_or_default()
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    fn int(&self, key: &str) -> Option<i64> {
        self.0.get(key).and_then(Value::as_i64)
    }
}

fn lines(daemon: &Daemon) -> Vec<Line> {
    daemon
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .map(Line)
        .collect()
}

/// Every line whose `key` is `id`, as `jq 'select(.key == id)'` would find them.
fn lines_with(daemon: &Daemon, key: &str, id: i64) -> Vec<Line> {
    lines(daemon)
        .into_iter()
        .filter(|l| l.int(key) == Some(id))
        .collect()
}

/// Waits until the daemon has logged a line `matches` accepts, and returns the first one.
async fn await_line(daemon: &Daemon, what: &str, matches: impl Fn(&Line) -> bool) -> Line {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let mut logged = daemon.next_line();
            if let Some(line) = lines(daemon).into_iter().find(|l| matches(l)) {
                return line;
            }
            if logged.changed().await.is_err() {
                panic!("the daemon exited before logging {what}");
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("the daemon did not log {what} within {WAIT:?}"))
}

/// The id of the text the daemon logged as sent in the stanza with id `stanza`.
async fn inbound_delivered_as(daemon: &Daemon, stanza: &str) -> i64 {
    let sent = await_line(daemon, &format!("the text sent as stanza {stanza}"), |l| {
        l.message() == "text sent to an operator" && l.str("stanza") == Some(stanza)
    })
    .await;
    sent.int("inbound")
        .unwrap_or_else(|| panic!("no inbound id on {}", sent.0))
}

fn stanza_id(message: &Element) -> String {
    message
        .attr("id")
        .unwrap_or_else(|| panic!("a text without a stanza id: {}", to_xml(message)))
        .to_owned()
}

/// Asserts that `trail` has a line with `message` and every one of `fields`.
fn assert_has(trail: &[Line], message: &str, fields: &[(&str, Value)]) {
    let found = trail.iter().any(|l| {
        l.message() == message
            && fields
                .iter()
                .all(|(key, value)| l.0.get(*key) == Some(value))
    });
    assert!(found, "no {message:?} line with {fields:?} in {trail:#?}");
}
