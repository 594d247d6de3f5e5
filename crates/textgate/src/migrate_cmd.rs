//! `textgate migrate`: opens the configured database and applies the migrations this build
//! carries, so an upgrade's schema change can run (and fail) before the daemon restarts.

use std::path::PathBuf;

use anyhow::Context;
use textgate::config::{process_environment, Config, DEFAULT_CONFIG_PATH};
use textgate::exit::{mark, ExitStatusExt, Status};
use textgate_store::{BackendKind, Store, StoreError};

/// Arguments of `textgate migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The configuration file; its `[database] url` names the database.
    #[arg(long, short, value_name = "PATH", env = "TEXTGATE_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
}

pub fn run(args: &MigrateArgs) -> anyhow::Result<()> {
    let loaded = Config::load(&args.config, &process_environment()).or_exit(Status::BadInput)?;
    let url = loaded.config.database.url.expose().to_owned();
    let shown = without_password(&url);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .or_exit(Status::Failure)?;
    runtime.block_on(async {
        let store = Store::connect(&url)
            .await
            .map_err(|e| classify(e, &shown))?;
        let backend = match store.kind() {
            BackendKind::Postgres => "PostgreSQL",
            BackendKind::Sqlite => "SQLite",
        };
        println!("database: {shown} ({backend})");
        store
            .migrate()
            .await
            .map_err(said_once)
            .with_context(|| format!("applying migrations to {shown}"))
            .or_exit(Status::Failure)?;
        store.close().await;
        // The store applies what is missing and does not say how much that was.
        println!("migrations applied: schema up to date");
        Ok(())
    })
}

/// A URL the store cannot use is a configuration mistake; anything else is the database.
fn classify(error: StoreError, shown: &str) -> anyhow::Error {
    let status = match error {
        StoreError::UnsupportedUrl { .. } => Status::BadInput,
        _ => Status::Failure,
    };
    mark(
        status,
        said_once(error).context(format!("opening the database {shown}")),
    )
}

/// A store error as one message: its text already ends with its cause, which printing the
/// whole chain would repeat.
pub fn said_once(error: StoreError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

/// The URL for printing: a PostgreSQL URL usually carries a password, which has no place
/// on a terminal or in a log.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    // `?password=...` is the other place a PostgreSQL URL can carry one.
    let path = match path.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some(("password", _)) => "password=***".to_owned(),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => path.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn passwords_are_not_printed() {
        let shown = [
            "postgres://textgate:s3cret@db.example:5432/textgate",
            "postgres://postgres@127.0.0.1/postgres",
            "sqlite://textgate.sqlite3?mode=rwc",
            "postgres://u:p@h/db?password=x",
        ]
        .map(without_password)
        .join("\n");
        expect![[r#"
            postgres://textgate:***@db.example:5432/textgate
            postgres://postgres@127.0.0.1/postgres
            sqlite://textgate.sqlite3?mode=rwc
            postgres://u:***@h/db?password=***"#]]
        .assert_eq(&shown);
    }
}
