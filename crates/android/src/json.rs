//! Reading the app's JSON by hand, field by field, so that every error names the field
//! that was wrong (`payload.receivedAt`, `recipients[2].state`) in the caller's terms.
//!
//! The body is first read into a [`serde_json::Value`]: serde_json rejects bad UTF-8 and
//! nesting deeper than its recursion limit with an error, never a panic, so what is left
//! here is walking a tree whose every access is checked.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

/// Why a body from the app (a send response, a message state, a webhook) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON at all: empty, cut short, not UTF-8, or not JSON syntax.
    #[error("body is not JSON: {0}")]
    NotJson(String),
    /// A field the contract requires is absent or `null`.
    #[error("`{field}` is missing")]
    Missing { field: String },
    /// A field is there with the wrong JSON type.
    #[error("`{field}` should be {expected}, found {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    /// A field has the right type but a value the contract does not allow.
    #[error("`{field}` is invalid: {reason}")]
    Invalid { field: String, reason: String },
}

/// Reads `bytes` as one JSON document.
pub(crate) fn document(bytes: &[u8]) -> Result<Value, ParseError> {
    serde_json::from_slice(bytes).map_err(|e| ParseError::NotJson(e.to_string()))
}

/// The JSON type of `value`, as error messages name it.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object together with its path from the document's root, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

/// `value` as an object found at `path` (`""` for the root).
pub(crate) fn object<'a>(value: &'a Value, path: &'a str) -> Result<Obj<'a>, ParseError> {
    match value {
        Value::Object(map) => Ok(Obj { map, path }),
        other => Err(ParseError::WrongType {
            field: if path.is_empty() {
                "(body)".to_owned()
            } else {
                path.to_owned()
            },
            expected: "an object",
            found: kind(other),
        }),
    }
}

impl<'a> Obj<'a> {
    /// The full path of the member `name`.
    pub(crate) fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// The member `name`, with `null` read as absent: the app's serializer (Gson) leaves
    /// nulls out, but the Go server writes some of them.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        match self.map.get(name) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    pub(crate) fn required(&self, name: &str) -> Result<&'a Value, ParseError> {
        self.get(name).ok_or_else(|| ParseError::Missing {
            field: self.path_of(name),
        })
    }

    fn wrong_type(&self, name: &str, expected: &'static str, found: &Value) -> ParseError {
        ParseError::WrongType {
            field: self.path_of(name),
            expected,
            found: kind(found),
        }
    }

    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<&'a str>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.wrong_type(name, "a string", other)),
        }
    }

    pub(crate) fn str(&self, name: &str) -> Result<&'a str, ParseError> {
        self.opt_str(name)?.ok_or_else(|| ParseError::Missing {
            field: self.path_of(name),
        })
    }

    /// The first of `names` that is present, as a string; missing names the first.
    pub(crate) fn str_or(&self, names: &[&str]) -> Result<&'a str, ParseError> {
        for name in names {
            if let Some(s) = self.opt_str(name)? {
                return Ok(s);
            }
        }
        Err(ParseError::Missing {
            field: self.path_of(names.first().copied().unwrap_or("")),
        })
    }

    pub(crate) fn opt_i64(&self, name: &str) -> Result<Option<i64>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some(value @ Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => Err(self.wrong_type(name, "an integer", value)),
            },
            Some(other) => Err(self.wrong_type(name, "an integer", other)),
        }
    }

    pub(crate) fn opt_object(
        &self,
        name: &str,
        path: &'a str,
    ) -> Result<Option<Obj<'a>>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj { map, path })),
            Some(other) => Err(self.wrong_type(name, "an object", other)),
        }
    }

    pub(crate) fn array(&self, name: &str) -> Result<&'a [Value], ParseError> {
        match self.required(name)? {
            Value::Array(items) => Ok(items),
            other => Err(self.wrong_type(name, "an array", other)),
        }
    }

    /// The members in the document's order.
    pub(crate) fn members(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.map.iter()
    }

    /// A required timestamp. The app writes `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` (its Gson
    /// configuration, `extensions/GsonBuilder.kt`), the server RFC 3339; both are RFC 3339.
    pub(crate) fn time(&self, name: &str) -> Result<DateTime<FixedOffset>, ParseError> {
        let text = self.str(name)?;
        parse_time(text).map_err(|reason| ParseError::Invalid {
            field: self.path_of(name),
            reason,
        })
    }
}

pub(crate) fn parse_time(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("{} is not an RFC 3339 time: {e}", shorten(text)))
}

/// `text` quoted and cut to a length fit for an error message: bodies are untrusted and
/// can be large.
pub(crate) fn shorten(text: &str) -> String {
    const LIMIT: usize = 40;
    if text.chars().count() <= LIMIT {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head:?}…")
    }
}
