//! Privacy handles (`privacy_handles = true`): the librarians of the gateway never see a
//! patron's number, in the chat, in notices, in errors or in the desk's answers; they write
//! to the handle and the text reaches the number; the handle survives a restart; a handle
//! nobody goes by is refused in words. The daemon with the modem simulator, PostgreSQL and
//! Prosody, with a librarian on a real c2s connection.

mod support;

use support::scene::{body, error_text, reply, Scene, GW, PATRON};
use support::xmpp::{to_xml, Element, Librarian};
use textgate_modemsim::IncomingText;

/// The patron's number as it could appear anywhere: E.164 without its `+`, and the
/// national groups as the gateway formats it (`+1 555-123-4567`).
const NUMBER_TRACES: [&str; 3] = ["15551234567", "555-123-4567", "5551234567"];

fn assert_no_number(what: &str, stanza: &Element) {
    let xml = to_xml(stanza);
    for trace in NUMBER_TRACES {
        assert!(!xml.contains(trace), "{what} shows the number: {xml}");
    }
}

/// Waits for the patron's next text and returns it with the bare JID it came from.
async fn patron_text(librarian: &mut Librarian) -> (Element, String) {
    let text = librarian
        .expect("a patron's text", |e| {
            e.name() == "message"
                && e.attr("type") != Some("error")
                && e.get_child("body", "jabber:client").is_some()
                && e.attr("from")
                    .is_some_and(|from| from.contains('@') && from.ends_with(GW))
        })
        .await;
    let from = text.attr("from").unwrap_or_default().to_owned();
    (text, from)
}

/// Sends `command` to the gateway and returns its answer (the gateway's next chat message
/// that starts with `answer`).
async fn ask(librarian: &mut Librarian, command: &str, answer: &str) -> Element {
    librarian
        .send(&format!(
            "<message xmlns='jabber:client' type='chat' to='{GW}'><body>{command}</body></message>"
        ))
        .await;
    librarian
        .expect(&format!("the answer to {command:?}"), |e| {
            e.name() == "message"
                && e.attr("from") == Some(GW)
                && e.get_child("body", "jabber:client")
                    .is_some_and(|b| b.text().starts_with(answer))
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librarians_see_a_stable_handle_and_their_replies_reach_the_number() {
    let mut scene = Scene::start("privacy_handles = true").await;
    let mut alice = scene.first_login("alice", "desk").await;

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Is the new Le Guin in?"))
        .expect("the simulator takes the text");
    let (text, patron) = patron_text(&mut alice).await;
    assert_no_number("the patron's text", &text);
    assert_eq!(body(&text), "Is the new Le Guin in?");
    let handle = patron
        .split_once('@')
        .map(|(local, _)| local.to_owned())
        .unwrap_or_default();
    assert!(
        handle.starts_with("p-") && handle.len() == 10,
        "the patron's JID is not a handle: {patron}"
    );

    // A reply to the handle is texted to the number; the notice that it took two SMS
    // names the handle, not the number.
    let long_reply = "Yes: it is on the new arrivals shelf by the door, and we can hold it \
                      for you at the front desk until Saturday if you cannot come in today. \
                      Just reply HOLD and we will keep it behind the counter for you, with \
                      your name on it.";
    reply(&mut alice, &patron, "h-1", long_reply, false).await;
    scene.modem.wait_sent_parts(2).await;
    let sent: Vec<(String, String)> = scene
        .modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| (m.recipient, m.text))
        .collect();
    assert_eq!(sent, [(PATRON.to_owned(), long_reply.to_owned())]);
    let notice = alice
        .expect("the multipart notice", |e| {
            e.name() == "message"
                && e.attr("from") == Some(GW)
                && e.get_child("body", "jabber:client")
                    .is_some_and(|b| b.text().contains("2 SMS"))
        })
        .await;
    assert_no_number("the multipart notice", &notice);
    assert!(body(&notice).contains(&handle), "{}", to_xml(&notice));

    // The desk's commands take the handle and answer with it.
    let blocked = ask(&mut alice, &format!("block {handle}"), "").await;
    assert_no_number("the answer to block", &blocked);
    assert!(body(&blocked).contains(&handle), "{}", to_xml(&blocked));
    let list = ask(&mut alice, "blocked", "").await;
    assert_no_number("the blocked list", &list);
    assert!(body(&list).contains(&handle), "{}", to_xml(&list));
    let unblocked = ask(&mut alice, &format!("unblock {patron}"), "").await;
    assert_no_number("the answer to unblock", &unblocked);
    let unknown = ask(&mut alice, "release p-zzzzzzzz", "").await;
    assert!(
        body(&unknown).contains("nobody goes by p-zzzzzzzz"),
        "{}",
        to_xml(&unknown)
    );

    // A reply to a handle nobody goes by is refused in words, and nothing is sent.
    reply(
        &mut alice,
        &format!("p-zzzzzzzz@{GW}"),
        "h-2",
        "Hello?",
        false,
    )
    .await;
    let refusal = alice
        .expect("an error for h-2", |e| {
            e.attr("id") == Some("h-2") && e.attr("type") == Some("error")
        })
        .await;
    assert!(
        error_text(&refusal).contains("nobody goes by p-zzzzzzzz"),
        "{}",
        to_xml(&refusal)
    );

    // After a restart the patron has the same handle, and replies still reach them.
    scene.daemon.restart();
    scene
        .daemon
        .expect_log(&["state restored from the store"])
        .await;
    scene.wait_available("alice").await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Thanks! HOLD"))
        .expect("the simulator takes the text");
    let (again, from) = patron_text(&mut alice).await;
    assert_eq!(body(&again), "Thanks! HOLD");
    assert_eq!(from, patron, "the handle changed across a restart");
    reply(&mut alice, &patron, "h-3", "Held until Saturday.", false).await;
    scene.modem.wait_sent_parts(3).await;
    let last = scene.modem.sim.sent_messages().pop().map(|m| m.recipient);
    assert_eq!(last.as_deref(), Some(PATRON));
    assert_eq!(
        scene.modem.sim.sent_messages().len(),
        2,
        "the unknown handle's reply was sent"
    );
}
