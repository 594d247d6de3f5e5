//! What operators are told, composed in one place: [`OperatorNotices`] words and sends every
//! stanza the gateway itself says to an operator, from both the runtime and the outbox
//! worker.
//!
//! - About a reply: the XEP-0184 receipt when it reached the phone (if they asked for one),
//!   an XMPP error on their original message when the network gave up on it or the outbox
//!   did, the one-line notice that it went out as several SMS, and the error refusing a
//!   reply the gateway will not send.
//! - About a patron: the missed-call notice, the alert screen's notice, and the notice that
//!   another operator claimed the conversation.
//!
//! Everything said about a reply once it is queued comes from its row in the store alone
//! (a [`StoredReply`]), never from one daemon's memory: a status report matched after a
//! restart, or by another daemon on the same database, is told the same way.
//! Notices come from the patron's JID (or the gateway's, for a hidden caller), so a client
//! shows them in the conversation they are about.

use std::sync::Arc;

use textgate_core::{BareJid, PatronAddress};
use textgate_store::{DeliveryReceipt, OutboundText, StatusReportMatch};
use textgate_xmpp::{
    ComponentHandle, ErrorCondition, Notice, NoticeSender, OperatorReply, Outgoing, ReplyError,
};

use crate::settings::GatewaySettings;

/// Whether a reply's `from` is an operator's JID. Texts the gateway sends itself (a missed
/// call's auto-reply) carry the gateway's domain instead: no operator hears about their
/// fate.
pub fn is_operator_jid(sender_jid: &str) -> bool {
    sender_jid.contains('@')
}

/// The bare JID of a full JID as the store keeps it.
pub fn bare_of(full: &str) -> Option<BareJid> {
    let bare = full.split_once('/').map_or(full, |(bare, _)| bare);
    BareJid::new(bare).ok()
}

/// A reply as its row in the store has it: all that is used to tell its operator about it.
#[derive(Debug, Clone, Copy)]
pub struct StoredReply<'a> {
    pub outbound: i64,
    /// The number it went to, as enqueued from the patron's address.
    pub recipient: &'a str,
    /// The operator's full JID, or the gateway's domain for texts it sent itself.
    pub sender_jid: Option<&'a str>,
    /// The id of the operator's message, which a receipt or an error refers to.
    pub xmpp_id: Option<&'a str>,
    pub receipt: DeliveryReceipt,
}

impl<'a> From<&'a StatusReportMatch> for StoredReply<'a> {
    fn from(matched: &'a StatusReportMatch) -> StoredReply<'a> {
        StoredReply {
            outbound: matched.outbound_id,
            recipient: &matched.recipient,
            sender_jid: matched.sender_jid.as_deref(),
            xmpp_id: matched.xmpp_id.as_deref(),
            receipt: matched.receipt,
        }
    }
}

impl<'a> From<&'a OutboundText> for StoredReply<'a> {
    fn from(text: &'a OutboundText) -> StoredReply<'a> {
        StoredReply {
            outbound: text.id,
            recipient: &text.recipient,
            sender_jid: text.sender_jid.as_deref(),
            xmpp_id: text.xmpp_id.as_deref(),
            receipt: text.receipt,
        }
    }
}

/// Why a reply from an operator is not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The sender is not one of the gateway's operators.
    NotAnOperator,
    /// The patron is a name (an alphanumeric sender), which cannot receive texts.
    NotANumber,
    /// The reply needs more SMS than the gateway sends for one reply.
    TooLong { parts: usize },
    /// The store could not queue it.
    NotQueued,
}

/// Composes and sends what one gateway tells its operators. Cheap to clone: the runtime
/// and the outbox worker each hold one.
#[derive(Debug, Clone)]
pub struct OperatorNotices {
    settings: Arc<GatewaySettings>,
    xmpp: ComponentHandle,
}

impl OperatorNotices {
    pub fn new(settings: Arc<GatewaySettings>, xmpp: ComponentHandle) -> OperatorNotices {
        OperatorNotices { settings, xmpp }
    }

