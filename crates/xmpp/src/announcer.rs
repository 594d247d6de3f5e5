//! The alerts' XMPP channel: a second, much simpler component than a gateway's. It has no
//! operators and no patrons; it only announces. It sends each alert as a chat message to
//! a member's or a staff member's JID, and as a groupchat message to a staff room
//! (XEP-0045), which it joins as an occupant when it connects.
//!
//! [`Announcer`] is the stanza handling without I/O; [`session`] connects, reconnects and
//! runs it ([`spawn_announcer`]).
//!
//! What "sent" means here: the stanza was written to the server. The server answers a
//! message it cannot deliver with an error carrying the same id, which comes back as
//! [`AnnouncerEvent::Bounced`], so the caller can record the reason. A member who is offline
//! is not an error: the server keeps chat messages for them (offline storage).

use textgate_core::BareJid;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{Jid, ResourcePart};
use xmpp_parsers::message::{Id as MessageId, Lang, Message, MessageType};
use xmpp_parsers::muc::muc::History;
use xmpp_parsers::muc::Muc;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::stanza::Stanza;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

use crate::sanitize::xml_safe;
use crate::XmppError;

pub mod session;

pub use session::{spawn_announcer, AnnouncerConfig, AnnouncerHandle};

/// Where an announcement goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A person's bare JID: a chat message.
    Person(BareJid),
    /// The staff room the announcer joined: a groupchat message.
    Room,
}

/// One alert to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The stanza's id; an error bounced by the server carries it back.
    pub id: String,
    pub to: Recipient,
    pub body: String,
}

/// What the announcer tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnouncerEvent {
    /// The server refused to deliver announcement `id`.
    Bounced { id: String, reason: String },
    /// The staff room let the announcer in; groupchat announcements can go.
    RoomJoined,
    /// The staff room refused the announcer, or put it out.
    RoomRefused { reason: String },
}

/// Why an announcement cannot be made into a stanza right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnounceError {
    #[error("no staff room is configured")]
    NoRoom,
    #[error("not in the staff room yet ({0})")]
    NotInRoom(String),
}

/// What handling a stanza asks of the session.
// One value per stanza, consumed at once; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AnnouncerAction {
    Send(Stanza),
    Emit(AnnouncerEvent),
    /// The answer to an iq the session sent (its keepalive ping).
    IqAnswered(String),
}

/// The staff room and the name the announcer has in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRoom {
    pub room: BareJid,
    pub nick: String,
}

/// Whether the announcer is in its room.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RoomState {
    Outside(String),
    Joining,
    Joined,
}

/// The announcer's stanza handling.
#[derive(Debug, Clone)]
pub struct Announcer {
    domain: String,
    me: Jid,
    room: Option<(StaffRoom, Jid)>,
    room_state: RoomState,
}

impl Announcer {
    /// An announcer for component `domain`, in `room` if one is given.
    pub fn new(domain: &str, room: Option<StaffRoom>) -> Result<Announcer, XmppError> {
        let me = Jid::new(domain).map_err(|e| XmppError::BadComponentJid {
            jid: domain.to_owned(),
            reason: e.to_string(),
        })?;
        let room = match room {
            None => None,
            Some(room) => {
                let occupant = format!("{}/{}", room.room.as_str(), room.nick);
                let occupant = Jid::new(&occupant).map_err(|e| XmppError::BadOperatorJid {
                    jid: occupant.clone(),
                    reason: e.to_string(),
                })?;
                Some((room, occupant))
            }
        };
        Ok(Announcer {
            domain: domain.to_owned(),
            me,
            room,
            room_state: RoomState::Outside("not connected yet".to_owned()),
        })
    }

    /// Stanzas to send right after the handshake: joining the room, without its history
    /// (the announcer never reads it).
    pub fn on_connected(&mut self) -> Vec<Stanza> {
        let Some((_, occupant)) = &self.room else {
            return Vec::new();
        };
        self.room_state = RoomState::Joining;
        let join = Presence::available().with_payloads(vec![Muc::new()
            .with_history(History::new().with_maxstanzas(0))
            .into()]);
        vec![self.presence(join, occupant.clone())]
    }

