//! What can go wrong asking the alert service for something: the service's refusals carry
//! the message for the person who asked (the web shows it as it is); the rest is for the
//! log.

use textgate_alerts::Forbidden;
use textgate_store::StoreError;

/// An error of the alert service.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The request breaks a rule or has a mistake in it; the message says which, in words
    /// for the person who asked ("Please enter your mobile number.").
    #[error("{0}")]
    Refused(String),
    /// The actor's roles do not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// No such account, token or campaign (or none the actor may see).
    #[error("not found")]
    NotFound,
    #[error("database query failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored {what} is damaged: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<Forbidden> for AlertError {
    fn from(f: Forbidden) -> AlertError {
        AlertError::Forbidden(f.to_string())
    }
}

impl AlertError {
    /// Whether the person who asked can fix it (a refusal, a missing role, an unknown
    /// id), as opposed to a failure of the service or its database.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            AlertError::Refused(_) | AlertError::Forbidden(_) | AlertError::NotFound
        )
    }

    pub(crate) fn refused(message: impl Into<String>) -> AlertError {
        AlertError::Refused(message.into())
    }
}
