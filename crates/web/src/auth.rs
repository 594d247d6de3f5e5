//! The console's side of sessions and CSRF: reading the session cookie and the bearer
//! token from a request, writing the cookie, comparing CSRF tokens. The sessions' rows,
//! the tokens' hashes and the passwords are the alert service's.
//!
//! - Sessions: a random 256-bit token in a `textgate_session` cookie (HttpOnly,
//!   SameSite=Strict, Secure unless configured off); the service keeps only its SHA-256.
//!   Signing in always issues a new token and deletes the old session, so a token planted
//!   before sign-in (session fixation) is worthless afterwards.
//! - CSRF: every session, anonymous ones included, has its own random token; every form
//!   carries it in a hidden `csrf` field and every state-changing request is refused
//!   unless it matches (JSON requests send it in an `X-CSRF-Token` header).

use axum::http::header::{HeaderMap, AUTHORIZATION, COOKIE};

use crate::settings::CookieSecurity;

pub const SESSION_COOKIE: &str = "textgate_session";

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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn session_token_is_read_only_in_its_exact_form() {
        let token = "0123456789abcdef".repeat(4);
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
