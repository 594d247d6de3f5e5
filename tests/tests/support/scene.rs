//! One gateway set up for a scenario: Prosody with the gateway's component and three
//! accounts (librarians alice and bob, and mallory, who is not an operator), a fresh
//! database, the simulated modem on a pseudo-terminal and the daemon connected to all.

use super::daemon::{self, Daemon, GatewaySection};
use super::database::Database;
use super::modem::Modem;
use super::prosody::{Prosody, HOST};
use super::xmpp::{to_xml, Element, Librarian};

pub const GW: &str = "sms.library.test";
pub const PATRON: &str = "+15551234567";
pub const PASSWORD: &str = "pw";

/// `[alerts]` with test keys (32 distinct bytes each, in hex; never use these anywhere).
pub const ALERTS: &str = r#"
[alerts]
blind_index_key = "02090f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da"
confirmation_key = "030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dc"

[alerts.encryption_key]
id = "test-1"
key = "01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da"
"#;

/// The JID a patron's number has at `domain`.
pub fn patron_jid(number: &str, domain: &str) -> String {
    format!("{number}@{domain}")
}

pub fn operator(user: &str) -> String {
    format!("{user}@{HOST}")
}

pub struct Scene {
    pub daemon: Daemon,
    pub modem: Modem,
    pub db: Database,
    pub prosody: Prosody,
    /// The configuration file the daemon reads (for the alert service's side of a test).
    pub config: String,
}

impl Scene {
    /// Starts everything; `extra` adds keys to the gateway's section.
    pub async fn start(extra: &str) -> Scene {
        Scene::start_with(extra, "", 3).await
    }

    /// Like [`Scene::start`], with keys for the driver and the outbox's attempts.
    pub async fn start_with(extra: &str, driver_extra: &str, max_attempts: u32) -> Scene {
        Scene::start_full("", extra, driver_extra, max_attempts).await
    }

    /// With the alert service on (`[alerts]` with fixed test keys): the web console and
    /// the STOP/START/HELP keywords.
    pub async fn start_with_alerts() -> Scene {
        Scene::start_full(ALERTS, "", "", 3).await
    }

    async fn start_full(
        sections: &str,
        extra: &str,
        driver_extra: &str,
        max_attempts: u32,
    ) -> Scene {
        let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
        for user in ["alice", "bob", "mallory"] {
            prosody
                .register(user, PASSWORD)
                .await
                .unwrap_or_else(|e| panic!("registering {user}: {e}"));
        }
        let db = Database::create().await;
        let modem = Modem::start().await;
        let section = GatewaySection {
            name: "library".into(),
            domain: GW.into(),
            secret: prosody.secret(GW),
            server: prosody.component_addr(),
            operators: vec![operator("alice"), operator("bob")],
            device: modem.path.clone(),
            extra: extra.to_owned(),
            driver_extra: driver_extra.to_owned(),
            max_attempts,
        };
        let config = daemon::config_with(&db.url, sections, &[section]);
        let daemon = Daemon::start(&config);
        Scene {
            daemon,
            modem,
            db,
            prosody,
            config,
        }
    }

    /// Logs a librarian in the way clients do: roster first, then initial presence.
    pub async fn online(&self, user: &str, resource: &str) -> Librarian {
        online(&self.prosody, user, resource).await
    }

    /// Logs a librarian in, approves the gateway's subscription request (the first time a
    /// librarian meets the gateway) and waits until the daemon counts them as available.
    pub async fn first_login(&mut self, user: &str, resource: &str) -> Librarian {
        let mut librarian = self.online(user, resource).await;
        approve(&mut librarian, GW).await;
        self.wait_available(user).await;
        librarian
    }

    pub async fn wait_available(&mut self, user: &str) {
        let jid = operator(user);
        self.daemon
            .expect_log(&["operator presence", &jid, "Available"])
            .await;
    }

    pub async fn wait_unavailable(&mut self, user: &str) {
        let jid = operator(user);
        self.daemon
            .expect_log(&["operator presence", &jid, "Unavailable"])
            .await;
    }
}

pub async fn online(prosody: &Prosody, user: &str, resource: &str) -> Librarian {
    online_at(&prosody.c2s_addr(), user, resource).await
}

/// Logs a librarian in at the client address `c2s` of any server (ejabberd's too): roster
/// first, then initial presence.
pub async fn online_at(c2s: &str, user: &str, resource: &str) -> Librarian {
    let mut librarian = Librarian::login(c2s, HOST, user, PASSWORD, resource)
        .await
        .unwrap_or_else(|e| panic!("{user} logs in: {e}"));
    librarian
        .come_online()
        .await
        .unwrap_or_else(|e| panic!("{user} comes online: {e}"));
    librarian
}

/// Alice's phone, as phone clients do it: it logs in at `c2s`, approves the gateway, turns
/// on stream management (XEP-0198) once the daemon counts it available, then loses its
/// network without closing its stream, so the server keeps the session for resumption.
pub async fn phone_that_vanishes(c2s: &str, daemon: &mut Daemon) {
    let mut phone = online_at(c2s, "alice", "phone").await;
    approve(&mut phone, GW).await;
    daemon
        .expect_log(&["operator presence", "phone", "Available"])
        .await;
    phone
        .enable_stream_management()
        .await
        .expect("stream management");
    phone.vanish();
}

/// Approves the subscription request of the gateway at `domain`.
pub async fn approve(librarian: &mut Librarian, domain: &str) {
    librarian
        .approve_subscription(domain)
        .await
        .unwrap_or_else(|e| panic!("approving {domain}: {e}"));
}

/// Sends a chat message to a patron.
pub async fn reply(librarian: &mut Librarian, to: &str, id: &str, body: &str, receipt: bool) {
    let request = if receipt {
        "<request xmlns='urn:xmpp:receipts'/>"
    } else {
        ""
    };
    let body = escape(body);
    librarian
        .send(&format!(
            "<message xmlns='jabber:client' type='chat' id='{id}' to='{to}'><body>{body}</body>{request}</message>"
        ))
        .await;
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Waits for a message with a body from `from`.
pub async fn text_from(librarian: &mut Librarian, from: &str) -> Element {
    librarian
        .expect(&format!("a text from {from}"), |e| {
            e.name() == "message"
                && e.attr("from") == Some(from)
                && e.attr("type") != Some("error")
                && e.get_child("body", "jabber:client").is_some()
        })
        .await
}

/// Waits for any message with a body (or an error) and returns it.
pub async fn next_message(librarian: &mut Librarian) -> Element {
    librarian
        .expect("a message", |e| {
            e.name() == "message" && e.get_child("body", "jabber:client").is_some()
        })
        .await
}

pub fn body(message: &Element) -> String {
    message
        .get_child("body", "jabber:client")
        .map(|b| b.text())
        .unwrap_or_else(|| panic!("no body in {}", to_xml(message)))
}

pub fn delay_stamp(message: &Element) -> Option<String> {
    message
        .get_child("delay", "urn:xmpp:delay")
        .and_then(|d| d.attr("stamp"))
        .map(str::to_owned)
}

/// The defined condition of an error stanza, e.g. `forbidden`.
pub fn error_condition(stanza: &Element) -> Option<String> {
    stanza
        .get_child("error", "jabber:client")?
        .children()
        .find(|c| c.ns() == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.name() != "text")
        .map(|c| c.name().to_owned())
}

pub fn error_text(stanza: &Element) -> String {
    stanza
        .get_child("error", "jabber:client")
        .and_then(|e| e.get_child("text", "urn:ietf:params:xml:ns:xmpp-stanzas"))
        .map(|t| t.text())
        .unwrap_or_default()
}
