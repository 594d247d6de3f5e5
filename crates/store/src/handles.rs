//! Privacy handles: the stable random name a patron goes by on a gateway that hides phone
//! numbers from its librarians (`privacy_handles = true`). The gateway makes up the handle
//! (it knows their shape); the store keeps the mapping both ways and makes sure a number
//! keeps one handle and a handle names one number, even when two tasks give a handle to
//! the same new number at once.

use crate::backend::with_pool;
use crate::{Store, StoreError};

impl Store {
    /// The handle `patron` goes by on `gateway`, if it has been given one.
    pub async fn patron_handle(
        &self,
        gateway: &str,
        patron: &str,
    ) -> Result<Option<String>, StoreError> {
        let handle: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT handle FROM patron_handles WHERE gateway = $1 AND patron = $2",
            )
            .bind(gateway)
            .bind(patron)
            .fetch_optional(pool)
            .await?
        });
        Ok(handle)
    }

    /// The number (as the gateway normalised it) that goes by `handle` on `gateway`.
    pub async fn patron_of_handle(
        &self,
        gateway: &str,
        handle: &str,
    ) -> Result<Option<String>, StoreError> {
        let patron: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT patron FROM patron_handles WHERE gateway = $1 AND handle = $2",
            )
            .bind(gateway)
            .bind(handle)
            .fetch_optional(pool)
            .await?
        });
        Ok(patron)
    }

    /// Gives `patron` the handle `candidate` unless it has one already, and returns the
    /// handle it goes by: `candidate`, or the one it was given before (perhaps a moment
    /// ago by another task). `None` when `candidate` already names another number; the
    /// caller makes up another.
    pub async fn give_patron_handle(
        &self,
        gateway: &str,
        patron: &str,
        candidate: &str,
    ) -> Result<Option<String>, StoreError> {
        let now = self.now();
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO patron_handles (gateway, handle, patron, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(gateway)
            .bind(candidate)
            .bind(patron)
            .bind(now)
            .execute(pool)
            .await?;
        });
        self.patron_handle(gateway, patron).await
    }
}
