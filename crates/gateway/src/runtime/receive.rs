//! Receiving: what the modem hands over is committed to the store before it is
//! acknowledged (so the modem deletes it only once it is safe), parts of long texts wait in
//! the reassembler (and in the store) for their siblings or their deadline, and messages the
//! store could not take wait, unacknowledged, in the [`Backlog`](super::backlog::Backlog)
//! and are tried again on a timer in the order they came. A complete text goes on to
//! [`deliver`](super::deliver); a status report, or a message centre's delivery receipt, to
//! [`reports`](super::reports); a voice call to [`calls`](super::calls).

use chrono::{DateTime, FixedOffset, Utc};
use textgate_core::{InboundTextId, PatronAddress};
use textgate_gsm::reassembly::{Complete, Incomplete, Outcome, Part, Payload};
use textgate_modem::{AckHandle, DeliveryReceipt, ModemEvent, Origin, ReceiptOutcome};
use textgate_store::{NewInbound, PartOutcome, PendingInsertion, PendingPart};
use tokio::time::Instant;
use tracing::field::Empty;
use tracing::Instrument;

use super::Runtime;
use crate::inbound::{self, Received};

/// A part waiting for its siblings, as far as the runtime needs it.
pub(super) struct PendingInfo {
    pub(super) pdu_hex: String,
    pub(super) smsc_time: DateTime<FixedOffset>,
    pub(super) sender: PatronAddress,
    /// The modem storage slot it came from; `None` when routed (`+CMT`) or read back
    /// from the store after a restart.
    pub(super) slot: Option<u32>,
}

/// A text whose parts are all in, whose commit failed: tried again on a timer.
pub(super) struct Unjoined {
    tokens: Vec<i64>,
    payload: Payload,
    concatenation: Option<textgate_store::Concatenation>,
    incomplete: bool,
}

/// A received message the store has not taken yet. Its [`AckHandle`] is kept,
/// unacknowledged, so the modem (or the message centre) keeps the message until it is
/// committed.
pub(super) struct Unstored {
    meaning: Received,
    /// The PDU as the modem gave it; for a message centre's receipt, which is no PDU, the
    /// receipt's text, for the log.
    pdu_hex: String,
    ack: AckHandle,
    slot: Option<u32>,
    /// Its [`received_span`], entered again for each attempt.
    span: tracing::Span,
}

impl Runtime {
    /// A [`received_span`] for parts taken from the store rather than the modem (read back
    /// at start-up, timed out, or pushed out of the reassembler by another text): a child
    /// of the gateway's span, never of the part being handled when it happens.
    pub(super) fn stored_parts_span(&self) -> tracing::Span {
        tracing::info_span!(
            parent: &self.span,
            "received",
            part = Empty,
            inbound = Empty,
        )
    }

    /// One event from the modem driver: a received message (a text's part, a status
    /// report or a message centre's receipt) in its own `received` span, a call, or a
    /// change of the modem's health.
    pub(super) async fn on_modem_event(&mut self, event: ModemEvent) {
        match event {
            ModemEvent::IncomingPart(received) | ModemEvent::StatusReport(received) => {
                let slot = match received.origin {
                    Origin::Stored { index } => Some(index),
                    // Neither a routed PDU nor a message centre's has a storage slot.
                    Origin::Routed | Origin::Smsc { .. } => None,
                };
                let span = received_span(slot);
                let meaning = inbound::classify(&received.decoded, self.settings.region);
                let received = Unstored {
                    meaning,
                    pdu_hex: received.pdu_hex,
                    ack: received.ack,
                    slot,
                    span: span.clone(),
                };
                self.on_received(received).instrument(span).await;
            }
            ModemEvent::Receipt(DeliveryReceipt {
                reference,
                outcome,
                description,
                recipient,
                ack,
            }) => {
                let span = received_span(None);
                span.in_scope(|| tracing::debug!(receipt = %description, "delivery receipt"));
                let received = Unstored {
                    meaning: Received::StatusReport {
                        reference,
                        outcome: outcome.map(part_outcome),
                        recipient,
                    },
                    pdu_hex: description,
                    ack,
                    slot: None,
                    span: span.clone(),
                };
                // The same path as a status report in a PDU: recorded, then acknowledged,
                // and held unacknowledged (the centre keeps it) while the store fails.
                self.on_received(received).instrument(span).await;
            }
            ModemEvent::IncomingCall { number } => self.on_call(number).await,
            ModemEvent::Health(change) => {
                // Readiness first, then the log line: a watcher of the log can then ask
                // /readyz and see the change.
                self.on_health(&change);
                tracing::info!(health = %change, "modem");
            }
        }
    }

