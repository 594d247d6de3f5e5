//! The outbox: replies and alerts waiting for a modem. Work is leased, never just read:
//! `lease_due` marks rows as being sent by one worker until the lease expires, so several
//! daemons sharing a database never send the same text twice, and a worker that died
//! mid-send gives its texts back when its lease runs out.

use chrono::{DateTime, Duration, Utc};

use crate::backend::{in_transaction, keeps_transcripts, placeholders, with_pool, BackendKind};
use crate::conversation::TOUCH_CONVERSATION;
use crate::signal::OUTBOUND_CHANNEL;
use crate::{
    DeliveryReceipt, Insertion, Lease, LeasedOutbound, NewOutbound, OutboundOrigin, OutboundState,
    OutboundText, PartOutcome, Priority, SentPart, StatusReportMatch, Store, StoreError,
};

pub(crate) const OUTBOUND_COLUMNS: &str = "id, gateway, conversation_id, campaign_id, recipient, \
    sender_jid, xmpp_id, receipt_requested, priority, state, attempts, next_attempt_at, last_error, body, \
    body_chars, created_at, sent_at, finished_at, unsure_since";

#[derive(sqlx::FromRow)]
pub(crate) struct OutboundRow {
    id: i64,
    gateway: String,
    conversation_id: Option<i64>,
    campaign_id: Option<i64>,
    recipient: String,
    sender_jid: Option<String>,
    xmpp_id: Option<String>,
    receipt_requested: bool,
    priority: i16,
    state: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    body: Option<String>,
    body_chars: i32,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    unsure_since: Option<DateTime<Utc>>,
}

impl TryFrom<OutboundRow> for OutboundText {
    type Error = StoreError;

    fn try_from(r: OutboundRow) -> Result<OutboundText, StoreError> {
        let state = OutboundState::parse(&r.state).ok_or_else(|| {
            StoreError::corrupt(
                "outbound text",
                format!("{}: unknown state {:?}", r.id, r.state),
            )
        })?;
        Ok(OutboundText {
            id: r.id,
            gateway: r.gateway,
            conversation_id: r.conversation_id,
            campaign_id: r.campaign_id,
            recipient: r.recipient,
            sender_jid: r.sender_jid,
            xmpp_id: r.xmpp_id,
            receipt: DeliveryReceipt::from_column(r.receipt_requested),
            priority: Priority(r.priority),
            state,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            body: r.body,
            body_chars: r.body_chars,
            created_at: r.created_at,
            sent_at: r.sent_at,
            finished_at: r.finished_at,
            unsure_since: r.unsure_since,
        })
    }
}

/// What a part's insert does when the part is there already (see [`UPSERT_PART`]).
macro_rules! upsert_part_conflict {
    () => {
        "ON CONFLICT (outbound_id, seq) DO UPDATE SET
            sent_at = CASE WHEN outbound_parts.message_ref = excluded.message_ref
                           THEN outbound_parts.sent_at ELSE excluded.sent_at END,
            status = CASE WHEN outbound_parts.message_ref = excluded.message_ref
                          THEN outbound_parts.status ELSE 'pending' END,
            status_at = CASE WHEN outbound_parts.message_ref = excluded.message_ref
                             THEN outbound_parts.status_at ELSE NULL END,
            message_ref = excluded.message_ref"
    };
}

/// Inserts one part's message reference. The same reference again (`mark_sent` repeating
/// what `record_sent_part` recorded) keeps the part's report; a new reference (a retry
/// sent the part again) starts it afresh.
const UPSERT_PART: &str = concat!(
    "INSERT INTO outbound_parts (outbound_id, seq, gateway, message_ref, sent_at, status)
     SELECT id, $2, gateway, $3, $4, 'pending' FROM outbound WHERE id = $1 ",
    upsert_part_conflict!()
);

/// What [`UPSERT_PART`] does when the part is there already, for the batched insert of
/// [`Store::mark_sent_many`] too.
const UPSERT_PART_CONFLICT: &str = upsert_part_conflict!();

