//! Delivery to operators: a committed text goes to the alert screen first, then to the
//! operators the queue router names, or waits in the store until one is available. Texts
//! that waited are read back from the store and stamped with their original time; texts
//! stranded between two component connections are routed again once it is back.
//!
//! Delivered means delivered: a text written to operators is only `offered` (its body
//! kept) until an operator's client confirms it (the gateway asks for XEP-0184 receipts)
//! or the delivery grace passes without a bounce. A text every recipient bounced (a
//! phone's session the server kept for resumption and then gave up) is offered again at
//! once to every available operator, the same one on another session included (a few
//! times in a row, then only to operators who have not had it until presence changes);
//! with nobody available it waits, and a restart offers it again from the store.
//!
//! A write can also be lost without a bounce: the server hands a message to a bare JID to
//! one of her sessions, and when that session ends without her client confirming it (a
//! phone's session timed out), the server may put what it held into offline storage, or
//! drop it, instead of bouncing it (ejabberd's `resend_on_timeout`). So each write
//! remembers her sessions online when it was written; once all of them have gone, the write
//! counts as bounced. The text may then reach her twice (her next session and the server's
//! offline store), both copies with the original time stamp: a duplicate she can see is
//! better than a text nobody saw.

use chrono::{DateTime, FixedOffset, Utc};
use textgate_core::{BareJid, InboundTextId, PatronAddress, PresenceOutcome, Routing};
use textgate_store::InboundState;
use textgate_xmpp::{Outgoing, ReceiptRequest, TextToOperator};
use tokio::time::Instant;
use tracing::Instrument;

use super::Runtime;
use crate::hooks::Screened;

/// How many delivered texts are remembered for bounces.
const RECENT_TEXTS: usize = 1024;

/// Why bounced texts are offered again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// A text just bounced.
    AfterBounce,
    /// An operator's presence changed.
    PresenceChanged,
}

/// How many bounces in a row a text is offered again at once to every available operator;
/// after that only to those who have not had it, until presence changes. A server that
/// still counts a dead session as available (one it keeps for resumption) could otherwise
/// bounce the same text back and forth.
const QUICK_RETRIES: u32 = 2;

/// One write of a text to an operator that has not bounced or been lost yet.
struct Write {
    stanza: String,
    operator: BareJid,
    /// Her sessions (resources) online when it was written; the ones that ended since are
    /// removed. None left: the write is lost.
    sessions: Vec<String>,
}

pub(super) struct RecentText {
    id: InboundTextId,
    patron: PatronAddress,
    body: String,
    delayed_since: Option<DateTime<Utc>>,
    /// Writes not bounced or lost yet.
    writes: Vec<Write>,
    /// Operators it was written to.
    tried: Vec<BareJid>,
    /// When it was last written to operators: the delivery grace runs from here.
    offered_at: Instant,
    /// Bounces since the last change of presence.
    bounces: u32,
}

impl Runtime {
    /// Routes a text just committed: the screen first, then the operators, or it waits.
    pub(super) async fn route_new(
        &mut self,
        id: InboundTextId,
        patron: &PatronAddress,
        body: &str,
        smsc_time: DateTime<FixedOffset>,
    ) {
        if self.blocked_out(id, patron).await {
            return;
        }
        if self.screened_out(id, patron, body).await {
            return;
        }
        if self.keyword_answered(id, patron, body).await {
            return;
        }
        self.patron_texted(patron).await;
        self.answer_picture_message(patron, body).await;
        if self.held_as_flood(id, patron).await {
            return;
        }
        match self.router.inbound_text(id, patron) {
            Routing::Deliver(operators) => {
                self.deliver(id, patron, body, smsc_time, None, &operators)
                    .await;
            }
            Routing::Hold => {
                tracing::info!("no operator available; the text waits");
                self.answer_unattended(patron).await;
            }
        }
    }

