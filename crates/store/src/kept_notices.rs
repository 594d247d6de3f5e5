//! What the gateway could not tell an operator while its component was not connected: kept
//! here, in the operator's order, until that operator is next available. The store keeps
//! the stanza's parts as plain fields; the gateway composes and parses them.

use chrono::{DateTime, Utc};

use crate::backend::with_pool;
use crate::{Store, StoreError};

/// One kept stanza for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptNotice {
    pub gateway: String,
    /// The operator's bare JID.
    pub operator: String,
    /// `receipt`, `error` or `notice`.
    pub kind: String,
    /// The full or bare JID the stanza goes to.
    pub to: String,
    /// The patron it is about; `None` when the gateway speaks for itself.
    pub patron: Option<String>,
    pub stanza_id: Option<String>,
    pub condition: Option<String>,
    pub body: Option<String>,
}

/// A kept notice as read back, with the id to forget it by once sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotice {
    pub id: i64,
    pub notice: KeptNotice,
    pub created_at: DateTime<Utc>,
}

type NoticeRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
);

impl Store {
    /// Keeps a stanza for an operator until it can be sent.
    pub async fn keep_notice(&self, notice: &KeptNotice) -> Result<i64, StoreError> {
        let now = self.now();
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO kept_notices (gateway, operator, kind, to_jid, patron, stanza_id,
                     condition, body, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 RETURNING id",
            )
            .bind(&notice.gateway)
            .bind(&notice.operator)
            .bind(&notice.kind)
            .bind(&notice.to)
            .bind(&notice.patron)
            .bind(&notice.stanza_id)
            .bind(&notice.condition)
            .bind(&notice.body)
            .bind(now)
            .fetch_one(pool)
            .await?
        }))
    }

    /// The stanzas kept for `operator` (a bare JID) on `gateway`, oldest first.
    pub async fn kept_notices(
        &self,
        gateway: &str,
        operator: &str,
    ) -> Result<Vec<StoredNotice>, StoreError> {
        let rows: Vec<NoticeRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, gateway, operator, kind, to_jid, patron, stanza_id, condition, body,
                        created_at
                 FROM kept_notices WHERE gateway = $1 AND operator = $2 ORDER BY id",
            )
            .bind(gateway)
            .bind(operator)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    gateway,
                    operator,
                    kind,
                    to,
                    patron,
                    stanza_id,
                    condition,
                    body,
                    created_at,
                )| {
                    StoredNotice {
                        id,
                        notice: KeptNotice {
                            gateway,
                            operator,
                            kind,
                            to,
                            patron,
                            stanza_id,
                            condition,
                            body,
                        },
                        created_at,
                    }
                },
            )
            .collect())
    }

    /// Forgets a kept stanza once it was sent (or can never be).
    pub async fn forget_notice(&self, id: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM kept_notices WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
