//! Who is answering whom, shared between the event loop, which decides claims, and the
//! [reply intake](crate::intake), which must refuse a second librarian's reply before it is
//! queued when the gateway is set to ([`ClaimCollisions::Refuse`]).
//!
//! The loop owns the [`QueueRouter`] and republishes its active claims (a claim whose owner
//! is available) whenever a reply or a presence changes them; the intake reads the last
//! published board. Two replies to the same patron from two librarians within the same
//! instant can both pass (the second is read before the first one's claim is published);
//! the collision is then announced like under [`ClaimCollisions::Warn`].
//!
//! [`ClaimCollisions::Refuse`]: crate::settings::ClaimCollisions::Refuse
//! [`ClaimCollisions::Warn`]: crate::settings::ClaimCollisions::Warn

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use textgate_core::{BareJid, PatronAddress, QueueRouter};

/// The active claims as the event loop last published them. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ClaimBoard {
    claims: Arc<RwLock<HashMap<PatronAddress, BareJid>>>,
    /// Conversations handed to another gateway's desk, with its librarians: the intake
    /// lets them answer those and no others.
    handed: Arc<RwLock<HashMap<PatronAddress, BTreeSet<BareJid>>>>,
}

impl ClaimBoard {
    /// Replaces the board with the router's active claims.
    pub fn publish(&self, router: &QueueRouter) {
        let claims = router.active_claims();
        // A panic while holding the lock cannot leave the map half-written (it is replaced
        // whole), so a poisoned lock is still good.
        *self.claims.write().unwrap_or_else(|e| e.into_inner()) = claims;
        *self.handed.write().unwrap_or_else(|e| e.into_inner()) = router.handoffs();
    }

    /// Whether the conversation with `patron` was handed to a desk `operator` is on.
    pub fn handed(&self, patron: &PatronAddress, operator: &BareJid) -> bool {
        self.handed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(patron)
            .is_some_and(|desk| desk.contains(operator))
    }

    /// The operator answering `patron`, if one is and is available.
    pub fn answering(&self, patron: &PatronAddress) -> Option<BareJid> {
        self.claims
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(patron)
            .cloned()
    }
}
