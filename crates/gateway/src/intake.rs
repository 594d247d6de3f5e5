//! The reply intake: operators' replies are committed to the outbox the moment the
//! component reads them, in a task of their own, before anything else happens to them.
//!
//! XEP-0114 acknowledges nothing: once the server has written a librarian's reply into the
//! component's connection, only the daemon knows of it, so until the reply is in the
//! database a crash loses it without a word to her. The gateway's event loop
//! ([`runtime`](crate::runtime)) handles one event at a time, and after a restart it is busy
//! for a while reading back what the previous run left; a reply behind that work waited in
//! memory, and a reply still in the channel when the daemon was told to stop was dropped.
//! Here a reply waits for nothing but its own checks (is the sender an operator, is the
//! recipient a number, does the text fit) and one insert. Every other event goes on to the
//! event loop unchanged, in order, and so does each queued reply (the loop records who
//! claimed the conversation). The intake ends when the component's events end, so what the
//! component read before it closed on a stop is still committed.

use std::collections::HashSet;
use std::sync::Arc;

use textgate_core::{BareJid, CannedName, PatronAddress, PatronHandle};
use textgate_gsm::segment::Segmenter;
use textgate_store::{DeliveryReceipt, NewOutbound, OutboundOrigin, Priority, Store};
use textgate_xmpp::{GatewayEvent, OperatorReply, ReceiptRequest};
use tokio::sync::mpsc;
use tracing::field::Empty;
use tracing::Instrument;

use crate::claims::ClaimBoard;
use crate::handles::{HandleError, PatronHandles};
use crate::notices::{OperatorNotices, Refusal};
use crate::settings::{ClaimCollisions, GatewaySettings};

/// What the intake passes on to the event loop.
#[derive(Debug)]
pub enum Taken {
    /// Any event but a reply, as the component sent it.
    Event(GatewayEvent),
    /// A reply committed to the outbox as `outbound`: its operator now claims the
    /// conversation.
    Queued {
        reply: OperatorReply,
        stanza: String,
        outbound: i64,
    },
}

/// The intake of one gateway.
pub struct ReplyIntake {
    pub settings: Arc<GatewaySettings>,
    pub store: Store,
    pub segmenter: Segmenter,
    pub notices: OperatorNotices,
    /// The gateway's own operators: they may answer any of its patrons.
    pub home: HashSet<BareJid>,
    /// Everyone who may send through it: the home operators, and the librarians of the
    /// desks it hands conversations to (only in those conversations, [`ClaimBoard::handed`]).
    pub operators: HashSet<BareJid>,
    /// Who is answering whom, for [`ClaimCollisions::Refuse`].
    pub claims: ClaimBoard,
    /// On a gateway that hides numbers: the handles librarians write to.
    pub handles: Option<PatronHandles>,
}

impl ReplyIntake {
    /// Takes the component's events until they end, committing replies and passing
    /// everything on to `taken`. Should the event loop be gone, replies are still
    /// committed (the outbox sends them) and the rest is dropped.
    pub async fn run(self, mut events: mpsc::Receiver<GatewayEvent>, taken: mpsc::Sender<Taken>) {
        while let Some(event) = events.recv().await {
            let next = match self.numbers_of(event).await {
                GatewayEvent::OperatorReply(reply) => {
                    let stanza = reply
                        .id
                        .clone()
                        .unwrap_or_else(|| format!("no-id-{:016x}", rand::random::<u64>()));
                    let span = tracing::info_span!("reply", stanza = %stanza, outbound = Empty);
                    match self.queue(&reply, &stanza).instrument(span).await {
                        Some(outbound) => Taken::Queued {
                            reply,
                            stanza,
                            outbound,
                        },
                        None => continue,
                    }
                }
                other => Taken::Event(other),
            };
            // A closed loop (the gateway is stopping) still lets the rest be committed.
            let _ = taken.send(next).await;
        }
    }