    /// The connection is gone; so is the announcer's seat in the room.
    pub fn on_disconnected(&mut self) {
        self.room_state = RoomState::Outside("not connected".to_owned());
    }

    /// Stanzas to send before closing the stream on purpose: leaving the room.
    pub fn on_shutdown(&mut self) -> Vec<Stanza> {
        match &self.room {
            Some((_, occupant)) if self.room_state == RoomState::Joined => {
                vec![self.presence(Presence::unavailable(), occupant.clone())]
            }
            _ => Vec::new(),
        }
    }

    /// The stanza for `announcement`.
    pub fn announce(&self, announcement: &Announcement) -> Result<Stanza, AnnounceError> {
        let body = xml_safe(&announcement.body);
        let mut message = match &announcement.to {
            Recipient::Person(jid) => {
                // A bare JID always parses as a JID.
                let to = Jid::new(jid.as_str()).map_err(|e| {
                    AnnounceError::NotInRoom(format!("{} is not a JID: {e}", jid.as_str()))
                })?;
                Message::chat(Some(to))
            }
            Recipient::Room => {
                let Some((room, _)) = &self.room else {
                    return Err(AnnounceError::NoRoom);
                };
                match &self.room_state {
                    RoomState::Joined => {}
                    RoomState::Joining => {
                        return Err(AnnounceError::NotInRoom("joining".to_owned()))
                    }
                    RoomState::Outside(why) => return Err(AnnounceError::NotInRoom(why.clone())),
                }
                let to = Jid::new(room.room.as_str())
                    .map_err(|e| AnnounceError::NotInRoom(e.to_string()))?;
                Message::groupchat(Some(to))
            }
        }
        .with_body(Lang::new(), body);
        message.from = Some(self.me.clone());
        message.id = Some(MessageId(announcement.id.clone()));
        Ok(message.into())
    }

    /// An XEP-0199 ping from the announcer to `target`.
    pub fn ping(&self, target: &Jid, id: &str) -> Stanza {
        Iq::Get {
            from: Some(self.me.clone()),
            to: Some(target.clone()),
            id: id.to_owned(),
            payload: xmpp_parsers::ping::Ping.into(),
        }
        .into()
    }

    /// Handles one stanza from the server.
    pub fn handle(&mut self, stanza: Stanza) -> Vec<AnnouncerAction> {
        match stanza {
            Stanza::Message(message) => self.on_message(message),
            Stanza::Presence(presence) => self.on_presence(presence),
            Stanza::Iq(iq) => self.on_iq(iq),
        }
    }

    fn on_message(&mut self, message: Message) -> Vec<AnnouncerAction> {
        let Some(from) = message.from.clone() else {
            return Vec::new();
        };
        match message.type_ {
            MessageType::Error => {
                let Some(id) = message.id.clone().map(|id| id.0) else {
                    return Vec::new();
                };
                let reason = message
                    .payloads
                    .iter()
                    .find_map(|p| StanzaError::try_from(p.clone()).ok())
                    .map(|e| describe(&e))
                    .unwrap_or_else(|| "error without details".to_owned());
                vec![AnnouncerAction::Emit(AnnouncerEvent::Bounced {
                    id,
                    reason,
                })]
            }
            MessageType::Chat | MessageType::Normal => {
                if message.bodies.is_empty() || self.is_room(&from) {
                    return Vec::new();
                }
                // Someone wrote back to an alert. Nobody reads this address: say so, once
                // per message, so a reply for help is not left unanswered.
                let mut answer = Message::chat(Some(from)).with_body(
                    Lang::new(),
                    "This address only sends alerts; nobody reads what is written to it. \
                     In an emergency, call for help."
                        .to_owned(),
                );
                answer.from = Some(self.me.clone());
                vec![AnnouncerAction::Send(answer.into())]
            }
            MessageType::Groupchat | MessageType::Headline => Vec::new(),
        }
    }

