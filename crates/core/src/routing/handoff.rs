//! Handing a conversation to another gateway's desk (the desk's `transfer <number>
//! <gateway>`).
//!
//! The conversation stays on the number the patron texted: their texts keep arriving there
//! and replies keep leaving from there (a reply from another number would reach them as a
//! stranger, and their answer would come back to the first number anyway). What moves is
//! who answers: the other desk's librarians get the patron's texts, through this gateway,
//! and may answer them; the home desk stops getting them. Nobody of the other desk may
//! answer any other conversation of this gateway.
//!
//! The handoff ends when the conversation ends (idle), or when a home librarian takes it
//! back (`transfer <number> <colleague>`).

use std::collections::{BTreeSet, HashMap};

use super::{ClaimError, PresenceOutcome, QueueRouter};
use crate::jid::BareJid;
use crate::phone::PatronAddress;

/// What a handoff did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandOff {
    /// The desk's librarians who are available now (empty: the patron's texts wait for
    /// one of them).
    pub there: Vec<BareJid>,
    /// The patron's texts that were waiting and now go to them.
    pub released: PresenceOutcome,
}

impl QueueRouter {
    /// Adds the desk of gateway `name`: conversations may be handed to its `operators`.
    pub fn with_queue(
        mut self,
        name: impl Into<String>,
        operators: impl IntoIterator<Item = BareJid>,
    ) -> Self {
        let desk: BTreeSet<BareJid> = operators.into_iter().collect();
        for jid in &desk {
            self.operators.entry(jid.clone()).or_default();
        }
        self.queues.insert(name.into(), desk);
        self
    }

    /// The desks conversations may be handed to, by gateway name.
    pub fn queues(&self) -> impl Iterator<Item = (&str, &BTreeSet<BareJid>)> {
        self.queues.iter().map(|(name, desk)| (name.as_str(), desk))
    }

    /// Whether `jid` is one of the gateway's own operators.
    pub fn is_home(&self, jid: &BareJid) -> bool {
        self.home.contains(jid)
    }

    /// Hands the conversation with `patron` to desk `queue`: nobody claims it any more,
    /// and its next texts go to whoever of that desk is available.
    pub fn hand_off(&mut self, patron: &PatronAddress, queue: &str) -> Result<HandOff, ClaimError> {
        let Some(desk) = self.queues.get(queue) else {
            return Err(ClaimError::UnknownQueue(queue.to_owned()));
        };
        let there = self.available_in(desk);
        self.handed.insert(patron.clone(), queue.to_owned());
        self.claims.remove(patron);
        Ok(HandOff {
            there,
            released: self.release_held(),
        })
    }

    /// The desk the conversation with `patron` was handed to, if any.
    pub fn handed_to(&self, patron: &PatronAddress) -> Option<&str> {
        self.handed.get(patron).map(String::as_str)
    }

    /// Re-establishes a handoff known from before a restart. One to a desk the
    /// configuration no longer has is dropped: the conversation is home again.
    pub fn restore_handoff(&mut self, patron: PatronAddress, queue: &str) {
        if self.queues.contains_key(queue) {
            self.handed.insert(patron, queue.to_owned());
        }
    }

    /// Whether `operator` may answer `patron`: a home operator always, another desk's
    /// librarian only in a conversation handed to their desk.
    pub fn may_answer(&self, operator: &BareJid, patron: &PatronAddress) -> bool {
        if self.home.contains(operator) {
            return true;
        }
        self.handed
            .get(patron)
            .and_then(|queue| self.queues.get(queue))
            .is_some_and(|desk| desk.contains(operator))
    }

