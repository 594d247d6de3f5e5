//! Stanza handling, checked on XML: each case feeds one stanza as the server would deliver it
//! and snapshots what the component sends back or tells the daemon.

use super::*;
use chrono::TimeZone;
use expect_test::{expect, Expect};

fn protocol() -> ComponentProtocol {
    let operators = [
        BareJid::new("alice@library.test").unwrap(),
        BareJid::new("bob@library.test").unwrap(),
    ];
    ComponentProtocol::new("sms.library.test", &operators, "US".parse().unwrap()).unwrap()
}

fn xml(element: Element) -> String {
    let mut out = Vec::new();
    element.write_to(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn stanza_xml(stanza: Stanza) -> String {
    xml(match stanza {
        Stanza::Iq(iq) => iq.into(),
        Stanza::Message(message) => message.into(),
        Stanza::Presence(presence) => presence.into(),
    })
}

fn parse(input: &str) -> Stanza {
    let element: Element = input.parse().unwrap();
    match element.name() {
        "iq" => Iq::try_from(element).unwrap().into(),
        "message" => Message::try_from(element).unwrap().into(),
        "presence" => Presence::try_from(element).unwrap().into(),
        other => panic!("not a stanza: {other}"),
    }
}

fn render(actions: Vec<Action>) -> String {
    let lines: Vec<String> = actions
        .into_iter()
        .map(|action| match action {
            Action::Send(stanza) => format!("send {}", stanza_xml(stanza)),
            Action::Emit(event) => format!("emit {event:?}"),
            Action::IqAnswered(id) => format!("answered {id}"),
        })
        .collect();
    if lines.is_empty() {
        "nothing".to_owned()
    } else {
        lines.join("\n")
    }
}

fn check_with(protocol: &mut ComponentProtocol, input: &str, expect: Expect) {
    let input = input.replace("CLIENT", "xmlns='jabber:component:accept'");
    expect.assert_eq(&render(protocol.handle(parse(&input))));
}

fn check(input: &str, expect: Expect) {
    check_with(&mut protocol(), input, expect);
}

#[test]
fn disco_on_the_gateway_and_on_patrons() {
    check(
        "<iq CLIENT type='get' id='d1' from='alice@library.test/phone' to='sms.library.test'>
           <query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='sms.library.test' id='d1' to='alice@library.test/phone' type='result'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='gateway' name='SMS gateway' type='sms' xml:lang='en'/><feature var='http://jabber.org/protocol/commands'/><feature var='http://jabber.org/protocol/disco#info'/><feature var='http://jabber.org/protocol/disco#items'/><feature var='jabber:iq:gateway'/><feature var='jabber:iq:version'/><feature var='jabber:x:data'/><feature var='urn:xmpp:ping'/><feature var='urn:xmpp:receipts'/><feature var='vcard-temp'/></query></iq>"],
    );
    check(
        "<iq CLIENT type='get' id='d2' from='stranger@elsewhere.test/x' to='+15551234567@sms.library.test'>
           <query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='+15551234567@sms.library.test' id='d2' to='stranger@elsewhere.test/x' type='result'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' name='SMS' type='sms' xml:lang='en'/><feature var='http://jabber.org/protocol/disco#info'/><feature var='urn:xmpp:receipts'/><feature var='vcard-temp'/></query></iq>"],
    );
    check(
        "<iq CLIENT type='get' id='d3' from='alice@library.test/phone' to='sms.library.test'>
           <query xmlns='http://jabber.org/protocol/disco#info' node='commands'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='sms.library.test' id='d3' to='alice@library.test/phone' type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>no such node</text></error></iq>"],
    );
    check(
        "<iq CLIENT type='get' id='d4' from='alice@library.test/phone' to='sms.library.test'>
           <query xmlns='http://jabber.org/protocol/disco#items'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='sms.library.test' id='d4' to='alice@library.test/phone' type='result'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"],
    );
}

#[test]
fn version_ping_and_unknown_requests() {
    let version = render(protocol().handle(parse(
        "<iq xmlns='jabber:component:accept' type='get' id='v1' from='alice@library.test/phone' to='sms.library.test'>
           <query xmlns='jabber:iq:version'/></iq>",
    )));
    assert!(
        version.contains(&format!(
            "<name>textgate</name><version>{}</version>",
            env!("CARGO_PKG_VERSION")
        )),
        "{version}"
    );
    check(
        "<iq CLIENT type='get' id='p1' from='library.test' to='sms.library.test'><ping xmlns='urn:xmpp:ping'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='sms.library.test' id='p1' to='library.test' type='result'/>"],
    );
    check(
        "<iq CLIENT type='get' id='u1' from='alice@library.test/phone' to='sms.library.test'><vCard xmlns='vcard-temp'/></iq>",
        expect![[r#"send <iq xmlns='jabber:component:accept' from='sms.library.test' id='u1' to='alice@library.test/phone' type='result'><vCard xmlns='vcard-temp'><FN>SMS gateway</FN><NICKNAME>SMS gateway</NICKNAME><DESC>Text messages to and from phones. Write to a number at this gateway (+15551234567@sms.library.test) to text it; send "help" here for the commands.</DESC><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgoAAAANSUhEUgAAAGAAAABgCAYAAADimHc4AAABVElEQVR42u3dMZICMQxFwbkJR+QgHBpyQg/4S1aryuFM8DrYWgqL67o5j+frPflcu2d68BiIuEEIQUMIIgYhhAsiCBZEECqMIFIQQKAggjBhBFGCAIKEEcQAAMAJAQgRRhABAAAHAABnAECXOQqg+7QGOGVaApw2rQBOnRYAp09pgCkDAACAcgDTBgAAAAAAAAAAAEBrgNX37H7uOIDV9+1+DgCA3wOsvnP3cwAAAAAAwB9hAAD8I+ajCB9FAAAAAAAAAAAAAPDFLAAAAPh6evP4LmiE47uiFI7vkl44vmuq4fguaoeix1cVVI8CYEj8FgCWdYg/E8C6miCAfUFBAAubggA2Zok/E8DOuCCApX1BAFsTgwDibwYQvwiA6EEAwf2GgF/QcAAAcL4AIITjAygAACEcH0KB+AAKAEAIx4dQID6EAvFBFAgPoUh8EAXCA/lP8A/x4V4Y6ilURwAAAABJRU5ErkJggg==</BINVAL></PHOTO></vCard></iq>"#]],
    );
    check(
        "<iq CLIENT type='set' id='u2' from='alice@library.test/phone' to='+15551234567@sms.library.test'><query xmlns='jabber:iq:roster'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='+15551234567@sms.library.test' id='u2' to='alice@library.test/phone' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>not supported by this gateway</text></error></iq>"],
    );
    check(
        "<iq CLIENT type='result' id='keepalive-3' from='library.test' to='sms.library.test'/>",
        expect!["answered keepalive-3"],
    );
}

#[test]
fn xep_0100_turns_typed_numbers_into_jids() {
    check(
        "<iq CLIENT type='get' id='g1' from='alice@library.test/phone' to='sms.library.test'><query xmlns='jabber:iq:gateway'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='sms.library.test' id='g1' to='alice@library.test/phone' type='result'><query xmlns='jabber:iq:gateway'><desc>Enter the phone number of the person you want to text, national or international.</desc><prompt>Phone Number</prompt></query></iq>"],
    );
    check(
        "<iq CLIENT type='set' id='g2' from='alice@library.test/phone' to='sms.library.test'>
           <query xmlns='jabber:iq:gateway'><prompt>(555) 123-4567</prompt></query></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='sms.library.test' id='g2' to='alice@library.test/phone' type='result'><query xmlns='jabber:iq:gateway'><jid>+15551234567@sms.library.test</jid><prompt>+15551234567@sms.library.test</prompt></query></iq>"],
    );
    check(
        "<iq CLIENT type='set' id='g3' from='alice@library.test/phone' to='sms.library.test'>
           <query xmlns='jabber:iq:gateway'><prompt>011 49 30 901820</prompt></query></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='sms.library.test' id='g3' to='alice@library.test/phone' type='result'><query xmlns='jabber:iq:gateway'><jid>+4930901820@sms.library.test</jid><prompt>+4930901820@sms.library.test</prompt></query></iq>"],
    );
    check(
        "<iq CLIENT type='set' id='g4' from='alice@library.test/phone' to='sms.library.test'>
           <query xmlns='jabber:iq:gateway'><prompt>the library</prompt></query></iq>",
        expect![[
            r#"send <iq xmlns='jabber:component:accept' from='sms.library.test' id='g4' to='alice@library.test/phone' type='error'><error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>"the library" is not a phone number: it contains letters</text></error></iq>"#
        ]],
    );
    check(
        "<iq CLIENT type='set' id='g5' from='alice@library.test/phone' to='sms.library.test'><query xmlns='jabber:iq:gateway'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='sms.library.test' id='g5' to='alice@library.test/phone' type='error'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>expected &lt;prompt&gt; with a phone number</text></error></iq>"],
    );
}

