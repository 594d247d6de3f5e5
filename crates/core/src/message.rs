//! The message lifecycle types shared between the store, the modem side and the XMPP side.
//! Deliberately small: richer records live in the crates that persist or transport them.

use serde::Deserialize;

/// The store's identifier of a text received from a patron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InboundTextId(pub i64);

/// Where a reply on its way to a patron stands. The order of the variants is the order of
/// the lifecycle; `Delivered` and `Failed` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutboundState {
    /// In the outbox, not yet handed to a modem.
    Queued,
    /// Handed to a modem; the network has not accepted it yet.
    Sending,
    /// The network accepted every part (a message reference per part is known).
    Sent,
    /// The network's status report says the patron's phone received it.
    Delivered,
    /// Given up: the XMPP side turns this into an error on the original message id.
    Failed,
}

impl OutboundState {
    /// Whether nothing more will happen to the message.
    pub fn is_final(self) -> bool {
        matches!(self, OutboundState::Delivered | OutboundState::Failed)
    }
}
