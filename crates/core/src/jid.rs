//! Patron JIDs: a [`PatronAddress`] as the localpart of a JID in the gateway's domain, with
//! XEP-0106 escaping for the characters a localpart cannot hold, and the way back.
//!
//! `+` is allowed in a localpart, so E.164 numbers need no escaping:
//! `+15551234567@sms.library.example`. Alphanumeric senders may contain spaces, `@`, `/` and
//! the like, which XEP-0106 maps to `\20`, `\40`, `\2f` ...
//!
//! XMPP servers case-fold localparts (nodeprep), so an alphanumeric sender comes back from a
//! client in lower case. That is harmless: such senders cannot be answered by SMS anyway.

use std::fmt;

use crate::phone::{is_e164_digits, short_code, PatronAddress};

/// RFC 7622: a localpart is at most 1023 octets.
const MAX_LOCALPART_BYTES: usize = 1023;

/// The characters XEP-0106 escapes, with their escape codes (lower-case hex, as the XEP
/// writes them).
const ESCAPES: [(char, &str); 10] = [
    (' ', "20"),
    ('"', "22"),
    ('&', "26"),
    ('\'', "27"),
    ('/', "2f"),
    (':', "3a"),
    ('<', "3c"),
    ('>', "3e"),
    ('@', "40"),
    ('\\', "5c"),
];

/// What is wrong with a JID or localpart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JidError {
    #[error("empty localpart: a patron JID needs a phone number before the '@'")]
    EmptyLocalpart,
    #[error("localpart is {0} bytes long after escaping, the limit is 1023")]
    LocalpartTooLong(usize),
    #[error("a localpart cannot start or end with a space (XEP-0106)")]
    EdgeSpace,
    #[error("a localpart cannot contain control character U+{0:04X}")]
    ControlCharacter(u32),
    #[error("{jid:?} has no localpart: expected something like +15551234567@{domain}")]
    NoLocalpart { jid: String, domain: String },
    #[error("{jid:?} is not in the gateway's domain {domain:?}")]
    WrongDomain { jid: String, domain: String },
    #[error("{0:?} is not a valid JID: {1}")]
    Malformed(String, &'static str),
}

/// A bare JID (`localpart@domain` or `domain`), as text. textgate's crates pass JIDs around
/// in this form so that no XMPP library type leaks beyond the `xmpp` crate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BareJid(String);

