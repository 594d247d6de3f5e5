//! The reference desk as librarians see it in their clients: who says what, how the gateway
//! and its patrons show up, numbers typed in any form, two librarians answering the same
//! patron, and a client that went `away` by itself. The daemon with the modem simulator,
//! PostgreSQL and Prosody, with librarians on real c2s connections.

mod support;

use support::scene::{
    body, error_condition, error_text, operator, patron_jid, reply, text_from, Scene, GW, PATRON,
};
use support::xmpp::to_xml;
use textgate_modemsim::{FaultPatch, IncomingText};

/// A librarian writes to a patron the way she would dial them: the national form (the
/// gateway's region is US), with dashes, with escaped spaces (XEP-0106), with `011`. Each
/// reaches the same number; a number that cannot be one is refused in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_typed_in_any_dialable_form_reach_the_patron() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;

    let forms = [
        "5551239999",
        "555-123-9999",
        r"(555)\20123-9999",
        "0114930901820",
    ];
    for (i, form) in forms.iter().enumerate() {
        let to = format!("{form}@{GW}");
        reply(
            &mut alice,
            &to,
            &format!("n-{i}"),
            &format!("form {i}"),
            false,
        )
        .await;
    }
    scene.modem.wait_sent_parts(forms.len()).await;
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
            ("+15551239999".to_owned(), "form 0".to_owned()),
            ("+15551239999".to_owned(), "form 1".to_owned()),
            ("+15551239999".to_owned(), "form 2".to_owned()),
            ("+4930901820".to_owned(), "form 3".to_owned()),
        ]
    );

    reply(&mut alice, &format!("12@{GW}"), "n-bad", "hello", false).await;
    let refusal = alice
        .expect("an error for n-bad", |e| {
            e.name() == "message"
                && e.attr("id") == Some("n-bad")
                && e.attr("type") == Some("error")
        })
        .await;
    assert!(
        error_text(&refusal).starts_with("Not sent: \"12\" is not a phone number"),
        "{}",
        to_xml(&refusal)
    );
}

/// The gateway shows as online to every client that comes online (not only to those
/// online when it connected), with its avatar's hash; its vCard gives its name and
/// avatar, and a patron's vCard the number as people write it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_and_its_patrons_show_up_in_clients() {
    let mut scene = Scene::start("display_name = \"Main Library SMS\"").await;
    let _desk = scene.first_login("alice", "desk").await;

    // A second client logs in later: it hears the gateway's presence at once.
    let mut laptop = scene.online("alice", "laptop").await;
    let presence = laptop
        .expect("the gateway's presence", |e| {
            e.name() == "presence" && e.attr("from") == Some(GW) && e.attr("type").is_none()
        })
        .await;
    let photo = presence
        .get_child("x", "vcard-temp:x:update")
        .and_then(|x| x.get_child("photo", "vcard-temp:x:update"))
        .map(|p| p.text())
        .unwrap_or_default();
    assert_eq!(photo.len(), 40, "{}", to_xml(&presence));

    laptop
        .send(&format!(
            "<iq xmlns='jabber:client' type='get' id='vc-gw' to='{GW}'><vCard xmlns='vcard-temp'/></iq>"
        ))
        .await;
    let card = laptop
        .expect("the gateway's vCard", |e| e.attr("id") == Some("vc-gw"))
        .await;
    let vcard = card.get_child("vCard", "vcard-temp").expect("a vCard");
    assert_eq!(
        vcard
            .get_child("FN", "vcard-temp")
            .map(|f| f.text())
            .as_deref(),
        Some("Main Library SMS")
    );
    assert!(
        vcard
            .get_child("PHOTO", "vcard-temp")
            .and_then(|p| p.get_child("BINVAL", "vcard-temp"))
            .is_some_and(|b| b.text().starts_with("iVBOR")),
        "a PNG avatar: {}",
        to_xml(&card)
    );

    let patron = patron_jid(PATRON, GW);
    laptop
        .send(&format!(
            "<iq xmlns='jabber:client' type='get' id='vc-p' to='{patron}'><vCard xmlns='vcard-temp'/></iq>"
        ))
        .await;
    let card = laptop
        .expect("the patron's vCard", |e| e.attr("id") == Some("vc-p"))
        .await;
    let vcard = card.get_child("vCard", "vcard-temp").expect("a vCard");
    assert_eq!(
        vcard
            .get_child("FN", "vcard-temp")
            .map(|f| f.text())
            .as_deref(),
        Some("+1 555-123-4567")
    );
}

