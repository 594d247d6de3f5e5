//! The component against a real Prosody: handshake, disco and XEP-0100, operator presence,
//! messages both ways, strangers refused, reconnection after a server restart, and a
//! half-dead link noticed by the keepalive. Librarians log in over real c2s connections.

use std::time::Duration;

use chrono::TimeZone;
use textgate_core::{BareJid, PatronAddress, ResourcePresence, Show};
use textgate_testkit::prosody::{Prosody, HOST};
use textgate_testkit::xmpp::{element, to_xml, Librarian, WAIT};
use textgate_xmpp::{
    BackoffConfig, ComponentConfig, ComponentHandle, GatewayEvent, KeepaliveConfig, Outgoing,
    ReceiptRequest, TextToOperator,
};
use tokio::sync::mpsc;
use tokio::time::timeout;

const GW: &str = "sms.library.test";
const PATRON: &str = "+15551234567@sms.library.test";
const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";

fn config(server: String, secret: String, operators: &[&str]) -> ComponentConfig {
    let mut config = ComponentConfig::new(
        GW,
        secret,
        server,
        operators.iter().map(|o| BareJid::new(o).unwrap()).collect(),
        "US".parse().unwrap(),
    );
    // Quick retries keep the reconnection tests short; the schedule itself is unit-tested.
    config.backoff = BackoffConfig {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(500),
    };
    config
}

fn start(prosody: &Prosody, operators: &[&str]) -> (ComponentHandle, mpsc::Receiver<GatewayEvent>) {
    textgate_xmpp::spawn(config(
        prosody.component_addr(),
        prosody.secret(GW),
        operators,
    ))
    .unwrap()
}

/// Waits for the first event `accept` returns true for; the others are returned too, so a
/// test can check what came before.
async fn wait_for(
    events: &mut mpsc::Receiver<GatewayEvent>,
    what: &str,
    accept: impl Fn(&GatewayEvent) -> bool,
) -> (GatewayEvent, Vec<GatewayEvent>) {
    let mut before = Vec::new();
    let found = timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if accept(&event) {
                return Some(event);
            }
            before.push(event);
        }
        None
    })
    .await;
    match found {
        Ok(Some(event)) => (event, before),
        Ok(None) => panic!("session ended before {what}; events: {before:#?}"),
        Err(_) => panic!("no {what} within {WAIT:?}; events: {before:#?}"),
    }
}

fn alice_jid() -> BareJid {
    BareJid::new(&format!("alice@{HOST}")).unwrap()
}

fn is_presence_of(
    resource: &'static str,
    presence: ResourcePresence,
) -> impl Fn(&GatewayEvent) -> bool {
    move |e| {
        *e == GatewayEvent::OperatorPresence {
            operator: alice_jid(),
            resource: resource.to_owned(),
            presence,
        }
    }
}

/// Logs alice in the way clients do: fetch the roster, then send initial presence (Prosody
/// delivers pending subscription requests only to sessions that asked for the roster).
async fn alice_online(prosody: &Prosody, resource: &str) -> Librarian {
    let mut alice = login(prosody, "alice", resource).await;
    alice.come_online().await.expect("alice comes online");
    alice
}

/// Approves the gateway's subscription request, as a librarian does once in their client.
async fn approve_gateway(alice: &mut Librarian) {
    alice
        .approve_subscription(GW)
        .await
        .expect("alice approves the gateway's subscription request");
}

/// Starts Prosody with the gateway's component and the given accounts (password `pw`).
async fn prosody_with(users: &[&str]) -> Prosody {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    for user in users {
        prosody
            .register(user, "pw")
            .await
            .unwrap_or_else(|e| panic!("registering {user}: {e}"));
    }
    prosody
}

async fn login(prosody: &Prosody, user: &str, resource: &str) -> Librarian {
    Librarian::login(&prosody.c2s_addr(), HOST, user, "pw", resource)
        .await
        .unwrap_or_else(|e| panic!("{user} logs in: {e}"))
}

