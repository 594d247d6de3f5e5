//! Joining the parts of concatenated SMS (TS 23.040 §9.2.3.24.1 and .8) into messages.
//!
//! The [`Reassembler`] is a pure state machine: the caller feeds it decoded parts with
//! [`Reassembler::push`], asks it to release overdue messages with [`Reassembler::expire`],
//! and sleeps until [`Reassembler::next_deadline`]. It never reads the clock; every call
//! that needs the time takes it as an argument.
//!
//! Parts belong together when they share the sender, the reference number, the reference
//! width (8 or 16 bit) and the announced total. The SMSC is deliberately *not* part of the
//! key: networks route the parts of one message through different service centres, and a
//! key that included it would leave such messages incomplete forever.
//!
//! Every part carries an opaque token chosen by the caller (a store row id, a modem storage
//! index ...). Released messages list the tokens of all their parts so the caller can delete
//! or acknowledge them once the result is durably stored. Parts are never dropped silently:
//! a message whose parts stop arriving is released after the timeout with a visible marker
//! where each missing part belongs, and when the cap on pending messages is reached the
//! oldest pending message is released the same way.
//!
//! After a restart the caller restores its pending state by pushing the parts it persisted
//! again. Pushing a part whose key, sequence number and token are already held is a no-op
//! ([`Outcome::AlreadyHeld`]), so restoring twice, or restoring parts that were already
//! pushed, changes nothing.

use std::collections::HashMap;
use std::ops::Add;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::udh::{Concatenation, ReferenceWidth};

/// The marker put where a missing part belongs; `{sequence}` and `{total}` are replaced by
/// the part's number and the number of parts.
pub const DEFAULT_MISSING_MARKER: &str = "[part {sequence} of {total} missing]";

/// How long to wait for missing parts, how many messages may wait at once, and how a
/// missing part is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// How long after its most recent new part an incomplete message is released.
    pub timeout: Duration,
    /// How many incomplete messages may be pending at once. When a part of a new message
    /// arrives with the cap reached, the message that has been pending longest is released
    /// as incomplete. A cap of 0 is treated as 1.
    pub max_pending: usize,
    /// Template for the text put where a missing part belongs (see
    /// [`DEFAULT_MISSING_MARKER`]).
    pub missing_marker: String,
}

impl Default for ReassemblyConfig {
    /// Ten minutes (gammu-smsd's MultipartTimeout), 256 pending messages, the default marker.
    fn default() -> Self {
        ReassemblyConfig {
            timeout: Duration::from_secs(600),
            max_pending: 256,
            missing_marker: DEFAULT_MISSING_MARKER.to_owned(),
        }
    }
}

/// The user data of one part, as decoded by the PDU layer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Payload {
    /// GSM 7-bit or UCS-2 text (parts of one message may use different encodings).
    Text(String),
    /// 8-bit data.
    Data(Vec<u8>),
}

/// One received part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part<K> {
    /// The originating address as the caller identifies senders (normalised or raw, but
    /// the same way for every part).
    pub sender: String,
    /// The concatenation element of the part's user data header, if it had one.
    pub concatenation: Option<Concatenation>,
    pub payload: Payload,
    /// The caller's handle on this part (returned in the released message).
    pub token: K,
}

/// What identifies the parts of one concatenated message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageKey {
    pub sender: String,
    pub reference: u16,
    pub width: ReferenceWidth,
    pub total: u8,
}

/// Why a concatenation element was ignored and the part treated as a whole message.
///
/// TS 23.040 §9.2.3.24.1 tells a receiver to ignore the whole element when the sequence
/// number is zero or exceeds the total; a total of zero cannot be satisfied either. Treating
/// the part as a single message delivers its text instead of holding it forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum InvalidConcatenation {
    #[error("concatenation element announces 0 parts")]
    ZeroTotal,
    #[error("concatenation element has part number 0 (of {total})")]
    ZeroSequence { total: u8 },
    #[error("concatenation element has part number {sequence} of only {total}")]
    SequenceBeyondTotal { sequence: u8, total: u8 },
}

