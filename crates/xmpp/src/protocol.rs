//! The component's stanza handling without I/O. [`ComponentProtocol::handle`] takes a stanza
//! from the server and returns what to do: stanzas to send back (disco, version, ping,
//! XEP-0100 answers, subscription answers, errors) and [`GatewayEvent`]s for the daemon
//! (operator presence, replies to patrons). [`ComponentProtocol::outgoing`] turns the
//! daemon's requests into stanzas. The session in [`crate::session`] only moves stanzas.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use textgate_core::{BareJid, PatronAddress, PatronHandle, Region, ResourcePresence, Show};
use xmpp_parsers::date;
use xmpp_parsers::delay::Delay;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Id as MessageId, Lang, Message, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::presence::{Presence, Show as XmppShow, Type as PresenceType};
use xmpp_parsers::receipts::{Received, Request};
use xmpp_parsers::stanza::Stanza;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

use crate::sanitize::xml_safe;
use crate::XmppError;

const NS_RECEIPTS: &str = "urn:xmpp:receipts";
/// Something the daemon needs to know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayEvent {
    /// The component is connected and has announced itself to its operators.
    Connected,
    /// The connection is gone; the session reconnects after `retry_in`. Every operator
    /// resource known before has been reported unavailable just before this event.
    Disconnected {
        reason: String,
        retry_in: std::time::Duration,
    },
    /// A resource of an operator changed presence (feed it to the `QueueRouter`).
    OperatorPresence {
        operator: BareJid,
        resource: String,
        presence: ResourcePresence,
    },
    /// An operator wrote to a patron.
    OperatorReply(OperatorReply),
    /// An operator asked the gateway itself for something: a chat message to its JID or
    /// an ad-hoc command (XEP-0050). Answer with [`Outgoing::Answer`].
    Command(DeskRequest),
    /// An operator's client confirmed it received a message we sent (XEP-0184).
    OperatorReceived {
        operator: BareJid,
        patron: PatronAddress,
        id: String,
    },
    /// A message we sent to an operator came back as an error (e.g. the account is gone).
    DeliveryFailed {
        operator: BareJid,
        patron: Option<PatronAddress>,
        id: Option<String>,
        reason: String,
    },
}

/// A message from an operator to a patron, to be sent as SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorReply {
    pub operator: BareJid,
    /// The full JID it came from, where receipts and errors go back to.
    pub from: String,
    pub patron: PatronAddress,
    pub body: String,
    /// The stanza id, which receipts and errors refer to (absent if the client sent none).
    pub id: Option<String>,
    pub receipt_requested: ReceiptRequest,
}

/// Whether a receipt (XEP-0184) is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptRequest {
    Requested,
    NotRequested,
}

/// A patron's text on its way to an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextToOperator {
    pub patron: PatronAddress,
    pub operator: BareJid,
    pub body: String,
    /// Stanza id, so that receipts and bounces can be matched to the stored text.
    pub id: String,
    /// When the text reached the SMSC, for texts that waited (XEP-0203 delay stamp).
    pub delayed_since: Option<DateTime<Utc>>,
    pub receipt: ReceiptRequest,
}

/// Who a notice appears to come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeSender {
    /// The gateway itself (`sms.library.example`).
    Gateway,
    /// A patron's JID, so the notice shows up in that conversation ("claimed by alice").
    Patron(PatronAddress),
}

/// A short line of information for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub from: NoticeSender,
    pub to: BareJid,
    pub body: String,
}

/// Why a reply could not be sent, as an XMPP error condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCondition {
    /// The sender may not use this gateway.
    Forbidden,
    /// The reply breaks a limit (too many SMS parts).
    PolicyViolation,
    /// The address cannot receive texts.
    NotAcceptable,
    /// The network refused or the modem gave up.
    RecipientUnavailable,
    /// Anything else.
    UndefinedCondition,
}

/// An error on an operator's original message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyError {
    /// The full JID the message came from.
    pub to: String,
    pub patron: PatronAddress,
    pub id: Option<String>,
    pub condition: ErrorCondition,
    pub text: String,
}

