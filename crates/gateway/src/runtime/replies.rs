//! Operators' replies: a reply is checked (only the gateway's operators may send through
//! it, only to a number, within the gateway's part limit), queued durably in the outbox for
//! the worker to send, and makes its operator the conversation's claimer (stored, and told
//! to the other operators).

use textgate_core::{BareJid, PatronAddress, ReplyOutcome};
use textgate_store::{DeliveryReceipt, NewOutbound, OutboundOrigin, Priority};
use textgate_xmpp::{OperatorReply, ReceiptRequest};
use tracing::field::Empty;
use tracing::Instrument;

use super::Runtime;
use crate::notices::Refusal;

impl Runtime {
    /// A reply from an operator, logged in a `reply` span with its stanza id (one is made
    /// up when the client sent none) and, once queued, its outbound id.
    pub(super) async fn on_reply(&mut self, reply: OperatorReply) {
        let stanza = reply
            .id
            .clone()
            .unwrap_or_else(|| format!("no-id-{:016x}", rand::random::<u64>()));
        let span = tracing::info_span!("reply", stanza = %stanza, outbound = Empty);
        self.queue_reply(reply, stanza).instrument(span).await;
    }

    /// Why the gateway will not send `reply`, if it will not: checked before it is queued,
    /// so the operator hears at once.
    fn refusal(&self, reply: &OperatorReply) -> Option<Refusal> {
        if !self.router.is_operator(&reply.operator) {
            return Some(Refusal::NotAnOperator);
        }
        if !reply.patron.is_reachable() {
            return Some(Refusal::NotANumber);
        }
        let countdown = self.segmenter.countdown(&reply.body);
        (!countdown.within_limit()).then_some(Refusal::TooLong {
            parts: countdown.parts,
        })
    }

    async fn queue_reply(&mut self, reply: OperatorReply, xmpp_id: String) {
        tracing::info!(operator = %reply.operator.as_str(), "reply from an operator");
        if let Some(refusal) = self.refusal(&reply) {
            self.notices.refused(&reply, &xmpp_id, refusal).await;
            return;
        }
        let text = NewOutbound {
            gateway: self.settings.name.clone(),
            recipient: reply.patron.as_str().to_owned(),
            origin: OutboundOrigin::Chat {
                sender_jid: reply.from.clone(),
                xmpp_id: xmpp_id.clone(),
                receipt: wanted_receipt(&reply),
            },
            body: reply.body.clone(),
            priority: Priority::CHAT,
            not_before: None,
        };
        match self.store.enqueue_outbound(&text).await {
            Ok(insertion) => {
                tracing::Span::current().record("outbound", insertion.id());
                tracing::info!("reply queued");
            }
            Err(e) => {
                tracing::error!(stanza = %xmpp_id, error = %e, "could not queue a reply");
                self.notices
                    .refused(&reply, &xmpp_id, Refusal::NotQueued)
                    .await;
                return;
            }
        }
        self.claim(&reply.operator, &reply.patron).await;
    }

    async fn claim(&mut self, operator: &BareJid, patron: &PatronAddress) {
        let ReplyOutcome::Claimed { notify } = self.router.operator_replied(operator, patron)
        else {
            return;
        };
        match self
            .store
            .find_conversation(&self.settings.name, patron.as_str())
            .await
        {
            Ok(Some(conversation)) => {
                if let Err(e) = self
                    .store
                    .set_claim(conversation.id, Some(operator.as_str()))
                    .await
                {
                    tracing::warn!(error = %e, "claim not stored");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "claim not stored"),
        }
        self.notices.claimed(patron, operator, notify).await;
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
