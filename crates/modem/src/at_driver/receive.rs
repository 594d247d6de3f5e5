//! Receiving: what the modem reports on its own and what the driver does about it. New
//! messages are announced stored (`+CMTI`, `+CDSI`: read with `AT+CMGR`) or routed
//! (`+CMT`, `+CDS`: the PDU comes with the code); either way each one is handed to the
//! receiver as a [`ModemEvent`] with an [`AckHandle`] that the receiver acknowledges once
//! its store has committed (the `acknowledge` file does the rest). A periodic storage
//! check (`AT+CPMS?`) and a sweep (`AT+CMGL=4`) collect messages whose notification was
//! lost, and drain a full storage. Voice calls are rejected and reported.
//!
//! A stored message is handed over once per slot: `in_flight` remembers what each slot
//! held when it was handed over, so a repeated notification or a sweep never hands the
//! same message over twice, and a slot reused by a new message is noticed by its PDU.

use textgate_at::command::{Command, ListFilter};
use textgate_at::response::{self, StorageUsage, StoredStatus};
use textgate_at::{Response, Urc};
use textgate_gsm::pdu::Tpdu;
use tokio::time::Instant;

use super::{same_pdu, Driver, HandedOver, Stop};
use crate::connection::Connection;
use crate::driver::{AckHandle, AckToken, HealthChange, ModemEvent, Origin, ReceivedPdu};
use crate::quirks::CallReject;

impl Driver {
    pub(super) async fn handle_urc(
        &mut self,
        connection: &mut Connection,
        urc: Urc,
    ) -> Result<(), Stop> {
        match urc {
            Urc::MessageStored {
                storage,
                index,
                kind,
            } => {
                if let Some(kind) = kind {
                    tracing::info!(%storage, slot = index, %kind, "stored message with a kind (MMS notification)");
                }
                self.read_stored(connection, index).await
            }
            Urc::StatusReportStored { index, .. } => self.read_stored(connection, index).await,
            Urc::Deliver { pdu: Some(pdu), .. } => {
                self.hand_over_routed(pdu, Routed::Message).await
            }
            Urc::StatusReport { pdu: Some(pdu), .. } => {
                self.hand_over_routed(pdu, Routed::StatusReport).await
            }
            Urc::Deliver { pdu: None, .. } | Urc::StatusReport { pdu: None, .. } => {
                tracing::warn!("routed message without its PDU line; not acknowledged, the network delivers it again");
                Ok(())
            }
            Urc::Ring => {
                if self.ringing_since.is_none() {
                    self.ringing_since = Some(Instant::now());
                }
                Ok(())
            }
            Urc::CallerId { number, .. } => {
                self.ringing_since = None;
                self.answer_call(connection, Some(number)).await
            }
            Urc::MemoryFull { storage } => {
                tracing::warn!(
                    storage = storage.as_deref().unwrap_or("?"),
                    "modem reports message storage full"
                );
                self.check_storage(connection, StorageCheck::Drain).await
            }
            Urc::CallEnded(code) => {
                tracing::debug!(%code, "call ended");
                Ok(())
            }
            Urc::Malformed { line, reason } => {
                tracing::warn!(%line, reason, "malformed unsolicited code");
                Ok(())
            }
            Urc::Other(line) => {
                tracing::debug!(%line, "unsolicited code ignored");
                Ok(())
            }
        }
    }

    async fn read_stored(&mut self, connection: &mut Connection, index: u32) -> Result<(), Stop> {
        if self.in_flight.contains_key(&index) {
            // A notification for a slot whose deletion is pending may announce a new
            // message stored after an unconfirmed deletion freed it: look now rather
            // than at the next storage check. Otherwise it is a repeated notification.
            if self.pending_deletes.contains(&index) {
                self.pending_deletes.retain(|&pending| pending != index);
                return self.delete_if_unchanged(connection, index).await;
            }
            return Ok(());
        }
        let Some(responses) = self
            .optional(connection, &Command::ReadMessage(index))
            .await?
        else {
            return Ok(());
        };
        match responses.into_iter().find_map(|r| r.pdu) {
            Some(pdu) => self.hand_over_stored(index, pdu).await,
            None => {
                tracing::debug!(slot = index, "storage slot empty");
                Ok(())
            }
        }
    }

