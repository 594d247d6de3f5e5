//! Form bodies as name/value pairs, so a missing or repeated field is the handler's
//! decision (a clear message) rather than a framework rejection.

use axum::extract::{FromRequest, Request};
use axum::Form;

use crate::state::{WebError, WebState};

/// An `application/x-www-form-urlencoded` body.
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or empty.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Every value of `name` (checkboxes).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FromRequest<WebState> for Fields {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &WebState) -> Result<Fields, WebError> {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|e| WebError::BadRequest(format!("The form could not be read: {e}")))?;
        Ok(Fields(pairs))
    }
}
