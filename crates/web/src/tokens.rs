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

use textgate_alerts::{authorize, Action};

use crate::db::{Account, ApiToken};
use crate::state::{Ctx, WebError, WebState};

/// The longest label a token may have, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

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

/// Creates a token labelled `label` for the signed-in account of `ctx`.
pub async fn create_token(state: &WebState, ctx: &Ctx, label: &str) -> Result<NewToken, WebError> {
    let account = ctx.signed_in()?;
    if ctx.bearer {
        return Err(WebError::Forbidden(
            "An API token cannot create another token; sign in to create one.".into(),
        ));
    }
    let label = label.trim();
    let chars = label.chars().count();
    if chars == 0 || chars > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(WebError::BadRequest(format!(
            "The label must be 1 to {MAX_LABEL_CHARS} characters on one line: say what the token is for."
        )));
    }
    let secret = crate::auth::random_token();
    let id = state
        .db
        .insert_api_token(
            &crate::auth::token_hash(&secret),
            account.id,
            label,
            state.now(),
        )
        .await?;
    state
        .db
        .audit(
            Some(account.id),
            &account.email,
            &ctx.ip,
            "create-api-token",
            &format!("token {id}: {label}"),
            state.now(),
        )
        .await?;
    Ok(NewToken { id, secret })
}

/// The tokens `account` may see: its own, and (for administrators who manage accounts)
/// every other account's.
pub async fn visible_tokens(
    state: &WebState,
    account: &Account,
) -> Result<(Vec<ApiToken>, Vec<ApiToken>), WebError> {
    if !manages_all_tokens(account) {
        return Ok((state.db.api_tokens(Some(account.id)).await?, Vec::new()));
    }
    let (own, others) = state
        .db
        .api_tokens(None)
        .await?
        .into_iter()
        .partition(|t| t.account_id == account.id);
    Ok((own, others))
}

/// Token `id` if `account` may revoke it. Someone else's token is "not found" for an
/// account that may not manage it, so its number tells nothing about other accounts.
pub async fn revocable_token(
    state: &WebState,
    account: &Account,
    id: i64,
) -> Result<ApiToken, WebError> {
    match state.db.api_token(id).await? {
        Some(t) if t.account_id == account.id || manages_all_tokens(account) => Ok(t),
        _ => Err(WebError::NotFound),
    }
}

/// Revokes token `id`; the message says which one.
pub async fn revoke_token(
    state: &WebState,
    account: &Account,
    ip: &str,
    id: i64,
) -> Result<String, WebError> {
    let token = revocable_token(state, account, id).await?;
    if !state.db.delete_api_token(id).await? {
        return Err(WebError::NotFound);
    }
    state
        .db
        .audit(
            Some(account.id),
            &account.email,
            ip,
            "revoke-api-token",
            &format!(
                "token {} ({}) of {}",
                token.id, token.label, token.account_email
            ),
            state.now(),
        )
        .await?;
    Ok(format!(
        "The token \u{201c}{}\u{201d} of {} has been revoked; it no longer works.",
        token.label, token.account_email
    ))
}
