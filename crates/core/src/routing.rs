//! Queue routing as a pure state machine: which operators get a patron's text, who claimed a
//! conversation, and which held texts to release when someone comes online.
//!
//! The [`QueueRouter`] knows the gateway's operators and their presence per resource, the
//! claims, and the texts held while nobody was available. It performs no I/O: the XMPP
//! session feeds it presence and replies, the daemon feeds it inbound texts, and each call
//! returns a decision for the caller to carry out. The store stays the source of truth for
//! held texts; after a restart the daemon feeds the undelivered ones in again and they are
//! held or delivered like new ones.
//!
//! Besides its own operators (its *home* desk) a router may know other gateways' desks as
//! named queues ([`QueueRouter::with_queue`]): a conversation handed to one of them
//! ([`QueueRouter::hand_off`]) reaches that desk's librarians, who may answer it, and only
//! it (the handoff itself is in `routing/handoff.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;

use crate::jid::BareJid;
use crate::message::InboundTextId;
use crate::phone::PatronAddress;

/// An operator's `<show/>` value on one resource; `Online` is available presence without a
/// `<show/>` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Show {
    #[serde(alias = "available")]
    Online,
    Chat,
    Away,
    Xa,
    Dnd,
}

/// What one resource of an operator announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourcePresence {
    Available(Show),
    Unavailable,
}

/// Which `<show/>` values count as "available" for routing. Configured per gateway as a list
/// such as `["online", "chat", "away"]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct AvailabilityRule {
    shows: BTreeSet<Show>,
    /// Whether operators showing `away` receive new texts while nobody counts as
    /// available. A desk client goes `away` by itself after a few idle minutes while the
    /// librarian is still at the desk; `xa` and `dnd` are chosen on purpose and never
    /// count.
    #[serde(skip)]
    away_fallback: bool,
}

impl AvailabilityRule {
    pub fn new(shows: impl IntoIterator<Item = Show>) -> Self {
        AvailabilityRule {
            shows: shows.into_iter().collect(),
            away_fallback: false,
        }
    }

    /// The same rule, with `away` operators receiving texts when nobody is available.
    pub fn with_away_fallback(mut self, away_fallback: bool) -> Self {
        self.away_fallback = away_fallback;
        self
    }

    pub fn counts_as_available(&self, show: Show) -> bool {
        self.shows.contains(&show)
    }

    /// Whether an `away` operator stands in when nobody is available. Moot when the rule
    /// already counts `away`.
    pub fn away_fallback(&self) -> bool {
        self.away_fallback && !self.shows.contains(&Show::Away)
    }
}

impl Default for AvailabilityRule {
    /// Online, free for chat and away: a librarian who stepped away still has the client
    /// open and sees the text on return. Extended away and do-not-disturb do not.
    fn default() -> Self {
        AvailabilityRule::new([Show::Online, Show::Chat, Show::Away])
    }
}

/// How texts are spread over the available operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoutingPolicy {
    /// A new conversation goes to everyone available; the first to reply claims it and gets
    /// the patron's later texts while available.
    #[default]
    FirstReplyClaims,
    /// Every text goes to every available operator; nobody claims.
    Broadcast,
}

/// The presence of one operator, per resource (phone, desktop, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorPresence {
    resources: BTreeMap<String, Show>,
}

impl OperatorPresence {
    /// Records what a resource announced. An unavailable resource is forgotten.
    pub fn update(&mut self, resource: &str, presence: ResourcePresence) {
        match presence {
            ResourcePresence::Available(show) => {
                self.resources.insert(resource.to_owned(), show);
            }
            ResourcePresence::Unavailable => {
                self.resources.remove(resource);
            }
        }
    }

    /// Forgets every resource, e.g. when the server connection was lost and presence must be
    /// probed again.
    pub fn clear(&mut self) {
        self.resources.clear();
    }

