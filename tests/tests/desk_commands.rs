//! The desk's commands, as librarians use them: typed in a chat with the gateway (for
//! clients without a command menu) and run as XEP-0050 ad-hoc commands by slixmpp, a
//! client library nobody on the team wrote (tests/peers/adhoc_client.py, Debian's
//! python3-slixmpp). The daemon with the modem simulator, PostgreSQL and Prosody.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::scene::{
    body, error_condition, error_text, operator, patron_jid, reply, text_from, Scene, GW, PASSWORD,
    PATRON,
};
use support::xmpp::{to_xml, Element, Librarian};
use textgate_modemsim::IncomingText;

const OTHER: &str = "+15559876543";

/// Sends `command` to the gateway and waits for its answer, the gateway's next chat
/// message that starts with `answer` (other notices from the gateway may come between).
async fn ask(librarian: &mut Librarian, command: &str, answer: &str) -> String {
    librarian
        .send(&format!(
            "<message xmlns='jabber:client' type='chat' to='{GW}'><body>{command}</body></message>"
        ))
        .await;
    let message = librarian
        .expect(&format!("the answer to {command:?}"), |e| {
            e.name() == "message"
                && e.attr("from") == Some(GW)
                && body_of(e).is_some_and(|b| b.starts_with(answer))
        })
        .await;
    body(&message)
}

fn body_of(e: &Element) -> Option<String> {
    e.get_child("body", "jabber:client").map(|b| b.text())
}

/// Every chat command a librarian types, one after the other at one desk: help, canned
/// replies (saved, listed, sent as `/name` in a conversation and by command), pause and
/// resume with a text waiting, transfer and release of a conversation, blocking a number
/// (its text reaches nobody), status, and a typo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_typed_in_a_chat_with_the_gateway() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let mut bob = scene.first_login("bob", "desk").await;
    let patron = patron_jid(PATRON, GW);
    let bob_jid = operator("bob");

    let help = ask(&mut alice, "help", "").await;
    assert!(
        help.contains("transfer") && help.contains("canned"),
        "{help}"
    );

    // Canned replies: saved with their part count, listed, sent as /name.
    ask(
        &mut alice,
        "canned add hours We are open 9 to 5.",
        "Saved /hours (1 SMS)",
    )
    .await;
    let list = ask(&mut alice, "canned", "1 canned replies").await;
    assert!(
        list.contains("/hours (1 SMS): We are open 9 to 5."),
        "{list}"
    );
    reply(&mut alice, &patron, "c-1", "/hours", false).await;
    scene.modem.wait_sent_parts(1).await;
    reply(&mut alice, &patron, "c-2", "/nosuch", false).await;
    let refusal = alice
        .expect("an error for c-2", |e| {
            e.attr("id") == Some("c-2") && e.attr("type") == Some("error")
        })
        .await;
    assert_eq!(error_condition(&refusal).as_deref(), Some("not-acceptable"));
    assert!(
        error_text(&refusal).contains("no canned reply /nosuch"),
        "{}",
        to_xml(&refusal)
    );
    ask(
        &mut alice,
        &format!("canned send hours {OTHER}"),
        "Sending to +1 555-987-6543 (1 SMS)",
    )
    .await;
    scene.modem.wait_sent_parts(2).await;
    let sent: Vec<(String, String)> = scene
        .modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| (m.recipient, m.text))
        .collect();
    assert_eq!(
        sent,
        [
            (PATRON.to_owned(), "We are open 9 to 5.".to_owned()),
            (OTHER.to_owned(), "We are open 9 to 5.".to_owned()),
        ]
    );

    // Both pause: a new conversation waits; bob resumes and gets it.
    ask(&mut alice, "pause", "Paused").await;
    ask(&mut bob, "pause", "Paused").await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new("+15550001111", "Anyone?"))
        .unwrap();
    scene
        .daemon
        .expect_log(&["no operator available; the text waits"])
        .await;
    let waiting = ask(&mut alice, "waiting", "1 text(s) waiting").await;
    assert!(waiting.contains("+1 555-000-1111 (1)"), "{waiting}");
    ask(&mut bob, "resume", "Resumed").await;
    let text = text_from(&mut bob, &patron_jid("+15550001111", GW)).await;
    assert_eq!(body(&text), "Anyone?");

    // Alice (paused, but answering PATRON since /hours) hands PATRON to bob.
    ask(
        &mut alice,
        &format!("transfer {PATRON} {bob_jid}"),
        &format!("+1 555-123-4567 is now {bob_jid}'s"),
    )
    .await;
    let handed = text_from(&mut bob, GW).await;
    assert!(
        body(&handed).contains("handed the conversation with +1 555-123-4567 to you"),
        "{}",
        body(&handed)
    );
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Thanks!"))
        .unwrap();
    assert_eq!(body(&text_from(&mut bob, &patron).await), "Thanks!");
    let not_mine = ask(&mut alice, "release 555-123-4567", "Nothing released").await;
    assert!(not_mine.contains(&bob_jid), "{not_mine}");
    ask(
        &mut bob,
        "release (555) 123-4567",
        "Released +1 555-123-4567",
    )
    .await;

    // A blocked number's text reaches nobody; unblocked, the next one does.
    ask(&mut alice, "resume", "Resumed").await;
    ask(&mut alice, "block 555 987 6543", "Blocked +1 555-987-6543").await;
    let blocked = ask(&mut alice, "blocked", "1 blocked number(s)").await;
    assert!(blocked.contains("+1 555-987-6543 (by alice@"), "{blocked}");
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(OTHER, "spam spam"))
        .unwrap();
    scene
        .daemon
        .expect_log(&["text from a blocked number held back"])
        .await;
    ask(
        &mut alice,
        "unblock +15559876543",
        "Unblocked +1 555-987-6543",
    )
    .await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(OTHER, "sorry, real question"))
        .unwrap();
    let other = patron_jid(OTHER, GW);
    let next = text_from(&mut alice, &other).await;
    assert_eq!(
        body(&next),
        "sorry, real question",
        "the blocked text never arrives"
    );

    let status = ask(&mut alice, "status", "library (").await;
    assert!(
        status.contains("Texts waiting for a librarian: 0")
            && status.contains("Texts from blocked numbers held back: 1")
            && status.contains("Last text in: 20")
            && status.contains("Signal:"),
        "{status}"
    );
    let typo = ask(&mut alice, "trasnfer", "").await;
    assert!(typo.contains("help"), "{typo}");
}

