//! What the gateway answers patrons by itself, through the outbox like any reply (so each
//! answer is in the conversation's record): a keyword such as `HOURS` (the text is then
//! not shown to the librarians), and, when a text has to wait because no librarian is at
//! the desk, a reply saying so (when the desk opens, if it has hours), at most once per
//! patron per window ([`DeskSettings::auto_reply_every`], kept in the store so a restart
//! does not repeat it).
//!
//! [`DeskSettings::auto_reply_every`]: crate::settings::DeskSettings::auto_reply_every

use chrono::Utc;
use textgate_core::{keyword_of, InboundTextId, PatronAddress};
use textgate_store::{DeliveryReceipt, NewOutbound, OutboundOrigin, Priority};

use super::Runtime;

impl Runtime {
    /// Answers a text that is one of the desk's keywords; true when it did, and the text
    /// is then marked handled by the gateway (it never waits for a librarian).
    pub(super) async fn keyword_answered(
        &mut self,
        id: InboundTextId,
        patron: &PatronAddress,
        body: &str,
    ) -> bool {
        if !patron.is_reachable() || self.settings.desk.keywords.is_empty() {
            return false;
        }
        let Some(word) = keyword_of(body) else {
            return false;
        };
        let Some(reply) = self.settings.desk.keywords.get(&word).cloned() else {
            return false;
        };
        tracing::info!(keyword = word, "text answered by a desk keyword");
        self.send_own_text(patron, &reply, "keyword").await;
        if let Err(e) = self
            .store
            .mark_inbound_delivered(&[id.0], &self.settings.domain)
            .await
        {
            tracing::error!(inbound = id.0, error = %e, "could not mark a keyword text handled");
        }
        true
    }

    /// A patron's picture message (MMS) reaches the librarians as a line saying so; the
    /// patron is asked to text instead, if the desk has such a reply.
    pub(super) async fn answer_picture_message(&mut self, patron: &PatronAddress, body: &str) {
        if body != crate::inbound::PICTURE_MESSAGE || !patron.is_reachable() {
            return;
        }
        tracing::info!("a picture message (MMS) arrived");
        if let Some(reply) = self.settings.desk.mms_reply.clone() {
            self.send_own_text(patron, &reply, "mms").await;
        }
    }

    /// A text from `patron` waits because no librarian is available: tells them so, with
    /// when the desk opens if it is closed, unless they were told within the window.
    pub(super) async fn answer_unattended(&mut self, patron: &PatronAddress) {
        if !patron.is_reachable() {
            return;
        }
        let desk = &self.settings.desk;
        let now = Utc::now();
        let reply = match &desk.hours {
            Some(hours) if !hours.is_open(now) => desk.closed_reply.as_ref().map(|reply| {
                let opens = hours
                    .describe_next_opening(now)
                    .unwrap_or_else(|| "as soon as we can".to_owned());
                reply.replace("{opens}", &opens)
            }),
            _ => desk.unattended_reply.clone(),
        };
        let Some(reply) = reply else {
            return;
        };
        let every = chrono::Duration::from_std(desk.auto_reply_every)
            .unwrap_or_else(|_| chrono::Duration::hours(12));
        match self
            .store
            .take_auto_reply_turn(&self.settings.name, patron.as_str(), every)
            .await
        {
            Ok(true) => {
                tracing::info!("automatic reply: nobody at the desk");
                self.send_own_text(patron, &reply, "auto").await;
            }
            Ok(false) => tracing::info!(
                every = ?desk.auto_reply_every,
                "no automatic reply: this patron had one within the window"
            ),
            Err(e) => tracing::warn!(error = %e, "no automatic reply: the store did not answer"),
        }
    }

    /// Queues a text the gateway itself sends to `patron` (from its own domain, so no
    /// operator hears about its fate); `tag` names it in its stanza id. True when queued.
    pub(super) async fn send_own_text(
        &self,
        patron: &PatronAddress,
        body: &str,
        tag: &str,
    ) -> bool {
        let text = NewOutbound {
            gateway: self.settings.name.clone(),
            recipient: patron.as_str().to_owned(),
            origin: OutboundOrigin::Chat {
                sender_jid: self.settings.domain.clone(),
                xmpp_id: format!("{tag}-{}", Utc::now().timestamp_millis()),
                receipt: DeliveryReceipt::NotRequested,
            },
            body: body.to_owned(),
            priority: Priority::CHAT,
            not_before: None,
        };
        match self.store.enqueue_outbound(&text).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, tag, "the gateway's own text was not queued");
                false
            }
        }
    }
}

impl Runtime {
    /// Whether the text is held back because its patron is flooding the desk
    /// ([`crate::flood`]); the librarians hear of a flood when it starts.
    pub(super) async fn held_as_flood(
        &mut self,
        id: InboundTextId,
        patron: &PatronAddress,
    ) -> bool {
        use crate::flood::FloodVerdict;
        let verdict = self.flood.on_text(patron, id, tokio::time::Instant::now());
        let FloodVerdict::Held { first } = verdict else {
            return false;
        };
        tracing::info!(first, "text held back: its sender is flooding the desk");
        if first {
            let desk = &self.settings.desk;
            let window = humane(desk.flood_window);
            let body = format!(
                "{} has sent more than {} texts within {window}. Their further texts are held \
                 back and come to you once they stop for {window}; nothing is lost. To keep \
                 them out for good, send \"block {}\" to the gateway.",
                patron.formatted(),
                desk.flood_limit,
                patron.as_str()
            );
            let to = self.notice_recipients();
            self.notices.screened(patron, &body, to).await;
        }
        true
    }

    /// Floods that are over: their held texts go to the librarians, in order, behind a
    /// line saying so.
    pub(super) async fn end_floods(&mut self) {
        let now = tokio::time::Instant::now();
        for end in self.flood.ended(now) {
            let span = tracing::info_span!("flood", patron = %end.patron);
            let _entered = span.enter();
            tracing::info!(
                texts = end.texts.len(),
                "the flood stopped; its texts are released"
            );
            drop(_entered);
            let held = match end.texts.len() {
                1 => "the text held back follows".to_owned(),
                n => format!("the {n} texts held back follow"),
            };
            let body = format!("{} stopped sending: {held}.", end.patron.formatted());
            let to = self.notice_recipients();
            self.notices.screened(&end.patron, &body, to).await;
            for id in end.texts {
                self.release_text(id, &end.patron).await;
            }
        }
        self.flood.tidy(now);
    }
}

/// A duration as people say it: "10 minutes", "1 hour", "90 seconds".
fn humane(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    let (n, unit) = if seconds % 3600 == 0 && seconds >= 3600 {
        (seconds / 3600, "hour")
    } else if seconds % 60 == 0 && seconds >= 60 {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}
