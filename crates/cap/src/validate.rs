//! The rules of CAP 1.2 that its XML schema cannot express, and the few things our writer
//! could not put into a valid document (a year of five digits, a control character).
//!
//! [`Alert::problems`] lists every problem; [`Alert::validate`] returns the first.

use chrono::{DateTime, FixedOffset};

use crate::message::Alert;
use crate::time::representable;
use crate::token::{MsgType, Scope};
use crate::xml::is_xml_char;

/// Why an alert is not a valid CAP 1.2 message. The messages count positions from 1 for
/// people; the `info` fields are zero-based indices into [`Alert::info`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A required text is empty.
    #[error("the {field} is empty, but CAP requires a value")]
    Empty {
        /// Which field, e.g. "identifier" or "event of info block 1".
        field: String,
    },
    /// An identifier or sender contains a character CAP forbids there (§3.2.1).
    #[error(
        "the {field} {value:?} contains a space, comma, '<' or '&', which CAP 1.2 does not \
         allow in identifiers and senders"
    )]
    ForbiddenCharacter {
        /// Which field.
        field: String,
        /// Its value.
        value: String,
    },
    /// Scope is Restricted but there is no restriction.
    #[error("the scope is Restricted, so a restriction saying who may see the alert is required")]
    RestrictionMissing,
    /// A restriction is given although scope is not Restricted.
    #[error(
        "a restriction is only allowed when the scope is Restricted, and the scope is {scope}"
    )]
    RestrictionNotAllowed {
        /// The alert's scope.
        scope: Scope,
    },
    /// Scope is Private but there are no addresses.
    #[error("the scope is Private, so at least one address to send the alert to is required")]
    AddressesMissing,
    /// An address that CAP's space-separated, double-quoted list cannot carry.
    #[error(
        "the address {address:?} is empty or contains a double quote, which CAP addresses \
         cannot hold"
    )]
    BadAddress {
        /// The address.
        address: String,
    },
    /// An Update or Cancel names no earlier message.
    #[error("a {msg_type} message must reference at least one earlier message")]
    ReferencesMissing {
        /// The alert's message type.
        msg_type: MsgType,
    },
    /// An info block has no category.
    #[error("info block {} has no category, but CAP requires at least one", .info + 1)]
    NoCategory {
        /// Zero-based index of the info block.
        info: usize,
    },
    /// An info block's language is not a language tag.
    #[error(
        "info block {} has language {language:?}, which is not a language tag such as en-US",
        .info + 1
    )]
    BadLanguage {
        /// Zero-based index of the info block.
        info: usize,
        /// The language given.
        language: String,
    },
    /// A time that CAP's date-time form cannot carry.
    #[error("the {field} time cannot be written in CAP: {reason}")]
    BadTime {
        /// Which time, e.g. "sent" or "expires of info block 1".
        field: String,
        /// Why.
        reason: &'static str,
    },
    /// A text contains a character XML cannot carry at all.
    #[error("the {field} contains a control character that XML cannot carry")]
    ControlCharacter {
        /// Which field.
        field: String,
    },
}