/// What the daemon asks the component to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Text(TextToOperator),
    Notice(Notice),
    Error(ReplyError),
    /// An XEP-0184 `<received/>` for the operator's message `id`.
    Receipt {
        to: String,
        patron: PatronAddress,
        id: String,
    },
    /// The answer to a [`GatewayEvent::Command`].
    Answer(DeskAnswer),
}

/// What to do after handling a stanza.
// Actions live for one loop iteration; boxing the stanza would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Action {
    Send(Stanza),
    Emit(GatewayEvent),
    /// An `<iq type="result|error">` arrived; the session matches it against its ping.
    IqAnswered(String),
}

/// The stanza logic of one gateway's component.
#[derive(Debug)]
pub struct ComponentProtocol {
    domain: String,
    gateway: Jid,
    region: Region,
    operators: BTreeMap<BareJid, Jid>,
    /// Operator resources believed available, so a lost connection can report them gone.
    online: BTreeSet<(BareJid, String)>,
    /// What clients call the gateway.
    display_name: String,
    /// Who else may receive notices (not texts, and they cannot send any).
    watchers: BTreeMap<BareJid, Jid>,
}

impl ComponentProtocol {
    pub fn new(domain: &str, operators: &[BareJid], region: Region) -> Result<Self, XmppError> {
        let gateway = Jid::new(domain).map_err(|e| XmppError::BadComponentJid {
            jid: domain.to_owned(),
            reason: e.to_string(),
        })?;
        if gateway.node().is_some() || gateway.resource().is_some() {
            return Err(XmppError::BadComponentJid {
                jid: domain.to_owned(),
                reason: "a component JID is a bare domain, without '@' or '/'".to_owned(),
            });
        }
        let operators = operators
            .iter()
            .map(|op| {
                Jid::new(op.as_str())
                    .map(|jid| (op.clone(), jid))
                    .map_err(|e| XmppError::BadOperatorJid {
                        jid: op.to_string(),
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(ComponentProtocol {
            domain: gateway.domain().as_str().to_owned(),
            gateway,
            region,
            operators,
            online: BTreeSet::new(),
            display_name: crate::config::DEFAULT_DISPLAY_NAME.to_owned(),
            watchers: BTreeMap::new(),
        })
    }

    /// The same protocol, with others who may receive the gateway's notices.
    pub fn with_watchers(mut self, watchers: &[BareJid]) -> Result<Self, XmppError> {
        for watcher in watchers {
            let jid = Jid::new(watcher.as_str()).map_err(|e| XmppError::BadOperatorJid {
                jid: watcher.to_string(),
                reason: e.to_string(),
            })?;
            self.watchers.insert(watcher.clone(), jid);
        }
        Ok(self)
    }

    /// The same protocol, with the name clients show for the gateway.
    pub fn with_display_name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.display_name);
        self
    }

    /// The gateway's own JID.
    pub fn gateway_jid(&self) -> &Jid {
        &self.gateway
    }

    /// Stanzas to send right after the handshake: probe each operator's current presence,
    /// ask for a presence subscription (a no-op if it exists), and show the gateway as
    /// available to them. The probe goes first: a server answers a probe from a contact
    /// without subscription with `unsubscribed` on the user's behalf, and Prosody treats
    /// that as declining a pending subscription request sent before it.
    pub fn on_connected(&mut self) -> Vec<Stanza> {
        let mut out = Vec::new();
        for jid in self.operators.values() {
            out.push(self.presence(Presence::probe(), jid.clone()));
            let subscribe =
                Presence::subscribe().with_payloads(vec![identity::nickname(&self.display_name)]);
            out.push(self.presence(subscribe, jid.clone()));
            out.push(self.gateway_available(jid.clone()));
        }
        out
    }

    /// The gateway's available presence, with its avatar hash and nickname, to `to`.
    fn gateway_available(&self, to: Jid) -> Stanza {
        let available = Presence::available()
            .with_payloads(identity::gateway_presence_payloads(&self.display_name));
        self.presence(available, to)
    }

    /// Stanzas to send before closing the stream on purpose.
    pub fn on_shutdown(&mut self) -> Vec<Stanza> {
        self.operators
            .values()
            .map(|jid| self.presence(Presence::unavailable(), jid.clone()))
            .collect()
    }

    /// The connection was lost: every operator resource we knew of is now unknown, which the
    /// daemon must treat as unavailable.
    pub fn on_disconnected(&mut self) -> Vec<GatewayEvent> {
        std::mem::take(&mut self.online)
            .into_iter()
            .map(|(operator, resource)| GatewayEvent::OperatorPresence {
                operator,
                resource,
                presence: ResourcePresence::Unavailable,
            })
            .collect()
    }

    /// Handles one stanza from the server.
    pub fn handle(&mut self, stanza: Stanza) -> Vec<Action> {
        // Answers go out from the address a stanza was sent to. The server only routes our
        // own domain to us, but should anything else arrive, answering it would put a
        // foreign `from` on the stream, which Prosody punishes by closing it (invalid-from).
        let to = match &stanza {
            Stanza::Iq(
                Iq::Get { to, .. }
                | Iq::Set { to, .. }
                | Iq::Result { to, .. }
                | Iq::Error { to, .. },
            ) => to,
            Stanza::Message(message) => &message.to,
            Stanza::Presence(presence) => &presence.to,
        };
        if to
            .as_ref()
            .is_some_and(|to| to.domain().as_str() != self.domain)
        {
            tracing::warn!(to = ?to, "stanza for another domain ignored");
            return Vec::new();
        }
        match stanza {
            Stanza::Iq(iq) => self.handle_iq(iq),
            Stanza::Message(message) => self.handle_message(message),
            Stanza::Presence(presence) => self.handle_presence(presence),
        }
    }

    /// Builds the stanza for a request from the daemon.
    pub fn outgoing(&self, request: Outgoing) -> Result<Stanza, OutgoingError> {
        let message = match request {
            Outgoing::Answer(answer) => return self.answer(answer),
            Outgoing::Text(text) => {
                let mut message = Message::chat(Some(self.jid_of_operator(&text.operator)?))
                    .with_body(Lang::default(), xml_safe(&text.body));
                message.from = Some(self.patron_jid(&text.patron)?);
                message.id = Some(MessageId(text.id));
                if let Some(since) = text.delayed_since {
                    message.payloads.push(
                        Delay {
                            from: Some(self.gateway.clone()),
                            stamp: date::DateTime(since.fixed_offset()),
                            data: Some("Waited for an operator".to_owned()),
                        }
                        .into(),
                    );
                }
                if text.receipt == ReceiptRequest::Requested {
                    message.payloads.push(Request.into());
                }
                message
            }
            Outgoing::Notice(notice) => {
                let to = match (&notice.from, self.watchers.get(&notice.to)) {
                    (NoticeSender::Gateway, Some(watcher)) => watcher.clone(),
                    _ => self.jid_of_operator(&notice.to)?,
                };
                let mut message =
                    Message::chat(Some(to)).with_body(Lang::default(), xml_safe(&notice.body));
                message.from = Some(match &notice.from {
                    NoticeSender::Gateway => self.gateway.clone(),
                    NoticeSender::Patron(patron) => self.patron_jid(patron)?,
                });
                message
            }
            Outgoing::Error(error) => {
                let to = Jid::new(&error.to).map_err(|e| OutgoingError::BadJid {
                    jid: error.to.clone(),
                    reason: e.to_string(),
                })?;
                let (type_, condition) = match error.condition {
                    ErrorCondition::Forbidden => (ErrorType::Auth, DefinedCondition::Forbidden),
                    ErrorCondition::PolicyViolation => {
                        (ErrorType::Modify, DefinedCondition::PolicyViolation)
                    }
                    ErrorCondition::NotAcceptable => {
                        (ErrorType::Modify, DefinedCondition::NotAcceptable)
                    }
                    ErrorCondition::RecipientUnavailable => {
                        (ErrorType::Wait, DefinedCondition::RecipientUnavailable)
                    }
                    ErrorCondition::UndefinedCondition => {
                        (ErrorType::Cancel, DefinedCondition::UndefinedCondition)
                    }
                };
                let from = self.patron_jid(&error.patron)?;
                error_message(
                    from,
                    to,
                    error.id,
                    StanzaError::new(type_, condition, "en", xml_safe(&error.text)),
                )
            }
            Outgoing::Receipt { to, patron, id } => {
                let to = Jid::new(&to).map_err(|e| OutgoingError::BadJid {
                    jid: to.clone(),
                    reason: e.to_string(),
                })?;
                let mut message = Message::new(Some(to)).with_payload(Received { id });
                message.from = Some(self.patron_jid(&patron)?);
                message
            }
        };
        Ok(message.into())
    }

    /// The answer to a stanza that could not be read: an `<iq type="get|set">` still gets an
    /// error, so the requester does not wait forever; anything else is dropped.
    pub fn unreadable(&self, element: &Element, why: &str) -> Option<Stanza> {
        if element.name() != "iq" || !matches!(element.attr("type"), Some("get" | "set")) {
            return None;
        }
        let requester = Jid::new(element.attr("from")?).ok()?;
        let addressee = match element.attr("to") {
            Some(to) => Jid::new(to).ok()?,
            None => self.gateway.clone(),
        };
        if addressee.domain().as_str() != self.domain {
            return None;
        }
        Some(
            Iq::Error {
                from: Some(addressee),
                to: Some(requester),
                id: element.attr("id")?.to_owned(),
                error: *bad_request(&format!("unreadable request: {why}")),
                payload: None,
            }
            .into(),
        )
    }

    /// An XEP-0199 ping from the gateway to `target`.
    pub fn ping(&self, target: &Jid, id: &str) -> Stanza {
        Iq::Get {
            from: Some(self.gateway.clone()),
            to: Some(target.clone()),
            id: id.to_owned(),
            payload: xmpp_parsers::ping::Ping.into(),
        }
        .into()
    }

    fn jid_of_operator(&self, operator: &BareJid) -> Result<Jid, OutgoingError> {
        self.operators
            .get(operator)
            .cloned()
            .ok_or_else(|| OutgoingError::NotAnOperator(operator.to_string()))
    }

    fn patron_jid(&self, patron: &PatronAddress) -> Result<Jid, OutgoingError> {
        let jid = patron
            .to_jid(&self.domain)
            .map_err(|e| OutgoingError::Patron(patron.to_string(), e.to_string()))?;
        Jid::new(jid.as_str()).map_err(|e| OutgoingError::Patron(patron.to_string(), e.to_string()))
    }

    /// Available presence from `from` (the gateway, with its avatar, or a patron) to `to`.
    fn available_as(&self, from: Jid, to: Jid) -> Stanza {
        if self.is_gateway(Some(&from)) {
            return self.gateway_available(to);
        }
        let mut available = Presence::available();
        available.from = Some(from);
        available.to = Some(to);
        available.into()
    }

    fn presence(&self, mut presence: Presence, to: Jid) -> Stanza {
        presence.from = Some(self.gateway.clone());
        presence.to = Some(to);
        presence.into()
    }

    /// The patron a JID in the gateway's domain stands for. The localpart may be a number
    /// in any form a person dials, read with the gateway's region exactly as `textgate send`
    /// reads it: international (`+15551234567`), national (`5551234567`), with an
    /// international prefix (`0049…`, `011…`), grouped with dashes, dots or escaped spaces
    /// (XEP-0106 `\20`). Clients without XEP-0100 leave typing a JID as the only way to
    /// start a conversation, so whatever a librarian types should work. A localpart with
    /// letters is an alphanumeric sender; anything else that is not a number gets the reason
    /// in words.
    fn patron_at(&self, jid: &Jid) -> Result<PatronAddress, String> {
        let patron =
            PatronAddress::from_jid(jid.as_str(), &self.domain).map_err(|e| e.to_string())?;
        let PatronAddress::Alphanumeric(name) = &patron else {
            return Ok(patron);
        };
        if name.chars().any(char::is_alphabetic) {
            return Ok(patron);
        }
        PatronAddress::from_dialled(name, self.region).map_err(|e| {
            format!(
                "Not sent: {e}. Write to the number in international form, for example \
                 +15551234567@{}.",
                self.domain
            )
        })
    }

    fn operator_of(&self, from: Option<&Jid>) -> Option<BareJid> {
        let bare = BareJid::new(from?.to_bare().as_str()).ok()?;
        self.operators.contains_key(&bare).then_some(bare)
    }

    fn is_gateway(&self, to: Option<&Jid>) -> bool {
        to.is_none_or(|to| to.node().is_none() && to.resource().is_none())
    }

    fn handle_message(&mut self, message: Message) -> Vec<Action> {
        let operator = self.operator_of(message.from.as_ref());
        let Some(from) = message.from.clone() else {
            return Vec::new();
        };
        let to = message.to.clone().unwrap_or_else(|| self.gateway.clone());
        let body = message.get_best_body_cloned(vec![]).map(|(_, b)| b);
        let id = message.id.clone().map(|id| id.0);
        match message.type_ {
            MessageType::Error => {
                let Some(operator) = operator else {
                    return Vec::new();
                };
                let reason = message
                    .payloads
                    .iter()
                    .find_map(|p| StanzaError::try_from(p.clone()).ok())
                    .map(|e| describe_error(&e))
                    .unwrap_or_else(|| "error without details".to_owned());
                let patron = PatronAddress::from_jid(to.as_str(), &self.domain).ok();
                return vec![Action::Emit(GatewayEvent::DeliveryFailed {
                    operator,
                    patron,
                    id,
                    reason,
                })];
            }
            MessageType::Groupchat | MessageType::Headline => return Vec::new(),
            MessageType::Chat | MessageType::Normal => {}
        }
        let Some(operator) = operator else {
            // Only a message with a body would be sent as SMS, and only those deserve the
            // error; answering chat states or receipts from strangers would be noise.
            if body.is_none() {
                return Vec::new();
            }
            let error = StanzaError::new(
                ErrorType::Auth,
                DefinedCondition::Forbidden,
                "en",
                "Only this gateway's operators may send text messages through it.",
            );
            return vec![Action::Send(error_message(to, from, id, error).into())];
        };
        if self.is_gateway(Some(&to)) {
            // A chat with the gateway itself is the desk's command line.
            let Some(line) = body else {
                return Vec::new();
            };
            return vec![Action::Emit(GatewayEvent::Command(DeskRequest {
                operator,
                from: from.to_string(),
                line,
                via: RequestVia::Chat,
            }))];
        }
        let patron = match self.patron_at(&to) {
            Ok(patron) => patron,
            Err(why) => {
                if body.is_none() {
                    return Vec::new();
                }
                let error =
                    StanzaError::new(ErrorType::Modify, DefinedCondition::JidMalformed, "en", why);
                return vec![Action::Send(error_message(to, from, id, error).into())];
            }
        };
        let Some(body) = body else {
            // Receipts for our messages are worth passing on; chat states and markers are not.
            let received = message
                .payloads
                .iter()
                .find_map(|p| Received::try_from(p.clone()).ok());
            return match received {
                Some(Received { id }) => vec![Action::Emit(GatewayEvent::OperatorReceived {
                    operator,
                    patron,
                    id,
                })],
                None => Vec::new(),
            };
        };
        // A privacy handle stands as a name here; the gateway looks up the number behind it.
        let handle = matches!(&patron, PatronAddress::Alphanumeric(name)
            if PatronHandle::parse(name).is_some());
        if !patron.is_reachable() && !handle {
            let error = StanzaError::new(
                ErrorType::Cancel,
                DefinedCondition::NotAcceptable,
                "en",
                format!(
                    "Not sent: {patron} is a name (the sender showed a name instead of a \
                     number), not a phone number, so it cannot receive texts."
                ),
            );
            return vec![Action::Send(error_message(to, from, id, error).into())];
        }
        let receipt_requested = if message
            .payloads
            .iter()
            .any(|p| p.is("request", NS_RECEIPTS))
        {
            ReceiptRequest::Requested
        } else {
            ReceiptRequest::NotRequested
        };
        vec![Action::Emit(GatewayEvent::OperatorReply(OperatorReply {
            operator,
            from: from.to_string(),
            patron,
            body,
            id,
            receipt_requested,
        }))]
    }

    fn handle_presence(&mut self, presence: Presence) -> Vec<Action> {
        let Some(from) = presence.from.clone() else {
            return Vec::new();
        };
        let to = presence.to.clone().unwrap_or_else(|| self.gateway.clone());
        let Some(operator) = self.operator_of(Some(&from)) else {
            // Strangers may not subscribe to the gateway or its patrons.
            if presence.type_ == PresenceType::Subscribe {
                let mut answer = Presence::new(PresenceType::Unsubscribed);
                answer.from = Some(to);
                answer.to = Some(from.to_bare().into());
                return vec![Action::Send(answer.into())];
            }
            return Vec::new();
        };
        let resource = from.resource().map(|r| r.as_str().to_owned());
        match presence.type_ {
            PresenceType::None => {
                let show = match presence.show {
                    None => Show::Online,
                    Some(XmppShow::Chat) => Show::Chat,
                    Some(XmppShow::Away) => Show::Away,
                    Some(XmppShow::Xa) => Show::Xa,
                    Some(XmppShow::Dnd) => Show::Dnd,
                };
                let resource = resource.unwrap_or_default();
                let mut actions = Vec::new();
                if self.online.insert((operator.clone(), resource.clone())) {
                    // A client that just came online shows the gateway offline until it
                    // hears from it: the presence sent at connect reached only the
                    // resources online then, and a client that approved the gateway's
                    // subscription does not subscribe back by itself.
                    actions.push(Action::Send(self.gateway_available(from.clone())));
                }
                actions.push(Action::Emit(GatewayEvent::OperatorPresence {
                    operator,
                    resource,
                    presence: ResourcePresence::Available(show),
                }));
                actions
            }
            PresenceType::Unavailable | PresenceType::Error => {
                // Unavailable from the bare JID means every resource is gone.
                let gone: Vec<String> = match resource {
                    Some(resource) => vec![resource],
                    None => self
                        .online
                        .iter()
                        .filter(|(op, _)| *op == operator)
                        .map(|(_, r)| r.clone())
                        .collect(),
                };
                gone.into_iter()
                    .filter(|r| self.online.remove(&(operator.clone(), r.clone())))
                    .map(|resource| {
                        Action::Emit(GatewayEvent::OperatorPresence {
                            operator: operator.clone(),
                            resource,
                            presence: ResourcePresence::Unavailable,
                        })
                    })
                    .collect()
            }
            PresenceType::Subscribe => {
                // Approve, and show the contact (gateway or patron) as available.
                let bare: Jid = from.to_bare().into();
                let mut subscribed = Presence::subscribed();
                subscribed.from = Some(to.clone());
                subscribed.to = Some(bare.clone());
                vec![
                    Action::Send(subscribed.into()),
                    Action::Send(self.available_as(to, bare)),
                ]
            }
            PresenceType::Probe => vec![Action::Send(self.available_as(to, from.to_bare().into()))],
            PresenceType::Subscribed | PresenceType::Unsubscribe | PresenceType::Unsubscribed => {
                tracing::info!(operator = %operator, kind = ?presence.type_, "subscription change");
                Vec::new()
            }
        }
    }
}

/// A request from the daemon that cannot be turned into a stanza.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutgoingError {
    #[error("{0} is not an operator of this gateway")]
    NotAnOperator(String),
    #[error("patron {0} has no valid JID: {1}")]
    Patron(String, String),
    #[error("{jid:?} is not a valid JID: {reason}")]
    BadJid { jid: String, reason: String },
}

fn error_message(from: Jid, to: Jid, id: Option<String>, error: StanzaError) -> Message {
    let mut message = Message::error(Some(to)).with_payload(error);
    message.from = Some(from);
    message.id = id.map(MessageId);
    message
}

fn service_unavailable() -> Box<StanzaError> {
    Box::new(StanzaError::new(
        ErrorType::Cancel,
        DefinedCondition::ServiceUnavailable,
        "en",
        "not supported by this gateway",
    ))
}

fn bad_request(text: &str) -> Box<StanzaError> {
    Box::new(StanzaError::new(
        ErrorType::Modify,
        DefinedCondition::BadRequest,
        "en",
        text,
    ))
}

fn describe_error(error: &StanzaError) -> String {
    let condition = format!("{:?}", error.defined_condition);
    match error.texts.values().next() {
        Some(text) => format!("{condition}: {text}"),
        None => condition,
    }
}

mod adhoc;
mod identity;
mod iq;

pub use adhoc::{DeskAnswer, DeskRequest, RequestVia};
#[cfg(test)]
mod tests;