impl BareJid {
    /// Checks the shape (non-empty domain, at most one `@` before it, no resource) and
    /// lower-cases it, which is what servers do to the domain and, for ASCII, to the
    /// localpart. Full stringprep is the server's job.
    pub fn new(jid: &str) -> Result<Self, JidError> {
        let malformed = |why| Err(JidError::Malformed(jid.to_owned(), why));
        if jid.contains('/') {
            return malformed("a bare JID has no resource ('/...')");
        }
        let (local, domain) = match jid.split_once('@') {
            Some((local, domain)) => (Some(local), domain),
            None => (None, jid),
        };
        if domain.is_empty() || domain.contains('@') {
            return malformed("the domain after '@' is empty or contains '@'");
        }
        if local.is_some_and(str::is_empty) {
            return malformed("the localpart before '@' is empty");
        }
        if let Some(c) = jid.chars().find(|c| c.is_control() || c.is_whitespace()) {
            return Err(JidError::ControlCharacter(u32::from(c)));
        }
        Ok(BareJid(jid.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`, or the whole JID for a domain JID.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or(&self.0, |(_, d)| d)
    }

    /// The part before `@`, if any.
    pub fn localpart(&self) -> Option<&str> {
        self.0.split_once('@').map(|(l, _)| l)
    }
}

impl fmt::Display for BareJid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Escapes a string for use as a JID localpart (XEP-0106 section 4.2). A backslash is only
/// escaped when it starts what would otherwise read as an escape sequence, so `a\b` stays as
/// it is but `a\20b` becomes `a\5c20b`.
pub fn escape_localpart(s: &str) -> Result<String, JidError> {
    if s.is_empty() {
        return Err(JidError::EmptyLocalpart);
    }
    if s.starts_with(' ') || s.ends_with(' ') {
        return Err(JidError::EdgeSpace);
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(JidError::ControlCharacter(u32::from(c)));
    }
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !starts_escape(&s[i + 1..]) => out.push('\\'),
            _ => match ESCAPES.iter().find(|(raw, _)| *raw == c) {
                Some((_, code)) => {
                    out.push('\\');
                    out.push_str(code);
                }
                None => out.push(c),
            },
        }
    }
    if out.len() > MAX_LOCALPART_BYTES {
        return Err(JidError::LocalpartTooLong(out.len()));
    }
    Ok(out)
}

/// Reverses [`escape_localpart`]: every `\xx` that is one of the ten escape codes becomes its
/// character; any other backslash is kept. Never fails.
pub fn unescape_localpart(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        match escape_at(after) {
            Some(c) => {
                out.push(c);
                rest = &after[2..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character escaped by the two hex digits at the start of `s`, if they are one of the
/// ten codes (case-insensitive, since clients differ).
fn escape_at(s: &str) -> Option<char> {
    let code = s.get(..2)?;
    ESCAPES
        .iter()
        .find(|(_, c)| c.eq_ignore_ascii_case(code))
        .map(|(raw, _)| *raw)
}

fn starts_escape(s: &str) -> bool {
    escape_at(s).is_some()
}

impl PatronAddress {
    /// The patron's JID in the gateway's domain, e.g. `+15551234567@sms.library.example`.
    pub fn to_jid(&self, gateway_domain: &str) -> Result<BareJid, JidError> {
        let local = match self {
            PatronAddress::E164(s) | PatronAddress::ShortCode(s) => s.clone(),
            PatronAddress::Alphanumeric(s) => escape_localpart(s)?,
        };
        Ok(BareJid(format!(
            "{local}@{}",
            gateway_domain.to_lowercase()
        )))
    }

    /// Reads a patron back from a JID localpart: `+` and 7-15 digits is an E.164 number,
    /// 3-8 digits a short code, anything else an (unescaped) alphanumeric sender.
    pub fn from_localpart(localpart: &str) -> Result<Self, JidError> {
        if localpart.is_empty() {
            return Err(JidError::EmptyLocalpart);
        }
        if localpart.len() > MAX_LOCALPART_BYTES {
            return Err(JidError::LocalpartTooLong(localpart.len()));
        }
        if let Some(digits) = localpart.strip_prefix('+') {
            if is_e164_digits(digits) {
                return Ok(PatronAddress::E164(localpart.to_owned()));
            }
        }
        if let Some(code) = short_code(localpart) {
            return Ok(PatronAddress::ShortCode(code));
        }
        Ok(PatronAddress::Alphanumeric(unescape_localpart(localpart)))
    }

    /// Reads a patron from a JID that must be in `gateway_domain` (any resource is ignored).
    pub fn from_jid(jid: &str, gateway_domain: &str) -> Result<Self, JidError> {
        let bare = jid.split_once('/').map_or(jid, |(bare, _)| bare);
        let Some((local, domain)) = bare.split_once('@') else {
            return Err(JidError::NoLocalpart {
                jid: jid.to_owned(),
                domain: gateway_domain.to_owned(),
            });
        };
        if !domain.eq_ignore_ascii_case(gateway_domain) {
            return Err(JidError::WrongDomain {
                jid: jid.to_owned(),
                domain: gateway_domain.to_owned(),
            });
        }
        Self::from_localpart(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};
    use proptest::prelude::*;

    fn check_escape(input: &str, expect: Expect) {
        let actual = match escape_localpart(input) {
            Ok(escaped) => escaped,
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn escaping_follows_xep_0106() {
        check_escape("InternetSMS", expect!["InternetSMS"]);
        check_escape("space cadet", expect![[r#"space\20cadet"#]]);
        check_escape(
            r#"call me "ishmael""#,
            expect![[r#"call\20me\20\22ishmael\22"#]],
        );
        check_escape("at&t guy", expect![[r#"at\26t\20guy"#]]);
        check_escape("d'artagnan", expect![[r#"d\27artagnan"#]]);
        check_escape("/.fanboy", expect![[r#"\2f.fanboy"#]]);
        check_escape("::foo::", expect![[r#"\3a\3afoo\3a\3a"#]]);
        check_escape("<foo>", expect![[r#"\3cfoo\3e"#]]);
        check_escape("user@host", expect![[r#"user\40host"#]]);
        check_escape(r"c:\net", expect![[r#"c\3a\net"#]]);
        check_escape(r"c:\\net", expect![[r#"c\3a\\net"#]]);
        check_escape(r"c:\cool stuff", expect![[r#"c\3a\cool\20stuff"#]]);
        check_escape(r"c:\5commas", expect![[r#"c\3a\5c5commas"#]]);
        check_escape(r"\20", expect![[r#"\5c20"#]]);
        check_escape(
            " lead",
            expect!["error: a localpart cannot start or end with a space (XEP-0106)"],
        );
        check_escape(
            "trail ",
            expect!["error: a localpart cannot start or end with a space (XEP-0106)"],
        );
        check_escape(
            "",
            expect!["error: empty localpart: a patron JID needs a phone number before the '@'"],
        );
        check_escape(
            "bell\u{7}",
            expect!["error: a localpart cannot contain control character U+0007"],
        );
        check_escape(
            &"x".repeat(1024),
            expect!["error: localpart is 1024 bytes long after escaping, the limit is 1023"],
        );
    }

    fn check_jid(jid: &str, expect: Expect) {
        let actual = match PatronAddress::from_jid(jid, "sms.library.test") {
            Ok(address) => format!("{address:?}"),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn jids_back_to_patrons() {
        check_jid(
            "+15551234567@sms.library.test",
            expect![[r#"E164("+15551234567")"#]],
        );
        check_jid(
            "+15551234567@SMS.Library.Test/res",
            expect![[r#"E164("+15551234567")"#]],
        );
        check_jid("72345@sms.library.test", expect![[r#"ShortCode("72345")"#]]);
        check_jid(
            r"my\20bank@sms.library.test",
            expect![[r#"Alphanumeric("my bank")"#]],
        );
        check_jid(
            r"a\b\5c20@sms.library.test",
            expect![[r#"Alphanumeric("a\\b\\20")"#]],
        );
        check_jid(
            r"trailing\@sms.library.test",
            expect![[r#"Alphanumeric("trailing\\")"#]],
        );
        check_jid("+12@sms.library.test", expect![[r#"Alphanumeric("+12")"#]]);
        check_jid(
            "sms.library.test",
            expect![[
                r#"error: "sms.library.test" has no localpart: expected something like +15551234567@sms.library.test"#
            ]],
        );
        check_jid(
            "+15551234567@evil.test",
            expect![[
                r#"error: "+15551234567@evil.test" is not in the gateway's domain "sms.library.test""#
            ]],
        );
        check_jid(
            "@sms.library.test",
            expect!["error: empty localpart: a patron JID needs a phone number before the '@'"],
        );
    }

    #[test]
    fn patrons_to_jids() {
        let e164 = PatronAddress::E164("+15551234567".into());
        assert_eq!(
            e164.to_jid("SMS.library.test").unwrap().as_str(),
            "+15551234567@sms.library.test"
        );
        let alpha = PatronAddress::Alphanumeric("Bob's @Shop".into());
        assert_eq!(
            alpha.to_jid("sms.library.test").unwrap().as_str(),
            r"Bob\27s\20\40Shop@sms.library.test"
        );
    }

    #[test]
    fn bare_jids() {
        let check = |s: &str, expect: Expect| {
            let actual = match BareJid::new(s) {
                Ok(j) => format!("{j} local={:?} domain={}", j.localpart(), j.domain()),
                Err(e) => format!("error: {e}"),
            };
            expect.assert_eq(&actual);
        };
        check(
            "Alice@Library.test",
            expect![[r#"alice@library.test local=Some("alice") domain=library.test"#]],
        );
        check(
            "sms.library.test",
            expect!["sms.library.test local=None domain=sms.library.test"],
        );
        check(
            "alice@library.test/phone",
            expect![[
                r#"error: "alice@library.test/phone" is not a valid JID: a bare JID has no resource ('/...')"#
            ]],
        );
        check(
            "@library.test",
            expect![[
                r#"error: "@library.test" is not a valid JID: the localpart before '@' is empty"#
            ]],
        );
        check(
            "alice@",
            expect![[
                r#"error: "alice@" is not a valid JID: the domain after '@' is empty or contains '@'"#
            ]],
        );
        check(
            "a@b@c",
            expect![[
                r#"error: "a@b@c" is not a valid JID: the domain after '@' is empty or contains '@'"#
            ]],
        );
    }

    proptest! {
        /// Whatever a sender is, escaping then unescaping gives it back, and the escaped form
        /// holds none of the characters a localpart forbids.
        #[test]
        fn escape_round_trips(s in "[a-zA-Z0-9 \"&'/:<>@\\\\€]{1,40}") {
            let s = s.trim().to_owned();
            prop_assume!(!s.is_empty());
            let escaped = escape_localpart(&s).unwrap();
            prop_assert!(!escaped.contains([' ', '"', '&', '\'', '/', ':', '<', '>', '@']));
            prop_assert_eq!(unescape_localpart(&escaped), s);
        }

        /// Any sender the network hands us maps to a JID and back to the same address,
        /// apart from the case folding servers do.
        #[test]
        fn sender_jid_round_trip(raw in "\\+?[0-9A-Za-z &@/:]{1,20}") {
            let region = "US".parse().unwrap();
            let address = PatronAddress::from_sender(&raw, region);
            prop_assume!(!address.as_str().is_empty());
            let jid = address.to_jid("sms.library.test").unwrap();
            let back = PatronAddress::from_jid(jid.as_str(), "sms.library.test").unwrap();
            prop_assert_eq!(back, address);
        }
    }
}
