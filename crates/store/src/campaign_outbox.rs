//! Campaign deliveries put in the outbox many at a time: an emergency alert to a whole
//! membership is tens of thousands of rows, written in a few statements and transactions
//! rather than one each (the outbox's other writes, one reply at a time, are in
//! `outbound.rs`).

use chrono::{DateTime, Utc};

use crate::backend::{in_transaction, BackendKind};
use crate::outbound::BATCH_ROWS;
use crate::signal::OUTBOUND_CHANNEL;
use crate::{Insertion, NewOutbound, OutboundOrigin, Store, StoreError};

/// Campaign deliveries written by one statement and transaction on PostgreSQL, where each
/// column is one array parameter. A thousand, as on SQLite: a campaign interrupted while it
/// is being enqueued keeps what was committed a thousand at a time (larger statements
/// gained nothing measurable, see docs/benchmarks.md).
const ARRAY_ROWS: usize = 1_000;

impl Store {
    /// Puts many campaign deliveries in the outbox, [`ARRAY_ROWS`] to a statement and a
    /// transaction on PostgreSQL ([`BATCH_ROWS`] on SQLite), instead of one transaction each: what makes a 100,000-member campaign
    /// enqueue in seconds. Deliveries already in the outbox (the same campaign and
    /// recipient) are skipped, as [`Store::enqueue_outbound`] skips them; returns how many
    /// were new. Replies (chat origins) belong to a conversation and go through
    /// [`Store::enqueue_outbound`] one by one, here too.
    pub async fn enqueue_campaign_outbound(
        &self,
        texts: &[NewOutbound],
    ) -> Result<u64, StoreError> {
        let (campaign, chat): (Vec<&NewOutbound>, Vec<&NewOutbound>) = texts
            .iter()
            .partition(|t| matches!(t.origin, OutboundOrigin::Campaign { .. }));
        let mut inserted = 0u64;
        for text in chat {
            if let Insertion::New(_) = self.enqueue_outbound(text).await? {
                inserted += 1;
            }
        }
        let kind = self.kind();
        if kind == BackendKind::Postgres {
            return Ok(inserted + self.enqueue_campaign_arrays(&campaign).await?);
        }
        for chunk in campaign.chunks(BATCH_ROWS) {
            let now = self.now();
            let mut sql = String::from(
                "INSERT INTO outbound (gateway, conversation_id, campaign_id, recipient, sender_jid,
                     xmpp_id, idempotency_key, priority, state, attempts, next_attempt_at, body,
                     body_chars, created_at, receipt_requested) VALUES ",
            );
            for row in 0..chunk.len() {
                let n = row * 9;
                if row > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, NULL, ${}, ${}, NULL, NULL, ${}, ${}, 'queued', 0, ${}, ${}, ${}, ${}, FALSE)",
                    n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7, n + 8, n + 9
                ));
            }
            sql.push_str(" ON CONFLICT (gateway, idempotency_key) DO NOTHING");
            let mut gateways: Vec<&str> = chunk.iter().map(|t| t.gateway.as_str()).collect();
            gateways.sort_unstable();
            gateways.dedup();
            inserted += in_transaction!(self, tx => {
                let mut query = sqlx::query(&sql);
                for text in chunk {
                    let campaign_id = match text.origin {
                        OutboundOrigin::Campaign { campaign_id } => Some(campaign_id),
                        OutboundOrigin::Chat { .. } | OutboundOrigin::Api { .. } => None,
                    };
                    query = query
                        .bind(&text.gateway)
                        .bind(campaign_id)
                        .bind(&text.recipient)
                        .bind(text.idempotency_key())
                        .bind(text.priority.0)
                        .bind(text.not_before.unwrap_or(now))
                        .bind(&text.body)
                        .bind(i32::try_from(text.body.chars().count()).unwrap_or(i32::MAX))
                        .bind(now);
                }
                let rows = query.execute(&mut *tx).await?.rows_affected();
                if kind == BackendKind::Postgres {
                    for gateway in &gateways {
                        sqlx::query("SELECT pg_notify($1, $2)")
                            .bind(OUTBOUND_CHANNEL)
                            .bind(*gateway)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                rows
            });
            if kind == BackendKind::Sqlite {
                for gateway in &gateways {
                    self.signals.outbound_changed(gateway);
                }
            }
        }
        Ok(inserted)
    }

    /// PostgreSQL's side of [`Store::enqueue_campaign_outbound`]: each column as one array
    /// parameter and `UNNEST` turning them into rows, [`ARRAY_ROWS`] to a statement. A
    /// statement of thousands of `VALUES` rows costs its parsing and planning per
    /// parameter; eight arrays cost nothing of the kind.
    async fn enqueue_campaign_arrays(&self, campaign: &[&NewOutbound]) -> Result<u64, StoreError> {
        let crate::backend::Backend::Postgres(pool) = &self.backend else {
            return Err(StoreError::corrupt("backend", "arrays are PostgreSQL's"));
        };
        let mut inserted = 0u64;
        for chunk in campaign.chunks(ARRAY_ROWS) {
            let now = self.now();
            let mut gateways: Vec<String> = Vec::with_capacity(chunk.len());
            let mut campaign_ids: Vec<Option<i64>> = Vec::with_capacity(chunk.len());
            let mut recipients: Vec<String> = Vec::with_capacity(chunk.len());
            let mut keys: Vec<String> = Vec::with_capacity(chunk.len());
            let mut priorities: Vec<i16> = Vec::with_capacity(chunk.len());
            let mut due: Vec<DateTime<Utc>> = Vec::with_capacity(chunk.len());
            let mut bodies: Vec<String> = Vec::with_capacity(chunk.len());
            let mut chars: Vec<i32> = Vec::with_capacity(chunk.len());
            for text in chunk {
                gateways.push(text.gateway.clone());
                campaign_ids.push(match text.origin {
                    OutboundOrigin::Campaign { campaign_id } => Some(campaign_id),
                    OutboundOrigin::Chat { .. } | OutboundOrigin::Api { .. } => None,
                });
                recipients.push(text.recipient.clone());
                keys.push(text.idempotency_key());
                priorities.push(text.priority.0);
                due.push(text.not_before.unwrap_or(now));
                bodies.push(text.body.clone());
                chars.push(i32::try_from(text.body.chars().count()).unwrap_or(i32::MAX));
            }
            let mut notify: Vec<String> = gateways.clone();
            notify.sort_unstable();
            notify.dedup();
            let mut tx = pool.begin().await?;
            let rows = sqlx::query(
                "INSERT INTO outbound (gateway, conversation_id, campaign_id, recipient,
                     sender_jid, xmpp_id, idempotency_key, priority, state, attempts,
                     next_attempt_at, body, body_chars, created_at, receipt_requested)
                 SELECT g, NULL, c, r, NULL, NULL, k, p, 'queued', 0, d, b, n, $9, FALSE
                 FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[],
                             $5::smallint[], $6::timestamptz[], $7::text[], $8::int[])
                      AS t(g, c, r, k, p, d, b, n)
                 ON CONFLICT (gateway, idempotency_key) DO NOTHING",
            )
            .bind(&gateways)
            .bind(&campaign_ids)
            .bind(&recipients)
            .bind(&keys)
            .bind(&priorities)
            .bind(&due)
            .bind(&bodies)
            .bind(&chars)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            for gateway in &notify {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(OUTBOUND_CHANNEL)
                    .bind(gateway)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            inserted += rows;
        }
        Ok(inserted)
    }
}
