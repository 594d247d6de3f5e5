//! The one error type of the store, worded for the person reading a log.

/// What went wrong in a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL {scheme:?} is not supported: use postgres://… or sqlite://PATH")]
    UnsupportedUrl { scheme: String },
    #[error("cannot open the {backend} database: {source}")]
    Connect {
        backend: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("applying the database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error(
        "outbound text {id} is no longer leased by this worker \
         (the lease expired and the text was taken again, or it was already finished)"
    )]
    LeaseLost { id: i64 },
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: i64 },
    #[error("conversation {id} does not belong to gateway {gateway:?}")]
    WrongGateway { id: i64, gateway: String },
    #[error("stored {what} is malformed: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("writing the transcript archive failed: {0}")]
    Archive(#[from] zip::result::ZipError),
    #[error("writing the transcript archive failed: {0}")]
    ArchiveIo(#[from] std::io::Error),
}

impl StoreError {
    pub(crate) fn corrupt(what: &'static str, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            what,
            detail: detail.into(),
        }
    }
}
