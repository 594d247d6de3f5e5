//! The librarians' desk tools, per gateway: canned replies (prepared answers sent by
//! name), blocked numbers, and holding back the texts of a blocked number.
//!
//! A text from a blocked number is stored like any other (the modem may only forget a
//! text once it is committed) and then held back with [`Store::mark_inbound_blocked`]:
//! it leaves the undelivered backlog for good and its body goes as on delivery. The store
//! does not decide who is blocked when a text arrives; the gateway asks
//! [`Store::is_blocked`] and says so.

use chrono::{DateTime, Utc};

use crate::backend::{in_transaction, keeps_transcripts, with_pool};
use crate::{Store, StoreError};

/// A librarian's prepared answer, sent by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedReply {
    pub gateway: String,
    /// As the caller saved it (the gateway lower-cases names).
    pub name: String,
    pub body: String,
    /// The bare JID of the operator who first saved the name.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The bare JID of the operator who saved the current body.
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// What [`Store::save_canned_reply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The name was new.
    Created,
    /// The name existed; its body was replaced.
    Replaced,
}

/// A number whose texts are held back from the librarians.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedNumber {
    pub gateway: String,
    /// As the gateway normalised the sender.
    pub number: String,
    /// The bare JID of the operator who blocked it.
    pub blocked_by: String,
    pub blocked_at: DateTime<Utc>,
}

const CANNED_COLUMNS: &str = "gateway, name, body, created_by, created_at, updated_by, updated_at";

#[derive(sqlx::FromRow)]
struct CannedRow {
    gateway: String,
    name: String,
    body: String,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_by: String,
    updated_at: DateTime<Utc>,
}

impl From<CannedRow> for CannedReply {
    fn from(r: CannedRow) -> CannedReply {
        CannedReply {
            gateway: r.gateway,
            name: r.name,
            body: r.body,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct BlockedRow {
    gateway: String,
    number: String,
    blocked_by: String,
    blocked_at: DateTime<Utc>,
}

impl From<BlockedRow> for BlockedNumber {
    fn from(r: BlockedRow) -> BlockedNumber {
        BlockedNumber {
            gateway: r.gateway,
            number: r.number,
            blocked_by: r.blocked_by,
            blocked_at: r.blocked_at,
        }
    }
}

impl Store {
    /// The gateway's canned replies, by name.
    pub async fn canned_replies(&self, gateway: &str) -> Result<Vec<CannedReply>, StoreError> {
        let sql =
            format!("SELECT {CANNED_COLUMNS} FROM canned_replies WHERE gateway = $1 ORDER BY name");
        let rows: Vec<CannedRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(gateway).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(CannedReply::from).collect())
    }

    /// The canned reply saved under `name`, compared exactly (the gateway lower-cases
    /// names before saving and before looking them up).
    pub async fn canned_reply(
        &self,
        gateway: &str,
        name: &str,
    ) -> Result<Option<CannedReply>, StoreError> {
        let sql =
            format!("SELECT {CANNED_COLUMNS} FROM canned_replies WHERE gateway = $1 AND name = $2");
        let row: Option<CannedRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(gateway).bind(name).fetch_optional(pool).await?
        });
        Ok(row.map(CannedReply::from))
    }