    /// The event with the patron a librarian wrote to, or whose message she received, as
    /// the number behind their handle. A reply to a handle nobody goes by keeps it, and is
    /// refused in [`ReplyIntake::queue`].
    async fn numbers_of(&self, event: GatewayEvent) -> GatewayEvent {
        let Some(handles) = &self.handles else {
            return event;
        };
        let number = |patron: PatronAddress| async move {
            match handles.named(&patron).await {
                Ok(number) => number,
                Err(e) => {
                    tracing::warn!(error = %e, "a librarian named a handle that is not known");
                    patron
                }
            }
        };
        match event {
            GatewayEvent::OperatorReply(mut reply) => {
                reply.patron = number(reply.patron).await;
                GatewayEvent::OperatorReply(reply)
            }
            GatewayEvent::OperatorReceived {
                operator,
                patron,
                id,
            } => GatewayEvent::OperatorReceived {
                operator,
                patron: number(patron).await,
                id,
            },
            GatewayEvent::DeliveryFailed {
                operator,
                patron,
                id,
                reason,
            } => GatewayEvent::DeliveryFailed {
                operator,
                patron: match patron {
                    Some(patron) => Some(number(patron).await),
                    None => None,
                },
                id,
                reason,
            },
            other => other,
        }
    }

    /// Checks and commits one reply; its outbound id, or `None` when it was refused (the
    /// operator is told, on their message).
    async fn queue(&self, reply: &OperatorReply, stanza: &str) -> Option<i64> {
        tracing::info!(operator = %reply.operator.as_str(), "reply from an operator");
        let expanded = match self.expand_canned(reply).await {
            Ok(expanded) => expanded,
            Err(refusal) => {
                self.notices.refused(reply, stanza, refusal).await;
                return None;
            }
        };
        let reply = expanded.as_ref().unwrap_or(reply);
        if let Some(refusal) = self.refusal(reply) {
            self.notices.refused(reply, stanza, refusal).await;
            return None;
        }
        let text = NewOutbound {
            gateway: self.settings.name.clone(),
            recipient: reply.patron.as_str().to_owned(),
            origin: OutboundOrigin::Chat {
                sender_jid: reply.from.clone(),
                xmpp_id: stanza.to_owned(),
                receipt: wanted_receipt(reply),
            },
            body: reply.body.clone(),
            priority: Priority::CHAT,
            not_before: None,
        };
        match self.store.enqueue_outbound(&text).await {
            Ok(insertion) => {
                tracing::Span::current().record("outbound", insertion.id());
                tracing::info!("reply queued");
                Some(insertion.id())
            }
            Err(e) => {
                tracing::error!(stanza, error = %e, "could not queue a reply");
                self.notices
                    .refused(reply, stanza, Refusal::NotQueued)
                    .await;
                None
            }
        }
    }

    /// A reply that is only `/name` sends the canned reply of that name instead (as
    /// LibraryH3lp's and LibAnswers' desks do); `None` when the reply is not one. A name
    /// with no canned reply is refused rather than texted to the patron as it stands.
    async fn expand_canned(&self, reply: &OperatorReply) -> Result<Option<OperatorReply>, Refusal> {
        let Some(name) = reply.body.trim().strip_prefix('/') else {
            return Ok(None);
        };
        let Ok(name) = CannedName::new(name) else {
            return Ok(None);
        };
        match self
            .store
            .canned_reply(&self.settings.name, name.as_str())
            .await
        {
            Ok(Some(canned)) => {
                tracing::info!(canned = name.as_str(), "canned reply expanded");
                Ok(Some(OperatorReply {
                    body: canned.body,
                    ..reply.clone()
                }))
            }
            Ok(None) => Err(Refusal::NoCannedReply(name.as_str().to_owned())),
            Err(e) => {
                tracing::error!(error = %e, "could not read a canned reply");
                Err(Refusal::NotQueued)
            }
        }
    }

    /// Why the gateway will not send `reply`, if it will not: checked before it is queued,
    /// so the operator hears at once.
    fn refusal(&self, reply: &OperatorReply) -> Option<Refusal> {
        if !self.operators.contains(&reply.operator) {
            return Some(Refusal::NotAnOperator);
        }
        if !self.home.contains(&reply.operator)
            && !self.claims.handed(&reply.patron, &reply.operator)
        {
            return Some(Refusal::NotHandedToYou);
        }
        if let PatronAddress::Alphanumeric(name) = &reply.patron {
            if let (Some(handle), Some(_)) = (PatronHandle::parse(name), &self.handles) {
                return Some(Refusal::UnknownHandle(
                    HandleError::Unknown(handle).to_string(),
                ));
            }
        }
        if !reply.patron.is_reachable() {
            return Some(Refusal::NotANumber);
        }
        let countdown = self.segmenter.countdown(&reply.body);
        if !countdown.within_limit() {
            return Some(Refusal::TooLong {
                parts: countdown.parts,
            });
        }
        if self.settings.claim_collisions == ClaimCollisions::Refuse {
            if let Some(owner) = self.claims.answering(&reply.patron) {
                if owner != reply.operator {
                    return Some(Refusal::ClaimedBy(owner));
                }
            }
        }
        None
    }
}

