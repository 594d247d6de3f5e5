//! The delivery log as administrators read it: the configured webhooks with their
//! deliveries counted by state, and the deliveries themselves, newest first. Reading it
//! is not audited, like the send and audit logs: it changes nothing and shows no
//! patron's text (payloads are not part of it).

use textgate_alerts::{authorize, Action};

use super::data;
pub use super::data::DeliveryRecord;
use super::Webhooks;
use crate::{Account, AlertError};

/// The most deliveries one read returns.
pub const MAX_LIMIT: i64 = 1000;

/// A configured webhook as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebhookSummary {
    pub name: String,
    /// The URL without its query (which may carry a token of the receiver's).
    pub url: String,
    pub events: Vec<&'static str>,
    /// `None`: every gateway.
    pub gateways: Option<Vec<String>>,
    /// `unattended` or `all`.
    pub received: &'static str,
    pub unattended_after_seconds: i64,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

impl Webhooks<'_> {
    /// The configured webhooks and their counts.
    pub async fn list(&self, account: &Account) -> Result<Vec<WebhookSummary>, AlertError> {
        authorize(&account.roles, Action::ViewWebhookLog)?;
        let mut out = Vec::new();
        for webhook in self.configured() {
            let (pending, delivered, failed) =
                data::counts(self.service.database(), &webhook.name).await?;
            let url = match webhook.url.split_once('?') {
                Some((base, _)) => format!("{base}?…"),
                None => webhook.url.clone(),
            };
            out.push(WebhookSummary {
                name: webhook.name.clone(),
                url,
                events: webhook.events.iter().map(|e| e.as_str()).collect(),
                gateways: webhook.gateways.clone(),
                received: match webhook.received {
                    super::ReceivedTexts::Unattended => "unattended",
                    super::ReceivedTexts::All => "all",
                },
                unattended_after_seconds: webhook.unattended_after.num_seconds(),
                pending,
                delivered,
                failed,
            });
        }
        Ok(out)
    }

    /// Deliveries newest first, of one webhook and in one state (`pending`, `delivered`
    /// or `failed`) when given, at most `limit` (1 to [`MAX_LIMIT`]).
    pub async fn deliveries(
        &self,
        account: &Account,
        webhook: Option<&str>,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, AlertError> {
        authorize(&account.roles, Action::ViewWebhookLog)?;
        if let Some(state) = state {
            if !["pending", "delivered", "failed"].contains(&state) {
                return Err(AlertError::refused(format!(
                    "The state {state:?} is not one of pending, delivered, failed."
                )));
            }
        }
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AlertError::refused(format!(
                "The limit must be between 1 and {MAX_LIMIT}."
            )));
        }
        data::deliveries(self.service.database(), webhook, state, limit).await
    }
}