/// The parts of the texts whose ids replace `{ids}` (`$2` on) recorded after a report for
/// another part with the same reference arrived take that part's outcome (`$1` now). One
/// reference on several parts means one message for the whole text (an Android phone's
/// id, a message centre's `message_payload`) and so one report for all of them, which can
/// overtake the record of the later parts; without this they would wait for a report that
/// has come already, and the text would never be delivered.
const TAKE_THE_OUTCOME_OF_A_REPORTED_TWIN_IN: &str = "
    UPDATE outbound_parts SET
        status = (SELECT q.status FROM outbound_parts q
                  WHERE q.outbound_id = outbound_parts.outbound_id
                    AND q.message_ref = outbound_parts.message_ref AND q.status <> 'pending'
                  ORDER BY q.seq LIMIT 1),
        status_at = $1
    WHERE outbound_id IN ({ids}) AND status = 'pending' AND EXISTS
        (SELECT 1 FROM outbound_parts q
         WHERE q.outbound_id = outbound_parts.outbound_id
           AND q.message_ref = outbound_parts.message_ref AND q.status <> 'pending')";

/// A sent text with a failed part has failed (`last_error` holds the network's reason).
const FAIL_IF_A_PART_FAILED: &str = "
    UPDATE outbound SET state = 'failed', finished_at = $2
    WHERE id = $1 AND state = 'sent' AND EXISTS
        (SELECT 1 FROM outbound_parts p WHERE p.outbound_id = $1 AND p.status = 'failed')";

/// [`FAIL_IF_A_PART_FAILED`] for the texts whose ids replace `{ids}` (`$2` on), `$1` now.
const FAIL_IF_A_PART_FAILED_IN: &str = "
    UPDATE outbound SET state = 'failed', finished_at = $1
    WHERE state = 'sent' AND id IN ({ids}) AND EXISTS
        (SELECT 1 FROM outbound_parts p WHERE p.outbound_id = outbound.id AND p.status = 'failed')";

/// [`DELIVER_IF_EVERY_PART_DELIVERED`] for the texts whose ids replace `{ids}`.
const DELIVER_IF_EVERY_PART_DELIVERED_IN: &str = "
    UPDATE outbound SET state = 'delivered', finished_at = $1
    WHERE state = 'sent' AND id IN ({ids})
      AND EXISTS (SELECT 1 FROM outbound_parts p WHERE p.outbound_id = outbound.id)
      AND NOT EXISTS
        (SELECT 1 FROM outbound_parts p WHERE p.outbound_id = outbound.id AND p.status <> 'delivered')";

/// A sent text whose every part reached the phone is delivered.
const DELIVER_IF_EVERY_PART_DELIVERED: &str = "
    UPDATE outbound SET state = 'delivered', finished_at = $2
    WHERE id = $1 AND state = 'sent'
      AND EXISTS (SELECT 1 FROM outbound_parts p WHERE p.outbound_id = $1)
      AND NOT EXISTS
        (SELECT 1 FROM outbound_parts p WHERE p.outbound_id = $1 AND p.status <> 'delivered')";

/// Campaign deliveries written by one statement of [`Store::enqueue_campaign_outbound`]:
/// nine parameters each, so 9,000 a statement, under both PostgreSQL's 65,535 and SQLite's
/// 32,766.
pub(crate) const BATCH_ROWS: usize = 1_000;

fn parse_state(id: i64, state: &str) -> Result<OutboundState, StoreError> {
    OutboundState::parse(state).ok_or_else(|| {
        StoreError::corrupt("outbound text", format!("{id}: unknown state {state:?}"))
    })
}

pub(crate) fn lease_lost(lease: &Lease) -> StoreError {
    StoreError::LeaseLost {
        id: lease.outbound_id,
    }
}