/// The receipt a reply asked for. A receipt names the message it confirms, so a reply
/// without a stanza id cannot have one (its stored id is made up).
fn wanted_receipt(reply: &OperatorReply) -> DeliveryReceipt {
    match (reply.receipt_requested, &reply.id) {
        (ReceiptRequest::Requested, Some(_)) => DeliveryReceipt::Requested,
        _ => DeliveryReceipt::NotRequested,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use textgate_core::{PatronAddress, ResourcePresence};
    use textgate_gsm::segment::SegmenterConfig;
    use textgate_store::OutboundState;
    use textgate_testkit::FreshSqlite;
    use textgate_xmpp::ComponentConfig;

    use super::*;

    const WAIT: Duration = Duration::from_secs(30);

    fn reply(operator: &str, to: &str, id: &str) -> OperatorReply {
        OperatorReply {
            operator: BareJid::new(operator).expect("a JID"),
            from: format!("{operator}/desk"),
            patron: PatronAddress::from_sender(to, "US".parse().expect("a region")),
            body: format!("reply {id}"),
            id: Some(id.to_owned()),
            receipt_requested: ReceiptRequest::Requested,
        }
    }

    /// The component read a presence and three replies (one from a stranger) and then
    /// closed, as on a stop, while the event loop took nothing: the operator's replies are
    /// in the outbox all the same, the stranger's is not, and the loop gets the presence
    /// and the two queued replies in the order they came.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replies_are_committed_without_the_event_loop_and_after_the_component_closed() {
        let database = FreshSqlite::create("intake.db").expect("a temporary directory");
        let store = Store::open(database.url()).await.expect("the store opens");
        let region = "US".parse().expect("a region");
        let component = ComponentConfig::new(
            "sms.library.test",
            "secret",
            "127.0.0.1:1",
            Vec::new(),
            region,
        );
        let (xmpp, _events) = textgate_xmpp::spawn(component).expect("the component starts");
        let settings = Arc::new(GatewaySettings::new("library", "sms.library.test", region));
        let alice = BareJid::new("alice@library.test").expect("a JID");
        let intake = ReplyIntake {
            settings: settings.clone(),
            store: store.clone(),
            segmenter: Segmenter::new(SegmenterConfig::default()),
            notices: OperatorNotices::new(settings, xmpp.into(), store.clone()),
            home: HashSet::from([alice.clone()]),
            operators: HashSet::from([alice.clone()]),
            claims: ClaimBoard::default(),
            handles: None,
        };
        let (component_events, events) = mpsc::channel(8);
        let (taken, mut loop_events) = mpsc::channel(8);
        let presence = GatewayEvent::OperatorPresence {
            operator: alice,
            resource: "desk".to_owned(),
            presence: ResourcePresence::Unavailable,
        };
        for event in [
            presence.clone(),
            GatewayEvent::OperatorReply(reply("alice@library.test", "+15551230001", "r-1")),
            GatewayEvent::OperatorReply(reply("mallory@evil.test", "+15551230002", "r-2")),
            GatewayEvent::OperatorReply(reply("alice@library.test", "+15551230003", "r-3")),
        ] {
            component_events
                .send(event)
                .await
                .expect("the intake listens");
        }
        drop(component_events);
        tokio::time::timeout(WAIT, intake.run(events, taken))
            .await
            .expect("the intake ends when the component's events end");

        let mut queued = Vec::new();
        let mut order = Vec::new();
        while let Ok(next) = loop_events.try_recv() {
            match next {
                Taken::Event(event) => {
                    assert_eq!(event, presence);
                    order.push("presence".to_owned());
                }
                Taken::Queued {
                    stanza, outbound, ..
                } => {
                    order.push(stanza.clone());
                    queued.push((stanza, outbound));
                }
            }
        }
        assert_eq!(order, ["presence", "r-1", "r-3"]);
        for (stanza, outbound) in queued {
            let text = store
                .outbound(outbound)
                .await
                .expect("the store answers")
                .expect("the reply is in the outbox");
            assert_eq!(
                (text.xmpp_id.as_deref(), text.state, text.body),
                (
                    Some(stanza.as_str()),
                    OutboundState::Queued,
                    Some(format!("reply {stanza}"))
                )
            );
        }
        assert_eq!(store.outbox_depth("library").await.expect("a count"), 2);
    }
}
