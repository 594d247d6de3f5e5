//! The announcer's stanza handling, checked on XML.

use super::*;
use expect_test::expect;
use xmpp_parsers::minidom::Element;

fn announcer() -> Announcer {
    Announcer::new(
        "alerts.library.test",
        Some(StaffRoom {
            room: BareJid::new("staff@conference.library.test").unwrap(),
            nick: "Alerts".to_owned(),
        }),
    )
    .unwrap()
}

fn xml(stanza: Stanza) -> String {
    let element: Element = match stanza {
        Stanza::Iq(iq) => iq.into(),
        Stanza::Message(message) => message.into(),
        Stanza::Presence(presence) => presence.into(),
    };
    let mut out = Vec::new();
    element.write_to(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn parse(input: &str) -> Stanza {
    let input = input.replace("CLIENT", "xmlns='jabber:component:accept'");
    let element: Element = input.parse().unwrap();
    match element.name() {
        "iq" => Iq::try_from(element).unwrap().into(),
        "message" => Message::try_from(element).unwrap().into(),
        "presence" => Presence::try_from(element).unwrap().into(),
        other => panic!("not a stanza: {other}"),
    }
}

fn render(actions: Vec<AnnouncerAction>) -> String {
    let lines: Vec<String> = actions
        .into_iter()
        .map(|action| match action {
            AnnouncerAction::Send(stanza) => format!("send {}", xml(stanza)),
            AnnouncerAction::Emit(event) => format!("emit {event:?}"),
            AnnouncerAction::IqAnswered(id) => format!("answered {id}"),
        })
        .collect();
    if lines.is_empty() {
        "nothing".to_owned()
    } else {
        lines.join("\n")
    }
}

fn to_room(id: &str) -> Announcement {
    Announcement {
        id: id.to_owned(),
        to: Recipient::Room,
        body: "Test: the alert system works.".to_owned(),
    }
}

#[test]
fn joins_the_room_without_its_history_and_posts_only_once_in() {
    let mut a = announcer();
    assert_eq!(
        a.announce(&to_room("x1")),
        Err(AnnounceError::NotInRoom("not connected yet".to_owned()))
    );
    let joined: Vec<String> = a.on_connected().into_iter().map(xml).collect();
    expect![[r#"
        [
            "<presence xmlns='jabber:component:accept' from='alerts.library.test' to='staff@conference.library.test/Alerts'><priority>0</priority><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>",
        ]
    "#]]
    .assert_debug_eq(&joined);
    assert_eq!(
        a.announce(&to_room("x1")),
        Err(AnnounceError::NotInRoom("joining".to_owned()))
    );
    let answer = a.handle(parse(
        "<presence CLIENT from='staff@conference.library.test/Alerts' to='alerts.library.test'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/>\
         <status code='110'/></x></presence>",
    ));
    expect!["emit RoomJoined"].assert_eq(&render(answer));
    let post = a.announce(&to_room("alert-7")).map(xml);
    expect![[r#"
        Ok(
            "<message xmlns='jabber:component:accept' from='alerts.library.test' id='alert-7' to='staff@conference.library.test' type='groupchat'><body>Test: the alert system works.</body></message>",
        )
    "#]]
    .assert_debug_eq(&post);
    // Leaving on purpose says goodbye to the room.
    assert_eq!(a.on_shutdown().len(), 1);
    // A lost connection loses the seat.
    a.on_disconnected();
    assert!(matches!(
        a.announce(&to_room("x2")),
        Err(AnnounceError::NotInRoom(_))
    ));
}

#[test]
fn a_room_that_refuses_says_why_and_nothing_is_posted() {
    let mut a = announcer();
    a.on_connected();
    let answer = a.handle(parse(
        "<presence CLIENT type='error' from='staff@conference.library.test/Alerts' to='alerts.library.test'>\
         <error type='auth'><registration-required xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
         <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Members only</text></error></presence>",
    ));
    expect![[r#"emit RoomRefused { reason: "RegistrationRequired: Members only" }"#]]
        .assert_eq(&render(answer));
    expect![[r#"
        Err(
            NotInRoom(
                "the room refused: RegistrationRequired: Members only",
            ),
        )
    "#]]
    .assert_debug_eq(&a.announce(&to_room("x")));
}

#[test]
fn a_person_gets_a_chat_message_and_a_bounce_comes_back_by_id() {
    let mut a = Announcer::new("alerts.library.test", None).unwrap();
    let message = a
        .announce(&Announcement {
            id: "alert-3".to_owned(),
            to: Recipient::Person(BareJid::new("ann@library.test").unwrap()),
            body: "Gas leak in Hall B.\u{1}".to_owned(),
        })
        .map(xml);
    expect![[r#"
        Ok(
            "<message xmlns='jabber:component:accept' from='alerts.library.test' id='alert-3' to='ann@library.test' type='chat'><body>Gas leak in Hall B.�</body></message>",
        )
    "#]]
    .assert_debug_eq(&message);
    assert_eq!(a.announce(&to_room("x")), Err(AnnounceError::NoRoom));
    let bounce = a.handle(parse(
        "<message CLIENT type='error' id='alert-3' from='ann@library.test' to='alerts.library.test'>\
         <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
    ));
    expect![[r#"emit Bounced { id: "alert-3", reason: "ServiceUnavailable" }"#]]
        .assert_eq(&render(bounce));
}

#[test]
fn a_reply_is_told_nobody_reads_it_and_contacts_are_accepted() {
    let mut a = announcer();
    let reply = a.handle(parse(
        "<message CLIENT type='chat' from='ann@library.test/phone' to='alerts.library.test'><body>help!</body></message>",
    ));
    expect!["send <message xmlns='jabber:component:accept' from='alerts.library.test' to='ann@library.test/phone' type='chat'><body>This address only sends alerts; nobody reads what is written to it. In an emergency, call for help.</body></message>"]
        .assert_eq(&render(reply));
    // Chat states and the room's own messages are not answered.
    let state = a.handle(parse(
        "<message CLIENT type='chat' from='ann@library.test/phone' to='alerts.library.test'>\
         <active xmlns='http://jabber.org/protocol/chatstates'/></message>",
    ));
    expect!["nothing"].assert_eq(&render(state));
    let subscribe = a.handle(parse(
        "<presence CLIENT type='subscribe' from='ann@library.test' to='alerts.library.test'/>",
    ));
    expect![[r#"
        send <presence xmlns='jabber:component:accept' from='alerts.library.test' to='ann@library.test' type='subscribed'><priority>0</priority></presence>
        send <presence xmlns='jabber:component:accept' from='alerts.library.test' to='ann@library.test'><priority>0</priority></presence>"#]]
    .assert_eq(&render(subscribe));
    let ping = a.handle(parse(
        "<iq CLIENT type='get' id='p1' from='library.test' to='alerts.library.test'><ping xmlns='urn:xmpp:ping'/></iq>",
    ));
    expect!["send <iq xmlns='jabber:component:accept' from='alerts.library.test' id='p1' to='library.test' type='result'/>"]
        .assert_eq(&render(ping));
}

#[test]
fn nicknames_are_checked() {
    assert!(valid_nick("Alerts"));
    assert!(!valid_nick(" "));
}
