//! Operators' replies, once the [intake](crate::intake) committed them to the outbox: the
//! operator who replied claims the conversation (stored, and told to the other operators),
//! or, when another available operator is answering that patron, both are told
//! ([`ClaimCollisions::Warn`]).

use textgate_core::{BareJid, PatronAddress, ReplyOutcome};
use textgate_xmpp::OperatorReply;
use tracing::Instrument;

use super::Runtime;
use crate::settings::ClaimCollisions;

impl Runtime {
    /// A patron's text is about to be routed: the conversation it belongs to started now
    /// if the patron never texted before or nothing happened in it for
    /// [`DeskSettings::conversation_ends_after`]; then a claim from the conversation that
    /// ended is released (the text goes to everyone available) and the new conversation
    /// is counted.
    ///
    /// [`DeskSettings::conversation_ends_after`]: crate::settings::DeskSettings::conversation_ends_after
    pub(super) async fn patron_texted(&mut self, patron: &PatronAddress) {
        let now = chrono::Utc::now();
        let ends_after = chrono::Duration::from_std(self.settings.desk.conversation_ends_after)
            .unwrap_or(chrono::Duration::MAX);
        let previous = self.activity.insert(patron.clone(), now);
        let idle = previous.is_some_and(|last| now - last > ends_after);
        if previous.is_some() && !idle {
            return;
        }
        self.hooks.metrics.conversation_started(&self.settings.name);
        if !idle {
            return;
        }
        if let Some(owner) = self.router.end_conversation(patron) {
            tracing::info!(
                owner = %owner.as_str(), idle_for = ?self.settings.desk.conversation_ends_after,
                "the conversation ended for want of activity; its claim is released"
            );
            self.store_claim(patron, None).await;
            self.claims.publish(&self.router);
        }
    }

    /// A reply the intake queued as `outbound`, in a `reply` span with its stanza and
    /// outbound ids as when it was queued.
    pub(super) async fn on_queued(&mut self, reply: OperatorReply, stanza: &str, outbound: i64) {
        let span = tracing::info_span!("reply", stanza = %stanza, outbound);
        self.activity
            .insert(reply.patron.clone(), chrono::Utc::now());
        self.claim(&reply).instrument(span).await;
        self.claims.publish(&self.router);
        self.check_backlog().await;
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
        self.store_claim(patron, Some(operator)).await;
        self.notices.claimed(patron, operator, notify).await;
    }

    /// Records who answers `patron` (nobody: `None`) in the conversation's row, so a
    /// restart keeps it.
    pub(super) async fn store_claim(&self, patron: &PatronAddress, by: Option<&BareJid>) {
        match self
            .store
            .find_conversation(&self.settings.name, patron.as_str())
            .await
        {
            Ok(Some(conversation)) => {
                if let Err(e) = self
                    .store
                    .set_claim(conversation.id, by.map(BareJid::as_str))
                    .await
                {
                    tracing::warn!(error = %e, "claim not stored");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "claim not stored"),
        }
    }
}
