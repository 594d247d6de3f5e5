//! Two-person approval of real alerts (`[alerts] approval = "two-person"`). A real alert
//! confirmed by one emergency administrator is recorded `awaiting-approval`, with nothing
//! in the outbox; it goes out only when a second emergency administrator approves it
//! before it expires. The rules are here, not in the pages: the drafter cannot approve
//! their own alert by any route (page, forged POST, API), a decision is one atomic update
//! (two approvers at once: one wins), and every decision and every refused attempt is in
//! the audit log.

use chrono::{DateTime, Utc};
use textgate_alerts::authorize;

use super::{Audience, Campaigns};
use crate::audit::AuditAction;
use crate::sends::{CampaignState, Send, SendKind};
use crate::settings::Approval;
use crate::{format_time, Actor, AlertError};

/// What a second administrator decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Refuse,
}

impl Campaigns<'_> {
    /// Whether a real alert confirmed now waits for a second administrator.
    pub(super) fn needs_approval(&self, audience: Audience) -> bool {
        audience == Audience::Everyone
            && matches!(self.service.settings().approval, Approval::TwoPerson { .. })
    }

    /// When an alert awaiting approval expires (`None` for any other send).
    pub fn approval_deadline(&self, send: &Send) -> Option<DateTime<Utc>> {
        if send.campaign_state != Some(CampaignState::AwaitingApproval) {
            return None;
        }
        match self.service.settings().approval {
            Approval::TwoPerson { expires_after } => Some(send.confirmed_at + expires_after),
            // Configured back to one person since: it waits until someone decides.
            Approval::OnePerson => None,
        }
    }

    /// Whether `actor` may decide on `send` now: an emergency administrator other than
    /// the drafter, while it awaits approval. For the page's buttons; [`Self::decide`]
    /// checks again.
    pub fn may_decide(&self, actor: &Actor<'_>, send: &Send) -> bool {
        send.campaign_state == Some(CampaignState::AwaitingApproval)
            && send.account_id != Some(actor.account.id)
            && authorize(&actor.account.roles, Audience::Everyone.action()).is_ok()
    }

    /// Approves or refuses real alert `id` for `actor`. Approved, it is enqueued at once,
    /// as any confirmed campaign. Returns the message for the page.
    pub async fn decide(
        &self,
        actor: &Actor<'_>,
        id: i64,
        decision: Decision,
    ) -> Result<String, AlertError> {
        authorize(&actor.account.roles, Audience::Everyone.action())?;
        let service = self.service;
        let send = self
            .send(id)
            .await?
            .filter(|s| s.kind == SendKind::Real)
            .ok_or(AlertError::NotFound)?;
        if send.campaign_state != Some(CampaignState::AwaitingApproval) {
            return Err(AlertError::refused(already_decided(&send)));
        }
        if send.account_id == Some(actor.account.id) {
            service
                .audit(
                    actor,
                    AuditAction::ApproveOwnAlertRefused,
                    &format!("campaign {id}"),
                )
                .await?;
            return Err(AlertError::refused(
                "You drafted this alert: a second emergency administrator must approve or refuse it.",
            ));
        }
        let now = service.now();
        if let Some(deadline) = self.approval_deadline(&send) {
            if now >= deadline {
                self.expire(&send, now).await?;
                return Err(AlertError::refused(format!(
                    "This alert expired unapproved at {}; nothing was sent. Draft it again if it is still needed.",
                    format_time(deadline)
                )));
            }
        }
        let (to, action) = match decision {
            Decision::Approve => (CampaignState::Enqueueing, AuditAction::ApproveAlert),
            Decision::Refuse => (CampaignState::Refused, AuditAction::RefuseAlert),
        };
        let decided =
            super::data::decide(service.database(), id, to, Some(&actor.account.email), now)
                .await?;
        if !decided {
            // Someone else decided between our read and our update.
            let send = self.send(id).await?.ok_or(AlertError::NotFound)?;
            return Err(AlertError::refused(already_decided(&send)));
        }
        service
            .audit(actor, action, &format!("campaign {id}: {}", send.body))
            .await?;
        Ok(match decision {
            Decision::Approve => {
                service.spawn_enqueue(id);
                format!(
                    "Approved: the alert drafted by {} is going out now.",
                    send.account_email
                )
            }
            Decision::Refuse => format!(
                "Refused: the alert drafted by {} will not be sent.",
                send.account_email
            ),
        })
    }

    /// Real alerts waiting for a second administrator, oldest first (the desk lists them).
    pub async fn awaiting_approval(&self) -> Result<Vec<Send>, AlertError> {
        super::data::awaiting_approval(self.service.database()).await
    }

    /// Marks every alert whose approval time ran out `expired`; how many. Run by the
    /// service's jobs every minute, so an expired alert never goes out and the log says
    /// so even if nobody looks.
    pub async fn expire_unapproved(&self) -> Result<u64, AlertError> {
        let Approval::TwoPerson { expires_after } = self.service.settings().approval else {
            return Ok(0);
        };
        let now = self.service.now();
        let waiting = super::data::awaiting_approval(self.service.database()).await?;
        let mut expired = 0;
        for send in waiting {
            if now >= send.confirmed_at + expires_after && self.expire(&send, now).await? {
                expired += 1;
            }
        }
        Ok(expired)
    }

    async fn expire(&self, send: &Send, now: DateTime<Utc>) -> Result<bool, AlertError> {
        let service = self.service;
        let expired = super::data::decide(
            service.database(),
            send.id,
            CampaignState::Expired,
            None,
            now,
        )
        .await?;
        if expired {
            tracing::warn!(
                campaign = send.id,
                "a real alert expired without a second administrator's approval; not sent"
            );
            service
                .audit_daemon(
                    AuditAction::AlertExpired,
                    &format!("campaign {}: {}", send.id, send.body),
                )
                .await?;
        }
        Ok(expired)
    }
}

/// Why an alert can no longer be decided on, in words for the administrator.
fn already_decided(send: &Send) -> String {
    let who = send.decided_by.as_deref().unwrap_or("nobody");
    let when = send.decided_at.map(format_time).unwrap_or_default();
    match send.campaign_state {
        Some(CampaignState::Refused) => format!("This alert was refused by {who} at {when}."),
        Some(CampaignState::Expired) => {
            format!("This alert expired unapproved at {when}; nothing was sent.")
        }
        Some(CampaignState::Enqueueing | CampaignState::Enqueued) => match &send.decided_by {
            Some(by) => format!("This alert was approved by {by} at {when}."),
            None => "This alert did not need approval.".to_owned(),
        },
        _ => "This alert is not waiting for approval.".to_owned(),
    }
}