    async fn on_received(&mut self, received: Unstored) {
        if !self.unstored.is_empty() {
            // Behind the ones already waiting, so texts keep the order they came in.
            tracing::info!(
                waiting = self.unstored.len(),
                "received; waits behind texts the store has not taken yet"
            );
            self.unstored.hold(received, Instant::now());
            return;
        }
        if let Err(received) = self.store_received(received).await {
            self.unstored.hold(received, Instant::now());
        }
    }

    /// Tries the received messages the store did not take, oldest first, until one fails.
    pub(super) async fn retry_unstored(&mut self) {
        while let Some(received) = self.unstored.take_oldest() {
            let span = received.span.clone();
            if let Err(received) = self.store_received(received).instrument(span).await {
                let retry_in = self.unstored.failed_again(received, Instant::now());
                tracing::warn!(waiting = self.unstored.len(), retry_in = ?retry_in, "the store still fails; received texts wait on the modem");
                return;
            }
        }
    }

    /// Stores what the modem handed over and acknowledges it; gives it back, not
    /// acknowledged, when the store failed.
    async fn store_received(&mut self, received: Unstored) -> Result<(), Unstored> {
        let Unstored {
            meaning,
            pdu_hex,
            ack,
            slot,
            span,
        } = received;
        let name = self.settings.name.clone();
        let unstored = |meaning: Received, pdu_hex: String, ack: AckHandle| Unstored {
            meaning,
            pdu_hex,
            ack,
            slot,
            span: span.clone(),
        };
        match meaning {
            Received::Part(part) => match part.concatenation {
                Some(concatenation) => {
                    let pending = PendingPart {
                        gateway: name.clone(),
                        sender: part.sender.as_str().to_owned(),
                        concatenation: inbound::store_concatenation(concatenation),
                        seq: concatenation.sequence,
                        pdu_hex: pdu_hex.clone(),
                        received_at: Utc::now(),
                    };
                    let id = match self.store.store_pending_part(&pending).await {
                        Ok(PendingInsertion::New(id) | PendingInsertion::Duplicate(id)) => id,
                        Ok(PendingInsertion::Committed(inbound)) => {
                            // Read again after its text was committed (the daemon died
                            // before deleting it from the SIM). Starting a new pending text
                            // with it would later deliver a partial copy, or join it to the
                            // patron's next text that reuses the reference.
                            span.record("inbound", inbound);
                            tracing::info!(
                                reference = concatenation.reference,
                                seq = concatenation.sequence,
                                "part of a text already stored, read again; deleted"
                            );
                            acknowledge(ack);
                            return Ok(());
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "could not store a part; left on the modem");
                            return Err(unstored(Received::Part(part), pdu_hex, ack));
                        }
                    };
                    span.record("part", id);
                    // The key the parts are joined on (with the sender), so the lines of
                    // the parts before the text exists can be found from the text's.
                    tracing::info!(
                        reference = concatenation.reference,
                        seq = concatenation.sequence,
                        total = concatenation.total,
                        "part of a longer text stored"
                    );
                    acknowledge(ack);
                    self.pending.insert(
                        id,
                        PendingInfo {
                            pdu_hex,
                            smsc_time: part.smsc_time,
                            sender: part.sender.clone(),
                            slot,
                        },
                    );
                    let pushed = self.reassembler.push(
                        Part {
                            sender: part.sender.as_str().to_owned(),
                            concatenation: Some(concatenation),
                            payload: part.payload,
                            token: id,
                        },
                        Instant::now(),
                    );
                    self.after_push(pushed.outcome, pushed.evicted).await;
                }
                None => {
                    let text = NewInbound {
                        gateway: name.clone(),
                        sender: part.sender.as_str().to_owned(),
                        smsc_time: part.smsc_time,
                        received_at: Utc::now(),
                        body: inbound::body(&part.payload),
                        concatenation: None,
                        parts_hex: vec![pdu_hex.clone()],
                        incomplete: false,
                        consumed_pending_parts: Vec::new(),
                    };
                    match self.commit_text(&text).await {
                        Committed::New(id) => {
                            acknowledge(ack);
                            self.route_new(id, &part.sender, &text.body, text.smsc_time)
                                .await;
                        }
                        Committed::Again => acknowledge(ack),
                        Committed::Failed => {
                            return Err(unstored(Received::Part(part), pdu_hex, ack));
                        }
                    }
                }
            },
            Received::StatusReport {
                reference,
                outcome,
                recipient,
            } => {
                span.record("mr", tracing::field::display(&reference));
                if let Some(outcome) = outcome {
                    let recorded = self
                        .record_report(&reference, outcome, recipient.as_deref())
                        .await;
                    if let Err(outcome) = recorded {
                        let meaning = Received::StatusReport {
                            reference,
                            outcome: Some(outcome),
                            recipient,
                        };
                        return Err(unstored(meaning, pdu_hex, ack));
                    }
                }
                acknowledge(ack);
            }
            Received::Unusable(reason) => {
                // Kept on the modem it would fill the storage for ever; the PDU is logged so
                // it can be examined.
                tracing::warn!(reason, pdu = %pdu_hex, "received PDU dropped");
                acknowledge(ack);
            }
        }
        Ok(())
    }

    pub(super) async fn after_push(
        &mut self,
        outcome: Outcome<i64>,
        evicted: Option<Incomplete<i64>>,
    ) {
        if let Some(incomplete) = evicted {
            // Another text, pushed out to make room: not in this part's span.
            let span = self.stored_parts_span();
            self.commit_incomplete(incomplete).instrument(span).await;
        }
        match outcome {
            Outcome::Complete(complete) => self.commit_complete(complete).await,
            Outcome::Stored { received, total } => {
                tracing::debug!(received, total, "part stored");
            }
            Outcome::AlreadyHeld | Outcome::Duplicate { .. } => {}
        }
    }

    pub(super) async fn expire(&mut self) {
        for incomplete in self.reassembler.expire(Instant::now()) {
            let span = self.stored_parts_span();
            self.commit_incomplete(incomplete).instrument(span).await;
        }
    }

    async fn commit_complete(&mut self, complete: Complete<i64>) {
        let concatenation = complete
            .key
            .as_ref()
            .map(|k| textgate_store::Concatenation {
                reference: k.reference,
                reference_bits: match k.width {
                    textgate_gsm::udh::ReferenceWidth::Bits8 => 8,
                    textgate_gsm::udh::ReferenceWidth::Bits16 => 16,
                },
                total: k.total,
            });
        self.join(Unjoined {
            tokens: complete.tokens,
            payload: complete.payload,
            concatenation,
            incomplete: false,
        })
        .await;
    }

    async fn commit_incomplete(&mut self, incomplete: Incomplete<i64>) {
        tracing::warn!(missing = ?incomplete.missing, "delivering a text with parts missing");
        let key = &incomplete.key;
        let concatenation = Some(textgate_store::Concatenation {
            reference: key.reference,
            reference_bits: match key.width {
                textgate_gsm::udh::ReferenceWidth::Bits8 => 8,
                textgate_gsm::udh::ReferenceWidth::Bits16 => 16,
            },
            total: key.total,
        });
        self.join(Unjoined {
            tokens: incomplete.tokens,
            payload: incomplete.payload,
            concatenation,
            incomplete: true,
        })
        .await;
    }

    /// Commits a reassembled text; when the store fails it waits in `unjoined` and is
    /// tried again on a timer, behind any other that waits, rather than at the next start.
    async fn join(&mut self, text: Unjoined) {
        if !self.unjoined.is_empty() {
            self.unjoined.hold(text, Instant::now());
            return;
        }
        if !self.commit_parts(&text).await {
            self.unjoined.hold(text, Instant::now());
        }
    }

    /// Tries the reassembled texts the store did not take again, oldest first.
    pub(super) async fn retry_unjoined(&mut self) {
        while let Some(text) = self.unjoined.take_oldest() {
            let span = self.stored_parts_span();
            if !self.commit_parts(&text).instrument(span).await {
                let retry_in = self.unjoined.failed_again(text, Instant::now());
                tracing::warn!(waiting = self.unjoined.len(), retry_in = ?retry_in, "the store still fails; reassembled texts wait");
                return;
            }
        }
    }

    /// Stores a reassembled text and deletes its pending parts in one transaction; false
    /// when the store failed (the parts stay pending, in the store and here).
    async fn commit_parts(&mut self, joined: &Unjoined) -> bool {
        let Unjoined {
            tokens,
            payload,
            concatenation,
            incomplete,
        } = joined;
        let (concatenation, incomplete) = (*concatenation, *incomplete);
        let infos: Vec<&PendingInfo> = tokens.iter().filter_map(|t| self.pending.get(t)).collect();
        let Some(first) = infos.first() else {
            tracing::error!("reassembled text without its parts");
            return true;
        };
        let sender = first.sender.clone();
        let text = NewInbound {
            gateway: self.settings.name.clone(),
            sender: sender.as_str().to_owned(),
            smsc_time: first.smsc_time,
            received_at: Utc::now(),
            body: inbound::body(payload),
            concatenation,
            parts_hex: infos.iter().map(|i| i.pdu_hex.clone()).collect(),
            incomplete,
            consumed_pending_parts: tokens.clone(),
        };
        let slots: Vec<Option<u32>> = tokens
            .iter()
            .map(|t| self.pending.get(t).and_then(|i| i.slot))
            .collect();
        match self.commit_text(&text).await {
            Committed::New(id) => {
                // Links the parts' earlier lines (stored, deleted from the SIM) to the text.
                for (token, slot) in tokens.iter().zip(slots) {
                    tracing::info!(part = token, slot, "part joined the text");
                }
                self.forget_parts(tokens);
                self.route_new(id, &sender, &text.body, text.smsc_time)
                    .await;
                true
            }
            Committed::Again => {
                self.forget_parts(tokens);
                true
            }
            // The parts stay where they are; the caller tries again.
            Committed::Failed => false,
        }
    }

    fn forget_parts(&mut self, tokens: &[i64]) {
        for token in tokens {
            self.pending.remove(token);
        }
    }

    /// Commits a received text. Logged with the text's new id, which is also added to the
    /// current [`received_span`] so the lines after it (the deletion from the SIM
    /// included) carry it.
    async fn commit_text(&mut self, text: &NewInbound) -> Committed {
        let name = self.settings.name.clone();
        match self.store.insert_inbound(text).await {
            Ok(insertion) if insertion.is_new() => {
                let id = InboundTextId(insertion.id());
                tracing::Span::current().record("inbound", id.0);
                tracing::info!("text received");
                self.hooks.metrics.text_in(&name);
                Committed::New(id)
            }
            Ok(insertion) => {
                tracing::Span::current().record("inbound", insertion.id());
                tracing::info!("text read again after a restart; already stored");
                Committed::Again
            }
            Err(e) => {
                tracing::error!(error = %e, "could not store a received text; left on the modem");
                Committed::Failed
            }
        }
    }
}

