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
    /// restart keeps it, with the desk the conversation was handed to ([`read_claim`]).
    pub(super) async fn store_claim(&self, patron: &PatronAddress, by: Option<&BareJid>) {
        let record = write_claim(self.router.handed_to(patron), by);
        match self
            .store
            .find_conversation(&self.settings.name, patron.as_str())
            .await
        {
            Ok(Some(conversation)) => {
                if let Err(e) = self
                    .store
                    .set_claim(conversation.id, record.as_deref())
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

/// How a claim is kept in `conversations.claimed_by`: the operator's bare JID; for a
/// conversation handed to another gateway's desk, `desk:<gateway>` and, once one of its
/// librarians answers, a space and their JID (a JID has no spaces).
fn write_claim(desk: Option<&str>, by: Option<&BareJid>) -> Option<String> {
    match (desk, by) {
        (None, by) => by.map(|jid| jid.as_str().to_owned()),
        (Some(desk), None) => Some(format!("desk:{desk}")),
        (Some(desk), Some(jid)) => Some(format!("desk:{desk} {}", jid.as_str())),
    }
}

/// The desk and the operator of a kept claim ([`write_claim`]); what cannot be read is
/// left out.
pub(super) fn read_claim(record: &str) -> (Option<&str>, Option<BareJid>) {
    match record.strip_prefix("desk:") {
        Some(rest) => {
            let (desk, jid) = match rest.split_once(' ') {
                Some((desk, jid)) => (desk, BareJid::new(jid).ok()),
                None => (rest, None),
            };
            (Some(desk), jid)
        }
        None => (None, BareJid::new(record).ok()),
    }
}

#[cfg(test)]
mod claim_records {
    use super::*;

    #[test]
    fn claims_and_handoffs_are_kept_and_read_back() {
        let bob = BareJid::new("bob@library.test").unwrap();
        for (desk, by) in [
            (None, None),
            (None, Some(&bob)),
            (Some("branch"), None),
            (Some("branch"), Some(&bob)),
        ] {
            let record = write_claim(desk, by);
            let read = record.as_deref().map(read_claim).unwrap_or((None, None));
            assert_eq!(read, (desk, by.cloned()), "{record:?}");
        }
        assert_eq!(read_claim("not a jid@@"), (None, None));
    }
}
