//! One XEP-0114 connection to the server: TCP, stream header, handshake, then stanzas.
//!
//! Built on tokio-xmpp's XML stream layer rather than its `Component` type, because that
//! type ends the whole stream on the first stanza xmpp-parsers cannot read (a presence with
//! an odd `<show/>`, say). Any user of the server could then knock the gateway offline with
//! one malformed stanza. Here an unreadable stanza is reported and skipped, and the
//! connection goes on.

use std::io;

use futures::{SinkExt, StreamExt};
use tokio::io::BufStream;
use tokio::net::TcpStream;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::xmlstream::{initiate_stream, ReadError, StreamHeader, Timeouts, XmlStream};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::message::Message;
use xmpp_parsers::ns;
use xmpp_parsers::presence::Presence;
use xmpp_parsers::sha1::{Digest, Sha1};
use xmpp_parsers::stanza::Stanza;

const NS_STREAMS: &str = "http://etherx.jabber.org/streams";

/// What the server sent.
// One value per read, consumed at once; boxing the stanza would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Incoming {
    Stanza(Stanza),
    /// A stanza xmpp-parsers could not read; `why` says what is wrong with it.
    Unreadable {
        element: Element,
        why: String,
    },
    /// The connection is over (stream error, footer, I/O error).
    Closed(String),
}

/// A live, authenticated component connection.
pub struct ComponentLink {
    stream: XmlStream<BufStream<TcpStream>, Element>,
}

impl std::fmt::Debug for ComponentLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ComponentLink")
    }
}

impl ComponentLink {
    /// Connects to `server` (`host:port`) and authenticates as `domain` with `secret`.
    pub async fn connect(
        server: &str,
        domain: &str,
        secret: &str,
        timeouts: Timeouts,
    ) -> Result<ComponentLink, String> {
        let tcp = TcpStream::connect(server)
            .await
            .map_err(|e| format!("TCP connection to {server} failed: {e}"))?;
        let header = StreamHeader {
            from: None,
            to: Some(domain.to_owned().into()),
            id: None,
        };
        let mut pending = initiate_stream(BufStream::new(tcp), ns::COMPONENT, header, timeouts)
            .await
            .map_err(|e| format!("stream header exchange failed: {e}"))?;
        let stream_id = pending
            .take_header()
            .id
            .ok_or("the server's stream header has no id to compute the handshake from")?;
        let mut link = ComponentLink {
            stream: pending.skip_features(),
        };
        let digest = Sha1::digest(format!("{stream_id}{secret}").as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let handshake = Element::builder("handshake", ns::COMPONENT)
            .append(hex)
            .build();
        link.send_element(&handshake)
            .await
            .map_err(|e| format!("sending the handshake failed: {e}"))?;
        match link.next_element().await {
            Ok(answer) if answer.is("handshake", ns::COMPONENT) => Ok(link),
            Ok(answer) => Err(format!(
                "handshake refused for {domain}: {}",
                describe_stream_error(&answer)
            )),
            Err(reason) => Err(format!("handshake for {domain} failed: {reason}")),
        }
    }

    /// Sends one stanza.
    pub async fn send(&mut self, stanza: Stanza) -> io::Result<()> {
        let element: Element = match stanza {
            Stanza::Iq(iq) => iq.into(),
            Stanza::Message(message) => message.into(),
            Stanza::Presence(presence) => presence.into(),
        };
        self.send_element(&element).await
    }

    /// The next stanza, unreadable stanza or the end of the connection. Cancel-safe.
    pub async fn next(&mut self) -> Incoming {
        let element = match self.next_element().await {
            Ok(element) => element,
            Err(reason) => return Incoming::Closed(reason),
        };
        if element.ns() == NS_STREAMS {
            return Incoming::Closed(describe_stream_error(&element));
        }
        let name = element.name().to_owned();
        let parsed = match name.as_str() {
            "iq" => Iq::try_from(element.clone()).map(Stanza::from),
            "message" => Message::try_from(element.clone()).map(Stanza::from),
            "presence" => Presence::try_from(element.clone()).map(Stanza::from),
            _ => {
                return Incoming::Unreadable {
                    element,
                    why: format!("<{name}/> is not a stanza"),
                }
            }
        };
        match parsed {
            Ok(stanza) => Incoming::Stanza(stanza),
            Err(e) => Incoming::Unreadable {
                element,
                why: e.to_string(),
            },
        }
    }

    /// Sends the stream footer and shuts the connection down.
    pub async fn close(&mut self) -> io::Result<()> {
        SinkExt::<&Element>::close(&mut self.stream).await
    }

    async fn send_element(&mut self, element: &Element) -> io::Result<()> {
        self.stream.send(element).await
    }

    async fn next_element(&mut self) -> Result<Element, String> {
        loop {
            match self.stream.next().await {
                Some(Ok(element)) => return Ok(element),
                // Liveness is the keepalive's job; a quiet stream is not an error here.
                Some(Err(ReadError::SoftTimeout)) => continue,
                Some(Err(ReadError::ParseError(e))) => {
                    return Err(format!("the server sent malformed XML: {e}"))
                }
                Some(Err(ReadError::HardError(e))) => return Err(format!("connection lost: {e}")),
                Some(Err(ReadError::StreamFooterReceived)) | None => {
                    return Err("the server closed the stream".to_owned())
                }
            }
        }
    }
}

/// `<stream:error><conflict/><text>…</text></stream:error>` as "conflict: …".
fn describe_stream_error(element: &Element) -> String {
    if !element.is("error", NS_STREAMS) {
        return format!("unexpected <{}/>", element.name());
    }
    let mut condition = None;
    let mut text = None;
    for child in element.children() {
        if child.name() == "text" {
            text = Some(child.text());
        } else {
            condition = Some(child.name().to_owned());
        }
    }
    match (condition, text) {
        (Some(c), Some(t)) => format!("stream error {c}: {t}"),
        (Some(c), None) => format!("stream error {c}"),
        (None, Some(t)) => format!("stream error: {t}"),
        (None, None) => "stream error without a condition".to_owned(),
    }
}
