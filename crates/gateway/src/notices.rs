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
//! Notices come from the gateway's own JID and name the patron they are about, so nobody
//! mistakes them for the patron's words; a gateway configured with
//! [`NoticePlacement::Conversation`] sends those about a patron from the patron's JID
//! instead, marked unmistakably, so a client shows them in the conversation they are about.
//!
//! What cannot be said because the component is not connected (it reconnects, or Prosody
//! restarts) is kept in the store and said when that operator is next available
//! ([`OperatorNotices::send_kept`]), so a receipt or an error is never dropped.

use std::sync::Arc;

use textgate_core::{BareJid, PatronAddress};
use textgate_store::{DeliveryReceipt, KeptNotice, OutboundText, StatusReportMatch, Store};
use textgate_xmpp::{
    ErrorCondition, Notice, NoticeSender, OperatorReply, Outgoing, ReplyError, SendError,
};

use crate::handles::Component;
use crate::settings::{GatewaySettings, NoticePlacement};

/// How a notice in the patron's conversation is marked as the gateway's, not the patron's.
pub const CONVERSATION_MARK: &str = "[gateway]";

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The sender is not one of the gateway's operators.
    NotAnOperator,
    /// The sender is a librarian of another desk, and this conversation was not handed
    /// to it.
    NotHandedToYou,
    /// The patron is a name (an alphanumeric sender), which cannot receive texts.
    NotANumber,
    /// The reply needs more SMS than the gateway sends for one reply.
    TooLong { parts: usize },
    /// The store could not queue it.
    NotQueued,
    /// The reply went to a privacy handle nobody goes by (the reason in words).
    UnknownHandle(String),
    /// The reply was `/name` and there is no canned reply of that name.
    NoCannedReply(String),
    /// Another operator, available now, is answering this patron and the gateway refuses
    /// second replies ([`crate::settings::ClaimCollisions::Refuse`]).
    ClaimedBy(BareJid),
}

/// Composes and sends what one gateway tells its operators. Cheap to clone: the runtime
/// and the outbox worker each hold one.
#[derive(Debug, Clone)]
pub struct OperatorNotices {
    settings: Arc<GatewaySettings>,
    xmpp: Component,
    /// Where what cannot be said now waits.
    store: Store,
}

impl OperatorNotices {
    pub fn new(settings: Arc<GatewaySettings>, xmpp: Component, store: Store) -> OperatorNotices {
        OperatorNotices {
            settings,
            xmpp,
            store,
        }
    }