    /// `AT+CMGL=4`: hands over everything stored that is not already with the receiver.
    pub(super) async fn sweep(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let Some(responses) = self
            .optional(connection, &Command::ListMessages(ListFilter::All))
            .await?
        else {
            return Ok(());
        };
        for Response { line, pdu } in responses {
            let listed = match response::parse_cmgl(&line) {
                Ok(listed) => listed,
                Err(error) => {
                    tracing::warn!(%error, "unreadable message list entry");
                    continue;
                }
            };
            if matches!(
                listed.status,
                StoredStatus::StoredSent | StoredStatus::StoredUnsent
            ) {
                continue;
            }
            let Some(pdu) = pdu else { continue };
            let index = listed.index;
            match self.in_flight.get(&index) {
                None => self.hand_over_stored(index, pdu).await?,
                Some(handed) if same_pdu(&handed.pdu, &pdu) => {}
                Some(_) => {
                    // The message handed over from this slot is gone (a deletion whose
                    // answer was lost, or someone else's) and the network stored a new
                    // one there. The new one is handed over; its predecessor's
                    // acknowledgement no longer matches and deletes nothing.
                    tracing::info!(slot = index, "storage slot reused by a new message");
                    self.pending_deletes.retain(|&pending| pending != index);
                    self.hand_over_stored(index, pdu).await?;
                }
            }
        }
        Ok(())
    }

    pub(super) async fn hand_over_stored(&mut self, index: u32, pdu: String) -> Result<(), Stop> {
        self.handovers += 1;
        let handover = self.handovers;
        self.in_flight.insert(
            index,
            HandedOver {
                pdu: pdu.clone(),
                handover,
            },
        );
        let token = AckToken {
            origin: Origin::Stored { index },
            connection: self.connection_id,
            handover,
            span: tracing::Span::none(),
        };
        let received = ReceivedPdu::new(
            pdu,
            Origin::Stored { index },
            AckHandle::new(token, self.acks_tx.clone()),
        );
        let event = match &received.decoded {
            Ok(pdu) if matches!(pdu.tpdu, Tpdu::StatusReport(_)) => {
                ModemEvent::StatusReport(received)
            }
            _ => ModemEvent::IncomingPart(received),
        };
        tracing::info!(slot = index, "received message handed over");
        self.deliver(event).await;
        Ok(())
    }

    async fn hand_over_routed(&mut self, pdu: String, kind: Routed) -> Result<(), Stop> {
        let token = AckToken {
            origin: Origin::Routed,
            connection: self.connection_id,
            handover: 0,
            span: tracing::Span::none(),
        };
        let received = ReceivedPdu::new(
            pdu,
            Origin::Routed,
            AckHandle::new(token, self.acks_tx.clone()),
        );
        let event = match kind {
            Routed::Message => ModemEvent::IncomingPart(received),
            Routed::StatusReport => ModemEvent::StatusReport(received),
        };
        tracing::info!("routed message handed over");
        self.deliver(event).await;
        Ok(())
    }

    pub(super) async fn check_storage(
        &mut self,
        connection: &mut Connection,
        check: StorageCheck,
    ) -> Result<(), Stop> {
        self.delete_pending(connection).await?;
        let usage = self
            .optional(connection, &Command::StorageQuery)
            .await?
            .and_then(|r| r.first().and_then(|r| response::parse_cpms(&r.line).ok()))
            .and_then(|usage| usage.into_iter().last());
        let Some(usage) = usage else { return Ok(()) };
        let stragglers = usage.used as usize > self.in_flight.len();
        let full = usage.is_full();
        self.note_storage(usage).await;
        // Drain a full storage, and collect messages whose notification was lost (Huawei
        // stops sending +CMTI once full).
        if (full && check == StorageCheck::Drain) || stragglers {
            self.sweep_needed = true;
        }
        Ok(())
    }

    pub(super) async fn note_storage(&mut self, usage: StorageUsage) {
        let full = usage.is_full();
        let (used, total) = (usage.used, usage.total);
        if full != self.storage_full {
            self.storage_full = full;
            let change = if full {
                HealthChange::StorageFull { used, total }
            } else {
                HealthChange::StorageAvailable { used, total }
            };
            self.health(change).await;
        }
        if full {
            self.sweep_needed = true;
        }
    }

    pub(super) async fn answer_call(
        &mut self,
        connection: &mut Connection,
        number: Option<String>,
    ) -> Result<(), Stop> {
        tracing::info!(
            number = number.as_deref().unwrap_or("hidden"),
            "rejecting a voice call"
        );
        let (first, second) = match self.profile.call_reject {
            CallReject::HangUp => (Command::HangUp, Command::HangUpLegacy),
            CallReject::LegacyHangUp => (Command::HangUpLegacy, Command::HangUp),
        };
        if !self.best_effort(connection, &first).await? {
            self.best_effort(connection, &second).await?;
        }
        self.deliver(ModemEvent::IncomingCall { number }).await;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StorageCheck {
    /// Only look for messages whose notification was lost.
    CollectStragglers,
    /// Storage is (reported) full: hand over everything so it can be deleted.
    Drain,
}

#[derive(Debug, Clone, Copy)]
enum Routed {
    Message,
    StatusReport,
}