    fn on_presence(&mut self, presence: Presence) -> Vec<AnnouncerAction> {
        let Some(from) = presence.from.clone() else {
            return Vec::new();
        };
        if let Some((_, occupant)) = &self.room {
            if &from == occupant {
                return self.on_own_occupant(&presence);
            }
        }
        if self.is_room(&from) {
            // Another occupant coming or going: nothing to do.
            return Vec::new();
        }
        match presence.type_ {
            // Anyone may add the alerts to their contacts and see them online.
            PresenceType::Subscribe => vec![
                AnnouncerAction::Send(
                    self.presence(Presence::new(PresenceType::Subscribed), from.clone()),
                ),
                AnnouncerAction::Send(self.presence(Presence::available(), from)),
            ],
            PresenceType::Probe => {
                vec![AnnouncerAction::Send(
                    self.presence(Presence::available(), from),
                )]
            }
            _ => Vec::new(),
        }
    }

    fn on_own_occupant(&mut self, presence: &Presence) -> Vec<AnnouncerAction> {
        match presence.type_ {
            PresenceType::None => {
                if self.room_state == RoomState::Joined {
                    return Vec::new();
                }
                self.room_state = RoomState::Joined;
                vec![AnnouncerAction::Emit(AnnouncerEvent::RoomJoined)]
            }
            PresenceType::Error => {
                let reason = presence
                    .payloads
                    .iter()
                    .find_map(|p| StanzaError::try_from(p.clone()).ok())
                    .map(|e| describe(&e))
                    .unwrap_or_else(|| "refused without details".to_owned());
                self.room_state = RoomState::Outside(format!("the room refused: {reason}"));
                vec![AnnouncerAction::Emit(AnnouncerEvent::RoomRefused {
                    reason,
                })]
            }
            PresenceType::Unavailable => {
                let reason = "the room put the announcer out".to_owned();
                self.room_state = RoomState::Outside(reason.clone());
                vec![AnnouncerAction::Emit(AnnouncerEvent::RoomRefused {
                    reason,
                })]
            }
            _ => Vec::new(),
        }
    }

    fn on_iq(&mut self, iq: Iq) -> Vec<AnnouncerAction> {
        match iq {
            Iq::Result { id, .. } | Iq::Error { id, .. } => {
                vec![AnnouncerAction::IqAnswered(id)]
            }
            Iq::Get {
                from: Some(from),
                id,
                payload,
                ..
            } if payload.is("ping", xmpp_parsers::ns::PING) => {
                vec![AnnouncerAction::Send(
                    Iq::Result {
                        from: Some(self.me.clone()),
                        to: Some(from),
                        id,
                        payload: None,
                    }
                    .into(),
                )]
            }
            Iq::Get {
                from: Some(from),
                id,
                ..
            }
            | Iq::Set {
                from: Some(from),
                id,
                ..
            } => vec![AnnouncerAction::Send(
                Iq::Error {
                    from: Some(self.me.clone()),
                    to: Some(from),
                    id,
                    error: StanzaError::new(
                        ErrorType::Cancel,
                        DefinedCondition::ServiceUnavailable,
                        "en",
                        "this address only sends alerts",
                    ),
                    payload: None,
                }
                .into(),
            )],
            Iq::Get { .. } | Iq::Set { .. } => Vec::new(),
        }
    }

    fn is_room(&self, jid: &Jid) -> bool {
        self.room
            .as_ref()
            .is_some_and(|(room, _)| jid.to_bare().as_str() == room.room.as_str())
    }

    fn presence(&self, mut presence: Presence, to: Jid) -> Stanza {
        presence.from = Some(self.me.clone());
        presence.to = Some(to);
        presence.into()
    }

    /// The component's domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

fn describe(error: &StanzaError) -> String {
    let condition = format!("{:?}", error.defined_condition);
    match error.texts.values().next() {
        Some(text) => format!("{condition}: {text}"),
        None => condition,
    }
}

/// A nickname usable in a room: XMPP resourceparts are strictly checked.
pub fn valid_nick(nick: &str) -> bool {
    !nick.trim().is_empty() && ResourcePart::new(nick).is_ok()
}

#[cfg(test)]
mod tests;