/// A message whose parts all arrived (or a part that stands alone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Complete<K> {
    /// `None` when the part stood alone: no concatenation element, a one-part
    /// concatenation, or an element that had to be ignored.
    pub key: Option<MessageKey>,
    /// The joined payload, parts in sequence order.
    pub payload: Payload,
    /// The caller's tokens for every part, in sequence order.
    pub tokens: Vec<K>,
    /// Set when the part's concatenation element was invalid and ignored.
    pub ignored_concatenation: Option<InvalidConcatenation>,
}

/// Why an incomplete message was released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// The timeout passed since its most recent new part.
    TimedOut,
    /// It was the oldest pending message when the pending cap was reached.
    Evicted,
}

/// A message released before all its parts arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incomplete<K> {
    pub key: MessageKey,
    /// The parts received so far joined in sequence order. For text, a marker stands where
    /// each missing part belongs; data is simply the parts present, joined.
    pub payload: Payload,
    /// Sequence numbers (1-based) of the parts that never arrived.
    pub missing: Vec<u8>,
    /// The caller's tokens for the parts received, in sequence order.
    pub tokens: Vec<K>,
    pub reason: Release,
}

/// The result of pushing one part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<K> {
    /// The part was kept; the message still lacks parts.
    Stored { received: u8, total: u8 },
    /// The message already holds this exact part (same sequence number and token): nothing
    /// changed. This is what restoring after a restart yields for parts already held.
    AlreadyHeld,
    /// The message already holds a part with this sequence number under another token (the
    /// network delivered it twice). The first copy is kept; the duplicate's token is
    /// returned so the caller can discard that copy.
    Duplicate { token: K },
    /// The part completed a message, or stood alone.
    Complete(Complete<K>),
}

/// What [`Reassembler::push`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed<K> {
    pub outcome: Outcome<K>,
    /// A message released early because the pending cap was reached.
    pub evicted: Option<Incomplete<K>>,
}

/// Anything usable as a point in time: [`Instant`], or a caller's own monotonic value.
pub trait Timestamp: Copy + Ord + Add<Duration, Output = Self> {}
impl<T: Copy + Ord + Add<Duration, Output = T>> Timestamp for T {}

struct Pending<K, T> {
    /// Indexed by sequence number − 1.
    parts: Vec<Option<(Payload, K)>>,
    received: u8,
    deadline: T,
    /// Order of first arrival, so eviction and release order are deterministic.
    arrival: u64,
}

/// Joins concatenated parts into messages. See the module documentation.
pub struct Reassembler<K, T = Instant> {
    config: ReassemblyConfig,
    pending: HashMap<MessageKey, Pending<K, T>>,
    arrivals: u64,
}

impl<K: PartialEq, T: Timestamp> Reassembler<K, T> {
    pub fn new(config: ReassemblyConfig) -> Self {
        Reassembler {
            config,
            pending: HashMap::new(),
            arrivals: 0,
        }
    }