    /// Whether any resource shows a value the rule counts as available.
    pub fn is_available(&self, rule: &AvailabilityRule) -> bool {
        self.resources
            .values()
            .any(|&show| rule.counts_as_available(show))
    }

    /// The online resources and what they show.
    pub fn resources(&self) -> impl Iterator<Item = (&str, Show)> {
        self.resources.iter().map(|(r, &s)| (r.as_str(), s))
    }
}

/// Where an inbound text goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routing {
    /// Send it to these operators now (never empty).
    Deliver(Vec<BareJid>),
    /// Nobody is available: keep it until [`PresenceOutcome::flush`] releases it.
    Hold,
}

/// A held text released for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub text: InboundTextId,
    pub patron: PatronAddress,
    pub to: Vec<BareJid>,
}

/// What a presence change means for the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresenceOutcome {
    /// Held texts to deliver now, in the order they arrived.
    pub flush: Vec<Release>,
}

/// What an operator's reply means for the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// The replier now owns the conversation; tell these other operators who claimed it.
    Claimed { notify: Vec<BareJid> },
    /// The replier already owned it, or the policy has no claims: nothing to announce.
    Unchanged,
    /// Someone else who is still available owns it; the reply goes out, the claim stays.
    OwnedByOther(BareJid),
    /// The sender is not one of this gateway's operators: refuse the reply (`forbidden`).
    NotAnOperator,
}

/// The queue of one gateway.
#[derive(Debug, Clone)]
pub struct QueueRouter {
    rule: AvailabilityRule,
    policy: RoutingPolicy,
    /// Everyone whose presence counts: the home desk and the other desks' librarians.
    operators: BTreeMap<BareJid, OperatorPresence>,
    /// The gateway's own operators: new conversations go to them.
    home: BTreeSet<BareJid>,
    /// Other gateways' desks, by gateway name, that conversations may be handed to.
    queues: BTreeMap<String, BTreeSet<BareJid>>,
    /// Conversations handed to one of `queues`.
    handed: HashMap<PatronAddress, String>,
    claims: HashMap<PatronAddress, BareJid>,
    held: Vec<(InboundTextId, PatronAddress)>,
    /// Operators who asked for no new conversations (the desk's `pause`): they keep the
    /// conversations they claimed.
    paused: BTreeSet<BareJid>,
}

/// Why a conversation could not be handed over or released.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("{0} is not an operator of this gateway")]
    NotAnOperator(String),
    #[error("nobody is answering {0}")]
    Unclaimed(String),
    #[error("{owner} is answering {patron}, not you")]
    OwnedByOther { patron: String, owner: String },
    #[error("there is no desk called {0} to hand conversations to")]
    UnknownQueue(String),
}

impl QueueRouter {
    pub fn new(
        operators: impl IntoIterator<Item = BareJid>,
        rule: AvailabilityRule,
        policy: RoutingPolicy,
    ) -> Self {
        let home: BTreeSet<BareJid> = operators.into_iter().collect();
        QueueRouter {
            rule,
            policy,
            operators: home
                .iter()
                .map(|jid| (jid.clone(), OperatorPresence::default()))
                .collect(),
            home,
            queues: BTreeMap::new(),
            handed: HashMap::new(),
            claims: HashMap::new(),
            held: Vec::new(),
            paused: BTreeSet::new(),
        }
    }

    /// Whether `jid` is one of the gateway's own operators or of a desk it hands
    /// conversations to.
    pub fn is_operator(&self, jid: &BareJid) -> bool {
        self.operators.contains_key(jid)
    }

    pub fn operators(&self) -> impl Iterator<Item = (&BareJid, &OperatorPresence)> {
        self.operators.iter()
    }

    /// The operators who take new conversations now, in a stable order: those the rule
    /// counts as available or, when there are none and the rule allows it, those who are
    /// `away`; in both cases not those who paused.
    pub fn available(&self) -> Vec<BareJid> {
        self.available_in(&self.home)
    }

