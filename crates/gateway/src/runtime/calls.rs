//! Voice calls: the gateway takes texts only, so the driver rejects every call; the
//! operators are told who called, and the caller may get an automatic reply by SMS.

use textgate_core::PatronAddress;

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
                self.send_own_text(caller, reply, "call").await;
            }
        }
    }
}