/// What became of a received text at the store.
enum Committed {
    /// Stored now, under this id.
    New(InboundTextId),
    /// Stored before (read again after a restart): acknowledged, not routed again.
    Again,
    /// The store failed: not acknowledged, tried again later.
    Failed,
}

/// The span of one message from the modem: its storage `slot` (none for a routed `+CMT`
/// or a message centre's receipt), and, recorded as they become known, the pending
/// `part` it was stored as, the `inbound` text it belongs to, or for a status report the
/// reference `mr` and the `outbound` text it is about.
fn received_span(slot: Option<u32>) -> tracing::Span {
    tracing::info_span!(
        "received",
        slot,
        part = Empty,
        inbound = Empty,
        mr = Empty,
        outbound = Empty
    )
}

/// What a message centre's receipt says of its part, as the store records it.
fn part_outcome(outcome: ReceiptOutcome) -> PartOutcome {
    match outcome {
        ReceiptOutcome::Delivered => PartOutcome::Delivered,
        ReceiptOutcome::Failed { reason } => PartOutcome::Failed { reason },
    }
}

fn acknowledge(ack: AckHandle) {
    if ack.acknowledge().is_err() {
        tracing::warn!(
            "the driver stopped before the acknowledgement; it hands the message over again"
        );
    }
}