    /// [`QueueRouter::available`] among `desk`.
    fn available_in(&self, desk: &BTreeSet<BareJid>) -> Vec<BareJid> {
        self.present_in(desk)
            .into_iter()
            .filter(|jid| !self.paused.contains(jid))
            .collect()
    }

    /// Like [`QueueRouter::available`], paused operators included, on every desk: who can
    /// answer the conversations they claimed.
    fn present(&self) -> Vec<BareJid> {
        let mut present: BTreeSet<BareJid> = self.present_in(&self.home).into_iter().collect();
        for desk in self.queues.values() {
            present.extend(self.present_in(desk));
        }
        present.into_iter().collect()
    }

    /// Who of `desk` counts as there: those the rule counts as available or, when there
    /// are none and the rule allows it, those who are `away`.
    fn present_in(&self, desk: &BTreeSet<BareJid>) -> Vec<BareJid> {
        let members = || self.operators.iter().filter(|(jid, _)| desk.contains(*jid));
        let available: Vec<BareJid> = members()
            .filter(|(_, p)| p.is_available(&self.rule))
            .map(|(jid, _)| jid.clone())
            .collect();
        if !available.is_empty() || !self.rule.away_fallback() {
            return available;
        }
        let away = AvailabilityRule::new([Show::Away]);
        members()
            .filter(|(_, p)| p.is_available(&away))
            .map(|(jid, _)| jid.clone())
            .collect()
    }

    /// Who claimed the conversation with `patron`, if anyone.
    pub fn claimer(&self, patron: &PatronAddress) -> Option<&BareJid> {
        self.claims.get(patron)
    }

    /// `operator` takes no new conversations until [`QueueRouter::resume`]; the
    /// conversations they claimed still come to them. False if they had paused already or
    /// are not an operator.
    pub fn pause(&mut self, operator: &BareJid) -> bool {
        self.is_operator(operator) && self.paused.insert(operator.clone())
    }

    /// `operator` takes new conversations again; held texts are released to them if they
    /// are available. `None` if they had not paused.
    pub fn resume(&mut self, operator: &BareJid) -> Option<PresenceOutcome> {
        self.paused.remove(operator).then(|| self.release_held())
    }

    /// Whether `operator` paused.
    pub fn is_paused(&self, operator: &BareJid) -> bool {
        self.paused.contains(operator)
    }

    /// Hands the conversation with `patron` to the operator `to`, whoever had it (the
    /// desk's `transfer`): `to` gets the patron's next texts while available.
    /// A colleague of the home desk takes a conversation back from a desk it was handed
    /// to; a colleague of that desk keeps it there.
    pub fn transfer(&mut self, patron: &PatronAddress, to: &BareJid) -> Result<(), ClaimError> {
        if !self.may_answer(to, patron) {
            return Err(ClaimError::NotAnOperator(to.as_str().to_owned()));
        }
        if self.home.contains(to) {
            self.handed.remove(patron);
        }
        self.claims.insert(patron.clone(), to.clone());
        Ok(())
    }

    /// `by` gives up their claim on `patron` (the desk's `release`): the patron's next
    /// text goes to everyone available, and the first to answer claims it.
    pub fn release(&mut self, patron: &PatronAddress, by: &BareJid) -> Result<(), ClaimError> {
        match self.claims.get(patron) {
            None => Err(ClaimError::Unclaimed(patron.to_string())),
            Some(owner) if owner != by => Err(ClaimError::OwnedByOther {
                patron: patron.to_string(),
                owner: owner.as_str().to_owned(),
            }),
            Some(_) => {
                self.claims.remove(patron);
                Ok(())
            }
        }
    }

    /// The conversation with `patron` ended (nothing happened in it for a while): whoever
    /// claimed it no longer does; the patron's next text goes to everyone available.
    /// Returns the former owner.
    /// A conversation handed to another desk comes home with it.
    pub fn end_conversation(&mut self, patron: &PatronAddress) -> Option<BareJid> {
        self.handed.remove(patron);
        self.claims.remove(patron)
    }

