//! A librarian's XMPP client: plain-text c2s with SASL PLAIN to a local test server (the
//! throw-away [`crate::prosody`], or the ejabberd of the xmpp crate's example), built on
//! tokio-xmpp's XML stream layer with raw `minidom` elements. tokio-xmpp's own `Client`
//! cannot be used here: the `component` feature (unified into every build of xmpp-parsers in
//! this workspace) switches the parsers' default namespace to `jabber:component:accept`, so
//! a client built with it would speak the wrong namespace.
//!
//! Logging in and the steps every librarian takes once ([`Librarian::come_online`],
//! [`Librarian::approve_subscription`]) return an error saying what failed: the demo reports
//! it, tests `expect` it. [`Librarian::write`] and [`Librarian::wait_for`] send and await
//! stanzas the same way; [`Librarian::send`] and [`Librarian::expect`] are their forms for
//! tests, which panic with the reason (for a wait, with everything that arrived instead).
//! Stanzas are written as XML with `xmlns='jabber:client'` on the root.

use std::time::Duration;

use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use tokio::io::BufStream;
use tokio::net::TcpStream;
use tokio::time::timeout;
pub use tokio_xmpp::minidom::Element;
use tokio_xmpp::xmlstream::{
    initiate_stream, PendingFeaturesRecv, ReadError, StreamHeader, Timeouts, XmlStream,
};

/// How long to wait for anything the server should send, and for a login.
pub const WAIT: Duration = Duration::from_secs(15);

type Stream = XmlStream<BufStream<TcpStream>, Element>;

/// What went wrong talking to the server.
#[derive(thiserror::Error)]
pub enum XmppError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("XMPP stream set-up failed at the {step}: {reason}")]
    Stream { step: &'static str, reason: String },
    #[error("SASL PLAIN failed for {user}: {answer}")]
    Auth { user: String, answer: String },
    #[error("resource binding failed: {answer}")]
    Bind { answer: String },
    #[error("{user} could not log in within {:?}", WAIT)]
    LoginTimeout { user: String },
    #[error("not valid XML ({reason}): {xml}")]
    Xml { xml: String, reason: String },
    #[error("sending to the server: {source}")]
    Write { source: std::io::Error },
    #[error("reading from the server: {reason}")]
    Read { reason: String },
    #[error("the server closed the stream")]
    Closed,
    #[error("no {what} within {within:?}; received instead: {skipped:#?}")]
    Timeout {
        what: String,
        within: Duration,
        skipped: Vec<String>,
    },
}