impl Store {
    /// Puts a text in the outbox. A text with the same origin (the same stanza re-sent, or
    /// the same campaign recipient) is enqueued once: the second call returns
    /// [`Insertion::Duplicate`]. Workers waiting on [`Store::outbound_signal`] are woken
    /// when the transaction commits.
    pub async fn enqueue_outbound(&self, text: &NewOutbound) -> Result<Insertion, StoreError> {
        let now = self.now();
        let key = text.idempotency_key();
        let (sender_jid, xmpp_id, receipt, campaign_id) = match &text.origin {
            OutboundOrigin::Chat {
                sender_jid,
                xmpp_id,
                receipt,
            } => (
                Some(sender_jid.as_str()),
                Some(xmpp_id.as_str()),
                *receipt,
                None,
            ),
            OutboundOrigin::Campaign { campaign_id } => (
                None,
                None,
                DeliveryReceipt::NotRequested,
                Some(*campaign_id),
            ),
            OutboundOrigin::Api { .. } => (None, None, DeliveryReceipt::NotRequested, None),
        };
        let kind = self.kind();
        let insertion = in_transaction!(self, tx => {
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM outbound WHERE gateway = $1 AND idempotency_key = $2",
            )
            .bind(&text.gateway)
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = existing {
                return Ok(Insertion::Duplicate(id));
            }
            // A reply belongs to the patron's conversation; an alert is not a conversation.
            let conversation_id: Option<i64> = match text.origin {
                OutboundOrigin::Chat { .. } => Some(
                    sqlx::query_scalar(TOUCH_CONVERSATION)
                        .bind(&text.gateway)
                        .bind(&text.recipient)
                        .bind(now)
                        .bind(0_i64)
                        .bind(1_i64)
                        .fetch_one(&mut *tx)
                        .await?,
                ),
                OutboundOrigin::Campaign { .. } | OutboundOrigin::Api { .. } => None,
            };
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO outbound (gateway, conversation_id, campaign_id, recipient, sender_jid,
                     xmpp_id, idempotency_key, priority, state, attempts, next_attempt_at, body,
                     body_chars, created_at, receipt_requested)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9, $10, $11, $12, $13)
                 ON CONFLICT (gateway, idempotency_key) DO NOTHING
                 RETURNING id",
            )
            .bind(&text.gateway)
            .bind(conversation_id)
            .bind(campaign_id)
            .bind(&text.recipient)
            .bind(sender_jid)
            .bind(xmpp_id)
            .bind(&key)
            .bind(text.priority.0)
            .bind(text.not_before.unwrap_or(now))
            .bind(&text.body)
            .bind(i32::try_from(text.body.chars().count()).unwrap_or(i32::MAX))
            .bind(now)
            .bind(receipt.is_requested())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = inserted else {
                // Enqueued by another connection after our check (PostgreSQL only).
                drop(tx);
                return self.outbound_id_by_key(&text.gateway, &key).await.map(Insertion::Duplicate);
            };
            if kind == BackendKind::Postgres {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(OUTBOUND_CHANNEL)
                    .bind(&text.gateway)
                    .execute(&mut *tx)
                    .await?;
            }
            Insertion::New(id)
        });
        if kind == BackendKind::Sqlite {
            self.signals.outbound_changed(&text.gateway);
        }
        Ok(insertion)
    }

    async fn outbound_id_by_key(&self, gateway: &str, key: &str) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM outbound WHERE gateway = $1 AND idempotency_key = $2")
                .bind(gateway)
                .bind(key)
                .fetch_one(pool)
                .await?
        }))
    }

    pub async fn outbound(&self, id: i64) -> Result<Option<OutboundText>, StoreError> {
        let sql = format!("SELECT {OUTBOUND_COLUMNS} FROM outbound WHERE id = $1");
        let row: Option<OutboundRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(OutboundText::try_from).transpose()
    }

    /// Takes up to `limit` due texts of `gateway` for `worker`, highest priority first,
    /// then oldest due time. A text is due when it is queued and its next attempt time
    /// has come, or when the lease of the worker sending it has expired. Each taken text
    /// counts one more attempt. On PostgreSQL rows locked by another daemon's lease
    /// transaction are skipped (`FOR UPDATE SKIP LOCKED`); SQLite has one writer at a time.
    ///
    /// A text taken from a lease that ran out was left by a worker that died (or lost the
    /// store) in the middle of its attempt: whatever part it had handed over may have
    /// reached the network without a record, so the text comes back with
    /// [`OutboundText::unsure_since`] set to that attempt's start.
    pub async fn lease_due(
        &self,
        gateway: &str,
        worker: &str,
        limit: u32,
        lease_for: Duration,
    ) -> Result<Vec<LeasedOutbound>, StoreError> {
        let now = self.now();
        let until = now + lease_for;
        let token: i64 = rand::random();
        let lock = match self.kind() {
            BackendKind::Postgres => "FOR UPDATE SKIP LOCKED",
            BackendKind::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbound SET state = 'sending', attempts = attempts + 1,
                 lease_owner = $3, lease_token = $4, lease_until = $5,
                 unsure_since = CASE WHEN state = 'sending'
                     THEN COALESCE(unsure_since, attempt_started_at, created_at)
                     ELSE unsure_since END,
                 attempt_started_at = $2
             WHERE id IN (
                 SELECT id FROM outbound
                 WHERE gateway = $1
                   AND ((state = 'queued' AND next_attempt_at <= $2)
                        OR (state = 'sending' AND lease_until <= $2))
                 ORDER BY priority DESC, next_attempt_at, id
                 LIMIT $6
                 {lock})
             RETURNING {OUTBOUND_COLUMNS}"
        );
        let rows: Vec<OutboundRow> = in_transaction!(self, tx => {
            sqlx::query_as(&sql)
                .bind(gateway)
                .bind(now)
                .bind(worker)
                .bind(token)
                .bind(until)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?
        });
        let mut leased = rows
            .into_iter()
            .map(|row| {
                let text = OutboundText::try_from(row)?;
                let lease = Lease {
                    outbound_id: text.id,
                    worker: worker.to_string(),
                    token,
                    until,
                };
                Ok(LeasedOutbound { lease, text })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // RETURNING promises no order; hand the work out in the order it was chosen.
        leased.sort_by(|a, b| {
            (
                std::cmp::Reverse(a.text.priority),
                a.text.next_attempt_at,
                a.text.id,
            )
                .cmp(&(
                    std::cmp::Reverse(b.text.priority),
                    b.text.next_attempt_at,
                    b.text.id,
                ))
        });
        Ok(leased)
    }

    /// Extends a lease the worker still holds to `lease_for` from now. A worker renews its
    /// lease while a send takes its time, so leases can be short: a lease left by a daemon
    /// that died runs out within one `lease_for` and its successor (or another daemon on
    /// the same database) takes the text up, while a live worker never loses a text to
    /// another in the middle of a slow send. Refused with [`StoreError::LeaseLost`] when
    /// the lease was taken over or the text finished.
    pub async fn renew_lease(&self, lease: &Lease, lease_for: Duration) -> Result<(), StoreError> {
        let until = self.now() + lease_for;
        let renewed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbound SET lease_until = $3
                 WHERE id = $1 AND state = 'sending' AND lease_token = $2",
            )
            .bind(lease.outbound_id)
            .bind(lease.token)
            .bind(until)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if renewed == 0 {
            return Err(lease_lost(lease));
        }
        Ok(())
    }

    /// Ends every lease on `gateway`'s texts not held by `worker`, so those texts are due
    /// now; returns how many. Only for a daemon that knows no other live worker sends for
    /// the gateway: on SQLite one daemon owns the file, so at start every lease it finds
    /// was left by its own predecessor, and waiting for those leases to run out would only
    /// delay replies.
    pub async fn reclaim_leases(&self, gateway: &str, worker: &str) -> Result<u64, StoreError> {
        let now = self.now();
        let reclaimed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbound SET lease_until = $2
                 WHERE gateway = $1 AND state = 'sending' AND lease_until > $2
                   AND lease_owner <> $3",
            )
            .bind(gateway)
            .bind(now)
            .bind(worker)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(reclaimed)
    }

    /// When the next outbound text of `gateway` becomes due (a queued text's next attempt
    /// or a lease's expiry), for a worker to sleep until then besides its signal.
    pub async fn next_outbound_due(
        &self,
        gateway: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT MIN(CASE WHEN state = 'queued' THEN next_attempt_at ELSE lease_until END)
                 FROM outbound WHERE gateway = $1 AND state IN ('queued', 'sending')",
            )
            .bind(gateway)
            .fetch_one(pool)
            .await?
        }))
    }

    /// How many outbound texts of `gateway` are waiting: queued (including those waiting
    /// for a retry) or being sent. This is the `textgate_outbox_depth` gauge.
    pub async fn outbox_depth(&self, gateway: &str) -> Result<u64, StoreError> {
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM outbound
                 WHERE gateway = $1 AND state IN ('queued', 'sending')",
            )
            .bind(gateway)
            .fetch_one(pool)
            .await?
        });
        // COUNT(*) is never negative; the conversion only satisfies the type.
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Records the message reference of one part as soon as the network accepted it, while
    /// the text is still being sent: a status report for the first part of a long text
    /// can arrive before the last part is out, and must find its part.
    pub async fn record_sent_part(&self, lease: &Lease, part: SentPart) -> Result<(), StoreError> {
        let now = self.now();
        in_transaction!(self, tx => {
            // The text's row is locked (on PostgreSQL; SQLite's writers take turns anyway)
            // as record_status_report locks it, so a report for a twin of this part either
            // sees this part or is seen by it.
            let lock = match self.kind() {
                BackendKind::Postgres => " FOR UPDATE",
                BackendKind::Sqlite => "",
            };
            let held: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT id FROM outbound WHERE id = $1 AND state = 'sending' AND lease_token = $2{lock}"
            ))
            .bind(lease.outbound_id)
            .bind(lease.token)
            .fetch_optional(&mut *tx)
            .await?;
            if held.is_none() {
                return Err(lease_lost(lease));
            }
            sqlx::query(UPSERT_PART)
                .bind(lease.outbound_id)
                .bind(i32::from(part.seq))
                .bind(&part.message_ref)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(&TAKE_THE_OUTCOME_OF_A_REPORTED_TWIN_IN.replace("{ids}", "$2"))
                .bind(now)
                .bind(lease.outbound_id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// The parts of an outbound text the network accepted so far, by part number, as
    /// [`Store::record_sent_part`] and [`Store::mark_sent`] recorded them. A worker that
    /// takes over an interrupted text (the daemon stopped, a lease ran out, a later part
    /// failed) reads them to send only the parts still missing.
    pub async fn sent_parts(&self, outbound_id: i64) -> Result<Vec<SentPart>, StoreError> {
        let rows: Vec<(i32, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT seq, message_ref FROM outbound_parts WHERE outbound_id = $1 ORDER BY seq",
            )
            .bind(outbound_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(seq, message_ref)| {
                let seq = u8::try_from(seq).map_err(|_| {
                    StoreError::corrupt(
                        "outbound part",
                        format!("{outbound_id}: part {seq} with message reference {message_ref:?}"),
                    )
                })?;
                Ok(SentPart { seq, message_ref })
            })
            .collect()
    }

    /// Records that the network accepted every part of the leased text (parts already
    /// recorded with [`Store::record_sent_part`] may be passed again). Unless the gateway
    /// keeps transcripts, the body is erased now. Returns the text's state: `Sent`, or
    /// already `Delivered` or `Failed` when status reports for every part (or a failed
    /// one) arrived while it was being sent. Refused with [`StoreError::LeaseLost`] when
    /// the lease was taken over.
    pub async fn mark_sent(
        &self,
        lease: &Lease,
        parts: &[SentPart],
    ) -> Result<OutboundState, StoreError> {
        let mut results = self
            .mark_sent_many(&[(lease.clone(), parts.to_vec())])
            .await?;
        results.pop().unwrap_or_else(|| Err(lease_lost(lease)))
    }

    /// [`Store::mark_sent`] for several texts in one transaction, so texts that finish
    /// together cost one durable commit, not one each: what lets the outbox keep up with
    /// a message centre. Each text gets its own answer (one whose lease was lost does not
    /// spoil the others); the outer error is the database failing, and then nothing was
    /// recorded.
    pub async fn mark_sent_many(
        &self,
        texts: &[(Lease, Vec<SentPart>)],
    ) -> Result<Vec<Result<OutboundState, StoreError>>, StoreError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let keeps = keeps_transcripts("outbound");
        // A handful of statements for the whole batch, not five per text: the texts come
        // as VALUES rows, so the database does the per-text work in one pass each.
        let held = (0..texts.len())
            .map(|i| format!("(${}, ${})", 2 + 2 * i, 3 + 2 * i))
            .collect::<Vec<_>>()
            .join(", ");
        let complete = format!(
            "WITH done(id, token) AS (VALUES {held})
             UPDATE outbound SET state = 'sent', sent_at = $1,
                 lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                 body = CASE WHEN {keeps} THEN body ELSE NULL END
             WHERE state = 'sending' AND EXISTS
                 (SELECT 1 FROM done WHERE done.id = outbound.id AND done.token = outbound.lease_token)
             RETURNING id"
        );
        Ok(in_transaction!(self, tx => {
            let mut query = sqlx::query_scalar::<_, i64>(&complete).bind(now);
            for (lease, _) in texts {
                query = query.bind(lease.outbound_id).bind(lease.token);
            }
            let completed: std::collections::HashSet<i64> =
                query.fetch_all(&mut *tx).await?.into_iter().collect();
            let parts: Vec<(i64, &SentPart)> = texts
                .iter()
                .filter(|(lease, _)| completed.contains(&lease.outbound_id))
                .flat_map(|(lease, parts)| parts.iter().map(|p| (lease.outbound_id, p)))
                .collect();
            for chunk in parts.chunks(BATCH_ROWS) {
                let rows = (0..chunk.len())
                    .map(|i| format!("(${}, ${}, ${})", 2 + 3 * i, 3 + 3 * i, 4 + 3 * i))
                    .collect::<Vec<_>>()
                    .join(", ");
                // `WHERE true`: SQLite otherwise reads the upsert's ON as the join's.
                let sql = format!(
                    "WITH sent(id, seq, message_ref) AS (VALUES {rows})
                     INSERT INTO outbound_parts (outbound_id, seq, gateway, message_ref, sent_at, status)
                     SELECT o.id, sent.seq, o.gateway, sent.message_ref, $1, 'pending'
                     FROM sent JOIN outbound o ON o.id = sent.id WHERE true
                     {UPSERT_PART_CONFLICT}"
                );
                let mut query = sqlx::query(&sql).bind(now);
                for (id, part) in chunk {
                    query = query
                        .bind(*id)
                        .bind(i32::from(part.seq))
                        .bind(part.message_ref.as_str());
                }
                query.execute(&mut *tx).await?;
            }
            let ids: Vec<i64> = texts
                .iter()
                .map(|(lease, _)| lease.outbound_id)
                .filter(|id| completed.contains(id))
                .collect();
            let mut states: std::collections::HashMap<i64, String> = Default::default();
            for chunk in ids.chunks(BATCH_ROWS) {
                let list = placeholders(2, chunk.len());
                for sql in [
                    TAKE_THE_OUTCOME_OF_A_REPORTED_TWIN_IN,
                    FAIL_IF_A_PART_FAILED_IN,
                    DELIVER_IF_EVERY_PART_DELIVERED_IN,
                ] {
                    let sql = sql.replace("{ids}", &list);
                    let mut query = sqlx::query(&sql).bind(now);
                    for id in chunk {
                        query = query.bind(*id);
                    }
                    query.execute(&mut *tx).await?;
                }
                let sql = format!("SELECT id, state FROM outbound WHERE id IN ({})", placeholders(1, chunk.len()));
                let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                states.extend(query.fetch_all(&mut *tx).await?);
            }
            texts
                .iter()
                .map(|(lease, _)| match states.get(&lease.outbound_id) {
                    Some(state) => parse_state(lease.outbound_id, state),
                    None => Err(lease_lost(lease)),
                })
                .collect::<Vec<_>>()
        }))
    }

    /// Gives the leased text back to the queue after a transient failure, to be tried
    /// again at `next_attempt_at`.
    pub async fn mark_retry(
        &self,
        lease: &Lease,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.requeue(lease, error, next_attempt_at, false).await
    }

    pub(crate) async fn requeue(
        &self,
        lease: &Lease,
        error: &str,
        next_attempt_at: DateTime<Utc>,
        unsure: bool,
    ) -> Result<(), StoreError> {
        let kind = self.kind();
        let gateway: Option<String> = in_transaction!(self, tx => {
            let gateway: Option<String> = sqlx::query_scalar(
                "UPDATE outbound SET state = 'queued', last_error = $3, next_attempt_at = $4,
                     lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                     unsure_since = CASE WHEN $5
                         THEN COALESCE(unsure_since, attempt_started_at, created_at)
                         ELSE unsure_since END
                 WHERE id = $1 AND state = 'sending' AND lease_token = $2
                 RETURNING gateway",
            )
            .bind(lease.outbound_id)
            .bind(lease.token)
            .bind(error)
            .bind(next_attempt_at)
            .bind(unsure)
            .fetch_optional(&mut *tx)
            .await?;
            if let (Some(gateway), BackendKind::Postgres) = (&gateway, kind) {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(OUTBOUND_CHANNEL)
                    .bind(gateway)
                    .execute(&mut *tx)
                    .await?;
            }
            gateway
        });
        let gateway = gateway.ok_or_else(|| lease_lost(lease))?;
        if kind == BackendKind::Sqlite {
            self.signals.outbound_changed(&gateway);
        }
        Ok(())
    }

    /// Gives up on the leased text: it fails with `error`, which the XMPP side reports on
    /// the original message. Unless the gateway keeps transcripts, the body is erased.
    pub async fn mark_failed(&self, lease: &Lease, error: &str) -> Result<(), StoreError> {
        let now = self.now();
        let keeps = keeps_transcripts("outbound");
        let sql = format!(
            "UPDATE outbound SET state = 'failed', finished_at = $3, last_error = $4,
                 lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                 body = CASE WHEN {keeps} THEN body ELSE NULL END
             WHERE id = $1 AND state = 'sending' AND lease_token = $2"
        );
        let changed = in_transaction!(self, tx => {
            sqlx::query(&sql)
                .bind(lease.outbound_id)
                .bind(lease.token)
                .bind(now)
                .bind(error)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(lease_lost(lease));
        }
        Ok(())
    }

    /// Matches a status report to the part it is about: the most recent part of `gateway`
    /// sent within `window` with that message reference and no report yet, including parts
    /// of a text still being sent. The reference is a modem's TP-MR, which wraps at 256, or
    /// a message centre's id, which the centre may reuse after some days: either way only
    /// recent sends can be meant. Returns `None` when nothing matches.
    pub async fn record_status_report(
        &self,
        gateway: &str,
        message_ref: &str,
        outcome: &PartOutcome,
        window: Duration,
    ) -> Result<Option<StatusReportMatch>, StoreError> {
        let now = self.now();
        let since = now - window;
        let (part_status, reason) = match outcome {
            PartOutcome::Delivered => ("delivered", None),
            PartOutcome::Failed { reason } => ("failed", Some(reason.as_str())),
        };
        let kind = self.kind();
        in_transaction!(self, tx => {
            let found: Option<(i64, i32)> = sqlx::query_as(
                "SELECT outbound_id, seq FROM outbound_parts
                 WHERE gateway = $1 AND message_ref = $2 AND sent_at >= $3 AND status = 'pending'
                 ORDER BY sent_at DESC, outbound_id DESC, seq DESC
                 LIMIT 1",
            )
            .bind(gateway)
            .bind(message_ref)
            .bind(since)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((outbound_id, seq)) = found else {
                return Ok(None);
            };
            // Lock the text's row before its part's, the order mark_sent takes them in:
            // the other order deadlocks against a mark_sent of the same text (PostgreSQL
            // then aborts one of them, and a reply stayed `sending` until its lease ran out).
            if kind == BackendKind::Postgres {
                sqlx::query("SELECT id FROM outbound WHERE id = $1 FOR UPDATE")
                    .bind(outbound_id)
                    .execute(&mut *tx)
                    .await?;
            }
            // The part may have been sent again under a new reference meanwhile; then
            // this report is not about it. Every pending part of the text with this
            // reference is: a message centre that took the whole text as one message
            // (`message_payload`) gave all its parts one id and sends one receipt, while a
            // modem's parts of one text have references of their own (two parts of one
            // text share a TP-MR only 256 sends apart).
            let updated = sqlx::query(
                "UPDATE outbound_parts SET status = $2, status_at = $3
                 WHERE outbound_id = $1 AND message_ref = $4 AND status = 'pending'",
            )
            .bind(outbound_id)
            .bind(part_status)
            .bind(now)
            .bind(message_ref)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                return Ok(None);
            }
            if let Some(reason) = reason {
                // While the text is still being sent this only keeps the reason; mark_sent
                // then finishes it as failed.
                sqlx::query("UPDATE outbound SET last_error = $2 WHERE id = $1")
                    .bind(outbound_id)
                    .bind(reason)
                    .execute(&mut *tx)
                    .await?;
            }
            for sql in [FAIL_IF_A_PART_FAILED, DELIVER_IF_EVERY_PART_DELIVERED] {
                sqlx::query(sql).bind(outbound_id).bind(now).execute(&mut *tx).await?;
            }
            let (state, recipient, sender_jid, xmpp_id, receipt_requested): (
                String,
                String,
                Option<String>,
                Option<String>,
                bool,
            ) = sqlx::query_as(
                "SELECT state, recipient, sender_jid, xmpp_id, receipt_requested
                 FROM outbound WHERE id = $1",
            )
            .bind(outbound_id)
            .fetch_one(&mut *tx)
            .await?;
            let state = parse_state(outbound_id, &state)?;
            let receipt = DeliveryReceipt::from_column(receipt_requested);
            let seq = u8::try_from(seq).map_err(|_| {
                StoreError::corrupt("outbound part", format!("{outbound_id}: part number {seq}"))
            })?;
            Ok(Some(StatusReportMatch {
                outbound_id,
                seq,
                recipient,
                sender_jid,
                xmpp_id,
                receipt,
                state,
            }))
        })
    }
}
