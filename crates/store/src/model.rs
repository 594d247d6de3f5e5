//! The records the store hands out and takes in. Plain data: JIDs, patron addresses and
//! PDUs are strings; the crates that speak XMPP or AT give them meaning.

use chrono::{DateTime, FixedOffset, Utc};
use sha2::{Digest, Sha256};

/// Whether a gateway keeps message bodies after delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TranscriptPolicy {
    /// Bodies (and the PDUs they came from) are erased once delivered; the record stays.
    #[default]
    EraseOnDelivery,
    /// Bodies stay until a privacy operation deletes them.
    Keep,
}

/// The outcome of an insert that is keyed for idempotency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// The row is new.
    New(i64),
    /// The same thing was stored before (read twice after a crash, or a re-sent stanza);
    /// nothing changed. Carries the id of the row stored the first time.
    Duplicate(i64),
}

impl Insertion {
    pub fn id(self) -> i64 {
        match self {
            Insertion::New(id) | Insertion::Duplicate(id) => id,
        }
    }

    pub fn is_new(self) -> bool {
        matches!(self, Insertion::New(_))
    }
}

/// What became of a part of a concatenated text offered to [`Store::store_pending_part`].
///
/// [`Store::store_pending_part`]: crate::Store::store_pending_part
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingInsertion {
    /// Stored as a new pending part, under this id.
    New(i64),
    /// The same part is pending already (read twice before its text was complete).
    Duplicate(i64),
    /// The part belongs to a text committed before, under this inbound id: it was read
    /// again from the SIM after the commit and is redundant; it must not start a new
    /// pending text.
    Committed(i64),
}

/// One text of a conversation as a librarian saw it, for the history a desk gets with a
/// conversation handed to it ([`Store::recent_texts`](crate::Store::recent_texts)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangedText {
    pub at: DateTime<Utc>,
    /// From the patron (true) or a librarian's reply (false).
    pub inbound: bool,
    /// The librarian it was delivered to, or who wrote the reply.
    pub operator: Option<String>,
    /// `None` once erased: a gateway without transcripts keeps no bodies.
    pub body: Option<String>,
}

/// A conversation between a gateway and one patron.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: i64,
    pub gateway: String,
    /// E.164 number, short code or alphanumeric sender, as the modem side normalised it.
    pub patron: String,
    /// The operator JID that claimed the conversation, if any.
    pub claimed_by: Option<String>,
    pub first_activity: DateTime<Utc>,
    pub last_activity: DateTime<Utc>,
    pub texts_in: i64,
    pub texts_out: i64,
    /// The privacy handle librarians know the patron by, on a gateway that hides numbers.
    pub handle: Option<String>,
}

impl Conversation {
    /// Who the patron is to the librarians: the privacy handle where there is one, else
    /// the number. Transcripts and exports name patrons this way.
    pub fn patron_as_shown(&self) -> &str {
        self.handle.as_deref().unwrap_or(&self.patron)
    }
}

/// How a concatenated SMS identifies its parts (TS 23.040 9.2.3.24.1 / .8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concatenation {
    pub reference: u16,
    /// 8 or 16: the same number with a different width is a different message.
    pub reference_bits: u8,
    pub total: u8,
}

/// A text received from a patron, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInbound {
    pub gateway: String,
    /// The patron's address: the conversation is found or created from it.
    pub sender: String,
    /// The service centre time stamp with the offset the network sent.
    pub smsc_time: DateTime<FixedOffset>,
    pub received_at: DateTime<Utc>,
    pub body: String,
    /// `None` for a single-part text.
    pub concatenation: Option<Concatenation>,
    /// The PDUs as hex, in part order.
    pub parts_hex: Vec<String>,
    /// Delivered after the reassembly timeout with parts missing.
    pub incomplete: bool,
    /// Pending parts this text was assembled from; they are deleted in the same
    /// transaction that stores the text.
    pub consumed_pending_parts: Vec<i64>,
}