/// The message itself, so a test's `expect` shows the stanzas that arrived one per line
/// rather than as one escaped string.
impl std::fmt::Debug for XmppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Parses one XML element (a stanza to send, or a test's expectation).
pub fn parse(xml: &str) -> Result<Element, XmppError> {
    xml.parse()
        .map_err(|e: tokio_xmpp::minidom::Error| XmppError::Xml {
            xml: xml.to_owned(),
            reason: e.to_string(),
        })
}

/// [`parse`] for XML a test wrote itself: panics if it does not parse.
pub fn element(xml: &str) -> Element {
    parse(xml).unwrap_or_else(|e| panic!("test XML does not parse: {e}"))
}

/// The element as XML, for messages.
pub fn to_xml(element: &Element) -> String {
    String::from(element)
}

/// The SASL PLAIN initial response (RFC 4616): no authorisation identity, the user and the
/// password, separated by NUL bytes, in base64.
pub fn sasl_plain(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

/// Turns an error of stream set-up `step` into an [`XmppError`].
fn failed_at<E: std::fmt::Display>(step: &'static str) -> impl FnOnce(E) -> XmppError {
    move |e| XmppError::Stream {
        step,
        reason: e.to_string(),
    }
}

fn header(host: &str) -> StreamHeader<'static> {
    StreamHeader {
        from: None,
        to: Some(host.to_owned().into()),
        id: None,
    }
}

/// One librarian's c2s session.
pub struct Librarian {
    stream: Stream,
    /// The full JID the server bound.
    pub jid: String,
    /// Whether messages asking for a delivery receipt (XEP-0184) are confirmed as they
    /// are read, as Conversations, Gajim, Dino and most clients do. On by default.
    pub answers_receipts: bool,
}

impl Librarian {
    /// Connects to `addr`, authenticates `user@host` with SASL PLAIN and binds `resource`,
    /// all within [`WAIT`].
    pub async fn login(
        addr: &str,
        host: &str,
        user: &str,
        password: &str,
        resource: &str,
    ) -> Result<Librarian, XmppError> {
        timeout(
            WAIT,
            Self::login_unbounded(addr, host, user, password, resource),
        )
        .await
        .map_err(|_| XmppError::LoginTimeout {
            user: user.to_owned(),
        })?
    }

    async fn login_unbounded(
        addr: &str,
        host: &str,
        user: &str,
        password: &str,
        resource: &str,
    ) -> Result<Librarian, XmppError> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|source| XmppError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        let pending = initiate_stream(
            BufStream::new(tcp),
            "jabber:client",
            header(host),
            Timeouts::tight(),
        )
        .await
        .map_err(failed_at("stream header"))?;
        let mut stream = features(pending, "stream features").await?;
        let auth = parse(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>",
            sasl_plain(user, password)
        ))?;
        let answer = ask(&mut stream, &auth).await?;
        if answer.name() != "success" {
            return Err(XmppError::Auth {
                user: user.to_owned(),
                answer: to_xml(&answer),
            });
        }
        let pending = stream
            .initiate_reset()
            .send_header(header(host))
            .await
            .map_err(failed_at("restarted stream header"))?;
        let mut stream = features(pending, "stream features after authentication").await?;
        let bind = parse(&format!(
            "<iq xmlns='jabber:client' type='set' id='bind-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"
        ))?;
        let bound = ask(&mut stream, &bind).await?;
        let jid = bound
            .get_child("bind", "urn:ietf:params:xml:ns:xmpp-bind")
            .and_then(|b| b.get_child("jid", "urn:ietf:params:xml:ns:xmpp-bind"))
            .map(Element::text)
            .ok_or_else(|| XmppError::Bind {
                answer: to_xml(&bound),
            })?;
        Ok(Librarian {
            stream,
            jid,
            answers_receipts: true,
        })
    }

    /// Sends a stanza given as XML (with `xmlns='jabber:client'` on the root).
    pub async fn write(&mut self, xml: &str) -> Result<(), XmppError> {
        let stanza = parse(xml)?;
        self.stream
            .send(&stanza)
            .await
            .map_err(|source| XmppError::Write { source })
    }

    /// [`Librarian::write`] for tests: a failure panics with its reason.
    pub async fn send(&mut self, xml: &str) {
        if let Err(e) = self.write(xml).await {
            panic!("{e}");
        }
    }

    /// Waits up to `within` for the first stanza `accept` returns true for, skipping others;
    /// the error lists what was skipped. `what` names the stanza for that message.
    pub async fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        accept: impl Fn(&Element) -> bool,
    ) -> Result<Element, XmppError> {
        let answers_receipts = self.answers_receipts;
        let stream = &mut self.stream;
        let mut skipped = Vec::new();
        let found = timeout(within, async {
            loop {
                let element = next_element(stream).await?;
                if let Some(receipt) = receipt_for(&element).filter(|_| answers_receipts) {
                    stream
                        .send(&receipt)
                        .await
                        .map_err(|source| XmppError::Write { source })?;
                }
                if accept(&element) {
                    return Ok::<_, XmppError>(element);
                }
                skipped.push(to_xml(&element));
            }
        })
        .await;
        found.unwrap_or_else(|_| {
            Err(XmppError::Timeout {
                what: what.to_owned(),
                within,
                skipped,
            })
        })
    }

    /// [`Librarian::wait_for`] within [`WAIT`], for tests: panics with what arrived instead.
    pub async fn expect(&mut self, what: &str, accept: impl Fn(&Element) -> bool) -> Element {
        match self.wait_for(what, WAIT, accept).await {
            Ok(element) => element,
            Err(e) => panic!("{e}"),
        }
    }

    /// Comes online the way clients do: fetches the roster, then sends initial presence.
    /// (Prosody delivers pending subscription requests only to sessions that asked for the
    /// roster.)
    pub async fn come_online(&mut self) -> Result<(), XmppError> {
        self.write(
            "<iq xmlns='jabber:client' type='get' id='roster-1'><query xmlns='jabber:iq:roster'/></iq>",
        )
        .await?;
        self.wait_for("the roster", WAIT, |e| e.attr("id") == Some("roster-1"))
            .await?;
        self.write("<presence xmlns='jabber:client'/>").await
    }

    /// Waits for the subscription request of `from` (a gateway asking to see this
    /// librarian's presence) and approves it, as a librarian does once in their client.
    pub async fn approve_subscription(&mut self, from: &str) -> Result<(), XmppError> {
        self.wait_for("a subscription request from the gateway", WAIT, |e| {
            e.name() == "presence"
                && e.attr("type") == Some("subscribe")
                && e.attr("from") == Some(from)
        })
        .await?;
        self.write(&format!(
            "<presence xmlns='jabber:client' type='subscribed' to='{from}'/>"
        ))
        .await
    }

    /// Enables stream management (XEP-0198) with resumption, as Conversations, Monal and
    /// Siskin do: should the connection drop, the server keeps the session for a while and
    /// queues what is sent to it.
    pub async fn enable_stream_management(&mut self) -> Result<(), XmppError> {
        self.write("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
            .await?;
        self.wait_for("stream management enabled", WAIT, |e| {
            e.name() == "enabled" && e.ns() == "urn:xmpp:sm:3"
        })
        .await?;
        Ok(())
    }

    /// Drops the connection without closing the stream: a phone that lost its network. A
    /// server with stream management keeps the session for resumption; others end it.
    pub fn vanish(self) {
        drop(self);
    }

    /// Closes the stream the polite way, so the server sends unavailable presence.
    pub async fn logout(mut self) {
        let _ = timeout(WAIT, self.stream.shutdown()).await;
    }
}

