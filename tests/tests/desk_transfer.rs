//! Handing a conversation to another gateway's desk (`transfer <number> <desk>`): two
//! gateways in one daemon, the library (alice) allowed to hand conversations to the branch
//! (bob). Before the handoff bob may not answer the library's patron; after it, the
//! patron's next text reaches bob (not alice), bob's reply leaves from the library's modem
//! (the number the patron texted, never the branch's), bob is shown the conversation so
//! far, and a handoff survives a restart.
//! The daemon with two modem simulators, PostgreSQL and Prosody.

mod support;

use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::modem::Modem;
use support::prosody::Prosody;
use support::scene::{
    approve, body, error_text, online, operator, patron_jid, reply, text_from, GW, PASSWORD, PATRON,
};
use support::xmpp::{Element, Librarian};
use textgate_modemsim::IncomingText;

const BRANCH: &str = "sms-branch.library.test";
/// A second patron of the library's.
const OTHER_PATRON: &str = "+15557654321";

/// Sends `command` to the library gateway and waits for its answer.
async fn ask(librarian: &mut Librarian, command: &str, answer: &str) -> String {
    librarian
        .send(&format!(
            "<message xmlns='jabber:client' type='chat' to='{GW}'><body>{command}</body></message>"
        ))
        .await;
    let message = librarian
        .expect(&format!("the answer to {command:?}"), |e| {
            e.name() == "message" && e.attr("from") == Some(GW) && body_of(e).contains(answer)
        })
        .await;
    body(&message)
}

