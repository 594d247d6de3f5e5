//! Texts from patrons: stored once (idempotently) before the modem forgets them, offered,
//! delivered, and their bodies erased on delivery unless the gateway keeps transcripts.
//! Also the parts of concatenated texts still waiting for their siblings.

use chrono::{DateTime, FixedOffset, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::backend::{in_transaction, keeps_transcripts, placeholders, with_pool};
use crate::conversation::TOUCH_CONVERSATION;
use crate::{
    Concatenation, InboundState, InboundText, Insertion, NewInbound, PendingInsertion, PendingPart,
    Store, StoreError, StoredPendingPart,
};

/// Large id lists are split so no statement exceeds the bound-parameter limits.
const ID_CHUNK: usize = 500;

pub(crate) const INBOUND_COLUMNS: &str = "id, gateway, conversation_id, sender, smsc_time, \
    smsc_utc_offset_minutes, received_at, state, offered_at, delivered_at, delivered_to, \
    body, body_chars, part_count, incomplete";

#[derive(sqlx::FromRow)]
pub(crate) struct InboundRow {
    id: i64,
    gateway: String,
    conversation_id: i64,
    sender: String,
    smsc_time: DateTime<Utc>,
    smsc_utc_offset_minutes: i32,
    received_at: DateTime<Utc>,
    state: String,
    offered_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    delivered_to: Option<String>,
    body: Option<String>,
    body_chars: i32,
    part_count: i32,
    incomplete: bool,
}

impl TryFrom<InboundRow> for InboundText {
    type Error = StoreError;

    fn try_from(r: InboundRow) -> Result<InboundText, StoreError> {
        let state = InboundState::parse(&r.state).ok_or_else(|| {
            StoreError::corrupt(
                "inbound text",
                format!("{}: unknown state {:?}", r.id, r.state),
            )
        })?;
        let offset = FixedOffset::east_opt(r.smsc_utc_offset_minutes.saturating_mul(60))
            .ok_or_else(|| {
                StoreError::corrupt(
                    "inbound text",
                    format!(
                        "{}: SMSC UTC offset of {} minutes",
                        r.id, r.smsc_utc_offset_minutes
                    ),
                )
            })?;
        Ok(InboundText {
            id: r.id,
            gateway: r.gateway,
            conversation_id: r.conversation_id,
            sender: r.sender,
            smsc_time: r.smsc_time.with_timezone(&offset),
            received_at: r.received_at,
            state,
            offered_at: r.offered_at,
            delivered_at: r.delivered_at,
            delivered_to: r.delivered_to,
            body: r.body,
            body_chars: r.body_chars,
            part_count: r.part_count,
            incomplete: r.incomplete,
        })
    }
}

/// The key a committed part is recognised by when it is read again: a SHA-256 of its PDU
/// as the modem handed it over (the same bytes every time it is read from the SIM; a later
/// text reusing the concatenation reference differs at least in its time stamp).
fn part_key(pdu_hex: &str) -> String {
    hex::encode(Sha256::digest(pdu_hex.as_bytes()))
}

/// Deletes pending parts of `gateway` by id inside the caller's transaction.
async fn delete_pending_parts<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    gateway: &str,
    ids: &[i64],
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for chunk in ids.chunks(ID_CHUNK) {
        let sql = format!(
            "DELETE FROM pending_parts WHERE gateway = $1 AND id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query::<DB>(&sql).bind(gateway);
        for part in chunk {
            query = query.bind(*part);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

fn clamp_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl Store {
    /// Stores a text received from a patron, exactly once: a text with the same
    /// idempotency key (the same SMS read again after a crash) is reported as
    /// [`Insertion::Duplicate`] and changes nothing. The conversation is created or
    /// updated, and the pending parts the text consumed are deleted, in the same
    /// transaction. Only after this returns may the modem delete the SMS.
    pub async fn insert_inbound(&self, text: &NewInbound) -> Result<Insertion, StoreError> {
        let key = text.idempotency_key();
        let smsc_offset_minutes = text.smsc_time.offset().local_minus_utc() / 60;
        in_transaction!(self, tx => {
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM inbound WHERE gateway = $1 AND idempotency_key = $2",
            )
            .bind(&text.gateway)
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = existing {
                // The parts were read again after the text was stored (the daemon died
                // before deleting them from the SIM): they are redundant now.
                delete_pending_parts(&mut tx, &text.gateway, &text.consumed_pending_parts).await?;
                tx.commit().await?;
                return Ok(Insertion::Duplicate(id));
            }
            let conversation_id: i64 = sqlx::query_scalar(TOUCH_CONVERSATION)
                .bind(&text.gateway)
                .bind(&text.sender)
                .bind(text.received_at)
                .bind(1_i64)
                .bind(0_i64)
                .fetch_one(&mut *tx)
                .await?;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO inbound (gateway, conversation_id, idempotency_key, sender,
                     smsc_time, smsc_utc_offset_minutes, received_at, state, body, body_chars,
                     part_count, incomplete)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'stored', $8, $9, $10, $11)
                 ON CONFLICT (gateway, idempotency_key) DO NOTHING
                 RETURNING id",
            )
            .bind(&text.gateway)
            .bind(conversation_id)
            .bind(&key)
            .bind(&text.sender)
            .bind(text.smsc_time.with_timezone(&Utc))
            .bind(smsc_offset_minutes)
            .bind(text.received_at)
            .bind(&text.body)
            .bind(clamp_i32(text.body.chars().count()))
            .bind(clamp_i32(text.parts_hex.len()))
            .bind(text.incomplete)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = inserted else {
                // Another connection stored the same text after our check (PostgreSQL
                // only: SQLite writers are serialised). Dropping the transaction undoes
                // our conversation update.
                drop(tx);
                return self.inbound_id_by_key(&text.gateway, &key).await.map(Insertion::Duplicate);
            };
            for (seq, pdu) in text.parts_hex.iter().enumerate() {
                sqlx::query("INSERT INTO inbound_parts (inbound_id, seq, pdu_hex) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(clamp_i32(seq + 1))
                    .bind(pdu)
                    .execute(&mut *tx)
                    .await?;
            }
            if text.concatenation.is_some() {
                for pdu in &text.parts_hex {
                    sqlx::query(
                        "INSERT INTO inbound_part_keys (gateway, part_key, inbound_id)
                         VALUES ($1, $2, $3) ON CONFLICT (gateway, part_key) DO NOTHING",
                    )
                    .bind(&text.gateway)
                    .bind(part_key(pdu))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            delete_pending_parts(&mut tx, &text.gateway, &text.consumed_pending_parts).await?;
            Ok(Insertion::New(id))
        })
    }

    async fn inbound_id_by_key(&self, gateway: &str, key: &str) -> Result<i64, StoreError> {
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM inbound WHERE gateway = $1 AND idempotency_key = $2")
                .bind(gateway)
                .bind(key)
                .fetch_one(pool)
                .await?
        });
        Ok(id)
    }

    pub async fn inbound(&self, id: i64) -> Result<Option<InboundText>, StoreError> {
        let sql = format!("SELECT {INBOUND_COLUMNS} FROM inbound WHERE id = $1");
        let row: Option<InboundRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(InboundText::try_from).transpose()
    }

    /// The PDUs (hex) a stored text was decoded from, in part order; empty once erased.
    pub async fn inbound_parts(&self, id: i64) -> Result<Vec<String>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT pdu_hex FROM inbound_parts WHERE inbound_id = $1 ORDER BY seq")
                .bind(id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Texts not yet delivered to an operator, in the order they arrived: the backlog to
    /// hand to the first operator who comes online.
    pub async fn undelivered_inbound(
        &self,
        gateway: &str,
        limit: u32,
    ) -> Result<Vec<InboundText>, StoreError> {
        let sql = format!(
            "SELECT {INBOUND_COLUMNS} FROM inbound WHERE gateway = $1 AND state <> 'delivered'
             ORDER BY id LIMIT $2"
        );
        let rows: Vec<InboundRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(gateway).bind(i64::from(limit)).fetch_all(pool).await?
        });
        rows.into_iter().map(InboundText::try_from).collect()
    }

    /// Records that the texts were sent to the available operators. Texts already
    /// offered or delivered are left as they are. Returns how many changed.
    pub async fn mark_inbound_offered(&self, ids: &[i64]) -> Result<u64, StoreError> {
        let now = self.now();
        let mut changed = 0;
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "UPDATE inbound SET state = 'offered', offered_at = $1
                 WHERE state = 'stored' AND id IN ({})",
                placeholders(2, chunk.len())
            );
            changed += with_pool!(self, pool => {
                let mut query = sqlx::query(&sql).bind(now);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(pool).await?.rows_affected()
            });
        }
        Ok(changed)
    }

    /// Records that `operator`'s client received the texts. Unless the gateway keeps
    /// transcripts, their bodies and PDUs are erased in the same transaction. Texts
    /// already delivered are left as they are. Returns how many changed.
    pub async fn mark_inbound_delivered(
        &self,
        ids: &[i64],
        operator: &str,
    ) -> Result<u64, StoreError> {
        let now = self.now();
        let keeps = keeps_transcripts("inbound");
        in_transaction!(self, tx => {
            let mut changed = 0;
            for chunk in ids.chunks(ID_CHUNK) {
                let list = placeholders(3, chunk.len());
                let sql = format!(
                    "UPDATE inbound SET state = 'delivered', delivered_at = $1, delivered_to = $2,
                         body = CASE WHEN {keeps} THEN body ELSE NULL END
                     WHERE state <> 'delivered' AND id IN ({list})"
                );
                let mut query = sqlx::query(&sql).bind(now).bind(operator);
                for id in chunk {
                    query = query.bind(*id);
                }
                changed += query.execute(&mut *tx).await?.rows_affected();
                let sql = format!(
                    "DELETE FROM inbound_parts WHERE inbound_id IN
                         (SELECT id FROM inbound WHERE id IN ({}) AND body IS NULL)",
                    placeholders(1, chunk.len())
                );
                let mut query = sqlx::query(&sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *tx).await?;
            }
            Ok(changed)
        })
    }

    /// Keeps one part of a concatenated text until its siblings arrive. Store it before
    /// deleting it from the SIM; a part read twice is stored once, and a part of a text
    /// already committed (read again after a crash) is not stored at all.
    pub async fn store_pending_part(
        &self,
        part: &PendingPart,
    ) -> Result<PendingInsertion, StoreError> {
        let c = part.concatenation;
        let key = part_key(&part.pdu_hex);
        in_transaction!(self, tx => {
            let committed: Option<i64> = sqlx::query_scalar(
                "SELECT inbound_id FROM inbound_part_keys WHERE gateway = $1 AND part_key = $2",
            )
            .bind(&part.gateway)
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(inbound) = committed {
                return Ok(PendingInsertion::Committed(inbound));
            }
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO pending_parts (gateway, sender, reference, reference_bits, total, seq,
                     pdu_hex, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (gateway, sender, reference, reference_bits, total, seq) DO NOTHING
                 RETURNING id",
            )
            .bind(&part.gateway)
            .bind(&part.sender)
            .bind(i32::from(c.reference))
            .bind(i32::from(c.reference_bits))
            .bind(i32::from(c.total))
            .bind(i32::from(part.seq))
            .bind(&part.pdu_hex)
            .bind(part.received_at)
            .fetch_optional(&mut *tx)
            .await?;
            match inserted {
                Some(id) => Ok(PendingInsertion::New(id)),
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "SELECT id FROM pending_parts WHERE gateway = $1 AND sender = $2
                           AND reference = $3 AND reference_bits = $4 AND total = $5 AND seq = $6",
                    )
                    .bind(&part.gateway)
                    .bind(&part.sender)
                    .bind(i32::from(c.reference))
                    .bind(i32::from(c.reference_bits))
                    .bind(i32::from(c.total))
                    .bind(i32::from(part.seq))
                    .fetch_one(&mut *tx)
                    .await?;
                    Ok(PendingInsertion::Duplicate(id))
                }
            }
        })
    }

    /// Every pending part of the gateway, grouped by message and in part order: what a
    /// restarted daemon feeds back into its reassembler.
    pub async fn pending_parts(&self, gateway: &str) -> Result<Vec<StoredPendingPart>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query(
                "SELECT id, gateway, sender, reference, reference_bits, total, seq, pdu_hex,
                        received_at
                 FROM pending_parts WHERE gateway = $1
                 ORDER BY sender, reference_bits, reference, total, seq",
            )
            .bind(gateway)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| -> Result<StoredPendingPart, StoreError> {
                let id: i64 = row.try_get("id")?;
                let small = |name: &str| -> Result<i32, StoreError> { Ok(row.try_get(name)?) };
                let bad = |what: &str, value: i32| {
                    StoreError::corrupt("pending part", format!("{id}: {what} {value}"))
                };
                let reference = small("reference")?;
                let reference_bits = small("reference_bits")?;
                let total = small("total")?;
                let seq = small("seq")?;
                Ok(StoredPendingPart {
                    id,
                    part: PendingPart {
                        gateway: row.try_get("gateway")?,
                        sender: row.try_get("sender")?,
                        concatenation: Concatenation {
                            reference: u16::try_from(reference)
                                .map_err(|_| bad("reference", reference))?,
                            reference_bits: u8::try_from(reference_bits)
                                .map_err(|_| bad("reference width", reference_bits))?,
                            total: u8::try_from(total).map_err(|_| bad("total", total))?,
                        },
                        seq: u8::try_from(seq).map_err(|_| bad("part number", seq))?,
                        pdu_hex: row.try_get("pdu_hex")?,
                        received_at: row.try_get("received_at")?,
                    },
                })
            })
            .collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }
}