/// The receipt a client sends for `message` (XEP-0184 §5): one that asks for it, has an
/// id to confirm, and is not an error or groupchat message.
fn receipt_for(message: &Element) -> Option<Element> {
    if message.name() != "message"
        || matches!(message.attr("type"), Some("error" | "groupchat"))
        || message.get_child("request", "urn:xmpp:receipts").is_none()
    {
        return None;
    }
    let (from, id) = (message.attr("from")?, message.attr("id")?);
    let xml = format!(
        "<message xmlns='jabber:client' to='{}' id='receipt-{}'><received xmlns='urn:xmpp:receipts' id='{}'/></message>",
        escape(from),
        escape(id),
        escape(id)
    );
    parse(&xml).ok()
}

/// Text made safe for an XML attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

/// The stream once the server's features arrived (their content does not matter here: the
/// test servers offer what the login needs).
async fn features(
    pending: PendingFeaturesRecv<BufStream<TcpStream>>,
    step: &'static str,
) -> Result<Stream, XmppError> {
    let (_, stream) = pending
        .recv_features::<Element>()
        .await
        .map_err(failed_at(step))?;
    Ok(stream)
}

/// Sends one step of the login and returns the server's answer.
async fn ask(stream: &mut Stream, request: &Element) -> Result<Element, XmppError> {
    stream
        .send(request)
        .await
        .map_err(|source| XmppError::Write { source })?;
    next_element(stream).await
}

/// The next element from the server, across soft timeouts (a quiet server is no error).
async fn next_element(stream: &mut Stream) -> Result<Element, XmppError> {
    loop {
        match stream.next().await {
            Some(Ok(element)) => return Ok(element),
            Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(e)) => {
                return Err(XmppError::Read {
                    reason: e.to_string(),
                })
            }
            None => return Err(XmppError::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_plain_is_nul_separated_base64() {
        let encoded = [("a", "b"), ("alice", "pw"), ("", "")]
            .map(|(user, password)| sasl_plain(user, password));
        expect_test::expect![[r#"["AGEAYg==", "AGFsaWNlAHB3", "AAA="]"#]]
            .assert_eq(&format!("{encoded:?}"));
    }

    #[test]
    fn stanzas_that_do_not_parse_are_errors_naming_the_xml() {
        let error = parse("<presence").map(|e| to_xml(&e));
        assert!(
            matches!(&error, Err(XmppError::Xml { xml, .. }) if xml == "<presence"),
            "{error:?}"
        );
    }
}
