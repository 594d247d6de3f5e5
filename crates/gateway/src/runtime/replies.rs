//! Operators' replies, once the [intake](crate::intake) committed them to the outbox: the
//! operator who replied claims the conversation (stored, and told to the other operators).

use textgate_core::{BareJid, PatronAddress, ReplyOutcome};
use textgate_xmpp::OperatorReply;
use tracing::Instrument;

use super::Runtime;

impl Runtime {
    /// A reply the intake queued as `outbound`, in a `reply` span with its stanza and
    /// outbound ids as when it was queued.
    pub(super) async fn on_queued(&mut self, reply: OperatorReply, stanza: &str, outbound: i64) {
        let span = tracing::info_span!("reply", stanza = %stanza, outbound);
        self.claim(&reply.operator, &reply.patron)
            .instrument(span)
            .await;
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
