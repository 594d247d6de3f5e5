//! The daemon under test as a child process: `textgate run` (built as
//! `textgate-e2e-daemon`) with a generated configuration file, its JSON log lines collected
//! so a test can await what the daemon reports instead of sleeping.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// How long any awaited log line may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// One `[[gateway]]` section.
pub struct GatewaySection {
    pub name: String,
    pub domain: String,
    pub secret: String,
    pub server: String,
    pub operators: Vec<String>,
    pub device: PathBuf,
    /// Extra keys for the gateway table (TOML lines).
    pub extra: String,
    /// Extra keys for its driver table.
    pub driver_extra: String,
    /// Attempts to send one reply before giving up.
    pub max_attempts: u32,
}

impl GatewaySection {
    /// The gateway "library" at [`GW`](super::scene::GW) on the component port `server`
    /// with `secret`, alice its one operator, the modem at `device`, three attempts a reply.
    pub fn for_alice(server: String, secret: &str, device: PathBuf) -> GatewaySection {
        GatewaySection {
            name: "library".into(),
            domain: super::scene::GW.into(),
            secret: secret.into(),
            server,
            operators: vec![super::scene::operator("alice")],
            device,
            extra: String::new(),
            driver_extra: String::new(),
            max_attempts: 3,
        }
    }

    fn toml(&self) -> String {
        let operators: Vec<String> = self.operators.iter().map(|o| format!("{o:?}")).collect();
        format!(
            r#"
[[gateway]]
name = "{name}"
domain = "{domain}"
secret = "{secret}"
server = "{server}"
operators = [{operators}]
available_shows = ["available", "chat"]
default_region = "US"
{extra}
[gateway.outbox]
max_attempts = {max_attempts}
initial_backoff = "100ms"
max_backoff = "1s"

[gateway.driver]
kind = "at"
device = "{device}"
{driver_extra}
"#,
            name = self.name,
            domain = self.domain,
            secret = self.secret,
            server = self.server,
            operators = operators.join(", "),
            extra = self.extra,
            device = self.device.display(),
            driver_extra = self.driver_extra,
            max_attempts = self.max_attempts,
        )
    }
}

pub fn config(database_url: &str, gateways: &[GatewaySection]) -> String {
    config_with(database_url, "", gateways)
}

/// Like [`config`], with extra top-level sections (`[alerts]`...) before the gateways.
pub fn config_with(database_url: &str, sections: &str, gateways: &[GatewaySection]) -> String {
    let mut out = format!(
        r#"[database]
url = "{database_url}"
{sections}

[http]
listen = "127.0.0.1:0"

[log]
format = "json"
level = "info,textgate_modem=debug"
"#
    );
    for gateway in gateways {
        out.push_str(&gateway.toml());
    }
    out
}

/// `config`, made for gateways whose modem is `/dev/null`, with that driver replaced by a
/// bind to the SMSC on 127.0.0.1:`port` (`textgate_testkit::smsc`'s account) plus the
/// driver keys in `extra` (TOML lines).
pub fn on_smsc(config: &str, port: u16, extra: &str) -> String {
    let driver = format!(
        "kind = \"smpp\"\naddress = \"127.0.0.1:{port}\"\nsystem_id = \"textgate\"\npassword = \"secret\"\n{extra}"
    );
    let replaced = config.replace("kind = \"at\"\ndevice = \"/dev/null\"\n", &driver);
    assert_ne!(
        replaced, config,
        "no gateway on /dev/null to put on the SMSC"
    );
    replaced
}

pub struct Daemon {
    dir: tempfile::TempDir,
    child: Option<Child>,
    lines: Arc<Mutex<Vec<String>>>,
    count: watch::Receiver<usize>,
    /// Lines before this index were already matched by [`Daemon::expect_log`].
    cursor: usize,
}

impl Daemon {
    pub fn start(config: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("textgate.toml");
        std::fs::write(&path, config).expect("writing the daemon's configuration");
        let mut daemon = Daemon {
            dir,
            child: None,
            lines: Arc::default(),
            count: watch::channel(0).1,
            cursor: 0,
        };
        daemon.launch();
        daemon
    }

    fn launch(&mut self) {
        let path = self.dir.path().join("textgate.toml");
        let mut child = Command::new(env!("CARGO_BIN_EXE_textgate-e2e-daemon"))
            .arg("--config")
            .arg(&path)
            .arg("--shutdown-timeout")
            .arg("5")
            .env_remove("TEXTGATE_CONFIG")
            .env_remove("TEXTGATE_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the daemon");
        let stderr = child.stderr.take().expect("piped stderr");
        let (count_tx, count) = watch::channel(0);
        self.lines = Arc::default();
        self.count = count;
        self.cursor = 0;
        let lines = self.lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let n = {
                    let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
                    lines.push(line);
                    lines.len()
                };
                count_tx.send_replace(n);
            }
        });
        self.child = Some(child);
    }

    /// Starts the daemon again with the same configuration (after [`Daemon::kill`] or
    /// [`Daemon::terminate`]).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Waits for a log line (after the last one matched) that contains every fragment.
    pub async fn expect_log(&mut self, fragments: &[&str]) -> String {
        let mut count = self.count.clone();
        let found = tokio::time::timeout(WAIT, async {
            loop {
                {
                    let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(offset) = lines
                        .iter()
                        .skip(self.cursor)
                        .position(|l| fragments.iter().all(|f| l.contains(f)))
                    {
                        let at = self.cursor + offset;
                        self.cursor = at + 1;
                        return Some(lines[at].clone());
                    }
                }
                if count.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            Ok(None) => panic!(
                "the daemon exited before logging {fragments:?}:\n{}",
                self.log()
            ),
            Err(_) => panic!(
                "no log line with {fragments:?} within {WAIT:?}:\n{}",
                self.log()
            ),
        }
    }

    /// A receiver that wakes on the next line the daemon logs after this call (or when it
    /// exits): `changed().await` on it.
    pub fn next_line(&self) -> watch::Receiver<usize> {
        let mut count = self.count.clone();
        count.borrow_and_update();
        count
    }

    /// Everything the daemon logged so far.
    pub fn log(&self) -> String {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// Kills the daemon with SIGKILL, as a crash or power cut would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Asks the daemon to stop with SIGTERM and waits for it to exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the daemon is running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
        tokio::time::timeout(WAIT, tokio::task::spawn_blocking(move || child.wait()))
            .await
            .expect("the daemon did not exit after SIGTERM")
            .expect("waiting task")
            .expect("waiting for the daemon")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("---- daemon log ----\n{}", self.log());
        }
    }
}
