//! Members' alert registrations, remembered opt-outs and the test log.

use chrono::{DateTime, Utc};

use super::{with_pool, AccountId, Audience, Db, DbError};

/// A member's registration as stored: the number only in encrypted form.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Registration {
    pub account_id: AccountId,
    pub number_enc: String,
    pub number_index: String,
    pub carrier: Option<String>,
    /// `awaiting-confirmation`, `active` or `opted-out`.
    pub state: String,
    /// The pending confirmation code record (JSON of `PendingConfirmation`).
    pub confirmation: Option<String>,
    pub last_updated: DateTime<Utc>,
    pub last_tested: Option<DateTime<Utc>>,
}

/// One row of the test log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TestLogRow {
    pub test_id: i64,
    pub account_id: AccountId,
    pub ip_address: String,
    pub gateway: String,
    pub number_enc: String,
    pub number_index: String,
    pub sent_at: DateTime<Utc>,
}

const REGISTRATION_COLUMNS: &str = "account_id, number_enc, number_index, carrier, state, \
    confirmation, last_updated, last_tested";

impl Db {
    pub async fn registration(
        &self,
        account_id: AccountId,
    ) -> Result<Option<Registration>, DbError> {
        let sql =
            format!("SELECT {REGISTRATION_COLUMNS} FROM alert_registrations WHERE account_id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(account_id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    pub async fn registration_by_index(
        &self,
        number_index: &str,
    ) -> Result<Option<Registration>, DbError> {
        let sql = format!(
            "SELECT {REGISTRATION_COLUMNS} FROM alert_registrations WHERE number_index = $1"
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(number_index).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Inserts or replaces the member's registration.
    pub async fn save_registration(&self, r: &Registration) -> Result<(), DbError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO alert_registrations
                   (account_id, number_enc, number_index, carrier, state, confirmation,
                    last_updated, last_tested)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (account_id) DO UPDATE SET
                   number_enc = excluded.number_enc, number_index = excluded.number_index,
                   carrier = excluded.carrier, state = excluded.state,
                   confirmation = excluded.confirmation, last_updated = excluded.last_updated,
                   last_tested = excluded.last_tested",
            )
            .bind(r.account_id)
            .bind(&r.number_enc)
            .bind(&r.number_index)
            .bind(&r.carrier)
            .bind(&r.state)
            .bind(&r.confirmation)
            .bind(r.last_updated)
            .bind(r.last_tested)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Confirmed registrations last updated before `before`, with when they were last
    /// reminded: the candidates for the review reminder.
    #[allow(clippy::type_complexity)]
    pub async fn stale_registrations(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<(AccountId, String, DateTime<Utc>, Option<DateTime<Utc>>)>, DbError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT account_id, number_enc, last_updated, last_reminded FROM alert_registrations
                 WHERE state = 'active' AND last_updated < $1 ORDER BY account_id",
            )
            .bind(before)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn set_last_reminded(
        &self,
        account_id: AccountId,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE alert_registrations SET last_reminded = $1 WHERE account_id = $2")
                .bind(at)
                .bind(account_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn delete_registration(&self, account_id: AccountId) -> Result<bool, DbError> {
        let n = with_pool!(self, pool => {
            sqlx::query("DELETE FROM alert_registrations WHERE account_id = $1")
                .bind(account_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn set_registration_state(
        &self,
        number_index: &str,
        state: &str,
    ) -> Result<(), DbError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE alert_registrations SET state = $1 WHERE number_index = $2")
                .bind(state)
                .bind(number_index)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn remember_opt_out(
        &self,
        number_index: &str,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO alert_opt_outs (number_index, opted_out_at) VALUES ($1, $2)
                 ON CONFLICT (number_index) DO UPDATE SET opted_out_at = excluded.opted_out_at",
            )
            .bind(number_index)
            .bind(at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn forget_opt_out(&self, number_index: &str) -> Result<(), DbError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM alert_opt_outs WHERE number_index = $1")
                .bind(number_index)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn is_opted_out(&self, number_index: &str) -> Result<bool, DbError> {
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM alert_opt_outs WHERE number_index = $1")
                .bind(number_index)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }

    /// Active registrations that receive a send: testers only, or everyone.
    pub async fn recipients(
        &self,
        audience: Audience,
    ) -> Result<Vec<(AccountId, String)>, DbError> {
        let sql = if audience == Audience::Testers {
            "SELECT r.account_id, r.number_enc FROM alert_registrations r
             JOIN web_accounts a ON a.id = r.account_id
             WHERE r.state = 'active' AND a.tester ORDER BY r.account_id"
        } else {
            "SELECT account_id, number_enc FROM alert_registrations
             WHERE state = 'active' ORDER BY account_id"
        };
        let rows = with_pool!(self, pool => { sqlx::query_as(sql).fetch_all(pool).await? });
        Ok(rows)
    }

    /// Like [`Db::recipients`], with the carrier each member chose for the legacy e-mail
    /// path (campaign planning gives the e-mail gateways only members with one).
    #[allow(clippy::type_complexity)]
    pub async fn recipients_with_carrier(
        &self,
        audience: Audience,
    ) -> Result<Vec<(AccountId, String, Option<String>)>, DbError> {
        let sql = if audience == Audience::Testers {
            "SELECT r.account_id, r.number_enc, r.carrier FROM alert_registrations r
             JOIN web_accounts a ON a.id = r.account_id
             WHERE r.state = 'active' AND a.tester ORDER BY r.account_id"
        } else {
            "SELECT account_id, number_enc, carrier FROM alert_registrations
             WHERE state = 'active' ORDER BY account_id"
        };
        let rows = with_pool!(self, pool => { sqlx::query_as(sql).fetch_all(pool).await? });
        Ok(rows)
    }

    /// How many recipients chose each carrier (`None`: no carrier).
    pub async fn count_recipients_by_carrier(
        &self,
        audience: Audience,
    ) -> Result<Vec<(Option<String>, i64)>, DbError> {
        let sql = if audience == Audience::Testers {
            "SELECT r.carrier, COUNT(*) FROM alert_registrations r
             JOIN web_accounts a ON a.id = r.account_id
             WHERE r.state = 'active' AND a.tester GROUP BY r.carrier"
        } else {
            "SELECT carrier, COUNT(*) FROM alert_registrations WHERE state = 'active'
             GROUP BY carrier"
        };
        let rows = with_pool!(self, pool => { sqlx::query_as(sql).fetch_all(pool).await? });
        Ok(rows)
    }

    pub async fn count_recipients(&self, audience: Audience) -> Result<i64, DbError> {
        let sql = if audience == Audience::Testers {
            "SELECT COUNT(*) FROM alert_registrations r JOIN web_accounts a ON a.id = r.account_id
             WHERE r.state = 'active' AND a.tester"
        } else {
            "SELECT COUNT(*) FROM alert_registrations WHERE state = 'active'"
        };
        let n = with_pool!(self, pool => { sqlx::query_scalar(sql).fetch_one(pool).await? });
        Ok(n)
    }

    pub async fn insert_test_log(&self, row: &TestLogRow) -> Result<(), DbError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO alert_test_log
                   (test_id, account_id, ip_address, gateway, number_enc, number_index, sent_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(row.test_id)
            .bind(row.account_id)
            .bind(&row.ip_address)
            .bind(&row.gateway)
            .bind(&row.number_enc)
            .bind(&row.number_index)
            .bind(row.sent_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Times of tests since `since` by this account and to this number.
    pub async fn test_times(
        &self,
        account_id: AccountId,
        number_index: &str,
        since: DateTime<Utc>,
    ) -> Result<(Vec<DateTime<Utc>>, Vec<DateTime<Utc>>), DbError> {
        let (by_account, to_number) = with_pool!(self, pool => {
            let a: Vec<DateTime<Utc>> = sqlx::query_scalar(
                "SELECT sent_at FROM alert_test_log WHERE account_id = $1 AND sent_at > $2",
            )
            .bind(account_id)
            .bind(since)
            .fetch_all(pool)
            .await?;
            let n: Vec<DateTime<Utc>> = sqlx::query_scalar(
                "SELECT sent_at FROM alert_test_log WHERE number_index = $1 AND sent_at > $2",
            )
            .bind(number_index)
            .bind(since)
            .fetch_all(pool)
            .await?;
            (a, n)
        });
        Ok((by_account, to_number))
    }

    pub async fn test_log(&self, limit: i64) -> Result<Vec<TestLogRow>, DbError> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT test_id, account_id, ip_address, gateway, number_enc, number_index, sent_at
                 FROM alert_test_log ORDER BY sent_at DESC, test_id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
