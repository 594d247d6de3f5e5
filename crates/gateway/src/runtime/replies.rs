//! Operators' replies, once the [intake](crate::intake) committed them to the outbox: the
//! operator who replied claims the conversation (stored, and told to the other operators),
//! or, when another available operator is answering that patron, both are told
//! ([`ClaimCollisions::Warn`]).

use textgate_core::ReplyOutcome;
use textgate_xmpp::OperatorReply;
use tracing::Instrument;

use super::Runtime;
use crate::settings::ClaimCollisions;

impl Runtime {
    /// A reply the intake queued as `outbound`, in a `reply` span with its stanza and
    /// outbound ids as when it was queued.
    pub(super) async fn on_queued(&mut self, reply: OperatorReply, stanza: &str, outbound: i64) {
        let span = tracing::info_span!("reply", stanza = %stanza, outbound);
        self.claim(&reply).instrument(span).await;
        self.claims.publish(&self.router);
    }

    async fn claim(&mut self, reply: &OperatorReply) {
        let (operator, patron) = (&reply.operator, &reply.patron);
        let notify = match self.router.operator_replied(operator, patron) {
            ReplyOutcome::Claimed { notify } => notify,
            ReplyOutcome::OwnedByOther(owner) => {
                tracing::info!(owner = %owner.as_str(), "a second operator answered a claimed conversation");
                // Under `Refuse` the intake stopped it, unless both came at once.
                if self.settings.claim_collisions != ClaimCollisions::Allow {
                    self.notices
                        .collided(patron, &owner, operator, &reply.body)
                        .await;
                }
                return;
            }
            ReplyOutcome::Unchanged | ReplyOutcome::NotAnOperator => return,
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
