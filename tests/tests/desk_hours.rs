//! What the gateway answers patrons by itself: the desk's opening hours (a patron who
//! texts while it is closed hears when it opens, once per window, across a restart), the
//! reply when the desk is open but nobody is there, and keywords answered without
//! bothering a librarian. The daemon with the modem simulator, PostgreSQL and Prosody.

mod support;

use chrono::{Days, Utc};
use support::scene::{body, patron_jid, text_from, Scene, GW, PATRON};
use textgate_modemsim::{IncomingKind, IncomingText};

const OTHER: &str = "+15559876543";

fn sent(scene: &Scene) -> Vec<(String, String)> {
    scene
        .modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| (m.recipient, m.text))
        .collect()
}

/// The desk is closed today and the next two days (an exception to its daily hours): a
/// patron who texts hears when it opens, once; neither a second text nor a restart of
/// the daemon repeats it; another patron hears it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_hours_reply_once_per_window_across_a_restart() {
    let today = Utc::now().date_naive();
    let last_closed = today + Days::new(2);
    let opens = (today + Days::new(3)).format("%A");
    let desk = format!(
        r#"
[gateway.desk]
time_zone = "UTC"
weekly = ["daily 09:00-17:00"]
exceptions = ["{today}..{last_closed} closed"]
closed_reply = "Closed; we open {{opens}}."
"#
    );
    let mut scene = Scene::start(&desk).await;
    let reply = format!("Closed; we open on {opens} at 09:00.");

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Are you open?"))
        .unwrap();
    scene.modem.wait_sent_parts(1).await;
    assert_eq!(sent(&scene), [(PATRON.to_owned(), reply.clone())]);

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Hello??"))
        .unwrap();
    scene
        .daemon
        .expect_log(&["no automatic reply: this patron had one within the window"])
        .await;

    scene.daemon.restart();
    scene
        .daemon
        .expect_log(&["state restored from the store"])
        .await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Anyone?"))
        .unwrap();
    scene
        .daemon
        .expect_log(&["no automatic reply: this patron had one within the window"])
        .await;

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(OTHER, "Open today?"))
        .unwrap();
    scene.modem.wait_sent_parts(2).await;
    assert_eq!(
        sent(&scene),
        [
            (PATRON.to_owned(), reply.clone()),
            (OTHER.to_owned(), reply)
        ]
    );
}

/// With the desk open (no hours) and nobody there, a waiting patron hears so; a text
/// that is only a keyword gets its answer and never reaches a librarian.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keywords_and_the_unattended_reply() {
    let desk = r#"
[gateway.desk]
unattended_reply = "All librarians are busy; one will answer soon."
keywords = { HOURS = "Daily 9 to 5." }
"#;
    let mut scene = Scene::start(desk).await;
    let patron = patron_jid(PATRON, GW);

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Hours?"))
        .unwrap();
    scene.modem.wait_sent_parts(1).await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Where is my book?"))
        .unwrap();
    scene.modem.wait_sent_parts(2).await;
    assert_eq!(
        sent(&scene),
        [
            (PATRON.to_owned(), "Daily 9 to 5.".to_owned()),
            (
                PATRON.to_owned(),
                "All librarians are busy; one will answer soon.".to_owned()
            ),
        ]
    );

    // The librarian gets the question that waited, not the keyword.
    let mut alice = scene.first_login("alice", "desk").await;
    assert_eq!(
        body(&text_from(&mut alice, &patron).await),
        "Where is my book?"
    );
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "It is overdue."))
        .unwrap();
    assert_eq!(
        body(&text_from(&mut alice, &patron).await),
        "It is overdue."
    );
}

/// An MMS notification as a phone receives it (see crates/gateway/src/inbound.rs): a
/// WAP push to port 2948 whose WSP content type is application/vnd.wap.mms-message.
const MMS_PUSH: &str =
    "00440B915155214365F7000462214071030000160605040B8423F0010603BEAF848C8298313233008D92";

/// A patron sends a picture message: the librarian reads that one came and cannot be
/// shown (not a hex dump), and the patron is asked to text instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_message_is_announced_and_answered() {
    let desk = r#"
[gateway.desk]
mms_reply = "We cannot see pictures; please text your question."
"#;
    let mut scene = Scene::start(desk).await;
    let mut alice = scene.first_login("alice", "desk").await;
    scene
        .modem
        .sim
        .inject_pdu(MMS_PUSH, IncomingKind::MmsNotification)
        .unwrap();
    let text = text_from(&mut alice, &patron_jid(PATRON, GW)).await;
    assert!(
        body(&text).starts_with("[The patron sent a picture message (MMS)."),
        "{}",
        body(&text)
    );
    scene.modem.wait_sent_parts(1).await;
    assert_eq!(
        sent(&scene),
        [(
            PATRON.to_owned(),
            "We cannot see pictures; please text your question.".to_owned()
        )]
    );
}

/// One phone sends more texts than the flood limit allows: the librarian gets the first
/// ones, a line saying the rest are held back, and once the phone is quiet for the window
/// a line saying so and the held texts, in order. Nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_held_back_and_released_when_it_stops() {
    let desk = r#"
[gateway.desk]
flood_limit = 2
flood_window = "2s"
"#;
    let mut scene = Scene::start(desk).await;
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);
    for i in 1..=5 {
        scene
            .modem
            .sim
            .inject_text(&IncomingText::new(PATRON, format!("text {i}")))
            .unwrap();
    }
    // The two within the limit, then the notice, then (after two quiet seconds) a line
    // saying the flood stopped and the held texts. On a busy machine the texts may come in
    // slowly enough for a first flood to end before the last ones arrive; whatever the
    // timing, every text arrives once, in order, and none of the held ones before the
    // notices.
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|b: &&String| b.starts_with("text "))
        .count()
        < 5
    {
        let message = alice
            .expect("a text or a notice", |e| {
                e.name() == "message"
                    && (e.attr("from") == Some(GW) || e.attr("from") == Some(patron.as_str()))
                    && e.get_child("body", "jabber:client").is_some()
            })
            .await;
        seen.push(body(&message));
    }
    let texts: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|b| b.starts_with("text "))
        .collect();
    assert_eq!(
        texts,
        ["text 1", "text 2", "text 3", "text 4", "text 5"],
        "{seen:#?}"
    );
    let position = |wanted: &dyn Fn(&str) -> bool| seen.iter().position(|b| wanted(b));
    let flood = position(&|b| b.contains("has sent more than 2 texts within 2 seconds"))
        .unwrap_or_else(|| panic!("no flood notice in {seen:#?}"));
    let stopped = position(&|b| b.contains("stopped sending: the"))
        .unwrap_or_else(|| panic!("no end of flood in {seen:#?}"));
    let third = position(&|b| b == "text 3").expect("text 3 is there");
    assert!(
        flood == 2 && flood < stopped && stopped < third,
        "{seen:#?}"
    );
    assert_eq!(
        seen[flood],
        "+1 555-123-4567 has sent more than 2 texts within 2 seconds. Their further texts \
         are held back and come to you once they stop for 2 seconds; nothing is lost. To \
         keep them out for good, send \"block +15551234567\" to the gateway."
    );
}
