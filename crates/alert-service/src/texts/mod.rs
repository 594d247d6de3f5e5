//! Texts other systems send through a gateway: the send API behind `POST /api/v1/texts`
//! and the Kannel-compatible `/cgi-bin/sendsms` (a library's integrated library system
//! sending hold and overdue notices).
//!
//! - Only an account allowed to send texts ([`Action::SendTexts`], the text sender role)
//!   sends; the web layer also insists on a token whose scope is sending.
//! - A text is checked as `textgate send` and the librarians' replies are: the number read
//!   with the gateway's `default_region`, at most the gateway's `max_parts` SMS. What
//!   fails a check is refused with a message that says what is wrong; nothing is queued.
//! - A request names an idempotency key (or gets a fresh one). The same account sending
//!   the same key again gets the text it already queued, not a second SMS; the same key
//!   for a different text is refused. The outbox row's own key is derived from the
//!   account and the caller's key, so a crash between queueing the text and recording it
//!   here still finds the one text when the request is retried.
//! - The text goes through the gateway's outbox like any reply, after librarians'
//!   replies ([`Priority::NOTICE`]); no operator is told its fate. Its status is read from
//!   the outbox row by the account that sent it (another account's text is "not found").
//! - Every send, every retry answered from an earlier one and every refusal is written
//!   to the audit log. Status reads are not: they change nothing, and a system polls them.

mod data;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use textgate_alerts::{authorize, mask, Action};
use textgate_core::PatronAddress;
use textgate_store::{Insertion, NewOutbound, OutboundOrigin, Priority};

use crate::audit::AuditAction;
use crate::secrets::random_token;
use crate::settings::TextGateway;
use crate::{Account, Actor, AlertError, AlertService};

/// The longest idempotency key, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// A text to send, as a caller gave it.
#[derive(Debug, Clone, Copy)]
pub struct TextRequest<'a> {
    /// The recipient: international, national in the gateway's region, or a short code.
    pub to: &'a str,
    pub text: &'a str,
    /// The gateway's name; the first gateway that reaches any number when `None`.
    pub gateway: Option<&'a str>,
    /// The caller's idempotency key; a fresh one (every call a new text) when `None`.
    pub key: Option<&'a str>,
}

/// A text queued (or found queued by an earlier call with the same key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedText {
    /// The outbox id: the text's id in the API.
    pub id: i64,
    pub gateway: String,
    /// The recipient in E.164 (or the short code).
    pub to: String,
    /// How many SMS the text takes.
    pub parts: u32,
    /// The key was seen before: this is the earlier call's text, not a new one.
    pub replayed: bool,
}

/// Where a text sent through the API is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TextStatus {
    pub id: i64,
    pub gateway: String,
    pub to: String,
    /// `queued`, `sending`, `sent` (the network took every part), `delivered` (status
    /// reports say the phone has every part) or `failed`.
    pub state: &'static str,
    /// How many SMS the text takes, and how many of them the network has taken.
    pub parts: u32,
    pub parts_sent: u32,
    pub attempts: i32,
    /// Why the text failed, or why the last attempt did not get through.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Texts sent through the API (a view of [`AlertService`]).
#[derive(Clone, Copy)]
pub struct Texts<'a> {
    pub(crate) service: &'a AlertService,
}