    /// The patron a reply went to. The number was enqueued from the patron's address, so
    /// this gives it back as it was.
    fn patron(&self, reply: &StoredReply<'_>) -> PatronAddress {
        PatronAddress::from_sender(reply.recipient, self.settings.region)
    }

    /// A reply reached the phone: the operator gets the receipt they asked for, from the
    /// patron's JID and on their message's id. A reply without a stanza id, or sent by the
    /// gateway itself, has nobody to receive one.
    pub async fn delivered(&self, reply: StoredReply<'_>) {
        if reply.receipt != DeliveryReceipt::Requested {
            return;
        }
        let (Some(to), Some(id)) = (
            reply.sender_jid.filter(|s| is_operator_jid(s)),
            reply.xmpp_id,
        ) else {
            return;
        };
        let receipt = Outgoing::Receipt {
            to: to.to_owned(),
            patron: self.patron(&reply),
            id: id.to_owned(),
        };
        match self.xmpp.send(receipt).await {
            Ok(()) => {
                tracing::info!(
                    outbound = reply.outbound,
                    stanza = id,
                    "receipt sent to the operator"
                );
            }
            Err(e) => {
                tracing::warn!(outbound = reply.outbound, stanza = id, error = %e, "receipt not sent");
            }
        }
    }

    /// A status report said the network gave up on a reply: an error on the operator's
    /// message.
    pub async fn not_delivered(&self, reply: StoredReply<'_>) {
        let Some(error) = self.reply_error(&reply, |patron| {
            format!("The SMS to {patron} was not delivered: the network gave up.")
        }) else {
            return;
        };
        match self.xmpp.send(Outgoing::Error(error)).await {
            Ok(()) => {
                tracing::info!(
                    outbound = reply.outbound,
                    stanza = reply.xmpp_id,
                    "delivery failure reported to the operator"
                );
            }
            Err(e) => {
                tracing::warn!(outbound = reply.outbound, stanza = reply.xmpp_id, error = %e, "delivery failure not reported");
            }
        }
    }

    /// The outbox gave up on a reply (`reason`, as stored with it): an error on the
    /// operator's message.
    pub async fn not_sent(&self, reply: StoredReply<'_>, reason: &str) {
        let Some(error) = self.reply_error(&reply, |patron| {
            format!("The SMS to {patron} was not sent: {reason}")
        }) else {
            return;
        };
        if let Err(e) = self.xmpp.send(Outgoing::Error(error)).await {
            tracing::warn!(error = %e, "could not report a failed reply");
        }
    }

    /// The error about a reply that did not reach its patron, worded by `text` from the
    /// patron's number; `None` when no operator sent it.
    fn reply_error(
        &self,
        reply: &StoredReply<'_>,
        text: impl FnOnce(&str) -> String,
    ) -> Option<ReplyError> {
        let to = reply.sender_jid.filter(|s| is_operator_jid(s))?;
        let patron = self.patron(reply);
        Some(ReplyError {
            to: to.to_owned(),
            text: text(patron.as_str()),
            patron,
            id: reply.xmpp_id.map(str::to_owned),
            condition: ErrorCondition::RecipientUnavailable,
        })
    }

    /// A reply went out as `parts` SMS: the configured notice, if any, so the operator
    /// knows what it cost (the equivalent of the seed design's character countdown).
    pub async fn sent_as(&self, reply: StoredReply<'_>, parts: usize) {
        let Some(body) = self.settings.multipart_notice(parts) else {
            return;
        };
        let Some(operator) = reply.sender_jid.and_then(bare_of) else {
            return;
        };
        let notice = Notice {
            from: NoticeSender::Patron(self.patron(&reply)),
            to: operator,
            body,
        };
        if let Err(e) = self.xmpp.send(Outgoing::Notice(notice)).await {
            tracing::debug!(error = %e, "multipart notice not sent");
        }
    }