impl NewInbound {
    /// The idempotency key: the same SMS read twice from the modem yields the same key.
    /// It covers what the network put in the message (sender, SMSC time stamp,
    /// concatenation reference and the text), never where or when we read it.
    pub fn idempotency_key(&self) -> String {
        let mut hash = Sha256::new();
        for field in [
            self.sender.as_str(),
            &self.smsc_time.to_rfc3339(),
            &match self.concatenation {
                Some(c) => format!("{}/{}/{}", c.reference_bits, c.reference, c.total),
                None => "single".to_string(),
            },
            self.body.as_str(),
        ] {
            hash.update((field.len() as u64).to_be_bytes());
            hash.update(field.as_bytes());
        }
        hex::encode(hash.finalize())
    }
}

/// Where an inbound text is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundState {
    /// Committed; not yet shown to any operator.
    Stored,
    /// Sent to the available operators; nobody has confirmed it yet.
    Offered,
    /// An operator's client received it.
    Delivered,
}

impl InboundState {
    pub fn as_str(self) -> &'static str {
        match self {
            InboundState::Stored => "stored",
            InboundState::Offered => "offered",
            InboundState::Delivered => "delivered",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<InboundState> {
        match s {
            "stored" => Some(InboundState::Stored),
            "offered" => Some(InboundState::Offered),
            "delivered" => Some(InboundState::Delivered),
            _ => None,
        }
    }
}

/// A stored inbound text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundText {
    pub id: i64,
    pub gateway: String,
    pub conversation_id: i64,
    pub sender: String,
    pub smsc_time: DateTime<FixedOffset>,
    pub received_at: DateTime<Utc>,
    pub state: InboundState,
    pub offered_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub delivered_to: Option<String>,
    /// `None` once erased.
    pub body: Option<String>,
    pub body_chars: i32,
    pub part_count: i32,
    pub incomplete: bool,
}

/// A part of a concatenated text kept until its siblings arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPart {
    pub gateway: String,
    pub sender: String,
    pub concatenation: Concatenation,
    /// 1-based part number.
    pub seq: u8,
    pub pdu_hex: String,
    pub received_at: DateTime<Utc>,
}

/// A pending part as stored, with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPendingPart {
    pub id: i64,
    pub part: PendingPart,
}

/// How urgent an outbound text is: higher goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(pub i16);

impl Priority {
    /// A librarian's reply to a patron.
    pub const CHAT: Priority = Priority(0);
    /// An emergency alert campaign: goes ahead of chat replies.
    pub const ALERT: Priority = Priority(100);
    /// A text another system sent through the send API (a hold or overdue notice): after
    /// the librarians' replies, which someone is waiting for.
    pub const NOTICE: Priority = Priority(-10);
}

/// Why an outbound text exists; it decides the idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundOrigin {
    /// An operator's XMPP message: a re-sent stanza (same sender and id) is enqueued once.
    Chat {
        sender_jid: String,
        xmpp_id: String,
        receipt: DeliveryReceipt,
    },
    /// One recipient of an alert campaign: enqueued once per campaign and recipient.
    Campaign { campaign_id: i64 },
    /// A text another system sent through the send API: enqueued once per `client` (who
    /// sent it, e.g. `account:7`) and the `key` it named. No operator is told its fate;
    /// the caller reads its status.
    Api { client: String, key: String },
}

/// Whether the operator asked to be told (XEP-0184) when their reply reached the phone.
/// Stored with the text, so whichever daemon matches the last status report, and whenever,
/// sends the receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryReceipt {
    Requested,
    NotRequested,
}

impl DeliveryReceipt {
    pub(crate) fn from_column(requested: bool) -> DeliveryReceipt {
        if requested {
            DeliveryReceipt::Requested
        } else {
            DeliveryReceipt::NotRequested
        }
    }