    /// Saves `body` under `name`, replacing the body of a reply saved under it before
    /// (which keeps who created it and when). `by` is the operator's bare JID.
    pub async fn save_canned_reply(
        &self,
        gateway: &str,
        name: &str,
        body: &str,
        by: &str,
    ) -> Result<Saved, StoreError> {
        let now = self.now();
        in_transaction!(self, tx => {
            // Insert-or-update as two statements, because neither back end says portably
            // whether an upsert inserted. On PostgreSQL another connection may remove the
            // name between them (SQLite's writers take turns); then the insert is tried
            // again.
            let saved = loop {
                let created: Option<i32> = sqlx::query_scalar(
                    "INSERT INTO canned_replies (gateway, name, body, created_by, created_at,
                         updated_by, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $4, $5)
                     ON CONFLICT (gateway, name) DO NOTHING
                     RETURNING 1",
                )
                .bind(gateway)
                .bind(name)
                .bind(body)
                .bind(by)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if created.is_some() {
                    break Saved::Created;
                }
                let replaced = sqlx::query(
                    "UPDATE canned_replies SET body = $3, updated_by = $4, updated_at = $5
                     WHERE gateway = $1 AND name = $2",
                )
                .bind(gateway)
                .bind(name)
                .bind(body)
                .bind(by)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if replaced > 0 {
                    break Saved::Replaced;
                }
            };
            Ok(saved)
        })
    }

    /// Removes the canned reply saved under `name`; whether there was one.
    pub async fn remove_canned_reply(&self, gateway: &str, name: &str) -> Result<bool, StoreError> {
        let removed = with_pool!(self, pool => {
            sqlx::query("DELETE FROM canned_replies WHERE gateway = $1 AND name = $2")
                .bind(gateway)
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(removed > 0)
    }

    /// Blocks `number` on the gateway; `by` is the operator's bare JID. Returns false,
    /// changing nothing, when the number was blocked already.
    pub async fn block_number(
        &self,
        gateway: &str,
        number: &str,
        by: &str,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let added = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO blocked_numbers (gateway, number, blocked_by, blocked_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (gateway, number) DO NOTHING",
            )
            .bind(gateway)
            .bind(number)
            .bind(by)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(added > 0)
    }

    /// Unblocks `number`; whether it was blocked. Texts held back while it was stay held
    /// back.
    pub async fn unblock_number(&self, gateway: &str, number: &str) -> Result<bool, StoreError> {
        let removed = with_pool!(self, pool => {
            sqlx::query("DELETE FROM blocked_numbers WHERE gateway = $1 AND number = $2")
                .bind(gateway)
                .bind(number)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(removed > 0)
    }

    /// The gateway's blocked numbers, in order of number.
    pub async fn blocked_numbers(&self, gateway: &str) -> Result<Vec<BlockedNumber>, StoreError> {
        let rows: Vec<BlockedRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT gateway, number, blocked_by, blocked_at FROM blocked_numbers
                 WHERE gateway = $1 ORDER BY number",
            )
            .bind(gateway)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(BlockedNumber::from).collect())
    }

    /// Whether `number` is blocked on the gateway.
    pub async fn is_blocked(&self, gateway: &str, number: &str) -> Result<bool, StoreError> {
        let found: Option<i32> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT 1 FROM blocked_numbers WHERE gateway = $1 AND number = $2",
            )
            .bind(gateway)
            .bind(number)
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    }

    /// Holds back a stored text from a blocked number: it leaves the undelivered backlog
    /// for good (its state becomes `Delivered` with no `delivered_at` or `delivered_to`,
    /// see migration 0107) and, unless the gateway keeps transcripts, its body and PDUs
    /// are erased in the same transaction, as on delivery. Holding back a text again, or
    /// one a librarian already received, changes nothing; an unknown id is
    /// [`StoreError::NotFound`].
    pub async fn mark_inbound_blocked(&self, inbound_id: i64) -> Result<(), StoreError> {
        let now = self.now();
        let keeps = keeps_transcripts("inbound");
        let hold_back = format!(
            "UPDATE inbound SET state = 'delivered', blocked_at = $1,
                 body = CASE WHEN {keeps} THEN body ELSE NULL END
             WHERE id = $2 AND state <> 'delivered'"
        );
        in_transaction!(self, tx => {
            let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM inbound WHERE id = $1")
                .bind(inbound_id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(StoreError::NotFound {
                    what: "inbound text",
                    id: inbound_id,
                });
            }
            sqlx::query(&hold_back)
                .bind(now)
                .bind(inbound_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "DELETE FROM inbound_parts WHERE inbound_id IN
                     (SELECT id FROM inbound WHERE id = $1 AND body IS NULL)",
            )
            .bind(inbound_id)
            .execute(&mut *tx)
            .await?;
            Ok(())
        })
    }

    /// How many of the gateway's stored texts were held back as coming from a blocked
    /// number (records the privacy operations deleted are no longer counted).
    pub async fn blocked_inbound_count(&self, gateway: &str) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM inbound WHERE gateway = $1 AND blocked_at IS NOT NULL",
            )
            .bind(gateway)
            .fetch_one(pool)
            .await?
        }))
    }
}

impl Store {
    /// Takes the gateway's turn to answer `patron` by itself (the desk closed, nobody
    /// there): true, and the time recorded, when it last did so before `now - every`
    /// (or never); false otherwise. At most one automatic reply per patron per window,
    /// across restarts and between daemons on one database (the check and the record are
    /// one statement). The patron's conversation must exist (their text is stored).
    pub async fn take_auto_reply_turn(
        &self,
        gateway: &str,
        patron: &str,
        every: chrono::Duration,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let since = now - every;
        let taken = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE conversations SET auto_replied_at = $3
                 WHERE gateway = $1 AND patron = $2
                   AND (auto_replied_at IS NULL OR auto_replied_at <= $4)",
            )
            .bind(gateway)
            .bind(patron)
            .bind(now)
            .bind(since)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }
}

impl Store {
    /// When the gateway last received a text and last handed a reply (or alert) to the
    /// network, for the desk's `status`; `None` when it never did.
    pub async fn last_traffic(
        &self,
        gateway: &str,
    ) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), StoreError> {
        // ORDER BY … LIMIT 1 rather than MAX(): SQLite's MAX() returns bare text that
        // has lost the column's type.
        let last_in: Option<DateTime<Utc>> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT received_at FROM inbound WHERE gateway = $1
                 ORDER BY received_at DESC LIMIT 1",
            )
            .bind(gateway)
            .fetch_optional(pool)
            .await?
        });
        let last_out: Option<DateTime<Utc>> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT sent_at FROM outbound WHERE gateway = $1 AND sent_at IS NOT NULL
                 ORDER BY sent_at DESC LIMIT 1",
            )
            .bind(gateway)
            .fetch_optional(pool)
            .await?
        });
        Ok((last_in, last_out))
    }
}