fn body_of(e: &Element) -> String {
    e.get_child("body", "jabber:client")
        .map(|b| b.text())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_handed_to_another_desk_is_answered_from_the_number_the_patron_texted() {
    let prosody = Prosody::start(&[GW, BRANCH]).await.expect("Prosody starts");
    for user in ["alice", "bob"] {
        prosody.register(user, PASSWORD).await.expect("registered");
    }
    let db = Database::create().await;
    let library_modem = Modem::start().await;
    let branch_modem = Modem::start().await;
    let mut library = GatewaySection::for_alice(
        prosody.component_addr(),
        &prosody.secret(GW),
        library_modem.path.clone(),
    );
    // Transcripts kept: the desk a conversation is handed to is shown it so far.
    library.extra = "transfer_to = [\"branch\"]\ntranscripts = \"on\"\n".to_owned();
    let branch = GatewaySection {
        name: "branch".into(),
        domain: BRANCH.into(),
        secret: prosody.secret(BRANCH),
        server: prosody.component_addr(),
        operators: vec![operator("bob")],
        device: branch_modem.path.clone(),
        extra: String::new(),
        driver_extra: String::new(),
        max_attempts: 3,
    };
    let config = daemon::config(&db.url, &[library, branch]);
    let mut daemon = Daemon::start(&config);

    // Alice works the library's desk; bob the branch's, and he accepts the library
    // gateway too (it asks him, as one of the librarians it may hand conversations to).
    let mut alice = online(&prosody, "alice", "desk").await;
    approve(&mut alice, GW).await;
    let mut bob = online(&prosody, "bob", "desk").await;
    // Both gateways ask him, in whichever order they connected.
    for _ in 0..2 {
        let request = bob
            .expect("a gateway's subscription request", |e| {
                e.name() == "presence"
                    && e.attr("type") == Some("subscribe")
                    && matches!(e.attr("from"), Some(GW | BRANCH))
            })
            .await;
        let from = request.attr("from").unwrap_or_default().to_owned();
        bob.send(&format!(
            "<presence xmlns='jabber:client' type='subscribed' to='{from}'/>"
        ))
        .await;
    }
    daemon
        .expect_log(&["operator presence", &operator("alice"), "Available"])
        .await;
    daemon
        .expect_log(&[
            "library",
            "operator presence",
            &operator("bob"),
            "Available",
        ])
        .await;

    let patron = patron_jid(PATRON, GW);
    library_modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Do you have Middlemarch?"))
        .expect("inject");
    let first = text_from(&mut alice, &patron).await;
    assert_eq!(body(&first), "Do you have Middlemarch?");
    reply(&mut alice, &patron, "a1", "Let me look.", false).await;
    library_modem.wait_sent_parts(1).await;

    // Not handed yet: the branch may not answer the library's patron.
    reply(&mut bob, &patron, "early", "Hello from the branch", false).await;
    let refused = bob
        .expect("the refusal", |e| {
            e.attr("id") == Some("early") && e.attr("type") == Some("error")
        })
        .await;
    let why = error_text(&refused);
    assert!(why.contains("belongs to the library desk"), "{why}");
    // Nor act on it, nor read the library desk's queue: bob is its operator only for what
    // is handed to his desk.
    ask(
        &mut bob,
        &format!("canned send hours {PATRON}"),
        "belongs to the library desk",
    )
    .await;
    ask(
        &mut bob,
        "waiting",
        "\"waiting\" is for the library desk's own librarians",
    )
    .await;

    // A desk that does not exist is refused in words, naming the ones that do.
    let answer = ask(
        &mut alice,
        &format!("transfer {PATRON} annex"),
        "Not transferred",
    )
    .await;
    assert!(
        answer.contains("Desks you can hand conversations to: branch"),
        "{answer}"
    );

    let answer = ask(
        &mut alice,
        &format!("transfer {PATRON} branch"),
        "is now with",
    )
    .await;
    assert!(answer.contains("1 of its librarians are there"), "{answer}");
    let told = bob
        .expect("the handoff notice", |e| {
            e.attr("from") == Some(GW) && body_of(e).contains("handed the conversation")
        })
        .await;
    let note = body_of(&told);
    assert!(note.contains("alice@library.test handed"), "{note}");
    // With the conversation so far, in order, so bob need not ask the patron again.
    let so_far = note
        .split_once("So far")
        .map(|(_, s)| s)
        .unwrap_or_default();
    let question = so_far.find(": Do you have Middlemarch?");
    let answer = so_far.find("alice@library.test: Let me look.");
    assert!(
        question.is_some() && answer.is_some() && question < answer,
        "{note}"
    );

    // The patron's next text goes to bob, not to alice.
    library_modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "The branch is closer to me."))
        .expect("inject");
    let second = text_from(&mut bob, &patron).await;
    assert_eq!(body(&second), "The branch is closer to me.");

    // Handed to his desk, the conversation is his to act on as well.
    ask(&mut bob, &format!("release {PATRON}"), "Nothing released").await;

    // Bob's answer leaves from the library's modem, the number the patron texted.
    reply(&mut bob, &patron, "b1", "We have it at the branch.", false).await;
    library_modem.wait_sent_parts(2).await;
    let sent: Vec<(String, String)> = library_modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| (m.recipient, m.text))
        .collect();
    assert_eq!(
        sent,
        [
            (PATRON.to_owned(), "Let me look.".to_owned()),
            (PATRON.to_owned(), "We have it at the branch.".to_owned())
        ]
    );
    assert!(branch_modem.sim.sent_messages().is_empty());

    // The handoff is kept: after a restart the patron's texts still go to bob.
    daemon.restart();
    daemon
        .expect_log(&[
            "library",
            "operator presence",
            &operator("bob"),
            "Available",
        ])
        .await;
    library_modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Can I pick it up today?"))
        .expect("inject");
    let third = text_from(&mut bob, &patron).await;
    assert_eq!(body(&third), "Can I pick it up today?");

    // Handed while nobody of the branch is there: the note waits for bob on his server,
    // and he finds it when he comes back.
    drop(bob);
    daemon
        .expect_log(&[
            "library",
            "operator presence",
            &operator("bob"),
            "Unavailable",
        ])
        .await;
    let other = patron_jid(OTHER_PATRON, GW);
    library_modem
        .sim
        .inject_text(&IncomingText::new(OTHER_PATRON, "Is the branch open late?"))
        .expect("inject");
    let asked = text_from(&mut alice, &other).await;
    assert_eq!(body(&asked), "Is the branch open late?");
    let answer = ask(
        &mut alice,
        &format!("transfer {OTHER_PATRON} branch"),
        "is now with",
    )
    .await;
    assert!(answer.contains("Nobody there is available"), "{answer}");
    let mut bob = online(&prosody, "bob", "desk").await;
    let note = bob
        .expect("the handoff note kept for him", |e| {
            e.attr("from") == Some(GW)
                && body_of(e).contains("handed the conversation with")
                && body_of(e).contains("Is the branch open late?")
        })
        .await;
    assert!(
        body_of(&note).contains("alice@library.test"),
        "{}",
        body_of(&note)
    );
}