#[tokio::test]
async fn gateway_answers_disco_and_turns_typed_numbers_into_jids() {
    let prosody = prosody_with(&["alice"]).await;
    let (handle, mut events) = start(&prosody, &["alice@library.test"]);
    wait_for(&mut events, "connection", |e| *e == GatewayEvent::Connected).await;

    let mut alice = login(&prosody, "alice", "desk").await;
    alice
        .send(&format!(
            "<iq xmlns='jabber:client' type='get' id='disco-1' to='{GW}'><query xmlns='{DISCO_INFO}'/></iq>"
        ))
        .await;
    let answer = alice
        .expect("disco#info result", |e| e.attr("id") == Some("disco-1"))
        .await;
    let identity = answer
        .get_child("query", DISCO_INFO)
        .and_then(|q| q.get_child("identity", DISCO_INFO))
        .unwrap_or_else(|| panic!("no identity in {}", to_xml(&answer)));
    assert_eq!(
        (identity.attr("category"), identity.attr("type")),
        (Some("gateway"), Some("sms")),
        "{}",
        to_xml(&answer)
    );

    alice
        .send(&format!(
            "<iq xmlns='jabber:client' type='set' id='gw-1' to='{GW}'>\
               <query xmlns='jabber:iq:gateway'><prompt>(555) 123-4567</prompt></query></iq>"
        ))
        .await;
    let answer = alice
        .expect("jabber:iq:gateway result", |e| e.attr("id") == Some("gw-1"))
        .await;
    let jid = answer
        .get_child("query", "jabber:iq:gateway")
        .and_then(|q| q.get_child("jid", "jabber:iq:gateway"))
        .map(|j| j.text());
    assert_eq!(jid.as_deref(), Some(PATRON), "{}", to_xml(&answer));

    alice
        .send(&format!(
            "<iq xmlns='jabber:client' type='get' id='last-1' to='{GW}'><query xmlns='jabber:iq:last'/></iq>"
        ))
        .await;
    let answer = alice
        .expect("error for last activity", |e| {
            e.attr("id") == Some("last-1")
        })
        .await;
    let error = answer.get_child("error", "jabber:client");
    assert!(
        error.is_some_and(
            |e| e.has_child("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas")
        ),
        "{}",
        to_xml(&answer)
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn texts_flow_both_ways_with_presence_tracking() {
    let prosody = prosody_with(&["alice"]).await;
    let (handle, mut events) = start(&prosody, &["alice@library.test"]);
    wait_for(&mut events, "connection", |e| *e == GatewayEvent::Connected).await;

    let mut alice = alice_online(&prosody, "desk").await;
    approve_gateway(&mut alice).await;
    wait_for(
        &mut events,
        "alice online",
        is_presence_of("desk", ResourcePresence::Available(Show::Online)),
    )
    .await;
    alice
        .send("<presence xmlns='jabber:client'><show>away</show></presence>")
        .await;
    wait_for(
        &mut events,
        "alice away",
        is_presence_of("desk", ResourcePresence::Available(Show::Away)),
    )
    .await;

    // A patron's text that waited reaches alice with its delay stamp.
    let patron = PatronAddress::E164("+15551234567".to_owned());
    let smsc_time = chrono::Utc
        .with_ymd_and_hms(2026, 11, 21, 23, 59, 58)
        .unwrap();
    handle
        .send(Outgoing::Text(TextToOperator {
            patron: patron.clone(),
            operator: alice_jid(),
            body: "Is the library open on Sunday?\u{1b}".to_owned(),
            id: "in-1".to_owned(),
            delayed_since: Some(smsc_time),
            receipt: ReceiptRequest::NotRequested,
        }))
        .await
        .unwrap();
    let text = alice
        .expect("the patron's text", |e| {
            e.name() == "message" && e.attr("id") == Some("in-1")
        })
        .await;
    assert_eq!(text.attr("from"), Some(PATRON), "{}", to_xml(&text));
    let body = text.get_child("body", "jabber:client").map(|b| b.text());
    assert_eq!(
        body.as_deref(),
        Some("Is the library open on Sunday?\u{fffd}")
    );
    let stamp = text
        .get_child("delay", "urn:xmpp:delay")
        .and_then(|d| d.attr("stamp"));
    assert_eq!(
        stamp,
        Some("2026-11-21T23:59:58+00:00"),
        "{}",
        to_xml(&text)
    );

    // A chat state is not a reply; the text after it is.
    alice
        .send(&format!(
            "<message xmlns='jabber:client' type='chat' to='{PATRON}'>\
               <composing xmlns='http://jabber.org/protocol/chatstates'/></message>"
        ))
        .await;
    alice
        .send(&format!(
            "<message xmlns='jabber:client' type='chat' id='r-1' to='{PATRON}'>\
               <body>Yes, 12 to 5.</body><request xmlns='urn:xmpp:receipts'/></message>"
        ))
        .await;
    let (reply, _) = wait_for(&mut events, "alice's reply", |e| {
        matches!(e, GatewayEvent::OperatorReply(_))
    })
    .await;
    let GatewayEvent::OperatorReply(reply) = reply else {
        unreachable!("filtered above")
    };
    assert_eq!(reply.operator, alice_jid());
    assert_eq!(reply.from, alice.jid);
    assert_eq!(reply.patron, patron);
    assert_eq!(reply.body, "Yes, 12 to 5.");
    assert_eq!(reply.id.as_deref(), Some("r-1"));
    assert_eq!(reply.receipt_requested, ReceiptRequest::Requested);

    // The network's delivery report becomes a receipt on alice's message.
    handle
        .send(Outgoing::Receipt {
            to: reply.from.clone(),
            patron: patron.clone(),
            id: "r-1".to_owned(),
        })
        .await
        .unwrap();
    let receipt = alice
        .expect("receipt", |e| e.has_child("received", "urn:xmpp:receipts"))
        .await;
    assert_eq!(
        receipt
            .get_child("received", "urn:xmpp:receipts")
            .and_then(|r| r.attr("id")),
        Some("r-1")
    );

    // Alice follows the gateway's presence; shutting the gateway down tells her it is gone.
    alice
        .send(&format!(
            "<presence xmlns='jabber:client' type='subscribe' to='{GW}'/>"
        ))
        .await;
    alice
        .expect("the gateway's presence", |e| {
            e.name() == "presence" && e.attr("from") == Some(GW) && e.attr("type").is_none()
        })
        .await;
    handle.shutdown().await;
    alice
        .expect("the gateway going offline", |e| {
            e.name() == "presence"
                && e.attr("from") == Some(GW)
                && e.attr("type") == Some("unavailable")
        })
        .await;
}

#[tokio::test]
async fn operator_going_offline_is_reported() {
    let prosody = prosody_with(&["alice"]).await;
    let (handle, mut events) = start(&prosody, &["alice@library.test"]);
    wait_for(&mut events, "connection", |e| *e == GatewayEvent::Connected).await;
    let mut alice = alice_online(&prosody, "phone").await;
    approve_gateway(&mut alice).await;
    wait_for(
        &mut events,
        "alice online",
        is_presence_of("phone", ResourcePresence::Available(Show::Online)),
    )
    .await;
    alice.logout().await;
    wait_for(
        &mut events,
        "alice offline",
        is_presence_of("phone", ResourcePresence::Unavailable),
    )
    .await;
    handle.shutdown().await;
}

#[tokio::test]
async fn strangers_are_forbidden() {
    let prosody = prosody_with(&["alice", "mallory"]).await;
    let (handle, mut events) = start(&prosody, &["alice@library.test"]);
    wait_for(&mut events, "connection", |e| *e == GatewayEvent::Connected).await;

    let mut mallory = login(&prosody, "mallory", "bot").await;
    mallory
        .send(&format!(
            "<message xmlns='jabber:client' type='chat' id='spam-1' to='{PATRON}'><body>free money</body></message>"
        ))
        .await;
    let error = mallory
        .expect("an error", |e| e.attr("id") == Some("spam-1"))
        .await;
    assert_eq!(error.attr("type"), Some("error"), "{}", to_xml(&error));
    assert!(
        error
            .get_child("error", "jabber:client")
            .is_some_and(|e| e.has_child("forbidden", "urn:ietf:params:xml:ns:xmpp-stanzas")),
        "{}",
        to_xml(&error)
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn malformed_stanzas_do_not_break_the_link() {
    let prosody = prosody_with(&["mallory"]).await;
    let (handle, mut events) = start(&prosody, &["alice@library.test"]);
    wait_for(&mut events, "connection", |e| *e == GatewayEvent::Connected).await;

    // Prosody passes these on, but xmpp-parsers cannot read them.
    let bad_show =
        "<presence xmlns='jabber:client' to='sms.library.test'><show>bogus</show></presence>";
    let bad_priority =
        "<presence xmlns='jabber:client' to='+15551234567@sms.library.test'><priority>high</priority></presence>";
    for stanza in [bad_show, bad_priority] {
        let as_component = element(&stanza.replace("jabber:client", "jabber:component:accept"));
        assert!(
            xmpp_parsers::presence::Presence::try_from(as_component).is_err(),
            "xmpp-parsers reads {stanza}, so this test would prove nothing"
        );
    }
    let mut mallory = login(&prosody, "mallory", "bot").await;
    mallory.send(bad_show).await;
    mallory.send(bad_priority).await;

    // The same connection still answers.
    mallory
        .send(&format!(
            "<iq xmlns='jabber:client' type='get' id='ping-1' to='{GW}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
    let pong = mallory
        .expect("a pong", |e| e.attr("id") == Some("ping-1"))
        .await;
    assert_eq!(pong.attr("type"), Some("result"), "{}", to_xml(&pong));
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, GatewayEvent::Disconnected { .. })),
        "{seen:#?}"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn reconnects_after_prosody_restarts() {
    let mut prosody = prosody_with(&["alice"]).await;
    let (handle, mut events) = start(&prosody, &["alice@library.test"]);
    wait_for(&mut events, "connection", |e| *e == GatewayEvent::Connected).await;
    let mut alice = alice_online(&prosody, "desk").await;
    approve_gateway(&mut alice).await;
    wait_for(
        &mut events,
        "alice online",
        is_presence_of("desk", ResourcePresence::Available(Show::Online)),
    )
    .await;

    prosody.restart().await.expect("Prosody restarts");
    let (_, before) = wait_for(&mut events, "disconnection", |e| {
        matches!(e, GatewayEvent::Disconnected { .. })
    })
    .await;
    // What was known about alice is withdrawn before the disconnection is announced.
    assert!(
        before
            .iter()
            .any(is_presence_of("desk", ResourcePresence::Unavailable)),
        "{before:#?}"
    );
    wait_for(&mut events, "reconnection", |e| {
        *e == GatewayEvent::Connected
    })
    .await;

    // The subscription survived in Prosody's data: alice's new session is seen at once.
    let _alice = alice_online(&prosody, "laptop").await;
    wait_for(
        &mut events,
        "alice online again",
        is_presence_of("laptop", ResourcePresence::Available(Show::Online)),
    )
    .await;
    handle.shutdown().await;
}

#[tokio::test]
async fn a_second_instance_waits_for_the_first_to_leave() {
    let prosody = prosody_with(&[]).await;
    let (first, mut first_events) = start(&prosody, &[]);
    wait_for(&mut first_events, "first connection", |e| {
        *e == GatewayEvent::Connected
    })
    .await;

    // Prosody allows one connection per component: the second is refused with `conflict`
    // and keeps retrying until the first one is gone.
    let (second, mut second_events) = start(&prosody, &[]);
    let (event, _) = wait_for(&mut second_events, "refusal", |e| {
        matches!(e, GatewayEvent::Disconnected { .. })
    })
    .await;
    let GatewayEvent::Disconnected { reason, .. } = event else {
        unreachable!("filtered above")
    };
    assert!(reason.contains("conflict"), "{reason}");
    first.shutdown().await;
    wait_for(&mut second_events, "second connection", |e| {
        *e == GatewayEvent::Connected
    })
    .await;
    second.shutdown().await;
}

#[tokio::test]
async fn keepalive_notices_a_half_dead_link() {
    let prosody = prosody_with(&[]).await;
    let proxy = proxy::FreezingProxy::start(prosody.component_addr()).await;
    let mut config = config(proxy.addr(), prosody.secret(GW), &[]);
    config.keepalive = KeepaliveConfig {
        interval: Duration::from_millis(200),
        timeout: Duration::from_millis(200),
        target: Some(HOST.to_owned()),
    };
    let (handle, mut events) = textgate_xmpp::spawn(config).unwrap();
    wait_for(&mut events, "connection", |e| *e == GatewayEvent::Connected).await;

    // The server side goes away while the component's socket stays open and silent.
    proxy.freeze();
    let (event, _) = wait_for(&mut events, "disconnection", |e| {
        matches!(e, GatewayEvent::Disconnected { .. })
    })
    .await;
    let GatewayEvent::Disconnected { reason, .. } = event else {
        unreachable!("filtered above")
    };
    assert!(reason.contains("keepalive"), "{reason}");
    wait_for(&mut events, "reconnection", |e| {
        *e == GatewayEvent::Connected
    })
    .await;
    handle.shutdown().await;
}

mod proxy {
    //! A TCP proxy that can "freeze" its current connections: the link to the server is
    //! closed while the client's socket stays open and silent, like a NAT that forgot the
    //! connection. New connections after a freeze are forwarded normally.

    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::watch;

    pub struct FreezingProxy {
        addr: String,
        freeze: Arc<watch::Sender<u64>>,
    }

    impl FreezingProxy {
        pub async fn start(upstream: String) -> FreezingProxy {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let (freeze, _) = watch::channel(0u64);
            let freeze = Arc::new(freeze);
            let freezer = freeze.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    let generation = *freezer.borrow();
                    tokio::spawn(forward(client, server, freezer.subscribe(), generation));
                }
            });
            FreezingProxy { addr, freeze }
        }

        pub fn addr(&self) -> String {
            self.addr.clone()
        }

        pub fn freeze(&self) {
            self.freeze.send_modify(|generation| *generation += 1);
        }
    }

    async fn forward(
        client: TcpStream,
        server: TcpStream,
        mut frozen: watch::Receiver<u64>,
        generation: u64,
    ) {
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let mut up = [0u8; 4096];
        let mut down = [0u8; 4096];
        loop {
            tokio::select! {
                n = client_read.read(&mut up) => match n {
                    Ok(0) | Err(_) => return,
                    Ok(n) => if server_write.write_all(&up[..n]).await.is_err() { return },
                },
                n = server_read.read(&mut down) => match n {
                    Ok(0) | Err(_) => return,
                    Ok(n) => if client_write.write_all(&down[..n]).await.is_err() { return },
                },
                changed = frozen.changed() => {
                    if changed.is_err() || *frozen.borrow() != generation {
                        break;
                    }
                }
            }
        }
        // Frozen: drop the server side, keep reading (and discarding) from the client so its
        // writes succeed, and never answer.
        drop(server_write);
        drop(server_read);
        while let Ok(n) = client_read.read(&mut up).await {
            if n == 0 {
                break;
            }
        }
        drop(client_write);
    }
}
