//! Parts whose outcome an attempt lost: handed to the modem or message centre, no answer
//! before the daemon died, the link ended or the command timed out. Such a text comes back
//! **unsure** ([`OutboundText::unsure_since`](crate::OutboundText::unsure_since)): the
//! worker that takes it next looks for the network's status reports on those parts (kept
//! with the phone they name, see [`Store::unmatched_reports_about`]) before it sends any of
//! them again, waits a little for them, and then settles the doubt.

use chrono::{DateTime, Utc};

use crate::backend::with_pool;
use crate::outbound::lease_lost;
use crate::{Lease, Store, StoreError};

impl Store {
    /// As [`Store::mark_retry`], after an attempt that ended with a part's outcome unknown
    /// (handed to the modem or message centre, no answer before the link ended or the
    /// daemon stopped): the text comes back with
    /// [`OutboundText::unsure_since`](crate::OutboundText::unsure_since) set to the
    /// attempt's start, so the next attempt looks for a status report on that part before
    /// sending it again.
    pub async fn mark_retry_unsure(
        &self,
        lease: &Lease,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.requeue(lease, error, next_attempt_at, true).await
    }

    /// Puts an unsure text
    /// ([`OutboundText::unsure_since`](crate::OutboundText::unsure_since)) back until
    /// `until`, while the network's status report on its part may still come: it stays
    /// unsure, and the attempt this lease counted is not counted (nothing was tried).
    pub async fn defer_unsure(
        &self,
        lease: &Lease,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let deferred = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbound SET state = 'queued', next_attempt_at = $3,
                     attempts = attempts - 1,
                     lease_owner = NULL, lease_token = NULL, lease_until = NULL
                 WHERE id = $1 AND state = 'sending' AND lease_token = $2
                   AND unsure_since IS NOT NULL",
            )
            .bind(lease.outbound_id)
            .bind(lease.token)
            .bind(until)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if deferred == 0 {
            return Err(lease_lost(lease));
        }
        Ok(())
    }

    /// Ends the doubt about the parts whose outcome an earlier attempt lost
    /// ([`OutboundText::unsure_since`](crate::OutboundText::unsure_since)): those a status
    /// report showed sent were recorded ([`Store::record_sent_part`]), and the worker sends
    /// the rest. Refused with [`StoreError::LeaseLost`] when the lease is no longer held.
    pub async fn settle_unsure(&self, lease: &Lease) -> Result<(), StoreError> {
        let settled = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbound SET unsure_since = NULL
                 WHERE id = $1 AND state = 'sending' AND lease_token = $2",
            )
            .bind(lease.outbound_id)
            .bind(lease.token)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if settled == 0 {
            return Err(lease_lost(lease));
        }
        Ok(())
    }
}