    /// Who a notice about a patron goes to: the operators available, or all of them when
    /// nobody is (the server keeps it for them).
    pub(super) fn notice_recipients(&self) -> Vec<BareJid> {
        let available = self.router.available();
        if !available.is_empty() {
            return available;
        }
        self.router
            .operators()
            .map(|(jid, _)| jid.clone())
            .collect()
    }

    /// Whether `patron` is blocked (the desk's `block`): the text stays in the store,
    /// marked blocked, and reaches nobody; the sender gets no answer. A store that cannot
    /// say lets the text through: a missed block is better than a lost text.
    async fn blocked_out(&mut self, id: InboundTextId, patron: &PatronAddress) -> bool {
        match self
            .store
            .is_blocked(&self.settings.name, patron.as_str())
            .await
        {
            Ok(false) => false,
            Ok(true) => {
                tracing::info!("text from a blocked number held back");
                if let Err(e) = self.store.mark_inbound_blocked(id.0).await {
                    tracing::error!(inbound = id.0, error = %e, "could not mark a blocked text");
                }
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not check the block list; the text goes on");
                false
            }
        }
    }

    /// Offers a new text to the screen (the alert keywords). True when the screen
    /// answered it, so it is not routed: it is marked delivered (to the gateway itself, so
    /// it never waits in the backlog) and the screen's notice, if any, goes to the
    /// operators who are available, or to all of them when nobody is (the server keeps it).
    async fn screened_out(
        &mut self,
        id: InboundTextId,
        patron: &PatronAddress,
        body: &str,
    ) -> bool {
        let Some(screen) = self.hooks.screen.clone() else {
            return false;
        };
        if !patron.is_reachable() {
            return false;
        }
        let name = self.settings.name.clone();
        let Screened::Answered { notice } = screen.screen(&name, patron.as_str(), body).await
        else {
            return false;
        };
        tracing::info!("text answered by the alert keywords");
        if let Err(e) = self
            .store
            .mark_inbound_delivered(&[id.0], &self.settings.domain)
            .await
        {
            tracing::error!(inbound = id.0, error = %e, "could not mark a keyword text handled");
        }
        if let Some(body) = notice {
            let to = self.notice_recipients();
            self.notices.screened(patron, &body, to).await;
        }
        true
    }

    /// Sends a text to operators; marks it delivered once one of them has it.
    async fn deliver(
        &mut self,
        id: InboundTextId,
        patron: &PatronAddress,
        body: &str,
        smsc_time: DateTime<FixedOffset>,
        delayed_since: Option<DateTime<Utc>>,
        operators: &[BareJid],
    ) {
        let mut recent = RecentText {
            id,
            patron: patron.clone(),
            body: body.to_owned(),
            delayed_since: delayed_since.or(Some(smsc_time.with_timezone(&Utc))),
            writes: Vec::new(),
            tried: Vec::new(),
            offered_at: Instant::now(),
            bounces: 0,
        };
        if !self.send_text(&mut recent, operators, delayed_since).await {
            tracing::info!("no operator got the text; it waits for the component");
            self.stranded.push((id, patron.clone()));
            return;
        }
        if let Err(e) = self.store.mark_inbound_offered(&[id.0]).await {
            tracing::error!(inbound = id.0, error = %e, "could not mark a text offered");
        }
        if self.recent.len() >= RECENT_TEXTS {
            if let Some(oldest) = self.recent.pop_front() {
                self.unconfirmed_delivered(oldest).await;
            }
        }
        self.recent.push_back(recent);
    }

    /// An operator's client confirmed a text (XEP-0184): now it is delivered, to her, and
    /// its body goes unless transcripts are kept.
    pub(super) async fn on_confirmed(&mut self, operator: &BareJid, stanza: &str) {
        let Some(id) = crate::inbound::text_of_stanza(stanza) else {
            return;
        };
        self.recent.retain(|r| r.id != id);
        self.bounced.retain(|r| r.id != id);
        self.mark_delivered(id, operator, "text confirmed by the operator's client")
            .await;
    }