    /// Number of incomplete messages held.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Adds a part received at `now`.
    pub fn push(&mut self, part: Part<K>, now: T) -> Pushed<K> {
        let Part {
            sender,
            concatenation,
            payload,
            token,
        } = part;
        let Some(concat) = concatenation else {
            return single(payload, token, None);
        };
        if let Err(invalid) = validate(concat) {
            return single(payload, token, Some(invalid));
        }
        if concat.total == 1 {
            return single(payload, token, None);
        }
        let key = MessageKey {
            sender,
            reference: concat.reference,
            width: concat.width,
            total: concat.total,
        };
        let index = usize::from(concat.sequence - 1);
        let deadline = now + self.config.timeout;

        let mut evicted = None;
        if !self.pending.contains_key(&key) && self.pending.len() >= self.config.max_pending.max(1)
        {
            evicted = self.evict_oldest();
        }
        let arrivals = &mut self.arrivals;
        let entry = self.pending.entry(key.clone()).or_insert_with(|| {
            *arrivals += 1;
            Pending {
                parts: (0..concat.total).map(|_| None).collect(),
                received: 0,
                deadline,
                arrival: *arrivals,
            }
        });
        let Some(slot) = entry.parts.get_mut(index) else {
            // Unreachable: validate() checked 1 <= sequence <= total and the vector has
            // `total` slots. Keep the part rather than lose it.
            return Pushed {
                outcome: Outcome::Duplicate { token },
                evicted,
            };
        };
        if let Some((_, held)) = slot {
            let outcome = if *held == token {
                Outcome::AlreadyHeld
            } else {
                Outcome::Duplicate { token }
            };
            return Pushed { outcome, evicted };
        }
        *slot = Some((payload, token));
        entry.received += 1;
        // A restored part may carry an earlier time than parts already held; the deadline
        // follows the most recent new part.
        entry.deadline = entry.deadline.max(deadline);
        if entry.received < concat.total {
            let outcome = Outcome::Stored {
                received: entry.received,
                total: concat.total,
            };
            return Pushed { outcome, evicted };
        }
        let outcome = match self.pending.remove(&key) {
            Some(done) => {
                let (payload, tokens, _) = join(done.parts, &key, &self.config.missing_marker);
                Outcome::Complete(Complete {
                    key: Some(key),
                    payload,
                    tokens,
                    ignored_concatenation: None,
                })
            }
            None => Outcome::Stored {
                received: concat.total,
                total: concat.total,
            },
        };
        Pushed { outcome, evicted }
    }

    /// Releases every message whose deadline is at or before `now`, oldest first.
    pub fn expire(&mut self, now: T) -> Vec<Incomplete<K>> {
        let mut due: Vec<(T, u64, MessageKey)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(k, p)| (p.deadline, p.arrival, k.clone()))
            .collect();
        due.sort();
        due.into_iter()
            .filter_map(|(_, _, key)| self.release(key, Release::TimedOut))
            .collect()
    }

    /// The earliest deadline among pending messages: call [`Reassembler::expire`] then.
    pub fn next_deadline(&self) -> Option<T> {
        self.pending.values().map(|p| p.deadline).min()
    }

    fn evict_oldest(&mut self) -> Option<Incomplete<K>> {
        let key = self
            .pending
            .iter()
            .min_by_key(|(_, p)| p.arrival)
            .map(|(k, _)| k.clone())?;
        self.release(key, Release::Evicted)
    }

    fn release(&mut self, key: MessageKey, reason: Release) -> Option<Incomplete<K>> {
        let pending = self.pending.remove(&key)?;
        let (payload, tokens, missing) = join(pending.parts, &key, &self.config.missing_marker);
        Some(Incomplete {
            key,
            payload,
            missing,
            tokens,
            reason,
        })
    }
}

/// A part that is a whole message by itself.
fn single<K>(payload: Payload, token: K, ignored: Option<InvalidConcatenation>) -> Pushed<K> {
    Pushed {
        outcome: Outcome::Complete(Complete {
            key: None,
            payload,
            tokens: vec![token],
            ignored_concatenation: ignored,
        }),
        evicted: None,
    }
}

fn validate(concat: Concatenation) -> Result<(), InvalidConcatenation> {
    let Concatenation {
        total, sequence, ..
    } = concat;
    if total == 0 {
        Err(InvalidConcatenation::ZeroTotal)
    } else if sequence == 0 {
        Err(InvalidConcatenation::ZeroSequence { total })
    } else if sequence > total {
        Err(InvalidConcatenation::SequenceBeyondTotal { sequence, total })
    } else {
        Ok(())
    }
}

