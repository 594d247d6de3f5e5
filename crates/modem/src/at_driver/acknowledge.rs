//! Acknowledging: what happens once the receiver has stored a message it was handed. A
//! stored message is deleted (`AT+CMGD`), a routed one acknowledged (`AT+CNMA`), in the
//! span the receiver acknowledged it in, so the deletion's log lines carry the text's ids.
//!
//! Only the message that was acknowledged is ever deleted. The network stores a new
//! message in the lowest free slot at once, so a deletion that must be retried (refused,
//! its answer lost with the link, or acknowledged while the device was away) reads its
//! slot first: still the same PDU, it is deleted; empty, the earlier deletion worked;
//! another PDU, that is a new message, handed over in its turn.

use textgate_at::command::{Command, DeleteScope};
use textgate_at::FinalResult;
use tracing::Instrument;

use super::receive::StorageCheck;
use super::{same_pdu, Driver, Stop};
use crate::connection::{CommandFailure, Connection};
use crate::driver::{AckToken, Origin};

/// Whether a refusal says the storage slot is empty (already deleted).
fn is_invalid_index(result: &FinalResult) -> bool {
    match result {
        FinalResult::Cme(error) => error.code == Some(21),
        FinalResult::Cms(error) => error.code == Some(321),
        _ => false,
    }
}

impl Driver {
    /// Deletes or acknowledges a message the receiver stored, in the span the receiver
    /// acknowledged it in, so the deletion's lines carry the text's ids. A line takes its
    /// fields from its own span and that span's parents only, not from the driver's span
    /// the task runs in, so the span entered here is a new driver span (gateway, device)
    /// whose parent is the receiver's.
    pub(super) async fn acknowledge(
        &mut self,
        connection: &mut Connection,
        token: AckToken,
    ) -> Result<(), Stop> {
        let span = self.span(token.span.id());
        self.acknowledge_in_span(connection, token)
            .instrument(span)
            .await
    }

    async fn acknowledge_in_span(
        &mut self,
        connection: &mut Connection,
        token: AckToken,
    ) -> Result<(), Stop> {
        match token.origin {
            Origin::Stored { index } => {
                if !self.acknowledges_current(&token) {
                    tracing::debug!(
                        slot = index,
                        "acknowledgement for a message no longer in its slot; nothing deleted"
                    );
                    return Ok(());
                }
                // Nothing but this acknowledgement deletes the message, so its slot still
                // holds it: deleted without reading it again.
                self.delete_stored(connection, index).await?;
                if self.storage_full {
                    self.check_storage(connection, StorageCheck::Drain).await?;
                }
                Ok(())
            }
            Origin::Routed if token.connection != self.connection_id => {
                tracing::debug!(
                    "acknowledgement for a previous connection; the network delivers again"
                );
                Ok(())
            }
            Origin::Routed => {
                self.best_effort(connection, &Command::AcknowledgeMessage)
                    .await?;
                tracing::info!("routed message acknowledged (AT+CNMA)");
                Ok(())
            }
            Origin::Smsc { .. } => {
                // This driver never hands such a message over.
                tracing::warn!("acknowledgement of a message centre's PDU; not this driver's");
                Ok(())
            }
        }
    }

    /// Whether an acknowledgement is for the message its slot holds now (and not for one
    /// whose slot was freed and reused since).
    pub(super) fn acknowledges_current(&self, token: &AckToken) -> bool {
        match token.origin {
            Origin::Stored { index } => self
                .in_flight
                .get(&index)
                .is_some_and(|handed| handed.handover == token.handover),
            Origin::Routed | Origin::Smsc { .. } => false,
        }
    }

    /// Retries every pending deletion, each only after reading its slot again.
    pub(super) async fn delete_pending(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let mut pending = std::mem::take(&mut self.pending_deletes).into_iter();
        while let Some(index) = pending.next() {
            if let Err(stop) = self.delete_if_unchanged(connection, index).await {
                // Those not tried yet stay pending for the next connection.
                for index in pending {
                    self.retry_delete(index);
                }
                return Err(stop);
            }
        }
        Ok(())
    }

    /// Retries the deletion of an acknowledged message whose earlier deletion was refused
    /// or lost its answer. That deletion may have happened after all, and the network
    /// stores a new message in the lowest free slot: deleting the index blindly could
    /// delete a message never handed over. So the slot is read first: still the same
    /// PDU, it is deleted; empty, the earlier deletion worked; another PDU, that is a new
    /// message and is handed over.
    pub(super) async fn delete_if_unchanged(
        &mut self,
        connection: &mut Connection,
        index: u32,
    ) -> Result<(), Stop> {
        let Some(expected) = self.in_flight.get(&index).map(|handed| handed.pdu.clone()) else {
            return Ok(());
        };
        match self
            .patiently(connection, &Command::ReadMessage(index))
            .await
        {
            Ok(responses) => match responses.into_iter().find_map(|r| r.pdu) {
                Some(pdu) if same_pdu(&pdu, &expected) => {
                    self.delete_stored(connection, index).await?
                }
                Some(pdu) => {
                    tracing::info!(
                        slot = index,
                        "the earlier deletion worked and a new message is in its slot"
                    );
                    self.in_flight.remove(&index);
                    self.hand_over_stored(index, pdu).await?;
                }
                None => {
                    self.in_flight.remove(&index);
                    tracing::debug!(slot = index, "stored message already gone");
                }
            },
            Err(CommandFailure::Rejected { result, .. }) if is_invalid_index(&result) => {
                self.in_flight.remove(&index);
                tracing::debug!(slot = index, "stored message already gone");
            }
            Err(failure) if failure.is_link_failure() => {
                self.retry_delete(index);
                return Err(Stop::Link(failure));
            }
            Err(failure) => {
                tracing::warn!(slot = index, error = %failure, "cannot read a slot before deleting; retried at the next storage check");
                self.retry_delete(index);
            }
        }
        Ok(())
    }

    /// Deletes an acknowledged message whose slot is known to hold it. A refused deletion
    /// keeps the message counted as handed over (so no sweep hands it over again: the
    /// endless re-reads of the field) and is retried at the next storage check; one lost
    /// to the link is retried after reconnecting. Both retries read the slot first.
    async fn delete_stored(&mut self, connection: &mut Connection, index: u32) -> Result<(), Stop> {
        let command = Command::DeleteMessage {
            index,
            scope: DeleteScope::Index,
        };
        match self.patiently(connection, &command).await {
            Ok(_) => {
                self.in_flight.remove(&index);
                tracing::info!(slot = index, "stored message deleted after acknowledgement");
            }
            Err(CommandFailure::Rejected { result, .. }) if is_invalid_index(&result) => {
                self.in_flight.remove(&index);
                tracing::debug!(slot = index, "stored message already gone");
            }
            Err(failure) if failure.is_link_failure() => {
                self.retry_delete(index);
                return Err(Stop::Link(failure));
            }
            Err(failure) => {
                tracing::warn!(slot = index, error = %failure, "deletion refused; retried at the next storage check");
                self.retry_delete(index);
            }
        }
        Ok(())
    }

    pub(super) fn retry_delete(&mut self, index: u32) {
        if !self.pending_deletes.contains(&index) {
            self.pending_deletes.push(index);
        }
    }
}
