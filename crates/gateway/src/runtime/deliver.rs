//! Delivery to operators: a committed text goes to the alert screen first, then to the
//! operators the queue router names, or waits in the store until one is available. Texts
//! that waited are read back from the store and stamped with their original time; texts
//! stranded between two component connections are routed again once it is back; texts every
//! recipient bounced are offered to the available operators who have not had them.

use chrono::{DateTime, FixedOffset, Utc};
use textgate_core::{BareJid, InboundTextId, PatronAddress, PresenceOutcome, Routing};
use textgate_store::InboundState;
use textgate_xmpp::{Outgoing, ReceiptRequest, TextToOperator};
use tracing::Instrument;

use super::Runtime;
use crate::hooks::Screened;

/// How many delivered texts are remembered for bounces.
const RECENT_TEXTS: usize = 1024;

pub(super) struct RecentText {
    id: InboundTextId,
    patron: PatronAddress,
    body: String,
    delayed_since: Option<DateTime<Utc>>,
    /// Writes not bounced yet.
    outstanding: usize,
    /// Operators it was written to.
    tried: Vec<BareJid>,
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
        if self.screened_out(id, patron, body).await {
            return;
        }
        match self.router.inbound_text(id, patron) {
            Routing::Deliver(operators) => {
                self.deliver(id, patron, body, smsc_time, None, &operators)
                    .await;
            }
            Routing::Hold => {
                tracing::info!("no operator available; the text waits");
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
            outstanding: 0,
            tried: Vec::new(),
        };
        let delivered = self.send_text(&mut recent, operators, delayed_since).await;
        let first = delivered.then(|| recent.tried.first().cloned()).flatten();
        if delivered {
            if self.recent.len() >= RECENT_TEXTS {
                self.recent.pop_front();
            }
            self.recent.push_back(recent);
        }
        match first {
            Some(operator) => {
                if let Err(e) = self
                    .store
                    .mark_inbound_delivered(&[id.0], operator.as_str())
                    .await
                {
                    tracing::error!(inbound = id.0, error = %e, "could not mark a text delivered");
                }
            }
            None => {
                tracing::info!("no operator got the text; it waits for the component");
                self.stranded.push((id, patron.clone()));
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
                receipt: ReceiptRequest::NotRequested,
            };
            match self.xmpp.send(Outgoing::Text(text)).await {
                Ok(()) => {
                    tracing::info!(inbound = recent.id.0, operator = %operator.as_str(), stanza, "text sent to an operator");
                    recent.outstanding += 1;
                    recent.tried.push(operator.clone());
                }
                Err(e) => {
                    tracing::warn!(inbound = recent.id.0, operator = %operator.as_str(), stanza, error = %e, "text not delivered");
                }
            }
        }
        recent.outstanding > 0
    }

    /// A text we sent came back as an error from the server. When every operator it went
    /// to bounced it, it goes to the other available operators, or waits for one.
    pub(super) async fn on_bounce(&mut self, text: Option<InboundTextId>) {
        let Some(InboundTextId(id)) = text else {
            return;
        };
        let Some(at) = self.recent.iter().position(|r| r.id.0 == id) else {
            return;
        };
        let Some(text) = self.recent.get_mut(at) else {
            return;
        };
        text.outstanding = text.outstanding.saturating_sub(1);
        if text.outstanding > 0 {
            return;
        }
        if let Some(text) = self.recent.remove(at) {
            tracing::warn!(
                inbound = id,
                "every operator bounced a text; offering it again"
            );
            self.bounced.push(text);
            self.retry_bounced().await;
        }
    }

    /// Offers bounced texts to available operators who have not had them yet.
    pub(super) async fn retry_bounced(&mut self) {
        for mut text in std::mem::take(&mut self.bounced) {
            let to: Vec<BareJid> = self
                .router
                .available()
                .into_iter()
                .filter(|o| !text.tried.contains(o))
                .collect();
            let delayed_since = text.delayed_since;
            if !to.is_empty() && self.send_text(&mut text, &to, delayed_since).await {
                self.recent.push_back(text);
            } else {
                self.bounced.push(text);
            }
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