    /// Who is answering whom: each claimed conversation whose owner is available now. A
    /// claim whose owner is gone does not count (anyone may answer, and take it over).
    pub fn active_claims(&self) -> HashMap<PatronAddress, BareJid> {
        let available = self.present();
        self.claims
            .iter()
            .filter(|(_, owner)| available.contains(owner))
            .map(|(patron, owner)| (patron.clone(), owner.clone()))
            .collect()
    }

    /// Re-establishes a claim known from before a restart (the daemon keeps claims in its
    /// store). A claim by someone outside the queue is ignored.
    pub fn restore_claim(&mut self, patron: PatronAddress, operator: BareJid) {
        if self.is_operator(&operator) {
            self.claims.insert(patron, operator);
        }
    }

    /// Texts waiting for an operator, oldest first.
    pub fn held(&self) -> impl Iterator<Item = (InboundTextId, &PatronAddress)> {
        self.held.iter().map(|(id, p)| (*id, p))
    }

    /// A resource of an operator changed presence. Presence from JIDs outside the queue is
    /// ignored. When this makes someone available, every held text is released.
    pub fn presence_changed(
        &mut self,
        operator: &BareJid,
        resource: &str,
        presence: ResourcePresence,
    ) -> PresenceOutcome {
        let Some(state) = self.operators.get_mut(operator) else {
            return PresenceOutcome::default();
        };
        state.update(resource, presence);
        self.release_held()
    }

    /// The connection to the server was lost: nobody's presence is known any more until the
    /// server sends it again.
    pub fn forget_presence(&mut self) {
        for presence in self.operators.values_mut() {
            presence.clear();
        }
    }

    /// A text arrived from `patron`.
    pub fn inbound_text(&mut self, text: InboundTextId, patron: &PatronAddress) -> Routing {
        // A text must not overtake older held texts from the same patron, so while one of
        // theirs is held the new text queues behind it (release_held releases a patron's
        // texts as soon as someone who would get them is available).
        if self.held.iter().any(|(_, held)| held == patron) {
            self.held.push((text, patron.clone()));
            return Routing::Hold;
        }
        let to = self.recipients(patron);
        if to.is_empty() {
            self.held.push((text, patron.clone()));
            Routing::Hold
        } else {
            Routing::Deliver(to)
        }
    }

    /// `operator` sent a reply to `patron`.
    pub fn operator_replied(&mut self, operator: &BareJid, patron: &PatronAddress) -> ReplyOutcome {
        if !self.may_answer(operator, patron) {
            return ReplyOutcome::NotAnOperator;
        }
        if self.policy == RoutingPolicy::Broadcast {
            return ReplyOutcome::Unchanged;
        }
        match self.claims.get(patron) {
            Some(owner) if owner == operator => return ReplyOutcome::Unchanged,
            Some(owner) if self.is_available(owner) => {
                return ReplyOutcome::OwnedByOther(owner.clone())
            }
            _ => {}
        }
        self.claims.insert(patron.clone(), operator.clone());
        let notify = self
            .desk_of(patron)
            .into_iter()
            .filter(|jid| jid != operator)
            .collect();
        ReplyOutcome::Claimed { notify }
    }

    /// Whether `operator` can answer now (paused or not): a claim of theirs holds.
    fn is_available(&self, operator: &BareJid) -> bool {
        self.present().contains(operator)
    }

    fn recipients(&self, patron: &PatronAddress) -> Vec<BareJid> {
        if self.policy == RoutingPolicy::FirstReplyClaims {
            if let Some(owner) = self.claims.get(patron) {
                if self.is_available(owner) {
                    return vec![owner.clone()];
                }
            }
        }
        self.desk_of(patron)
    }