    /// Sends one stanza to an operator; true when it went out now. While the component is
    /// not connected it is kept in the store instead (see [`OperatorNotices::send_kept`]);
    /// any other failure is logged as `what` not sent.
    async fn say(&self, outgoing: Outgoing, what: &'static str) -> bool {
        let kept = self.kept_of(&outgoing);
        match self.xmpp.send(outgoing).await {
            Ok(()) => true,
            Err(SendError::NotConnected | SendError::Unprepared(_)) if kept.is_some() => {
                let Some(kept) = kept else { return false };
                match self.store.keep_notice(&kept).await {
                    Ok(id) => tracing::info!(
                        kept = id,
                        operator = kept.operator,
                        what,
                        "kept until the component is back and the operator is available"
                    ),
                    Err(e) => tracing::warn!(error = %e, what, "not sent and not kept"),
                }
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "{what} not sent");
                false
            }
        }
    }

    /// Says what was kept for `operator`, oldest first, now that they are available. Stops
    /// at the first stanza the component cannot take (it is disconnected again); a kept
    /// row that can never be sent (it no longer parses) is dropped with a warning.
    pub async fn send_kept(&self, operator: &BareJid) {
        let kept = match self
            .store
            .kept_notices(&self.settings.name, operator.as_str())
            .await
        {
            Ok(kept) => kept,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read what was kept for an operator");
                return;
            }
        };
        for stored in kept {
            let Some(outgoing) = self.outgoing_of(&stored.notice) else {
                tracing::warn!(kept = stored.id, "a kept notice no longer parses; dropped");
                self.forget(stored.id).await;
                continue;
            };
            match self.xmpp.send(outgoing).await {
                Ok(()) => {
                    tracing::info!(
                        kept = stored.id, operator = %operator.as_str(),
                        what = stored.notice.kind, since = %stored.created_at,
                        "kept notice sent to the operator"
                    );
                    self.forget(stored.id).await;
                }
                // Tried again at the operator's next presence.
                Err(SendError::NotConnected | SendError::Unprepared(_)) => return,
                Err(e) => {
                    tracing::warn!(kept = stored.id, error = %e, "a kept notice cannot be sent; dropped");
                    self.forget(stored.id).await;
                }
            }
        }
    }

    async fn forget(&self, id: i64) {
        if let Err(e) = self.store.forget_notice(id).await {
            // Sent again at the operator's next presence: a repeated receipt or notice is
            // harmless, a lost one is not.
            tracing::warn!(kept = id, error = %e, "cannot forget a kept notice");
        }
    }

    /// The stanza as the store keeps it; `None` for what is not kept.
    fn kept_of(&self, outgoing: &Outgoing) -> Option<KeptNotice> {
        let gateway = self.settings.name.clone();
        let patron = |p: &PatronAddress| Some(p.as_str().to_owned());
        match outgoing {
            // Texts are kept by the store anyway; an answer to a request is only worth
            // anything now (the librarian asks again).
            Outgoing::Text(_) | Outgoing::Answer(_) => None,
            Outgoing::Receipt { to, patron: p, id } => Some(KeptNotice {
                gateway,
                operator: bare_of(to)?.as_str().to_owned(),
                kind: "receipt".to_owned(),
                to: to.clone(),
                patron: patron(p),
                stanza_id: Some(id.clone()),
                condition: None,
                body: None,
            }),
            Outgoing::Error(error) => Some(KeptNotice {
                gateway,
                operator: bare_of(&error.to)?.as_str().to_owned(),
                kind: "error".to_owned(),
                to: error.to.clone(),
                patron: patron(&error.patron),
                stanza_id: error.id.clone(),
                condition: Some(condition_name(error.condition).to_owned()),
                body: Some(error.text.clone()),
            }),
            Outgoing::Notice(notice) => Some(KeptNotice {
                gateway,
                operator: notice.to.as_str().to_owned(),
                kind: "notice".to_owned(),
                to: notice.to.as_str().to_owned(),
                patron: match &notice.from {
                    NoticeSender::Gateway => None,
                    NoticeSender::Patron(p) => patron(p),
                },
                stanza_id: None,
                condition: None,
                body: Some(notice.body.clone()),
            }),
        }
    }

    /// The stanza a kept row stands for.
    fn outgoing_of(&self, kept: &KeptNotice) -> Option<Outgoing> {
        let region = self.settings.region;
        let patron = kept
            .patron
            .as_deref()
            .map(|p| PatronAddress::from_sender(p, region));
        Some(match kept.kind.as_str() {
            "receipt" => Outgoing::Receipt {
                to: kept.to.clone(),
                patron: patron?,
                id: kept.stanza_id.clone()?,
            },
            "error" => Outgoing::Error(ReplyError {
                to: kept.to.clone(),
                patron: patron?,
                id: kept.stanza_id.clone(),
                condition: kept.condition.as_deref().and_then(condition_named)?,
                text: kept.body.clone()?,
            }),
            "notice" => Outgoing::Notice(Notice {
                from: patron.map_or(NoticeSender::Gateway, NoticeSender::Patron),
                to: BareJid::new(&kept.to).ok()?,
                body: kept.body.clone()?,
            }),
            _ => return None,
        })
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
        if self.say(receipt, "receipt").await {
            tracing::info!(
                outbound = reply.outbound,
                stanza = id,
                "receipt sent to the operator"
            );
        }
    }

    /// A status report said the network gave up on a reply: an error on the operator's
    /// message.
    pub async fn not_delivered(&self, reply: StoredReply<'_>) {
        let Some(error) = self.reply_error(&reply, |patron| {
            format!(
                "The SMS to {patron} was not delivered: the phone network gave up on it \
                 (the phone may be off or out of coverage for a long time, or not take \
                 texts). Try again later, or reach the patron another way."
            )
        }) else {
            return;
        };
        if self
            .say(Outgoing::Error(error), "delivery failure report")
            .await
        {
            tracing::info!(
                outbound = reply.outbound,
                stanza = reply.xmpp_id,
                "delivery failure reported to the operator"
            );
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
        self.say(Outgoing::Error(error), "failed reply report")
            .await;
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
        let patron = self.patron(&reply);
        let notice = self.about(&patron, operator, &body);
        self.say(Outgoing::Notice(notice), "multipart notice").await;
    }

    /// Refuses a reply, with an error on the operator's message (`stanza` is its id as
    /// logged; one is made up when the client sent none).
    pub async fn refused(&self, reply: &OperatorReply, stanza: &str, refusal: Refusal) {
        let (condition, text) = match refusal {
            Refusal::NotAnOperator => (
                ErrorCondition::Forbidden,
                "Only this gateway's operators may send texts through it.".to_owned(),
            ),
            Refusal::NotHandedToYou => (
                ErrorCondition::Forbidden,
                format!(
                    "Not sent: this conversation belongs to the {} desk. You can answer it \
                     once one of its librarians hands it to your desk.",
                    self.settings.name
                ),
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
            Refusal::UnknownHandle(ref why) => (
                ErrorCondition::NotAcceptable,
                format!("Not sent: {why}."),
            ),
            Refusal::NoCannedReply(ref name) => (
                ErrorCondition::NotAcceptable,
                format!(
                    "Not sent: there is no canned reply /{name}. Send \"canned\" to the \
                     gateway for the list."
                ),
            ),
            Refusal::ClaimedBy(ref owner) => (
                ErrorCondition::PolicyViolation,
                format!(
                    "Not sent: {} is answering {} and this gateway allows one librarian per \
                     conversation. Ask them to transfer it to you, or wait until they release it.",
                    owner.as_str(),
                    reply.patron.formatted()
                ),
            ),
        };
        if let Refusal::ClaimedBy(owner) = &refusal {
            let body = format!(
                "{} tried to answer {} too; their reply was not sent: \"{}\"",
                reply.operator.as_str(),
                reply.patron.formatted(),
                reply.body
            );
            let notice = self.about(&reply.patron, owner.clone(), &body);
            self.say(Outgoing::Notice(notice), "claim collision notice")
                .await;
        }
        let error = Outgoing::Error(ReplyError {
            to: reply.from.clone(),
            patron: reply.patron.clone(),
            id: reply.id.clone(),
            condition,
            text,
        });
        if !matches!(refusal, Refusal::NotQueued) {
            // The store's failure is logged where it happened, as an error.
            if let Outgoing::Error(error) = &error {
                tracing::info!(stanza, condition = ?error.condition, reason = %error.text, "reply refused");
            }
        }
        self.say(error, "refusal").await;
    }

    /// A voice call was rejected: "Missed call from ..." to `operators` (about the caller,
    /// or from the gateway alone for a hidden number).
    pub async fn missed_call(&self, caller: Option<&PatronAddress>, operators: Vec<BareJid>) {
        match caller {
            Some(caller) => {
                let body = format!("Missed call from {}", caller.formatted());
                self.notify_about(caller, operators, &body, "missed call notice")
                    .await;
            }
            None => {
                let body = format!("Missed call from {}", caller_name(None));
                self.notify(operators, &body, "missed call notice").await;
            }
        }
    }

    /// The alert screen answered a patron's text and has a notice about it for `operators`.
    pub async fn screened(&self, patron: &PatronAddress, body: &str, operators: Vec<BareJid>) {
        self.notify_about(patron, operators, body, "keyword notice")
            .await;
    }

    /// `by` claimed the conversation with `patron`: the other operators are told.
    pub async fn claimed(&self, patron: &PatronAddress, by: &BareJid, others: Vec<BareJid>) {
        let body = format!("{} is now answering {}.", by.as_str(), patron.formatted());
        self.notify_about(patron, others, &body, "claim notice")
            .await;
    }

    /// `replier` answered `patron` although `owner`, available, is answering them, and
    /// the gateway sent it ([`crate::settings::ClaimCollisions::Warn`]): both are told, the
    /// owner with what was sent, so nobody answers the same question twice.
    pub async fn collided(
        &self,
        patron: &PatronAddress,
        owner: &BareJid,
        replier: &BareJid,
        body: &str,
    ) {
        let number = patron.formatted();
        let to_replier = format!(
            "{} is answering {number}; your reply was sent too. Ask them to transfer the \
             conversation if you take it over.",
            owner.as_str()
        );
        let to_owner = format!("{} also answered {number}: \"{body}\"", replier.as_str());
        for (operator, body) in [(replier, to_replier), (owner, to_owner)] {
            let notice = self.about(patron, operator.clone(), &body);
            self.say(Outgoing::Notice(notice), "claim collision notice")
                .await;
        }
    }

    /// The driver's device went away or came back (`body` says which), from the gateway
    /// itself.
    pub async fn device(&self, body: &str, operators: Vec<BareJid>) {
        self.notify(operators, body, "device notice").await;
    }

    /// Something a librarian did that concerns `operators` (a conversation handed to
    /// them), from the gateway itself.
    pub async fn desk(&self, body: &str, operators: Vec<BareJid>) {
        self.notify(operators, body, "desk notice").await;
    }

    /// A notice about `patron` for `to`, placed as the gateway is configured: from the
    /// gateway, naming the patron, or in the patron's conversation, marked as the
    /// gateway's.
    fn about(&self, patron: &PatronAddress, to: BareJid, body: &str) -> Notice {
        match self.settings.notice_placement {
            NoticePlacement::Gateway => Notice {
                from: NoticeSender::Gateway,
                to,
                body: if body.contains(&patron.formatted()) {
                    body.to_owned()
                } else {
                    format!("{}: {body}", patron.formatted())
                },
            },
            NoticePlacement::Conversation => Notice {
                from: NoticeSender::Patron(patron.clone()),
                to,
                body: format!("{CONVERSATION_MARK} {body}"),
            },
        }
    }

    /// Sends one notice about `patron` to each of `operators`; a failure is logged as
    /// `what` not sent and the others are still tried.
    async fn notify_about(
        &self,
        patron: &PatronAddress,
        operators: Vec<BareJid>,
        body: &str,
        what: &'static str,
    ) {
        for operator in operators {
            let notice = self.about(patron, operator, body);
            self.say(Outgoing::Notice(notice), what).await;
        }
    }

    /// Sends one notice from the gateway to each of `operators`; a failure is logged as
    /// `what` not sent and the others are still tried.
    async fn notify(&self, operators: Vec<BareJid>, body: &str, what: &'static str) {
        for to in operators {
            let notice = Notice {
                from: NoticeSender::Gateway,
                to,
                body: body.to_owned(),
            };
            self.say(Outgoing::Notice(notice), what).await;
        }
    }
}

/// An error condition as a kept row names it.
fn condition_name(condition: ErrorCondition) -> &'static str {
    match condition {
        ErrorCondition::Forbidden => "forbidden",
        ErrorCondition::PolicyViolation => "policy-violation",
        ErrorCondition::NotAcceptable => "not-acceptable",
        ErrorCondition::RecipientUnavailable => "recipient-unavailable",
        ErrorCondition::UndefinedCondition => "undefined-condition",
    }
}

fn condition_named(name: &str) -> Option<ErrorCondition> {
    [
        ErrorCondition::Forbidden,
        ErrorCondition::PolicyViolation,
        ErrorCondition::NotAcceptable,
        ErrorCondition::RecipientUnavailable,
        ErrorCondition::UndefinedCondition,
    ]
    .into_iter()
    .find(|c| condition_name(*c) == name)
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
