//! Passwords, sessions and CSRF tokens.
//!
//! - Passwords: argon2id PHC strings with the configured cost.
//! - Sessions: a random 256-bit token in a `textgate_session` cookie (HttpOnly,
//!   SameSite=Strict, Secure unless configured off); the database keeps only its SHA-256.
//!   Signing in always issues a new token and deletes the old session, so a token planted
//!   before sign-in (session fixation) is worthless afterwards.
//! - CSRF: every session, anonymous ones included, has its own random token; every form
//!   carries it in a hidden `csrf` field and every state-changing request is refused
//!   unless it matches (JSON requests send it in an `X-CSRF-Token` header).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::http::header::{HeaderMap, AUTHORIZATION, COOKIE};
use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::{AccountId, Db, DbError, SessionRow};
use crate::settings::{CookieSecurity, PasswordCost};

pub const SESSION_COOKIE: &str = "textgate_session";

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the password must have at least {min} characters")]
    TooShort { min: usize },
}

pub const MIN_PASSWORD_CHARS: usize = 10;

fn argon2(cost: PasswordCost) -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str, cost: PasswordCost) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort {
            min: MIN_PASSWORD_CHARS,
        });
    }
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2(cost)?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string (its own parameters are used).
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A fresh random token, 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison of two tokens.
pub fn tokens_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session token from the request's cookies, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The token of an `Authorization: Bearer …` header, if any (any other form is ignored
/// and the request is treated as a cookie request).
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    Some(token.to_string())
}

/// The `Set-Cookie` value for a session token.
pub fn session_cookie(token: &str, security: CookieSecurity, max_age_seconds: i64) -> String {
    let secure = match security {
        CookieSecurity::HttpsOnly => "; Secure",
        CookieSecurity::AllowPlainHttp => "",
    };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}"
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(security: CookieSecurity) -> String {
    session_cookie("", security, 0)
}

/// A session just created: the cookie token and its row.
pub struct NewSession {
    pub token: String,
    pub row: SessionRow,
}

/// Creates a session (anonymous when `account_id` is `None`).
pub async fn create_session(
    db: &Db,
    account_id: Option<AccountId>,
    now: DateTime<Utc>,
    lifetime: chrono::TimeDelta,
) -> Result<NewSession, DbError> {
    let token = random_token();
    let hash = token_hash(&token);
    let csrf = random_token();
    let expires_at = now + lifetime;
    db.insert_session(&hash, account_id, &csrf, now, expires_at)
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn cost() -> PasswordCost {
        PasswordCost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery", cost()).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a phc string"));
    }

    #[test]
    fn short_passwords_are_refused() {
        let err = hash_password("short", cost()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the password must have at least 10 characters"
        );
    }

    #[test]
    fn session_token_is_read_only_in_its_exact_form() {
        let token = random_token();
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("other=1; {SESSION_COOKIE}={token}")).unwrap(),
        );
        assert_eq!(session_token(&headers), Some(token));
        let mut bad = HeaderMap::new();
        bad.insert(
            COOKIE,
            HeaderValue::from_static("textgate_session=' OR 1=1 --"),
        );
        assert_eq!(session_token(&bad), None);
    }

    #[test]
    fn cookie_attributes() {
        expect_test::expect![[
            r#"textgate_session=ab; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure"#
        ]]
        .assert_eq(&session_cookie("ab", CookieSecurity::HttpsOnly, 60));
        expect_test::expect![[
            r#"textgate_session=ab; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"#
        ]]
        .assert_eq(&session_cookie("ab", CookieSecurity::AllowPlainHttp, 60));
    }

    #[test]
    fn token_comparison() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
        assert!(!tokens_match("", ""));
    }
}
