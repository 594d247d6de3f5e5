//! A librarian's XMPP client for tests: plain-text c2s with SASL PLAIN to a test Prosody,
//! built on tokio-xmpp's XML stream layer with raw `minidom` elements. tokio-xmpp's own
//! `Client` cannot be used here: the `component` feature (unified into every build of
//! xmpp-parsers in this workspace) switches the parsers' default namespace to
//! `jabber:component:accept`, so a client built with it would speak the wrong namespace.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::time::Duration;

use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use tokio::io::BufStream;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::xmlstream::{initiate_stream, ReadError, StreamHeader, Timeouts, XmlStream};

/// How long to wait for anything the server should send.
pub const WAIT: Duration = Duration::from_secs(15);

type Stream = XmlStream<BufStream<TcpStream>, Element>;

pub struct Librarian {
    stream: Stream,
    /// The full JID the server bound.
    pub jid: String,
}

fn header(host: &str) -> StreamHeader<'static> {
    StreamHeader {
        from: None,
        to: Some(host.to_owned().into()),
        id: None,
    }
}

pub fn element(xml: &str) -> Element {
    xml.parse()
        .unwrap_or_else(|e| panic!("test XML does not parse ({e}): {xml}"))
}

pub fn to_xml(element: &Element) -> String {
    let mut out = Vec::new();
    element.write_to(&mut out).expect("serialising an element");
    String::from_utf8(out).expect("UTF-8")
}

impl Librarian {
    /// Connects to `addr`, authenticates `user@host` with SASL PLAIN and binds `resource`.
    pub async fn login(
        addr: &str,
        host: &str,
        user: &str,
        password: &str,
        resource: &str,
    ) -> Librarian {
        timeout(
            WAIT,
            Self::login_inner(addr, host, user, password, resource),
        )
        .await
        .unwrap_or_else(|_| panic!("{user} could not log in within {WAIT:?}"))
    }

    async fn login_inner(
        addr: &str,
        host: &str,
        user: &str,
        password: &str,
        resource: &str,
    ) -> Librarian {
        let tcp = TcpStream::connect(addr).await.expect("connecting to c2s");
        let pending = initiate_stream(
            BufStream::new(tcp),
            "jabber:client",
            header(host),
            Timeouts::tight(),
        )
        .await
        .expect("stream header");
        let (_, mut stream) = pending
            .recv_features::<Element>()
            .await
            .expect("stream features");
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        let auth = element(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>"
        ));
        stream.send(&auth).await.expect("sending auth");
        let answer = next_element(&mut stream).await;
        assert!(
            answer.name() == "success",
            "SASL PLAIN failed for {user}: {}",
            to_xml(&answer)
        );
        let pending = stream
            .initiate_reset()
            .send_header(header(host))
            .await
            .expect("restarted stream");
        let (_, mut stream) = pending
            .recv_features::<Element>()
            .await
            .expect("features after auth");
        let bind = element(&format!(
            "<iq xmlns='jabber:client' type='set' id='bind-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"
        ));
        stream.send(&bind).await.expect("sending bind");
        let bound = next_element(&mut stream).await;
        let jid = bound
            .get_child("bind", "urn:ietf:params:xml:ns:xmpp-bind")
            .and_then(|b| b.get_child("jid", "urn:ietf:params:xml:ns:xmpp-bind"))
            .map(Element::text)
            .unwrap_or_else(|| panic!("bind failed: {}", to_xml(&bound)));
        Librarian { stream, jid }
    }

    /// Sends a stanza given as XML (with `xmlns='jabber:client'` on the root).
    pub async fn send(&mut self, xml: &str) {
        let stanza = element(xml);
        self.stream.send(&stanza).await.expect("sending a stanza");
    }

    /// Waits for the first stanza `accept` returns true for, skipping others.
    pub async fn expect(&mut self, what: &str, accept: impl Fn(&Element) -> bool) -> Element {
        let stream = &mut self.stream;
        let mut skipped = Vec::new();
        let found = timeout(WAIT, async {
            loop {
                let element = next_element(stream).await;
                if accept(&element) {
                    return element;
                }
                skipped.push(to_xml(&element));
            }
        })
        .await;
        found
            .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}; received instead: {skipped:#?}"))
    }

    /// Closes the stream the polite way, so the server sends unavailable presence.
    pub async fn logout(mut self) {
        let _ = timeout(WAIT, self.stream.shutdown()).await;
    }
}

async fn next_element(stream: &mut Stream) -> Element {
    loop {
        match stream.next().await {
            Some(Ok(element)) => return element,
            Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(e)) => panic!("reading from the server: {e}"),
            None => panic!("the server closed the stream"),
        }
    }
}