/// Runs tests/peers/adhoc_client.py as `user` and returns its JSON lines.
async fn slixmpp(scene: &Scene, user: &str) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/adhoc_client.py");
    let c2s = scene.prosody.c2s_addr();
    let (host, port) = c2s.rsplit_once(':').expect("host:port");
    let run = tokio::process::Command::new("/usr/bin/python3")
        .arg(&script)
        .args([&operator(user), PASSWORD, host, port, GW])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("slixmpp finishes within 90 s")
        .expect("python3 runs (scripts/lib/env.sh installs python3-slixmpp)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!(
                    "{e}: {line}\nstderr: {}",
                    String::from_utf8_lossy(&output.stderr)
                )
            })
        })
        .collect()
}

fn step<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["step"] == name)
        .unwrap_or_else(|| panic!("no {name:?} step in {lines:#?}"))
}

/// slixmpp's XEP-0050 plugin lists the commands, runs `status` in one step, and adds a
/// canned reply through `canned-add`'s form (name case-folded); the reply is there for
/// the chat commands. Someone who is not an operator sees no commands and may run none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_hoc_commands_from_a_client_nobody_on_the_team_wrote() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;

    let lines = slixmpp(&scene, "alice").await;
    let nodes: Vec<&str> = step(&lines, "list")["nodes"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for node in [
        "status",
        "waiting",
        "transfer",
        "release",
        "pause",
        "resume",
        "canned-add",
        "block",
    ] {
        assert!(nodes.contains(&node), "{node} missing from {nodes:?}");
    }
    let status = step(&lines, "status");
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["notes"][0][0], "info", "{status}");
    assert!(
        status["notes"][0][1]
            .as_str()
            .is_some_and(|n| n.contains("Texts waiting for a librarian: 0")),
        "{status}"
    );
    let form = step(&lines, "canned-add form");
    assert_eq!(form["status"], "executing", "{form}");
    assert_eq!(
        form["fields"],
        serde_json::json!(["name", "text"]),
        "{form}"
    );
    let added = step(&lines, "canned-add");
    assert_eq!(added["status"], "completed", "{added}");
    assert!(
        added["notes"][0][1]
            .as_str()
            .is_some_and(|n| n.starts_with("Saved /hours (1 SMS)")),
        "{added}"
    );
    let list = ask(&mut alice, "canned", "1 canned replies").await;
    assert!(
        list.contains("/hours (1 SMS): We are open 9 to 5, Monday to Friday."),
        "{list}"
    );

    let stranger = slixmpp(&scene, "mallory").await;
    assert_eq!(
        step(&stranger, "list")["nodes"],
        serde_json::json!([]),
        "{stranger:#?}"
    );
    let error = step(&stranger, "error");
    assert!(
        error["reason"]
            .as_str()
            .is_some_and(|r| r.contains("forbidden")),
        "{error}"
    );
}