    pub(crate) fn is_requested(self) -> bool {
        self == DeliveryReceipt::Requested
    }
}

/// A text to send, ready to be enqueued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbound {
    pub gateway: String,
    pub recipient: String,
    pub origin: OutboundOrigin,
    pub body: String,
    pub priority: Priority,
    /// Send no earlier than this (normally now).
    pub not_before: Option<DateTime<Utc>>,
}

impl NewOutbound {
    pub fn idempotency_key(&self) -> String {
        let mut hash = Sha256::new();
        let fields: [&str; 3] = match &self.origin {
            OutboundOrigin::Chat {
                sender_jid,
                xmpp_id,
                ..
            } => ["chat", sender_jid, xmpp_id],
            OutboundOrigin::Campaign { .. } => ["campaign", "", &self.recipient],
            OutboundOrigin::Api { client, key } => ["api", client, key],
        };
        for field in fields {
            hash.update((field.len() as u64).to_be_bytes());
            hash.update(field.as_bytes());
        }
        if let OutboundOrigin::Campaign { campaign_id } = self.origin {
            hash.update(campaign_id.to_be_bytes());
        }
        hex::encode(hash.finalize())
    }
}

/// Where an outbound text is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundState {
    Queued,
    /// Leased by a worker that is handing it to a modem.
    Sending,
    /// The network accepted every part.
    Sent,
    /// Status reports say every part reached the phone.
    Delivered,
    /// Given up; `last_error` says why.
    Failed,
}

impl OutboundState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundState::Queued => "queued",
            OutboundState::Sending => "sending",
            OutboundState::Sent => "sent",
            OutboundState::Delivered => "delivered",
            OutboundState::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<OutboundState> {
        match s {
            "queued" => Some(OutboundState::Queued),
            "sending" => Some(OutboundState::Sending),
            "sent" => Some(OutboundState::Sent),
            "delivered" => Some(OutboundState::Delivered),
            "failed" => Some(OutboundState::Failed),
            _ => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, OutboundState::Delivered | OutboundState::Failed)
    }
}

/// A stored outbound text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundText {
    pub id: i64,
    pub gateway: String,
    pub conversation_id: Option<i64>,
    pub campaign_id: Option<i64>,
    pub recipient: String,
    pub sender_jid: Option<String>,
    pub xmpp_id: Option<String>,
    /// Whether the operator asked for a receipt; always `NotRequested` for alerts.
    pub receipt: DeliveryReceipt,
    pub priority: Priority,
    pub state: OutboundState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// `None` once erased.
    pub body: Option<String>,
    pub body_chars: i32,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Set when an earlier attempt ended with a part's outcome unknown (the worker died
    /// or the link ended between handing the part over and its answer): the start of that
    /// attempt. A status report received since then about this recipient that matches no
    /// recorded part is that part's; the worker records it instead of sending it again.
    pub unsure_since: Option<DateTime<Utc>>,
}

/// Proof that a worker holds an outbound text. Completing with a lease that was taken
/// over after it expired is refused with [`crate::StoreError::LeaseLost`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub outbound_id: i64,
    pub worker: String,
    pub token: i64,
    pub until: DateTime<Utc>,
}

/// An outbound text taken from the outbox by [`crate::Store::lease_due`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedOutbound {
    pub lease: Lease,
    pub text: OutboundText,
}

/// One SMS part the network accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPart {
    /// 1-based part number.
    pub seq: u8,
    /// How the network named the part, as the text its status report will carry: a modem's
    /// TP-MR in decimal (`+CMGS: 12` is `"12"`) or a message centre's `message_id`.
    pub message_ref: String,
}

/// What a status report says about one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartOutcome {
    Delivered,
    /// The network gave up; the text fails with this reason.
    Failed {
        reason: String,
    },
}