    /// Refuses a reply, with an error on the operator's message (`stanza` is its id as
    /// logged; one is made up when the client sent none).
    pub async fn refused(&self, reply: &OperatorReply, stanza: &str, refusal: Refusal) {
        let (condition, text) = match refusal {
            Refusal::NotAnOperator => (
                ErrorCondition::Forbidden,
                "Only this gateway's operators may send texts through it.".to_owned(),
            ),
            Refusal::NotANumber => (
                ErrorCondition::NotAcceptable,
                format!(
                    "{} is a name, not a number: it cannot receive texts.",
                    reply.patron.as_str()
                ),
            ),
            Refusal::TooLong { parts } => (
                ErrorCondition::PolicyViolation,
                format!(
                    "Not sent: this reply needs {parts} SMS, and this gateway sends at most {}. Please shorten it.",
                    self.settings.max_parts
                ),
            ),
            Refusal::NotQueued => (
                ErrorCondition::UndefinedCondition,
                "Not sent: the gateway could not queue the reply. Please try again.".to_owned(),
            ),
        };
        let error = Outgoing::Error(ReplyError {
            to: reply.from.clone(),
            patron: reply.patron.clone(),
            id: reply.id.clone(),
            condition,
            text,
        });
        if refusal == Refusal::NotQueued {
            // The store's failure is logged where it happened, as an error.
            let _ = self.xmpp.send(error).await;
            return;
        }
        if let Outgoing::Error(error) = &error {
            tracing::info!(condition = ?error.condition, reason = %error.text, "reply refused");
        }
        if let Err(e) = self.xmpp.send(error).await {
            tracing::warn!(stanza, error = %e, "refusal not sent");
        }
    }

    /// A voice call was rejected: "Missed call from ..." to `operators`, from the caller's
    /// JID (the gateway's, for a hidden number).
    pub async fn missed_call(&self, caller: Option<&PatronAddress>, operators: Vec<BareJid>) {
        let body = format!("Missed call from {}", caller_name(caller));
        let from = || match caller {
            Some(c) => NoticeSender::Patron(c.clone()),
            None => NoticeSender::Gateway,
        };
        self.notify(operators, from, &body, "missed call notice not sent")
            .await;
    }

    /// The alert screen answered a patron's text and has a notice about it for `operators`.
    pub async fn screened(&self, patron: &PatronAddress, body: &str, operators: Vec<BareJid>) {
        let from = || NoticeSender::Patron(patron.clone());
        self.notify(operators, from, body, "keyword notice not sent")
            .await;
    }

    /// `by` claimed the conversation with `patron`: the other operators are told.
    pub async fn claimed(&self, patron: &PatronAddress, by: &BareJid, others: Vec<BareJid>) {
        let body = format!("(claimed by {})", by.as_str());
        let from = || NoticeSender::Patron(patron.clone());
        self.notify(others, from, &body, "claim notice not sent")
            .await;
    }

    /// Sends one notice to each of `operators`; a failure is logged with `not_sent` and the
    /// others are still tried.
    async fn notify(
        &self,
        operators: Vec<BareJid>,
        from: impl Fn() -> NoticeSender,
        body: &str,
        not_sent: &'static str,
    ) {
        for operator in operators {
            let notice = Notice {
                from: from(),
                to: operator,
                body: body.to_owned(),
            };
            if let Err(e) = self.xmpp.send(Outgoing::Notice(notice)).await {
                tracing::warn!(error = %e, "{not_sent}");
            }
        }
    }
}

/// How a caller is named in the log and in the missed-call notice.
pub fn caller_name(caller: Option<&PatronAddress>) -> &str {
    caller.map_or("a hidden number", |c| c.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_jids_of_senders() {
        assert_eq!(
            bare_of("alice@library.test/phone").map(|j| j.as_str().to_owned()),
            Some("alice@library.test".to_owned())
        );
        assert!(is_operator_jid("alice@library.test/phone"));
        assert!(!is_operator_jid("sms.library.test"));
    }
}
