//! API tokens: creating, listing and revoking them, for the pages and the JSON API alike.
//!
//! - Every signed-in account creates, lists and revokes its own tokens. A token is shown
//!   once, when it is created; only its SHA-256 is stored.
//! - Administrators who manage accounts ([`Action::ManageUsers`]: technical and emergency
//!   administrators) also see every other account's tokens (never the secrets) and may
//!   revoke them, for example when a laptop is lost or someone leaves.
//! - A token cannot create another token: that needs a signed-in session, so a leaked
//!   token cannot be used to keep access after it is revoked.
//! - A revoked token is deleted and refused from the next request on. Every creation and
//!   revocation is written to the audit log.
//! - A token has a [`TokenScope`]: `console` tokens do what the account's roles allow in
//!   the console's API, except sending texts; `send` tokens do nothing but send texts and
//!   read their status (the send API and the Kannel-compatible `sendsms`), and only an
//!   account allowed to send texts ([`Action::SendTexts`]) may make one. A library
//!   system's password is then good for one thing.

mod data;

use chrono::{DateTime, Utc};
use textgate_alerts::{authorize, Action};

use crate::audit::AuditAction;
use crate::secrets::{random_token, token_hash};
use crate::{accounts, Account, AccountId, Actor, AlertError, AlertService, Credential};

/// The longest label a token may have, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// The console's API, as far as the account's roles allow; never sending texts.
    Console,
    /// Only sending texts and reading their status.
    Send,
}

impl TokenScope {
    /// The name stored and shown: `console` or `send`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Console => "console",
            TokenScope::Send => "send",
        }
    }

    /// The scope named `name`.
    pub fn parse(name: &str) -> Option<TokenScope> {
        [TokenScope::Console, TokenScope::Send]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

impl TryFrom<String> for TokenScope {
    type Error = AlertError;
    fn try_from(name: String) -> Result<TokenScope, AlertError> {
        TokenScope::parse(&name).ok_or_else(|| AlertError::Corrupt {
            what: "API token scope",
            detail: format!("unknown scope {name:?}"),
        })
    }
}

/// A token as it is listed: what it is for, whose it is and when it was made and last
/// used. Never the secret or its hash.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub account_id: AccountId,
    pub account_email: String,
    pub label: String,
    #[sqlx(try_from = "String")]
    pub scope: TokenScope,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A request's bearer token, found: whose it is and what it may do.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub account: Account,
    pub token_id: i64,
    pub scope: TokenScope,
}

/// A token just created: its number and the secret, which is shown only now.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: i64,
    pub secret: String,
}

/// Whether `account` sees and revokes every account's tokens.
pub fn manages_all_tokens(account: &Account) -> bool {
    authorize(&account.roles, Action::ManageUsers).is_ok()
}

/// API tokens (a view of [`AlertService`]).
#[derive(Clone, Copy)]
pub struct Tokens<'a> {
    pub(crate) service: &'a AlertService,
}

impl Tokens<'_> {
    /// Creates a token labelled `label` for the actor's account.
    pub async fn create(
        &self,
        actor: &Actor<'_>,
        label: &str,
        scope: TokenScope,
    ) -> Result<NewToken, AlertError> {
        if actor.credential == Credential::ApiToken {
            return Err(AlertError::Forbidden(
                "An API token cannot create another token; sign in to create one.".into(),
            ));
        }
        let label = label.trim();
        let chars = label.chars().count();
        if chars == 0 || chars > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(AlertError::refused(format!(
                "The label must be 1 to {MAX_LABEL_CHARS} characters on one line: say what the token is for."
            )));
        }
        if scope == TokenScope::Send {
            authorize(&actor.account.roles, Action::SendTexts)
                .map_err(|f| AlertError::Forbidden(format!("A send token: {f}.")))?;
        }
        let secret = random_token();
        let id = data::insert(
            self.service.database(),
            &token_hash(&secret),
            actor.account.id,
            label,
            scope,
            self.service.now(),
        )
        .await?;
        self.service
            .audit(
                actor,
                AuditAction::CreateApiToken,
                &format!("token {id} ({} scope): {label}", scope.as_str()),
            )
            .await?;
        Ok(NewToken { id, secret })
    }

    /// The token whose secret is `secret`, with its account (and notes the token's use).
    /// A revoked token is gone, so it finds nobody from the next request on.
    pub async fn bearer(&self, secret: &str) -> Result<Option<Bearer>, AlertError> {
        let database = self.service.database();
        let Some((token_id, account_id, scope)) =
            data::bearer(database, &token_hash(secret), self.service.now()).await?
        else {
            return Ok(None);
        };
        Ok(accounts::account_row(database, account_id)
            .await?
            .map(|account| Bearer {
                account,
                token_id,
                scope,
            }))
    }

    /// The tokens of one account, or of every account when `owner` is `None`, by owner and
    /// then oldest first. (Who may see them is the caller's check; see [`Tokens::visible`].)
    pub async fn list(&self, owner: Option<AccountId>) -> Result<Vec<ApiToken>, AlertError> {
        data::tokens(self.service.database(), owner).await
    }

    /// The tokens `account` may see: its own, and (for administrators who manage accounts)
    /// every other account's.
    pub async fn visible(
        &self,
        account: &Account,
    ) -> Result<(Vec<ApiToken>, Vec<ApiToken>), AlertError> {
        if !manages_all_tokens(account) {
            return Ok((self.list(Some(account.id)).await?, Vec::new()));
        }
        let (own, others) = self
            .list(None)
            .await?
            .into_iter()
            .partition(|t| t.account_id == account.id);
        Ok((own, others))
    }

    /// Token `id` if `account` may revoke it. Someone else's token is "not found" for an
    /// account that may not manage it, so its number tells nothing about other accounts.
    pub async fn revocable(&self, account: &Account, id: i64) -> Result<ApiToken, AlertError> {
        match data::token(self.service.database(), id).await? {
            Some(t) if t.account_id == account.id || manages_all_tokens(account) => Ok(t),
            _ => Err(AlertError::NotFound),
        }
    }

    /// Revokes token `id`; the message says which one.
    pub async fn revoke(&self, actor: &Actor<'_>, id: i64) -> Result<String, AlertError> {
        let token = self.revocable(actor.account, id).await?;
        if !data::delete(self.service.database(), id).await? {
            return Err(AlertError::NotFound);
        }
        self.service
            .audit(
                actor,
                AuditAction::RevokeApiToken,
                &format!(
                    "token {} ({}) of {}",
                    token.id, token.label, token.account_email
                ),
            )
            .await?;
        Ok(format!(
            "The token \u{201c}{}\u{201d} of {} has been revoked; it no longer works.",
            token.label, token.account_email
        ))
    }
}