    /// Each handed conversation and who may answer it, for the reply intake (which checks
    /// replies before the event loop sees them).
    pub fn handoffs(&self) -> HashMap<PatronAddress, BTreeSet<BareJid>> {
        self.handed
            .iter()
            .filter_map(|(patron, queue)| Some((patron.clone(), self.queues.get(queue)?.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AvailabilityRule, ReplyOutcome, ResourcePresence, Routing, RoutingPolicy};
    use super::*;
    use crate::message::InboundTextId;
    use crate::routing::Show;

    fn jid(s: &str) -> BareJid {
        BareJid::new(&format!("{s}@library.test")).unwrap()
    }

    fn router() -> QueueRouter {
        QueueRouter::new(
            [jid("alice")],
            AvailabilityRule::default(),
            RoutingPolicy::FirstReplyClaims,
        )
        .with_queue("branch", [jid("bob"), jid("cat")])
    }

    fn online(router: &mut QueueRouter, who: &str) {
        router.presence_changed(&jid(who), "desk", ResourcePresence::Available(Show::Online));
    }

    fn gone(router: &mut QueueRouter, who: &str) {
        router.presence_changed(&jid(who), "desk", ResourcePresence::Unavailable);
    }

    #[test]
    fn a_handed_conversation_reaches_the_other_desk_and_only_it() {
        let mut r = router();
        for who in ["alice", "bob", "cat"] {
            online(&mut r, who);
        }
        let ann = PatronAddress::E164("+15551230001".to_owned());
        let ben = PatronAddress::E164("+15551230002".to_owned());
        // New conversations go home; the branch's librarians may not answer them.
        assert_eq!(
            r.inbound_text(InboundTextId(1), &ann),
            Routing::Deliver(vec![jid("alice")])
        );
        assert_eq!(
            r.operator_replied(&jid("bob"), &ann),
            ReplyOutcome::NotAnOperator
        );
        assert!(matches!(
            r.operator_replied(&jid("alice"), &ann),
            ReplyOutcome::Claimed { .. }
        ));

        // Alice hands ann to the branch: the claim goes, the branch gets the texts.
        let handed = r.hand_off(&ann, "branch").unwrap();
        assert_eq!(handed.there, vec![jid("bob"), jid("cat")]);
        assert!(handed.released.flush.is_empty());
        assert_eq!(r.handed_to(&ann), Some("branch"));
        assert_eq!(r.claimer(&ann), None);
        assert_eq!(
            r.inbound_text(InboundTextId(2), &ann),
            Routing::Deliver(vec![jid("bob"), jid("cat")])
        );
        // Bob answers and claims it; cat is told, alice is not (it left her desk).
        assert_eq!(
            r.operator_replied(&jid("bob"), &ann),
            ReplyOutcome::Claimed {
                notify: vec![jid("cat")]
            }
        );
        assert_eq!(
            r.inbound_text(InboundTextId(3), &ann),
            Routing::Deliver(vec![jid("bob")])
        );
        // The branch still may not answer other conversations.
        assert!(!r.may_answer(&jid("bob"), &ben));
        assert!(r.may_answer(&jid("alice"), &ann), "home may still answer");
        let handoffs = r.handoffs();
        assert_eq!(handoffs.len(), 1);
        assert!(handoffs[&ann].contains(&jid("cat")));
        assert_eq!(
            r.hand_off(&ann, "nowhere").map(|h| h.there),
            Err(ClaimError::UnknownQueue("nowhere".to_owned()))
        );

        // Alice takes it back: home again.
        assert_eq!(r.transfer(&ann, &jid("alice")), Ok(()));
        assert_eq!(r.handed_to(&ann), None);
        assert!(!r.may_answer(&jid("bob"), &ann));
    }

    /// A text that waited at home goes with the conversation.
    #[test]
    fn a_waiting_text_goes_with_the_handoff() {
        let mut r = router();
        online(&mut r, "bob");
        let ann = PatronAddress::E164("+15551230001".to_owned());
        assert_eq!(r.inbound_text(InboundTextId(1), &ann), Routing::Hold);
        let handed = r.hand_off(&ann, "branch").unwrap();
        assert_eq!(handed.there, vec![jid("bob")]);
        assert_eq!(handed.released.flush.len(), 1);
        assert_eq!(handed.released.flush[0].to, vec![jid("bob")]);
        assert_eq!(r.held().count(), 0);
    }

    #[test]
    fn texts_for_a_desk_nobody_is_at_wait_without_holding_up_home() {
        let mut r = router();
        online(&mut r, "alice");
        let ann = PatronAddress::E164("+15551230001".to_owned());
        let ben = PatronAddress::E164("+15551230002".to_owned());
        assert_eq!(r.hand_off(&ann, "branch").map(|h| h.there), Ok(Vec::new()));
        assert_eq!(r.inbound_text(InboundTextId(1), &ann), Routing::Hold);
        // Another patron's text still goes home at once.
        assert_eq!(
            r.inbound_text(InboundTextId(2), &ben),
            Routing::Deliver(vec![jid("alice")])
        );
        assert_eq!(r.inbound_text(InboundTextId(3), &ann), Routing::Hold);
        // Alice's presence changing releases nothing of ann's.
        gone(&mut r, "alice");
        online(&mut r, "alice");
        assert_eq!(r.held().count(), 2);
        online(&mut r, "cat");
        assert_eq!(r.held().count(), 0);
        assert_eq!(r.handed_to(&ann), Some("branch"));
        // The conversation ends: home again.
        r.end_conversation(&ann);
        assert_eq!(r.handed_to(&ann), None);
        // A handoff to a desk the configuration lost is not restored.
        r.restore_handoff(ann.clone(), "gone");
        assert_eq!(r.handed_to(&ann), None);
        r.restore_handoff(ann.clone(), "branch");
        assert_eq!(r.handed_to(&ann), Some("branch"));
    }
}