    /// Who takes `patron`'s texts when nobody claims them: the desk the conversation was
    /// handed to, or the home desk.
    fn desk_of(&self, patron: &PatronAddress) -> Vec<BareJid> {
        match self.handed.get(patron).and_then(|q| self.queues.get(q)) {
            Some(desk) => self.available_in(desk),
            None => self.available(),
        }
    }

    /// Releases every held text someone would get now, in the order they arrived; the
    /// others (a desk nobody is at) stay held.
    fn release_held(&mut self) -> PresenceOutcome {
        if self.held.is_empty() {
            return PresenceOutcome::default();
        }
        let held = std::mem::take(&mut self.held);
        let mut flush = Vec::new();
        for (text, patron) in held {
            let to = self.recipients(&patron);
            // A patron's later text stays behind an earlier one that is still held.
            if to.is_empty() || self.held.iter().any(|(_, p)| *p == patron) {
                self.held.push((text, patron));
            } else {
                flush.push(Release { text, to, patron });
            }
        }
        PresenceOutcome { flush }
    }
}

mod handoff;

pub use handoff::HandOff;

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};
    use proptest::prelude::*;
    use std::fmt::Write;

    fn jid(s: &str) -> BareJid {
        BareJid::new(s).unwrap()
    }

    fn patron(n: &str) -> PatronAddress {
        PatronAddress::E164(n.to_owned())
    }

    /// A tiny script language for routing scenarios, one step per line:
    /// `alice/phone online`, `alice/phone gone`, `text 1 +1555...`, `reply alice +1555...`.
    fn run(router: &mut QueueRouter, script: &str) -> String {
        let mut log = String::new();
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let outcome = match words.as_slice() {
                ["text", id, who] => {
                    let id = InboundTextId(id.parse().unwrap());
                    format!("{:?}", router.inbound_text(id, &patron(who)))
                }
                ["reply", op, who] => {
                    let op = jid(&format!("{op}@library.test"));
                    format!("{:?}", router.operator_replied(&op, &patron(who)))
                }
                [full, state] => {
                    let (op, resource) = full.split_once('/').unwrap();
                    let presence = match *state {
                        "gone" => ResourcePresence::Unavailable,
                        "online" => ResourcePresence::Available(Show::Online),
                        "away" => ResourcePresence::Available(Show::Away),
                        "dnd" => ResourcePresence::Available(Show::Dnd),
                        "xa" => ResourcePresence::Available(Show::Xa),
                        other => panic!("unknown state {other}"),
                    };
                    let op = jid(&format!("{op}@library.test"));
                    format!(
                        "{:?}",
                        router.presence_changed(&op, resource, presence).flush
                    )
                }
                _ => panic!("bad script line {line}"),
            };
            let outcome = outcome
                .replace("@library.test", "")
                .replace("BareJid(", "(");
            writeln!(log, "{line:<28} => {outcome}").unwrap();
        }
        log
    }

    fn check(policy: RoutingPolicy, script: &str, expect: Expect) {
        let mut router = QueueRouter::new(
            [jid("alice@library.test"), jid("bob@library.test")],
            AvailabilityRule::default(),
            policy,
        );
        expect.assert_eq(&run(&mut router, script));
    }

    #[test]
    fn claim_and_rebroadcast() {
        check(
            RoutingPolicy::FirstReplyClaims,
            "
            alice/phone online
            bob/desk online
            text 1 +15551234567
            reply bob +15551234567
            text 2 +15551234567
            reply alice +15551234567
            reply bob +15551234567
            bob/desk gone
            text 3 +15551234567
            reply alice +15551234567
            bob/desk online
            text 4 +15551234567
            ",
            expect![[r#"
                alice/phone online           => []
                bob/desk online              => []
                text 1 +15551234567          => Deliver([("alice"), ("bob")])
                reply bob +15551234567       => Claimed { notify: [("alice")] }
                text 2 +15551234567          => Deliver([("bob")])
                reply alice +15551234567     => OwnedByOther(("bob"))
                reply bob +15551234567       => Unchanged
                bob/desk gone                => []
                text 3 +15551234567          => Deliver([("alice")])
                reply alice +15551234567     => Claimed { notify: [] }
                bob/desk online              => []
                text 4 +15551234567          => Deliver([("alice")])
            "#]],
        );
    }

    #[test]
    fn held_until_someone_is_available() {
        check(
            RoutingPolicy::FirstReplyClaims,
            "
            text 1 +15551234567
            alice/phone dnd
            text 2 +4930901820
            text 3 +15551234567
            alice/phone away
            text 4 +4930901820
            ",
            expect![[r#"
                text 1 +15551234567          => Hold
                alice/phone dnd              => []
                text 2 +4930901820           => Hold
                text 3 +15551234567          => Hold
                alice/phone away             => [Release { text: InboundTextId(1), patron: E164("+15551234567"), to: [("alice")] }, Release { text: InboundTextId(2), patron: E164("+4930901820"), to: [("alice")] }, Release { text: InboundTextId(3), patron: E164("+15551234567"), to: [("alice")] }]
                text 4 +4930901820           => Deliver([("alice")])
            "#]],
        );
    }

    /// The desk's rule (`chat` and plain available only) with the away fallback: a
    /// librarian whose client went `away` by itself still gets texts while nobody else is
    /// there, steps back when a colleague is available, and `xa`/`dnd` never count.
    #[test]
    fn away_operators_stand_in_when_nobody_is_available() {
        let rule = AvailabilityRule::new([Show::Online, Show::Chat]).with_away_fallback(true);
        let mut router = QueueRouter::new(
            [jid("alice@library.test"), jid("bob@library.test")],
            rule,
            RoutingPolicy::FirstReplyClaims,
        );
        expect![[r#"
            text 1 +15551234567          => Hold
            alice/phone away             => [Release { text: InboundTextId(1), patron: E164("+15551234567"), to: [("alice")] }]
            text 2 +4930901820           => Deliver([("alice")])
            bob/desk online              => []
            text 3 +4930901820           => Deliver([("bob")])
            bob/desk xa                  => []
            text 4 +4930901820           => Deliver([("alice")])
            alice/phone dnd              => []
            text 5 +4930901820           => Hold
        "#]]
        .assert_eq(&run(
            &mut router,
            "
            text 1 +15551234567
            alice/phone away
            text 2 +4930901820
            bob/desk online
            text 3 +4930901820
            bob/desk xa
            text 4 +4930901820
            alice/phone dnd
            text 5 +4930901820
            ",
        ));

        let strict = AvailabilityRule::new([Show::Online, Show::Chat]);
        let mut router = QueueRouter::new(
            [jid("alice@library.test")],
            strict,
            RoutingPolicy::FirstReplyClaims,
        );
        expect![[r#"
            alice/phone away             => []
            text 1 +15551234567          => Hold
        "#]]
        .assert_eq(&run(
            &mut router,
            "
            alice/phone away
            text 1 +15551234567
            ",
        ));
    }

    /// The desk's commands: a paused operator gets no new conversations but keeps hers;
    /// a transfer hands a conversation over; a release frees it for everyone; nobody
    /// releases a colleague's conversation.
    #[test]
    fn pause_transfer_and_release() {
        let alice = jid("alice@library.test");
        let bob = jid("bob@library.test");
        let mut router = QueueRouter::new(
            [alice.clone(), bob.clone()],
            AvailabilityRule::default(),
            RoutingPolicy::FirstReplyClaims,
        );
        let mine = patron("+15551234567");
        let new = patron("+4930901820");
        router.presence_changed(&alice, "desk", ResourcePresence::Available(Show::Online));
        router.presence_changed(&bob, "desk", ResourcePresence::Available(Show::Online));
        router.operator_replied(&alice, &mine);

        assert!(router.pause(&alice));
        assert!(!router.pause(&alice), "pausing twice changes nothing");
        assert_eq!(
            router.inbound_text(InboundTextId(1), &new),
            Routing::Deliver(vec![bob.clone()])
        );
        assert_eq!(
            router.inbound_text(InboundTextId(2), &mine),
            Routing::Deliver(vec![alice.clone()])
        );
        assert_eq!(router.active_claims().get(&mine), Some(&alice));

        // With bob gone and alice paused, a new conversation waits; resuming releases it.
        router.presence_changed(&bob, "desk", ResourcePresence::Unavailable);
        assert_eq!(router.inbound_text(InboundTextId(3), &new), Routing::Hold);
        let released = router.resume(&alice).expect("alice had paused");
        assert_eq!(released.flush.len(), 1);
        assert_eq!(router.resume(&alice), None);

        assert_eq!(
            router.release(&mine, &bob),
            Err(ClaimError::OwnedByOther {
                patron: "+15551234567".into(),
                owner: "alice@library.test".into()
            })
        );
        assert_eq!(router.transfer(&mine, &bob), Ok(()));
        assert_eq!(router.claimer(&mine), Some(&bob));
        assert!(matches!(
            router.transfer(&mine, &jid("mallory@evil.test")),
            Err(ClaimError::NotAnOperator(_))
        ));
        assert_eq!(router.release(&mine, &bob), Ok(()));
        assert_eq!(router.claimer(&mine), None);
        assert_eq!(
            router.release(&mine, &bob),
            Err(ClaimError::Unclaimed("+15551234567".into()))
        );
    }

    #[test]
    fn claimer_offline_on_every_resource() {
        check(
            RoutingPolicy::FirstReplyClaims,
            "
            alice/phone online
            alice/desk online
            bob/desk online
            reply alice +15551234567
            alice/phone gone
            text 1 +15551234567
            alice/desk xa
            text 2 +15551234567
            reply carol +15551234567
            ",
            expect![[r#"
                alice/phone online           => []
                alice/desk online            => []
                bob/desk online              => []
                reply alice +15551234567     => Claimed { notify: [("bob")] }
                alice/phone gone             => []
                text 1 +15551234567          => Deliver([("alice")])
                alice/desk xa                => []
                text 2 +15551234567          => Deliver([("bob")])
                reply carol +15551234567     => NotAnOperator
            "#]],
        );
    }

    #[test]
    fn restored_claims_route_like_fresh_ones() {
        let mut router = QueueRouter::new(
            [jid("alice@library.test"), jid("bob@library.test")],
            AvailabilityRule::default(),
            RoutingPolicy::FirstReplyClaims,
        );
        router.restore_claim(patron("+15551234567"), jid("bob@library.test"));
        router.restore_claim(patron("+4930901820"), jid("carol@library.test"));
        expect![[r#"
            alice/phone online           => []
            bob/desk online              => []
            text 1 +15551234567          => Deliver([("bob")])
            text 2 +4930901820           => Deliver([("alice"), ("bob")])
        "#]]
        .assert_eq(&run(
            &mut router,
            "
            alice/phone online
            bob/desk online
            text 1 +15551234567
            text 2 +4930901820
            ",
        ));
    }

    #[test]
    fn broadcast_policy_never_claims() {
        check(
            RoutingPolicy::Broadcast,
            "
            alice/phone online
            bob/desk online
            reply alice +15551234567
            text 1 +15551234567
            ",
            expect![[r#"
                alice/phone online           => []
                bob/desk online              => []
                reply alice +15551234567     => Unchanged
                text 1 +15551234567          => Deliver([("alice"), ("bob")])
            "#]],
        );
    }

    #[test]
    fn config_enums_deserialize() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)] // read through Debug only
        struct Queue {
            available: AvailabilityRule,
            routing: RoutingPolicy,
        }
        let queue: Queue = toml::from_str(
            "available = [\"chat\", \"available\", \"dnd\"]\nrouting = \"broadcast\"",
        )
        .unwrap();
        expect!["Queue { available: AvailabilityRule { shows: {Online, Chat, Dnd}, away_fallback: false }, routing: Broadcast }"]
            .assert_eq(&format!("{queue:?}"));
        let err =
            toml::from_str::<Queue>("available = [\"busy\"]\nrouting = \"broadcast\"").unwrap_err();
        assert!(err.to_string().contains("unknown variant `busy`"), "{err}");
    }

    #[derive(Debug, Clone)]
    enum Step {
        Presence(usize, usize, Option<Show>),
        Text(usize),
        Reply(usize, usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        let show = prop_oneof![
            Just(None),
            Just(Some(Show::Online)),
            Just(Some(Show::Away)),
            Just(Some(Show::Dnd)),
            Just(Some(Show::Xa)),
        ];
        prop_oneof![
            (0..4usize, 0..2usize, show).prop_map(|(o, r, s)| Step::Presence(o, r, s)),
            (0..3usize).prop_map(Step::Text),
            (0..4usize, 0..3usize).prop_map(|(o, p)| Step::Reply(o, p)),
        ]
    }

    proptest! {
        /// Nothing is delivered to an unavailable operator, every text is delivered or held
        /// exactly once, and nothing stays held while someone is available.
        #[test]
        fn routing_invariants(steps in proptest::collection::vec(step(), 0..60)) {
            // Operator 3 is not in the queue; its presence and replies must change nothing.
            let ops: Vec<BareJid> = ["a", "b", "c", "stranger"]
                .iter()
                .map(|n| jid(&format!("{n}@library.test")))
                .collect();
            let patrons = ["+15550000001", "+15550000002", "+15550000003"].map(patron);
            let mut router = QueueRouter::new(ops[..3].to_vec(), AvailabilityRule::default(), RoutingPolicy::FirstReplyClaims);
            let mut next_id = 0;
            let mut delivered = Vec::new();
            for step in steps {
                match step {
                    Step::Presence(o, r, show) => {
                        let presence = show.map_or(ResourcePresence::Unavailable, ResourcePresence::Available);
                        let outcome = router.presence_changed(&ops[o], &format!("r{r}"), presence);
                        let available = router.available();
                        for release in outcome.flush {
                            prop_assert!(!release.to.is_empty());
                            prop_assert!(release.to.iter().all(|j| available.contains(j)));
                            delivered.push(release.text.0);
                        }
                    }
                    Step::Text(p) => {
                        next_id += 1;
                        match router.inbound_text(InboundTextId(next_id), &patrons[p]) {
                            Routing::Deliver(to) => {
                                prop_assert!(!to.is_empty());
                                let available = router.available();
                                prop_assert!(to.iter().all(|j| available.contains(j)));
                                delivered.push(next_id);
                            }
                            Routing::Hold => prop_assert!(router.available().is_empty()),
                        }
                    }
                    Step::Reply(o, p) => {
                        let outcome = router.operator_replied(&ops[o], &patrons[p]);
                        if o == 3 {
                            prop_assert_eq!(outcome, ReplyOutcome::NotAnOperator);
                        } else if let ReplyOutcome::Claimed { notify } = outcome {
                            prop_assert!(!notify.contains(&ops[o]));
                            prop_assert_eq!(router.claimer(&patrons[p]), Some(&ops[o]));
                        }
                    }
                }
                if !router.available().is_empty() {
                    prop_assert_eq!(router.held().count(), 0);
                }
            }
            let held: Vec<i64> = router.held().map(|(id, _)| id.0).collect();
            let mut all: Vec<i64> = delivered.iter().chain(&held).copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (1..=next_id).collect::<Vec<i64>>());
        }
    }
}
