//! Voice calls: the gateway takes texts only, so the driver rejects every call; the
//! operators are told who called, and the caller may get an automatic reply by SMS.

use chrono::Utc;
use textgate_core::PatronAddress;
use textgate_store::{DeliveryReceipt, NewOutbound, OutboundOrigin, Priority};

use super::Runtime;
use crate::notices;

impl Runtime {
    /// A call the driver rejected: a missed-call notice to the operators and, when the
    /// gateway has one, the automatic reply to the caller (through the outbox).
    pub(super) async fn on_call(&mut self, number: Option<String>) {
        let caller = number
            .as_deref()
            .map(|n| PatronAddress::from_sender(n, self.settings.region));
        let who = notices::caller_name(caller.as_ref());
        tracing::info!(caller = who, "voice call rejected");
        let to = self.notice_recipients();
        self.notices.missed_call(caller.as_ref(), to).await;
        if let (Some(reply), Some(caller)) = (&self.settings.call_auto_reply, &caller) {
            if caller.is_reachable() {
                let text = NewOutbound {
                    gateway: self.settings.name.clone(),
                    recipient: caller.as_str().to_owned(),
                    origin: OutboundOrigin::Chat {
                        sender_jid: self.settings.domain.clone(),
                        xmpp_id: format!("call-{}", Utc::now().timestamp_millis()),
                        receipt: DeliveryReceipt::NotRequested,
                    },
                    body: reply.clone(),
                    priority: Priority::CHAT,
                    not_before: None,
                };
                if let Err(e) = self.store.enqueue_outbound(&text).await {
                    tracing::warn!(error = %e, "call auto-reply not queued");
                }
            }
        }
    }
}