#[test]
fn operator_presence_is_tracked_per_resource() {
    let mut p = protocol();
    check_with(
        &mut p,
        "<presence CLIENT from='alice@library.test/phone' to='sms.library.test'><show>away</show></presence>",
        expect![[r#"
            send <presence xmlns='jabber:component:accept' from='sms.library.test' to='alice@library.test/phone'><priority>0</priority><x xmlns='vcard-temp:x:update'><photo>ed80078738af03f5abbdccc52f41ca34f32267bc</photo></x><nick xmlns='http://jabber.org/protocol/nick'>SMS gateway</nick></presence>
            emit OperatorPresence { operator: BareJid("alice@library.test"), resource: "phone", presence: Available(Away) }"#]],
    );
    check_with(
        &mut p,
        "<presence CLIENT from='Alice@library.test/desk' to='sms.library.test'/>",
        expect![[r#"
            send <presence xmlns='jabber:component:accept' from='sms.library.test' to='alice@library.test/desk'><priority>0</priority><x xmlns='vcard-temp:x:update'><photo>ed80078738af03f5abbdccc52f41ca34f32267bc</photo></x><nick xmlns='http://jabber.org/protocol/nick'>SMS gateway</nick></presence>
            emit OperatorPresence { operator: BareJid("alice@library.test"), resource: "desk", presence: Available(Online) }"#]],
    );
    check_with(
        &mut p,
        "<presence CLIENT type='unavailable' from='alice@library.test/phone' to='sms.library.test'/>",
        expect![[r#"emit OperatorPresence { operator: BareJid("alice@library.test"), resource: "phone", presence: Unavailable }"#]],
    );
    check_with(
        &mut p,
        "<presence CLIENT from='bob@library.test/laptop' to='sms.library.test'><show>dnd</show></presence>",
        expect![[r#"
            send <presence xmlns='jabber:component:accept' from='sms.library.test' to='bob@library.test/laptop'><priority>0</priority><x xmlns='vcard-temp:x:update'><photo>ed80078738af03f5abbdccc52f41ca34f32267bc</photo></x><nick xmlns='http://jabber.org/protocol/nick'>SMS gateway</nick></presence>
            emit OperatorPresence { operator: BareJid("bob@library.test"), resource: "laptop", presence: Available(Dnd) }"#]],
    );
    check_with(
        &mut p,
        "<presence CLIENT from='stranger@elsewhere.test/x' to='sms.library.test'/>",
        expect!["nothing"],
    );
    expect![[r#"
        [
            OperatorPresence {
                operator: BareJid(
                    "alice@library.test",
                ),
                resource: "desk",
                presence: Unavailable,
            },
            OperatorPresence {
                operator: BareJid(
                    "bob@library.test",
                ),
                resource: "laptop",
                presence: Unavailable,
            },
        ]
    "#]]
    .assert_debug_eq(&p.on_disconnected());
    assert!(p.on_disconnected().is_empty());
}

#[test]
fn bare_unavailable_ends_every_resource() {
    let mut p = protocol();
    p.handle(parse(
        "<presence xmlns='jabber:component:accept' from='alice@library.test/a'/>",
    ));
    p.handle(parse(
        "<presence xmlns='jabber:component:accept' from='alice@library.test/b'/>",
    ));
    check_with(
        &mut p,
        "<presence CLIENT type='unavailable' from='alice@library.test' to='sms.library.test'/>",
        expect![[r#"
            emit OperatorPresence { operator: BareJid("alice@library.test"), resource: "a", presence: Unavailable }
            emit OperatorPresence { operator: BareJid("alice@library.test"), resource: "b", presence: Unavailable }"#]],
    );
}

#[test]
fn subscriptions() {
    check(
        "<presence CLIENT type='subscribe' from='alice@library.test' to='sms.library.test'/>",
        expect![[r#"
            send <presence xmlns='jabber:component:accept' from='sms.library.test' to='alice@library.test' type='subscribed'><priority>0</priority></presence>
            send <presence xmlns='jabber:component:accept' from='sms.library.test' to='alice@library.test'><priority>0</priority><x xmlns='vcard-temp:x:update'><photo>ed80078738af03f5abbdccc52f41ca34f32267bc</photo></x><nick xmlns='http://jabber.org/protocol/nick'>SMS gateway</nick></presence>"#]],
    );
    check(
        "<presence CLIENT type='subscribe' from='alice@library.test' to='+15551234567@sms.library.test'/>",
        expect![[r#"
            send <presence xmlns='jabber:component:accept' from='+15551234567@sms.library.test' to='alice@library.test' type='subscribed'><priority>0</priority></presence>
            send <presence xmlns='jabber:component:accept' from='+15551234567@sms.library.test' to='alice@library.test'><priority>0</priority></presence>"#]],
    );
    check(
        "<presence CLIENT type='probe' from='bob@library.test' to='sms.library.test'/>",
        expect!["send <presence xmlns='jabber:component:accept' from='sms.library.test' to='bob@library.test'><priority>0</priority><x xmlns='vcard-temp:x:update'><photo>ed80078738af03f5abbdccc52f41ca34f32267bc</photo></x><nick xmlns='http://jabber.org/protocol/nick'>SMS gateway</nick></presence>"],
    );
    check(
        "<presence CLIENT type='subscribe' from='stranger@elsewhere.test' to='sms.library.test'/>",
        expect!["send <presence xmlns='jabber:component:accept' from='sms.library.test' to='stranger@elsewhere.test' type='unsubscribed'><priority>0</priority></presence>"],
    );
    check(
        "<presence CLIENT type='subscribed' from='alice@library.test' to='sms.library.test'/>",
        expect!["nothing"],
    );
}

#[test]
fn replies_from_operators() {
    check(
        "<message CLIENT type='chat' id='m1' from='alice@library.test/phone' to='+15551234567@sms.library.test'>
           <body>Your book is ready</body><request xmlns='urn:xmpp:receipts'/></message>",
        expect![[r#"emit OperatorReply(OperatorReply { operator: BareJid("alice@library.test"), from: "alice@library.test/phone", patron: E164("+15551234567"), body: "Your book is ready", id: Some("m1"), receipt_requested: Requested })"#]],
    );
    check(
        "<message CLIENT from='bob@library.test/desk' to='72345@sms.library.test'><body>STOP</body></message>",
        expect![[r#"emit OperatorReply(OperatorReply { operator: BareJid("bob@library.test"), from: "bob@library.test/desk", patron: ShortCode("72345"), body: "STOP", id: None, receipt_requested: NotRequested })"#]],
    );
    // Chat states and markers are not texts.
    check(
        "<message CLIENT type='chat' id='m2' from='alice@library.test/phone' to='+15551234567@sms.library.test'>
           <composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
        expect!["nothing"],
    );
    check(
        "<message CLIENT id='m3' from='alice@library.test/phone' to='+15551234567@sms.library.test'>
           <received xmlns='urn:xmpp:receipts' id='in-42'/></message>",
        expect![[r#"emit OperatorReceived { operator: BareJid("alice@library.test"), patron: E164("+15551234567"), id: "in-42" }"#]],
    );
    check(
        "<message CLIENT type='chat' id='m4' from='alice@library.test/phone' to='InternetSMS@sms.library.test'><body>hi</body></message>",
        expect!["send <message xmlns='jabber:component:accept' from='internetsms@sms.library.test' id='m4' to='alice@library.test/phone' type='error'><error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Not sent: internetsms is a name (the sender showed a name instead of a number), not a phone number, so it cannot receive texts.</text></error></message>"],
    );
    // A privacy handle is passed on for the gateway to look up.
    check(
        "<message CLIENT type='chat' id='m6' from='alice@library.test/phone' to='P-7kq2m9xd@sms.library.test'><body>hi</body></message>",
        expect![[r#"emit OperatorReply(OperatorReply { operator: BareJid("alice@library.test"), from: "alice@library.test/phone", patron: Alphanumeric("p-7kq2m9xd"), body: "hi", id: Some("m6"), receipt_requested: NotRequested })"#]],
    );
    check(
        "<message CLIENT type='chat' id='m5' from='alice@library.test/phone' to='sms.library.test'><body>help</body></message>",
        expect![[r#"emit Command(DeskRequest { operator: BareJid("alice@library.test"), from: "alice@library.test/phone", line: "help", via: Chat })"#]],
    );
    check(
        "<message CLIENT type='groupchat' from='alice@library.test/phone' to='+15551234567@sms.library.test'><body>x</body></message>",
        expect!["nothing"],
    );
}

#[test]
fn stanzas_for_other_domains_are_ignored() {
    check(
        "<iq CLIENT type='get' id='o1' from='alice@library.test/phone' to='library.test'><ping xmlns='urn:xmpp:ping'/></iq>",
        expect!["nothing"],
    );
    check(
        "<message CLIENT type='chat' from='mallory@elsewhere.test/x' to='alice@library.test'><body>hi</body></message>",
        expect!["nothing"],
    );
}

#[test]
fn strangers_are_forbidden() {
    check(
        "<message CLIENT type='chat' id='s1' from='spammer@elsewhere.test/bot' to='+15551234567@sms.library.test'><body>free money</body></message>",
        expect!["send <message xmlns='jabber:component:accept' from='+15551234567@sms.library.test' id='s1' to='spammer@elsewhere.test/bot' type='error'><error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Only this gateway's operators may send text messages through it.</text></error></message>"],
    );
    check(
        "<message CLIENT type='chat' from='spammer@elsewhere.test/bot' to='+15551234567@sms.library.test'><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
        expect!["nothing"],
    );
}

#[test]
fn bounces_of_our_messages_are_reported() {
    check(
        "<message CLIENT type='error' id='in-7' from='alice@library.test' to='+15551234567@sms.library.test'>
           <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
        expect![[r#"emit DeliveryFailed { operator: BareJid("alice@library.test"), patron: Some(E164("+15551234567")), id: Some("in-7"), reason: "ServiceUnavailable" }"#]],
    );
}

#[test]
fn outgoing_stanzas() {
    let p = protocol();
    let alice = BareJid::new("alice@library.test").unwrap();
    let patron = PatronAddress::E164("+15551234567".to_owned());
    let check_out = |request: Outgoing, expect: Expect| {
        let actual = match p.outgoing(request) {
            Ok(stanza) => stanza_xml(stanza),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&actual);
    };
    check_out(
        Outgoing::Text(TextToOperator {
            patron: patron.clone(),
            operator: alice.clone(),
            body: "bell\u{7} and tab\t".to_owned(),
            id: "in-1".to_owned(),
            delayed_since: Some(Utc.with_ymd_and_hms(2026, 11, 21, 23, 59, 58).unwrap()),
            receipt: ReceiptRequest::Requested,
        }),
        expect!["<message xmlns='jabber:component:accept' from='+15551234567@sms.library.test' id='in-1' to='alice@library.test' type='chat'><body>bell� and tab	</body><delay xmlns='urn:xmpp:delay' from='sms.library.test' stamp='2026-11-21T23:59:58+00:00'>Waited for an operator</delay><request xmlns='urn:xmpp:receipts'/></message>"],
    );
    check_out(
        Outgoing::Notice(Notice {
            from: NoticeSender::Patron(patron.clone()),
            to: alice.clone(),
            body: "bob@library.test took this conversation".to_owned(),
        }),
        expect!["<message xmlns='jabber:component:accept' from='+15551234567@sms.library.test' to='alice@library.test' type='chat'><body>bob@library.test took this conversation</body></message>"],
    );
    check_out(
        Outgoing::Error(ReplyError {
            to: "alice@library.test/phone".to_owned(),
            patron: patron.clone(),
            id: Some("m1".to_owned()),
            condition: ErrorCondition::PolicyViolation,
            text: "Too long: 9 SMS parts, the limit is 6.".to_owned(),
        }),
        expect!["<message xmlns='jabber:component:accept' from='+15551234567@sms.library.test' id='m1' to='alice@library.test/phone' type='error'><error type='modify'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Too long: 9 SMS parts, the limit is 6.</text></error></message>"],
    );
    check_out(
        Outgoing::Receipt {
            to: "alice@library.test/phone".to_owned(),
            patron: patron.clone(),
            id: "m1".to_owned(),
        },
        expect!["<message xmlns='jabber:component:accept' from='+15551234567@sms.library.test' to='alice@library.test/phone' type='chat'><received xmlns='urn:xmpp:receipts' id='m1'/></message>"],
    );
    check_out(
        Outgoing::Notice(Notice {
            from: NoticeSender::Gateway,
            to: BareJid::new("carol@library.test").unwrap(),
            body: "hello".to_owned(),
        }),
        expect!["error: carol@library.test is not an operator of this gateway"],
    );
}

#[test]
fn announcements_on_connect_and_shutdown() {
    let mut p = protocol();
    let lines: Vec<String> = p.on_connected().into_iter().map(stanza_xml).collect();
    expect![[r#"
        <presence xmlns='jabber:component:accept' from='sms.library.test' to='alice@library.test' type='probe'><priority>0</priority></presence>
        <presence xmlns='jabber:component:accept' from='sms.library.test' to='alice@library.test' type='subscribe'><priority>0</priority><nick xmlns='http://jabber.org/protocol/nick'>SMS gateway</nick></presence>
        <presence xmlns='jabber:component:accept' from='sms.library.test' to='alice@library.test'><priority>0</priority><x xmlns='vcard-temp:x:update'><photo>ed80078738af03f5abbdccc52f41ca34f32267bc</photo></x><nick xmlns='http://jabber.org/protocol/nick'>SMS gateway</nick></presence>
        <presence xmlns='jabber:component:accept' from='sms.library.test' to='bob@library.test' type='probe'><priority>0</priority></presence>
        <presence xmlns='jabber:component:accept' from='sms.library.test' to='bob@library.test' type='subscribe'><priority>0</priority><nick xmlns='http://jabber.org/protocol/nick'>SMS gateway</nick></presence>
        <presence xmlns='jabber:component:accept' from='sms.library.test' to='bob@library.test'><priority>0</priority><x xmlns='vcard-temp:x:update'><photo>ed80078738af03f5abbdccc52f41ca34f32267bc</photo></x><nick xmlns='http://jabber.org/protocol/nick'>SMS gateway</nick></presence>"#]]
    .assert_eq(&lines.join("\n"));
    let lines: Vec<String> = p.on_shutdown().into_iter().map(stanza_xml).collect();
    expect![[r#"
        <presence xmlns='jabber:component:accept' from='sms.library.test' to='alice@library.test' type='unavailable'><priority>0</priority></presence>
        <presence xmlns='jabber:component:accept' from='sms.library.test' to='bob@library.test' type='unavailable'><priority>0</priority></presence>"#]]
    .assert_eq(&lines.join("\n"));
}

#[test]
fn bad_configuration_is_refused() {
    let err =
        ComponentProtocol::new("user@sms.library.test", &[], "US".parse().unwrap()).unwrap_err();
    expect![[r#"component JID "user@sms.library.test" is not a valid domain JID: a component JID is a bare domain, without '@' or '/'"#]]
        .assert_eq(&err.to_string());
}

#[test]
fn unreadable_requests_get_an_error() {
    let p = protocol();
    let check_unreadable = |xml: &str, expect: Expect| {
        let element: Element = xml.parse().unwrap();
        let actual = match p.unreadable(&element, "bad priority") {
            Some(stanza) => stanza_xml(stanza),
            None => "nothing".to_owned(),
        };
        expect.assert_eq(&actual);
    };
    check_unreadable(
        "<iq xmlns='jabber:component:accept' type='get' id='x1' from='mallory@library.test/bot' to='sms.library.test'><a xmlns='urn:a'/><b xmlns='urn:b'/></iq>",
        expect!["<iq xmlns='jabber:component:accept' from='sms.library.test' id='x1' to='mallory@library.test/bot' type='error'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>unreadable request: bad priority</text></error></iq>"],
    );
    check_unreadable(
        "<iq xmlns='jabber:component:accept' type='result' id='x2' from='mallory@library.test/bot' to='sms.library.test'><a xmlns='urn:a'/><b xmlns='urn:b'/></iq>",
        expect!["nothing"],
    );
    check_unreadable(
        "<presence xmlns='jabber:component:accept' from='mallory@library.test/bot'><priority>high</priority></presence>",
        expect!["nothing"],
    );
    check_unreadable(
        "<iq xmlns='jabber:component:accept' type='get' id='x3' from='mallory@library.test/bot' to='library.test'><a xmlns='urn:a'/><b xmlns='urn:b'/></iq>",
        expect!["nothing"],
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn jid() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("alice@library.test/phone"),
            Just("Bob@Library.test"),
            Just("mallory@elsewhere.test/x"),
            Just("library.test"),
            Just("sms.library.test"),
            Just("+15551234567@sms.library.test"),
            Just("72345@sms.library.test"),
            Just("my\\20bank@sms.library.test"),
            Just("sms.library.test/res"),
        ]
    }

    fn stanza() -> impl Strategy<Value = String> {
        let kind = prop_oneof![
            Just("message type='chat'"),
            Just("message type='error'"),
            Just("message"),
            Just("presence"),
            Just("presence type='subscribe'"),
            Just("presence type='unavailable'"),
            Just("presence type='probe'"),
            Just("iq type='get' id='q'"),
            Just("iq type='set' id='q'"),
            Just("iq type='result' id='q'"),
        ];
        let payload = prop_oneof![
            Just(""),
            Just("<body>hello</body>"),
            Just("<request xmlns='urn:xmpp:receipts'/><body>x</body>"),
            Just("<received xmlns='urn:xmpp:receipts' id='a'/>"),
            Just("<show>dnd</show>"),
            Just("<query xmlns='http://jabber.org/protocol/disco#info'/>"),
            Just("<query xmlns='jabber:iq:gateway'><prompt>+44 20 7946 0018</prompt></query>"),
            Just("<ping xmlns='urn:xmpp:ping'/>"),
            Just("<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"),
        ];
        (kind, jid(), jid(), payload).prop_map(|(kind, from, to, payload)| {
            let name = kind.split(' ').next().unwrap_or(kind);
            format!(
                "<{kind} xmlns='jabber:component:accept' from='{from}' to='{to}'>{payload}</{name}>"
            )
        })
    }

    proptest! {
        /// Whatever arrives, everything the component sends carries a `from` in its own
        /// domain: Prosody closes the stream (`invalid-from`) on anything else.
        #[test]
        fn answers_always_come_from_the_gateway_domain(input in stanza()) {
            let element: Element = input.parse().unwrap();
            let stanza: Option<Stanza> = match element.name() {
                "iq" => Iq::try_from(element).ok().map(Stanza::from),
                "message" => Message::try_from(element).ok().map(Stanza::from),
                _ => Presence::try_from(element).ok().map(Stanza::from),
            };
            let Some(stanza) = stanza else { return Ok(()) };
            for action in protocol().handle(stanza) {
                if let Action::Send(sent) = action {
                    let from = match &sent {
                        Stanza::Iq(iq) => match iq {
                            Iq::Get { from, .. } | Iq::Set { from, .. } | Iq::Result { from, .. } | Iq::Error { from, .. } => from.clone(),
                        },
                        Stanza::Message(m) => m.from.clone(),
                        Stanza::Presence(p) => p.from.clone(),
                    };
                    let from = from.map(|f| f.domain().as_str().to_owned());
                    prop_assert_eq!(from.as_deref(), Some("sms.library.test"), "{}", stanza_xml(sent));
                }
            }
        }
    }
}

/// Clients without XEP-0100 leave typing a JID as the only way to start a conversation:
/// every form a person dials reaches the same patron, read with the gateway's region (US
/// here) as `textgate send` reads it, and what is not a number says why.
#[test]
fn numbers_in_every_dialable_form() {
    let patron_of = |localpart: &str| {
        let input = format!(
            "<message xmlns='jabber:component:accept' type='chat' id='n' from='alice@library.test/desk' to='{localpart}@sms.library.test'><body>hi</body></message>"
        );
        match protocol().handle(parse(&input)).pop() {
            Some(Action::Emit(GatewayEvent::OperatorReply(reply))) => format!("{:?}", reply.patron),
            Some(Action::Send(stanza)) => {
                let xml = stanza_xml(stanza);
                let text = xml
                    .split("xml:lang='en'>")
                    .nth(1)
                    .and_then(|t| t.split("</text>").next())
                    .unwrap_or(&xml)
                    .to_owned();
                format!("error: {text}")
            }
            other => format!("{other:?}"),
        }
    };
    let forms = [
        "+15551239999",
        "5551239999",
        "555-123-9999",
        "555.123.9999",
        r"555\20123\209999",
        r"+1\20555\20123\209999",
        "15551239999",
        "0114930901820",
        "004930901820",
        "72345",
        "555-CALL-NOW",
        "12",
        "+999",
    ];
    let lines: Vec<String> = forms
        .iter()
        .map(|form| format!("{form:<24} {}", patron_of(form)))
        .collect();
    expect![[r#"
        +15551239999             E164("+15551239999")
        5551239999               E164("+15551239999")
        555-123-9999             E164("+15551239999")
        555.123.9999             E164("+15551239999")
        555\20123\209999         E164("+15551239999")
        +1\20555\20123\209999    E164("+15551239999")
        15551239999              E164("+15551239999")
        0114930901820            E164("+4930901820")
        004930901820             E164("+4930901820")
        72345                    ShortCode("72345")
        555-CALL-NOW             error: Not sent: 555-call-now is a name (the sender showed a name instead of a number), not a phone number, so it cannot receive texts.
        12                       error: Not sent: "12" is not a phone number: the number is too short after the country code. Write to the number in international form, for example +15551234567@sms.library.test.
        +999                     error: Not sent: "+999" is not a phone number: invalid country code. Write to the number in international form, for example +15551234567@sms.library.test."#]].assert_eq(&lines.join("\n"));
}

/// Patrons get a vCard with their number as people write it, so clients show a name
/// rather than a raw JID; a name sender gets no telephone number.
#[test]
fn patron_vcards() {
    check(
        "<iq CLIENT type='get' id='v1' from='alice@library.test/desk' to='+4930901820@sms.library.test'><vCard xmlns='vcard-temp'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='+4930901820@sms.library.test' id='v1' to='alice@library.test/desk' type='result'><vCard xmlns='vcard-temp'><FN>+49 30 901820</FN><NICKNAME>+49 30 901820</NICKNAME><TEL><CELL/><NUMBER>+4930901820</NUMBER></TEL></vCard></iq>"],
    );
    check(
        "<iq CLIENT type='get' id='v2' from='alice@library.test/desk' to='5551239999@sms.library.test'><vCard xmlns='vcard-temp'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='5551239999@sms.library.test' id='v2' to='alice@library.test/desk' type='result'><vCard xmlns='vcard-temp'><FN>+1 555-123-9999</FN><NICKNAME>+1 555-123-9999</NICKNAME><TEL><CELL/><NUMBER>+15551239999</NUMBER></TEL></vCard></iq>"],
    );
    check(
        "<iq CLIENT type='get' id='v3' from='alice@library.test/desk' to='InternetSMS@sms.library.test'><vCard xmlns='vcard-temp'/></iq>",
        expect!["send <iq xmlns='jabber:component:accept' from='internetsms@sms.library.test' id='v3' to='alice@library.test/desk' type='result'><vCard xmlns='vcard-temp'><FN>internetsms</FN><NICKNAME>internetsms</NICKNAME></vCard></iq>"],
    );
}

/// A resource that comes online hears the gateway's presence at once (a client shows the
/// gateway offline otherwise); one already known does not hear it again on a change of
/// `show`.
#[test]
fn the_gateway_is_online_for_each_resource_that_comes_online() {
    let mut p = protocol().with_display_name("Library SMS");
    let first = render(p.handle(parse(
        "<presence xmlns='jabber:component:accept' from='alice@library.test/desk' to='sms.library.test'/>",
    )));
    let again = render(p.handle(parse(
        "<presence xmlns='jabber:component:accept' from='alice@library.test/desk' to='sms.library.test'><show>away</show></presence>",
    )));
    expect![[r#"
        send <presence xmlns='jabber:component:accept' from='sms.library.test' to='alice@library.test/desk'><priority>0</priority><x xmlns='vcard-temp:x:update'><photo>ed80078738af03f5abbdccc52f41ca34f32267bc</photo></x><nick xmlns='http://jabber.org/protocol/nick'>Library SMS</nick></presence>
        emit OperatorPresence { operator: BareJid("alice@library.test"), resource: "desk", presence: Available(Online) }
        --
        emit OperatorPresence { operator: BareJid("alice@library.test"), resource: "desk", presence: Available(Away) }"#]].assert_eq(&format!("{first}\n--\n{again}"));
}
