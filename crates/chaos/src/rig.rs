//! What a run starts and what the faults strike: a throw-away Prosody with the gateway's
//! component and the librarian's account, a fresh PostgreSQL database or SQLite file, the
//! modem simulator on a pseudo-terminal reached through a symlink (so the daemon finds the
//! modem again after a link drop, when the terminal comes back under another name), and
//! the daemon as a child process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use textgate_modemsim::{SimConfig, SimHandle};
use textgate_testkit::prosody::{Prosody, HOST};
use textgate_testkit::{FreshPostgres, FreshSqlite};
use tokio::task::JoinHandle;

use crate::clock::RunClock;
use crate::daemon::Daemon;
use crate::error::ChaosError;
use crate::evidence::StoreReader;

/// The gateway's component domain.
pub const GATEWAY: &str = "sms.library.test";
/// The librarian who answers every text.
pub const LIBRARIAN: &str = "alice";
pub const PASSWORD: &str = "chaos";
/// How long the daemon, Prosody or the simulator may take to (re)start.
pub const START: Duration = Duration::from_secs(60);

/// Which of the daemon's back ends holds the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Postgres,
    Sqlite,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Postgres => "postgres",
            StoreKind::Sqlite => "sqlite",
        }
    }

    pub fn parse(name: &str) -> Option<StoreKind> {
        match name {
            "postgres" | "postgresql" => Some(StoreKind::Postgres),
            "sqlite" => Some(StoreKind::Sqlite),
            _ => None,
        }
    }
}

enum Database {
    Postgres(FreshPostgres),
    Sqlite(FreshSqlite),
}

impl Database {
    fn url(&self) -> &str {
        match self {
            Database::Postgres(db) => db.url(),
            Database::Sqlite(db) => db.url(),
        }
    }
}

/// Everything running for one run.
pub struct Rig {
    pub prosody: Prosody,
    pub sim: SimHandle,
    pub daemon: Daemon,
    pub store: StoreKind,
    database: Database,
    sim_task: JoinHandle<()>,
    /// Holds the daemon's configuration and the modem's symlink.
    dir: tempfile::TempDir,
}

impl Rig {
    /// Starts everything and waits until the daemon is ready (component connected, modem
    /// initialised).
    pub async fn start(
        store: StoreKind,
        program: &Path,
        seed: u64,
        clock: RunClock,
    ) -> Result<Rig, ChaosError> {
        let dir = tempfile::tempdir().map_err(ChaosError::TempDir)?;
        let prosody = Prosody::start(&[GATEWAY]).await?;
        prosody.register(LIBRARIAN, PASSWORD).await?;
        let database = match store {
            StoreKind::Postgres => {
                Database::Postgres(FreshPostgres::create("textgate_chaos").await?)
            }
            StoreKind::Sqlite => Database::Sqlite(FreshSqlite::create("textgate.sqlite3")?),
        };
        let sim = SimHandle::new(sim_config(seed));
        let link = dir.path().join("modem");
        let sim_task = tokio::spawn({
            let sim = sim.clone();
            let link = link.clone();
            async move {
                if let Err(e) = textgate_modemsim::pty::serve_pty(sim, Some(link)).await {
                    // The report will show the daemon without a modem; say why here.
                    eprintln!("the simulator's pseudo-terminal failed: {e}");
                }
            }
        });
        let mut pty = sim.pty_path();
        tokio::time::timeout(START, pty.wait_for(Option::is_some))
            .await
            .map_err(|_| ChaosError::NoPty(START))?
            .map_err(|_| ChaosError::NoPty(START))?;
        let config = dir.path().join("textgate.toml");
        let text = configuration(
            database.url(),
            &prosody.component_addr(),
            &prosody.secret(GATEWAY),
            &link,
        );
        std::fs::write(&config, text).map_err(|source| ChaosError::Write {
            path: config.clone(),
            source,
        })?;
        let daemon = Daemon::start(program, &config, clock)?;
        let rig = Rig {
            prosody,
            sim,
            daemon,
            store,
            database,
            sim_task,
            dir,
        };
        rig.daemon.wait_ready(START).await?;
        Ok(rig)
    }

    /// A reader of the daemon's store, for the evidence.
    pub async fn store_reader(&self) -> Result<StoreReader, ChaosError> {
        StoreReader::connect(self.store, self.database.url()).await
    }

    /// Stops everything the run started: the daemon politely, then Prosody, the simulator
    /// and the database.
    pub async fn stop(mut self) {
        let _ = self.daemon.terminate(Duration::from_secs(15)).await;
        self.prosody.stop(Duration::from_secs(5)).await;
        self.sim_task.abort();
        if let Database::Postgres(db) = self.database {
            if let Err(e) = db.cleanup().await {
                eprintln!("the run's database was not dropped: {e}");
            }
        }
        drop(self.dir);
    }

    /// Where the run's files are (the daemon's configuration, the modem's link).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

/// A modem with a quick but not instant radio, so a fault can catch a part on the air;
/// a network that tries again soon after a text was refused; a seeded simulator.
fn sim_config(seed: u64) -> SimConfig {
    SimConfig {
        send_latency: Duration::from_millis(300),
        status_report_delay: Duration::from_millis(500),
        ack_timeout: Duration::from_secs(5),
        network_retry_delay: Duration::from_secs(3),
        periodic_report_interval: None,
        reboot_outage: Some(Duration::from_secs(1)),
        seed,
        ..SimConfig::default()
    }
}

/// The daemon's configuration: JSON logs (one line per event, with every span's fields,
/// so a text's id finds its lines), one gateway with the librarian as its operator, and an
/// outbox that retries quickly and long enough to outlast any fault.
fn configuration(database_url: &str, component: &str, secret: &str, modem: &Path) -> String {
    format!(
        r#"# Generated by textgate-chaos.
[database]
url = "{database_url}"

[http]
listen = "127.0.0.1:0"

[log]
format = "json"
level = "info"

[[gateway]]
name = "library"
domain = "{GATEWAY}"
secret = "{secret}"
server = "{component}"
operators = ["{LIBRARIAN}@{HOST}"]
available_shows = ["available", "chat", "away"]
default_region = "US"

[gateway.outbox]
max_attempts = 100
initial_backoff = "100ms"
max_backoff = "2s"

[gateway.driver]
kind = "at"
device = "{modem}"
"#,
        modem = modem.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_configuration_is_valid() {
        let text = configuration(
            "postgres://postgres@127.0.0.1:5432/chaos",
            "127.0.0.1:5347",
            "s3cret",
            Path::new("/tmp/chaos/modem"),
        );
        let loaded = textgate::config::Config::from_toml(
            &text,
            &std::collections::BTreeMap::new(),
            "chaos",
            Path::new("/tmp/chaos"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.config.gateways.len(), 1);
    }
}
