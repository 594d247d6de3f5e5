//! Alert templates: a ready text per scenario (lockdown, closure, weather, test …) with
//! `{placeholders}` the administrator fills in on the compose page, so the words chosen
//! calmly beforehand are the ones that go out under pressure. A placeholder is a name of
//! lower-case letters, digits and `_` in braces; anything else in braces is text.

use std::collections::BTreeMap;

/// One scenario's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Letters, digits, `-` and `_`: how the compose page names it.
    pub name: String,
    /// What the compose page shows ("Lockdown").
    pub title: String,
    pub text: String,
}

/// Why a template cannot be filled in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("fill in {{{0}}} first")]
    Unfilled(String),
    #[error("{{{0}}} cannot contain braces")]
    BraceInValue(String),
}

impl Template {
    /// Its placeholders, each once, in the order they first appear.
    pub fn placeholders(&self) -> Vec<String> {
        placeholders(&self.text)
    }

    /// The text with every placeholder replaced by its value in `values`; an empty or
    /// missing value is refused, so no alert goes out with `{place}` in it.
    pub fn fill(&self, values: &BTreeMap<String, String>) -> Result<String, TemplateError> {
        let mut text = self.text.clone();
        for name in self.placeholders() {
            let value = values.get(&name).map(|v| v.trim()).unwrap_or_default();
            if value.is_empty() {
                return Err(TemplateError::Unfilled(name));
            }
            if value.contains(['{', '}']) {
                return Err(TemplateError::BraceInValue(name));
            }
            text = text.replace(&format!("{{{name}}}"), value);
        }
        Ok(text)
    }
}

/// The first placeholder left in `text`, if any: a text typed from a template and sent
/// before it was filled in.
pub fn unfilled(text: &str) -> Option<String> {
    placeholders(text).into_iter().next()
}

fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                let is_name = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if is_name && !found.iter().any(|f| f == name) {
                    found.push(name.to_owned());
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lockdown() -> Template {
        Template {
            name: "lockdown".into(),
            title: "Lockdown".into(),
            text: "LOCKDOWN at {place}: lock doors. {place} is closed until {until}. {Not one}"
                .into(),
        }
    }

    #[test]
    fn placeholders_are_names_in_braces_each_once() {
        assert_eq!(lockdown().placeholders(), ["place", "until"]);
        assert_eq!(unfilled("All clear {}, {Hall}"), None);
        assert_eq!(unfilled("All clear at {place"), None);
    }

    #[test]
    fn filling_replaces_every_occurrence_and_refuses_gaps() {
        let mut values = BTreeMap::new();
        values.insert("place".to_owned(), " Hall B ".to_owned());
        assert_eq!(
            lockdown().fill(&values),
            Err(TemplateError::Unfilled("until".into()))
        );
        values.insert("until".to_owned(), "3 pm".to_owned());
        let text = lockdown().fill(&values).expect("filled");
        assert_eq!(
            text,
            "LOCKDOWN at Hall B: lock doors. Hall B is closed until 3 pm. {Not one}"
        );
        assert_eq!(unfilled(&text), None);
        values.insert("until".to_owned(), "{later}".to_owned());
        assert_eq!(
            lockdown().fill(&values),
            Err(TemplateError::BraceInValue("until".into()))
        );
        assert_eq!(
            TemplateError::Unfilled("place".into()).to_string(),
            "fill in {place} first"
        );
    }
}