impl Texts<'_> {
    /// Checks and queues one text for the actor's account, or finds the text an earlier
    /// call with the same key queued. A refusal is audited too (`send-text-refused`, the
    /// number masked), so the log shows a system sending what it should not.
    pub async fn send(
        &self,
        actor: &Actor<'_>,
        request: &TextRequest<'_>,
    ) -> Result<QueuedText, AlertError> {
        authorize(&actor.account.roles, Action::SendTexts)?;
        let outcome = self.queue(actor, request).await;
        if let Err(AlertError::Refused(reason)) = &outcome {
            let masked = mask(request.to);
            let reason = if request.to.is_empty() {
                reason.clone()
            } else {
                reason.replace(request.to, &masked)
            };
            self.service
                .audit(
                    actor,
                    AuditAction::SendTextRefused,
                    &format!("a text to {masked}: {reason}"),
                )
                .await?;
        }
        outcome
    }

    async fn queue(
        &self,
        actor: &Actor<'_>,
        request: &TextRequest<'_>,
    ) -> Result<QueuedText, AlertError> {
        let gateway = self.gateway(request.gateway)?;
        let recipient = PatronAddress::from_dialled(request.to, gateway.region).map_err(|e| {
            AlertError::refused(format!(
                "The number {:?} cannot be texted: {e} (read with region {}).",
                request.to, gateway.region
            ))
        })?;
        if request.text.trim().is_empty() {
            return Err(AlertError::refused("The text is empty."));
        }
        let parts = gateway
            .segmenter
            .segment(request.text, 0)
            .map_err(|e| {
                AlertError::refused(format!("The text cannot go through {}: {e}.", gateway.name))
            })?
            .parts
            .len();
        let parts = u32::try_from(parts).unwrap_or(u32::MAX);
        let key = match request.key {
            Some(key) => checked_key(key)?.to_owned(),
            None => random_token(),
        };
        let to = recipient.as_str().to_owned();
        let hash = request_hash(&gateway.name, &to, request.text);
        let database = self.service.database();
        let account = actor.account.id;

        if let Some(earlier) = data::by_key(database, account, &key).await? {
            return self.replayed(actor, earlier, &hash).await;
        }
        let insertion = self
            .service
            .store()
            .enqueue_outbound(&NewOutbound {
                gateway: gateway.name.clone(),
                recipient: to.clone(),
                origin: OutboundOrigin::Api {
                    client: format!("account:{account}"),
                    key: key.clone(),
                },
                body: request.text.to_owned(),
                priority: Priority::NOTICE,
                not_before: None,
            })
            .await?;
        let id = match insertion {
            Insertion::New(id) | Insertion::Duplicate(id) => id,
        };
        data::insert(
            database,
            id,
            account,
            &key,
            &hash,
            parts,
            self.service.now(),
        )
        .await?;
        // Another call with the same key may have recorded its text first (a retry racing
        // the original); the recorded one is the answer.
        let recorded = data::by_key(database, account, &key)
            .await?
            .ok_or_else(|| AlertError::Internal(format!("text {id} was not recorded")))?;
        if recorded.outbound_id != id || recorded.request_hash != hash {
            return self.replayed(actor, recorded, &hash).await;
        }
        self.service
            .audit(
                actor,
                AuditAction::SendText,
                &format!(
                    "text {id} to {} through {} ({parts} SMS)",
                    mask(&to),
                    gateway.name
                ),
            )
            .await?;
        Ok(QueuedText {
            id,
            gateway: gateway.name.clone(),
            to,
            parts,
            replayed: matches!(insertion, Insertion::Duplicate(_)),
        })
    }

    /// The answer to a call whose key an earlier call used.
    async fn replayed(
        &self,
        actor: &Actor<'_>,
        earlier: data::ApiTextRow,
        hash: &str,
    ) -> Result<QueuedText, AlertError> {
        if earlier.request_hash != hash {
            return Err(AlertError::refused(format!(
                "This idempotency key was used for a different text (text {}); use a new key for a new text.",
                earlier.outbound_id
            )));
        }
        let text = self
            .service
            .store()
            .outbound(earlier.outbound_id)
            .await?
            .ok_or(AlertError::NotFound)?;
        self.service
            .audit(
                actor,
                AuditAction::SendText,
                &format!(
                    "text {} to {} through {}: a retry, answered with the text already queued",
                    text.id,
                    mask(&text.recipient),
                    text.gateway
                ),
            )
            .await?;
        Ok(QueuedText {
            id: text.id,
            gateway: text.gateway,
            to: text.recipient,
            parts: u32::try_from(earlier.parts).unwrap_or(0),
            replayed: true,
        })
    }

    /// Where text `id` is, if `account` sent it.
    pub async fn status(&self, account: &Account, id: i64) -> Result<TextStatus, AlertError> {
        authorize(&account.roles, Action::SendTexts)?;
        let record = data::by_id(self.service.database(), id).await?;
        let Some(record) = record.filter(|r| r.account_id == account.id) else {
            return Err(AlertError::NotFound);
        };
        let store = self.service.store();
        let text = store.outbound(id).await?.ok_or(AlertError::NotFound)?;
        let parts_sent = store.sent_parts(id).await?.len();
        Ok(TextStatus {
            id,
            gateway: text.gateway,
            to: text.recipient,
            state: text.state.as_str(),
            parts: u32::try_from(record.parts).unwrap_or(0),
            parts_sent: u32::try_from(parts_sent).unwrap_or(u32::MAX),
            attempts: text.attempts,
            error: text.last_error,
            created_at: text.created_at,
            sent_at: text.sent_at,
            finished_at: text.finished_at,
        })
    }

    /// The gateway named `name`, or the default one.
    fn gateway(&self, name: Option<&str>) -> Result<&TextGateway, AlertError> {
        let gateways = &self.service.settings().text_gateways;
        let found = match name.filter(|n| !n.is_empty()) {
            Some(name) => gateways.iter().find(|g| g.name == name),
            None => gateways.first(),
        };
        found.ok_or_else(|| {
            let names: Vec<&str> = gateways.iter().map(|g| g.name.as_str()).collect();
            match (name, names.is_empty()) {
                (_, true) => AlertError::refused(
                    "No gateway can send texts: the API sends through modems and message centres, not the e-mail path.",
                ),
                (Some(name), false) => AlertError::refused(format!(
                    "No gateway named {name:?} sends texts; the gateways are: {}.",
                    names.join(", ")
                )),
                (None, false) => AlertError::Internal("no default gateway".into()),
            }
        })
    }
}

/// `key` if it can be an idempotency key: 1 to [`MAX_KEY_BYTES`] printable ASCII
/// characters (what HTTP headers carry safely).
fn checked_key(key: &str) -> Result<&str, AlertError> {
    let printable = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_KEY_BYTES || !printable {
        return Err(AlertError::refused(format!(
            "The idempotency key must be 1 to {MAX_KEY_BYTES} printable ASCII characters without spaces."
        )));
    }
    Ok(key)
}

/// What makes two requests the same text: the gateway, the normalised recipient and the
/// body, each length-prefixed so that no two different requests hash alike.
fn request_hash(gateway: &str, to: &str, text: &str) -> String {
    let mut hash = Sha256::new();
    for field in [gateway, to, text] {
        hash.update((field.len() as u64).to_be_bytes());
        hash.update(field.as_bytes());
    }
    hex::encode(hash.finalize())
}

#[cfg(test)]
mod tests;
