//! The XEP-0114 component session per gateway (reconnect, keepalive) and the mapping between
//! stanzas and textgate's own types.
//!
//! tokio-xmpp and xmpp-parsers stay inside this crate: the public API speaks
//! [`textgate_core`] types (bare JIDs, patron addresses, presence) and plain strings.
//!
//! - [`config`]: what a session needs to know (server, secret, operators, keepalive, backoff).
//! - [`protocol`]: the stanza handling as a state machine without I/O: a stanza in, stanzas
//!   to send and events for the daemon out. Unit-tested on XML.
//! - [`link`]: one authenticated XEP-0114 connection (handshake, stanzas in and out).
//! - [`session`]: the tokio task that connects, reconnects with backoff, pings the server and
//!   runs the protocol; [`spawn`] starts one and returns a [`ComponentHandle`].
//! - [`sanitize`]: making SMS text safe to put into XML.
//! - [`announcer`]: the alerts' own component, which sends alerts to people's JIDs and to a
//!   staff room (XEP-0045), and nothing else.
//!
//! Things learnt against Prosody 0.12 that the daemon and its operators should know:
//! - The gateway learns an operator's presence only once the operator has approved its
//!   subscription request (once, in their client; it is kept in their roster). Prosody
//!   hands pending requests only to sessions that fetched their roster, as clients do.
//! - At start-up the gateway probes before it asks for the subscription: Prosody answers a
//!   probe from a non-contact with `unsubscribed` on the user's behalf, which would decline
//!   a request sent before it.
//! - Only one connection per component: a second daemon for the same gateway is refused
//!   with `conflict` and keeps retrying until the first one leaves.
//! - [`ComponentHandle::send`] answers [`SendError::NotConnected`] between connections; the
//!   store keeps the text and the daemon sends it again after [`GatewayEvent::Connected`].

#![forbid(unsafe_code)]

pub mod announcer;
pub mod backoff;
pub mod config;
mod keepalive;
pub mod link;
pub mod protocol;
pub mod sanitize;
pub mod session;

pub use config::{BackoffConfig, ComponentConfig, KeepaliveConfig};
pub use protocol::{
    DeskAnswer, DeskRequest, ErrorCondition, GatewayEvent, Notice, NoticeSender, OperatorReply,
    Outgoing, ReceiptRequest, ReplyError, RequestVia, TextToOperator,
};
pub use session::{spawn, ComponentHandle, SendError};

/// What can go wrong setting a session up.
#[derive(Debug, thiserror::Error)]
pub enum XmppError {
    #[error("component JID {jid:?} is not a valid domain JID: {reason}")]
    BadComponentJid { jid: String, reason: String },
    #[error("operator JID {jid:?} is not valid: {reason}")]
    BadOperatorJid { jid: String, reason: String },
    #[error("keepalive target {jid:?} is not a valid JID: {reason}")]
    BadPingTarget { jid: String, reason: String },
}