/// Two librarians answer the same patron. By default (`warn`) both replies go out and
/// both librarians are told by the gateway: the second who is answering, the first what
/// the second sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_librarian_answering_is_announced_to_both() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let mut bob = scene.first_login("bob", "desk").await;
    let patron = patron_jid(PATRON, GW);

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Is the atlas in?"))
        .unwrap();
    text_from(&mut alice, &patron).await;
    text_from(&mut bob, &patron).await;

    reply(&mut alice, &patron, "a-1", "Yes, on the shelf.", false).await;
    let claimed = text_from(&mut bob, GW).await;
    assert_eq!(
        body(&claimed),
        format!("{} is now answering +1 555-123-4567.", operator("alice"))
    );
    reply(&mut bob, &patron, "b-1", "It is checked out.", false).await;
    scene.modem.wait_sent_parts(2).await;

    let to_bob = text_from(&mut bob, GW).await;
    assert_eq!(
        body(&to_bob),
        format!(
            "{} is answering +1 555-123-4567; your reply was sent too. Ask them to transfer \
             the conversation if you take it over.",
            operator("alice")
        )
    );
    let to_alice = text_from(&mut alice, GW).await;
    assert_eq!(
        body(&to_alice),
        format!(
            "{} also answered +1 555-123-4567: \"It is checked out.\"",
            operator("bob")
        )
    );
}

/// With `claim_collisions = "refuse"` the second librarian's reply is not sent: she gets
/// an error saying who is answering, and the librarian answering sees what was stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_reply_is_refused_when_the_desk_says_so() {
    let mut scene = Scene::start("claim_collisions = \"refuse\"").await;
    let mut alice = scene.first_login("alice", "desk").await;
    let mut bob = scene.first_login("bob", "desk").await;
    let patron = patron_jid(PATRON, GW);

    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Is the atlas in?"))
        .unwrap();
    text_from(&mut alice, &patron).await;
    text_from(&mut bob, &patron).await;
    reply(&mut alice, &patron, "a-1", "Yes, on the shelf.", false).await;
    // Bob hears of the claim before he answers, as at a real desk.
    text_from(&mut bob, GW).await;

    reply(&mut bob, &patron, "b-1", "It is checked out.", false).await;
    let refusal = bob
        .expect("an error for b-1", |e| {
            e.name() == "message" && e.attr("id") == Some("b-1") && e.attr("type") == Some("error")
        })
        .await;
    assert_eq!(
        error_condition(&refusal).as_deref(),
        Some("policy-violation")
    );
    assert!(
        error_text(&refusal).starts_with(&format!(
            "Not sent: {} is answering +1 555-123-4567",
            operator("alice")
        )),
        "{}",
        to_xml(&refusal)
    );
    let to_alice = text_from(&mut alice, GW).await;
    assert!(
        body(&to_alice).contains("their reply was not sent: \"It is checked out.\""),
        "{}",
        body(&to_alice)
    );
    // Only alice's reply left; a later reply of hers still goes.
    reply(&mut alice, &patron, "a-2", "See you soon.", false).await;
    scene.modem.wait_sent_parts(2).await;
    let sent: Vec<String> = scene
        .modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(sent, ["Yes, on the shelf.", "See you soon."]);
}

/// A desk client goes `away` by itself after a few idle minutes. With nobody else there,
/// that librarian still gets new texts (the default `away_fallback`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_librarian_whose_client_went_away_still_gets_texts() {
    let mut scene = Scene::start("").await;
    let mut alice = scene.first_login("alice", "desk").await;
    alice
        .send("<presence xmlns='jabber:client'><show>away</show></presence>")
        .await;
    scene
        .daemon
        .expect_log(&["operator presence", &operator("alice"), "Available(Away)"])
        .await;
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Anyone there?"))
        .unwrap();
    let text = text_from(&mut alice, &patron_jid(PATRON, GW)).await;
    assert_eq!(body(&text), "Anyone there?");
}

/// The modem hangs while a reply is being sent: the librarians, and the administrator
/// configured in `[gateway.health] notify` (mallory here, who is not an operator), hear
/// from the gateway that it is not answering, and again when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_modem_is_announced_and_so_is_its_return() {
    let health = format!("[gateway.health]\nnotify = [\"{}\"]\n", operator("mallory"));
    let mut scene = Scene::start_with(&health, r#"send_timeout = "2s""#, 20).await;
    scene.daemon.expect_log(&["modem", "ready"]).await;
    let mut alice = scene.first_login("alice", "desk").await;
    let mut admin = scene.online("mallory", "laptop").await;
    let patron = patron_jid(PATRON, GW);

    scene.modem.sim.set_faults(FaultPatch {
        hang: Some(true),
        ..FaultPatch::default()
    });
    reply(&mut alice, &patron, "h-1", "Through a hung modem", false).await;
    let gone = "The gateway's modem is not answering";
    for librarian in [&mut alice, &mut admin] {
        let notice = text_from(librarian, GW).await;
        assert!(body(&notice).starts_with(gone), "{}", body(&notice));
    }
    scene.modem.sim.clear_faults();
    for librarian in [&mut alice, &mut admin] {
        let notice = text_from(librarian, GW).await;
        assert!(
            body(&notice).starts_with("The gateway's modem is back"),
            "{}",
            body(&notice)
        );
    }
    scene.modem.wait_sent_parts(1).await;
}