/// The outbound text a status report was matched to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReportMatch {
    pub outbound_id: i64,
    pub seq: u8,
    /// The number the text went to, as enqueued: the patron the receipt or error comes from.
    pub recipient: String,
    pub sender_jid: Option<String>,
    pub xmpp_id: Option<String>,
    pub receipt: DeliveryReceipt,
    /// The text's state after the report: `Delivered` when its last part arrived,
    /// `Failed` on a failed part, `Sent` while parts are still outstanding, `Sending` when
    /// the text is still being sent ([`crate::Store::mark_sent`] then returns the outcome).
    pub state: OutboundState,
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn sms() -> NewInbound {
        let offset = FixedOffset::east_opt(3600).unwrap();
        NewInbound {
            gateway: "library".to_string(),
            sender: "+15551234567".to_string(),
            smsc_time: offset.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap(),
            received_at: Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 5).unwrap(),
            body: "Is the library open?".to_string(),
            concatenation: None,
            parts_hex: vec!["00".to_string()],
            incomplete: false,
            consumed_pending_parts: Vec::new(),
        }
    }

    /// A named change to a text.
    type Change = (&'static str, fn(&mut NewInbound));

    #[test]
    fn inbound_key_depends_on_the_sms_not_on_how_it_was_read() {
        let key = sms().idempotency_key();
        let same: [Change; 4] = [
            ("read later", |s| s.received_at += Duration::hours(3)),
            ("other PDU storage", |s| s.parts_hex = vec!["FF".into()]),
            ("consumed parts", |s| s.consumed_pending_parts = vec![7]),
            ("marked incomplete", |s| s.incomplete = true),
        ];
        for (what, change) in same {
            let mut text = sms();
            change(&mut text);
            assert_eq!(
                text.idempotency_key(),
                key,
                "{what} must not change the key"
            );
        }
        let different: [Change; 5] = [
            ("sender", |s| s.sender = "+15551234568".into()),
            ("SMSC time", |s| s.smsc_time += Duration::seconds(1)),
            ("body", |s| s.body.push('!')),
            ("concatenated", |s| {
                s.concatenation = Some(Concatenation {
                    reference: 1,
                    reference_bits: 8,
                    total: 2,
                })
            }),
            ("field boundaries", |s| {
                s.sender.push_str("Is the");
                s.body = " library open?".into();
            }),
        ];
        for (what, change) in different {
            let mut text = sms();
            change(&mut text);
            assert_ne!(text.idempotency_key(), key, "{what} must change the key");
        }
    }

    #[test]
    fn outbound_key_is_per_stanza_or_per_campaign_recipient() {
        let reply = |sender: &str, id: &str, to: &str| NewOutbound {
            gateway: "library".into(),
            recipient: to.into(),
            origin: OutboundOrigin::Chat {
                sender_jid: sender.into(),
                xmpp_id: id.into(),
                receipt: DeliveryReceipt::Requested,
            },
            body: "hi".into(),
            priority: Priority::CHAT,
            not_before: None,
        };
        let alert = |campaign_id: i64, to: &str| NewOutbound {
            origin: OutboundOrigin::Campaign { campaign_id },
            ..reply("", "", to)
        };
        let a = reply("alice@x", "m1", "+1");
        assert_eq!(
            a.idempotency_key(),
            NewOutbound {
                body: "edited".into(),
                ..a.clone()
            }
            .idempotency_key()
        );
        assert_ne!(
            a.idempotency_key(),
            reply("bob@x", "m1", "+1").idempotency_key()
        );
        assert_ne!(
            a.idempotency_key(),
            reply("alice@x", "m2", "+1").idempotency_key()
        );
        assert_eq!(
            alert(1, "+1").idempotency_key(),
            alert(1, "+1").idempotency_key()
        );
        assert_ne!(
            alert(1, "+1").idempotency_key(),
            alert(2, "+1").idempotency_key()
        );
        assert_ne!(
            alert(1, "+1").idempotency_key(),
            alert(1, "+2").idempotency_key()
        );
    }
}