    /// When the oldest text written but not confirmed has had its grace.
    pub(super) fn next_unconfirmed_deadline(&self) -> Option<Instant> {
        self.recent
            .iter()
            .map(|r| r.offered_at + self.settings.delivery_grace)
            .min()
    }

    /// Texts written to operators whose clients never confirmed them and that nothing
    /// bounced within the grace count as delivered (clients without XEP-0184 say nothing).
    pub(super) async fn end_grace(&mut self) {
        let grace = self.settings.delivery_grace;
        let now = Instant::now();
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.recent)
            .into_iter()
            .partition(|r| r.offered_at + grace <= now);
        self.recent = waiting.into();
        for text in due {
            self.unconfirmed_delivered(text).await;
        }
    }

    async fn unconfirmed_delivered(&mut self, text: RecentText) {
        if let Some(operator) = text.tried.first() {
            self.mark_delivered(
                text.id,
                operator,
                "text delivered: no confirmation and no bounce within the grace",
            )
            .await;
        }
    }

    /// Records a text delivered to `operator`, logging `why` when this changed its state
    /// (a text already delivered, by a receipt or the grace, is left as it is).
    async fn mark_delivered(&self, id: InboundTextId, operator: &BareJid, why: &'static str) {
        match self
            .store
            .mark_inbound_delivered(&[id.0], operator.as_str())
            .await
        {
            Ok(0) => {}
            Ok(_) => tracing::info!(inbound = id.0, operator = %operator.as_str(), "{why}"),
            Err(e) => {
                tracing::error!(inbound = id.0, error = %e, "could not mark a text delivered");
            }
        }
    }

    /// Sends a text to each operator; true when at least one write succeeded.
    async fn send_text(
        &mut self,
        recent: &mut RecentText,
        operators: &[BareJid],
        delayed_since: Option<DateTime<Utc>>,
    ) -> bool {
        for operator in operators {
            let stanza = self.stanza_ids.next(recent.id);
            let text = TextToOperator {
                patron: recent.patron.clone(),
                operator: operator.clone(),
                body: recent.body.clone(),
                id: stanza.clone(),
                delayed_since,
                // The operator's client confirms it: only then is the text delivered.
                receipt: ReceiptRequest::Requested,
            };
            let sessions = self.sessions_of(operator);
            match self.xmpp.send(Outgoing::Text(text)).await {
                Ok(()) => {
                    tracing::info!(inbound = recent.id.0, operator = %operator.as_str(), stanza, "text sent to an operator");
                    recent.writes.push(Write {
                        stanza,
                        operator: operator.clone(),
                        sessions,
                    });
                    recent.tried.push(operator.clone());
                }
                Err(e) => {
                    tracing::warn!(inbound = recent.id.0, operator = %operator.as_str(), stanza, error = %e, "text not delivered");
                }
            }
        }
        !recent.writes.is_empty()
    }

    /// The sessions (resources) of `operator` online now, whatever they show.
    fn sessions_of(&self, operator: &BareJid) -> Vec<String> {
        self.router
            .operators()
            .find(|(jid, _)| *jid == operator)
            .map(|(_, presence)| presence.resources().map(|(r, _)| r.to_owned()).collect())
            .unwrap_or_default()
    }

    /// A text we sent came back as an error from the server (`stanza` is the write's id).
    /// When every write of it bounced or was lost, it goes to the available operators, or
    /// waits for one. A bounce of a write already counted lost changes nothing.
    pub(super) async fn on_bounce(&mut self, stanza: &str) {
        let Some(at) = self
            .recent
            .iter()
            .position(|r| r.writes.iter().any(|w| w.stanza == stanza))
        else {
            return;
        };
        let Some(text) = self.recent.get_mut(at) else {
            return;
        };
        text.writes.retain(|w| w.stanza != stanza);
        if !text.writes.is_empty() {
            return;
        }
        text.bounces += 1;
        if let Some(text) = self.recent.remove(at) {
            tracing::warn!(
                inbound = text.id.0,
                "every operator bounced a text; it waits and is offered again"
            );
            self.bounced.push(text);
            self.retry_bounced(Retry::AfterBounce).await;
        }
    }

    /// A session of `operator` ended. Writes to her whose sessions have all ended without
    /// her client confirming them are lost; a text with no write left waits with the
    /// bounced ones (the caller offers them again, presence having changed).
    pub(super) fn on_session_gone(&mut self, operator: &BareJid, resource: &str) {
        let mut kept = std::collections::VecDeque::with_capacity(self.recent.len());
        for mut text in std::mem::take(&mut self.recent) {
            let before = text.writes.len();
            for write in text.writes.iter_mut().filter(|w| w.operator == *operator) {
                write.sessions.retain(|s| s != resource);
            }
            text.writes.retain(|w| !w.sessions.is_empty());
            if text.writes.is_empty() && before > 0 {
                tracing::warn!(
                    inbound = text.id.0, operator = %operator.as_str(), resource,
                    "the session a text went to ended before her client confirmed it; it waits and is offered again"
                );
                text.bounces += 1;
                self.bounced.push(text);
            } else {
                kept.push_back(text);
            }
        }
        self.recent = kept;
    }

    /// Offers bounced texts again, with their original time stamp, to every available
    /// operator: the one whose session bounced it may be there on another (her desk
    /// client, while the server gave up her phone's session). After [`QUICK_RETRIES`]
    /// bounces in a row, only to operators who have not had it, until presence changes.
    pub(super) async fn retry_bounced(&mut self, retry: Retry) {
        for mut text in std::mem::take(&mut self.bounced) {
            if retry == Retry::PresenceChanged {
                text.bounces = 0;
            }
            let everyone = text.bounces <= QUICK_RETRIES;
            let to: Vec<BareJid> = self
                .router
                .available()
                .into_iter()
                .filter(|o| everyone || !text.tried.contains(o))
                .collect();
            let delayed_since = text.delayed_since;
            text.offered_at = Instant::now();
            if !to.is_empty() && self.send_text(&mut text, &to, delayed_since).await {
                self.recent.push_back(text);
            } else {
                self.bounced.push(text);
            }
        }
    }

    /// Routes a stored text that was kept back (a flood that ended): to the operators now,
    /// or held by the router until one is available.
    pub(super) async fn release_text(&mut self, id: InboundTextId, patron: &PatronAddress) {
        if let Routing::Deliver(operators) = self.router.inbound_text(id, patron) {
            self.deliver_stored(id, patron, &operators).await;
        }
    }

    pub(super) async fn requeue_stranded(&mut self) {
        for (id, patron) in std::mem::take(&mut self.stranded) {
            if let Routing::Deliver(operators) = self.router.inbound_text(id, &patron) {
                self.deliver_stored(id, &patron, &operators).await;
            }
        }
    }

    /// Delivers held texts in the order they arrived, each stamped with its SMSC time.
    pub(super) async fn flush(&mut self, outcome: PresenceOutcome) {
        for release in outcome.flush {
            self.deliver_stored(release.text, &release.patron, &release.to)
                .await;
        }
    }

    async fn deliver_stored(&mut self, id: InboundTextId, patron: &PatronAddress, to: &[BareJid]) {
        let span = tracing::info_span!("held", inbound = id.0);
        self.deliver_held(id, patron, to).instrument(span).await;
    }

    async fn deliver_held(&mut self, id: InboundTextId, patron: &PatronAddress, to: &[BareJid]) {
        let text = match self.store.inbound(id.0).await {
            Ok(Some(text)) => text,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(inbound = id.0, error = %e, "could not read a waiting text");
                self.stranded.push((id, patron.clone()));
                return;
            }
        };
        if text.state == InboundState::Delivered {
            return;
        }
        let Some(body) = text.body else {
            return;
        };
        let since = text.smsc_time.with_timezone(&Utc);
        tracing::info!("delivering a text that waited");
        self.deliver(id, patron, &body, text.smsc_time, Some(since), to)
            .await;
    }
}
