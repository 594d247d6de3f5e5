//! The identifiers of texts shared between the store, the modem side and the XMPP side.
//! Deliberately small: richer records (and a reply's lifecycle, `textgate_store::OutboundState`)
//! live in the crates that persist or transport them.

/// The store's identifier of a text received from a patron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InboundTextId(pub i64);