impl Alert {
    /// Checks the rules the CAP 1.2 schema cannot express; the first problem found.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// Every problem [`Alert::validate`] checks for, in document order.
    pub fn problems(&self) -> Vec<ValidationError> {
        let mut found = Vec::new();
        cap_name(&mut found, "identifier", &self.identifier);
        cap_name(&mut found, "sender", &self.sender);
        time(&mut found, "sent", &self.sent);
        match (self.scope, &self.restriction) {
            (Scope::Restricted, None) => found.push(ValidationError::RestrictionMissing),
            (Scope::Restricted, Some(r)) if r.trim().is_empty() => {
                found.push(ValidationError::RestrictionMissing)
            }
            (Scope::Public | Scope::Private, Some(_)) => {
                found.push(ValidationError::RestrictionNotAllowed { scope: self.scope })
            }
            _ => {}
        }
        if self.scope == Scope::Private && self.addresses.is_empty() {
            found.push(ValidationError::AddressesMissing);
        }
        for address in &self.addresses {
            if address.trim().is_empty() || address.contains('"') {
                found.push(ValidationError::BadAddress {
                    address: address.clone(),
                });
            }
        }
        if matches!(self.msg_type, MsgType::Update | MsgType::Cancel) && self.references.is_empty()
        {
            found.push(ValidationError::ReferencesMissing {
                msg_type: self.msg_type,
            });
        }
        for (i, reference) in self.references.iter().enumerate() {
            let n = i + 1;
            cap_name(
                &mut found,
                &format!("sender of reference {n}"),
                &reference.sender,
            );
            cap_name(
                &mut found,
                &format!("identifier of reference {n}"),
                &reference.identifier,
            );
            time(
                &mut found,
                &format!("sent of reference {n}"),
                &reference.sent,
            );
        }
        for (i, info) in self.info.iter().enumerate() {
            let n = i + 1;
            if info.categories.is_empty() {
                found.push(ValidationError::NoCategory { info: i });
            }
            if !is_language_tag(&info.language) {
                found.push(ValidationError::BadLanguage {
                    info: i,
                    language: info.language.clone(),
                });
            }
            if info.event.trim().is_empty() {
                found.push(ValidationError::Empty {
                    field: format!("event of info block {n}"),
                });
            }
            for (name, t) in [
                ("effective", &info.effective),
                ("onset", &info.onset),
                ("expires", &info.expires),
            ] {
                if let Some(t) = t {
                    time(&mut found, &format!("{name} of info block {n}"), t);
                }
            }
            for (j, area) in info.areas.iter().enumerate() {
                if area.area_desc.trim().is_empty() {
                    found.push(ValidationError::Empty {
                        field: format!("description of area {} in info block {n}", j + 1),
                    });
                }
            }
        }
        self.control_characters(&mut found);
        found
    }

    fn control_characters(&self, found: &mut Vec<ValidationError>) {
        let mut check = |field: String, text: &str| {
            if !text.chars().all(is_xml_char) {
                found.push(ValidationError::ControlCharacter { field });
            }
        };
        check(
            "restriction".into(),
            self.restriction.as_deref().unwrap_or(""),
        );
        check("addresses".into(), &self.addresses.concat());
        check("note".into(), self.note.as_deref().unwrap_or(""));
        check("incidents".into(), self.incidents.as_deref().unwrap_or(""));
        for (i, info) in self.info.iter().enumerate() {
            let n = i + 1;
            check(format!("event of info block {n}"), &info.event);
            for (name, text) in [
                ("sender name", &info.sender_name),
                ("headline", &info.headline),
                ("description", &info.description),
                ("instruction", &info.instruction),
                ("web address", &info.web),
                ("contact", &info.contact),
            ] {
                check(
                    format!("{name} of info block {n}"),
                    text.as_deref().unwrap_or(""),
                );
            }
            for (j, area) in info.areas.iter().enumerate() {
                check(
                    format!("description of area {} in info block {n}", j + 1),
                    &area.area_desc,
                );
            }
        }
    }
}

/// CAP 1.2 §3.2.1: identifiers and senders "MUST NOT include spaces, commas or restricted
/// characters (< and &)". Control characters are whitespace here too.
fn cap_name(found: &mut Vec<ValidationError>, field: &str, value: &str) {
    if value.is_empty() {
        found.push(ValidationError::Empty {
            field: field.to_owned(),
        });
    } else if value
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '<' | '&'))
    {
        found.push(ValidationError::ForbiddenCharacter {
            field: field.to_owned(),
            value: value.to_owned(),
        });
    }
}

fn time(found: &mut Vec<ValidationError>, field: &str, t: &DateTime<FixedOffset>) {
    if let Some(reason) = representable(t) {
        found.push(ValidationError::BadTime {
            field: field.to_owned(),
            reason,
        });
    }
}

/// The `xs:language` form the schema checks: `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::is_language_tag;

    #[test]
    fn language_tags() {
        for ok in ["en", "en-US", "zh-Hant-TW", "x-klingon"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "-en", "en-", "toolongtag", "e1", "en US", "en_US"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