/// Joins parts in order. Text wins when parts mix text and data (data parts are shown as
/// lossy UTF-8), because a reader needs text; a message of data parts only stays data.
fn join<K>(
    parts: Vec<Option<(Payload, K)>>,
    key: &MessageKey,
    marker: &str,
) -> (Payload, Vec<K>, Vec<u8>) {
    let all_data = parts
        .iter()
        .flatten()
        .all(|(p, _)| matches!(p, Payload::Data(_)));
    let mut text = String::new();
    let mut data = Vec::new();
    let mut tokens = Vec::new();
    let mut missing = Vec::new();
    for (sequence, part) in (1..=key.total).zip(parts) {
        match part {
            Some((payload, token)) => {
                tokens.push(token);
                match payload {
                    Payload::Text(t) => text.push_str(&t),
                    Payload::Data(d) if all_data => data.extend(d),
                    Payload::Data(d) => text.push_str(&String::from_utf8_lossy(&d)),
                }
            }
            None => {
                missing.push(sequence);
                if !all_data {
                    text.push_str(
                        &marker
                            .replace("{sequence}", &sequence.to_string())
                            .replace("{total}", &key.total.to_string()),
                    );
                }
            }
        }
    }
    let payload = if all_data {
        Payload::Data(data)
    } else {
        Payload::Text(text)
    };
    (payload, tokens, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn reassembler(max_pending: usize) -> Reassembler<u32> {
        Reassembler::new(ReassemblyConfig {
            timeout: 10 * MINUTE,
            max_pending,
            ..ReassemblyConfig::default()
        })
    }

    fn concat(reference: u16, width: ReferenceWidth, total: u8, sequence: u8) -> Concatenation {
        Concatenation {
            reference,
            width,
            total,
            sequence,
        }
    }

    /// Part `sequence` of a `total`-part message from `sender` with 8-bit reference 7, whose
    /// token is the sequence number.
    fn part(sender: &str, total: u8, sequence: u8, text: &str) -> Part<u32> {
        Part {
            sender: sender.to_owned(),
            concatenation: Some(concat(7, ReferenceWidth::Bits8, total, sequence)),
            payload: Payload::Text(text.to_owned()),
            token: u32::from(sequence),
        }
    }

    fn complete(outcome: Outcome<u32>) -> Complete<u32> {
        match outcome {
            Outcome::Complete(c) => c,
            other => panic!("expected a complete message, got {other:?}"),
        }
    }

    const WORDS: [&str; 4] = ["alpha ", "beta ", "gamma ", "delta"];

    /// Pushes the four parts of WORDS in `order` (sequence numbers) and returns the outcomes.
    fn push_in_order(order: &[u8]) -> Vec<Outcome<u32>> {
        let mut r = reassembler(8);
        let t0 = Instant::now();
        order
            .iter()
            .map(|&seq| {
                let text = WORDS[usize::from(seq - 1)];
                let pushed = r.push(part("+15551234567", 4, seq, text), t0);
                assert_eq!(pushed.evicted, None);
                pushed.outcome
            })
            .collect()
    }

    #[test]
    fn in_order() {
        let mut outcomes = push_in_order(&[1, 2, 3, 4]);
        assert_eq!(
            outcomes[..3],
            [
                Outcome::Stored {
                    received: 1,
                    total: 4
                },
                Outcome::Stored {
                    received: 2,
                    total: 4
                },
                Outcome::Stored {
                    received: 3,
                    total: 4
                },
            ]
        );
        let done = complete(outcomes.remove(3));
        assert_eq!(done.payload, Payload::Text("alpha beta gamma delta".into()));
        assert_eq!(done.tokens, [1, 2, 3, 4]);
        assert_eq!(
            done.key,
            Some(MessageKey {
                sender: "+15551234567".into(),
                reference: 7,
                width: ReferenceWidth::Bits8,
                total: 4
            })
        );
    }

    #[test]
    fn reverse_order() {
        let done = complete(push_in_order(&[4, 3, 2, 1]).remove(3));
        assert_eq!(done.payload, Payload::Text("alpha beta gamma delta".into()));
        assert_eq!(done.tokens, [1, 2, 3, 4]);
    }

    /// Every one of the 24 orders of four parts gives the same message, and only the last
    /// push completes it.
    #[test]
    fn every_order() {
        let mut orders = vec![vec![]];
        for _ in 0..4 {
            orders = orders
                .into_iter()
                .flat_map(|o: Vec<u8>| {
                    (1..=4u8)
                        .filter(|s| !o.contains(s))
                        .map(|s| {
                            let mut next = o.clone();
                            next.push(s);
                            next
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
        }
        assert_eq!(orders.len(), 24);
        for order in orders {
            let mut outcomes = push_in_order(&order);
            let done = complete(outcomes.remove(3));
            assert_eq!(done.payload, Payload::Text("alpha beta gamma delta".into()));
            assert_eq!(done.tokens, [1, 2, 3, 4], "order {order:?}");
            assert!(outcomes.iter().all(|o| matches!(o, Outcome::Stored { .. })));
        }
    }

    #[test]
    fn duplicates_are_reported_and_the_first_copy_kept() {
        let mut r = reassembler(8);
        let t0 = Instant::now();
        r.push(part("+1555", 2, 1, "first "), t0);
        let mut again = part("+1555", 2, 1, "other copy ");
        again.token = 99;
        assert_eq!(r.push(again, t0).outcome, Outcome::Duplicate { token: 99 });
        let done = complete(r.push(part("+1555", 2, 2, "second"), t0).outcome);
        assert_eq!(done.payload, Payload::Text("first second".into()));
        assert_eq!(done.tokens, [1, 2]);
    }

    /// Restoring after a restart pushes persisted parts again; parts already held (same
    /// token) change nothing, however often they are pushed.
    #[test]
    fn restoring_is_idempotent() {
        let mut r = reassembler(8);
        let t0 = Instant::now();
        r.push(part("+1555", 3, 2, "b"), t0);
        for _ in 0..2 {
            assert_eq!(
                r.push(part("+1555", 3, 2, "b"), t0 + MINUTE).outcome,
                Outcome::AlreadyHeld
            );
        }
        assert_eq!(
            r.push(part("+1555", 3, 1, "a"), t0 + MINUTE).outcome,
            Outcome::Stored {
                received: 2,
                total: 3
            }
        );
        let done = complete(r.push(part("+1555", 3, 3, "c"), t0 + MINUTE).outcome);
        assert_eq!(done.payload, Payload::Text("abc".into()));
        assert_eq!(r.pending_len(), 0);
    }

    /// The SMSC is not part of the key: parts relayed by different service centres (here
    /// recorded in the caller's token) still form one message.
    #[test]
    fn different_smsc_per_part_is_one_message() {
        let mut r: Reassembler<(&str, u32)> = Reassembler::new(ReassemblyConfig::default());
        let t0 = Instant::now();
        let part = |seq: u8, smsc: &'static str, text: &str| Part {
            sender: "+447700900123".to_owned(),
            concatenation: Some(concat(200, ReferenceWidth::Bits8, 2, seq)),
            payload: Payload::Text(text.to_owned()),
            token: (smsc, u32::from(seq)),
        };
        r.push(part(1, "+447785016005", "one "), t0);
        let Outcome::Complete(done) = r.push(part(2, "+447958879879", "two"), t0).outcome else {
            panic!("parts from two SMSCs were not joined");
        };
        assert_eq!(done.payload, Payload::Text("one two".into()));
        assert_eq!(done.tokens, [("+447785016005", 1), ("+447958879879", 2)]);
    }

    #[test]
    fn two_senders_with_the_same_reference_are_two_messages() {
        let mut r = reassembler(8);
        let t0 = Instant::now();
        r.push(part("+1555000001", 2, 1, "A1 "), t0);
        r.push(part("+1555000002", 2, 1, "B1 "), t0);
        assert_eq!(r.pending_len(), 2);
        let a = complete(r.push(part("+1555000001", 2, 2, "A2"), t0).outcome);
        let b = complete(r.push(part("+1555000002", 2, 2, "B2"), t0).outcome);
        assert_eq!(a.payload, Payload::Text("A1 A2".into()));
        assert_eq!(b.payload, Payload::Text("B1 B2".into()));
    }

    #[test]
    fn eight_and_sixteen_bit_references_with_the_same_number_are_two_messages() {
        let mut r = reassembler(8);
        let t0 = Instant::now();
        let part = |width, seq: u8, text: &str| Part {
            sender: "+1555".to_owned(),
            concatenation: Some(concat(42, width, 2, seq)),
            payload: Payload::Text(text.to_owned()),
            token: u32::from(seq),
        };
        r.push(part(ReferenceWidth::Bits8, 1, "eight "), t0);
        r.push(part(ReferenceWidth::Bits16, 1, "sixteen "), t0);
        assert_eq!(r.pending_len(), 2);
        let sixteen = complete(r.push(part(ReferenceWidth::Bits16, 2, "done"), t0).outcome);
        assert_eq!(sixteen.payload, Payload::Text("sixteen done".into()));
        assert_eq!(r.pending_len(), 1);
    }

    #[test]
    fn different_totals_are_different_messages() {
        let mut r = reassembler(8);
        let t0 = Instant::now();
        r.push(part("+1555", 2, 1, "x"), t0);
        r.push(part("+1555", 3, 1, "y"), t0);
        assert_eq!(r.pending_len(), 2);
    }

    #[test]
    fn timeout_releases_parts_with_a_marker_where_each_missing_part_belongs() {
        let mut r = reassembler(8);
        let t0 = Instant::now();
        assert_eq!(r.next_deadline(), None);
        r.push(part("+1555", 4, 1, "Opening hours: "), t0);
        r.push(part("+1555", 4, 3, " to 6pm"), t0 + MINUTE);
        // The deadline follows the most recent new part.
        assert_eq!(r.next_deadline(), Some(t0 + 11 * MINUTE));
        assert_eq!(r.expire(t0 + 11 * MINUTE - Duration::from_nanos(1)), []);
        let released = r.expire(t0 + 11 * MINUTE);
        assert_eq!(
            released,
            [Incomplete {
                key: MessageKey {
                    sender: "+1555".into(),
                    reference: 7,
                    width: ReferenceWidth::Bits8,
                    total: 4
                },
                payload: Payload::Text(
                    "Opening hours: [part 2 of 4 missing] to 6pm[part 4 of 4 missing]".into()
                ),
                missing: vec![2, 4],
                tokens: vec![1, 3],
                reason: Release::TimedOut,
            }]
        );
        assert_eq!(r.next_deadline(), None);
        assert_eq!(r.pending_len(), 0);
    }

    #[test]
    fn the_marker_is_configurable() {
        let mut r: Reassembler<u32> = Reassembler::new(ReassemblyConfig {
            missing_marker: "<{sequence}/{total} lost>".into(),
            ..ReassemblyConfig::default()
        });
        let t0 = Instant::now();
        r.push(part("+1555", 2, 2, "end"), t0);
        let released = r.expire(t0 + Duration::from_secs(3600));
        assert_eq!(released[0].payload, Payload::Text("<1/2 lost>end".into()));
    }

    #[test]
    fn expire_releases_oldest_first_and_keeps_the_rest() {
        let mut r = reassembler(8);
        let t0 = Instant::now();
        r.push(part("+1555000002", 2, 1, "later"), t0 + 2 * MINUTE);
        r.push(part("+1555000001", 2, 1, "earlier"), t0);
        r.push(part("+1555000003", 2, 1, "not yet"), t0 + 20 * MINUTE);
        let released = r.expire(t0 + 12 * MINUTE);
        let senders: Vec<_> = released.iter().map(|i| i.key.sender.as_str()).collect();
        assert_eq!(senders, ["+1555000001", "+1555000002"]);
        assert_eq!(r.next_deadline(), Some(t0 + 30 * MINUTE));
    }

    #[test]
    fn the_cap_releases_the_oldest_pending_message() {
        let mut r = reassembler(2);
        let t0 = Instant::now();
        r.push(part("+1555000001", 2, 1, "first"), t0);
        r.push(part("+1555000002", 2, 1, "second"), t0);
        // A further part of a held message does not evict anything.
        assert_eq!(
            r.push(part("+1555000002", 2, 1, "second"), t0).evicted,
            None
        );
        let pushed = r.push(part("+1555000003", 2, 2, "third"), t0 + MINUTE);
        assert_eq!(
            pushed.outcome,
            Outcome::Stored {
                received: 1,
                total: 2
            }
        );
        let evicted = pushed.evicted.expect("the oldest message is released");
        assert_eq!(evicted.key.sender, "+1555000001");
        assert_eq!(evicted.reason, Release::Evicted);
        assert_eq!(
            evicted.payload,
            Payload::Text("first[part 2 of 2 missing]".into())
        );
        assert_eq!(r.pending_len(), 2);
    }

    #[test]
    fn parts_without_valid_concatenation_stand_alone() {
        let mut r = reassembler(8);
        let t0 = Instant::now();
        let cases = [
            (None, None),
            (Some(concat(1, ReferenceWidth::Bits8, 1, 1)), None),
            (
                Some(concat(1, ReferenceWidth::Bits8, 0, 1)),
                Some(InvalidConcatenation::ZeroTotal),
            ),
            (
                Some(concat(1, ReferenceWidth::Bits8, 3, 0)),
                Some(InvalidConcatenation::ZeroSequence { total: 3 }),
            ),
            (
                Some(concat(1, ReferenceWidth::Bits16, 3, 4)),
                Some(InvalidConcatenation::SequenceBeyondTotal {
                    sequence: 4,
                    total: 3,
                }),
            ),
        ];
        for (concatenation, ignored) in cases {
            let pushed = r.push(
                Part {
                    sender: "+1555".into(),
                    concatenation,
                    payload: Payload::Text("whole".into()),
                    token: 5,
                },
                t0,
            );
            assert_eq!(
                pushed.outcome,
                Outcome::Complete(Complete {
                    key: None,
                    payload: Payload::Text("whole".into()),
                    tokens: vec![5],
                    ignored_concatenation: ignored,
                })
            );
        }
        assert_eq!(r.pending_len(), 0);
        assert_eq!(
            InvalidConcatenation::SequenceBeyondTotal {
                sequence: 4,
                total: 3
            }
            .to_string(),
            "concatenation element has part number 4 of only 3"
        );
    }

    #[test]
    fn data_parts_join_as_data() {
        let mut r = reassembler(8);
        let t0 = Instant::now();
        let part = |seq: u8, data: &[u8]| Part {
            sender: "+1555".to_owned(),
            concatenation: Some(concat(9, ReferenceWidth::Bits16, 3, seq)),
            payload: Payload::Data(data.to_vec()),
            token: u32::from(seq),
        };
        r.push(part(3, &[5]), t0);
        r.push(part(1, &[1, 2]), t0);
        let done = complete(r.push(part(2, &[3, 4]), t0).outcome);
        assert_eq!(done.payload, Payload::Data(vec![1, 2, 3, 4, 5]));

        r.push(part(2, &[3, 4]), t0);
        let released = r.expire(t0 + 10 * MINUTE);
        assert_eq!(released[0].payload, Payload::Data(vec![3, 4]));
        assert_eq!(released[0].missing, [1, 3]);
    }
}
