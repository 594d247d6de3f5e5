//! Sign-in and the session rows behind the console's cookies. The cookie itself and the
//! CSRF check are the web console's; the service keeps, for each session, only a SHA-256
//! of the cookie's token, the account (none for an anonymous session) and the session's
//! CSRF token.
//!
//! - Signing in always opens a new session and deletes the one the request came with, so
//!   a token planted before sign-in (session fixation) is worthless afterwards.
//! - Failed sign-ins are recorded; after [`SigninLimit`](crate::SigninLimit) failures for
//!   an account or from an address within its window, sign-in is refused even with the
//!   right password until the window has passed.
//! - An unknown account's password is checked against a dummy hash, so the time taken
//!   does not tell which accounts exist.

mod data;

use chrono::{DateTime, TimeDelta, Utc};

use crate::accounts::{self, passwords, Account, AccountId};
use crate::secrets::{random_token, token_hash};
use crate::{AlertError, AlertService};

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: String,
    pub account_id: Option<AccountId>,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A session just opened: the token for the cookie (shown only now) and its row.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub row: SessionRow,
}

/// How a sign-in ended.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// Signed in: a new session for the account.
    SignedIn {
        session: NewSession,
        account: Account,
    },
    /// The e-mail address or the password is wrong (recorded as a failure).
    WrongCredentials,
    /// Too many recent failures for the account or the address; `window` is how long a
    /// failure counts.
    Locked { window: TimeDelta },
}

/// Sessions and sign-in (a view of [`AlertService`]).
#[derive(Clone, Copy)]
pub struct Sessions<'a> {
    pub(crate) service: &'a AlertService,
}

impl Sessions<'_> {
    /// Opens a session for nobody yet: it carries the CSRF token of a visitor's forms
    /// (the sign-in form included).
    pub async fn open_anonymous(&self) -> Result<NewSession, AlertError> {
        self.open(None).await
    }

    async fn open(&self, account_id: Option<AccountId>) -> Result<NewSession, AlertError> {
        let token = random_token();
        let hash = token_hash(&token);
        let csrf = random_token();
        let now = self.service.now();
        let expires_at = now + self.service.settings().session_lifetime;
        data::insert(
            self.service.database(),
            &hash,
            account_id,
            &csrf,
            now,
            expires_at,
        )
        .await?;
        Ok(NewSession {
            token,
            row: SessionRow {
                token_hash: hash,
                account_id,
                csrf_token: csrf,
                expires_at,
            },
        })
    }

    /// The unexpired session whose cookie carries `token`.
    pub async fn find(&self, token: &str) -> Result<Option<SessionRow>, AlertError> {
        data::session(
            self.service.database(),
            &token_hash(token),
            self.service.now(),
        )
        .await
    }

    /// Signs `email` in with `password` from address `ip`. On success the session the
    /// request came with (`replacing`), whose id an attacker may have planted, is deleted
    /// and a new one opened.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        ip: &str,
        replacing: Option<&SessionRow>,
    ) -> Result<SignIn, AlertError> {
        let email = email.trim().to_lowercase();
        let database = self.service.database();
        let now = self.service.now();
        let limit = self.service.settings().signin_limit;
        let (by_account, by_address) =
            data::signin_failures_since(database, &email, ip, now - limit.window).await?;
        if by_account >= limit.per_account || by_address >= limit.per_address {
            return Ok(SignIn::Locked {
                window: limit.window,
            });
        }
        let found = accounts::account_for_signin(database, &email).await?;
        let account = match &found {
            Some((account, hash)) if passwords::verify(password, hash) => Some(account.clone()),
            Some(_) => None,
            None => {
                // Same work as for a real account, so timing does not tell which exist.
                passwords::verify(password, &self.service.dummy_hash);
                None
            }
        };
        let Some(account) = account else {
            data::record_signin_failure(database, &email, ip, now).await?;
            return Ok(SignIn::WrongCredentials);
        };
        if let Some(old) = replacing {
            data::delete(database, &old.token_hash).await?;
        }
        data::delete_expired(database, now).await?;
        let session = self.open(Some(account.id)).await?;
        Ok(SignIn::SignedIn { session, account })
    }

    /// Ends a session (signing out).
    pub async fn end(&self, session: &SessionRow) -> Result<(), AlertError> {
        data::delete(self.service.database(), &session.token_hash).await
    }
}
