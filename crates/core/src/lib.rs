//! The gateway's domain without I/O: phone numbers (E.164), patron JIDs, text ids
//! and queue routing as a state machine. Nothing here touches a socket, a file, the
//! clock or tokio; the edges (store, modem, xmpp) call in and carry out the decisions.

#![forbid(unsafe_code)]

pub mod desk_command;
pub mod handle;
pub mod hours;
pub mod jid;
pub mod message;
pub mod phone;
pub mod routing;

pub use desk_command::{
    keyword_of, ArgumentProblem, CannedName, CannedNameError, CommandError, DeskCommand,
    GuestAccess,
};
pub use handle::PatronHandle;
pub use hours::{EntryProblem, HoursError, OpeningHours, OpeningHoursConfig};
pub use jid::{escape_localpart, unescape_localpart, BareJid, JidError};
pub use message::InboundTextId;
pub use phone::{PatronAddress, PhoneError, Region};
pub use routing::{
    AvailabilityRule, ClaimError, OperatorPresence, PresenceOutcome, QueueRouter, Release,
    ReplyOutcome, ResourcePresence, Routing, RoutingPolicy, Show,
};
