//! Conversations: one per gateway and patron, created by the first text either way.

use chrono::{DateTime, Utc};

use crate::backend::with_pool;
use crate::{Conversation, ExchangedText, Store, StoreError};

// Selected from `conversations` unaliased; the handle comes with it for gateways that hide
// numbers (privacy handles), so transcripts and exports show what the librarians saw.
pub(crate) const CONVERSATION_COLUMNS: &str =
    "id, gateway, patron, claimed_by, first_activity, last_activity, texts_in, texts_out,
     (SELECT handle FROM patron_handles h
      WHERE h.gateway = conversations.gateway AND h.patron = conversations.patron) AS handle";

#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    id: i64,
    gateway: String,
    patron: String,
    claimed_by: Option<String>,
    first_activity: DateTime<Utc>,
    last_activity: DateTime<Utc>,
    texts_in: i64,
    texts_out: i64,
    handle: Option<String>,
}

impl From<ConversationRow> for Conversation {
    fn from(r: ConversationRow) -> Conversation {
        Conversation {
            id: r.id,
            gateway: r.gateway,
            patron: r.patron,
            claimed_by: r.claimed_by,
            first_activity: r.first_activity,
            last_activity: r.last_activity,
            texts_in: r.texts_in,
            texts_out: r.texts_out,
            handle: r.handle,
        }
    }
}

/// One text of a conversation as read from the store (the `inbound` and `outbound` rows
/// selected together as `at, direction, operator, body`).
#[derive(sqlx::FromRow)]
pub(crate) struct ExchangedRow {
    at: DateTime<Utc>,
    direction: String,
    operator: Option<String>,
    body: Option<String>,
}

impl From<ExchangedRow> for ExchangedText {
    fn from(row: ExchangedRow) -> ExchangedText {
        ExchangedText {
            at: row.at,
            inbound: row.direction == "in",
            operator: row.operator,
            body: row.body,
        }
    }
}

/// Finds or creates the conversation and counts one more text in it; returns its id.
/// Runs inside the caller's transaction.
pub(crate) const TOUCH_CONVERSATION: &str = "
    INSERT INTO conversations (gateway, patron, first_activity, last_activity, texts_in, texts_out)
    VALUES ($1, $2, $3, $3, $4, $5)
    ON CONFLICT (gateway, patron) DO UPDATE SET
        first_activity = CASE WHEN excluded.first_activity < conversations.first_activity
                              THEN excluded.first_activity ELSE conversations.first_activity END,
        last_activity = CASE WHEN excluded.last_activity > conversations.last_activity
                             THEN excluded.last_activity ELSE conversations.last_activity END,
        texts_in = conversations.texts_in + excluded.texts_in,
        texts_out = conversations.texts_out + excluded.texts_out
    RETURNING id";

impl Store {
    pub async fn conversation(&self, id: i64) -> Result<Option<Conversation>, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1");
        let row: Option<ConversationRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(Conversation::from))
    }

    pub async fn find_conversation(
        &self,
        gateway: &str,
        patron: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE gateway = $1 AND patron = $2"
        );
        let row: Option<ConversationRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(gateway).bind(patron).fetch_optional(pool).await?
        });
        Ok(row.map(Conversation::from))
    }

    /// The last `limit` texts of a conversation that a librarian saw, oldest first: the
    /// patron's texts delivered to one, and the replies. A patron's text still waiting for
    /// a librarian is left out; it is delivered on its own.
    pub async fn recent_texts(
        &self,
        conversation_id: i64,
        limit: u32,
    ) -> Result<Vec<ExchangedText>, StoreError> {
        let rows: Vec<ExchangedRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT at, direction, operator, body FROM (
                     SELECT received_at AS at, 'in' AS direction, delivered_to AS operator,
                            body, id
                     FROM inbound WHERE conversation_id = $1 AND delivered_to IS NOT NULL
                     UNION ALL
                     SELECT created_at AS at, 'out' AS direction, sender_jid AS operator,
                            body, id
                     FROM outbound WHERE conversation_id = $1) texts
                 ORDER BY at DESC, direction DESC, id DESC LIMIT $2",
            )
            .bind(conversation_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().rev().map(ExchangedText::from).collect())
    }

    /// The gateway's conversations, most recently active first.
    pub async fn conversations(&self, gateway: &str) -> Result<Vec<Conversation>, StoreError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE gateway = $1
             ORDER BY last_activity DESC, id DESC"
        );
        let rows: Vec<ConversationRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(gateway).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(Conversation::from).collect())
    }

    /// Records which operator answers this patron (`None` releases the conversation).
    pub async fn set_claim(
        &self,
        conversation_id: i64,
        operator: Option<&str>,
    ) -> Result<(), StoreError> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE conversations SET claimed_by = $2 WHERE id = $1")
                .bind(conversation_id)
                .bind(operator)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound {
                what: "conversation",
                id: conversation_id,
            });
        }
        Ok(())
    }
}
